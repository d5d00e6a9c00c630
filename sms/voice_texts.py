"""Everything the phone menu says, in German and English, and the voices that say it (DESIGN §7).

Pure: keys and figures in, sentences out. A caller may rely on:
- `VOICES` names, per language we speak, a Twilio neural voice and its BCP-47 language
  (de: Polly.Vicki-Neural, de-DE; en: Polly.Amy-Neural, en-GB); `RATE` is the SSML
  prosody rate every sentence is spoken at (slow and clear).
- `voice_language(process, lang)`: `lang` when we speak it, else the first of the
  process's languages that we speak, else English. Other process languages (Turkish,
  Arabic, …) therefore hear German or English, in which the process has its texts.
- `Words(lang)` words one language: `words[key].format(…)`, `money`, `day`, `count`,
  `numbers`. Every sentence says "erhalten/received", never "gezählt/counted".
- Digits that must be heard one by one (an example code) are written with spaces.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from hybrid.definition import Process


@dataclass(frozen=True)
class Voice:
    name: str  # Twilio's voice attribute
    language: str  # BCP-47, Twilio's language attribute


VOICES: dict[str, Voice] = {
    "de": Voice("Polly.Vicki-Neural", "de-DE"),
    "en": Voice("Polly.Amy-Neural", "en-GB"),
}
RATE = "85%"
PAUSE = "400ms"  # between two sentences of one prompt


def voice_language(process: Process, lang: str | None) -> str:
    """The language we speak for `lang` (see the module docstring)."""
    for candidate in (lang, *process.languages):
        if candidate in VOICES:
            return candidate
    return "en"


def other_language(process: Process, lang: str) -> str | None:
    """The language a caller hearing `lang` can switch to with 9: English from German and
    back, when the process has both; None otherwise."""
    other = {"de": "en", "en": "de"}.get(lang)
    return other if other in process.languages and lang in process.languages else None


_T: dict[str, dict[str, str]] = {
    "de": {
        "welcome": "Guten Tag. Hier stimmen Sie per Telefon ab. {title}",
        "switch": "Für Deutsch drücken Sie die 9.",
        "ask_code": "Bitte geben Sie den 12-stelligen Code von Ihrem Stimmzettel ein. Drücken Sie danach die "
                    "Raute-Taste.",
        "keys": "Zum Wiederholen drücken Sie die Stern-Taste. Hilfe gibt es mit der 0.",
        "help_code": "Den Code finden Sie auf Ihrem Stimmzettel: 12 Ziffern in drei Gruppen, zum Beispiel "
                     "1 2 3 4, 5 6 7 8, 9 0 1 2. Tippen Sie alle 12 Ziffern nacheinander und drücken Sie dann die "
                     "Raute-Taste.",
        "silence": "Wir haben keine Eingabe gehört.",
        "code_length": "Der Code hat 12 Ziffern. Wir haben {count} erhalten.",
        "code_wrong": "Diesen Code kennen wir nicht. Bitte prüfen Sie die 12 Ziffern.",
        "code_void": "Dieser Code gilt nicht mehr. Bitte nutzen Sie den Code auf Ihrem neuen Stimmzettel.",
        "code_again": "Bitte geben Sie den Code noch einmal ein und drücken Sie dann die Raute-Taste.",
        "code_ok": "Danke, der Code ist gültig.",
        "already_code": "Hinweis: Für diesen Code haben wir schon eine Stimme erhalten. Sie müssen nichts mehr tun "
                        "und können jetzt auflegen.",
        "already_phone": "Hinweis: Von dieser Rufnummer haben wir schon eine Stimme erhalten. Sie müssen nichts mehr "
                         "tun und können jetzt auflegen.",
        "too_many_tries": "Leider hat es mit dem Code nicht geklappt. Bitte prüfen Sie Ihren Stimmzettel und rufen "
                          "Sie später noch einmal an.",
        "by_post": "Sie können auch per Post abstimmen.",
        "goodbye": "Auf Wiederhören.",
        "question": "Frage {n} von {total}: {text}",
        "only_question": "Die Frage lautet: {text}",
        "choose_one": "Sie können eine Antwort wählen.",
        "choose_up_to": "Sie können bis zu {k} Antworten wählen.",
        "budget_intro": "{title}. Sie verteilen {amount} auf Vorschläge Ihrer Wahl. Jeder Vorschlag hat eine "
                        "Nummer und einen Preis.",
        "approval_intro": "{title}. Sie können bis zu {k} Vorschläge wählen.",
        "how_to_choose": "Drücken Sie die Nummer Ihrer Wahl und dann die Raute-Taste. Sie müssen nicht warten, bis "
                         "alles vorgelesen ist.",
        "option": "Nummer {number}: {text}.",
        "option_priced": "Nummer {number}: {text}, {price}.",
        "so_far": "Bisher gewählt: {list}.",
        "keep_hint": "Um das zu behalten, drücken Sie nur die Raute-Taste.",
        "skip_hint": "Um diese Frage auszulassen, drücken Sie nur die Raute-Taste.",
        "done_hint": "Wenn Sie fertig sind, drücken Sie nur die Raute-Taste.",
        "chosen": "Gewählt: Nummer {number}, {text}.",
        "chosen_priced": "Gewählt: Nummer {number}, {text}, {price}.",
        "unchosen": "Nummer {number} ist nicht mehr gewählt.",
        "more_left_1": "Sie können noch eine weitere wählen.",
        "more_left": "Sie können noch {k} weitere wählen.",
        "full": "Mehr geht bei dieser Frage nicht.",
        "full_refused": "Sie haben hier schon {k} gewählt, mehr geht nicht. Um eine Nummer abzuwählen, drücken Sie "
                        "sie noch einmal.",
        "money_left": "Es bleiben noch {amount}.",
        "too_expensive": "Nummer {number} kostet {price}. Dafür reicht das Geld nicht mehr: Es bleiben noch {left}.",
        "budget_spent": "Das Geld reicht für keinen weiteren Vorschlag.",
        "not_here": "Die Nummer {number} gehört zu einer anderen Frage. Hier sind es die Nummern {first} bis {last}.",
        "no_such": "Die Nummer {number} gibt es nicht. Hier sind es die Nummern {first} bis {last}.",
        "skipped": "Keine Antwort bei dieser Frage.",
        "next": "Nächste Nummer, oder nur die Raute-Taste, wenn Sie fertig sind.",
        "help_choose": "Drücken Sie die Nummer einer Antwort und dann die Raute-Taste.",
        "help_remove": "Drücken Sie eine gewählte Nummer noch einmal, ist sie wieder abgewählt.",
        "help_repeat": "Mit der Stern-Taste hören Sie die Frage und alle Nummern noch einmal.",
        "press_number": "Bitte drücken Sie die Nummer Ihrer Wahl und dann die Raute-Taste.",
        "check": "Bitte prüfen Sie Ihre Wahl.",
        "check_question": "Frage {n}: {list}.",
        "check_question_none": "Frage {n}: keine Antwort.",
        "check_total": "Zusammen {amount}.",
        "item": "Nummer {number}, {text}",
        "item_priced": "Nummer {number}, {text}, {price}",
        "confirm": "Wenn das stimmt, drücken Sie die 1. Um etwas zu ändern, drücken Sie die 2.",
        "nothing_chosen": "Sie haben noch nichts gewählt. Um zu wählen, drücken Sie die 2.",
        "change": "Sie können Ihre Wahl jetzt ändern. Wir beginnen wieder mit der ersten Frage.",
        "confirm_help": "Mit der 1 geben Sie Ihre Stimme ab. Mit der 2 ändern Sie Ihre Wahl. Mit der Stern-Taste "
                        "hören Sie Ihre Wahl noch einmal.",
        "press_1_or_2": "Bitte drücken Sie die 1 oder die 2.",
        "received": "Vielen Dank. Wir haben Ihre Stimme erhalten.",
        "replaced": "Vielen Dank. Wir haben Ihre neue Stimme erhalten. Sie ersetzt Ihre frühere Stimme.",
        "duplicate": "Diese Stimme hatten wir schon erhalten. Sie müssen nichts mehr tun.",
        "already_voted": "Für diesen Code haben wir schon eine andere Stimme erhalten. Diese Stimme wurde nicht "
                         "übernommen.",
        "in_review": "Wir haben Ihre Stimme erhalten. Für diesen Code gibt es noch eine andere Stimme. Wir prüfen "
                     "das.",
        "void_code": "Dieser Code gilt nicht mehr. Ihre Stimme wurde nicht übernommen.",
        "closed_day": "Die Abstimmung ist vorbei. Der letzte Tag war der {day}.",
        "closed": "Die Abstimmung ist vorbei. Ihre Stimme wurde nicht übernommen.",
        "not_open_day": "Die Abstimmung beginnt am {day}. Bitte rufen Sie ab dann noch einmal an.",
        "not_open": "Die Abstimmung hat noch nicht begonnen. Ihre Stimme wurde nicht übernommen.",
        "not_taken": "Ihre Stimme wurde nicht übernommen.",
        "locked_out": "Von diesem Telefon kamen zu viele falsche Codes. Bitte versuchen Sie es später noch einmal.",
        "hidden_caller": "Ihre Rufnummer ist unterdrückt. Bitte rufen Sie mit sichtbarer Rufnummer noch einmal an.",
        "no_input": "Wir haben keine Eingabe erhalten. Ihre Stimme wurde nicht abgegeben. Bitte rufen Sie noch "
                    "einmal an.",
        "trouble": "Es gibt gerade ein technisches Problem. Bitte rufen Sie später noch einmal an.",
        "digit_1": "eine Ziffer",
        "digits": "{n} Ziffern",
        "and": "und",
        "money": "{amount} Euro",
    },
    "en": {
        "welcome": "Hello. This is voting by phone. {title}",
        "switch": "For English, press 9.",
        "ask_code": "Please enter the 12-digit code from your ballot paper, then press the hash key.",
        "keys": "To hear this again, press star. For help, press 0.",
        "help_code": "You will find the code on your ballot paper: 12 digits in three groups, for example "
                     "1 2 3 4, 5 6 7 8, 9 0 1 2. Type all 12 digits one after the other, then press the hash key.",
        "silence": "We did not hear anything.",
        "code_length": "The code has 12 digits. We received {count}.",
        "code_wrong": "We do not know this code. Please check the 12 digits.",
        "code_void": "This code is no longer valid. Please use the code on your new ballot paper.",
        "code_again": "Please enter the code again, then press the hash key.",
        "code_ok": "Thank you, the code is valid.",
        "already_code": "Please note: we have already received a vote for this code. There is nothing more to do, "
                        "and you can hang up now.",
        "already_phone": "Please note: we have already received a vote from this phone number. There is nothing "
                         "more to do, and you can hang up now.",
        "too_many_tries": "Sorry, the code did not work. Please check your ballot paper and call again later.",
        "by_post": "You can also vote by post.",
        "goodbye": "Goodbye.",
        "question": "Question {n} of {total}: {text}",
        "only_question": "The question is: {text}",
        "choose_one": "You can choose one answer.",
        "choose_up_to": "You can choose up to {k} answers.",
        "budget_intro": "{title}. You share {amount} among the proposals of your choice. Each proposal has a "
                        "number and a price.",
        "approval_intro": "{title}. You can choose up to {k} proposals.",
        "how_to_choose": "Press the number of your choice, then the hash key. You need not wait until everything "
                         "has been read.",
        "option": "Number {number}: {text}.",
        "option_priced": "Number {number}: {text}, {price}.",
        "so_far": "Chosen so far: {list}.",
        "keep_hint": "To keep this, just press the hash key.",
        "skip_hint": "To skip this question, just press the hash key.",
        "done_hint": "When you are done, just press the hash key.",
        "chosen": "Chosen: number {number}, {text}.",
        "chosen_priced": "Chosen: number {number}, {text}, {price}.",
        "unchosen": "Number {number} is no longer chosen.",
        "more_left_1": "You can choose one more.",
        "more_left": "You can choose {k} more.",
        "full": "That is as many as this question allows.",
        "full_refused": "You have already chosen {k} here, the most allowed. To remove a number, press it again.",
        "money_left": "{amount} is left.",
        "too_expensive": "Number {number} costs {price}. There is not enough money left for it: {left} is left.",
        "budget_spent": "There is not enough money left for any other proposal.",
        "not_here": "Number {number} belongs to another question. Here, the numbers are {first} to {last}.",
        "no_such": "There is no number {number}. Here, the numbers are {first} to {last}.",
        "skipped": "No answer to this question.",
        "next": "Next number, or just the hash key when you are done.",
        "help_choose": "Press the number of an answer, then the hash key.",
        "help_remove": "Press a chosen number again to remove it.",
        "help_repeat": "Press star to hear the question and all the numbers again.",
        "press_number": "Please press the number of your choice, then the hash key.",
        "check": "Please check your choices.",
        "check_question": "Question {n}: {list}.",
        "check_question_none": "Question {n}: no answer.",
        "check_total": "Together {amount}.",
        "item": "Number {number}, {text}",
        "item_priced": "Number {number}, {text}, {price}",
        "confirm": "If this is right, press 1. To change something, press 2.",
        "nothing_chosen": "You have not chosen anything yet. To choose, press 2.",
        "change": "You can now change your choices. We start again with the first question.",
        "confirm_help": "Press 1 to cast your vote. Press 2 to change your choices. Press star to hear your "
                        "choices again.",
        "press_1_or_2": "Please press 1 or 2.",
        "received": "Thank you. We have received your vote.",
        "replaced": "Thank you. We have received your new vote. It replaces your earlier vote.",
        "duplicate": "We had already received this vote. There is nothing more to do.",
        "already_voted": "We had already received a different vote for this code. This vote was not used.",
        "in_review": "We have received your vote. There is another, different vote for this code. We will check "
                     "this.",
        "void_code": "This code is no longer valid. Your vote was not used.",
        "closed_day": "Voting has closed. The last day was {day}.",
        "closed": "Voting has closed. Your vote was not used.",
        "not_open_day": "Voting opens on {day}. Please call again from then on.",
        "not_open": "Voting has not opened yet. Your vote was not used.",
        "not_taken": "Your vote was not used.",
        "locked_out": "Too many wrong codes came from this phone. Please try again later.",
        "hidden_caller": "Your phone number is hidden. Please call again with your number shown.",
        "no_input": "We did not receive any input. Your vote was not cast. Please call again.",
        "trouble": "Sorry, there is a technical problem. Please call again later.",
        "digit_1": "one digit",
        "digits": "{n} digits",
        "and": "and",
        "money": "{amount} euros",
    },
}

_MONTHS = {
    "de": ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
           "November", "Dezember"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}


class Words:
    """The sentences of one language we speak (`lang` must be a key of VOICES)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self._t = _T[lang]

    def __getitem__(self, key: str) -> str:
        return self._t[key]

    def money(self, amount: int) -> str:
        """45000 → "45.000 Euro" / "45,000 euros": grouped digits a voice reads as one number."""
        grouped = f"{amount:,}"
        return self._t["money"].format(amount=grouped.replace(",", ".") if self.lang == "de" else grouped)

    def day(self, moment: datetime) -> str:
        """A calendar day as people say it: "1. März 2027" / "1 March 2027"."""
        month = _MONTHS[self.lang][moment.month - 1]
        return f"{moment.day}. {month} {moment.year}" if self.lang == "de" else f"{moment.day} {month} {moment.year}"

    def count_digits(self, n: int) -> str:
        return self._t["digit_1"] if n == 1 else self._t["digits"].format(n=n)

    def numbers(self, items: Sequence[str]) -> str:
        """"a", "a und b", "a, b und c"."""
        if len(items) <= 1:
            return "".join(items)
        return ", ".join(items[:-1]) + f" {self._t['and']} " + items[-1]


def catalogue(lang: str) -> dict[str, str]:
    """Every sentence of `lang`, for tests that check wording across the whole menu."""
    return dict(_T[lang])

"""The words we text back (DESIGN §7), in German and English.

Pure: text in, text out. The webhook (elsewhere) parses a message with
`sms.grammar.parse_message`, asks the rules or the store where needed, picks an
`Outcome`, and calls `reply_for`. The mapping it may rely on:

    Intent                                     Outcome
    HELP (also a lone HELP/INFO keyword)       HELP
    TWILIO_KEYWORD (STOP, START, YES, …)       NO_REPLY: Twilio answers; reply_for → None
    OPT_OUT (STOPP, ABMELDEN, "Stop!")         NO_REPLY: the sender asked for no messages
    STATUS without code                        STATUS_NEED_CODE (wording follows code_problem)
    STATUS with code                           STATUS_RECEIVED | STATUS_NOT_RECEIVED (the store says)
    NEED_CODE                                  NEED_CODE (wording follows code_problem)
    INVALID                                    INVALID (wording follows intent.problem, the first)
    CHATTER                                    CHATTER
    anything but VOTE and the above, in an MMS PHOTO: photos cannot be read (the service decides)
    VOTE                                       what the rules decided: `outcome_for(state, reasons)`

    RecordState (hybrid.states) of the vote    Outcome
    COUNTED                                    RECEIVED, or REPLACED when it replaced an earlier
                                               SMS/voice vote (conflicts: last)
    DUPLICATE                                  DUPLICATE (same code, same choices)
    SUPERSEDED                                 ALREADY_VOTED (another vote for the code stands)
    REVIEW                                     IN_REVIEW (e.g. cross_channel_conflict)
    REJECTED  late / early / void_code         CLOSED / NOT_OPEN / VOID_CODE
    REJECTED  anything else                    NEED_CODE (the code is not one of this process)

and, decided by the webhook before any of this: LOCKED_OUT (too many wrong codes from
this phone, see `Intent.wrong_code`), HIDDEN_CALLER (phone identity and a withheld
number).

Every reply may be relied on to be GSM-7 and to fit ONE SMS (160 septets), in both
languages, for any process: when a richer wording (with the process title, the
numbers received, the amounts) does not fit or holds a character outside GSM-7, a
plainer one is used. Replies say "erhalten/received", never "counted"; STATUS says
only received or not received. The example code 1234 5678 9012 fails the check digit,
so it can never be anyone's code.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import Enum

from hybrid.definition import Process
from hybrid.states import Reason, RecordState
from sms import gsm7
from sms.grammar import (
    CodeProblem,
    Intent,
    IntentKind,
    Problem,
    ProblemKind,
    ballot_items,
    example_numbers,
    yes_no_question,
)

EXAMPLE_CODE = "1234 5678 9012"  # fails the Verhoeff check: never an issued code
LANGUAGES = ("de", "en")


class Outcome(str, Enum):
    RECEIVED = "received"
    REPLACED = "replaced"
    DUPLICATE = "duplicate"
    ALREADY_VOTED = "already_voted"
    IN_REVIEW = "in_review"
    VOID_CODE = "void_code"
    CLOSED = "closed"
    NOT_OPEN = "not_open"
    NEED_CODE = "need_code"
    INVALID = "invalid"
    HELP = "help"
    STATUS_RECEIVED = "status_received"
    STATUS_NOT_RECEIVED = "status_not_received"
    STATUS_NEED_CODE = "status_need_code"
    LOCKED_OUT = "locked_out"
    HIDDEN_CALLER = "hidden_caller"
    CHATTER = "chatter"
    PHOTO = "photo"  # an MMS whose text is no vote: photos cannot be read
    NO_REPLY = "no_reply"


def outcome_of(intent: Intent) -> Outcome | None:
    """The outcome an intent has by itself; None for a VOTE and a STATUS with a code,
    which need the rules or the store first."""
    if intent.kind is IntentKind.VOTE:
        return None
    if intent.kind is IntentKind.STATUS:
        return None if intent.code else Outcome.STATUS_NEED_CODE
    return {
        IntentKind.HELP: Outcome.HELP,
        IntentKind.TWILIO_KEYWORD: Outcome.NO_REPLY,
        IntentKind.OPT_OUT: Outcome.NO_REPLY,
        IntentKind.NEED_CODE: Outcome.NEED_CODE,
        IntentKind.INVALID: Outcome.INVALID,
        IntentKind.CHATTER: Outcome.CHATTER,
    }[intent.kind]


def outcome_for(state: RecordState, reasons: Iterable[Reason] = (), *, replaced: bool = False) -> Outcome:
    """The outcome of a vote message the rules decided as `state` with `reasons`;
    `replaced` when it superseded an earlier SMS/voice vote of the same code."""
    reasons = set(reasons)
    if state is RecordState.COUNTED:
        return Outcome.REPLACED if replaced else Outcome.RECEIVED
    if state is RecordState.DUPLICATE:
        return Outcome.DUPLICATE
    if state is RecordState.SUPERSEDED:
        return Outcome.ALREADY_VOTED
    if state is RecordState.REVIEW:
        return Outcome.IN_REVIEW
    if state is RecordState.REJECTED:
        if Reason.LATE in reasons:
            return Outcome.CLOSED
        if Reason.EARLY in reasons:
            return Outcome.NOT_OPEN
        if Reason.VOID_CODE in reasons:
            return Outcome.VOID_CODE
        return Outcome.NEED_CODE
    raise ValueError(f"a {state.value} record is not a vote: take the reply from its intent")


def reply_language(process: Process, lang: str | None) -> str:
    """`lang` when we have replies in it, else the process's first language, else English."""
    for candidate in (lang, process.languages[0]):
        if candidate in LANGUAGES:
            return candidate
    return "en"


def example(process: Process, lang: str | None = None) -> str:
    """The example vote our replies show, e.g. "1234 5678 9012 1 5 10": a fake code and
    a valid choice, like the example printed on the ballot."""
    return _Words(reply_language(process, lang), process).example()


def reply_for(
    what: Intent | Outcome, lang: str | None, process: Process, *, intent: Intent | None = None,
    photo: bool = False,
) -> str | None:
    """The reply text, or None when we must not reply (Twilio's own keywords).

    `what` is an Intent whose outcome needs no decision (see `outcome_of`), or an
    Outcome; pass the message's `intent` with an Outcome so that INVALID names its
    problem, NEED_CODE its code problem, and RECEIVED echoes the choices.
    `lang` is the language of the ballot the code belongs to (None: the process's first).
    `photo`: the message was an MMS; every reply but PHOTO then adds that the photo was
    not read (dropped only when no wording would fit one SMS with it).
    """
    if isinstance(what, Intent):
        intent = what
        outcome = outcome_of(what)
        if outcome is None:
            raise ValueError(f"a {what.kind.value} intent needs a decision first: pass its Outcome")
    else:
        outcome = what
    if outcome is Outcome.NO_REPLY:
        return None
    lang = reply_language(process, lang)
    words = _Words(lang, process)
    candidates = _candidates(outcome, words, intent)
    if photo and outcome is not Outcome.PHOTO:
        candidates = [text + words["photo_ignored"] for text in candidates] + candidates
    return _fit(candidates)


# -- wording -----------------------------------------------------------------------------

_T: dict[str, dict[str, str]] = {
    "de": {
        "received": "Danke! Wir haben Ihre Stimme erhalten: {echo}.",
        "received_plain": "Danke! Wir haben Ihre Stimme erhalten.",
        "replaced": "Danke! Wir haben Ihre neue Stimme erhalten: {echo}. Sie ersetzt Ihre frühere Stimme.",
        "replaced_plain": "Danke! Wir haben Ihre neue Stimme erhalten. Sie ersetzt Ihre frühere Stimme.",
        "duplicate": "Diese Stimme hatten wir schon erhalten. Sie müssen nichts mehr tun.",
        "already_voted": "Für diesen Code haben wir schon eine andere Stimme erhalten. Diese SMS wurde nicht übernommen.",
        "in_review": "Wir haben Ihre SMS erhalten. Für diesen Code gibt es noch eine andere Stimme. Wir prüfen das.",
        "void_code": "Dieser Code gilt nicht mehr. Bitte nutzen Sie den Code auf Ihrem neuen Stimmzettel.",
        "closed_day": "Die Abstimmung ist vorbei (letzter Tag: {day}). Ihre SMS wurde nicht übernommen.",
        "closed_time": "Die Abstimmung ist vorbei (Ende: {day}, {time} Uhr). Ihre SMS wurde nicht übernommen.",
        "closed": "Die Abstimmung ist vorbei. Ihre SMS wurde nicht übernommen.",
        "not_open_day": "Die Abstimmung beginnt am {day}. Bitte senden Sie Ihre Stimme ab dann noch einmal.",
        "not_open_time": "Die Abstimmung beginnt am {day} um {time} Uhr. Bitte senden Sie Ihre Stimme ab dann noch einmal.",
        "not_open": "Die Abstimmung hat noch nicht begonnen. Bitte senden Sie Ihre Stimme später noch einmal.",
        "need_code": "Bitte senden Sie den 12-stelligen Code von Ihrem Stimmzettel und die Nummern Ihrer Wahl, z.B.: {example}",
        "need_code_wrong": "Diesen Code kennen wir nicht. Bitte prüfen Sie die 12 Ziffern und senden Sie Code und Nummern noch einmal, z.B.: {example}",
        "need_code_several": "Bitte senden Sie nur einen Code pro SMS, mit den Nummern dazu, z.B.: {example}",
        "not_accepted": "Nicht angenommen: ",
        "again": " Bitte senden Sie Code und Nummern noch einmal.",
        "invalid": "Nicht angenommen. Bitte senden Sie Code und Nummern noch einmal, z.B.: {example}",
        "no_choices": "Es fehlen die Nummern Ihrer Wahl. Bitte senden Sie Code und Nummern zusammen, z.B.: {example}",
        "unknown_number": "Die Nummer {n} gibt es nicht (nur {first} bis {last}).",
        "unknown_number_plain": "Eine Nummer gibt es nicht auf dem Stimmzettel.",
        "overvote_1": "Bei Frage {q} (Nr. {first} bis {last}) nur 1 Antwort.",
        "overvote": "Bei Frage {q} (Nr. {first} bis {last}) höchstens {limit} Antworten.",
        "overvote_plain": "Zu viele Antworten bei einer Frage.",
        "overvote_budget": "Höchstens {limit} Vorschläge, Sie haben {total} gewählt.",
        "overvote_budget_plain": "Zu viele Vorschläge gewählt.",
        "over_budget": "Ihre Auswahl kostet {total}, erlaubt sind {limit}.",
        "over_budget_plain": "Ihre Auswahl kostet mehr als erlaubt.",
        "over_budget_again": " Bitte senden Sie Code und weniger Nummern noch einmal.",
        "yes_no_not_here": "Bitte senden Sie statt JA oder NEIN die Nummern vom Stimmzettel, mit dem Code.",
        "yes_and_no": "Sie haben JA und NEIN geschrieben. Bitte senden Sie den Code und nur eines davon.",
        "unclear_word": "Wörter wie \"{word}\" können wir nicht sicher lesen. Bitte senden Sie nur den Code und die Nummern Ihrer Wahl.",
        "range": "Meinen Sie {a} bis {b} oder nur {a} und {b}? Bitte senden Sie jede Nummer einzeln, z.B. 3 4 5.",
        "help_title": "{title} Senden Sie Code und Nummern Ihrer Wahl, z.B. {example}. Stimme erhalten? STATUS und Code senden.",
        "help": "So stimmen Sie ab: Senden Sie den Code von Ihrem Stimmzettel und die Nummern Ihrer Wahl, z.B.: {example}. Stimme erhalten? STATUS und Code senden.",
        "status_received": "Für diesen Code haben wir eine Stimme erhalten.",
        "status_not_received_paper": "Für diesen Code haben wir noch keine Stimme erhalten. Briefe sind einige Tage unterwegs.",
        "status_not_received": "Für diesen Code haben wir noch keine Stimme erhalten.",
        "status_need_code": "Bitte senden Sie STATUS und den 12-stelligen Code von Ihrem Stimmzettel, z.B.: STATUS {code}",
        "status_wrong_code": "Diesen Code kennen wir nicht. Bitte prüfen Sie die 12 Ziffern und senden Sie z.B.: STATUS {code}",
        "status_several": "Bitte senden Sie nur einen Code, z.B.: STATUS {code}",
        "locked_out_paper": "Von diesem Telefon kamen zu viele falsche Codes. Bitte versuchen Sie es später noch einmal. Sie können auch per Post abstimmen.",
        "locked_out": "Von diesem Telefon kamen zu viele falsche Codes. Bitte versuchen Sie es später noch einmal.",
        "hidden_caller": "Ihre Rufnummer ist unterdrückt. Bitte senden Sie die SMS noch einmal mit sichtbarer Rufnummer.",
        "chatter": "Das haben wir nicht verstanden. Zum Abstimmen senden Sie Code und Nummern, z.B.: {example}. Mehr Infos: HILFE",
        "photo": "Fotos können wir nicht lesen. Bitte senden Sie Code und Nummern als Text, z.B.: {example}",
        "photo_ignored": " Das Foto haben wir nicht gelesen.",
        "yes": "JA",
        "no": "NEIN",
        "money": "{amount} Euro",
    },
    "en": {
        "received": "Thank you! We have received your vote: {echo}.",
        "received_plain": "Thank you! We have received your vote.",
        "replaced": "Thank you! We have received your new vote: {echo}. It replaces your earlier vote.",
        "replaced_plain": "Thank you! We have received your new vote. It replaces your earlier vote.",
        "duplicate": "We had already received this vote. There is nothing more to do.",
        "already_voted": "We had already received a different vote for this code. This message was not used.",
        "in_review": "We have received your message. There is another, different vote for this code. We will check this.",
        "void_code": "This code is no longer valid. Please use the code on your new ballot paper.",
        "closed_day": "Voting has closed (last day: {day}). Your message was not used.",
        "closed_time": "Voting has closed (it ended {day}, {time}). Your message was not used.",
        "closed": "Voting has closed. Your message was not used.",
        "not_open_day": "Voting opens on {day}. Please send your vote again from then on.",
        "not_open_time": "Voting opens on {day} at {time}. Please send your vote again from then on.",
        "not_open": "Voting has not opened yet. Please send your vote again later.",
        "need_code": "Please send the 12-digit code from your ballot paper and the numbers you choose, e.g.: {example}",
        "need_code_wrong": "We do not know this code. Please check the 12 digits and send your code and numbers again, e.g.: {example}",
        "need_code_several": "Please send only one code per message, with its numbers, e.g.: {example}",
        "not_accepted": "Not accepted: ",
        "again": " Please send your code and numbers again.",
        "invalid": "Not accepted. Please send your code and numbers again, e.g.: {example}",
        "no_choices": "the numbers you choose are missing. Please send your code and numbers together, e.g.: {example}",
        "unknown_number": "there is no number {n} (only {first} to {last}).",
        "unknown_number_plain": "one of the numbers is not on the ballot paper.",
        "overvote_1": "question {q} (numbers {first} to {last}) takes only 1 answer.",
        "overvote": "question {q} (numbers {first} to {last}) takes at most {limit} answers.",
        "overvote_plain": "too many answers to one question.",
        "overvote_budget": "choose at most {limit} proposals; you chose {total}.",
        "overvote_budget_plain": "too many proposals chosen.",
        "over_budget": "your choice costs {total}; the limit is {limit}.",
        "over_budget_plain": "your choice costs more than the limit.",
        "over_budget_again": " Please send your code with fewer numbers again.",
        "yes_no_not_here": "please send the numbers from your ballot paper instead of YES or NO, with your code.",
        "yes_and_no": "you wrote both YES and NO. Please send your code with only one of them.",
        "unclear_word": "we cannot safely read words like \"{word}\". Please send only your code and the numbers you choose.",
        "range": "do you mean {a} to {b}, or just {a} and {b}? Please write each number, e.g. 3 4 5.",
        "help_title": "{title} Send your code and the numbers you choose, e.g. {example}. Vote received? Send STATUS and code.",
        "help": "How to vote: send the code from your ballot paper and the numbers you choose, e.g.: {example}. Vote received? Send STATUS and code.",
        "status_received": "We have received a vote for this code.",
        "status_not_received_paper": "We have not received a vote for this code yet. Letters take a few days to arrive.",
        "status_not_received": "We have not received a vote for this code yet.",
        "status_need_code": "Please send STATUS and the 12-digit code from your ballot paper, e.g.: STATUS {code}",
        "status_wrong_code": "We do not know this code. Please check the 12 digits and send, e.g.: STATUS {code}",
        "status_several": "Please send only one code, e.g.: STATUS {code}",
        "locked_out_paper": "Too many wrong codes came from this phone. Please try again later. You can also vote by post.",
        "locked_out": "Too many wrong codes came from this phone. Please try again later.",
        "hidden_caller": "Your phone number is hidden. Please send the message again with your number shown.",
        "chatter": "Sorry, we did not understand. To vote, send your code and numbers, e.g.: {example}. For help: HELP",
        "photo": "We cannot read photos. Please send your code and numbers as text, e.g.: {example}",
        "photo_ignored": " We did not read the photo.",
        "yes": "YES",
        "no": "NO",
        "money": "EUR {amount}",
    },
}

_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December")
_MAX_SHOWN_DIGITS = 8  # a longer "number" is shown cut, so the reply stays one SMS


class _Words:
    """The catalogue of one language, plus what the process lends to it."""

    def __init__(self, lang: str, process: Process) -> None:
        self.lang = lang
        self.process = process
        self.t = _T[lang]

    def __getitem__(self, key: str) -> str:
        return self.t[key]

    def money(self, amount: int) -> str:
        grouped = f"{amount:,}"
        return self.t["money"].format(amount=grouped.replace(",", ".") if self.lang == "de" else grouped)

    def day(self, moment: datetime) -> str:
        if self.lang == "en":
            return f"{moment.day} {_MONTHS_EN[moment.month - 1]} {moment.year}"
        return f"{moment.day:02d}.{moment.month:02d}.{moment.year}"

    def example(self) -> str:
        return f"{EXAMPLE_CODE} {self.example_choice()}"

    def example_choice(self) -> str:
        """Like the example printed on the ballot: the first option of each question (at
        most three), or the first investments that fit; JA/YES for a lone yes/no question."""
        process = self.process
        yes_no = yes_no_question(process)
        if yes_no is not None and len(process.questions) == 1:
            return self.t["yes"]
        return " ".join(str(n) for n in example_numbers(process))

    def echo(self, intent: Intent) -> str | None:
        """The choices received, as printed numbers; the lone yes/no question's as JA/NEIN."""
        yes_no = yes_no_question(self.process)
        shown: list[str] = []
        words: list[str] = []
        by_option = {(it.question, it.option): it.number for it in ballot_items(self.process)}
        for question, options in intent.choices.items():
            for option in options:
                if yes_no is not None and question == yes_no.question:
                    words.append(self.t["yes"] if option == yes_no.yes else self.t["no"])
                elif (question, option) in by_option:
                    shown.append(str(by_option[(question, option)]))
                else:
                    return None  # not this process's choice: say nothing rather than something wrong
        return ", ".join(shown + words)

    def question_span(self, question: str) -> tuple[int, int, int] | None:
        """1-based position of `question` and its first and last printed number."""
        ids = [q.id for q in self.process.questions]
        if question not in ids:
            return None
        numbers = [it.number for it in ballot_items(self.process) if it.question == question]
        return ids.index(question) + 1, numbers[0], numbers[-1]


def _shown(number: int) -> str:
    text = str(number)
    return text if len(text) <= _MAX_SHOWN_DIGITS else text[:_MAX_SHOWN_DIGITS] + "..."


def _fit(candidates: list[str]) -> str:
    """The first candidate that is GSM-7 and one SMS; the last (plainest) otherwise."""
    for text in candidates:
        if gsm7.is_gsm7(text) and gsm7.segments(text) == 1:
            return text
    return candidates[-1]


def _moment(moment: datetime, w: _Words, day_key: str, time_key: str, *, exclusive: bool = False) -> list[str]:
    """`moment` as a day when it is midnight (the day before when it is an exclusive end), else with its time."""
    if _is_midnight(moment):
        return [w[day_key].format(day=w.day(moment - timedelta(days=1) if exclusive else moment))]
    return [w[time_key].format(day=w.day(moment), time=f"{moment.hour:02d}:{moment.minute:02d}")]


def _candidates(outcome: Outcome, w: _Words, intent: Intent | None) -> list[str]:
    """Wordings from the richest to the plainest; the last one always fits one SMS."""
    p = w.process
    example = w.example()
    if outcome in (Outcome.RECEIVED, Outcome.REPLACED):
        key = outcome.value
        echo = w.echo(intent) if intent is not None and intent.choices else None
        return ([w[key].format(echo=echo)] if echo else []) + [w[f"{key}_plain"]]
    if outcome is Outcome.CLOSED:
        return _moment(p.closes, w, "closed_day", "closed_time", exclusive=True) + [w["closed"]]
    if outcome is Outcome.NOT_OPEN:
        return _moment(p.opens, w, "not_open_day", "not_open_time") + [w["not_open"]]
    if outcome is Outcome.NEED_CODE:
        problem = intent.code_problem if intent is not None else None
        key = {CodeProblem.MISTYPED: "need_code_wrong", CodeProblem.NOT_ISSUED: "need_code_wrong",
               CodeProblem.SEVERAL: "need_code_several"}.get(problem, "need_code")  # type: ignore[arg-type]
        return [w[key].format(example=example)]
    if outcome is Outcome.STATUS_NEED_CODE:
        problem = intent.code_problem if intent is not None else None
        key = {CodeProblem.MISTYPED: "status_wrong_code", CodeProblem.NOT_ISSUED: "status_wrong_code",
               CodeProblem.SEVERAL: "status_several"}.get(problem, "status_need_code")  # type: ignore[arg-type]
        return [w[key].format(code=EXAMPLE_CODE)]
    if outcome is Outcome.STATUS_NOT_RECEIVED:
        return ([w["status_not_received_paper"]] if p.channels.paper else []) + [w["status_not_received"]]
    if outcome is Outcome.LOCKED_OUT:
        return ([w["locked_out_paper"]] if p.channels.paper else []) + [w["locked_out"]]
    if outcome is Outcome.HELP:
        title = p.text(p.title, w.lang).strip()
        title += "" if title.endswith((".", "!", "?")) else "."
        return [w["help_title"].format(title=title, example=example), w["help"].format(example=example)]
    if outcome in (Outcome.CHATTER, Outcome.PHOTO):
        return [w[outcome.value].format(example=example)]
    if outcome is Outcome.INVALID:
        problem = intent.problem if intent is not None else None
        if problem is None:
            return [w["invalid"].format(example=example)]
        return [w["not_accepted"] + text for text in _problem_texts(problem, w, example)] + [
            w["invalid"].format(example=example)]
    return [w[outcome.value]]


def _is_midnight(moment: datetime) -> bool:
    return (moment.hour, moment.minute, moment.second, moment.microsecond) == (0, 0, 0, 0)


def _problem_texts(problem: Problem, w: _Words, example: str) -> list[str]:
    """What is wrong, richest first, each with what to do next. A Problem missing the
    figures its wording needs gets the plain wording (or none: then the generic one)."""
    kind = problem.kind
    again = w["again"]
    items = ballot_items(w.process)
    if kind is ProblemKind.NO_CHOICES:
        return [w["no_choices"].format(example=example)]
    if kind is ProblemKind.UNKNOWN_NUMBER:
        rich = [w["unknown_number"].format(n=_shown(problem.numbers[0]), first=items[0].number,
                                           last=items[-1].number) + again] if problem.numbers else []
        return rich + [w["unknown_number_plain"] + again]
    if kind is ProblemKind.OVERVOTE and problem.question == "budget":
        known = problem.limit is not None and problem.total is not None
        rich = [w["overvote_budget"].format(limit=problem.limit, total=problem.total) + again] if known else []
        return rich + [w["overvote_budget_plain"] + again]
    if kind is ProblemKind.OVERVOTE:
        span = w.question_span(str(problem.question))
        key = "overvote_1" if problem.limit == 1 else "overvote"
        known = span is not None and problem.limit is not None
        rich = [w[key].format(q=span[0], first=span[1], last=span[2], limit=problem.limit) + again] if known else []
        return rich + [w["overvote_plain"] + again]
    if kind is ProblemKind.OVER_BUDGET:
        known = problem.limit is not None and problem.total is not None
        rich = [w["over_budget"].format(total=w.money(problem.total), limit=w.money(problem.limit))
                + w["over_budget_again"]] if known else []
        return rich + [w["over_budget_plain"] + w["over_budget_again"]]
    if kind is ProblemKind.RANGE:
        if len(problem.numbers) != 2:
            return []
        a, b = (_shown(n) for n in problem.numbers)
        return [w["range"].format(a=a, b=b)]
    if kind is ProblemKind.UNCLEAR_WORD:
        word = {"ausser": "außer"}.get(problem.word or "", problem.word or "")
        return [w["unclear_word"].format(word=word)] if word.isalpha() and len(word) <= 20 else []
    return [w[kind.value]]  # YES_NO_NOT_HERE, YES_AND_NO

"""What we text back (DESIGN §7): short, plain, GSM-7, one SMS, in the ballot's language;
"erhalten/received", never "counted". And how SMS are counted (3GPP TS 23.038)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid.codes import is_valid_code
from hybrid.definition import Process
from hybrid.definition_file import load_process
from hybrid.states import Reason, RecordState
from sms import gsm7
from sms.grammar import (
    CodeProblem,
    Intent,
    IntentKind,
    Problem,
    ProblemKind,
    parse_message,
)
from sms.replies import (
    EXAMPLE_CODE,
    Outcome,
    example,
    outcome_for,
    outcome_of,
    reply_for,
    reply_language,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "hybrid" / "examples"
POLL = load_process(EXAMPLES / "poll.yaml")
BUDGET = load_process(EXAMPLES / "budget.yaml")
CODE = "482177309510"


def variant(process: Process, **changes) -> Process:
    data = process.model_dump()
    data.update(changes)
    return Process.model_validate(data)


APPROVAL = variant(BUDGET, budget={**BUDGET.budget.model_dump(), "voting_style": "approval", "max_lines": 3})
REFERENDUM = variant(POLL, questions=[POLL.model_dump()["questions"][2]])  # only "Ja / Nein"
FANCY_TITLE = variant(POLL, title={"de": "„Mainufer 2027“ – Ihre Meinung zählt für die ganze Stadt Würzburg am Main",
                                   "en": "“Riverbank 2027” – your view, for the whole city of Würzburg on the Main"})
LATE_HOURS = variant(POLL, opens=datetime.fromisoformat("2027-05-03T09:30:00+02:00"),
                     closes=datetime.fromisoformat("2027-06-01T18:00:00+02:00"))
NO_PAPER = variant(POLL, channels={"sms": {"number": "+49 157 92418830"}})
BIG_BUDGET = variant(BUDGET, budget={**BUDGET.budget.model_dump(),
                                     "heading": {"name": "Gesamtstadt", "amount": 987_654_321_000}})
PROCESSES = [POLL, BUDGET, APPROVAL, REFERENDUM, FANCY_TITLE, LATE_HOURS, NO_PAPER, BIG_BUDGET]
LANGS = ["de", "en"]


def parse(body: str, process: Process = POLL) -> Intent:
    return parse_message(body, process, lambda code: code == CODE)


def one_sms(text: str | None) -> None:
    assert text is not None
    assert gsm7.is_gsm7(text), [ch for ch in text if not gsm7.is_gsm7(ch)]
    assert gsm7.segments(text) == 1, (gsm7.septets(text), text)


def plain_words(text: str) -> None:
    lowered = text.lower()
    assert "count" not in lowered and "zähl" not in lowered and "gezählt" not in lowered, text


# -- GSM-7 ------------------------------------------------------------------------------


@pytest.mark.parametrize("text, septets, segments", [
    ("", 0, 1),
    ("a" * 160, 160, 1),
    ("a" * 161, 161, 2),
    ("a" * 306, 306, 2),  # 2 × 153
    ("a" * 307, 307, 3),
    ("€", 2, 1),
    ("€" * 80, 160, 1),
    ("€" * 81, 162, 2),
    ("a" * 159 + "€", 161, 2),
    ("a" * 152 + "€" + "a" * 152, 306, 3),  # the ESC pair may not straddle parts 1 and 2
    ("[]{}~^\\|\f", 18, 1),
    ("äöüÄÖÜß éèàùìòÇ ÑñØøÅåÆæÉ ¡¿§¤£¥ ΔΦΓΛΩΠΨΣΘΞ @$_\r\n", None, 1),
    ("Grüße aus Würzburg!", 19, 1),
])
def test_gsm7_septets_and_segments(text, septets, segments):
    assert gsm7.is_gsm7(text)
    assert gsm7.encoding(text) == "GSM-7"
    if septets is not None:
        assert gsm7.septets(text) == septets
    assert gsm7.segments(text) == segments


@pytest.mark.parametrize("text, segments", [
    ("😀", 1),
    ("😀" * 35, 1),  # 70 UTF-16 units
    ("a" * 69 + "😀", 2),
    ("„Ja“", 1),
    ("ä" * 70 + "„", 2),  # one non-GSM character turns the whole text to UCS-2: 71 units
    ("ä" * 134 + "„", 3),  # 135 units, 67 per part
    ("a" * 66 + "😀" + "a" * 66, 3),  # a surrogate pair may not straddle parts
    ("ç", 1),  # only the capital Ç is in the basic table
])
def test_ucs2_segments(text, segments):
    assert not gsm7.is_gsm7(text)
    assert gsm7.encoding(text) == "UCS-2"
    assert gsm7.septets(text) is None
    assert gsm7.segments(text) == segments


def test_gsm7_tables():
    assert len(gsm7.BASIC) == 127 and len(gsm7.EXTENSION) == 10
    assert not gsm7.BASIC & gsm7.EXTENSION
    for ch in "äöüÄÖÜß":
        assert ch in gsm7.BASIC
    for ch in "„“€–’…\x1b":
        assert ch not in gsm7.BASIC
    assert "€" in gsm7.EXTENSION


@given(st.text(alphabet=sorted(gsm7.BASIC | gsm7.EXTENSION), max_size=700))
def test_gsm7_segments_match_the_packing_rule(text):
    septets = gsm7.septets(text)
    assert septets == len(text) + sum(ch in gsm7.EXTENSION for ch in text)
    parts = gsm7.segments(text)
    if septets <= 160:
        assert parts == 1
    else:
        assert -(-septets // 153) <= parts <= -(-septets // 152)


@given(st.text(max_size=300), st.text(max_size=300))
def test_longer_text_never_needs_fewer_sms(a, b):
    assert gsm7.segments(a + b) >= gsm7.segments(a) >= 1


# -- every reply fits one GSM-7 SMS ----------------------------------------------------------

PROBLEM_MESSAGES = {
    ProblemKind.NO_CHOICES: "4821 7730 9510",
    ProblemKind.UNKNOWN_NUMBER: "4821 7730 9510 4242",
    ProblemKind.UNCLEAR_WORD: "4821 7730 9510 außer 1",
    ProblemKind.RANGE: "4821 7730 9510 1-2",
    ProblemKind.YES_AND_NO: "4821 7730 9510 ja nein",
}


@pytest.mark.parametrize("process", PROCESSES, ids=lambda p: p.id + str(PROCESSES.index(p)))
@pytest.mark.parametrize("lang", LANGS)
def test_every_outcome_fits_one_gsm7_sms(process, lang):
    for outcome in Outcome:
        text = reply_for(outcome, lang, process)
        if outcome is Outcome.NO_REPLY:
            assert text is None
            continue
        one_sms(text)
        plain_words(text)


VOTE_OUTCOMES = frozenset({Outcome.RECEIVED, Outcome.REPLACED, Outcome.DUPLICATE, Outcome.ALREADY_VOTED,
                           Outcome.IN_REVIEW, Outcome.VOID_CODE, Outcome.CLOSED, Outcome.NOT_OPEN, Outcome.NEED_CODE,
                           Outcome.LOCKED_OUT})


@pytest.mark.parametrize("process", PROCESSES, ids=lambda p: p.id + str(PROCESSES.index(p)))
@pytest.mark.parametrize("lang", LANGS)
def test_every_outcome_of_an_mms_says_the_photo_was_not_read_in_one_sms(process, lang):
    note = {"de": "Das Foto haben wir nicht gelesen.", "en": "We did not read the photo."}[lang]
    for outcome in Outcome:
        text = reply_for(outcome, lang, process, photo=True)
        if outcome is Outcome.NO_REPLY:
            assert text is None
            continue
        one_sms(text)
        if outcome is Outcome.PHOTO:
            assert text.startswith({"de": "Fotos können wir nicht lesen.", "en": "We cannot read photos."}[lang])
            assert "1234 5678 9012" in text and not is_valid_code("123456789012")
        elif outcome in VOTE_OUTCOMES:  # an MMS reaches the others only as PHOTO
            assert text.endswith(note), (outcome, text)


def test_every_problem_fits_one_gsm7_sms():
    seen: set[ProblemKind] = set()
    messages = [*PROBLEM_MESSAGES.values(), "4821 7730 9510 1 2 3 4 5 6 7 8 9", "4821 7730 9510 ja",
                "4821 7730 9510 10 11", "4821 7730 9510 1 " + " ".join(str(n) for n in range(3, 35)),
                "4821 7730 9510 no 1"]
    for process in PROCESSES:
        for body in messages:
            intent = parse(body, process)
            if intent.kind is not IntentKind.INVALID:
                continue
            seen.update(p.kind for p in intent.problems)
            for lang in LANGS:
                for shown in (intent, Outcome.INVALID):
                    text = reply_for(shown, lang, process, intent=intent)
                    one_sms(text)
                    plain_words(text)
                    assert text.startswith("Nicht angenommen" if lang == "de" else "Not accepted")
    assert seen == set(ProblemKind)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("process", PROCESSES, ids=lambda p: p.id + str(PROCESSES.index(p)))
def test_every_code_problem_fits_one_gsm7_sms(process, lang):
    texts = set()
    for problem in CodeProblem:
        for kind, outcome in ((IntentKind.NEED_CODE, Outcome.NEED_CODE), (IntentKind.STATUS, Outcome.STATUS_NEED_CODE)):
            intent = Intent(kind, code_problem=problem)
            text = reply_for(intent, lang, process)
            assert text == reply_for(outcome, lang, process, intent=intent)
            one_sms(text)
            texts.add(text)
    assert len(texts) == 6  # missing, wrong (mistyped and not issued alike), several; for votes and STATUS


problems = st.builds(
    Problem,
    kind=st.sampled_from(ProblemKind),
    numbers=st.lists(st.integers(0, 10**40), max_size=3).map(tuple),
    question=st.none() | st.sampled_from(["q1", "q2", "q3", "budget", "elsewhere"]),
    limit=st.none() | st.integers(1, 10**15),
    total=st.none() | st.integers(1, 10**15),
    word=st.none() | st.sampled_from(["nicht", "ausser", "or", "no", "stattdessen"]) | st.text(max_size=30),
)


@settings(max_examples=300)
@given(problems, st.sampled_from(LANGS), st.sampled_from([POLL, BUDGET, APPROVAL]))
def test_any_problem_with_any_figures_fits_one_sms(problem, lang, process):
    """Even a Problem that does not match the process gets a reply, never an exception."""
    intent = Intent(IntentKind.INVALID, code=CODE, problems=(problem,))
    one_sms(reply_for(intent, lang, process))


@given(st.dictionaries(st.sampled_from(["q1", "q3", "budget", "x"]), st.lists(st.sampled_from(["a", "yes", "131", "?"]),
                                                                               max_size=3).map(tuple)),
       st.sampled_from(LANGS), st.sampled_from([POLL, BUDGET]))
def test_received_with_foreign_choices_still_replies(choices, lang, process):
    one_sms(reply_for(Outcome.RECEIVED, lang, process, intent=Intent(IntentKind.VOTE, code=CODE, choices=choices)))


@settings(max_examples=200)
@given(st.lists(st.integers(1, 34), min_size=1, max_size=34, unique=True), st.sampled_from(LANGS),
       st.sampled_from([Outcome.RECEIVED, Outcome.REPLACED]))
def test_received_echoes_the_numbers_when_they_fit(numbers, lang, outcome):
    items = {it.number: it for it in BUDGET.items()}
    intent = Intent(IntentKind.VOTE, code=CODE, choices={"budget": tuple(items[n].option for n in sorted(numbers))},
                    numbers=tuple(sorted(numbers)))
    text = reply_for(outcome, lang, BUDGET, intent=intent)
    one_sms(text)
    echo = ", ".join(str(n) for n in sorted(numbers))
    assert echo in text or text == reply_for(outcome, lang, BUDGET)


# -- the words ----------------------------------------------------------------------------


def test_received_word_by_word():
    intent = parse("4821 7730 9510 3 7 nein")
    assert reply_for(Outcome.RECEIVED, "de", POLL, intent=intent) == (
        "Danke! Wir haben Ihre Stimme erhalten: 3, 7, NEIN.")
    assert reply_for(Outcome.RECEIVED, "en", POLL, intent=intent) == "Thank you! We have received your vote: 3, 7, NO."
    assert reply_for(Outcome.RECEIVED, "de", POLL) == "Danke! Wir haben Ihre Stimme erhalten."
    assert reply_for(Outcome.RECEIVED, "de", REFERENDUM, intent=parse("4821 7730 9510 2", REFERENDUM)) == (
        "Danke! Wir haben Ihre Stimme erhalten: NEIN.")


def test_invalid_word_by_word():
    def de(body: str, process: Process = POLL) -> str:
        return reply_for(parse(body, process), "de", process)

    def en(body: str, process: Process = POLL) -> str:
        return reply_for(parse(body, process), "en", process)

    assert de("4821 7730 9510 42") == (
        "Nicht angenommen: Die Nummer 42 gibt es nicht (nur 1 bis 11). Bitte senden Sie Code und Nummern noch einmal.")
    assert en("4821 7730 9510 42") == (
        "Not accepted: there is no number 42 (only 1 to 11). Please send your code and numbers again.")
    assert de("4821 7730 9510 5 6 7") == ("Nicht angenommen: Bei Frage 2 (Nr. 5 bis 9) höchstens 2 Antworten. "
                                          "Bitte senden Sie Code und Nummern noch einmal.")
    assert de("4821 7730 9510 1 2") == ("Nicht angenommen: Bei Frage 1 (Nr. 1 bis 4) nur 1 Antwort. "
                                        "Bitte senden Sie Code und Nummern noch einmal.")
    assert en("4821 7730 9510 5 6 7") == ("Not accepted: question 2 (numbers 5 to 9) takes at most 2 answers. "
                                          "Please send your code and numbers again.")
    assert de("4821 7730 9510 1 2 3 8 10", BUDGET) == (
        "Nicht angenommen: Ihre Auswahl kostet 507.000 Euro, erlaubt sind 500.000 Euro. "
        "Bitte senden Sie Code und weniger Nummern noch einmal.")
    assert en("4821 7730 9510 1 2 3 8 10", BUDGET) == (
        "Not accepted: your choice costs EUR 507,000; the limit is EUR 500,000. "
        "Please send your code with fewer numbers again.")
    assert de("4821 7730 9510 1 2 3 4", APPROVAL) == (
        "Nicht angenommen: Höchstens 3 Vorschläge, Sie haben 4 gewählt. Bitte senden Sie Code und Nummern noch einmal.")
    assert de("4821 7730 9510") == ("Nicht angenommen: Es fehlen die Nummern Ihrer Wahl. Bitte senden Sie Code und "
                                    "Nummern zusammen, z.B.: 1234 5678 9012 1 5 10")
    assert de("4821 7730 9510 3 außer 5") == ('Nicht angenommen: Wörter wie "außer" können wir nicht sicher lesen. '
                                              "Bitte senden Sie nur den Code und die Nummern Ihrer Wahl.")
    assert de("4821 7730 9510 ja", BUDGET).startswith("Nicht angenommen: Bitte senden Sie statt JA oder NEIN")
    assert en("4821 7730 9510 5-7").startswith("Not accepted: do you mean 5 to 7, or just 5 and 7?")


def test_need_code_help_chatter_word_by_word():
    assert reply_for(parse("3 7"), "de", POLL) == (
        "Bitte senden Sie den 12-stelligen Code von Ihrem Stimmzettel und die Nummern Ihrer Wahl, "
        "z.B.: 1234 5678 9012 1 5 10")
    assert reply_for(parse("4821 7730 9519 3"), "en", POLL) == (
        "We do not know this code. Please check the 12 digits and send your code and numbers again, "
        "e.g.: 1234 5678 9012 1 5 10")
    assert reply_for(parse("Hilfe"), "de", BUDGET) == (
        "Bürgerhaushalt Würzburg 2027. Senden Sie Code und Nummern Ihrer Wahl, z.B. 1234 5678 9012 1 2. "
        "Stimme erhalten? STATUS und Code senden.")
    assert reply_for(parse("help"), "en", REFERENDUM).startswith("Residents' poll: the future of the Main riverbank. ")
    assert "1234 5678 9012 YES" in reply_for(parse("help"), "en", REFERENDUM)
    assert reply_for(parse("Hallo"), "en", POLL) == (
        "Sorry, we did not understand. To vote, send your code and numbers, e.g.: 1234 5678 9012 1 5 10. "
        "For help: HELP")


def test_a_title_outside_gsm7_leaves_the_help_plain():
    text = reply_for(Outcome.HELP, "de", FANCY_TITLE)
    assert text.startswith("So stimmen Sie ab: ")
    one_sms(text)


def test_status_says_only_received_or_not():
    assert reply_for(Outcome.STATUS_RECEIVED, "de", POLL) == "Für diesen Code haben wir eine Stimme erhalten."
    assert reply_for(Outcome.STATUS_NOT_RECEIVED, "en", POLL) == (
        "We have not received a vote for this code yet. Letters take a few days to arrive.")
    assert reply_for(Outcome.STATUS_NOT_RECEIVED, "en", NO_PAPER) == "We have not received a vote for this code yet."
    for lang in LANGS:
        for outcome in (Outcome.STATUS_RECEIVED, Outcome.STATUS_NOT_RECEIVED):
            assert not any(ch.isdigit() for ch in reply_for(outcome, lang, POLL))
    assert reply_for(parse("STATUS"), "de", POLL) == (
        "Bitte senden Sie STATUS und den 12-stelligen Code von Ihrem Stimmzettel, z.B.: STATUS 1234 5678 9012")


def test_window_replies_name_the_day():
    assert reply_for(Outcome.CLOSED, "de", POLL) == (
        "Die Abstimmung ist vorbei (letzter Tag: 31.05.2027). Ihre SMS wurde nicht übernommen.")
    assert reply_for(Outcome.CLOSED, "en", POLL) == (
        "Voting has closed (last day: 31 May 2027). Your message was not used.")
    assert reply_for(Outcome.NOT_OPEN, "de", POLL) == (
        "Die Abstimmung beginnt am 03.05.2027. Bitte senden Sie Ihre Stimme ab dann noch einmal.")
    assert reply_for(Outcome.CLOSED, "de", LATE_HOURS) == (
        "Die Abstimmung ist vorbei (Ende: 01.06.2027, 18:00 Uhr). Ihre SMS wurde nicht übernommen.")
    assert reply_for(Outcome.NOT_OPEN, "en", LATE_HOURS) == (
        "Voting opens on 3 May 2027 at 09:30. Please send your vote again from then on.")


def test_rules_outcomes_word_by_word():
    assert reply_for(Outcome.DUPLICATE, "de", POLL) == (
        "Diese Stimme hatten wir schon erhalten. Sie müssen nichts mehr tun.")
    assert reply_for(Outcome.ALREADY_VOTED, "en", POLL) == (
        "We had already received a different vote for this code. This message was not used.")
    assert reply_for(Outcome.LOCKED_OUT, "de", POLL).startswith("Von diesem Telefon kamen zu viele falsche Codes.")
    assert reply_for(Outcome.HIDDEN_CALLER, "en", POLL) == (
        "Your phone number is hidden. Please send the message again with your number shown.")


def test_the_example_is_a_valid_choice_with_a_code_nobody_has():
    assert not is_valid_code(EXAMPLE_CODE.replace(" ", ""))
    for process in PROCESSES:
        for lang in LANGS:
            shown = example(process, lang)
            assert shown.startswith(EXAMPLE_CODE + " ")
            assert parse(shown.replace(EXAMPLE_CODE, CODE), process).kind is IntentKind.VOTE
            assert parse_message(shown, process, lambda code: True).code != EXAMPLE_CODE.replace(" ", "")


# -- mapping decisions to outcomes -------------------------------------------------------------


def test_outcome_of_intents():
    assert outcome_of(parse("4821 7730 9510 3")) is None
    assert outcome_of(parse("status 4821 7730 9510")) is None
    assert outcome_of(parse("status")) is Outcome.STATUS_NEED_CODE
    assert outcome_of(parse("STOP")) is Outcome.NO_REPLY
    assert outcome_of(parse("YES")) is Outcome.NO_REPLY
    assert outcome_of(parse("HELP")) is Outcome.HELP
    assert outcome_of(parse("3 7")) is Outcome.NEED_CODE
    assert outcome_of(parse("4821 7730 9510 42")) is Outcome.INVALID
    assert outcome_of(parse("hallo")) is Outcome.CHATTER
    assert reply_for(parse("STOP"), "de", POLL) is None
    with pytest.raises(ValueError):
        reply_for(parse("4821 7730 9510 3"), "de", POLL)


def test_outcome_for_rule_decisions():
    assert outcome_for(RecordState.COUNTED) is Outcome.RECEIVED
    assert outcome_for(RecordState.COUNTED, replaced=True) is Outcome.REPLACED
    assert outcome_for(RecordState.DUPLICATE) is Outcome.DUPLICATE
    assert outcome_for(RecordState.SUPERSEDED) is Outcome.ALREADY_VOTED
    assert outcome_for(RecordState.REVIEW, [Reason.CROSS_CHANNEL_CONFLICT]) is Outcome.IN_REVIEW
    assert outcome_for(RecordState.REJECTED, [Reason.LATE]) is Outcome.CLOSED
    assert outcome_for(RecordState.REJECTED, [Reason.EARLY]) is Outcome.NOT_OPEN
    assert outcome_for(RecordState.REJECTED, [Reason.VOID_CODE]) is Outcome.VOID_CODE
    assert outcome_for(RecordState.REJECTED, [Reason.UNKNOWN_CODE]) is Outcome.NEED_CODE
    with pytest.raises(ValueError):
        outcome_for(RecordState.NOT_A_VOTE)


def test_reply_language():
    assert reply_language(POLL, "en") == "en"
    assert reply_language(POLL, None) == "de"
    assert reply_language(POLL, "tr") == "de"  # no Turkish replies yet: the process's first language
    english_first = variant(POLL, languages=["en", "de"])
    assert reply_language(english_first, None) == "en"
    assert reply_for(Outcome.DUPLICATE, None, english_first).startswith("We had already")

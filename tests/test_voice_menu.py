"""The phone menu without a server (sms.voice_menu, sms.voice_texts, sms.voice_twiml):
what each key does, what is said, and properties that hold for any keys pressed."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid import rules
from hybrid.codes import new_code
from hybrid.definition import Process
from hybrid.definition_file import load_process
from hybrid.states import MarkState
from sms import voice_menu as menu
from sms.voice_menu import CallOutcome, CallState, CodeCheck, CodeStatus, Entry, EntryKind, Step, read_entry
from sms.voice_texts import VOICES, Words, catalogue, voice_language
from sms.voice_twiml import render

EXAMPLES = Path(__file__).resolve().parent.parent / "hybrid" / "examples"
POLL = load_process(EXAMPLES / "poll.yaml")
BUDGET = load_process(EXAMPLES / "budget.yaml")
APPROVAL = BUDGET.model_copy(update={"budget": BUDGET.budget.model_copy(update={"voting_style": "approval",
                                                                                 "max_lines": 3})})
CODE = new_code()
VOID = new_code()
UNKNOWN = new_code()


def check(code: str) -> CodeCheck:
    return {CODE: CodeCheck(CodeStatus.ISSUED, "de"), VOID: CodeCheck(CodeStatus.VOID)}.get(
        code, CodeCheck(CodeStatus.UNKNOWN))


def key(digits: str, finished: str = "#") -> Entry:
    return read_entry(digits, finished)


def play(process: Process, *entries: Entry) -> menu.Turn:
    turn = menu.begin(process)
    for entry in entries:
        turn = menu.advance(process, turn.state, entry, check)
    return turn


def said(turn: menu.Turn) -> list[str]:
    return [line.text for line in turn.say]


def test_what_twilio_sends_is_read_as_one_entry():
    assert read_entry("", "#") == Entry(EntryKind.DONE)
    assert read_entry("", "") == read_entry(None, None) == Entry(EntryKind.SILENCE)
    assert read_entry("12*", "") == read_entry("*", "#") == Entry(EntryKind.REPEAT)
    assert read_entry("0", "#") == Entry(EntryKind.HELP)
    assert read_entry("07", "") == Entry(EntryKind.NUMBER, "07")
    assert read_entry(" 4821773095 12", "#").kind is EntryKind.SILENCE  # not digits: as if nothing was heard


def test_a_code_is_asked_again_until_the_third_try():
    turn = play(POLL, key("12345"))
    assert said(turn)[0] == "Der Code hat 12 Ziffern. Wir haben 5 Ziffern erhalten."
    assert (turn.state.tries, turn.wrong_code) == (1, False)
    turn = menu.advance(POLL, turn.state, key("1"), check)
    assert said(turn)[0] == "Der Code hat 12 Ziffern. Wir haben eine Ziffer erhalten."
    void = menu.advance(POLL, turn.state, key(VOID), check)
    assert said(void)[0] == "Dieser Code gilt nicht mehr. Bitte nutzen Sie den Code auf Ihrem neuen Stimmzettel."
    assert void.listen is None and void.outcome is CallOutcome.TOO_MANY_TRIES and not void.wrong_code
    wrong = play(POLL, key(UNKNOWN))
    assert wrong.wrong_code and said(wrong)[0] == "Diesen Code kennen wir nicht. Bitte prüfen Sie die 12 Ziffern."
    assert play(POLL, key(UNKNOWN), key("*"), key("0"), key(CODE)).code == CODE  # * and 0 use up no try


def test_keys_repeat_and_help_in_every_step_and_stale_callbacks_hear_the_step_again():
    at_question = play(POLL, key(CODE))
    again = menu.advance(POLL, at_question.state, key("*"), check)
    assert said(again) == said(at_question)[1:]  # the question again, without "the code is valid"
    assert again.state.seq == at_question.state.seq + 1
    helped = menu.advance(POLL, at_question.state, key("0"), check)
    assert said(helped) == ["Drücken Sie die Nummer einer Antwort und dann die Raute-Taste.",
                            "Wenn Sie fertig sind, drücken Sie nur die Raute-Taste.",
                            "Mit der Stern-Taste hören Sie die Frage und alle Nummern noch einmal."]
    stale = menu.repeat(POLL, at_question.state)
    assert stale.state == at_question.state and said(stale) == said(again)
    confirm = play(POLL, key(CODE), key("1"), key("", "#"), key("", "#"))
    assert said(menu.advance(POLL, confirm.state, key("0"), check)) == [
        "Mit der 1 geben Sie Ihre Stimme ab. Mit der 2 ändern Sie Ihre Wahl. Mit der Stern-Taste hören Sie Ihre "
        "Wahl noch einmal."]
    ended = menu.finish(POLL, confirm.state, CallOutcome.RECEIVED)
    assert menu.advance(POLL, ended.state, key("1"), check) == menu.Turn(ended.state, (), None)


def test_a_multiple_choice_question_adds_removes_and_refuses_a_third():
    turn = play(POLL, key(CODE), key("1"), key("5"))
    assert said(turn) == ["Gewählt: Nummer 5, Mehr Sitzbänke und Schatten.", "Sie können noch eine weitere wählen.",
                          "Nächste Nummer, oder nur die Raute-Taste, wenn Sie fertig sind."]
    assert said(menu.advance(POLL, turn.state, key("5"), check))[:2] == ["Nummer 5 ist nicht mehr gewählt.",
                                                                         "Sie können noch 2 weitere wählen."]
    full = menu.advance(POLL, turn.state, key("8"), check)
    assert full.state.question == 2 and full.state.chosen("q2") == ("a", "d")
    back = play(POLL, key(CODE), key("1"), key("5"), key("8"), key("10"), key("2"), key("", "#"))
    assert back.state.question == 1
    refused = menu.advance(POLL, back.state, key("9"), check)
    assert said(refused) == ["Sie haben hier schon 2 gewählt, mehr geht nicht. Um eine Nummer abzuwählen, drücken "
                             "Sie sie noch einmal.", "Wenn Sie fertig sind, drücken Sie nur die Raute-Taste."]
    assert refused.state.chosen("q2") == ("a", "d")
    assert said(menu.advance(POLL, back.state, key("3"), check))[0] == (
        "Die Nummer 3 gehört zu einer anderen Frage. Hier sind es die Nummern 5 bis 9.")


def test_an_approval_budget_counts_proposals_not_money():
    turn = play(APPROVAL, key(CODE))
    assert said(turn)[1] == "Bürgerhaushalt Würzburg 2027. Sie können bis zu 3 Vorschläge wählen."
    assert "Nummer 3: Sichere Fahrradabstellanlage am Hauptbahnhof." in said(turn)  # no prices
    turn = menu.advance(APPROVAL, turn.state, key("3"), check)
    assert said(turn)[:2] == ["Gewählt: Nummer 3, Sichere Fahrradabstellanlage am Hauptbahnhof.",
                              "Sie können noch 2 weitere wählen."]
    turn = menu.advance(APPROVAL, turn.state, key("10"), check)
    last = menu.advance(APPROVAL, turn.state, key("12"), check)
    assert said(last)[1:3] == ["Mehr geht bei dieser Frage nicht.", "Bitte prüfen Sie Ihre Wahl."]
    assert last.state.step is Step.CONFIRM and "Zusammen" not in " ".join(said(last))
    assert menu.advance(APPROVAL, last.state, key("1"), check).confirm


def test_only_the_languages_of_the_process_are_offered():
    german_only = POLL.model_copy(update={"languages": ["de"]})
    hello = menu.begin(german_only)
    assert [line.lang for line in hello.say] == ["de", "de", "de"]
    assert said(menu.advance(german_only, hello.state, key("9"), check))[0].startswith("Der Code hat 12 Ziffern.")
    turkish_first = POLL.model_copy(update={"languages": ["tr", "de"]})
    assert voice_language(turkish_first, "tr") == "de"
    assert [line.lang for line in menu.begin(turkish_first).say] == ["de", "de", "de"]
    english_first = POLL.model_copy(update={"languages": ["en", "de"]})
    assert [line.lang for line in menu.begin(english_first).say] == ["en", "de", "en", "en"]
    assert voice_language(POLL.model_copy(update={"languages": ["uk"]}), None) == "en"


def test_every_outcome_has_words_and_nothing_says_counted():
    de, en = catalogue("de"), catalogue("en")
    assert de.keys() == en.keys()
    for outcome in CallOutcome:
        if outcome is not CallOutcome.HUNG_UP:  # nobody is left to hear it
            assert outcome.value in de, outcome
    for text in [*de.values(), *en.values()]:
        assert not re.search(r"(?i)gezählt|zählen|\bcounted\b", text), text
    assert Words("de").money(45000) == "45.000 Euro" and Words("en").money(1250000) == "1,250,000 euros"
    assert Words("de").numbers(["a", "b", "c"]) == "a, b und c" and Words("en").numbers(["a"]) == "a"


def test_the_twiml_of_a_listening_and_of_a_final_turn():
    turn = play(POLL, key(CODE), key("1"), key("", "#"), key("", "#"))
    root = ElementTree.fromstring(render(turn, "https://a.example/twilio/voice/gather?step=7").encode())
    gather = root.find("Gather")
    assert gather.attrib == {"input": "dtmf", "action": "https://a.example/twilio/voice/gather?step=7",
                             "method": "POST", "finishOnKey": "#", "timeout": "8", "numDigits": "1",
                             "actionOnEmptyResult": "true"}
    says = gather.findall("Say")
    assert len(says) == len(turn.say)
    assert {(s.get("voice"), s.get("language")) for s in says} == {("Polly.Vicki-Neural", "de-DE")}
    assert all(s.find("prosody").get("rate") == "85%" and s.find("prosody/break").get("time") == "400ms" for s in says)
    assert root.find("Redirect").text == gather.get("action") and root.find("Hangup") is None
    final = ElementTree.fromstring(render(menu.finish(POLL, turn.state, CallOutcome.IN_REVIEW), "x").encode())
    assert [child.tag for child in final] == ["Say", "Say", "Hangup"]


# -- properties: any keys, any order ---------------------------------------------------------

PROCESSES = {"poll": POLL, "budget": BUDGET, "approval": APPROVAL}
ENTRIES = st.one_of(
    st.sampled_from([Entry(EntryKind.SILENCE), Entry(EntryKind.DONE), Entry(EntryKind.REPEAT), Entry(EntryKind.HELP)]),
    st.integers(min_value=1, max_value=40).map(lambda n: Entry(EntryKind.NUMBER, str(n))),
    st.sampled_from([CODE, VOID, UNKNOWN, CODE[:11], CODE[::-1], "9"]).map(lambda d: Entry(EntryKind.NUMBER, d)),
)


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(sorted(PROCESSES)), with_code=st.booleans(), entries=st.lists(ENTRIES, max_size=40))
def test_any_keys_keep_the_rules_and_the_call_moving(kind, with_code, entries):
    process = PROCESSES[kind]
    turn = menu.begin(process)
    entries = [key(CODE)] * with_code + entries  # half of the calls get past the code at once
    codes_given = 0
    for entry in entries:
        before = turn.state
        if before.step is Step.ENDED:
            break
        turn = menu.advance(process, before, entry, check)
        state = turn.state
        assert CallState.from_json(state.to_json()) == state
        assert CODE not in state.to_json()
        codes_given += turn.code is not None
        assert codes_given <= 1
        boxes = [rules.MarkedBox(q, o, MarkState.MARKED) for q, opts in state.vote().items() for o in opts]
        assert rules.judge_choices(process, boxes)[1] == set()  # never an overvote, never over budget
        assert state.tries < menu.MAX_TRIES or state.step is Step.ENDED
        assert state.silences < menu.MAX_SILENCES or state.step is Step.ENDED
        for line in turn.say:
            assert line.lang in VOICES and line.text and "{" not in line.text
        if turn.confirm:
            assert before.step is Step.CONFIRM and state.vote() and codes_given == 1 and entry.digits == "1"
            break
        if turn.listen is None:
            assert state.step is Step.ENDED and turn.outcome is not None
        else:
            assert state.seq == before.seq + 1 and state.step is not Step.ENDED and turn.say
        if state.step in (Step.QUESTION, Step.CONFIRM):
            assert codes_given == 1


@settings(max_examples=100, deadline=None)
@given(numbers=st.lists(st.integers(min_value=1, max_value=34), max_size=30))
def test_the_money_left_is_always_what_the_choices_leave(numbers):
    turn = play(BUDGET, key(CODE))
    prices = {it.number: it.price for it in BUDGET.items()}
    for number in numbers:
        if turn.state.step is not Step.QUESTION:
            break
        turn = menu.advance(BUDGET, turn.state, key(str(number)), check)
        chosen = turn.state.chosen("budget")
        left = 500000 - sum(it.price for it in BUDGET.items() if it.option in chosen)
        assert left >= 0
        spoken = [t for t in said(turn) if t.startswith(("Es bleiben noch", f"Nummer {number} kostet"))]
        if spoken and spoken[0].startswith("Es bleiben"):
            assert spoken[0] == f"Es bleiben noch {Words('de').money(left)}."
        if spoken and "kostet" in spoken[0]:
            assert prices[number] > left


def test_the_state_is_plain_json_and_a_damaged_one_is_refused():
    state = CallState.from_json('{"step": "question", "lang": "en", "lang_chosen": true, "seq": 4, "tries": 1, '
                                '"silences": 0, "question": 1, "choices": {"q1": ["b"]}}')
    assert state == replace(CallState(), step=Step.QUESTION, lang="en", lang_chosen=True, seq=4, tries=1, question=1,
                            choices=(("q1", ("b",)),))
    with pytest.raises(ValueError):
        CallState.from_json('{"step": "nonsense", "lang": "de", "lang_chosen": false, "seq": 1, "tries": 0, '
                            '"silences": 0, "question": 0, "choices": {}}')

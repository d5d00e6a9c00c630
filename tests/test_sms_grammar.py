"""SMS grammar (DESIGN §7): a citizen texts `4821 7730 9510 3 17` and we read what they meant,
or say precisely why we cannot — never a guess."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from hybrid.codes import check_digit, format_code, is_valid_code
from hybrid.definition import Process
from hybrid.definition_file import load_process
from sms.grammar import (
    MAX_CHARS,
    MAX_CODE_LOOKUPS,
    TWILIO_KEYWORDS,
    CodeProblem,
    Intent,
    IntentKind,
    ProblemKind,
    YesNo,
    parse_message,
    yes_no_question,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "hybrid" / "examples"
POLL = load_process(EXAMPLES / "poll.yaml")  # 1-4 q1 (max 1), 5-9 q2 (max 2), 10 Ja / 11 Nein q3
BUDGET = load_process(EXAMPLES / "budget.yaml")  # 34 investments, knapsack 500,000
CODE = "482177309510"  # valid (Verhoeff) and, in these tests, issued
OTHER = "12345678901" + check_digit("12345678901")  # a second valid code


def issued(*codes: str):
    allowed = set(codes)
    return lambda code: code in allowed


def parse(body: str, process: Process = POLL, *codes: str) -> Intent:
    return parse_message(body, process, issued(*(codes or (CODE,))))


def variant(process: Process, **changes) -> Process:
    data = process.model_dump()
    data.update(changes)
    return Process.model_validate(data)


def yes_no_poll(option_ids=("yes", "no"), texts=(("Ja", "Yes"), ("Nein", "No")), questions_before=()) -> Process:
    question = {"id": "ref", "text": {"de": "Soll es so kommen?", "en": "Should it?"}, "options": [
        {"id": option_ids[0], "text": {"de": texts[0][0], "en": texts[0][1]}},
        {"id": option_ids[1], "text": {"de": texts[1][0], "en": texts[1][1]}},
    ]}
    return variant(POLL, questions=[*questions_before, question])


APPROVAL = variant(BUDGET, budget={**BUDGET.budget.model_dump(), "voting_style": "approval", "max_lines": 3})


# -- the messages from the brief and the ballot ---------------------------------------------


@pytest.mark.parametrize("body", [
    "4821 7730 9510 3 7",
    "482177309510 3 7",
    "4821-7730-9510 3,7",
    "48217 730 9510 3 7",
    "Code: 4821-7730-9510, Nr. 3 und 7 bitte",
    "code 4821.7730.9510 nr 3, nr 7",
    "3 7 4821 7730 9510",
    "Nr. 7\nNr. 3\nCode 4821 7730 9510",
    "4821\u00a07730\u00a09510 3 7",  # no-break spaces
    "4821\u200b7730 9510 3 7",  # a zero-width space inside the code
    "\u200f4821 7730 9510 3 7\u200e",  # RTL/LTR marks
    "４８２１ ７７３０ ９５１０ ３ ７",  # full-width digits (NFKC)
    "٤٨٢١ ٧٧٣٠ ٩٥١٠ ٣ ٧",  # Arabic-Indic digits
    "4821 7730 9510 3 7 3 7",  # the same numbers twice count once
    "4821 7730 9510 🗳️ 3️⃣ 7 👍",
    "4821 7730 9510 03 7",
    "4821 7730 9510 3 7 — 4821 7730 9510",  # the same code twice is one code
])
def test_a_vote_in_the_ways_people_write_it(body):
    intent = parse(body)
    assert intent.kind is IntentKind.VOTE, intent
    assert intent.code == CODE
    assert intent.choices == {"q1": ("c",), "q2": ("c",)}
    assert intent.numbers == (3, 7)
    assert intent.problems == ()


def test_a_digit_group_is_one_number_never_split():
    intent = parse("4821 7730 9510 317")
    assert intent.kind is IntentKind.INVALID
    assert intent.problem.kind is ProblemKind.UNKNOWN_NUMBER and intent.problem.numbers == (317,)
    assert parse("4821 7730 9510 3.7").numbers == (3, 7)  # a dot separates, like a comma


def test_choices_keep_ballot_order_and_map_to_option_ids():
    intent = parse("4821 7730 9510 10 6 5 1")
    assert intent.kind is IntentKind.VOTE
    assert intent.choices == {"q1": ("a",), "q2": ("a", "b"), "q3": ("yes",)}
    assert list(intent.choices) == ["q1", "q2", "q3"]


def test_a_budget_vote_maps_numbers_to_investment_ids():
    intent = parse("4821 7730 9510 1 2 6", BUDGET)
    assert intent.kind is IntentKind.VOTE
    assert intent.choices == {"budget": ("131", "132", "137")}


# -- yes and no ----------------------------------------------------------------------------


@pytest.mark.parametrize("body, option", [
    ("4821 7730 9510 3 Ja", "yes"), ("4821 7730 9510 3 ja!", "yes"), ("4821 7730 9510 3 YES", "yes"),
    ("4821 7730 9510 3 Nein.", "no"), ("4821 7730 9510 3 no", "no"), ("NEIN 4821 7730 9510 3", "no"),
    ("Nein, 4821 7730 9510, 3", "no"), ("4821 7730 9510 3 10 ja", "yes"),  # number and word agree
])
def test_ja_nein_yes_no_answer_the_only_yes_no_question(body, option):
    intent = parse(body)
    assert intent.kind is IntentKind.VOTE, intent
    assert intent.choices == {"q1": ("c",), "q3": (option,)}


def test_yes_no_question_detection():
    assert yes_no_question(POLL) == YesNo("q3", "yes", "no")
    assert yes_no_question(BUDGET) is None
    by_text = yes_no_poll(option_ids=("a", "b"), texts=(("Nein", "No"), ("Ja", "Yes")))
    assert yes_no_question(by_text) == YesNo("ref", "b", "a")
    by_id = yes_no_poll(option_ids=("ja", "nein"), texts=(("Dafür", "For"), ("Dagegen", "Against")))
    assert yes_no_question(by_id) == YesNo("ref", "ja", "nein")
    neither = yes_no_poll(option_ids=("a", "b"), texts=(("Dafür", "For"), ("Dagegen", "Against")))
    assert yes_no_question(neither) is None
    both_yes = yes_no_poll(option_ids=("a", "b"), texts=(("Ja", "Yes"), ("Ja!", "Yes!")))
    assert yes_no_question(both_yes) is None
    two = variant(POLL, questions=[*POLL.model_dump()["questions"], yes_no_poll().model_dump()["questions"][0]])
    assert yes_no_question(two) is None


def test_a_lone_yes_no_question_takes_the_word_alone():
    process = yes_no_poll()
    assert parse("4821 7730 9510 JA", process).choices == {"ref": ("yes",)}
    assert parse("Nein 482177309510", process).choices == {"ref": ("no",)}


def test_yes_no_words_are_refused_where_they_cannot_be_placed():
    two = variant(POLL, questions=[*POLL.model_dump()["questions"], yes_no_poll().model_dump()["questions"][0]])
    for process in (BUDGET, two):
        intent = parse("4821 7730 9510 1 ja", process)
        assert intent.kind is IntentKind.INVALID
        assert intent.problem.kind is ProblemKind.YES_NO_NOT_HERE


def test_yes_and_no_together_or_word_against_number():
    both = parse("4821 7730 9510 3 ja nein")
    assert both.kind is IntentKind.INVALID and both.problem.kind is ProblemKind.YES_AND_NO
    mixed = parse("4821 7730 9510 3 11 ja")  # 11 is Nein
    assert mixed.kind is IntentKind.INVALID
    assert mixed.problem.kind is ProblemKind.OVERVOTE and mixed.problem.question == "q3"


def test_no_before_a_number_is_the_abbreviation_or_unclear():
    assert parse("4821 7730 9510 No. 3").choices == {"q1": ("c",)}
    assert parse("4821 7730 9510 no:3 no.7").choices == {"q1": ("c",), "q2": ("c",)}
    assert parse("4821 7730 9510 No3").choices == {"q1": ("c",)}
    assert parse("Code No. 4821 7730 9510 3").choices == {"q1": ("c",)}
    unclear = parse("4821 7730 9510 no 3")  # NO to q3 and 3, or number 3?
    assert unclear.kind is IntentKind.INVALID
    assert unclear.problem.kind is ProblemKind.UNCLEAR_WORD and unclear.problem.word == "no"
    # without a yes/no question "No 3" can only mean number 3
    assert parse("4821 7730 9510 No 3 and no 6", BUDGET).choices == {"budget": ("133", "137")}


# -- problems ---------------------------------------------------------------------------


def test_problems_are_named_precisely():
    cases = {
        "4821 7730 9510": (ProblemKind.NO_CHOICES, {}),
        "4821 7730 9510 42": (ProblemKind.UNKNOWN_NUMBER, {"numbers": (42,)}),
        "4821 7730 9510 0 3": (ProblemKind.UNKNOWN_NUMBER, {"numbers": (0,)}),
        "4821 7730 9510 1 2": (ProblemKind.OVERVOTE, {"question": "q1", "limit": 1, "total": 2}),
        "4821 7730 9510 5 6 7": (ProblemKind.OVERVOTE, {"question": "q2", "limit": 2, "total": 3}),
        "4821 7730 9510 3 nicht 7": (ProblemKind.UNCLEAR_WORD, {"word": "nicht"}),
        "4821 7730 9510 3 oder 4": (ProblemKind.UNCLEAR_WORD, {"word": "oder"}),
        "4821 7730 9510 alle außer 3": (ProblemKind.UNCLEAR_WORD, {"word": "ausser"}),
        "4821 7730 9510 not 3": (ProblemKind.UNCLEAR_WORD, {"word": "not"}),
        "4821 7730 9510 5-7": (ProblemKind.RANGE, {"numbers": (5, 7)}),
        "4821 7730 9510 5 – 7": (ProblemKind.RANGE, {"numbers": (5, 7)}),
        "4821 7730 9510 5…7": (ProblemKind.RANGE, {"numbers": (5, 7)}),
    }
    for body, (kind, fields) in cases.items():
        intent = parse(body)
        assert intent.kind is IntentKind.INVALID, body
        assert intent.code == CODE
        assert intent.problem.kind is kind, (body, intent.problems)
        for name, value in fields.items():
            assert getattr(intent.problem, name) == value, (body, intent.problem)


def test_every_problem_is_listed_most_fundamental_first():
    intent = parse("4821 7730 9510 42 1 2 5 6 7")
    assert [p.kind for p in intent.problems] == [ProblemKind.UNKNOWN_NUMBER, ProblemKind.OVERVOTE,
                                                  ProblemKind.OVERVOTE]
    assert [p.question for p in intent.problems[1:]] == ["q1", "q2"]
    assert intent.choices == {"q1": ("a", "b"), "q2": ("a", "b", "c")}  # what was understood
    assert intent.numbers == (1, 2, 5, 6, 7, 42)


def test_budget_limits():
    # 3, 10, 8 cost 165,000 + 180,000 + 120,000; 1 and 2 cost 18,000 and 24,000; the limit is 500,000
    over = parse("4821 7730 9510 3 10 8 1 2", BUDGET)
    assert over.kind is IntentKind.INVALID
    assert (over.problem.kind, over.problem.total, over.problem.limit) == (ProblemKind.OVER_BUDGET, 507_000, 500_000)
    assert parse("4821 7730 9510 3 10 8 1", BUDGET).kind is IntentKind.VOTE  # 483,000
    lines = parse("4821 7730 9510 1 2 3 4", APPROVAL)
    assert lines.kind is IntentKind.INVALID
    assert (lines.problem.kind, lines.problem.question, lines.problem.limit) == (ProblemKind.OVERVOTE, "budget", 3)
    assert parse("4821 7730 9510 1 2 3", APPROVAL).kind is IntentKind.VOTE


# -- the code ---------------------------------------------------------------------------


def test_code_problems():
    assert parse("3 7").code_problem is CodeProblem.MISSING
    assert parse("4821 7730 951").code_problem is CodeProblem.MISSING  # 11 digits
    assert parse("4821 7730 951 3 7").code_problem is CodeProblem.MISTYPED  # with the 3: 12 digits, a typo
    typo = parse("4821 7730 9519 3 7")
    assert (typo.kind, typo.code_problem, typo.wrong_code) == (IntentKind.NEED_CODE, CodeProblem.MISTYPED, True)
    unknown = parse(f"{format_code(OTHER)} 3 7")
    assert (unknown.kind, unknown.code_problem, unknown.wrong_code) == (
        IntentKind.NEED_CODE, CodeProblem.NOT_ISSUED, True)
    two = parse(f"{format_code(CODE)} 3 7 {format_code(OTHER)} 4 8", POLL, CODE, OTHER)
    assert (two.kind, two.code_problem) == (IntentKind.NEED_CODE, CodeProblem.SEVERAL)
    assert not parse("3 7").wrong_code


def test_letters_between_digit_groups_keep_them_apart():
    assert parse("4821 Nr 7730 9510 3").code_problem is CodeProblem.MISSING


def test_is_issued_is_asked_only_about_codes_that_pass_the_check_digit():
    asked: list[str] = []

    def is_issued(code: str) -> bool:
        asked.append(code)
        return code == CODE

    parse_message("4821 7730 9519 and 4821 7730 9510 3 7 and 12 13 14 15 16 17", POLL, is_issued)
    assert asked and all(is_valid_code(code) for code in asked)
    assert len(asked) == len(set(asked))


def test_too_many_code_candidates_ask_for_one_code():
    body = " ".join(f"{i:04d} {i + 1:04d} {i + 2:04d}" for i in range(1000, 1600, 3))
    asked: list[str] = []
    intent = parse_message(body, POLL, lambda code: asked.append(code) or False)
    assert len(asked) <= MAX_CODE_LOOKUPS
    assert intent.kind is IntentKind.NEED_CODE


# -- keywords, help, status, chatter ---------------------------------------------------


@pytest.mark.parametrize("keyword", sorted(TWILIO_KEYWORDS - {"HELP", "INFO"}))
def test_twilio_keywords_only_as_the_whole_message(keyword):
    for body in (keyword, keyword.lower(), keyword.title(), f"  {keyword}\n"):
        intent = parse(body)
        assert (intent.kind, intent.keyword) == (IntentKind.TWILIO_KEYWORD, keyword)
    assert parse(f"{keyword} please").kind is not IntentKind.TWILIO_KEYWORD
    assert parse(f"{keyword}.").kind is not IntentKind.TWILIO_KEYWORD  # Twilio matches the bare word only


def test_lone_help_and_info_are_twilio_keywords_and_our_help():
    for body in ("HELP", "help", " Info "):
        intent = parse(body)
        assert intent.kind is IntentKind.HELP and intent.keyword == body.strip().upper()
    for body in ("Hilfe", "hilfe bitte", "Help me please", "?", "??", "Wie geht das? Hilfe!"):
        intent = parse(body)
        assert intent.kind is IntentKind.HELP and intent.keyword is None, body


def test_a_lone_yes_is_twilio_opt_in_never_a_vote():
    assert parse("YES").kind is IntentKind.TWILIO_KEYWORD
    assert parse("Ja").kind is IntentKind.NEED_CODE  # looks like a vote without a code
    assert parse("yes 4821 7730 9510 3").kind is IntentKind.VOTE


def test_status():
    assert parse("STATUS") == Intent(IntentKind.STATUS, code_problem=CodeProblem.MISSING)
    assert parse("Status?").code is None
    with_code = parse("status 4821-7730-9510")
    assert (with_code.kind, with_code.code) == (IntentKind.STATUS, CODE)
    assert parse("Status 4821 7730 9510 3 7").kind is IntentKind.STATUS  # never a vote
    assert parse("STATUS 4821 7730 9519").code_problem is CodeProblem.MISTYPED


def test_german_and_english_opt_out_in_any_case_and_punctuation():
    for body in ("STOPP", "stopp", "Stopp!", "  abmelden. ", "ABMELDEN", "Stop!", "stop.", "STOPP STOPP", "„Stopp“",
                 "ＳＴＯＰＰ"):
        intent = parse(body)
        assert intent.kind is IntentKind.OPT_OUT, body
    assert parse("STOP").kind is IntentKind.TWILIO_KEYWORD  # Twilio's own: Twilio answers it
    for body in ("Bitte abmelden", "Stopp 3", "Stopp 4821 7730 9510 3", "stoppen"):
        assert parse(body).kind is not IntentKind.OPT_OUT, body


def test_chatter_and_digits_without_code():
    assert parse("Hallo, wie geht es?").kind is IntentKind.CHATTER
    assert parse("🙂").kind is IntentKind.CHATTER
    assert parse("").kind is IntentKind.CHATTER
    assert parse("Ich wohne in 97070").kind is IntentKind.NEED_CODE
    assert parse("help 3 7").kind is IntentKind.HELP


# -- robustness -------------------------------------------------------------------------


@pytest.mark.parametrize("body", [
    "x" * 10_000,
    "4821 7730 9510 " + "🙂" * 5_000,
    "1 " * 5_000,
    "1234567890" * 1_000,
    "".join(chr(c) for c in range(0, 0x3000)),
    "\ud800\udfff 4821 7730 9510 3",  # lone surrogates from a careless decoder
    "\u202e01597731284\u202c 3",  # RTL override
    "\x00\x07\x1b[31m 4821 7730 9510 3",
    "ﷺ" * 3_000,  # NFKC expands it 18-fold
])
def test_hostile_bodies_are_handled_quickly(body):
    start = time.perf_counter()
    intent = parse(body)
    assert time.perf_counter() - start < 0.5
    assert isinstance(intent, Intent)


def test_only_the_first_1600_characters_are_read():
    late = "x " * 900 + "4821 7730 9510 3"
    intent = parse(late)
    assert intent.truncated and intent.kind is IntentKind.CHATTER  # the code came after the cut
    assert not parse("4821 7730 9510 3").truncated
    assert parse("4821 7730 9510 3 " + " " * (MAX_CHARS - 30)).kind is IntentKind.VOTE


# -- properties -------------------------------------------------------------------------

bodies = st.tuples(st.integers(1, 9), st.lists(st.integers(0, 9), min_size=10, max_size=10)).map(
    lambda t: str(t[0]) + "".join(map(str, t[1])))
valid_codes = bodies.map(lambda body: body + check_digit(body))

CODE_SEPARATORS = [" ", "-", ".", "  ", " - ", "/", "\u00a0", "\n", "_"]
NUMBER_SEPARATORS = [" ", ", ", ",", ";", " und ", " and ", " + ", "/", "\n", " & ", ". ", " 🙂 ", "\t"]
NOISE = ["code", "Code:", "Nr.", "nr", "#", "bitte", "danke!", "Hallo", "meine Wahl:", "my vote", "please",
         "Grüße", "😀", "✔", "»", "Stimme", "number", "Nummer", "vote:", "\u200f"]


def split_code(code: str, cuts: list[int], seps: list[str]) -> str:
    points = sorted(set(c for c in cuts if 0 < c < 12))
    parts = [code[a:b] for a, b in zip([0, *points], [*points, 12])]
    out = parts[0]
    for index, part in enumerate(parts[1:]):
        out += seps[index % len(seps)] + part
    return out


def no_period(code: str) -> bool:
    """Codes like 1212 1212 1212 cannot be told apart from a preceding number 12."""
    return all(code[p:] != code[:-p] for p in range(1, 12))


@st.composite
def poll_choices(draw, process: Process = POLL):
    picked: dict[str, tuple[str, ...]] = {}
    for q in process.questions:
        k = draw(st.integers(0, q.max_choices))
        options = draw(st.lists(st.sampled_from([o.id for o in q.options]), min_size=k, max_size=k, unique=True))
        if options:
            order = [o.id for o in q.options]
            picked[q.id] = tuple(sorted(options, key=order.index))
    assume(picked)
    return picked


@st.composite
def budget_choices(draw):
    budget = BUDGET.budget
    chosen = draw(st.lists(st.sampled_from(budget.investments), min_size=1, max_size=12, unique_by=lambda i: i.id))
    assume(sum(i.price for i in chosen) <= budget.heading.amount)
    order = [i.id for i in budget.investments]
    return {"budget": tuple(sorted((i.id for i in chosen), key=order.index))}


def message(draw, code: str, process: Process, choices: dict[str, tuple[str, ...]]) -> str:
    numbers = {(it.question, it.option): it.number for it in process.items()}
    yes_no = yes_no_question(process)
    tokens: list[str] = []
    tail: list[str] = []
    for question, options in choices.items():
        for option in options:
            if yes_no and question == yes_no.question and draw(st.booleans()):
                words = ["Ja", "ja.", "JA!", "yes"] if option == yes_no.yes else ["Nein", "nein.", "NO", "no!"]
                tail.append(draw(st.sampled_from(words)))  # last, so "no" never stands before a number
            else:
                tokens.append(str(numbers[(question, option)]))
    tokens = list(draw(st.permutations(tokens)))
    if tokens:
        tokens += draw(st.lists(st.sampled_from(tokens), max_size=2))  # repeats count once
    for _ in range(draw(st.integers(0, 3))):
        tokens.insert(draw(st.integers(0, len(tokens))), draw(st.sampled_from(NOISE)))
    sep = NUMBER_SEPARATORS
    choice_text = "".join(t + draw(st.sampled_from(sep)) for t in tokens).strip()
    cuts = draw(st.lists(st.integers(1, 11), max_size=5))
    code_text = split_code(code, cuts, draw(st.lists(st.sampled_from(CODE_SEPARATORS), min_size=1, max_size=3)))
    prefix = draw(st.sampled_from(["", "Code ", "Mein Code: ", "🗳 "]))
    code_first = draw(st.booleans())
    parts = [prefix + code_text, choice_text] if code_first else [choice_text, prefix + code_text]
    body = draw(st.sampled_from([" ", ", ", "\n", " / ", " - "])).join(p for p in parts if p)
    return " ".join([body, *tail])


@settings(max_examples=300, deadline=None)
@given(st.data(), valid_codes)
def test_a_random_poll_vote_reads_back_exactly(data, code):
    assume(no_period(code))
    choices = data.draw(poll_choices())
    body = message(data.draw, code, POLL, choices)
    intent = parse_message(body, POLL, issued(code))
    assert intent.kind is IntentKind.VOTE, (body, intent)
    assert intent.code == code
    assert dict(intent.choices) == choices, body


@settings(max_examples=200, deadline=None)
@given(st.data(), valid_codes)
def test_a_random_budget_vote_reads_back_exactly(data, code):
    assume(no_period(code))
    choices = data.draw(budget_choices())
    body = message(data.draw, code, BUDGET, choices)
    intent = parse_message(body, BUDGET, issued(code))
    assert intent.kind is IntentKind.VOTE, (body, intent)
    assert dict(intent.choices) == choices, body


@settings(max_examples=300, deadline=None)
@given(valid_codes, st.lists(st.integers(1, 11), max_size=11), st.sampled_from(CODE_SEPARATORS))
def test_the_code_split_into_groups_any_way_is_still_the_code(code, cuts, sep):
    body = split_code(code, cuts, [sep]) + " Nr. 3, 7"
    intent = parse_message(body, POLL, issued(code))
    assert (intent.kind, intent.code, intent.numbers) == (IntentKind.VOTE, code, (3, 7)), body


@settings(max_examples=200, deadline=None)
@given(st.data(), valid_codes, valid_codes)
def test_a_second_issued_code_asks_for_one_code(data, code, second):
    assume(code != second)
    choices = data.draw(poll_choices())
    body = message(data.draw, code, POLL, choices)
    where = data.draw(st.booleans())
    body = f"{format_code(second)} {body}" if where else f"{body} {format_code(second)}"
    intent = parse_message(body, POLL, issued(code, second))
    assert (intent.kind, intent.code_problem) == (IntentKind.NEED_CODE, CodeProblem.SEVERAL), body


def mistakes(code: str) -> list[str]:
    """Every single-digit change and every adjacent swap of `code`."""
    wrong = [code[:i] + d + code[i + 1:] for i in range(12) for d in "0123456789" if d != code[i]]
    wrong += [code[:i] + code[i + 1] + code[i] + code[i + 2:] for i in range(11) if code[i] != code[i + 1]]
    return wrong


@settings(max_examples=100, deadline=None)
@given(valid_codes, st.sampled_from(CODE_SEPARATORS))
def test_a_mistyped_code_is_never_taken_even_if_everything_were_issued(code, sep):
    for wrong in mistakes(code):
        body = split_code(wrong, [4, 8], [sep]) + " 3 7"
        intent = parse_message(body, POLL, lambda candidate: True)
        assert intent.code != wrong, body
        intent = parse_message(body, POLL, issued(code, wrong))
        assert (intent.kind, intent.code_problem) == (IntentKind.NEED_CODE, CodeProblem.MISTYPED), body


def check_invariants(intent: Intent, asked: list[str]) -> None:
    assert all(is_valid_code(code) for code in asked)
    assert len(asked) <= MAX_CODE_LOOKUPS
    if intent.kind is IntentKind.VOTE:
        assert intent.code in asked and not intent.problems and intent.choices
    if intent.kind is IntentKind.INVALID:
        assert intent.code in asked and intent.problems
    if intent.kind is IntentKind.NEED_CODE:
        assert intent.code is None and intent.code_problem is not None
    if intent.kind is IntentKind.TWILIO_KEYWORD:
        assert intent.keyword in TWILIO_KEYWORDS


@settings(max_examples=500, deadline=None)
@given(st.text(), st.booleans())
def test_any_text_gives_an_intent(body, issue_everything):
    asked: list[str] = []
    intent = parse_message(body, POLL, lambda code: asked.append(code) or issue_everything)
    check_invariants(intent, asked)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789 -.,/neiJaNOSTUShlfx🙂\u200f\n", max_size=400), st.sampled_from([POLL, BUDGET]))
def test_any_digit_soup_gives_an_intent(body, process):
    asked: list[str] = []
    intent = parse_message(body, process, lambda code: asked.append(code) or code[0] in "13579")
    check_invariants(intent, asked)


@settings(max_examples=300, deadline=None)
@given(st.data(), st.sampled_from([POLL, BUDGET, APPROVAL]))
def test_limits_agree_with_the_rules_for_paper(data, process):
    """One rule book: an SMS is over the limits exactly when the same marks on paper would be."""
    from hybrid.rules import MarkedBox, judge_choices
    from hybrid.states import MarkState, Reason

    items = process.items()
    picked = data.draw(st.lists(st.sampled_from(items), min_size=1, max_size=len(items), unique_by=lambda it: it.number))
    intent = parse(CODE + " " + " ".join(str(it.number) for it in picked), process)
    choices, reasons = judge_choices(process, [MarkedBox(it.question, it.option, MarkState.MARKED) for it in picked])
    assert dict(intent.choices) == choices
    limits = {p.kind for p in intent.problems}
    assert (ProblemKind.OVERVOTE in limits) == (Reason.OVERVOTE in reasons)
    assert (ProblemKind.OVER_BUDGET in limits) == (Reason.OVER_BUDGET in reasons)
    assert (intent.kind is IntentKind.VOTE) == (not reasons)

"""The rules module decides what a reviewer's decision makes of a record
(`rules.decide_reviewed`): the cases a reviewer meets, and property tests over random
readings and marks for a poll and a knapsack budget."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid import review, rules
from hybrid.definition_file import load_process
from hybrid.states import Reason, RecordState, ReviewAction

EXAMPLES = Path(__file__).resolve().parent.parent / "hybrid" / "examples"
POLL = load_process(EXAMPLES / "poll.yaml")  # q1: 1 of a–d, q2: 2 of a–e, q3: yes/no
BUDGET = load_process(EXAMPLES / "budget.yaml")  # knapsack, 500 000 €
LIMITS = {q.id: q.max_choices for q in POLL.questions}
OPTIONS = {q.id: [o.id for o in q.options] for q in POLL.questions}
PRICES = {inv.id: inv.price for inv in BUDGET.budget.investments}
READER_DOUBTS = [Reason.MARGINAL_MARK, Reason.DOUBTFUL_GEOMETRY, Reason.CROSS_CHANNEL_CONFLICT, Reason.BLANK_BALLOT]


def machine(choices, *reasons: Reason) -> rules.Decision:
    return rules.Decision(RecordState.REVIEW, tuple(reasons) or (Reason.MARGINAL_MARK,), choices)


@pytest.mark.parametrize("action, marks, questions, state, reasons, choices, invalid_ballot, invalid_questions", [
    (ReviewAction.ACCEPT, None, (), RecordState.COUNTED, (Reason.MARGINAL_MARK,), {"q1": ("a",), "q3": ("yes",)},
     False, ()),
    (ReviewAction.MARKS, {"q1": ("b",)}, (), RecordState.COUNTED, (Reason.MARGINAL_MARK,),
     {"q1": ("b",), "q3": ("yes",)}, False, ()),
    (ReviewAction.MARKS, {"q1": ("a", "b")}, (), RecordState.COUNTED, (Reason.MARGINAL_MARK, Reason.OVERVOTE),
     {"q3": ("yes",)}, False, ("q1",)),
    (ReviewAction.MARKS, {"q1": ("a", "b"), "q3": ()}, (), RecordState.REJECTED,
     (Reason.MARGINAL_MARK, Reason.OVERVOTE), {}, True, ("q1",)),
    (ReviewAction.MARKS, {"q1": (), "q3": ()}, (), RecordState.COUNTED, (Reason.BLANK_BALLOT, Reason.MARGINAL_MARK),
     {}, False, ()),
    (ReviewAction.INVALID_QUESTION, None, ("q3",), RecordState.COUNTED, (Reason.MARGINAL_MARK,), {"q1": ("a",)},
     False, ("q3",)),
    (ReviewAction.INVALID_QUESTION, None, ("q1", "q3"), RecordState.REJECTED, (Reason.MARGINAL_MARK,), {}, True,
     ("q1", "q3")),
    (ReviewAction.INVALID, None, (), RecordState.REJECTED, (Reason.MARGINAL_MARK,), {}, True, ()),
    (ReviewAction.REJECT, None, (), RecordState.REJECTED, (Reason.MARGINAL_MARK,), {}, False, ()),
])
def test_what_each_action_on_a_record_makes_of_it(action, marks, questions, state, reasons, choices, invalid_ballot,
                                                  invalid_questions):
    read = machine({"q1": ("a",), "q3": ("yes",)})
    got = rules.decide_reviewed(POLL, read, action, marks, questions)
    assert (got.state, got.reasons, dict(got.choices), got.invalid_ballot, got.invalid_questions) == (
        state, reasons, choices, invalid_ballot, invalid_questions)
    # the review package answers the same, from the body it stores
    body = {"marks": {q: list(v) for q, v in (marks or {}).items()}, "questions": list(questions)}
    via_review = review.apply_decision(POLL, read, action.value, body)
    assert (via_review.state, via_review.reasons, dict(via_review.choices), via_review.invalid_ballot,
            via_review.invalid_questions, via_review.by_review) == (state, reasons, choices, invalid_ballot,
                                                                    invalid_questions, True)


def test_a_budget_over_its_limit_is_invalid_whoever_marks_it():
    dear = sorted(PRICES, key=PRICES.get, reverse=True)[:4]
    assert sum(PRICES[i] for i in dear) > BUDGET.budget.heading.amount
    got = rules.decide_reviewed(BUDGET, machine({}), ReviewAction.MARKS, {"budget": tuple(dear)})
    assert got.state is RecordState.REJECTED and got.invalid_ballot and got.invalid_questions == ("budget",)
    assert Reason.OVER_BUDGET in got.reasons and Reason.OVER_BUDGET in rules.CONTENT_DOUBTS


@pytest.mark.parametrize("action", [ReviewAction.IDENTIFY, ReviewAction.TEXT, ReviewAction.PERSONAL_DATA, "confirm"])
def test_an_action_that_is_not_on_a_record_is_refused(action):
    with pytest.raises(ValueError, match="not a decision on a record"):
        rules.decide_reviewed(POLL, machine({}), action)
    with pytest.raises(review.InvalidInput, match="not a decision on a record"):
        review.apply_decision(POLL, machine({}), action, {})


def test_a_record_settled_by_the_other_side_of_its_conflict_is_superseded_as_read():
    read = rules.Decision(RecordState.REVIEW, (Reason.CROSS_CHANNEL_CONFLICT,), {"q1": ("a",)})
    assert rules.settled_by_conflict(read) == rules.Decision(RecordState.SUPERSEDED, read.reasons, read.choices)


@st.composite
def poll_choices(draw) -> dict[str, tuple[str, ...]]:
    chosen = draw(st.sets(st.sampled_from(sorted(OPTIONS))))
    return {q: tuple(draw(st.lists(st.sampled_from(OPTIONS[q]), unique=True, max_size=3))) for q in sorted(chosen)}


doubts = st.lists(st.sampled_from(READER_DOUBTS), min_size=1, max_size=3, unique=True).map(tuple)
record_actions = st.sampled_from(rules.RECORD_ACTIONS)
question_sets = st.lists(st.sampled_from(sorted(OPTIONS)), unique=True).map(tuple)


@given(poll_choices(), doubts, record_actions, poll_choices(), question_sets)
@settings(max_examples=600, deadline=None)
def test_a_reviewed_record_counts_only_valid_choices_and_names_why(read, why, action, marks, questions):
    got = rules.decide_reviewed(POLL, machine(read, *why), action, marks, questions)
    wanted = {**read, **marks} if action is ReviewAction.MARKS else dict(read)
    # one state, reasons sorted, the machine's doubts kept (blank_ballot only on a blank count)
    assert got.state in (RecordState.COUNTED, RecordState.REJECTED)
    assert list(got.reasons) == sorted(set(got.reasons), key=lambda r: r.value)
    assert set(why) - {Reason.BLANK_BALLOT} <= set(got.reasons)
    assert set(got.reasons) - set(why) <= rules.CONTENT_DOUBTS | {Reason.BLANK_BALLOT}
    if action in (ReviewAction.REJECT, ReviewAction.INVALID):
        assert got.state is RecordState.REJECTED and not got.choices and not got.invalid_questions
        assert got.invalid_ballot == (action is ReviewAction.INVALID) and set(got.reasons) == set(why)
        return
    if got.state is RecordState.COUNTED:
        assert (Reason.BLANK_BALLOT in got.reasons) == (not got.choices)
    # what counts is what was wanted, question by question, within every limit
    for question, options in got.choices.items():
        assert options and set(options) == set(wanted[question]) and len(options) <= LIMITS[question]
        assert question not in got.invalid_questions
    made_invalid = set(questions) if action is ReviewAction.INVALID_QUESTION else set()
    for question, options in wanted.items():
        if question in made_invalid:
            assert question in got.invalid_questions
        elif len(options) > LIMITS[question]:
            assert question in got.invalid_questions and Reason.OVERVOTE in got.reasons
        elif options:
            assert question in got.choices
    if action is ReviewAction.INVALID_QUESTION:
        assert set(questions) <= set(got.invalid_questions)
    # a ballot left with only invalid questions is an invalid ballot, never a blank one
    assert got.invalid_ballot == (got.state is RecordState.REJECTED)
    assert got.invalid_ballot == (not got.choices and bool(got.invalid_questions))


@given(st.lists(st.sampled_from(sorted(PRICES)), unique=True, max_size=8), doubts)
@settings(max_examples=300, deadline=None)
def test_reviewed_budget_marks_count_only_within_the_heading(chosen, why):
    got = rules.decide_reviewed(BUDGET, machine({}, *why), ReviewAction.MARKS, {"budget": tuple(chosen)})
    over = sum(PRICES[i] for i in chosen) > BUDGET.budget.heading.amount
    assert (Reason.OVER_BUDGET in got.reasons) == over
    if over:
        assert got.state is RecordState.REJECTED and got.invalid_ballot and not got.choices
    elif chosen:
        assert got.state is RecordState.COUNTED and set(got.choices["budget"]) == set(chosen)
    else:
        assert got.state is RecordState.COUNTED and Reason.BLANK_BALLOT in got.reasons


@given(poll_choices(), doubts)
@settings(max_examples=200, deadline=None)
def test_accepting_what_a_reviewer_made_changes_nothing(read, why):
    once = rules.decide_reviewed(POLL, machine(read, *why), ReviewAction.ACCEPT)
    if once.state is not RecordState.COUNTED:
        return  # an invalid ballot has no choices left to accept
    twice = rules.decide_reviewed(POLL, once, ReviewAction.ACCEPT)
    assert (twice.state, twice.reasons, dict(twice.choices)) == (once.state, once.reasons, dict(once.choices))

"""The rules module decides paper ballots: property tests over random markings."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid import rules
from hybrid.definition_file import load_process
from hybrid.states import MarkState, Reason, RecordState

EXAMPLES = Path(__file__).resolve().parent.parent / "hybrid" / "examples"
POLL = load_process(EXAMPLES / "poll.yaml")
BUDGET = load_process(EXAMPLES / "budget.yaml")
IN_WINDOW = date(2027, 5, 10)


def ballot(process, marks: dict[tuple[str, str], MarkState], **kw) -> rules.PaperBallot:
    boxes = tuple(rules.MarkedBox(it.question, it.option, marks.get((it.question, it.option), MarkState.EMPTY))
                  for it in process.items())
    defaults = dict(pages_expected=1, pages_present=frozenset({1}), content_pages=frozenset({1}),
                    received=IN_WINDOW if process is POLL else date(2027, 3, 10))
    defaults.update(kw)
    return rules.PaperBallot(boxes=boxes, **defaults)


states = st.sampled_from(list(MarkState))
poll_marks = st.dictionaries(st.sampled_from([(it.question, it.option) for it in POLL.items()]), states)


@given(poll_marks)
@settings(max_examples=400, deadline=None)
def test_counted_poll_ballots_hold_exactly_the_marked_boxes_within_limits(marks):
    decision = rules.decide_paper(POLL, ballot(POLL, marks))
    marked = {k for k, v in marks.items() if v is MarkState.MARKED}
    if decision.state is RecordState.COUNTED:
        assert {(q, o) for q, opts in decision.choices.items() for o in opts} == marked
        for q in POLL.questions:
            assert len(decision.choices.get(q.id, ())) <= q.max_choices
        assert MarkState.MARGINAL not in marks.values()
    else:
        assert decision.state is RecordState.REVIEW and decision.reasons


@given(poll_marks)
@settings(max_examples=300, deadline=None)
def test_every_doubt_is_named(marks):
    decision = rules.decide_paper(POLL, ballot(POLL, marks))
    reasons = set(decision.reasons)
    if MarkState.MARGINAL in marks.values():
        assert Reason.MARGINAL_MARK in reasons
    for q in POLL.questions:
        mine = {o.id: marks.get((q.id, o.id), MarkState.EMPTY) for o in q.options}
        n_marked = sum(v is MarkState.MARKED for v in mine.values())
        if n_marked > q.max_choices:
            assert Reason.OVERVOTE in reasons
        if n_marked == 0 and MarkState.CANCELLED in mine.values():
            assert Reason.CANCELLED_ONLY in reasons


def test_a_correction_next_to_a_cross_counts_the_cross():
    marks = {("q1", "a"): MarkState.CANCELLED, ("q1", "b"): MarkState.MARKED}
    decision = rules.decide_paper(POLL, ballot(POLL, marks))
    assert decision.state is RecordState.COUNTED
    assert decision.choices == {"q1": ("b",)}


def test_blank_ballot_is_counted_without_choices():
    decision = rules.decide_paper(POLL, ballot(POLL, {}))
    assert decision.state is RecordState.COUNTED
    assert decision.reasons == (Reason.BLANK_BALLOT,)
    assert dict(decision.choices) == {}


budget_marks = st.dictionaries(st.sampled_from([(it.question, it.option) for it in BUDGET.items()]),
                               st.just(MarkState.MARKED), max_size=12)


@given(budget_marks)
@settings(max_examples=300, deadline=None)
def test_knapsack_budget_is_counted_only_within_the_heading_amount(marks):
    decision = rules.decide_paper(BUDGET, ballot(BUDGET, marks, received=date(2027, 3, 10)))
    prices = {inv.id: inv.price for inv in BUDGET.budget.investments}
    total = sum(prices[o] for (_, o) in marks)
    if total > BUDGET.budget.heading.amount:
        assert decision.state is RecordState.REVIEW and Reason.OVER_BUDGET in decision.reasons
    else:
        assert decision.counted
        assert set(decision.choices.get("budget", ())) == {o for (_, o) in marks}


def test_approval_budget_limits_lines():
    process = BUDGET.model_copy(update={"budget": BUDGET.budget.model_copy(
        update={"voting_style": "approval", "max_lines": 2})})
    ids = [inv.id for inv in process.budget.investments[:3]]
    two = rules.decide_paper(process, ballot(process, {("budget", i): MarkState.MARKED for i in ids[:2]}))
    three = rules.decide_paper(process, ballot(process, {("budget", i): MarkState.MARKED for i in ids}))
    assert two.counted
    assert three.state is RecordState.REVIEW and Reason.OVERVOTE in three.reasons


@pytest.mark.parametrize("received, reason", [(date(2027, 6, 1), Reason.LATE), (date(2027, 7, 1), Reason.LATE),
                                              (date(2027, 5, 2), Reason.EARLY)])
def test_outside_the_window_is_rejected_with_its_reason(received, reason):
    decision = rules.decide_paper(POLL, ballot(POLL, {("q1", "a"): MarkState.MARKED}, received=received))
    assert decision.state is RecordState.REJECTED and decision.reasons == (reason,)


def test_last_day_is_in_time():
    decision = rules.decide_paper(POLL, ballot(POLL, {("q1", "a"): MarkState.MARKED}, received=date(2027, 5, 31)))
    assert decision.counted


@pytest.mark.parametrize("extra", [
    dict(photocopy=True),
    dict(pages_present=frozenset(), content_pages=frozenset({1})),
    dict(page_reasons=frozenset({Reason.CODE_FROM_OCR})),
    dict(page_reasons=frozenset({Reason.DOUBTFUL_GEOMETRY})),
    dict(page_reasons=frozenset({Reason.MARK_OUTSIDE_BOX})),
])
def test_page_doubts_send_a_clean_ballot_to_review(extra):
    decision = rules.decide_paper(POLL, ballot(POLL, {("q1", "a"): MarkState.MARKED}, **extra))
    assert decision.state is RecordState.REVIEW

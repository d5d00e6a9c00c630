"""The one place that decides what a ballot or message means (DESIGN §7).

Pure functions: readings in, a Decision out. Scanning, the webhook and `merge` all
call these, so a vote is judged the same way wherever it comes from. A reason for
doubt never becomes a guess: it sends the record to a person (RecordState.REVIEW).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from hybrid.definition import Process
from hybrid.states import MarkState, Reason, RecordState

BERLIN = ZoneInfo("Europe/Berlin")

# Page-level doubts that send a paper ballot to review.
PAGE_DOUBTS = frozenset({Reason.DOUBTFUL_GEOMETRY, Reason.MARK_OUTSIDE_BOX, Reason.MARGINAL_MARK,
                         Reason.CODE_FROM_OCR})

Choices = Mapping[str, tuple[str, ...]]  # question id (or "budget") → option / investment ids


@dataclass(frozen=True)
class Decision:
    state: RecordState
    reasons: tuple[Reason, ...] = ()
    choices: Choices = field(default_factory=dict)

    @property
    def counted(self) -> bool:
        return self.state is RecordState.COUNTED


@dataclass(frozen=True)
class MarkedBox:
    question: str
    option: str
    state: MarkState


@dataclass(frozen=True)
class PaperBallot:
    """Everything read so far for one printed ballot (one code), across its pages."""

    pages_expected: int  # pages that carry boxes or a comment (front + continuations)
    pages_present: frozenset[int]
    content_pages: frozenset[int]  # which page numbers must be present
    boxes: tuple[MarkedBox, ...]
    page_reasons: frozenset[Reason] = frozenset()
    photocopy: bool = False
    received: date | None = None


def in_window(process: Process, moment: datetime) -> Reason | None:
    """None when `moment` lies in [opens, closes); else the reason (early or late)."""
    if moment < process.opens:
        return Reason.EARLY
    if moment >= process.closes:
        return Reason.LATE
    return None


def paper_window(process: Process, received: date) -> Reason | None:
    """A paper ballot counts when its postal arrival day (Europe/Berlin) starts before `closes`."""
    start_of_day = datetime.combine(received, time(0, 0), tzinfo=BERLIN)
    end_of_day = datetime.combine(received, time(23, 59, 59), tzinfo=BERLIN)
    if end_of_day < process.opens:
        return Reason.EARLY
    if start_of_day >= process.closes:
        return Reason.LATE
    return None


def judge_choices(process: Process, boxes: Iterable[MarkedBox]) -> tuple[dict[str, tuple[str, ...]], set[Reason]]:
    """The choices the marks express, and what makes them doubtful or invalid.

    Marked boxes are choices; cancelled boxes are never choices. A question whose only
    marks are cancelled ones, an overvote, a budget over its limit, or any marginal
    mark is a reason for a person to look.
    """
    marked: dict[str, list[str]] = {}
    cancelled: dict[str, int] = {}
    reasons: set[Reason] = set()
    for box in boxes:
        if box.state is MarkState.MARKED:
            marked.setdefault(box.question, []).append(box.option)
        elif box.state is MarkState.CANCELLED:
            cancelled[box.question] = cancelled.get(box.question, 0) + 1
        elif box.state is MarkState.MARGINAL:
            reasons.add(Reason.MARGINAL_MARK)
    for question in cancelled:
        if not marked.get(question):
            reasons.add(Reason.CANCELLED_ONLY)
    if process.kind == "poll":
        limits = {q.id: q.max_choices for q in process.questions}
        for question, options in marked.items():
            if len(options) > limits.get(question, 0):
                reasons.add(Reason.OVERVOTE)
    else:
        assert process.budget is not None
        budget = process.budget
        chosen = marked.get("budget", [])
        if budget.voting_style == "knapsack":
            prices = {inv.id: inv.price for inv in budget.investments}
            if sum(prices.get(i, 0) for i in chosen) > budget.heading.amount:
                reasons.add(Reason.OVER_BUDGET)
        elif budget.max_lines is not None and len(chosen) > budget.max_lines:
            reasons.add(Reason.OVERVOTE)
    order = {(it.question, it.option): it.number for it in process.items()}
    choices = {q: tuple(sorted(set(opts), key=lambda o: order.get((q, o), 0))) for q, opts in marked.items() if opts}
    return choices, reasons


def decide_paper(process: Process, ballot: PaperBallot) -> Decision:
    """Counted, review or rejected, with every reason named."""
    choices, reasons = judge_choices(process, ballot.boxes)
    reasons |= set(ballot.page_reasons & PAGE_DOUBTS)
    if ballot.photocopy:
        reasons.add(Reason.PHOTOCOPY)
    if not ballot.content_pages <= ballot.pages_present:
        reasons.add(Reason.MISSING_PAGE)
    if ballot.received is not None:
        outside = paper_window(process, ballot.received)
        if outside is not None:
            return Decision(RecordState.REJECTED, (outside,), choices)
    if reasons:
        return Decision(RecordState.REVIEW, tuple(sorted(reasons, key=lambda r: r.value)), choices)
    if not choices:
        return Decision(RecordState.COUNTED, (Reason.BLANK_BALLOT,), {})
    return Decision(RecordState.COUNTED, (), choices)

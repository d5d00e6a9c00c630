"""What a review decision makes of a record: pure functions, no store (property-testable).

`apply_decision` hands a stored decision to `rules.decide_reviewed`, which decides what
it makes of the record; `effective` says which decision is in force (none, pending, stale,
made on another record of the code); the marks a reviewer types or sends are checked here
against the process.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hybrid import rules
from hybrid.definition import Process
from hybrid.errors import InvalidInput
from hybrid.states import Reason, RecordState, ReviewAction
from hybrid.store.review import RecordRow, ReviewDecision

# Actions by item kind. `accept` on a comment confirms Tesseract's suggestion.
RECORD_ACTIONS = rules.RECORD_ACTIONS
PAGE_ACTIONS = (ReviewAction.IDENTIFY, ReviewAction.REJECT)
COMMENT_ACTIONS = (ReviewAction.ACCEPT, ReviewAction.TEXT, ReviewAction.PERSONAL_DATA, ReviewAction.REJECT)
ACTIONS = {"record": RECORD_ACTIONS, "page": PAGE_ACTIONS, "comment": COMMENT_ACTIONS}

MAX_COMMENT_CHARS = 4000


@dataclass(frozen=True)
class DecisionRequest:
    """What a reviewer decided. `marks`: question id → option ids; for a record, questions
    left out keep the machine's reading; for an identified page, they are empty."""

    action: str
    marks: Mapping[str, tuple[str, ...]] | None = None
    questions: tuple[str, ...] = ()
    serial: int | None = None
    page: int | None = None
    text: str | None = None


@dataclass(frozen=True)
class EffectiveDecision(rules.Decision):
    """A record's final decision: the machine's, or a reviewer's where one is in force.

    Adds to `rules.Decision` (state, reasons, choices, counted):
    `by_review` — a confirmed (where needed) review decision made it;
    `invalid_ballot` — a valid ballot whose content is invalid (CONSUL's "nulls"); its
    state is REJECTED and it has no choices;
    `invalid_questions` — questions a reviewer (or an overvote) made invalid; they are
    left out of `choices`;
    `pending` — a decision awaits a second reviewer (the state is still the machine's);
    `decision_id`, `reviewer`, `confirmed_by`, `item` — who decided, for the audit trail.
    """

    by_review: bool = False
    invalid_ballot: bool = False
    invalid_questions: tuple[str, ...] = ()
    pending: bool = False
    decision_id: int | None = None
    reviewer: str | None = None
    confirmed_by: str | None = None
    item: str | None = None


# -- a record's reading ----------------------------------------------------------------------------


def known_reasons(values: Iterable[str]) -> list[Reason]:
    out = []
    for value in values:
        try:
            out.append(Reason(value))
        except ValueError:
            continue  # a reason this version does not know is shown, never judged
    return out


def machine_decision(row: RecordRow) -> rules.Decision:
    """The record's decision as stored by the reader and the rules."""
    return rules.Decision(RecordState(row.status), tuple(known_reasons(row.reasons)), dict(row.choices))


def snapshot(row: RecordRow) -> dict[str, Any]:
    """The reading a decision is made on; a decision whose snapshot differs is stale."""
    return {"status": row.status, "reasons": sorted(row.reasons),
            "choices": {q: sorted(v) for q, v in sorted(row.choices.items()) if v}}


# -- marks and texts -----------------------------------------------------------------------------------


def parse_marks(process: Process, text: str) -> dict[str, tuple[str, ...]]:
    """`q1=a,q2=b+c` (option ids), `q2=` (no choice), printed numbers `6,7`, or `none`
    → {question: options}. Unknown questions or options are refused by name."""
    text = (text or "").strip()
    marks: dict[str, list[str]] = {}
    if text.lower() in ("none", "-", ""):
        return {}
    by_number = {str(it.number): it for it in process.items()}
    valid = {(it.question, it.option) for it in process.items()}
    questions = {it.question for it in process.items()}
    for part in filter(None, (p.strip() for p in re.split(r"[,;\s]+", text))):
        if "=" in part:
            question, _, options = part.partition("=")
            question = question.strip()
            if question not in questions:
                raise InvalidInput(f"--marks {part}: no question {question!r} (questions: {', '.join(sorted(questions))})")
            chosen = marks.setdefault(question, [])
            for option in filter(None, (o.strip() for o in options.split("+"))):
                if (question, option) not in valid:
                    raise InvalidInput(f"--marks {part}: question {question} has no option {option!r}")
                chosen.append(option)
        elif part in by_number:
            item = by_number[part]
            marks.setdefault(item.question, []).append(item.option)
        else:
            raise InvalidInput(f"--marks {part}: give question=option (q1=a, q2=b+c) or a printed number (1–{len(by_number)})")
    return {q: tuple(dict.fromkeys(opts)) for q, opts in marks.items()}


def canonical(choices: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    return {q: sorted(set(v)) for q, v in sorted(choices.items()) if v}


def check_marks(process: Process, marks: Mapping[str, Iterable[str]]) -> dict[str, tuple[str, ...]]:
    """`marks` with every question and option checked against the process (InvalidInput by name)."""
    valid = {(it.question, it.option) for it in process.items()}
    questions = {it.question for it in process.items()}
    out: dict[str, tuple[str, ...]] = {}
    for question, options in marks.items():
        if question not in questions:
            raise InvalidInput(f"marks: no question {question!r}")
        opts = tuple(dict.fromkeys(str(o) for o in options))
        for option in opts:
            if (question, option) not in valid:
                raise InvalidInput(f"marks: question {question} has no option {option!r}")
        out[question] = opts
    return out


def clean_text(text: str | None) -> str:
    """A comment text as stored: NFC, no control characters, at most MAX_COMMENT_CHARS."""
    text = unicodedata.normalize("NFC", text or "").replace("\r\n", "\n").strip()
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    if len(text) > MAX_COMMENT_CHARS:
        raise InvalidInput(f"the comment text is longer than {MAX_COMMENT_CHARS} characters")
    return text


def action_label(action: str) -> str:
    """An action as messages name it."""
    return {"accept": "accept as read", "marks": "set marks", "invalid_question": "question invalid",
            "invalid": "ballot invalid", "reject": "reject", "identify": "identify", "text": "corrected text",
            "personal_data": "personal data", "confirm": "confirmed", "undo": "undo"}.get(action, action)


# -- deciding --------------------------------------------------------------------------------------------


def apply_decision(process: Process, machine: rules.Decision, action: str, body: Mapping[str, Any]
                   ) -> EffectiveDecision:
    """The decision a review action on a record makes of its machine decision (`rules.decide_reviewed`
    of the stored body), with `by_review` set. Pure; InvalidInput for an action not on a record."""
    if action not in RECORD_ACTIONS:
        raise InvalidInput(f"{action!r} is not a decision on a record "
                           f"({', '.join(a.value for a in RECORD_ACTIONS)})")
    result = rules.decide_reviewed(process, machine, action, body.get("marks", {}), body.get("questions", ()))
    return EffectiveDecision(result.state, result.reasons, result.choices, by_review=True,
                             invalid_ballot=result.invalid_ballot, invalid_questions=result.invalid_questions)


def conflict_resolutions(rows: list[RecordRow], active: Mapping[str, ReviewDecision]) -> dict[int, ReviewDecision]:
    """Records settled by a decision on another record of the same code (a cross-channel
    conflict): when one is accepted or its marks set, the others stand down."""
    resolved: dict[int, ReviewDecision] = {}
    by_code: dict[str, list[RecordRow]] = {}
    for row in rows:
        if row.code_hash and Reason.CROSS_CHANNEL_CONFLICT.value in row.reasons:
            by_code.setdefault(row.code_hash, []).append(row)
    for group in by_code.values():
        for row in group:
            decision = active.get(f"r{row.record_id}")
            if decision is None or not decision.in_force or decision.machine != snapshot(row):
                continue
            if decision.action in rules.COUNTING_ACTIONS:
                for other in group:
                    if other.record_id != row.record_id and f"r{other.record_id}" not in active:
                        resolved[other.record_id] = decision
    return resolved


def effective(process: Process, row: RecordRow, active: ReviewDecision | None,
              resolved_by: ReviewDecision | None) -> EffectiveDecision:
    """The record's final decision given its active decision and the conflict decision that settled it."""
    machine = machine_decision(row)
    plain = EffectiveDecision(machine.state, tuple(machine.reasons), dict(machine.choices))
    if active is not None and active.machine != snapshot(row):
        return plain  # made on an earlier reading: a person must look again
    if active is not None and active.pending:
        return EffectiveDecision(machine.state, tuple(machine.reasons), dict(machine.choices), pending=True,
                                 decision_id=active.decision_id, reviewer=active.reviewer, item=active.item)
    if active is not None:
        result = apply_decision(process, machine, active.action, active.body)
        return EffectiveDecision(result.state, result.reasons, result.choices, by_review=True,
                                 invalid_ballot=result.invalid_ballot, invalid_questions=result.invalid_questions,
                                 decision_id=active.decision_id, reviewer=active.reviewer,
                                 confirmed_by=active.confirmed_by, item=active.item)
    if resolved_by is not None:
        settled = rules.settled_by_conflict(machine)
        return EffectiveDecision(settled.state, settled.reasons, settled.choices, by_review=True,
                                 decision_id=resolved_by.decision_id, reviewer=resolved_by.reviewer,
                                 confirmed_by=resolved_by.confirmed_by, item=resolved_by.item)
    return plain

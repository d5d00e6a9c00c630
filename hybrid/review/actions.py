"""Deciding, confirming and undoing a review item, each in one transaction with its audit entry.

A decision is stored beside, never over, the machine's reading: a row in
``review_decisions`` with the reviewer's name and time and a snapshot of the reading it
was made on, and an entry in the audit chain (choices and texts only as a hash).
Every decision, confirmation and undo bumps the item's version under a lock, so a
caller that passes the version it saw gets ``ReviewConflict`` when someone else acted first.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hybrid import audit, rules
from hybrid.definition import Process
from hybrid.errors import InvalidInput
from hybrid.review.decisions import (
    ACTIONS, DecisionRequest, EffectiveDecision, action_label, apply_decision, canonical, check_marks, clean_text,
    machine_decision, snapshot,
)
from hybrid.review.detail import lookup_ballot
from hybrid.review.errors import ReviewConflict, SecondReviewerNeeded
from hybrid.review.identification import apply_identification, revert_identification
from hybrid.review.ids import parse_id
from hybrid.review.queue import ReviewItem, get_item, page_by_item
from hybrid.review.tokens import reviewer_name
from hybrid.states import BallotState, PageState, RecordState, ReviewAction
from hybrid.store import Store
from hybrid.store import review as stored
from hybrid.store.review import PageRow, RecordRow


@dataclass(frozen=True)
class _Validated:
    body: dict[str, Any]
    machine: dict[str, Any]
    needs_confirmation: bool
    record_id: int | None = None
    page_source: str | None = None


def _validate(store: Store, process: Process, item: ReviewItem, request: DecisionRequest) -> _Validated:
    action = request.action
    allowed = ACTIONS[item.kind]
    if action not in allowed:
        raise InvalidInput(f"{item.id}: {action!r} is not a decision for this item; use one of "
                           f"{', '.join(a.value for a in allowed)}")
    if item.kind == "record":
        row = stored.record(store, item.record_id)
        assert row is not None
        if row.status != RecordState.REVIEW.value:
            raise InvalidInput(f"{item.id} is {row.status}, not waiting for review")
        body: dict[str, Any] = {}
        needs = False
        if action == ReviewAction.MARKS:
            if request.marks is None:
                raise InvalidInput(f"{item.id}: set marks needs the marks, e.g. q1=a,q2=b+c")
            marks = check_marks(process, request.marks)
            body["marks"] = {q: list(v) for q, v in sorted(marks.items())}
            after = {**row.choices, **marks}
            needs = canonical(after) != canonical(row.choices)
        elif action == ReviewAction.INVALID_QUESTION:
            questions = tuple(dict.fromkeys(request.questions))
            known = {it.question for it in process.items()}
            unknown = [q for q in questions if q not in known]
            if not questions or unknown:
                raise InvalidInput(f"{item.id}: name the invalid question(s) ({', '.join(sorted(known))})"
                                   + (f"; no question {unknown[0]!r}" if unknown else ""))
            body["questions"] = list(questions)
        if action in rules.COUNTING_ACTIONS:
            _refuse_double_count(store, row, item.id)
        return _Validated(body, snapshot(row), needs, record_id=row.record_id)
    page = page_by_item(store, parse_id(item.id))
    assert page is not None
    machine = {"state": page.state, "reasons": list(page.reasons)}
    if item.kind == "page":
        if page.state != PageState.UNREADABLE.value:
            raise InvalidInput(f"{item.id}: the page is {page.state} now; undo its identification first")
        if action == ReviewAction.REJECT:
            return _Validated({}, machine, False, page_source=page.source)
        return _validate_identify(store, process, item, page, request, machine)
    suggestion = page.reading.comment_suggestion
    if action == ReviewAction.ACCEPT:
        if not suggestion:
            raise InvalidInput(f"{item.id}: there is no suggestion to confirm; type the text (--text)")
        body = {"text": clean_text(suggestion)}
    elif action == ReviewAction.TEXT:
        text = clean_text(request.text)
        if not text:
            raise InvalidInput(f"{item.id}: the corrected text is empty; use reject when there is no comment")
        body = {"text": text}
    elif action == ReviewAction.PERSONAL_DATA:
        body = {"text": clean_text(request.text) or None}
    else:
        body = {}
    machine = {"suggestion": suggestion, "confidence": page.reading.comment_confidence}
    return _Validated(body, machine, False, record_id=page.record_id, page_source=page.source)


def _refuse_double_count(store: Store, row: RecordRow, item_id: str) -> None:
    """Two records of one code must not both be accepted by review."""
    if not row.code_hash:
        return
    for other in stored.other_record_ids_of_code(store, row.code_hash, row.record_id):
        decision = stored.active_decision(store, f"r{other}")
        if decision is not None and not decision.undone and decision.action in rules.COUNTING_ACTIONS:
            raise InvalidInput(f"{item_id}: r{other}, another record of the same ballot, is already accepted "
                               f"by {decision.reviewer}; undo that first or reject one of them")


def _validate_identify(store: Store, process: Process, item: ReviewItem, page: PageRow, request: DecisionRequest,
                       machine: dict[str, Any]) -> _Validated:
    if request.serial is None:
        raise InvalidInput(f"{item.id}: give the serial printed on the ballot (--serial N)")
    found = lookup_ballot(store, process, int(request.serial))
    if found.state == BallotState.VOID:
        raise InvalidInput(f"{item.id}: ballot {found.serial} is void; reject the page, or check the serial")
    page_no = request.page or found.suggested_page
    if page_no is None:
        raise InvalidInput(f"{item.id}: ballot {found.serial} has pages {', '.join(map(str, found.content_pages))}; "
                           "say which one this is (--page N)")
    if page_no not in found.content_pages:
        raise InvalidInput(f"{item.id}: ballot {found.serial} has no page {page_no} with boxes or a comment "
                           f"(pages {', '.join(map(str, found.content_pages))})")
    view = next(p for p in found.pages if p.ballot_page == page_no)
    on_page = {(b.question, b.option) for b in view.boxes}
    marks = check_marks(process, request.marks or {})
    for question, options in marks.items():
        for option in options:
            if (question, option) not in on_page:
                raise InvalidInput(f"{item.id}: {question}={option} is not printed on page {page_no} of ballot {found.serial}")
    if on_page and request.marks is None:
        raise InvalidInput(f"{item.id}: page {page_no} has boxes the reader could not read; give its marks "
                           "(--marks q1=a,q2=b+c, or --marks none)")
    body = {"serial": found.serial, "page": page_no, "marks": {q: list(v) for q, v in sorted(marks.items()) if v}}
    return _Validated(body, machine, bool(on_page), page_source=page.source)


def _take_version(store: Store, item_id: str, expected: int | None, what: str) -> int:
    """Check the caller saw the current version, then bump it; inside the transaction."""
    stored.lock_item(store, item_id)
    current = stored.item_version(store, item_id)
    if expected is not None and expected != current:
        by, event, at = _latest_event(store, item_id)
        raise ReviewConflict(
            f"{item_id} was changed by {by} ({action_label(event)}, {at}) while you were looking at it; "
            f"your {what} was not saved. The item now shows what was decided.", current, by, event, at)
    stored.bump_version(store, item_id)
    return current + 1


def _latest_event(store: Store, item_id: str) -> tuple[str, str, str]:
    """(who, what, when) of the item's latest decision, confirmation or undo."""
    events: list[tuple[str, int, str, str]] = []
    for d in stored.history(store, item_id):
        events.append((d.decided_at, 0, d.reviewer, d.action))
        if d.confirmed_at and d.confirmed_by:
            events.append((d.confirmed_at, 1, d.confirmed_by, "confirm"))
        if d.undone_at and d.undone_by:
            events.append((d.undone_at, 2, d.undone_by, "undo"))
    if not events:
        return "someone else", "decision", ""
    at, _, by, event = max(events)
    return by, event, at


def _audit(store: Store, event: str, decision_id: int, item: ReviewItem, action: str, reviewer: str,
           body: Mapping[str, Any] | None = None) -> None:
    # Choices and comment texts stay out of the chain (it is copied to out/): a hash binds them.
    entry: dict[str, Any] = {"event": event, "item": item.id, "decision_id": decision_id, "action": action,
                             "reviewer": reviewer}
    if item.record_id is not None:
        entry["record_id"] = item.record_id
    if body is not None:
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        entry["body_sha256"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    audit.append(store, "review", entry)


def decide(store: Store, process: Process, item_id: str, request: DecisionRequest, reviewer: str,
           *, expected_version: int | None = None) -> ReviewItem:
    """Store `reviewer`'s decision on `item_id` (one transaction); returns the item after it.

    `expected_version`: the version the reviewer saw (ReviewConflict when it changed).
    Without it, an item that already has a decision is refused (undo it first), so a
    script never decides over a person by accident."""
    reviewer = reviewer_name(reviewer)
    item_id = parse_id(item_id).group(0)
    with store.transaction():
        version = _take_version(store, item_id, expected_version, "decision")  # lock first, then read
        item = get_item(store, process, item_id)
        if expected_version is None and item.decision is not None:
            raise ReviewConflict(
                f"{item.id} was already decided by {item.decision.reviewer} ({action_label(item.decision.action)}); "
                f"undo it first, or decide over it with --version {version - 1}", version - 1,
                item.decision.reviewer, item.decision.action, item.decision.decided_at)
        checked = _validate(store, process, item, request)
        action = ReviewAction(request.action).value  # stored as the value, whichever the caller passed
        decision_id = stored.add_decision(store, item.id, action, checked.record_id, checked.page_source,
                                          checked.body, checked.machine, reviewer, checked.needs_confirmation)
        _audit(store, "decide", decision_id, item, action, reviewer, checked.body)
        if action == ReviewAction.IDENTIFY and not checked.needs_confirmation:
            apply_identification(store, process, decision_id, reviewer)
    return get_item(store, process, item.id)


def preview(store: Store, process: Process, item_id: str, request: DecisionRequest) -> EffectiveDecision:
    """What a decision on a record would give by the rules, without storing anything: the
    page warns before saving marks that overvote or go over the budget (the question, or
    the ballot, would be invalid)."""
    item = get_item(store, process, item_id)
    if item.kind != "record":
        raise InvalidInput(f"{item.id}: only a decision on a record can be previewed")
    row = stored.record(store, item.record_id)
    assert row is not None
    body: dict[str, Any] = {}
    if request.marks is not None:
        body["marks"] = {q: list(v) for q, v in check_marks(process, request.marks).items()}
    if request.questions:
        body["questions"] = list(request.questions)
    return apply_decision(process, machine_decision(row), request.action, body)


def confirm(store: Store, process: Process, item_id: str, reviewer: str, *, expected_version: int | None = None
            ) -> ReviewItem:
    """A second reviewer confirms the pending decision on `item_id`; from now on it is used."""
    reviewer = reviewer_name(reviewer)
    item_id = parse_id(item_id).group(0)
    with store.transaction():
        _take_version(store, item_id, expected_version, "confirmation")
        item = get_item(store, process, item_id)
        pending = item.decision
        if pending is None or not pending.pending:
            raise InvalidInput(f"{item.id}: no decision is waiting for confirmation")
        if pending.reviewer == reviewer:
            raise SecondReviewerNeeded(
                f"{item.id}: {reviewer} made this decision; a second reviewer must confirm it")
        stored.confirm_decision(store, pending.decision_id, reviewer)
        _audit(store, "confirm", pending.decision_id, item, pending.action, reviewer)
        if pending.action == ReviewAction.IDENTIFY:
            apply_identification(store, process, pending.decision_id, reviewer)
    return get_item(store, process, item.id)


def undo(store: Store, process: Process, item_id: str, reviewer: str, *, expected_version: int | None = None
         ) -> ReviewItem:
    """Undo the active decision on `item_id` (kept in the history, with who undid it)."""
    reviewer = reviewer_name(reviewer)
    item_id = parse_id(item_id).group(0)
    with store.transaction():
        _take_version(store, item_id, expected_version, "undo")
        item = get_item(store, process, item_id)
        current = stored.active_decision(store, item.id)
        if current is None:
            raise InvalidInput(f"{item.id}: there is no decision to undo")
        if current.action == ReviewAction.IDENTIFY:
            revert_identification(store, process, current)
        stored.undo_decision(store, current.decision_id, reviewer)
        _audit(store, "undo", current.decision_id, item, current.action, reviewer)
    return get_item(store, process, item.id)

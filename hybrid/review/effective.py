"""What merge uses: each record's final decision, and the comment texts that may be published."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from hybrid import rules
from hybrid.definition import Process
from hybrid.review.decisions import EffectiveDecision, conflict_resolutions, effective
from hybrid.review.errors import UnknownItem
from hybrid.states import Reason, ReviewAction
from hybrid.store import Store
from hybrid.store import review as stored
from hybrid.store.review import RecordRow, ReviewDecision


@dataclass(frozen=True)
class ConfirmedComment:
    item: str
    record_id: int | None
    text: str
    language: str | None
    reviewer: str


def settled_by(store: Store, row: RecordRow) -> ReviewDecision | None:
    """The decision on another record of the same code that settled `row` (a cross-channel
    conflict), if any; asked only of a record with no decision of its own."""
    if not (row.code_hash and Reason.CROSS_CHANNEL_CONFLICT.value in row.reasons):
        return None
    others = stored.records_of_code(store, row.code_hash)
    all_active = {f"r{o.record_id}": a for o in others if (a := stored.active_decision(store, f"r{o.record_id}"))}
    return conflict_resolutions(others, all_active).get(row.record_id)


def effective_decision(store: Store, process: Process, record_id: int) -> EffectiveDecision:
    """The final decision on one record, for `hybrid merge`.

    The machine's decision (the record's status, reasons and choices) unless a review
    decision on item ``r<record_id>`` is in force: then `apply_decision` of it, with
    `by_review` set. Not in force, so the machine's state stands (REVIEW: not counted,
    listed as awaiting review): no decision; a decision awaiting a second reviewer
    (`pending`); an undone decision; a decision made on an earlier reading of the record.
    In a cross-channel conflict, accepting (or setting the marks of) one record makes
    each other record of the code that has no decision of its own SUPERSEDED.
    A review decision is final: merge must not re-decide such a record with
    `rules.decide_votes` (use the result as the vote's `own` decision, or take it as is).
    """
    row = stored.record(store, record_id)
    if row is None:
        raise UnknownItem(f"no record {record_id} in the store")
    active = stored.active_decision(store, f"r{record_id}")
    resolved = settled_by(store, row) if active is None else None
    return effective(process, row, active, resolved)


def effective_decisions(store: Store, process: Process) -> dict[int, EffectiveDecision]:
    """`effective_decision` of every record at once (a few queries, for merge)."""
    active = stored.active_decisions(store)
    rows = stored.records(store)
    resolved = conflict_resolutions(rows, active)
    return {row.record_id: effective(process, row, active.get(f"r{row.record_id}"), resolved.get(row.record_id))
            for row in rows}


def reviewed_decisions(store: Store, process: Process, *, restated: Mapping[int, rules.Decision] | None = None
                       ) -> dict[int, EffectiveDecision]:
    """`effective_decision` of only the records a person's decision touches: those with a
    decision (in force, pending or stale) and those a conflict decision settled. Every
    other record's final decision is its stored (machine) one; for merge on big stores.
    `restated`: record id → a machine decision not stored (yet), read as if it were."""
    restated = restated or {}
    active = stored.active_decisions(store)
    decided = {d.record_id for item, d in active.items() if item.startswith("r") and d.record_id is not None}
    rows = {row.record_id: row for row in stored.records_with_reason(store, Reason.CROSS_CHANNEL_CONFLICT.value)}
    conflicts = {i for i, d in restated.items() if Reason.CROSS_CHANNEL_CONFLICT in d.reasons}
    for record_id in (decided | conflicts) - set(rows):
        row = stored.record(store, record_id)
        if row is not None:
            rows[record_id] = row
    for record_id in restated.keys() & rows.keys():
        decision = restated[record_id]
        rows[record_id] = replace(rows[record_id], status=decision.state.value,
                                  reasons=tuple(r.value for r in decision.reasons))
    resolved = conflict_resolutions(list(rows.values()), active)
    return {record_id: effective(process, rows[record_id], active.get(f"r{record_id}"), resolved.get(record_id))
            for record_id in sorted(decided | set(resolved)) if record_id in rows}


def confirmed_comments(store: Store) -> list[ConfirmedComment]:
    """Comment texts a reviewer confirmed or corrected and did not mark as personal data
    (what comments.csv may hold); oldest first."""
    active = stored.active_decisions(store)
    out = []
    for item_id, decision in sorted(active.items(), key=lambda kv: kv[1].decision_id):
        if (not item_id.startswith("c") or not decision.in_force
                or decision.action not in (ReviewAction.ACCEPT, ReviewAction.TEXT)):
            continue
        text = decision.body.get("text")
        if not text:
            continue
        language = None
        row = stored.page_layout_and_record(store, decision.page_source)
        record_id = row[1] if row else decision.record_id
        if row and row[0]:
            language = stored.layout_language(store, row[0])
        out.append(ConfirmedComment(item_id, record_id, text, language, decision.reviewer))
    return out

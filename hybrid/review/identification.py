"""Identifying an unreadable page by its serial, and undoing that.

The page becomes `identified` as the ballot's page, with the reviewed marks as its
reading, and its ballot is re-judged by the normal path (`paper_records.rejudge_ballot`),
exactly as if the reader had found the code; undo puts the page back.
"""

from __future__ import annotations

from dataclasses import replace

from hybrid import audit, identity_votes, paper_records, rules
from hybrid.definition import Process
from hybrid.errors import InvalidInput
from hybrid.page_reading import BoxScore, ReviewIdentification
from hybrid.review.decisions import action_label
from hybrid.states import BallotState, MarkState, PageState
from hybrid.store import Store
from hybrid.store import review as stored
from hybrid.store.review import ReviewDecision


def apply_identification(store: Store, process: Process, decision_id: int, reviewer: str) -> None:
    """The page becomes `identified` as ballot `serial`, page `page`, with the reviewed marks
    as its reading; its ballot is re-judged by the normal path."""
    decision = stored.decision(store, decision_id)
    page_row = stored.page(store, decision.page_source)
    if page_row.state != PageState.UNREADABLE.value:
        raise InvalidInput(f"{decision.item}: the page is {page_row.state} now, not unreadable")
    serial, page_no = int(decision.body["serial"]), int(decision.body["page"])
    ballot = store.ballot(serial)
    if ballot is None or ballot.state == BallotState.VOID:
        raise InvalidInput(f"{decision.item}: ballot {serial} is {'void' if ballot else 'unknown'} now")
    code_hash = stored.ballot_code_hash(store, serial)
    layout = store.layouts()[ballot.layout_hash]
    layout_page = layout.pages[page_no - 1]
    marks = {(q, o) for q, opts in decision.body.get("marks", {}).items() for o in opts}
    reading = replace(
        page_row.reading,
        boxes=tuple(BoxScore(b.question, b.option, b.number,
                             MarkState.MARKED if (b.question, b.option) in marks else MarkState.EMPTY,
                             None, None, by_review=True)
                    for b in layout_page.boxes),
        identified_by_review=ReviewIdentification(decision_id, decision.reviewer,
                                                  reviewer if decision.needs_confirmation else None))
    existing = stored.paper_record_id(store, code_hash)
    before = {"state": page_row.state, "reasons": list(page_row.reasons), "code_hash": page_row.code_hash,
              "serial": page_row.serial, "ballot_page": page_row.ballot_page, "layout_hash": page_row.layout_hash,
              "record_id": page_row.record_id, "reading": page_row.reading.to_dict()}
    stored.identify_page(store, page_row.source, PageState.IDENTIFIED.value, code_hash, serial, page_no,
                         ballot.layout_hash, reading)
    record_id, _ = paper_records.rejudge_ballot(store, process, layout, code_hash)
    applied = {"before": before, "record_id": record_id, "record_created": existing is None}
    stored.set_applied(store, decision_id, applied)
    audit.append(store, "review", {"event": "identified", "item": decision.item, "decision_id": decision_id,
                                   "source": page_row.source, "serial": serial, "page": page_no,
                                   "record_id": record_id})


def revert_identification(store: Store, process: Process, decision: ReviewDecision) -> None:
    """Undo `apply_identification` of `decision` (nothing to do while it is pending)."""
    applied = stored.applied(store, decision.decision_id)
    if not applied:
        return  # pending: nothing was changed
    record_id = applied["record_id"]
    blocking = stored.active_decision(store, f"r{record_id}")
    if blocking is not None:
        raise InvalidInput(f"{decision.item}: undo the decision on r{record_id} ({blocking.reviewer}, "
                           f"{action_label(blocking.action)}) first; it was made on this identification")
    before = applied["before"]
    code_hash = stored.page_code_hash(store, decision.page_source)
    stored.restore_page(store, decision.page_source, before)
    remaining = stored.count_pages(store, code_hash, PageState.IDENTIFIED.value)
    if remaining:
        serial = int(decision.body["serial"])
        ballot = store.ballot(serial)
        assert ballot is not None
        paper_records.rejudge_ballot(store, process, store.layouts()[ballot.layout_hash], code_hash)
    elif applied.get("record_created"):
        stored.remove_record(store, record_id)
        identity = rules.identity_key(process, code_hash, None)
        if identity is not None:
            identity_votes.redecide(store, process, identity)  # an SMS of the code may stand again
    audit.append(store, "review", {"event": "identification_undone", "item": decision.item,
                                   "decision_id": decision.decision_id, "source": decision.page_source,
                                   "record_id": record_id, "record_removed": not remaining})

"""From one scanned page to the store: its PageState, and its ballot's record.

`ingest_page` runs inside the caller's transaction (one per page). It is idempotent
(a page already stored is returned as it was), so a batch killed half-way resumes
without double counting. A ballot's record is re-evaluated by the rules module
whenever one of its pages arrives and stored with that decision of its own, then cast
with every other vote of its code (an SMS or call that came first: `identity_votes.cast`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from hybrid import audit, identity_votes, rules
from hybrid.page_reading import PageReading, ScannedPage
from hybrid.identity_votes import choices_json, reasons_from_json, reasons_json
from hybrid.codes import normalise_code
from hybrid.definition import Process
from hybrid.layout import Layout
from hybrid.states import BallotState, Channel, PageState, Reason, RecordState
from hybrid.store import Store, now_utc, pages, records


@dataclass(frozen=True)
class PageOutcome:
    source: str
    state: PageState
    reasons: tuple[Reason, ...]
    record_id: int | None = None
    record_state: RecordState | None = None
    serial: int | None = None
    already_stored: bool = False


def _classify(store: Store, process: Process, layouts: dict[str, Layout], page: ScannedPage
              ) -> tuple[PageState, tuple[Reason, ...], str | None]:
    """The page's state before its ballot is judged (`rules.classify_page` of its facts),
    and the code's hash when the page is identified or a duplicate."""
    facts, code_hash = _page_facts(store, layouts, page)
    state, reasons = rules.classify_page(process, facts)
    return state, reasons, code_hash if state in (PageState.IDENTIFIED, PageState.DUPLICATE) else None


def _page_facts(store: Store, layouts: dict[str, Layout], page: ScannedPage) -> tuple[rules.PageFacts, str | None]:
    """What the store knows of the page's code; looked up only for a ballot page with a code."""
    code_hash = ballot = None
    rescan = False
    if page.kind == "ballot" and page.code is not None:
        code_hash = store.code_hash(page.code)
        ballot = store.ballot_by_code_hash(code_hash)
        rescan = ballot is not None and page.mark_signature in pages.identified_signatures(
            store, code_hash, page.ballot_page)
    facts = rules.PageFacts(
        kind=page.kind, process_id=page.process_id, layout_known=page.layout_hash in layouts,
        has_code=page.code is not None, code_from_ocr=page.code_from_ocr, serial=page.serial,
        ballot_state=BallotState(ballot.state) if ballot is not None else None,
        ballot_serial=ballot.serial if ballot is not None else None, rescan=rescan, reasons=tuple(page.reasons))
    return facts, code_hash


def ocr_evidence(store: Store, layouts: dict[str, Layout], page: ScannedPage, code_hash: str) -> rules.OcrCodeEvidence:
    """The checks behind a code read by OCR, against the issued ballot its keyed hash names."""
    ballot = store.ballot_by_code_hash(code_hash)
    issued = ballot is not None and ballot.state != BallotState.VOID
    layout = layouts.get(ballot.layout_hash) if ballot is not None else None
    return rules.OcrCodeEvidence(
        check_digit=page.code is not None and normalise_code(page.code) == page.code,
        issued=issued,
        serial_matches=issued and page.serial == ballot.serial,
        layout_matches=(layout is not None and page.layout_hash == layout.layout_hash
                        and page.ocr_layout_id == layout.layout_id),
        geometry_sound=Reason.DOUBTFUL_GEOMETRY not in page.reasons,
    )


def _reading_of(page: ScannedPage, ocr_trusted: bool | None) -> PageReading:
    return replace(page.reading, ocr_code_trusted=ocr_trusted) if ocr_trusted is not None else page.reading


def ingest_page(store: Store, process: Process, layouts: dict[str, Layout], page: ScannedPage) -> PageOutcome:
    """Store one page and re-judge its ballot; call inside `store.transaction()`."""
    existing = pages.stored_page(store, page.source)
    if existing:
        return PageOutcome(page.source, PageState(existing.state), reasons_from_json(existing.reasons),
                           existing.record_id, None, existing.serial, already_stored=True)
    state, reasons, code_hash = _classify(store, process, layouts, page)
    ocr_trusted = None
    if state is PageState.IDENTIFIED and code_hash is not None and page.code_from_ocr:
        ocr_trusted = rules.ocr_code_trusted(ocr_evidence(store, layouts, page, code_hash))
    identity = rules.identity_key(process, code_hash, None) if state is PageState.IDENTIFIED and code_hash else None
    if identity is not None:
        identity_votes.lock_identity(store, identity)  # before the audit lock, as every writer does
    serial = store.ballot_by_code_hash(code_hash).serial if (code_hash and state is not PageState.REJECTED) else None
    pages.add_page(store, pages.NewPage(
        page.source, page.input_sha256, page.page_no, page.batch, state.value,
        reasons_json(reasons), code_hash if state is not PageState.REJECTED else None, serial,
        page.ballot_page, page.layout_hash, page.mark_signature, _reading_of(page, ocr_trusted), page.review_crop,
        page.comment_crop, page.message, page.received.isoformat(), now_utc()))
    audit.append(store, "scan_page", {"source": page.source, "state": state.value,
                                      "reasons": [r.value for r in reasons], "serial": serial})
    record_id = record_state = None
    if state is PageState.IDENTIFIED and code_hash is not None:
        record_id, record_state = rejudge_ballot(store, process, layouts[page.layout_hash], code_hash)
    return PageOutcome(page.source, state, reasons, record_id, record_state, serial)


def rejudge_ballot(store: Store, process: Process, layout: Layout, code_hash: str) -> tuple[int, RecordState]:
    """Re-evaluate the paper record of one code from all its identified pages, then decide
    it again with every other vote of the code (an SMS or call may have come first)."""
    identity = rules.identity_key(process, code_hash, None)
    assert identity is not None
    identity_votes.lock_identity(store, identity)
    rows = pages.identified_pages(store, code_hash)
    first_per_page: dict[int, pages.IdentifiedPage] = {}
    photocopy = False
    page_reasons: set[Reason] = set()
    ocr_trusted = True
    for row in rows:
        if row.ballot_page in first_per_page:
            photocopy = True
            continue
        first_per_page[row.ballot_page] = row
        reasons_here = set(reasons_from_json(row.reasons))
        page_reasons |= reasons_here
        if Reason.CODE_FROM_OCR in reasons_here and not row.reading.ocr_code_trusted:
            ocr_trusted = False
    boxes = tuple(
        rules.MarkedBox(b.question, b.option, b.state) for row in first_per_page.values() for b in row.reading.boxes
    )
    content = frozenset(p.page for p in layout.pages if p.kind != "back")
    received = min(date.fromisoformat(row.received) for row in rows)
    ballot = rules.PaperBallot(
        pages_expected=len(content), pages_present=frozenset(first_per_page), content_pages=content,
        boxes=boxes, page_reasons=frozenset(page_reasons), photocopy=photocopy, received=received,
        ocr_code_trusted=ocr_trusted,
    )
    decision = rules.decide_paper(process, ballot)
    first_source, serial = rows[0].source, rows[0].serial
    reasons, choices = reasons_json(decision.reasons), choices_json(decision.choices)
    now = now_utc()
    found = records.paper_record(store, code_hash)
    if found is None:
        record_id = records.add_paper_record(store, code_hash, serial, first_source, received.isoformat(),
                                             decision.state.value, reasons, choices, now)
    else:
        record_id = found.record_id
        records.update_paper_record(store, record_id, decision.state.value, reasons, choices, received.isoformat(),
                                    now)
    pages.link_to_record(store, code_hash, record_id)
    if found is None or found.status != decision.state.value or found.reasons != reasons:
        audit.append(store, "decision", {"record_id": record_id, "channel": Channel.PAPER.value, "serial": serial,
                                         "status": decision.state.value,
                                         "reasons": [r.value for r in decision.reasons]})
    cast = identity_votes.cast(store, process, identity)  # nothing new to insert: its record is stored above
    return record_id, cast.decisions[record_id].state

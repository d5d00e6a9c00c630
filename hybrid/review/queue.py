"""The review queue: every item that needs a person, grouped by reason, and one item by id."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from hybrid.definition import Process
from hybrid.review.decisions import conflict_resolutions, snapshot
from hybrid.review.effective import settled_by
from hybrid.review.errors import UnknownItem
from hybrid.review.ids import page_item_id, parse_id
from hybrid.states import PageState, RecordState
from hybrid.store import Store
from hybrid.store import review as stored
from hybrid.store.review import PageRow, RecordRow, ReviewDecision

# The queue's groups, most urgent first; a record is listed under its first reason in this order.
GROUP_ORDER = (
    "awaiting_confirmation", "cross_channel_conflict", "code_from_ocr", "unreadable", "photocopy",
    "doubtful_geometry", "missing_page", "overvote", "over_budget", "cancelled_only", "marginal_mark",
    "mark_outside_box", "reread", "other", "comment",
)


@dataclass(frozen=True)
class ReviewItem:
    id: str
    kind: str  # record | page | comment
    group: str  # see GROUP_ORDER
    reasons: tuple[str, ...]
    status: str  # open | pending | decided
    version: int
    serial: int | None = None
    record_id: int | None = None
    source: str | None = None
    channel: str | None = None
    decision: ReviewDecision | None = None  # the active one (pending or in force)
    note: str | None = None  # why an item with a decision is open again, or who resolved it

    @property
    def needs_person(self) -> bool:
        return self.status in ("open", "pending")


def page_by_item(store: Store, match: re.Match[str]) -> PageRow | None:
    """The page a `p…`/`c…` id (parsed by `parse_id`) names; UnknownItem when it names several."""
    rows = stored.pages_of_scan(store, match["sha"], int(match["page"]))
    if len(rows) > 1:
        raise UnknownItem(f"{match.group(0)} names more than one page; use `hybrid review list` for the ids")
    return rows[0] if rows else None


@functools.lru_cache(maxsize=1024)
def _group_of(reasons: tuple[str, ...]) -> str:
    present = set(reasons)
    for group in GROUP_ORDER:
        if group in present:
            return group
    return "other"


def _record_item(row: RecordRow, active: ReviewDecision | None, version: int,
                 resolved_by: ReviewDecision | None = None) -> ReviewItem:
    item_id = f"r{row.record_id}"
    group = _group_of(row.reasons)
    note = None
    if active is not None and active.machine != snapshot(row):
        note = "reread"  # the ballot was re-read after the decision: decide again
        if row.status == RecordState.REVIEW.value:
            return ReviewItem(item_id, "record", "reread", row.reasons, "open", version, row.serial, row.record_id,
                              row.source, row.channel, None, note)
        return ReviewItem(item_id, "record", group, row.reasons, "decided", version, row.serial, row.record_id,
                          row.source, row.channel, None, note)
    if active is not None and active.pending:
        return ReviewItem(item_id, "record", "awaiting_confirmation", row.reasons, "pending", version, row.serial,
                          row.record_id, row.source, row.channel, active)
    if active is not None:
        return ReviewItem(item_id, "record", group, row.reasons, "decided", version, row.serial, row.record_id,
                          row.source, row.channel, active)
    if resolved_by is not None:
        return ReviewItem(item_id, "record", group, row.reasons, "decided", version, row.serial, row.record_id,
                          row.source, row.channel, None, f"resolved_by:{resolved_by.item}")
    status = "open" if row.status == RecordState.REVIEW.value else "decided"
    return ReviewItem(item_id, "record", group, row.reasons, status, version, row.serial, row.record_id,
                      row.source, row.channel, None)


def _page_item(kind: str, page: PageRow, active: ReviewDecision | None, version: int) -> ReviewItem:
    item_id = page_item_id(kind, page.source)
    group = "unreadable" if kind == "p" else "comment"
    if active is None:
        status = "open"
    elif active.pending:
        status, group = "pending", "awaiting_confirmation"
    else:
        status = "decided"
    return ReviewItem(item_id, "page" if kind == "p" else "comment", group, page.reasons, status, version,
                      page.serial, page.record_id, page.source, "paper", active)


def queue_key(item: ReviewItem) -> tuple:
    """Where an item stands in the queue: by group (GROUP_ORDER), then serial, then id."""
    group = GROUP_ORDER.index(item.group) if item.group in GROUP_ORDER else len(GROUP_ORDER)
    return (group, item.serial if item.serial is not None else 1 << 62, item.id)


def list_items(store: Store, process: Process, *, include_decided: bool = False) -> list[ReviewItem]:
    """Every item that needs a person (open, or pending a second reviewer), grouped by
    reason in GROUP_ORDER; with `include_decided`, decided ones too."""
    active = stored.active_decisions(store)
    versions = stored.item_versions(store)
    decided_records = {d.record_id for d in active.values() if d.record_id is not None and d.item.startswith("r")}
    rows = stored.records_in_state(store, RecordState.REVIEW.value)
    known = {r.record_id for r in rows}
    for record_id in sorted(decided_records - known):
        row = stored.record(store, record_id)
        if row is not None:
            rows.append(row)
    resolved = conflict_resolutions(rows, active)
    items = [_record_item(row, active.get(f"r{row.record_id}"), versions.get(f"r{row.record_id}", 0),
                          resolved.get(row.record_id)) for row in rows]
    identified = {d.page_source for d in stored.identify_decisions(store)}
    page_rows = stored.pages_in_state(store, PageState.UNREADABLE.value)
    for source in sorted(identified - {p.source for p in page_rows}):
        page = stored.page(store, source)
        if page:
            page_rows.append(page)
    for page in page_rows:
        item_id = page_item_id("p", page.source)
        items.append(_page_item("p", page, active.get(item_id), versions.get(item_id, 0)))
    for page in stored.pages_with_comment(store, PageState.IDENTIFIED.value):
        item_id = page_item_id("c", page.source)
        items.append(_page_item("c", page, active.get(item_id), versions.get(item_id, 0)))
    if not include_decided:
        items = [i for i in items if i.needs_person]
    return sorted(items, key=queue_key)


def items_with_scans(store: Store) -> set[str]:
    """Ids of the record and page items whose pages have an archived scan to show."""
    found = {f"r{record_id}" for record_id in stored.records_with_archived_pages(store, PageState.IDENTIFIED.value)}
    found |= {page_item_id("p", source) for source in stored.archived_pages(store, PageState.UNREADABLE.value)}
    return found


def get_item(store: Store, process: Process, item_id: str) -> ReviewItem:
    """One item by id (decided ones too); UnknownItem when there is none."""
    match = parse_id(item_id)
    item_id = match.group(0)
    active = stored.active_decision(store, item_id)
    version = stored.item_version(store, item_id)
    if match["record"]:
        row = stored.record(store, int(match["record"]))
        if row is None:
            raise UnknownItem(f"{item_id}: no record {match['record']} in the store")
        resolved = settled_by(store, row) if active is None else None
        return _record_item(row, active, version, resolved)
    page = page_by_item(store, match)
    if page is None:
        raise UnknownItem(f"{item_id}: no such page in the store")
    if match["kind"] == "p" and page.state != PageState.UNREADABLE.value and active is None:
        raise UnknownItem(f"{item_id}: page {page.source} is {page.state}, not unreadable")
    if match["kind"] == "c" and not page.comment_crop:
        raise UnknownItem(f"{item_id}: page {page.source} has no comment")
    return _page_item(match["kind"], page, active, version)


def counts(items: Iterable[ReviewItem]) -> dict[str, int]:
    """How many items are open, pending and decided."""
    out = {"open": 0, "pending": 0, "decided": 0}
    for item in items:
        out[item.status] = out.get(item.status, 0) + 1
    return out

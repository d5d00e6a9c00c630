"""Review: what the machine could not decide, and what people decided about it (DESIGN §6, §8).

Three kinds of item, each with a stable id:

- ``r<record_id>``   a record in ``review`` (any channel), with its reasons;
- ``p<sha10>-<n>``   a page the reader could not identify (``unreadable``): identify its
                     ballot by serial, or reject it;
- ``c<sha10>-<n>``   a page with a handwritten comment: confirm Tesseract's suggestion,
                     correct it, or mark it as containing personal data.

(``sha10`` is the first 10 hex digits of the scanned file's sha256, ``n`` the page in it.)

A decision is stored beside, never over, the machine's reading: a row in
``review_decisions`` with the reviewer's name and time and a snapshot of the reading it
was made on, and an entry in the audit chain. Nothing in ``records`` changes, with one
exception: identifying an unreadable page makes the page ``identified`` and re-judges its
ballot through the normal path (``paper_records.rejudge_ballot``), exactly as if the
reader had found the code; undoing the identification puts the page back.

Rules a caller may rely on:
- every decision, confirmation and undo bumps the item's version; a caller that passes
  the version it saw gets ``ReviewConflict`` (HTTP 409) when someone else acted first;
- a decision that changes marks (set marks that differ from the reading; identifying a
  page that has boxes) needs a second reviewer's confirmation and is not used until
  confirmed (``pending``); the one who decided cannot confirm;
- undo keeps the undone decision in the history; the decision before it (if any) is in
  force again;
- a decision made on a reading that has changed since (a page arrived and the ballot was
  re-judged) is not used: the item is open again;
- new marks are judged by the one rules module: an overvote or a budget over its limit
  stays invalid whoever sets it.

``effective_decision`` / ``effective_decisions`` give merge each record's final state and
choices; ``confirmed_comments`` the comment texts that may be published.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import secrets
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hybrid import audit, identity_votes, paper_records, rules
from hybrid.definition import Process
from hybrid.errors import HybridError, InvalidInput
from hybrid.layout import Layout
from hybrid.secret_key import keyed_hash
from hybrid.states import MarkState, PageState, Reason, RecordState
from hybrid.store import Store, now_utc

# Actions by item kind. `accept` on a comment confirms Tesseract's suggestion.
RECORD_ACTIONS = ("accept", "marks", "invalid_question", "invalid", "reject")
PAGE_ACTIONS = ("identify", "reject")
COMMENT_ACTIONS = ("accept", "text", "personal_data", "reject")
ACTIONS = {"record": RECORD_ACTIONS, "page": PAGE_ACTIONS, "comment": COMMENT_ACTIONS}

# The queue's groups, most urgent first; a record is listed under its first reason in this order.
GROUP_ORDER = (
    "awaiting_confirmation", "cross_channel_conflict", "code_from_ocr", "unreadable", "photocopy",
    "doubtful_geometry", "missing_page", "overvote", "over_budget", "cancelled_only", "marginal_mark",
    "mark_outside_box", "reread", "other", "comment",
)
MAX_COMMENT_CHARS = 4000
RING_DOUBT = 0.01  # share of ink in the ring around an empty box worth pointing at (the reader's limit is ~0.8 mm²)
_ITEM_ID = re.compile(r"^(?:r(?P<record>[0-9]{1,18})|(?P<kind>[pc])(?P<sha>[0-9a-f]{10})-(?P<page>[0-9]{1,6}))$")
_CONTENT_DOUBTS = frozenset({Reason.OVERVOTE, Reason.OVER_BUDGET})


# -- errors ----------------------------------------------------------------------------------


class UnknownItem(InvalidInput):
    """No such review item (HTTP 404)."""


class ReviewConflict(HybridError):
    """Someone else acted on the item since the caller looked at it (HTTP 409).
    `by`, `event` and `at` name the latest change (who, which decision or confirm/undo, when)."""

    def __init__(self, message: str, version: int, by: str | None = None, event: str | None = None,
                 at: str | None = None) -> None:
        super().__init__(message)
        self.version = version
        self.by, self.event, self.at = by, event, at


class SecondReviewerNeeded(HybridError):
    """The reviewer who made a decision cannot confirm it (HTTP 403)."""


# -- data ------------------------------------------------------------------------------------


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
class ReviewDecision:
    decision_id: int
    item: str
    action: str
    body: Mapping[str, Any]
    machine: Mapping[str, Any]  # the reading the decision was made on
    reviewer: str
    decided_at: str
    needs_confirmation: bool
    confirmed_by: str | None = None
    confirmed_at: str | None = None
    undone_by: str | None = None
    undone_at: str | None = None
    record_id: int | None = None
    page_source: str | None = None

    @property
    def undone(self) -> bool:
        return self.undone_at is not None

    @property
    def pending(self) -> bool:
        """Waiting for a second reviewer: not used until confirmed."""
        return self.needs_confirmation and self.confirmed_by is None and not self.undone

    @property
    def in_force(self) -> bool:
        return not self.undone and not self.pending


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


@dataclass(frozen=True)
class BoxView:
    question: str
    option: str
    number: int
    x: float  # mm on the page
    y: float
    w: float
    h: float
    state: str | None  # the reader's MarkState, None where it read nothing
    fill: float | None
    ring_ink: float | None
    doubtful: bool


@dataclass(frozen=True)
class CropView:
    """Where a stored crop sits on its page: pixel = (mm - region origin) × px_per_mm."""

    path: str  # relative to the workspace
    width: int
    height: int
    region_mm: tuple[float, float, float, float] | None  # x, y, w, h; None when unknown
    px_per_mm: float | None


@dataclass(frozen=True)
class PageView:
    source: str
    file_name: str | None
    page_no: int
    batch: str
    state: str
    reasons: tuple[str, ...]
    ballot_page: int | None
    page_size_mm: tuple[float, float]
    boxes: tuple[BoxView, ...]
    crop: CropView | None
    message: str | None
    comment_rect: tuple[float, float, float, float] | None = None
    archived: str | None = None  # the scanned input's copy under scans/ (relative to the workspace)
    layout_hash: str | None = None


@dataclass(frozen=True)
class OptionView:
    id: str
    number: int
    text: Mapping[str, str]
    price: int | None = None


@dataclass(frozen=True)
class QuestionView:
    id: str
    text: Mapping[str, str]
    max_choices: int | None
    options: tuple[OptionView, ...]


@dataclass(frozen=True)
class RecordView:
    record_id: int
    channel: str
    serial: int | None
    source: str
    received_at: str | None
    status: str
    reasons: tuple[str, ...]
    choices: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class CommentView:
    suggestion: str | None
    confidence: float | None
    text: str | None  # as decided
    personal_data: bool
    crop: CropView | None
    language: str | None


@dataclass(frozen=True)
class ItemDetail:
    item: ReviewItem
    record: RecordView | None
    effective: EffectiveDecision | None
    pages: tuple[PageView, ...]
    related: tuple[RecordView, ...]  # other records of the same code (a conflict: side by side)
    questions: tuple[QuestionView, ...]
    history: tuple[ReviewDecision, ...]
    comment: CommentView | None = None
    layout_language: str | None = None
    content_pages: tuple[int, ...] = ()  # the ballot's pages with boxes or a comment (to tell which are missing)


@dataclass(frozen=True)
class BallotLookup:
    """What identifying a page by `serial` would mean (for the identify form)."""

    serial: int
    state: str  # issued | void
    layout_id: str
    language: str
    content_pages: tuple[int, ...]
    present_pages: tuple[int, ...]  # already identified pages of the ballot
    suggested_page: int | None
    pages: tuple[PageView, ...]  # each content page's boxes (no crop)


@dataclass(frozen=True)
class ConfirmedComment:
    item: str
    record_id: int | None
    text: str
    language: str | None
    reviewer: str


@dataclass(frozen=True)
class Reviewer:
    name: str
    created_at: str
    token_hash: str


# -- ids -------------------------------------------------------------------------------------


def page_item_id(kind: str, source: str) -> str:
    """`p…` / `c…` id of a scanned page `scan:<sha256>#p<n>`."""
    sha, _, page = source.removeprefix("scan:").partition("#p")
    return f"{kind}{sha[:10]}-{page}"


def _parse_id(item_id: str) -> re.Match[str]:
    match = _ITEM_ID.match(item_id.strip())
    if match is None:
        raise UnknownItem(f"{item_id!r} is not a review item id (r12, p3f9a1c2e4b-1, c3f9a1c2e4b-2); see `hybrid review list`")
    return match


# -- reading the store -------------------------------------------------------------------------


def _loads(text: str | None, default: Any) -> Any:
    if not text:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def _decision_from_row(row: tuple) -> ReviewDecision:
    (decision_id, item, action, record_id, page_source, body, machine, reviewer, decided_at, needs,
     confirmed_by, confirmed_at, undone_by, undone_at) = row
    return ReviewDecision(
        decision_id=int(decision_id), item=item, action=action, body=_loads(body, {}), machine=_loads(machine, {}),
        reviewer=reviewer, decided_at=decided_at, needs_confirmation=bool(needs), confirmed_by=confirmed_by,
        confirmed_at=confirmed_at, undone_by=undone_by, undone_at=undone_at,
        record_id=int(record_id) if record_id is not None else None, page_source=page_source,
    )


_DECISION_COLUMNS = ("decision_id, item, action, record_id, page_source, body, machine, reviewer, decided_at, "
                     "needs_confirmation, confirmed_by, confirmed_at, undone_by, undone_at")


def history(store: Store, item_id: str) -> list[ReviewDecision]:
    """Every decision ever made on the item, oldest first (undone ones included)."""
    rows = store.conn.execute(
        f"SELECT {_DECISION_COLUMNS} FROM review_decisions WHERE item = ? ORDER BY decision_id", (item_id,)
    ).fetchall()
    return [_decision_from_row(r) for r in rows]


def _all_active(store: Store) -> dict[str, ReviewDecision]:
    """The active (latest not undone) decision of every item."""
    rows = store.conn.execute(
        f"SELECT {_DECISION_COLUMNS} FROM review_decisions WHERE undone_at IS NULL ORDER BY decision_id"
    ).fetchall()
    active: dict[str, ReviewDecision] = {}
    for row in rows:
        decision = _decision_from_row(row)
        active[decision.item] = decision
    return active


def _active(store: Store, item_id: str) -> ReviewDecision | None:
    row = store.conn.execute(
        f"SELECT {_DECISION_COLUMNS} FROM review_decisions WHERE item = ? AND undone_at IS NULL "
        "ORDER BY decision_id DESC LIMIT 1", (item_id,)
    ).fetchone()
    return _decision_from_row(row) if row else None


def _versions(store: Store) -> dict[str, int]:
    return {item: int(v) for item, v in store.conn.execute("SELECT item, version FROM review_items")}


def _version(store: Store, item_id: str) -> int:
    row = store.conn.execute("SELECT version FROM review_items WHERE item = ?", (item_id,)).fetchone()
    return int(row[0]) if row else 0


@dataclass(eq=False)  # internal and never changed; not frozen: thousands are made per queue
class _RecordRow:
    record_id: int
    channel: str
    code_hash: str | None
    serial: int | None
    source: str
    received_at: str | None
    status: str
    reasons: tuple[str, ...]
    choices_json: str | None

    @functools.cached_property
    def choices(self) -> dict[str, tuple[str, ...]]:
        """Parsed when asked for: the queue of thousands of items never needs them."""
        return {q: tuple(v) for q, v in _loads(self.choices_json, {}).items()}

    def machine(self) -> rules.Decision:
        return rules.Decision(RecordState(self.status), tuple(_reasons(self.reasons)), dict(self.choices))

    def snapshot(self) -> dict[str, Any]:
        return {"status": self.status, "reasons": sorted(self.reasons),
                "choices": {q: sorted(v) for q, v in sorted(self.choices.items()) if v}}

    def view(self) -> RecordView:
        return RecordView(self.record_id, self.channel, self.serial, self.source, self.received_at, self.status,
                          self.reasons, self.choices)


_RECORD_COLUMNS = "record_id, channel, code_hash, serial, source, received_at, status, reasons, choices"


@functools.lru_cache(maxsize=4096)
def _reason_list(text: str | None) -> tuple[str, ...]:
    """A stored reasons list; the same few texts repeat over thousands of records."""
    return tuple(_loads(text, []))


def _record_from_row(row: tuple) -> _RecordRow:
    return _RecordRow(int(row[0]), row[1], row[2], row[3], row[4], row[5], row[6], _reason_list(row[7]), row[8])


def _record(store: Store, record_id: int) -> _RecordRow | None:
    row = store.conn.execute(f"SELECT {_RECORD_COLUMNS} FROM records WHERE record_id = ?", (record_id,)).fetchone()
    return _record_from_row(row) if row else None


def _reasons(values: Iterable[str]) -> list[Reason]:
    out = []
    for value in values:
        try:
            out.append(Reason(value))
        except ValueError:
            continue  # a reason this version does not know is shown, never judged
    return out


@dataclass(frozen=True)
class _PageRow:
    source: str
    input_sha256: str
    page_no: int
    batch: str
    state: str
    reasons: tuple[str, ...]
    code_hash: str | None
    serial: int | None
    ballot_page: int | None
    layout_hash: str | None
    record_id: int | None
    reading: dict[str, Any]
    review_crop: str | None
    comment_crop: str | None
    message: str | None


_PAGE_COLUMNS = ("source, input_sha256, page_no, batch, state, reasons, code_hash, serial, ballot_page, layout_hash, "
                 "record_id, reading, review_crop, comment_crop, message")


def _page_from_row(row: tuple) -> _PageRow:
    return _PageRow(row[0], row[1], int(row[2]), row[3], row[4], tuple(_loads(row[5], [])), row[6], row[7], row[8],
                    row[9], row[10], _loads(row[11], {}), row[12], row[13], row[14])


def _page_by_item(store: Store, match: re.Match[str]) -> _PageRow | None:
    pattern = f"scan:{match['sha']}%#p{int(match['page'])}"
    rows = store.conn.execute(f"SELECT {_PAGE_COLUMNS} FROM pages WHERE source LIKE ?", (pattern,)).fetchall()
    if len(rows) > 1:
        raise UnknownItem(f"{match.group(0)} names more than one page; use `hybrid review list` for the ids")
    return _page_from_row(rows[0]) if rows else None


# -- the items ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def _group_of(reasons: tuple[str, ...]) -> str:
    present = set(reasons)
    for group in GROUP_ORDER:
        if group in present:
            return group
    return "other"


def _record_item(row: _RecordRow, active: ReviewDecision | None, version: int,
                 resolved_by: ReviewDecision | None = None) -> ReviewItem:
    item_id = f"r{row.record_id}"
    group = _group_of(row.reasons)
    note = None
    if active is not None and active.machine != row.snapshot():
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


def _page_item(kind: str, page: _PageRow, active: ReviewDecision | None, version: int) -> ReviewItem:
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


def _conflict_resolutions(store: Store, rows: list[_RecordRow], active: Mapping[str, ReviewDecision]
                          ) -> dict[int, ReviewDecision]:
    """Records settled by a decision on another record of the same code (a cross-channel
    conflict): when one is accepted or its marks set, the others stand down."""
    resolved: dict[int, ReviewDecision] = {}
    by_code: dict[str, list[_RecordRow]] = {}
    for row in rows:
        if row.code_hash and Reason.CROSS_CHANNEL_CONFLICT.value in row.reasons:
            by_code.setdefault(row.code_hash, []).append(row)
    for group in by_code.values():
        for row in group:
            decision = active.get(f"r{row.record_id}")
            if decision is None or not decision.in_force or decision.machine != row.snapshot():
                continue
            if decision.action in ("accept", "marks"):
                for other in group:
                    if other.record_id != row.record_id and f"r{other.record_id}" not in active:
                        resolved[other.record_id] = decision
    return resolved


def list_items(store: Store, process: Process, *, include_decided: bool = False) -> list[ReviewItem]:
    """Every item that needs a person (open, or pending a second reviewer), grouped by
    reason in GROUP_ORDER; with `include_decided`, decided ones too."""
    active = _all_active(store)
    versions = _versions(store)
    decided_records = {d.record_id for d in active.values() if d.record_id is not None and d.item.startswith("r")}
    rows = [_record_from_row(r) for r in store.conn.execute(
        f"SELECT {_RECORD_COLUMNS} FROM records WHERE status = ? ORDER BY record_id", (RecordState.REVIEW.value,))]
    known = {r.record_id for r in rows}
    for record_id in sorted(decided_records - known):
        row = _record(store, record_id)
        if row is not None:
            rows.append(row)
    resolved = _conflict_resolutions(store, rows, active)
    items = [_record_item(row, active.get(f"r{row.record_id}"), versions.get(f"r{row.record_id}", 0),
                          resolved.get(row.record_id)) for row in rows]
    identified = {d.page_source for d in _identify_decisions(store)}
    page_rows = [_page_from_row(r) for r in store.conn.execute(
        f"SELECT {_PAGE_COLUMNS} FROM pages WHERE state = ? ORDER BY batch, source", (PageState.UNREADABLE.value,))]
    for source in sorted(identified - {p.source for p in page_rows}):
        row = store.conn.execute(f"SELECT {_PAGE_COLUMNS} FROM pages WHERE source = ?", (source,)).fetchone()
        if row:
            page_rows.append(_page_from_row(row))
    for page in page_rows:
        item_id = page_item_id("p", page.source)
        items.append(_page_item("p", page, active.get(item_id), versions.get(item_id, 0)))
    for row in store.conn.execute(
            f"SELECT {_PAGE_COLUMNS} FROM pages WHERE comment_crop IS NOT NULL AND state = ? ORDER BY batch, source",
            (PageState.IDENTIFIED.value,)):
        page = _page_from_row(row)
        item_id = page_item_id("c", page.source)
        items.append(_page_item("c", page, active.get(item_id), versions.get(item_id, 0)))
    if not include_decided:
        items = [i for i in items if i.needs_person]
    return sorted(items, key=queue_key)


def items_with_scans(store: Store) -> set[str]:
    """Ids of the record and page items whose pages have an archived scan to show."""
    found = {f"r{row[0]}" for row in store.conn.execute(
        "SELECT DISTINCT p.record_id FROM pages p JOIN inputs i ON i.sha256 = p.input_sha256 "
        "WHERE p.record_id IS NOT NULL AND p.state = ? AND i.archived IS NOT NULL", (PageState.IDENTIFIED.value,))}
    found |= {page_item_id("p", row[0]) for row in store.conn.execute(
        "SELECT p.source FROM pages p JOIN inputs i ON i.sha256 = p.input_sha256 "
        "WHERE p.state = ? AND i.archived IS NOT NULL", (PageState.UNREADABLE.value,))}
    return found


def _identify_decisions(store: Store) -> list[ReviewDecision]:
    rows = store.conn.execute(
        f"SELECT {_DECISION_COLUMNS} FROM review_decisions WHERE action = 'identify' ORDER BY decision_id").fetchall()
    return [_decision_from_row(r) for r in rows]


def get_item(store: Store, process: Process, item_id: str) -> ReviewItem:
    """One item by id (decided ones too); UnknownItem when there is none."""
    match = _parse_id(item_id)
    item_id = match.group(0)
    active = _active(store, item_id)
    version = _version(store, item_id)
    if match["record"]:
        row = _record(store, int(match["record"]))
        if row is None:
            raise UnknownItem(f"{item_id}: no record {match['record']} in the store")
        resolved = None
        if active is None and row.code_hash and Reason.CROSS_CHANNEL_CONFLICT.value in row.reasons:
            others = [_record_from_row(r) for r in store.conn.execute(
                f"SELECT {_RECORD_COLUMNS} FROM records WHERE code_hash = ?", (row.code_hash,))]
            all_active = {f"r{o.record_id}": a for o in others if (a := _active(store, f"r{o.record_id}"))}
            resolved = _conflict_resolutions(store, others, all_active).get(row.record_id)
        return _record_item(row, active, version, resolved)
    page = _page_by_item(store, match)
    if page is None:
        raise UnknownItem(f"{item_id}: no such page in the store")
    if match["kind"] == "p" and page.state != PageState.UNREADABLE.value and active is None:
        raise UnknownItem(f"{item_id}: page {page.source} is {page.state}, not unreadable")
    if match["kind"] == "c" and not page.comment_crop:
        raise UnknownItem(f"{item_id}: page {page.source} has no comment")
    return _page_item(match["kind"], page, active, version)


# -- the detail of one item (what a reviewer looks at) ---------------------------------------------


def _png_size(path) -> tuple[int, int] | None:
    try:
        with open(path, "rb") as handle:
            head = handle.read(24)
    except OSError:
        return None
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def crop_region(layout: Layout | None, ballot_page: int | None, reading: Mapping[str, Any],
                width: int, height: int) -> tuple[tuple[float, float, float, float] | None, float | None]:
    """Where a review crop lies on its page (mm) and its scale, so boxes can be drawn on it.

    The reader's `reading["review_crop"] = {"region_mm": [x, y, w, h], "px_per_mm": r}` is
    used when present. Otherwise the region is worked out the way ocr/read_page.py cuts it
    (the box region: x 10–200 mm, from 8 mm above the first box to 5 mm below the last, at
    4 px/mm; the whole page when there are no boxes) and accepted only when the image size
    fits it to a pixel."""
    stored = reading.get("review_crop") if isinstance(reading, Mapping) else None
    if isinstance(stored, Mapping) and stored.get("region_mm") and stored.get("px_per_mm"):
        x, y, w, h = (float(v) for v in stored["region_mm"])
        return (x, y, w, h), float(stored["px_per_mm"])
    page_w, page_h = layout.page_size_mm if layout else (210.0, 297.0)
    candidates: list[tuple[float, float, float, float]] = []
    page = None
    if layout is not None and ballot_page is not None and 1 <= ballot_page <= len(layout.pages):
        page = layout.pages[ballot_page - 1]
    if page is not None:
        rects = list(page.boxes) + ([page.comment] if page.comment else [])
        if rects:
            y0 = max(0.0, min(r.y for r in rects) - 8.0)
            y1 = min(page_h, max(r.y + r.h for r in rects) + 5.0)
            candidates.append((10.0, y0, page_w - 20.0, y1 - y0))
    candidates.append((0.0, 0.0, page_w, page_h))
    for region in candidates:
        for res in (4.0, width / region[2]):
            if abs(round(region[2] * res) - width) <= 1 and abs(round(region[3] * res) - height) <= 1:
                return region, res
    return None, None


def _doubtful_boxes(process: Process, boxes: list[dict], page_reasons: set[str]) -> set[tuple[str, str]]:
    """Boxes a reviewer should look at closely: marginal marks, ink beside an empty box,
    every box of an overvoted or cancelled-only question."""
    doubtful: set[tuple[str, str]] = set()
    by_question: dict[str, list[rules.MarkedBox]] = {}
    for b in boxes:
        try:
            state = MarkState(b.get("state"))
        except ValueError:
            continue
        key = (b.get("question"), b.get("option"))
        if state is MarkState.MARGINAL:
            doubtful.add(key)
        if (state is MarkState.EMPTY and Reason.MARK_OUTSIDE_BOX.value in page_reasons
                and (b.get("ring_ink") or 0.0) >= RING_DOUBT):
            doubtful.add(key)
        by_question.setdefault(b.get("question"), []).append(rules.MarkedBox(key[0], key[1], state))
    for marked in by_question.values():
        _, reasons = rules.judge_choices(process, marked)
        if reasons & {Reason.OVERVOTE, Reason.OVER_BUDGET, Reason.CANCELLED_ONLY}:
            doubtful |= {(m.question, m.option) for m in marked if m.state is not MarkState.EMPTY}
    return doubtful


def _page_view(process: Process, layouts: Mapping[str, Layout], page: _PageRow,
               names: Mapping[str, tuple[str, str | None]], root: Path) -> PageView:
    layout = layouts.get(page.layout_hash) if page.layout_hash else None
    layout_page = None
    if layout is not None and page.ballot_page is not None and 1 <= page.ballot_page <= len(layout.pages):
        layout_page = layout.pages[page.ballot_page - 1]
    read = {(b.get("question"), b.get("option")): b for b in page.reading.get("boxes", []) or []}
    doubtful = _doubtful_boxes(process, list(read.values()), set(page.reasons))
    boxes = []
    for box in (layout_page.boxes if layout_page else []):
        reading = read.get((box.question, box.option), {})
        boxes.append(BoxView(box.question, box.option, box.number, box.x, box.y, box.w, box.h,
                             reading.get("state"), reading.get("fill"), reading.get("ring_ink"),
                             (box.question, box.option) in doubtful))
    crop = None
    if page.review_crop:
        crop = _crop_view(root, page.review_crop, layout, page.ballot_page, page.reading)
    comment = layout_page.comment if layout_page else None
    name, archived = names.get(page.input_sha256, (None, None))
    return PageView(
        source=page.source, file_name=name, page_no=page.page_no, batch=page.batch,
        state=page.state, reasons=page.reasons, ballot_page=page.ballot_page,
        page_size_mm=tuple(layout.page_size_mm) if layout else (210.0, 297.0), boxes=tuple(boxes), crop=crop,
        message=page.message,
        comment_rect=(comment.x, comment.y, comment.w, comment.h) if comment else None,
        archived=archived, layout_hash=page.layout_hash,
    )


def _crop_view(root: Path, path: str, layout: Layout | None, ballot_page: int | None,
               reading: Mapping[str, Any]) -> CropView | None:
    size = _png_size(Path(root) / path)
    if size is None:
        return None
    region, res = crop_region(layout, ballot_page, reading, *size)
    return CropView(path, size[0], size[1], region, res)


def _file_names(store: Store, shas: Iterable[str]) -> dict[str, tuple[str, str | None]]:
    """sha256 → (the file's name as scanned, its archived copy or None once purged)."""
    names: dict[str, tuple[str, str | None]] = {}
    for sha in set(shas):
        row = store.conn.execute("SELECT name, archived FROM inputs WHERE sha256 = ?", (sha,)).fetchone()
        if row:
            names[sha] = (row[0], row[1])
    return names


def _questions(process: Process) -> tuple[QuestionView, ...]:
    numbers = {(it.question, it.option): it for it in process.items()}
    if process.kind == "poll":
        return tuple(
            QuestionView(q.id, dict(q.text), q.max_choices,
                         tuple(OptionView(o.id, numbers[(q.id, o.id)].number, dict(o.text)) for o in q.options))
            for q in process.questions)
    assert process.budget is not None
    budget = process.budget
    text = {lang: f"{budget.heading.name}: {budget.heading.amount:,} €".replace(",", ".") for lang in process.languages}
    return (QuestionView("budget", text, budget.max_lines,
                         tuple(OptionView(inv.id, numbers[("budget", inv.id)].number, dict(inv.title), inv.price)
                               for inv in budget.investments)),)


def item_detail(store: Store, process: Process, item_id: str, root: Path | str) -> ItemDetail:
    """Everything a reviewer needs to decide `item_id`; `root` is the workspace folder
    (crop paths are relative to it)."""
    item = get_item(store, process, item_id)
    layouts = store.layouts()
    past = tuple(history(store, item.id))
    questions = _questions(process)
    if item.kind == "record":
        row = _record(store, item.record_id)
        assert row is not None
        page_rows = [_page_from_row(r) for r in store.conn.execute(
            f"SELECT {_PAGE_COLUMNS} FROM pages WHERE record_id = ? AND state = ? ORDER BY ballot_page, source",
            (row.record_id, PageState.IDENTIFIED.value))]
        names = _file_names(store, [p.input_sha256 for p in page_rows])
        pages = tuple(_page_view(process, layouts, p, names, Path(root)) for p in page_rows)
        related = ()
        if row.code_hash:
            related = tuple(_record_from_row(r).view() for r in store.conn.execute(
                f"SELECT {_RECORD_COLUMNS} FROM records WHERE code_hash = ? AND record_id <> ? ORDER BY record_id",
                (row.code_hash, row.record_id)))
        language, content = None, ()
        if page_rows and page_rows[0].layout_hash in layouts:
            layout = layouts[page_rows[0].layout_hash]
            language, content = layout.language, tuple(p.page for p in layout.pages if p.kind != "back")
        return ItemDetail(item, row.view(), effective_decision(store, process, row.record_id), pages, related,
                          questions, past, layout_language=language, content_pages=content)
    page = _page_by_item(store, _parse_id(item.id))
    assert page is not None
    names = _file_names(store, [page.input_sha256])
    view = _page_view(process, layouts, page, names, Path(root))
    if item.kind == "page":
        return ItemDetail(item, None, None, (view,), (), questions, past)
    decided_text, personal = None, False
    if item.decision is not None and item.decision.in_force:
        decided_text = item.decision.body.get("text")
        personal = item.decision.action == "personal_data"
    layout = layouts.get(page.layout_hash) if page.layout_hash else None
    comment_crop = _crop_view(Path(root), page.comment_crop, None, None, {}) if page.comment_crop else None
    comment = CommentView(page.reading.get("comment_suggestion"), page.reading.get("comment_confidence"),
                          decided_text, personal, comment_crop, layout.language if layout else None)
    return ItemDetail(item, None, None, (view,), (), questions, past, comment=comment,
                      layout_language=layout.language if layout else None)


def lookup_ballot(store: Store, process: Process, serial: int) -> BallotLookup:
    """What identifying a page as ballot `serial` would mean; InvalidInput when no such ballot."""
    ballot = store.ballot(serial)
    if ballot is None:
        raise InvalidInput(f"no ballot with serial {serial} was printed for {process.id}")
    layout = store.layouts().get(ballot.layout_hash)
    if layout is None:
        raise InvalidInput(f"ballot {serial}: its layout {ballot.layout_hash} is not in the store")
    code_hash = store.conn.execute("SELECT code_hash FROM ballots WHERE serial = ?", (serial,)).fetchone()[0]
    content = tuple(p.page for p in layout.pages if p.kind != "back")
    present = tuple(sorted({int(r[0]) for r in store.conn.execute(
        "SELECT ballot_page FROM pages WHERE code_hash = ? AND state = ? AND ballot_page IS NOT NULL",
        (code_hash, PageState.IDENTIFIED.value))}))
    missing = [p for p in content if p not in present]
    suggested = missing[0] if len(missing) == 1 else (content[0] if len(content) == 1 else None)
    pages = tuple(
        PageView(source="", file_name=None, page_no=0, batch="", state="", reasons=(), ballot_page=p.page,
                 page_size_mm=tuple(layout.page_size_mm),
                 boxes=tuple(BoxView(b.question, b.option, b.number, b.x, b.y, b.w, b.h, None, None, None, False)
                             for b in p.boxes),
                 crop=None, message=None)
        for p in layout.pages if p.kind != "back")
    return BallotLookup(serial, ballot.state, layout.layout_id, layout.language, content, present, suggested, pages)


# -- deciding ------------------------------------------------------------------------------------


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


def _canonical(choices: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    return {q: sorted(set(v)) for q, v in sorted(choices.items()) if v}


def _check_marks(process: Process, marks: Mapping[str, Iterable[str]]) -> dict[str, tuple[str, ...]]:
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


def apply_decision(process: Process, machine: rules.Decision, action: str, body: Mapping[str, Any]
                   ) -> EffectiveDecision:
    """The decision a review action makes of a record's machine decision. Pure.

    accept — the choices as read; marks — the reviewer's choices for the questions given,
    the reading for the rest; invalid_question — the reading without those questions;
    invalid — a ballot with invalid content (REJECTED, `invalid_ballot`, no choices);
    reject — not a ballot that can count (REJECTED).
    Choices are judged with `rules.judge_choices`, one question at a time: a question over
    its limit (overvote, over_budget) is invalid whoever marked it. A ballot left with no
    valid choice but an invalid question is an invalid ballot; one with no choice at all
    is blank (COUNTED, blank_ballot)."""
    reasons = set(machine.reasons)
    if action == "reject":
        return EffectiveDecision(RecordState.REJECTED, _sorted(reasons), {}, by_review=True)
    if action == "invalid":
        return EffectiveDecision(RecordState.REJECTED, _sorted(reasons), {}, by_review=True, invalid_ballot=True)
    choices: dict[str, tuple[str, ...]] = {q: tuple(v) for q, v in machine.choices.items()}
    invalid: set[str] = set()
    if action == "marks":
        choices.update({q: tuple(v) for q, v in body.get("marks", {}).items()})
    elif action == "invalid_question":
        invalid |= set(body.get("questions", ()))
    elif action != "accept":
        raise InvalidInput(f"{action!r} is not a decision on a record ({', '.join(RECORD_ACTIONS)})")
    judged: dict[str, tuple[str, ...]] = {}
    for question, options in choices.items():
        if not options or question in invalid:
            continue
        boxes = [rules.MarkedBox(question, option, MarkState.MARKED) for option in options]
        got, why = rules.judge_choices(process, boxes)
        over = why & _CONTENT_DOUBTS
        if over:
            invalid.add(question)
            reasons |= over
        else:
            judged.update(got)
    invalid_questions = tuple(sorted(invalid))
    if not judged and invalid:
        return EffectiveDecision(RecordState.REJECTED, _sorted(reasons), {}, by_review=True, invalid_ballot=True,
                                 invalid_questions=invalid_questions)
    if not judged:
        return EffectiveDecision(RecordState.COUNTED, _sorted(reasons | {Reason.BLANK_BALLOT}), {}, by_review=True)
    return EffectiveDecision(RecordState.COUNTED, _sorted(reasons - {Reason.BLANK_BALLOT}), judged, by_review=True,
                             invalid_questions=invalid_questions)


def _sorted(reasons: Iterable[Reason]) -> tuple[Reason, ...]:
    return tuple(sorted(set(reasons), key=lambda r: r.value))


def _clean_text(text: str | None) -> str:
    text = unicodedata.normalize("NFC", text or "").replace("\r\n", "\n").strip()
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    if len(text) > MAX_COMMENT_CHARS:
        raise InvalidInput(f"the comment text is longer than {MAX_COMMENT_CHARS} characters")
    return text


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
        raise InvalidInput(f"{item.id}: {action!r} is not a decision for this item; use one of {', '.join(allowed)}")
    if item.kind == "record":
        row = _record(store, item.record_id)
        assert row is not None
        if row.status != RecordState.REVIEW.value:
            raise InvalidInput(f"{item.id} is {row.status}, not waiting for review")
        body: dict[str, Any] = {}
        needs = False
        if action == "marks":
            if request.marks is None:
                raise InvalidInput(f"{item.id}: set marks needs the marks, e.g. q1=a,q2=b+c")
            marks = _check_marks(process, request.marks)
            body["marks"] = {q: list(v) for q, v in sorted(marks.items())}
            after = {**row.choices, **marks}
            needs = _canonical(after) != _canonical(row.choices)
        elif action == "invalid_question":
            questions = tuple(dict.fromkeys(request.questions))
            known = {it.question for it in process.items()}
            unknown = [q for q in questions if q not in known]
            if not questions or unknown:
                raise InvalidInput(f"{item.id}: name the invalid question(s) ({', '.join(sorted(known))})"
                                   + (f"; no question {unknown[0]!r}" if unknown else ""))
            body["questions"] = list(questions)
        if action in ("accept", "marks"):
            _refuse_double_count(store, row, item.id)
        return _Validated(body, row.snapshot(), needs, record_id=row.record_id)
    page = _page_by_item(store, _parse_id(item.id))
    assert page is not None
    machine = {"state": page.state, "reasons": list(page.reasons)}
    if item.kind == "page":
        if page.state != PageState.UNREADABLE.value:
            raise InvalidInput(f"{item.id}: the page is {page.state} now; undo its identification first")
        if action == "reject":
            return _Validated({}, machine, False, page_source=page.source)
        return _validate_identify(store, process, item, page, request, machine)
    suggestion = page.reading.get("comment_suggestion")
    if action == "accept":
        if not suggestion:
            raise InvalidInput(f"{item.id}: there is no suggestion to confirm; type the text (--text)")
        body = {"text": _clean_text(suggestion)}
    elif action == "text":
        text = _clean_text(request.text)
        if not text:
            raise InvalidInput(f"{item.id}: the corrected text is empty; use reject when there is no comment")
        body = {"text": text}
    elif action == "personal_data":
        body = {"text": _clean_text(request.text) or None}
    else:
        body = {}
    machine = {"suggestion": suggestion, "confidence": page.reading.get("comment_confidence")}
    return _Validated(body, machine, False, record_id=page.record_id, page_source=page.source)


def _refuse_double_count(store: Store, row: _RecordRow, item_id: str) -> None:
    """Two records of one code must not both be accepted by review."""
    if not row.code_hash:
        return
    for other in store.conn.execute(
            "SELECT record_id FROM records WHERE code_hash = ? AND record_id <> ?", (row.code_hash, row.record_id)):
        decision = _active(store, f"r{other[0]}")
        if decision is not None and not decision.undone and decision.action in ("accept", "marks"):
            raise InvalidInput(f"{item_id}: r{other[0]}, another record of the same ballot, is already accepted "
                               f"by {decision.reviewer}; undo that first or reject one of them")


def _validate_identify(store: Store, process: Process, item: ReviewItem, page: _PageRow, request: DecisionRequest,
                       machine: dict[str, Any]) -> _Validated:
    if request.serial is None:
        raise InvalidInput(f"{item.id}: give the serial printed on the ballot (--serial N)")
    found = lookup_ballot(store, process, int(request.serial))
    if found.state == "void":
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
    marks = _check_marks(process, request.marks or {})
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
    store.conn.lock(f"review:{item_id}")
    current = _version(store, item_id)
    if expected is not None and expected != current:
        by, event, at = _latest_event(store, item_id)
        raise ReviewConflict(
            f"{item_id} was changed by {by} ({_action_label(event)}, {at}) while you were looking at it; "
            f"your {what} was not saved. The item now shows what was decided.", current, by, event, at)
    store.conn.execute(
        "INSERT INTO review_items (item, version) VALUES (?, 1) "
        "ON CONFLICT (item) DO UPDATE SET version = review_items.version + 1", (item_id,))
    return current + 1


def _latest_event(store: Store, item_id: str) -> tuple[str, str, str]:
    """(who, what, when) of the item's latest decision, confirmation or undo."""
    events: list[tuple[str, int, str, str]] = []
    for d in history(store, item_id):
        events.append((d.decided_at, 0, d.reviewer, d.action))
        if d.confirmed_at and d.confirmed_by:
            events.append((d.confirmed_at, 1, d.confirmed_by, "confirm"))
        if d.undone_at and d.undone_by:
            events.append((d.undone_at, 2, d.undone_by, "undo"))
    if not events:
        return "someone else", "decision", ""
    at, _, by, event = max(events)
    return by, event, at


def _action_label(action: str) -> str:
    return {"accept": "accept as read", "marks": "set marks", "invalid_question": "question invalid",
            "invalid": "ballot invalid", "reject": "reject", "identify": "identify", "text": "corrected text",
            "personal_data": "personal data", "confirm": "confirmed", "undo": "undo"}.get(action, action)


def _audit(store: Store, event: str, decision_id: int, item: ReviewItem, action: str, reviewer: str,
           body: Mapping[str, Any] | None = None) -> None:
    # Choices and comment texts stay out of the chain (it is copied to out/): a hash binds them.
    entry: dict[str, Any] = {"event": event, "item": item.id, "decision_id": decision_id, "action": action,
                             "reviewer": reviewer}
    if item.record_id is not None:
        entry["record_id"] = item.record_id
    if body is not None:
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        entry["body_sha256"] = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    audit.append(store, "review", entry)


def _reviewer_name(reviewer: str) -> str:
    name = " ".join((reviewer or "").split())
    if not name or len(name) > 80:
        raise InvalidInput("a decision needs the reviewer's name (1–80 characters)")
    return name


def decide(store: Store, process: Process, item_id: str, request: DecisionRequest, reviewer: str,
           *, expected_version: int | None = None) -> ReviewItem:
    """Store `reviewer`'s decision on `item_id` (one transaction); returns the item after it.

    `expected_version`: the version the reviewer saw (ReviewConflict when it changed).
    Without it, an item that already has a decision is refused (undo it first), so a
    script never decides over a person by accident."""
    reviewer = _reviewer_name(reviewer)
    item_id = _parse_id(item_id).group(0)
    with store.transaction():
        version = _take_version(store, item_id, expected_version, "decision")  # lock first, then read
        item = get_item(store, process, item_id)
        if expected_version is None and item.decision is not None:
            raise ReviewConflict(
                f"{item.id} was already decided by {item.decision.reviewer} ({_action_label(item.decision.action)}); "
                f"undo it first, or decide over it with --version {version - 1}", version - 1,
                item.decision.reviewer, item.decision.action, item.decision.decided_at)
        checked = _validate(store, process, item, request)
        decision_id = store.conn.insert(
            "INSERT INTO review_decisions (item, action, record_id, page_source, body, machine, reviewer, decided_at, "
            "needs_confirmation) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (item.id, request.action, checked.record_id, checked.page_source,
             json.dumps(checked.body, sort_keys=True, ensure_ascii=False),
             json.dumps(checked.machine, sort_keys=True, ensure_ascii=False), reviewer, now_utc(),
             int(checked.needs_confirmation)),
            returning="decision_id")
        _audit(store, "decide", decision_id, item, request.action, reviewer, checked.body)
        if request.action == "identify" and not checked.needs_confirmation:
            _apply_identification(store, process, decision_id, reviewer)
    return get_item(store, process, item.id)


def preview(store: Store, process: Process, item_id: str, request: DecisionRequest) -> EffectiveDecision:
    """What a decision on a record would give by the rules, without storing anything: the
    page warns before saving marks that overvote or go over the budget (the question, or
    the ballot, would be invalid)."""
    item = get_item(store, process, item_id)
    if item.kind != "record":
        raise InvalidInput(f"{item.id}: only a decision on a record can be previewed")
    row = _record(store, item.record_id)
    assert row is not None
    body: dict[str, Any] = {}
    if request.marks is not None:
        body["marks"] = {q: list(v) for q, v in _check_marks(process, request.marks).items()}
    if request.questions:
        body["questions"] = list(request.questions)
    return apply_decision(process, row.machine(), request.action, body)


def confirm(store: Store, process: Process, item_id: str, reviewer: str, *, expected_version: int | None = None
            ) -> ReviewItem:
    """A second reviewer confirms the pending decision on `item_id`; from now on it is used."""
    reviewer = _reviewer_name(reviewer)
    item_id = _parse_id(item_id).group(0)
    with store.transaction():
        _take_version(store, item_id, expected_version, "confirmation")
        item = get_item(store, process, item_id)
        pending = item.decision
        if pending is None or not pending.pending:
            raise InvalidInput(f"{item.id}: no decision is waiting for confirmation")
        if pending.reviewer == reviewer:
            raise SecondReviewerNeeded(
                f"{item.id}: {reviewer} made this decision; a second reviewer must confirm it")
        store.conn.execute("UPDATE review_decisions SET confirmed_by = ?, confirmed_at = ? WHERE decision_id = ?",
                           (reviewer, now_utc(), pending.decision_id))
        _audit(store, "confirm", pending.decision_id, item, pending.action, reviewer)
        if pending.action == "identify":
            _apply_identification(store, process, pending.decision_id, reviewer)
    return get_item(store, process, item.id)


def undo(store: Store, process: Process, item_id: str, reviewer: str, *, expected_version: int | None = None
         ) -> ReviewItem:
    """Undo the active decision on `item_id` (kept in the history, with who undid it)."""
    reviewer = _reviewer_name(reviewer)
    item_id = _parse_id(item_id).group(0)
    with store.transaction():
        _take_version(store, item_id, expected_version, "undo")
        item = get_item(store, process, item_id)
        current = _active(store, item.id)
        if current is None:
            raise InvalidInput(f"{item.id}: there is no decision to undo")
        if current.action == "identify":
            _revert_identification(store, process, current)
        store.conn.execute("UPDATE review_decisions SET undone_by = ?, undone_at = ? WHERE decision_id = ?",
                           (reviewer, now_utc(), current.decision_id))
        _audit(store, "undo", current.decision_id, item, current.action, reviewer)
    return get_item(store, process, item.id)


# -- identifying an unreadable page --------------------------------------------------------------


def _apply_identification(store: Store, process: Process, decision_id: int, reviewer: str) -> None:
    """The page becomes `identified` as ballot `serial`, page `page`, with the reviewed marks
    as its reading; its ballot is re-judged by the normal path."""
    row = store.conn.execute(f"SELECT {_DECISION_COLUMNS} FROM review_decisions WHERE decision_id = ?",
                             (decision_id,)).fetchone()
    decision = _decision_from_row(row)
    page = store.conn.execute(f"SELECT {_PAGE_COLUMNS} FROM pages WHERE source = ?",
                              (decision.page_source,)).fetchone()
    page_row = _page_from_row(page)
    if page_row.state != PageState.UNREADABLE.value:
        raise InvalidInput(f"{decision.item}: the page is {page_row.state} now, not unreadable")
    serial, page_no = int(decision.body["serial"]), int(decision.body["page"])
    ballot = store.ballot(serial)
    if ballot is None or ballot.state == "void":
        raise InvalidInput(f"{decision.item}: ballot {serial} is {'void' if ballot else 'unknown'} now")
    code_hash = store.conn.execute("SELECT code_hash FROM ballots WHERE serial = ?", (serial,)).fetchone()[0]
    layout = store.layouts()[ballot.layout_hash]
    layout_page = layout.pages[page_no - 1]
    marks = {(q, o) for q, opts in decision.body.get("marks", {}).items() for o in opts}
    reading = dict(page_row.reading)
    reading["boxes"] = [
        {"question": b.question, "option": b.option, "number": b.number,
         "state": (MarkState.MARKED if (b.question, b.option) in marks else MarkState.EMPTY).value,
         "fill": None, "ring_ink": None, "by_review": True}
        for b in layout_page.boxes]
    reading["identified_by_review"] = {"decision_id": decision_id, "reviewer": decision.reviewer,
                                       "confirmed_by": reviewer if decision.needs_confirmation else None}
    existing = store.conn.execute("SELECT record_id FROM records WHERE channel = 'paper' AND code_hash = ?",
                                  (code_hash,)).fetchone()
    before = {"state": page_row.state, "reasons": list(page_row.reasons), "code_hash": page_row.code_hash,
              "serial": page_row.serial, "ballot_page": page_row.ballot_page, "layout_hash": page_row.layout_hash,
              "record_id": page_row.record_id, "reading": page_row.reading}
    store.conn.execute(
        "UPDATE pages SET state = ?, code_hash = ?, serial = ?, ballot_page = ?, layout_hash = ?, reading = ? "
        "WHERE source = ?",
        (PageState.IDENTIFIED.value, code_hash, serial, page_no, ballot.layout_hash,
         json.dumps(reading, separators=(",", ":"), ensure_ascii=False), page_row.source))
    record_id, _ = paper_records.rejudge_ballot(store, process, layout, code_hash)
    applied = {"before": before, "record_id": record_id, "record_created": existing is None}
    store.conn.execute("UPDATE review_decisions SET applied = ? WHERE decision_id = ?",
                       (json.dumps(applied, sort_keys=True, ensure_ascii=False), decision_id))
    audit.append(store, "review", {"event": "identified", "item": decision.item, "decision_id": decision_id,
                                   "source": page_row.source, "serial": serial, "page": page_no,
                                   "record_id": record_id})


def _revert_identification(store: Store, process: Process, decision: ReviewDecision) -> None:
    row = store.conn.execute("SELECT applied FROM review_decisions WHERE decision_id = ?",
                             (decision.decision_id,)).fetchone()
    applied = _loads(row[0] if row else None, None)
    if not applied:
        return  # pending: nothing was changed
    record_id = applied["record_id"]
    blocking = _active(store, f"r{record_id}")
    if blocking is not None:
        raise InvalidInput(f"{decision.item}: undo the decision on r{record_id} ({blocking.reviewer}, "
                           f"{_action_label(blocking.action)}) first; it was made on this identification")
    before = applied["before"]
    code_hash = store.conn.execute("SELECT code_hash FROM pages WHERE source = ?", (decision.page_source,)).fetchone()[0]
    store.conn.execute(
        "UPDATE pages SET state = ?, reasons = ?, code_hash = ?, serial = ?, ballot_page = ?, layout_hash = ?, "
        "record_id = ?, reading = ? WHERE source = ?",
        (before["state"], json.dumps(before["reasons"]), before["code_hash"], before["serial"], before["ballot_page"],
         before["layout_hash"], before["record_id"], json.dumps(before["reading"], separators=(",", ":"),
                                                               ensure_ascii=False), decision.page_source))
    remaining = store.conn.execute("SELECT COUNT(*) FROM pages WHERE code_hash = ? AND state = ?",
                                   (code_hash, PageState.IDENTIFIED.value)).fetchone()[0]
    if remaining:
        serial = int(decision.body["serial"])
        ballot = store.ballot(serial)
        assert ballot is not None
        paper_records.rejudge_ballot(store, process, store.layouts()[ballot.layout_hash], code_hash)
    elif applied.get("record_created"):
        store.conn.execute("UPDATE pages SET record_id = NULL WHERE record_id = ?", (record_id,))
        store.conn.execute("DELETE FROM claims WHERE record_id = ?", (record_id,))
        store.conn.execute("DELETE FROM records WHERE record_id = ?", (record_id,))
        identity = rules.identity_key(process, code_hash, None)
        if identity is not None:
            identity_votes.redecide(store, process, identity)  # an SMS of the code may stand again
    audit.append(store, "review", {"event": "identification_undone", "item": decision.item,
                                   "decision_id": decision.decision_id, "source": decision.page_source,
                                   "record_id": record_id, "record_removed": not remaining})


# -- what merge uses -----------------------------------------------------------------------------


def _effective(process: Process, row: _RecordRow, active: ReviewDecision | None,
               resolved_by: ReviewDecision | None) -> EffectiveDecision:
    machine = row.machine()
    plain = EffectiveDecision(machine.state, tuple(machine.reasons), dict(machine.choices))
    if active is not None and active.machine != row.snapshot():
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
        return EffectiveDecision(RecordState.SUPERSEDED, tuple(machine.reasons), dict(machine.choices), by_review=True,
                                 decision_id=resolved_by.decision_id, reviewer=resolved_by.reviewer,
                                 confirmed_by=resolved_by.confirmed_by, item=resolved_by.item)
    return plain


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
    row = _record(store, record_id)
    if row is None:
        raise UnknownItem(f"no record {record_id} in the store")
    active = _active(store, f"r{record_id}")
    resolved = None
    if active is None and row.code_hash and Reason.CROSS_CHANNEL_CONFLICT.value in row.reasons:
        others = [_record_from_row(r) for r in store.conn.execute(
            f"SELECT {_RECORD_COLUMNS} FROM records WHERE code_hash = ?", (row.code_hash,))]
        all_active = {f"r{o.record_id}": a for o in others if (a := _active(store, f"r{o.record_id}"))}
        resolved = _conflict_resolutions(store, others, all_active).get(record_id)
    return _effective(process, row, active, resolved)


def effective_decisions(store: Store, process: Process) -> dict[int, EffectiveDecision]:
    """`effective_decision` of every record at once (a few queries, for merge)."""
    active = _all_active(store)
    rows = [_record_from_row(r) for r in store.conn.execute(f"SELECT {_RECORD_COLUMNS} FROM records ORDER BY record_id")]
    resolved = _conflict_resolutions(store, rows, active)
    return {row.record_id: _effective(process, row, active.get(f"r{row.record_id}"), resolved.get(row.record_id))
            for row in rows}


def reviewed_decisions(store: Store, process: Process) -> dict[int, EffectiveDecision]:
    """`effective_decision` of only the records a person's decision touches: those with a
    decision (in force, pending or stale) and those a conflict decision settled. Every
    other record's final decision is its stored (machine) one; for merge on big stores."""
    active = _all_active(store)
    decided = {d.record_id for item, d in active.items() if item.startswith("r") and d.record_id is not None}
    rows = {row.record_id: row for row in map(_record_from_row, store.conn.execute(
        f"SELECT {_RECORD_COLUMNS} FROM records WHERE reasons LIKE ?", (f"%{Reason.CROSS_CHANNEL_CONFLICT.value}%",)))}
    for record_id in decided - set(rows):
        row = _record(store, record_id)
        if row is not None:
            rows[record_id] = row
    resolved = _conflict_resolutions(store, list(rows.values()), active)
    return {record_id: _effective(process, rows[record_id], active.get(f"r{record_id}"), resolved.get(record_id))
            for record_id in sorted(decided | set(resolved)) if record_id in rows}


def confirmed_comments(store: Store) -> list[ConfirmedComment]:
    """Comment texts a reviewer confirmed or corrected and did not mark as personal data
    (what comments.csv may hold); oldest first."""
    active = _all_active(store)
    out = []
    for item_id, decision in sorted(active.items(), key=lambda kv: kv[1].decision_id):
        if not item_id.startswith("c") or not decision.in_force or decision.action not in ("accept", "text"):
            continue
        text = decision.body.get("text")
        if not text:
            continue
        language = None
        row = store.conn.execute("SELECT p.layout_hash, p.record_id FROM pages p WHERE p.source = ?",
                                 (decision.page_source,)).fetchone()
        record_id = row[1] if row else decision.record_id
        if row and row[0]:
            lang = store.conn.execute("SELECT language FROM layouts WHERE layout_hash = ?", (row[0],)).fetchone()
            language = lang[0] if lang else None
        out.append(ConfirmedComment(item_id, record_id, text, language, decision.reviewer))
    return out


# -- reviewers and their tokens --------------------------------------------------------------------


def _token_hash(store: Store, token: str) -> str:
    return keyed_hash(store.key, "review-token", token)


def issue_token(store: Store, name: str) -> str:
    """A new personal token for `name` (replacing any earlier one); only its keyed hash is stored."""
    name = _reviewer_name(name)
    token = secrets.token_urlsafe(24)
    with store.transaction():
        store.conn.execute(
            "INSERT INTO reviewers (name, token_hash, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE "
            "SET token_hash = excluded.token_hash, created_at = excluded.created_at, revoked_at = NULL",
            (name, _token_hash(store, token), now_utc()))
        audit.append(store, "review", {"event": "token", "reviewer": name})
    return token


def revoke_token(store: Store, name: str) -> bool:
    with store.transaction():
        cur = store.conn.execute("UPDATE reviewers SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                                 (now_utc(), name))
        if cur.rowcount:
            audit.append(store, "review", {"event": "token_revoked", "reviewer": name})
    return bool(cur.rowcount)


def reviewer_for_token(store: Store, token: str) -> Reviewer | None:
    """The reviewer whose current token this is (None for an unknown or revoked token)."""
    if not token or len(token) > 200:
        return None
    row = store.conn.execute(
        "SELECT name, created_at, token_hash FROM reviewers WHERE token_hash = ? AND revoked_at IS NULL",
        (_token_hash(store, token),)).fetchone()
    return Reviewer(*row) if row else None


def reviewer_named(store: Store, name: str) -> Reviewer | None:
    row = store.conn.execute(
        "SELECT name, created_at, token_hash FROM reviewers WHERE name = ? AND revoked_at IS NULL", (name,)).fetchone()
    return Reviewer(*row) if row else None


def reviewers(store: Store) -> list[Reviewer]:
    return [Reviewer(*r) for r in store.conn.execute(
        "SELECT name, created_at, token_hash FROM reviewers WHERE revoked_at IS NULL ORDER BY name")]


def counts(items: Iterable[ReviewItem]) -> dict[str, int]:
    """How many items are open, pending and decided."""
    out = {"open": 0, "pending": 0, "decided": 0}
    for item in items:
        out[item.status] = out.get(item.status, 0) + 1
    return out


__all__ = [
    "ACTIONS", "BallotLookup", "ConfirmedComment", "DecisionRequest", "EffectiveDecision", "ItemDetail",
    "ReviewConflict", "ReviewDecision", "ReviewItem", "SecondReviewerNeeded", "UnknownItem", "apply_decision",
    "confirm", "confirmed_comments", "counts", "decide", "effective_decision", "effective_decisions", "get_item",
    "history", "issue_token", "item_detail", "items_with_scans", "list_items", "lookup_ballot", "parse_marks", "preview", "queue_key",
    "reviewer_for_token",
    "reviewers", "revoke_token", "undo",
]

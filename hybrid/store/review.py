"""The review's tables and what review reads of the others (DESIGN §6, §8).

`review_decisions` (every decision, its confirmation and undo), `review_items` (one
version per item, bumped by every change), `reviewers` (personal tokens, as keyed
hashes); and the records, pages, ballots, inputs and layouts that review looks at or,
identifying an unreadable page, changes. Rows cross into `hybrid.review` as frozen
dataclasses; JSON columns are parsed here and written here.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hybrid.page_reading import PageReading
from hybrid.states import ReviewAction
from hybrid.store.hub import Store, now_utc


def _loads(text: str | None, default: Any) -> Any:
    if not text:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


# -- rows ----------------------------------------------------------------------------------------


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


@dataclass(frozen=True, eq=False)  # eq=False: never compared, no field hash; thousands are made per queue
class RecordRow:
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


@dataclass(frozen=True)
class PageRow:
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
    reading: PageReading
    review_crop: str | None
    comment_crop: str | None
    message: str | None


@dataclass(frozen=True)
class Reviewer:
    name: str
    created_at: str
    token_hash: str


_DECISION_COLUMNS = ("decision_id, item, action, record_id, page_source, body, machine, reviewer, decided_at, "
                     "needs_confirmation, confirmed_by, confirmed_at, undone_by, undone_at")
_RECORD_COLUMNS = "record_id, channel, code_hash, serial, source, received_at, status, reasons, choices"
_PAGE_COLUMNS = ("source, input_sha256, page_no, batch, state, reasons, code_hash, serial, ballot_page, layout_hash, "
                 "record_id, reading, review_crop, comment_crop, message")


def _decision_from_row(row: tuple) -> ReviewDecision:
    (decision_id, item, action, record_id, page_source, body, machine, reviewer, decided_at, needs,
     confirmed_by, confirmed_at, undone_by, undone_at) = row
    return ReviewDecision(
        decision_id=int(decision_id), item=item, action=action, body=_loads(body, {}), machine=_loads(machine, {}),
        reviewer=reviewer, decided_at=decided_at, needs_confirmation=bool(needs), confirmed_by=confirmed_by,
        confirmed_at=confirmed_at, undone_by=undone_by, undone_at=undone_at,
        record_id=int(record_id) if record_id is not None else None, page_source=page_source,
    )


@functools.lru_cache(maxsize=4096)
def _reason_list(text: str | None) -> tuple[str, ...]:
    """A stored reasons list; the same few texts repeat over thousands of records."""
    return tuple(_loads(text, []))


def _record_from_row(row: tuple) -> RecordRow:
    return RecordRow(int(row[0]), row[1], row[2], row[3], row[4], row[5], row[6], _reason_list(row[7]), row[8])


def _page_from_row(row: tuple) -> PageRow:
    return PageRow(row[0], row[1], int(row[2]), row[3], row[4], tuple(_loads(row[5], [])), row[6], row[7], row[8],
                   row[9], row[10], PageReading.from_json(row[11]), row[12], row[13], row[14])


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


# -- decisions and item versions -------------------------------------------------------------------


def history(store: Store, item: str) -> list[ReviewDecision]:
    """Every decision ever made on the item, oldest first (undone ones included)."""
    rows = store.conn.execute(
        f"SELECT {_DECISION_COLUMNS} FROM review_decisions WHERE item = ? ORDER BY decision_id", (item,)
    ).fetchall()
    return [_decision_from_row(r) for r in rows]


def active_decisions(store: Store) -> dict[str, ReviewDecision]:
    """The active (latest not undone) decision of every item."""
    rows = store.conn.execute(
        f"SELECT {_DECISION_COLUMNS} FROM review_decisions WHERE undone_at IS NULL ORDER BY decision_id"
    ).fetchall()
    active: dict[str, ReviewDecision] = {}
    for row in rows:
        decision = _decision_from_row(row)
        active[decision.item] = decision
    return active


def active_decision(store: Store, item: str) -> ReviewDecision | None:
    row = store.conn.execute(
        f"SELECT {_DECISION_COLUMNS} FROM review_decisions WHERE item = ? AND undone_at IS NULL "
        "ORDER BY decision_id DESC LIMIT 1", (item,)
    ).fetchone()
    return _decision_from_row(row) if row else None


def decision(store: Store, decision_id: int) -> ReviewDecision:
    row = store.conn.execute(f"SELECT {_DECISION_COLUMNS} FROM review_decisions WHERE decision_id = ?",
                             (decision_id,)).fetchone()
    return _decision_from_row(row)


def identify_decisions(store: Store) -> list[ReviewDecision]:
    rows = store.conn.execute(
        f"SELECT {_DECISION_COLUMNS} FROM review_decisions WHERE action = ? ORDER BY decision_id",
        (ReviewAction.IDENTIFY.value,)).fetchall()
    return [_decision_from_row(r) for r in rows]


def add_decision(store: Store, item: str, action: str, record_id: int | None, page_source: str | None,
                 body: Mapping[str, Any], machine: Mapping[str, Any], reviewer: str, needs_confirmation: bool) -> int:
    """A new decision, decided now; returns its decision_id."""
    return store.conn.insert(
        "INSERT INTO review_decisions (item, action, record_id, page_source, body, machine, reviewer, decided_at, "
        "needs_confirmation) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (item, action, record_id, page_source, _json(body), _json(machine), reviewer, now_utc(),
         int(needs_confirmation)),
        returning="decision_id")


def confirm_decision(store: Store, decision_id: int, reviewer: str) -> None:
    store.conn.execute("UPDATE review_decisions SET confirmed_by = ?, confirmed_at = ? WHERE decision_id = ?",
                       (reviewer, now_utc(), decision_id))


def undo_decision(store: Store, decision_id: int, reviewer: str) -> None:
    store.conn.execute("UPDATE review_decisions SET undone_by = ?, undone_at = ? WHERE decision_id = ?",
                       (reviewer, now_utc(), decision_id))


def set_applied(store: Store, decision_id: int, applied: Mapping[str, Any]) -> None:
    """What applying the decision changed (an identification), so that undo can put it back."""
    store.conn.execute("UPDATE review_decisions SET applied = ? WHERE decision_id = ?",
                       (_json(applied), decision_id))


def applied(store: Store, decision_id: int) -> Any:
    """`set_applied`'s record of the decision; None when nothing was applied."""
    row = store.conn.execute("SELECT applied FROM review_decisions WHERE decision_id = ?",
                             (decision_id,)).fetchone()
    return _loads(row[0] if row else None, None)


def item_versions(store: Store) -> dict[str, int]:
    return {item: int(v) for item, v in store.conn.execute("SELECT item, version FROM review_items")}


def item_version(store: Store, item: str) -> int:
    row = store.conn.execute("SELECT version FROM review_items WHERE item = ?", (item,)).fetchone()
    return int(row[0]) if row else 0


def lock_item(store: Store, item: str) -> None:
    """Serialise changes of one item until the transaction ends."""
    store.conn.lock(f"review:{item}")


def bump_version(store: Store, item: str) -> None:
    store.conn.execute(
        "INSERT INTO review_items (item, version) VALUES (?, 1) "
        "ON CONFLICT (item) DO UPDATE SET version = review_items.version + 1", (item,))


def change_stamp(store: Store) -> tuple:
    """(last audit entry, last decision, sum of item versions): changes with every write."""
    return tuple(store.conn.execute(
        "SELECT (SELECT MAX(seq) FROM audit), (SELECT MAX(decision_id) FROM review_decisions), "
        "(SELECT SUM(version) FROM review_items)").fetchone())


# -- records -----------------------------------------------------------------------------------------


def record(store: Store, record_id: int) -> RecordRow | None:
    row = store.conn.execute(f"SELECT {_RECORD_COLUMNS} FROM records WHERE record_id = ?", (record_id,)).fetchone()
    return _record_from_row(row) if row else None


def records(store: Store) -> list[RecordRow]:
    return [_record_from_row(r) for r in store.conn.execute(
        f"SELECT {_RECORD_COLUMNS} FROM records ORDER BY record_id")]


def records_in_state(store: Store, status: str) -> list[RecordRow]:
    return [_record_from_row(r) for r in store.conn.execute(
        f"SELECT {_RECORD_COLUMNS} FROM records WHERE status = ? ORDER BY record_id", (status,))]


def records_with_reason(store: Store, reason: str) -> list[RecordRow]:
    """Records whose reasons may hold `reason` (a text match: check `reasons` to be sure)."""
    return [_record_from_row(r) for r in store.conn.execute(
        f"SELECT {_RECORD_COLUMNS} FROM records WHERE reasons LIKE ?", (f"%{reason}%",))]


def records_of_code(store: Store, code_hash: str) -> list[RecordRow]:
    return [_record_from_row(r) for r in store.conn.execute(
        f"SELECT {_RECORD_COLUMNS} FROM records WHERE code_hash = ?", (code_hash,))]


def other_records_of_code(store: Store, code_hash: str, record_id: int) -> list[RecordRow]:
    return [_record_from_row(r) for r in store.conn.execute(
        f"SELECT {_RECORD_COLUMNS} FROM records WHERE code_hash = ? AND record_id <> ? ORDER BY record_id",
        (code_hash, record_id))]


def other_record_ids_of_code(store: Store, code_hash: str, record_id: int) -> list[int]:
    return [r[0] for r in store.conn.execute(
        "SELECT record_id FROM records WHERE code_hash = ? AND record_id <> ?", (code_hash, record_id))]


def paper_record_id(store: Store, code_hash: str) -> int | None:
    row = store.conn.execute("SELECT record_id FROM records WHERE channel = 'paper' AND code_hash = ?",
                             (code_hash,)).fetchone()
    return row[0] if row else None


def remove_record(store: Store, record_id: int) -> None:
    """The record, its claim and its pages' link to it go (an identification that made it is undone)."""
    store.conn.execute("UPDATE pages SET record_id = NULL WHERE record_id = ?", (record_id,))
    store.conn.execute("DELETE FROM claims WHERE record_id = ?", (record_id,))
    store.conn.execute("DELETE FROM records WHERE record_id = ?", (record_id,))


# -- pages, ballots, inputs, layouts ----------------------------------------------------------------


def page(store: Store, source: str) -> PageRow | None:
    row = store.conn.execute(f"SELECT {_PAGE_COLUMNS} FROM pages WHERE source = ?", (source,)).fetchone()
    return _page_from_row(row) if row else None


def pages_of_scan(store: Store, sha_prefix: str, page_no: int) -> list[PageRow]:
    """Page `page_no` of every scanned file whose sha256 starts with `sha_prefix`."""
    pattern = f"scan:{sha_prefix}%#p{page_no}"
    return [_page_from_row(r) for r in
            store.conn.execute(f"SELECT {_PAGE_COLUMNS} FROM pages WHERE source LIKE ?", (pattern,)).fetchall()]


def pages_in_state(store: Store, state: str) -> list[PageRow]:
    return [_page_from_row(r) for r in store.conn.execute(
        f"SELECT {_PAGE_COLUMNS} FROM pages WHERE state = ? ORDER BY batch, source", (state,))]


def pages_with_comment(store: Store, state: str) -> list[PageRow]:
    return [_page_from_row(r) for r in store.conn.execute(
        f"SELECT {_PAGE_COLUMNS} FROM pages WHERE comment_crop IS NOT NULL AND state = ? ORDER BY batch, source",
        (state,))]


def pages_of_record(store: Store, record_id: int, state: str) -> list[PageRow]:
    return [_page_from_row(r) for r in store.conn.execute(
        f"SELECT {_PAGE_COLUMNS} FROM pages WHERE record_id = ? AND state = ? ORDER BY ballot_page, source",
        (record_id, state))]


def records_with_archived_pages(store: Store, state: str) -> list[int]:
    """Records with a page in `state` whose scanned input still has its archived copy."""
    return [row[0] for row in store.conn.execute(
        "SELECT DISTINCT p.record_id FROM pages p JOIN inputs i ON i.sha256 = p.input_sha256 "
        "WHERE p.record_id IS NOT NULL AND p.state = ? AND i.archived IS NOT NULL", (state,))]


def archived_pages(store: Store, state: str) -> list[str]:
    """Sources of the pages in `state` whose scanned input still has its archived copy."""
    return [row[0] for row in store.conn.execute(
        "SELECT p.source FROM pages p JOIN inputs i ON i.sha256 = p.input_sha256 "
        "WHERE p.state = ? AND i.archived IS NOT NULL", (state,))]


def page_code_hash(store: Store, source: str) -> str | None:
    return store.conn.execute("SELECT code_hash FROM pages WHERE source = ?", (source,)).fetchone()[0]


def page_layout_and_record(store: Store, source: str | None) -> tuple[str | None, int | None] | None:
    row = store.conn.execute("SELECT p.layout_hash, p.record_id FROM pages p WHERE p.source = ?",
                             (source,)).fetchone()
    return (row[0], row[1]) if row else None


def count_pages(store: Store, code_hash: str | None, state: str) -> int:
    return store.conn.execute("SELECT COUNT(*) FROM pages WHERE code_hash = ? AND state = ?",
                              (code_hash, state)).fetchone()[0]


def ballot_pages(store: Store, code_hash: str, state: str) -> set[int]:
    """The ballot pages of `code_hash` that have a page in `state`."""
    return {int(r[0]) for r in store.conn.execute(
        "SELECT ballot_page FROM pages WHERE code_hash = ? AND state = ? AND ballot_page IS NOT NULL",
        (code_hash, state))}


def identify_page(store: Store, source: str, state: str, code_hash: str, serial: int, ballot_page: int,
                  layout_hash: str, reading: PageReading) -> None:
    store.conn.execute(
        "UPDATE pages SET state = ?, code_hash = ?, serial = ?, ballot_page = ?, layout_hash = ?, reading = ? "
        "WHERE source = ?",
        (state, code_hash, serial, ballot_page, layout_hash, reading.to_json(), source))


def restore_page(store: Store, source: str | None, before: Mapping[str, Any]) -> None:
    """Put back what `identify_page` changed (`before`: the page's columns as they were)."""
    store.conn.execute(
        "UPDATE pages SET state = ?, reasons = ?, code_hash = ?, serial = ?, ballot_page = ?, layout_hash = ?, "
        "record_id = ?, reading = ? WHERE source = ?",
        (before["state"], json.dumps(before["reasons"]), before["code_hash"], before["serial"], before["ballot_page"],
         before["layout_hash"], before["record_id"], PageReading.from_dict(before["reading"]).to_json(), source))


def ballot_code_hash(store: Store, serial: int) -> str:
    return store.conn.execute("SELECT code_hash FROM ballots WHERE serial = ?", (serial,)).fetchone()[0]


def input_names(store: Store, shas: Iterable[str]) -> dict[str, tuple[str, str | None]]:
    """sha256 → (the file's name as scanned, its archived copy or None once purged)."""
    names: dict[str, tuple[str, str | None]] = {}
    for sha in set(shas):
        row = store.conn.execute("SELECT name, archived FROM inputs WHERE sha256 = ?", (sha,)).fetchone()
        if row:
            names[sha] = (row[0], row[1])
    return names


def layout_language(store: Store, layout_hash: str) -> str | None:
    row = store.conn.execute("SELECT language FROM layouts WHERE layout_hash = ?", (layout_hash,)).fetchone()
    return row[0] if row else None


# -- reviewers -----------------------------------------------------------------------------------------


def save_reviewer(store: Store, name: str, token_hash: str) -> None:
    """`name`'s token is this one from now on (a revoked reviewer is back)."""
    store.conn.execute(
        "INSERT INTO reviewers (name, token_hash, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE "
        "SET token_hash = excluded.token_hash, created_at = excluded.created_at, revoked_at = NULL",
        (name, token_hash, now_utc()))


def revoke_reviewer(store: Store, name: str) -> bool:
    """False when `name` had no token in force."""
    cur = store.conn.execute("UPDATE reviewers SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                             (now_utc(), name))
    return bool(cur.rowcount)


def reviewer_by_token_hash(store: Store, token_hash: str) -> Reviewer | None:
    row = store.conn.execute(
        "SELECT name, created_at, token_hash FROM reviewers WHERE token_hash = ? AND revoked_at IS NULL",
        (token_hash,)).fetchone()
    return Reviewer(*row) if row else None


def reviewer_named(store: Store, name: str) -> Reviewer | None:
    row = store.conn.execute(
        "SELECT name, created_at, token_hash FROM reviewers WHERE name = ? AND revoked_at IS NULL", (name,)).fetchone()
    return Reviewer(*row) if row else None


def reviewers(store: Store) -> list[Reviewer]:
    return [Reviewer(*r) for r in store.conn.execute(
        "SELECT name, created_at, token_hash FROM reviewers WHERE revoked_at IS NULL ORDER BY name")]

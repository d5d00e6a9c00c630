"""Scan batches, their inputs and their pages (DESIGN §2, §6).

Writers run inside the caller's transaction (one per page, per input, per batch), so a
batch killed half-way resumes from what is stored: an input is `complete` only once all
its pages are, and a page's `source` is stored once.
"""

from __future__ import annotations

from dataclasses import dataclass

from hybrid.page_reading import PageReading
from hybrid.states import PageState
from hybrid.store.hub import Store


@dataclass(frozen=True)
class BatchRow:
    name: str
    received: str  # the postal arrival date given to `scan`
    envelopes: int | None


@dataclass(frozen=True)
class NewInput:
    sha256: str
    name: str
    size: int | None
    batch: str
    archived: str  # the content-addressed copy, relative to the workspace
    problem: str | None
    created_at: str


@dataclass(frozen=True)
class NewPage:
    source: str  # scan:<sha256>#p<n>
    input_sha256: str
    page_no: int
    batch: str
    state: str  # a PageState value
    reasons: str  # JSON list of Reason values
    code_hash: str | None
    serial: int | None
    ballot_page: int | None
    layout_hash: str | None
    mark_signature: str
    reading: PageReading
    review_crop: str | None
    comment_crop: str | None
    message: str | None
    received: str
    created_at: str


@dataclass(frozen=True)
class StoredPage:
    """What a page stored earlier became."""

    state: str
    reasons: str  # JSON list
    record_id: int | None
    serial: int | None


@dataclass(frozen=True)
class IdentifiedPage:
    """An identified page of a ballot, as its record is judged from."""

    source: str
    ballot_page: int
    reasons: str  # JSON list
    reading: PageReading
    received: str
    serial: int | None


@dataclass(frozen=True)
class PageTally:
    """A page's state and reasons, for a batch's accounting."""

    state: str
    reasons: str  # JSON list


# -- batches -----------------------------------------------------------------------------------


def add_batch(store: Store, name: str, created_at: str, received: str, envelopes: int | None) -> None:
    """A batch is named once: the first scan under a name keeps its arrival date and envelopes."""
    store.conn.execute(
        "INSERT INTO batches (name, created_at, received, envelopes) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (name) DO NOTHING", (name, created_at, received, envelopes))


def batches(store: Store) -> list[BatchRow]:
    """Every batch, in the order they were first scanned."""
    return [BatchRow(*row) for row in store.conn.execute(
        "SELECT name, received, envelopes FROM batches ORDER BY created_at, name").fetchall()]


# -- inputs ------------------------------------------------------------------------------------


def input_complete(store: Store, sha256: str) -> bool | None:
    """Whether every page of the input is stored; None for an input not seen before."""
    row = store.conn.execute("SELECT complete FROM inputs WHERE sha256 = ?", (sha256,)).fetchone()
    return bool(row[0]) if row else None


def add_input(store: Store, new: NewInput) -> None:
    store.conn.execute(
        "INSERT INTO inputs (sha256, name, size, batch, archived, problem, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING",
        (new.sha256, new.name, new.size, new.batch, new.archived, new.problem, new.created_at))


def complete_input(store: Store, sha256: str, pages: int) -> None:
    store.conn.execute("UPDATE inputs SET complete = 1, pages = ? WHERE sha256 = ?", (pages, sha256))


def drop_archived_copy(store: Store, sha256: str) -> None:
    """The input's copy under scans/ is gone (or may not be kept)."""
    store.conn.execute("UPDATE inputs SET archived = NULL WHERE sha256 = ?", (sha256,))


def pages_of_input(store: Store, sha256: str) -> int:
    return int(store.conn.execute("SELECT COUNT(*) FROM pages WHERE input_sha256 = ?", (sha256,)).fetchone()[0])


def pages_with_reason(store: Store, sha256: str, reason: str) -> set[int]:
    """The page numbers of the input's pages stored with `reason` (a Reason value)."""
    return {n for (n,) in store.conn.execute(
        "SELECT page_no FROM pages WHERE input_sha256 = ? AND reasons LIKE ?", (sha256, f'%"{reason}"%'))}


# -- pages -------------------------------------------------------------------------------------


def page_stored(store: Store, source: str) -> bool:
    return store.conn.execute("SELECT 1 FROM pages WHERE source = ?", (source,)).fetchone() is not None


def stored_page(store: Store, source: str) -> StoredPage | None:
    row = store.conn.execute(
        "SELECT state, reasons, record_id, serial FROM pages WHERE source = ?", (source,)
    ).fetchone()
    return StoredPage(*row) if row else None


def add_page(store: Store, page: NewPage) -> None:
    store.conn.execute(
        "INSERT INTO pages (source, input_sha256, page_no, batch, state, reasons, code_hash, serial, ballot_page, "
        "layout_hash, mark_signature, reading, review_crop, comment_crop, message, received, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (page.source, page.input_sha256, page.page_no, page.batch, page.state, page.reasons, page.code_hash,
         page.serial, page.ballot_page, page.layout_hash, page.mark_signature, page.reading.to_json(), page.review_crop,
         page.comment_crop, page.message, page.received, page.created_at),
    )


def identified_signatures(store: Store, code_hash: str, ballot_page: int | None) -> list[str]:
    """The mark signatures of the code's identified pages with this page number."""
    return [sig for (sig,) in store.conn.execute(
        "SELECT mark_signature FROM pages WHERE code_hash = ? AND ballot_page = ? AND state = ?",
        (code_hash, ballot_page, PageState.IDENTIFIED.value),
    ).fetchall()]


def identified_pages(store: Store, code_hash: str) -> list[IdentifiedPage]:
    """The code's identified pages, in the order they were stored."""
    return [IdentifiedPage(source, ballot_page, reasons, PageReading.from_json(reading), received, serial)
            for source, ballot_page, reasons, reading, received, serial in store.conn.execute(
        "SELECT source, ballot_page, reasons, reading, received, serial FROM pages "
        "WHERE code_hash = ? AND state = ? ORDER BY created_at, source",
        (code_hash, PageState.IDENTIFIED.value),
    ).fetchall()]


def link_to_record(store: Store, code_hash: str, record_id: int) -> None:
    """The code's identified pages belong to its paper record."""
    store.conn.execute("UPDATE pages SET record_id = ? WHERE code_hash = ? AND state = ?",
                       (record_id, code_hash, PageState.IDENTIFIED.value))


def batch_pages(store: Store, batch: str) -> list[PageTally]:
    return [PageTally(*row) for row in store.conn.execute(
        "SELECT state, reasons FROM pages WHERE batch = ?", (batch,)).fetchall()]


def batch_records(store: Store, batch: str) -> set[int]:
    """The records the batch's pages belong to."""
    return {r for (r,) in store.conn.execute(
        "SELECT DISTINCT record_id FROM pages WHERE batch = ? AND record_id IS NOT NULL", (batch,))}


def batch_ballots(store: Store, batch: str) -> int:
    """How many ballots (serials) the batch's identified and duplicate pages show."""
    return int(store.conn.execute(
        "SELECT COUNT(DISTINCT serial) FROM pages WHERE batch = ? AND state IN (?, ?) AND serial IS NOT NULL",
        (batch, PageState.IDENTIFIED.value, PageState.DUPLICATE.value)).fetchone()[0])


def state_by_source(store: Store) -> dict[str, str]:
    """Every stored page's state by its source (file and page)."""
    return dict(store.conn.execute("SELECT source, state FROM pages").fetchall())

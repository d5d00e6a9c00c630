"""Records (one per ballot, message or call), the claims on identities, void codes (DESIGN §7).

An identity (`code:<hash>`, or `phone:<hash>` under `identity: phone`) is claimed by at
most one record: `claims.identity` is UNIQUE. A claim is moved only from the holder that
was read (`add_claim`, `move_claim`, `drop_claim` return False when another transaction
moved it meanwhile). Writers run inside the caller's transaction, after its locks.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

from hybrid.states import BallotState
from hybrid.store.hub import Store, now_utc


@dataclass(frozen=True, slots=True)
class VoteRow:
    """A stored vote of an identity, as `identity_votes.cast_vote` reads it."""

    record_id: int
    channel: str
    status: str
    reasons: str | None  # JSON list
    choices: str | None  # JSON object
    received_at: str | None
    own_status: str | None
    own_reasons: str | None
    hidden_caller: int
    serial: int | None
    ballot_state: str | None  # the code's ballot: issued, void, or None (no such ballot)


class MergeRow(NamedTuple):
    """A record as merge reads it (a tuple because a million of them are read per merge;
    `phone_hash` is read only under `identity: phone`)."""

    record_id: int
    channel: str
    status: str
    reasons: str | None
    choices: str | None
    received_at: str | None
    own_status: str | None
    own_reasons: str | None
    hidden_caller: int
    serial: int | None
    code_hash: str | None
    source: str
    phone_hash: str | None = None


@dataclass(frozen=True)
class RecordStatus:
    record_id: int
    channel: str
    status: str
    reasons: str | None  # JSON list


@dataclass(frozen=True)
class PaperOutcome:
    """What a paper ballot's record says: its serial, state and choices (for deck checks)."""

    serial: int | None
    status: str
    choices: str  # JSON object


@dataclass(frozen=True)
class PaperRecord:
    """A paper record's stored decision."""

    record_id: int
    status: str
    reasons: str  # JSON list


# The columns of a VoteRow, the ballot's state joined in.
VOTE_COLUMNS = ("r.record_id, r.channel, r.status, r.reasons, r.choices, r.received_at, r.own_status, "
                "r.own_reasons, r.hidden_caller, r.serial, b.state")
MERGE_COLUMNS = ("record_id, channel, status, reasons, choices, received_at, own_status, own_reasons, hidden_caller, "
                 "serial, code_hash, source, phone_hash")


# -- votes of one identity ---------------------------------------------------------------------


def votes_of(store: Store, identity: str) -> tuple[list[VoteRow], int | None]:
    """The identity's votes (paper records, and phone records with content of their own)
    and the record holding its claim, read in one statement (one snapshot)."""
    kind, _, value = identity.partition(":")
    column = "r.code_hash" if kind == "code" else "r.phone_hash"
    rows = store.conn.execute(
        f"SELECT {VOTE_COLUMNS}, (SELECT c.record_id FROM claims c WHERE c.identity = ?) FROM records r "
        "LEFT JOIN ballots b ON b.code_hash = r.code_hash "
        f"WHERE {column} = ? AND (r.channel = 'paper' OR r.own_status IS NOT NULL)",
        (identity, value),
    ).fetchall()
    return [VoteRow(*row[:11]) for row in rows], (rows[0][11] if rows else None)


def set_decision(store: Store, record_id: int, status: str, reasons: str, updated_at: str) -> None:
    store.conn.execute("UPDATE records SET status = ?, reasons = ?, updated_at = ? WHERE record_id = ?",
                       (status, reasons, updated_at, record_id))


# -- claims ------------------------------------------------------------------------------------


def claim_holder(store: Store, identity: str) -> int | None:
    row = store.conn.execute("SELECT record_id FROM claims WHERE identity = ?", (identity,)).fetchone()
    return row[0] if row else None


def add_claim(store: Store, identity: str, record_id: int, claimed_at: str) -> bool:
    """False when the identity is claimed already (the UNIQUE key refused it)."""
    cur = store.conn.execute(
        "INSERT INTO claims (identity, record_id, claimed_at) VALUES (?, ?, ?) ON CONFLICT (identity) DO NOTHING",
        (identity, record_id, claimed_at))
    return cur.rowcount > 0


def drop_claim(store: Store, identity: str, holder: int) -> bool:
    """False when `holder` no longer holds the claim."""
    cur = store.conn.execute("DELETE FROM claims WHERE identity = ? AND record_id = ?", (identity, holder))
    return cur.rowcount > 0


def move_claim(store: Store, identity: str, holder: int, record_id: int, claimed_at: str) -> bool:
    """False when `holder` no longer holds the claim."""
    cur = store.conn.execute("UPDATE claims SET record_id = ?, claimed_at = ? WHERE identity = ? AND record_id = ?",
                             (record_id, claimed_at, identity, holder))
    return cur.rowcount > 0


# -- paper records -----------------------------------------------------------------------------


def paper_record(store: Store, code_hash: str) -> PaperRecord | None:
    row = store.conn.execute(
        "SELECT record_id, status, reasons FROM records WHERE channel = 'paper' AND code_hash = ?", (code_hash,)
    ).fetchone()
    return PaperRecord(*row) if row else None


def add_paper_record(store: Store, code_hash: str, serial: int | None, source: str, received_at: str, status: str,
                     reasons: str, choices: str, updated_at: str) -> int:
    """The new record's id."""
    return store.conn.insert(
        "INSERT INTO records (channel, code_hash, serial, source, received_at, status, reasons, choices, updated_at) "
        "VALUES ('paper', ?, ?, ?, ?, ?, ?, ?, ?)",
        (code_hash, serial, source, received_at, status, reasons, choices, updated_at),
        returning="record_id",
    )


def update_paper_record(store: Store, record_id: int, status: str, reasons: str, choices: str, received_at: str,
                        updated_at: str) -> None:
    store.conn.execute(
        "UPDATE records SET status = ?, reasons = ?, choices = ?, received_at = ?, updated_at = ? WHERE record_id = ?",
        (status, reasons, choices, received_at, updated_at, record_id),
    )


# -- every record ------------------------------------------------------------------------------


def record_status(store: Store, record_id: int) -> RecordStatus:
    return RecordStatus(*store.conn.execute(
        "SELECT record_id, channel, status, reasons FROM records WHERE record_id = ?", (record_id,)).fetchone())


def records_for_merge(store: Store, *, with_phone: bool) -> Iterator[MergeRow]:
    """Every record by id; `with_phone` also reads its phone hash."""
    columns = MERGE_COLUMNS if with_phone else MERGE_COLUMNS.rsplit(",", 1)[0]
    rows = store.conn.execute(f"SELECT {columns} FROM records ORDER BY record_id")
    return map(MergeRow._make, rows) if with_phone else (MergeRow(*row) for row in rows)


def paper_outcomes(store: Store) -> list[PaperOutcome]:
    return [PaperOutcome(*row) for row in store.conn.execute(
        "SELECT serial, status, choices FROM records WHERE channel = 'paper'")]


def void_codes(store: Store) -> set[str]:
    """The code hashes of void ballots."""
    return {h for (h,) in store.conn.execute("SELECT code_hash FROM ballots WHERE state = ?",
                                              (BallotState.VOID.value,))}


@dataclass(frozen=True)
class PhoneRecord:
    """The `records` row of one SMS or one confirmed call (`channel` sms or voice)."""

    channel: str
    code_hash: str | None
    serial: int | None
    source: str
    received_at: str
    status: str
    reasons: str
    choices: str
    phone_hash: str | None
    hidden_caller: bool
    own_status: str | None
    own_reasons: str | None


def add_phone_record(store: Store, record: PhoneRecord) -> int | None:
    """The new record's id; None when the UNIQUE source refused it: another transaction
    stored the same message or call meanwhile, and this one can only be rolled back
    (PostgreSQL has aborted it)."""
    try:
        return store.conn.insert(
            "INSERT INTO records (channel, code_hash, serial, source, received_at, status, reasons, choices, "
            "updated_at, phone_hash, hidden_caller, own_status, own_reasons) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (record.channel, record.code_hash, record.serial, record.source, record.received_at, record.status,
             record.reasons, record.choices, now_utc(), record.phone_hash, int(record.hidden_caller),
             record.own_status, record.own_reasons),
            returning="record_id",
        )
    except Exception as exc:
        if store.conn.is_unique_violation(exc):
            return None
        raise

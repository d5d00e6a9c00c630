"""What `hybrid purge` reads and clears once retention is over (DESIGN §2, §9).

Clearing runs in short transactions of its own, CHUNK rows each, so the webhook is never
locked out; `rename_phone` and `mark_deleted_at_provider` run inside the caller's
transaction (one phone, one message or call). Counts and votes are never touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hybrid.store.hub import Store

PLACEHOLDER_PREFIX = "purged-"  # a purged phone's stand-in hash: not a phone hash
CHUNK = 500  # rows per write transaction
ProviderKind = Literal["message", "call"]

# Placeholders are not phone hashes: they stay.
_REAL_PHONE = f"phone_hash IS NOT NULL AND phone_hash NOT LIKE '{PLACEHOLDER_PREFIX}%'"
_PHONE_TABLES = (("sms_messages", ""), ("voice_calls", ""),
                 ("records", f" AND phone_hash NOT LIKE '{PLACEHOLDER_PREFIX}%'"))
_PROVIDER_TABLES = {"message": ("sms_messages", "message_sid"), "call": ("voice_calls", "call_sid")}


@dataclass(frozen=True)
class AtProvider:
    """Stored messages and calls not yet deleted at the phone provider."""

    messages: int
    calls: int


@dataclass(frozen=True)
class SentSpan:
    """When the first and the last stored SMS were sent (ISO times)."""

    first: str
    last: str


def _count(store: Store, sql: str) -> int:
    return int(store.conn.execute(sql).fetchone()[0])


# -- reading -----------------------------------------------------------------------------------


def sms_bodies(store: Store) -> int:
    """Stored SMS whose text is still kept."""
    return _count(store, "SELECT COUNT(*) FROM sms_messages WHERE body IS NOT NULL")


def phone_hash_rows(store: Store) -> int:
    """Rows of sms_messages, voice_calls and records that hold a phone hash (not a placeholder)."""
    return sum(_count(store, f"SELECT COUNT(*) FROM {table} WHERE phone_hash IS NOT NULL{extra}")
               for table, extra in _PHONE_TABLES)


def pending_at_provider(store: Store) -> AtProvider:
    return AtProvider(*(_count(store, f"SELECT COUNT(*) FROM {table} WHERE twilio_deleted = 0")
                        for table, _ in _PROVIDER_TABLES.values()))


def record_phones(store: Store) -> set[str]:
    """Phone hashes still in records (not placeholders)."""
    return {h for (h,) in store.conn.execute(
        "SELECT DISTINCT phone_hash FROM records WHERE phone_hash IS NOT NULL AND phone_hash NOT LIKE ?",
        (f"{PLACEHOLDER_PREFIX}%",))}


def claimed_phones(store: Store) -> list[str]:
    """The phone hashes of claims keyed `phone:<hash>` (not placeholders)."""
    rows = store.conn.execute("SELECT identity FROM claims WHERE identity LIKE 'phone:%' AND identity NOT LIKE ?",
                              (f"phone:{PLACEHOLDER_PREFIX}%",))
    return [identity.partition(":")[2] for (identity,) in rows]


def archived_copies(store: Store) -> list[str]:
    """The inputs' copies under scans/ as stored (paths relative to the workspace)."""
    return [name for (name,) in store.conn.execute("SELECT archived FROM inputs WHERE archived IS NOT NULL")]


def not_deleted_at_provider(store: Store, kind: ProviderKind) -> list[str]:
    """The SIDs of stored messages or calls the provider may still hold, in order."""
    table, key = _PROVIDER_TABLES[kind]
    return [sid for (sid,) in store.conn.execute(
        f"SELECT {key} FROM {table} WHERE twilio_deleted = 0 ORDER BY {key}").fetchall()]


def sms_sent_span(store: Store) -> SentSpan | None:
    first, last = store.conn.execute("SELECT MIN(sent_at), MAX(sent_at) FROM sms_messages").fetchone()
    return None if first is None else SentSpan(first, last)


# -- clearing ----------------------------------------------------------------------------------


def _chunked(store: Store, table: str, key: str, where: str, assignment: str) -> int:
    """`UPDATE table SET assignment WHERE where`, CHUNK rows per transaction; rows changed."""
    changed = 0
    while True:
        with store.transaction():
            cur = store.conn.execute(f"UPDATE {table} SET {assignment} WHERE {key} IN "
                                     f"(SELECT {key} FROM {table} WHERE {where} LIMIT {CHUNK})")
            n = cur.rowcount
        changed += n
        if n < CHUNK:
            return changed


def forget_sms_bodies(store: Store) -> int:
    return _chunked(store, "sms_messages", "message_sid", "body IS NOT NULL", "body = NULL")


def forget_provider_phones(store: Store) -> int:
    """Phone hashes out of sms_messages, then voice_calls; rows changed."""
    changed = _chunked(store, "sms_messages", "message_sid", "phone_hash IS NOT NULL", "phone_hash = NULL")
    return changed + _chunked(store, "voice_calls", "call_sid", "phone_hash IS NOT NULL", "phone_hash = NULL")


def forget_record_phones(store: Store) -> int:
    """Phone hashes (not placeholders) out of records; rows changed."""
    return _chunked(store, "records", "record_id", _REAL_PHONE, "phone_hash = NULL")


def forget_archived_copies(store: Store) -> int:
    """No input is archived any more (the copies are gone)."""
    return _chunked(store, "inputs", "sha256", "archived IS NOT NULL", "archived = NULL")


def rename_phone(store: Store, phone_hash: str, placeholder: str) -> int:
    """One phone's records and claim under `placeholder` (inside the caller's transaction); records changed."""
    cur = store.conn.execute("UPDATE records SET phone_hash = ? WHERE phone_hash = ?", (placeholder, phone_hash))
    store.conn.execute("UPDATE claims SET identity = ? WHERE identity = ?",
                       (f"phone:{placeholder}", f"phone:{phone_hash}"))
    return cur.rowcount


def mark_deleted_at_provider(store: Store, kind: ProviderKind, sid: str) -> None:
    table, key = _PROVIDER_TABLES[kind]
    store.conn.execute(f"UPDATE {table} SET twilio_deleted = 1 WHERE {key} = ?", (sid,))

"""The audit chain: one sequence of HMAC'd entries, each chained to the one before (DESIGN §8).

An edited, removed or reordered entry breaks the chain; a truncated tail is caught by
comparing the head with a head hash printed earlier (`hybrid audit verify --head`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from hybrid.store import Store, audit_log, now_utc
from hybrid.store.audit_log import AuditEntry

GENESIS = "0" * 64


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    head: str
    problem: str | None = None
    grown_since: int = 0  # entries added after the expected head


def _mac(key: bytes, seq: int, at: str, kind: str, body: str, prev: str) -> str:
    message = json.dumps([seq, at, kind, body, prev], separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def append(store: Store, kind: str, body: dict[str, Any]) -> str | None:
    """Add an entry inside the caller's open transaction; returns the new head (None while
    `deferred`: the entry is written when the batch ends)."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if store.audit_pending is not None:
        store.audit_pending.append((kind, text))
        return None
    return _write(store, [(kind, text)])


def _write(store: Store, pending: list[tuple[str, str]]) -> str:
    audit_log.lock_chain(store)  # one sequence: concurrent writers take turns
    last = audit_log.last_link(store)
    seq, prev = (last.seq + 1, last.mac) if last else (1, GENESIS)
    at = now_utc()
    written = []
    for kind, text in pending:
        mac = _mac(store.key, seq, at, kind, text, prev)
        written.append(AuditEntry(seq, at, kind, text, prev, mac))
        seq, prev = seq + 1, mac
    audit_log.append_all(store, written)
    return prev


@contextmanager
def deferred(store: Store) -> Iterator[None]:
    """Inside one transaction of many pieces (`sms.serving`'s batches): the entries they
    append are chained and written together at the end, in the order appended, under one
    turn of the chain's lock, so the lock is held only from there to the commit. The chain
    is the same as if each piece had appended its own (one entry per event, in order)."""
    store.audit_pending = pending = []
    try:
        yield
        if pending:
            _write(store, pending)
    finally:
        store.audit_pending = None


def entries(store: Store) -> Iterator[AuditEntry]:
    return audit_log.read(store)


def head(store: Store) -> str:
    return audit_log.head(store) or GENESIS


def verify(store: Store, expected_head: str | None = None) -> Verification:
    """Walk the chain from the start; the first broken link is named."""
    prev, count = GENESIS, 0
    for entry in entries(store):
        count += 1
        if entry.seq != count:
            return Verification(False, count, prev, f"entry {count}: sequence number {entry.seq} out of order or missing")
        if entry.prev != prev:
            return Verification(False, count, prev, f"entry {entry.seq}: not chained to the entry before it")
        if not hmac.compare_digest(entry.mac, _mac(store.key, entry.seq, entry.at, entry.kind, entry.body, entry.prev)):
            return Verification(False, count, prev, f"entry {entry.seq} ({entry.kind}): contents were changed")
        prev = entry.mac
    if expected_head is not None and expected_head != prev:
        # A head printed earlier still verifies when the chain has only grown past it.
        known = audit_log.seq_of(store, expected_head)
        if known is None:
            return Verification(False, count, prev,
                                f"no entry has the head {expected_head[:16]}…: entries were removed or changed")
        return Verification(True, count, prev, None, grown_since=count - known)
    return Verification(True, count, prev)

"""The audit table: entries appended, read back in order, and the chain's head (DESIGN §8).

The MACs and what makes a chain sound are `hybrid.audit`'s; this module only stores and
reads entries. `append` and `last_link` run inside the caller's transaction, after
`lock_chain`, so two writers never take the same sequence number.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hybrid.store.hub import Store


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: str
    kind: str
    body: str  # canonical JSON
    prev: str
    mac: str

    def as_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "kind": self.kind, "body": json.loads(self.body),
                "prev": self.prev, "mac": self.mac}


@dataclass(frozen=True)
class ChainLink:
    """The last entry's place in the chain: what the next entry follows."""

    seq: int
    mac: str


def lock_chain(store: Store) -> None:
    """Writers of the one sequence take turns until their transaction ends."""
    store.conn.lock("audit")


def last_link(store: Store) -> ChainLink | None:
    row = store.conn.execute("SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    return ChainLink(*row) if row else None


_INSERT = "INSERT INTO audit (seq, at, kind, body, prev, mac) VALUES (?, ?, ?, ?, ?, ?)"


def append_all(store: Store, entries: list[AuditEntry]) -> None:
    rows = [(e.seq, e.at, e.kind, e.body, e.prev, e.mac) for e in entries]
    if len(rows) == 1:
        store.conn.execute(_INSERT, rows[0])
    else:
        store.conn.executemany(_INSERT, rows)


def read(store: Store) -> Iterator[AuditEntry]:
    """Every entry, by sequence number."""
    for row in store.conn.execute("SELECT seq, at, kind, body, prev, mac FROM audit ORDER BY seq"):
        yield AuditEntry(*row)


def head(store: Store) -> str | None:
    """The last entry's MAC (None while the chain is empty)."""
    row = store.conn.execute("SELECT mac FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    return row[0] if row else None


def seq_of(store: Store, mac: str) -> int | None:
    """The sequence number of the entry whose MAC is `mac`."""
    row = store.conn.execute("SELECT seq FROM audit WHERE mac = ?", (mac,)).fetchone()
    return row[0] if row else None


def count(store: Store) -> int:
    return int(store.conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0])


def last_at(store: Store, kind: str) -> str | None:
    """When the latest entry of `kind` was written."""
    return store.conn.execute("SELECT MAX(at) FROM audit WHERE kind = ?", (kind,)).fetchone()[0]

"""The store: the process's memory (DESIGN §2), and the only room where SQL is written.

`hub` opens a store (engine, key, migrations) and holds the ballots and layouts;
`schema` is the DDL and its migrations; `engines` the SQLite and PostgreSQL connections.
One module per table family holds the rest, each function taking the open `Store` first
and returning typed rows (frozen dataclasses; named tuples where a merge reads millions):
`pages` (batches, inputs, pages), `records` (records, code claims, void codes),
`audit_log` (the chain's rows; `hybrid.audit` seals and verifies), `counts` (what status
and merge count), `purging`, `review` (items, decisions, reviewers), `messages` (SMS),
`calls` (voice), `limits` (wrong codes, alarms) and `gateway` (the SMS gateway's events
and outbox). Nothing outside this package writes SQL.
"""

from hybrid.store.engines import LockBusy, worth_retrying
from hybrid.store.hub import NETWORK_FILESYSTEMS, STORE_FILE, BallotRow, Store, filesystem_type, now_utc
from hybrid.store.schema import SCHEMA_VERSION

__all__ = [
    "NETWORK_FILESYSTEMS", "SCHEMA_VERSION", "STORE_FILE", "BallotRow", "Store",
    "filesystem_type", "now_utc", "worth_retrying", "LockBusy",
]

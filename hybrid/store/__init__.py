"""The store: the process's memory (DESIGN §2), and the only room where SQL is written.

`hub` opens a store (engine, key, migrations) and holds the ballots and layouts;
`schema` is the DDL and its migrations; `engines` the SQLite and PostgreSQL connections.
Everything else in hybrid asks the store through these modules' functions and methods.
"""

from hybrid.store.engines import worth_retrying
from hybrid.store.hub import NETWORK_FILESYSTEMS, STORE_FILE, BallotRow, Store, filesystem_type, now_utc
from hybrid.store.schema import SCHEMA_VERSION

__all__ = [
    "NETWORK_FILESYSTEMS", "SCHEMA_VERSION", "STORE_FILE", "BallotRow", "Store",
    "filesystem_type", "now_utc", "worth_retrying",
]

"""The store: the process's memory (DESIGN §2).

SQLite in WAL mode with a busy timeout, one schema version, forward migrations.
Ballot codes are stored only as keyed hashes. Write transactions are short: the
caller opens one per page, message or printed file, never per batch.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from hybrid.store.engines import Database, PostgresDatabase, SqliteDatabase
from hybrid.store.schema import MIGRATIONS, SCHEMA_VERSION
from hybrid.errors import StoreProblem
from hybrid.layout import Layout
from hybrid.states import BallotState
from hybrid.secret_key import fingerprint, keyed_hash, load_key

STORE_FILE = "hybrid.db"
NETWORK_FILESYSTEMS = {"nfs", "nfs4", "cifs", "smb", "smb3", "smbfs", "fuse.sshfs", "9p", "afs", "ceph", "glusterfs", "lustre"}

def now_utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def stamp(moment: datetime) -> str:
    """A time as the SMS, voice and gateway tables store it: UTC, microseconds, fixed width (sorts as text)."""
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def filesystem_type(path: Path) -> str | None:
    """The type of the filesystem holding `path`, from /proc/mounts (None where unknown)."""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return None
    target = str(path.resolve())
    best, best_type = "", None
    for line in mounts:
        parts = line.split()
        if len(parts) < 3:
            continue
        mount_point = parts[1].replace("\\040", " ")
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) >= len(best):
            best, best_type = mount_point, parts[2]
    return best_type


@dataclass(frozen=True)
class BallotRow:
    serial: int
    layout_hash: str
    run_id: int
    state: str
    void_reason: str | None
    replaced_by: int | None


class Store:
    """One open store for one process, holding its key."""

    def __init__(self, conn: Database, key: bytes, process_id: str, path: Path | str) -> None:
        self.conn = conn
        self.key = key
        self.process_id = process_id
        self.path = path  # the SQLite file, or the PostgreSQL URL without its password
        self.audit_pending: list | None = None  # audit entries held back by `audit.deferred`

    # -- opening -----------------------------------------------------------------
    @classmethod
    def open(cls, workspace: Path, process_id: str, *, create: bool = False) -> Store:
        """Open (or with `create`, make) the store of `workspace`, checking the key.

        HYBRID_DATABASE_URL=postgresql://… selects PostgreSQL instead of `workspace/hybrid.db`.
        """
        url = os.environ.get("HYBRID_DATABASE_URL")
        if url:
            db: Database = PostgresDatabase(url)
            where: Path | str = url.split("@")[-1]
            exists = db.execute("SELECT to_regclass('meta') IS NOT NULL").fetchone()[0]
        else:
            where = workspace / STORE_FILE
            exists = where.exists()
            fs_type = filesystem_type(workspace)
            if fs_type in NETWORK_FILESYSTEMS:
                raise StoreProblem(
                    f"{workspace} is on a network filesystem ({fs_type}); SQLite is not safe there. "
                    "Use PostgreSQL instead: set HYBRID_DATABASE_URL=postgresql://…"
                )
            if not exists and not create:
                raise StoreProblem(f"{where}: no store here; run `hybrid init` or `hybrid print` first")
            db = SqliteDatabase(where)
        if not exists and not create:
            db.close()
            raise StoreProblem(f"{where}: no hybrid store in this database; run `hybrid init` first")
        try:
            # A key is made only with a new store: an existing store needs its own key back.
            key = load_key(process_id, create=create and not exists)
            store = cls(db, key, process_id, where)
            store._migrate()
            store._check_identity()
        except BaseException:
            db.close()
            raise
        return store

    def close(self) -> None:
        self.conn.close()

    def _schema_version(self) -> int:
        self.conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = self.conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return row[0] or 0

    def _migrate(self) -> None:
        try:
            version = self._schema_version()
            if version > SCHEMA_VERSION:
                raise StoreProblem(
                    f"{self.path}: made by a newer hybrid (schema {version}, this one knows {SCHEMA_VERSION}); upgrade hybrid"
                )
            for target in range(version + 1, SCHEMA_VERSION + 1):
                with self.transaction():
                    self.conn.lock("migrate")
                    if self._schema_version() >= target:
                        continue  # another process migrated meanwhile
                    self.conn.executescript(MIGRATIONS[target])
                    self.conn.execute("INSERT INTO schema_version (version) VALUES (?)", (target,))
        except StoreProblem:
            raise
        except Exception as exc:  # sqlite3.DatabaseError, psycopg.Error
            raise StoreProblem(f"{self.path}: not a hybrid store or damaged ({exc})") from exc

    def _check_identity(self) -> None:
        meta = dict(self.conn.execute("SELECT name, value FROM meta").fetchall())
        fp = fingerprint(self.key)
        if not meta:
            with self.transaction():
                self.conn.executemany(
                    "INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                    [("process_id", self.process_id), ("key_fingerprint", fp), ("created_at", now_utc())],
                )
            meta = dict(self.conn.execute("SELECT name, value FROM meta").fetchall())
        if meta.get("process_id") != self.process_id:
            raise StoreProblem(
                f"{self.path} belongs to process {meta.get('process_id')!r}, not {self.process_id!r}"
            )
        if meta.get("key_fingerprint") != fp:
            raise StoreProblem(
                f"{self.path}: the key does not match this store (store key {meta.get('key_fingerprint')}, "
                f"given key {fp}); use the process's own key file or HYBRID_SECRET"
            )

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """One short write transaction; rolled back on any error. Nested (inside a batch): a
        savepoint, and audit entries held back since it began are dropped with it."""
        pending = self.audit_pending
        mark = len(pending) if pending is not None else 0
        try:
            with self.conn.transaction():
                yield self.conn
        except BaseException:
            if pending is not None:
                del pending[mark:]
            raise

    # -- hashes ------------------------------------------------------------------
    def code_hash(self, code: str) -> str:
        return keyed_hash(self.key, "code", code)

    def phone_hash(self, phone: str) -> str:
        return keyed_hash(self.key, "phone", phone)

    # -- layouts -----------------------------------------------------------------
    def save_layout(self, layout: Layout) -> None:
        self.conn.execute(
            "INSERT INTO layouts (layout_hash, layout_id, language, large_print, body, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (layout_hash) DO NOTHING",
            (layout.layout_hash, layout.layout_id, layout.language, int(layout.large_print), layout.to_json(), now_utc()),
        )

    def layouts(self) -> dict[str, Layout]:
        rows = self.conn.execute("SELECT layout_hash, body FROM layouts").fetchall()
        return {h: Layout.from_json(body) for h, body in rows}

    # -- ballots -----------------------------------------------------------------
    def next_serial(self) -> int:
        """The first serial no run has used yet (serials continue across runs)."""
        row = self.conn.execute(
            "SELECT MAX(m) FROM (SELECT MAX(serial) AS m FROM ballots UNION ALL SELECT MAX(last_serial) FROM print_runs) AS used"
        ).fetchone()
        return (row[0] or 0) + 1

    def code_hash_exists(self, code_hash: str) -> bool:
        return self.conn.execute("SELECT 1 FROM ballots WHERE code_hash = ?", (code_hash,)).fetchone() is not None

    def start_print_run(self, first_serial: int, last_serial: int, layout_hash: str, purpose: str) -> int:
        return self.conn.insert(
            "INSERT INTO print_runs (created_at, first_serial, last_serial, layout_hash, purpose) VALUES (?, ?, ?, ?, ?)",
            (now_utc(), first_serial, last_serial, layout_hash, purpose), returning="run_id",
        )

    def issue_ballots(self, run_id: int, layout_hash: str, ballots: list[tuple[int, str]]) -> list[int]:
        """Insert (serial, code_hash) pairs; returns the serials whose code was already taken."""
        taken: list[int] = []
        at = now_utc()
        for serial, code_hash in ballots:
            cur = self.conn.execute(
                "INSERT INTO ballots (serial, code_hash, layout_hash, run_id, created_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (code_hash) DO NOTHING",
                (serial, code_hash, layout_hash, run_id, at),
            )
            if cur.rowcount == 0:
                taken.append(serial)
        return taken

    def ballot(self, serial: int) -> BallotRow | None:
        row = self.conn.execute(
            "SELECT serial, layout_hash, run_id, state, void_reason, replaced_by FROM ballots WHERE serial = ?", (serial,)
        ).fetchone()
        return BallotRow(*row) if row else None

    def ballot_by_code_hash(self, code_hash: str) -> BallotRow | None:
        row = self.conn.execute(
            "SELECT serial, layout_hash, run_id, state, void_reason, replaced_by FROM ballots WHERE code_hash = ?",
            (code_hash,),
        ).fetchone()
        return BallotRow(*row) if row else None

    def void_ballot(self, serial: int, reason: str, replaced_by: int | None = None) -> None:
        self.conn.execute(
            "UPDATE ballots SET state = ?, void_reason = ?, replaced_by = ? WHERE serial = ?",
            (BallotState.VOID.value, reason, replaced_by, serial),
        )

    def ballot_counts(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT state, COUNT(*) FROM ballots GROUP BY state").fetchall())

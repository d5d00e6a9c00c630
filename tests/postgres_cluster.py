"""A throwaway PostgreSQL cluster for the tests: Debian's server binaries, a temporary
data folder, a Unix socket only (no TCP port), run as an unprivileged user."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path


class PostgresMissing(RuntimeError):
    pass


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise PostgresMissing("PostgreSQL server binaries not found: `make test` installs Debian's postgresql")
    return Path(found[-1]).parent


class Cluster:
    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="hybrid-pg-"))
        self.data = self.root / "data"
        self.socket = self.root
        self.user = "postgres" if os.geteuid() == 0 else None
        self.port = 54329
        self._databases = 0

    def _run(self, *args: str) -> None:
        command = [str(a) for a in args]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> Cluster:
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
            os.chmod(self.root, 0o700)
        self._run(self.bin / "initdb", "-D", self.data, "-A", "trust", "-U", "hybrid", "--no-sync", "-E", "UTF8")
        options = f"-k {self.socket} -p {self.port} -c listen_addresses='' -c fsync=off -c max_connections=200"
        self._run(self.bin / "pg_ctl", "-D", self.data, "-o", options, "-l", self.root / "log", "-w", "start")
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://hybrid@/{database}?host={self.socket}&port={self.port}"

    def new_database(self) -> str:
        """A fresh empty database; its URL."""
        import psycopg

        self._databases += 1
        name = f"t{os.getpid()}_{self._databases}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run(self.bin / "pg_ctl", "-D", self.data, "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

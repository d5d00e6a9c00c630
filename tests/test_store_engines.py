"""The store behaves the same on SQLite and on PostgreSQL (a real throwaway server)."""

from __future__ import annotations

import multiprocessing
import shutil
from pathlib import Path

import pytest

from forms.print_run import PrintRequest, run_print
from hybrid import audit
from hybrid.ballot_lifecycle import void_ballots
from hybrid.errors import StoreProblem
from hybrid.workspace import Workspace

EXAMPLES = Path(__file__).resolve().parent.parent / "hybrid" / "examples"


def make_workspace(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path / "ws")
    ws.root.mkdir()
    shutil.copy(EXAMPLES / "poll.yaml", ws.definition_path)
    return ws


def test_print_void_and_audit_on_both_engines(tmp_path, store_engine):
    ws = make_workspace(tmp_path)
    store = ws.open_store(create=True)
    first = run_print(store, ws.process, PrintRequest(count=3, lang="de"), ws.out_dir, workers=1)
    second = run_print(store, ws.process, PrintRequest(count=2, lang="en"), ws.out_dir, workers=1)
    assert [f.first_serial for f in first.files + second.files] == [1, 4]
    assert store.next_serial() == 6
    report = void_ballots(store, [2])
    assert report.voided == [2] and store.ballot(2).state == "void"
    assert store.ballot_counts() == {"issued": 4, "void": 1}
    verdict = audit.verify(store)
    assert verdict.ok and verdict.entries == 5  # two runs × (run + file) + one void
    store.close()
    reopened = ws.open_store()
    assert reopened.next_serial() == 6
    reopened.close()


def test_another_key_is_refused_on_both_engines(tmp_path, store_engine, monkeypatch):
    ws = make_workspace(tmp_path)
    ws.open_store(create=True).close()
    monkeypatch.setenv("HYBRID_SECRET", "11" * 32)
    with pytest.raises(StoreProblem, match="key does not match"):
        ws.open_store()


def _append_entries(url: str, workspace: str, key_hex: str, n: int) -> None:
    import os

    os.environ["HYBRID_DATABASE_URL"] = url
    os.environ["HYBRID_SECRET"] = key_hex
    ws = Workspace(Path(workspace))
    store = ws.open_store()
    for i in range(n):
        with store.transaction():
            audit.append(store, "test", {"i": i, "pid": os.getpid()})
    store.close()


def test_concurrent_writers_keep_one_audit_sequence_on_postgresql(tmp_path, postgres_cluster, monkeypatch):
    url = postgres_cluster.new_database()
    monkeypatch.setenv("HYBRID_DATABASE_URL", url)
    monkeypatch.setenv("HYBRID_SECRET", "22" * 32)
    ws = make_workspace(tmp_path)
    ws.open_store(create=True).close()
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_append_entries, args=(url, str(ws.root), "22" * 32, 40)) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
        assert w.exitcode == 0
    store = ws.open_store()
    verdict = audit.verify(store)
    assert verdict.ok and verdict.entries == 120

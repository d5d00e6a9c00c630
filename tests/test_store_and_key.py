"""The store and the key (DESIGN §2, §4): one SQLite file in WAL mode, codes only as keyed hashes."""

from __future__ import annotations

import os
import re
import sqlite3
import stat
from pathlib import Path

import pytest

import hybrid.store.hub
from hybrid.codes import format_code, new_code
from hybrid.errors import ExitCode, StoreProblem
from hybrid.layout import Layout, Page, Rect
from hybrid.secret_key import KEY_BYTES, fingerprint, key_path, keyed_hash, load_key
from hybrid.store import STORE_FILE, Store

PROCESS = "wue-bh-2027"
LAYOUT_HASH = "3f9a1c2e"
SECRET_A = "a1" * 32
SECRET_B = "b2" * 32


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "workspace"
    root.mkdir()
    return root


def layout(process: str = PROCESS, layout_hash: str = LAYOUT_HASH) -> Layout:
    page = Page(page=1, kind="front", fiducials=[Rect(x=10, y=10, w=8, h=8)], qr=Rect(x=160, y=22, w=26, h=26))
    return Layout(process=process, layout_hash=layout_hash, layout_id="BH27-DE-1", language="de",
                  large_print=False, duplex=False, page_size_mm=(210.0, 297.0), pages=[page])


def print_run(store: Store, count: int, *, reserve: int | None = None) -> tuple[list[int], list[str]]:
    """What `hybrid print` does per file: one transaction, a run of fresh serials, codes as hashes."""
    with store.transaction():
        store.save_layout(layout())
        first = store.next_serial()
        run_id = store.start_print_run(first, first + (reserve or count) - 1, LAYOUT_HASH, "test")
        serials = list(range(first, first + count))
        codes = [new_code() for _ in serials]
        taken = store.issue_ballots(run_id, LAYOUT_HASH, [(s, store.code_hash(c)) for s, c in zip(serials, codes)])
    assert taken == []
    return serials, codes


def refused(workspace: Path, process: str = PROCESS, **kwargs) -> StoreProblem:
    with pytest.raises(StoreProblem) as caught:
        Store.open(workspace, process, **kwargs).close()
    assert caught.value.exit_code == ExitCode.STORE_OR_KEY == 3
    return caught.value


# -- the SQLite file -------------------------------------------------------------------


def test_store_is_wal_with_a_long_busy_timeout(workspace: Path):
    store = Store.open(workspace, PROCESS, create=True)
    try:
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
        assert store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    finally:
        store.close()
    # WAL is a property of the file: a second reader (or another program) sees it too
    other = sqlite3.connect(workspace / STORE_FILE)
    try:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        other.close()
    store = Store.open(workspace, PROCESS)
    try:
        assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    finally:
        store.close()


def test_missing_store_is_refused_without_create(workspace: Path):
    problem = refused(workspace)
    assert "hybrid init" in problem.message
    assert not (workspace / STORE_FILE).exists()


def test_a_file_that_is_not_a_store_is_refused(workspace: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HYBRID_SECRET", SECRET_A)
    (workspace / STORE_FILE).write_bytes(b"this is not SQLite" * 100)
    problem = refused(workspace, create=True)
    assert str(workspace / STORE_FILE) in problem.message


# -- the key -----------------------------------------------------------------------------


def test_key_file_is_private_and_outside_the_workspace(workspace: Path, isolated_config: Path):
    Store.open(workspace, PROCESS, create=True).close()
    path = key_path(PROCESS)
    assert path == isolated_config / "hybrid" / f"{PROCESS}.key"
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0
    assert len(path.read_bytes()) == KEY_BYTES
    assert workspace.resolve() not in path.resolve().parents
    assert not any(p.suffix == ".key" for p in workspace.rglob("*"))


def test_key_is_created_once_and_then_reused(workspace: Path):
    first = load_key(PROCESS, create=True)
    assert load_key(PROCESS) == first
    assert load_key(PROCESS, create=True) == first
    assert load_key("another-process", create=True) != first


def test_reopening_with_create_keeps_the_store_and_its_key(workspace: Path):
    store = Store.open(workspace, PROCESS, create=True)
    print_run(store, 2)
    store.close()
    key = key_path(PROCESS).read_bytes()
    store = Store.open(workspace, PROCESS, create=True)
    try:
        assert key_path(PROCESS).read_bytes() == key == store.key
        assert store.next_serial() == 3
    finally:
        store.close()


def test_missing_key_is_refused_and_names_where_it_belongs(workspace: Path):
    Store.open(workspace, PROCESS, create=True).close()
    key_path(PROCESS).unlink()
    problem = refused(workspace)
    assert str(key_path(PROCESS)) in problem.message
    assert "HYBRID_SECRET" in problem.message


def test_missing_key_is_not_silently_recreated_for_an_existing_store(workspace: Path):
    """`create` may make a new store with a new key, never a new key for an old store."""
    Store.open(workspace, PROCESS, create=True).close()
    key_path(PROCESS).unlink()
    refused(workspace, create=True)
    assert not key_path(PROCESS).exists()


def test_damaged_key_file_is_refused(workspace: Path):
    Store.open(workspace, PROCESS, create=True).close()
    key_path(PROCESS).write_bytes(b"short")
    assert "damaged" in refused(workspace).message


def test_replaced_key_file_is_refused(workspace: Path):
    Store.open(workspace, PROCESS, create=True).close()
    key_path(PROCESS).write_bytes(os.urandom(KEY_BYTES))
    problem = refused(workspace)
    assert "key does not match" in problem.message


def test_hybrid_secret_overrides_the_key_file(workspace: Path, monkeypatch: pytest.MonkeyPatch):
    Store.open(workspace, PROCESS, create=True).close()
    key = key_path(PROCESS).read_bytes()
    monkeypatch.setenv("HYBRID_SECRET", SECRET_A)
    assert "key does not match" in refused(workspace).message
    monkeypatch.setenv("HYBRID_SECRET", key.hex())
    store = Store.open(workspace, PROCESS)
    assert store.key == key
    store.close()


def test_a_different_hybrid_secret_is_refused(workspace: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HYBRID_SECRET", SECRET_A)
    Store.open(workspace, PROCESS, create=True).close()
    assert not key_path(PROCESS).exists()  # the secret came from the environment
    monkeypatch.setenv("HYBRID_SECRET", SECRET_B)
    problem = refused(workspace)
    assert fingerprint(bytes.fromhex(SECRET_B)) in problem.message
    monkeypatch.setenv("HYBRID_SECRET", SECRET_A)
    Store.open(workspace, PROCESS).close()


def test_the_key_fingerprint_is_recorded_not_the_key(workspace: Path):
    store = Store.open(workspace, PROCESS, create=True)
    try:
        meta = dict(store.conn.execute("SELECT name, value FROM meta"))
        assert meta["process_id"] == PROCESS
        assert meta["key_fingerprint"] == fingerprint(store.key)
        assert store.key.hex() not in meta.values()
    finally:
        store.close()
    raw = (workspace / STORE_FILE).read_bytes()
    assert key_path(PROCESS).read_bytes() not in raw
    assert key_path(PROCESS).read_bytes().hex().encode() not in raw


def test_keyed_hashes_are_separated_by_purpose():
    key = bytes(range(32))
    assert keyed_hash(key, "code", "482177309510") != keyed_hash(key, "phone", "482177309510")
    assert keyed_hash(key, "code", "482177309510") != keyed_hash(bytes(32), "code", "482177309510")
    assert len(keyed_hash(key, "code", "482177309510")) == 64


def test_store_of_another_process_is_refused(workspace: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HYBRID_SECRET", SECRET_A)  # same key, so only the process id differs
    Store.open(workspace, PROCESS, create=True).close()
    problem = refused(workspace, "wue-other")
    assert PROCESS in problem.message and "wue-other" in problem.message
    refused(workspace, "wue-other", create=True)


def test_store_of_another_process_is_refused_with_key_files(workspace: Path):
    Store.open(workspace, PROCESS, create=True).close()
    load_key("wue-other", create=True)
    refused(workspace, "wue-other")


# -- where the store may live --------------------------------------------------------------


def test_network_filesystem_is_refused_in_favour_of_postgresql(workspace: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(hybrid.store.hub, "filesystem_type", lambda path: "nfs")
    problem = refused(workspace, create=True)
    assert "postgresql" in problem.message.lower()
    assert "HYBRID_DATABASE_URL" in problem.message
    assert "nfs" in problem.message
    # refused before anything was written
    assert not (workspace / STORE_FILE).exists()
    assert not key_path(PROCESS).exists()


@pytest.mark.parametrize("fs_type", ["cifs", "smb3", "fuse.sshfs", "nfs4"])
def test_other_network_filesystems_are_refused_for_existing_stores(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, fs_type: str
):
    Store.open(workspace, PROCESS, create=True).close()
    monkeypatch.setattr(hybrid.store.hub, "filesystem_type", lambda path: fs_type)
    refused(workspace)


@pytest.mark.parametrize("fs_type", [None, "ext4", "tmpfs", "btrfs", "overlay"])
def test_local_or_unknown_filesystems_are_accepted(workspace: Path, monkeypatch: pytest.MonkeyPatch, fs_type):
    monkeypatch.setattr(hybrid.store.hub, "filesystem_type", lambda path: fs_type)
    Store.open(workspace, PROCESS, create=True).close()


def test_filesystem_type_of_a_real_folder(workspace: Path):
    if not Path("/proc/mounts").exists():
        pytest.fail("no /proc/mounts here: hybrid runs on Linux (WSL on Windows)")
    assert isinstance(hybrid.store.filesystem_type(workspace), str)


# -- serials and ballots ----------------------------------------------------------------------


def test_serials_continue_across_print_runs_and_reopening(workspace: Path):
    store = Store.open(workspace, PROCESS, create=True)
    assert store.next_serial() == 1
    first, _ = print_run(store, 5)
    second, _ = print_run(store, 3)
    assert first == [1, 2, 3, 4, 5]
    assert second == [6, 7, 8]
    store.close()
    store = Store.open(workspace, PROCESS)
    try:
        third, _ = print_run(store, 2)
        assert third == [9, 10]
        runs = store.conn.execute("SELECT first_serial, last_serial FROM print_runs ORDER BY run_id").fetchall()
        assert runs == [(1, 5), (6, 8), (9, 10)]
        assert store.ballot_counts() == {"issued": 10}
    finally:
        store.close()


def test_serials_reserved_by_a_run_are_never_reused(workspace: Path):
    store = Store.open(workspace, PROCESS, create=True)
    try:
        print_run(store, 3, reserve=10)  # e.g. a run that failed half way
        assert store.next_serial() == 11
    finally:
        store.close()


def test_a_taken_code_is_reported_and_not_issued_twice(workspace: Path):
    store = Store.open(workspace, PROCESS, create=True)
    try:
        serials, codes = print_run(store, 3)
        with store.transaction():
            run_id = store.start_print_run(4, 5, LAYOUT_HASH, "test")
            taken = store.issue_ballots(
                run_id, LAYOUT_HASH, [(4, store.code_hash(codes[1])), (5, store.code_hash(new_code()))]
            )
        assert taken == [4]
        assert store.ballot(4) is None
        assert store.ballot(5) is not None
        assert store.ballot_by_code_hash(store.code_hash(codes[1])).serial == serials[1]
    finally:
        store.close()


def test_a_serial_clash_is_not_mistaken_for_a_taken_code(workspace: Path):
    """Only the code's UNIQUE constraint may report "taken"; a reused serial is a bug and must fail."""
    store = Store.open(workspace, PROCESS, create=True)
    try:
        print_run(store, 3)
        with pytest.raises(sqlite3.IntegrityError):
            with store.transaction():
                run_id = store.start_print_run(3, 3, LAYOUT_HASH, "test")
                store.issue_ballots(run_id, LAYOUT_HASH, [(3, store.code_hash(new_code()))])
        assert store.ballot_counts() == {"issued": 3}
    finally:
        store.close()


def test_a_failed_transaction_leaves_nothing_behind(workspace: Path):
    store = Store.open(workspace, PROCESS, create=True)
    try:
        with pytest.raises(RuntimeError):
            with store.transaction():
                store.save_layout(layout())
                run_id = store.start_print_run(1, 2, LAYOUT_HASH, "test")
                store.issue_ballots(run_id, LAYOUT_HASH, [(1, store.code_hash(new_code()))])
                raise RuntimeError("printer on fire")
        assert store.ballot_counts() == {}
        assert store.next_serial() == 1
        assert store.layouts() == {}
    finally:
        store.close()


def test_void_ballot_sets_its_state(workspace: Path):
    store = Store.open(workspace, PROCESS, create=True)
    try:
        serials, codes = print_run(store, 4)
        with store.transaction():
            store.void_ballot(2, "undeliverable")
            store.void_ballot(3, "replaced", replaced_by=5)
        assert store.ballot(1).state == "issued"
        two, three = store.ballot(2), store.ballot(3)
        assert (two.state, two.void_reason, two.replaced_by) == ("void", "undeliverable", None)
        assert (three.state, three.void_reason, three.replaced_by) == ("void", "replaced", 5)
        assert store.ballot_by_code_hash(store.code_hash(codes[1])).state == "void"
        assert store.ballot_counts() == {"issued": 2, "void": 2}
    finally:
        store.close()


def test_layout_is_stored_by_its_hash(workspace: Path):
    store = Store.open(workspace, PROCESS, create=True)
    try:
        with store.transaction():
            store.save_layout(layout())
            store.save_layout(layout())  # saving again is harmless
        assert store.layouts() == {LAYOUT_HASH: layout()}
    finally:
        store.close()


# -- secrecy: no code in plain anywhere on disk ------------------------------------------------


_DIGIT_RUN = re.compile(rb"(?=([0-9]{4}[ -]?[0-9]{4}[ -]?[0-9]{3}))")


def _digit_strings_in(raw: bytes) -> set[str]:
    """Every 11 digits in a row, plain or grouped like a printed code, also in UTF-16."""
    found = set()
    for text in (raw, raw.replace(b"\x00", b"")):
        for match in _DIGIT_RUN.finditer(text):
            found.add(re.sub(rb"[ -]", b"", match.group(1)).decode("ascii"))
    return found


def _files_under(*folders: Path) -> list[Path]:
    return [p for folder in folders for p in folder.rglob("*") if p.is_file()]


def _assert_no_code_in(files: list[Path], codes: list[str]) -> None:
    assert files
    # the first 11 digits are enough to rebuild a code, so look for those
    bodies = {code[:11]: code for code in codes} | {code[1:]: code for code in codes}
    for path in files:
        leaked = _digit_strings_in(path.read_bytes()) & bodies.keys()
        assert not leaked, f"codes found in plain in {path}: {sorted(format_code(bodies[b]) for b in leaked)}"


def test_the_leak_detector_finds_a_plain_code(tmp_path: Path):
    code = new_code()
    for form in (code, format_code(code), format_code(code).replace(" ", "-")):
        for encoding in ("ascii", "utf-16-le"):
            (tmp_path / "leak").write_bytes(b"\x01junk" + form.encode(encoding) + b"junk")
            with pytest.raises(AssertionError, match="in plain"):
                _assert_no_code_in([tmp_path / "leak"], [code])


def test_no_issued_code_is_stored_in_plain(workspace: Path):
    store = Store.open(workspace, PROCESS, create=True)
    serials, codes = print_run(store, 1500)
    more_serials, more_codes = print_run(store, 500)
    with store.transaction():
        store.void_ballot(more_serials[0], "lost")
    codes += more_codes
    # while the store is open: the database, its -wal and -shm
    names = {p.name for p in _files_under(workspace)}
    assert {STORE_FILE, STORE_FILE + "-wal", STORE_FILE + "-shm"} <= names
    _assert_no_code_in(_files_under(workspace, key_path(PROCESS).parent), codes)
    # the hashes are what is kept
    assert store.ballot_by_code_hash(store.code_hash(codes[0])).serial == serials[0]
    store.close()
    # after closing (checkpointed into the main file)
    _assert_no_code_in(_files_under(workspace, key_path(PROCESS).parent), codes)

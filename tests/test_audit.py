"""The audit chain (DESIGN §8): any edited, removed or reordered entry is found."""

from __future__ import annotations

import json
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid import audit
from hybrid.audit import GENESIS
from hybrid.store import Store

PROCESS = "wue-audit"


@contextmanager
def chain(length: int):
    """A fresh store holding `length` audit entries, each appended in its own transaction."""
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(Path(folder), PROCESS, create=True)
        try:
            for n in range(1, length + 1):
                with store.transaction():
                    audit.append(store, ["ingest", "decision", "review", "export"][n % 4],
                                 {"n": n, "source": f"scan:{n:064x}#p1", "text": "Würzburg"})
            yield store
        finally:
            store.close()


def names_entry(problem: str | None, seq: int) -> bool:
    return problem is not None and re.search(rf"\bentry {seq}\b", problem) is not None


def sql(store: Store, statement: str, *args) -> None:
    store.conn.execute(statement, args)


# -- an intact chain -------------------------------------------------------------------


def test_empty_chain_verifies():
    with chain(0) as store:
        result = audit.verify(store)
        assert (result.ok, result.entries, result.head, result.problem) == (True, 0, GENESIS, None)
        assert audit.verify(store, GENESIS).ok


def test_intact_chain_verifies_and_names_its_head():
    with chain(5) as store:
        result = audit.verify(store)
        assert result.ok and result.entries == 5 and result.problem is None
        assert result.head == audit.head(store)
        assert audit.verify(store, result.head).ok
        entries = list(audit.entries(store))
        assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
        assert entries[0].prev == GENESIS
        assert all(later.prev == earlier.mac for earlier, later in zip(entries, entries[1:]))
        assert entries[0].as_json()["body"]["text"] == "Würzburg"


def test_append_returns_the_new_head_and_rolls_back_with_its_transaction():
    with chain(2) as store:
        with store.transaction():
            new_head = audit.append(store, "export", {"files": ["votes.csv"]})
        assert new_head == audit.head(store)
        with pytest.raises(RuntimeError):
            with store.transaction():
                audit.append(store, "export", {"files": ["tally.csv"]})
                raise RuntimeError("disk full")
        assert audit.head(store) == new_head
        assert audit.verify(store, new_head).ok


def test_chain_needs_the_key():
    with chain(3) as store:
        store.key = bytes(32)  # as if someone rebuilt the MACs without the process key
        result = audit.verify(store)
        assert not result.ok and names_entry(result.problem, 1)


# -- tampering ----------------------------------------------------------------------------


def _edit_field(store: Store, seq: int, field: str) -> None:
    row = store.conn.execute(f"SELECT {field} FROM audit WHERE seq = ?", (seq,)).fetchone()
    value = row[0]
    if field == "body":
        body = json.loads(value)
        body["n"] = body["n"] + 1000
        changed = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    elif field == "at":
        changed = "1999-12-31T23:59:59+00:00"
    elif field in ("prev", "mac"):
        changed = ("f" if value[0] != "f" else "e") + value[1:]
    else:
        changed = value + "x"
    assert changed != value
    sql(store, f"UPDATE audit SET {field} = ? WHERE seq = ?", changed, seq)


@pytest.mark.parametrize("field", ["body", "kind", "at", "prev", "mac"])
def test_editing_any_field_of_any_entry_fails(field):
    for seq in range(1, 5):
        with chain(4) as store:
            _edit_field(store, seq, field)
            result = audit.verify(store)
            assert not result.ok, (field, seq)
            assert names_entry(result.problem, seq), result.problem


def test_a_reformatted_but_equal_body_still_fails():
    with chain(3) as store:
        body = store.conn.execute("SELECT body FROM audit WHERE seq = 2").fetchone()[0]
        sql(store, "UPDATE audit SET body = ? WHERE seq = 2", json.dumps(json.loads(body), indent=1))
        result = audit.verify(store)
        assert not result.ok and "changed" in result.problem


def test_deleting_a_middle_entry_fails():
    with chain(5) as store:
        sql(store, "DELETE FROM audit WHERE seq = 3")
        result = audit.verify(store)
        assert not result.ok and names_entry(result.problem, 3)


def test_deleting_and_renumbering_fails():
    with chain(5) as store:
        sql(store, "DELETE FROM audit WHERE seq = 3")
        sql(store, "UPDATE audit SET seq = seq - 1 WHERE seq > 3")
        result = audit.verify(store)
        assert not result.ok and names_entry(result.problem, 3)


def test_deleting_the_first_entry_fails():
    with chain(3) as store:
        sql(store, "DELETE FROM audit WHERE seq = 1")
        assert not audit.verify(store).ok


def _swap(store: Store, i: int, j: int) -> None:
    sql(store, "UPDATE audit SET seq = -1 WHERE seq = ?", i)
    sql(store, "UPDATE audit SET seq = ? WHERE seq = ?", i, j)
    sql(store, "UPDATE audit SET seq = ? WHERE seq = -1", j)


def test_swapping_two_entries_fails():
    with chain(5) as store:
        _swap(store, 2, 4)
        result = audit.verify(store)
        assert not result.ok and names_entry(result.problem, 2)


def test_truncated_tail_fails_when_the_head_is_given():
    with chain(6) as store:
        full_head = audit.head(store)
        sql(store, "DELETE FROM audit WHERE seq > 4")
        assert audit.verify(store).ok  # without a head, a shorter chain is still a chain
        result = audit.verify(store, full_head)
        assert not result.ok
        assert full_head[:16] in result.problem and "removed" in result.problem


def test_a_wrong_head_fails():
    with chain(3) as store:
        result = audit.verify(store, "0123" * 16)
        assert not result.ok and result.problem


# -- the same, anywhere in chains of any length ---------------------------------------------


@st.composite
def tamperings(draw):
    length = draw(st.integers(2, 9))
    kind = draw(st.sampled_from(["body", "kind", "at", "prev", "mac", "delete", "swap", "truncate"]))
    if kind == "delete":
        seq = draw(st.integers(1, length - 1))  # not the last: that is "truncate"
        return length, kind, (seq,)
    if kind == "swap":
        i, j = draw(st.lists(st.integers(1, length), min_size=2, max_size=2, unique=True))
        return length, kind, (i, j)
    if kind == "truncate":
        return length, kind, (draw(st.integers(1, length)),)  # how many entries are cut off
    return length, kind, (draw(st.integers(1, length)),)


@given(tamperings())
@settings(max_examples=60, deadline=None)
def test_any_tampering_anywhere_fails(tampering):
    length, kind, where = tampering
    with chain(length) as store:
        head = audit.head(store)
        if kind == "delete":
            sql(store, "DELETE FROM audit WHERE seq = ?", where[0])
            first_bad = where[0]
        elif kind == "swap":
            _swap(store, *where)
            first_bad = min(where)
        elif kind == "truncate":
            sql(store, "DELETE FROM audit WHERE seq > ?", length - where[0])
            first_bad = None
        else:
            _edit_field(store, where[0], kind)
            first_bad = where[0]
        result = audit.verify(store, head)
        assert not result.ok
        assert result.problem
        if first_bad is not None:
            assert names_entry(result.problem, first_bad), result.problem
            assert not audit.verify(store).ok  # found even without the head
        else:
            assert "removed" in result.problem

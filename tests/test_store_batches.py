"""The webhook's store work in batches (SQLite): what queues up while the store thread is
busy runs in one transaction, each piece in its own savepoint, and is answered only after
that commit. A piece that fails leaves nothing of itself behind and spoils no other: in
its own savepoint, or, when it is one transaction itself (`atomic`, as a message is), in
that transaction's."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import time

import pytest
from conftest import SMS_ACCOUNT

from doubles.twilio_double import new_message_sid
from hybrid import audit, rules
from hybrid.store.engines import SqliteDatabase
from sms.service import InboundSms
from sms.serving import StoreThreads


def test_a_nested_sqlite_transaction_is_a_savepoint_that_rolls_back_alone(tmp_path):
    db = SqliteDatabase(tmp_path / "nested.sqlite")
    db.execute("CREATE TABLE t (v TEXT)")
    with db.transaction():
        db.execute("INSERT INTO t VALUES ('outer')")
        with pytest.raises(ZeroDivisionError):
            with db.transaction():
                db.execute("INSERT INTO t VALUES ('inner, rolled back')")
                1 / 0
        with db.transaction():
            db.execute("INSERT INTO t VALUES ('inner, kept')")
    db.close()
    other = sqlite3.connect(tmp_path / "nested.sqlite")
    assert [v for (v,) in other.execute("SELECT v FROM t ORDER BY rowid")] == ["outer", "inner, kept"]


def _sms(code: str) -> InboundSms:
    return InboundSms(new_message_sid(), SMS_ACCOUNT, f"{code} 1", "+491701234567")


def _threads_for(ws, monkeypatch) -> StoreThreads:
    for name, value in ws.environment().items():
        monkeypatch.setenv(name, value)
    if not ws.database_url:
        monkeypatch.delenv("HYBRID_DATABASE_URL", raising=False)
    return StoreThreads(ws.root)


def _stored_elsewhere(ws, sid: str) -> int:
    """What another connection sees: only what is committed."""
    return ws.query("SELECT COUNT(*) FROM sms_messages WHERE message_sid = ?", (sid,))[0][0]


@pytest.mark.usefixtures("store_engine")
def test_work_queued_behind_a_busy_store_thread_runs_as_one_batch_and_is_answered_after_its_commit(
        sms_workspace, monkeypatch):
    ws = sms_workspace(codes={"de": 12})
    threads = _threads_for(ws, monkeypatch)
    release = threading.Event()
    in_batch: list[bool] = []
    messages = [_sms(code) for code in ws.codes["de"][:10]]
    failing, failing_inside = _sms(ws.codes["de"][10]), _sms(ws.codes["de"][11])

    def take(message: InboundSms):
        in_batch.append(threads.sms().store.audit_pending is not None)
        return threads.sms().receive(message, "webhook")

    def writes_then_fails():
        take(failing)
        raise RuntimeError("this piece fails after its message was written")

    def fails_inside_its_transaction():  # atomic: no savepoint of the batch's around it
        in_batch.append(threads.sms().store.audit_pending is not None)

        def also(handled):
            raise RuntimeError("this message fails inside its own transaction")

        return threads.sms().receive(failing_inside, "webhook", also=also)

    async def scenario():
        blockers = [asyncio.ensure_future(threads.run(release.wait)) for _ in threads._threads]
        await asyncio.sleep(0.1)  # every store thread now waits inside a blocker
        pieces = [asyncio.ensure_future(threads.run(take, m)) for m in messages[:5]]
        broken = asyncio.ensure_future(threads.run(writes_then_fails))
        broken_inside = asyncio.ensure_future(threads.run(fails_inside_its_transaction, atomic=True))
        pieces += [asyncio.ensure_future(threads.run(take, m, atomic=True)) for m in messages[5:]]
        await asyncio.sleep(0.05)
        release.set()
        await asyncio.gather(*blockers)
        seen = []
        for piece, message in zip(pieces, messages):
            handled = await piece
            seen.append((handled.message_sid, _stored_elsewhere(ws, message.message_sid)))
        with pytest.raises(RuntimeError, match="after its message was written"):
            await broken
        with pytest.raises(RuntimeError, match="inside its own transaction"):
            await broken_inside
        return seen

    try:
        seen = asyncio.run(scenario())
    finally:
        threads.close()
    assert seen == [(m.message_sid, 1) for m in messages]  # each answered only once committed
    assert in_batch == [True] * 12  # all twelve ran inside the one batch transaction
    assert _stored_elsewhere(ws, failing.message_sid) == 0  # the failing pieces left nothing behind
    assert _stored_elsewhere(ws, failing_inside.message_sid) == 0
    store = ws.open_store()
    try:
        verified = audit.verify(store)
        sms_entries = [e for e in audit.entries(store) if e.kind == "sms"]
    finally:
        store.close()
    assert verified.ok, verified.problem
    assert len(sms_entries) == 10  # one per stored message, none for the rolled-back piece


def test_in_a_batch_a_lock_held_elsewhere_is_not_waited_for_its_piece_runs_alone_after_the_commit(
        sms_workspace, monkeypatch, postgres_cluster):
    monkeypatch.setenv("HYBRID_DATABASE_URL", postgres_cluster.new_database())
    ws = sms_workspace(codes={"de": 4})
    threads = _threads_for(ws, monkeypatch)
    busy_code, *free_codes = ws.codes["de"]
    holder = ws.open_store()
    identity = rules.identity_key(ws.process, holder.code_hash(busy_code), None)
    release = threading.Event()
    answered: dict[str, float] = {}

    def hold_the_lock():
        with holder.transaction():
            holder.conn.lock(f"identity:{identity}")  # as a scan of that ballot would
            release.wait(10)

    async def scenario():
        holding = threading.Thread(target=hold_the_lock)
        holding.start()
        time.sleep(0.2)
        blockers = [asyncio.ensure_future(threads.run(time.sleep, 0.3)) for _ in threads._threads]
        await asyncio.sleep(0.1)

        async def send(code: str):
            handled = await threads.run(lambda: threads.sms().receive(_sms(code), "webhook"), atomic=True)
            answered[code] = time.monotonic()
            return handled

        pieces = [asyncio.ensure_future(send(code)) for code in [busy_code, *free_codes]]
        await asyncio.gather(*blockers)
        while len(answered) < len(free_codes):
            await asyncio.sleep(0.02)
        released_at = time.monotonic()
        release.set()
        results = await asyncio.gather(*pieces)
        holding.join()
        return results, released_at

    try:
        results, released_at = asyncio.run(scenario())
    finally:
        threads.close()
        holder.close()
    assert all(not handled.replay for handled in results)
    assert all(answered[code] < released_at for code in free_codes)  # not held up by the busy lock
    assert answered[busy_code] > released_at  # it waited, alone, for the lock's holder
    assert {_stored_elsewhere(ws, h.message_sid) for h in results} == {1}


@pytest.mark.usefixtures("store_engine")
def test_an_idle_store_thread_runs_each_piece_at_once_in_its_own_transaction(sms_workspace, monkeypatch):
    ws = sms_workspace(codes={"de": 2})
    threads = _threads_for(ws, monkeypatch)

    def take(message: InboundSms):
        outside = threads.sms().store.audit_pending is None
        return outside, threads.sms().receive(message, "webhook")

    async def one_after_the_other():
        return [await threads.run(take, _sms(code)) for code in ws.codes["de"]]

    try:
        results = asyncio.run(one_after_the_other())
    finally:
        threads.close()
    assert [outside for outside, _ in results] == [True, True]
    assert [handled.replay for _, handled in results] == [False, False]

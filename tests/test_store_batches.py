"""The webhook's store work in batches (SQLite): what queues up while the store thread is
busy runs in one transaction, each piece in its own savepoint, and is answered only after
that commit. A piece that fails leaves nothing of itself behind and spoils no other."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import pytest
from conftest import SMS_ACCOUNT

from doubles.twilio_double import new_message_sid
from hybrid.store.engines import SqliteDatabase
from hybrid.store.hub import STORE_FILE
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


def test_work_queued_behind_a_busy_store_thread_runs_as_one_batch_and_is_answered_after_its_commit(
        sms_workspace, monkeypatch):
    ws = sms_workspace(codes={"de": 12})
    for name, value in ws.environment().items():
        monkeypatch.setenv(name, value)
    threads = StoreThreads(ws.root)
    release = threading.Event()
    in_batch: list[bool] = []
    database = ws.root / STORE_FILE

    def stored_elsewhere(sid: str) -> int:
        with sqlite3.connect(database) as other:  # another connection sees only what is committed
            return other.execute("SELECT COUNT(*) FROM sms_messages WHERE message_sid = ?", (sid,)).fetchone()[0]

    def take(message: InboundSms):
        in_batch.append(threads.sms().store.conn.conn.in_transaction)
        return threads.sms().receive(message, "webhook")

    def writes_then_fails():
        take(failing)
        raise RuntimeError("this piece fails after its message was written")

    messages = [_sms(code) for code in ws.codes["de"][:10]]
    failing = _sms(ws.codes["de"][10])

    async def scenario():
        blocker = asyncio.ensure_future(threads.run(release.wait))
        await asyncio.sleep(0.05)  # the store thread now waits inside the blocker
        pieces = [asyncio.ensure_future(threads.run(take, m)) for m in messages[:5]]
        broken = asyncio.ensure_future(threads.run(writes_then_fails))
        pieces += [asyncio.ensure_future(threads.run(take, m)) for m in messages[5:]]
        await asyncio.sleep(0.05)
        release.set()
        await blocker
        seen = []
        for piece, message in zip(pieces, messages):
            handled = await piece
            seen.append((handled.message_sid, stored_elsewhere(message.message_sid)))
        with pytest.raises(RuntimeError, match="after its message was written"):
            await broken
        return seen

    try:
        seen = asyncio.run(scenario())
    finally:
        threads.close()
    assert seen == [(m.message_sid, 1) for m in messages]  # each answered only once committed
    assert in_batch == [True] * 11  # all eleven ran inside the one batch transaction
    assert stored_elsewhere(failing.message_sid) == 0  # the failing piece left nothing behind


def test_an_idle_store_thread_runs_each_piece_at_once_in_its_own_transaction(sms_workspace, monkeypatch):
    ws = sms_workspace(codes={"de": 2})
    for name, value in ws.environment().items():
        monkeypatch.setenv(name, value)
    threads = StoreThreads(ws.root)

    def take(message: InboundSms):
        outside = not threads.sms().store.conn.conn.in_transaction
        return outside, threads.sms().receive(message, "webhook")

    async def one_after_the_other():
        return [await threads.run(take, _sms(code)) for code in ws.codes["de"]]

    try:
        results = asyncio.run(one_after_the_other())
    finally:
        threads.close()
    assert [outside for outside, _ in results] == [True, True]
    assert [handled.replay for _, handled in results] == [False, False]

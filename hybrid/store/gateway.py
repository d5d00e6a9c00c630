"""The self-hosted SMS gateway's rows in the store (issue 15): webhook events and the outbox.

A caller may rely on:
- `record_event` inside the message's transaction: an event id is stored once
  (`gateway_events`, PRIMARY KEY); it returns False when the id was already there.
- `queue_reply` inside the same transaction: one outbox row per message (`sms_outbox`,
  PRIMARY KEY message_sid), state `queued`, leased to the caller for `lease` seconds
  (the process that holds the sender's number in memory sends it).
- `take_over` (a retried event of a message whose reply is still queued and whose lease
  ran out: the process that queued it died) leases the row to the caller; True when it did.
- `mark_results` writes what sending did, many rows in one short transaction.
- No phone number is stored here: a reply whose process died before it was sent stays
  `queued` until the phone retries the event (then `take_over`), and `outbox_counts` shows it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from hybrid.store import Store, now_utc
from hybrid.store.hub import stamp


@dataclass(frozen=True)
class SendResult:
    """What one attempt to send a reply did."""

    message_sid: str
    state: str  # queued (will be tried again) | sent | failed (given up)
    attempts: int
    error: str | None = None
    gateway_state: str | None = None  # the gateway's own state, e.g. Pending
    lease_seconds: float = 0.0  # queued: how long this process still holds it


def record_event(store: Store, event_id: str, message_sid: str, event: str, device_id: str, webhook_id: str | None,
                 received_at: datetime) -> bool:
    cur = store.conn.execute(
        "INSERT INTO gateway_events (event_id, message_sid, event, device_id, webhook_id, received_at, first_seen) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING",
        (event_id, message_sid, event, device_id, webhook_id, stamp(received_at), now_utc()))
    return cur.rowcount == 1


def queue_reply(store: Store, message_sid: str, outbox_id: str, text: str, lease: float) -> None:
    now = datetime.now(timezone.utc)
    store.conn.execute(
        "INSERT INTO sms_outbox (message_sid, outbox_id, text, state, created_at, lease_until) "
        "VALUES (?, ?, ?, 'queued', ?, ?)",
        (message_sid, outbox_id, text, stamp(now), stamp(now + timedelta(seconds=lease))))


@dataclass(frozen=True)
class QueuedReply:
    outbox_id: str
    text: str
    attempts: int


def take_over(store: Store, message_sid: str, lease: float) -> QueuedReply | None:
    """The queued reply of `message_sid`, now leased to the caller; None when it is sent,
    failed, or still leased to a living process."""
    now = datetime.now(timezone.utc)
    row = store.conn.execute(
        "SELECT outbox_id, text, attempts FROM sms_outbox WHERE message_sid = ? AND state = 'queued' "
        "AND lease_until < ?", (message_sid, stamp(now))).fetchone()
    if row is None:
        return None
    cur = store.conn.execute(
        "UPDATE sms_outbox SET lease_until = ? WHERE message_sid = ? AND state = 'queued' AND lease_until < ?",
        (stamp(now + timedelta(seconds=lease)), message_sid, stamp(now)))
    return QueuedReply(row[0], row[1], int(row[2])) if cur.rowcount == 1 else None


def mark_results(store: Store, results: Iterable[SendResult]) -> None:
    now = datetime.now(timezone.utc)
    results = list(results)
    if not results:
        return
    with store.transaction():
        store.conn.executemany(
            "UPDATE sms_outbox SET state = ?, attempts = ?, last_error = ?, gateway_state = COALESCE(?, gateway_state), "
            "lease_until = ?, sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END WHERE message_sid = ?",
            [(r.state, r.attempts, r.error, r.gateway_state, stamp(now + timedelta(seconds=r.lease_seconds)),
              r.state, stamp(now), r.message_sid) for r in results])
        sent = [(r.message_sid,) for r in results if r.state == "sent"]
        if sent:
            store.conn.executemany("UPDATE sms_messages SET replied = 1 WHERE message_sid = ?", sent)


def gateway_messages(store: Store) -> int:
    """Messages that came through the gateway (never at Twilio)."""
    return int(store.conn.execute("SELECT COUNT(DISTINCT message_sid) FROM gateway_events").fetchone()[0])


@dataclass(frozen=True)
class OutboxCounts:
    queued: int
    sent: int
    failed: int
    stale: int  # queued, but no living process holds it (the phone's retry will take it over)
    events: int  # webhook events taken (retries counted once)


def outbox_counts(store: Store) -> OutboxCounts:
    now = stamp(datetime.now(timezone.utc))
    by_state = dict(store.conn.execute("SELECT state, COUNT(*) FROM sms_outbox GROUP BY state").fetchall())
    stale = store.conn.execute("SELECT COUNT(*) FROM sms_outbox WHERE state = 'queued' AND lease_until < ?",
                               (now,)).fetchone()[0]
    events = store.conn.execute("SELECT COUNT(*) FROM gateway_events").fetchone()[0]
    return OutboxCounts(int(by_state.get("queued", 0)), int(by_state.get("sent", 0)), int(by_state.get("failed", 0)),
                        int(stale), int(events))

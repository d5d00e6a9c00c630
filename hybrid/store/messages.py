"""What the SMS path reads and writes: `sms_messages` (its record: `records.add_phone_record`).

`sms.service` calls these inside its one transaction per message. A caller may rely on:
- `insert_message` stores a MessageSid once (ON CONFLICT DO NOTHING); False when another
  transaction stored it first.
- Rows come back as stored: states, reasons (JSON) and outcomes as their text values.
"""

from __future__ import annotations

from dataclasses import dataclass

from hybrid.store.hub import Store, now_utc


@dataclass(frozen=True)
class StoredMessage:
    """A message seen before, with its record's current decision."""

    record_id: int
    status: str
    reasons: str  # JSON list, as stored
    outcome: str
    reply: str | None
    intent: str


@dataclass(frozen=True)
class MessageTiming:
    """When a stored message counts from, and whose vote it is (for Twilio's time, later)."""

    sent_at: str
    twilio_time: bool
    record_id: int
    code_hash: str | None
    phone_hash: str | None
    own_status: str | None  # None: the message is not a vote


@dataclass(frozen=True)
class NewMessage:
    """The `sms_messages` row of one message; the sender only as its keyed hash."""

    message_sid: str
    account_sid: str
    phone_hash: str | None
    hidden_caller: bool
    body: str
    num_segments: int | None
    num_media: int
    via: str
    sent_at: str
    twilio_time: bool
    intent: str
    detail: str  # JSON
    wrong_code: bool
    code_hash: str | None
    language: str | None
    record_id: int
    outcome: str
    reply: str | None
    replied: bool
    at_twilio: bool = True  # False: it never was (the self-hosted gateway): purge has nothing to delete there


def stored_message(store: Store, message_sid: str) -> StoredMessage | None:
    row = store.conn.execute(
        "SELECT m.record_id, r.status, r.reasons, m.outcome, m.reply, m.intent FROM sms_messages m "
        "JOIN records r ON r.record_id = m.record_id WHERE m.message_sid = ?",
        (message_sid,),
    ).fetchone()
    return StoredMessage(*row) if row else None


def message_timing(store: Store, message_sid: str) -> MessageTiming | None:
    row = store.conn.execute(
        "SELECT m.sent_at, m.twilio_time, m.record_id, r.code_hash, r.phone_hash, r.own_status "
        "FROM sms_messages m JOIN records r ON r.record_id = m.record_id WHERE m.message_sid = ?",
        (message_sid,),
    ).fetchone()
    if row is None:
        return None
    return MessageTiming(row[0], bool(row[1]), row[2], row[3], row[4], row[5])


def insert_message(store: Store, message: NewMessage) -> bool:
    """False when the MessageSid was stored meanwhile (nothing written)."""
    cur = store.conn.execute(
        "INSERT INTO sms_messages (message_sid, account_sid, phone_hash, hidden_caller, body, num_segments, "
        "num_media, via, sent_at, twilio_time, stored_at, intent, detail, wrong_code, code_hash, language, "
        "record_id, outcome, reply, replied, twilio_deleted) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (message_sid) DO NOTHING",
        (message.message_sid, message.account_sid, message.phone_hash, int(message.hidden_caller), message.body,
         message.num_segments, message.num_media, message.via, message.sent_at, int(message.twilio_time), now_utc(),
         message.intent, message.detail, int(message.wrong_code), message.code_hash, message.language,
         message.record_id, message.outcome, message.reply, int(message.replied), int(not message.at_twilio)),
    )
    return cur.rowcount != 0


def retime(store: Store, message_sid: str, record_id: int, sent_at: str) -> None:
    """Twilio's time on a stored message and on its record."""
    store.conn.execute("UPDATE sms_messages SET sent_at = ?, twilio_time = 1 WHERE message_sid = ?",
                       (sent_at, message_sid))
    store.conn.execute("UPDATE records SET received_at = ?, updated_at = ? WHERE record_id = ?",
                       (sent_at, now_utc(), record_id))


def code_has_standing_vote(store: Store, code_hash: str | None) -> bool:
    """A vote of this code is counted or waits for review (the answer to STATUS)."""
    return store.conn.execute(
        "SELECT 1 FROM records WHERE code_hash = ? AND status IN ('counted', 'review') LIMIT 1", (code_hash,)
    ).fetchone() is not None


def layout_languages(store: Store) -> dict[str, str]:
    """layout_hash → language, for replies (and spoken menus) in the ballot's language."""
    return dict(store.conn.execute("SELECT layout_hash, language FROM layouts").fetchall())


def ping(store: Store) -> None:
    """Raises when the store cannot answer (the webhook's health check)."""
    store.conn.execute("SELECT 1").fetchone()

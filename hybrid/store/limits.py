"""Wrong codes in the store, from both phone channels, and the alarms raised on them.

`sms.limits` decides the lock-out and the alarm from these counts. Times are the stored
text (ISO 8601 UTC with microseconds), compared as text: `since` exclusive, `until`
inclusive. A caller may rely on `raise_alarm` writing an hour once (ON CONFLICT DO
NOTHING), so two processes never both raise it.
"""

from __future__ import annotations

from dataclasses import dataclass

from hybrid.store.hub import Store


@dataclass(frozen=True)
class Alarm:
    hour: str
    wrong_codes: int
    raised_at: str


def phone_wrong_codes(store: Store, phone_hash: str, since: str, until: str, sms_cap: int) -> int:
    """Wrong codes of one phone: its SMS (at most `sms_cap` counted) and its calls."""
    row = store.conn.execute(
        "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM sms_messages WHERE phone_hash = ? AND wrong_code = 1 "
        "AND sent_at > ? AND sent_at <= ? LIMIT ?) AS recent), "
        "(SELECT COALESCE(SUM(wrong_codes), 0) FROM voice_calls WHERE phone_hash = ? AND wrong_codes > 0 "
        "AND started_at > ? AND started_at <= ?)",
        (phone_hash, since, until, sms_cap, phone_hash, since, until),
    ).fetchone()
    return int(row[0]) + int(row[1])


def wrong_codes_between(store: Store, since: str, until: str) -> int:
    """Wrong codes of every phone, hidden callers included."""
    row = store.conn.execute(
        "SELECT (SELECT COUNT(*) FROM sms_messages WHERE wrong_code = 1 AND sent_at > ? AND sent_at <= ?), "
        "(SELECT COALESCE(SUM(wrong_codes), 0) FROM voice_calls WHERE wrong_codes > 0 "
        "AND started_at > ? AND started_at <= ?)",
        (since, until, since, until),
    ).fetchone()
    return int(row[0]) + int(row[1])


def alarm_raised(store: Store, hour: str) -> bool:
    return store.conn.execute("SELECT 1 FROM sms_alarms WHERE hour = ?", (hour,)).fetchone() is not None


def raise_alarm(store: Store, alarm: Alarm) -> bool:
    """False when another process raised this hour's alarm first (nothing written)."""
    cur = store.conn.execute(
        "INSERT INTO sms_alarms (hour, wrong_codes, raised_at) VALUES (?, ?, ?) ON CONFLICT (hour) DO NOTHING",
        (alarm.hour, alarm.wrong_codes, alarm.raised_at),
    )
    return cur.rowcount != 0


def latest_alarm(store: Store) -> Alarm | None:
    row = store.conn.execute("SELECT hour, wrong_codes, raised_at FROM sms_alarms ORDER BY hour DESC LIMIT 1").fetchone()
    return Alarm(*row) if row else None

"""Limits on guessing codes: per phone, and an alarm for the whole process (DESIGN §4).

Wrong codes are counted from both phone channels: SMS (`sms_messages.wrong_code`, timed
by the message) and calls (`voice_calls.wrong_codes`, each call's count timed by its
start). A caller may rely on:
- `locked_out(store, phone_hash, at)`: the phone sent `WRONG_CODES_PER_PHONE` (5) or
  more wrong codes, by SMS and phone calls together, in the hour up to `at`; while that
  lasts, its messages get a polite lock-out reply and are not taken, and its calls are
  told so and hung up. Wrong codes sent meanwhile still count, so a phone that keeps
  guessing stays locked. Hidden callers have no phone hash and are exempt (they count
  towards the alarm only).
- `check_alarm(store, at)`: when more than `ALARM_WRONG_CODES` (50) wrong codes arrived
  in the hour up to `at`, the first call in that clock hour records an `sms_alarm`
  audit entry and a row in `sms_alarms`, logs a warning and returns the alarm; None
  otherwise. Call it inside the message's transaction, after storing a wrong code.
- `alarm_state(store, now)`: wrong codes in the last hour and the latest alarm, for
  `hybrid sms` and /healthz.
Times are compared as stored: ISO 8601 UTC with microseconds (`stamp`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from hybrid import audit
from hybrid.store import Store, now_utc
from hybrid.store.hub import stamp
from hybrid.store import limits as store_limits
from hybrid.store.limits import Alarm

WRONG_CODES_PER_PHONE = 5
LOCKOUT = timedelta(hours=1)
ALARM_WRONG_CODES = 50
ALARM_WINDOW = timedelta(hours=1)

log = logging.getLogger("hybrid.sms")


@dataclass(frozen=True)
class AlarmState:
    wrong_codes_last_hour: int
    latest_alarm: Alarm | None

    @property
    def active(self) -> bool:
        return self.wrong_codes_last_hour > ALARM_WRONG_CODES


def locked_out(store: Store, phone_hash: str, at: datetime) -> bool:
    count = store_limits.phone_wrong_codes(store, phone_hash, stamp(at - LOCKOUT), stamp(at), WRONG_CODES_PER_PHONE)
    return count >= WRONG_CODES_PER_PHONE


def wrong_codes_between(store: Store, start: datetime, end: datetime) -> int:
    return store_limits.wrong_codes_between(store, stamp(start), stamp(end))


def check_alarm(store: Store, at: datetime) -> Alarm | None:
    hour = at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H")
    if store_limits.alarm_raised(store, hour):
        return None
    count = wrong_codes_between(store, at - ALARM_WINDOW, at)
    if count <= ALARM_WRONG_CODES:
        return None
    alarm = Alarm(hour, count, now_utc())
    if not store_limits.raise_alarm(store, alarm):
        return None  # another process raised it first
    audit.append(store, "sms_alarm", {"hour": hour, "wrong_codes": count, "threshold": ALARM_WRONG_CODES})
    log.warning("ALARM: %d wrong codes in the last hour (more than %d): someone may be guessing codes",
                count, ALARM_WRONG_CODES)
    return alarm


def alarm_state(store: Store, now: datetime | None = None) -> AlarmState:
    now = now or datetime.now(timezone.utc)
    count = wrong_codes_between(store, now - ALARM_WINDOW, now)
    return AlarmState(count, store_limits.latest_alarm(store))

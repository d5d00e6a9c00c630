"""What the voice path reads and writes: `voice_calls` (a vote's record: `records.add_phone_record`).

`sms.voice_service` calls these inside its one transaction per step, after `lock_call`.
A caller may rely on:
- `start_call` stores a CallSid once (ON CONFLICT DO NOTHING); False when another
  transaction stored it first.
- The menu's state is stored as the JSON the menu gives (`state`); the caller only as
  its keyed hash.
"""

from __future__ import annotations

from dataclasses import dataclass

from hybrid.store.hub import Store


@dataclass(frozen=True)
class CallRow:
    call_sid: str
    phone_hash: str | None
    hidden_caller: bool
    started_at: str
    state: str  # the menu's state, JSON
    code_hash: str | None
    wrong_codes: int
    record_id: int | None
    outcome: str | None


@dataclass(frozen=True)
class NewCall:
    call_sid: str
    account_sid: str
    phone_hash: str | None
    hidden_caller: bool
    started_at: str
    language: str | None
    state: str
    outcome: str | None


@dataclass(frozen=True)
class CallStep:
    """What one step leaves in the call's row."""

    state: str
    updated_at: str
    language: str | None
    code_hash: str | None
    wrong_codes: int
    record_id: int | None  # None: keep the stored one
    outcome: str | None


def lock_call(store: Store, call_sid: str) -> None:
    """Serialise the steps of one call until the transaction ends."""
    store.conn.lock(f"call:{call_sid}")


def call_row(store: Store, call_sid: str) -> CallRow | None:
    row = store.conn.execute(
        "SELECT call_sid, phone_hash, hidden_caller, started_at, state, code_hash, wrong_codes, record_id, outcome "
        "FROM voice_calls WHERE call_sid = ?", (call_sid,)).fetchone()
    if row is None:
        return None
    return CallRow(row[0], row[1], bool(row[2]), row[3], row[4], row[5], int(row[6]), row[7], row[8])


def start_call(store: Store, call: NewCall) -> bool:
    """False when the CallSid was stored meanwhile (nothing written)."""
    cur = store.conn.execute(
        "INSERT INTO voice_calls (call_sid, account_sid, phone_hash, hidden_caller, started_at, updated_at, "
        "language, state, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (call_sid) DO NOTHING",
        (call.call_sid, call.account_sid, call.phone_hash, int(call.hidden_caller), call.started_at, call.started_at,
         call.language, call.state, call.outcome))
    return cur.rowcount != 0


def count_wrong_codes(store: Store, call_sid: str, wrong_codes: int) -> None:
    store.conn.execute("UPDATE voice_calls SET wrong_codes = ? WHERE call_sid = ?", (wrong_codes, call_sid))


def end_call(store: Store, call_sid: str, state: str, outcome: str, updated_at: str) -> None:
    store.conn.execute(
        "UPDATE voice_calls SET state = ?, outcome = ?, updated_at = ? WHERE call_sid = ?",
        (state, outcome, updated_at, call_sid))


def save_step(store: Store, call_sid: str, step: CallStep) -> None:
    store.conn.execute(
        "UPDATE voice_calls SET state = ?, updated_at = ?, language = ?, code_hash = ?, wrong_codes = ?, "
        "record_id = COALESCE(?, record_id), outcome = ? WHERE call_sid = ?",
        (step.state, step.updated_at, step.language, step.code_hash, step.wrong_codes, step.record_id, step.outcome,
         call_sid))

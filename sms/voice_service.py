"""One phone call, step by step, against the store (DESIGN §7).

`VoiceService` is what the voice webhook calls for each of Twilio's callbacks; the menu
itself is `sms.voice_menu` (pure). A caller may rely on:
- The call's state lives in `voice_calls` (key CallSid), so any server process can take
  any step. Each step is ONE write transaction under a per-call lock; a callback that
  names an older step (`seq`) is answered with the current step and changes nothing,
  and a step that is retried after a conflict is decided again from the stored state.
- The caller exists only as the HMAC of its E.164 number (`phone_hash`), or as hidden;
  the code only as its HMAC (`code_hash`), stored when the menu accepts it.
- A vote exists only once the caller presses 1: then, in that same transaction, the
  identity (code, or phone under `identity: phone`) is locked, its votes read, the new
  `CastVote` (channel "voice", timed at the confirmation, never before a phone vote of
  the identity already stored) decided with all of them by `rules.decide_votes`, the
  record inserted (channel `voice`, source `voice:<CallSid>`, own_status counted), the
  changed decisions written back, and an audit entry `voice` added. A call that ends
  before (hang-up, silence, wrong codes) leaves no record and counts nothing.
- Wrong codes are counted in `voice_calls.wrong_codes` (timed by the call's start) and
  feed `sms.limits`: the per-phone lock-out (checked at the start and after each wrong
  code) and the process-wide alarm. Hidden callers are exempt from the lock-out.
- Calls outside [opens, closes), locked-out phones and hidden callers under `identity: phone`
  are told so and hung up at once (`rules.phone_refusal` says which, in that order).
- Twilio's status callback (`ended`) marks a call that ended without an outcome as
  `hung_up`; a confirmed vote keeps its outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from hybrid import audit, identity_votes, rules
from hybrid.store import worth_retrying
from hybrid.definition import Process
from hybrid.errors import StoreProblem
from hybrid.identity_votes import ClaimLost, choices_json, reasons_json
from hybrid.states import BallotState, Channel, RecordState
from hybrid.store import Store, calls, messages, records
from sms import limits, voice_menu
from sms.caller import caller_of
from hybrid.store.hub import stamp
from sms.replies import Outcome, outcome_for
from sms.voice_menu import CallOutcome, CallState, CodeCheck, CodeStatus, Entry, Step, Turn

log = logging.getLogger("hybrid.voice")

MAX_ATTEMPTS = 8
ENDED_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
_STANDING = (RecordState.COUNTED, RecordState.REVIEW)
_REFUSED = {rules.Refusal.LATE: CallOutcome.CLOSED, rules.Refusal.EARLY: CallOutcome.NOT_OPEN,
            rules.Refusal.LOCKED_OUT: CallOutcome.LOCKED_OUT, rules.Refusal.HIDDEN_CALLER: CallOutcome.HIDDEN_CALLER}


@dataclass(frozen=True)
class InboundCall:
    """A call as Twilio's callback names it; `caller` (From) lives in memory only."""

    call_sid: str
    account_sid: str
    caller: str | None


@dataclass(frozen=True)
class _Call:
    call_sid: str
    phone_hash: str | None
    hidden_caller: bool
    started_at: str
    state: CallState
    code_hash: str | None
    wrong_codes: int
    record_id: int | None
    outcome: str | None


class _TryAgain(Exception):
    """Another transaction got there first (the same call or record): decide again."""


class VoiceService:
    """Takes the steps of calls for one process and one open store (one thread at a time)."""

    def __init__(self, store: Store, process: Process, clock: Callable[[], datetime] | None = None) -> None:
        self.store = store
        self.process = process
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self._languages: dict[str, str] = {}

    # -- entry points ----------------------------------------------------------------------

    def incoming(self, call: InboundCall) -> Turn:
        """A new call (Twilio's first request): greet it, or refuse it. The same CallSid
        again (a retry) hears its current step."""
        return self._retrying(call.call_sid, lambda: self._incoming(call))

    def gather(self, call: InboundCall, seq: int | None, entry: Entry) -> Turn:
        """The keys of one Gather of the call's step `seq`."""
        return self._retrying(call.call_sid, lambda: self._gather(call, seq, entry))

    def ended(self, call_sid: str, call_status: str) -> bool:
        """Twilio's status callback; True when it ended a call that had no outcome yet."""
        if call_status not in ENDED_STATUSES:
            return False
        return self._retrying(call_sid, lambda: self._ended(call_sid))

    def call(self, call_sid: str) -> _Call | None:
        row = calls.call_row(self.store, call_sid)
        if row is None:
            return None
        return _Call(row.call_sid, row.phone_hash, row.hidden_caller, row.started_at, CallState.from_json(row.state),
                     row.code_hash, row.wrong_codes, row.record_id, row.outcome)

    # -- one transaction each --------------------------------------------------------------

    def _retrying(self, call_sid: str, step):
        for _ in range(MAX_ATTEMPTS):
            try:
                with self.store.transaction():
                    calls.lock_call(self.store, call_sid)
                    return step()
            except (_TryAgain, ClaimLost):
                continue  # rolled back; the next attempt sees what the other transaction committed
            except Exception as exc:
                if worth_retrying(exc):
                    log.info("call %s: %s; trying again", call_sid, type(exc).__name__)
                    continue
                raise
        raise StoreProblem(f"call {call_sid}: the store kept changing under it; try again")

    def _incoming(self, call: InboundCall) -> Turn:
        stored = self.call(call.call_sid)
        if stored is not None:
            return voice_menu.repeat(self.process, stored.state)
        return self._start(call)

    def _start(self, call: InboundCall) -> Turn:
        now = self.clock()
        caller = caller_of(call.caller)
        phone_hash = self.store.phone_hash(caller.key) if caller.key else None
        refusal = rules.phone_refusal(
            self.process, outside=rules.in_window(self.process, now), hidden_caller=caller.hidden,
            locked_out=phone_hash is not None and limits.locked_out(self.store, phone_hash, now))
        if refusal is None:
            turn = voice_menu.begin(self.process)
        else:
            turn = voice_menu.refuse(self.process, _REFUSED[refusal])
        started = calls.start_call(self.store, calls.NewCall(
            call_sid=call.call_sid, account_sid=call.account_sid, phone_hash=phone_hash, hidden_caller=caller.hidden,
            started_at=stamp(now), language=turn.state.lang, state=turn.state.to_json(),
            outcome=turn.outcome.value if turn.outcome else None))
        if not started:
            raise _TryAgain
        log.debug("call %s: started (%s)", call.call_sid, turn.outcome.value if turn.outcome else "menu")
        return turn

    def _gather(self, call: InboundCall, seq: int | None, entry: Entry) -> Turn:
        stored = self.call(call.call_sid)
        if stored is None:  # the first request never reached us: start the call now
            return self._start(call)
        if stored.state.step is Step.ENDED or seq != stored.state.seq:
            return voice_menu.repeat(self.process, stored.state)
        now = self.clock()
        turn = voice_menu.advance(self.process, stored.state, entry, lambda code: self._check(code, stored))
        code_hash = self.store.code_hash(turn.code) if turn.code else stored.code_hash
        wrong_codes = stored.wrong_codes + int(turn.wrong_code)
        record_id = None
        if turn.wrong_code:  # stored first: the limits count it
            calls.count_wrong_codes(self.store, stored.call_sid, wrong_codes)
            limits.check_alarm(self.store, now)
            if stored.phone_hash and turn.listen is not None and limits.locked_out(self.store, stored.phone_hash, now):
                turn = voice_menu.refuse(self.process, CallOutcome.LOCKED_OUT, state=turn.state)
        if turn.confirm:
            outcome, record_id = self._cast(stored, code_hash, turn.state, now)
            turn = voice_menu.finish(self.process, turn.state, outcome)
        self._save(stored, turn, code_hash, wrong_codes, record_id, now)
        return turn

    def _ended(self, call_sid: str) -> bool:
        stored = self.call(call_sid)
        if stored is None or stored.outcome is not None:
            return False
        calls.end_call(self.store, call_sid, replace(stored.state, step=Step.ENDED).to_json(), CallOutcome.HUNG_UP.value,
                       stamp(self.clock()))
        log.debug("call %s: hung up before a vote was confirmed", call_sid)
        return True

    def _save(self, stored: _Call, turn: Turn, code_hash: str | None, wrong_codes: int, record_id: int | None,
              now: datetime) -> None:
        calls.save_step(self.store, stored.call_sid, calls.CallStep(
            state=turn.state.to_json(), updated_at=stamp(now), language=turn.state.lang, code_hash=code_hash,
            wrong_codes=wrong_codes, record_id=record_id, outcome=turn.outcome.value if turn.outcome else None))

    # -- the code and the vote -------------------------------------------------------------

    def _check(self, code: str, stored: _Call) -> CodeCheck:
        """What the store knows of a code that passes the check digit."""
        code_hash = self.store.code_hash(code)
        ballot = self.store.ballot_by_code_hash(code_hash)
        if ballot is None:
            return CodeCheck(CodeStatus.UNKNOWN)
        if ballot.state == BallotState.VOID:
            return CodeCheck(CodeStatus.VOID)
        identity = rules.identity_key(self.process, code_hash, stored.phone_hash)
        votes = identity_votes.read_votes(self.store, identity)[0] if identity else {}
        already = any(vote.status in _STANDING for vote in votes.values())
        return CodeCheck(CodeStatus.ISSUED, self._language(ballot.layout_hash), already)

    def _cast(self, stored: _Call, code_hash: str | None, state: CallState,
              now: datetime) -> tuple[CallOutcome, int | None]:
        """Decide and store the call's vote (inside the step's transaction)."""
        store, process = self.store, self.process
        identity = rules.identity_key(process, code_hash, stored.phone_hash)
        ballot = store.ballot_by_code_hash(code_hash) if code_hash else None
        if identity is None or ballot is None:  # refused at the start; never reached through the menu
            return CallOutcome.NOT_TAKEN, None
        choices = state.vote()

        def insert_record(at: datetime, decision: rules.Decision) -> int:
            record_id = records.add_phone_record(store, records.PhoneRecord(
                channel=Channel.VOICE.value, code_hash=code_hash, serial=ballot.serial, source=f"voice:{stored.call_sid}", received_at=stamp(at),
                status=decision.state.value, reasons=reasons_json(decision.reasons), choices=choices_json(choices),
                phone_hash=stored.phone_hash, hidden_caller=stored.hidden_caller, own_status="counted",
                own_reasons="[]"))
            if record_id is None:
                raise _TryAgain  # another transaction stored this call's vote meanwhile
            return record_id

        cast = identity_votes.cast(store, process, identity, identity_votes.NewVote(
            Channel.VOICE, choices, now, void_code=ballot.state == BallotState.VOID, hidden_caller=stored.hidden_caller),
            insert_record)
        decision, record_id = cast.decision, cast.record_id
        assert decision is not None and record_id is not None
        outcome = _call_outcome(outcome_for(decision.state, decision.reasons, replaced=cast.replaced))
        audit.append(store, "voice", {
            "source": f"voice:{stored.call_sid}", "record_id": record_id, "status": decision.state.value,
            "reasons": [r.value for r in decision.reasons], "outcome": outcome.value, "serial": ballot.serial,
        })
        log.debug("call %s: vote %s (%s)", stored.call_sid, decision.state.value, outcome.value)
        return outcome, record_id

    def _language(self, layout_hash: str) -> str | None:
        if layout_hash not in self._languages:
            self._languages.update(messages.layout_languages(self.store))
        return self._languages.get(layout_hash)



def _call_outcome(outcome: Outcome) -> CallOutcome:
    try:
        return CallOutcome(outcome.value)
    except ValueError:  # NEED_CODE: rejected for a reason a caller cannot fix in this call
        return CallOutcome.NOT_TAKEN

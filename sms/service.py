"""One inbound SMS, from Twilio's fields to the store and back to a reply (DESIGN §7).

`SmsService.receive(message, via)` is what the webhook, `sms pull` and `sms import`
all call; each message is ONE write transaction. A caller may rely on:
- The message is stored (table `sms_messages`, key MessageSid) together with exactly one
  record (`records`, channel `sms`, source `sms:<MessageSid>`) before a reply is
  returned. The sender exists only as the HMAC of its E.164 number; To and the From*/To*
  location fields are never stored. A MessageSid seen before returns the stored reply
  and changes nothing (`Handled.replay`).
- Votes (a code and choices, or a code and choices that cannot be taken) are decided by
  `hybrid.rules.decide_votes` over every vote of their identity (the code, or the phone
  under `identity: phone`), from every channel, under a lock on that identity; records
  of the identity whose decision changes are updated (paper too) with an audit entry.
  The one COUNTED vote of an identity holds its row in `claims` (a UNIQUE key). The row
  is read with the votes and moved only from what was read (INSERT … ON CONFLICT DO
  NOTHING, UPDATE/DELETE … WHERE record_id = what was read); when another process moved
  it meanwhile, the transaction is rolled back and the message decided again. So even
  without the lock two processes never both accept a code; the lock only saves retries.
- The webhook has no Twilio timestamp: a message is timed on arrival, inside the lock,
  and never before a vote of its identity already stored, so time order is the order
  in which votes were taken. `sms pull` / `sms import` later put Twilio's time in its
  place (`backfill`), and the identity is decided again.
- Record states: a vote → what the rules decide; the content of a vote that cannot be
  taken → REJECTED (overvote, over_budget where the rule has a name), or SUPERSEDED
  when another vote of the identity stands; no issued code → REJECTED (unknown_code;
  no_code when there were no 12 digits); a locked-out phone, a hidden caller under
  `identity: phone` → REJECTED; HELP, STATUS, Twilio's keywords, opt-outs (STOPP,
  ABMELDEN), chatter → NOT_A_VOTE. `rules.phone_refusal` says which refusal comes first.
- A vote goes through `identity_votes.cast` (lock, read, decide, insert, apply), as a
  call's and a paper ballot's do; the `sms` audit entry follows it.
- An MMS (num_media > 0) is stored and accounted like any message; its pictures are
  never fetched. When its text is a vote (a code and choices that can be taken) the
  vote goes to the rules like any other and the reply adds that the photo was not read;
  otherwise it is NOT_A_VOTE (outcome `photo`, no wrong-code count, no lock-out) and the
  reply says photos cannot be read, with the example, in the language of the code's
  ballot when the text names one, else the process's first language.
- The reply is `sms.replies.reply_for`, in the language of the code's ballot; None for
  Twilio's own keywords (Twilio answers those) and for opt-outs.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from hybrid import audit, identity_votes, rules
from hybrid.store import worth_retrying
from hybrid.definition import Process
from hybrid.errors import StoreProblem
from hybrid.identity_votes import ClaimLost, choices_json, reasons_from_json, reasons_json
from hybrid.states import BallotState, Channel, Reason, RecordState
from hybrid.store import BallotRow, Store, messages, records
from sms import limits
from sms.caller import caller_of
from sms.code_mask import mask_codes
from sms.grammar import CodeProblem, Intent, IntentKind, ProblemKind, parse_message
from hybrid.store.hub import stamp
from sms.replies import Outcome, outcome_for, reply_for

log = logging.getLogger("hybrid.sms")

VIAS = ("webhook", "pull", "import")
MAX_ATTEMPTS = 8
_VOTE_KINDS = (IntentKind.VOTE, IntentKind.INVALID)
_SILENT_KINDS = (IntentKind.TWILIO_KEYWORD, IntentKind.OPT_OUT)  # never answered, never locked out
_CONTENT_REASONS = {ProblemKind.OVERVOTE: Reason.OVERVOTE, ProblemKind.OVER_BUDGET: Reason.OVER_BUDGET}
_WINDOW_OR_VOID = frozenset({Reason.LATE, Reason.EARLY, Reason.VOID_CODE})
_REFUSED = {  # an SMS is never refused for the window (rules.phone_refusal)
    rules.Refusal.SILENT: (RecordState.NOT_A_VOTE, Outcome.NO_REPLY),
    rules.Refusal.PHOTO_ONLY: (RecordState.NOT_A_VOTE, Outcome.PHOTO),
    rules.Refusal.LOCKED_OUT: (RecordState.REJECTED, Outcome.LOCKED_OUT),
    rules.Refusal.HIDDEN_CALLER: (RecordState.REJECTED, Outcome.HIDDEN_CALLER),
}


@dataclass(frozen=True)
class InboundSms:
    """An inbound message as Twilio describes it; `sender` (From) lives in memory only."""

    message_sid: str
    account_sid: str
    body: str
    sender: str
    num_segments: int | None = None
    num_media: int = 0
    sent_at: datetime | None = None  # Twilio's time (pull, import); None: timed on arrival
    opt_out_type: str | None = None  # Twilio Advanced Opt-Out: STOP | START | HELP
    at_twilio: bool = True  # False: it came through the self-hosted gateway and never was at Twilio


@dataclass(frozen=True)
class Handled:
    message_sid: str
    record_id: int
    status: RecordState
    reasons: tuple[Reason, ...]
    outcome: Outcome
    reply: str | None
    intent: str
    replay: bool = False


class _SidTaken(Exception):
    """Another transaction stored this MessageSid meanwhile."""


class SmsService:
    """Takes messages for one process and one open store (one thread at a time)."""

    def __init__(self, store: Store, process: Process, clock: Callable[[], datetime] | None = None) -> None:
        self.store = store
        self.process = process
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self._languages: dict[str, str] = {}

    # -- entry points ----------------------------------------------------------------------

    def receive(self, message: InboundSms, via: str = "webhook",
                also: Callable[[Handled], None] | None = None) -> Handled:
        """Store, decide and word the reply for `message`, in one transaction; `also`
        (the gateway's event and outbox rows) runs inside that transaction, with the
        new or the stored message, and is rolled back and run again with it."""
        if via not in VIAS:
            raise ValueError(f"via {via!r}")
        # A webhook message is almost always new: its first attempt does not look for it
        # first (one statement less per message); a repeated one fails at the records' UNIQUE
        # source, changes nothing, and the next attempt finds it stored.
        look_first = via != "webhook"
        for _ in range(MAX_ATTEMPTS):
            try:
                with self.store.transaction():
                    handled = (look_first and self.stored(message.message_sid)) or self._take(message, via)
                    if also is not None:
                        also(handled)
                    return handled
            except _SidTaken:
                look_first = True  # rolled back; stored by an earlier request or another process
                continue
            except ClaimLost:
                continue  # rolled back; the next attempt sees what the other process committed
            except Exception as exc:
                if worth_retrying(exc):
                    log.info("message %s: %s; trying again", message.message_sid, type(exc).__name__)
                    continue
                raise
        raise StoreProblem(f"message {message.message_sid}: the store kept changing under it; try again")

    def backfill(self, message: InboundSms, via: str) -> tuple[str, Handled]:
        """`sms pull` / `sms import`: store a message the webhook missed ("stored"), put
        Twilio's time on one it stored ("retimed"), or leave it ("already")."""
        if message.sent_at is not None:
            for _ in range(MAX_ATTEMPTS):
                try:
                    with self.store.transaction():
                        done = self._retime(message.message_sid, message.sent_at)
                        if done is not None:
                            return done
                        break
                except ClaimLost:
                    continue
                except Exception as exc:
                    if worth_retrying(exc):
                        continue
                    raise
        handled = self.receive(message, via)
        if handled.replay and message.sent_at is not None:
            return self.backfill(message, via)  # the webhook stored it meanwhile: add Twilio's time
        return ("already" if handled.replay else "stored"), handled

    def stored(self, message_sid: str) -> Handled | None:
        row = messages.stored_message(self.store, message_sid)
        if row is None:
            return None
        return Handled(message_sid, row.record_id, RecordState(row.status), reasons_from_json(row.reasons),
                       Outcome(row.outcome), row.reply, row.intent, replay=True)

    # -- one new message -------------------------------------------------------------------

    def _take(self, message: InboundSms, via: str) -> Handled:
        store, process = self.store, self.process
        now = self.clock()
        caller = caller_of(message.sender)
        phone_hash = store.phone_hash(caller.key) if caller.key else None
        looked_up: dict[str, tuple[str, BallotRow | None]] = {}

        def is_issued(code: str) -> bool:
            code_hash = store.code_hash(code)
            row = store.ballot_by_code_hash(code_hash)
            looked_up[code] = (code_hash, row)
            return row is not None

        intent = _opt_out(parse_message(message.body or "", process, is_issued), message)
        code_hash, ballot = looked_up.get(intent.code, (None, None)) if intent.code else (None, None)
        photo = message.num_media > 0
        photo_only = photo and intent.kind not in (IntentKind.VOTE, *_SILENT_KINDS)
        if ballot:
            lang = self._language(ballot.layout_hash)
        else:
            lang = None if photo else self._guess_language(message.body or "")
        provisional = message.sent_at or now
        refusal = rules.phone_refusal(  # no `outside`: an SMS is stored and answered outside the window too
            process, silent=intent.kind in _SILENT_KINDS, photo_only=photo_only,
            locked_out=phone_hash is not None and limits.locked_out(store, phone_hash, provisional),
            hidden_caller=caller.hidden, asks_to_vote=intent.kind in (*_VOTE_KINDS, IntentKind.NEED_CODE))
        locked = refusal is rules.Refusal.LOCKED_OUT
        is_vote = refusal is None and intent.kind in _VOTE_KINDS
        wrong_code = intent.wrong_code and not photo_only
        serial = ballot.serial if (is_vote and ballot) else None
        own: rules.Decision | None = None
        own_reasons: tuple[Reason, ...] | None = None  # None: no vote
        if is_vote:
            own_reasons = tuple(dict.fromkeys(_CONTENT_REASONS[p.kind] for p in intent.problems
                                              if p.kind in _CONTENT_REASONS))
            if intent.kind is not IntentKind.VOTE:
                own = rules.Decision(RecordState.REJECTED, own_reasons, intent.choices)

        def insert_record(at: datetime, decision: rules.Decision) -> int:
            record_id = records.add_phone_record(store, records.PhoneRecord(
                channel=Channel.SMS.value,
                code_hash=code_hash if is_vote else None, serial=serial, source=f"sms:{message.message_sid}",
                received_at=stamp(at), status=decision.state.value, reasons=reasons_json(decision.reasons),
                choices=choices_json(intent.choices if is_vote else {}), phone_hash=phone_hash if is_vote else None,
                hidden_caller=caller.hidden,
                own_status=None if own_reasons is None else ("counted" if own is None else "rejected"),
                own_reasons=None if own_reasons is None else reasons_json(own_reasons)))
            if record_id is None:
                raise _SidTaken  # the UNIQUE source waited for the other transaction, then refused ours
            return record_id

        if is_vote:
            identity = rules.identity_key(process, code_hash, phone_hash)
            assert identity is not None  # a vote names an issued code; a hidden caller's is refused by phone
            void = ballot is not None and ballot.state == BallotState.VOID
            cast = identity_votes.cast(store, process, identity, identity_votes.NewVote(
                Channel.SMS, intent.choices, now, message.sent_at, own, void_code=void, hidden_caller=caller.hidden),
                insert_record)
            assert cast.at is not None and cast.record_id is not None and cast.decision is not None
            at, record_id, status, reasons = cast.at, cast.record_id, cast.decision.state, cast.decision.reasons
            if intent.kind is IntentKind.VOTE or set(reasons) & _WINDOW_OR_VOID:
                outcome = outcome_for(status, reasons, replaced=cast.replaced)
            else:
                outcome = Outcome.INVALID
        else:
            at = message.sent_at or now
            status, reasons, outcome = self._not_taken(refusal, intent, rules.in_window(process, at), code_hash)
            record_id = insert_record(at, rules.Decision(status, reasons))
        reply = reply_for(outcome, lang, process, intent=intent, photo=photo)
        detail = {"truncated": intent.truncated}
        if intent.code_problem is not None:
            detail["code_problem"] = intent.code_problem.value
        if intent.problems:
            detail["problems"] = [p.kind.value for p in intent.problems]
        if intent.keyword:
            detail["keyword"] = intent.keyword
        if locked:
            detail["locked_out"] = True
        if photo:
            detail["photo_ignored"] = True
        row = messages.NewMessage(
            message_sid=message.message_sid, account_sid=message.account_sid, phone_hash=phone_hash,
            hidden_caller=caller.hidden, body=mask_codes(message.body or "", intent.code),
            num_segments=message.num_segments, num_media=message.num_media, via=via, sent_at=stamp(at),
            twilio_time=message.sent_at is not None, intent=intent.kind.value,
            detail=json.dumps(detail, sort_keys=True), wrong_code=wrong_code, code_hash=code_hash, language=lang,
            record_id=record_id, outcome=outcome.value, reply=reply, replied=via == "webhook",
            at_twilio=message.at_twilio)
        if not messages.insert_message(store, row):
            raise _SidTaken
        if wrong_code:
            limits.check_alarm(store, at)
        audit.append(store, "sms", {
            "source": f"sms:{message.message_sid}", "record_id": record_id, "via": via, "intent": intent.kind.value,
            "status": status.value, "reasons": [r.value for r in reasons], "outcome": outcome.value,
            "serial": serial,
        })
        log.debug("message %s via %s: %s → %s (%s)", message.message_sid, via, intent.kind.value, status.value,
                  outcome.value)
        return Handled(message.message_sid, record_id, status, reasons, outcome, reply, intent.kind.value)

    def _not_taken(self, refusal: rules.Refusal | None, intent: Intent, outside: Reason | None,
                   code_hash: str | None) -> tuple[RecordState, tuple[Reason, ...], Outcome]:
        """What a message that is no vote to weigh becomes, and its outcome."""
        if refusal is not None:
            status, outcome = _REFUSED[refusal]
            return status, (), outcome
        if intent.kind is IntentKind.NEED_CODE:
            code_reason = Reason.NO_CODE if intent.code_problem is CodeProblem.MISSING else Reason.UNKNOWN_CODE
            return (RecordState.REJECTED, ((outside,) if outside else ()) + (code_reason,),
                    _window_outcome(outside) or Outcome.NEED_CODE)
        if intent.kind is IntentKind.STATUS:
            return RecordState.NOT_A_VOTE, (), self._status(code_hash) if intent.code else Outcome.STATUS_NEED_CODE
        if intent.kind is IntentKind.HELP:
            return RecordState.NOT_A_VOTE, (), Outcome.HELP
        return RecordState.NOT_A_VOTE, (), Outcome.CHATTER

    # -- Twilio's time, later --------------------------------------------------------------

    def _retime(self, message_sid: str, sent_at: datetime) -> tuple[str, Handled] | None:
        """Put Twilio's time on a stored message and decide its identity again; None when not stored."""
        store = self.store
        row = messages.message_timing(store, message_sid)
        if row is None:
            return None
        handled = self.stored(message_sid)
        assert handled is not None
        when = stamp(sent_at)
        if row.twilio_time and row.sent_at == when:
            return "already", handled
        identity = rules.identity_key(self.process, row.code_hash, row.phone_hash) if row.own_status is not None else None
        if identity is not None:
            identity_votes.lock_identity(store, identity)  # before the audit lock, as when a message is taken
        messages.retime(store, message_sid, row.record_id, when)
        if identity is not None:
            identity_votes.cast(store, self.process, identity)  # nothing new: decided again by Twilio's time
        audit.append(store, "sms_time", {"source": f"sms:{message_sid}", "record_id": row.record_id, "sent_at": when})
        return "retimed", self.stored(message_sid) or handled

    # -- small things ----------------------------------------------------------------------

    def _status(self, code_hash: str | None) -> Outcome:
        found = messages.code_has_standing_vote(self.store, code_hash)
        return Outcome.STATUS_RECEIVED if found else Outcome.STATUS_NOT_RECEIVED

    def _language(self, layout_hash: str) -> str | None:
        if layout_hash not in self._languages:
            self._languages.update(messages.layout_languages(self.store))
        return self._languages.get(layout_hash)

    def _guess_language(self, body: str) -> str | None:
        """Without a code: German for HILFE/JA/NEIN, English for HELP/YES/NO, if the process has it."""
        words = set(re.findall(r"[^\W\d_]+", body.casefold()))
        for lang, markers in (("de", {"hilfe", "ja", "nein"}), ("en", {"help", "yes", "no"})):
            if words & markers and lang in self.process.languages:
                return lang
        return None



def _opt_out(intent: Intent, message: InboundSms) -> Intent:
    """Twilio's Advanced Opt-Out names its keywords (STOPP, say) in OptOutType."""
    kind = (message.opt_out_type or "").strip().upper()
    if kind in ("STOP", "START") and intent.kind is not IntentKind.TWILIO_KEYWORD:
        return Intent(IntentKind.TWILIO_KEYWORD, keyword=(message.body or "").strip().upper()[:20] or kind)
    if kind == "HELP" and intent.kind is not IntentKind.HELP:
        return Intent(IntentKind.HELP, keyword=kind)
    return intent


def _window_outcome(outside: Reason | None) -> Outcome | None:
    return {Reason.LATE: Outcome.CLOSED, Reason.EARLY: Outcome.NOT_OPEN}.get(outside) if outside else None

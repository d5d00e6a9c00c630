"""Every stored vote of one identity, decided together and written back (DESIGN §7).

The SMS service, the voice menu, paper ingest and `merge` all go through `cast`, so an
identity (a code, or a phone under `identity: phone`) is decided by `rules.decide_votes`
from the same reading of the store, in the same order of steps, wherever a vote comes
from. A caller may rely on:
- `cast` locks the identity, reads its votes, decides them with the new vote (if any),
  has the caller insert the new vote's record, then applies the decisions; the caller
  adds its channel's audit entry after it returns. A paper ballot's record is written
  with its own decision first (it is re-evaluated from its pages), then cast with
  nothing new; so are a retimed SMS and `merge` (`redecide`).
- `read_votes` reads the identity's votes and the record holding its claim in one
  statement (one snapshot); `cast_vote` turns one stored row into a `rules.CastVote`.
- `apply_decisions` writes only the decisions that changed (with an audit entry each) and
  moves the identity's claim from the holder that was read (INSERT … ON CONFLICT DO
  NOTHING, UPDATE/DELETE … WHERE record_id = the holder); when another transaction moved
  it meanwhile, `ClaimLost` is raised and the caller must roll back and try again.
- Call inside a transaction, after `lock_identity`: the per-identity lock is taken before
  the audit lock by every writer, so two writers never wait for each other in a circle.
"""

from __future__ import annotations

import json
import sys
from functools import lru_cache
from types import MappingProxyType
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from hybrid import audit, rules
from hybrid.definition import Process
from hybrid.errors import StoreProblem
from hybrid.states import BallotState, Channel, Reason, RecordState
from hybrid.store import Store, audit_log, now_utc, records


class ClaimLost(Exception):
    """Another transaction changed the identity's claim meanwhile: roll back and try again."""


@dataclass
class StoredVote:
    """A stored vote of an identity, as `decide_votes` needs it, and its state now."""

    vote: rules.CastVote
    status: RecordState
    reasons: tuple[Reason, ...]
    serial: int | None


_scan_json = json.JSONDecoder().scan_once  # the C scanner without json.loads' checks: 3× faster


def _json_value(text: str) -> object:
    """The JSON text's value (what json.dumps stored); json.loads for anything else."""
    try:
        value, end = _scan_json(text, 0)
    except (StopIteration, ValueError):
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


@lru_cache(maxsize=4096)
def reasons_from_json(text: str | None) -> tuple[Reason, ...]:
    return tuple(Reason(r) for r in _json_value(text or "[]"))


def reasons_json(reasons: Iterable[Reason]) -> str:
    return json.dumps([r.value for r in reasons])


@lru_cache(maxsize=65536)
def choices_from_json(text: str | None) -> Mapping[str, tuple[str, ...]]:
    """Read-only (the same text gives the same shared mapping: stores repeat choices a lot)."""
    word = sys.intern  # a few distinct ids, repeated over a million records
    return MappingProxyType({word(q): tuple(map(word, opts)) for q, opts in _json_value(text or "{}").items()})


@lru_cache(maxsize=4096)
def _day(text: str) -> date:
    return date.fromisoformat(text[:10])


def choices_json(choices: Mapping[str, Iterable[str]]) -> str:
    return json.dumps({q: list(opts) for q, opts in choices.items()}, sort_keys=True)


def cast_vote(record_id: int, channel: str, status: str, reasons: str | None, choices: str | None,
              received_at: str | None, own_status: str | None, own_reasons: str | None, hidden_caller: int,
              serial: int | None, ballot_state: str | None) -> StoredVote:
    """One stored record (a `records.VoteRow`'s fields, in order) as a vote for `rules.decide_votes`.

    Paper: its own decision is the stored one without what other channels did to it
    (`rules.own_paper_decision`); phones: counted unless its content could not be taken."""
    state, why, chosen = RecordState(status), reasons_from_json(reasons), choices_from_json(choices)
    void = ballot_state == BallotState.VOID
    if channel == Channel.PAPER:
        vote = rules.CastVote(record_id, channel, chosen,
                              received=_day(received_at) if received_at else None,
                              own=rules.own_paper_decision(state, why, chosen), void_code=void, arrival=record_id)
    else:
        own = None if own_status == "counted" else rules.Decision(RecordState.REJECTED, reasons_from_json(own_reasons),
                                                                  chosen)
        vote = rules.CastVote(record_id, channel, chosen,
                              at=datetime.fromisoformat(received_at) if received_at else None, own=own,
                              void_code=void, hidden_caller=bool(hidden_caller), arrival=record_id)
    return StoredVote(vote, state, why, serial)


def taken_at(now: datetime, stored: Mapping[int, StoredVote]) -> datetime:
    """When a phone vote taken now is timed: now, but never before a phone vote of the
    identity already stored, so time order is the order in which votes were taken."""
    times = [s.vote.at for s in stored.values() if s.vote.channel in rules.PHONE_CHANNELS and s.vote.at]
    if times and max(times) >= now:
        return max(times) + timedelta(microseconds=1)
    return now


def lock_identity(store: Store, identity: str) -> None:
    store.conn.lock(f"identity:{identity}")


def read_votes(store: Store, identity: str) -> tuple[dict[int, StoredVote], int | None]:
    """The identity's stored votes, and the record holding its claim, read together.
    No votes means no claim: a claim names a vote."""
    rows, holder = records.votes_of(store, identity)
    found = {row.record_id: cast_vote(row.record_id, row.channel, row.status, row.reasons, row.choices,
                                      row.received_at, row.own_status, row.own_reasons, row.hidden_caller,
                                      row.serial, row.ballot_state) for row in rows}
    return found, holder


def apply_decisions(store: Store, identity: str, stored: Mapping[int, StoredVote], holder: int | None,
                    decisions: Mapping[int, rules.Decision], *, by: str | None = None) -> list[int]:
    """Write the decisions that changed (with audit entries) and move the claim; returns
    the record ids that changed. `decisions` may name a record not in `stored` (a vote
    just inserted): it only takes part in the claim. `by` names who re-decided (merge)."""
    changed = [record_id for record_id, decision in decisions.items() if record_id in stored
               and (stored[record_id].status, stored[record_id].reasons) != (decision.state, decision.reasons)]
    if changed:
        audit_log.lock_chain(store)  # scanning takes it before updating a paper record: so do we
    for record_id in changed:
        before, decision = stored[record_id], decisions[record_id]
        records.set_decision(store, record_id, decision.state.value, reasons_json(decision.reasons), now_utc())
        body = {"record_id": record_id, "channel": before.vote.channel, "serial": before.serial,
                "status": decision.state.value, "reasons": [r.value for r in decision.reasons]}
        if by:
            body["by"] = by
        audit.append(store, "decision", body)
    counted = [record_id for record_id, d in decisions.items() if d.state is RecordState.COUNTED]
    if len(counted) > 1:  # the rules never do this; refuse to store it
        raise StoreProblem(f"{identity}: more than one counted vote ({counted}); nothing was stored")
    wanted = counted[0] if counted else None
    if wanted == holder:
        if records.claim_holder(store, identity) != holder:
            raise ClaimLost  # moved meanwhile: a vote is missing from ours
        return changed
    if holder is None:
        moved = records.add_claim(store, identity, wanted, now_utc())
    elif wanted is None:
        moved = records.drop_claim(store, identity, holder)
    else:
        moved = records.move_claim(store, identity, holder, wanted, now_utc())
    if not moved:
        raise ClaimLost
    return changed


_NEW = -1  # the vote being cast, before it has a record id
_LAST = 2**62  # ... and it arrives after every stored vote


@dataclass(frozen=True)
class NewVote:
    """A phone vote being cast, before it has a record."""

    channel: Channel  # SMS or VOICE
    choices: rules.Choices
    now: datetime  # when it is taken
    sent_at: datetime | None = None  # Twilio's time when known (sms pull, import): it is timed by that
    own: rules.Decision | None = None  # REJECTED when its content could not be taken (`rules.CastVote.own`)
    void_code: bool = False
    hidden_caller: bool = False


@dataclass(frozen=True)
class Cast:
    """Every vote of one identity as decided, and the new vote's record (when one was cast)."""

    decisions: Mapping[int, rules.Decision]
    record_id: int | None = None
    at: datetime | None = None  # when the new vote is timed
    replaced: bool = False  # it counts in place of a phone vote of the identity that counted before
    decision: rules.Decision | None = None  # the new vote's


InsertRecord = Callable[[datetime, rules.Decision], int]  # stores the new vote's record: its id (or raises)


def cast(store: Store, process: Process, identity: str, new: NewVote | None = None,
         insert_record: InsertRecord | None = None, *, by: str | None = None) -> Cast:
    """Lock, read, decide (with `new`), insert `new`'s record through `insert_record`
    (called once, with the vote's time and decision), and write back every vote of one
    identity, inside the caller's transaction. `ClaimLost` (and whatever `insert_record`
    raises) means: roll back and try again. `by` names who re-decided (merge)."""
    lock_identity(store, identity)
    stored, holder = read_votes(store, identity)
    votes = [s.vote for s in stored.values()]
    if new is None:
        decisions = rules.decide_votes(process, votes)
        apply_decisions(store, identity, stored, holder, decisions, by=by)
        return Cast(decisions)
    assert insert_record is not None
    at = new.sent_at or taken_at(new.now, stored)
    vote = rules.CastVote(_NEW, new.channel, new.choices, at=at, own=new.own, void_code=new.void_code,
                          hidden_caller=new.hidden_caller, arrival=_LAST)
    decisions = rules.decide_votes(process, votes + [vote])
    decision = decisions.pop(_NEW)
    replaced = decision.state is RecordState.COUNTED and any(
        s.status is RecordState.COUNTED and s.vote.channel in rules.PHONE_CHANNELS
        and decisions[vote_id].state is RecordState.SUPERSEDED for vote_id, s in stored.items())
    record_id = insert_record(at, decision)
    decisions[record_id] = rules.Decision(decision.state, decision.reasons)
    apply_decisions(store, identity, stored, holder, decisions, by=by)
    return Cast(decisions, record_id, at, replaced, decision)


def redecide(store: Store, process: Process, identity: str, *, by: str | None = None) -> dict[int, rules.Decision]:
    """`cast` with nothing new: every stored vote of one identity decided again."""
    return dict(cast(store, process, identity, by=by).decisions)

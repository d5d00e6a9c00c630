"""Every record's final state: the one answer that merge counts, and status and `hybrid sms` show.

`final_records(store, process, write_back=...)` reads every record and decides it as
merge does (DESIGN §7, §8). A caller may rely on:
- Every identity (a code; a phone under `identity: phone`) is decided again by
  `rules.decide_votes` over all its votes from every channel, windows included. With
  `write_back` (merge), a decision that differs from the stored one is written back with
  the identity's claim and an audit entry ("decision", by merge). Without it (status,
  `hybrid sms`) nothing is written: the same decisions are taken in memory, and review
  decisions are read as if they had been written, so the states are those merge would give.
- A person's decision in force (`hybrid.review`) is final; one awaiting a second
  reviewer leaves the machine's decision (REVIEW: listed, not counted).
- At most one record per identity is COUNTED (`rules.one_counted`).
- `invalid_ballot` marks CONSUL's nulls: a reviewer's "ballot invalid", or the machine's
  (`rules.invalid_content`), with reason invalid_content.
"""

from __future__ import annotations

import gc
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import NamedTuple

from hybrid import identity_votes, review, rules
from hybrid.definition import Process
from hybrid.errors import StoreProblem
from hybrid.identity_votes import cast_vote, choices_from_json, reasons_from_json, reasons_json
from hybrid.states import BallotState, Reason, RecordState
from hybrid.store import Store, worth_retrying
from hybrid.store.records import records_for_merge, void_codes

CHANNELS = ("paper", "sms", "voice")


class MergedRecord(NamedTuple):
    """One ballot or message and what became of it (immutable; a tuple because a million
    of them are made per merge, and a frozen dataclass costs twice as much to build).

    `choices`: what its final decision says (as read, or as a person decided); they
    count only when `state` is COUNTED (`counted_choices`). `blank`: counted with no
    choice (whites). `invalid_ballot`: a valid code with invalid content (nulls)."""

    record_id: int
    channel: str
    serial: int | None
    source: str
    received_at: str | None
    state: RecordState
    reasons: tuple[Reason, ...]
    choices: Mapping[str, tuple[str, ...]]
    blank: bool = False
    invalid_ballot: bool = False
    by_review: bool = False
    pending_review: bool = False

    @property
    def counted_choices(self) -> Mapping[str, tuple[str, ...]]:
        return self.choices if self.state is RecordState.COUNTED else {}


@dataclass(frozen=True)
class FinalRecords:
    records: list[MergedRecord]  # every record, by record id
    redecided: int  # records whose stored decision differs from the one decided now


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector: a million records make millions of small objects
    and no cycles, and its full passes over them would double the time of a merge."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def final_records(store: Store, process: Process, *, write_back: bool) -> FinalRecords:
    """Every record's final decision (see the module doc); `write_back` stores what is stale."""
    with no_cycle_collection():
        rows = _read(store, process)
        redecided, groups, restated = _decide_again(store, process, rows, write_back=write_back)
        reviewed = review.reviewed_decisions(store, process, restated=None if write_back else restated)
        records = [_final(row, reviewed.get(row.record_id)) for row in rows]
        return FinalRecords(_one_counted(records, groups), redecided)


def state_counts(records: Iterable[MergedRecord], channels: Iterable[str] = CHANNELS) -> dict[str, Counter]:
    """channel → Counter of RecordState values (every channel given; any other that has records)."""
    out: dict[str, Counter] = {c: Counter() for c in channels}
    for record in records:
        out.setdefault(record.channel, Counter())[record.state.value] += 1
    return out


def reason_counts(records: Iterable[MergedRecord], channels: Iterable[str] = CHANNELS) -> dict[str, Counter]:
    """channel → Counter of reasons over all its records."""
    out: dict[str, Counter] = {c: Counter() for c in channels}
    for record in records:
        out.setdefault(record.channel, Counter()).update(r.value for r in record.reasons)
    return out


# -- reading the store --------------------------------------------------------------------------------------

@dataclass(slots=True)
class StoredRow:
    """One stored record as merge needs it: its decision now, its identity (the hash of
    its code, or of its phone under `identity: phone`), whether its code is void; the
    `CastVote` is built only when it is decided again. Small on purpose (a million of
    them): repeated words are interned, the choices kept as their stored text."""

    record_id: int
    channel: str
    choices_text: str | None
    received_at: str | None
    own_status: str | None
    own_reasons: str | None
    hidden_caller: int
    serial: int | None
    source: str
    status: RecordState
    reasons: tuple[Reason, ...]
    identity: str | None
    void: bool

    def vote(self) -> rules.CastVote:
        return cast_vote(self.record_id, self.channel, self.status.value, reasons_json(self.reasons),
                         self.choices_text, self.received_at, self.own_status, self.own_reasons, self.hidden_caller,
                         self.serial, BallotState.VOID.value if self.void else None).vote


_STATES = {state.value: state for state in RecordState}


def _read(store: Store, process: Process) -> list[StoredRow]:
    void = void_codes(store)  # few: read apart, not joined
    by_phone = process.identity == "phone"
    word = sys.intern
    out = []
    for row in records_for_merge(store, with_phone=by_phone):
        own_status = row.own_status
        is_vote = row.channel == "paper" or own_status is not None
        # The identity's hash itself (no "code:" string per record: a million of them cost memory).
        identity = (row.phone_hash if by_phone else row.code_hash) if is_vote else None
        out.append(StoredRow(row.record_id, word(row.channel), row.choices, row.received_at,
                             own_status and word(own_status), row.own_reasons and word(row.own_reasons),
                             row.hidden_caller, row.serial, row.source, _STATES[row.status],
                             reasons_from_json(row.reasons), identity, row.code_hash in void))
    return out


def settled_alone(process: Process, row: StoredRow) -> bool:
    """A lone vote whose stored decision `decide_votes` would give again (most of them):
    skipping the call keeps a million-record merge fast; the result is the same (a property
    test holds it to `rules.decide_votes` for every lone record)."""
    status = row.status
    if row.void or Reason.CROSS_CHANNEL_CONFLICT in row.reasons:
        return False
    if row.channel == "paper":
        return status in (RecordState.COUNTED, RecordState.REVIEW, RecordState.REJECTED)
    return (status is RecordState.COUNTED and not row.reasons and row.own_status == "counted"
            and row.received_at is not None
            and rules.in_window(process, datetime.fromisoformat(row.received_at)) is None
            and not (process.identity == "phone" and row.hidden_caller))


def _decide_again(store: Store, process: Process, rows: list[StoredRow], *, write_back: bool
                  ) -> tuple[int, dict[str, list[int]], dict[int, rules.Decision]]:
    """decide_votes over every identity; with `write_back` store what changed, in any case
    restate the rows. Returns the records changed, the row indexes of every identity with
    more than one record, and the changed records' new decisions."""
    sizes = Counter(row.identity for row in rows)
    by_identity: dict[str, list[int]] = defaultdict(list)
    lone: list[str] = []
    for index, row in enumerate(rows):
        if row.identity is None:
            continue
        if sizes[row.identity] > 1:
            by_identity[row.identity].append(index)
        elif not settled_alone(process, row):
            lone.append(row.identity)
            by_identity[row.identity].append(index)
    stale: dict[str, dict[int, rules.Decision]] = {}
    for identity, indexes in by_identity.items():
        group = [rows[i] for i in indexes]
        decisions = rules.decide_votes(process, [r.vote() for r in group])
        for row in group:
            decision = decisions[row.record_id]
            if (decision.state, decision.reasons) != (row.status, row.reasons):
                stale[identity] = decisions
                break
    restated: dict[int, rules.Decision] = {}
    by_id = {row.record_id: row for row in rows}
    for identity_hash, decisions in stale.items():
        if write_back:
            identity = rules.identity_key(process, identity_hash, identity_hash)
            assert identity is not None
            decisions = _write_back(store, process, identity)
        for record_id, decision in decisions.items():
            if record_id in by_id and (by_id[record_id].status, by_id[record_id].reasons) != (decision.state,
                                                                                              decision.reasons):
                by_id[record_id].status = decision.state
                by_id[record_id].reasons = decision.reasons
                restated[record_id] = decision
    for identity in lone:
        del by_identity[identity]
    return len(restated), by_identity, restated


def _write_back(store: Store, process: Process, identity: str) -> dict[int, rules.Decision]:
    """Decide one identity again and store what changed: one short transaction, as the
    webhook and the scanner do (the identity's lock before the audit lock)."""
    for _ in range(8):
        try:
            with store.transaction():
                return identity_votes.redecide(store, process, identity, by="merge")
        except identity_votes.ClaimLost:
            continue
        except Exception as exc:
            if worth_retrying(exc):
                continue
            raise
    raise StoreProblem(f"{identity}: its votes kept changing while merging; run merge again")


# -- the final decision of every record ---------------------------------------------------------------------

def _stated_choices(text: str | None) -> Mapping[str, tuple[str, ...]]:
    """A stored record's choices without empty questions (read-only; shared where the text repeats)."""
    choices = choices_from_json(text)
    if all(choices.values()):
        return choices
    return MappingProxyType({q: opts for q, opts in choices.items() if opts})


def _final(row: StoredRow, reviewed: review.EffectiveDecision | None) -> MergedRecord:
    if reviewed is not None and not reviewed.pending:
        state, reasons = reviewed.state, tuple(reviewed.reasons)
        choices = MappingProxyType({q: tuple(v) for q, v in reviewed.choices.items() if v})
        invalid, by_review, pending = reviewed.invalid_ballot, reviewed.by_review, False
    else:
        state, reasons, choices = row.status, row.reasons, _stated_choices(row.choices_text)
        # Only a rejected record can be invalid: asking first spares a million votes being built.
        invalid = state is RecordState.REJECTED and rules.invalid_content(row.vote(), state)
        by_review, pending = False, reviewed is not None and reviewed.pending
    if invalid and Reason.INVALID_CONTENT not in reasons:
        reasons = tuple(sorted({*reasons, Reason.INVALID_CONTENT}, key=lambda r: r.value))
    return MergedRecord(row.record_id, row.channel, row.serial, row.source, row.received_at, state, reasons, choices,
                        state is RecordState.COUNTED and not choices, invalid, by_review, pending)


def _one_counted(records: list[MergedRecord], groups: Mapping[str, list[int]]) -> list[MergedRecord]:
    """`rules.one_counted` over every identity. `groups`: identity → indexes into
    `records` (identities with more than one record)."""
    for group in groups.values():
        if sum(1 for i in group if records[i].state is RecordState.COUNTED) < 2:
            continue  # the rule changes nothing then: most groups skip building decisions
        finals = [(rules.Decision(records[i].state, records[i].reasons, records[i].choices), records[i].by_review)
                  for i in group]
        for i, decision in zip(group, rules.one_counted(finals), strict=True):
            record = records[i]
            if decision.state is not record.state:
                records[i] = record._replace(state=decision.state, reasons=decision.reasons, blank=False,
                                             invalid_ballot=False)
    return records

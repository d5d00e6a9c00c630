"""One count from every channel (DESIGN §7, §8): every record's final decision, the tally
and CONSUL's booth figures.

`merge_records(store, process)` is the authority on what counts. A caller may rely on:
- Every identity (a code; a phone under `identity: phone`) is decided again by
  `rules.decide_votes` over all its votes from every channel, windows included (paper by
  its postal arrival day, phones by Twilio's time). A decision that differs from the
  stored one is written back, with the identity's claim and an audit entry ("decision",
  by merge), so the review queue shows what merge found (a conflict between a paper
  ballot and an earlier SMS, say).
- A person's decision in force (`hybrid.review`) is final; one awaiting a second
  reviewer leaves the machine's decision (REVIEW: listed, not counted).
- At most one record per identity is COUNTED. Should review and machine disagree on that
  (a reviewer accepted a paper ballot, then an SMS of its code counted), the machine's
  vote steps back: DUPLICATE with the same choices, REVIEW (cross_channel_conflict) with
  other ones. Never two, never a guess.
- Only COUNTED records carry choices into the tally; a COUNTED record without choices is
  blank (CONSUL's whites); a valid code with content that cannot count is an invalid
  ballot (CONSUL's nulls, reason invalid_content): a reviewer's "ballot invalid", or an
  SMS/voice vote whose content could not be taken and that nothing else replaced.
"""

from __future__ import annotations

import gc
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from itertools import chain
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import NamedTuple

from hybrid import identity_votes, review, rules
from hybrid.store import worth_retrying
from hybrid.definition import Process
from hybrid.errors import StoreProblem
from hybrid.identity_votes import cast_vote, choices_from_json, reasons_from_json, reasons_json
from hybrid.states import PageState, Reason, RecordState
from hybrid.store import Store
from hybrid.store.counts import pages_by_state
from hybrid.store.records import records_for_merge, void_codes

CHANNELS = ("paper", "sms", "voice")
BOOTHS = {"paper": "Papier", "sms": "SMS", "voice": "Telefon"}  # CONSUL booth names, one per channel
_CONTENT_REASONS = frozenset({Reason.OVERVOTE, Reason.OVER_BUDGET})


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
class TallyRow:
    question: str  # question id, or "budget"
    option: str  # option id, or investment id
    number: int  # the printed number
    consul_question_id: int | None  # CONSUL question id; the heading's id for a budget
    consul_option: str  # a poll option's CONSUL given order; an investment's id
    counts: Mapping[str, int]  # channel → counted choices

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class BoothCount:
    """CONSUL's recount of one booth (DESIGN §8): total = valid ballots only; CONSUL adds
    whites and nulls on top."""

    channel: str
    booth: str
    whites: int
    nulls: int
    total: int


@dataclass(frozen=True)
class MergeResult:
    process: Process
    records: list[MergedRecord]
    tally: list[TallyRow]
    booths: list[BoothCount]
    pages: Mapping[str, int]  # PageState value → pages
    unreadable_pages: int  # unreadable pages no person has identified or set aside yet
    redecided: int  # records whose stored decision merge changed
    reviewed: int  # records decided by a person
    channels: tuple[str, ...] = CHANNELS
    merged_at: datetime | None = None

    @property
    def awaiting_review(self) -> list[MergedRecord]:
        return [r for r in self.records if r.state is RecordState.REVIEW]

    def open_items(self, shown: int = 10) -> tuple[str, ...]:
        """What still waits for a person, in words (empty when nothing does): the records
        awaiting review (the first `shown` named) and the unreadable pages."""
        out = []
        waiting = self.awaiting_review
        if waiting:
            names = ", ".join(f"r{r.record_id}" + (f" (#{r.serial})" if r.serial else "") for r in waiting[:shown])
            more = f" … +{len(waiting) - shown}" if len(waiting) > shown else ""
            out.append(f"{len(waiting)} review: {names}{more}")
        if self.unreadable_pages:
            out.append(f"{self.unreadable_pages} unreadable page(s) / unlesbare Seite(n)")
        return tuple(out)

    def state_counts(self) -> dict[str, Counter]:
        """channel → Counter of RecordState values."""
        out: dict[str, Counter] = {c: Counter() for c in self.channels}
        for record in self.records:
            out.setdefault(record.channel, Counter())[record.state.value] += 1
        return out

    def reason_counts(self) -> dict[str, Counter]:
        """channel → Counter of reasons over all its records."""
        out: dict[str, Counter] = {c: Counter() for c in self.channels}
        for record in self.records:
            out.setdefault(record.channel, Counter()).update(r.value for r in record.reasons)
        return out


# -- reading the store --------------------------------------------------------------------------------------

@dataclass(slots=True)
class _Row:
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
                         self.serial, "void" if self.void else None).vote


_STATES = {state.value: state for state in RecordState}


def _read(store: Store, process: Process) -> list[_Row]:
    void = void_codes(store)  # few: read apart, not joined
    by_phone = process.identity == "phone"
    word = sys.intern
    out = []
    for row in records_for_merge(store, with_phone=by_phone):
        own_status = row.own_status
        is_vote = row.channel == "paper" or own_status is not None
        # The identity's hash itself (no "code:" string per record: a million of them cost memory).
        identity = (row.phone_hash if by_phone else row.code_hash) if is_vote else None
        out.append(_Row(row.record_id, word(row.channel), row.choices, row.received_at, own_status and word(own_status),
                        row.own_reasons and word(row.own_reasons), row.hidden_caller, row.serial, row.source,
                        _STATES[row.status], reasons_from_json(row.reasons), identity, row.code_hash in void))
    return out


def _settled_alone(process: Process, row: _Row) -> bool:
    """A lone vote whose stored decision `decide_votes` would give again (most of them):
    skipping the call keeps a million-record merge fast; the result is the same."""
    status = row.status
    if row.void or Reason.CROSS_CHANNEL_CONFLICT in row.reasons:
        return False
    if row.channel == "paper":
        return status in (RecordState.COUNTED, RecordState.REVIEW, RecordState.REJECTED)
    return (status is RecordState.COUNTED and row.own_status == "counted" and row.received_at is not None
            and rules.in_window(process, datetime.fromisoformat(row.received_at)) is None
            and not (process.identity == "phone" and row.hidden_caller))


def _decide_again(store: Store, process: Process, rows: list[_Row]) -> tuple[int, dict[str, list[int]]]:
    """decide_votes over every identity; write back what changed. Returns the records
    changed, and the row indexes of every identity with more than one record."""
    sizes = Counter(row.identity for row in rows)
    by_identity: dict[str, list[int]] = defaultdict(list)
    lone: list[str] = []
    for index, row in enumerate(rows):
        if row.identity is None:
            continue
        if sizes[row.identity] > 1:
            by_identity[row.identity].append(index)
        elif not _settled_alone(process, row):
            lone.append(row.identity)
            by_identity[row.identity].append(index)
    stale: list[str] = []
    for identity, indexes in by_identity.items():
        group = [rows[i] for i in indexes]
        decisions = rules.decide_votes(process, [r.vote() for r in group])
        for row in group:
            decision = decisions[row.record_id]
            if (decision.state, decision.reasons) != (row.status, row.reasons):
                stale.append(identity)
                break
    changed = 0
    by_id = {row.record_id: row for row in rows}
    for identity_hash in stale:
        identity = rules.identity_key(process, identity_hash, identity_hash)
        assert identity is not None
        for record_id, decision in _write_back(store, process, identity).items():
            if record_id in by_id and (by_id[record_id].status, by_id[record_id].reasons) != (decision.state,
                                                                                              decision.reasons):
                by_id[record_id].status = decision.state
                by_id[record_id].reasons = decision.reasons
                changed += 1
    for identity in lone:
        del by_identity[identity]
    return changed, by_identity


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


def _final(row: _Row, reviewed: review.EffectiveDecision | None) -> MergedRecord:
    if reviewed is not None and not reviewed.pending:
        state, reasons = reviewed.state, tuple(reviewed.reasons)
        choices = MappingProxyType({q: tuple(v) for q, v in reviewed.choices.items() if v})
        invalid, by_review, pending = reviewed.invalid_ballot, reviewed.by_review, False
    else:
        state, reasons, choices = row.status, row.reasons, _stated_choices(row.choices_text)
        invalid = (state is RecordState.REJECTED and row.channel != "paper" and row.own_status not in (None, "counted")
                   and bool(set(reasons_from_json(row.own_reasons)) & _CONTENT_REASONS))
        by_review, pending = False, reviewed is not None and reviewed.pending
    if invalid and Reason.INVALID_CONTENT not in reasons:
        reasons = tuple(sorted({*reasons, Reason.INVALID_CONTENT}, key=lambda r: r.value))
    return MergedRecord(row.record_id, row.channel, row.serial, row.source, row.received_at, state, reasons, choices,
                        state is RecordState.COUNTED and not choices, invalid, by_review, pending)


def _one_counted(records: list[MergedRecord], groups: Mapping[str, list[int]]) -> list[MergedRecord]:
    """At most one COUNTED record per identity; a reviewer's decision wins over the machine's.
    `groups`: identity → indexes into `records` (identities with more than one record)."""
    for group in groups.values():
        indexes = [i for i in group if records[i].state is RecordState.COUNTED]
        if len(indexes) < 2:
            continue
        people = [i for i in indexes if records[i].by_review]
        keep = people[0] if len(people) == 1 else None
        for i in indexes:
            if i == keep:
                continue
            record = records[i]
            same = keep is not None and rules.same_choices(record.choices, records[keep].choices)
            if same:
                records[i] = _restate(record, RecordState.DUPLICATE, ())
            else:
                records[i] = _restate(record, RecordState.REVIEW, (Reason.CROSS_CHANNEL_CONFLICT,))
    return records


def _restate(record: MergedRecord, state: RecordState, extra: Iterable[Reason]) -> MergedRecord:
    reasons = tuple(sorted({*record.reasons, *extra}, key=lambda r: r.value))
    return MergedRecord(record.record_id, record.channel, record.serial, record.source, record.received_at, state,
                        reasons, record.choices, False, False, record.by_review, record.pending_review)


# -- counting ------------------------------------------------------------------------------------------------

def tally_of(process: Process, records: Iterable[MergedRecord]) -> list[TallyRow]:
    """Counted choices per printed item and channel, in printed order."""
    counts: dict[tuple[str, str], Counter] = defaultdict(Counter)
    # Stored choices are shared objects (one per distinct text): count those, then expand.
    same: Counter = Counter()
    chosen: dict[int, Mapping[str, tuple[str, ...]]] = {}
    for record in records:
        if record.state is RecordState.COUNTED and record.choices:
            key = id(record.choices)
            chosen[key] = record.choices
            same[(record.channel, key)] += 1
    singles: dict[str, list[Mapping[str, tuple[str, ...]]]] = defaultdict(list)
    for (channel, key), n in same.items():
        if n == 1:  # a budget's ballots rarely repeat: counted below in bulk
            singles[channel].append(chosen[key])
            continue
        for question, options in chosen[key].items():
            for option in options:
                counts[(question, option)][channel] += n
    questions = [q.id for q in process.questions] if process.kind == "poll" else ["budget"]
    for channel, maps in singles.items():
        for question in questions:
            for option, n in Counter(chain.from_iterable(m.get(question, ()) for m in maps)).items():
                counts[(question, option)][channel] += n
    rows = []
    for item in process.items():
        if process.kind == "poll":
            question = next(q for q in process.questions if q.id == item.question)
            option = next(o for o in question.options if o.id == item.option)
            consul_q = question.consul_id
            consul_o = str(option.consul_order) if option.consul_order is not None else ""
        else:
            assert process.budget is not None
            consul_q, consul_o = process.budget.heading.consul_id, item.option
        found = counts.get((item.question, item.option), Counter())
        rows.append(TallyRow(item.question, item.option, item.number, consul_q, consul_o,
                             {c: found.get(c, 0) for c in CHANNELS}))
    return rows


def booth_counts(records: Iterable[MergedRecord], channels: Iterable[str] = CHANNELS) -> list[BoothCount]:
    whites: Counter = Counter()
    nulls: Counter = Counter()
    valid: Counter = Counter()
    for record in records:
        if record.state is RecordState.COUNTED:
            (whites if record.blank else valid)[record.channel] += 1
        elif record.invalid_ballot:
            nulls[record.channel] += 1
    return [BoothCount(c, BOOTHS[c], whites[c], nulls[c], valid[c]) for c in channels]


def active_channels(process: Process, records: Iterable[MergedRecord]) -> tuple[str, ...]:
    """The channels the process offers, and any channel that has records."""
    offered = {c for c in CHANNELS if getattr(process.channels, c) is not None}
    offered |= {r.channel for r in records}
    return tuple(c for c in CHANNELS if c in offered)


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


def merge_records(store: Store, process: Process, *, clock: datetime | None = None) -> MergeResult:
    """Decide every record again, take people's decisions, and count (see the module doc)."""
    with no_cycle_collection():
        return _merge_records(store, process, clock)


def _merge_records(store: Store, process: Process, clock: datetime | None) -> MergeResult:
    rows = _read(store, process)
    redecided, groups = _decide_again(store, process, rows)
    reviewed = review.reviewed_decisions(store, process)
    records = [_final(row, reviewed.get(row.record_id)) for row in rows]
    records = _one_counted(records, groups)
    channels = active_channels(process, records)
    pages = pages_by_state(store)
    unreadable = 0
    if pages.get(PageState.UNREADABLE.value):
        unreadable = sum(1 for item in review.list_items(store, process) if item.kind == "page")
    return MergeResult(process, records, tally_of(process, records), booth_counts(records, channels), pages,
                       unreadable, redecided,
                       sum(1 for r in records if r.by_review), channels, clock)


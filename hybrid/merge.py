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

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from hybrid import identity_votes, review, rules
from hybrid.definition import Process
from hybrid.errors import StoreProblem
from hybrid.identity_votes import VOTE_COLUMNS, cast_vote
from hybrid.states import PageState, Reason, RecordState
from hybrid.store import Store

CHANNELS = ("paper", "sms", "voice")
BOOTHS = {"paper": "Papier", "sms": "SMS", "voice": "Telefon"}  # CONSUL booth names, one per channel
_CONTENT_REASONS = frozenset({Reason.OVERVOTE, Reason.OVER_BUDGET})


@dataclass(frozen=True, slots=True)
class MergedRecord:
    """One ballot or message and what became of it.

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
    extra: Mapping[str, object] = field(default_factory=dict)

    @property
    def awaiting_review(self) -> list[MergedRecord]:
        return [r for r in self.records if r.state is RecordState.REVIEW]

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
    stored: identity_votes.StoredVote
    source: str
    received_at: str | None
    identity: str | None
    is_vote: bool


def _read(store: Store, process: Process) -> list[_Row]:
    rows = store.conn.execute(
        f"SELECT {VOTE_COLUMNS}, r.code_hash, r.phone_hash, r.source FROM records r "
        "LEFT JOIN ballots b ON b.code_hash = r.code_hash ORDER BY r.record_id")
    out = []
    for row in rows:
        stored = cast_vote(*row[:11])
        channel, own_status = row[1], row[6]
        is_vote = channel == "paper" or own_status is not None
        identity = rules.identity_key(process, row[11], row[12]) if is_vote else None
        out.append(_Row(stored, row[13], row[5], identity, is_vote))
    return out


def _decide_again(store: Store, process: Process, rows: list[_Row]) -> int:
    """decide_votes over every identity; write back what changed. Returns records changed."""
    by_identity: dict[str, list[_Row]] = defaultdict(list)
    for row in rows:
        if row.identity is not None:
            by_identity[row.identity].append(row)
    stale: list[str] = []
    for identity, group in by_identity.items():
        decisions = rules.decide_votes(process, [r.stored.vote for r in group])
        for row in group:
            decision = decisions[row.stored.vote.vote_id]
            if (decision.state, decision.reasons) != (row.stored.status, row.stored.reasons):
                stale.append(identity)
                break
    changed = 0
    by_id = {row.stored.vote.vote_id: row for row in rows}
    for identity in stale:
        for _ in range(8):
            try:
                with store.transaction():
                    identity_votes.lock_identity(store, identity)
                    stored, holder = identity_votes.read_votes(store, identity)
                    decisions = rules.decide_votes(process, [s.vote for s in stored.values()])
                    changed += len(identity_votes.apply_decisions(store, identity, stored, holder, decisions,
                                                                  by="merge"))
                break
            except identity_votes.ClaimLost:
                continue
        else:
            raise StoreProblem(f"{identity}: its votes kept changing while merging; run merge again")
        for record_id, decision in decisions.items():
            if record_id in by_id:
                by_id[record_id].stored.status = decision.state
                by_id[record_id].stored.reasons = decision.reasons
    return changed


# -- the final decision of every record ---------------------------------------------------------------------

def _final(row: _Row, reviewed: review.EffectiveDecision | None) -> MergedRecord:
    stored, vote = row.stored, row.stored.vote
    common = dict(record_id=vote.vote_id, channel=vote.channel, serial=stored.serial, source=row.source,
                  received_at=row.received_at)
    if reviewed is not None and not reviewed.pending:
        state, reasons, choices = reviewed.state, tuple(reviewed.reasons), dict(reviewed.choices)
        invalid = reviewed.invalid_ballot
        by_review, pending = reviewed.by_review, False
    else:
        state, reasons, choices = stored.status, stored.reasons, dict(vote.choices)
        invalid = (state is RecordState.REJECTED and vote.channel in rules.PHONE_CHANNELS and vote.own is not None
                   and bool(set(vote.own.reasons) & _CONTENT_REASONS))
        by_review, pending = False, reviewed is not None and reviewed.pending
    if invalid and Reason.INVALID_CONTENT not in reasons:
        reasons = tuple(sorted({*reasons, Reason.INVALID_CONTENT}, key=lambda r: r.value))
    counted = state is RecordState.COUNTED
    choices = {q: tuple(opts) for q, opts in choices.items() if opts}
    return MergedRecord(**common, state=state, reasons=reasons, choices=choices, blank=counted and not choices,
                        invalid_ballot=invalid, by_review=by_review, pending_review=pending)


def _one_counted(records: list[MergedRecord], identities: Mapping[int, str]) -> list[MergedRecord]:
    """At most one COUNTED record per identity; a reviewer's decision wins over the machine's."""
    counted: dict[str, list[int]] = defaultdict(list)
    for index, record in enumerate(records):
        identity = identities.get(record.record_id)
        if identity is not None and record.state is RecordState.COUNTED:
            counted[identity].append(index)
    for indexes in counted.values():
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
    for record in records:
        if record.state is RecordState.COUNTED:
            for question, options in record.counted_choices.items():
                for option in options:
                    counts[(question, option)][record.channel] += 1
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


def page_counts(store: Store) -> dict[str, int]:
    counts = {state.value: 0 for state in PageState}
    for state, n in store.conn.execute("SELECT state, COUNT(*) FROM pages GROUP BY state"):
        counts[state] = n
    return counts


def merge_records(store: Store, process: Process, *, clock: datetime | None = None) -> MergeResult:
    """Decide every record again, take people's decisions, and count (see the module doc)."""
    rows = _read(store, process)
    redecided = _decide_again(store, process, rows)
    reviewed = review.reviewed_decisions(store, process)
    records = [_final(row, reviewed.get(row.stored.vote.vote_id)) for row in rows]
    identities = {row.stored.vote.vote_id: row.identity for row in rows if row.identity is not None}
    records = _one_counted(records, identities)
    channels = active_channels(process, records)
    pages = page_counts(store)
    unreadable = sum(1 for item in review.list_items(store, process) if item.kind == "page")
    return MergeResult(process, records, tally_of(process, records), booth_counts(records, channels), pages,
                       unreadable, redecided,
                       sum(1 for r in records if r.by_review), channels, clock)


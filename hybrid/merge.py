"""One count from every channel (DESIGN §7, §8): every record's final decision, the tally
and CONSUL's booth figures.

`merge_records(store, process)` is the authority on what counts: it takes every record's
final decision from `final_records` with write-back (decisions that changed are stored,
with an audit entry "decision", by merge), and counts. A caller may rely on:
- Only COUNTED records carry choices into the tally; a COUNTED record without choices is
  blank (CONSUL's whites); a valid code with content that cannot count is an invalid
  ballot (CONSUL's nulls, reason invalid_content): a reviewer's "ballot invalid", or an
  SMS/voice vote whose content could not be taken and that nothing else replaced.
- `hybrid status` and `hybrid sms` read the same final decisions without writing, so
  their counts by channel and state are merge's.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from itertools import chain
from dataclasses import dataclass
from datetime import datetime

from hybrid import review
from hybrid.definition import Process
from hybrid.final_records import (
    CHANNELS, MergedRecord, final_records, no_cycle_collection, reason_counts, state_counts,
)
from hybrid.states import PageState, RecordState
from hybrid.store import Store
from hybrid.store.counts import pages_by_state

BOOTHS = {"paper": "Papier", "sms": "SMS", "voice": "Telefon"}  # CONSUL booth names, one per channel


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
        return state_counts(self.records, self.channels)

    def reason_counts(self) -> dict[str, Counter]:
        """channel → Counter of reasons over all its records."""
        return reason_counts(self.records, self.channels)


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


def merge_records(store: Store, process: Process, *, clock: datetime | None = None) -> MergeResult:
    """Decide every record again, take people's decisions, and count (see the module doc)."""
    with no_cycle_collection():
        return _merge_records(store, process, clock)


def _merge_records(store: Store, process: Process, clock: datetime | None) -> MergeResult:
    finals = final_records(store, process, write_back=True)
    records = finals.records
    channels = active_channels(process, records)
    pages = pages_by_state(store)
    unreadable = 0
    if pages.get(PageState.UNREADABLE.value):
        unreadable = sum(1 for item in review.list_items(store, process) if item.kind == "page")
    return MergeResult(process, records, tally_of(process, records), booth_counts(records, channels), pages,
                       unreadable, finals.redecided,
                       sum(1 for r in records if r.by_review), channels, clock)

"""Everything report.pdf shows about records, counted in one pass over them.

`report_figures(records)` walks the merged records exactly once (a million records take
about a second) and keeps only counters, so the size of what the report draws does not
grow with the number of records. `returns_over_time` turns the per-day counters into at
most `max_bars` bars: whole days while they fit, else runs of several days.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from hybrid.definition import Process
from hybrid.merge import MergedRecord
from hybrid.rules import BERLIN
from hybrid.states import RecordState

MAX_BARS = 31  # a month of days, each bar labelled in 8 pt; longer spans are drawn in runs of days
MARGIN_BEFORE = timedelta(days=14)  # early returns worth seeing; anything earlier is a mistyped date
MARGIN_AFTER = timedelta(days=42)  # late letters and SMS keep coming for weeks after the close


@dataclass(frozen=True)
class ReportFigures:
    states: Counter  # (channel, RecordState value) → records
    reasons: Counter  # (RecordState value, channel, Reason value) → records
    received: Counter  # (Berlin day ISO, channel) → records of that day
    counted: Counter  # (Berlin day ISO, channel) → COUNTED records of that day
    undated: Counter  # channel → records without a (readable) received date
    awaiting_review: Counter  # channel → records in REVIEW (listed, not counted)
    awaiting_second_reviewer: int  # of those, a person decided and a second one must confirm
    answered: Counter = field(default_factory=Counter)  # (channel, question) → counted ballots with a choice in it

    def without_answer(self, channel: str, question: str) -> int:
        """Counted ballots of `channel` that chose nothing (valid) in `question`: left blank, or invalid there."""
        return self.states[(channel, "counted")] - self.answered[(channel, question)]

    def channel_total(self, channel: str) -> int:
        return sum(n for (c, _), n in self.states.items() if c == channel)

    def reason_table(self, state: str) -> Counter:
        """(channel, reason) → records in `state` that carry that reason."""
        return Counter({(c, r): n for (s, c, r), n in self.reasons.items() if s == state})

    def with_reason(self, reason: str) -> Counter:
        """channel → records of any state that carry `reason`."""
        out: Counter = Counter()
        for (_, channel, r), n in self.reasons.items():
            if r == reason:
                out[channel] += n
        return out


def _berlin_day(stamp: str, cache: dict[str, str | None]) -> str | None:
    """The Europe/Berlin day (ISO) of a stored time or postal day; None when it cannot be read."""
    if len(stamp) == 10:
        key = stamp  # a paper ballot's postal day
    elif stamp.endswith("00"):
        key = stamp[:13] + stamp[-6:]  # whole-hour offset: one UTC hour lies within one Berlin day
    else:
        key = stamp
    if key in cache:
        return cache[key]
    try:
        if len(stamp) == 10:
            day: str | None = date.fromisoformat(stamp).isoformat()
        else:
            moment = datetime.fromisoformat(stamp)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=BERLIN)
            day = moment.astimezone(BERLIN).date().isoformat()
    except ValueError:
        day = None
    cache[key] = day
    return day


def report_figures(records: Iterable[MergedRecord]) -> ReportFigures:
    states: Counter = Counter()
    reasons: Counter = Counter()
    received: Counter = Counter()
    counted: Counter = Counter()
    undated: Counter = Counter()
    awaiting: Counter = Counter()
    second = 0
    cache: dict[str, str | None] = {}
    answered: Counter = Counter()
    counted_state, review_state = RecordState.COUNTED, RecordState.REVIEW
    for record in records:
        channel, state = record.channel, record.state
        states[(channel, state.value)] += 1
        if state is counted_state:
            for question in record.choices:  # a merged record's choices hold no empty question
                answered[(channel, question)] += 1
        day = _berlin_day(record.received_at, cache) if record.received_at else None
        if day is None:
            undated[channel] += 1
        else:
            received[(day, channel)] += 1
            if state is counted_state:
                counted[(day, channel)] += 1
        for reason in record.reasons:
            reasons[(state.value, channel, reason.value)] += 1
        if state is review_state:
            awaiting[channel] += 1
            if record.pending_review:
                second += 1
    return ReportFigures(states, reasons, received, counted, undated, awaiting, second, answered)


@dataclass(frozen=True)
class Returns:
    """Records per bar and channel. Bar i covers `days_per_bar` days from `starts[i]`;
    records dated before the first bar or after the last one are in `outside`."""

    starts: list[date]
    days_per_bar: int
    received: Mapping[str, list[int]]  # channel → records per bar
    counted: Mapping[str, list[int]]
    outside: Counter  # ("earlier" | "later", channel, "received" | "counted") → records not drawn

    @property
    def last_day(self) -> date:
        return self.starts[-1] + timedelta(days=self.days_per_bar - 1)

    def bar_label(self, index: int) -> str:
        start = self.starts[index]
        end = start + timedelta(days=self.days_per_bar - 1)
        form = "%d.%m." if self.starts[0].year == self.last_day.year else "%d.%m.%y"
        if self.days_per_bar == 1:
            return start.strftime(form)
        return f"{start.strftime(form)}–{end.strftime(form)}"


def window_days(process: Process) -> tuple[date, date]:
    """The first and last Berlin day that lie (at least partly) in [opens, closes)."""
    first = process.opens.astimezone(BERLIN).date()
    last = (process.closes - timedelta(microseconds=1)).astimezone(BERLIN).date()
    return first, last


def returns_over_time(figures: ReportFigures, process: Process, channels: Iterable[str],
                      max_bars: int = MAX_BARS) -> Returns:
    """The voting window and the days around it that have records, in at most `max_bars`
    bars. Days further than `MARGIN_BEFORE`/`MARGIN_AFTER` from the window are not drawn
    (a mistyped date must not squash the window into one bar); they are counted in
    `outside`."""
    first, last = window_days(process)
    earliest, latest = first - MARGIN_BEFORE, last + MARGIN_AFTER
    days = [d for d in (date.fromisoformat(day) for day, _ in figures.received) if earliest <= d <= latest]
    if days:
        first, last = min(first, *days), max(last, *days)
    span = (last - first).days + 1
    per_bar = max(1, math.ceil(span / max_bars))
    bars = math.ceil(span / per_bar)
    channels = tuple(channels)
    received = {c: [0] * bars for c in channels}
    counted = {c: [0] * bars for c in channels}
    outside: Counter = Counter()
    for (day, channel), n in figures.received.items():
        offset = (date.fromisoformat(day) - first).days
        if offset < 0 or offset >= bars * per_bar:
            side = "earlier" if offset < 0 else "later"
            outside[(side, channel, "received")] += n
            outside[(side, channel, "counted")] += figures.counted.get((day, channel), 0)
        elif channel in received:
            received[channel][offset // per_bar] += n
            counted[channel][offset // per_bar] += figures.counted.get((day, channel), 0)
    starts = [first + timedelta(days=i * per_bar) for i in range(bars)]
    return Returns(starts, per_bar, received, counted, outside)

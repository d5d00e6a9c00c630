"""`hybrid status`: where a process stands, from the store only (DESIGN §6, §8, §9).

`collect(store, process)` reads; it never writes. A caller may rely on:
- pages by PageState for every scan batch and in total, every state present (0 when
  none), with pages in = identified + skipped + duplicate + rejected + unreadable;
- records of every channel (paper, sms, voice) by RecordState, every state present,
  and their reasons (counts): each record's final state as `merge` would find it now
  (`final_records` without write-back: decisions merge would change are taken in memory;
  a person's decision in force counts, one awaiting a second reviewer does not);
- printed ballots (issued / void), review items (open / pending / decided, and the
  waiting ones by group, from `hybrid.review`), the audit chain's length and head, the
  retention date and the last purge;
- `needs_person` is true while review items are open or await a second reviewer
  (unreadable pages and comments included): `hybrid status` then exits 1.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from hybrid import audit, review
from hybrid.definition import Process
from hybrid.final_records import CHANNELS, final_records, reason_counts, state_counts
from hybrid.purge import purge_from
from hybrid.states import BallotState, RecordState
from hybrid.store import Store, audit_log, counts, pages


@dataclass(frozen=True)
class BatchPages:
    batch: str
    received: str  # the postal arrival date given to `scan`
    envelopes: int | None
    pages: dict[str, int]  # PageState value → pages

    @property
    def pages_in(self) -> int:
        return sum(self.pages.values())


@dataclass(frozen=True)
class ChannelRecords:
    channel: str
    states: dict[str, int]  # RecordState value → records
    reasons: dict[str, int]  # reason → records that carry it

    @property
    def total(self) -> int:
        return sum(self.states.values())


@dataclass(frozen=True)
class PhoneTraffic:
    sms_messages: int
    sms_deleted_at_twilio: int
    voice_calls: int
    calls_deleted_at_twilio: int


@dataclass(frozen=True)
class ProcessStatus:
    process_id: str
    kind: str
    identity: str
    opens: str
    closes: str
    purge_from: str  # closes + retention_days
    last_purge: str | None  # when the last purge ran (from the audit chain)
    batches: tuple[BatchPages, ...]
    pages: dict[str, int]  # every batch together
    records: tuple[ChannelRecords, ...]  # paper, sms, voice
    ballots: dict[str, int]  # issued, void
    phones: PhoneTraffic
    review: dict[str, int]  # open, pending, decided
    review_waiting: dict[str, int]  # group → items open or pending
    audit_entries: int
    audit_head: str

    @property
    def pages_in(self) -> int:
        return sum(self.pages.values())

    @property
    def needs_person(self) -> bool:
        return bool(self.review.get("open") or self.review.get("pending"))

    def as_json(self) -> dict[str, Any]:
        """The whole status as plain JSON types, with the derived totals spelled out."""
        body = asdict(self)
        body["pages_in"] = self.pages_in
        body["needs_person"] = self.needs_person
        for batch, shown in zip(self.batches, body["batches"], strict=True):
            shown["pages_in"] = batch.pages_in
        for channel, shown in zip(self.records, body["records"], strict=True):
            shown["total"] = channel.total
        return body


def collect(store: Store, process: Process) -> ProcessStatus:
    """The status of `process` from its open store (reads only)."""
    batches = tuple(BatchPages(b.name, b.received, b.envelopes, counts.pages_by_state(store, b.name))
                    for b in pages.batches(store))

    finals = final_records(store, process, write_back=False).records
    states, reasons = state_counts(finals, CHANNELS), reason_counts(finals, CHANNELS)
    channels = tuple(ChannelRecords(c, {s.value: states[c].get(s.value, 0) for s in RecordState},
                                    dict(sorted(reasons[c].items()))) for c in states)

    items = review.list_items(store, process, include_decided=True)
    waiting = Counter(item.group for item in items if item.needs_person)
    ballots = store.ballot_counts()
    sms, calls = counts.sms_messages(store), counts.voice_calls(store)
    return ProcessStatus(
        process_id=process.id, kind=process.kind, identity=process.identity, opens=process.opens.isoformat(),
        closes=process.closes.isoformat(), purge_from=purge_from(process).isoformat(),
        last_purge=audit_log.last_at(store, "purge"), batches=batches, pages=counts.pages_by_state(store),
        records=channels,
        ballots={state.value: int(ballots.get(state.value, 0)) for state in BallotState},
        phones=PhoneTraffic(sms.stored, sms.deleted_at_provider, calls.stored, calls.deleted_at_provider),
        review=review.counts(items), review_waiting=dict(waiting), audit_entries=audit_log.count(store),
        audit_head=audit.head(store),
    )

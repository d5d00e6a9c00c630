"""The machine-readable outputs of `hybrid merge` and `hybrid export cvr` (DESIGN §8).

CSV is UTF-8 with commas and exactly the columns of DESIGN §8. The public files carry no
personal data and cannot be joined back to a serial: ballots.csv has no choices, and
votes.csv has a random key per ballot, drawn anew by every merge, in shuffled rows.
Every public file whose rows stand for ballots (votes.csv, comments.csv, CONSUL's ballot
sheets) is put in an order drawn from the operating system's randomness (`shuffled`), so
no position can be matched to a serial, a record id or the order of arrival.
Lists of reasons are joined with ";".
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar
from functools import lru_cache
from pathlib import Path

import numpy as np

from hybrid.merge import CHANNELS, MergedRecord, MergeResult
from hybrid.review import ConfirmedComment
from hybrid.states import Reason, RecordState
from hybrid.results.tally_texts import tally_texts

BALLOTS_COLUMNS = ("record_id", "channel", "serial", "source", "received_at", "status", "reasons")
VOTES_COLUMNS = ("ballot_key", "channel", "question", "option")
# The texts last: the columns before them are a contract other programs read by position.
TALLY_COLUMNS = ("question", "option", "number", "consul_question_id", "consul_option", *CHANNELS, "total",
                 "question_text", "option_text")
COMMENTS_COLUMNS = ("channel", "language", "text")

T = TypeVar("T")


def shuffled(items: Sequence[T]) -> list[T]:
    """`items` in a uniformly random order from the operating system's randomness (a
    cryptographic source: nothing about the order can be predicted or replayed). Sorting
    by 64 random bits per item is as fast as numpy's shuffle at a million rows."""
    if len(items) < 2:
        return list(items)
    keys = np.frombuffer(os.urandom(8 * len(items)), dtype=np.uint64)
    return [items[i] for i in np.argsort(keys, kind="stable").tolist()]


def write_csv(path: Path, header: Iterable[str], rows: Iterable[Iterable[object]]) -> None:
    """Write one CSV file (UTF-8, commas, "\\n" line ends)."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


@lru_cache(maxsize=4096)
def _joined(reasons: tuple[Reason, ...]) -> str:
    return ";".join(r.value for r in reasons)


def write_plain_csv(path: Path, header: Iterable[str], rows: list[tuple[str, ...]]) -> None:
    """Like `write_csv` for rows of plain tokens (ids, hex keys: no comma, quote or line
    break, which the process definition's id patterns guarantee); three times faster."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(header) + "\n")
        for start in range(0, len(rows), 100_000):
            chunk = rows[start:start + 100_000]
            handle.write("\n".join(map(",".join, chunk)) + "\n")


def reasons_text(record: MergedRecord) -> str:
    return _joined(record.reasons)


def ballots_rows(records: Iterable[MergedRecord]) -> Iterator[tuple]:
    for r in records:
        yield (r.record_id, r.channel, "" if r.serial is None else r.serial, r.source, r.received_at or "",
               r.state.value, reasons_text(r))


def votes_rows(records: Iterable[MergedRecord]) -> list[tuple[str, str, str, str]]:
    """One row per counted choice, `shuffled`, keyed by a fresh random key per ballot
    (from the operating system's randomness)."""
    rows: list[tuple[str, str, str, str]] = []
    counted = [r for r in records if r.state is RecordState.COUNTED and r.choices]
    keys = _ballot_keys(len(counted))
    for key, record in zip(keys, counted):
        channel = record.channel
        for question, options in record.choices.items():
            for option in options:
                rows.append((key, channel, question, option))
    return shuffled(rows)


def _ballot_keys(count: int) -> list[str]:
    """`count` distinct random keys of 16 hex digits."""
    blob = os.urandom(8 * count).hex()
    keys = [blob[i:i + 16] for i in range(0, 16 * count, 16)]
    if len(set(keys)) < count:  # 64 bits: practically never; then draw again
        return _ballot_keys(count)
    return keys


def tally_rows(result: MergeResult) -> Iterator[tuple]:
    """The tally, with each question's and option's text as the platform shows it (German where there is one)."""
    process = result.process
    texts = tally_texts(process, "de" if "de" in process.languages else process.languages[0])
    for row in result.tally:
        yield (row.question, row.option, row.number, "" if row.consul_question_id is None else row.consul_question_id,
               row.consul_option, *(row.counts.get(c, 0) for c in CHANNELS), row.total,
               *texts[(row.question, row.option)])


def comments_rows(comments: Iterable[ConfirmedComment]) -> list[tuple[str, str, str]]:
    """Confirmed comment texts in random order (their order could hint at serials)."""
    return shuffled([("paper", c.language or "", c.text) for c in comments])


def write_cvr(path: Path, records: Iterable[MergedRecord]) -> int:
    """The confidential cast-vote records, one JSON object per line (DESIGN §8)."""
    count = 0
    with open(path, "w", encoding="utf-8") as handle:
        for r in records:
            handle.write(json.dumps({
                "record_id": r.record_id, "channel": r.channel, "serial": r.serial, "status": r.state.value,
                "reasons": [x.value for x in r.reasons], "choices": {q: list(v) for q, v in r.choices.items()},
            }, ensure_ascii=False) + "\n")
            count += 1
    return count

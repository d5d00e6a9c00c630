"""The machine-readable outputs of `hybrid merge` and `hybrid export cvr` (DESIGN §8).

CSV is UTF-8 with commas and exactly the columns of DESIGN §8. The public files carry no
personal data and cannot be joined back to a serial: ballots.csv has no choices, and
votes.csv has a random key per ballot, drawn anew by every merge, in shuffled rows.
Lists of reasons are joined with ";".
"""

from __future__ import annotations

import csv
import json
import random
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path

from hybrid.merge import CHANNELS, MergedRecord, MergeResult
from hybrid.review import ConfirmedComment

BALLOTS_COLUMNS = ("record_id", "channel", "serial", "source", "received_at", "status", "reasons")
VOTES_COLUMNS = ("ballot_key", "channel", "question", "option")
TALLY_COLUMNS = ("question", "option", "number", "consul_question_id", "consul_option", *CHANNELS, "total")
COMMENTS_COLUMNS = ("channel", "language", "text")


def write_csv(path: Path, header: Iterable[str], rows: Iterable[Iterable[object]]) -> int:
    """Write one CSV file; returns the number of data rows."""
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def reasons_text(record: MergedRecord) -> str:
    return ";".join(r.value for r in record.reasons)


def ballots_rows(records: Iterable[MergedRecord]) -> Iterator[tuple]:
    for r in records:
        yield (r.record_id, r.channel, "" if r.serial is None else r.serial, r.source, r.received_at or "",
               r.state.value, reasons_text(r))


def votes_rows(records: Iterable[MergedRecord], rng: random.Random | None = None) -> list[tuple[str, str, str, str]]:
    """One row per counted choice, shuffled, keyed by a fresh random key per ballot."""
    rng = rng or random.SystemRandom()
    rows: list[tuple[str, str, str, str]] = []
    used: set[str] = set()
    for record in records:
        choices = record.counted_choices
        if not choices:
            continue
        key = secrets.token_hex(8)
        while key in used:
            key = secrets.token_hex(8)
        used.add(key)
        for question, options in choices.items():
            for option in options:
                rows.append((key, record.channel, question, option))
    rng.shuffle(rows)
    return rows


def tally_rows(result: MergeResult) -> Iterator[tuple]:
    for row in result.tally:
        yield (row.question, row.option, row.number, "" if row.consul_question_id is None else row.consul_question_id,
               row.consul_option, *(row.counts.get(c, 0) for c in CHANNELS), row.total)


def comments_rows(comments: Iterable[ConfirmedComment], rng: random.Random | None = None) -> list[tuple[str, str, str]]:
    """Confirmed comment texts in random order (their order could hint at serials)."""
    rows = [("paper", c.language or "", c.text) for c in comments]
    (rng or random.SystemRandom()).shuffle(rows)
    return rows


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

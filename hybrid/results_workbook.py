"""results.xlsx: the tally and the accounting for staff (DESIGN §8).

No cell can start a formula: a text that begins with = + - @ (or a tab or carriage
return, which some programs skip) gets a leading apostrophe, as OWASP advises for CSV
and spreadsheet injection. A sheet that would pass Excel's row limit is cut, with a
note in its last row saying how many rows are in the CSV instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from openpyxl import Workbook

from hybrid.merge import BOOTHS, CHANNELS, MergeResult
from hybrid.public_files import BALLOTS_COLUMNS, ballots_rows

EXCEL_ROWS = 1_048_576  # rows per sheet, the header included
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """The value as a cell that cannot be read as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _sheet(book: Workbook, title: str, header: Iterable[str], rows: Iterable[Iterable[object]], *,
           row_limit: int, cut_note: str) -> int:
    """Append a sheet; returns the data rows written (a cut sheet ends in a note)."""
    sheet = book.create_sheet(title)
    sheet.append([safe_cell(h) for h in header])
    room = row_limit - 2  # the header, and a row kept for the note
    written = total = 0
    for row in rows:
        total += 1
        if written < room:
            sheet.append([safe_cell(v) for v in row])
            written += 1
    if total > written:
        sheet.append([safe_cell(cut_note.format(shown=written, total=total))])
    return written


def _tally_rows(result: MergeResult) -> Iterator[tuple]:
    process = result.process
    texts = {(item.question, item.option): process.text(item.text, process.languages[0]) for item in process.items()}
    questions = {q.id: process.text(q.text, process.languages[0]) for q in process.questions}
    questions["budget"] = process.budget.heading.name if process.budget else "budget"
    for row in result.tally:
        yield (row.number, questions.get(row.question, row.question), texts[(row.question, row.option)],
               row.question, row.option, row.consul_question_id, row.consul_option,
               *(row.counts.get(c, 0) for c in CHANNELS), row.total)


def _accounting_rows(result: MergeResult) -> Iterator[tuple]:
    states = result.state_counts()
    reasons = result.reason_counts()
    for channel in result.channels:
        for state, n in sorted(states.get(channel, {}).items()):
            yield (channel, "status", state, n)
        for reason, n in sorted(reasons.get(channel, {}).items()):
            yield (channel, "reason", reason, n)
    for state, n in result.pages.items():
        yield ("paper", "page", state, n)


def write_results_workbook(result: MergeResult, path: Path, *, head: str, row_limit: int = EXCEL_ROWS) -> None:
    book = Workbook(write_only=True)
    note = "… {shown} of {total} rows shown (Excel's row limit); every row is in the CSV files"
    _sheet(book, "Ergebnis", ("Nr.", "Frage", "Option", "question", "option", "consul_question_id", "consul_option",
                              "Papier", "SMS", "Telefon", "Gesamt"), _tally_rows(result),
           row_limit=row_limit, cut_note=note)
    _sheet(book, "CONSUL", ("Kabine", "Völlig leere Stimmzettel", "Ungültige Stimmzettel", "Stimmzettel gesamt"),
           ((b.booth, b.whites, b.nulls, b.total) for b in result.booths), row_limit=row_limit, cut_note=note)
    _sheet(book, "Abrechnung", ("Kanal", "Art", "Wert", "Anzahl"), _accounting_rows(result),
           row_limit=row_limit, cut_note=note)
    _sheet(book, "Prüfung", ("record_id", "channel", "serial", "reasons"),
           ((r.record_id, BOOTHS[r.channel], r.serial, ";".join(x.value for x in r.reasons))
            for r in result.awaiting_review), row_limit=row_limit, cut_note=note)
    _sheet(book, "Stimmzettel", BALLOTS_COLUMNS, ballots_rows(result.records), row_limit=row_limit, cut_note=note)
    _sheet(book, "Audit", ("audit_head",), [(head,)], row_limit=row_limit, cut_note=note)
    book.save(path)

"""results.xlsx: the tally and the accounting for staff (DESIGN §8).

One language per workbook: German headers with German values (gezählt, Papier, zu spät)
when the process's first language is German, else English throughout. Every sheet has a
bold header row that stays in view (frozen), filters on it, column widths that fit, and
numbers stored as numbers. While the merge is provisional, every sheet starts with a
red line saying so ("VORLÄUFIG / PROVISIONAL — nicht in CONSUL eintragen") and the header
follows beneath it.

No cell can start a formula: XlsxWriter is told never to turn strings into formulas,
and a text that begins with = + - @ (or a tab or carriage return, which some programs
skip) also gets a leading apostrophe, as OWASP advises for CSV and spreadsheet
injection (Excel would evaluate it once a person edits the cell). A sheet that would
pass Excel's row limit is cut, with a note in its last row saying how many rows are in
the CSV instead. Written with XlsxWriter in constant-memory mode: rows go to disk as
they are made, so a million records take flat memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from xlsxwriter import Workbook

from hybrid.merge import CHANNELS, MergeResult
from hybrid.results.report_labels import CHANNEL_DE, PAGE_STATE_DE, REASON_DE, RECORD_STATE_DE
from hybrid.results.tally_texts import tally_texts

EXCEL_ROWS = 1_048_576  # rows per sheet, the header included
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_MAX_WIDTH = 60


def safe_cell(value: object) -> object:
    """The value as a cell that cannot be read as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


@dataclass(frozen=True)
class Words:
    """Every word the workbook shows, in one language."""

    language: str
    sheets: dict[str, str]
    headers: dict[str, tuple[str, ...]]
    channels: dict[str, str]
    record_states: dict[str, str]
    page_states: dict[str, str]
    reasons: dict[str, str]
    kinds: dict[str, str]  # accounting: status | reason | page
    cut_note: str
    reasons_joiner: str = "; "


GERMAN = Words(
    "de",
    {"tally": "Ergebnis", "booths": "CONSUL", "accounting": "Abrechnung", "review": "Prüfung",
     "records": "Stimmzettel", "audit": "Audit"},
    {"tally": ("Nr.", "Frage", "Option", "Frage-ID", "Options-ID", "CONSUL-Frage", "CONSUL-Option", "Papier", "SMS",
               "Telefon", "Gesamt"),
     "booths": ("Wahlkabine", "Völlig leere Stimmzettel", "Ungültige Stimmzettel", "Stimmzettel gesamt"),
     "accounting": ("Kanal", "Art", "Wert", "Anzahl"),
     "review": ("Datensatz", "Kanal", "Seriennummer", "Gründe"),
     "records": ("Datensatz", "Kanal", "Seriennummer", "Quelle", "Eingang", "Status", "Gründe"),
     "audit": ("Audit-Kopf",)},
    dict(CHANNEL_DE), RECORD_STATE_DE, PAGE_STATE_DE, REASON_DE,
    {"status": "Status", "reason": "Grund", "page": "Seite"},
    "… {shown} von {total} Zeilen gezeigt (Zeilengrenze von Excel); alle Zeilen stehen in den CSV-Dateien",
)
ENGLISH = Words(
    "en",
    {"tally": "Results", "booths": "CONSUL", "accounting": "Accounting", "review": "Review", "records": "Records",
     "audit": "Audit"},
    {"tally": ("No.", "Question", "Option", "Question id", "Option id", "CONSUL question", "CONSUL option", "Paper",
               "SMS", "Phone", "Total"),
     "booths": ("Booth", "Totally blank ballots", "Invalid ballots", "Total ballots"),
     "accounting": ("Channel", "Kind", "Value", "Count"),
     "review": ("Record", "Channel", "Serial", "Reasons"),
     "records": ("Record", "Channel", "Serial", "Source", "Received", "Status", "Reasons"),
     "audit": ("Audit head",)},
    {"paper": "Paper", "sms": "SMS", "voice": "Phone"},
    {"not_a_vote": "not a vote"}, {}, {r: r.replace("_", " ") for r in REASON_DE},
    {"status": "status", "reason": "reason", "page": "page"},
    "… {shown} of {total} rows shown (Excel's row limit); every row is in the CSV files",
)


def words_for(language: str) -> Words:
    return GERMAN if language == "de" else ENGLISH


class _Sheets:
    """The workbook and its formats; one `sheet` call per sheet, rows streamed in order."""

    def __init__(self, path: Path, provisional: str | None, row_limit: int) -> None:
        self.book = Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                         "strings_to_urls": False, "strings_to_numbers": False})
        self.header = self.book.add_format({"bold": True, "bg_color": "#E8E8E8", "bottom": 1})
        self.banner = self.book.add_format({"bold": True, "font_color": "#B00000", "font_size": 14})
        self.provisional = provisional
        self.row_limit = row_limit

    def sheet(self, title: str, header: Sequence[str], rows: Iterable[Sequence[object]], *, widths: Sequence[int],
              cut_note: str) -> int:
        """Write one sheet; returns the data rows written (a cut sheet ends in a note)."""
        sheet = self.book.add_worksheet(title)
        for column, width in enumerate(widths):
            sheet.set_column(column, column, min(width, _MAX_WIDTH))
        top = 0
        if self.provisional:
            sheet.write_string(0, 0, self.provisional, self.banner)
            top = 1
        for column, name in enumerate(header):
            sheet.write_string(top, column, name, self.header)
        sheet.freeze_panes(top + 1, 0)
        room = self.row_limit - top - 2  # the header, and a row kept for the note
        written = total = 0
        row_index = top + 1
        write_string, write_number = sheet.write_string, sheet.write_number
        for row in rows:
            total += 1
            if written >= room:
                continue
            for column, value in enumerate(row):
                if value is None or value == "":
                    continue
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    write_number(row_index, column, value)
                else:
                    write_string(row_index, column, str(safe_cell(value)))
            written += 1
            row_index += 1
        if total > written:
            sheet.write_string(row_index, 0, str(safe_cell(cut_note.format(shown=written, total=total))))
        sheet.autofilter(top, 0, top + max(written, 1), len(header) - 1)
        return written

    def close(self) -> None:
        self.book.close()


def _tally_rows(result: MergeResult, language: str) -> Iterator[tuple]:
    texts = tally_texts(result.process, language)
    for row in result.tally:
        question, option = texts[(row.question, row.option)]
        yield (row.number, question, option, row.question, row.option, row.consul_question_id,
               _number_or_text(row.consul_option), *(row.counts.get(c, 0) for c in CHANNELS), row.total)


def _number_or_text(value: str) -> object:
    return int(value) if value.isdigit() else value


def _accounting_rows(result: MergeResult, words: Words) -> Iterator[tuple]:
    states = result.state_counts()
    reasons = result.reason_counts()
    for channel in result.channels:
        name = words.channels.get(channel, channel)
        for state, n in sorted(states.get(channel, {}).items()):
            yield (name, words.kinds["status"], words.record_states.get(state, state), n)
        for reason, n in sorted(reasons.get(channel, {}).items()):
            yield (name, words.kinds["reason"], words.reasons.get(reason, reason), n)
    for state, n in result.pages.items():
        yield (words.channels["paper"], words.kinds["page"], words.page_states.get(state, state), n)


def _record_rows(result: MergeResult, words: Words) -> Iterator[tuple]:
    channels, states, reasons = words.channels, words.record_states, words.reasons
    joined: dict[tuple, str] = {}
    for r in result.records:
        text = joined.get(r.reasons)
        if text is None:
            text = joined[r.reasons] = words.reasons_joiner.join(reasons.get(x.value, x.value) for x in r.reasons)
        yield (r.record_id, channels.get(r.channel, r.channel), r.serial, r.source, r.received_at,
               states.get(r.state.value, r.state.value), text)


def write_results_workbook(result: MergeResult, path: Path, *, head: str, provisional: str | None = None,
                           language: str | None = None, row_limit: int = EXCEL_ROWS) -> None:
    """Write results.xlsx. `provisional`: the notice to put above every sheet (None when final);
    `language`: "de" or "en" (default: German if it is the process's first language)."""
    words = words_for(language or ("de" if result.process.languages[0] == "de" else "en"))
    book = _Sheets(path, provisional, row_limit)
    note = words.cut_note
    heads = words.headers
    book.sheet(words.sheets["tally"], heads["tally"], _tally_rows(result, words.language),
               widths=(6, 40, 40, 10, 10, 14, 14, 10, 10, 10, 10), cut_note=note)
    book.sheet(words.sheets["booths"], heads["booths"],
               ((b.booth, b.whites, b.nulls, b.total) for b in result.booths),  # CONSUL's booth names
               widths=(14, 24, 22, 20), cut_note=note)
    book.sheet(words.sheets["accounting"], heads["accounting"], _accounting_rows(result, words),
               widths=(12, 10, 34, 12), cut_note=note)
    book.sheet(words.sheets["review"], heads["review"],
               ((r.record_id, words.channels.get(r.channel, r.channel), r.serial,
                 words.reasons_joiner.join(words.reasons.get(x.value, x.value) for x in r.reasons))
                for r in result.awaiting_review), widths=(12, 10, 14, 50), cut_note=note)
    book.sheet(words.sheets["records"], heads["records"], _record_rows(result, words),
               widths=(12, 10, 14, 40, 27, 16, 40), cut_note=note)
    book.sheet(words.sheets["audit"], heads["audit"], [(head,)], widths=(70,), cut_note=note)
    book.close()

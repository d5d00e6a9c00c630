"""report.pdf and consul/entry-sheet.pdf, read back with pdfplumber.

A council member reads the report: the figures must be the merge's figures, the audit
head must be on every page, and the limits of the count must be stated. A CONSUL officer
types from the entry sheet: CONSUL's labels, CONSUL's option order, one booth per page.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pdfplumber
import pytest
from paper_deck import EXAMPLES, open_deck

from hybrid.results.consul_files import ConsulFiles, write_budget_files
from hybrid.definition_file import load_process, parse_process
from hybrid.results.entry_sheet import write_entry_sheet
from hybrid.merge import MergedRecord, MergeResult, active_channels, booth_counts, tally_of
from hybrid.results.merge_outputs import write_merge
from hybrid.results.report_figures import MAX_BARS, report_figures, returns_over_time
from hybrid.results.report_pdf import LIMITS_DE, LIMITS_EN, write_report
from hybrid.states import MarkState, Reason, RecordState

# Its module fixtures are built once: all of its tests run on one worker of `-n auto`.
pytestmark = pytest.mark.xdist_group("test_report_pdf")

HEAD = "3f9a1c2e" * 8
GENERATED = datetime(2027, 6, 2, 9, 30, tzinfo=timezone.utc)
PAGES = {"identified": 14, "skipped": 9, "duplicate": 1, "rejected": 2, "unreadable": 1}
C, REVIEW, REJECTED = RecordState.COUNTED, RecordState.REVIEW, RecordState.REJECTED
SMS_TIME = "2027-05-08T10:00:00.000000+00:00"


def read_pages(path: Path) -> list[str]:
    """Each page's text with runs of whitespace made one space (wrapped lines join up)."""
    with pdfplumber.open(path) as pdf:
        return [" ".join((page.extract_text() or "").split()) for page in pdf.pages]


def in_order(text: str, *parts: str) -> None:
    """Each part occurs in `text`, each after the one before (wrapped cells interleave lines)."""
    at = 0
    for part in parts:
        found = text.find(part, at)
        assert found >= 0, f"{part!r} not found after position {at} in: {text}"
        at = found + len(part)


def record(n: int, channel: str, state: RecordState = C, choices: dict | None = None, *,
           received: str | None = None, reasons: tuple[Reason, ...] = (), **flags) -> MergedRecord:
    received = received or ("2027-05-10" if channel == "paper" else SMS_TIME)
    return MergedRecord(n, channel, n, f"{channel}:{n}", received, state, reasons, choices or {}, **flags)


def result_of(process, records: list[MergedRecord], pages: dict | None = None, reviewed: int = 0) -> MergeResult:
    channels = active_channels(process, records)
    return MergeResult(process, records, tally_of(process, records), booth_counts(records, channels),
                       pages or PAGES, (pages or PAGES)["unreadable"], 0, reviewed, channels, GENERATED)


def no_sheets() -> ConsulFiles:
    return ConsulFiles([], [], Counter(), Counter())


# -- a poll ------------------------------------------------------------------------------------------------

def poll_records() -> list[MergedRecord]:
    """q1 a: paper 5, SMS 3, phone 1; q1 b: paper 2. Whites: paper 2, SMS 1; nulls: SMS 1."""
    out: list[MergedRecord] = []
    add = lambda *a, **k: out.append(record(len(out) + 1, *a, **k))  # noqa: E731
    for _ in range(5):
        add("paper", C, {"q1": ("a",), "q2": ("a", "b")})
    for _ in range(2):
        add("paper", C, {"q1": ("b",)})
    for _ in range(3):
        add("sms", C, {"q1": ("a",), "q3": ("yes",)})
    add("voice", C, {"q1": ("a",)})
    add("paper", C, blank=True)
    add("paper", C, blank=True)
    add("sms", C, blank=True)
    add("sms", REJECTED, {"q1": ("a", "b")}, reasons=(Reason.INVALID_CONTENT, Reason.OVERVOTE), invalid_ballot=True)
    add("paper", REVIEW, {"q1": ("c",)}, reasons=(Reason.MARGINAL_MARK,))
    add("paper", REVIEW, {"q1": ("c",)}, reasons=(Reason.MARGINAL_MARK,), pending_review=True)
    add("paper", REJECTED, {"q1": ("a",)}, received="2027-06-03", reasons=(Reason.LATE,))
    add("sms", REJECTED, {"q1": ("a",)}, received="2027-06-01T08:00:00.000000+00:00", reasons=(Reason.LATE,))
    add("sms", RecordState.NOT_A_VOTE)
    add("sms", RecordState.NOT_A_VOTE)
    add("paper", RecordState.DUPLICATE, {"q1": ("a",)})
    return out


@pytest.fixture(scope="module")
def poll_process():
    # CONSUL's given order differs from the printed order in q1: the entry sheet must follow CONSUL.
    text = (EXAMPLES / "poll.yaml").read_text(encoding="utf-8")
    text = text.replace("      - id: a\n        consul_order: 1", "      - id: a\n        consul_order: 2", 1)
    text = text.replace("      - id: b\n        consul_order: 2", "      - id: b\n        consul_order: 1", 1)
    return parse_process(text, "poll.yaml")


@pytest.fixture(scope="module")
def poll_pdfs(poll_process, tmp_path_factory):
    folder = tmp_path_factory.mktemp("poll")
    result = result_of(poll_process, poll_records(), reviewed=3)
    write_report(result, folder / "report.pdf", head=HEAD, consul=no_sheets(), generated_at=GENERATED)
    write_entry_sheet(result, folder / "entry-sheet.pdf", consul=no_sheets())
    return read_pages(folder / "report.pdf"), read_pages(folder / "entry-sheet.pdf")


def test_the_report_carries_the_full_head_hash_on_the_title_page_and_every_footer(poll_pdfs):
    report, _ = poll_pdfs
    assert "Bürgerbefragung: Zukunft des Mainufers" in report[0]
    # The window in one wording: its first and its last day (closes is exclusive: 1 June, 00:00).
    assert "03.05.2027 bis 31.05.2027 (letzter Tag / last day, Europe/Berlin)" in report[0]
    assert "bis vor" not in " ".join(report) and "01.06.2027" not in " ".join(report)
    assert "02.06.2027, 11:30 Uhr" in report[0]  # generated, in Berlin time
    assert f"hybrid audit verify --head {HEAD}" in report[0]
    for number, page in enumerate(report, start=1):
        assert f"Audit-Kopf / audit head: {HEAD}" in page, number
        assert f"Seite {number} von {len(report)}" in page
    assert 5 <= len(report) <= 9


def test_the_report_shows_each_options_figures_per_channel(poll_pdfs):
    report, _ = poll_pdfs
    text = " ".join(report)
    # Nr., option, paper, SMS, phone, total, share of the counted ballots (9 paper, 4 SMS, 1 phone)
    assert "1 Als ruhige Grünfläche zum Verweilen 5 3 1 9 64,3 %" in text
    assert "2 Für Gastronomie und Veranstaltungen 2 0 0 2 14,3 %" in text
    assert "5 Mehr Sitzbänke und Schatten 5 0 0 5 35,7 %" in text  # a share for every question
    assert "10 Ja 0 3 0 3 21,4 %" in text
    # Per question the ballots without a valid answer, so the lines add up to the counted ballots.
    in_order(text, "Frage 1:", "ohne Antwort / ungültig (no answer / invalid) 2 1 0 3 21,4 %",
             "gezählte Stimmzettel / counted ballots 9 4 1 14 100,0 %", "Frage 2:",
             "ohne Antwort / ungültig (no answer / invalid) 4 4 1 9 64,3 %", "Frage 3:",
             "ohne Antwort / ungültig (no answer / invalid) 9 1 1 11 78,6 %")
    assert "1 · Als ruhige Grünfläche zum Verweilen" in text  # the chart's label
    assert "Papier SMS Telefon" in text  # the chart's legend


def test_the_report_accounts_for_every_page_and_record(poll_pdfs):
    report, _ = poll_pdfs
    text = " ".join(report)
    assert ("Seiten eingelesen 27 = erkannt 14 + übersprungen 9 + doppelt 1 + zurückgewiesen 2 + unlesbar 1"
            in text)
    assert "gezählt / counted 9 4 1 14" in text
    assert "zur Prüfung / review 2 0 0 2" in text
    assert "zurückgewiesen / rejected 1 2 0 3" in text
    assert "keine Stimme / not_a_vote 0 2 0 2" in text
    assert "doppelt / duplicate 1 0 0 1" in text
    assert "Summe / total 13 8 1 22" in text
    assert "von Menschen entschieden / decided by people 3" in text
    assert "warten auf Prüfung (nicht gezählt) / awaiting review (not counted) 2" in text
    assert "davon: warten auf zweite Person / of which: pending a second reviewer 1" in text
    assert "zu spät / late 1 1 0 2" in text
    assert "ungültiger Inhalt / invalid_content 0 1 0 1" in text
    assert "Achtung: 2 Datensätze warten auf eine Prüfung" in report[0]


def test_the_report_gives_consuls_booth_figures_and_the_limits(poll_pdfs):
    report, _ = poll_pdfs
    text = " ".join(report)
    in_order(text, "Zahlen für CONSUL", "Völlig leere Stimmzettel", "Ungültige Stimmzettel", "Stimmzettel gesamt",
             "Papier 2 0 7 SMS 1 1 3 Telefon 0 0 1 Summe / total 3 1 11")
    assert LIMITS_DE in text and LIMITS_EN in text
    assert "Papier: es zählt der Posteingangstag" in text and "vom 03.05.2027 bis 31.05.2027" in text
    assert "SMS und Telefon: es zählt Twilios Zeitstempel" in text
    for heading in ("Ergebnisse", "Eingänge im Zeitverlauf", "Abrechnung", "Zahlen für CONSUL",
                    "Grenzen dieser Zählung"):
        assert heading in text


def test_returns_over_time_count_days_in_berlin_time(poll_pdfs):
    report, _ = poll_pdfs
    text = " ".join(report)
    # Paper arrived 10 May, SMS and the call on 8 May (10:00 UTC), one late paper on 3 June, one late SMS on
    # 1 June 08:00 UTC = 10:00 in Berlin. Columns: all records per channel, then counted per channel.
    in_order(text, "08.05. 0 7 1 0 4 1", "10.05. 12 0 0 9 0 0", "01.06. 0 1 0 0 0 0", "03.06. 1 0 0 0 0 0",
             "Summe / total 13 8 1 9 4 1")


def test_the_entry_sheet_starts_with_the_consul_settings_to_check(poll_pdfs):
    _, sheet = poll_pdfs
    first = sheet[0]
    in_order(first, "Einstellungen in CONSUL prüfen", "Abstimmung (Poll) in CONSUL 12",
             "letzter Tag / last day 31.05.2027", "31.05.2027 – 07.06.2027",  # Poll::RECOUNT_DURATION
             "Frage 31 für Stimmen vor Ort (physisch) freigegeben", "2, 1, 3, 4",  # CONSUL's order of q1
             "Frage 32", "Frage 33", "geprüft am")
    assert "VORLÄUFIG" not in " ".join(sheet)  # written as final: unmarked


def test_the_entry_sheet_has_one_page_per_booth_like_consuls_results_form(poll_pdfs):
    _, sheet = poll_pdfs
    sheet = sheet[1:]  # after the checklist
    assert len(sheet) == 3
    booths = [("Papier", "2 0 7"), ("SMS", "1 1 3"), ("Telefon", "0 0 1")]
    for page, (booth, figures) in zip(sheet, booths, strict=True):
        assert "Bürgerbefragung: Zukunft des Mainufers - Ergebnisse hinzufügen" in page
        assert f"Wahlkabine: {booth}" in page
        assert "Datum:" in page and "eingetragen am" in page and "von" in page
        assert f"Völlig leere Stimmzettel Ungültige Stimmzettel Stimmzettel gesamt {figures}" in page
        assert "Jede Kabine nur einmal eintragen" in page
    paper = sheet[0]
    # q1 in CONSUL's given order: b (order 1) before a (order 2), each with its amount.
    in_order(paper, "(CONSUL-Frage 31)", "1. Für Gastronomie und", "2. Als ruhige Grünfläche",
             "3. Für Sport und Bewegung 2 5 0", "4. So lassen, wie es heute ist 0", "(CONSUL-Frage 32)")
    in_order(paper, "(CONSUL-Frage 33) 1. Ja 2. Nein 0 0")
    in_order(sheet[1], "(CONSUL-Frage 31)", "3. Für Sport und Bewegung 0 3 0", "(CONSUL-Frage 33) 1. Ja 2. Nein 3 0")


def test_days_are_berlin_days_and_stray_dates_do_not_squash_the_chart(poll_process):
    records = [
        record(1, "sms", received="2027-05-20T21:59:59.000000+00:00"),  # 23:59:59 in Berlin: 20 May
        record(2, "sms", received="2027-05-20T22:00:00.000000+00:00"),  # midnight in Berlin: 21 May
        record(3, "paper", received="2017-05-20"),  # a mistyped year
        record(4, "paper", received="2027-07-30", state=REJECTED, reasons=(Reason.LATE,)),  # far too late
        record(5, "voice", received="not a time"),
    ]
    figures = report_figures(records)
    assert figures.received[("2027-05-20", "sms")] == 1 and figures.received[("2027-05-21", "sms")] == 1
    assert figures.undated == Counter({"voice": 1})
    returns = returns_over_time(figures, poll_process, ("paper", "sms", "voice"))
    assert len(returns.starts) <= MAX_BARS and returns.days_per_bar == 1
    assert returns.starts[0] == datetime(2027, 5, 3).date() and returns.last_day == datetime(2027, 5, 31).date()
    assert returns.outside[("earlier", "paper", "received")] == 1
    assert returns.outside[("later", "paper", "received")] == 1 and returns.outside[("later", "paper", "counted")] == 0
    assert sum(returns.received["sms"]) == 2 == sum(returns.counted["sms"])


def test_a_long_span_is_drawn_in_runs_of_days(poll_process):
    records = [record(n, "paper", received=(datetime(2027, 4, 20) + timedelta(days=n)).date().isoformat())
               for n in range(90)]
    returns = returns_over_time(report_figures(records), poll_process, ("paper",))
    # 20 April to 18 July: six weeks after the close (to 12 July) are drawn, three days a bar
    # (at most MAX_BARS = 31, so that every bar has a legible label).
    assert returns.days_per_bar == 3 and len(returns.starts) == 28 <= MAX_BARS
    assert sum(returns.received["paper"]) == 84 and returns.outside[("later", "paper", "received")] == 6
    assert returns.bar_label(0) == "20.04.–22.04."


# -- a budget ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def budget_pdfs(tmp_path_factory):
    process = load_process(EXAMPLES / "budget.yaml")
    records: list[MergedRecord] = []
    for n in range(1, 1101):  # five sheet files of at most 250 lines
        records.append(record(n, "paper", C, {"budget": ("131", "141")}))
    for n in range(1101, 1141):
        records.append(record(n, "sms", C, {"budget": ("131",)}))
    # Over the heading's amount: CONSUL would drop an investment, so the ballot stays off the sheets.
    records.append(record(1141, "sms", C, {"budget": ("133", "142", "159", "169")}))
    records.append(record(1142, "voice", C, {"budget": ("150",)}))
    result = result_of(process, records)
    folder = tmp_path_factory.mktemp("budget")
    consul = write_budget_files(result, folder)
    write_report(result, folder / "report.pdf", head=HEAD, consul=consul, generated_at=GENERATED)
    write_entry_sheet(result, folder / "entry-sheet.pdf", consul=consul)
    return read_pages(folder / "report.pdf"), read_pages(folder / "entry-sheet.pdf")


def test_the_budget_report_shows_investments_prices_and_ballot_sheets(budget_pdfs):
    report, _ = budget_pdfs
    text = " ".join(report)
    assert "Bürgerhaushalt Würzburg 2027" in report[0]
    assert "Bereich Gesamtstadt: 500.000 €" in text
    # Shares of the 1,142 counted ballots.
    # (Long titles wrap in their column: the figures follow the title's first line.)
    in_order(text, "1 131 Trinkwasserbrunnen", "18.000 € 1.100 40 0 1.140 99,8 %")
    in_order(text, "3 133 Sichere", "165.000 € 0 1 0 1 0,1 %")
    in_order(text, "9 141 Calisthenics-Anlage", "45.000 € 1.100 0 0 1.100 96,3 %")
    in_order(text, "17 150 Sprachcafé", "7.500 € 0 0 1 1 0,1 %")
    in_order(text, "ohne Maßnahme (leer) /", "0 0 0 0 0,0 %", "gezählte Stimmzettel /", "1.100 41 1 1.142 100,0 %")
    assert "Papier 5 1.100 ballot-sheet-Papier-001.txt ballot-sheet-Papier-005.txt" in text
    assert "SMS 1 40 ballot-sheet-SMS-001.txt ballot-sheet-SMS-001.txt" in text
    in_order(text, "left out", "SMS über dem Betrag des Bereichs", "1", "(no_money_left)", "Grenzen dieser Zählung")
    assert LIMITS_DE in text
    for number, page in enumerate(report, start=1):
        assert f"Audit-Kopf / audit head: {HEAD}" in page and f"Seite {number} von {len(report)}" in page


def test_the_budget_entry_sheet_lists_every_file_with_a_tick_box(budget_pdfs):
    _, sheet = budget_pdfs
    assert len(sheet) == 2
    checklist, page = sheet
    in_order(checklist, "Einstellungen in CONSUL prüfen", "Bürgerhaushalt (Budget) in CONSUL 4",
             "„Gesamtstadt“: Preis (price) 500.000 €", "Abstimmungsart (voting style) knapsack",
             "max_ballot_lines", "genau diese 34", "131, 132, 133", "31.03.2027 – 07.04.2027")
    assert "Bürgerhaushalt Würzburg 2027 - Neue Wahlzettel" in page
    assert "Niemals eine Datei zweimal einfügen" in page and "Jede Datei nur einmal einfügen" in page
    assert "Wahlkabine: Papier – 5 Dateien, 1.100 Zeilen" in page
    for name, lines, span in (("Papier-001", "250", "1–250"), ("Papier-002", "250", "251–500"),
                              ("Papier-005", "100", "1.001–1.100"), ("SMS-001", "40", "1–40"),
                              ("Telefon-001", "1", "1–1")):
        assert f"ballot-sheet-{name}.txt {lines} {span}" in page
    assert "eingefügt am" in page
    in_order(page, "Nicht in den Dateien", "SMS über dem Betrag des Bereichs", "1", "over the heading's amount")


# -- through the real store ------------------------------------------------------------------------------

def test_merge_writes_both_pdfs_with_the_head_it_sealed(tmp_path: Path):
    process = load_process(EXAMPLES / "poll.yaml")
    deck = open_deck(tmp_path / "ws", process)
    try:
        by_item = {(it.question, it.option): it.number for it in process.items()}
        first, second, blank = deck.issue(3)
        deck.scan_ballot(first, {by_item[("q1", "c")]: MarkState.MARKED, by_item[("q3", "no")]: MarkState.MARKED})
        deck.scan_ballot(second, {by_item[("q1", "c")]: MarkState.MARKED})
        deck.scan_ballot(blank, {})
        done = write_merge(deck.store, process, tmp_path / "out", now=GENERATED, final=True)
    finally:
        deck.store.close()
    report = read_pages(tmp_path / "out" / "report.pdf")
    assert all(done.head in page for page in report)
    assert "3 Für Sport und Bewegung 2 0 0 2 66,7 %" in " ".join(report)
    sheet = read_pages(tmp_path / "out" / "consul" / "entry-sheet.pdf")
    assert "Völlig leere Stimmzettel Ungültige Stimmzettel Stimmzettel gesamt 1 0 2" in sheet[1]


# -- scale ------------------------------------------------------------------------------------------------------

def test_two_hundred_thousand_records_render_in_seconds(poll_process, tmp_path: Path):
    process = poll_process
    opens = process.opens.astimezone(timezone.utc)
    choices = [{"q1": (o,), "q2": ("a", "e"), "q3": ("yes",)} for o in "abcd"]
    channels = ("paper", "sms", "sms", "voice")
    records = []
    for n in range(200_000):
        channel = channels[n % 4]
        moment = opens + timedelta(seconds=n * 12)  # spread over four weeks
        received = moment.date().isoformat() if channel == "paper" else moment.isoformat(timespec="microseconds")
        state = C if n % 10 else (REVIEW if n % 20 else REJECTED)
        records.append(MergedRecord(n, channel, n, f"{channel}:{n}", received, state, (), choices[n % 4]))
    result = result_of(process, records)
    started = time.perf_counter()
    write_report(result, tmp_path / "report.pdf", head=HEAD, consul=no_sheets(), generated_at=GENERATED)
    write_entry_sheet(result, tmp_path / "entry-sheet.pdf", consul=no_sheets())
    took = time.perf_counter() - started
    assert took < 20, f"{took:.1f} s"
    report = read_pages(tmp_path / "report.pdf")
    total_q1_a = next(r.total for r in result.tally if (r.question, r.option) == ("q1", "a"))
    assert "Als ruhige Grünfläche zum Verweilen" in report[1]
    assert f"{total_q1_a:,}".replace(",", ".") in report[1]
    assert len(report) <= 10

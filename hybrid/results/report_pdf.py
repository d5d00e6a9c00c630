"""report.pdf: the offline channels' result for a city council (DESIGN §8).

German first, English in grey beneath; every page carries the full audit head hash and
"Seite n von N" in its footer. A caller may rely on:
- the sections, in order: title page (title, window, generated time, audit head); results
  per question or for the budget (a bar chart stacked by channel with each option's total,
  and a table); returns over time; accounting (pages, records by channel and state,
  review, reasons); the CONSUL totals; the limits of the count (DESIGN §4) and how the
  voting windows were applied;
- the figures are the ones in `result` (tally, booths) and `consul` (ballot sheets);
- its size does not grow with the number of records: records are counted in one pass
  (`report_figures`), days are drawn in at most `MAX_BARS` bars, options in charts of at
  most `OPTIONS_PER_CHART`, long texts are wrapped or shortened.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import CondPageBreak, KeepTogether, PageBreak, SimpleDocTemplate, Spacer

from hybrid.results.consul_files import ConsulFiles
from hybrid.merge import MergeResult, TallyRow
from hybrid.provisional import Provisional
from hybrid.results.report_charts import option_bars, returns_bars
from hybrid.results.report_figures import MAX_BARS, ReportFigures, report_figures, returns_over_time, window_days
from hybrid.results.report_labels import (
    CHANNEL_DE,
    LEFT_OUT_DE,
    PAGE_STATE_DE,
    REASON_DE,
    RECORD_STATE_DE,
    day_text,
    euros,
    label,
    moment_text,
    number,
    percent,
)
from hybrid.results.report_layout import (
    FRAME_W,
    GREY,
    MARGIN,
    MONO,
    PAGE_H,
    PAGE_W,
    SANS,
    Styles,
    draw_provisional,
    footed_canvas,
    grid_table,
    heading,
    para,
)
from hybrid.states import PageState, RecordState

OPTIONS_PER_CHART = 22  # a chart of 22 options still fits one page beside its heading

LIMITS_DE = ("hybrid kann nicht sehen, ob eine Person auch auf der CONSUL-Website abgestimmt hat. "
             "Eine Telefonnummer ist keine Person.")
LIMITS_EN = "hybrid cannot see whether a person also voted on the CONSUL website; a phone number is not a person."


def write_report(result: MergeResult, path: Path, *, head: str, consul: ConsulFiles | None, generated_at: datetime,
                 provisional: Provisional | None = None) -> None:
    """Write report.pdf for `result` to `path` (see the module doc for what it holds).
    `head` is the audit chain's head hash, printed in full on the title page and in every
    footer; `consul` is what `write_consul_folder` wrote for the same result (None under
    `platform: decidim`: the Decidim import's figures are shown instead). `provisional`
    marks every page (None for a final merge)."""
    styles = Styles()
    process = result.process
    figures = report_figures(result.records)
    title = process.text(process.title, process.languages[0])
    story: list = []
    story += _title_page(result, figures, styles, head=head, generated_at=generated_at, provisional=provisional)
    story.append(PageBreak())
    story += _results(result, figures, styles)
    story.append(PageBreak())
    story += _returns(result, figures, styles)
    story.append(CondPageBreak(120 * mm))
    story += _accounting(result, figures, styles)
    story.append(CondPageBreak(90 * mm))
    story += _consul_totals(result, consul, styles) if consul is not None else _decidim_totals(result, styles)
    story.append(CondPageBreak(110 * mm))
    story += _limits(result, figures, styles)

    def footer(canvas: Canvas, page: int, pages: int) -> None:
        canvas.saveState()
        canvas.setFillColor(GREY)
        canvas.setFont(SANS, 7)
        canvas.drawString(MARGIN, 12 * mm, title[:90])
        canvas.drawRightString(PAGE_W - MARGIN, 12 * mm, f"Seite {page} von {pages}")
        canvas.setFont(SANS, 6.5)
        canvas.drawString(MARGIN, 8.5 * mm, "Audit-Kopf / audit head:")
        canvas.setFont(MONO, 6.5)
        canvas.drawString(MARGIN + 29 * mm, 8.5 * mm, head or "—")
        canvas.setStrokeColor(GREY)
        canvas.setLineWidth(0.3)
        canvas.line(MARGIN, 15.5 * mm, PAGE_W - MARGIN, 15.5 * mm)
        canvas.restoreState()
        if provisional:
            draw_provisional(canvas, provisional.notice)

    doc = SimpleDocTemplate(str(path), pagesize=(PAGE_W, PAGE_H), leftMargin=MARGIN, rightMargin=MARGIN,
                            topMargin=17 * mm, bottomMargin=20 * mm, title=f"{title} – Bericht",
                            author="hybrid", subject="Papier-, SMS- und Telefonstimmen", creator="hybrid")
    doc.build(story, canvasmaker=footed_canvas(footer))


# -- title page ------------------------------------------------------------------------------------------------

def period_text(process) -> str:
    """The voting window in one wording everywhere: its first and its last day."""
    first, last = window_days(process)
    return f"{day_text(first)} bis {day_text(last)} (letzter Tag / last day, Europe/Berlin)"


def _title_page(result: MergeResult, figures: ReportFigures, styles: Styles, *, head: str,
                generated_at: datetime, provisional: Provisional | None) -> list:
    process = result.process
    first = process.languages[0]
    story: list = [Spacer(1, 18 * mm), para(process.text(process.title, first), styles.title)]
    if provisional:
        story += [para(provisional.notice, styles.warning), para(provisional.explanation_de(), styles.body),
                  para(provisional.explanation_en(), styles.body_en)]
    if "en" in process.title and process.title["en"] != process.title.get(first):
        story.append(para(process.title["en"], styles.subtitle))
    kind_de, kind_en = ("Abstimmung", "poll") if process.kind == "poll" else ("Bürgerhaushalt", "citizens' budget")
    story += [
        Spacer(1, 6 * mm),
        para(f"Bericht über die Stimmen auf Papier, per SMS und per Telefon – {kind_de}", styles.h2),
        para(f"Report on the votes cast on paper, by SMS and by phone – {kind_en}", styles.body_en),
        Spacer(1, 4 * mm),
    ]
    rows = [
        ["Zeitraum / voting window", period_text(process)],
        ["Erstellt / generated", moment_text(generated_at)],
        ["Kennung / process id", process.id],
    ]
    consul = process.consul
    ids = [f"poll {consul.poll_id}" if consul.poll_id is not None else "",
           f"budget {consul.budget_id}" if consul.budget_id is not None else ""]
    if any(ids):
        rows.append(["CONSUL", ", ".join(i for i in ids if i) + (f" – {consul.url}" if consul.url else "")])
    table = grid_table(rows, [52 * mm, FRAME_W - 52 * mm], numeric_from=2, header=False, styles=styles)
    story += [table, Spacer(1, 6 * mm)]
    story += [para("Audit-Kopf (Hash der Audit-Kette beim Erstellen)", styles.h2),
              para("Audit head (hash of the audit chain when this report was made)", styles.body_en),
              para(head or "—", styles.mono),
              para(f"Prüfen / verify: hybrid audit verify --head {head}" if head else "", styles.small_en),
              Spacer(1, 6 * mm)]
    story += [para("Auf einen Blick", styles.h2), para("At a glance", styles.body_en)]
    booths = {b.channel: b for b in result.booths}
    rows = [["Kanal / channel", "Datensätze / records", "gezählt / counted", "davon leer / blank",
             "ungültig / invalid", "zur Prüfung / in review"]]
    sums = [0] * 5
    for channel in result.channels:
        booth = booths.get(channel)
        values = [figures.channel_total(channel), figures.states[(channel, "counted")],
                  booth.whites if booth else 0, booth.nulls if booth else 0, figures.awaiting_review[channel]]
        sums = [a + b for a, b in zip(sums, values, strict=True)]
        rows.append([CHANNEL_DE[channel], *map(number, values)])
    rows.append(["Summe / total", *map(number, sums)])
    width = (FRAME_W - 34 * mm) / 5
    story.append(grid_table(rows, [34 * mm] + [width] * 5, total_row=True, styles=styles))
    story.append(Spacer(1, 4 * mm))
    waiting = sum(figures.awaiting_review.values())
    if waiting:
        story += [para(f"Achtung: {number(waiting)} Datensätze warten auf eine Prüfung durch Menschen und sind "
                       "nicht gezählt.", styles.warning),
                  para(f"{number(waiting)} records await review by a person and are not counted.", styles.body_en)]
    story += [para("Nur die Kanäle Papier, SMS und Telefon: die Stimmen auf der CONSUL-Website sind hier nicht "
                   "enthalten. CONSUL zählt beides zusammen, sobald die Zahlen eingetragen sind.", styles.body),
              para("Only the paper, SMS and phone channels: votes cast on the CONSUL website are not included. "
                   "CONSUL adds both up once these figures are entered.", styles.body_en)]
    return story


# -- results -------------------------------------------------------------------------------------------------

def _charts(rows: Sequence[TallyRow], labels: Sequence[str], channels: Sequence[str]) -> list:
    """Bar charts of at most OPTIONS_PER_CHART options each, split into equal parts."""
    parts = max(1, -(-len(rows) // OPTIONS_PER_CHART))
    size = -(-len(rows) // parts) if rows else 1
    charts = []
    for start in range(0, max(len(rows), 1), size):
        chunk = rows[start:start + size]
        counts = {c: [row.counts.get(c, 0) for row in chunk] for c in channels}
        charts.append(option_bars(labels[start:start + size], counts, channels, FRAME_W))
    return charts


def _answer_table(rows: Sequence[TallyRow], names: Sequence[list[str]], question: str, result: MergeResult,
                  figures: ReportFigures, styles: Styles, *, label_widths: Sequence[float], none_label: str):
    """The table under a chart: one line per option, then the counted ballots that chose
    nothing valid in `question` and the counted ballots in all, per channel, each with its
    share of the counted ballots. For one answer per ballot the lines add up to the
    counted ballots; with several, the options' lines count answers, not ballots."""
    channels = result.channels
    counted = {c: figures.states[(c, "counted")] for c in channels}
    ballots = sum(counted.values())
    labels = ["Nr.", "Antwort / option"] if len(label_widths) == 2 else ["Nr.", "ID", "Maßnahme / investment",
                                                                         "Preis / price"]
    header = [*labels, *(CHANNEL_DE[c] for c in channels), "Gesamt / total", "Anteil / share"]
    table_rows: list[list] = [header]
    for row, name in zip(rows, names, strict=True):
        table_rows.append([*name, *(number(row.counts.get(c, 0)) for c in channels), number(row.total),
                           percent(row.total, ballots)])
    blank = {c: figures.without_answer(c, question) for c in channels}
    text_column = list(label_widths).index(0)  # the widest label column: it takes the rest of the width

    def summary(words: str) -> list[str]:
        return ["" if i != text_column else words for i in range(len(label_widths))]

    table_rows.append([*summary(none_label), *(number(blank[c]) for c in channels), number(sum(blank.values())),
                       percent(sum(blank.values()), ballots)])
    table_rows.append([*summary("gezählte Stimmzettel / counted ballots"), *(number(counted[c]) for c in channels),
                       number(ballots), percent(ballots, ballots)])
    figures_w = [17 * mm] * len(channels) + [19 * mm, 15 * mm]  # the channels, the total, the share
    widths = list(label_widths)
    widths[text_column] = FRAME_W - sum(widths) - sum(figures_w)
    # Numbers from the channel columns on (a budget's price too: its last label column).
    return grid_table(table_rows, widths + figures_w, numeric_from=min(len(label_widths), 3),
                      total_row=True, styles=styles)


SHARE_NOTE_DE = ("Anteil = Anteil an den gezählten Stimmzetteln. „ohne Antwort / ungültig“: gezählte Stimmzettel, "
                 "die in dieser Frage nichts oder zu viel angekreuzt haben.")
SHARE_NOTE_EN = ("Share = of the counted ballots. \"No answer / invalid\": counted ballots with nothing, or too "
                 "much, marked in this question.")


def _results(result: MergeResult, figures: ReportFigures, styles: Styles) -> list:
    process = result.process
    first = process.languages[0]
    channels = result.channels
    story: list = heading(styles, "Ergebnisse", "Results: counted choices per option and channel")
    if process.kind == "poll":
        by_question: dict[str, list[TallyRow]] = {}
        for row in result.tally:
            by_question.setdefault(row.question, []).append(row)
        texts = {(q.id, o.id): o.text for q in process.questions for o in q.options}
        for index, question in enumerate(process.questions, start=1):
            rows = by_question.get(question.id, [])
            block: list = [para(f"Frage {index}: {process.text(question.text, first)}", styles.h2)]
            if "en" in question.text and first != "en":
                block.append(para(question.text["en"], styles.body_en))
            rule = ("eine Antwort" if question.max_choices == 1 else
                    f"bis zu {question.max_choices} Antworten (die Antworten ergeben mehr als die Stimmzettel)")
            block += [para(f"Je Stimmzettel {rule}. {SHARE_NOTE_DE}", styles.small),
                      para(SHARE_NOTE_EN, styles.small_en)]
            labels = [f"{row.number} · {process.text(texts[(row.question, row.option)], first)}" for row in rows]
            charts = _charts(rows, labels, channels)
            names = [[str(row.number), process.text(texts[(row.question, row.option)], first)] for row in rows]
            table = _answer_table(rows, names, question.id, result, figures, styles, label_widths=(10 * mm, 0),
                                  none_label="ohne Antwort / ungültig (no answer / invalid)")
            story.append(KeepTogether([*block, charts[0]]))
            story += charts[1:]
            story += [Spacer(1, 2 * mm), table, Spacer(1, 6 * mm)]
    else:
        budget = process.budget
        assert budget is not None
        heading_text = budget.heading.name
        style_de = ("Summe der Preise höchstens der Betrag" if budget.voting_style == "knapsack"
                    else f"höchstens {budget.max_lines} Maßnahmen")
        story += [para(f"Bereich {heading_text}: {euros(budget.heading.amount)} ({style_de})", styles.h2),
                  para("Stimmen je Maßnahme und Kanal. Welche Maßnahmen umgesetzt werden, berechnet CONSUL "
                       "zusammen mit den Stimmen der Website. Anteil = Anteil an den gezählten Stimmzetteln "
                       "(ein Stimmzettel wählt mehrere Maßnahmen).", styles.small),
                  para("Votes per investment and channel. CONSUL computes the winners together with the "
                       "website's votes. Share = of the counted ballots (a ballot chooses several).", styles.small_en)]
        investments = {inv.id: inv for inv in budget.investments}
        rows = list(result.tally)
        labels = [f"{row.number} · {process.text(investments[row.option].title, first)}" for row in rows]
        story += _charts(rows, labels, channels)
        story.append(Spacer(1, 3 * mm))
        names = []
        for row in rows:
            inv = investments[row.option]
            names.append([str(row.number), inv.id, process.text(inv.title, first),
                          euros(inv.price) if inv.price is not None else "–"])
        story.append(_answer_table(rows, names, "budget", result, figures, styles,
                                   label_widths=(10 * mm, 12 * mm, 0, 20 * mm),
                                   none_label="ohne Maßnahme (leer) / none chosen (blank)"))
    return story


# -- returns over time ---------------------------------------------------------------------------------------

def _returns(result: MergeResult, figures: ReportFigures, styles: Styles) -> list:
    channels = result.channels
    returns = returns_over_time(figures, result.process, channels)
    labels = [returns.bar_label(i) for i in range(len(returns.starts))]
    first, last = window_days(result.process)
    story: list = heading(styles, "Eingänge im Zeitverlauf", "Returns over time")
    unit = "ein Tag" if returns.days_per_bar == 1 else f"{returns.days_per_bar} Tage"
    story += [para(f"Je Balken {unit} (Europe/Berlin). Papier: Posteingangstag; SMS und Telefon: Zeitstempel "
                   f"von Twilio. Abstimmungszeitraum: {day_text(first)} bis {day_text(last)}.", styles.body),
              para(f"One bar per {'day' if returns.days_per_bar == 1 else f'{returns.days_per_bar} days'} "
                   "(Europe/Berlin). Paper: postal arrival day; SMS and phone: Twilio's timestamp. At most "
                   f"{MAX_BARS} bars are drawn.", styles.body_en)]
    story += [para("Alle Datensätze / all records", styles.h2),
              returns_bars(labels, returns.received, channels, FRAME_W),
              para("Gezählt / counted", styles.h2),
              returns_bars(labels, returns.counted, channels, FRAME_W)]
    undated = sum(figures.undated.values())
    if undated:
        parts = ", ".join(f"{CHANNEL_DE[c]} {number(n)}" for c, n in figures.undated.items() if n)
        story += [para(f"Ohne lesbares Eingangsdatum (nicht im Diagramm): {parts}.", styles.small),
                  para("Records without a readable received date are not drawn.", styles.small_en)]
    for side, german, english in (("earlier", f"vor dem {day_text(returns.starts[0])}", "earlier"),
                                  ("later", f"nach dem {day_text(returns.last_day)}", "later")):
        parts = ", ".join(f"{CHANNEL_DE[c]} {number(returns.outside[(side, c, 'received')])}" for c in channels
                          if returns.outside[(side, c, "received")])
        if parts:
            story += [para(f"Eingang {german} (nicht im Diagramm, in der Tabelle): {parts}.", styles.small),
                      para(f"Records dated {english} than the chart's range are listed in the table only.",
                           styles.small_en)]
    header = ["Tag / day", *(f"{CHANNEL_DE[c]} alle / all" for c in channels),
              *(f"{CHANNEL_DE[c]} gezählt / counted" for c in channels)]
    rows: list[list] = [header]
    sums = [0] * (2 * len(channels))

    def add(label_text: str, values: list[int]) -> None:
        nonlocal sums
        if any(values):
            rows.append([label_text, *map(number, values)])
            sums = [a + b for a, b in zip(sums, values, strict=True)]

    add("früher / earlier", [returns.outside[("earlier", c, kind)] for kind in ("received", "counted")
                             for c in channels])
    for i, label_text in enumerate(labels):
        add(label_text, [returns.received[c][i] for c in channels] + [returns.counted[c][i] for c in channels])
    add("später / later", [returns.outside[("later", c, kind)] for kind in ("received", "counted")
                           for c in channels])
    if len(rows) > 1:
        rows.append(["Summe / total", *map(number, sums)])
        width = (FRAME_W - 30 * mm) / (2 * len(channels))
        story += [Spacer(1, 3 * mm), grid_table(rows, [30 * mm] + [width] * (2 * len(channels)), total_row=True,
                                                styles=styles)]
    return story


# -- accounting ----------------------------------------------------------------------------------------------

def _accounting(result: MergeResult, figures: ReportFigures, styles: Styles) -> list:
    channels = result.channels
    story: list = heading(styles, "Abrechnung", "Accounting: every page and every record ends in exactly one state")
    pages = {state.value: result.pages.get(state.value, 0) for state in PageState}
    pages_in = sum(pages.values())
    story += [para("Gescannte Seiten / scanned pages", styles.h2),
              para(f"Seiten eingelesen {number(pages_in)} = " + " + ".join(
                  f"{PAGE_STATE_DE[s]} {number(n)}" for s, n in pages.items()), styles.body),
              para("pages in = identified + skipped + duplicate + rejected + unreadable", styles.body_en)]
    rows = [["Seitenzustand / page state", "Seiten / pages"]]
    rows += [[f"{PAGE_STATE_DE[s]} / {s}", number(n)] for s, n in pages.items()]
    rows.append(["eingelesen / pages in", number(pages_in)])
    story.append(grid_table(rows, [70 * mm, 30 * mm], total_row=True, styles=styles))
    if result.unreadable_pages:
        story.append(para(f"Unlesbare Seiten ({number(result.unreadable_pages)}) muss eine Person zuordnen "
                          "(hybrid review).", styles.small))

    story += [para("Datensätze nach Kanal und Zustand / records by channel and state", styles.h2)]
    rows = [["Zustand / state", *(CHANNEL_DE[c] for c in channels), "Summe / total"]]
    for state in RecordState:
        values = [figures.states[(c, state.value)] for c in channels]
        rows.append([f"{label(RECORD_STATE_DE, state.value)} / {state.value}", *map(number, values),
                     number(sum(values))])
    totals = [figures.channel_total(c) for c in channels]
    rows.append(["Summe / total", *map(number, totals), number(sum(totals))])
    width = (FRAME_W - 60 * mm) / (len(channels) + 1)
    story.append(grid_table(rows, [60 * mm] + [width] * (len(channels) + 1), total_row=True, styles=styles))
    story.append(para("Nur „gezählt“ geht in das Ergebnis ein. Eine Stimme je Code (bzw. Telefonnummer): doppelte "
                      "und ersetzte Datensätze sind weitere Nachrichten oder Scans derselben Stimme.", styles.small))

    awaiting = sum(figures.awaiting_review.values())
    story += [para("Prüfung durch Menschen / review", styles.h2)]
    rows = [["", "Datensätze / records"],
            ["von Menschen entschieden / decided by people", number(result.reviewed)],
            ["warten auf Prüfung (nicht gezählt) / awaiting review (not counted)", number(awaiting)],
            ["davon: warten auf zweite Person / of which: pending a second reviewer",
             number(figures.awaiting_second_reviewer)],
            ["von merge neu entschieden / re-decided by this merge", number(result.redecided)]]
    story.append(grid_table(rows, [120 * mm, 35 * mm], styles=styles))

    for state, german, english in (("rejected", "Zurückgewiesen nach Grund", "rejected, by reason"),
                                   ("review", "Zur Prüfung nach Grund", "awaiting review, by reason")):
        table = figures.reason_table(state)
        if not table:
            continue
        story.append(para(f"{german} / {english}", styles.h2))
        reasons = sorted({r for _, r in table}, key=lambda r: -sum(table[(c, r)] for c in channels))
        rows = [["Grund / reason", *(CHANNEL_DE[c] for c in channels), "Summe / total"]]
        for reason in reasons:
            values = [table[(c, reason)] for c in channels]
            rows.append([f"{label(REASON_DE, reason)} / {reason}", *map(number, values), number(sum(values))])
        story.append(grid_table(rows, [60 * mm] + [width] * (len(channels) + 1), styles=styles))
    story.append(para("Ein Datensatz kann mehrere Gründe tragen. / A record may carry several reasons.",
                      styles.small_en))
    return story


# -- CONSUL ----------------------------------------------------------------------------------------------------

def _consul_totals(result: MergeResult, consul: ConsulFiles, styles: Styles) -> list:
    story: list = heading(styles, "Zahlen für CONSUL", "CONSUL totals: what staff enter into CONSUL")
    if result.process.kind == "poll":
        story.append(para("Je Kanal eine Wahlkabine. „Stimmzettel gesamt“ zählt nur gültige Stimmzettel; CONSUL "
                          "addiert leere und ungültige selbst dazu. Jede Kabine genau einmal eintragen "
                          "(consul/entry-sheet.pdf).", styles.body))
        story.append(para("One booth per channel. Total = valid ballots only; CONSUL adds blank and invalid ones. "
                          "Enter each booth exactly once.", styles.body_en))
        rows = [["Wahlkabine / booth", "Völlig leere Stimmzettel", "Ungültige Stimmzettel", "Stimmzettel gesamt"]]
        for booth in result.booths:
            rows.append([booth.booth, number(booth.whites), number(booth.nulls), number(booth.total)])
        rows.append(["Summe / total", number(sum(b.whites for b in result.booths)),
                     number(sum(b.nulls for b in result.booths)), number(sum(b.total for b in result.booths))])
        story.append(grid_table(rows, [30 * mm] + [(FRAME_W - 30 * mm) / 3] * 3, total_row=True, styles=styles))
        return story
    story.append(para("Stimmzettel-Dateien (ballot sheets) je Wahlkabine: jede Zeile ist ein Stimmzettel. Jede Datei "
                      "genau einmal einfügen – CONSUL zählt eine zweimal eingefügte Datei doppelt.", styles.body))
    story.append(para("Ballot-sheet files per booth: one ballot per line. Paste each file exactly once.",
                      styles.body_en))
    per_booth: dict[str, list] = {}
    for sheet in consul.sheets:
        per_booth.setdefault(sheet.booth, []).append(sheet)
    rows = [["Wahlkabine / booth", "Dateien / files", "Zeilen / lines", "erste / first", "letzte / last"]]
    for booth, sheets in per_booth.items():
        rows.append([booth, number(len(sheets)), number(sum(s.lines for s in sheets)), sheets[0].name,
                     sheets[-1].name])
    if len(rows) == 1:
        rows.append(["–", "0", "0", "", ""])
    story.append(grid_table(rows, [30 * mm, 20 * mm, 22 * mm, (FRAME_W - 72 * mm) / 2, (FRAME_W - 72 * mm) / 2],
                            numeric_from=1, styles=styles))
    story.append(para("Ausgelassen (nicht voll gültig nach den Regeln von CONSUL) / left out", styles.h2))
    if consul.left_out:
        rows = [["Wahlkabine / booth", "Grund / reason", "Stimmzettel / ballots"]]
        for (booth, reason), n in sorted(consul.left_out.items()):
            rows.append([booth, f"{label(LEFT_OUT_DE, reason)} ({reason})", number(n)])
        story.append(grid_table(rows, [30 * mm, FRAME_W - 60 * mm, 30 * mm], numeric_from=2, styles=styles))
    else:
        story.append(para("Nichts ausgelassen. / Nothing left out.", styles.body))
    return story


def _decidim_totals(result: MergeResult, styles: Styles) -> list:
    from hybrid.results.decidim_files import import_rows

    story: list = heading(styles, "Zahlen für Decidim", "Decidim: what staff import")
    if result.process.kind == "poll":
        return story + [para("Decidim hat keinen Import für Papierergebnisse von Umfragen: das Ergebnis oben "
                             "(tally.csv) neben dem Online-Ergebnis veröffentlichen.", styles.body),
                        para("Decidim has no import of paper results for polls: publish the result above beside "
                             "the online one.", styles.body_en)]
    budget = result.process.decidim.budget_id if result.process.decidim else None
    story += [para(f"Datei decidim/paper-ballots-{budget}.csv (oder .xlsx) genau einmal importieren: der Import "
                   "addiert.", styles.body),
              para("Import the file exactly once: the import adds up.", styles.body_en)]
    rows = [["id (Decidim)", "paper_ballots_to_import"]]
    rows += [[str(project), number(n)] for project, n in import_rows(result)]
    story.append(grid_table(rows, [40 * mm, 50 * mm], numeric_from=1, styles=styles))
    return story


# -- limits ------------------------------------------------------------------------------------------------------

def _limits(result: MergeResult, figures: ReportFigures, styles: Styles) -> list:
    process = result.process
    first, last = window_days(process)
    story: list = heading(styles, "Grenzen dieser Zählung", "Limits of this count")
    story += [para(LIMITS_DE, styles.body), para(LIMITS_EN, styles.body_en)]
    if process.identity == "code":
        story += [para("Eine Stimme je gedrucktem Code, über alle Kanäle: kommt derselbe Code auf Papier und per "
                       "SMS oder Telefon mit verschiedenen Kreuzen, entscheidet eine Person.", styles.body),
                  para("One vote per printed code across all channels; paper against SMS or phone with other "
                       "choices goes to review.", styles.body_en)]
    else:
        story += [para("Eine Stimme je Telefonnummer: mehrere Menschen können ein Telefon teilen, ein Mensch kann "
                       "mehrere Nummern haben.", styles.body),
                  para("One vote per phone number: people share phones, and one person may have several numbers.",
                       styles.body_en)]
    word = "erste" if process.conflicts == "first" else "letzte"
    story += [para(f"Mehrere SMS oder Anrufe mit demselben Code: es gilt die {word} nach Twilios Zeitstempel.",
                   styles.body),
              para(f"Several SMS or calls for one code: the {process.conflicts} by Twilio's time counts.",
                   styles.body_en)]
    story += [para("Abstimmungszeitraum / voting window", styles.h2), para(period_text(process) + ".", styles.body)]
    if "paper" in result.channels:
        story += [para(f"Papier: es zählt der Posteingangstag (beim Scannen mit --received angegeben); "
                       f"Stimmzettel mit Eingang vom {day_text(first)} bis {day_text(last)} zählen. Das "
                       "Poststempeldatum wird nicht gelesen.", styles.body),
                  para("Paper: the postal arrival day given at scanning (--received) decides; a ballot counts "
                       f"when it arrived from {first.isoformat()} to {last.isoformat()}.", styles.body_en)]
        paper_undated = figures.undated.get("paper", 0)
        if paper_undated:
            story.append(para(f"{number(paper_undated)} Papier-Datensätze ohne Eingangsdatum: für sie wurde kein "
                              "Zeitraum geprüft.", styles.small))
    if {"sms", "voice"} & set(result.channels):
        story += [para("SMS und Telefon: es zählt Twilios Zeitstempel; er muss vor dem Ende des Zeitraums liegen.",
                       styles.body),
                  para("SMS and phone: Twilio's timestamp must lie in [opens, closes).", styles.body_en)]
    late, early = figures.with_reason("late"), figures.with_reason("early")
    rows = [["", *(CHANNEL_DE[c] for c in result.channels), "Summe / total"],
            ["zu früh / early", *(number(early[c]) for c in result.channels), number(sum(early.values()))],
            ["zu spät / late", *(number(late[c]) for c in result.channels), number(sum(late.values()))]]
    width = (FRAME_W - 60 * mm) / (len(result.channels) + 1)
    story += [Spacer(1, 2 * mm), grid_table(rows, [60 * mm] + [width] * (len(result.channels) + 1), styles=styles),
              para("Zu früh oder zu spät eingegangene Stimmen werden nicht gezählt.", styles.small),
              para("Votes outside the window are not counted.", styles.small_en)]
    return story

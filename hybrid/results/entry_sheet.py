"""consul/entry-sheet.pdf: what a CONSUL officer types in, on paper (DESIGN §8, "CONSUL facts").

Poll: one page (more when the poll is long) per booth, laid out like CONSUL's officing
results form ("Ergebnisse hinzufügen"): the booth, per question its title and every
answer under CONSUL's option title in CONSUL's given order with its amount, then
"Völlig leere Stimmzettel", "Ungültige Stimmzettel" and "Stimmzettel gesamt"; fields for
date and officer, a tick box "eingetragen am … von …"; every page's footer says
"Jede Kabine nur einmal eintragen".

Budget: CONSUL's ballot-sheet form ("Neue Wahlzettel"): per booth every ballot-sheet file
with its line count and a tick box "eingefügt am … von …", under the warning never to
paste a file twice; what was left out, and why.

The first page is the checklist of CONSUL's settings that must match
(`hybrid.results.consul_checklist`), with hybrid's values and a tick box each. While the merge
is provisional every page carries the notice in a red band and "VORLÄUFIG" across it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, KeepTogether, PageBreak, SimpleDocTemplate, Spacer, Table, TableStyle

from hybrid.results.consul_checklist import settings_checklist
from hybrid.results.consul_files import LEFT_OUT_REASONS, ConsulFiles, SheetFile, consul_ordered, consul_title
from hybrid.merge import BOOTHS, BoothCount, MergeResult
from hybrid.provisional import Provisional
from hybrid.results.report_labels import LEFT_OUT_DE, label, number
from hybrid.results.report_layout import (
    FRAME_W,
    GREY,
    MARGIN,
    PAGE_H,
    PAGE_W,
    SANS,
    SANS_BOLD,
    Styles,
    draw_provisional,
    footed_canvas,
    grid_table,
    para,
)

# CONSUL's own German labels (config/locales/de-DE/officing.yml), so the sheet reads like the screen.
RESULTS_TITLE = "{poll} - Ergebnisse hinzufügen"
BALLOT_SHEETS_TITLE = "{poll} - Neue Wahlzettel"
BOOTH = "Wahlkabine"
DATE = "Datum"
WHITES = "Völlig leere Stimmzettel"
NULLS = "Ungültige Stimmzettel"
TOTAL = "Stimmzettel gesamt"
SAVE = "Speichern"
CSV_DATA = "CSV Daten"
ONCE_PER_BOOTH = "Jede Kabine nur einmal eintragen"
ONCE_PER_FILE = "Jede Datei nur einmal einfügen"
FIELDS_PER_ROW = 3
FILES_PER_TABLE = 40  # small tables: reportlab splits long ones slowly


def write_entry_sheet(result: MergeResult, path: Path, *, consul: ConsulFiles,
                      provisional: Provisional | None = None) -> None:
    """Write entry-sheet.pdf to `path`: the settings checklist, then for a poll one section
    per booth in `result.booths` (in that order), for a budget the ballot-sheet files of
    `consul`, per booth. `provisional`: marks every page (None for a final merge)."""
    styles = Styles()
    process = result.process
    poll_name = consul_title(process, process.title)
    story = _checklist_story(result, styles, poll_name, provisional)
    if process.kind == "poll":
        story += _poll_story(result, styles, poll_name)
        reminder = f"{ONCE_PER_BOOTH} – CONSUL addiert jeden weiteren Eintrag."
    else:
        story += _budget_story(result, consul, styles, poll_name)
        reminder = f"{ONCE_PER_FILE} – CONSUL zählt eine zweimal eingefügte Datei doppelt."

    def footer(canvas: Canvas, page: int, pages: int) -> None:
        canvas.saveState()
        canvas.setStrokeColor(GREY)
        canvas.setLineWidth(0.3)
        canvas.line(MARGIN, 15.5 * mm, PAGE_W - MARGIN, 15.5 * mm)
        canvas.setFont(SANS_BOLD, 9)
        canvas.drawString(MARGIN, 11 * mm, reminder)
        canvas.setFont(SANS, 7)
        canvas.setFillColor(GREY)
        booth = getattr(canvas, "hybrid_booth", "")
        canvas.drawString(MARGIN, 7 * mm, f"{poll_name[:70]}{f' · {BOOTH} {booth}' if booth else ''}")
        canvas.drawRightString(PAGE_W - MARGIN, 7 * mm, f"Seite {page} von {pages}")
        canvas.restoreState()
        if provisional:
            draw_provisional(canvas, provisional.notice)

    doc = SimpleDocTemplate(str(path), pagesize=(PAGE_W, PAGE_H), leftMargin=MARGIN, rightMargin=MARGIN,
                            topMargin=17 * mm, bottomMargin=20 * mm, title=f"{poll_name} – Eintragen in CONSUL",
                            author="hybrid", creator="hybrid")
    doc.build(story, canvasmaker=footed_canvas(footer))


def _checklist_story(result: MergeResult, styles: Styles, poll_name: str, provisional: Provisional | None) -> list:
    """Page 1: the CONSUL settings that must match, each with hybrid's value and a tick box."""
    story: list = [para("CONSUL · Einstellungen prüfen", styles.small_en),
                   para(f"{poll_name} – vor dem Eintragen: Einstellungen in CONSUL prüfen", styles.h1),
                   para("Before entering anything: check these settings in CONSUL's admin.", styles.h1_en)]
    if provisional:
        story += [para(provisional.notice, styles.warning), para(provisional.explanation_de(), styles.body),
                  para(provisional.explanation_en(), styles.body_en), Spacer(1, 2 * mm)]
    story += [para("CONSUL lässt Stimmen, die nicht zu seinen Einstellungen passen, ohne Meldung weg (z. B. macht ein "
                   "kleinerer Preis des Bereichs aus vollen Stimmzetteln halbe). Erst eintragen, wenn jede Zeile "
                   "stimmt.", styles.body),
              para("CONSUL silently drops votes that do not fit its own settings. Enter nothing until every line "
                   "matches.", styles.body_en), Spacer(1, 3 * mm)]
    rows: list[list] = [["", para("in CONSUL prüfen / check in CONSUL", styles.cell_bold),
                         para("Wert von hybrid / hybrid's value", styles.cell_bold)]]
    for setting in settings_checklist(result.process):
        rows.append([_TickBox(), [para(setting.de, styles.cell), para(setting.en, styles.small_en)],
                     para(setting.value, styles.cell_bold)])
    table = Table(rows, colWidths=[9 * mm, FRAME_W * 0.55, FRAME_W * 0.45 - 9 * mm], hAlign="LEFT", repeatRows=1)
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LINEBELOW", (0, 0), (-1, -1), 0.4, GREY),
                               ("TOPPADDING", (0, 1), (-1, -1), 5), ("BOTTOMPADDING", (0, 1), (-1, -1), 5)]))
    story += [table, Spacer(1, 4 * mm), _fill_in(styles, ["geprüft am", "von"], tick=True), PageBreak()]
    return story


class _BoothMarker(Flowable):
    """Takes no room; tells the footer which booth the following pages belong to."""

    def __init__(self, booth: str) -> None:
        super().__init__()
        self.booth = booth
        self.width = self.height = 0

    def draw(self) -> None:
        self.canv.hybrid_booth = self.booth  # type: ignore[attr-defined]  # kept in the page's saved state


class _TickBox(Flowable):
    def __init__(self, size: float = 4.5 * mm) -> None:
        super().__init__()
        self.width = self.height = size

    def draw(self) -> None:
        self.canv.setLineWidth(0.8)
        self.canv.rect(0, 0, self.width, self.height)


def _field(styles: Styles, caption: str, amount: int, width: float) -> Table:
    """A labelled number field as CONSUL shows it: the label above, the amount in a box."""
    box = Table([[number(amount)]], colWidths=[width - 4 * mm], rowHeights=[9 * mm])
    box.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.9, colors.black),
                             ("FONT", (0, 0), (-1, -1), SANS_BOLD, 13),
                             ("ALIGN", (0, 0), (-1, -1), "RIGHT"), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                             ("RIGHTPADDING", (0, 0), (-1, -1), 6)]))
    cell = Table([[para(caption, styles.cell)], [box]], colWidths=[width - 2 * mm])
    cell.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "BOTTOM"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                              ("RIGHTPADDING", (0, 0), (-1, -1), 0), ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
    return cell


def _field_grid(fields: Sequence[Table], width: float) -> Table:
    rows = [list(fields[i:i + FIELDS_PER_ROW]) for i in range(0, len(fields), FIELDS_PER_ROW)]
    for row in rows:
        row += [""] * (FIELDS_PER_ROW - len(row))
    grid = Table(rows, colWidths=[width / FIELDS_PER_ROW] * FIELDS_PER_ROW, hAlign="LEFT")
    grid.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "BOTTOM"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                              ("BOTTOMPADDING", (0, 0), (-1, -1), 5)]))
    return grid


def _fill_in(styles: Styles, parts: Sequence[str], tick: bool = False) -> Table:
    """A line of labels each followed by a blank to write on, optionally after a tick box."""
    cells: list[object] = [_TickBox()] if tick else []
    widths: list[float] = [8 * mm] if tick else []
    captions = [stringWidth(part, SANS_BOLD, styles.cell_bold.fontSize) + 8 for part in parts]
    blank = (FRAME_W - sum(widths) - sum(captions) - 4 * mm) / len(parts)
    for part, caption in zip(parts, captions, strict=True):
        cells += [para(part, styles.cell_bold), ""]
        widths += [caption, blank]
    table = Table([cells], colWidths=widths, hAlign="LEFT")
    commands: list[tuple] = [("VALIGN", (0, 0), (-1, -1), "BOTTOM"), ("LEFTPADDING", (0, 0), (-1, -1), 2)]
    first = 1 if tick else 0
    for index in range(len(parts)):
        column = first + 2 * index + 1
        commands.append(("LINEBELOW", (column, 0), (column, 0), 0.6, colors.black))
    table.setStyle(TableStyle(commands))
    return table


def _poll_story(result: MergeResult, styles: Styles, poll_name: str) -> list:
    process = result.process
    by_item = {(row.question, row.option): row for row in result.tally}
    story: list = []
    if not result.booths:
        return [para(RESULTS_TITLE.format(poll=poll_name), styles.h1),
                para("Keine Wahlkabine: der Prozess bietet keinen Kanal an, und es gibt keine Stimmen. "
                     "Nichts in CONSUL eintragen.", styles.body),
                para("No booth: the process offers no channel and has no votes. Enter nothing.", styles.body_en)]
    for index, booth in enumerate(result.booths):
        if index:
            story.append(PageBreak())
        story += [_BoothMarker(booth.booth),
                  para("CONSUL · Komplette Nachzählungen und Ergebnisse", styles.small_en),
                  para(RESULTS_TITLE.format(poll=poll_name), styles.h1),
                  para("Enter into CONSUL's officing results page (\"Add results\"), in this order.", styles.h1_en)]
        story += [_booth_line(styles, booth), Spacer(1, 3 * mm), _fill_in(styles, [f"{DATE}:", "Person:"]),
                  Spacer(1, 5 * mm)]
        for question in process.questions:
            fields = [_field(styles, f"{position}. {consul_title(process, option.text)}",
                             by_item[(question.id, option.id)].counts.get(booth.channel, 0),
                             FRAME_W / FIELDS_PER_ROW)
                      for position, option in enumerate(consul_ordered(question), start=1)]
            consul_id = f" (CONSUL-Frage {question.consul_id})" if question.consul_id is not None else ""
            story.append(KeepTogether([para(consul_title(process, question.text) + consul_id, styles.h2),
                                       _field_grid(fields, FRAME_W), _rule()]))
        totals = [_field(styles, caption, amount, FRAME_W / FIELDS_PER_ROW)
                  for caption, amount in ((WHITES, booth.whites), (NULLS, booth.nulls), (TOTAL, booth.total))]
        story.append(KeepTogether([
            Spacer(1, 3 * mm), _field_grid(totals, FRAME_W),
            para(f"„{TOTAL}“: nur gültige Stimmzettel – CONSUL zählt leere und ungültige selbst dazu.", styles.small),
            _rule(), Spacer(1, 3 * mm),
            para(f"Dann „{SAVE}“ klicken, danach hier abhaken:", styles.body),
            _fill_in(styles, ["eingetragen am", "von"], tick=True),
        ]))
    return story


def _booth_line(styles: Styles, booth: BoothCount) -> Table:
    table = Table([[para(f"{BOOTH}:", styles.cell_bold), booth.booth]], colWidths=[28 * mm, 60 * mm], hAlign="LEFT")
    table.setStyle(TableStyle([("BOX", (1, 0), (1, 0), 0.9, colors.black), ("FONT", (1, 0), (1, 0), SANS_BOLD, 13),
                               ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    return table


def _rule() -> Table:
    rule = Table([[""]], colWidths=[FRAME_W], rowHeights=[2 * mm], hAlign="LEFT")
    rule.setStyle(TableStyle([("LINEBELOW", (0, 0), (-1, -1), 0.4, GREY)]))
    return rule


def _budget_story(result: MergeResult, consul: ConsulFiles, styles: Styles, poll_name: str) -> list:
    story: list = [para("CONSUL · Stimmzettel (ballot sheets)", styles.small_en),
                   para(BALLOT_SHEETS_TITLE.format(poll=poll_name), styles.h1),
                   para("Paste into CONSUL's officing ballot-sheet page, one file at a time.", styles.h1_en),
                   para(f"Niemals eine Datei zweimal einfügen: CONSUL zählt sie dann doppelt. Jede Datei in das Feld "
                        f"„{CSV_DATA}“ der richtigen {BOOTH} einfügen, „{SAVE}“ klicken, Zeilenzahl prüfen, abhaken.",
                        styles.warning),
                   para("Never paste a file twice: CONSUL would count it twice. Check the line count, then tick.",
                        styles.body_en)]
    per_booth: dict[str, list[SheetFile]] = {BOOTHS[c]: [] for c in result.channels}
    for sheet in consul.sheets:
        per_booth.setdefault(sheet.booth, []).append(sheet)
    for booth, sheets in per_booth.items():
        lines = sum(s.lines for s in sheets)
        files = "1 Datei" if len(sheets) == 1 else f"{number(len(sheets))} Dateien"
        line_word = "Zeile" if lines == 1 else "Zeilen"
        story.append(para(f"{BOOTH}: {booth} – {files}, {number(lines)} {line_word} (= Stimmzettel)", styles.h2))
        if not sheets:
            story.append(para("Keine Datei für diese Kabine.", styles.body))
            continue
        blank = (FRAME_W - 62 * mm - 20 * mm - 24 * mm - 9 * mm - 3 * mm) / 2
        widths = [62 * mm, 20 * mm, 24 * mm, 9 * mm, blank, 3 * mm, blank]
        for start in range(0, len(sheets), FILES_PER_TABLE):
            rows: list[list] = [["Datei / file", "Zeilen / lines", "Zeile … bis", "",
                                 para("eingefügt am", styles.cell_bold), Spacer(0, 0), para("von", styles.cell_bold)]]
            for sheet in sheets[start:start + FILES_PER_TABLE]:
                rows.append([sheet.name, number(sheet.lines),
                             f"{number(sheet.first_line)}–{number(sheet.last_line)}", _TickBox(), "", "", ""])
            table = grid_table(rows, widths, numeric_from=1, styles=styles)
            table.setStyle(TableStyle([("LINEBELOW", (3, 1), (-1, -1), 0, colors.white),
                                       ("LINEBELOW", (4, 1), (4, -1), 0.6, colors.black),
                                       ("LINEBELOW", (6, 1), (6, -1), 0.6, colors.black),
                                       ("LEFTPADDING", (5, 0), (5, -1), 0), ("RIGHTPADDING", (5, 0), (5, -1), 0),
                                       ("TOPPADDING", (0, 1), (-1, -1), 6)]))
            story.append(table)
    left = sorted(consul.left_out.items())
    story.append(para("Nicht in den Dateien (nicht voll gültig nach den Regeln von CONSUL) / left out", styles.h2))
    if left:
        rows = [["Wahlkabine / booth", "Grund / reason", "Stimmzettel"]]
        rows += [[booth, f"{label(LEFT_OUT_DE, reason)} – {LEFT_OUT_REASONS.get(reason, reason)}", number(n)]
                 for (booth, reason), n in left]
        story.append(grid_table(rows, [30 * mm, FRAME_W - 55 * mm, 25 * mm], numeric_from=2, styles=styles))
    else:
        story.append(para("Nichts ausgelassen. / Nothing left out.", styles.body))
    return story

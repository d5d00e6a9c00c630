"""Fonts, paragraph styles, tables and the page footer shared by report.pdf and
entry-sheet.pdf.

The fonts are the DejaVu files that `forms` ships (umlauts, Turkish, Cyrillic); they are
read from that folder as data, so `hybrid` does not import `forms` (DESIGN §1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, Table, TableStyle

from hybrid.errors import ToolMissing

FONT_DIR = Path(__file__).resolve().parents[2] / "forms" / "fonts"
SANS, SANS_BOLD, MONO = "ReportSans", "ReportSans-Bold", "ReportMono"
_FILES = {SANS: "DejaVuSans.ttf", SANS_BOLD: "DejaVuSans-Bold.ttf", MONO: "DejaVuSansMono-Bold.ttf"}

PAGE_W, PAGE_H = A4
MARGIN = 18 * mm
FRAME_W = PAGE_W - 2 * MARGIN
GREY = colors.Color(0.42, 0.42, 0.42)
RULE = colors.Color(0.75, 0.75, 0.75)
SHADE = colors.Color(0.93, 0.93, 0.93)
CHANNEL_COLOURS = {  # distinguishable in grey print too
    "paper": colors.Color(0.16, 0.33, 0.55),
    "sms": colors.Color(0.93, 0.60, 0.20),
    "voice": colors.Color(0.55, 0.75, 0.45),
}
rl_config.useA85 = 0  # binary streams: smaller files, and reportlab's ASCII85 is pure Python


@lru_cache(maxsize=1)
def register_fonts() -> None:
    """Register the DejaVu fonts once per process; a missing font file is ToolMissing."""
    for name, filename in _FILES.items():
        path = FONT_DIR / filename
        if not path.is_file():
            raise ToolMissing(f"{path}: font file missing; reinstall hybrid (the fonts ship in forms/fonts/)")
        pdfmetrics.registerFont(TTFont(name, str(path)))
    pdfmetrics.registerFontFamily(SANS, normal=SANS, bold=SANS_BOLD, italic=SANS, boldItalic=SANS_BOLD)


def _style(name: str, size: float, font: str = SANS, leading: float | None = None, **kw: object) -> ParagraphStyle:
    kw.setdefault("alignment", TA_LEFT)
    return ParagraphStyle(name, fontName=font, fontSize=size, leading=leading or size * 1.3,
                          **kw)  # type: ignore[arg-type]


class Styles:
    """The paragraph styles of both PDFs (fonts registered on first use)."""

    def __init__(self) -> None:
        register_fonts()
        self.title = _style("title", 20, SANS_BOLD, spaceAfter=4)
        self.subtitle = _style("subtitle", 12, textColor=GREY, spaceAfter=10)
        self.h1 = _style("h1", 15, SANS_BOLD, spaceBefore=10, spaceAfter=1)
        self.h1_en = _style("h1en", 9.5, textColor=GREY, spaceAfter=6)
        self.h2 = _style("h2", 11.5, SANS_BOLD, spaceBefore=8, spaceAfter=2)
        self.body = _style("body", 9.5, spaceAfter=4)
        self.body_en = _style("bodyen", 8.5, textColor=GREY, spaceAfter=6)
        self.small = _style("small", 8, spaceBefore=2)
        self.small_en = _style("smallen", 7.5, textColor=GREY)
        self.cell = _style("cell", 8.5, leading=10.5)
        self.cell_bold = _style("cellbold", 8.5, SANS_BOLD, leading=10.5)
        self.head_right = _style("headright", 8.5, SANS_BOLD, leading=10.5, alignment=TA_RIGHT)
        self.mono = _style("mono", 9, MONO, leading=12)
        self.warning = _style("warning", 10, SANS_BOLD, textColor=colors.Color(0.65, 0.1, 0.1), spaceAfter=6)


def para(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text (escaped: user text may hold < or &)."""
    return Paragraph(escape(text), style)


def heading(styles: Styles, german: str, english: str) -> list[Paragraph]:
    return [para(german, styles.h1), para(english, styles.h1_en)]


def shorten(text: str, font: str, size: float, width: float, lines: int = 2) -> str:
    """`text` wrapped to at most `lines` lines of `width` points, the last cut with "…"."""
    register_fonts()
    wrapped = simpleSplit(" ".join(text.split()), font, size, width) or [""]
    if len(wrapped) <= lines:
        return "\n".join(wrapped)
    last = " ".join(wrapped[lines - 1:])
    while last and pdfmetrics.stringWidth(last + " …", font, size) > width:
        last = last[:-1]
    return "\n".join([*wrapped[:lines - 1], last.rstrip() + " …"])


def grid_table(rows: Sequence[Sequence[object]], widths: Sequence[float], *, numeric_from: int = 1,
               header: bool = True, total_row: bool = False, styles: Styles | None = None) -> Table:
    """A table of text cells: the first row a shaded header (unless `header` is False),
    repeated on every page the table spans; columns from `numeric_from` on are numbers,
    aligned right; text columns wrap to their width. A cell that is not a str (a
    flowable) is placed as it is."""
    styles = styles or Styles()
    cells: list[list[object]] = []
    for r, row in enumerate(rows):
        is_header = header and r == 0
        line: list[object] = []
        for c, text in enumerate(row):
            if not isinstance(text, str):
                line.append(text)
            elif c >= numeric_from and not is_header:
                line.append(text)  # drawn by the table itself: aligned right, never wrapped
            elif is_header:
                line.append(para(text, styles.head_right if c >= numeric_from else styles.cell_bold))
            else:
                line.append(para(text, styles.cell))
        cells.append(line)
    table = Table(cells, colWidths=list(widths), repeatRows=1 if header else 0, hAlign="LEFT")
    commands: list[tuple] = [
        ("FONT", (0, 0), (-1, -1), SANS, 8.5),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("ALIGN", (numeric_from, 0), (-1, -1), "RIGHT"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
    ]
    if header:
        commands += [("BACKGROUND", (0, 0), (-1, 0), SHADE), ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black)]
    if total_row:
        commands += [("FONT", (0, -1), (-1, -1), SANS_BOLD, 8.5), ("LINEABOVE", (0, -1), (-1, -1), 0.6, colors.black)]
    table.setStyle(TableStyle(commands))
    return table


def footed_canvas(footer: Callable[[Canvas, int, int], None]) -> type[Canvas]:
    """A canvas class that, on save, calls `footer(canvas, page, pages)` on every page, so
    each footer can say "Seite 3 von 9"."""

    class FootedCanvas(Canvas):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            self._pages: list[dict] = []

        def showPage(self) -> None:  # noqa: N802 (reportlab's name)
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                footer(self, number, total)
                super().showPage()
            super().save()

    return FootedCanvas


PROVISIONAL_RED = colors.Color(0.72, 0.0, 0.0)


def draw_provisional(canvas: Canvas, notice: str) -> None:
    """Mark a page provisional: the notice in a red band across the top, large, and
    "VORLÄUFIG" diagonally over the page, pale enough to read the figures through."""
    canvas.saveState()
    band = 11 * mm
    canvas.setFillColor(PROVISIONAL_RED)
    canvas.rect(0, PAGE_H - band, PAGE_W, band, stroke=0, fill=1)
    size = 16.0
    while pdfmetrics.stringWidth(notice, SANS_BOLD, size) > PAGE_W - 2 * MARGIN and size > 9:
        size -= 0.5
    canvas.setFillColor(colors.white)
    canvas.setFont(SANS_BOLD, size)
    canvas.drawCentredString(PAGE_W / 2, PAGE_H - band + (band - size * 0.7) / 2, notice)
    canvas.setFillColor(PROVISIONAL_RED)
    canvas.setFillAlpha(0.13)
    canvas.translate(PAGE_W / 2, PAGE_H / 2)
    canvas.rotate(55)
    canvas.setFont(SANS_BOLD, 96)
    canvas.drawCentredString(0, -30, "VORLÄUFIG")
    canvas.restoreState()

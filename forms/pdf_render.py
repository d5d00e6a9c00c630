"""Render ballots to PDF: each variant page once as a Form XObject, then per ballot
only what differs (QR, code, serial, SMS example numbers). That keeps a ballot to a few
kilobytes and rendering fast. An addressed run puts the voter's cover letter (with the
address in its window) before the ballot's sheets; the ballot pages never carry it."""

from __future__ import annotations

from pathlib import Path

from reportlab import rl_config
from reportlab.pdfgen.canvas import Canvas

from forms.compose import PAGE_H, PAGE_W, BallotPlan, LineOp, Op, PagePlan, RectOp, Slot, TextOp
from forms.fonts import PT_PER_MM, SANS, register_fonts, text_width_mm
from forms.letter import LetterPlan
from forms.qr_draw import dark_runs, qr_matrix
from hybrid.codes import format_code
from hybrid.layout import Rect
from hybrid.qr_payload import QrPayload, encode

ADDRESS_PT, ADDRESS_MIN_PT = 10.0, 8.0
rl_config.useA85 = 0  # binary streams: smaller files, and reportlab's ASCII85 is pure Python


def _pt(mm: float) -> float:
    return mm * PT_PER_MM


def _y(mm: float) -> float:
    return (PAGE_H - mm) * PT_PER_MM


def draw_op(canvas: Canvas, op: Op) -> None:
    if isinstance(op, TextOp):
        canvas.setFillGray(op.grey)
        canvas.setFont(op.font, op.size)
        draw = {"left": canvas.drawString, "right": canvas.drawRightString, "centre": canvas.drawCentredString}
        draw[op.align](_pt(op.x), _y(op.y), op.text)
    elif isinstance(op, RectOp):
        canvas.setLineWidth(_pt(op.line) if op.line else 0)
        canvas.setStrokeGray(0)
        if op.fill is not None:
            canvas.setFillGray(op.fill)
        canvas.rect(_pt(op.x), _y(op.y + op.h), _pt(op.w), _pt(op.h), stroke=1 if op.line else 0,
                    fill=1 if op.fill is not None else 0)
    elif isinstance(op, LineOp):
        canvas.setLineWidth(_pt(op.line))
        canvas.setStrokeGray(0)
        canvas.line(_pt(op.x1), _y(op.y1), _pt(op.x2), _y(op.y2))


class BallotPdf:
    """One PDF file of ballots of one variant. Use as a context manager."""

    def __init__(self, path: Path, plan: BallotPlan, title: str, letter: LetterPlan | None = None) -> None:
        register_fonts()
        self.plan = plan
        self.letter = letter
        self.canvas = Canvas(str(path), pagesize=(_pt(PAGE_W), _pt(PAGE_H)), pageCompression=1)
        self.canvas.setTitle(title)
        self.canvas.setAuthor("hybrid")
        self.canvas.setCreator("hybrid")
        for page in plan.pages:
            self.canvas.beginForm(self._form(page))
            for op in page.ops:
                draw_op(self.canvas, op)
            self.canvas.endForm()
        if letter is not None:
            layout = letter.layout
            for number, ops in enumerate(letter.pages, start=1):
                self.canvas.beginForm(f"letter{number}")
                for op in ops:
                    draw_op(self.canvas, op)
                payload = QrPayload(layout.process, layout.layout_hash, number, len(letter.pages), 0, None, letter=True)
                self._qr(encode(payload), layout.pages[number - 1].qr)
                self.canvas.endForm()

    @staticmethod
    def _form(page: PagePlan) -> str:
        return f"page{page.page.page}"

    def add_ballot(self, serial: int, code: str, address: list[str] | None = None) -> None:
        """All pages of one ballot, in order; with an address, its cover letter first."""
        c = self.canvas
        if address is not None:
            if self.letter is None:
                raise ValueError("an addressed ballot needs the run's cover letter")
            for number in range(1, len(self.letter.pages) + 1):
                c.doForm(f"letter{number}")
                if number == 1:
                    self._address(self.letter.window, self.letter.recipient_top, address)
                c.showPage()
        layout = self.plan.layout
        total = len(self.plan.pages)
        for page in self.plan.pages:
            c.doForm(self._form(page))
            has_code = page.page.kind != "back"
            payload = QrPayload(layout.process, layout.layout_hash, page.page.page, total, serial,
                                code if has_code else None)
            self._qr(encode(payload), page.page.qr)
            if page.code is not None:
                self._text(page.code, format_code(code))
            if page.serial is not None:
                self._text(page.serial, f"{page.serial.prefix}{serial}")
            if page.sms_example is not None:
                self._text(page.sms_example, page.sms_example.prefix + self.plan.example_for(serial), grey=0.35)
            c.showPage()

    def _address(self, window: Rect, top: float, address: list[str]) -> None:
        """The recipient block in the window; long lines get smaller type so they stay inside it."""
        c = self.canvas
        widest = max(text_width_mm(line, SANS, ADDRESS_PT) for line in address[:6])
        size = max(ADDRESS_MIN_PT, min(ADDRESS_PT, ADDRESS_PT * window.w / widest))
        c.setFillGray(0)
        c.setFont(SANS, size)
        y = top + size / PT_PER_MM
        for line in address[:6]:
            while text_width_mm(line, SANS, size) > window.w and len(line) > 1:
                line = line[:-1]  # a line too long even at the smallest size is cut, never printed outside
            c.drawString(_pt(window.x), _y(y), line)
            y += size * 1.25 / PT_PER_MM

    def _text(self, slot: Slot, text: str, grey: float = 0.0) -> None:
        self.canvas.setFillGray(grey)
        self.canvas.setFont(slot.font, slot.size)
        self.canvas.drawString(_pt(slot.x), _y(slot.y), text)

    def _qr(self, text: str, rect: Rect) -> None:
        matrix = qr_matrix(text)
        module = _pt(rect.w) / matrix.shape[0]
        x0, top = _pt(rect.x), _y(rect.y)
        # Raw path operators: thousands of rectangles per file, far faster than canvas.rect.
        parts = ["0 g"]
        for r, c0, n in dark_runs(matrix):
            parts.append(f"{x0 + c0 * module:.2f} {top - (r + 1) * module:.2f} {n * module:.2f} {module + 0.05:.2f} re")
        parts.append("f")
        self.canvas._code.append("\n".join(parts))

    def close(self) -> None:
        self.canvas.save()

    def __enter__(self) -> BallotPdf:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()

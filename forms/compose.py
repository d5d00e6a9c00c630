"""Compose a ballot variant: page geometry (the layout contract) and what to draw.

The same code places every box and draws it, so the stored layout and the PDF agree
by construction. Everything here is in millimetres from the page's top-left corner.
Per-ballot content (QR, code, serial, SMS example, address) is not drawn here: each
page names the slots where the renderer puts it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from forms.fonts import MONO_BOLD, PT_PER_MM, SANS, SANS_BOLD, text_width_mm, wrap
from forms.texts import format_date, format_money, texts_for
from hybrid.definition import BallotItem, Process
from hybrid.layout import Box, Layout, Page, Rect, layout_hash_of

PAGE_W, PAGE_H = 210.0, 297.0
FIDUCIAL = 8.0
FIDUCIALS = (
    Rect(x=10.0, y=10.0, w=FIDUCIAL, h=FIDUCIAL),
    Rect(x=192.0, y=10.0, w=FIDUCIAL, h=FIDUCIAL),
    Rect(x=10.0, y=279.0, w=FIDUCIAL, h=FIDUCIAL),
    Rect(x=192.0, y=279.0, w=FIDUCIAL, h=FIDUCIAL),
)
QR = Rect(x=160.0, y=22.0, w=26.0, h=26.0)
CODE_TEXT = Rect(x=100.0, y=26.0, w=56.0, h=8.0)
SERIAL_TEXT = Rect(x=100.0, y=36.0, w=26.0, h=5.0)
LAYOUT_ID_TEXT = Rect(x=128.0, y=36.0, w=28.0, h=5.0)
ADDRESS_WINDOW = Rect(x=20.0, y=45.0, w=85.0, h=45.0)  # DIN 5008 form B, window envelope DL/C6
INFO_ZONE = Rect(x=114.0, y=57.0, w=74.0, h=34.0)
LEFT, RIGHT = 20.0, 190.0
FRONT_BODY_TOP, CONTINUATION_BODY_TOP, BODY_BOTTOM = 96.0, 54.0, 273.0
FOOTER_Y = 277.0
BOX_LINE = 0.3  # printed box outline; the path is inset by half of it so the outer edge is the box
CODE_PT, SMALL_MONO_PT = 14.0, 9.0


@dataclass(frozen=True)
class Style:
    """Sizes of one variant: normal or large print."""

    body: float
    heading: float
    option: float
    small: float
    box: float
    row_gap: float
    leading: float = 1.3

    @staticmethod
    def for_variant(large_print: bool) -> Style:
        if large_print:
            return Style(body=13.0, heading=15.0, option=14.0, small=10.0, box=9.0, row_gap=5.0)
        return Style(body=9.5, heading=11.5, option=10.5, small=7.5, box=6.0, row_gap=3.6)


@dataclass(frozen=True)
class TextOp:
    x: float
    y: float  # baseline
    text: str
    font: str
    size: float  # points
    align: str = "left"  # left | right | centre
    grey: float = 0.0  # 0 black … 1 white


@dataclass(frozen=True)
class RectOp:
    x: float
    y: float
    w: float
    h: float
    line: float = 0.0  # outline width in mm; 0 = none
    fill: float | None = None  # grey level of the fill; None = no fill


@dataclass(frozen=True)
class LineOp:
    x1: float
    y1: float
    x2: float
    y2: float
    line: float = 0.3


Op = TextOp | RectOp | LineOp


@dataclass(frozen=True)
class Slot:
    """Where a per-ballot text goes: left end of its baseline and its size."""

    x: float
    y: float
    size: float
    font: str = MONO_BOLD
    prefix: str = ""


@dataclass(frozen=True)
class PagePlan:
    page: Page
    ops: tuple[Op, ...]
    code: Slot | None = None
    serial: Slot | None = None
    sms_example: Slot | None = None
    sms_numbers: str = ""
    address: Rect | None = None  # the window, on the first page of an addressed run


@dataclass(frozen=True)
class BallotPlan:
    layout: Layout
    pages: tuple[PagePlan, ...]


def baseline_in(rect: Rect, size_pt: float) -> float:
    """The baseline that centres digits of `size_pt` vertically in `rect`."""
    cap_mm = 0.73 * size_pt / PT_PER_MM
    return rect.y + rect.h / 2 + cap_mm / 2


def layout_id_for(process: Process, lang: str, large_print: bool) -> str:
    """A short printed name of the variant, e.g. `WB27-DE` or `WB27-DE-L`."""
    parts = process.id.removesuffix("-test").split("-")
    letters = "".join(p[0] for p in parts if not p.isdigit())[:4].upper()
    digits = "".join(p for p in parts if p.isdigit())[-2:]
    name = f"{letters}{digits}-{lang.upper()}"
    return name + ("-L" if large_print else "")


@dataclass
class _PageBuilder:
    kind: str
    style: Style
    y: float
    ops: list[Op] = field(default_factory=list)
    boxes: list[Box] = field(default_factory=list)
    comment: Rect | None = None
    sms_slot: Slot | None = None
    sms_numbers: str = ""

    def text(self, x: float, y: float, text: str, font: str = SANS, size: float = 9.0, **kw: object) -> None:
        self.ops.append(TextOp(x, y, text, font, size, **kw))  # type: ignore[arg-type]

    def paragraph(self, x: float, width: float, text: str, font: str, size: float, grey: float = 0.0) -> None:
        """Wrapped text starting at the cursor; the cursor moves below it."""
        line_mm = size * self.style.leading / PT_PER_MM
        for line in wrap(text, font, size, width):
            self.y += line_mm
            self.text(x, self.y - line_mm * 0.25, line, font, size, grey=grey)

    def room(self) -> float:
        return BODY_BOTTOM - self.y


def paragraph_height(text: str, font: str, size: float, width: float, style: Style) -> float:
    return len(wrap(text, font, size, width)) * size * style.leading / PT_PER_MM


def fitted_size(lines_of: list[tuple[str, str]], width: float, height: float, start: float, style: Style) -> float:
    """The largest size ≤ `start` at which the (text, font) paragraphs fit the box."""
    size = start
    while size > 6.0:
        total = sum(paragraph_height(t, f, size, width, style) for t, f in lines_of) + len(lines_of) * 1.0
        if total <= height:
            return size
        size -= 0.5
    return size


class BallotComposer:
    """Lays out one variant (language × print size) of a process's ballot."""

    def __init__(self, process: Process, lang: str, large_print: bool, addressed: bool = False) -> None:
        self.process = process
        self.lang = lang
        self.large_print = large_print
        self.addressed = addressed
        self.style = Style.for_variant(large_print)
        self.t = texts_for(lang)
        self.layout_id = layout_id_for(process, lang, large_print)

    # -- public --------------------------------------------------------------
    def compose(self) -> BallotPlan:
        builders = self._flow()
        for builder in builders[1:]:
            # A page with nothing to read (only the information text) is a back side.
            builder.kind = "continuation" if (builder.boxes or builder.comment) else "back"
        if len(builders) % 2:  # duplex: every ballot is whole sheets
            builders.append(_PageBuilder("back", self.style, CONTINUATION_BODY_TOP))
        total = len(builders)
        pages: list[Page] = []
        for number, builder in enumerate(builders, start=1):
            has_code = builder.kind != "back"
            pages.append(
                Page(
                    page=number,
                    kind=builder.kind,  # type: ignore[arg-type]
                    fiducials=list(FIDUCIALS),
                    qr=QR,
                    code_text=CODE_TEXT if has_code else None,
                    serial_text=SERIAL_TEXT,
                    layout_id_text=LAYOUT_ID_TEXT,
                    comment=builder.comment,
                    boxes=builder.boxes,
                )
            )
        body = {
            "format": "hybrid-layout/1",
            "process": self.process.id,
            "layout_id": self.layout_id,
            "language": self.lang,
            "large_print": self.large_print,
            "duplex": True,
            "page_size_mm": [PAGE_W, PAGE_H],
            "pages": [p.model_dump(mode="json") for p in pages],
        }
        layout = Layout.model_validate({**body, "layout_hash": layout_hash_of(body)})
        plans = [self._finish_page(page, builder, total) for page, builder in zip(layout.pages, builders)]
        return BallotPlan(layout=layout, pages=tuple(plans))

    # -- content ---------------------------------------------------------------
    def _flow(self) -> list[_PageBuilder]:
        """Blocks onto pages, top to bottom, a new page whenever the next block does not fit."""
        s = self.style
        pages = [_PageBuilder("front", s, FRONT_BODY_TOP)]
        for block in self._blocks():
            if pages[-1].room() < block.height:
                pages.append(_PageBuilder("continuation", s, CONTINUATION_BODY_TOP))
            block.draw(pages[-1])
        return pages

    def _blocks(self) -> list[_Block]:
        p, t, s = self.process, self.t, self.style
        blocks: list[_Block] = [_Instructions(self)] if self.large_print else []
        items = p.items()
        if p.kind == "poll":
            for q in p.questions:
                rule = t["choose_one"] if q.max_choices == 1 else t["choose_up_to"].format(n=q.max_choices)
                rows = [_OptionRow(self, it) for it in items if it.question == q.id]
                head = _Heading(self, p.text(q.text, self.lang), rule)
                blocks.append(_KeepTogether(head, rows[0]))
                blocks.extend(rows[1:])
        else:
            assert p.budget is not None
            b = p.budget
            if b.voting_style == "knapsack":
                rule = t["budget_knapsack"].format(amount=format_money(b.heading.amount, self.lang))
            else:
                rule = t["budget_approval"].format(n=b.max_lines)
            title = f"{b.heading.name} · " + t["budget_total"].format(amount=format_money(b.heading.amount, self.lang))
            rows = [_OptionRow(self, it) for it in items]
            blocks.append(_KeepTogether(_Heading(self, title, rule), rows[0]))
            blocks.extend(rows[1:])
        if p.comment:
            blocks.append(_CommentBlock(self, p.text(p.comment, self.lang)))
        blocks.append(_InfoBlock(self))
        return blocks

    def draw_info(self, builder: _PageBuilder) -> None:
        """Other ways to vote (with the voter's own code), return address, data protection."""
        t, p, s = self.t, self.process, self.style
        width = RIGHT - LEFT
        sms, voice = p.channels.sms, p.channels.voice
        if sms or voice:
            builder.paragraph(LEFT, width, t["other_ways"], SANS_BOLD, s.heading)
            builder.y += 2.0
        if sms:
            builder.paragraph(LEFT, width, t["sms_how"].format(number=sms.number), SANS, s.body)
            builder.y += CODE_PT * 1.5 / PT_PER_MM
            builder.sms_slot = Slot(LEFT + 6.0, builder.y - 1.0, CODE_PT)
            builder.sms_numbers = " ".join(str(n) for n in p.example_numbers())
            builder.y += 3.0
        if voice:
            builder.paragraph(LEFT, width, t["voice_how"].format(number=voice.number), SANS, s.body)
            builder.y += 2.0
        if sms or voice:
            builder.paragraph(LEFT, width, t["once_only"], SANS_BOLD, s.body)
            builder.y += 6.0
        paper = p.channels.paper
        if paper is not None:
            heading = (t["return_to"].format(date=format_date(paper.return_by, self.lang))
                       if paper.return_by else t["return_to_nodate"])
            builder.paragraph(LEFT, width, heading, SANS_BOLD, s.body)
            builder.paragraph(LEFT, width, "\n".join(x.strip() for x in paper.return_address.split(",")), SANS, s.body)
            builder.y += 6.0
        controller = paper.return_address.split(",")[0].strip() if paper else p.text(p.title, self.lang)
        privacy = t["privacy"].format(controller=controller, title=p.text(p.title, self.lang), days=p.retention_days)
        builder.paragraph(LEFT, width, t["privacy_title"], SANS_BOLD, s.small + 1.0)
        builder.paragraph(LEFT, width, privacy, SANS, s.small, grey=0.15)

    # -- page furniture --------------------------------------------------------
    def _finish_page(self, page: Page, builder: _PageBuilder, total: int) -> PagePlan:
        t, s = self.t, self.style
        ops: list[Op] = [RectOp(f.x, f.y, f.w, f.h, fill=0.0) for f in FIDUCIALS]
        ops.append(TextOp(LAYOUT_ID_TEXT.x, baseline_in(LAYOUT_ID_TEXT, SMALL_MONO_PT), self.layout_id,
                          MONO_BOLD, SMALL_MONO_PT))
        self._header(ops, page)
        if builder.kind == "front":
            self._front_zone(ops)
        if builder.kind == "back" and not builder.ops:
            builder.text(PAGE_W / 2, 150.0, t["back_note"], SANS, s.body, align="centre", grey=0.4)
        ops.extend(builder.ops)
        footer = t["page_of"].format(n=page.page, total=total)
        if builder.kind != "back":
            footer += " · " + t["all_pages"]
        ops.append(TextOp(PAGE_W / 2, FOOTER_Y + 4, footer, SANS, 8.0, align="centre", grey=0.25))
        if self.process.is_test:
            ops.append(TextOp(PAGE_W / 2, FOOTER_Y, t["test_mark"], SANS_BOLD, 9.0, align="centre", grey=0.35))
        return PagePlan(
            page=page,
            ops=tuple(ops),
            code=Slot(CODE_TEXT.x, baseline_in(CODE_TEXT, CODE_PT), CODE_PT) if page.code_text else None,
            serial=Slot(SERIAL_TEXT.x, baseline_in(SERIAL_TEXT, SMALL_MONO_PT), SMALL_MONO_PT, prefix=t["serial"] + " "),
            sms_example=builder.sms_slot,
            sms_numbers=builder.sms_numbers,
            address=ADDRESS_WINDOW if (self.addressed and builder.kind == "front") else None,
        )

    def _header(self, ops: list[Op], page: Page) -> None:
        t, p = self.t, self.process
        city = (p.channels.paper.return_address.split(",")[0].strip() if p.channels.paper else "")
        y = 22.0
        if city:
            ops.append(TextOp(LEFT, y, city, SANS, 8.5, grey=0.3))
        title_lines = wrap(p.text(p.title, self.lang), SANS_BOLD, 12.5, 76.0)[:2]
        for line in title_lines:
            y += 5.6
            ops.append(TextOp(LEFT, y, line, SANS_BOLD, 12.5))
        sub = t["ballot"] if page.kind == "front" else (t["continued"] if page.kind == "continuation" else "")
        if sub:
            ops.append(TextOp(LEFT, y + 5.5, sub, SANS, 10.0, grey=0.2))
        if page.code_text is not None:
            ops.append(TextOp(CODE_TEXT.x, CODE_TEXT.y - 1.2, t["your_code"], SANS, 7.0, grey=0.3))

    def _front_zone(self, ops: list[Op]) -> None:
        """The band between header and body: return address (or window) and how to mark."""
        t, p, s = self.t, self.process, self.style
        paper = p.channels.paper
        if paper is not None and not self.addressed:
            heading = (t["return_to"].format(date=format_date(paper.return_by, self.lang))
                       if paper.return_by else t["return_to_nodate"])
            y = ADDRESS_WINDOW.y + 8.0
            size = 10.0 if not self.large_print else 12.0
            for line in wrap(heading, SANS_BOLD, size, ADDRESS_WINDOW.w):
                ops.append(TextOp(ADDRESS_WINDOW.x, y, line, SANS_BOLD, size))
                y += size * 1.3 / PT_PER_MM
            for part in paper.return_address.split(","):
                y += 0.6
                ops.append(TextOp(ADDRESS_WINDOW.x, y, part.strip(), SANS, size))
                y += size * 1.3 / PT_PER_MM - 0.6
        elif paper is not None:
            sender, sender_pt = sender_line(paper.return_address, ADDRESS_WINDOW.w)
            ops.append(TextOp(ADDRESS_WINDOW.x, ADDRESS_WINDOW.y + 15.0, sender, SANS, sender_pt, grey=0.25))
            ops.append(LineOp(ADDRESS_WINDOW.x, ADDRESS_WINDOW.y + 16.2, ADDRESS_WINDOW.x + ADDRESS_WINDOW.w,
                              ADDRESS_WINDOW.y + 16.2, 0.15))
        if self.large_print:
            return  # large print: the instructions open the body, in large type (_Instructions)
        # How to mark, with a drawn valid cross and a drawn correction.
        z = INFO_ZONE
        example = 6.0
        text_w = z.w - example - 3.0
        size = fitted_size([(t["how_to"], SANS_BOLD), (t["mark_rule"], SANS), (t["example_valid"], SANS),
                            (t["example_cancel"], SANS)], text_w, z.h, s.body, s)
        ops.append(RectOp(z.x - 2.5, z.y - 2.5, z.w + 4.5, z.h + 4.0, line=0.25))
        y = z.y
        for text, font in ((t["how_to"], SANS_BOLD), (t["mark_rule"], SANS)):
            for line in wrap(text, font, size, z.w):
                y += size * s.leading / PT_PER_MM
                ops.append(TextOp(z.x, y, line, font, size))
        y += 2.0
        for text, cancelled in ((t["example_valid"], False), (t["example_cancel"], True)):
            ops.extend(_example_box(z.x, y, example, cancelled))
            ty = y
            for line in wrap(text, SANS, size, text_w):
                ty += size * s.leading / PT_PER_MM
                ops.append(TextOp(z.x + example + 3.0, ty, line, SANS, size))
            y = max(ty, y + example) + 2.0

def sender_line(return_address: str, width: float) -> tuple[str, float]:
    """The one-line return address above the window (DIN 5008) and its size, fitted to
    `width`: smaller type first, then middle parts dropped (name, street, town stay)."""
    parts = [part.strip() for part in return_address.split(",") if part.strip()]
    while True:
        text = " · ".join(parts)
        for size in (6.5, 6.0, 5.5):
            if text_width_mm(text, SANS, size) <= width:
                return text, size
        if len(parts) <= 3:
            return text, 5.5 * width / text_width_mm(text, SANS, 5.5)
        del parts[-3]


def _example_box(x: float, y: float, size: float, cancelled: bool) -> list[Op]:
    ops: list[Op] = [RectOp(x, y, size, size, line=BOX_LINE)]
    if cancelled:
        ops.append(RectOp(x + 0.4, y + 0.4, size - 0.8, size - 0.8, fill=0.1))
    else:
        ops.append(LineOp(x + 1.0, y + 1.0, x + size - 1.0, y + size - 1.0, 0.6))
        ops.append(LineOp(x + 1.0, y + size - 1.0, x + size - 1.0, y + 1.0, 0.6))
    return ops


# -- blocks of the body -------------------------------------------------------


def measured_height(block: _Block, style: Style) -> float:
    """A block's height, found by drawing it on a scratch page: measure and draw never disagree."""
    scratch = _PageBuilder("continuation", style, 0.0)
    block.draw(scratch)
    return scratch.y


class _Block:
    height: float

    def draw(self, page: _PageBuilder) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class _Heading(_Block):
    def __init__(self, composer: BallotComposer, text: str, rule: str) -> None:
        s = composer.style
        self.text, self.rule, self.style = text, rule, s
        self.height = measured_height(self, s)

    def draw(self, page: _PageBuilder) -> None:
        s = self.style
        page.y += 3.0
        page.paragraph(LEFT, RIGHT - LEFT, self.text, SANS_BOLD, s.heading)
        page.paragraph(LEFT, RIGHT - LEFT, self.rule, SANS, s.body, grey=0.25)
        page.y += 2.5


class _OptionRow(_Block):
    """One box with its printed number, its text and (for a budget) its price."""

    def __init__(self, composer: BallotComposer, item: BallotItem) -> None:
        s = composer.style
        self.item, self.style = item, s
        self.box_x = LEFT + 2.0
        self.number_x = self.box_x + s.box + 2.5
        self.text_x = self.number_x + text_width_mm("00", SANS_BOLD, s.option) + 3.0
        self.price = format_money(item.price, composer.lang) if item.price is not None else ""
        price_w = text_width_mm("000.000 €", SANS, s.option) + 4.0 if self.price else 0.0
        self.text_w = RIGHT - self.text_x - price_w
        self.lines = wrap(composer.process.text(item.text, composer.lang), SANS, s.option, self.text_w)
        self.line_mm = s.option * s.leading / PT_PER_MM
        self.height = max(s.box, len(self.lines) * self.line_mm) + s.row_gap

    def draw(self, page: _PageBuilder) -> None:
        s = self.style
        top = page.y + s.row_gap / 2
        inset = BOX_LINE / 2
        page.ops.append(RectOp(self.box_x + inset, top + inset, s.box - BOX_LINE, s.box - BOX_LINE, line=BOX_LINE))
        page.boxes.append(Box(x=self.box_x, y=top, w=s.box, h=s.box, question=self.item.question,
                              option=self.item.option, number=self.item.number))
        first = baseline_in(Rect(x=0, y=top, w=0, h=s.box), s.option)
        page.text(self.number_x, first, str(self.item.number), SANS_BOLD, s.option)
        for i, line in enumerate(self.lines):
            page.text(self.text_x, first + i * self.line_mm, line, SANS, s.option)
        if self.price:
            page.text(RIGHT, first, self.price, SANS, s.option, align="right")
        page.y += self.height


class _KeepTogether(_Block):
    def __init__(self, *blocks: _Block) -> None:
        self.blocks = blocks
        self.height = sum(b.height for b in blocks)

    def draw(self, page: _PageBuilder) -> None:
        for block in self.blocks:
            block.draw(page)


class _CommentBlock(_Block):
    def __init__(self, composer: BallotComposer, label: str) -> None:
        s = composer.style
        self.label, self.hint, self.style = label, composer.t["comment_hint"], s
        self.box_h = 22.0 if not composer.large_print else 36.0
        self.height = measured_height(self, s)

    def draw(self, page: _PageBuilder) -> None:
        s = self.style
        page.y += 4.0
        page.paragraph(LEFT, RIGHT - LEFT, self.label, SANS_BOLD, s.heading)
        page.paragraph(LEFT, RIGHT - LEFT, self.hint, SANS, s.small, grey=0.3)
        page.y += 2.0
        rect = Rect(x=LEFT, y=page.y, w=RIGHT - LEFT, h=self.box_h)
        page.ops.append(RectOp(rect.x, rect.y, rect.w, rect.h, line=0.25))
        page.comment = rect
        page.y += self.box_h


class _InfoBlock(_Block):
    """The information part: SMS and phone with the voter's code, return address, privacy.
    Measured by drawing it once on a scratch page."""

    def __init__(self, composer: BallotComposer) -> None:
        self.composer = composer
        self.height = measured_height(self, composer.style)

    def draw(self, page: _PageBuilder) -> None:
        page.y += 6.0
        self.composer.draw_info(page)


class _Instructions(_Block):
    """How to mark, full width in the body: used for large print, where the side box is too small."""

    def __init__(self, composer: BallotComposer) -> None:
        self.t, self.style = composer.t, composer.style
        self.height = measured_height(self, composer.style)

    def draw(self, page: _PageBuilder) -> None:
        t, s = self.t, self.style
        width = RIGHT - LEFT
        page.paragraph(LEFT, width, t["how_to"], SANS_BOLD, s.heading)
        page.paragraph(LEFT, width, t["mark_rule"], SANS, s.body)
        page.y += 2.0
        for text, cancelled in ((t["example_valid"], False), (t["example_cancel"], True)):
            top = page.y
            page.ops.extend(_example_box(LEFT + 2.0, top, s.box, cancelled))
            page.y = top + (s.box - s.body * s.leading / PT_PER_MM) / 2
            page.paragraph(LEFT + s.box + 6.0, width - s.box - 6.0, text, SANS, s.body)
            page.y = max(page.y, top + s.box) + 2.5
        page.y += 2.0

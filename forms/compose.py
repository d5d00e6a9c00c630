"""Compose a ballot variant: page geometry (the layout contract) and what to draw.

The same code places every box and draws it, so the stored layout and the PDF agree
by construction. Everything here is in millimetres from the page's top-left corner.
Per-ballot content (QR, code, serial) is not drawn here: each page names the slots where
the renderer puts it. Nothing about the addressee is ever on a ballot page: an addressed
run prints a separate cover letter (`forms.letter`).

Text sizes: every citizen-facing text is at least 10 pt in standard print and 16 pt in
large print (`Style`). Exempt are the staff markings (serial number, layout id).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from forms.fonts import MONO_BOLD, PT_PER_MM, SANS, SANS_BOLD, text_width_mm, wrap
from forms.privacy_notice import privacy_paragraph, privacy_parts, privacy_title
from forms.texts import format_date, format_money, texts_for
from hybrid.codes import EXAMPLE_CODE
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
RETURN_ZONE = Rect(x=20.0, y=53.0, w=85.0, h=40.0)  # where the return address goes on the front
INFO_ZONE = Rect(x=112.0, y=54.0, w=78.0, h=40.0)  # "how to vote" beside it (standard print)
LEFT, RIGHT = 20.0, 190.0
FRONT_BODY_TOP, CONTINUATION_BODY_TOP = 98.0, 54.0
BOX_LINE = 0.3  # printed box outline; the path is inset by half of it so the outer edge is the box
SMALL_MONO_PT = 10.0  # serial and layout id: staff markings
INFO_PARTS = ("phones", "paper", "help", "privacy")
EXAMPLE_ROTATIONS = 420  # a multiple of every small option count: each option shows up equally often


@dataclass(frozen=True)
class Style:
    """Sizes of one variant: normal or large print."""

    body: float
    heading: float
    option: float
    small: float
    box: float
    row_gap: float
    title: float  # the process title in the header
    code: float  # the voter's code in the header
    body_bottom: float  # the footer starts below this
    leading: float = 1.3

    @staticmethod
    def for_variant(large_print: bool) -> Style:
        if large_print:
            return Style(body=16.0, heading=18.0, option=16.0, small=16.0, box=9.0, row_gap=5.0, title=17.0,
                         code=16.0, body_bottom=264.0)
        return Style(body=10.0, heading=12.0, option=10.5, small=10.0, box=6.0, row_gap=3.0, title=12.5,
                     code=14.0, body_bottom=272.0)

    def line_mm(self, size: float) -> float:
        return size * self.leading / PT_PER_MM


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


@dataclass(frozen=True)
class BallotPlan:
    layout: Layout
    pages: tuple[PagePlan, ...]
    examples: tuple[str, ...] = ()  # the SMS example's numbers; ballot `serial` shows examples[serial % len]

    def example_for(self, serial: int) -> str:
        return self.examples[serial % len(self.examples)] if self.examples else ""


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
class PageBuilder:
    kind: str
    style: Style
    y: float
    ops: list[Op] = field(default_factory=list)
    boxes: list[Box] = field(default_factory=list)
    comment: Rect | None = None
    bottom: float = 272.0
    sms_example: Slot | None = None  # the example SMS: a made-up code, numbers rotating by serial

    def text(self, x: float, y: float, text: str, font: str = SANS, size: float = 9.0, **kw: object) -> None:
        self.ops.append(TextOp(x, y, text, font, size, **kw))  # type: ignore[arg-type]

    def paragraph(self, x: float, width: float, text: str, font: str, size: float, grey: float = 0.0) -> None:
        """Wrapped text starting at the cursor; the cursor moves below it."""
        line_mm = size * self.style.leading / PT_PER_MM
        for line in wrap(text, font, size, width):
            self.y += line_mm
            self.text(x, self.y - line_mm * 0.25, line, font, size, grey=grey)

    def room(self) -> float:
        return self.bottom - self.y


def paragraph_height(text: str, font: str, size: float, width: float, style: Style) -> float:
    return len(wrap(text, font, size, width)) * size * style.leading / PT_PER_MM


class BallotComposer:
    """Lays out one variant (language × print size) of a process's ballot."""

    def __init__(self, process: Process, lang: str, large_print: bool) -> None:
        self.process = process
        self.lang = lang
        self.large_print = large_print
        self.style = Style.for_variant(large_print)
        self.t = texts_for(lang)
        self.layout_id = layout_id_for(process, lang, large_print)
        self.header_bottom = self._header(None)

    # -- public --------------------------------------------------------------
    def compose(self) -> BallotPlan:
        builders = self._flow()
        for builder in builders[1:]:
            # A page with nothing to read (only the information text) is a back side.
            builder.kind = "continuation" if (builder.boxes or builder.comment) else "back"
        if len(builders) % 2:  # duplex: every ballot is whole sheets
            builders.append(self._new_page("back"))
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
        examples = tuple(" ".join(str(n) for n in self.process.example_numbers(i)) for i in range(EXAMPLE_ROTATIONS))
        return BallotPlan(layout=layout, pages=tuple(plans), examples=examples)

    # -- content ---------------------------------------------------------------
    def _new_page(self, kind: str) -> PageBuilder:
        """A fresh page; a budget's every page opens with its limit."""
        top = self.front_body_top() if kind == "front" else max(CONTINUATION_BODY_TOP, self.header_bottom + 5.0)
        page = PageBuilder(kind, self.style, top, bottom=self.style.body_bottom)
        if self.process.kind == "budget":
            _LimitBand(self).draw(page)
        return page

    def front_body_top(self) -> float:
        if self.large_print:  # no side zone: the instructions open the body
            return max(CONTINUATION_BODY_TOP, self.header_bottom + 5.0)
        return max(FRONT_BODY_TOP, self._front_zone(None) + 5.0)

    def _flow(self) -> list[PageBuilder]:
        """Blocks onto pages, top to bottom, a new page whenever the next block does not fit."""
        pages = [self._new_page("front")]
        for block in self._blocks():
            if pages[-1].room() < block.height:
                pages.append(self._new_page("continuation"))
            block.draw(pages[-1])
        return pages

    def _blocks(self) -> list[_Block]:
        p, t = self.process, self.t
        blocks: list[_Block] = [_Instructions(self)] if self.large_print else []
        items = p.items()
        if p.kind == "poll":
            for q in p.questions:
                rule = t["choose_one"] if q.max_choices == 1 else t["choose_up_to"].format(n=q.max_choices)
                rows = [_OptionRow(self, it) for it in items if it.question == q.id]
                head = _Heading(self, p.text(q.text, self.lang), rule)
                whole = _KeepTogether(head, *rows)
                if whole.height <= self.style.body_bottom - CONTINUATION_BODY_TOP - 20.0:
                    blocks.append(whole)  # a question is never split over two pages when it fits on one
                else:
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
            if b.voting_style == "knapsack":
                blocks.append(_Worksheet(self))
        if p.comment:
            blocks.append(_CommentBlock(self, p.text(p.comment, self.lang)))
        blocks.extend(_InfoBlock(self, part) for part in INFO_PARTS if self._has_info(part))
        if self.large_print:  # a long notice in large type: one block per part, so it flows over pages
            parts = privacy_parts(p, self.lang, letter=False)
            blocks.extend(_InfoBlock(self, f"privacy:{i}") for i in range(len(parts)))
        return blocks

    def _has_info(self, part: str) -> bool:
        p = self.process
        return {"phones": bool(p.channels.sms or p.channels.voice), "paper": p.channels.paper is not None,
                "help": p.help is not None, "privacy": True}[part]

    def draw_info(self, builder: PageBuilder, part: str) -> None:
        """One part of the information: other ways to vote (with an example no one can send
        by mistake) and their dates; where and by when to send the paper; help; data protection."""
        t, p, s = self.t, self.process, self.style
        width = RIGHT - LEFT
        sms, voice = p.channels.sms, p.channels.voice
        if part == "phones":
            builder.paragraph(LEFT, width, t["other_ways"], SANS_BOLD, s.heading)
            builder.y += 1.5
            builder.paragraph(LEFT, width, t["phone_window"].format(
                opens=format_date(p.opens_day(), self.lang), last=format_date(p.last_day(), self.lang)), SANS, s.body)
            builder.y += 1.5
            if sms:
                builder.paragraph(LEFT, width, t["sms_how"].format(number=sms.number), SANS, s.body)
                builder.y += 1.0
                builder.paragraph(LEFT + 6.0, width - 6.0, t["sms_example"], SANS, s.body, grey=0.2)
                builder.y += s.line_mm(s.code)
                builder.sms_example = Slot(LEFT + 6.0, builder.y - 1.0, s.code, prefix=EXAMPLE_CODE + " ")
                builder.y += 2.5
            if voice:
                builder.paragraph(LEFT, width, t["voice_how"].format(number=voice.number), SANS, s.body)
                builder.y += 1.5
            builder.paragraph(LEFT, width, t["once_only"], SANS_BOLD, s.body)
        elif part == "paper":
            paper = p.channels.paper
            assert paper is not None
            if self.large_print:  # standard print has the return address on the front already
                builder.paragraph(LEFT, width, self.return_heading(), SANS_BOLD, s.body)
                builder.paragraph(LEFT, width, "\n".join(x.strip() for x in paper.return_address.split(",")),
                                  SANS, s.body)
                builder.y += 1.5
            builder.paragraph(LEFT, width, self.paper_rules(), SANS, s.body)
        elif part == "help":
            builder.paragraph(LEFT, width, self.help_line(), SANS_BOLD, s.body)
        elif part == "privacy":
            builder.paragraph(LEFT, width, privacy_title(self.lang), SANS_BOLD, s.small)
            if not self.large_print:
                builder.paragraph(LEFT, width, privacy_paragraph(p, self.lang), SANS, s.small, grey=0.15)
        else:  # "privacy:N", one part of the notice
            heading, text = privacy_parts(p, self.lang, letter=False)[int(part.split(":")[1])]
            builder.y -= 3.0
            builder.paragraph(LEFT, width, f"{heading}: {text}", SANS, s.small, grey=0.15)

    def return_heading(self) -> str:
        paper = self.process.channels.paper
        assert paper is not None
        if paper.return_by:
            return self.t["return_to"].format(date=format_date(paper.return_by, self.lang))
        return self.t["return_to_nodate"]

    def paper_rules(self) -> str:
        """When paper counts (arrival, not postmark) and who pays the postage."""
        paper = self.process.channels.paper
        assert paper is not None
        arrival = self.t["arrival_rule"].format(last=format_date(self.process.last_day(), self.lang))
        return f"{arrival} {self.t['postage_paid' if paper.postage_paid else 'postage_unpaid']}"

    def help_line(self) -> str:
        help_line = self.process.help
        assert help_line is not None
        return self.t["help"].format(phone=help_line.phone, hours=self.process.text(help_line.hours, self.lang))

    # -- page furniture --------------------------------------------------------
    def _finish_page(self, page: Page, builder: PageBuilder, total: int) -> PagePlan:
        t, s = self.t, self.style
        ops: list[Op] = [RectOp(f.x, f.y, f.w, f.h, fill=0.0) for f in FIDUCIALS]
        ops.append(TextOp(LAYOUT_ID_TEXT.x, baseline_in(LAYOUT_ID_TEXT, SMALL_MONO_PT), self.layout_id,
                          MONO_BOLD, SMALL_MONO_PT))
        self._header(ops, page)
        if builder.kind == "front" and not self.large_print:
            self._front_zone(ops)
        if builder.kind == "back" and not builder.ops:
            builder.paragraph(LEFT, RIGHT - LEFT, t["back_note"], SANS, s.body, grey=0.4)
        ops.extend(builder.ops)
        footer = t["page_of"].format(n=page.page, total=total)
        if builder.kind != "back":
            footer += " · " + t["all_pages"]
        y = s.body_bottom + 2.0
        if self.process.is_test:
            y += s.line_mm(s.body)
            ops.append(TextOp(PAGE_W / 2, y, t["test_mark"], SANS_BOLD, s.body, align="centre", grey=0.35))
        for line in wrap(footer, SANS, s.body, RIGHT - LEFT):
            y += s.line_mm(s.body)
            ops.append(TextOp(PAGE_W / 2, y, line, SANS, s.body, align="centre", grey=0.25))
        return PagePlan(
            page=page,
            ops=tuple(ops),
            code=Slot(CODE_TEXT.x, baseline_in(CODE_TEXT, s.code), s.code) if page.code_text else None,
            serial=Slot(SERIAL_TEXT.x, baseline_in(SERIAL_TEXT, SMALL_MONO_PT), SMALL_MONO_PT, prefix=t["serial"] + " "),
            sms_example=builder.sms_example,
        )

    def _header(self, ops: list[Op] | None, page: Page | None = None) -> float:
        """City, title and what the page is, left of the code; returns the header's bottom.
        With `ops` None it only measures."""
        t, p, s = self.t, self.process, self.style
        out: list[Op] = ops if ops is not None else []
        city = (p.channels.paper.return_address.split(",")[0].strip() if p.channels.paper else "")
        y = 22.0
        if city:
            out.append(TextOp(LEFT, y, city, SANS, s.body, grey=0.3))
        for line in wrap(p.text(p.title, self.lang), SANS_BOLD, s.title, CODE_TEXT.x - LEFT - 4.0):
            y += s.line_mm(s.title)
            out.append(TextOp(LEFT, y, line, SANS_BOLD, s.title))
        kind = page.kind if page is not None else "front"
        sub = t["ballot"] if kind == "front" else (t["continued"] if kind == "continuation" else "")
        y += s.line_mm(s.body)
        if sub:
            out.append(TextOp(LEFT, y, sub, SANS, s.body, grey=0.2))
        if page is not None and page.code_text is not None:
            label = t["your_code_short"] if self.large_print else t["your_code"]
            out.append(TextOp(CODE_TEXT.x, CODE_TEXT.y - 1.2, label, SANS, s.body, grey=0.3))
        return y + 1.5

    def _front_zone(self, ops: list[Op] | None) -> float:
        """The band between header and body (standard print): where to send the ballot, and
        how to mark with a drawn valid cross and a drawn correction. Returns its bottom."""
        t, p, s = self.t, self.process, self.style
        out: list[Op] = ops if ops is not None else []
        paper = p.channels.paper
        left_bottom = RETURN_ZONE.y
        if paper is not None:
            y = RETURN_ZONE.y
            for line in wrap(self.return_heading(), SANS_BOLD, s.body, RETURN_ZONE.w):
                y += s.line_mm(s.body)
                out.append(TextOp(RETURN_ZONE.x, y, line, SANS_BOLD, s.body))
            for part in paper.return_address.split(","):
                y += s.line_mm(s.body)
                out.append(TextOp(RETURN_ZONE.x, y, part.strip(), SANS, s.body))
            left_bottom = y + 1.0
        z = INFO_ZONE
        example = 6.0
        y = z.y
        inner: list[Op] = []
        for text, font in ((t["how_to"], SANS_BOLD), (t["mark_rule"], SANS)):
            for line in wrap(text, font, s.body, z.w - 4.0):
                y += s.line_mm(s.body)
                inner.append(TextOp(z.x, y, line, font, s.body))
        y += 2.0
        for text, cancelled in ((t["example_valid"], False), (t["example_cancel"], True)):
            drawn_w = example * (2 if cancelled else 1) + (2.0 if cancelled else 0.0)
            inner.extend(_example_boxes(z.x, y, example, cancelled))
            ty = y
            for line in wrap(text, SANS, s.body, z.w - drawn_w - 7.0):
                ty += s.line_mm(s.body)
                inner.append(TextOp(z.x + drawn_w + 3.0, ty, line, SANS, s.body))
            y = max(ty + 1.0, y + example) + 2.0
        out.append(RectOp(z.x - 2.5, z.y - 1.5, z.w + 2.5, y - z.y + 1.0, line=0.25))
        out.extend(inner)
        return max(left_bottom, y)


def _example_boxes(x: float, y: float, size: float, cancelled: bool) -> list[Op]:
    """A drawn valid cross; or a correction: the wrong box filled, the right one crossed."""
    ops: list[Op] = [RectOp(x, y, size, size, line=BOX_LINE)]
    if not cancelled:
        return ops + _cross(x, y, size)
    ops.append(RectOp(x + 0.4, y + 0.4, size - 0.8, size - 0.8, fill=0.1))
    second = x + size + 2.0
    ops.append(RectOp(second, y, size, size, line=BOX_LINE))
    return ops + _cross(second, y, size)


def _cross(x: float, y: float, size: float) -> list[Op]:
    return [LineOp(x + 1.0, y + 1.0, x + size - 1.0, y + size - 1.0, 0.6),
            LineOp(x + 1.0, y + size - 1.0, x + size - 1.0, y + 1.0, 0.6)]


# -- blocks of the body -------------------------------------------------------


def measured_height(block: _Block, style: Style) -> float:
    """A block's height, found by drawing it on a scratch page: measure and draw never disagree."""
    scratch = PageBuilder("continuation", style, 0.0)
    block.draw(scratch)
    return scratch.y


class _Block:
    height: float

    def draw(self, page: PageBuilder) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class _Heading(_Block):
    def __init__(self, composer: BallotComposer, text: str, rule: str) -> None:
        s = composer.style
        self.text, self.rule, self.style = text, rule, s
        self.height = measured_height(self, s)

    def draw(self, page: PageBuilder) -> None:
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

    def draw(self, page: PageBuilder) -> None:
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

    def draw(self, page: PageBuilder) -> None:
        for block in self.blocks:
            block.draw(page)


class _CommentBlock(_Block):
    def __init__(self, composer: BallotComposer, label: str) -> None:
        s = composer.style
        self.label, self.hint, self.style = label, composer.t["comment_hint"], s
        self.box_h = 22.0 if not composer.large_print else 36.0
        self.height = measured_height(self, s)

    def draw(self, page: PageBuilder) -> None:
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
    """One part of the information (other ways to vote, return, help, data protection),
    measured by drawing it once on a scratch page."""

    def __init__(self, composer: BallotComposer, part: str) -> None:
        self.composer, self.part = composer, part
        self.height = measured_height(self, composer.style)

    def draw(self, page: PageBuilder) -> None:
        page.y += 4.0
        self.composer.draw_info(page, self.part)


class _Instructions(_Block):
    """How to mark, full width in the body: used for large print, where the side box is too small."""

    def __init__(self, composer: BallotComposer) -> None:
        self.t, self.style = composer.t, composer.style
        self.height = measured_height(self, composer.style)

    def draw(self, page: PageBuilder) -> None:
        t, s = self.t, self.style
        width = RIGHT - LEFT
        page.paragraph(LEFT, width, t["how_to"], SANS_BOLD, s.heading)
        page.paragraph(LEFT, width, t["mark_rule"], SANS, s.body)
        page.y += 2.0
        for text, cancelled in ((t["example_valid"], False), (t["example_cancel"], True)):
            top = page.y
            drawn_w = s.box * (2 if cancelled else 1) + (2.0 if cancelled else 0.0)
            page.ops.extend(_example_boxes(LEFT + 2.0, top, s.box, cancelled))
            page.y = top + (s.box - s.line_mm(s.body)) / 2
            page.paragraph(LEFT + drawn_w + 6.0, width - drawn_w - 6.0, text, SANS, s.body)
            page.y = max(page.y, top + s.box) + 2.5
        page.y += 2.0


class _LimitBand(_Block):
    """A budget's limit, repeated at the top of every page, with the price column's heading."""

    def __init__(self, composer: BallotComposer) -> None:
        self.composer = composer
        self.height = measured_height(self, composer.style)

    def draw(self, page: PageBuilder) -> None:
        c, s = self.composer, self.composer.style
        budget = c.process.budget
        assert budget is not None
        if budget.voting_style == "knapsack":
            text = c.t["budget_limit_band"].format(amount=format_money(budget.heading.amount, c.lang))
        else:
            text = c.t["budget_approval_band"].format(n=budget.max_lines)
        lines = wrap(text, SANS_BOLD, s.body, RIGHT - LEFT - 4.0)
        page.ops.append(RectOp(LEFT, page.y, RIGHT - LEFT, len(lines) * s.line_mm(s.body) + 3.0, fill=0.9))
        page.y += 1.5
        page.paragraph(LEFT + 2.0, RIGHT - LEFT - 4.0, text, SANS_BOLD, s.body)
        page.y += 1.5
        page.y += s.line_mm(s.body)
        page.text(RIGHT, page.y - 1.0, c.t["price"], SANS_BOLD, s.body, align="right", grey=0.25)
        page.y += 1.0


class _Worksheet(_Block):
    """A small sum for the voter ("Ihre Summe"), far enough from every box never to be read as a mark."""

    LINES = 4

    def __init__(self, composer: BallotComposer) -> None:
        self.composer = composer
        self.height = measured_height(self, composer.style)

    def draw(self, page: PageBuilder) -> None:
        c, s = self.composer, self.composer.style
        budget = c.process.budget
        assert budget is not None
        page.y += 6.0  # ≥ 5 mm from the last box (the reader looks 4 mm around a box)
        top = page.y
        page.paragraph(LEFT + 2.0, RIGHT - LEFT - 4.0, c.t["worksheet_title"], SANS_BOLD, s.body)
        page.paragraph(LEFT + 2.0, RIGHT - LEFT - 4.0, c.t["worksheet_hint"], SANS, s.body, grey=0.2)
        column = (RIGHT - LEFT - 10.0) / 2
        row = s.line_mm(s.body) + 3.0
        for i in range(self.LINES):
            page.y += row
            for x in (LEFT + 4.0, LEFT + 6.0 + column):
                page.ops.append(LineOp(x, page.y, x + column - 4.0, page.y, 0.2))
        page.y += row + 1.0
        total = c.t["worksheet_total"]
        page.text(LEFT + 4.0, page.y, total, SANS_BOLD, s.body)
        start = LEFT + 6.0 + text_width_mm(total, SANS_BOLD, s.body)
        page.ops.append(LineOp(start, page.y, LEFT + 4.0 + column, page.y, 0.3))
        if budget.voting_style == "knapsack":
            limit = c.t["worksheet_limit"].format(amount=format_money(budget.heading.amount, c.lang))
            page.text(LEFT + 6.0 + column, page.y, limit, SANS, s.body, grey=0.2)
        page.y += 2.5
        page.ops.append(RectOp(LEFT, top - 1.0, RIGHT - LEFT, page.y - top + 1.0, line=0.2))
        page.y += 2.0

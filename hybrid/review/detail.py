"""What a reviewer looks at: one item's record, pages, boxes, crops and history, and a ballot by serial."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hybrid import rules
from hybrid.definition import Process
from hybrid.errors import InvalidInput
from hybrid.layout import Layout
from hybrid.page_reading import BoxScore, CropRegion
from hybrid.review.decisions import EffectiveDecision
from hybrid.review.effective import effective_decision
from hybrid.review.ids import parse_id
from hybrid.review.queue import ReviewItem, get_item, page_by_item
from hybrid.states import MarkState, PageState, Reason, ReviewAction
from hybrid.store import Store
from hybrid.store import review as stored
from hybrid.store.review import PageRow, RecordRow, ReviewDecision

RING_DOUBT = 0.01  # share of ink in the ring around an empty box worth pointing at (the reader's limit is ~0.8 mm²)


@dataclass(frozen=True)
class BoxView:
    question: str
    option: str
    number: int
    x: float  # mm on the page
    y: float
    w: float
    h: float
    state: str | None  # the reader's MarkState, None where it read nothing
    fill: float | None
    ring_ink: float | None
    doubtful: bool


@dataclass(frozen=True)
class CropView:
    """Where a stored crop sits on its page: pixel = (mm - region origin) × px_per_mm."""

    path: str  # relative to the workspace
    width: int
    height: int
    region_mm: tuple[float, float, float, float] | None  # x, y, w, h; None when unknown
    px_per_mm: float | None


@dataclass(frozen=True)
class PageView:
    source: str
    file_name: str | None
    page_no: int
    batch: str
    state: str
    reasons: tuple[str, ...]
    ballot_page: int | None
    page_size_mm: tuple[float, float]
    boxes: tuple[BoxView, ...]
    crop: CropView | None
    message: str | None
    comment_rect: tuple[float, float, float, float] | None = None
    archived: str | None = None  # the scanned input's copy under scans/ (relative to the workspace)
    layout_hash: str | None = None


@dataclass(frozen=True)
class OptionView:
    id: str
    number: int
    text: Mapping[str, str]
    price: int | None = None


@dataclass(frozen=True)
class QuestionView:
    id: str
    text: Mapping[str, str]
    max_choices: int | None
    options: tuple[OptionView, ...]


@dataclass(frozen=True)
class RecordView:
    record_id: int
    channel: str
    serial: int | None
    source: str
    received_at: str | None
    status: str
    reasons: tuple[str, ...]
    choices: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class CommentView:
    suggestion: str | None
    confidence: float | None
    text: str | None  # as decided
    personal_data: bool
    crop: CropView | None
    language: str | None


@dataclass(frozen=True)
class ItemDetail:
    item: ReviewItem
    record: RecordView | None
    effective: EffectiveDecision | None
    pages: tuple[PageView, ...]
    related: tuple[RecordView, ...]  # other records of the same code (a conflict: side by side)
    questions: tuple[QuestionView, ...]
    history: tuple[ReviewDecision, ...]
    comment: CommentView | None = None
    layout_language: str | None = None
    content_pages: tuple[int, ...] = ()  # the ballot's pages with boxes or a comment (to tell which are missing)


@dataclass(frozen=True)
class BallotLookup:
    """What identifying a page by `serial` would mean (for the identify form)."""

    serial: int
    state: str  # issued | void
    layout_id: str
    language: str
    content_pages: tuple[int, ...]
    present_pages: tuple[int, ...]  # already identified pages of the ballot
    suggested_page: int | None
    pages: tuple[PageView, ...]  # each content page's boxes (no crop)


def _record_view(row: RecordRow) -> RecordView:
    return RecordView(row.record_id, row.channel, row.serial, row.source, row.received_at, row.status,
                      row.reasons, row.choices)


def _png_size(path) -> tuple[int, int] | None:
    try:
        with open(path, "rb") as handle:
            head = handle.read(24)
    except OSError:
        return None
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
def crop_region(layout: Layout | None, ballot_page: int | None, stored: CropRegion | None,
                width: int, height: int) -> tuple[tuple[float, float, float, float] | None, float | None]:
    """Where a review crop lies on its page (mm) and its scale, so boxes can be drawn on it.

    The region the reader stored with its reading (`PageReading.review_crop`) is used
    when present. Otherwise the region is worked out the way ocr/read_page.py cuts it
    (the box region: x 10–200 mm, from 8 mm above the first box to 5 mm below the last, at
    4 px/mm; the whole page when there are no boxes) and accepted only when the image size
    fits it to a pixel."""
    if stored is not None:
        return stored.region_mm, stored.px_per_mm
    page_w, page_h = layout.page_size_mm if layout else (210.0, 297.0)
    candidates: list[tuple[float, float, float, float]] = []
    page = None
    if layout is not None and ballot_page is not None and 1 <= ballot_page <= len(layout.pages):
        page = layout.pages[ballot_page - 1]
    if page is not None:
        rects = list(page.boxes) + ([page.comment] if page.comment else [])
        if rects:
            y0 = max(0.0, min(r.y for r in rects) - 8.0)
            y1 = min(page_h, max(r.y + r.h for r in rects) + 5.0)
            candidates.append((10.0, y0, page_w - 20.0, y1 - y0))
    candidates.append((0.0, 0.0, page_w, page_h))
    for region in candidates:
        for res in (4.0, width / region[2]):
            if abs(round(region[2] * res) - width) <= 1 and abs(round(region[3] * res) - height) <= 1:
                return region, res
    return None, None


def _doubtful_boxes(process: Process, boxes: list[BoxScore], page_reasons: set[str]) -> set[tuple[str, str]]:
    """Boxes a reviewer should look at closely: marginal marks, ink beside an empty box,
    every box of an overvoted or cancelled-only question."""
    doubtful: set[tuple[str, str]] = set()
    by_question: dict[str, list[rules.MarkedBox]] = {}
    for b in boxes:
        key = (b.question, b.option)
        if b.state is MarkState.MARGINAL:
            doubtful.add(key)
        if (b.state is MarkState.EMPTY and Reason.MARK_OUTSIDE_BOX.value in page_reasons
                and (b.ring_ink or 0.0) >= RING_DOUBT):
            doubtful.add(key)
        by_question.setdefault(b.question, []).append(rules.MarkedBox(key[0], key[1], b.state))
    for marked in by_question.values():
        _, reasons = rules.judge_choices(process, marked)
        if reasons & {Reason.OVERVOTE, Reason.OVER_BUDGET, Reason.CANCELLED_ONLY}:
            doubtful |= {(m.question, m.option) for m in marked if m.state is not MarkState.EMPTY}
    return doubtful


def _page_view(process: Process, layouts: Mapping[str, Layout], page: PageRow,
               names: Mapping[str, tuple[str, str | None]], root: Path) -> PageView:
    layout = layouts.get(page.layout_hash) if page.layout_hash else None
    layout_page = None
    if layout is not None and page.ballot_page is not None and 1 <= page.ballot_page <= len(layout.pages):
        layout_page = layout.pages[page.ballot_page - 1]
    read = {(b.question, b.option): b for b in page.reading.boxes}
    doubtful = _doubtful_boxes(process, list(read.values()), set(page.reasons))
    boxes = []
    for box in (layout_page.boxes if layout_page else []):
        seen = read.get((box.question, box.option))
        boxes.append(BoxView(box.question, box.option, box.number, box.x, box.y, box.w, box.h,
                             seen.state.value if seen else None, seen.fill if seen else None,
                             seen.ring_ink if seen else None, (box.question, box.option) in doubtful))
    crop = None
    if page.review_crop:
        crop = _crop_view(root, page.review_crop, layout, page.ballot_page, page.reading.review_crop)
    comment = layout_page.comment if layout_page else None
    name, archived = names.get(page.input_sha256, (None, None))
    return PageView(
        source=page.source, file_name=name, page_no=page.page_no, batch=page.batch,
        state=page.state, reasons=page.reasons, ballot_page=page.ballot_page,
        page_size_mm=tuple(layout.page_size_mm) if layout else (210.0, 297.0), boxes=tuple(boxes), crop=crop,
        message=page.message,
        comment_rect=(comment.x, comment.y, comment.w, comment.h) if comment else None,
        archived=archived, layout_hash=page.layout_hash,
    )


def _crop_view(root: Path, path: str, layout: Layout | None, ballot_page: int | None,
               stored: CropRegion | None) -> CropView | None:
    size = _png_size(Path(root) / path)
    if size is None:
        return None
    region, res = crop_region(layout, ballot_page, stored, *size)
    return CropView(path, size[0], size[1], region, res)


def _questions(process: Process) -> tuple[QuestionView, ...]:
    numbers = {(it.question, it.option): it for it in process.items()}
    if process.kind == "poll":
        return tuple(
            QuestionView(q.id, dict(q.text), q.max_choices,
                         tuple(OptionView(o.id, numbers[(q.id, o.id)].number, dict(o.text)) for o in q.options))
            for q in process.questions)
    assert process.budget is not None
    budget = process.budget
    text = {lang: f"{budget.heading.name}: {budget.heading.amount:,} €".replace(",", ".") for lang in process.languages}
    return (QuestionView("budget", text, budget.max_lines,
                         tuple(OptionView(inv.id, numbers[("budget", inv.id)].number, dict(inv.title), inv.price)
                               for inv in budget.investments)),)


def item_detail(store: Store, process: Process, item_id: str, root: Path | str) -> ItemDetail:
    """Everything a reviewer needs to decide `item_id`; `root` is the workspace folder
    (crop paths are relative to it)."""
    item = get_item(store, process, item_id)
    layouts = store.layouts()
    past = tuple(stored.history(store, item.id))
    questions = _questions(process)
    if item.kind == "record":
        row = stored.record(store, item.record_id)
        assert row is not None
        page_rows = stored.pages_of_record(store, row.record_id, PageState.IDENTIFIED.value)
        names = stored.input_names(store, [p.input_sha256 for p in page_rows])
        pages = tuple(_page_view(process, layouts, p, names, Path(root)) for p in page_rows)
        related = ()
        if row.code_hash:
            related = tuple(map(_record_view, stored.other_records_of_code(store, row.code_hash, row.record_id)))
        language, content = None, ()
        if page_rows and page_rows[0].layout_hash in layouts:
            layout = layouts[page_rows[0].layout_hash]
            language, content = layout.language, tuple(p.page for p in layout.pages if p.kind != "back")
        return ItemDetail(item, _record_view(row), effective_decision(store, process, row.record_id), pages, related,
                          questions, past, layout_language=language, content_pages=content)
    page = page_by_item(store, parse_id(item.id))
    assert page is not None
    names = stored.input_names(store, [page.input_sha256])
    view = _page_view(process, layouts, page, names, Path(root))
    if item.kind == "page":
        return ItemDetail(item, None, None, (view,), (), questions, past)
    decided_text, personal = None, False
    if item.decision is not None and item.decision.in_force:
        decided_text = item.decision.body.get("text")
        personal = item.decision.action == ReviewAction.PERSONAL_DATA
    layout = layouts.get(page.layout_hash) if page.layout_hash else None
    comment_crop = _crop_view(Path(root), page.comment_crop, None, None, None) if page.comment_crop else None
    comment = CommentView(page.reading.comment_suggestion, page.reading.comment_confidence,
                          decided_text, personal, comment_crop, layout.language if layout else None)
    return ItemDetail(item, None, None, (view,), (), questions, past, comment=comment,
                      layout_language=layout.language if layout else None)


def lookup_ballot(store: Store, process: Process, serial: int) -> BallotLookup:
    """What identifying a page as ballot `serial` would mean; InvalidInput when no such ballot."""
    ballot = store.ballot(serial)
    if ballot is None:
        raise InvalidInput(f"no ballot with serial {serial} was printed for {process.id}")
    layout = store.layouts().get(ballot.layout_hash)
    if layout is None:
        raise InvalidInput(f"ballot {serial}: its layout {ballot.layout_hash} is not in the store")
    code_hash = stored.ballot_code_hash(store, serial)
    content = tuple(p.page for p in layout.pages if p.kind != "back")
    present = tuple(sorted(stored.ballot_pages(store, code_hash, PageState.IDENTIFIED.value)))
    missing = [p for p in content if p not in present]
    suggested = missing[0] if len(missing) == 1 else (content[0] if len(content) == 1 else None)
    pages = tuple(
        PageView(source="", file_name=None, page_no=0, batch="", state="", reasons=(), ballot_page=p.page,
                 page_size_mm=tuple(layout.page_size_mm),
                 boxes=tuple(BoxView(b.question, b.option, b.number, b.x, b.y, b.w, b.h, None, None, None, False)
                             for b in p.boxes),
                 crop=None, message=None)
        for p in layout.pages if p.kind != "back")
    return BallotLookup(serial, ballot.state, layout.layout_id, layout.language, content, present, suggested, pages)



"""The scanned evidence of a review item, rendered from the archived scan on demand.

Every page hybrid read is kept as a content-addressed copy under `scans/` (DESIGN §2).
A reviewer needs to see the paper, whatever the reason for doubt, so this module cuts a
picture of a page out of that copy when the review page first asks for it and keeps it
under `scans/crops/` (named like the reader's crops, so `purge` deletes it with them):

- `ballot`  a ballot page from its top down to 6 mm below its last box or comment box,
            upright at `RES` px/mm; the QR and the printed code are blacked out (review
            never shows a code, DESIGN §4), and the information block below the boxes,
            which may repeat the code, is left out;
- `header`  the same, but the code's last group stays visible so the reviewer can check
            the code Tesseract read against the paper (code_from_ocr);
- `whole`   the whole page of an unreadable sheet, QR and code area blacked out.

Where a picture lies on its page is known before it is rendered (`plan`), so the page
can draw every box over it. Registration reuses the reader's corner-mark finder; the
page is turned the way its QR corner says (the inkier of the two corners it can be in).
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from hybrid.layout import Layout, Rect

RES = 8.0  # px per mm of a rendered picture (~200 DPI): a 6 mm box is 48 px before zooming
RENDER_DPI = 200  # PDF pages are rendered at this resolution (a little above RES)
JPEG_QUALITY = 80
MARGIN_BELOW_MM = 6.0
PAGE_MM = (210.0, 297.0)
MASK_PAD_MM = 1.0
CODE_GROUP_SHARE = 0.5  # the code text fills ~3/4 of its box; its last group starts at ~half of the padded box
VARIANTS = ("ballot", "header", "whole")
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


class NoEvidence(Exception):
    """The archived scan is missing (purged) or cannot be registered."""


@dataclass(frozen=True)
class Plan:
    """What will be rendered: `region_mm` (x, y, w, h) of the page at `px_per_mm`, with
    `masks` (mm rectangles) blacked out. `name` is the cache file under scans/crops/."""

    variant: str
    region_mm: tuple[float, float, float, float]
    px_per_mm: float
    masks: tuple[tuple[float, float, float, float], ...]
    name: str

    @property
    def width(self) -> int:
        return max(1, round(self.region_mm[2] * self.px_per_mm))

    @property
    def height(self) -> int:
        return max(1, round(self.region_mm[3] * self.px_per_mm))


def _rect(r: Rect) -> tuple[float, float, float, float]:
    return (r.x - MASK_PAD_MM, r.y - MASK_PAD_MM, r.w + 2 * MASK_PAD_MM, r.h + 2 * MASK_PAD_MM)


def _furniture(layouts: Mapping[str, Layout]) -> tuple[Rect | None, Rect | None, tuple[Rect, ...]]:
    """(QR, code text, corner squares) where every layout prints them (DESIGN §5)."""
    pages = [p for h in sorted(layouts) for p in layouts[h].pages if p.kind in ("front", "continuation", "back")]
    qr = next((p.qr for p in pages if p.qr is not None), None)
    code = next((p.code_text for p in pages if p.code_text is not None), None)
    fiducials = next((list(p.fiducials) for p in pages if len(p.fiducials) == 4), [])
    return qr, code, _clockwise(fiducials) if fiducials else ()


def _clockwise(rects: list[Rect]) -> tuple[Rect, ...]:
    """Corner squares as the reader numbers them: TL, TR, BR, BL, whatever the layout's order."""
    c = [r.centre for r in rects]
    pick = (min(range(4), key=lambda i: c[i][0] + c[i][1]), max(range(4), key=lambda i: c[i][0] - c[i][1]),
            max(range(4), key=lambda i: c[i][0] + c[i][1]), min(range(4), key=lambda i: c[i][0] - c[i][1]))
    return tuple(rects[i] for i in pick)


def plan(source: str, variant: str, layouts: Mapping[str, Layout], layout_hash: str | None,
         ballot_page: int | None) -> Plan:
    """The picture of page `source` (`scan:<sha256>#p<n>`) for a review item."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown evidence variant {variant!r}")
    sha, _, page_no = source.removeprefix("scan:").partition("#p")
    layout = layouts.get(layout_hash) if layout_hash else None
    page_w, page_h = layout.page_size_mm if layout else PAGE_MM
    page = None
    if layout is not None and ballot_page is not None and 1 <= ballot_page <= len(layout.pages):
        page = layout.pages[ballot_page - 1]
    qr, code, _ = _furniture({layout_hash: layout} if layout is not None else layouts)
    masks = [_rect(r) for r in (qr, page.qr if page else None) if r is not None]
    code_rect = (page.code_text if page is not None and page.code_text is not None else code)
    if code_rect is not None:
        if variant == "header":  # hide all but the code's last group
            x, y, w, h = _rect(code_rect)
            masks.append((x, y, w * (1 - CODE_GROUP_SHARE), h))
        else:
            masks.append(_rect(code_rect))
    bottom = page_h
    if variant != "whole" and page is not None:
        rects = list(page.boxes) + ([page.comment] if page.comment else [])
        if rects:
            bottom = min(page_h, max(r.y + r.h for r in rects) + MARGIN_BELOW_MM)
    region = (0.0, 0.0, float(page_w), float(bottom))
    key = hashlib.sha256(repr((variant, region, RES, masks)).encode()).hexdigest()[:8]
    name = f"{sha[:16]}-p{int(page_no)}-evidence-{variant}-{key}.jpg"
    return Plan(variant, region, RES, tuple(masks), name)


# -- rendering ---------------------------------------------------------------------------------


def _page_image(archived: Path, page_no: int) -> np.ndarray:
    """Page `page_no` (1-based) of an archived input, 2-D uint8 grayscale, upright as the file says."""
    if archived.suffix.lower() == ".pdf":
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(str(archived))
        try:
            if not 1 <= page_no <= len(pdf):
                raise NoEvidence(f"{archived.name} has no page {page_no}")
            page = pdf[page_no - 1]
            try:
                embedded = _lone_jpeg(page)
                if embedded is not None:
                    decoded = cv2.imdecode(np.frombuffer(embedded, np.uint8), cv2.IMREAD_GRAYSCALE)
                    if decoded is not None:
                        return decoded
                bitmap = page.render(scale=RENDER_DPI / 72, grayscale=True)
                array = np.array(bitmap.to_numpy(), copy=True)
            finally:
                page.close()
        finally:
            pdf.close()
        return array if array.ndim == 2 else cv2.cvtColor(array[..., :3], cv2.COLOR_BGR2GRAY)
    from ocr.page_source import iter_pages, load_page_image, sniff

    for page in iter_pages(sniff(archived)):
        if page.page_no == page_no:
            return load_page_image(page)
    raise NoEvidence(f"{archived.name} has no page {page_no}")


def _lone_jpeg(page) -> bytes | None:
    """The JPEG bytes of a scanner's page: one upright JPEG image and nothing else (a third
    of the time pdfium takes to render it). Anything else is rendered."""
    import pypdfium2.raw as pdfium_c

    if page.get_rotation() != 0:
        return None
    objects = list(page.get_objects())
    if len(objects) != 1 or objects[0].type != pdfium_c.FPDF_PAGEOBJ_IMAGE:
        return None
    image = objects[0]
    a, b, c, d, _, _ = image.get_matrix().get()
    if b or c or a <= 0 or d <= 0 or image.get_filters() != ["DCTDecode"]:
        return None
    data = image.get_data(decode_simple=False)
    return bytes(data) if bytes(data[:2]) == b"\xff\xd8" else None


def _frame(gray: np.ndarray, fiducials: tuple[Rect, ...], qr: Rect | None):
    """The page's frame (layout mm → pixels), turned the way its QR corner says; None when
    the corner marks cannot be found."""
    from ocr.register import DEFAULT_FIDUCIALS, PageFrame, corner_orders, find_corners, ink_mask, working_copy

    fiducials = fiducials or DEFAULT_FIDUCIALS
    small, factor = working_copy(gray)
    mask = ink_mask(small)
    for corners in find_corners(gray, small, factor, mask, fiducials, limit=1):
        frames = [PageFrame.from_corners(gray, c, fiducials) for c, _ in corner_orders(corners)]
        if qr is None:
            return frames[0]
        return min(frames, key=lambda f: float(f.warp(qr, 2.0).mean()))  # the inkier QR corner is up
    return None


def _black_out(picture: np.ndarray, plan_: Plan) -> None:
    rx, ry, _, _ = plan_.region_mm
    k = plan_.px_per_mm
    for x, y, w, h in plan_.masks:
        x0, y0 = math.floor((x - rx) * k), math.floor((y - ry) * k)
        x1, y1 = math.ceil((x + w - rx) * k), math.ceil((y + h - ry) * k)
        if x1 > 0 and y1 > 0 and x0 < picture.shape[1] and y0 < picture.shape[0]:
            picture[max(0, y0):y1, max(0, x0):x1] = 0


def _unplaced(gray: np.ndarray, plan_: Plan) -> np.ndarray:
    """No corner marks: the whole image scaled to the plan's size, its top fifth (where the
    code and QR are printed on an upright page) blacked out."""
    picture = cv2.resize(gray, (plan_.width, plan_.height), interpolation=cv2.INTER_AREA)
    picture[: max(1, picture.shape[0] // 5)] = 0
    return picture


def render(root: Path, archived: str | None, source: str, plan_: Plan, layouts: Mapping[str, Layout]) -> Path:
    """The picture of `plan_`, from the cache under scans/crops/ or rendered now from the
    archived input `archived` (relative to `root`). Raises NoEvidence when the copy is gone."""
    root = Path(root)
    target = root / "scans" / "crops" / plan_.name
    if target.is_file():
        return target
    if not archived:
        raise NoEvidence(f"{source}: no archived copy of the scan (purged?)")
    path = (root / archived).resolve()
    if not path.is_relative_to((root / "scans").resolve()) or not path.is_file():
        raise NoEvidence(f"{source}: the archived copy {archived} is missing")
    with _lock_for(plan_.name):
        if target.is_file():
            return target
        page_no = int(source.rpartition("#p")[2])
        gray = _page_image(path, page_no)
        qr, _, fiducials = _furniture(layouts)
        frame = _frame(gray, fiducials, qr)
        if frame is None:
            picture = _unplaced(gray, plan_)
        else:
            picture = frame.warp(plan_.region_mm, plan_.px_per_mm)
            _black_out(picture, plan_)
        ok, data = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise NoEvidence(f"{source}: the picture could not be encoded")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + f".{os.getpid()}.partial")
        partial.write_bytes(data.tobytes())
        os.replace(partial, target)  # readers never see half a file
    return target


def _lock_for(name: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(name, threading.Lock())


class Prerenderer:
    """Renders pictures before anyone asks, in one background thread, so an item opens with
    its image at once: first the items right after the one a reviewer opened (they work
    down the queue), then every open item in queue order. `job(item_id)` renders the
    pictures of one item; a failing job is skipped (the page renders on demand anyway)."""

    def __init__(self, job) -> None:
        import collections

        self._job = job
        self._urgent: collections.deque[str] = collections.deque()
        self._backlog: collections.deque[str] = collections.deque()
        self._done: set[str] = set()
        self._wake = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="evidence-prerender", daemon=True)

    def start(self, backlog) -> None:
        with self._wake:
            self._backlog.extend(backlog)
        self._thread.start()

    def soon(self, item_ids) -> None:
        with self._wake:
            for item_id in reversed(list(item_ids)):
                if item_id not in self._done:
                    self._urgent.appendleft(item_id)
            self._wake.notify()

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify()
        if self._thread.is_alive():
            self._thread.join(5)

    def _next(self) -> str | None:
        with self._wake:
            while not self._stopped and not self._urgent and not self._backlog:
                self._wake.wait()
            if self._stopped:
                return None
            return (self._urgent or self._backlog).popleft()

    def _run(self) -> None:
        while (item_id := self._next()) is not None:
            if item_id in self._done:
                continue
            try:
                self._job(item_id)
            except Exception:  # noqa: BLE001 - best effort: the page renders on demand
                pass
            self._done.add(item_id)

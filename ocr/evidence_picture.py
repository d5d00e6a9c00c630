"""Cut a review item's picture (a `hybrid.review.evidence_plan.Plan`) out of an archived scan.

The page is read the way the reader reads it (`page_source`), registered with the
reader's corner-mark finder and turned the way its QR corner says (the inkier of the two
corners it can be in); the plan's masks (QR, code) are blacked out. A page whose corner
marks cannot be found is scaled whole, its top fifth (where an upright page prints the
code and QR) blacked out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import cv2
import numpy as np

from hybrid.layout import Layout, Rect
from hybrid.review.evidence_plan import NoEvidence, Plan, furniture

RENDER_DPI = 200  # PDF pages are rendered at this resolution (a little above the plan's 8 px/mm)
JPEG_QUALITY = 80


def draw(archived: Path, page_no: int, plan: Plan, layouts: Mapping[str, Layout]) -> bytes:
    """The JPEG bytes of `plan` cut from page `page_no` (from 1) of the file `archived`."""
    gray = _page_image(archived, page_no)
    printed = furniture(layouts)
    frame = _frame(gray, printed.fiducials, printed.qr)
    if frame is None:
        picture = _unplaced(gray, plan)
    else:
        picture = frame.warp(plan.region_mm, plan.px_per_mm)
        _black_out(picture, plan)
    ok, data = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise NoEvidence(f"{archived.name} page {page_no}: the picture could not be encoded")
    return data.tobytes()


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


def _black_out(picture: np.ndarray, plan: Plan) -> None:
    rx, ry, _, _ = plan.region_mm
    k = plan.px_per_mm
    for x, y, w, h in plan.masks:
        x0, y0 = math.floor((x - rx) * k), math.floor((y - ry) * k)
        x1, y1 = math.ceil((x + w - rx) * k), math.ceil((y + h - ry) * k)
        if x1 > 0 and y1 > 0 and x0 < picture.shape[1] and y0 < picture.shape[0]:
            picture[max(0, y0):y1, max(0, x0):x1] = 0


def _unplaced(gray: np.ndarray, plan: Plan) -> np.ndarray:
    """No corner marks: the whole image scaled to the plan's size, its top fifth blacked out."""
    picture = cv2.resize(gray, (plan.width, plan.height), interpolation=cv2.INTER_AREA)
    picture[: max(1, picture.shape[0] // 5)] = 0
    return picture

"""Read one scanned page: `read_page(image, layouts) -> PageResult` (DESIGN §6).

Pure: the same pixels and layouts always give the same result; the only outside
call is Tesseract (when the QR fails, and for comments). The pipeline:

1. blank check on a downscaled copy;
2. the four corner squares → homography layout mm → pixels (`ocr.register`);
3. the QR where the layout puts it, in the more upright of the two ways the corner
   rectangle can lie, else in the other (the page is upside down); `ocr.qr_read`;
4. no QR: Tesseract reads the printed code, serial and layout id (`ocr.ocr_text`);
5. geometry is checked against landmarks not used for the fit (QR corners, box outlines);
6. marks: each box is found, then its fill measured (`ocr.marks`);
7. comment ink, and crops for a person: comment, and the box region with the code hidden.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import cv2
import numpy as np

from hybrid.layout import Layout, Page, Rect
from hybrid.qr_payload import InvalidPayload, QrPayload
from hybrid.states import Reason
from ocr import marks as marks_mod
from ocr import ocr_text
from ocr.page_result import CropRegion, Geometry, PageKind, PageResult
from ocr.qr_read import QrRead, find_qr_anywhere, read_qr_at
from ocr.streaks import find_streaks, painted_mask, without_streaks
from ocr.register import (
    DEFAULT_FIDUCIALS,
    Corners,
    GeometryFacts,
    PageFrame,
    corner_orders,
    find_corners,
    geometry_doubts,
    ink_mask,
    ink_share,
    measure_geometry,
    paper_ink_share,
    quarter_turns_of,
    refine_square,
    square_candidates,
    to_contract,
    to_gray,
    working_copy,
)

BLANK_INK = 0.0008  # share of ink pixels (downscaled, 3 % border left out) below which a page is blank
DEFAULT_QR = Rect(x=160.0, y=22.0, w=26.0, h=26.0)
COMMENT_MIN_INK = 0.001  # ~4 mm² of pen in a 170 × 22 mm box (a short word): someone wrote something
OCR_RES = 12.0  # px per mm for Tesseract crops (~300 DPI)
COMMENT_CROP_RES = 6.0  # ~150 DPI: readable for staff, small on disk
REVIEW_CROP_RES = 4.0  # ~100 DPI
PAGE_FIT_MIN = 0.8  # share of a page's boxes whose outlines must be found to identify it by OCR
CODE_CROPS = ((1.5, 0.8), (0.6, 0.3), (3.0, 1.6))  # margins (mm) around the printed code, tried in turn
PNG_FAST = [cv2.IMWRITE_PNG_COMPRESSION, 1]


@dataclass(frozen=True)
class _Furniture:
    """Where the per-ballot print sits: the same on every page of every layout (DESIGN §5)."""

    fiducials: tuple[Rect, ...]  # TL, TR, BR, BL
    qr: Rect
    code_text: Rect | None
    serial_text: Rect | None
    layout_id_text: Rect | None


def _ordered(rects: list[Rect]) -> tuple[Rect, ...]:
    """Corner squares in the order TL, TR, BR, BL whatever order the layout lists them in."""
    c = [r.centre for r in rects]
    tl = min(range(4), key=lambda i: c[i][0] + c[i][1])
    br = max(range(4), key=lambda i: c[i][0] + c[i][1])
    tr = max(range(4), key=lambda i: c[i][0] - c[i][1])
    bl = min(range(4), key=lambda i: c[i][0] - c[i][1])
    return (rects[tl], rects[tr], rects[br], rects[bl])


def _furniture(layouts: Mapping[str, Layout]) -> _Furniture:
    pages = [p for h in sorted(layouts) for p in layouts[h].pages]
    fid = next((p.fiducials for p in pages if len(p.fiducials) == 4), None)
    fiducials = _ordered(list(fid)) if fid else DEFAULT_FIDUCIALS
    qr = pages[0].qr if pages else DEFAULT_QR
    code = next((p.code_text for p in pages if p.code_text is not None), None)
    serial = next((p.serial_text for p in pages if p.serial_text is not None), None)
    lid = next((p.layout_id_text for p in pages if p.layout_id_text is not None), None)
    return _Furniture(fiducials, qr, code, serial, lid)


def _rect_corners(r: Rect) -> np.ndarray:
    return np.array([[r.x, r.y], [r.x + r.w, r.y], [r.x + r.w, r.y + r.h], [r.x, r.y + r.h]], dtype=np.float64)


# -- the entry point -----------------------------------------------------------------------


def read_page(image: np.ndarray, layouts: Mapping[str, Layout], *, ocr: bool = True) -> PageResult:
    """Read one page image (uint8 grayscale, BGR or BGRA; any resolution; scan or photo)
    against the stored layouts (by layout hash).

    What a caller may rely on:
    - Pure: the same pixels and layouts give the same result; `image` is not modified.
      Tesseract runs only when the QR fails and for written comments (never with
      `ocr=False`).
    - `kind` is BLANK (almost no ink), FOREIGN (no corner marks and no QR of ours),
      BACK (a back side's QR), UNREADABLE (corner marks, but neither QR nor printed code
      could be read; `ocr_text` holds what Tesseract saw) or BALLOT.
    - A BALLOT has a trusted `payload`. With `message == "unknown layout"` it has no
      boxes (another process or print run: the caller rejects it). Otherwise it has one
      `BoxReading` per box of its layout page, in layout order, and `reasons` with every
      doubt of this page: CODE_FROM_OCR (payload rebuilt from Tesseract's reading of the
      printed code, serial and layout id), DOUBTFUL_GEOMETRY, MARGINAL_MARK,
      MARK_OUTSIDE_BOX. A page with any reason carries `review_crop_png`.
    - Written comments give `comment_ink` > 0 and `comment_crop_png`; Tesseract's reading
      is offered as `comment_suggestion` only at `comment_confidence` ≥ 70.
    """
    if image.size == 0 or min(image.shape[:2]) < 64:
        return PageResult(kind=PageKind.FOREIGN, message="the image is too small to be a page")
    gray = to_gray(image)
    streaks = find_streaks(gray)
    painted = painted_mask(gray.shape, streaks)
    gray = without_streaks(gray, streaks)
    small, factor = working_copy(gray)
    mask = ink_mask(small)
    if ink_share(mask) < BLANK_INK:
        return PageResult(kind=PageKind.BLANK, message="blank page")
    furniture = _furniture(layouts)
    corner_sets = find_corners(gray, small, factor, mask, furniture.fiducials)
    tried: list[tuple[Corners, int, PageFrame]] = []
    invalid: QrRead | None = None
    for corners in corner_sets:
        ways = [(c, q, PageFrame.from_corners(gray, c, furniture.fiducials, painted)) for c, q in corner_orders(corners)]
        tried.extend(ways)
        for thorough in (False, True):  # both ways up quickly first: an upside-down page costs little
            for c, q, frame in ways:
                qr = read_qr_at(frame, furniture.qr, thorough=thorough)
                if qr is not None and qr.payload is not None:
                    return _identified(frame, c, q, qr, layouts, furniture, ocr)
                invalid = invalid or qr
    # No QR where any corner set puts it: perhaps the corners were wrong (a stain, a
    # torn corner); a QR anywhere still identifies the sheet.
    anywhere = find_qr_anywhere(gray)
    if anywhere is not None and anywhere.payload is not None:
        return _registered_on_qr(gray, painted, anywhere, mask, factor, layouts, furniture, ocr)
    if not tried:
        if anywhere is not None:
            return PageResult(kind=PageKind.FOREIGN, message=f"a QR that is not one of ours ({anywhere.problem})")
        if paper_ink_share(small, mask) < BLANK_INK:
            return PageResult(kind=PageKind.BLANK, message="blank sheet")
        return PageResult(kind=PageKind.FOREIGN, message="no corner marks and no QR: not one of our ballots")
    return _qr_failed(tried[:2], layouts, furniture, ocr, invalid or anywhere)


# -- identified pages ----------------------------------------------------------------------


def _black_ratio(frame: PageFrame, fiducials: tuple[Rect, ...]) -> float:
    """How dark printed black is relative to the paper around it (≈0 for a good scan, 0.2–0.4
    for a grey scanner or a photo), from the solid corner squares: the middle of each square
    against the paper in a band 6.5–7.5 mm from its centre (clear of the square at any turn)."""
    gray = frame.gray
    h, w = gray.shape
    ratios = []
    for f in fiducials:
        cx, cy = frame.to_image(np.array([f.centre]))[0]
        k = frame.px_per_mm(*f.centre)
        inner = max(1, int(f.w * k / 4))
        band0, band1 = int(f.w * k * 0.81), int(f.w * k * 0.94) + 1
        x, y = round(cx), round(cy)
        if x - band1 < 0 or y - band1 < 0 or x + band1 >= w or y + band1 >= h:
            continue
        core = gray[y - inner:y + inner + 1, x - inner:x + inner + 1]
        ring = np.concatenate([gray[y - band1:y - band0, x - band1:x + band1].ravel(),
                               gray[y + band0:y + band1, x - band1:x + band1].ravel(),
                               gray[y - band0:y + band0, x - band1:x - band0].ravel(),
                               gray[y - band0:y + band0, x + band0:x + band1].ravel()])
        white = float(np.partition(ring, int(0.9 * (ring.size - 1)))[int(0.9 * (ring.size - 1))])
        core = core.ravel()
        if white > 0:
            ratios.append(float(np.partition(core, core.size // 2)[core.size // 2]) / white)
    if not ratios:
        return 0.1
    return float(min(0.7, max(0.0, np.median(ratios))))


def _qr_residual_mm(qr: QrRead | None, rect: Rect) -> list[float]:
    if qr is None or qr.corners_mm is None or len(qr.corners_mm) != 4:
        return []
    return [float(d) for d in np.linalg.norm(qr.corners_mm - _rect_corners(rect), axis=1)]


def _identified(frame: PageFrame, corners: Corners, quarter_turns: int, qr: QrRead, layouts: Mapping[str, Layout],
                furniture: _Furniture, ocr: bool) -> PageResult:
    """The QR was read where the corner marks put it."""
    payload = qr.payload
    assert payload is not None
    facts = measure_geometry(frame, corners, quarter_turns, furniture.fiducials)
    qr_resid = _qr_residual_mm(qr, furniture.qr)
    layout = layouts.get(payload.layout_hash)
    common = {"payload": payload, "layout_hash": payload.layout_hash, "geometry": _geometry(facts, qr_resid, [])}
    if payload.letter:
        return _cover_letter(payload)
    if payload.is_back:
        return PageResult(kind=PageKind.BACK, message="back side", **common)
    if layout is None:
        return PageResult(kind=PageKind.BALLOT, message="unknown layout", **common)
    if payload.pages != len(layout.pages):
        return PageResult(kind=PageKind.BALLOT, reasons=(Reason.DOUBTFUL_GEOMETRY,), **common,
                          message=f"page {payload.page}/{payload.pages} does not fit layout {layout.layout_id}")
    page = layout.pages[payload.page - 1]
    return _read_ballot(frame, facts, page, payload, qr_resid, furniture, ocr)


def _cover_letter(payload: QrPayload) -> PageResult:
    """A cover letter carries a name and an address: recognised, never cropped or kept."""
    return PageResult(kind=PageKind.LETTER, payload=payload, layout_hash=payload.layout_hash,
                      message="cover letter (not kept)")


def _geometry(facts: GeometryFacts, qr_resid: list[float], box_resid: list[float],
              forced_doubt: str | None = None) -> Geometry:
    return _geometry_and_doubts(facts, qr_resid, box_resid, forced_doubt)[0]


def _geometry_and_doubts(facts: GeometryFacts, qr_resid: list[float], box_resid: list[float],
                         forced_doubt: str | None = None) -> tuple[Geometry, list[str]]:
    resid = qr_resid + box_resid
    reprojection = math.sqrt(sum(r * r for r in resid) / len(resid)) if resid else 0.0
    doubts = geometry_doubts(facts, reprojection)
    if forced_doubt:
        doubts.insert(0, forced_doubt)
    return to_contract(facts, reprojection, bool(doubts)), doubts


def _read_ballot(frame: PageFrame, facts: GeometryFacts, page: Page, payload: QrPayload, qr_resid: list[float],
                 furniture: _Furniture, ocr: bool, *, from_ocr: bool = False, ocr_text_read: str | None = None,
                 ocr_layout_id: str | None = None,
                 extra_reasons: tuple[Reason, ...] = (), extra_message: str | None = None,
                 forced_doubt: str | None = None) -> PageResult:
    """Marks, geometry doubts, comment and crops of an identified front or continuation page."""
    black = _black_ratio(frame, furniture.fiducials)
    boxes = marks_mod.read_boxes(frame, page, black)
    box_resid = [math.hypot(*m.offset_mm) for m in boxes.measures if m.located]
    if boxes.unlocated:
        forced_doubt = forced_doubt or f"printed box(es) {', '.join(map(str, boxes.unlocated))} not found"
    geometry, doubts = _geometry_and_doubts(facts, qr_resid, box_resid, forced_doubt)
    reasons: list[Reason] = list(extra_reasons)
    messages: list[str] = [extra_message] if extra_message else []
    if from_ocr and Reason.CODE_FROM_OCR not in reasons:
        reasons.append(Reason.CODE_FROM_OCR)
    if geometry.doubtful:
        if Reason.DOUBTFUL_GEOMETRY not in reasons:
            reasons.append(Reason.DOUBTFUL_GEOMETRY)
        messages.append("geometry: " + "; ".join(doubts))
    if boxes.marginal:
        reasons.append(Reason.MARGINAL_MARK)
        messages.append("marginal mark at " + ", ".join(map(str, boxes.marginal)))
    if boxes.outside_box:
        reasons.append(Reason.MARK_OUTSIDE_BOX)
        messages.append("ink beside box " + ", ".join(map(str, boxes.outside_box)))
    if facts.quarter_turns in (1, 3):
        messages.append("page turned by 90°")

    c_ink, c_text, c_conf, c_png = 0.0, None, None, None
    if page.comment is not None:
        scale = marks_mod.line_scale(np.array([m.outline for m in boxes.measures if m.located]))
        c_ink = marks_mod.comment_ink(frame, page.comment, black, scale)
        if c_ink >= COMMENT_MIN_INK:
            c_png, c_text, c_conf = _comment(frame, page.comment, ocr)
    review, review_region = _review_crop(frame, page, furniture) if reasons else (None, None)
    return PageResult(
        kind=PageKind.BALLOT,
        payload=payload,
        code_from_ocr=from_ocr,
        ocr_text=ocr_text_read,
        ocr_layout_id=ocr_layout_id,
        layout_hash=payload.layout_hash,
        geometry=geometry,
        boxes=boxes.readings,
        reasons=tuple(dict.fromkeys(reasons)),
        comment_ink=round(c_ink, 5),
        comment_suggestion=c_text,
        comment_confidence=c_conf,
        review_crop_png=review,
        review_crop_region=review_region,
        comment_crop_png=c_png,
        mark_signature=boxes.signature,
        message="; ".join(messages) or None,
    )


def _comment(frame: PageFrame, rect: Rect, ocr: bool) -> tuple[bytes, str | None, float | None]:
    inset = 0.6
    inner = (rect.x + inset, rect.y + inset, rect.w - 2 * inset, rect.h - 2 * inset)
    crop = frame.warp(inner, COMMENT_CROP_RES)
    png = cv2.imencode(".png", crop, PNG_FAST)[1].tobytes()
    if not ocr:
        return png, None, None
    reading = ocr_text.read_comment(frame.warp(inner, 10.0))
    confidence = round(reading.confidence, 1)
    text = reading.text if reading.text and confidence >= ocr_text.COMMENT_MIN_CONFIDENCE else None
    return png, text, confidence


def _review_crop(frame: PageFrame, page: Page, furniture: _Furniture) -> tuple[bytes | None, CropRegion | None]:
    """The page's box region (boxes, their text, the comment box) upright at ~100 DPI, with
    the printed code and the QR blacked out should they fall inside (review crops never
    show a code, DESIGN §4), and where on the page it was cut. The region ends above the
    information block, which repeats the code in its SMS example."""
    rects = list(page.boxes) + ([page.comment] if page.comment else [])
    if not rects:
        return None, None
    y0 = max(0.0, min(r.y for r in rects) - 8.0)
    y1 = min(297.0, max(r.y + r.h for r in rects) + 5.0)
    region = (10.0, y0, 190.0, y1 - y0)
    crop = frame.warp(region, REVIEW_CROP_RES)
    for r in [furniture.qr] + [r for r in (furniture.code_text, page.code_text) if r is not None]:
        x0 = math.floor((r.x - 1.0 - region[0]) * REVIEW_CROP_RES)
        top = math.floor((r.y - 1.0 - region[1]) * REVIEW_CROP_RES)
        x1 = math.ceil((r.x + r.w + 1.0 - region[0]) * REVIEW_CROP_RES)
        bottom = math.ceil((r.y + r.h + 1.0 - region[1]) * REVIEW_CROP_RES)
        if x1 > 0 and bottom > 0 and x0 < crop.shape[1] and top < crop.shape[0]:
            crop[max(0, top):bottom, max(0, x0):x1] = 0
    return cv2.imencode(".png", crop, PNG_FAST)[1].tobytes(), CropRegion(region, REVIEW_CROP_RES)


# -- the QR did not decode -------------------------------------------------------------------


def _qr_ink(frame: PageFrame, qr: Rect) -> float:
    patch = frame.warp(qr, 2.0)
    return 255.0 - float(patch.mean())


def _qr_failed(frames: list[tuple[Corners, int, PageFrame]], layouts: Mapping[str, Layout], furniture: _Furniture,
               ocr: bool, invalid: QrRead | None) -> PageResult:
    """Corner squares but no trusted QR: Tesseract reads the printed code (DESIGN §6)."""
    # The QR corner is the inkier one, even when the QR is torn or painted over.
    frames = sorted(frames, key=lambda f: -_qr_ink(f[2], furniture.qr))
    corners, q, frame = frames[0]
    facts = measure_geometry(frame, corners, q, furniture.fiducials)
    why = "QR unreadable" if invalid is None else f"QR not trusted ({invalid.problem})"
    geometry = _geometry(facts, [], [])
    if not ocr or furniture.code_text is None or not layouts:
        return PageResult(kind=PageKind.UNREADABLE, geometry=geometry, message=why)
    seen: list[str] = []
    for corners, q, frame in frames:
        for dx, dy in CODE_CROPS:
            code, text = ocr_text.read_code(frame.warp(_grow(furniture.code_text, dx, dy), OCR_RES))
            seen.append(text)
            if code is not None:
                break
        if code is not None:
            break
    else:
        text = " / ".join(s for s in seen if s) or None
        return PageResult(kind=PageKind.UNREADABLE, geometry=geometry, ocr_text=text,
                          message=f"{why}; the printed code could not be read")
    facts = measure_geometry(frame, corners, q, furniture.fiducials)
    serial, serial_text = (None, "")
    if furniture.serial_text is not None:
        serial, serial_text = ocr_text.read_serial(frame.warp(_grow(furniture.serial_text, 1.0, 0.8), OCR_RES))
    layout_id = ""
    if furniture.layout_id_text is not None:
        layout_id = ocr_text.read_layout_id(frame.warp(_grow(furniture.layout_id_text, 1.0, 0.8), OCR_RES))
    read = f"{code} {serial_text}".strip()
    if serial is None:
        return PageResult(kind=PageKind.UNREADABLE, geometry=_geometry(facts, [], []), ocr_text=read,
                          message=f"{why}; code read by OCR but not the serial")
    fit = _pick_page(frame, layouts, layout_id, furniture.fiducials)
    if fit is None:
        return PageResult(kind=PageKind.UNREADABLE, geometry=_geometry(facts, [], []), ocr_text=read,
                          message=f"{why}; code read by OCR but the page matches no known layout")
    layout, page, ambiguous = fit
    try:
        payload = QrPayload(layout.process, layout.layout_hash, page.page, len(layout.pages), serial, code)
    except InvalidPayload:
        return PageResult(kind=PageKind.UNREADABLE, geometry=_geometry(facts, [], []), ocr_text=read, message=why)
    extra = (Reason.CODE_FROM_OCR,) + ((Reason.DOUBTFUL_GEOMETRY,) if ambiguous else ())
    message = f"{why}; code and serial read by OCR"
    return _read_ballot(frame, facts, page, payload, [], furniture, ocr, from_ocr=True, ocr_text_read=read,
                        ocr_layout_id=layout_id, extra_reasons=extra, extra_message=message,
                        forced_doubt="page identified by its boxes, not certainly" if ambiguous else None)


def _grow(r: Rect, dx: float, dy: float) -> Rect:
    return Rect(x=r.x - dx, y=r.y - dy, w=r.w + 2 * dx, h=r.h + 2 * dy)


def _pick_page(frame: PageFrame, layouts: Mapping[str, Layout], layout_id: str,
               fiducials: tuple[Rect, ...]) -> tuple[Layout, Page, bool] | None:
    """The (layout, page) whose printed boxes are where this page has them. Layouts whose id
    matches the OCR'd one are preferred; returns whether the choice is ambiguous."""
    candidates = [layouts[h] for h in sorted(layouts)]
    if layout_id:
        close = [lay for lay in candidates if ocr_text.similarity(lay.layout_id, layout_id) >= 0.7]
        candidates = close or candidates
    scored = []
    black = _black_ratio(frame, fiducials)
    for layout in candidates:
        for page in layout.pages:
            if page.code_text is None:
                continue
            fit, found = _page_fit(frame, page, black)
            scored.append((fit, found, layout, page))
    if not scored:
        return None
    scored.sort(key=lambda s: (-s[0], -s[1], s[2].layout_hash, s[3].page))
    fit, found, layout, page = scored[0]
    if fit < PAGE_FIT_MIN:
        return None
    rivals = [s for s in scored[1:] if s[0] >= fit - 0.15 and s[1] >= found and
              (s[2].layout_hash, s[3].page) != (layout.layout_hash, page.page)]
    same_boxes = all(_same_boxes((s[2], s[3]), (layout, page)) for s in rivals)
    return layout, page, bool(rivals) and not same_boxes


def _same_boxes(a: tuple[Layout, Page], b: tuple[Layout, Page]) -> bool:
    """Two candidate pages that would be read and counted identically."""
    def key(lp: tuple[Layout, Page]) -> tuple:
        layout, page = lp
        return (layout.process, len(layout.pages), page.page,
                [(x.x, x.y, x.w, x.h, x.question, x.option, x.number) for x in page.boxes])
    return key(a) == key(b)


def _page_fit(frame: PageFrame, page: Page, black: float) -> tuple[float, int]:
    """Share and count of the page's printed boxes (and comment box) found where expected."""
    checks = 0
    found = 0
    if page.boxes:
        reading = marks_mod.read_boxes(frame, page, black)
        checks += len(reading.measures)
        found += sum(1 for m in reading.measures if m.located and math.hypot(*m.offset_mm) < 1.0)
    if page.comment is not None:
        checks += 1
        found += int(_comment_outline_found(frame, page.comment, black))
    return (found / checks if checks else 0.0), found


def _comment_outline_found(frame: PageFrame, rect: Rect, black: float) -> bool:
    """The comment box's top and bottom lines are where the layout says."""
    res = 4.0
    ink = marks_mod.frame_ink(frame, (rect.x + 10, rect.y - 2.0, 20.0, rect.h + 4.0), black, res, 8.0)
    profile = ink.mean(axis=1)
    top = profile[int(1.0 * res):int(3.0 * res)].max(initial=0)
    bottom = profile[int((rect.h + 1.0) * res):int((rect.h + 3.0) * res)].max(initial=0)
    return bool(top > 0.3 and bottom > 0.3)


# -- no corner squares -----------------------------------------------------------------------


def _registered_on_qr(gray: np.ndarray, painted: np.ndarray | None, qr: QrRead, mask: np.ndarray, factor: int,
                      layouts: Mapping[str, Layout], furniture: _Furniture, ocr: bool) -> PageResult:
    """The corner marks were not all found but a QR was: the sheet is identified; the marks
    are read on a registration from the QR (and whichever corner marks fit it) for review."""
    assert qr.payload is not None
    payload = qr.payload
    if payload.letter:
        return _cover_letter(payload)
    if payload.is_back:
        return PageResult(kind=PageKind.BACK, payload=payload, layout_hash=payload.layout_hash,
                          message="back side (corner marks not found)")
    layout = layouts.get(payload.layout_hash)
    if layout is None:
        return PageResult(kind=PageKind.BALLOT, payload=payload, layout_hash=payload.layout_hash,
                          message="unknown layout")
    framed = _frame_from_qr(gray, painted, qr, mask, factor, furniture)
    if framed is None or payload.page > len(layout.pages):
        return PageResult(kind=PageKind.BALLOT, payload=payload, layout_hash=payload.layout_hash,
                          reasons=(Reason.DOUBTFUL_GEOMETRY,), message="corner marks not found; marks not read")
    frame, corners = framed
    facts = measure_geometry(frame, corners, quarter_turns_of(corners), furniture.fiducials)
    page = layout.pages[payload.page - 1]
    return _read_ballot(frame, facts, page, payload, [], furniture, ocr, extra_reasons=(Reason.DOUBTFUL_GEOMETRY,),
                        forced_doubt="corner marks not all found: registered on the QR")


def _frame_from_qr(gray: np.ndarray, painted: np.ndarray | None, qr: QrRead, mask: np.ndarray, factor: int,
                   furniture: _Furniture) -> tuple[PageFrame, Corners] | None:
    """A homography from the QR's corners, improved by whatever corner squares are near where
    it predicts them."""
    if qr.corners_px is None:
        return None
    src = _rect_corners(furniture.qr)
    h, _ = cv2.findHomography(src, qr.corners_px)
    if h is None:
        return None
    frame = PageFrame(gray, h, painted)
    centres, sides = square_candidates(mask)
    centres = centres * factor + (factor - 1) / 2
    mm = np.array([f.centre for f in furniture.fiducials])
    predicted = frame.to_image(mm)
    pts_mm, pts_px = list(src), list(qr.corners_px)
    found = []
    for p_mm, p_px in zip(mm, predicted):
        if len(centres) == 0:
            break
        d = np.linalg.norm(centres - p_px, axis=1)
        k = int(np.argmin(d))
        if d[k] < 12.0 * frame.px_per_mm(*p_mm):
            square = refine_square(gray, centres[k], sides[k] * factor)  # None for a stained or torn corner
            if square is not None:
                pts_mm.append(p_mm)
                pts_px.append(square[0])
                found.append(square[0])
    if len(found) >= 2:
        h2, _ = cv2.findHomography(np.array(pts_mm), np.array(pts_px))
        if h2 is not None:
            frame = PageFrame(gray, h2, painted)
    pts = frame.to_image(mm)
    local = frame.px_per_mm(105.0, 148.5)
    areas = np.full(4, 64.0 * local * local)
    return frame, Corners(pts, areas)

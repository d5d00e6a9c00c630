"""Registration: where the printed page lies in the image (DESIGN §5, §6).

The four solid corner squares are found on a downscaled copy, refined at full
resolution and turned into a homography from layout millimetres to image pixels.
`PageFrame.warp` then cuts any layout rectangle out of the image, upright and at a
chosen resolution, so the rest of the reader works in millimetres. Geometry is
measured (`measure_geometry`) and checked (`geometry_doubts`) before any mark is believed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from hybrid.layout import Rect
from ocr.page_result import Geometry

# The contract's corner squares (hybrid/layout.py, DESIGN §5): used until a layout is known.
DEFAULT_FIDUCIALS = (
    Rect(x=10.0, y=10.0, w=8.0, h=8.0),
    Rect(x=192.0, y=10.0, w=8.0, h=8.0),
    Rect(x=192.0, y=279.0, w=8.0, h=8.0),
    Rect(x=10.0, y=279.0, w=8.0, h=8.0),
)
PAGE_MM = (210.0, 297.0)

WORK_LONG_SIDE = 1100  # halve the image until its long side is at most this (corner squares ≥ ~15 px)
INK_CONTRAST = 25  # grey levels below the local mean that count as ink on the working image

# Geometry checks: beyond these the page goes to review, never guessed.
MAX_SKEW_DEGREES = 12.0
MAX_STRETCH = 0.03  # scanner pages: |aspect / expected aspect - 1|
SCALE_RANGE = (0.88, 1.12)  # scanner pages: printed size vs a sheet filling the image
MAX_REPROJECTION_MM = 1.0  # landmarks not used for the fit (QR corners, box outlines)
FIDUCIAL_AREA_RANGE = (0.55, 1.7)  # measured area / area the homography predicts
FLAT_NONAFFINE_MM = 0.8  # corner residual of an affine fit up to which the sheet lay flat (a scanner)
SQUARE_SOLIDITY = 0.8  # ink share of a corner mark's minimum bounding rectangle
MIN_PAGE_SHARE = 0.2  # the corner rectangle's sides span at least this share of the image's short side


@dataclass(frozen=True)
class Corners:
    """Fiducial centres in image pixels, in page order TL, TR, BR, BL, and their areas."""

    points: np.ndarray  # (4, 2) float64
    areas: np.ndarray  # (4,) pixel areas of the refined squares


def to_gray(image: np.ndarray) -> np.ndarray:
    """uint8 grayscale from grayscale, BGR or BGRA input."""
    if image.ndim == 3:
        code = cv2.COLOR_BGRA2GRAY if image.shape[2] == 4 else cv2.COLOR_BGR2GRAY
        image = cv2.cvtColor(image, code) if image.shape[2] in (3, 4) else image[..., 0]
    if image.dtype == np.bool_:
        image = image.astype(np.uint8) * 255
    elif image.dtype != np.uint8:
        image = cv2.normalize(image.astype(np.float32), None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    return np.ascontiguousarray(image)


def working_copy(gray: np.ndarray) -> tuple[np.ndarray, int]:
    """The image halved until its long side is ≤ WORK_LONG_SIDE, and the factor."""
    small, factor = gray, 1
    while max(small.shape) > WORK_LONG_SIDE:
        # fx = fy = 0.5 takes OpenCV's fast 2×2-average path (an explicit dsize does not).
        small = cv2.resize(small, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        factor *= 2
    return small, factor


def ink_mask(small: np.ndarray) -> np.ndarray:
    """Ink (255) against the local paper level: works for grey scans and unevenly lit photos."""
    block = 2 * (max(small.shape) // 24) + 1  # wider than a corner square at any expected scale
    return cv2.adaptiveThreshold(small, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, INK_CONTRAST)


def ink_share(mask: np.ndarray) -> float:
    """Share of ink in the image, without a 3 % border (scanner edges, shadows)."""
    h, w = mask.shape
    my, mx = max(1, h * 3 // 100), max(1, w * 3 // 100)
    inner = mask[my:h - my, mx:w - mx]
    return float(np.count_nonzero(inner)) / inner.size if inner.size else 0.0


def paper_ink_share(small: np.ndarray, mask: np.ndarray) -> float:
    """Share of ink on the sheet itself: for a photo, inside the bright page away from its
    edge (a dark desk around a white sheet makes ink of its own along the edge); for a
    scan, the whole image without its border."""
    h, w = small.shape
    _, paper = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    contours, _ = cv2.findContours(paper, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    region = np.zeros_like(mask)
    if contours:
        sheet = max(contours, key=cv2.contourArea)
        if cv2.contourArea(sheet) > 0.2 * h * w:
            cv2.drawContours(region, [sheet], -1, 255, thickness=cv2.FILLED)
    if not region.any():
        region[:] = 255
    margin = max(3, max(h, w) // 30)  # ~10 mm on a sheet filling the frame
    region = cv2.erode(region, np.ones((2 * margin + 1, 2 * margin + 1), np.uint8),
                       borderType=cv2.BORDER_CONSTANT, borderValue=0)
    area = cv2.countNonZero(region)
    return cv2.countNonZero(cv2.bitwise_and(mask, region)) / area if area else 0.0


def square_candidates(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centres and side lengths of solid, squarish blobs (corner-square candidates)."""
    # Opening removes text strokes, box outlines and the QR's thin parts; solid squares survive.
    kernel = np.ones((3, 3), np.uint8)
    opened = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
    # Contours are ~8× faster than connected components here; holes are caught by the ink count.
    # RETR_CCOMP puts every blob's outer boundary at the top level, also blobs inside a hole
    # (a photo's dark desk can ring the whole page).
    contours, hierarchy = cv2.findContours(opened, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    limit = max(mask.shape) / 8
    centres, sides = [], []
    for contour, (_, _, _, parent) in zip(contours, hierarchy[0] if hierarchy is not None else []):
        if parent != -1:  # a hole's boundary
            continue
        x, y, w, h = cv2.boundingRect(contour)
        if w < 5 or h < 5 or w > limit or h > limit or not 0.5 < w / h < 2.0:
            continue
        ink = cv2.countNonZero(opened[y:y + h, x:x + w])
        if ink < 0.6 * w * h:
            continue
        m = cv2.moments(contour)
        if m["m00"] <= 0:
            continue
        centres.append((m["m10"] / m["m00"], m["m01"] / m["m00"]))
        sides.append(math.sqrt(ink))
    if not centres:
        return np.zeros((0, 2)), np.zeros(0)
    c, s = np.array(centres), np.array(sides)
    order = np.argsort(-s)[:24]
    return c[order], s[order]


def _ranked_quads(centres: np.ndarray, sides: np.ndarray, aspect: float, spacing: float,
                  limit: int = 12) -> list[np.ndarray]:
    """Index quadruples (TL, TR, BR, BL) of candidates that roughly form the corner rectangle,
    best first.

    `aspect` is long/short side between centres, `spacing` the short side in units of
    the square's side. Every ordered pair is tried as the short top edge; the other two
    corners are predicted (tolerantly: photos have perspective) and looked up; vectorised
    for N ≤ 24 candidates. The caller checks each with a homography."""
    n = len(centres)
    if n < 4:
        return []
    v = centres[None, :, :] - centres[:, None, :]  # v[a, b] = c_b - c_a
    length = np.hypot(v[..., 0], v[..., 1])
    ratio = length / np.maximum((sides[:, None] + sides[None, :]) / 2, 1e-6)
    a_idx, b_idx = np.nonzero((ratio > spacing * 0.55) & (ratio < spacing * 1.6))
    if len(a_idx) == 0:
        return []
    v, length, ratio = v[a_idx, b_idx], length[a_idx, b_idx], ratio[a_idx, b_idx]
    normal = np.stack([-v[:, 1], v[:, 0]], axis=-1) * aspect  # clockwise in y-down pixels
    pred_br = centres[b_idx] + normal
    pred_bl = centres[a_idx] + normal
    d_br = np.linalg.norm(pred_br[:, None, :] - centres[None, :, :], axis=-1)
    d_bl = np.linalg.norm(pred_bl[:, None, :] - centres[None, :, :], axis=-1)
    br = np.argmin(d_br, axis=1)
    bl = np.argmin(d_bl, axis=1)
    rows = np.arange(len(a_idx))
    err = (d_br[rows, br] + d_bl[rows, bl]) / np.maximum(length * aspect, 1e-6)
    four = np.stack([a_idx, b_idx, br, bl], axis=-1)
    distinct = np.array([len(set(q)) == 4 for q in four.tolist()])
    quad_sides = sides[four]
    spread = quad_sides.max(axis=-1) / np.maximum(quad_sides.min(axis=-1), 1e-6)
    score = err + 0.1 * np.abs(np.log(ratio / spacing)) + 0.05 * np.log(spread)
    score = np.where(distinct & (spread < 2.2) & (err < 0.5), score, np.inf)
    out: list[np.ndarray] = []
    seen: set[frozenset[int]] = set()
    for f in np.argsort(score, kind="stable"):
        if not np.isfinite(score[f]):
            break
        key = frozenset(int(i) for i in four[f])
        if key in seen:
            continue
        seen.add(key)
        out.append(four[f])
        if len(out) >= limit:
            break
    return out


def _cross(a: np.ndarray, b: np.ndarray) -> float:
    return float(a[0] * b[1] - a[1] * b[0])


def _plausible(points: np.ndarray, sides: np.ndarray, centres_mm: np.ndarray, side_mm: float,
               image_shape: tuple[int, ...]) -> bool:
    """Does the homography through these four centres predict squares of the sizes found,
    and a page that is at most moderately foreshortened?"""
    h = cv2.getPerspectiveTransform(centres_mm.astype(np.float32), points.astype(np.float32))
    for (x, y), side in zip(centres_mm, sides):
        p = cv2.perspectiveTransform(np.array([[[x, y]], [[x + 1, y]], [[x, y + 1]]], dtype=np.float64), h)[:, 0, :]
        local = math.sqrt(abs(_cross(p[1] - p[0], p[2] - p[0])))
        expected = side_mm * local
        if not 0.6 < side / max(expected, 1e-6) < 1.5:
            return False
    top, bottom = np.linalg.norm(points[1] - points[0]), np.linalg.norm(points[2] - points[3])
    left, right = np.linalg.norm(points[3] - points[0]), np.linalg.norm(points[2] - points[1])
    if not (0.6 < top / bottom < 1.67 and 0.6 < left / right < 1.67):
        return False
    # A sheet fills a scan and a good part of a photo; four specks in a corner are not a page.
    return min(top, bottom, left, right) >= MIN_PAGE_SHARE * min(image_shape)


def refine_square(gray: np.ndarray, centre: np.ndarray, side: float) -> tuple[np.ndarray, float] | None:
    """Centroid and area of the solid square near `centre` at full resolution."""
    r = math.ceil(side * 1.1) + 2
    x, y = round(centre[0]), round(centre[1])
    h, w = gray.shape
    x0, y0, x1, y1 = max(0, x - r), max(0, y - r), min(w, x + r + 1), min(h, y + r + 1)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    crop = gray[y0:y1, x0:x1]
    _, binary = cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    cx, cy = float(x - x0), float(y - y0)
    inside = [c for c in contours if cv2.pointPolygonTest(c, (cx, cy), False) >= 0]
    contour = max(inside or contours, key=cv2.contourArea)
    m = cv2.moments(contour)
    area = m["m00"]
    if area <= 0:
        return None
    # Solid and square at full resolution: a bold letter or a blot is not a corner mark.
    (_, _), (rw, rh), _ = cv2.minAreaRect(contour)
    x_, y_, w_, h_ = cv2.boundingRect(contour)
    ink = cv2.countNonZero(binary[y_:y_ + h_, x_:x_ + w_])
    if rw <= 0 or rh <= 0 or ink < SQUARE_SOLIDITY * rw * rh or not 0.7 < rw / rh < 1.43:
        return None
    return np.array([m["m10"] / area + x0, m["m01"] / area + y0]), float(ink)


def find_corners(gray: np.ndarray, small: np.ndarray, factor: int, mask: np.ndarray,
                 fiducials: tuple[Rect, ...] = DEFAULT_FIDUCIALS, limit: int = 3) -> Iterator[Corners]:
    """Up to `limit` sets of four solid squares that could be the corner marks, most likely
    first (none when no four form the expected rectangle). Lazy: each set is refined at
    full resolution only when asked for; the caller confirms one by finding the QR where
    it predicts it."""
    centres_mm = np.array([f.centre for f in fiducials])
    short = float(np.linalg.norm(centres_mm[1] - centres_mm[0]))
    long = float(np.linalg.norm(centres_mm[3] - centres_mm[0]))
    side_mm = float(np.mean([f.w for f in fiducials]))
    centres, sides = square_candidates(mask)
    ranked = []
    for rank, quad in enumerate(_ranked_quads(centres, sides, long / short, short / side_mm)):
        if not _plausible(centres[quad], sides[quad], centres_mm, side_mm, mask.shape):
            continue
        # The corner marks are the outermost solid squares of the page: a set with other
        # squares well outside it (a filled box taken for a corner) is less likely.
        hull = centres[quad].astype(np.float32).reshape(-1, 1, 2)
        margin = float(np.mean(sides[quad]))
        outside = sum(1 for k, c in enumerate(centres) if k not in quad and
                      cv2.pointPolygonTest(hull, (float(c[0]), float(c[1])), True) < -margin)
        ranked.append((outside, rank, quad))
    given = 0
    for _, _, quad in sorted(ranked, key=lambda r: (r[0], r[1])):
        points, areas = [], []
        for i in quad:
            refined = refine_square(gray, centres[i] * factor + (factor - 1) / 2, sides[i] * factor)
            if refined is None:
                break
            points.append(refined[0])
            areas.append(refined[1])
        else:
            yield Corners(np.array(points, dtype=np.float64), np.array(areas))
            given += 1
            if given >= limit:
                return


def corner_orders(corners: Corners) -> list[tuple[Corners, int]]:
    """The two ways the rectangle can lie (0° and 180° of the found labelling), the more
    upright first, with the number of quarter turns the page is rotated by."""
    out = []
    for shift in (0, 2):
        order = [(i + shift) % 4 for i in range(4)]
        out.append(Corners(corners.points[order], corners.areas[order]))
    out.sort(key=lambda c: _up_vector_y(c))
    return [(c, quarter_turns_of(c)) for c in out]


def _up_vector_y(c: Corners) -> float:
    top = (c.points[0] + c.points[1]) / 2
    bottom = (c.points[2] + c.points[3]) / 2
    up = top - bottom
    return float(up[1] / (np.hypot(*up) + 1e-9))


def _rotation_degrees(c: Corners) -> float:
    """Angle of the page's x axis (TL→TR, BL→BR) in the image, degrees, y down."""
    v = (c.points[1] - c.points[0]) + (c.points[2] - c.points[3])
    return math.degrees(math.atan2(v[1], v[0]))


def quarter_turns_of(c: Corners) -> int:
    return round(_rotation_degrees(c) / 90.0) % 4


class PageFrame:
    """The image with a homography from layout millimetres to pixel centres."""

    def __init__(self, gray: np.ndarray, homography: np.ndarray, painted: np.ndarray | None = None) -> None:
        self.gray = gray
        self.H = homography
        self.H_inv = np.linalg.inv(homography)
        self.painted = painted  # 255 where streaks were painted over (ocr.streaks.painted_mask), or None

    @staticmethod
    def from_corners(gray: np.ndarray, corners: Corners, fiducials: tuple[Rect, ...] = DEFAULT_FIDUCIALS,
                     painted: np.ndarray | None = None) -> PageFrame:
        src = np.array([f.centre for f in fiducials], dtype=np.float32)
        return PageFrame(gray, cv2.getPerspectiveTransform(src, corners.points.astype(np.float32)), painted)

    def painted_warp(self, rect: Rect | tuple[float, float, float, float], res: float) -> np.ndarray | None:
        """Where the layout rectangle was painted over (True), as `warp` cuts it; None when
        nothing of it was."""
        if self.painted is None:
            return None
        patch = PageFrame(self.painted, self.H).warp(rect, res, border=0) >= 128
        return patch if patch.any() else None

    def to_image(self, points_mm: np.ndarray) -> np.ndarray:
        pts = np.asarray(points_mm, dtype=np.float64).reshape(-1, 1, 2)
        return cv2.perspectiveTransform(pts, self.H).reshape(-1, 2)

    def to_mm(self, points_px: np.ndarray) -> np.ndarray:
        pts = np.asarray(points_px, dtype=np.float64).reshape(-1, 1, 2)
        return cv2.perspectiveTransform(pts, self.H_inv).reshape(-1, 2)

    def px_per_mm(self, x: float, y: float) -> float:
        """Local scale at a point of the page (geometric mean of both axes)."""
        p = self.to_image(np.array([[x, y], [x + 1, y], [x, y + 1]]))
        return math.sqrt(abs(_cross(p[1] - p[0], p[2] - p[0])))

    def warp(self, rect: Rect | tuple[float, float, float, float], res: float, border: int = 255) -> np.ndarray:
        """The layout rectangle (mm) upright at `res` pixels per mm. Output pixel (i, j) shows
        the page at mm (x + (j + .5)/res, y + (i + .5)/res). Only the rectangle's region of the
        image is touched; it is box-filtered first when it is much finer than `res`. Parts
        outside the image come out as `border` (paper)."""
        x, y, w, h = (rect.x, rect.y, rect.w, rect.h) if isinstance(rect, Rect) else rect
        out_w, out_h = max(1, round(w * res)), max(1, round(h * res))
        corners = self.to_image(np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]]))
        ih, iw = self.gray.shape
        x0 = int(max(0, math.floor(corners[:, 0].min()) - 2))
        y0 = int(max(0, math.floor(corners[:, 1].min()) - 2))
        x1 = int(min(iw, math.ceil(corners[:, 0].max()) + 3))
        y1 = int(min(ih, math.ceil(corners[:, 1].max()) + 3))
        if x1 - x0 < 2 or y1 - y0 < 2:
            return np.full((out_h, out_w), border, np.uint8)
        native = self.px_per_mm(x + w / 2, y + h / 2)
        # Box-filter by halving (OpenCV's fast 2 × 2 path) while the image is at least twice as
        # fine as asked; the warp then samples at most 2:1.
        k = 1
        while native / (2 * k) >= res and min(x1 - x0, y1 - y0) >= 4 * k:
            k *= 2
        if k > 1:  # whole k × k blocks, so that every halving is exact
            x1 = x0 + min(-(-(x1 - x0) // k), (iw - x0) // k) * k
            y1 = y0 + min(-(-(y1 - y0) // k), (ih - y0) // k) * k
        roi = self.gray[y0:y1, x0:x1]
        # out px → mm → image px → roi px → (downscaled) roi px
        a_out = np.array([[1 / res, 0, x + 0.5 / res], [0, 1 / res, y + 0.5 / res], [0, 0, 1]])
        t_roi = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], dtype=np.float64)
        for _ in range(k.bit_length() - 1):
            roi = cv2.resize(roi, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        s_k = np.array([[1 / k, 0, -(k - 1) / (2 * k)], [0, 1 / k, -(k - 1) / (2 * k)], [0, 0, 1]])
        m = s_k @ t_roi @ self.H @ a_out
        return cv2.warpPerspective(roi, m, (out_w, out_h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                   borderMode=cv2.BORDER_CONSTANT, borderValue=border)


@dataclass(frozen=True)
class GeometryFacts:
    """Everything measured about the registration; `to_contract` condenses it to `Geometry`."""

    skew_degrees: float  # turn of the page beyond whole quarter turns
    quarter_turns: int  # 0 upright, 1 turned 90° clockwise, 2 upside down, 3 turned 90° anticlockwise
    scale: float  # corner spacing / what it is when the image is exactly the A4 sheet (photos: ≪ 1)
    stretch: float  # aspect of the corner rectangle / expected aspect − 1
    nonaffine_mm: float  # how far the corners are from any affine map: perspective (photos), folds
    fiducial_area_ratio: tuple[float, float]  # min, max of measured / predicted square area
    flat: bool  # no perspective: a scanner (skew and stretch are checked)
    scan_like: bool  # flat, and the image is the whole sheet (its scale is checked too)


def measure_geometry(frame: PageFrame, corners: Corners, quarter_turns: int,
                     fiducials: tuple[Rect, ...] = DEFAULT_FIDUCIALS,
                     page_mm: tuple[float, float] = PAGE_MM) -> GeometryFacts:
    """Skew, scale, stretch, perspective and corner-square sizes of a registration."""
    pts = corners.points
    mm = np.array([f.centre for f in fiducials])
    # Residual of the best affine map from mm to pixels, back in mm: zero for a flat scan.
    a, *_ = np.linalg.lstsq(np.hstack([mm, np.ones((4, 1))]), pts, rcond=None)
    resid_px = np.linalg.norm(np.hstack([mm, np.ones((4, 1))]) @ a - pts, axis=1)
    short_px = (np.linalg.norm(pts[1] - pts[0]) + np.linalg.norm(pts[2] - pts[3])) / 2
    long_px = (np.linalg.norm(pts[3] - pts[0]) + np.linalg.norm(pts[2] - pts[1])) / 2
    short_mm = float(np.linalg.norm(mm[1] - mm[0]))
    long_mm = float(np.linalg.norm(mm[3] - mm[0]))
    px_per_mm = math.sqrt(short_px * long_px / (short_mm * long_mm))
    nonaffine = float(resid_px.max()) / px_per_mm
    stretch = (long_px / short_px) / (long_mm / short_mm) - 1.0
    rotation = _rotation_degrees(corners)
    skew = (rotation - 90.0 * quarter_turns + 180.0) % 360.0 - 180.0
    ih, iw = frame.gray.shape
    if quarter_turns % 2:
        iw, ih = ih, iw
    sheet_aspect = page_mm[1] / page_mm[0]
    flat = nonaffine < FLAT_NONAFFINE_MM
    scan_like = flat and abs((ih / iw) / sheet_aspect - 1.0) < 0.03
    nominal = math.sqrt((iw / page_mm[0]) * (ih / page_mm[1]))  # px/mm if the image is the sheet
    scale = px_per_mm / nominal
    ratios = []
    for f, area in zip(fiducials, corners.areas):
        local = frame.px_per_mm(*f.centre)
        ratios.append(area / (f.w * f.h * local * local))
    return GeometryFacts(
        skew_degrees=skew, quarter_turns=quarter_turns, scale=scale, stretch=stretch, nonaffine_mm=nonaffine,
        fiducial_area_ratio=(min(ratios), max(ratios)), flat=flat, scan_like=scan_like,
    )


def geometry_doubts(facts: GeometryFacts, reprojection_mm: float) -> list[str]:
    """Human-readable doubts; empty when the registration can be trusted."""
    doubts = []
    if facts.flat and abs(facts.skew_degrees) > MAX_SKEW_DEGREES:
        doubts.append(f"skewed {facts.skew_degrees:+.1f}°")
    if facts.flat and abs(facts.stretch) > MAX_STRETCH:
        doubts.append(f"stretched {facts.stretch * 100:+.1f} %")
    if facts.scan_like and not SCALE_RANGE[0] <= facts.scale <= SCALE_RANGE[1]:
        doubts.append(f"printed at {facts.scale * 100:.0f} %")
    lo, hi = facts.fiducial_area_ratio
    if lo < FIDUCIAL_AREA_RANGE[0] or hi > FIDUCIAL_AREA_RANGE[1]:
        doubts.append("a corner square has the wrong size (covered, stained or torn?)")
    if reprojection_mm > MAX_REPROJECTION_MM:
        doubts.append(f"printed marks are {reprojection_mm:.1f} mm from where the corners put them")
    return doubts


def to_contract(facts: GeometryFacts, reprojection_mm: float, doubtful: bool) -> Geometry:
    """`Geometry` for the page result. Its `scale` is only meaningful for an image that is
    the whole sheet (a scanner page); for a photo it is the sheet's share of the frame."""
    return Geometry(
        reprojection_error_mm=round(float(reprojection_mm), 3),
        scale=round(float(facts.scale), 4),
        skew_degrees=round(float(facts.skew_degrees), 2),
        rotated_180=facts.quarter_turns == 2,
        doubtful=doubtful,
    )

"""Marks: find each printed box, then measure how much of it is ink (DESIGN §6).

Everything here works on upright patches cut from the page at `MARK_RES` pixels per
millimetre, so sizes are in millimetres whatever the scan resolution. Ink is measured
against the local paper white (1 mm cells, morphologically closed) and the black of the
printed corner squares, so grey scans, pencil, coloured pens, stains and unevenly lit
photos all map to the same 0 (paper) … 1 (black) scale.

Per box: the printed outline is searched within ±SEARCH_MM of where the homography puts
it (dark lines with paper just outside), then the interior inside the outline is
measured: the share of pen-dark ink, of at least faint ink, and how evenly it is spread;
and the dark ink in a ring 1–4 mm around the box, leaving out the printed number and
text to its right and whatever is nearer to another box.

Scores and decisions are separate (vxsuite's habit): `BoxMeasure` holds numbers,
`classify` turns them into a `MarkState` with two thresholds and a marginal band.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from hybrid.layout import Box, Page, Rect
from ocr.page_result import BoxReading, MarkState
from ocr.register import PageFrame

MARK_RES = 8.0  # px per mm of the patches (~200 DPI)
SEARCH_MM = 1.5  # how far the printed outline may be from where the homography puts it
OUTLINE_MM = 0.3  # printed box line (forms.compose.BOX_LINE)
INTERIOR_INSET_MM = 0.65  # from the box's outer edge: the line plus blur and location error
RING_INNER_MM, RING_OUTER_MM = 1.0, 4.0
NUMBER_GAP_MM = 2.0  # printed number and option text start this far right of a box: not the voter's ink
NEIGHBOUR_PAD_MM = 0.5
DARK = 0.5  # ink level (0 paper … 1 printed black) of a pen stroke
FAINT = 0.09  # ink level (averaged along the stroke) of a faint pencil stroke; below: paper, noise, JPEG
LOCATED_MIN = 0.3  # ink on the found outline's paler line below which the box is "not found"
SHARP_OUTLINE = 0.85  # ink on a 0.3 mm printed line in a sharp 200–300 DPI scan (0.45–0.75 in photos)
MIN_LINE_SCALE = 0.55  # never lower the pen thresholds by more than this factor
NOISE_SIGMAS = 4.0  # faint ink must stand this many noise deviations above the paper …
STROKE_FILTER_MM = 1.5  # … averaged along a line this long (a pencil stroke is longer) …
FAINT_INSET_MM = 0.15  # … a little further inside the outline than dark ink …
FAINT_CAP = 0.3  # … with ink capped at this level before averaging (pencil is below it) …
STROKE_MIN_MM = 1.2  # … and form strokes: connected faint ink at least this long (not a dot or a speck)
LINE_QUANTILE = 0.25  # a printed line is dark along (nearly) all of a box side
RELATIVE_OUTLINE = 0.6  # an outline paler than this share of the page's typical one is a chance match
NEIGHBOURHOOD_MM, MAX_JUMP_MM = 30.0, 1.0  # nearby boxes are offset alike (within this)
MAX_DRIFT_MM = 4.5  # how far a lost box is followed from where its neighbours were found
SHORT_FAINT_DARK = 0.05  # a short faint stroke with more pen-dark pixels than this share is a dot, not pencil
GRID = 4  # the interior is cut into GRID × GRID cells to tell an even fill from a fat cross


@dataclass(frozen=True)
class MarkThresholds:
    """Decision thresholds, as shares of the box interior (after removing the outline).

    Measured on rendered ballots at 150–300 DPI and on simulated decks (scans light to
    heavy, phone photos): a ballpoint tick darkens 10–26 % of a 6 mm box's interior (a
    tiny one 6 %), a cross 10–48 %, a scribble 23–65 %, a correction 100 %; a 0.5 mm dot
    2 %; noise, JPEG, stains and dust on an empty box 0 %, and no faint strokes."""

    low: float = 0.03  # pen-dark share below which a box is empty (a dot, dust, a resting pen) …
    faint: float = 0.025  # … if its strokes of any ink, pencil-grey included, also stay below this
    high: float = 0.06  # pen-dark share at or above which a box is marked; between: marginal
    cancel: float = 0.75  # filled almost solid …
    cancel_cell: float = 0.65  # … and evenly: every sixteenth of the interior mostly dark (a fat cross is not)
    even_fill: float = 0.55  # an even fill between this and `cancel`: half a correction? → marginal
    even_cell: float = 0.35
    ring_mm2: float = 0.8  # dark ink (mm²) 1–4 mm around an empty box: a mark beside it
    short_faint: float = 0.02  # short faint strokes (a tiny pencil cross) in an otherwise empty box …
    page_factor: float = 4.0  # … at least this many times what the page's typical box shows: marginal


THRESHOLDS = MarkThresholds()


@dataclass(frozen=True)
class BoxMeasure:
    """What was measured for one box (numbers only; `classify` decides)."""

    dark: float  # share of the interior with pen-dark ink
    faint: float  # share with at least faint ink
    min_cell: float  # dark share of the least-inked sixteenth of the interior (evenness of a fill)
    ring_mm2: float  # dark ink in the ring, mm² (outside the masked printed number)
    ring_share: float  # the same as a share of the ring's area
    offset_mm: tuple[float, float]  # where the outline was found relative to its predicted place
    located: bool  # the printed outline was found
    outline: float = 1.0  # ink on the paler line of the found outline: how dark a thin line comes out here
    short_faint: float = 0.0  # share with faint ink in strokes too short for `faint` and without a dark core


@dataclass(frozen=True)
class BoxesReading:
    readings: tuple[BoxReading, ...]
    measures: tuple[BoxMeasure, ...]
    outside_box: tuple[int, ...]  # numbers of empty boxes with ink in their ring
    marginal: tuple[int, ...]
    unlocated: tuple[int, ...]  # numbers of boxes whose printed outline was not found

    @property
    def signature(self) -> str:
        return mark_signature(self.readings)


def classify(m: BoxMeasure, t: MarkThresholds = THRESHOLDS) -> MarkState:
    """Two thresholds with a marginal band. An even, almost solid fill is a cancellation; a
    heavy but uneven one (a fat marker cross) or an even half-fill is for a person."""
    if not m.located and (m.dark >= t.low or m.faint >= t.faint):
        return MarkState.MARGINAL  # ink, but not where the printed box should be: a person looks
    if m.dark >= t.cancel:
        return MarkState.CANCELLED if m.min_cell >= t.cancel_cell else MarkState.MARGINAL
    if m.dark >= t.even_fill and m.min_cell >= t.even_cell:
        return MarkState.MARGINAL
    if m.dark >= t.high:
        return MarkState.MARKED
    if m.dark >= t.low or m.faint >= t.faint:
        return MarkState.MARGINAL
    return MarkState.EMPTY


def faint_outliers(measures: list[BoxMeasure], t: MarkThresholds = THRESHOLDS) -> set[int]:
    """Indices of located boxes whose short faint strokes stand out from the page's own boxes
    (most boxes of a page are empty, so the median box shows what this scan's paper, noise
    and compression leave in an empty one): a per-page threshold for pencil too small or too
    broken to pass as strokes."""
    values = np.array([m.short_faint for m in measures])
    if len(values) == 0:
        return set()
    floor = t.short_faint if len(values) >= 4 else 2 * t.short_faint  # too few boxes to know the page
    limit = max(floor, t.page_factor * float(np.median(values)))
    return {i for i, (m, v) in enumerate(zip(measures, values)) if m.located and v >= limit}


def mark_signature(readings: tuple[BoxReading, ...] | list[BoxReading]) -> str:
    """`3:M,5:C`: the marked and cancelled boxes by printed number (rescan vs photocopy)."""
    code = {MarkState.MARKED: "M", MarkState.CANCELLED: "C"}
    return ",".join(f"{r.number}:{code[r.state]}" for r in sorted(readings, key=lambda r: r.number)
                    if r.state in code)


def paper_white(frame: PageFrame, rect: tuple[float, float, float, float], res: float,
                kernel_mm: float) -> np.ndarray:
    """The paper's white level over the layout rectangle `rect`, on the grid `frame.warp(rect,
    res)` gives: 1 mm cells (box-filtered), closed over `kernel_mm` so that print and writing
    narrower than the kernel are bridged while wider shading (a stain, a shadow, uneven
    light) is followed. The cells reach past the rectangle so that its edges are right."""
    x, y, w, h = rect
    m = math.ceil(kernel_mm / 2) + 1
    cells = frame.warp((x - m, y - m, w + 2 * m, h + 2 * m), 1.0)
    k = max(3, int(kernel_mm) | 1)
    closed = cv2.morphologyEx(cells, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
    up = cv2.resize(closed, (round(cells.shape[1] * res), round(cells.shape[0] * res)),
                    interpolation=cv2.INTER_LINEAR)
    off = round(m * res)
    out_h, out_w = max(1, round(h * res)), max(1, round(w * res))
    return up[off:off + out_h, off:off + out_w].astype(np.float32)


def ink_map(patch: np.ndarray, black_ratio: float, white: np.ndarray, clip: bool = True) -> np.ndarray:
    """0 (paper) … 1 (printed black) per pixel: darkness relative to the local paper white,
    scaled so that the black of the printed corner squares (`black_ratio` of white) is 1.
    Unclipped (`clip=False`), paper noise stays symmetric about 0, so it averages out."""
    white = np.maximum(white, 1.0)
    ink = 1.0 - patch.astype(np.float32) / white
    ink *= 1.0 / max(0.3, 1.0 - black_ratio)
    if clip:
        np.clip(ink, 0.0, 1.0, out=ink)
    return ink


def frame_ink(frame: PageFrame, rect: tuple[float, float, float, float], black_ratio: float, res: float,
              kernel_mm: float, clip: bool = True) -> np.ndarray:
    """The ink map of a layout rectangle, upright at `res` px per mm."""
    patch = frame.warp(rect, res)
    white = paper_white(frame, rect, res, kernel_mm)
    if white.shape != patch.shape:  # rounding at the far edge
        white = cv2.resize(white, (patch.shape[1], patch.shape[0]), interpolation=cv2.INTER_LINEAR)
    return ink_map(patch, black_ratio, white, clip)


def line_scale(outlines: np.ndarray) -> float:
    """How much paler than in a sharp scan a thin line comes out here (1 = sharp), from the
    ink measured on the printed box outlines."""
    if len(outlines) == 0:
        return 1.0
    return float(np.clip(np.median(outlines) / SHARP_OUTLINE, MIN_LINE_SCALE, 1.0))


def line_kernels(res: float) -> list[np.ndarray]:
    """Averaging kernels along a short line (STROKE_FILTER_MM, 3 px wide) in four directions:
    a pencil stroke keeps its level under the one along it, paper noise averages out."""
    size = round(STROKE_FILTER_MM * res) | 1
    c, r = size // 2, size / 2 - 0.5
    kernels = []
    for angle in (0.0, 45.0, 90.0, 135.0):
        k = np.zeros((size, size), np.float32)
        dx, dy = r * math.cos(math.radians(angle)), r * math.sin(math.radians(angle))
        cv2.line(k, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 3)
        kernels.append(k / k.sum())
    return kernels


def line_noise(raw: np.ndarray, res: float) -> float:
    """The paper's noise after averaging along a short line (as `line_kernels` do), as a
    standard deviation: a median absolute deviation over the strip, which print and marks
    (a small minority of its pixels) barely move."""
    length = round(STROKE_FILTER_MM * res) | 1
    sample = cv2.blur(raw, (length, 3))[::3, ::3].ravel()
    if sample.size < 16:
        return 0.0
    mid = np.partition(sample, sample.size // 2)[sample.size // 2]
    dev = np.abs(sample - mid)
    return 1.4826 * float(np.partition(dev, dev.size // 2)[dev.size // 2])


def _window_means(csum: np.ndarray, start: np.ndarray, width: int) -> np.ndarray:
    """Mean of each row's profile over [start, start + width), from row-wise cumulative sums."""
    n = csum.shape[1] - 1
    a0 = np.clip(start, 0, n)
    a1 = np.clip(start + width, 0, n)
    rows = np.arange(csum.shape[0])[:, None]
    return (csum[rows, a1] - csum[rows, a0]) / np.maximum(a1 - a0, 1)


def _edge_search(profiles: np.ndarray, first: int, size: int, lw: int, gap: int, ow: int,
                 reach: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row of `profiles` (one 1-D ink profile per box): the shift that puts a pair of lines
    `size` apart (outer edges) on dark ink with white just outside them. Returns (shift, ink on the
    paler of the two lines)."""
    csum = np.concatenate([np.zeros((profiles.shape[0], 1)), np.cumsum(profiles, axis=1, dtype=np.float64)], axis=1)
    shifts = np.arange(-reach, reach + 1)
    left = np.broadcast_to(first + shifts, (profiles.shape[0], len(shifts)))
    right = left + size
    near, far = _window_means(csum, left, lw), _window_means(csum, right - lw, lw)
    outside = (_window_means(csum, left - gap - ow, ow) + _window_means(csum, right + gap, ow)) / 2
    score = (near + far) / 2 - outside - 0.002 * np.abs(shifts)[None, :]
    best = np.argmax(score, axis=1)
    rows = np.arange(profiles.shape[0])
    return shifts[best], np.minimum(near, far)[rows, best]  # both lines must be there


@dataclass(frozen=True)
class _EdgeModel:
    """The printed outline in patch pixels: line width, gap and width of the paper band
    checked just outside it, and how far to search."""

    lw: int
    gap: int
    ow: int
    reach: int


def _locate(padded: np.ndarray, px: np.ndarray, py: np.ndarray, sw: int, sh: int, prior_x: np.ndarray,
            prior_y: np.ndarray, e: _EdgeModel) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Offsets (dx, dy) of the printed outlines searched ±reach around `prior`, the ink on the
    found outline, and whether it counts as found (dark enough, not at the window's edge)."""
    # A low quantile across the box, not a mean: a printed line darkens the whole row, a
    # voter's cross or tick only part of it.
    span = e.reach + e.gap + e.ow + 1
    cols = _low_quantile(np.stack([padded[y + sh // 8:y + sh - sh // 8, x - span:x + sw + span]
                                   for x, y in zip(px + prior_x, py + prior_y)]), axis=1)
    dx, line_x = _edge_search(cols, span, sw, e.lw, e.gap, e.ow, e.reach)
    dy, line_y = _top_and_bottom(padded, px + prior_x + dx, py + prior_y, sw, sh, e)
    outline = np.minimum(line_x, line_y)
    located = (outline >= LOCATED_MIN) & (np.abs(dx) < e.reach) & (np.abs(dy) < e.reach)
    return prior_x + dx, prior_y + dy, outline, located


def _top_and_bottom(padded: np.ndarray, xs: np.ndarray, ys: np.ndarray, sw: int, sh: int,
                    e: _EdgeModel) -> tuple[np.ndarray, np.ndarray]:
    """The vertical shift (±reach) that puts a box's top and bottom lines on ink, for boxes
    whose left edge is at `xs`, and the ink on the paler of the two."""
    span = e.reach + e.gap + e.ow + 1
    rows = _low_quantile(np.stack([padded[y - span:y + sh + span, x + sw // 8:x + sw - sw // 8]
                                   for x, y in zip(xs, ys)]), axis=2)
    return _edge_search(rows, span, sh, e.lw, e.gap, e.ow, e.reach)


def _low_quantile(a: np.ndarray, axis: int) -> np.ndarray:
    """The LINE_QUANTILE of `a` along `axis` (a partial sort, no interpolation)."""
    k = int(LINE_QUANTILE * (a.shape[axis] - 1))
    return np.take(np.partition(a, k, axis=axis), k, axis=axis)


def _odd_one_out(px: np.ndarray, py: np.ndarray, dx: np.ndarray, dy: np.ndarray, located: np.ndarray,
                 res: float) -> np.ndarray:
    """Found boxes whose offset disagrees with that of the found boxes around them: the
    paper does not jump, so such a box was matched on something else (a mark)."""
    n = len(px)
    if np.count_nonzero(located) < 3:
        return np.zeros(n, dtype=bool)
    near = np.hypot(px[:, None] - px[None, :], py[:, None] - py[None, :]) <= NEIGHBOURHOOD_MM * res
    near &= located[None, :] & ~np.eye(n, dtype=bool)
    rows = np.flatnonzero(located & (near.sum(axis=1) >= 2))
    odd = np.zeros(n, dtype=bool)
    if len(rows):
        mx = np.nanmedian(np.where(near[rows], dx[None, :].astype(float), np.nan), axis=1)
        my = np.nanmedian(np.where(near[rows], dy[None, :].astype(float), np.nan), axis=1)
        odd[rows] = np.hypot(dx[rows] - mx, dy[rows] - my) > MAX_JUMP_MM * res
    return odd


def _rect_distance(xs: np.ndarray, ys: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    dx = np.maximum(np.maximum(x0 - xs, xs - x1), 0.0)
    dy = np.maximum(np.maximum(y0 - ys, ys - y1), 0.0)
    return np.hypot(dx, dy)


def _regions(boxes: list[Box], pad: float) -> list[tuple[float, float, float, float, list[int]]]:
    """Group boxes into columns (overlapping x ranges) so each column is cut out once."""
    order = sorted(range(len(boxes)), key=lambda i: boxes[i].x)
    groups: list[list[int]] = []
    right = -math.inf
    for i in order:
        b = boxes[i]
        if groups and b.x - pad <= right:
            groups[-1].append(i)
            right = max(right, b.x + b.w + pad)
        else:
            groups.append([i])
            right = b.x + b.w + pad
    out = []
    for g in groups:
        x0 = min(boxes[i].x for i in g) - pad
        y0 = min(boxes[i].y for i in g) - pad
        x1 = max(boxes[i].x + boxes[i].w for i in g) + pad
        y1 = max(boxes[i].y + boxes[i].h for i in g) + pad
        out.append((x0, y0, x1 - x0, y1 - y0, g))
    return out


def read_boxes(frame: PageFrame, page: Page, black_ratio: float, t: MarkThresholds = THRESHOLDS,
               res: float = MARK_RES) -> BoxesReading:
    """Find and measure every box of `page` in the registered image."""
    boxes = list(page.boxes)
    if not boxes:
        return BoxesReading((), (), (), (), ())
    pad = RING_OUTER_MM + SEARCH_MM + 1.0
    measures: list[BoxMeasure | None] = [None] * len(boxes)
    for rx, ry, rw, rh, members in _regions(boxes, pad):
        biggest = max(max(boxes[i].w, boxes[i].h) for i in members)
        raw = frame_ink(frame, (rx, ry, rw, rh), black_ratio, res, biggest + 4.0, clip=False)
        ink = np.clip(raw, 0.0, 1.0)
        by_size: dict[tuple[int, int], list[int]] = {}
        for i in members:
            by_size.setdefault((round(boxes[i].w * res), round(boxes[i].h * res)), []).append(i)
        noise = line_noise(raw, res)
        painted = frame.painted_warp((rx, ry, rw, rh), res)
        for (sw, sh), group in by_size.items():
            for i, m in zip(group, _measure_group(ink, raw, (rx, ry), boxes, group, sw, sh, res, noise, painted)):
                measures[i] = m
    faint_here = faint_outliers([m for m in measures if m is not None], t)
    readings, outside, marginal, unlocated = [], [], [], []
    for i, (b, m) in enumerate(zip(boxes, measures)):
        assert m is not None
        state = classify(m, t)
        if state is MarkState.EMPTY and i in faint_here:
            state = MarkState.MARGINAL
        readings.append(BoxReading(b.question, b.option, b.number, round(m.dark, 4), state, round(m.ring_share, 4)))
        if state is MarkState.EMPTY and m.ring_mm2 >= t.ring_mm2:
            outside.append(b.number)
        if state is MarkState.MARGINAL:
            marginal.append(b.number)
        if not m.located:
            unlocated.append(b.number)
    return BoxesReading(tuple(readings), tuple(m for m in measures if m is not None), tuple(outside),
                        tuple(marginal), tuple(unlocated))


def _measure_group(ink: np.ndarray, raw: np.ndarray, origin: tuple[float, float], boxes: list[Box],
                   group: list[int], sw: int, sh: int, res: float, noise: float,
                   painted: np.ndarray | None = None) -> list[BoxMeasure]:
    """Measure boxes of one size together (vectorised over boxes; sums from integral images).
    `painted` (the patch's pixels that streak removal painted over, or None) lets a box whose
    left or right line lay under a streak be found by its three other lines."""
    ox, oy = origin
    n = len(group)
    reach = round(SEARCH_MM * res)
    drift = round(MAX_DRIFT_MM * res)
    rr = math.ceil(RING_OUTER_MM * res)
    margin = reach + drift + rr + 1
    edges = _EdgeModel(lw=max(1, round(OUTLINE_MM * res)), gap=max(1, round(0.15 * res)),
                       ow=max(1, round(0.4 * res)), reach=reach)
    padded = cv2.copyMakeBorder(ink, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=0)
    # Predicted outer top-left corner of each box in padded pixels (pixel j of the patch
    # covers mm ox + j/res … ox + (j+1)/res).
    px = np.array([round((boxes[i].x - ox) * res) for i in group]) + margin
    py = np.array([round((boxes[i].y - oy) * res) for i in group]) + margin
    zero = np.zeros(n, dtype=np.int64)
    dx, dy, outline, located = _locate(padded, px, py, sw, sh, zero, zero, edges)
    if located.any():  # an outline much paler than the others on the page is a chance match
        located &= outline >= RELATIVE_OUTLINE * np.median(outline[located])
    located &= ~_odd_one_out(px, py, dx, dy, located, res)
    # A box not found near its place (a sheet that slipped in the feeder, a local fold), or
    # found only faintly, is looked for again around where its nearest found neighbour
    # turned out to be, and taken when it lies where that neighbour says.
    jump = MAX_JUMP_MM * res
    for _ in range(n):
        lost = np.flatnonzero(~located)
        if len(lost) == 0 or not located.any():
            break
        prior_x, prior_y = _neighbour_offsets(px, py, dx, dy, located, lost, drift)
        ldx, ldy, lout, lloc = _locate(padded, px[lost], py[lost], sw, sh, prior_x, prior_y, edges)
        lloc &= np.hypot(ldx - prior_x, ldy - prior_y) <= jump
        if not lloc.any():
            break
        keep = lost[lloc]
        dx[keep], dy[keep], outline[keep], located[keep] = ldx[lloc], ldy[lloc], lout[lloc], True
    if painted is not None and not located.all() and located.any():
        paint = cv2.copyMakeBorder(painted.view(np.uint8), margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=0)
        _locate_beside_paint(padded, paint, px, py, sw, sh, dx, dy, outline, located, edges, drift, jump)
    bx = px + np.where(located, dx, 0)
    by = py + np.where(located, dy, 0)
    # A blurred image (a phone photo, a soft scan) renders a thin pen stroke as pale as the
    # thin printed outline: scale the ink levels by how dark that outline came out.
    scale = line_scale(outline[located])
    dark_level = DARK * scale
    # The interior: whole GRID × GRID cells inside the outline (inset), one tile per box.
    inset = round(INTERIOR_INSET_MM * res)
    ih, iw = (sh - 2 * inset) // GRID * GRID, (sw - 2 * inset) // GRID * GRID
    iy = by + inset + (sh - 2 * inset - ih) // 2
    ix = bx + inset + (sw - 2 * inset - iw) // 2
    inner = np.stack([padded[y:y + ih, x:x + iw] for x, y in zip(ix, iy)])
    dark_px = inner >= dark_level
    cells = dark_px.reshape(n, GRID, ih // GRID, GRID, iw // GRID).sum(axis=(2, 4), dtype=np.int32)
    cell_area = (ih // GRID) * (iw // GRID)
    dark = cells.sum(axis=(1, 2)) / (cell_area * GRID * GRID)
    min_cell = cells.min(axis=(1, 2)) / cell_area
    # Faint ink (pencil): the unclipped ink averaged along short lines in four directions,
    # against the noise of that average on this strip of paper, and only where it forms
    # strokes: noise leaves specks, a resting pen a dot. A pixel further in than for dark
    # ink: the outline's blur is not a stroke.
    kernels = line_kernels(res)
    fm = kernels[0].shape[0] // 2 + 1
    fi = round(FAINT_INSET_MM * res)
    fh, fw = ih - 2 * fi, iw - 2 * fi
    raw_padded = cv2.copyMakeBorder(raw, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=0)
    rtiles = np.zeros((n, fh + 2 * fm, fw + 2 * fm), np.float32)  # paper (0) around: the outline never counts
    for k, (x, y) in enumerate(zip(ix, iy)):
        rtiles[k, fm:-fm, fm:-fm] = raw_padded[y + fi:y + fi + fh, x + fi:x + fi + fw]
    np.minimum(rtiles, FAINT_CAP, out=rtiles)  # a dark dot must not pass for a faint stroke
    flat = rtiles.reshape(n * (fh + 2 * fm), fw + 2 * fm)
    along = [cv2.filter2D(flat, -1, k, borderType=cv2.BORDER_CONSTANT).reshape(rtiles.shape)[:, fm:-fm, fm:-fm]
             for k in kernels]
    faint_level = max(FAINT * scale, NOISE_SIGMAS * noise)
    faint_px = (np.maximum.reduce(along) >= faint_level).view(np.uint8)
    faint = np.count_nonzero(faint_px, axis=(1, 2)) / (fh * fw)
    stroke_len = STROKE_MIN_MM * res + kernels[0].shape[0]  # the filter draws anything out by its length
    short_faint = np.zeros(n)
    for k in np.flatnonzero((faint > 0) & (dark < 0.5)):
        count, labels, stats, _ = cv2.connectedComponentsWithStats(faint_px[k], connectivity=8)
        long = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]) >= stroke_len
        long[0] = False  # the background
        faint[k] = float(stats[long, cv2.CC_STAT_AREA].sum()) / (fh * fw)
        # Short faint strokes without a dark core (a resting pen's dot has one): judged against
        # the page's own empty boxes in `read_boxes`.
        dark_in = np.bincount(labels[dark_px[k, fi:fi + fh, fi:fi + fw]], minlength=count)
        short = ~long & (dark_in < SHORT_FAINT_DARK * stats[:, cv2.CC_STAT_AREA])
        short[0] = False
        short_faint[k] = float(stats[short, cv2.CC_STAT_AREA].sum()) / (fh * fw)
    # Ring: dark pixels around the located box, inside its mask.
    rh, rw = sh + 2 * rr, sw + 2 * rr
    rings = np.stack([padded[y - rr:y - rr + rh, x - rr:x - rr + rw] for x, y in zip(bx, by)]) >= dark_level
    masks = _ring_masks(boxes, group, sw / res, sh / res, rr / res, rh, rw, 1 / res)
    cell2 = (1 / res) ** 2
    ring_area = np.count_nonzero(masks, axis=(1, 2)) * cell2
    ring_ink = np.count_nonzero(rings & masks, axis=(1, 2)) * cell2
    out = []
    for k in range(n):
        area = float(ring_area[k])
        share = float(ring_ink[k]) / area if area > 0 else 0.0
        off = (float(bx[k] - px[k]) / res, float(by[k] - py[k]) / res)
        out.append(BoxMeasure(float(dark[k]), float(faint[k]), float(min_cell[k]), float(ring_ink[k]), share,
                              off, bool(located[k]), float(outline[k]), float(short_faint[k])))
    return out


def _neighbour_offsets(px: np.ndarray, py: np.ndarray, dx: np.ndarray, dy: np.ndarray, located: np.ndarray,
                       lost: np.ndarray, drift: int) -> tuple[np.ndarray, np.ndarray]:
    """For each `lost` box, the offset at which its nearest found box was found (at most `drift`)."""
    found = np.flatnonzero(located)
    nearest = found[np.argmin(np.hypot(px[found][None, :] - px[lost][:, None],
                                       py[found][None, :] - py[lost][:, None]), axis=1)]
    return np.clip(dx[nearest], -drift, drift), np.clip(dy[nearest], -drift, drift)


def _painted_sides(paint: np.ndarray, px: np.ndarray, py: np.ndarray, sw: int, sh: int,
                   e: _EdgeModel) -> tuple[np.ndarray, np.ndarray]:
    """Per box: whether its left / right line, anywhere it may be found, lay under a painted
    streak (painted over along at least half of the box's height)."""
    left, right = np.zeros(len(px), bool), np.zeros(len(px), bool)
    for k, (x, y) in enumerate(zip(px, py)):
        rows = paint[y + sh // 8:y + sh - sh // 8]
        left[k] = rows[:, x - e.reach:x + e.lw + e.reach].mean(axis=0).max() >= 0.5
        right[k] = rows[:, x + sw - e.lw - e.reach:x + sw + e.reach].mean(axis=0).max() >= 0.5
    return left, right


def _locate_beside_paint(padded: np.ndarray, paint: np.ndarray, px: np.ndarray, py: np.ndarray, sw: int, sh: int,
                         dx: np.ndarray, dy: np.ndarray, outline: np.ndarray, located: np.ndarray,
                         e: _EdgeModel, drift: int, jump: float) -> None:
    """Boxes not found because one of their two vertical lines lay under a streak that was
    painted over: placed across where their nearest found neighbour was found (the paper
    does not jump), found along their top and bottom lines there, and taken only when the
    other vertical line is printed where that puts it. In place, like the search before it."""
    unfound = np.flatnonzero(~located)
    left, right = _painted_sides(paint, px[unfound], py[unfound], sw, sh, e)
    one_side = left ^ right  # both sides painted: too little left to go by
    lost, keep_left = unfound[one_side], right[one_side]  # the side still printed: left when the right is painted
    if len(lost) == 0:
        return
    prior_x, prior_y = _neighbour_offsets(px, py, dx, dy, located, lost, drift)
    x, y = px[lost] + prior_x, py[lost] + prior_y
    ddy, line_y = _top_and_bottom(padded, x, y, sw, sh, e)
    side = np.zeros(len(lost))
    pad = 1 + e.gap + e.ow  # columns of the profile before the box's left edge
    for k, (a, b) in enumerate(zip(x, y + ddy)):
        cols = _low_quantile(padded[b + sh // 8:b + sh - sh // 8, a - pad:a + sw + pad + 1], axis=0)
        line = pad if keep_left[k] else pad + sw - e.lw  # the printed line's first column
        ink = max(float(cols[line + s:line + s + e.lw].mean()) for s in (-1, 0, 1))
        beyond = (cols[line - e.gap - e.ow:line - e.gap] if keep_left[k]
                  else cols[line + e.lw + e.gap:line + e.lw + e.gap + e.ow])
        side[k] = ink if float(beyond.mean()) <= 0.5 * ink else 0.0  # a line, not the edge of a dark patch
    typical = float(np.median(outline[located]))
    found_here = ((np.minimum(line_y, side) >= max(LOCATED_MIN, RELATIVE_OUTLINE * typical))
                  & (np.abs(ddy) < e.reach) & (np.abs(ddy) <= jump))
    keep = lost[found_here]
    dx[keep], dy[keep] = prior_x[found_here], prior_y[found_here] + ddy[found_here]
    outline[keep], located[keep] = np.minimum(line_y, side)[found_here], True


def _ring_masks(boxes: list[Box], group: list[int], bw: float, bh: float, rr: float, h: int, w: int,
                cell: float) -> np.ndarray:
    """Where ink counts as "beside box i": 1–4 mm from it, nearer to it than to any other box,
    not on another box, not where the number and text are printed to the right of a box."""
    # Cell centres in mm relative to the box's top-left corner.
    xs = (np.arange(w) + 0.5) * cell - rr
    ys = (np.arange(h) + 0.5) * cell - rr
    xg, yg = xs[None, :], ys[:, None]
    d_self = _rect_distance(xg, yg, 0.0, 0.0, bw, bh)
    base = (d_self >= RING_INNER_MM) & (d_self <= RING_OUTER_MM)
    base &= ~((xg >= bw + NUMBER_GAP_MM) & (yg >= -0.5) & (yg <= bh + 0.5))
    reach = 2 * RING_OUTER_MM + NEIGHBOUR_PAD_MM
    cache: dict[tuple, np.ndarray] = {}
    masks = []
    for i in group:
        b = boxes[i]
        near = tuple(sorted(
            (round(o.x - b.x, 2), round(o.y - b.y, 2), round(o.w, 2), round(o.h, 2))
            for k, o in enumerate(boxes)
            if k != i and o.x < b.x + b.w + reach and o.x + o.w > b.x - reach
            and o.y < b.y + b.h + reach and o.y + o.h > b.y - reach))
        if near not in cache:
            mask = base.copy()
            for ax, ay, aw, ah in near:
                d_other = _rect_distance(xg, yg, ax, ay, ax + aw, ay + ah)
                mask &= (d_other > NEIGHBOUR_PAD_MM) & (d_self <= d_other)
                mask &= ~((xg >= ax + aw + NUMBER_GAP_MM) & (yg >= ay - 0.5) & (yg <= ay + ah + 0.5))
            cache[near] = mask
        masks.append(cache[near])
    return np.stack(masks)


def comment_ink(frame: PageFrame, rect: Rect, black_ratio: float, scale: float = 1.0, res: float = 4.0) -> float:
    """Share of pen-dark ink inside the comment box (its printed outline left out); `scale`
    is the page's `line_scale` (blurred images render handwriting paler)."""
    inset = 1.2
    inner = (rect.x + inset, rect.y + inset, rect.w - 2 * inset, rect.h - 2 * inset)
    ink = frame_ink(frame, inner, black_ratio, res, 12.0)
    return float(np.count_nonzero(ink >= DARK * scale)) / ink.size

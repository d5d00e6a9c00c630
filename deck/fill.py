"""Pen on paper: what people draw on a printed ballot, for the simulator (DESIGN §6, §9).

Every function draws into `sheet.image` (a rendered page: uint8, grayscale or BGR,
upright, at `sheet.dpi`) in place, at layout positions in millimetres from the page's
top-left corner, and takes all its randomness from the numpy `Generator` it is given:
the same image, arguments and generator state always give the same pixels.

What the marks look like, so the reader can be tuned against them (box side s, the
interior is the box minus its 0.3 mm outline; "share" = darkness added in the interior,
0..1, as `ink_in_box` measures it; measured over many draws at 150 and 300 DPI):

- cross: two hand-jittered strokes, 0.3–0.8 mm wide, 60–100 % of the interior, centre
  off by ≤ 0.08·s; 15 % of stroke ends overshoot an edge by 0.2–0.6 mm (never further).
- tick: one stroke (short leg, long leg), 0.4–0.8 mm wide, 80–100 % of the box.
  Pen marks (cross, tick, scribble): share ≥ 0.065 in a 6 mm box, ≥ 0.038 in a 9 mm box.
- scribble: zig-zag or loops, 0.35–0.55 mm; share 0.065–0.52.
- cancel (a correction, "fill the box completely"): share ≥ 0.75.
- faint pencil: a cross (45–70 % of the box) or tick (65–85 %) in grey 182 (182–200 on
  white), 0.3–0.4 mm: share 0.016–0.055 (6 mm) / 0.009–0.038 (9 mm). Its strokes are
  never darker than ~170 grey before scanning: lightness, not area, tells it from a pen.
- circle_outside: a hand-drawn rounded ring around an empty box, 1.0–3.4 mm from it
  (ring share 0.07–0.12); tick_beside: a 3.2–4.5 mm tall tick left of an empty box,
  1.3–4 mm from its edge (ring share 0.011–0.025). No ink inside the box.
- doodles: ≥ 10 mm from every box and ≥ 3 mm from the QR, corner squares and printed code.
- comment: Hershey script, 2.6–3.6 mm capitals, umlauts written as ae/oe/ue, inside the
  comment box.

`ink_in_box` and `ink_in_ring` measure darkness added between two images (0..1), the
numbers the deck's truth records next to every mark. The ring leaves out the other boxes
(+ 1 mm): in normal print rows are 3.6 mm apart, so one box's ring overlaps the next.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from hybrid.layout import Rect

MM_PER_INCH = 25.4
BOX_OUTLINE_MM = 0.3  # the printed outline; its outer edge is the layout box
RING_MM = (1.0, 4.0)  # DESIGN §6: ink this far around an empty box is "outside the box"
DOODLE_CLEARANCE_MM = 10.0


@dataclass(frozen=True)
class Ink:
    """A writing tool: colour (BGR), stroke width and opacity ranges."""

    name: str
    bgr: tuple[int, int, int]
    width_mm: tuple[float, float]
    opacity: tuple[float, float]

    def grey(self) -> int:
        b, g, r = self.bgr
        return int(round(0.114 * b + 0.587 * g + 0.299 * r))


BLACK_BALLPOINT = Ink("black_ballpoint", (38, 36, 34), (0.3, 0.6), (0.88, 1.0))
BLUE_BALLPOINT = Ink("blue_ballpoint", (150, 62, 22), (0.3, 0.6), (0.88, 1.0))
FELT_TIP = Ink("felt_tip", (30, 30, 30), (0.6, 0.8), (0.92, 1.0))
FAINT_PENCIL = Ink("faint_pencil", (182, 182, 182), (0.3, 0.4), (0.8, 1.0))
MARKER = Ink("marker", (22, 22, 22), (2.5, 4.0), (0.97, 1.0))
INKS = {ink.name: ink for ink in (BLACK_BALLPOINT, BLUE_BALLPOINT, FELT_TIP, FAINT_PENCIL, MARKER)}


class Sheet:
    """A page image being written on: millimetres from the top-left corner → pixels."""

    def __init__(self, image: np.ndarray, dpi: float) -> None:
        if image.dtype != np.uint8 or image.ndim not in (2, 3):
            raise ValueError("a sheet is a uint8 grayscale or BGR image")
        self.image = image
        self.dpi = float(dpi)
        self.px_per_mm = self.dpi / MM_PER_INCH

    @property
    def colour(self) -> bool:
        return self.image.ndim == 3

    def px(self, mm: float) -> float:
        return mm * self.px_per_mm


# -- strokes ---------------------------------------------------------------------------


def hand_path(points_mm: Sequence[tuple[float, float]], rng: np.random.Generator, jitter_mm: float = 0.08,
              per_mm: float = 1.5) -> np.ndarray:
    """A polyline through `points_mm` as a hand draws it: resampled, with a slow wobble
    across the direction of travel and a slight bow on each segment."""
    pts = np.asarray(points_mm, dtype=np.float64)
    out = [pts[0]]
    for a, b in zip(pts[:-1], pts[1:]):
        length = float(np.hypot(*(b - a)))
        n = max(3, int(length * per_mm) + 1)
        t = np.linspace(0.0, 1.0, n)[1:]
        normal = np.array([-(b - a)[1], (b - a)[0]]) / max(length, 1e-6)
        walk = np.cumsum(rng.normal(0.0, 1.0, n - 1))
        walk -= np.linspace(0.0, walk[-1], n - 1)  # ends stay where the hand aimed
        wobble = walk / max(1.0, np.abs(walk).max()) * jitter_mm
        bow = np.sin(np.pi * t) * rng.normal(0.0, 0.04 * length)
        seg = a + np.outer(t, b - a) + np.outer(wobble + bow, normal)
        out.extend(seg)
    return np.array(out)


def _composite(sheet: Sheet, mask: np.ndarray, x0: int, y0: int, ink: Ink, opacity: float) -> None:
    """Multiply ink onto the sheet where `mask` (uint8 coverage) says, like ink soaking paper."""
    h, w = mask.shape
    roi = sheet.image[y0:y0 + h, x0:x0 + w]
    alpha = mask.astype(np.float32) * (opacity / 255.0)
    if sheet.colour:
        factor = 1.0 - alpha[..., None] * (1.0 - np.array(ink.bgr, dtype=np.float32) / 255.0)
    else:
        factor = 1.0 - alpha * (1.0 - ink.grey() / 255.0)
    roi[...] = np.clip(roi.astype(np.float32) * factor + 0.5, 0, 255).astype(np.uint8)


def _roi(sheet: Sheet, pts_px: np.ndarray, pad: float) -> tuple[int, int, int, int] | None:
    h, w = sheet.image.shape[:2]
    x0 = max(0, int(math.floor(pts_px[:, 0].min() - pad)))
    y0 = max(0, int(math.floor(pts_px[:, 1].min() - pad)))
    x1 = min(w, int(math.ceil(pts_px[:, 0].max() + pad)) + 1)
    y1 = min(h, int(math.ceil(pts_px[:, 1].max() + pad)) + 1)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


SUPERSAMPLE = 4  # strokes are drawn 4× finer, then averaged down: widths stay true at any DPI


def _draw_mask(sheet: Sheet, pts_mm: np.ndarray, pad_px: float, draw) -> tuple[np.ndarray, int, int] | None:
    """Coverage mask (uint8) of what `draw(mask, points)` paints, drawn supersampled."""
    pts = np.asarray(pts_mm, dtype=np.float64) * sheet.px_per_mm
    box = _roi(sheet, pts, pad_px + 2)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    k = SUPERSAMPLE
    big = np.zeros(((y1 - y0) * k, (x1 - x0) * k), np.uint8)
    draw(big, np.round((pts - [x0, y0]) * k * 16).astype(np.int32))
    return cv2.resize(big, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA), x0, y0


def stroke(sheet: Sheet, path_mm: np.ndarray, ink: Ink, width_mm: float, rng: np.random.Generator,
           closed: bool = False) -> None:
    """One pen stroke along `path_mm` (N×2, mm), `width_mm` wide."""
    thickness = max(1, int(round(width_mm * sheet.px_per_mm * SUPERSAMPLE)))
    drawn = _draw_mask(sheet, path_mm, width_mm * sheet.px_per_mm,
                       lambda m, p: cv2.polylines(m, [p], closed, 255, thickness=thickness, lineType=cv2.LINE_AA,
                                                  shift=4))
    if drawn is not None:
        _composite(sheet, *drawn, ink, float(rng.uniform(*ink.opacity)))


def fill_polygon(sheet: Sheet, polygon_mm: np.ndarray, ink: Ink, opacity: float) -> None:
    drawn = _draw_mask(sheet, polygon_mm, 1.0,
                       lambda m, p: cv2.fillPoly(m, [p], 255, lineType=cv2.LINE_AA, shift=4))
    if drawn is not None:
        _composite(sheet, *drawn, ink, opacity)


def _width(ink: Ink, rng: np.random.Generator, lo: float | None = None) -> float:
    a, b = ink.width_mm
    return float(rng.uniform(max(a, lo or a), max(b, lo or a)))


def _interior(box: Rect) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) of the inside of the printed square."""
    return (box.x + BOX_OUTLINE_MM, box.y + BOX_OUTLINE_MM, box.x + box.w - BOX_OUTLINE_MM,
            box.y + box.h - BOX_OUTLINE_MM)


# -- marks in a box ----------------------------------------------------------------------


def draw_cross(sheet: Sheet, box: Rect, ink: Ink, rng: np.random.Generator, size: tuple[float, float] = (0.6, 1.0),
               width_mm: float | None = None) -> None:
    """Two strokes; mostly inside the box, sometimes a little over an edge."""
    ix0, iy0, ix1, iy1 = _interior(box)
    side = min(ix1 - ix0, iy1 - iy0)
    cx, cy = box.centre
    cx += float(np.clip(rng.normal(0, 0.04 * box.w), -0.08 * box.w, 0.08 * box.w))
    cy += float(np.clip(rng.normal(0, 0.04 * box.h), -0.08 * box.h, 0.08 * box.h))
    half = float(rng.uniform(*size)) * side / 2
    width = width_mm if width_mm is not None else _width(ink, rng)
    for sign in (1.0, -1.0):
        a = np.array([cx - half, cy - sign * half]) + rng.normal(0, 0.05 * side, 2)
        b = np.array([cx + half, cy + sign * half]) + rng.normal(0, 0.05 * side, 2)
        a, b = (_keep_in(p, box, rng) for p in (a, b))
        stroke(sheet, hand_path([tuple(a), tuple(b)], rng, jitter_mm=0.06 * side / 5), ink, width, rng)


def _keep_in(p: np.ndarray, box: Rect, rng: np.random.Generator) -> np.ndarray:
    """A stroke end inside the box, or with 15 % chance overshooting by 0.2–0.6 mm."""
    over = float(rng.uniform(0.2, 0.6)) if rng.random() < 0.15 else -BOX_OUTLINE_MM - 0.2
    return np.clip(p, [box.x - over, box.y - over], [box.x + box.w + over, box.y + box.h + over])


def draw_tick(sheet: Sheet, box: Rect, ink: Ink, rng: np.random.Generator, size: tuple[float, float] = (0.8, 1.0),
              width_mm: float | None = None) -> None:
    """A check mark: short leg down, long leg up to the right."""
    f = float(rng.uniform(*size))
    rel = np.array([
        [rng.uniform(0.12, 0.28), rng.uniform(0.45, 0.6)],
        [rng.uniform(0.36, 0.48), rng.uniform(0.78, 0.9)],
        [rng.uniform(0.82, 0.95), rng.uniform(0.06, 0.2)],
    ])
    rel = 0.5 + (rel - 0.5) * f
    pts = np.column_stack([box.x + rel[:, 0] * box.w, box.y + rel[:, 1] * box.h])
    width = width_mm if width_mm is not None else _width(ink, rng, lo=0.4)
    stroke(sheet, hand_path(pts, rng, jitter_mm=0.05), ink, width, rng)


def draw_scribble(sheet: Sheet, box: Rect, ink: Ink, rng: np.random.Generator) -> None:
    """A zig-zag or a few loops: a clear mark, far from a filled box."""
    ix0, iy0, ix1, iy1 = _interior(box)
    w, h = ix1 - ix0, iy1 - iy0
    cx, cy = box.centre
    span = float(rng.uniform(0.6, 0.85))
    width = float(rng.uniform(0.35, min(ink.width_mm[1], 0.55)))
    if rng.random() < 0.5:
        n = int(rng.integers(4, 7))
        ys = np.linspace(cy - span * h / 2, cy + span * h / 2, n)
        xs = np.where(np.arange(n) % 2 == 0, cx - span * w / 2, cx + span * w / 2)
        pts = np.column_stack([xs + rng.normal(0, 0.04 * w, n), ys + rng.normal(0, 0.03 * h, n)])
    else:
        turns = float(rng.uniform(2.0, 3.5))
        t = np.linspace(0, 2 * np.pi * turns, int(40 * turns))
        r = span * min(w, h) / 2 * (0.55 + 0.45 * np.abs(np.sin(t / (2 * turns) * np.pi)))
        drift = np.linspace(-span * w / 4, span * w / 4, len(t))
        pts = np.column_stack([cx + drift + r * np.cos(t), cy + r * 0.8 * np.sin(t)])
    stroke(sheet, hand_path(pts, rng, jitter_mm=0.05, per_mm=2.0), ink, width, rng)


def fill_box(sheet: Sheet, box: Rect, ink: Ink, rng: np.random.Generator) -> None:
    """A correction: the box filled (almost) solid, edges a little over the outline."""
    ix0, iy0, ix1, iy1 = _interior(box)
    corners = np.array([[ix0, iy0], [ix1, iy0], [ix1, iy1], [ix0, iy1]])
    corners += rng.uniform(-0.35, 0.1, (4, 2)) * np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]])
    fill_polygon(sheet, corners, ink, float(rng.uniform(0.9, 1.0)))
    # Hatching over it, as a pen does it: leaves the fill darker and the edges ragged.
    n = int(rng.integers(6, 10))
    ys = np.linspace(iy0 + 0.2, iy1 - 0.2, n)
    xs = np.where(np.arange(n) % 2 == 0, ix0 + 0.1, ix1 - 0.1)
    pts = np.column_stack([xs, ys]) + rng.normal(0, 0.12, (n, 2))
    stroke(sheet, hand_path(pts, rng, jitter_mm=0.05), ink, _width(ink, rng, lo=0.5), rng)


def _distance_to_rect(pts: np.ndarray, box: Rect) -> np.ndarray:
    dx = np.maximum.reduce([box.x - pts[:, 0], np.zeros(len(pts)), pts[:, 0] - (box.x + box.w)])
    dy = np.maximum.reduce([box.y - pts[:, 1], np.zeros(len(pts)), pts[:, 1] - (box.y + box.h)])
    return np.hypot(dx, dy)


def draw_circle_around(sheet: Sheet, box: Rect, ink: Ink, rng: np.random.Generator) -> None:
    """A hand-drawn ring around an empty box, as if circling the choice. A rounded square
    (superellipse), so it clears the corners by ≥ 1 mm while its sides stay ≤ 3.3 mm out."""
    cx, cy = box.centre
    width = _width(ink, rng)
    a = box.w / 2 + float(rng.uniform(2.2, 2.8))
    b = box.h / 2 + float(rng.uniform(1.7, 2.2))
    n = float(rng.uniform(3.2, 4.2))
    start = float(rng.uniform(0, 2 * np.pi))
    t = np.linspace(start, start + 2 * np.pi + float(rng.uniform(-0.3, 0.45)), 90)
    c, s = np.cos(t), np.sin(t)
    radius = 1.0 + np.linspace(0, rng.uniform(-0.03, 0.03), len(t))  # the pen does not quite meet itself
    walk = np.cumsum(rng.normal(0, 1, (len(t), 2)), axis=0)
    walk = walk / max(1.0, np.abs(walk).max()) * 0.15
    pts = np.column_stack([cx + a * radius * np.sign(c) * np.abs(c) ** (2 / n),
                           cy + b * radius * np.sign(s) * np.abs(s) ** (2 / n)]) + walk
    margin = RING_MM[0] + 0.1 + width / 2
    for _ in range(8):  # grow a little until every point keeps its distance from the box
        if _distance_to_rect(pts, box).min() >= margin:
            break
        pts = np.array([cx, cy]) + (pts - [cx, cy]) * 1.03
    stroke(sheet, pts, ink, width, rng)


def draw_tick_beside(sheet: Sheet, box: Rect, ink: Ink, rng: np.random.Generator) -> None:
    """A small tick left of an empty box, inside its 1–4 mm ring."""
    height = float(rng.uniform(3.2, 4.5))
    width = min(2.4, height * 0.7)
    right = box.x - float(rng.uniform(1.3, 1.6))
    top = box.centre[1] - height / 2 + float(rng.uniform(-0.6, 0.6))
    rel = np.array([[0.0, 0.55], [0.35, 1.0], [1.0, 0.0]]) + rng.normal(0, 0.04, (3, 2))
    pts = np.column_stack([right - width + rel[:, 0] * width, top + rel[:, 1] * height])
    pts[:, 0] = np.clip(pts[:, 0], box.x - RING_MM[1] + 0.3, box.x - RING_MM[0] - 0.3)
    stroke(sheet, hand_path(pts, rng, jitter_mm=0.04), ink, _width(ink, rng, lo=0.4), rng)


MARKS = {
    "cross": draw_cross,
    "tick": draw_tick,
    "scribble": draw_scribble,
    "cancel": fill_box,
    "circle_outside": draw_circle_around,
    "tick_beside": draw_tick_beside,
}


def draw_mark(sheet: Sheet, style: str, box: Rect, ink: Ink, rng: np.random.Generator) -> None:
    """One of `MARKS` at `box`; faint pencil draws smaller crosses and ticks."""
    if ink is FAINT_PENCIL and style == "cross":
        draw_cross(sheet, box, ink, rng, size=(0.45, 0.7))
    elif ink is FAINT_PENCIL and style == "tick":
        draw_tick(sheet, box, ink, rng, size=(0.65, 0.85), width_mm=float(rng.uniform(*ink.width_mm)))
    else:
        MARKS[style](sheet, box, ink, rng)


# -- elsewhere on the page ------------------------------------------------------------------


def _overlaps(rect: tuple[float, float, float, float], keep_away: Sequence[tuple[Rect, float]]) -> bool:
    x0, y0, x1, y1 = rect
    for r, gap in keep_away:
        if x0 < r.x + r.w + gap and x1 > r.x - gap and y0 < r.y + r.h + gap and y1 > r.y - gap:
            return True
    return False


def draw_doodle(sheet: Sheet, keep_away: Sequence[tuple[Rect, float]], ink: Ink, rng: np.random.Generator,
                page_mm: tuple[float, float] = (210.0, 297.0)) -> tuple[float, float, float, float] | None:
    """A stray mark (spiral, star, squiggle, heart) where `keep_away` (rect, gap) allows.
    Returns its extent in mm, or None when no free place was found."""
    size = float(rng.uniform(6.0, 14.0))
    for _ in range(60):
        x = float(rng.uniform(14.0, page_mm[0] - 14.0 - size))
        y = float(rng.uniform(14.0, page_mm[1] - 14.0 - size))
        extent = (x, y, x + size, y + size)
        if not _overlaps(extent, keep_away):
            break
    else:
        return None
    cx, cy, r = x + size / 2, y + size / 2, size / 2
    kind = int(rng.integers(0, 4))
    if kind == 0:  # spiral
        t = np.linspace(0, 2 * np.pi * rng.uniform(2, 3.5), 120)
        pts = np.column_stack([cx + r * t / t[-1] * np.cos(t), cy + r * t / t[-1] * np.sin(t)])
    elif kind == 1:  # five-pointed star
        angles = -np.pi / 2 + np.arange(6) * 4 * np.pi / 5
        pts = np.column_stack([cx + r * np.cos(angles), cy + r * np.sin(angles)])
    elif kind == 2:  # squiggle, like a signature
        xs = np.linspace(x, x + size, 9)
        pts = np.column_stack([xs, cy + rng.uniform(-r * 0.6, r * 0.6, 9)])
    else:  # heart
        t = np.linspace(0, 2 * np.pi, 80)
        hx = 16 * np.sin(t) ** 3
        hy = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
        pts = np.column_stack([cx + hx / 17 * r, cy + hy / 17 * r])
    stroke(sheet, hand_path(pts, rng, jitter_mm=0.1, per_mm=2.0), ink, _width(ink, rng), rng)
    return extent


def write_comment(sheet: Sheet, rect: Rect, text: str, ink: Ink, rng: np.random.Generator) -> None:
    """Handwriting-like text inside `rect`: Hershey script, each word with its own
    slant, tilt, size and baseline; lines wrap, text that does not fit is left out."""
    ppm = sheet.px_per_mm
    font = cv2.FONT_HERSHEY_SCRIPT_SIMPLEX
    cap_mm = float(rng.uniform(2.6, 3.6))
    (_, cap_px), _ = cv2.getTextSize("H", font, 1.0, 1)
    scale = cap_mm * ppm / cap_px
    thickness = max(1, int(round(float(rng.uniform(0.25, 0.4)) * ppm)))
    line_mm = cap_mm * float(rng.uniform(1.8, 2.2))
    left = rect.x + float(rng.uniform(2.0, 4.0))
    x, y = left, rect.y + float(rng.uniform(1.5, 3.0)) + cap_mm
    slant = float(rng.uniform(-0.25, 0.05))
    for word in hershey_text(text).split():
        word_scale = scale * float(rng.uniform(0.92, 1.08))
        (w_px, h_px), base_px = cv2.getTextSize(word, font, word_scale, thickness)
        if x + w_px / ppm > rect.x + rect.w - 2.0:
            x, y = left + float(rng.uniform(-0.5, 0.8)), y + line_mm
        if y + 1.5 > rect.y + rect.h - 0.5:
            break
        pad = int(h_px) + thickness + 4
        patch = np.zeros((h_px + base_px + 2 * pad, w_px + 2 * pad), np.uint8)
        cv2.putText(patch, word, (pad, pad + h_px), font, word_scale, 255, thickness, cv2.LINE_AA)
        angle = float(rng.normal(0, 2.0))
        m = cv2.getRotationMatrix2D((patch.shape[1] / 2, patch.shape[0] / 2), angle, 1.0)
        m[0, 1] += slant
        m[0, 2] -= slant * patch.shape[0] / 2
        patch = cv2.warpAffine(patch, m, (patch.shape[1], patch.shape[0]), flags=cv2.INTER_LINEAR)
        px0 = int(round(x * ppm)) - pad
        py0 = int(round((y + float(rng.normal(0, 0.25))) * ppm)) - pad - h_px
        _paste_mask(sheet, patch, px0, py0, ink, float(rng.uniform(*ink.opacity)))
        x += w_px / ppm + float(rng.uniform(1.2, 2.2))


def hershey_text(text: str) -> str:
    """`text` in the ASCII that Hershey fonts can draw: umlauts as people type them (ä → ae)."""
    import unicodedata

    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("Ä", "Ae"), ("Ö", "Oe"), ("Ü", "Ue"), ("ß", "ss")):
        text = text.replace(a, b)
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _paste_mask(sheet: Sheet, mask: np.ndarray, x0: int, y0: int, ink: Ink, opacity: float) -> None:
    h, w = sheet.image.shape[:2]
    cx0, cy0 = max(0, x0), max(0, y0)
    cx1, cy1 = min(w, x0 + mask.shape[1]), min(h, y0 + mask.shape[0])
    if cx1 <= cx0 or cy1 <= cy0:
        return
    _composite(sheet, mask[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0], cx0, cy0, ink, opacity)


def black_out(sheet: Sheet, rect: Rect, rng: np.random.Generator, margin_mm: tuple[float, float] = (0.8, 1.8)) -> None:
    """A felt marker scrubbed over `rect` (people hide a QR or a code they distrust):
    solid, with ragged edges a little beyond the rectangle."""
    m = float(rng.uniform(*margin_mm))
    x0, y0, x1, y1 = rect.x - m, rect.y - m, rect.x + rect.w + m, rect.y + rect.h + m
    corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]) + rng.uniform(-0.3, 0.3, (4, 2))
    fill_polygon(sheet, corners, MARKER, 1.0)
    n = max(4, int((y1 - y0) / 2.5))
    ys = np.linspace(y0 + 0.5, y1 - 0.5, n)
    xs = np.where(np.arange(n) % 2 == 0, x0 - 0.3, x1 + 0.3)
    stroke(sheet, hand_path(np.column_stack([xs, ys]), rng, jitter_mm=0.3), MARKER, _width(MARKER, rng), rng)


# -- measuring -------------------------------------------------------------------------------


def _grey(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image


def _px_rect(x0: float, y0: float, x1: float, y1: float, ppm: float, shape: tuple[int, ...]) -> tuple[slice, slice]:
    h, w = shape[:2]
    return (slice(max(0, int(round(y0 * ppm))), min(h, int(round(y1 * ppm)))),
            slice(max(0, int(round(x0 * ppm))), min(w, int(round(x1 * ppm)))))


def ink_in_box(before: np.ndarray, after: np.ndarray, box: Rect, dpi: float, inset_mm: float = 0.45) -> float:
    """Darkness added inside the box (its outline excluded), as a share 0..1: 1 = solid black."""
    ppm = dpi / MM_PER_INCH
    ys, xs = _px_rect(box.x + inset_mm, box.y + inset_mm, box.x + box.w - inset_mm, box.y + box.h - inset_mm,
                      ppm, before.shape)
    a = _grey(before[ys, xs]).astype(np.float32)
    b = _grey(after[ys, xs]).astype(np.float32)
    return float(np.clip(a - b, 0, None).mean() / 255.0) if a.size else 0.0


def ink_in_ring(before: np.ndarray, after: np.ndarray, box: Rect, dpi: float,
                others: Sequence[Rect] = (), other_margin_mm: float = 1.0) -> float:
    """Darkness added in the 1–4 mm ring around the box, as a share 0..1 of the ring.

    The squares of `others` (+ `other_margin_mm`) are left out: in normal print the rows
    are 3.6 mm apart, so a box's ring reaches into its neighbour, and a cross there (or
    its small overshoot) is not ink beside this box."""
    ppm = dpi / MM_PER_INCH
    outer, inner = RING_MM[1], RING_MM[0]
    ys, xs = _px_rect(box.x - outer, box.y - outer, box.x + box.w + outer, box.y + box.h + outer, ppm, before.shape)
    diff = np.clip(_grey(before[ys, xs]).astype(np.float32) - _grey(after[ys, xs]).astype(np.float32), 0, None)
    if not diff.size:
        return 0.0
    keep = np.ones(diff.shape, bool)
    for rect, margin in [(box, inner)] + [(o, other_margin_mm) for o in others]:
        y0 = int(round((rect.y - margin) * ppm)) - ys.start
        x0 = int(round((rect.x - margin) * ppm)) - xs.start
        y1 = int(round((rect.y + rect.h + margin) * ppm)) - ys.start
        x1 = int(round((rect.x + rect.w + margin) * ppm)) - xs.start
        keep[max(0, y0):max(0, y1), max(0, x0):max(0, x1)] = False
    return float(diff[keep].mean() / 255.0) if keep.any() else 0.0


# -- other sheets in the envelope ----------------------------------------------------------

_LETTER_WORDS = (
    "Sehr geehrte Damen und Herren wir freuen uns Ihnen mitteilen zu können dass Ihr Antrag "
    "bearbeitet wurde Bitte beachten Sie die beigefügten Unterlagen und senden Sie das Formular "
    "bis zum angegebenen Termin zurück Rechnung Betrag Kundennummer Vertrag Lieferung Zahlung "
    "Stadtwerke Abfallkalender Mitteilung Termin Bescheid Gebühren Zeitraum Bankverbindung IBAN"
).split()


def draw_letter(dpi: float, rng: np.random.Generator, qr_text: str | None = None) -> np.ndarray:
    """An A4 letter that is not a ballot (a bill, a notice): letterhead, address, paragraphs,
    a table, optionally a foreign QR code. Grayscale, upright, at `dpi`."""
    ppm = dpi / MM_PER_INCH
    h, w = int(round(297 * ppm)), int(round(210 * ppm))
    page = np.full((h, w), 255, np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX

    def text(s: str, x_mm: float, y_mm: float, cap_mm: float, bold: bool = False) -> None:
        (_, cap_px), _ = cv2.getTextSize("H", font, 1.0, 1)
        scale = cap_mm * ppm / cap_px
        cv2.putText(page, s, (int(x_mm * ppm), int(y_mm * ppm)), font, scale, 20,
                    max(1, int(ppm * (0.35 if bold else 0.18))), cv2.LINE_AA)

    head = " ".join(str(w_) for w_ in rng.choice(["Stadtwerke", "Wohnbau", "Versicherung", "Praxis", "Verein"], 1))
    text(head.upper() + " GmbH", 22, 25, 5.0, bold=True)
    cv2.rectangle(page, (int(22 * ppm), int(29 * ppm)), (int(188 * ppm), int(29.6 * ppm)), 60, -1)
    for i, line in enumerate(("Frau Erika Mustermann", "Musterweg 12", "97070 Wuerzburg")):
        text(line, 25, 55 + i * 5.5, 2.6)
    y = 95.0
    for _ in range(int(rng.integers(4, 7))):
        for _ in range(int(rng.integers(3, 6))):
            words = rng.choice(_LETTER_WORDS, int(rng.integers(8, 12)))
            text(" ".join(str(w_) for w_ in words), 25, y, 2.2)
            y += 5.0
        y += 4.0
        if y > 230:
            break
    top = min(y + 4, 235.0)
    for r in range(5):
        yy = top + r * 7
        cv2.line(page, (int(25 * ppm), int(yy * ppm)), (int(185 * ppm), int(yy * ppm)), 90, max(1, int(ppm * 0.2)))
        if r < 4:
            text(f"{rng.integers(1, 99):02d}.{rng.integers(1, 13):02d}.2027   Position {r + 1}   "
                 f"{rng.integers(10, 999)},{rng.integers(10, 99)} EUR", 27, yy + 5, 2.2)
    if qr_text:
        import zxingcpp

        symbol = zxingcpp.create_barcode(qr_text, zxingcpp.BarcodeFormat.QRCode)
        qr = np.asarray(symbol.to_image(scale=1, add_quiet_zones=False))
        side = int(22 * ppm)
        qr = cv2.resize(qr, (side, side), interpolation=cv2.INTER_NEAREST)
        page[int(255 * ppm):int(255 * ppm) + side, int(160 * ppm):int(160 * ppm) + side] = qr
    return page

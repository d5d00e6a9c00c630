"""Paper, scanner, copier and camera: what happens to a filled ballot before it is read.

Pure functions of an image (uint8, grayscale or BGR, upright page at a given DPI), their
parameters and a numpy `Generator`; the same inputs give the same pixels. The stages, in
the order the simulator applies them:

1. `photocopy_toner` (a photocopied ballot, before it is filled): darker mid-tones,
   softer, toner specks away from the boxes.
2. `paper_effects` (the sheet itself): fold lines, coffee stains.
3. `photocopy_placement` (a photocopied ballot): slightly smaller, tilted, shifted, with
   the copier lid's grey edge — applied after filling, so the marks sit in the copy's boxes.
4. `scan` (flatbed or sheet feeder) or `photograph` (a phone on a table).

Degradation levels (`LEVELS[name]` holds the exact ranges; one value is drawn per tray
for scanner settings and per sheet for the sheet's damage):

- light: 200 DPI (20 % at 300); skew 0–0.7°; scale 99.5–100.5 %; shift ≤ 1.5 mm; blur
  σ 0–0.04 mm; noise σ 0.8–2; JPEG q 75–90; paper 240–252 / black 5–25; no B/W; 3 %
  upside down; folds on 30 % of sheets; stains on 3 %, ≥ 8 mm from every box.
- moderate: 150 / 200 / 300 DPI (25 / 60 / 15 %); skew 0–1.8°; scale 98.5–101.5 %; shift
  ≤ 3 mm; blur σ 0.02–0.08 mm; noise σ 1.5–4; JPEG q 50–80; paper 230–250 / black 10–40;
  10 % of trays B/W (threshold 140–170); 10 % upside down; folds 60 %; stains 10 %,
  ≥ 6 mm from boxes; 10 % of trays with a dark scanner backing around the sheet.
- heavy: 150 / 200 DPI; skew 1–3°; scale 97–103 %; shift ≤ 5 mm; blur σ 0.06–0.12 mm;
  noise σ 3–8; JPEG q 30–60; paper 215–240 / black 20–60; 35 % of trays B/W (threshold
  130–175, and below paper − 4.5 σ); 20 % upside down; folds 90 %; stains 35 %, placed as
  near a box as allowed: 4.5–12 mm from it (outside its 1–4 mm ring, never over it);
  30 % dark backing; 25 % of trays from a scanner with a dirty drum: 1–3 vertical streaks,
  1–3 px wide, black or grey (level 40–130 before the scanner's tone), at random x, down
  the whole image (every page of the tray, same columns; drawn after the skew, so they
  are straight in the image, and they may cross boxes: the reader takes them out).
- photo: a 2500–3200 px tall phone photo (3:4) of the sheet on a table: the page fills
  72–90 % of the height, perspective (one edge 0–9 % shorter, corners ±1 %), rotation
  ±6°, table 35–140 grey, light falling to 60–90 % across the frame plus a vignette, warm
  or cool colour cast, noise σ 2–5 then lens blur σ 0.6–1.3 px, JPEG q 70–92; 5 % upside
  down; folds 50 %; stains 5 %.

What is never destroyed (a person can always read the ballot, except where the deck
blacks out the code on purpose): the four corner squares stay ≥ 1.5 mm inside the image
(shift is reduced until they do); stains keep off boxes and their 1–4 mm rings, the QR,
the printed code, serial and layout id, the corner squares and the comment box; folds
run between box rows (never through a box, where a crease would look like a faint
mark), at most 15 % darker on a 0.2–0.4 mm line with a ≤ 3 % shadow; B/W mode is never
used on a tray that holds faint pencil (it would erase marks a person sees on paper); blur
stays ≤ 0.12 mm so a 0.3 mm stroke survives; skew ≤ 3° and scale 97–103 % are inside
what a reader must accept without doubt.

`feed_slip` (a sheet that slipped in the feeder, stretched below a line) is the one
geometric defect meant to be doubted (doubtful_geometry): the bottom corner squares move
7–9 mm down (stretch ≈ 2.6–3.3 %), the part above the slip line stays true, so the
printed marks are ≥ 2 mm from where the corner squares put them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from hybrid.layout import Rect

MM_PER_INCH = 25.4
PAGE_MM = (210.0, 297.0)


@dataclass(frozen=True)
class Level:
    """The parameter ranges of one degradation level (see the module docstring)."""

    name: str
    dpi: tuple[int, ...]
    dpi_weights: tuple[float, ...]
    skew_deg: tuple[float, float]
    scale: tuple[float, float]
    shift_mm: float
    blur_mm: tuple[float, float]
    noise: tuple[float, float]
    jpeg_quality: tuple[int, int]
    paper_white: tuple[int, int]
    ink_black: tuple[int, int]
    bw_share: float  # trays scanned in black/white mode
    bw_threshold: tuple[int, int]
    upside_down: float
    folds: float
    fold_darkness: tuple[float, float]
    stains: float
    stain_clearance_mm: tuple[float, float]  # min distance from boxes, and "near" for heavy
    dark_backing: float  # trays whose scanner shows a dark backing around a skewed sheet
    photo: bool = False
    streaks: float = 0.0  # trays from a scanner with a dirty drum (vertical streaks)


LEVELS: dict[str, Level] = {
    "light": Level("light", (200, 300), (0.8, 0.2), (0.0, 0.7), (0.995, 1.005), 1.5, (0.0, 0.04), (0.8, 2.0),
                   (75, 90), (240, 252), (5, 25), 0.0, (140, 160), 0.03, 0.3, (0.04, 0.08), 0.03, (8.0, 40.0), 0.0),
    "moderate": Level("moderate", (150, 200, 300), (0.25, 0.6, 0.15), (0.0, 1.8), (0.985, 1.015), 3.0, (0.02, 0.08),
                      (1.5, 4.0), (50, 80), (230, 250), (10, 40), 0.1, (140, 170), 0.1, 0.6, (0.05, 0.12), 0.1,
                      (6.0, 40.0), 0.1),
    "heavy": Level("heavy", (150, 200), (0.5, 0.5), (1.0, 3.0), (0.97, 1.03), 5.0, (0.06, 0.12), (3.0, 8.0),
                   (30, 60), (215, 240), (20, 60), 0.35, (130, 175), 0.2, 0.9, (0.08, 0.15), 0.35, (4.5, 12.0), 0.3,
                   streaks=0.25),
    "photo": Level("photo", (200,), (1.0,), (0.0, 6.0), (1.0, 1.0), 0.0, (0.0, 0.0), (2.0, 5.0), (70, 92),
                   (225, 250), (10, 35), 0.0, (140, 160), 0.05, 0.5, (0.04, 0.1), 0.05, (8.0, 40.0), 0.0, photo=True),
}


# -- parameters -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DrumStreak:
    """A dirty-drum line down the whole scan: the same image columns on every page of a tray."""

    x: float  # left edge, as a share of the image width
    width_px: int
    level: int  # 0 black … 130 grey, before the scanner's tone


@dataclass(frozen=True)
class ScanSettings:
    """How the scanner was set for a tray (or a phone held for a photo)."""

    dpi: int
    colour: bool
    jpeg_quality: int
    noise: float
    blur_mm: float
    paper_white: int
    ink_black: int
    bw_threshold: int | None = None  # black/white mode
    backing: int = 255  # what the scanner shows where there is no paper
    streaks: tuple[DrumStreak, ...] = ()

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class FeedSlip:
    at_mm: float  # the sheet slipped below this line (page mm from the top)
    factor: float  # rows below it are stretched by this factor


@dataclass(frozen=True)
class SheetDamage:
    """What happened to one sheet on its way: folds, stains, how it went through the scanner."""

    skew_deg: float = 0.0
    scale: float = 1.0
    shift_mm: tuple[float, float] = (0.0, 0.0)
    upside_down: bool = False
    folds_mm: tuple[float, ...] = ()  # y of each fold line
    fold_darkness: float = 0.0
    stains: int = 0
    stain_clearance_mm: tuple[float, float] = (8.0, 40.0)
    feed_slip: FeedSlip | None = None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class PhotoSettings:
    height_px: int
    page_fill: float  # page height / image height
    rotation_deg: float
    keystone: float  # how much shorter the far edge is (perspective)
    keystone_edge: str  # top | bottom | left | right
    corner_jitter: float  # share of the page height
    background: tuple[int, int, int]
    light_min: float  # darkest lighting gain across the frame
    vignette: float
    cast: tuple[float, float, float]
    blur_px: float
    noise: float
    jpeg_quality: int

    def as_dict(self) -> dict:
        return asdict(self)


def _pick(rng: np.random.Generator, lo_hi: tuple[float, float]) -> float:
    return float(rng.uniform(*lo_hi))


def sample_scan_settings(level: Level, rng: np.random.Generator, *, colour: bool = False,
                         allow_bw: bool = True) -> ScanSettings:
    """Scanner settings for one tray. `allow_bw=False` for a tray holding faint pencil."""
    dpi = int(rng.choice(level.dpi, p=np.array(level.dpi_weights) / sum(level.dpi_weights)))
    noise = _pick(rng, level.noise)
    white = int(rng.integers(level.paper_white[0], level.paper_white[1] + 1))
    bw = None
    if allow_bw and not colour and rng.random() < level.bw_share:
        hi = min(level.bw_threshold[1], int(white - 4.5 * noise))
        bw = int(rng.integers(level.bw_threshold[0], max(level.bw_threshold[0], hi) + 1))
    backing = int(rng.integers(25, 70)) if rng.random() < level.dark_backing else 255
    streaks: tuple[DrumStreak, ...] = ()
    if level.streaks and rng.random() < level.streaks:  # drawn only where a level has them: other decks stay as they were
        streaks = tuple(DrumStreak(x=round(_pick(rng, (0.0, 1.0)), 4), width_px=int(rng.integers(1, 4)),
                                   level=0 if rng.random() < 0.5 else int(rng.integers(40, 131)))
                        for _ in range(int(rng.integers(1, 4))))
    return ScanSettings(
        dpi=dpi, colour=colour, jpeg_quality=int(rng.integers(level.jpeg_quality[0], level.jpeg_quality[1] + 1)),
        noise=round(noise, 2), blur_mm=round(_pick(rng, level.blur_mm), 3), paper_white=white,
        ink_black=int(rng.integers(level.ink_black[0], level.ink_black[1] + 1)), bw_threshold=bw, backing=backing,
        streaks=streaks,
    )


def sample_sheet_damage(level: Level, rng: np.random.Generator, *, feed_slip: bool = False,
                        upright: bool = False) -> SheetDamage:
    """What happens to one sheet. `upright=True` keeps it the right way up."""
    folds: tuple[float, ...] = ()
    if rng.random() < level.folds:
        if rng.random() < 0.75:  # DL envelope: folded in thirds
            folds = (99.0 + _pick(rng, (-8, 8)), 198.0 + _pick(rng, (-8, 8)))
        else:  # C5: folded once
            folds = (148.5 + _pick(rng, (-5, 5)),)
    slip = None
    if feed_slip:
        at = _pick(rng, (110.0, 170.0))
        push = _pick(rng, (7.0, 9.0))  # how far the bottom corner squares move down
        slip = FeedSlip(round(at, 2), round(1.0 + push / (283.0 - at), 5))
    sign = 1.0 if rng.random() < 0.5 else -1.0
    return SheetDamage(
        skew_deg=round(sign * _pick(rng, level.skew_deg), 3) if not level.photo else 0.0,
        scale=round(_pick(rng, level.scale), 4),
        shift_mm=(round(_pick(rng, (-level.shift_mm, level.shift_mm)), 2),
                  round(_pick(rng, (-level.shift_mm, level.shift_mm)), 2)),
        upside_down=(not upright) and rng.random() < level.upside_down,
        folds_mm=tuple(round(f, 2) for f in folds),
        fold_darkness=round(_pick(rng, level.fold_darkness), 3) if folds else 0.0,
        stains=(1 + int(rng.random() < 0.3)) if rng.random() < level.stains else 0,
        stain_clearance_mm=level.stain_clearance_mm,
        feed_slip=slip,
    )


def _cast(rng: np.random.Generator) -> tuple[float, float, float]:
    """Colour of the light (B, G, R gains): warm lamp light or cool daylight."""
    if rng.random() < 0.6:
        return (round(_pick(rng, (0.86, 0.95)), 3), round(_pick(rng, (0.95, 0.99)), 3), 1.0)
    return (1.0, round(_pick(rng, (0.97, 1.0)), 3), round(_pick(rng, (0.9, 0.97)), 3))


def sample_photo_settings(level: Level, rng: np.random.Generator) -> PhotoSettings:
    backgrounds = [(62, 92, 128), (40, 62, 95), (92, 92, 98), (48, 48, 52), (110, 120, 135), (35, 40, 45)]
    bg = backgrounds[int(rng.integers(len(backgrounds)))]
    return PhotoSettings(
        height_px=int(rng.integers(2500, 3201)),
        page_fill=round(_pick(rng, (0.72, 0.9)), 3),
        rotation_deg=round(_pick(rng, (-level.skew_deg[1], level.skew_deg[1])), 2),
        keystone=round(_pick(rng, (0.0, 0.09)), 3),
        keystone_edge=str(rng.choice(["top", "bottom", "left", "right"], p=[0.45, 0.35, 0.1, 0.1])),
        corner_jitter=round(_pick(rng, (0.0, 0.01)), 4),
        background=tuple(int(c + rng.integers(-12, 13)) for c in bg),  # type: ignore[arg-type]
        light_min=round(_pick(rng, (0.6, 0.9)), 3),
        vignette=round(_pick(rng, (0.0, 0.15)), 3),
        cast=_cast(rng),
        blur_px=round(_pick(rng, (0.5, 1.3)), 2),
        noise=round(_pick(rng, level.noise), 2),
        jpeg_quality=int(rng.integers(level.jpeg_quality[0], level.jpeg_quality[1] + 1)),
    )


# -- helpers ------------------------------------------------------------------------------------


def _ppm(dpi: float) -> float:
    return dpi / MM_PER_INCH


def _seed_cv(rng: np.random.Generator) -> None:
    """OpenCV's noise generator, seeded from ours: fast noise, still reproducible."""
    cv2.setRNGSeed(int(rng.integers(0, 2**31 - 1)))


def add_noise(image: np.ndarray, sigma: float, rng: np.random.Generator, smooth: bool = True,
              tone: tuple[float, float] = (1.0, 0.0)) -> np.ndarray:
    """Sensor noise, drawn at half size and enlarged (scanner and phone noise is not white
    after their own processing; four times cheaper, too). `smooth=False` enlarges by
    repeating pixels, for a caller that blurs afterwards anyway. `tone` (gain, offset) maps
    the image's levels in the same pass: out = gain × image + offset + noise."""
    gain, offset = tone
    if sigma <= 0:
        return cv2.convertScaleAbs(image, alpha=gain, beta=offset)
    _seed_cv(rng)
    h, w = image.shape[:2]
    channels = image.shape[2] if image.ndim == 3 else 1
    # uint8 centred on 128, not int16: OpenCV adds two uint8 images several times faster
    # than uint8 + int16 (σ ≤ 12 here, so 128 ± 10 σ never saturates)
    small = np.empty(((h + 1) // 2, (w + 1) // 2) + image.shape[2:], np.uint8)
    # × 1.45: enlarging by interpolation averages neighbours and lowers σ by about that much
    cv2.randn(small, np.full(channels, 128.0), np.full(channels, sigma * (1.45 if smooth else 1.0)))
    # LINEAR_EXACT: plain LINEAR on uint8 rounds down on average (a 0.1 level darker page)
    noise = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR_EXACT if smooth else cv2.INTER_NEAREST)
    return cv2.addWeighted(image, gain, noise, 1.0, offset - 128.0)


def _multiply(image: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """image × gain (float32, H×W or H×W×C), rounded back to uint8."""
    if image.ndim == 3 and gain.ndim == 2:
        gain = gain[..., None]
    return np.clip(image.astype(np.float32) * gain + 0.5, 0, 255).astype(np.uint8)


def blur(image: np.ndarray, sigma_px: float) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), sigma_px) if sigma_px > 0.05 else image


# -- copier ------------------------------------------------------------------------------------


def photocopy_toner(image: np.ndarray, dpi: float, rng: np.random.Generator,
                    keep_clear: Sequence[Rect] = ()) -> np.ndarray:
    """What a copier does to the print (before anyone writes on the copy): darker
    mid-tones, a softer image, toner specks (≥ 4.5 mm from `keep_clear`, i.e. the boxes)."""
    ppm = _ppm(dpi)
    gamma = _pick(rng, (1.3, 1.6))
    lut = np.clip(255.0 * (np.arange(256) / 255.0) ** gamma, 0, 255).astype(np.uint8)
    out = blur(cv2.LUT(image, lut), 0.05 * ppm)
    for _ in range(int(rng.integers(30, 120))):
        x, y = _pick(rng, (5, 205)), _pick(rng, (5, 292))
        if any(r.x - 4.5 < x < r.x + r.w + 4.5 and r.y - 4.5 < y < r.y + r.h + 4.5 for r in keep_clear):
            continue
        cv2.circle(out, (int(x * ppm), int(y * ppm)), max(1, int(_pick(rng, (0.1, 0.25)) * ppm)),
                   int(rng.integers(30, 120)), -1, cv2.LINE_AA)
    return out


def photocopy_placement(image: np.ndarray, dpi: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Where the copier put the page on the copy: 98.5–99.8 %, ±0.4°, up to 1.5 mm off,
    and the grey edge of its lid. Applied to the filled copy (the person wrote on the
    copy's boxes, so marks move with them). Returns the sheet and the 2×3 map."""
    ppm = _ppm(dpi)
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), _pick(rng, (-0.4, 0.4)), _pick(rng, (0.985, 0.998)))
    m[:, 2] += np.array([_pick(rng, (-1.5, 1.5)), _pick(rng, (-1.5, 1.5))]) * ppm
    white = (255,) * 3 if image.ndim == 3 else 255
    out = cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=white)
    edge = int(_pick(rng, (0.5, 3.0)) * ppm)
    grey = _pick(rng, (0.4, 0.7))
    region = (out[:edge], out[-edge:], out[:, :edge], out[:, -edge:])[int(rng.integers(4))]
    region[...] = (region.astype(np.float32) * grey).astype(np.uint8)
    return out, m


def moved_rects(rects: Sequence[Rect], m: np.ndarray, dpi: float) -> list[Rect]:
    """Axis-aligned bounds of `rects` (mm) after the pixel map `m` (at `dpi`)."""
    ppm = _ppm(dpi)
    out = []
    for r in rects:
        pts = np.array([[r.x, r.y], [r.x + r.w, r.y], [r.x, r.y + r.h], [r.x + r.w, r.y + r.h]]) * ppm
        moved = (pts @ m[:, :2].T + m[:, 2]) / ppm
        lo, hi = moved.min(axis=0), moved.max(axis=0)
        out.append(Rect(x=float(lo[0]), y=float(lo[1]), w=float(hi[0] - lo[0]), h=float(hi[1] - lo[1])))
    return out


# -- the sheet itself ---------------------------------------------------------------------------


def move_folds_off_boxes(folds_mm: Sequence[float], boxes: Sequence[Rect]) -> tuple[float, ...]:
    """Fold lines moved to the middle of the nearest gap between box rows."""
    out = []
    for y in folds_mm:
        hit = next((b for b in boxes if b.y - 0.8 <= y <= b.y + b.h + 0.8), None)
        if hit is not None:
            above = max((b.y + b.h for b in boxes if b.y + b.h < hit.y), default=hit.y - 5.0)
            below = min((b.y for b in boxes if b.y > hit.y + hit.h), default=hit.y + hit.h + 5.0)
            up, down = (above + hit.y) / 2, (hit.y + hit.h + below) / 2
            y = up if abs(up - y) <= abs(down - y) else down
        out.append(round(y, 2))
    return tuple(out)


def draw_fold(image: np.ndarray, dpi: float, y_mm: float, darkness: float, rng: np.random.Generator) -> None:
    """A crease across the sheet: a thin darker line with a faint shadow on one side."""
    ppm = _ppm(dpi)
    h, w = image.shape[:2]
    band = int(4 * ppm)
    y0 = int(y_mm * ppm)
    lo, hi = max(0, y0 - band), min(h, y0 + band)
    if hi <= lo:
        return
    tilt = math.tan(math.radians(_pick(rng, (-0.4, 0.4))))
    ys = np.arange(lo, hi, dtype=np.float32)[:, None]
    xs = np.arange(w, dtype=np.float32)[None, :]
    d = (ys - (y0 + (xs - w / 2) * tilt)) / ppm  # mm from the crease, signed
    line_w = _pick(rng, (0.2, 0.4))
    shadow_side = 1.0 if rng.random() < 0.5 else -1.0
    dark = darkness * np.exp(-0.5 * (d / (line_w / 2)) ** 2)
    dark += min(0.03, darkness / 4) * np.exp(-np.maximum(0.0, shadow_side * d) / 1.2) * (shadow_side * d > 0)
    gain = (1.0 - dark).astype(np.float32)
    image[lo:hi] = _multiply(image[lo:hi], gain)


def _gap(cx: float, cy: float, r: float, rect: Rect) -> float:
    """Distance from a disc (centre, radius) to a rectangle; negative when they overlap."""
    dx = max(rect.x - cx, 0.0, cx - (rect.x + rect.w))
    dy = max(rect.y - cy, 0.0, cy - (rect.y + rect.h))
    return math.hypot(dx, dy) - r


def draw_stain(image: np.ndarray, dpi: float, rng: np.random.Generator, boxes: Sequence[Rect],
               others: Sequence[Rect], clearance_mm: tuple[float, float]) -> dict | None:
    """A coffee stain: a translucent brownish blob with a darker rim and a few drops.
    Keeps `clearance_mm[0]` from every box (outside the 1–4 mm ring) and 2 mm from
    `others` (QR, code, corner squares, comment box). With a small clearance (heavy) it
    is placed as near to a box as allowed, within `clearance_mm[1]`."""
    near_boxes = clearance_mm[0] < 6.0
    r = _pick(rng, (5.0, 14.0))
    reach = r * 1.35 + 3.0  # blob wobble and drops
    keep = [(b, clearance_mm[0]) for b in boxes] + [(o, 2.0) for o in others]
    best: tuple[float, float, float] | None = None
    for _ in range(80):
        cx, cy = _pick(rng, (reach + 3, 207 - reach)), _pick(rng, (reach + 3, 294 - reach))
        if any(_gap(cx, cy, reach, rect) < gap for rect, gap in keep):
            continue
        box_gap = min((_gap(cx, cy, reach, b) for b in boxes), default=math.inf)
        if not near_boxes:
            best = (cx, cy, box_gap)
            break
        if box_gap <= clearance_mm[1] and (best is None or box_gap < best[2]):
            best = (cx, cy, box_gap)
    if best is None:
        return None
    cx, cy = best[0], best[1]
    ppm = _ppm(dpi)
    h, w = image.shape[:2]
    size = int(2 * reach * ppm) + 4
    x0, y0 = int((cx - reach) * ppm) - 2, int((cy - reach) * ppm) - 2
    mask = np.zeros((size, size), np.float32)
    t = np.linspace(0, 2 * np.pi, 90, endpoint=False)
    radius = np.full_like(t, r)
    for k in range(2, 6):
        radius += r * _pick(rng, (0.0, 0.07)) * np.sin(k * t + _pick(rng, (0, 2 * np.pi)))
    poly = np.column_stack([cx + radius * np.cos(t), cy + radius * np.sin(t)])
    pts = np.round((poly * ppm - [x0, y0]) * 16).astype(np.int32)
    body = np.zeros((size, size), np.uint8)
    cv2.fillPoly(body, [pts], 255, cv2.LINE_AA, shift=4)
    rim = np.zeros((size, size), np.uint8)
    cv2.polylines(rim, [pts], True, 255, max(1, int(_pick(rng, (0.6, 1.4)) * ppm)), cv2.LINE_AA, shift=4)
    inside, edge = _pick(rng, (0.04, 0.1)), _pick(rng, (0.1, 0.2))
    mask += body.astype(np.float32) / 255 * inside + rim.astype(np.float32) / 255 * edge
    for _ in range(int(rng.integers(0, 4))):
        a, d = _pick(rng, (0, 2 * np.pi)), r + _pick(rng, (0.5, 2.5))
        cv2.circle(mask, (int((cx + d * math.cos(a)) * ppm) - x0, int((cy + d * math.sin(a)) * ppm) - y0),
                   max(1, int(_pick(rng, (0.3, 0.8)) * ppm)), inside * 1.5, -1, cv2.LINE_AA)
    mask = cv2.GaussianBlur(mask, (0, 0), 0.25 * ppm)
    sx0, sy0, sx1, sy1 = max(0, x0), max(0, y0), min(w, x0 + size), min(h, y0 + size)
    if sx1 <= sx0 or sy1 <= sy0:
        return None
    m = mask[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0]
    roi = image[sy0:sy1, sx0:sx1]
    if image.ndim == 3:
        tint = np.array([1.25, 1.0, 0.7], np.float32)  # coffee absorbs blue most
        gain = 1.0 - m[..., None] * tint
    else:
        gain = 1.0 - m
    roi[...] = _multiply(roi, gain.astype(np.float32))
    return {"x_mm": round(cx, 1), "y_mm": round(cy, 1), "radius_mm": round(r, 1)}


def paper_effects(image: np.ndarray, dpi: float, damage: SheetDamage, rng: np.random.Generator,
                  boxes: Sequence[Rect] = (), others: Sequence[Rect] = ()) -> list[dict]:
    """Folds and stains on the upright page, in place. Returns where the stains went."""
    for y in damage.folds_mm:
        draw_fold(image, dpi, y, damage.fold_darkness, rng)
    stains = []
    for _ in range(damage.stains):
        placed = draw_stain(image, dpi, rng, boxes, others, damage.stain_clearance_mm)
        if placed:
            stains.append(placed)
    return stains


# -- scanner ------------------------------------------------------------------------------------


def sheet_transform(shape: tuple[int, ...], dpi: float, damage: SheetDamage,
                    fiducials: Sequence[Rect] = ()) -> np.ndarray:
    """The 2×3 affine map from the upright page image to the scan: skew and scale about
    the centre, then shift. The shift is limited so that every corner square stays
    ≥ 1.5 mm inside the image (skew and enlargement are lessened when no shift can)."""
    h, w = shape[:2]
    ppm = _ppm(dpi)
    corners = np.array([[f.x + dx, f.y + dy] for f in fiducials for dx in (0, f.w) for dy in (0, f.h)]) * ppm
    margin = 1.5 * ppm
    skew, scale = damage.skew_deg, damage.scale
    for _ in range(12):
        m = cv2.getRotationMatrix2D((w / 2, h / 2), skew, scale)
        shift = np.array(damage.shift_mm, dtype=np.float64) * ppm
        if not len(corners):
            m[:, 2] += shift
            return m
        moved = corners @ m[:, :2].T + m[:, 2]
        lo = np.array([margin, margin]) - moved.min(axis=0)
        hi = np.array([w - margin, h - margin]) - moved.max(axis=0)
        if np.all(lo <= hi):
            m[:, 2] += np.clip(shift, lo, hi)
            return m
        skew, scale = skew * 0.7, min(scale, 1.0)
    m[:, 2] += (lo + hi) / 2
    return m


def _slip(image: np.ndarray, dpi: float, slip: FeedSlip, backing: int) -> np.ndarray:
    h, w = image.shape[:2]
    at = slip.at_mm * _ppm(dpi)
    ys = np.arange(h, dtype=np.float32)
    src = np.where(ys < at, ys, at + (ys - at) / slip.factor).astype(np.float32)
    map_y = np.repeat(src[:, None], w, axis=1)
    map_x = np.repeat(np.arange(w, dtype=np.float32)[None, :], h, axis=0)
    border = (backing,) * 3 if image.ndim == 3 else backing
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=border)


def scan(image: np.ndarray, dpi: float, settings: ScanSettings, damage: SheetDamage, rng: np.random.Generator,
         fiducials: Sequence[Rect] = ()) -> tuple[np.ndarray, list[list[float]]]:
    """The sheet through a scanner at `dpi` (the image is already at that resolution):
    upside down, feed slip, skew/scale/shift onto an A4 frame, optics blur, drum streaks, tone, sensor
    noise, black/white mode. Returns the image and where the printed page's corners
    (top-left, top-right, bottom-right, bottom-left) landed, in pixels."""
    h, w = image.shape[:2]
    ppm = _ppm(dpi)
    if damage.upside_down:
        image = np.ascontiguousarray(image[::-1, ::-1])
        fiducials = [Rect(x=PAGE_MM[0] - f.x - f.w, y=PAGE_MM[1] - f.y - f.h, w=f.w, h=f.h) for f in fiducials]
    if damage.feed_slip is not None:
        image = _slip(image, dpi, damage.feed_slip, settings.backing)
        at, f = damage.feed_slip.at_mm, damage.feed_slip.factor
        fiducials = [r if r.y < at else Rect(x=r.x, y=at + (r.y - at) * f, w=r.w, h=r.h * f) for r in fiducials]
    m = sheet_transform(image.shape, dpi, damage, fiducials)
    border = (settings.backing,) * 3 if image.ndim == 3 else settings.backing
    out = cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=border)
    out = blur(out, settings.blur_mm * ppm)
    draw_streaks(out, settings.streaks)
    alpha = (settings.paper_white - settings.ink_black) / 255.0
    out = add_noise(out, settings.noise, rng, tone=(alpha, settings.ink_black))
    if settings.bw_threshold is not None:
        if out.ndim == 3:
            out = cv2.cvtColor(out, cv2.COLOR_BGR2GRAY)
        out = cv2.threshold(out, settings.bw_threshold, 255, cv2.THRESH_BINARY)[1]
    page = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)
    if damage.upside_down:
        page = page[[2, 3, 0, 1]]
    corners = page @ m[:, :2].T + m[:, 2]
    return out, [[round(float(x), 1), round(float(y), 1)] for x, y in corners]


def draw_streaks(image: np.ndarray, streaks: Sequence[DrumStreak]) -> None:
    """Dirty-drum lines, in place: each darkens its columns down the whole image to its level."""
    w = image.shape[1]
    for s in streaks:
        x0 = min(int(s.x * w), w - s.width_px)
        np.minimum(image[:, x0:x0 + s.width_px], s.level, out=image[:, x0:x0 + s.width_px])


# -- phone camera ------------------------------------------------------------------------------


def photo_page_dpi(settings: PhotoSettings) -> float:
    """The resolution to render the page at so the photo needs no big rescaling."""
    return settings.height_px * settings.page_fill / PAGE_MM[1] * MM_PER_INCH


def photograph(image: np.ndarray, settings: PhotoSettings, rng: np.random.Generator,
               upside_down: bool = False) -> tuple[np.ndarray, list[list[float]]]:
    """A phone photo of the page lying on a table: perspective, background, uneven light,
    colour cast, blur, noise (colour, BGR). Returns the photo and where the printed
    page's corners (top-left, top-right, bottom-right, bottom-left) are in it."""
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    ph, pw = image.shape[:2]
    H = settings.height_px
    W = int(round(H * 3 / 4))
    page_h = H * settings.page_fill
    page_w = page_h * PAGE_MM[0] / PAGE_MM[1]
    quad = np.array([[-page_w / 2, -page_h / 2], [page_w / 2, -page_h / 2], [page_w / 2, page_h / 2],
                     [-page_w / 2, page_h / 2]])
    k = settings.keystone
    if settings.keystone_edge == "top":
        quad[[0, 1], 0] *= 1 - k
    elif settings.keystone_edge == "bottom":
        quad[[2, 3], 0] *= 1 - k
    elif settings.keystone_edge == "left":
        quad[[0, 3], 1] *= 1 - k
    else:
        quad[[1, 2], 1] *= 1 - k
    quad += rng.uniform(-1, 1, (4, 2)) * settings.corner_jitter * page_h
    a = math.radians(settings.rotation_deg)
    quad = quad @ np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
    margin = 0.025 * H
    lo, hi = quad.min(axis=0), quad.max(axis=0)
    room_x = max(0.0, (W - 2 * margin - (hi[0] - lo[0])) / 2)
    room_y = max(0.0, (H - 2 * margin - (hi[1] - lo[1])) / 2)
    centre = np.array([W / 2 + _pick(rng, (-room_x, room_x)) if room_x else W / 2,
                       H / 2 + _pick(rng, (-room_y, room_y)) if room_y else H / 2])
    quad += centre - (lo + hi) / 2
    if quad[:, 0].min() < 0 or quad[:, 1].min() < 0 or quad[:, 0].max() > W or quad[:, 1].max() > H:
        span = quad.max(axis=0) - quad.min(axis=0) + 2 * margin
        s = min(W / span[0], H / span[1])
        quad = (quad - quad.mean(axis=0)) * min(1.0, s) + [W / 2, H / 2]
    src = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], dtype=np.float32)
    if upside_down:  # turned in the map, not in a copy: pixel x of the turned page is pw − 1 − x
        src = np.array([[pw - 1, ph - 1], [-1, ph - 1], [-1, -1], [pw - 1, -1]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(src, quad.astype(np.float32))

    # The table: one colour (as the warp's border: filling a frame first costs a pass); the
    # light below makes it uneven.
    photo = cv2.warpPerspective(image, m, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                                borderValue=settings.background)

    # Light: a slope across the frame from the window side, a vignette, a colour cast.
    gy, gx = np.mgrid[0:1:24j, 0:1:18j].astype(np.float32)
    angle = _pick(rng, (0, 2 * np.pi))
    slope = (np.cos(angle) * (gx - 0.5) + np.sin(angle) * (gy - 0.5)) / 0.71 + 0.5
    gain = settings.light_min + (1.0 - settings.light_min) * np.clip(slope, 0, 1)
    gain *= 1.0 - settings.vignette * ((gx - 0.5) ** 2 + (gy - 0.5) ** 2) * 2
    cast = np.array(settings.cast, np.float32) / max(settings.cast)
    gain_small = np.clip(gain[..., None] * cast * 255, 0, 255).astype(np.uint8)
    gain_full = cv2.resize(gain_small, (W, H), interpolation=cv2.INTER_LINEAR)
    cv2.multiply(photo, gain_full, dst=photo, scale=1 / 255)
    photo = add_noise(photo, settings.noise, rng, smooth=False)  # the lens blur below smooths it
    cv2.GaussianBlur(photo, (0, 0), max(settings.blur_px, 0.6), dst=photo)
    order = [2, 3, 0, 1] if upside_down else [0, 1, 2, 3]
    return photo, [[round(float(x), 1), round(float(y), 1)] for x, y in quad[order]]

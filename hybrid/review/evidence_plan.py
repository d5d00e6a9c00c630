"""Which picture of a scanned page a review item shows, planned from the layout alone.

A reviewer needs to see the paper, whatever the reason for doubt. The picture is cut
from the archived copy of the scan (DESIGN §2) when the review page first asks for it;
where it lies on its page is known before it is cut, so the page can draw every box
over it:

- `ballot`  a ballot page from its top down to 6 mm below its last box or comment box,
            upright at `RES` px/mm; the QR and the printed code are blacked out (review
            never shows a code, DESIGN §4), and the information block below the boxes,
            which may repeat the code, is left out;
- `header`  the same, but the code's last group stays visible so the reviewer can check
            the code Tesseract read against the paper (code_from_ocr);
- `whole`   the whole page of an unreadable sheet, QR and code area blacked out.

This module is pure: the pixels are cut by the reader's room (`ocr/evidence_picture.py`),
which the door (`commands/review.py`) hands to the review page as `DrawEvidence`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from hybrid.layout import Layout, Rect

RES = 8.0  # px per mm of a picture (~200 DPI): a 6 mm box is 48 px before zooming
MARGIN_BELOW_MM = 6.0
PAGE_MM = (210.0, 297.0)
MASK_PAD_MM = 1.0
CODE_GROUP_SHARE = 0.5  # the code text fills ~3/4 of its box; its last group starts at ~half of the padded box
VARIANTS = ("ballot", "header", "whole")


class NoEvidence(Exception):
    """The archived scan is missing (purged) or cannot be read."""


@dataclass(frozen=True)
class Plan:
    """What will be cut: `region_mm` (x, y, w, h) of the page at `px_per_mm`, with
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


# (archived input, its page number from 1, the plan, the process's layouts) → JPEG bytes;
# raises NoEvidence when the page is not in the file.
DrawEvidence = Callable[[Path, int, Plan, Mapping[str, Layout]], bytes]


@dataclass(frozen=True)
class Furniture:
    """Where every layout prints its QR, its code text and its corner squares (DESIGN §5)."""

    qr: Rect | None
    code_text: Rect | None
    fiducials: tuple[Rect, ...]  # clockwise from top left, as the reader numbers them; () when unknown


def furniture(layouts: Mapping[str, Layout | None]) -> Furniture:
    pages = [p for h in sorted(k for k in layouts if layouts[k] is not None)
             for p in layouts[h].pages if p.kind in ("front", "continuation", "back")]
    qr = next((p.qr for p in pages if p.qr is not None), None)
    code = next((p.code_text for p in pages if p.code_text is not None), None)
    fiducials = next((list(p.fiducials) for p in pages if len(p.fiducials) == 4), [])
    return Furniture(qr, code, _clockwise(fiducials) if fiducials else ())


def _clockwise(rects: list[Rect]) -> tuple[Rect, ...]:
    """Corner squares as the reader numbers them: TL, TR, BR, BL, whatever the layout's order."""
    c = [r.centre for r in rects]
    pick = (min(range(4), key=lambda i: c[i][0] + c[i][1]), max(range(4), key=lambda i: c[i][0] - c[i][1]),
            max(range(4), key=lambda i: c[i][0] + c[i][1]), min(range(4), key=lambda i: c[i][0] - c[i][1]))
    return tuple(rects[i] for i in pick)


def _padded(r: Rect) -> tuple[float, float, float, float]:
    return (r.x - MASK_PAD_MM, r.y - MASK_PAD_MM, r.w + 2 * MASK_PAD_MM, r.h + 2 * MASK_PAD_MM)


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
    printed = furniture({layout_hash: layout} if layout is not None else layouts)
    masks = [_padded(r) for r in (printed.qr, page.qr if page else None) if r is not None]
    code_rect = (page.code_text if page is not None and page.code_text is not None else printed.code_text)
    if code_rect is not None:
        if variant == "header":  # hide all but the code's last group
            x, y, w, h = _padded(code_rect)
            masks.append((x, y, w * (1 - CODE_GROUP_SHARE), h))
        else:
            masks.append(_padded(code_rect))
    bottom = page_h
    if variant != "whole" and page is not None:
        rects = list(page.boxes) + ([page.comment] if page.comment else [])
        if rects:
            bottom = min(page_h, max(r.y + r.h for r in rects) + MARGIN_BELOW_MM)
    region = (0.0, 0.0, float(page_w), float(bottom))
    key = hashlib.sha256(repr((variant, region, RES, masks)).encode()).hexdigest()[:8]
    name = f"{sha[:16]}-p{int(page_no)}-evidence-{variant}-{key}.jpg"
    return Plan(variant, region, RES, tuple(masks), name)

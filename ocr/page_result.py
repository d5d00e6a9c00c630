"""What reading one page yields: small frozen, picklable records (no images but crops).

`ocr.read_page.read_page(image, layouts) -> PageResult` is pure: the same pixels and
layouts always give the same result. The batch runner turns results into store rows,
page states and ballot records; the rules module decides what the marks mean.
"""

from __future__ import annotations

from dataclasses import dataclass

from hybrid.page_reading import CropRegion, Geometry, PageKind  # noqa: F401 - the hub's types, part of this contract
from hybrid.qr_payload import QrPayload
from hybrid.states import MarkState, Reason  # noqa: F401 - MarkState is part of this contract


@dataclass(frozen=True)
class BoxReading:
    question: str
    option: str
    number: int
    fill: float  # share of the box interior that is ink, 0..1, after removing the printed outline
    state: MarkState
    ring_ink: float = 0.0  # share of ink in the 1–4 mm ring around the box (circles, ticks beside)


@dataclass(frozen=True)
class PageResult:
    kind: PageKind
    payload: QrPayload | None = None  # from the QR, or rebuilt from OCR'd text
    code_from_ocr: bool = False  # the QR failed; code/serial were read by Tesseract
    ocr_text: str | None = None  # what Tesseract read where the code is printed (digits), for review
    ocr_layout_id: str | None = None  # the printed layout id as Tesseract read it (code_from_ocr pages)
    layout_hash: str | None = None
    geometry: Geometry | None = None
    boxes: tuple[BoxReading, ...] = ()
    reasons: tuple[Reason, ...] = ()  # page-level doubts, e.g. doubtful_geometry, mark_outside_box
    comment_ink: float = 0.0  # share of ink in the comment box; > 0 means something was written
    comment_suggestion: str | None = None  # Tesseract's reading, only above its confidence threshold
    comment_confidence: float | None = None
    review_crop_png: bytes | None = None  # the page (code hidden) at reduced size, for review
    review_crop_region: CropRegion | None = None  # where review_crop_png was cut from the page
    comment_crop_png: bytes | None = None
    mark_signature: str = ""  # which boxes are marked/cancelled: tells a rescan from a photocopy
    message: str | None = None  # a human sentence for anything odd (shown in the scan summary)

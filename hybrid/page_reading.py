"""A scanned page as the hub receives it, and its reading as the store keeps it.

`ScannedPage` is what the scan batch hands to `paper_records.ingest_page`; its
`reading` (a `PageReading`) is stored in the page's `reading` column as JSON and read
back, typed, by everything after the reader (the ballot's judgement, review). The JSON
is the one stored since the first scans: `PageReading.from_json` accepts every reading
an older workspace holds (missing keys take their defaults), and `to_json` writes a
reading it parsed byte for byte as it was.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Any

from hybrid.states import MarkState, Reason


class PageKind(str, Enum):
    BALLOT = "ballot"  # a front or continuation page of one of our layouts, identified
    BACK = "back"  # a back side of one of our ballots (QR with the back mark)
    LETTER = "letter"  # a cover letter (QR with the letter mark): skipped, its image never kept
    BLANK = "blank"  # (nearly) no ink at all: an empty sheet side, a separator
    FOREIGN = "foreign"  # ink but no fiducials/QR of ours: not a ballot, or another process
    UNREADABLE = "unreadable"  # looks like our ballot but no code could be read


@dataclass(frozen=True)
class Geometry:
    """How the page was registered: checked before any mark is believed."""

    reprojection_error_mm: float
    scale: float  # scanned size / printed size (1.0 = 100 %)
    skew_degrees: float
    rotated_180: bool
    doubtful: bool


@dataclass(frozen=True)
class BoxScore:
    """One printed box as read: by the reader (fill and ring ink measured) or set by a reviewer."""

    question: str
    option: str
    number: int
    state: MarkState
    fill: float | None  # None: set by a reviewer, not measured
    ring_ink: float | None = 0.0
    by_review: bool = False


@dataclass(frozen=True)
class CropRegion:
    """Where the review crop was cut from its page: pixel = (mm - region origin) × px_per_mm."""

    region_mm: tuple[float, float, float, float]  # x, y, w, h
    px_per_mm: float


@dataclass(frozen=True)
class ReviewIdentification:
    """The review decision that identified an unreadable page by its serial."""

    decision_id: int
    reviewer: str
    confirmed_by: str | None = None


@dataclass(frozen=True)
class PageReading:
    """What a reviewer and the ballot's judgement need from the reader: geometry, box
    scores, the comment suggestion, the OCR trust and where the review crop lies."""

    geometry: Geometry | None = None
    comment_ink: float = 0.0
    comment_suggestion: str | None = None
    comment_confidence: float | None = None
    ocr_text: str | None = None  # what Tesseract read where the code is printed (unreadable pages)
    ocr_code_trusted: bool | None = None  # None: the code was not read by OCR (or not identified)
    review_crop: CropRegion | None = None
    boxes: tuple[BoxScore, ...] = ()
    identified_by_review: ReviewIdentification | None = None
    measured: bool = True  # False: the reader never got to the page (a file that could not be read)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | None) -> PageReading:
        """A stored reading; None or empty text is a reading of nothing."""
        try:
            body = json.loads(text) if text else {}
        except json.JSONDecodeError as exc:
            raise ValueError(f"page reading: not JSON ({exc})") from exc
        return cls.from_dict(body)

    def to_dict(self) -> dict[str, Any]:
        """The reading as a JSON object (for snapshots that embed it, e.g. a review decision's)."""
        body: dict[str, Any] = {}
        if self.measured:
            body["geometry"] = _geometry_dict(self.geometry) if self.geometry else None
            body["comment_ink"] = self.comment_ink
            body["comment_suggestion"] = self.comment_suggestion
            body["comment_confidence"] = self.comment_confidence
            body["ocr_text"] = self.ocr_text
        if self.ocr_code_trusted is not None:
            body["ocr_code_trusted"] = self.ocr_code_trusted
        if self.review_crop is not None:
            body["review_crop"] = {"region_mm": list(self.review_crop.region_mm),
                                   "px_per_mm": self.review_crop.px_per_mm}
        body["boxes"] = [_box_dict(b) for b in self.boxes]
        if self.identified_by_review is not None:
            who = self.identified_by_review
            body["identified_by_review"] = {"decision_id": who.decision_id, "reviewer": who.reviewer,
                                            "confirmed_by": who.confirmed_by}
        return body

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> PageReading:
        if not isinstance(body, Mapping):
            raise ValueError(f"page reading: a JSON object expected, not {type(body).__name__}")
        measured = any(key in body for key in _MEASURED)
        crop = body.get("review_crop")
        review_crop = None
        if isinstance(crop, Mapping) and crop.get("region_mm") and crop.get("px_per_mm"):
            x, y, w, h = (float(v) for v in crop["region_mm"])
            review_crop = CropRegion((x, y, w, h), float(crop["px_per_mm"]))
        who = body.get("identified_by_review")
        return cls(
            geometry=_geometry(body.get("geometry")),
            comment_ink=body.get("comment_ink", 0.0),
            comment_suggestion=body.get("comment_suggestion"),
            comment_confidence=body.get("comment_confidence"),
            ocr_text=body.get("ocr_text"),
            ocr_code_trusted=body.get("ocr_code_trusted"),
            review_crop=review_crop,
            boxes=tuple(_box(i, b) for i, b in enumerate(body.get("boxes") or [], 1)),
            identified_by_review=(ReviewIdentification(int(who["decision_id"]), who["reviewer"],
                                                       who.get("confirmed_by")) if who else None),
            measured=measured,
        )


_MEASURED = ("geometry", "comment_ink", "comment_suggestion", "comment_confidence", "ocr_text")


def _geometry_dict(g: Geometry) -> dict[str, Any]:
    return {"reprojection_error_mm": g.reprojection_error_mm, "scale": g.scale, "skew_degrees": g.skew_degrees,
            "rotated_180": g.rotated_180, "doubtful": g.doubtful}


def _geometry(body: Any) -> Geometry | None:
    if not body:
        return None
    try:
        return Geometry(body["reprojection_error_mm"], body["scale"], body["skew_degrees"], body["rotated_180"],
                        body["doubtful"])
    except (KeyError, TypeError) as exc:
        raise ValueError(f"page reading: geometry lacks {exc}") from exc


def _box_dict(b: BoxScore) -> dict[str, Any]:
    body: dict[str, Any] = {
        "question": b.question, "option": b.option, "number": b.number, "state": b.state.value,
        "fill": None if b.fill is None else round(b.fill, 4),
        "ring_ink": None if b.ring_ink is None else round(b.ring_ink, 4),
    }
    if b.by_review:
        body["by_review"] = True
    return body


def _box(index: int, body: Any) -> BoxScore:
    try:
        return BoxScore(body["question"], body["option"], body["number"], MarkState(body["state"]),
                        body.get("fill"), body.get("ring_ink"), bool(body.get("by_review", False)))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"page reading: box {index} is not a box reading ({exc})") from exc


@dataclass(frozen=True)
class ScannedPage:
    """A page as read, in hub terms (the reader's PageResult, translated by the batch)."""

    source: str  # scan:<sha256>#p<n>
    input_sha256: str
    page_no: int
    batch: str
    received: date
    kind: PageKind
    process_id: str | None = None
    layout_hash: str | None = None
    ballot_page: int | None = None
    serial: int | None = None
    code: str | None = None  # in memory only; stored as its HMAC
    code_from_ocr: bool = False
    ocr_layout_id: str | None = None  # the printed layout id as Tesseract read it (code_from_ocr pages)
    reasons: tuple[Reason, ...] = ()
    mark_signature: str = ""
    reading: PageReading = PageReading(measured=False)  # geometry, scores, comment suggestion: what a reviewer needs
    review_crop: str | None = None
    comment_crop: str | None = None
    message: str | None = None

"""The printed layout as data: the contract between `forms` and `ocr` (DESIGN §5).

All measures are millimetres from the page's top-left corner. A layout is stored in
the store under its hash; a QR payload names the hash, so a scan finds its geometry.
"""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict

LAYOUT_FORMAT = "hybrid-layout/1"


class Rect(BaseModel):
    model_config = ConfigDict(frozen=True)
    x: float
    y: float
    w: float
    h: float

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x + self.w / 2, self.y + self.h / 2)


class Box(Rect):
    question: str  # question id, or "budget"
    option: str  # option id, or investment id
    number: int  # the printed number


class Page(BaseModel):
    model_config = ConfigDict(frozen=True)
    page: int
    kind: Literal["front", "continuation", "back", "letter"]  # letter: a cover letter's page, never read
    fiducials: list[Rect]
    qr: Rect
    code_text: Rect | None = None
    serial_text: Rect | None = None
    layout_id_text: Rect | None = None
    comment: Rect | None = None
    boxes: list[Box] = []


class Layout(BaseModel):
    model_config = ConfigDict(frozen=True)
    format: Literal["hybrid-layout/1"] = LAYOUT_FORMAT
    process: str
    layout_hash: str
    layout_id: str
    language: str
    large_print: bool
    duplex: bool
    page_size_mm: tuple[float, float]
    pages: list[Page]

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Layout:
        return cls.model_validate_json(text)


def layout_hash_of(layout_without_hash: dict) -> str:
    """8 hex digits over the canonical JSON of everything but the hash itself."""
    body = {k: v for k, v in layout_without_hash.items() if k != "layout_hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:8]

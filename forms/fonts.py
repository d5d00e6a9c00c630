"""The embedded Unicode fonts (DejaVu: Latin incl. Turkish, Cyrillic, Greek).

Registered once per process; text width is measured with the same metrics that
reportlab uses to draw, so the layout and the PDF agree.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT_DIR = Path(__file__).parent / "fonts"
SANS = "HybridSans"
SANS_BOLD = "HybridSans-Bold"
MONO_BOLD = "HybridMono-Bold"

_FILES = {SANS: "DejaVuSans.ttf", SANS_BOLD: "DejaVuSans-Bold.ttf", MONO_BOLD: "DejaVuSansMono-Bold.ttf"}
PT_PER_MM = 72 / 25.4


@lru_cache(maxsize=1)
def register_fonts() -> None:
    for name, filename in _FILES.items():
        pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / filename)))


def text_width_mm(text: str, font: str, size_pt: float) -> float:
    register_fonts()
    return pdfmetrics.stringWidth(text, font, size_pt) / PT_PER_MM


def wrap(text: str, font: str, size_pt: float, width_mm: float) -> list[str]:
    """Lines of `text` that each fit `width_mm` (words are never split unless too long)."""
    register_fonts()
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines.extend(simpleSplit(paragraph, font, size_pt, width_mm * PT_PER_MM) or [""])
    return lines

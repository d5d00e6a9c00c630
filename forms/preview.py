"""Render pages of a printed PDF to PNG, to look at a ballot before the print shop does.

    python -m forms.preview out/ballots-de-000001.pdf --pages 1-2 --dpi 100 -o preview.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image


def render_pages(pdf_path: Path, first: int, last: int, dpi: int) -> Image.Image:
    """Pages first..last (1-based) side by side on one image."""
    pdf = pdfium.PdfDocument(str(pdf_path))
    last = min(last, len(pdf))
    images = [pdf[i].render(scale=dpi / 72).to_pil().convert("RGB") for i in range(first - 1, last)]
    gap = 12
    sheet = Image.new("RGB", (sum(i.width for i in images) + gap * (len(images) + 1),
                              max(i.height for i in images) + 2 * gap), (200, 200, 200))
    x = gap
    for image in images:
        sheet.paste(image, (x, gap))
        x += image.width + gap
    return sheet


def main() -> None:
    parser = argparse.ArgumentParser(description="Render ballot PDF pages to one PNG.")
    parser.add_argument("pdf", type=Path)
    parser.add_argument("--pages", default="1-2", help="e.g. 1-2 or 3")
    parser.add_argument("--dpi", type=int, default=100)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    first, _, last = args.pages.partition("-")
    render_pages(args.pdf, int(first), int(last or first), args.dpi).save(args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()

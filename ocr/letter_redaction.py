"""Returned cover letters carry a voter's name and address: scan keeps no image of them.

Every input is archived under scans/ before its pages are read. Once the reader has
recognised cover-letter pages in an input, those pages are blanked in the archived copy
(a white page of the same size in a PDF or TIFF); an input that is one letter image alone
is deleted. The copy keeps its name (the sha256 of the input as it came), so `source`
references stay valid; what is missing from it is recorded in the store's page rows.
"""

from __future__ import annotations

import os
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image, ImageSequence


def redact_letter_pages(archived: Path, pages: set[int]) -> bool:
    """Blank `pages` (1-based) of the archived copy; True when the copy still exists."""
    if not pages or not archived.exists():
        return archived.exists()
    suffix = archived.suffix.lower().lstrip(".")
    partial = archived.with_name(archived.name + ".redacting")
    if suffix == "pdf":
        _blank_pdf_pages(archived, pages, partial)
    elif suffix == "tiff":
        _blank_tiff_pages(archived, pages, partial)
    else:  # a single image: the letter is all there is
        archived.unlink()
        return False
    os.replace(partial, archived)
    return True


def _blank_pdf_pages(source: Path, pages: set[int], target: Path) -> None:
    document = pdfium.PdfDocument(str(source))
    try:
        for number in sorted(pages):
            if not 1 <= number <= len(document):
                continue
            width, height = document[number - 1].get_size()
            document.del_page(number - 1)
            document.new_page(width, height, index=number - 1)
        document.save(str(target))
    finally:
        document.close()


def _blank_tiff_pages(source: Path, pages: set[int], target: Path) -> None:
    with Image.open(source) as image:
        frames = []
        for number, frame in enumerate(ImageSequence.Iterator(image), start=1):
            frame = frame.copy()
            frames.append(Image.new("L", frame.size, 255) if number in pages else frame)
        frames[0].save(target, format="TIFF", save_all=True, append_images=frames[1:], compression="tiff_deflate")

"""A PDF page → the picture the reader gets (DESIGN §6).

A page's embedded image is used as it is only when it is the one thing the page shows:
a single image, directly on the page, axis-aligned and upright, covering the visible page
(CropBox) within 1 %, with no /Rotate, no annotation, clip, soft mask, colour-key mask,
/Decode array, stencil mask or non-square pixels, and nothing visible drawn over it (an
invisible OCR text layer is fine). Then

- JPEG (DCTDecode, gray or RGB, 8-bit, Huffman-coded) travels as its own bytes, untouched,
  for OpenCV to decode in a worker;
- any other filter (CCITT G3/G4, JBIG2, Flate, LZW, JPX, …) is decoded by pdfium at the
  image's own resolution.

Everything else — MRC pages of several layers, a cropped or partial image, a rotated page,
vector-only pages, CMYK or otherwise unusual images — is rendered by pdfium at 300 DPI in
grayscale, exactly as a viewer shows it. The page is cut out as a one-page PDF (~1 ms)
and rendered by `render_single_page` in a worker, so rendering runs in parallel and only
compressed bytes travel; a document with layers (/OCProperties) is rendered in place
instead, as a cut-out page would lose the layer settings. `PdfPageImage.reason` says
which rule decided.

pdfium does not expose an image's dictionary (/Decode, /SMask, /Mask, /ImageMask,
/ColorSpace details), so those are read with pdfminer (pdfplumber's parser), one page at
a time; if pdfminer cannot tell, the page is rendered.
"""

from __future__ import annotations

import ctypes
import io
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

MAX_PIXELS = 120_000_000  # per page; an A4 sheet at 600 DPI is 35 megapixels
RENDER_DPI = 300
COVER_TOLERANCE = 0.01  # image edges may miss the page edges by 1 % of the page size

_VISIBLE_ANNOTS_OK = {pdfium_c.FPDF_ANNOT_LINK, pdfium_c.FPDF_ANNOT_POPUP}
_INVISIBLE_TEXT = {pdfium_c.FPDF_TEXTRENDERMODE_INVISIBLE, pdfium_c.FPDF_TEXTRENDERMODE_CLIP}
_SIMPLE_FILTERS = set(pdfium.PdfImage.SIMPLE_FILTERS)

How = Literal["jpeg", "image", "render"]


class PageTooLarge(ValueError):
    """The page would need more than MAX_PIXELS pixels; refused before decoding."""


@dataclass(frozen=True)
class PdfPageImage:
    """One PDF page as the reader gets it, and why: exactly one of `jpeg` (the embedded
    JPEG's bytes), `pixels` (grayscale) or `pdf` (the page alone as a one-page PDF, to be
    rendered by `render_single_page` in a worker) is set."""

    how: How  # jpeg: embedded JPEG bytes | image: embedded image decoded | render: page rendered
    reason: str
    dpi: float
    jpeg: bytes | None = None
    pixels: np.ndarray | None = field(default=None, compare=False)
    pdf: bytes | None = None


# -- JPEG frame header (also used for JPEG files) ----------------------------------------


@dataclass(frozen=True)
class JpegFrame:
    width: int
    height: int
    components: int
    precision: int
    sof: int  # 0xC0 baseline, 0xC1 extended, 0xC2 progressive, …

    @property
    def opencv_decodes(self) -> bool:
        """8-bit Huffman-coded gray or colour JPEG: what libjpeg(-turbo) in OpenCV always reads."""
        return self.sof in (0xC0, 0xC1, 0xC2) and self.precision == 8 and self.components in (1, 3)


_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def jpeg_frame(read: Any) -> JpegFrame | None:
    """The frame header of a JPEG, read from a binary file object or bytes; None if there is none.

    Walks the marker segments only: nothing is decoded, so the size is known before decoding."""
    if isinstance(read, (bytes, bytearray, memoryview)):
        read = io.BytesIO(read)
    if read.read(2) != b"\xff\xd8":
        return None
    while True:
        byte = read.read(1)
        if not byte:
            return None
        if byte != b"\xff":
            continue  # tolerate stray bytes between segments, as decoders do
        marker = read.read(1)
        while marker == b"\xff":  # fill bytes
            marker = read.read(1)
        if not marker:
            return None
        code = marker[0]
        if code in (0xD8, 0x01) or 0xD0 <= code <= 0xD7:
            continue  # no length
        if code in (0xD9, 0xDA):
            return None  # end of image or start of scan before any frame header
        length_bytes = read.read(2)
        if len(length_bytes) < 2:
            return None
        length = int.from_bytes(length_bytes, "big")
        if length < 2:
            return None
        if code in _SOF_MARKERS:
            body = read.read(6)
            if len(body) < 6:
                return None
            precision, height, width, components = (
                body[0],
                int.from_bytes(body[1:3], "big"),
                int.from_bytes(body[3:5], "big"),
                body[5],
            )
            return JpegFrame(width, height, components, precision, code)
        read.seek(length - 2, 1)


def jpeg_is_complete(data: bytes) -> bool:
    """A JPEG ends with its EOI marker (padding after it is tolerated); a cut-off one does not."""
    return data.rstrip(b"\x00\r\n \t")[-2:] == b"\xff\xd9"


# -- pdfminer: the image dictionaries pdfium does not show --------------------------------


RAW_LENGTH = " raw length"  # not a PDF key: the stream's byte count, to match pdfium's object


class ImageDictionaries:
    """The image XObject dictionaries of each page, read with pdfminer in page order.

    Pages must be asked for in increasing order (the document is walked once). Any failure
    disables the lookup for the rest of the document: the caller then renders."""

    def __init__(self, path: Path, max_xobjects: int = 8) -> None:
        self.path = path
        self.max_xobjects = max_xobjects
        self._fh: Any = None
        self._pages: Iterator[Any] | None = None
        self._index = -1
        self._page: Any = None
        self._catalog: dict[str, Any] = {}
        self._failed = False

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        self._pages = None

    def _open(self) -> None:
        from pdfminer.pdfdocument import PDFDocument
        from pdfminer.pdfpage import PDFPage
        from pdfminer.pdfparser import PDFParser

        logger = logging.getLogger("pdfminer")
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.ERROR)  # it warns about every oddity it repairs
        self._fh = open(self.path, "rb")
        # caching=False: objects are read again when needed, so 10,000 pages never pile up in memory
        document = PDFDocument(PDFParser(self._fh), caching=False)
        self._catalog = document.catalog
        self._pages = PDFPage.create_pages(document)

    def optional_content(self) -> bool | None:
        """Whether the document has optional content (layers a viewer may hide), None if unknown.

        A page cut out of the document loses the catalog's layer settings, so such pages
        are rendered in the document itself."""
        if self._failed:
            return None
        try:
            if self._pages is None:
                self._open()
            return "OCProperties" in self._catalog
        except Exception:
            self._failed = True
            self.close()
            return None

    def images(self, index: int) -> list[dict[str, Any]] | None:
        """Resolved attribute dicts of the image XObjects in page `index`'s resources."""
        if self._failed or index < self._index:
            return None
        try:
            if self._pages is None:
                self._open()
            while self._index < index:
                self._page = next(self._pages)  # type: ignore[arg-type]
                self._index += 1
            from pdfminer.pdftypes import PDFStream, resolve1
            from pdfminer.psparser import literal_name

            xobjects = resolve1((self._page.resources or {}).get("XObject")) or {}
            if not isinstance(xobjects, dict) or len(xobjects) > self.max_xobjects:
                return None
            found = []
            for ref in xobjects.values():
                stream = resolve1(ref)
                if isinstance(stream, PDFStream) and literal_name(resolve1(stream.attrs.get("Subtype"))) == "Image":
                    attrs = {k: resolve1(v) for k, v in stream.attrs.items()}
                    # The declared /Length where there is one: on files over 2 GiB pdfminer's
                    # rawdata keeps the end-of-line byte before "endstream" (one byte too many).
                    declared = attrs.get("Length")
                    attrs[RAW_LENGTH] = declared if isinstance(declared, int) else len(stream.rawdata or b"")
                    found.append(attrs)
            return found
        except Exception:  # pdfminer raises many kinds on damaged files; rendering is the answer
            self._failed = True
            self.close()
            return None


def _names(value: Any) -> list[str]:
    from pdfminer.pdftypes import resolve1
    from pdfminer.psparser import literal_name

    value = resolve1(value)
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) else [value]
    return [literal_name(resolve1(v)) for v in items]


def _jpeg_components(attrs: dict[str, Any]) -> int | None:
    """1 or 3 for a gray or RGB colour space (device or ICC-based); None for anything else."""
    from pdfminer.pdftypes import resolve1

    cs = resolve1(attrs.get("ColorSpace"))
    if isinstance(cs, list):
        family = _names(cs[0]) if cs else []
        if family == ["ICCBased"] and len(cs) > 1:
            n = resolve1(getattr(resolve1(cs[1]), "attrs", {}).get("N"))
            return n if n in (1, 3) else None
        return None
    return {"DeviceGray": 1, "DeviceRGB": 3}.get(next(iter(_names(cs)), ""))


def _dictionary_says_render(attrs: dict[str, Any], jpeg: bool) -> str | None:
    """Why this image dictionary cannot be taken as it is, or None."""
    from pdfminer.pdftypes import resolve1

    if attrs.get("ImageMask") is True:
        return "stencil-mask image"
    if attrs.get("SMask") is not None or attrs.get("Mask") is not None:
        return "image with a mask (transparency)"
    decode = attrs.get("Decode")
    if decode is not None:
        values = [float(resolve1(v)) for v in decode]
        if values != [0.0, 1.0] * (len(values) // 2):
            return "image with a /Decode array"
    if jpeg:
        params = resolve1(attrs.get("DecodeParms"))
        params = [resolve1(p) for p in params] if isinstance(params, list) else [params]
        if any(isinstance(p, dict) and "ColorTransform" in p for p in params):
            return "JPEG with a /ColorTransform"
        if attrs.get("BitsPerComponent") != 8:
            return "JPEG that is not 8 bits per component"
        if _jpeg_components(attrs) is None:
            cs = resolve1(attrs.get("ColorSpace"))
            names = _names(cs[0] if isinstance(cs, list) and cs else cs)
            return f"JPEG in colour space {'/'.join(names) or 'unknown'}"
    return None


# -- the page rule ---------------------------------------------------------------------


def _covers(rect: tuple[float, float, float, float], box: tuple[float, float, float, float]) -> bool:
    left, bottom, right, top = rect
    bl, bb, br, bt = box
    tx, ty = COVER_TOLERANCE * (br - bl), COVER_TOLERANCE * (bt - bb)
    return abs(left - bl) <= tx and abs(right - br) <= tx and abs(bottom - bb) <= ty and abs(top - bt) <= ty


def _visible(obj: pdfium.PdfObject) -> bool:
    if obj.type == pdfium_c.FPDF_PAGEOBJ_TEXT:
        return pdfium_c.FPDFTextObj_GetTextRenderMode(obj) not in _INVISIBLE_TEXT
    if obj.type == pdfium_c.FPDF_PAGEOBJ_PATH:
        fill, stroke = ctypes.c_int(), ctypes.c_int()
        if not pdfium_c.FPDFPath_GetDrawMode(obj, fill, stroke):
            return True
        return bool(fill.value or stroke.value)
    return obj.type != pdfium_c.FPDF_PAGEOBJ_FORM  # a form's content is walked on its own


def _clip_covers(obj: pdfium.PdfObject, box: tuple[float, float, float, float]) -> bool:
    """No clip path, or only axis-aligned rectangles that contain the visible page."""
    clip = pdfium_c.FPDFPageObj_GetClipPath(obj)
    if not clip:
        return True
    count = pdfium_c.FPDFClipPath_CountPaths(clip)
    if count < 0:
        return True  # pdfium's answer for an object without a clip path
    x, y = ctypes.c_float(), ctypes.c_float()
    for i in range(count):
        points = []
        for j in range(pdfium_c.FPDFClipPath_CountPathSegments(clip, i)):
            segment = pdfium_c.FPDFClipPath_GetPathSegment(clip, i, j)
            if not segment or not pdfium_c.FPDFPathSegment_GetPoint(segment, x, y):
                return False
            points.append((x.value, y.value))
        if not points:
            return False
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        rect = (min(xs), min(ys), max(xs), max(ys))
        on_edges = all(
            (math.isclose(px, rect[0], abs_tol=0.5) or math.isclose(px, rect[2], abs_tol=0.5))
            and (math.isclose(py, rect[1], abs_tol=0.5) or math.isclose(py, rect[3], abs_tol=0.5))
            for px, py in points
        )
        bl, bb, br, bt = box
        contains = rect[0] <= bl + 1 and rect[1] <= bb + 1 and rect[2] >= br - 1 and rect[3] >= bt - 1
        if not (on_edges and contains):
            return False
    return True


def _annotations_shown(page: pdfium.PdfPage) -> bool:
    for i in range(max(0, pdfium_c.FPDFPage_GetAnnotCount(page))):
        annot = pdfium_c.FPDFPage_GetAnnot(page, i)
        if not annot:
            return True
        try:
            if pdfium_c.FPDFAnnot_GetSubtype(annot) not in _VISIBLE_ANNOTS_OK:
                return True
        finally:
            pdfium_c.FPDFPage_CloseAnnot(annot)
    return False


@dataclass(frozen=True)
class Choice:
    how: How
    reason: str
    image: Any = None  # the pdfium image object, unless rendering
    components: int | None = None  # colour components the JPEG must have (1 gray, 3 RGB)


def choose(
    page: pdfium.PdfPage, dictionaries: ImageDictionaries | None, index: int, max_pixels: int = MAX_PIXELS
) -> Choice:
    """Which way to get this page's picture, by the rule in the module docstring.

    Raises PageTooLarge for any image over `max_pixels`, before anything is decoded."""
    rotation = page.get_rotation()
    box = page.get_bbox()  # MediaBox ∩ CropBox: what a viewer shows
    image = None
    images = 0
    drawn_over = False
    for obj in page.get_objects():  # one pass, in painting order
        if obj.type == pdfium_c.FPDF_PAGEOBJ_IMAGE:
            w, h = obj.get_px_size()
            if w * h > max_pixels:
                raise PageTooLarge(
                    f"holds an image of {w} × {h} pixels ({w * h / 1e6:.0f} megapixels), more than the "
                    f"limit of {max_pixels / 1e6:.0f} megapixels"
                )
            images += 1
            image = image or obj
        elif image is not None and not drawn_over and _visible(obj):
            drawn_over = True  # only what is painted after the image can hide part of it
    if rotation:
        return Choice("render", f"page rotated by /Rotate {rotation}")
    if image is None:
        return Choice("render", "no image on the page (vector or text)")
    if images > 1:
        return Choice("render", "several images on the page (MRC or collage)")
    if drawn_over:
        return Choice("render", "text or drawing over the image")
    if image.level > 0:
        return Choice("render", "image inside a form XObject")
    a, b, c, d, _, _ = image.get_matrix().get()
    if a <= 0 or d <= 0 or abs(b) > 1e-3 * abs(a) or abs(c) > 1e-3 * abs(d):
        return Choice("render", "image rotated, skewed or mirrored on the page")
    if not _covers(image.get_bounds(), box):
        return Choice("render", "image does not cover the whole page (cropped or partial)")
    if not _clip_covers(image, box):
        return Choice("render", "image clipped")
    if _annotations_shown(page):
        return Choice("render", "annotations drawn on the page")
    px_w, px_h = image.get_px_size()
    (left, bottom, right, top) = box
    dpi_x, dpi_y = px_w * 72 / (right - left), px_h * 72 / (top - bottom)
    if abs(dpi_x - dpi_y) > 0.01 * max(dpi_x, dpi_y):
        return Choice("render", f"non-square pixels ({dpi_x:.0f} × {dpi_y:.0f} DPI)")
    complex_filters = [f for f in image.get_filters() if f not in _SIMPLE_FILTERS]
    if len(complex_filters) > 1:
        return Choice("render", f"image with several filters ({', '.join(complex_filters)})")
    jpeg = complex_filters == ["DCTDecode"]
    found = dictionaries.images(index) if dictionaries is not None else None
    if found is None:
        return Choice("render", "image dictionary unreadable")
    raw_length = pdfium_c.FPDFImageObj_GetImageDataRaw(image, None, 0)
    matching = [  # the same image for both parsers: size, filters and stream length agree
        attrs
        for attrs in found
        if attrs.get("Width") == px_w
        and attrs.get("Height") == px_h
        and attrs[RAW_LENGTH] == raw_length
        and [f for f in _names(attrs.get("Filter")) if f not in _SIMPLE_FILTERS] == complex_filters
    ]
    if len(matching) != 1:
        return Choice("render", "image dictionary ambiguous")
    refusal = _dictionary_says_render(matching[0], jpeg)
    if refusal:
        return Choice("render", refusal)
    if jpeg:
        return Choice("jpeg", "single full-page JPEG", image, _jpeg_components(matching[0]))
    kind = complex_filters[0] if complex_filters else "uncompressed/Flate"
    return Choice("image", f"single full-page {kind} image", image)


def _gray(bitmap: pdfium.PdfBitmap) -> np.ndarray:
    array = bitmap.to_numpy()
    mode = bitmap.mode
    if mode == "L":
        return array.copy()  # own the pixels: pdfium's buffer goes with the bitmap
    if mode in ("BGR", "RGB"):
        return cv2.cvtColor(array, cv2.COLOR_BGR2GRAY if mode == "BGR" else cv2.COLOR_RGB2GRAY)
    if mode in ("BGRA", "BGRX", "BGRa"):
        return cv2.cvtColor(np.ascontiguousarray(array), cv2.COLOR_BGRA2GRAY)
    if mode in ("RGBA", "RGBX", "RGBa"):
        return cv2.cvtColor(np.ascontiguousarray(array), cv2.COLOR_RGBA2GRAY)
    raise ValueError(f"unexpected pdfium bitmap mode {mode}")


def page_image(
    page: pdfium.PdfPage,
    dictionaries: ImageDictionaries | None,
    index: int,
    *,
    defer_render: bool = False,
    render_dpi: float = RENDER_DPI,
    max_pixels: int = MAX_PIXELS,
) -> PdfPageImage:
    """The picture of one page by the rule above. Raises PageTooLarge before any decoding.

    With `defer_render`, a page to render comes back as a one-page PDF (about 1 ms to cut
    out, pixel-identical when rendered), so that workers render in parallel and only
    compressed bytes travel to them."""
    choice = choose(page, dictionaries, index, max_pixels)
    how, reason = choice.how, choice.reason
    if how == "jpeg":
        data = bytes(choice.image.get_data(decode_simple=True))
        frame = jpeg_frame(data)
        px = choice.image.get_px_size()
        if (
            frame is None
            or not frame.opencv_decodes
            or (frame.width, frame.height) != px
            or frame.components != choice.components
        ):
            how, reason = "render", "embedded JPEG data unusual (header, bit depth, size or components)"
        elif not jpeg_is_complete(data):
            how, reason = "render", "embedded JPEG data cut off"
        else:
            return PdfPageImage("jpeg", reason, _image_dpi(page, px), jpeg=data)
    if how == "image":
        pixels = _gray(choice.image.get_bitmap(render=False))
        return PdfPageImage("image", reason, _image_dpi(page, (pixels.shape[1], pixels.shape[0])), pixels=pixels)
    _check_render_size(page, render_dpi, max_pixels)
    if defer_render:
        return PdfPageImage("render", reason, float(render_dpi), pdf=_single_page_pdf(page.pdf, index))
    pixels = _gray(page.render(scale=render_dpi / 72, grayscale=True))
    return PdfPageImage("render", reason, float(render_dpi), pixels=pixels)


def _check_render_size(page: pdfium.PdfPage, dpi: float, max_pixels: int) -> None:
    width, height = page.get_size()
    needed = math.ceil(width * dpi / 72) * math.ceil(height * dpi / 72)
    if needed > max_pixels:
        raise PageTooLarge(
            f"page of {width / 72 * 25.4:.0f} × {height / 72 * 25.4:.0f} mm needs {needed / 1e6:.0f} megapixels "
            f"at {dpi:.0f} DPI, more than the limit of {max_pixels / 1e6:.0f} megapixels"
        )


def _single_page_pdf(pdf: pdfium.PdfDocument, index: int) -> bytes:
    """Page `index` alone in a new PDF: pdfium copies the page with everything it uses
    (inherited /Rotate, boxes and resources, annotations), decrypted."""
    single = pdfium.PdfDocument.new()
    try:
        single.import_pages(pdf, [index])
        buffer = io.BytesIO()
        single.save(buffer)
        return buffer.getvalue()
    finally:
        single.close()


def render_single_page(data: bytes, dpi: float = RENDER_DPI, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Render the first page of a (one-page) PDF in grayscale, as a viewer shows it.

    Raises PageTooLarge before rendering, pypdfium2.PdfiumError for bytes that are no PDF."""
    pdf = pdfium.PdfDocument(data)
    try:
        page = pdf[0]
        try:
            _check_render_size(page, dpi, max_pixels)
            return _gray(page.render(scale=dpi / 72, grayscale=True))
        finally:
            page.close()
    finally:
        pdf.close()


def _image_dpi(page: pdfium.PdfPage, px: tuple[int, int]) -> float:
    left, _, right, _ = page.get_bbox()
    return round(px[0] * 72 / (right - left), 2)

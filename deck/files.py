"""Scan files as scanners and phones write them, for the simulator.

- `write_pdf`: a scanner PDF. Each page shows exactly one JPEG (DCTDecode) image XObject,
  embedded as its own bytes (no second compression), scaled to cover the whole page; the
  page size is the image size at the scan's DPI; no dates, so it is reproducible.
- `write_tiff`: multi-page TIFF; grey pages JPEG-compressed (TIFF compression 7), black/
  white pages 1-bit CCITT Group 4 (a scanner's B/W mode), resolution tags set.
- `write_png`, `write_jpeg`: one page each, the DPI in pHYs / JFIF; photos carry none
  (a phone does not know the paper's size).

Pages are encoded as soon as they are made (`encode_jpeg`, `TiffFrame`), so a worker
holds compressed pages only, never a tray of raw images.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

@dataclass(frozen=True)
class JpegPage:
    data: bytes
    width: int
    height: int
    components: int  # 1 gray, 3 colour


def encode_jpeg(image: np.ndarray, quality: int) -> JpegPage:
    """Baseline JPEG of a grayscale or BGR page."""
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return JpegPage(data.tobytes(), image.shape[1], image.shape[0], 3 if image.ndim == 3 else 1)


def write_pdf(path: Path, pages: Sequence[JpegPage], dpi: float) -> None:
    """One full-page JPEG per page, in the plain structure scanners write: page → content
    `q w 0 0 h 0 0 cm /Im0 Do Q` → image XObject with /Filter /DCTDecode and nothing else.

    Written here rather than by a library: Pillow re-encodes every page and keeps a whole
    tray decoded in memory; pdfium adds /DecodeParms /ColorTransform and a random /ID.
    No dates, so the same pages always give the same bytes."""
    n = len(pages)
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets: list[int] = []

    def obj(body: bytes, stream: bytes | None = None) -> None:
        offsets.append(len(out))
        out.extend(f"{len(offsets)} 0 obj\n".encode())
        out.extend(body)
        if stream is not None:
            out.extend(b"\nstream\n" + stream + b"\nendstream")
        out.extend(b"\nendobj\n")

    kids = " ".join(f"{3 + 3 * i} 0 R" for i in range(n))
    obj(b"<< /Type /Catalog /Pages 2 0 R >>")
    obj(f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode())
    for i, jpeg in enumerate(pages):
        w, h = jpeg.width / dpi * 72, jpeg.height / dpi * 72
        colour = "/DeviceRGB" if jpeg.components == 3 else "/DeviceGray"
        obj(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {w:.2f} {h:.2f}] /Resources << /XObject << /Im0 "
            f"{5 + 3 * i} 0 R >> /ProcSet [/PDF /ImageB /ImageC] >> /Contents {4 + 3 * i} 0 R >>".encode())
        content = f"q {w:.2f} 0 0 {h:.2f} 0 0 cm /Im0 Do Q".encode()
        obj(f"<< /Length {len(content)} >>".encode(), content)
        obj(f"<< /Type /XObject /Subtype /Image /Width {jpeg.width} /Height {jpeg.height} /ColorSpace {colour} "
            f"/BitsPerComponent 8 /Filter /DCTDecode /Length {len(jpeg.data)} >>".encode(), jpeg.data)
    xref = len(out)
    out.extend(f"xref\n0 {len(offsets) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.extend(f"{offset:010d} 00000 n \n".encode())
    out.extend(f"trailer\n<< /Size {len(offsets) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    path.write_bytes(bytes(out))


def to_pil(image: np.ndarray, bw: bool = False) -> Image.Image:
    """A uint8 grayscale or BGR array as a Pillow image (mode L, RGB, or 1 when `bw`)."""
    if image.ndim == 3:
        return Image.fromarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), "RGB")
    pil = Image.fromarray(image, "L")
    return pil.point(lambda v: 255 if v >= 128 else 0).convert("1", dither=Image.Dither.NONE) if bw else pil


@dataclass(frozen=True)
class TiffFrame:
    data: bytes  # a one-page TIFF


def encode_tiff_frame(image: np.ndarray, dpi: float, bw: bool, quality: int) -> TiffFrame:
    """A black/white page as 1-bit Group 4; any other as JPEG-in-TIFF (what production
    scanners write for grey: a lossless grey scan with paper noise is ~2.5 MB a page)."""
    buffer = io.BytesIO()
    extra = {"compression": "group4"} if bw else {"compression": "jpeg", "quality": int(quality)}
    to_pil(image, bw).save(buffer, "TIFF", dpi=(dpi, dpi), **extra)
    return TiffFrame(buffer.getvalue())


def write_tiff(path: Path, frames: Sequence[TiffFrame], dpi: float) -> None:
    """Multi-page TIFF of already compressed frames; each keeps its own compression."""
    images = [Image.open(io.BytesIO(f.data)) for f in frames]
    images[0].save(path, "TIFF", save_all=True, append_images=images[1:], dpi=(dpi, dpi))


def write_png(path: Path, page: np.ndarray, dpi: float, bw: bool = False) -> None:
    to_pil(page, bw=bw).save(path, "PNG", dpi=(dpi, dpi), compress_level=1)


def write_jpeg(path: Path, page: np.ndarray, quality: int, dpi: float | None = None) -> None:
    extra = {"dpi": (dpi, dpi)} if dpi else {}
    to_pil(page).save(path, "JPEG", quality=int(quality), **extra)

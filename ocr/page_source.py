"""Input files → a stream of pages, memory-flat however large the batch (DESIGN §6).

    files = discover([Path("tray-1"), Path("late.pdf")])     # sniffed by content, sorted
    for f in files:
        try:
            for page in iter_pages(f):                       # one page at a time
                if page.problem: …                           # this page is unreadable: say why
                else: pool.submit(read, page)                # PageInput pickles cheaply
        except InputProblem as e: …                          # the whole file is unreadable
    # in a worker:  image = load_page_image(page)           # 2-D uint8 grayscale

Kinds: PDF (see ocr.pdf_images for which pages pass their embedded image on and which are
rendered), multi-page TIFF, PNG, JPEG (phone photos turned upright by their EXIF
orientation). Anything else is an `InputFile` with a `problem` that names the file.

What travels to a worker is as light as the input allows: a JPEG's own bytes (scanner
PDFs, photos), a PNG's bytes, a page to render cut out as a one-page PDF, and decoded
pixels only where the parent had to decode anyway (TIFF pages, CCITT/JBIG2/Flate PDF
images, CMYK or transparent images). Memory stays flat: PDFs are read page by page and
reopened every 100 pages (pdfium keeps what it parsed until a document is closed), TIFF
pages one at a time, and nothing is kept after a page is yielded.

How a bad input surfaces, so that nothing is lost and nothing crashes the batch:
- a file that cannot be read at all (empty, text, corrupt, truncated or password-protected
  PDF, a print file of ours, an image over the pixel limit) → `InputFile.problem` from
  `discover`, or `InputProblem` raised by `iter_pages` before it yields anything;
- one bad page in a file that is otherwise fine (a damaged TIFF page, an oversized PDF
  page) → a `PageInput` with `problem` set, in its place among the good pages;
- bytes a worker cannot decode → `InputProblem` from `load_page_image`.
"""

from __future__ import annotations

import codecs
import hashlib
import itertools
import os
import re
import time
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from hybrid.errors import InvalidInput
from ocr.pdf_images import (
    MAX_PIXELS,
    RENDER_DPI,
    ImageDictionaries,
    PageTooLarge,
    jpeg_frame,
    jpeg_is_complete,
    page_image,
    render_single_page,
)

__all__ = [
    "MAX_PIXELS",
    "RENDER_DPI",
    "FileKind",
    "InputFile",
    "InputProblem",
    "PageInput",
    "discover",
    "iter_pages",
    "load_page_image",
    "sha256_file",
]

# Files of a hybrid workspace that are never scans: the definition, the store, our outputs.
WORKSPACE_MARKER = "process.yaml"
WORKSPACE_SKIP = {"process.yaml", "hybrid.db", "hybrid.db-wal", "hybrid.db-shm", "hybrid.db-journal", "scans", "out"}
OUR_SIDECARS = (".layout.json", ".manifest.json")
OS_LITTER = {"thumbs.db", "desktop.ini", "ehthumbs.db"}  # written into scan folders by Windows


class InputProblem(InvalidInput):
    """A file or page that cannot be read; the message names the file (and page)."""

    def __init__(self, message: str, *, path: Path | None = None, page: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.page = page


class FileKind(str, Enum):
    PDF = "pdf"
    TIFF = "tiff"
    PNG = "png"
    JPEG = "jpeg"


@dataclass(frozen=True)
class InputFile:
    """One file to read. `problem` is set (and `kind` None) when it cannot be read at all."""

    path: Path
    name: str  # as the user knows it: relative to the folder given, or the path given
    kind: FileKind | None
    size: int
    problem: str | None = None


@dataclass(frozen=True)
class PageInput:
    """One page on its way to a worker: small, frozen, picklable.

    Exactly one of `data` and `pixels` is set, unless `problem` says why the page cannot be
    read. `data` is encoded: "jpeg" or "png" for OpenCV to decode, or "pdf", the page cut
    out as a one-page PDF for pdfium to render at `dpi`; `pixels` ("gray") is 2-D uint8
    grayscale. `orientation` is the EXIF orientation (1–8) applied after decoding."""

    path: Path
    name: str
    sha256: str  # of the whole file
    page_no: int  # 1-based
    page_count: int | None  # None while unknown (a TIFF whose page chain is damaged)
    kind: Literal["jpeg", "png", "pdf", "gray"] | None
    data: bytes | None = field(default=None, repr=False)
    pixels: np.ndarray | None = field(default=None, repr=False, compare=False)
    dpi: float | None = None
    orientation: int = 1
    origin: str = ""  # how the page was obtained, e.g. "pdf jpeg", "pdf render: page rotated by /Rotate 90"
    problem: str | None = None

    @property
    def source(self) -> str:
        """The page's name in exports (DESIGN §8): scan:<sha256>#p<n>."""
        return f"scan:{self.sha256}#p{self.page_no}"

    def without_image(self) -> PageInput:
        """The same page without its bytes or pixels: for the trip back from a worker."""
        return replace(self, data=None, pixels=None)


# -- discovery -------------------------------------------------------------------------


def _natural_key(text: str) -> list[object]:
    return [int(part) if part.isdigit() else part.casefold() for part in re.split(r"(\d+)", text)]


def discover(paths: Iterable[Path]) -> list[InputFile]:
    """Every file to read, in order: arguments as given, folders walked recursively in
    natural order (scan2 before scan10), skipping hidden files and folders, a workspace's
    own files (process.yaml, hybrid.db, scans/, out/), layout/manifest sidecars and Windows
    thumbnails. Files are recognised by their content, not their name; one that is none of
    PDF, TIFF, PNG, JPEG — or a folder that cannot be listed — comes back with a `problem`.
    A file reached twice is listed once.

    Raises InputProblem for an argument that does not exist (a typo, before any work)."""
    found: list[InputFile] = []
    seen: set[Path] = set()
    for arg in paths:
        arg = Path(arg)
        if arg.is_dir():
            for path, problem in _walk(arg):
                name = path.relative_to(arg.parent).as_posix()
                if problem:
                    found.append(InputFile(path, name, None, 0, f"{name}: {problem}"))
                else:
                    _add(found, seen, path, name)
        elif arg.exists():
            _add(found, seen, arg, str(arg))
        else:
            raise InputProblem(f"{arg}: no such file or folder", path=arg)
    return found


def _walk(folder: Path) -> Iterator[tuple[Path, str | None]]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: _natural_key(e.name))
    except OSError as e:
        yield folder, f"folder cannot be read ({e.strerror or e})"
        return
    workspace = any(e.name == WORKSPACE_MARKER and e.is_file() for e in entries)
    for entry in entries:
        name = entry.name
        if name.startswith(".") or (workspace and name in WORKSPACE_SKIP):
            continue
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(Path(entry.path))
        elif entry.is_file():
            if name.casefold() in OS_LITTER or name.endswith(OUR_SIDECARS):
                continue
            yield Path(entry.path), None


def _add(found: list[InputFile], seen: set[Path], path: Path, name: str) -> None:
    key = path.resolve()
    if key in seen:
        return
    seen.add(key)
    found.append(sniff(path, name))


def sniff(path: Path, name: str | None = None) -> InputFile:
    """What a file is, by its first bytes."""
    name = name or path.name
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError as e:
        return InputFile(path, name, None, 0, f"{name}: cannot be read ({e.strerror or e})")
    if size == 0:
        return InputFile(path, name, None, 0, f"{name}: empty file (0 bytes)")
    kind, what = _kind_of(head)
    if kind is None:
        return InputFile(path, name, None, size, f"{name}: {what}")
    return InputFile(path, name, kind, size)


def _kind_of(head: bytes) -> tuple[FileKind | None, str]:
    if b"%PDF-" in head[:1024]:
        return FileKind.PDF, ""
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return FileKind.TIFF, ""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return FileKind.PNG, ""
    if head.startswith(b"\xff\xd8\xff"):
        return FileKind.JPEG, ""
    use = "use PDF, TIFF, PNG or JPEG"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif"):
        return None, (
            "a HEIC/HEIF/AVIF photo, which cannot be read: set the phone's camera to JPEG "
            "('Most Compatible') or export the photo as JPEG"
        )
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return None, f"a GIF image, which cannot be read: {use}"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return None, f"a WebP image, which cannot be read: {use}"
    if head[:2] == b"BM" and int.from_bytes(head[14:18], "little") in (12, 40, 52, 56, 64, 108, 124):
        return None, f"a BMP image, which cannot be read: {use}"
    if head.startswith((b"\x00\x00\x00\x0cjP  \r\n\x87\n", b"\xff\x4f\xff\x51")):
        return None, f"a JPEG 2000 image, which cannot be read: {use}"
    if head[:4] == b"PK\x03\x04":
        return None, "a ZIP archive or office document, not a scan: unpack it or export it as PDF first"
    if _looks_like_text(head):
        return None, "not an image (looks like text)"
    return None, f"not a PDF, TIFF, PNG or JPEG file (unknown content): {use}"


def _looks_like_text(head: bytes) -> bool:
    if head.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start < len(head) - 3:  # not just a character cut at the end of the sample
            text = head.decode("latin-1")
        else:
            text = head[: e.start].decode("utf-8")
    printable = sum(ch.isprintable() or ch in "\t\r\n\f" for ch in text)
    return printable >= 0.95 * len(text)


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """sha256 of a file, read in 1 MiB chunks (any size, flat memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


# -- pages -----------------------------------------------------------------------------


def iter_pages(input_file: InputFile, *, sha256: str | None = None) -> Iterator[PageInput]:
    """The pages of one file, one at a time, in order (page 1 first).

    Raises InputProblem before the first page when the file as a whole cannot be read;
    once pages flow, a bad page comes out as a PageInput with `problem` set. `sha256`
    may be passed when the caller already hashed the file."""
    f = input_file
    if f.problem or f.kind is None:
        raise InputProblem(f.problem or f"{f.name}: unknown kind of file", path=f.path)
    try:
        digest = sha256 or sha256_file(f.path)
        if f.kind is FileKind.PNG:
            return iter([_png_page(f, digest)])
        if f.kind is FileKind.JPEG:
            return iter([_jpeg_page(f, digest)])
    except OSError as e:
        raise InputProblem(f"{f.name}: cannot be read ({e.strerror or e})", path=f.path) from None
    return _first_page_guarded(_pdf_pages(f, digest) if f.kind is FileKind.PDF else _tiff_pages(f, digest), f)


def _first_page_guarded(pages: Iterator[PageInput], f: InputFile) -> Iterator[PageInput]:
    """An OSError before the first page (the file vanished, a disk error) is the file's problem."""
    try:
        first = next(pages)
    except StopIteration:
        return
    except OSError as e:
        raise InputProblem(f"{f.name}: cannot be read ({e.strerror or e})", path=f.path) from None
    yield first
    yield from pages


def _too_large(width: int, height: int) -> str | None:
    if width * height > MAX_PIXELS:
        return (
            f"{width} × {height} pixels ({width * height / 1e6:.0f} megapixels) is more than the limit of "
            f"{MAX_PIXELS / 1e6:.0f} megapixels: scan at 300–600 DPI"
        )
    return None


def _problem_page(f: InputFile, digest: str, page_no: int, count: int | None, message: str) -> PageInput:
    return PageInput(f.path, f.name, digest, page_no, count, None, problem=f"{f.name} page {page_no}: {message}")


# PDF


REOPEN_AFTER_PAGES = 100  # pdfium keeps every object it parsed until the document closes


def _open_pdf(f: InputFile):  # -> pypdfium2.PdfDocument
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    # the raw call tells "no pages" apart from "cannot open" (the helper class does not)
    raw = pdfium_c.FPDF_LoadDocument((str(f.path.resolve()) + "\x00").encode("utf-8", "surrogateescape"), None)
    if not raw:
        error = pdfium_c.FPDF_GetLastError()
        reason = {
            pdfium_c.FPDF_ERR_PASSWORD: "password-protected PDF: save it again without a password",
            pdfium_c.FPDF_ERR_SECURITY: "PDF encrypted in an unsupported way: save it again without encryption",
            pdfium_c.FPDF_ERR_FORMAT: "damaged PDF (pdfium cannot parse it)",
            pdfium_c.FPDF_ERR_FILE: "PDF that cannot be opened",
        }.get(error, f"unreadable PDF (pdfium error {error})")
        raise InputProblem(f"{f.name}: {reason}", path=f.path)
    if pdfium_c.FPDF_GetPageCount(raw) < 1:
        pdfium_c.FPDF_CloseDocument(raw)
        raise InputProblem(f"{f.name}: PDF without pages", path=f.path)
    return pdfium.PdfDocument(raw)


def _pdf_pages(f: InputFile, digest: str) -> Iterator[PageInput]:
    with open(f.path, "rb") as fh:  # a cut-off PDF lacks the %%EOF that ends every PDF
        fh.seek(max(0, f.size - 1024))
        if b"%%EOF" not in fh.read():
            raise InputProblem(
                f"{f.name}: truncated PDF (it does not end with %%EOF): copy or export it again", path=f.path
            )
    started = time.perf_counter()
    pdf = _open_pdf(f)
    open_seconds, opened_at, pages_open = time.perf_counter() - started, time.perf_counter(), 0
    dictionaries = ImageDictionaries(f.path)
    try:
        count = len(pdf)
        # pages to render go to the workers as one-page PDFs, unless layers could change how they look
        defer_render = dictionaries.optional_content() is False
        if _is_our_print_file(pdf):
            raise InputProblem(
                f"{f.name}: a ballot print file made by `hybrid print`, not a scan (it holds unused codes): "
                "print it, fill it in, then scan the paper",
                path=f.path,
            )
        for index in range(count):
            number = index + 1
            try:
                # Reopen now and then so memory stays flat, but spend at most ~10 % of the time on it.
                if pages_open >= REOPEN_AFTER_PAGES and time.perf_counter() - opened_at >= 10 * open_seconds:
                    pdf.close()
                    started = time.perf_counter()
                    pdf = _open_pdf(f)
                    open_seconds, opened_at, pages_open = time.perf_counter() - started, time.perf_counter(), 0
                    if len(pdf) != count:
                        raise InputProblem(f"{f.name} changed while it was being read", path=f.path)
                pages_open += 1
                page = pdf[index]
                try:
                    picture = page_image(page, dictionaries, index, defer_render=defer_render)
                finally:
                    page.close()
            except PageTooLarge as e:
                yield _problem_page(f, digest, number, count, str(e))
                continue
            except Exception as e:  # one damaged page must not stop the others
                yield _problem_page(f, digest, number, count, f"cannot be read ({type(e).__name__}: {e})")
                continue
            origin = f"pdf {picture.how}" + ("" if picture.how == "jpeg" else f": {picture.reason}")
            if picture.jpeg is not None:
                yield PageInput(
                    f.path, f.name, digest, number, count, "jpeg", data=picture.jpeg, dpi=picture.dpi, origin=origin
                )
            elif picture.pdf is not None:
                yield PageInput(
                    f.path, f.name, digest, number, count, "pdf", data=picture.pdf, dpi=picture.dpi, origin=origin
                )
            else:
                yield PageInput(
                    f.path, f.name, digest, number, count, "gray", pixels=picture.pixels, dpi=picture.dpi, origin=origin
                )
    finally:
        dictionaries.close()
        pdf.close()


def _is_our_print_file(pdf: object) -> bool:
    """`hybrid print` writes vector pages with /Creator (hybrid); a scan of them has images."""
    import pypdfium2.raw as pdfium_c

    if pdf.get_metadata_value("Creator") != "hybrid":  # type: ignore[attr-defined]
        return False
    page = pdf[0]  # type: ignore[index]
    try:
        return not any(True for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]))
    finally:
        page.close()


# TIFF, PNG, JPEG through Pillow (headers, EXIF, TIFF pages) and OpenCV (decoding in workers)


def _open_image(path: Path):  # -> PIL.Image.Image
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit applies
        return Image.open(path)


def _exif_orientation(img) -> int:
    try:
        value = int(img.getexif().get(0x0112, 1))
    except Exception:
        return 1
    return value if 1 <= value <= 8 else 1


def _dpi(img) -> float | None:
    dpi = img.info.get("dpi")
    try:
        x = float(dpi[0])
    except (TypeError, ValueError, IndexError):
        return None
    return round(x, 2) if x > 1 else None


def _pil_gray(img) -> np.ndarray:
    """Any Pillow mode → 2-D uint8 gray; transparency is laid over white paper."""
    from PIL import Image

    mode = img.mode
    if mode == "L":
        return np.array(img)
    if mode == "1":
        return np.array(img.convert("L"))
    if mode.startswith("I;16") or mode in ("I", "F"):
        array = np.array(img).astype(np.float64)
        top = 65535.0 if mode.startswith("I;16") else max(float(array.max()), 255.0)
        return np.clip(array * (255.0 / top), 0, 255).astype(np.uint8)
    if mode in ("LA", "RGBA", "PA", "La", "RGBa") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.array(Image.alpha_composite(paper, rgba).convert("L"))
    return np.array(img.convert("RGB").convert("L"))


def _square_pixels(pixels: np.ndarray, img) -> tuple[np.ndarray, float | None]:
    """Fax-style TIFFs (e.g. 204 × 98 DPI) are stretched to square pixels; returns the DPI."""
    dpi = img.info.get("dpi")
    try:
        x, y = float(dpi[0]), float(dpi[1])
    except (TypeError, ValueError, IndexError):
        return pixels, None
    if x <= 1 or y <= 1:
        return pixels, None
    if abs(x - y) > 0.01 * max(x, y):
        h, w = pixels.shape
        size = (w, round(h * x / y)) if x > y else (round(w * y / x), h)
        pixels = cv2.resize(pixels, size, interpolation=cv2.INTER_LINEAR)
    return pixels, round(max(x, y), 2)


def _tiff_pages(f: InputFile, digest: str) -> Iterator[PageInput]:
    from PIL import Image

    try:
        img = _open_image(f.path)
    except Image.DecompressionBombError as e:
        raise InputProblem(f"{f.name}: page 1 is too large ({e})", path=f.path) from None
    except Exception as e:
        raise InputProblem(f"{f.name}: damaged TIFF ({type(e).__name__}: {e})", path=f.path) from None
    with img:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                count: int | None = img.n_frames
        except Exception:
            count = None  # the chain of page directories is damaged: read until it breaks
        for index in itertools.count():
            if count is not None and index >= count:
                break
            number = index + 1
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    img.seek(index)
            except EOFError:
                if count is None:
                    break
                yield _problem_page(f, digest, number, count, "its page directory is missing")
                continue
            except Exception as e:
                yield _problem_page(f, digest, number, count, f"damaged page directory ({type(e).__name__}: {e})")
                if count is None:
                    break  # nothing after a broken link can be found
                continue
            too_large = _too_large(*img.size)
            if too_large:
                yield _problem_page(f, digest, number, count, too_large)
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    img.load()
                    pixels = _pil_gray(img)
                orientation = int(img.tag_v2.get(274, 1)) if hasattr(img, "tag_v2") else 1
                pixels, dpi = _square_pixels(pixels, img)
            except Exception as e:
                yield _problem_page(f, digest, number, count, f"cannot be decoded ({type(e).__name__}: {e})")
                continue
            yield PageInput(
                f.path,
                f.name,
                digest,
                number,
                count,
                "gray",
                pixels=pixels,
                dpi=dpi,
                orientation=orientation if 1 <= orientation <= 8 else 1,
                origin="tiff",
            )


def _png_page(f: InputFile, digest: str) -> PageInput:
    with open(f.path, "rb") as fh:
        head = fh.read(33)
    if len(head) < 33 or head[12:16] != b"IHDR":
        raise InputProblem(f"{f.name}: damaged PNG (no image header)", path=f.path)
    too_large = _too_large(int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big"))
    if too_large:
        raise InputProblem(f"{f.name}: {too_large}", path=f.path)
    try:
        with _open_image(f.path) as img:
            img.verify()  # every chunk's CRC, up to IEND: catches cut-off and corrupted files
        with _open_image(f.path) as img:
            orientation, dpi = _exif_orientation(img), _dpi(img)
            transparent = img.mode in ("LA", "RGBA", "PA") or "transparency" in img.info
            pixels = _pil_gray(img) if transparent else None
    except Exception as e:
        raise InputProblem(f"{f.name}: damaged PNG ({type(e).__name__}: {e})", path=f.path) from None
    if pixels is not None:
        return PageInput(
            f.path, f.name, digest, 1, 1, "gray", pixels=pixels, dpi=dpi, orientation=orientation, origin="png"
        )
    data = f.path.read_bytes()
    return PageInput(f.path, f.name, digest, 1, 1, "png", data=data, dpi=dpi, orientation=orientation, origin="png")


def _jpeg_page(f: InputFile, digest: str) -> PageInput:
    with open(f.path, "rb") as fh:
        frame = jpeg_frame(fh)
    if frame is None:
        raise InputProblem(f"{f.name}: damaged JPEG (no frame header)", path=f.path)
    too_large = _too_large(frame.width, frame.height)
    if too_large:
        raise InputProblem(f"{f.name}: {too_large}", path=f.path)
    data = f.path.read_bytes()
    if not jpeg_is_complete(data):
        raise InputProblem(
            f"{f.name}: truncated JPEG (it stops before its end marker): copy or export it again", path=f.path
        )
    try:
        with _open_image(f.path) as img:
            orientation, dpi = _exif_orientation(img), _dpi(img)
            if frame.opencv_decodes:
                return PageInput(
                    f.path, f.name, digest, 1, 1, "jpeg", data=data, dpi=dpi, orientation=orientation, origin="jpeg"
                )
            img.load()  # CMYK and other variants: Pillow knows Adobe's inverted CMYK
            pixels = _pil_gray(img)
    except Exception as e:
        raise InputProblem(f"{f.name}: JPEG that cannot be decoded ({type(e).__name__}: {e})", path=f.path) from None
    return PageInput(
        f.path, f.name, digest, 1, 1, "gray", pixels=pixels, dpi=dpi, orientation=orientation, origin="jpeg"
    )


# -- in a worker -----------------------------------------------------------------------

_ORIENT = {
    2: lambda a: cv2.flip(a, 1),
    3: lambda a: cv2.rotate(a, cv2.ROTATE_180),
    4: lambda a: cv2.flip(a, 0),
    5: lambda a: cv2.transpose(a),
    6: lambda a: cv2.rotate(a, cv2.ROTATE_90_CLOCKWISE),
    7: lambda a: cv2.rotate(cv2.transpose(a), cv2.ROTATE_180),
    8: lambda a: cv2.rotate(a, cv2.ROTATE_90_COUNTERCLOCKWISE),
}


def _encoded_size(kind: str, data: bytes) -> tuple[int, int] | None:
    if kind == "png":
        if len(data) < 24 or data[12:16] != b"IHDR":
            return None
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    frame = jpeg_frame(data)
    return (frame.width, frame.height) if frame else None


def _render(page: PageInput, where: str) -> np.ndarray:
    import pypdfium2 as pdfium

    try:
        return render_single_page(page.data, page.dpi or RENDER_DPI)  # type: ignore[arg-type]
    except PageTooLarge as e:
        raise InputProblem(f"{where}: {e}", path=page.path, page=page.page_no) from None
    except pdfium.PdfiumError as e:
        raise InputProblem(f"{where}: PDF page cannot be rendered ({e})", path=page.path, page=page.page_no) from None


def load_page_image(page: PageInput) -> np.ndarray:
    """The page as a 2-D uint8 grayscale image, upright as the file says (EXIF orientation).

    Pure: depends on the PageInput only (no file access). Checks the size in the header
    before decoding; raises InputProblem for a page with a problem or undecodable bytes."""
    where = f"{page.name} page {page.page_no}"
    if page.problem:
        raise InputProblem(page.problem, path=page.path, page=page.page_no)
    if page.kind == "gray" and page.pixels is not None:
        image = page.pixels
    elif page.kind == "pdf" and page.data is not None:
        image = _render(page, where)
    elif page.kind in ("jpeg", "png") and page.data is not None:
        size = _encoded_size(page.kind, page.data)
        if size is None:
            raise InputProblem(
                f"{where}: damaged {page.kind.upper()} data (no image header)", path=page.path, page=page.page_no
            )
        too_large = _too_large(*size)
        if too_large:
            raise InputProblem(f"{where}: {too_large}", path=page.path, page=page.page_no)
        buffer = np.frombuffer(page.data, dtype=np.uint8)
        image = cv2.imdecode(buffer, cv2.IMREAD_GRAYSCALE | cv2.IMREAD_IGNORE_ORIENTATION)
        if image is None:
            raise InputProblem(
                f"{where}: {page.kind.upper()} data cannot be decoded", path=page.path, page=page.page_no
            )
    else:
        raise InputProblem(f"{where}: no image data", path=page.path, page=page.page_no)
    if image.ndim != 2 or image.dtype != np.uint8:
        raise InputProblem(
            f"{where}: unexpected image format {image.dtype} {image.shape}", path=page.path, page=page.page_no
        )
    turn = _ORIENT.get(page.orientation)
    return np.ascontiguousarray(turn(image) if turn else image)

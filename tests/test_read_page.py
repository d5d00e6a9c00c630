"""Reading returned ballots back (DESIGN §5, §6): print → fill → scan → read.

Real ballots are printed through `forms.print_run` (poll in German, poll in English large
print, the two-page budget), rendered with pdfium at 150–300 DPI, filled in with OpenCV
pens (crosses, ticks, scribbles, corrections, pencil, circles around boxes), then
scanned badly on purpose: turned, skewed, scaled, noisy, JPEG'd, binarised, stained, and
photographed with a phone. `read_page` must say what a careful person would say — or
send the page to a person. Tesseract is the real program.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pypdfium2 as pdfium
import pytest
import zxingcpp

from forms.print_run import PrintRequest, run_print
from hybrid.layout import Box, Layout, Rect
from hybrid.qr_payload import QrPayload, decode
from hybrid.states import Reason
from hybrid.workspace import Workspace
from ocr.page_result import MarkState, PageKind, PageResult
from ocr.read_page import read_page

# Its module fixtures are built once: all of its tests run on one worker of `-n auto`.
pytestmark = pytest.mark.xdist_group("test_read_page")

EXAMPLES = Path(__file__).resolve().parent.parent / "hybrid" / "examples"
E, M, C, Q = MarkState.EMPTY, MarkState.MARKED, MarkState.CANCELLED, MarkState.MARGINAL


# -- printing and scanning ----------------------------------------------------------------


@dataclass
class Printed:
    """Printed ballots of three variants; pages rendered on demand (cached, returned as copies)."""

    pdfs: dict[str, Path]
    layout_of: dict[str, Layout]
    _cache: dict[tuple[str, int, int], np.ndarray] = field(default_factory=dict)

    @property
    def layouts(self) -> dict[str, Layout]:
        return {lay.layout_hash: lay for lay in self.layout_of.values()}

    def image(self, variant: str, index: int, dpi: int) -> np.ndarray:
        key = (variant, index, dpi)
        if key not in self._cache:
            doc = pdfium.PdfDocument(str(self.pdfs[variant]))
            try:
                img = doc[index].render(scale=dpi / 72, grayscale=True).to_numpy()
            finally:
                doc.close()
            self._cache[key] = np.ascontiguousarray(img[..., 0] if img.ndim == 3 else img)
        return self._cache[key].copy()

    def expected(self, variant: str, index: int) -> QrPayload:
        """The page's payload, read from its clean 300-DPI render by zxing alone."""
        found = zxingcpp.read_barcodes(self.image(variant, index, 300), formats=zxingcpp.BarcodeFormat.QRCode)
        assert len(found) == 1
        return decode(found[0].text)

    def boxes(self, variant: str, page: int) -> list[Box]:
        return list(self.layout_of[variant].pages[page - 1].boxes)


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> Printed:
    pdfs: dict[str, Path] = {}
    layout_of: dict[str, Layout] = {}
    config = tmp_path_factory.mktemp("read-config")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CONFIG_HOME", str(config))
        mp.delenv("HYBRID_SECRET", raising=False)
        for example, runs in (("poll", [("de", False, 2), ("en", True, 1)]), ("budget", [("de", False, 1)])):
            root = tmp_path_factory.mktemp(f"read-{example}")
            (root / "process.yaml").write_text((EXAMPLES / f"{example}.yaml").read_text(encoding="utf-8"),
                                               encoding="utf-8")
            ws = Workspace(root)
            store = ws.open_store(create=True)
            try:
                for lang, large, count in runs:
                    name = f"{example}-{lang}" + ("-large" if large else "")
                    result = run_print(store, ws.process, PrintRequest(count=count, lang=lang, large_print=large,
                                                                       output=root / f"{name}.pdf"), root, workers=1)
                    pdfs[name] = result.files[0].path
                    layout_of[name] = Layout.from_json(result.layout_path.read_text(encoding="utf-8"))
            finally:
                store.close()
    return Printed(pdfs, layout_of)


class Pen:
    """Draws on a rendered page in layout millimetres."""

    def __init__(self, image: np.ndarray, dpi: int) -> None:
        self.image, self.k = image, dpi / 25.4

    def _p(self, x: float, y: float) -> tuple[int, int]:
        return round(x * self.k * 16), round(y * self.k * 16)

    def line(self, x0: float, y0: float, x1: float, y1: float, width: float = 0.4, grey: int = 30) -> None:
        cv2.line(self.image, self._p(x0, y0), self._p(x1, y1), grey, max(1, round(width * self.k)), cv2.LINE_AA, 4)

    def path(self, points: list[tuple[float, float]], width: float = 0.4, grey: int = 30) -> None:
        for a, b in itertools.pairwise(points):
            self.line(*a, *b, width=width, grey=grey)

    def circle(self, x: float, y: float, r: float, width: float = 0.4, grey: int = 30) -> None:
        cv2.circle(self.image, self._p(x, y), round(r * self.k * 16), grey, max(1, round(width * self.k)),
                   cv2.LINE_AA, 4)

    def fill(self, x: float, y: float, w: float, h: float, grey: int = 40) -> None:
        cv2.rectangle(self.image, self._p(x, y), self._p(x + w, y + h), grey, -1, cv2.LINE_AA, 4)

    def paint(self, rect: Rect, grey: int = 0, pad: float = 2.0) -> None:
        self.fill(rect.x - pad, rect.y - pad, rect.w + 2 * pad, rect.h + 2 * pad, grey)

    # What voters do ------------------------------------------------------------------
    def cross(self, b: Box, width: float = 0.4, grey: int = 30) -> None:
        m = b.w * 0.15
        self.line(b.x + m, b.y + m, b.x + b.w - m, b.y + b.h - m, width, grey)
        self.line(b.x + m, b.y + b.h - m, b.x + b.w - m, b.y + m, width, grey)

    def tick(self, b: Box, width: float = 0.4, grey: int = 30) -> None:
        s = b.w / 6
        self.path([(b.x + 1.2 * s, b.y + 3.4 * s), (b.x + 2.5 * s, b.y + 4.9 * s), (b.x + 5.0 * s, b.y + 1.0 * s)],
                  width, grey)

    def scribble(self, b: Box, seed: int = 5) -> None:
        rng = np.random.default_rng(seed)
        self.path([(b.x + rng.uniform(1, b.w - 1), b.y + rng.uniform(1, b.h - 1)) for _ in range(12)])

    def correction(self, b: Box) -> None:
        self.fill(b.x + 0.45, b.y + 0.45, b.w - 0.9, b.h - 0.9)

    def circle_around(self, b: Box) -> None:
        self.circle(b.x + b.w / 2, b.y + b.h / 2, b.w * 0.71 + 1.5)

    def tick_beside(self, b: Box) -> None:
        x = b.x - 4.0
        self.path([(x + 0.2, b.y + 2.5), (x + 1.0, b.y + 4.0), (x + 2.8, b.y + 0.5)])


# Ways to scan a page badly. Each keeps the page whole (padding where it turns or grows).


def turned(img: np.ndarray, degrees: float, dpi: int) -> np.ndarray:
    pad = int(15 * dpi / 25.4)
    big = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=255)
    h, w = big.shape
    return cv2.warpAffine(big, cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0), (w, h), borderValue=255)


def scaled(img: np.ndarray, factor: float) -> np.ndarray:
    h, w = img.shape
    s = cv2.resize(img, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR)
    if factor < 1:
        out = np.full((h, w), 255, np.uint8)
        y0, x0 = (h - s.shape[0]) // 2, (w - s.shape[1]) // 2
        out[y0:y0 + s.shape[0], x0:x0 + s.shape[1]] = s
        return out
    y0, x0 = (s.shape[0] - h) // 2, (s.shape[1] - w) // 2
    return np.ascontiguousarray(s[y0:y0 + h, x0:x0 + w])


def noisy_jpeg(img: np.ndarray, sigma: float = 10.0, quality: int = 40, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noisy = np.clip(img.astype(np.float32) + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)
    return cv2.imdecode(cv2.imencode(".jpg", noisy, [cv2.IMWRITE_JPEG_QUALITY, quality])[1], cv2.IMREAD_GRAYSCALE)


def binarised(img: np.ndarray) -> np.ndarray:
    return cv2.threshold(img, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1]


def grey_scan(img: np.ndarray, paper: int = 210, black: int = 55) -> np.ndarray:
    return (black + img.astype(np.float32) / 255 * (paper - black)).astype(np.uint8)


def stained(img: np.ndarray, x: float, y: float, r: float, dpi: int, level: float) -> np.ndarray:
    k = dpi / 25.4
    yy, xx = np.mgrid[0:img.shape[0], 0:img.shape[1]].astype(np.float32)
    d = np.hypot(xx - x * k, yy - y * k) / (r * k)
    return (img * np.where(d < 1, level + (1 - level) * d ** 4, 1.0)).astype(np.uint8)


def photographed(img: np.ndarray, *, share: float = 0.72, tilt: float = 6.0, perspective: float = 0.1,
                 seed: int = 3) -> np.ndarray:
    """A phone photo: 12 MP colour JPEG, the page tilted with perspective on a dark desk,
    lit unevenly, slightly blurred and noisy."""
    rng = np.random.default_rng(seed)
    h, w = img.shape
    width, height = 3024, 4032
    ph = height * share
    pw = ph * w / h
    corners = np.float32([[-pw / 2, -ph / 2], [pw / 2, -ph / 2], [pw / 2, ph / 2], [-pw / 2, ph / 2]])
    a = math.radians(tilt)
    corners = corners @ np.float32([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
    corners[:2] *= 1 - perspective  # the top edge is farther from the lens
    corners += np.float32([width / 2 + 40, height / 2 - 30])
    m = cv2.getPerspectiveTransform(np.float32([[0, 0], [w, 0], [w, h], [0, h]]), corners)
    warped = cv2.warpPerspective(cv2.merge([img, img, img]), m, (width, height), borderValue=(45, 60, 80))
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    light = np.clip(1.1 - 0.9 * np.hypot((xx - width * 0.3) / width, (yy - height * 0.25) / height), 0.4, 1.0)
    f = warped.astype(np.float32) * light[..., None] * np.float32([0.88, 0.96, 1.04])
    f = cv2.GaussianBlur(f, (0, 0), 1.3) + rng.normal(0, 4, f.shape)
    jpeg = cv2.imencode(".jpg", np.clip(f, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 85])[1]
    return cv2.imdecode(jpeg, cv2.IMREAD_COLOR)


def slipped(img: np.ndarray, at_mm: float, factor: float, dpi: int) -> np.ndarray:
    """A sheet that slipped in the feeder: everything below `at_mm` is stretched by `factor`."""
    at = at_mm * dpi / 25.4
    ys = np.arange(img.shape[0], dtype=np.float32)
    src_y = np.where(ys > at, at + (ys - at) / factor, ys)
    map_y = np.repeat(src_y[:, None], img.shape[1], axis=1)
    map_x = np.repeat(np.arange(img.shape[1], dtype=np.float32)[None, :], img.shape[0], axis=0)
    return cv2.remap(img, map_x, map_y, cv2.INTER_LINEAR, borderValue=255)


def expect(count: int, **marked: MarkState) -> list[MarkState]:
    """Every box empty but the given ones (by 0-based index, e.g. `b3=M`)."""
    out = [E] * count
    for key, state in marked.items():
        out[int(key[1:])] = state
    return out


def states(result: PageResult) -> list[MarkState]:
    return [b.state for b in result.boxes]


def png(data: bytes | None) -> np.ndarray:
    assert data is not None and data[:8] == b"\x89PNG\r\n\x1a\n"
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)


# -- clean pages ---------------------------------------------------------------------------


@pytest.mark.parametrize("dpi", [150, 200, 300])
@pytest.mark.parametrize("variant,index", [("poll-de", 0), ("poll-de", 1), ("poll-de", 2), ("poll-en-large", 0),
                                           ("poll-en-large", 1), ("budget-de", 0), ("budget-de", 1)])
def test_an_untouched_ballot_page_is_identified_with_every_box_empty(printed: Printed, variant: str, index: int,
                                                                     dpi: int):
    result = read_page(printed.image(variant, index, dpi), printed.layouts)
    expected = printed.expected(variant, index)
    assert result.kind is PageKind.BALLOT
    assert result.payload == expected and result.layout_hash == expected.layout_hash
    assert not result.code_from_ocr
    page = printed.layout_of[variant].pages[expected.page - 1]
    assert [(b.question, b.option, b.number) for b in result.boxes] == [(b.question, b.option, b.number)
                                                                        for b in page.boxes]
    assert set(states(result)) <= {E}
    assert all(b.fill < 0.01 and b.ring_ink < 0.005 for b in result.boxes)
    assert result.reasons == () and result.message is None
    assert result.geometry is not None and not result.geometry.doubtful
    assert result.geometry.reprojection_error_mm < 0.3
    assert abs(result.geometry.scale - 1.0) < 0.01 and abs(result.geometry.skew_degrees) < 0.2
    assert result.review_crop_png is None and result.comment_crop_png is None and result.comment_ink == 0.0
    assert result.mark_signature == ""


@pytest.mark.parametrize("variant", ["poll-en-large", "budget-de"])
def test_a_back_side_is_recognised_by_its_qr(printed: Printed, variant: str):
    backs = [p.page - 1 for p in printed.layout_of[variant].pages if p.kind == "back"]
    assert backs
    for index in backs:
        result = read_page(printed.image(variant, index, 200), printed.layouts)
        assert result.kind is PageKind.BACK
        assert result.payload == printed.expected(variant, index) and result.payload.code is None
        assert result.boxes == ()


def test_the_same_pixels_always_give_the_same_reading_and_stay_untouched(printed: Printed):
    img = printed.image("poll-de", 0, 200)
    Pen(img, 200).cross(printed.boxes("poll-de", 1)[2])
    before = img.copy()
    first, second = read_page(img, printed.layouts), read_page(img, printed.layouts)
    assert first == second
    assert np.array_equal(img, before)


# -- marks ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dpi", [150, 200, 300])
def test_crosses_ticks_scribbles_count_a_filled_box_cancels_and_faint_pencil_goes_to_a_person(printed: Printed,
                                                                                             dpi: int):
    img = printed.image("poll-de", 0, dpi)
    boxes = printed.boxes("poll-de", 1)
    pen = Pen(img, dpi)
    pen.cross(boxes[0])
    pen.tick(boxes[4])
    pen.scribble(boxes[5])
    pen.correction(boxes[6])
    pen.cross(boxes[9], width=0.35, grey=185)  # faint pencil
    pen.cross(boxes[10], width=0.3, grey=110)  # blue ballpoint, thin
    result = read_page(img, printed.layouts)
    assert states(result) == expect(len(boxes), b0=M, b4=M, b5=M, b6=C, b9=Q, b10=M)
    assert result.reasons == (Reason.MARGINAL_MARK,)
    assert result.mark_signature == "1:M,5:M,6:M,7:C,11:M"
    fills = {b.number: b.fill for b in result.boxes}
    assert fills[7] > 0.9 and 0.06 < fills[5] < 0.5 and fills[2] == 0.0
    crop = png(result.review_crop_png)
    assert crop.ndim == 2 and 700 < crop.shape[1] < 800  # ~100 DPI of the 190 mm wide box region
    cut = result.review_crop_region  # where it was cut, in page mm, travels with the crop
    assert cut.px_per_mm == 4.0 and cut.region_mm[0] == 10.0 and cut.region_mm[2] == 190.0
    assert crop.shape == (round(cut.region_mm[3] * 4.0), round(cut.region_mm[2] * 4.0))


def test_a_circle_around_a_box_or_a_tick_beside_it_goes_to_a_person_and_a_stray_mark_does_not(printed: Printed):
    boxes = printed.boxes("poll-de", 1)
    circled = printed.image("poll-de", 0, 200)
    Pen(circled, 200).circle_around(boxes[1])
    result = read_page(circled, printed.layouts)
    assert set(states(result)) == {E}
    assert result.reasons == (Reason.MARK_OUTSIDE_BOX,)
    assert result.boxes[1].ring_ink > 0.02
    assert "2" in (result.message or "")
    assert png(result.review_crop_png).size > 0

    ticked = printed.image("poll-de", 0, 200)
    Pen(ticked, 200).tick_beside(boxes[7])
    result = read_page(ticked, printed.layouts)
    assert set(states(result)) == {E} and result.reasons == (Reason.MARK_OUTSIDE_BOX,)

    stray = printed.image("poll-de", 0, 200)
    pen = Pen(stray, 200)
    pen.cross(boxes[3])
    pen.path([(120.0, 240.0), (150.0, 255.0), (135.0, 262.0)], width=0.6)  # a doodle in the empty lower page
    pen.line(150.0, 120.0, 175.0, 121.0)  # underlining option text
    result = read_page(stray, printed.layouts)
    assert states(result) == expect(len(boxes), b3=M)
    assert result.reasons == () and result.review_crop_png is None


def test_a_cross_that_overshoots_its_box_is_still_only_that_box(printed: Printed):
    img = printed.image("poll-de", 0, 200)
    b = printed.boxes("poll-de", 1)[5]
    pen = Pen(img, 200)
    pen.line(b.x - 1.2, b.y - 1.2, b.x + b.w + 1.2, b.y + b.h + 1.2, 0.5)
    pen.line(b.x - 1.2, b.y + b.h + 1.2, b.x + b.w + 1.2, b.y - 1.2, 0.5)
    result = read_page(img, printed.layouts)
    assert states(result) == expect(len(printed.boxes("poll-de", 1)), b5=M)
    assert result.reasons == ()


# -- bad scans and photos ------------------------------------------------------------------


def filled_states(printed: Printed) -> list[MarkState]:
    return expect(len(printed.boxes("poll-de", 1)), b0=M, b4=M, b5=M, b6=C, b9=M)


def _filled(printed: Printed, dpi: int) -> np.ndarray:
    img = printed.image("poll-de", 0, dpi)
    boxes = printed.boxes("poll-de", 1)
    pen = Pen(img, dpi)
    pen.cross(boxes[0])
    pen.tick(boxes[4])
    pen.scribble(boxes[5])
    pen.correction(boxes[6])
    pen.cross(boxes[9], width=0.5)
    return img



SCANS = {
    "upside down": lambda img, dpi: np.ascontiguousarray(np.rot90(img, 2)),
    "turned 90°": lambda img, dpi: np.ascontiguousarray(np.rot90(img, 1)),
    "skewed +3°": lambda img, dpi: turned(img, 3.0, dpi),
    "skewed -3°": lambda img, dpi: turned(img, -3.0, dpi),
    "skewed 5° at 95 %": lambda img, dpi: scaled(turned(img, 5.0, dpi), 0.95),
    "printed at 97 %": lambda img, dpi: scaled(img, 0.97),
    "printed at 103 %": lambda img, dpi: scaled(img, 1.03),
    "noise and JPEG q=40": lambda img, dpi: noisy_jpeg(img),
    "binarised": lambda img, dpi: binarised(noisy_jpeg(img, 6, 70)),
    "grey scanner": lambda img, dpi: grey_scan(img),
    "coffee stain": lambda img, dpi: stained(img, 30.0, 160.0, 14.0, dpi, 0.72),
    "blurred": lambda img, dpi: cv2.GaussianBlur(img, (0, 0), 1.4),
}


@pytest.mark.parametrize("how", list(SCANS))
def test_a_badly_scanned_page_reads_the_same(printed: Printed, how: str):
    dpi = 200
    result = read_page(SCANS[how](_filled(printed, dpi), dpi), printed.layouts)
    assert result.kind is PageKind.BALLOT
    assert result.payload == printed.expected("poll-de", 0)
    assert states(result) == filled_states(printed)
    assert result.reasons == ()
    geometry = result.geometry
    assert geometry is not None and not geometry.doubtful and geometry.reprojection_error_mm < 0.5
    assert geometry.rotated_180 == (how == "upside down")


def drum_streaks(img: np.ndarray, xs_mm: list[float], dpi: int, grey: int, width_px: int) -> np.ndarray:
    """A dirty scanner drum: dark vertical lines down the whole image at the given columns."""
    out = img.copy()
    for x in xs_mm:
        x0 = round(x * dpi / 25.4)
        out[:, x0:x0 + width_px] = np.minimum(out[:, x0:x0 + width_px], grey)
    return out


@pytest.mark.parametrize("dpi, grey, width_px, bw", [(150, 40, 2, True), (150, 110, 1, False), (200, 0, 3, True),
                                                      (300, 60, 3, False)])
def test_dirty_drum_streaks_through_every_box_column_are_not_marks(printed: Printed, dpi, grey, width_px, bw):
    page = printed.layout_of["poll-de"].pages[0]
    # Through the middle and the left edge of every box column, the QR and the printed code.
    xs = sorted({b.x + b.w / 2 for b in page.boxes} | {b.x for b in page.boxes} | {page.qr.x + 5.0,
                                                                                   page.code_text.x + 10.0})
    img = drum_streaks(turned(_filled(printed, dpi), 2.0, dpi), xs, dpi, grey, width_px)
    img = noisy_jpeg(img, 5.0, 60)
    result = read_page(binarised(img) if bw else img, printed.layouts)
    assert result.kind is PageKind.BALLOT and result.payload == printed.expected("poll-de", 0)
    assert not result.code_from_ocr
    assert states(result) == filled_states(printed)
    assert result.reasons == ()


def turned_point(x_mm: float, y_mm: float, degrees: float, dpi: int, shape: tuple[int, int]) -> tuple[float, float]:
    """Where `turned` puts a page point (mm) in its image (pixels)."""
    pad = int(15 * dpi / 25.4)
    h, w = shape[0] + 2 * pad, shape[1] + 2 * pad
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    x, y = x_mm * dpi / 25.4 + pad, y_mm * dpi / 25.4 + pad
    return float(m[0, 0] * x + m[0, 1] * y + m[0, 2]), float(m[1, 0] * x + m[1, 1] * y + m[1, 2])


STREAKS_ALONG_BOXES = {  # box index → (side, mm inside the box); the streaks of one case lie far apart
    "along the left side of a marked box": {9: ("left", 0.0)},
    "along the right side of an empty box": {7: ("right", 0.0)},
    "just inside an empty box": {2: ("left", 0.45)},
    "both, on one sheet": {7: ("right", 0.0), 2: ("left", 0.45)},
}
# (Two streaks a box's width apart take both sides of a box: it is not found and goes to a
# person. That is right, and not what this test is about.)


@pytest.mark.parametrize("case, dpi, bw", [("along the left side of a marked box", 150, True),
                                           ("along the right side of an empty box", 200, False),
                                           ("just inside an empty box", 300, True),
                                           ("both, on one sheet", 150, False)])
def test_a_streak_along_a_box_side_or_just_inside_it_leaves_the_box_found_and_its_mark_read(printed: Printed, case,
                                                                                             dpi, bw):
    # A skewed sheet under a dirty drum: a straight streak runs along one printed side of a
    # box (and is painted out with it), or just inside it (a grey smear there would look like
    # pencil).
    boxes = printed.boxes("poll-de", 1)
    clean = _filled(printed, dpi)
    degrees = 3.0
    img = turned(clean, degrees, dpi)
    for index, (side, inside) in STREAKS_ALONG_BOXES[case].items():
        b = boxes[index]
        x, _ = turned_point(b.x + inside if side == "left" else b.x + b.w - 0.3, b.y + b.h / 2, degrees, dpi,
                            clean.shape)
        img[:, round(x):round(x) + 2] = 0
    img = noisy_jpeg(img, 5.0, 60)
    result = read_page(binarised(img) if bw else img, printed.layouts)
    assert result.kind is PageKind.BALLOT and result.payload == printed.expected("poll-de", 0)
    assert states(result) == filled_states(printed)
    assert result.reasons == (), result.message


@pytest.mark.parametrize("degrees, index, step, grey, bw", [(-1.93, 2, 3, 97, True), (-1.93, 2, 2, 0, False),
                                                            (1.0, 7, 4, 0, False)])
def test_two_streaks_a_few_columns_apart_beside_a_box_column_paint_no_mark_into_its_boxes(printed: Printed, degrees,
                                                                                         index, step, grey, bw):
    # Two streaks 4 px apart, the first `step` px right of a box's left line on a skewed
    # sheet: each is painted from the column 3 px beside it, which for the first lies on the
    # other streak and, a few boxes along, on a box's left line. Painted as one, from beyond
    # both, no dark bar appears inside those boxes.
    dpi = 150
    boxes = printed.boxes("poll-de", 1)
    clean = _filled(printed, dpi)
    img = turned(clean, degrees, dpi)
    b = boxes[index]
    x, _ = turned_point(b.x, b.y + b.h / 2, degrees, dpi, clean.shape)
    for x0 in (round(x) + step, round(x) + step + 4):
        img[:, x0:x0 + 2] = np.minimum(img[:, x0:x0 + 2], grey)
    img = noisy_jpeg(img, 5.0, 60)
    result = read_page(binarised(img) if bw else img, printed.layouts)
    assert result.kind is PageKind.BALLOT and result.payload == printed.expected("poll-de", 0)
    assert states(result) == filled_states(printed)
    assert result.reasons == (), result.message


@pytest.mark.parametrize("dpi, grey", [(150, 110), (200, 80), (300, 130)])
def test_a_pen_stroke_under_a_grey_streak_is_read_as_ink_seen_through_it(printed: Printed, dpi, grey):
    # A voter's single upright stroke in a box, and a grey drum streak right over it: the pen
    # is darker than the streak, so it shows through (a person sees it), and it is a mark.
    boxes = printed.boxes("poll-de", 1)
    img = printed.image("poll-de", 0, dpi)
    b = boxes[3]
    Pen(img, dpi).line(b.x + b.w / 2, b.y + 1.2, b.x + b.w / 2, b.y + b.h - 1.2, width=0.4)
    x0 = round((b.x + b.w / 2) * dpi / 25.4) - 1
    img[:, x0:x0 + 3] = np.minimum(img[:, x0:x0 + 3], grey)
    result = read_page(noisy_jpeg(img, 4.0, 70), printed.layouts)
    assert result.kind is PageKind.BALLOT
    assert states(result) == expect(len(boxes), b3=M)
    assert result.reasons == (), result.message


def speckled_black_and_white(img: np.ndarray, dpi: int, threshold: int, seed: int = 3) -> np.ndarray:
    """A soft 150-DPI scan thresholded by the scanner, with salt-and-pepper from its noise."""
    soft = cv2.GaussianBlur(img, (0, 0), 0.2 * dpi / 25.4)
    bw = np.where(soft > threshold, 255, 0).astype(np.uint8)
    speck = np.random.default_rng(seed).random(bw.shape)
    bw[speck < 0.02] = 0
    bw[speck > 0.97] = 255
    return bw


@pytest.mark.parametrize("threshold", [60, 200])
def test_a_speckled_black_and_white_low_resolution_scan_still_gives_its_qr(printed: Printed, threshold: int):
    dpi = 150
    img = speckled_black_and_white(turned(_filled(printed, dpi), 1.5, dpi), dpi, threshold)
    result = read_page(img, printed.layouts, ocr=False)
    assert result.kind is PageKind.BALLOT and not result.code_from_ocr
    assert result.payload == printed.expected("poll-de", 0)


def test_scale_and_skew_are_measured(printed: Printed):
    img = _filled(printed, 200)
    assert read_page(scaled(img, 0.97), printed.layouts).geometry.scale == pytest.approx(0.97, abs=0.005)
    assert read_page(scaled(img, 1.03), printed.layouts).geometry.scale == pytest.approx(1.03, abs=0.005)
    assert read_page(turned(img, 3.0, 200), printed.layouts).geometry.skew_degrees == pytest.approx(-3.0, abs=0.1)


@pytest.mark.parametrize("how", ["tilted", "upside down, dim", "small in the frame"])
def test_a_phone_photo_is_read_like_a_scan(printed: Printed, how: str):
    img = _filled(printed, 200)
    if how == "tilted":
        photo = photographed(img)
    elif how == "upside down, dim":
        photo = photographed(np.ascontiguousarray(np.rot90(img, 2)), tilt=-4.0, seed=4)
        photo = (photo * 0.7).astype(np.uint8)
    else:
        photo = photographed(img, share=0.45, tilt=-14.0, perspective=0.18, seed=5)
    assert photo.ndim == 3
    result = read_page(photo, printed.layouts)
    assert result.kind is PageKind.BALLOT and result.payload == printed.expected("poll-de", 0)
    assert states(result) == filled_states(printed)
    assert result.reasons == ()
    assert not result.geometry.doubtful and result.geometry.rotated_180 == (how == "upside down, dim")


def test_a_sheet_that_slipped_in_the_feeder_is_doubted_but_its_boxes_are_still_found(printed: Printed):
    result = read_page(slipped(_filled(printed, 200), 150.0, 1.05, 200), printed.layouts)
    assert result.payload == printed.expected("poll-de", 0)
    assert Reason.DOUBTFUL_GEOMETRY in result.reasons and result.geometry.doubtful
    assert result.geometry.reprojection_error_mm > 1.0
    assert states(result) == filled_states(printed)  # each box followed from its neighbours, none misread
    assert result.review_crop_png is not None


def test_faint_pencil_on_a_noisy_low_resolution_scan_goes_to_a_person_and_noise_alone_does_not(printed: Printed):
    dpi = 150
    boxes = printed.boxes("poll-de", 1)
    img = printed.image("poll-de", 0, dpi)
    Pen(img, dpi).cross(boxes[2], width=0.35, grey=190)
    scan = cv2.GaussianBlur(grey_scan(img, paper=228, black=40), (0, 0), 0.8)
    result = read_page(noisy_jpeg(scan, sigma=7.0, quality=32), printed.layouts)
    expected = [E] * len(boxes)
    expected[2] = Q
    assert states(result) == expected and result.reasons == (Reason.MARGINAL_MARK,)
    empty = noisy_jpeg(cv2.GaussianBlur(grey_scan(printed.image("poll-de", 0, dpi), 228, 40), (0, 0), 0.8), 7.0, 32)
    result = read_page(empty, printed.layouts)
    assert set(states(result)) == {E} and result.reasons == ()


def test_a_tiny_faint_pencil_cross_that_the_pages_empty_boxes_do_not_show_goes_to_a_person(printed: Printed):
    dpi = 200
    boxes = printed.boxes("poll-de", 1)
    img = printed.image("poll-de", 0, dpi)
    b = boxes[1]
    pen = Pen(img, dpi)  # a 1.6 mm pencil cross in the box's upper left, too short to pass as strokes
    pen.line(b.x + 1.2, b.y + 1.2, b.x + 2.8, b.y + 2.8, width=0.3, grey=180)
    pen.line(b.x + 1.2, b.y + 2.8, b.x + 2.8, b.y + 1.2, width=0.3, grey=180)
    scan = cv2.GaussianBlur(grey_scan(img, paper=233, black=46), (0, 0), 0.7)
    result = read_page(noisy_jpeg(scan, sigma=3.0, quality=60), printed.layouts)
    expected = [E] * len(boxes)
    expected[1] = Q
    assert states(result) == expected and result.reasons == (Reason.MARGINAL_MARK,)


def test_a_covered_corner_mark_still_identifies_the_sheet_but_a_person_checks_the_marks(printed: Printed):
    img = _filled(printed, 200)
    pen = Pen(img, 200)
    pen.fill(6.0, 6.0, 20.0, 20.0, grey=20)  # a black sticker over the top-left corner mark
    result = read_page(img, printed.layouts)
    assert result.kind is PageKind.BALLOT and result.payload == printed.expected("poll-de", 0)
    assert Reason.DOUBTFUL_GEOMETRY in result.reasons
    assert result.geometry.doubtful
    assert result.review_crop_png is not None


# -- when the QR fails -----------------------------------------------------------------------


@pytest.mark.parametrize("upside_down", [False, True])
def test_without_the_qr_tesseract_reads_the_printed_code_and_a_person_confirms(printed: Printed, upside_down: bool):
    img = _filled(printed, 200)
    layout = printed.layout_of["poll-de"]
    Pen(img, 200).paint(layout.pages[0].qr, grey=10)  # the QR is inked over
    if upside_down:
        img = np.ascontiguousarray(np.rot90(img, 2))
    result = read_page(img, printed.layouts)
    expected = printed.expected("poll-de", 0)
    assert result.kind is PageKind.BALLOT
    assert result.code_from_ocr
    assert result.payload == expected
    assert Reason.CODE_FROM_OCR in result.reasons
    assert expected.code in (result.ocr_text or "").replace(" ", "")
    assert states(result) == filled_states(printed)
    assert result.review_crop_png is not None


def test_the_second_page_of_a_budget_is_told_from_the_first_without_its_qr(printed: Printed):
    img = printed.image("budget-de", 1, 200)
    Pen(img, 200).paint(printed.layout_of["budget-de"].pages[1].qr, grey=255)  # torn off
    result = read_page(img, printed.layouts)
    assert result.code_from_ocr and result.payload == printed.expected("budget-de", 1)
    assert result.payload.page == 2 and len(result.boxes) == len(printed.boxes("budget-de", 2)) >= 18
    assert Reason.DOUBTFUL_GEOMETRY not in result.reasons


def test_without_qr_and_code_the_page_is_unreadable(printed: Printed):
    img = printed.image("poll-de", 2, 200)
    page = printed.layout_of["poll-de"].pages[0]
    pen = Pen(img, 200)
    pen.paint(page.qr, grey=10)
    pen.paint(page.code_text, grey=10, pad=1.0)
    result = read_page(img, printed.layouts)
    assert result.kind is PageKind.UNREADABLE
    assert result.payload is None and result.boxes == () and not result.code_from_ocr
    assert result.geometry is not None and "code" in (result.message or "")


def test_without_ocr_a_page_without_qr_is_unreadable_at_once(printed: Printed):
    img = printed.image("poll-de", 0, 200)
    Pen(img, 200).paint(printed.layout_of["poll-de"].pages[0].qr, grey=10)
    result = read_page(img, printed.layouts, ocr=False)
    assert result.kind is PageKind.UNREADABLE and result.ocr_text is None


# -- not our ballots -------------------------------------------------------------------------


def test_blank_sheets_are_blank(printed: Printed):
    white = np.full((2339, 1654), 255, np.uint8)
    assert read_page(white, printed.layouts).kind is PageKind.BLANK
    assert read_page(noisy_jpeg(np.full_like(white, 245), 6, 50), printed.layouts).kind is PageKind.BLANK
    assert read_page(grey_scan(white), printed.layouts).kind is PageKind.BLANK
    assert read_page(photographed(white), printed.layouts).kind is PageKind.BLANK  # a white sheet on a desk


def test_a_page_of_text_is_foreign():
    rng = np.random.default_rng(0)
    page = np.full((2339, 1654), 255, np.uint8)
    for line in range(40):
        text = "".join(chr(int(c)) for c in rng.integers(97, 123, 42))
        cv2.putText(page, text, (110, 160 + line * 52), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 0, 2, cv2.LINE_AA)
    cv2.rectangle(page, (1200, 150), (1450, 400), 0, 3)  # a letterhead logo frame
    result = read_page(page, {})
    assert result.kind is PageKind.FOREIGN and result.payload is None
    assert read_page(photographed(page), {}).kind is PageKind.FOREIGN


def test_a_foreign_qr_is_not_trusted(printed: Printed):
    page = np.full((2339, 1654), 255, np.uint8)
    symbol = zxingcpp.create_barcode("https://example.org/not-a-ballot", zxingcpp.BarcodeFormat.QRCode)
    qr = cv2.resize(np.asarray(symbol.to_image(scale=8)), (400, 400), interpolation=cv2.INTER_NEAREST)
    page[200:600, 1100:1500] = qr
    cv2.putText(page, "Invoice 2027-113", (120, 300), cv2.FONT_HERSHEY_SIMPLEX, 2.0, 0, 4)
    result = read_page(page, printed.layouts)
    assert result.kind is PageKind.FOREIGN and result.payload is None


def test_a_ballot_of_an_unknown_layout_is_named_but_not_read(printed: Printed):
    others = {h: lay for h, lay in printed.layouts.items() if lay.layout_id != printed.layout_of["poll-de"].layout_id}
    result = read_page(_filled(printed, 200), others)
    assert result.kind is PageKind.BALLOT
    assert result.payload == printed.expected("poll-de", 0)
    assert result.layout_hash == printed.layout_of["poll-de"].layout_hash
    assert result.boxes == () and result.message == "unknown layout"


# -- large print, budget, comments ---------------------------------------------------------


def test_large_print_boxes(printed: Printed):
    dpi = 150
    img = printed.image("poll-en-large", 1, dpi)
    boxes = printed.boxes("poll-en-large", 2)
    assert boxes[0].w == 9.0 and len(boxes) >= 6
    pen = Pen(img, dpi)
    pen.cross(boxes[1], width=0.5)
    pen.correction(boxes[2])
    pen.tick(boxes[3], width=0.5)
    pen.circle_around(boxes[5])
    result = read_page(img, printed.layouts)
    expected = [E] * len(boxes)
    expected[1:4] = [M, C, M]
    assert states(result) == expected
    assert result.reasons == (Reason.MARK_OUTSIDE_BOX,)
    assert result.mark_signature == f"{boxes[1].number}:M,{boxes[2].number}:C,{boxes[3].number}:M"


def test_both_budget_pages_and_a_handwritten_comment(printed: Printed):
    dpi = 200
    layout = printed.layout_of["budget-de"]
    [comment_page] = [p.page for p in layout.pages if p.comment is not None]
    first, second = printed.image("budget-de", 0, dpi), printed.image("budget-de", 1, dpi)
    third = printed.image("budget-de", comment_page - 1, dpi)
    page1, page2 = printed.boxes("budget-de", 1), printed.boxes("budget-de", 2)
    pen1, pen2 = Pen(first, dpi), Pen(second, dpi)
    pen1.cross(page1[0])
    pen1.cross(page1[11])
    pen2.tick(page2[3])
    pen2.correction(page2[17])
    comment = layout.pages[comment_page - 1].comment
    k = dpi / 25.4
    cv2.putText(third, "Mehr Baeume am Mainufer bitte", (int((comment.x + 5) * k), int((comment.y + 11) * k)),
                cv2.FONT_HERSHEY_SIMPLEX, 1.6, 25, 3, cv2.LINE_AA)
    r1, r2, r3 = (read_page(image, printed.layouts) for image in (first, second, third))
    assert (r1.payload.page, r2.payload.page, r3.payload.page) == (1, 2, comment_page)
    assert r1.payload.serial == r2.payload.serial == r3.payload.serial
    assert r1.mark_signature == f"{page1[0].number}:M,{page1[11].number}:M"
    assert r2.mark_signature == f"{page2[3].number}:M,{page2[17].number}:C"
    assert all(b.question == "budget" for b in r1.boxes + r2.boxes)
    assert r1.comment_ink == 0.0 and r1.comment_crop_png is None and r2.comment_crop_png is None
    assert r3.comment_ink > 0.01
    assert r3.comment_suggestion is not None and "Mainufer" in r3.comment_suggestion
    assert r3.comment_confidence >= 70
    crop = png(r3.comment_crop_png)
    assert crop.shape[1] == pytest.approx(comment.w * 6, abs=12)  # ~150 DPI
    assert r3.reasons == ()  # a comment never blocks counting


def test_even_a_short_comment_is_kept(printed: Printed):
    dpi = 200
    img = printed.image("poll-de", 1, dpi)
    comment = printed.layout_of["poll-de"].pages[1].comment
    k = dpi / 25.4
    cv2.putText(img, "Danke!", (int((comment.x + 4) * k), int((comment.y + 9) * k)), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 30,
                2, cv2.LINE_AA)
    result = read_page(img, printed.layouts)
    assert result.payload.page == 2 and result.boxes == ()
    assert result.comment_ink > 0.001 and result.comment_crop_png is not None
    assert result.comment_confidence is not None


def test_a_scrawl_in_the_comment_box_is_kept_for_staff_without_a_suggestion(printed: Printed):
    [page] = [p for p in printed.layout_of["budget-de"].pages if p.comment is not None]
    img = printed.image("budget-de", page.page - 1, 200)
    comment = page.comment
    Pen(img, 200).path([(comment.x + 10 + 7 * i, comment.y + 8 + (5 if i % 2 else 0)) for i in range(12)], width=0.5)
    result = read_page(img, printed.layouts)
    assert result.comment_ink > 0.003 and result.comment_crop_png is not None
    assert result.comment_suggestion is None
    assert result.comment_confidence is not None and result.comment_confidence < 70

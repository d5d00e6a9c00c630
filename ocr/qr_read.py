"""The ballot QR: read where the layout says it is, decode with the one payload codec.

zxing-cpp reads an upright crop cut through the homography (a fraction of a
millisecond); OpenCV's QRCodeDetector is the fallback. Only a payload that passes
`hybrid.qr_payload.decode` is trusted; any other text is reported, never used.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np
import zxingcpp

from hybrid.layout import Rect
from hybrid.qr_payload import InvalidPayload, QrPayload, decode
from ocr.register import PageFrame

QR_RES = 6.0  # px per mm of the crop: ~5 px per module for a 26 mm version-3 symbol
THRESHOLD_SHARES = (0.3, 0.45, 0.6, 0.75)  # of the way from the crop's black to its white
QR_MARGIN_MM = 4.0  # the quiet zone the layout keeps free, and room for misregistration


@dataclass(frozen=True)
class QrRead:
    text: str
    payload: QrPayload | None  # None when the text is not a valid hybrid payload
    problem: str | None  # why the payload is not trusted
    corners_mm: np.ndarray | None  # (4, 2) symbol corners TL, TR, BR, BL in layout mm, when read through a frame
    corners_px: np.ndarray | None = None  # the same in image pixels


def _payload(text: str) -> tuple[QrPayload | None, str | None]:
    try:
        return decode(text), None
    except InvalidPayload as exc:
        return None, str(exc)


def _zxing(image: np.ndarray, fast: bool) -> list:
    if fast:
        return zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode, try_rotate=False,
                                      try_downscale=False, try_invert=False)
    return zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)


def _corners(barcode) -> np.ndarray:
    p = barcode.position
    return np.array([[p.top_left.x, p.top_left.y], [p.top_right.x, p.top_right.y],
                     [p.bottom_right.x, p.bottom_right.y], [p.bottom_left.x, p.bottom_left.y]], dtype=np.float64)


def _cleaned_copies(crop: np.ndarray) -> Iterator[np.ndarray]:
    """Binarised and repaired copies of a QR crop, cheapest first, for a scan where the plain
    crop failed: Otsu; a median filter against the salt-and-pepper of a black-and-white scan;
    thresholds across the grey range (a scanner's own threshold may have thinned or fattened
    the modules); and the modules' holes closed or their bridges opened."""
    yield cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1]
    smooth = cv2.medianBlur(crop, 3)
    otsu = cv2.threshold(smooth, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1]
    yield otsu
    lo, hi = (float(v) for v in np.percentile(smooth, (5, 95)))
    blurred = cv2.GaussianBlur(crop, (0, 0), 1.0)
    for share in THRESHOLD_SHARES:
        yield np.where(blurred > lo + share * (hi - lo), 255, 0).astype(np.uint8)
    kernel = np.ones((3, 3), np.uint8)
    yield cv2.morphologyEx(otsu, cv2.MORPH_OPEN, kernel)  # white specks inside dark modules filled
    yield cv2.morphologyEx(otsu, cv2.MORPH_CLOSE, kernel)  # black specks between modules removed


def _decode_crop(crop: np.ndarray, thorough: bool) -> tuple[str, np.ndarray | None] | None:
    """Text and corners (crop pixel edges) of the QR in an upright crop. The quick pass is
    one zxing call; the thorough one tries zxing's full search, then zxing on the cleaned
    copies, then OpenCV's detector on the crop and the median-filtered Otsu copy."""
    attempts = [lambda: _zxing(crop, fast=True)]
    if thorough:
        attempts.append(lambda: _zxing(crop, fast=False))
        attempts += [lambda image=image: _zxing(image, fast=False) for image in _cleaned_copies(crop)]
    for attempt in attempts:
        found = [b for b in attempt() if b.text]
        if found:
            best = next((b for b in found if b.text.startswith("HY1:")), found[0])
            return best.text, _corners(best)
    if thorough:
        detector = cv2.QRCodeDetector()
        for image in (crop, cv2.threshold(cv2.medianBlur(crop, 3), 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1]):
            text, points, _ = detector.detectAndDecode(image)
            if text:
                return text, (points.reshape(-1, 2) if points is not None else None)
    return None


def read_qr_at(frame: PageFrame, qr: Rect, *, thorough: bool = False, res: float = QR_RES) -> QrRead | None:
    """Read the QR at the layout rectangle `qr` (plus margin); None when nothing decodes."""
    box = (qr.x - QR_MARGIN_MM, qr.y - QR_MARGIN_MM, qr.w + 2 * QR_MARGIN_MM, qr.h + 2 * QR_MARGIN_MM)
    for r in ((res, res * 1.7) if thorough else (res,)):  # finer when the print or the scan is blurred
        crop = frame.warp(box, r)
        found = _decode_crop(crop, thorough)
        if found is not None:
            text, corners = found
            corners_mm = None if corners is None else corners / r + (box[0], box[1])
            payload, problem = _payload(text)
            corners_px = None if corners_mm is None else frame.to_image(corners_mm)
            return QrRead(text, payload, problem, corners_mm, corners_px)
    return None


def find_qr_anywhere(gray: np.ndarray) -> QrRead | None:
    """A QR anywhere in the image (no registration): for pages whose corners were not found.
    Corners are in image pixels (`corners_px`)."""
    image, factor = gray, 1.0
    while max(image.shape) > 2400:
        image = cv2.resize(image, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        factor *= 2
    candidates = [(image, factor)]
    if factor > 1:
        candidates.append((gray, 1.0))
    for img, f in candidates:
        found = [b for b in _zxing(img, fast=False) if b.text]
        if found:
            best = next((b for b in found if b.text.startswith("HY1:")), found[0])
            payload, problem = _payload(best.text)
            return QrRead(best.text, payload, problem, None, _corners(best) * f)
    return None

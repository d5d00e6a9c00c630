"""Tesseract where a machine reading must be checked by a person: the printed code,
serial and layout id when the QR fails, and handwritten comments (DESIGN §6).

Each call runs the `tesseract` program on one small upright crop. Callers cap its
threads (OMP_THREAD_LIMIT=1) so that N workers use N cores.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np
import pytesseract

from hybrid.codes import normalise_code

DIGITS = "0123456789"
LAYOUT_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"
COMMENT_LANGS = "deu+eng"
COMMENT_MIN_CONFIDENCE = 70.0  # mean word confidence below which no suggestion is shown
_TIMEOUT_S = 30

# Letters Tesseract gives for digits in small mono type.
_AS_DIGIT = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "I": "1", "l": "1", "|": "1", "i": "1",
                           "Z": "2", "z": "2", "S": "5", "s": "5", "B": "8", "G": "6", "b": "6", "g": "9",
                           "q": "9", "T": "7"})


def _run(image: np.ndarray, lang: str, config: str) -> str:
    try:
        return pytesseract.image_to_string(image, lang=lang, config=config, timeout=_TIMEOUT_S)
    except (pytesseract.TesseractError, RuntimeError, OSError):
        return ""


def read_code(crop: np.ndarray) -> tuple[str | None, str]:
    """(the valid 12-digit code or None, what Tesseract read) from the printed code line.

    Tries the crop as it is, Otsu-binarised and smaller (Tesseract misreads the dotted
    zero of a blurred mono font now and then); only a code whose Verhoeff check digit
    holds is returned, never a guessed correction."""
    seen = []
    for image in _variants(crop):
        text = _run(image, "eng", "--psm 7 -c tessedit_char_whitelist=" + DIGITS).strip()
        seen.append(text)
        code = normalise_code(re.sub(r"\D", "", text.translate(_AS_DIGIT)))
        if code is not None:
            return code, text
    return None, next((s for s in seen if s), "")


def _variants(crop: np.ndarray) -> Iterator[np.ndarray]:
    yield crop
    yield cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1]
    yield cv2.resize(crop, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA)
    yield _despeckled(crop)


def _despeckled(crop: np.ndarray) -> np.ndarray:
    """The salt and pepper of a black-and-white scan removed (a median over ~0.4 mm)."""
    return cv2.threshold(cv2.medianBlur(crop, 5), 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1]


def read_serial(crop: np.ndarray) -> tuple[int | None, str]:
    """(serial, text) from the printed `Nr. 1042` / `No. 1042` line: the last run of digits;
    the crop as it is first, then despeckled."""
    first = ""
    for image in (crop, _despeckled(crop)):
        text = _run(image, "eng", "--psm 7").strip()
        first = first or text
        serial = _serial_in(text)
        if serial is not None:
            return serial, text
    return None, first


def _serial_in(text: str) -> int | None:
    tail = re.search(r"(\S+)\s*$", text)
    if tail is None:
        return None
    token = tail.group(1)
    digits = re.sub(r"\D", "", token.translate(_AS_DIGIT)) if not token.isdigit() else token
    if digits and 1 <= int(digits) <= 999_999_999 and len(digits) <= 9:
        return int(digits)
    return None


def read_layout_id(crop: np.ndarray) -> str:
    """The printed short layout id, e.g. `WM27-DE` (upper case letters, digits, dashes)."""
    text = _run(crop, "eng", "--psm 7 -c tessedit_char_whitelist=" + LAYOUT_ID_CHARS)
    return re.sub(r"[^A-Z0-9-]", "", text.upper())


@dataclass(frozen=True)
class CommentReading:
    text: str
    confidence: float  # mean word confidence 0–100 (0 when no word was found)


def read_comment(crop: np.ndarray) -> CommentReading:
    """Tesseract's reading of a handwritten comment with its mean word confidence."""
    try:
        data = pytesseract.image_to_data(crop, lang=COMMENT_LANGS, config="--psm 6",
                                         output_type=pytesseract.Output.DICT, timeout=_TIMEOUT_S)
    except (pytesseract.TesseractError, RuntimeError, OSError):
        return CommentReading("", 0.0)
    words, confs = [], []
    lines: dict[tuple[int, int, int], list[str]] = {}
    for word, conf, block, par, line in zip(data["text"], data["conf"], data["block_num"], data["par_num"],
                                            data["line_num"]):
        word = (word or "").strip()
        try:
            c = float(conf)
        except (TypeError, ValueError):
            continue
        if not word or c < 0:
            continue
        words.append(word)
        confs.append(c)
        lines.setdefault((block, par, line), []).append(word)
    if not words:
        return CommentReading("", 0.0)
    text = "\n".join(" ".join(ws) for _, ws in sorted(lines.items()))
    return CommentReading(text, float(np.mean(confs)))


def similarity(a: str, b: str) -> float:
    """1 − normalised edit distance (for matching an OCR'd layout id)."""
    if not a and not b:
        return 1.0
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return 1.0 - prev[-1] / max(len(a), len(b))

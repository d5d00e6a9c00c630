"""Dirty-drum streaks: thin vertical lines a sheet-feed scanner draws down the whole image.

A streak through a column of boxes looks like a stroke in every box it crosses, and a
reader that believed it would count each of them. A streak is told from print and pen by
its length: it darkens (nearly) every row of a tall band of the image in the same narrow
run of columns, which no printed line, box column or hand-drawn stroke does (a column of
boxes darkens at most ~2/3 of its rows). Found streaks are painted over with the pixels
on either side of them, row by row, so a printed line or a pen stroke that crosses a
streak stays continuous; ink that shows through a grey streak is kept. Everything
downstream (QR, marks, OCR) reads the cleaned image, and `painted_mask` tells the mark
reader where a printed line may have been painted out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BANDS = 3  # the image is searched in this many horizontal bands (a streak may cover only part of a sheet)
ROW_STEP = 4  # rows sampled per band (a streak is long: sampling loses nothing)
COVERAGE = 0.85  # a streak darkens at least this share of a band's rows
CONTRAST = 0.4  # … by at least this share of the way from paper white to printed black
MAX_WIDTH_MM = 1.5  # wider dark runs are not thin streaks (left alone)
PAGE_WIDTH_MM = 210.0  # to turn MAX_WIDTH_MM into pixels before the page is registered
LEVEL_MM = 20.0  # a streak's level is taken over this many mm of its length (it may fade slowly)
SEEN_MIN, SEEN_SIGMAS = 24, 4.0  # ink shows through a grey streak: this much darker than it, and above its noise
SIDE = 3  # a streak is painted from the columns this far beside it (past its blurred edge)


@dataclass(frozen=True)
class Streak:
    x0: int  # first and last image column of the run (inclusive)
    x1: int
    y0: int  # the band of rows it was found in (y1 exclusive)
    y1: int


def find_streaks(gray: np.ndarray) -> list[Streak]:
    """Thin vertical dark runs covering nearly every row of a band of the image."""
    h, w = gray.shape
    if h < 64 or w < 64:
        return []
    max_width = max(1, round(MAX_WIDTH_MM * w / PAGE_WIDTH_MM))
    sample = gray[::ROW_STEP * 4, ::4]
    paper = float(np.percentile(sample, 90))
    black = float(np.percentile(sample, 0.5))
    if paper - black < 40:
        return []
    limit = paper - CONTRAST * (paper - black)
    streaks: list[Streak] = []
    edges = np.linspace(0, h, BANDS + 1).astype(int)
    for y0, y1 in zip(edges[:-1], edges[1:]):
        rows = gray[y0:y1:ROW_STEP]
        # Quick screen: a streak column's mean is at most COVERAGE of the way down to `limit`.
        means = rows.mean(axis=0, dtype=np.float32)
        candidates = np.flatnonzero(means < paper - COVERAGE * (paper - limit))
        if candidates.size == 0:
            continue
        k = int((1.0 - COVERAGE) * (rows.shape[0] - 1))  # the k-th brightest row of each candidate column
        column = rows[:, candidates]
        bright = np.partition(column, column.shape[0] - 1 - k, axis=0)[column.shape[0] - 1 - k]
        dark = candidates[bright < limit]
        if dark.size == 0:
            continue
        runs = np.split(dark, np.flatnonzero(np.diff(dark) > 1) + 1)
        for run in runs:
            x0, x1 = int(run[0]), int(run[-1])
            if x1 - x0 + 1 <= max_width and x0 > 0 and x1 < w - 1:  # not the dark backing at an image edge
                streaks.append(Streak(x0, x1, int(y0), int(y1)))
    return streaks


def without_streaks(gray: np.ndarray, streaks: list[Streak]) -> np.ndarray:
    """A copy of `gray` with each streak replaced, row by row, by the paler of the columns
    just beside it: what crosses the streak (a printed line, a pen stroke) stays continuous,
    and a line running along one side of it is not smeared across it. Streaks a few columns
    apart are painted as one, from beyond both: a side column on the other streak would be
    no side at all. Ink that shows through a grey streak (darker than the streak itself) is
    kept: a box line or a pen stroke under it is seen as a person sees it."""
    if not streaks:
        return gray
    out = gray.copy()
    w = gray.shape[1]
    chunk = max(16, round(LEVEL_MM * w / PAGE_WIDTH_MM))
    for s in _painted_runs(streaks):  # the paler side: a line running beside the streak must not bleed into it as grey
        fill = np.maximum(gray[s.y0:s.y1, max(0, s.x0 - SIDE)], gray[s.y0:s.y1, min(w - 1, s.x1 + SIDE)])
        cols = _painted_columns(s)
        under = gray[s.y0:s.y1, cols]
        out[s.y0:s.y1, cols] = np.where(_seen_through(under, chunk), under, fill[:, None])
    return out


def _seen_through(under: np.ndarray, chunk: int) -> np.ndarray:
    """Where ink shows through a grey streak: pixels clearly darker than the streak's own
    level in their column (its median over `chunk` rows, which a line or stroke along the
    streak, shorter than half of that, does not move). A black streak hides everything."""
    n = under.shape[0]
    pieces = max(1, n // chunk)
    size = n // pieces  # the last few rows (fewer than `pieces`) go by the last piece
    # (piece, column, row), contiguous: medians by one partition along the last axis
    part = np.ascontiguousarray(under[:pieces * size].reshape(pieces, size, -1).transpose(0, 2, 1), dtype=np.int16)
    mid = size // 2
    level = np.partition(part, mid, axis=2)[:, :, mid]
    spread = 1.4826 * np.partition(np.abs(part - level[:, :, None]), mid, axis=2)[:, :, mid]
    limit = level - np.maximum(SEEN_MIN, SEEN_SIGMAS * spread)
    rows = np.minimum(np.arange(n) // size, pieces - 1)
    return under < limit[rows]


def painted_mask(shape: tuple[int, ...], streaks: list[Streak]) -> np.ndarray | None:
    """255 where `without_streaks` painted the image over, else 0; None without streaks.
    What lay under a streak is unknown there: a printed line that ran along it is gone."""
    if not streaks:
        return None
    mask = np.zeros(shape[:2], np.uint8)
    for s in _painted_runs(streaks):
        mask[s.y0:s.y1, _painted_columns(s)] = 255
    return mask


def _painted_runs(streaks: list[Streak]) -> list[Streak]:
    """The streaks as painted: those of one band whose side columns would fall on (or next to)
    another streak are joined, gap included."""
    runs: list[Streak] = []
    for s in sorted(streaks, key=lambda s: (s.y0, s.y1, s.x0)):
        last = runs[-1] if runs else None
        if last is not None and (last.y0, last.y1) == (s.y0, s.y1) and s.x0 - last.x1 <= SIDE + 3:
            runs[-1] = Streak(last.x0, max(last.x1, s.x1), s.y0, s.y1)
        else:
            runs.append(s)
    return runs


def _painted_columns(s: Streak) -> slice:
    return slice(max(0, s.x0 - 1), s.x1 + 2)  # one column more on each side: the streak's blurred edge

"""Dirty-drum streaks are painted out without inventing or hiding ink (ocr/streaks.py).

Synthetic pages: white paper with noise, a printed line or a pen stroke, and the streak a
scanner's dirty drum draws over it (the darker of page and streak, as in deck/degrade.py).
"""

from __future__ import annotations

import numpy as np

from ocr.streaks import find_streaks, painted_mask, without_streaks

H, W = 1754, 1241  # A4 at 150 DPI


def paper(seed: int = 1, sigma: float = 5.0) -> np.ndarray:
    """Noisy white paper with four solid corner squares (the page's printed black)."""
    rng = np.random.default_rng(seed)
    img = np.clip(240 + rng.normal(0, sigma, (H, W)), 0, 255).astype(np.uint8)
    for y in (60, H - 140):
        for x in (60, W - 140):
            img[y:y + 80, x:x + 80] = 30
    return img


def streak(img: np.ndarray, x: int, width: int, level: int) -> np.ndarray:
    out = img.copy()
    np.minimum(out[:, x:x + width], level, out=out[:, x:x + width])
    return out


def test_a_grey_streak_over_paper_is_painted_paper_and_keeps_no_speck_of_its_own_noise():
    img = streak(paper(), 600, 3, 110)
    rng = np.random.default_rng(2)
    img[:, 600:603] = np.clip(img[:, 600:603] + rng.normal(0, 6, (H, 3)), 0, 255).astype(np.uint8)
    found = find_streaks(img)
    assert found and all(s.x0 <= 600 and s.x1 >= 602 for s in found)
    clean = without_streaks(img, found)
    assert clean[:, 598:606].min() > 200  # nothing of the streak is left as "ink"


def test_ink_darker_than_a_grey_streak_shows_through_and_under_a_black_one_is_gone():
    page = paper()
    page[800:840, 598:605] = 40  # an upright pen stroke, 40 px long, right where the streak runs
    grey = without_streaks(streaked := streak(page, 600, 3, 120), find_streaks(streaked))
    assert grey[805:835, 600:603].max() < 80  # seen through the grey streak: kept
    assert grey[700:760, 598:606].min() > 200 and grey[880:940, 598:606].min() > 200  # the streak itself: paper
    black = without_streaks(streaked := streak(page, 600, 3, 0), find_streaks(streaked))
    assert black[805:835, 600:603].min() > 200  # nothing shows through black: painted like paper


def test_two_streaks_a_few_columns_apart_are_painted_as_one_from_beyond_both():
    page = paper()
    for y in range(300, 1500, 60):  # a column of box sides just left of the first streak
        page[y:y + 36, 596:598] = 40
    img = streak(streak(page, 600, 2, 0), 604, 2, 0)
    found = find_streaks(img)
    clean = without_streaks(img, found)
    # Painted from column 609 (paper) and 596 (the line): the paler, so paper between them,
    # never the dark of the other streak or the line smeared across.
    assert clean[:, 599:607].min() > 200
    assert clean[300:336, 596:598].max() < 80  # the line beside them is left as it was
    mask = painted_mask(img.shape, found)
    assert mask is not None and mask[:, 599:607].min() == 255 and mask[:, 596:598].max() == 0

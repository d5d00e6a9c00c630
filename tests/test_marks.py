"""Marks (DESIGN §6): find the printed box first, then measure how full it is.

Scores and decisions are separate: `classify` is a pure function of the measured
numbers (property-tested); `read_boxes` is tested on pages drawn here in millimetres —
boxes printed a little off their layout place, printed numbers beside them, pens of
every darkness, stains and dim light.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid.layout import Box, Page, Rect
from ocr.marks import (
    THRESHOLDS,
    BoxMeasure,
    MarkThresholds,
    classify,
    comment_ink,
    frame_ink,
    mark_signature,
    read_boxes,
)
from ocr.page_result import BoxReading, MarkState
from ocr.register import PageFrame

E, M, C, Q = MarkState.EMPTY, MarkState.MARKED, MarkState.CANCELLED, MarkState.MARGINAL
DPI = 200
K = DPI / 25.4  # px per mm
CORNERS = [Rect(x=10.0, y=10.0, w=8.0, h=8.0), Rect(x=192.0, y=10.0, w=8.0, h=8.0),
           Rect(x=10.0, y=279.0, w=8.0, h=8.0), Rect(x=192.0, y=279.0, w=8.0, h=8.0)]


def column(n: int, size: float = 6.0, top: float = 60.0, pitch: float = 9.6) -> list[Box]:
    return [Box(x=22.0, y=top + i * pitch, w=size, h=size, question="q1", option=chr(97 + i), number=i + 1)
            for i in range(n)]


def page_of(boxes: list[Box], comment: Rect | None = None) -> Page:
    return Page(page=1, kind="front", fiducials=CORNERS, qr=Rect(x=160.0, y=22.0, w=26.0, h=26.0),
                boxes=boxes, comment=comment)


class Sheet:
    """A white A4 page at 200 DPI with the boxes printed as the composer prints them
    (0.3 mm outline inset by half its width), optionally off their layout place."""

    def __init__(self, boxes: list[Box], shift: tuple[float, float] = (0.0, 0.0), numbers: bool = True) -> None:
        self.img = np.full((int(297 * K), int(210 * K)), 255, np.uint8)
        self.shift = shift
        for b in boxes:
            self.rect_outline(b.x + 0.15, b.y + 0.15, b.w - 0.3, b.h - 0.3, 0.3)
            if numbers:
                self.text(b.x + b.w + 2.5, b.y + b.h / 2 + 1.4, str(b.number) + "  Option text", b.w / 6)

    def p(self, x: float, y: float) -> tuple[int, int]:
        return round((x + self.shift[0]) * K * 16), round((y + self.shift[1]) * K * 16)

    def rect_outline(self, x: float, y: float, w: float, h: float, line: float) -> None:
        cv2.rectangle(self.img, self.p(x, y), self.p(x + w, y + h), 0, max(1, round(line * K)), cv2.LINE_AA, 4)

    def line(self, x0: float, y0: float, x1: float, y1: float, width: float = 0.4, grey: int = 30) -> None:
        cv2.line(self.img, self.p(x0, y0), self.p(x1, y1), grey, max(1, round(width * K)), cv2.LINE_AA, 4)

    def fill(self, x: float, y: float, w: float, h: float, grey: int = 30) -> None:
        cv2.rectangle(self.img, self.p(x, y), self.p(x + w, y + h), grey, -1, cv2.LINE_AA, 4)

    def text(self, x: float, y: float, text: str, scale: float = 1.0) -> None:
        org = (int((x + self.shift[0]) * K), int((y + self.shift[1]) * K))
        cv2.putText(self.img, text, org, cv2.FONT_HERSHEY_SIMPLEX, 1.0 * scale, 0, 2, cv2.LINE_AA)

    def cross(self, b: Box, width: float = 0.4, grey: int = 30, over: float = -0.9) -> None:
        self.line(b.x - over, b.y - over, b.x + b.w + over, b.y + b.h + over, width, grey)
        self.line(b.x - over, b.y + b.h + over, b.x + b.w + over, b.y - over, width, grey)

    def frame(self) -> PageFrame:
        """Registration as the homography would give it: layout mm → pixel centres."""
        return PageFrame(self.img, np.array([[K, 0, -0.5], [0, K, -0.5], [0, 0, 1.0]]))


def read(sheet: Sheet, boxes: list[Box], black: float = 0.0):
    return read_boxes(sheet.frame(), page_of(boxes), black)


# -- deciding ------------------------------------------------------------------------------

shares = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


def measure(dark: float, faint: float, min_cell: float, ring: float = 0.0) -> BoxMeasure:
    return BoxMeasure(dark=dark, faint=max(dark, faint), min_cell=min(min_cell, dark), ring_mm2=ring,
                      ring_share=ring / 60, offset_mm=(0.0, 0.0), located=True)


@given(shares, shares, shares)
def test_every_measure_gets_exactly_one_state_and_only_solid_even_fills_cancel(dark, faint, min_cell):
    m = measure(dark, faint, min_cell)
    state = classify(m)
    t = THRESHOLDS
    if state is C:
        assert m.dark >= t.cancel and m.min_cell >= t.cancel_cell
    if state is M:
        assert t.high <= m.dark < t.cancel
    if state is E:
        assert m.dark < t.low and m.faint < t.faint
    if m.dark >= t.cancel and m.min_cell >= t.cancel_cell:
        assert state is C


@given(shares, shares)
def test_more_ink_never_turns_a_mark_back_into_an_empty_box(a, b):
    lo, hi = sorted((a, b))
    if classify(measure(lo, lo, 0.0)) is not E:
        assert classify(measure(hi, hi, 0.0)) is not E


def test_the_marginal_band_lies_between_the_two_thresholds():
    t = MarkThresholds()
    assert classify(measure(0.0, t.faint - 0.001, 0.0)) is E  # specks
    assert classify(measure(0.0, t.faint, 0.0)) is Q  # faint pencil only
    assert classify(measure(min(t.low, t.faint) - 0.001, 0.0, 0.0)) is E  # a dot
    assert classify(measure(t.low, 0.0, 0.0)) is Q
    assert classify(measure(t.high - 0.001, 0.0, 0.0)) is Q
    assert classify(measure(t.high, 0.0, 0.0)) is M
    assert classify(measure(0.98, 0.98, 0.9)) is C
    assert classify(measure(0.85, 0.9, 0.2)) is Q  # a fat marker cross: vote or correction?
    assert classify(measure(0.6, 0.7, 0.5)) is Q  # an even half-fill
    assert classify(measure(0.6, 0.7, 0.05)) is M  # a dense scribble with gaps


def test_the_mark_signature_lists_marked_and_cancelled_boxes_by_number():
    readings = [BoxReading("q", "a", 10, 0.3, M), BoxReading("q", "b", 3, 0.9, C), BoxReading("q", "c", 5, 0.04, Q),
                BoxReading("q", "d", 1, 0.0, E), BoxReading("q", "e", 4, 0.2, M)]
    assert mark_signature(readings) == "3:C,4:M,10:M"
    assert mark_signature([]) == ""


# -- ink against paper ----------------------------------------------------------------------


def test_ink_is_measured_against_the_local_paper_not_a_fixed_white():
    boxes = column(1)
    sheet = Sheet(boxes, numbers=False)
    sheet.fill(30.0, 60.0, 5.0, 5.0, grey=20)
    clean = frame_ink(sheet.frame(), (20.0, 50.0, 25.0, 25.0), 0.0, 8.0, 10.0)
    _yy, xx = np.mgrid[0:sheet.img.shape[0], 0:sheet.img.shape[1]].astype(np.float32)
    shaded = (sheet.img * (0.45 + 0.55 * xx / xx.max())).astype(np.uint8)  # light falling off to the left
    grey = (60 + sheet.img.astype(np.float32) * 0.6).astype(np.uint8)  # a grey scanner: paper 213, black 72
    assert clean[:60].max() < 0.05 and clean[90:110, 90:110].min() > 0.9
    for img, black in ((shaded, 0.1), (grey, 72 / 213)):
        sheet.img = img
        ink = frame_ink(sheet.frame(), (20.0, 50.0, 25.0, 25.0), black, 8.0, 10.0)
        assert ink[:60].max() < 0.1  # paper stays paper
        assert ink[90:110, 90:110].min() > 0.85  # black stays black
        assert np.abs(ink - clean).mean() < 0.03


@settings(max_examples=25, deadline=None)
@given(st.floats(min_value=0.0, max_value=1.0))
def test_the_measured_fill_is_the_inked_share_of_the_interior(share):
    boxes = column(1)
    b = boxes[0]
    sheet = Sheet(boxes, numbers=False)
    inner = b.w - 2 * 0.65
    height = inner * share
    if height > 0:
        sheet.fill(b.x + 0.65, b.y + 0.65, inner, height, grey=0)
    fill = read(sheet, boxes).measures[0].dark
    assert fill == pytest.approx(share, abs=0.04)


# -- finding the box, then its fill --------------------------------------------------------


@pytest.mark.parametrize("shift", [(0.0, 0.0), (0.8, -0.6), (-1.2, 1.0)])
def test_a_box_printed_off_its_place_is_found_before_it_is_measured(shift):
    boxes = column(4)
    sheet = Sheet(boxes, shift=shift)
    sheet.cross(boxes[2])
    reading = read(sheet, boxes)
    assert [r.state for r in reading.readings] == [E, E, M, E]
    for m in reading.measures:
        assert m.located
        assert m.offset_mm == pytest.approx(shift, abs=0.2)
    assert reading.outside_box == () and reading.unlocated == ()


def test_boxes_drifting_off_their_place_are_followed_from_their_neighbours():
    boxes = column(10)
    sheet = Sheet([], numbers=False)
    for i, b in enumerate(boxes):  # a sheet stretched in the feeder: 0.35 mm more per row
        sheet.shift = (0.0, 0.35 * i)
        sheet.rect_outline(b.x + 0.15, b.y + 0.15, b.w - 0.3, b.h - 0.3, 0.3)
        if i in (2, 8):
            sheet.cross(b)
    reading = read(sheet, boxes)
    assert reading.unlocated == ()
    assert [m.offset_mm[1] for m in reading.measures] == pytest.approx([0.35 * i for i in range(10)], abs=0.25)
    assert [r.state for r in reading.readings] == [E, E, M, E, E, E, E, E, M, E]


def test_when_no_box_is_where_the_corners_say_nothing_is_guessed():
    boxes = column(4)
    sheet = Sheet(boxes, shift=(0.0, 2.6))  # every box 2.6 mm off: beyond the search
    sheet.cross(boxes[1])
    reading = read(sheet, boxes)
    assert reading.unlocated == (1, 2, 3, 4)
    assert all(r.state in (E, Q) for r in reading.readings)  # never marked from the wrong place


def test_a_missing_box_outline_is_reported():
    boxes = column(3)
    sheet = Sheet(boxes[:2])  # the third box was never printed here
    reading = read(sheet, boxes)
    assert reading.unlocated == (3,)


def test_printed_numbers_and_text_beside_the_boxes_are_not_marks():
    for size, pitch in ((6.0, 9.6), (9.0, 14.0)):
        boxes = column(6, size=size, pitch=pitch)
        sheet = Sheet(boxes)
        for b in boxes:
            sheet.text(b.x + b.w + 10.0, b.y + b.h + 2.5, "a second line of option text", size / 6)
        reading = read(sheet, boxes)
        assert all(r.state is E for r in reading.readings)
        assert reading.outside_box == ()
        assert max(m.ring_mm2 for m in reading.measures) < 0.2


def test_ink_around_an_empty_box_is_caught_and_a_cross_overshooting_its_own_box_is_not():
    boxes = column(5)
    sheet = Sheet(boxes)
    b = boxes[1]
    sheet.line(b.x - 3.5, b.y + 1.0, b.x - 1.8, b.y + 4.5, 0.4)  # a tick left of box 2
    sheet.cross(boxes[3], over=1.2)  # box 4's cross runs 1.2 mm past its corners
    reading = read(sheet, boxes)
    assert [r.state for r in reading.readings] == [E, E, E, M, E]
    assert reading.outside_box == (2,)
    assert reading.measures[1].ring_mm2 > THRESHOLDS.ring_mm2


def test_pen_pencil_and_corrections_at_one_box_size_and_another():
    for size in (6.0, 9.0):
        boxes = column(6, size=size, pitch=size + 4.0)
        sheet = Sheet(boxes)
        sheet.cross(boxes[0], width=0.3, grey=60)  # ballpoint
        sheet.cross(boxes[1], width=0.35, grey=180)  # faint pencil
        sheet.fill(boxes[2].x + 0.5, boxes[2].y + 0.5, size - 1.0, size - 1.0, grey=25)  # correction
        sheet.fill(boxes[3].x + 2.8, boxes[3].y + 2.8, 0.4, 0.4, grey=30)  # a dot from a resting pen
        sheet.line(boxes[4].x + 1.5, boxes[4].y + size * 0.6, boxes[4].x + size * 0.45, boxes[4].y + size - 1.2, 0.35)
        sheet.line(boxes[4].x + size * 0.45, boxes[4].y + size - 1.2, boxes[4].x + size - 1.0, boxes[4].y + 1.0, 0.35)
        reading = read(sheet, boxes)
        assert [r.state for r in reading.readings] == [M, Q, C, E, M, E], size
        assert reading.marginal == (2,)


def test_dim_light_and_a_stain_do_not_make_marks():
    boxes = column(6)
    sheet = Sheet(boxes)
    sheet.cross(boxes[4])
    yy, xx = np.mgrid[0:sheet.img.shape[0], 0:sheet.img.shape[1]].astype(np.float32)
    light = 0.45 + 0.55 * xx / xx.max()  # dark on the left, where the boxes are
    stain = np.where(np.hypot(xx - 30 * K, yy - 80 * K) < 12 * K, 0.75, 1.0)
    sheet.img = (sheet.img * light * stain).astype(np.uint8)
    reading = read(sheet, boxes, black=0.05)
    assert [r.state for r in reading.readings] == [E, E, E, E, M, E]
    assert reading.outside_box == ()


def test_comment_ink_counts_only_what_is_written_inside_the_comment_box():
    rect = Rect(x=20.0, y=200.0, w=170.0, h=22.0)
    sheet = Sheet([], numbers=False)
    sheet.rect_outline(rect.x, rect.y, rect.w, rect.h, 0.25)
    sheet.text(rect.x, rect.y - 3.0, "Your comment (optional)", 1.0)
    assert comment_ink(sheet.frame(), rect, 0.0) == 0.0
    sheet.text(rect.x + 5, rect.y + 12, "Bitte mehr Baenke", 1.5)
    assert comment_ink(sheet.frame(), rect, 0.0) > 0.005

"""A ballot whose QR is lost counts like a QR-read one only when the printed code, serial
and layout id all agree with one issued ballot and the page registers soundly; anything
less goes to a person. Real print → real render → inked-over QR → real `hybrid scan`."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import cv2
import numpy as np
import pypdfium2 as pdfium
import pytest

from forms.print_run import PrintRequest, run_print
from hybrid import rules
from hybrid.layout import Layout, Rect
from hybrid.states import Reason, RecordState
from hybrid.workspace import Workspace
from ocr.batch import run_scan

EXAMPLES = Path(__file__).resolve().parent.parent / "hybrid" / "examples"
RECEIVED = date(2027, 5, 10)
DPI = 200


@pytest.fixture
def printed(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("HYBRID_SECRET", raising=False)
    ws = Workspace(tmp_path / "ws")
    ws.root.mkdir()
    shutil.copy(EXAMPLES / "poll.yaml", ws.definition_path)
    store = ws.open_store(create=True)
    result = run_print(store, ws.process, PrintRequest(count=3, lang="de"), ws.out_dir, workers=1)
    store.close()
    layout = Layout.from_json(result.layout_path.read_text(encoding="utf-8"))
    return ws, result.files[0].path, layout


def _page(pdf_path: Path, index: int) -> np.ndarray:
    doc = pdfium.PdfDocument(str(pdf_path))
    try:
        img = doc[index].render(scale=DPI / 72, grayscale=True).to_numpy()
    finally:
        doc.close()
    return np.ascontiguousarray(img[..., 0] if img.ndim == 3 else img)


def _paint(img: np.ndarray, r: Rect, grey: int, pad: float = 1.5) -> None:
    k = DPI / 25.4
    cv2.rectangle(img, (round((r.x - pad) * k), round((r.y - pad) * k)),
                  (round((r.x + r.w + pad) * k), round((r.y + r.h + pad) * k)), grey, -1)


def _cross(img: np.ndarray, layout: Layout, number: int) -> None:
    k = DPI / 25.4
    box = next(b for b in layout.pages[0].boxes if b.number == number)
    m = box.w * 0.15
    for (x0, y0), (x1, y1) in (((box.x + m, box.y + m), (box.x + box.w - m, box.y + box.h - m)),
                               ((box.x + m, box.y + box.h - m), (box.x + box.w - m, box.y + m))):
        cv2.line(img, (round(x0 * k), round(y0 * k)), (round(x1 * k), round(y1 * k)), 30, max(1, round(0.4 * k)))


def _scan(ws: Workspace, tray: Path) -> dict[int, tuple[str, list[str], dict]]:
    store = ws.open_store()
    try:
        run_scan(ws, store, ws.process, [tray], batch="tray", received=RECEIVED, workers=1)
        return {serial: (status, json.loads(reasons), json.loads(choices)) for serial, status, reasons, choices in
                store.conn.execute("SELECT serial, status, reasons, choices FROM records WHERE channel = 'paper'")}
    finally:
        store.close()


def test_a_code_read_by_ocr_that_every_check_confirms_counts_and_says_so(printed, tmp_path):
    ws, pdf, layout = printed
    tray = tmp_path / "tray"
    tray.mkdir()
    page = layout.pages[0]
    for ballot in range(3):
        first = ballot * len(layout.pages)
        for later in range(1, len(layout.pages)):  # the other pages keep their QR
            cv2.imwrite(str(tray / f"{ballot + 1}-{later + 1}.png"), _page(pdf, first + later))
        img = _page(pdf, first)
        _cross(img, layout, 1)
        _paint(img, page.qr, grey=15)  # the QR is inked over on every sheet
        if ballot == 1:
            _paint(img, page.layout_id_text, grey=255, pad=0.6)  # the printed layout id is torn off
        cv2.imwrite(str(tray / f"{ballot + 1}-1.png"), img)
    records = _scan(ws, tray)
    status, reasons, choices = records[1]
    assert status == RecordState.COUNTED.value and reasons == [Reason.CODE_FROM_OCR.value]
    assert choices == {"q1": ["a"]}
    status, reasons, _ = records[2]  # no layout id to check against the ballot: a person looks
    assert status == RecordState.REVIEW.value and Reason.CODE_FROM_OCR.value in reasons
    assert records[3][0] == RecordState.COUNTED.value


EVIDENCE = dict(check_digit=True, issued=True, serial_matches=True, layout_matches=True, geometry_sound=True)


@pytest.mark.parametrize("failed", sorted(EVIDENCE))
def test_any_failed_check_keeps_an_ocr_code_in_review(failed):
    assert rules.ocr_code_trusted(rules.OcrCodeEvidence(**EVIDENCE))
    assert not rules.ocr_code_trusted(rules.OcrCodeEvidence(**{**EVIDENCE, failed: False}))

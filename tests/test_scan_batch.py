"""`hybrid scan` as staff run it: mixed trays with bad files, ballots that do not belong,
void codes, re-runs, and a batch killed half-way. Every page is accounted for."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from datetime import date
from pathlib import Path

import cv2
import numpy as np
import pypdfium2 as pdfium
import pytest

from forms.print_run import PrintRequest, run_print
from hybrid.ballot_lifecycle import void_ballots
from hybrid.definition_file import load_process
from hybrid.states import PageState, Reason, RecordState
from hybrid.store import STORE_FILE
from hybrid.workspace import Workspace
from ocr.batch import run_scan
from deck.build import simulate_deck

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "hybrid" / "examples"
RECEIVED = date(2027, 5, 10)


def printed_workspace(root: Path, example: str, count: int) -> tuple[Workspace, Path]:
    ws = Workspace(root)
    root.mkdir(parents=True)
    shutil.copy(EXAMPLES / f"{example}.yaml", ws.definition_path)
    store = ws.open_store(create=True)
    result = run_print(store, ws.process, PrintRequest(count=count, lang="de"), ws.out_dir, workers=1)
    store.close()
    return ws, result.files[0].path


def page_images(pdf_path: Path, folder: Path, prefix: str) -> list[Path]:
    """Every page as a 150-DPI JPEG 'scan' (unmarked: blank ballots)."""
    folder.mkdir(parents=True, exist_ok=True)
    pdf = pdfium.PdfDocument(str(pdf_path))
    paths = []
    for i in range(len(pdf)):
        image = np.array(pdf[i].render(scale=150 / 72, grayscale=True).to_pil().convert("L"))
        path = folder / f"{prefix}-{i + 1:03d}.jpg"
        cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, 85])
        paths.append(path)
    return paths


@pytest.fixture
def live(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    ws, pdf = printed_workspace(tmp_path / "live", "poll", 4)
    return ws, pdf


def states(ws: Workspace) -> dict[str, tuple[str, list[str]]]:
    with closing(sqlite3.connect(ws.root / STORE_FILE)) as db:
        return {source: (state, reasons) for source, state, reasons in db.execute("SELECT source, state, reasons FROM pages")}


def test_a_mixed_tray_is_fully_accounted_for(tmp_path, live, monkeypatch):
    ws, pdf = live
    tray = tmp_path / "tray"
    own = page_images(pdf, tray, "a-own")
    # Ballots of another process, and of our process id printed under another key (unknown codes).
    other_ws, other_pdf = printed_workspace(tmp_path / "other", "budget", 1)
    foreign = page_images(other_pdf, tray, "b-other")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config-elsewhere"))
    stranger_ws, stranger_pdf = printed_workspace(tmp_path / "stranger", "poll", 1)
    strangers = page_images(stranger_pdf, tray, "c-stranger")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    # A simulated (test) ballot in a live workspace.
    deck = tmp_path / "deck"
    simulate_deck(load_process(EXAMPLES / "poll.yaml"), deck, count=1, degrade="light", seed=5)
    test_pages = sorted(p for p in (deck / "workspace" / "out").glob("*.pdf"))
    tests = page_images(test_pages[0], tray, "d-test")
    # Bad files: zero bytes, text posing as PNG, a corrupt PDF, a truncated PDF.
    (tray / "e-empty.pdf").write_bytes(b"")
    (tray / "f-notes.png").write_text("Liebe Stadt, anbei mein Stimmzettel.\n")
    (tray / "g-corrupt.pdf").write_bytes(b"%PDF-1.4\n1 0 obj <<>> endobj\ngarbage")
    (tray / "h-truncated.pdf").write_bytes(pdf.read_bytes()[: len(pdf.read_bytes()) // 2])

    store = ws.open_store()
    void_ballots(store, [2])
    report = run_scan(ws, store, ws.process, [tray], batch="mixed", received=RECEIVED, workers=2)

    given_pages = len(own) + len(foreign) + len(strangers) + len(tests) + 4
    assert report.pages_in == given_pages
    assert sum(report.pages.values()) == given_pages
    pages = states(ws)
    assert len(pages) == given_pages
    by_reason = {}
    for state, reasons in pages.values():
        for reason in json.loads(reasons):
            by_reason.setdefault(reason, set()).add(state)
    assert by_reason[Reason.OTHER_PROCESS.value] == {PageState.REJECTED.value}
    assert by_reason[Reason.UNKNOWN_CODE.value] == {PageState.REJECTED.value}
    assert by_reason[Reason.TEST_BALLOT.value] == {PageState.REJECTED.value}
    assert by_reason[Reason.VOID_CODE.value] == {PageState.REJECTED.value}
    assert report.pages[PageState.REJECTED] >= len(foreign) // 2 + 4
    assert any("e-empty.pdf" in p or "empty" in p for p in report.problems)
    # Our three valid ballots (serial 2 is void) are counted as blank ballots.
    assert report.records[RecordState.COUNTED] == 3
    # Re-running the same tray is a no-op.
    again = run_scan(ws, store, ws.process, [tray], batch="again", received=RECEIVED, workers=2)
    assert again.new_pages == 0 and sum(again.pages.values()) == 0
    assert len(states(ws)) == given_pages


def test_a_batch_killed_half_way_resumes_without_double_counting(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    ws, pdf = printed_workspace(tmp_path / "ws", "poll", 30)
    tray = tmp_path / "tray"
    pages = page_images(pdf, tray, "scan")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HYBRID_WORKERS": "1"}
    command = [sys.executable, str(ROOT / "cli.py"), "-C", str(ws.root), "scan", str(tray), "--received", "2027-05-10"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    stored = 0
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        try:
            with closing(sqlite3.connect(ws.root / STORE_FILE, timeout=5)) as db:
                stored = db.execute("SELECT COUNT(*) FROM pages").fetchone()[0]
        except sqlite3.OperationalError:
            continue
        if stored >= 8:
            break
    assert proc.poll() is None, "the scan finished before it could be killed; make the tray larger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 0 < stored < len(pages)
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr[-2000:]
    with closing(sqlite3.connect(ws.root / STORE_FILE)) as db:
        assert db.execute("SELECT COUNT(*), COUNT(DISTINCT source) FROM pages").fetchone() == (len(pages), len(pages))
        assert db.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 30
        assert db.execute("SELECT status, COUNT(*) FROM records GROUP BY status").fetchall() == [("counted", 30)]
    store = ws.open_store()
    from hybrid import audit

    assert audit.verify(store).ok

"""Scan benchmark: pages per second through the real `hybrid scan`, and peak memory.

    .venv/bin/python benchmarks/scan_speed.py [--pages 1000] [--photos 120] [--big 10000]

Makes real ballots (`run_print`), renders them, marks a cross on every front page,
writes scanner-style PDFs (one full-page grayscale JPEG per page) at 200 and 300 DPI,
and phone photos from the simulator; then runs `hybrid scan` as a separate process on
each and measures wall time and the peak RSS of the scan process and its workers.
Baseline in the same run: the same 200-DPI PDF with one worker. Prints Markdown rows.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import pypdfium2 as pdfium

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import machine_line  # noqa: E402

from forms.print_run import PrintRequest, run_print  # noqa: E402
from hybrid.layout import Layout  # noqa: E402
from hybrid.workspace import Workspace  # noqa: E402
from deck.files import encode_jpeg, write_pdf  # noqa: E402



def make_workspace(root: Path, ballots: int) -> tuple[Workspace, Path, Layout]:
    ws = Workspace(root / "ws")
    ws.root.mkdir(parents=True)
    shutil.copy(ROOT / "hybrid" / "examples" / "poll.yaml", ws.definition_path)
    store = ws.open_store(create=True)
    result = run_print(store, ws.process, PrintRequest(count=ballots, lang="de"), ws.out_dir, workers=2)
    store.close()
    return ws, result.files[0].path, Layout.from_json(result.layout_path.read_text())


def rendered_pages(pdf_path: Path, layout: Layout, dpi: int) -> list[np.ndarray]:
    """Every page, grayscale, with a pen cross in the first box of each question on fronts."""
    pdf = pdfium.PdfDocument(str(pdf_path))
    per_ballot = len(layout.pages)
    px = dpi / 25.4
    pages = []
    for i in range(len(pdf)):
        bitmap = pdf[i].render(scale=dpi / 72, grayscale=True).to_numpy()
        image = np.array(bitmap if bitmap.ndim == 2 else bitmap[:, :, 0])
        page = layout.pages[i % per_ballot]
        seen: set[str] = set()
        for box in page.boxes:
            if box.question in seen:
                continue
            seen.add(box.question)
            x0, y0, x1, y1 = [int(v * px) for v in (box.x + 1, box.y + 1, box.x + box.w - 1, box.y + box.h - 1)]
            cv2.line(image, (x0, y0), (x1, y1), 30, max(2, int(0.5 * px)))
            cv2.line(image, (x0, y1), (x1, y0), 30, max(2, int(0.5 * px)))
        pages.append(image)
    return pages


def scan(ws: Workspace, target: Path, config: Path, workers: int | None = None) -> dict:
    env = {**os.environ, "XDG_CONFIG_HOME": str(config), "PYTHONPATH": str(ROOT)}
    if workers is not None:
        env["HYBRID_WORKERS"] = str(workers)
    start = time.perf_counter()
    # stderr to a file, not a pipe: nobody reads a pipe while the scan runs, and a full one
    # (64 KiB of progress output) would stall the scan it is measuring.
    errors = tempfile.TemporaryFile()
    proc = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "-C", str(ws.root), "scan", str(target),
                             "--received", "2027-05-10"], env=env, stdout=subprocess.DEVNULL, stderr=errors)
    peak = {}
    while proc.poll() is None:
        for pid in [proc.pid, *children_of(proc.pid)]:
            peak[pid] = max(peak.get(pid, 0), high_water_kb(pid))
        time.sleep(0.1)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        errors.seek(0)
        raise SystemExit(f"scan failed ({proc.returncode}): {errors.read().decode()[-2000:]}")
    return {"seconds": seconds, "peak_mb": max(peak.values()) / 1024}


def children_of(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def high_water_kb(pid: int) -> int:
    """VmHWM: the process's own peak RSS (reset at exec, unlike ru_maxrss, which a
    child inherits from the big benchmark process that started it)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def fresh_copy(ws: Workspace, root: Path, name: str) -> Workspace:
    """A copy of the printed workspace with no scans yet, so each run reads every page."""
    target = Workspace(root / name)
    shutil.copytree(ws.root, target.root, ignore=shutil.ignore_patterns("scans", "out"))
    return target


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--photos", type=int, default=120)
    parser.add_argument("--big", type=int, default=0, help="pages of the memory test PDF (e.g. 10000)")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="hybrid-scan-bench-"))
    config = root / "config"
    os.environ["XDG_CONFIG_HOME"] = str(config)
    ws, printed, layout = make_workspace(root, 100)
    rows = []
    for dpi in (200, 300):
        pages = [encode_jpeg(p, 80) for p in rendered_pages(printed, layout, dpi)]
        pdf = root / f"tray-{dpi}.pdf"
        write_pdf(pdf, [pages[i % len(pages)] for i in range(args.pages)], dpi)
        if dpi == 200:
            base = scan(fresh_copy(ws, root, "base"), pdf, config, workers=1)
            rows.append(("200-DPI grayscale scanner PDF, 1 worker (baseline)", args.pages, base))
        run = scan(fresh_copy(ws, root, f"run{dpi}"), pdf, config)
        rows.append((f"{dpi}-DPI grayscale scanner PDF, {os.cpu_count()} workers", args.pages, run))
        if dpi == 200 and args.big:
            big = root / "big.pdf"
            write_pdf(big, [pages[i % len(pages)] for i in range(args.big)], dpi)
            result = scan(fresh_copy(ws, root, "big"), big, config)
            rows.append((f"{args.big:,}-page 200-DPI PDF (memory)", args.big, result))
            big.unlink()
    if args.photos:
        from deck.build import simulate_deck

        deck = root / "deck"
        summary = simulate_deck(ws.process, deck, count=args.photos, degrade="photo", seed=7)
        photos = deck / "scans"
        n = sum(1 for p in photos.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
        deck_ws = Workspace(deck / "workspace")
        result = scan(deck_ws, photos, deck / "config")
        rows.append(("phone photos (simulate --degrade photo)", n, result))
    print(f"machine: {machine_line()}; "
          f"date {time.strftime('%Y-%m-%d')}")
    print("| input | pages | wall time | pages/s | peak RSS (largest process) |")
    print("| --- | --- | --- | --- | --- |")
    for name, n, r in rows:
        print(f"| {name} | {n:,} | {r['seconds']:.1f} s | {n / r['seconds']:.1f} | {r['peak_mb']:.0f} MB |")
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Print-run benchmark: ballots per second, peak memory, bytes per extra ballot.

    .venv/bin/python benchmarks/print_speed.py [--ballots 100000] [--example poll]

Runs the real `run_print` (codes, store, process pool, PDFs, manifest) in a throwaway
workspace and key folder. Prints one Markdown table row for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import machine_line  # noqa: E402



def one_run(example: str, ballots: int, workers: int) -> dict:
    """A fresh workspace per run, so runs do not share caches or serials."""
    from forms.print_run import PrintRequest, run_print
    from hybrid.workspace import Workspace

    root = Path(tempfile.mkdtemp(prefix="hybrid-bench-"))
    os.environ["XDG_CONFIG_HOME"] = str(root / "keys")
    ws = Workspace(root / "ws")
    ws.root.mkdir()
    shutil.copy(Path(__file__).resolve().parent.parent / "hybrid" / "examples" / f"{example}.yaml", ws.definition_path)
    store = ws.open_store(create=True)
    start = time.perf_counter()
    result = run_print(store, ws.process, PrintRequest(count=ballots, lang=ws.process.languages[0]), ws.out_dir,
                       workers=workers)
    seconds = time.perf_counter() - start
    size = sum(f.path.stat().st_size for f in result.files)
    pages = sum(f.pages for f in result.files)
    store.close()
    shutil.rmtree(root)
    return {"seconds": seconds, "bytes": size, "pages": pages, "files": len(result.files),
            "pages_per_ballot": result.pages_per_ballot}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ballots", type=int, default=100_000)
    parser.add_argument("--example", default="poll", choices=["poll", "budget"])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    # Bytes per extra ballot: the difference between two single-file runs.
    small, large = one_run(args.example, 1000, 1), one_run(args.example, 5000, 1)
    per_ballot = (large["bytes"] - small["bytes"]) / 4000
    single_core = 5000 / large["seconds"]

    run = one_run(args.example, args.ballots, args.workers)
    rate = args.ballots / run["seconds"]
    parent_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"machine: {machine_line()}")
    print(f"date: {time.strftime('%Y-%m-%d')}")
    print(f"run: {args.ballots} {args.example} ballots ({run['pages_per_ballot']} pages each, one sheet duplex"
          f" for the poll) in {run['files']} files, {args.workers} workers")
    print(f"| {args.example} | {args.ballots:,} | {run['seconds']:.1f} s | {rate:,.0f} ballots/s "
          f"({run['pages'] / run['seconds']:,.0f} pages/s) | baseline 1 worker: {single_core:,.0f} ballots/s | "
          f"peak RSS parent {parent_mb:.0f} MB, largest worker {child_mb:.0f} MB | "
          f"{per_ballot / 1024:.2f} KiB per extra ballot |")


if __name__ == "__main__":
    main()

"""Scan accuracy benchmark: silent errors and clean ballots sent to a person, per degradation,
for this tree's reader and, in the same run on the same decks, today's reader (a git ref).

    .venv/bin/python benchmarks/scan_accuracy.py [--poll 1100] [--budget 400] [--baseline REF]
                                                 [--tiers light,moderate,heavy,photo] [--out FILE.md]

For every tier and example (poll, 2-page budget) it makes one deck with `simulate_deck`
(the same simulator and seed for both readers), copies it, and runs the real `hybrid scan`
(cli.py, a separate process, default workers) once with this tree and once with the tree
of REF (default: the merge base with `main`, i.e. the reader before this branch),
extracted with `git archive` into a temporary folder. Each scanned copy is compared with
the truth by `deck.check`. Per row: ballots, ballot positions (printed boxes on the
ballots that reached the store), silent errors (counted with other choices than the
truth's), the share of clean ballots sent to a person, and pages per second of the scan.
Rows are printed as Markdown and appended to --out as each deck finishes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import machine_line  # noqa: E402

from hybrid.definition_file import load_process  # noqa: E402
from hybrid.layout import Layout  # noqa: E402
from hybrid.workspace import Workspace  # noqa: E402
from deck.check import check_deck  # noqa: E402
from deck.build import deck_environment, simulate_deck  # noqa: E402

SEEDS = {"light": 101, "moderate": 102, "heavy": 103, "photo": 104}
HEADER = ("| tier | example | reader | ballots | positions | silent errors | clean to a person | pages | pages/s |\n"
          "|---|---|---|---:|---:|---:|---:|---:|---:|")


def baseline_tree(ref: str, into: Path) -> Path:
    """The reader at `ref`, extracted (no worktree) into `into`."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True).stdout
    into.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def positions_of(deck: Path, serials: set[int]) -> int:
    """Printed boxes on the given ballots (every page of each ballot's layout)."""
    truth = json.loads((deck / "truth.json").read_text(encoding="utf-8"))
    boxes = {}
    for path in (deck / "workspace" / "out").glob("*.layout.json"):
        layout = Layout.from_json(path.read_text(encoding="utf-8"))
        boxes[layout.layout_hash] = sum(len(p.boxes) for p in layout.pages)
    return sum(boxes[b["layout_hash"]] for b in truth["ballots"] if b["serial"] in serials)


def scan_copy(pristine: Path, target: Path, tree: Path) -> tuple[float, int]:
    """`hybrid scan` of a fresh copy of the deck with the reader in `tree`: (seconds, pages)."""
    shutil.copytree(pristine, target)
    env = {**os.environ, **deck_environment(target), "PYTHONPATH": str(tree)}
    env.pop("HYBRID_SECRET", None)
    received = json.loads((target / "truth.json").read_text(encoding="utf-8"))["received"]
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(tree / "cli.py"), "-C", str(target / "workspace"), "scan",
                           str(target / "scans"), "--batch", "deck", "--received", received],
                          env=env, cwd=str(tree), capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"scan with {tree} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds, len(json.loads((target / "truth.json").read_text(encoding="utf-8"))["pages"])


def judge(deck: Path) -> tuple[int, int, float, list[str], set[int]]:
    saved = {k: os.environ.get(k) for k in ("XDG_CONFIG_HOME", "HYBRID_SECRET")}
    os.environ.update(deck_environment(deck))
    os.environ.pop("HYBRID_SECRET", None)
    try:
        store = Workspace(deck / "workspace").open_store()
        try:
            result = check_deck(store, deck)
            serials = {s for (s,) in store.conn.execute("SELECT serial FROM records WHERE channel = 'paper'")}
        finally:
            store.close()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return result.ballots, len(result.miscounted), result.review_rate_of_clean, result.miscounted, serials


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--poll", type=int, default=1100, help="poll ballots per tier")
    parser.add_argument("--budget", type=int, default=400, help="2-page budget ballots per tier")
    parser.add_argument("--tiers", default="light,moderate,heavy,photo")
    parser.add_argument("--baseline", default=None, help="git ref of today's reader (default: merge base with main)")
    parser.add_argument("--out", type=Path, default=None, help="append Markdown rows here as they come")
    args = parser.parse_args()
    ref = args.baseline or subprocess.run(["git", "-C", str(ROOT), "merge-base", "HEAD", "main"], check=True,
                                          capture_output=True, text=True).stdout.strip()
    lines = [f"Machine: {machine_line()}; baseline {ref[:10]}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
             "", HEADER]
    print("\n".join(lines), flush=True)
    if args.out:
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    totals = {"this branch": [0, 0, 0], "baseline": [0, 0, 0]}
    with tempfile.TemporaryDirectory(prefix="scan-accuracy-") as tmp:
        work = Path(tmp)
        trees = {"this branch": ROOT, "baseline": baseline_tree(ref, work / "baseline-tree")}
        for tier in args.tiers.split(","):
            for example, count in (("poll", args.poll), ("budget", args.budget)):
                if count <= 0:
                    continue
                pristine = work / f"{tier}-{example}"
                simulate_deck(load_process(ROOT / "hybrid" / "examples" / f"{example}.yaml"), pristine, count=count,
                              degrade=tier, seed=SEEDS[tier] + (0 if example == "poll" else 50))
                for reader, tree in trees.items():
                    target = work / f"{tier}-{example}-{reader.replace(' ', '-')}"
                    seconds, pages = scan_copy(pristine, target, tree)
                    ballots, silent, to_person, miscounted, serials = judge(target)
                    positions = positions_of(target, serials)
                    totals[reader][0] += ballots
                    totals[reader][1] += positions
                    totals[reader][2] += silent
                    row = (f"| {tier} | {example} | {reader} | {ballots} | {positions} | {silent} | "
                           f"{to_person:.1%} | {pages} | {pages / seconds:.1f} |")
                    print(row + "".join(f"\n    {m}" for m in miscounted[:5]), flush=True)
                    if args.out:
                        with args.out.open("a", encoding="utf-8") as f:
                            f.write(row + "\n")
                    shutil.rmtree(target)
                shutil.rmtree(pristine)
    summary = [f"{reader}: {b} ballots, {p} positions, {s} silent errors" for reader, (b, p, s) in totals.items()]
    print("\n".join(summary))
    if args.out:
        with args.out.open("a", encoding="utf-8") as f:
            f.write("\n" + "\n".join(summary) + "\n")


if __name__ == "__main__":
    main()

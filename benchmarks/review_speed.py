"""How fast the review page answers with 5,000 open items (issue 12, must 7).

    .venv/bin/python benchmarks/review_speed.py [--items 5000] [--scanned 40] [--rounds 30] [--no-prerender]

1. `hybrid simulate` + `hybrid scan` (the real scan path) of `--scanned` poll ballots, most
   of them overvoted or faintly marked, in a throwaway folder: review items whose pages
   are real scans in `scans/`;
2. the store's own functions add open items up to `--items`: ballots are issued
   (`Store.issue_ballots`) and an overvoted page of each is ingested with
   `paper_records.ingest_page` (no image: those count for the queue only);
3. `hybrid review serve` runs in its own process on 127.0.0.1; over HTTP (a reviewer's
   token as Bearer) it times the queue (`GET /api/queue`) and every scanned item with
   its pictures (`GET /api/items/ID`, then its pages' images side by side, as a browser
   fetches them): the first time (rendered from the archived scan, or already rendered in
   the background, as `review serve` does unless `--no-prerender`) and again (from the
   cache under scans/crops/).

Prints the figures and a Markdown row for BENCHMARKS.md. Targets: queue < 200 ms, an item
with its image < 300 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.machine import machine_line  # noqa: E402

SCAN_MIX = ("overvote=0.45,faint_pencil=0.25,circle_outside=0.1,qr_damaged=0.05,unreadable=0,comment=0.1,"
            "rescan=0,blank_pages=0,foreign_pages=0,duplex_trays=0,photocopy=0.03,missing_page=0.02")


def hybrid(*args: object, env: dict, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, str(ROOT / "cli.py"), *map(str, args)], env=env, capture_output=True,
                          text=True)
    if check and done.returncode not in (0, 1):
        raise SystemExit(f"hybrid {' '.join(map(str, args))} failed:\n{done.stdout}\n{done.stderr}")
    return done


def scanned_deck(base: Path, count: int, env: dict) -> Path:
    """A simulated tray scanned through `hybrid scan`; the deck folder."""
    from deck.build import DeckMix, simulate_deck

    from hybrid.definition_file import load_process

    deck = base / "deck"
    simulate_deck(load_process(ROOT / "hybrid" / "examples" / "poll.yaml"), deck, count=count, degrade="light",
                  seed=5, mix=DeckMix.parse(SCAN_MIX))
    truth = json.loads((deck / "truth.json").read_text(encoding="utf-8"))
    env["XDG_CONFIG_HOME"] = str(deck / "config")
    hybrid("-C", deck / "workspace", "scan", deck / "scans", "--batch", "tray",
           "--received", truth["received"], env=env)
    return deck


def add_open_items(root: Path, wanted: int) -> tuple[int, list[str]]:
    """Issue ballots and ingest one overvoted page of each until `wanted` items are open;
    (items open now, the ids of the scanned ones that were there before)."""
    from hybrid import review
    from hybrid.codes import new_code
    from hybrid.page_reading import BoxScore, PageKind, PageReading, ScannedPage
    from hybrid.paper_records import ingest_page
    from hybrid.states import MarkState
    from hybrid.workspace import Workspace

    ws = Workspace(root)
    store = ws.open_store()
    process = ws.process
    before = [i.id for i in review.list_items(store, process)]
    have = len(before)
    layout = next(lay for lay in store.layouts().values() if not lay.large_print and lay.language == "de")
    page = layout.pages[0]
    q1 = [b for b in page.boxes if b.question == "q1"]
    missing = max(0, wanted - have)
    codes = [new_code() for _ in range(missing)]
    with store.transaction():
        first = store.next_serial()
        run = store.start_print_run(first, first + missing - 1, layout.layout_hash, "benchmark")
        store.issue_ballots(run, layout.layout_hash, [(first + i, store.code_hash(c)) for i, c in enumerate(codes)])
    layouts = store.layouts()
    received = date.fromisoformat(json.loads((root.parent / "truth.json").read_text())["received"])
    for i, code in enumerate(codes):
        sha = hashlib.sha256(f"benchmark:{i}".encode()).hexdigest()
        boxes = tuple(BoxScore(b.question, b.option, b.number,
                               MarkState.MARKED if b in q1[:2] else MarkState.EMPTY, 0.3 if b in q1[:2] else 0.0)
                      for b in page.boxes)
        scanned = ScannedPage(source=f"scan:{sha}#p1", input_sha256=sha, page_no=1, batch="bulk", received=received,
                              kind=PageKind.BALLOT, process_id=process.id, layout_hash=layout.layout_hash,
                              ballot_page=1, serial=first + i, code=code, reasons=(), mark_signature=sha,
                              reading=PageReading(boxes=boxes))
        with store.transaction():  # one transaction per page, as the scanner does
            ingest_page(store, process, layouts, scanned)
    total = len(review.list_items(store, process))
    store.close()
    return total, before


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def timed(client, url: str) -> tuple[float, object]:
    started = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed, response


def summary(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return f"median {statistics.median(ms):.0f} ms, p95 {p95:.0f} ms, max {ms[-1]:.0f} ms (n={len(ms)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--scanned", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--no-prerender", action="store_true",
                        help="Serve with --no-prerender: every first view renders its picture on demand.")
    args = parser.parse_args()
    import httpx

    env = {k: v for k, v in os.environ.items() if k not in ("HYBRID_DATABASE_URL", "HYBRID_SECRET")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    with tempfile.TemporaryDirectory(prefix="hybrid-review-bench-") as tmp:
        base = Path(tmp)
        t0 = time.perf_counter()
        deck = scanned_deck(base, args.scanned, env)
        os.environ["XDG_CONFIG_HOME"] = env["XDG_CONFIG_HOME"]
        root = deck / "workspace"
        total, scanned_items = add_open_items(root, args.items)
        print(f"store built in {time.perf_counter() - t0:.0f} s: {total} open items", flush=True)
        token = hybrid("-C", root, "review", "token", "Benchmark", env=env).stdout.strip().split("token=")[1]
        port = free_port()
        server = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "-C", str(root), "review", "serve",
                                   "--port", str(port), "--no-prerender" if args.no_prerender else "--prerender"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            base_url = f"http://127.0.0.1:{port}"
            client = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
            deadline = time.monotonic() + 30
            while True:
                try:
                    client.get("/api/queue")
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise SystemExit(server.stderr.read().decode() if server.stderr else "server did not start")
                    time.sleep(0.2)
            queue_times, changed_times, size = [], [], 0
            for _ in range(args.rounds):
                elapsed, response = timed(client, "/api/queue")
                queue_times.append(elapsed)
                size = len(response.content)
                open_items = response.json()["counts"]["open"]
            # After a decision on this page the queue is patched; after a change made elsewhere
            # (another workstation, the CLI, a scan) it is worked out again.
            from hybrid import review
            from hybrid.workspace import Workspace

            victim = next(i for g in response.json()["groups"] if g["group"] == "overvote" for i in g["items"])
            version = victim["version"]
            other = Workspace(root).open_store()
            process = Workspace(root).process
            elsewhere_times = []
            for _ in range(max(5, args.rounds // 3)):
                for action, body in (("decide", {"action": "reject"}), ("undo", {})):
                    done = client.post(f"/api/items/{victim['id']}/{action}", json={**body, "version": version})
                    done.raise_for_status()
                    version += 1
                elapsed, response = timed(client, "/api/queue")
                changed_times.append(elapsed)
                review.decide(other, process, victim["id"], review.DecisionRequest("reject"), "Elsewhere")
                review.undo(other, process, victim["id"], "Elsewhere")
                version += 2
                elapsed, response = timed(client, "/api/queue")
                elsewhere_times.append(elapsed)
            other.close()
            scanned = []
            for item_id in scanned_items:
                elapsed, detail = timed(client, f"/api/items/{item_id}")
                pages = detail.json()["pages"]
                if pages and all(p["crop_url"] for p in pages):
                    scanned.append(item_id)
            cold, warm = [], []
            pictures = ThreadPoolExecutor(max_workers=6)  # a browser fetches an item's images side by side
            for runs in (cold, warm):
                for item_id in scanned:
                    started = time.perf_counter()
                    _, detail = timed(client, f"/api/items/{item_id}")
                    list(pictures.map(lambda page: timed(client, page["crop_url"]), detail.json()["pages"]))
                    runs.append(time.perf_counter() - started)
        finally:
            server.terminate()
            server.wait(10)
    print(f"queue with {open_items} open items ({size / 1024:.0f} KiB JSON): {summary(queue_times)}")
    print(f"queue right after a decision on the page (patched): {summary(changed_times)}")
    print(f"queue right after a change made elsewhere (worked out again): {summary(elsewhere_times)}")
    how = "rendered from the scan on demand" if args.no_prerender else "as `review serve` does, pre-rendering"
    print(f"item + its pictures, first view ({how}): {summary(cold)}")
    print(f"item + its pictures, again (cached under scans/crops/): {summary(warm)}")
    print("\nMarkdown row for BENCHMARKS.md:")
    print(f"| {date.today().isoformat()} | {open_items} | {statistics.median(queue_times) * 1000:.0f} ms "
          f"(p95 {sorted(queue_times)[int(0.95 * (len(queue_times) - 1))] * 1000:.0f} ms) | "
          f"{statistics.median(changed_times) * 1000:.0f} ms (max {max(changed_times) * 1000:.0f} ms) | "
          f"{statistics.median(elsewhere_times) * 1000:.0f} ms (max {max(elsewhere_times) * 1000:.0f} ms) | "
          f"{statistics.median(cold) * 1000:.0f} ms (max {max(cold) * 1000:.0f} ms) | "
          f"{statistics.median(warm) * 1000:.0f} ms (max {max(warm) * 1000:.0f} ms) | {machine_line()} |")


if __name__ == "__main__":
    main()

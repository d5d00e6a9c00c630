"""Merge benchmark: 1,000,000 records merged with every CSV and CONSUL output.

    .venv/bin/python benchmarks/merge_speed.py [--records 1000000] [--kind poll|budget] [--documents]
    .venv/bin/python benchmarks/merge_speed.py --reuse DIR --compare-workbook OLD/results_workbook.py

Builds a throwaway workspace (the sample poll or budget) whose SQLite store holds
`--records` records from every channel, written straight into the tables as scanning and
the webhook would leave them: 78 % paper ballots (2 % of them blank, 2 % in review), 17 %
SMS (a fifth of them for a code also returned on paper, half of those with other
choices, so merge meets cross-channel duplicates and conflicts), 5 % phone calls. Then
times, in one process: `merge_records` (read, decide every identity again, people's
decisions), ballots.csv + votes.csv + tally.csv + comments.csv, and consul/. With
`--documents` also results.xlsx and report.pdf. Peak memory is the process's maximum RSS
(ru_maxrss; the store is built in a child process). Prints a Markdown row for BENCHMARKS.md.

`--compare-workbook FILE` times results.xlsx alone, written by this tree's writer and by
the `write_results_workbook` of FILE (an earlier version of hybrid/results/workbook.py),
alternately, three times each on the same merge in one process, so that a machine
shared with other work slows both alike; prints each run and the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import machine_line  # noqa: E402

from hybrid.definition_file import load_process  # noqa: E402
from hybrid.store import Store, now_utc  # noqa: E402



def random_choices(process, rng: random.Random) -> dict[str, list[str]]:
    if process.kind == "poll":
        return {q.id: rng.sample([o.id for o in q.options], rng.randint(1, q.max_choices)) for q in process.questions}
    budget = process.budget
    left, chosen = budget.heading.amount, []
    for inv in rng.sample(budget.investments, 6):
        if inv.price <= left:
            chosen.append(inv.id)
            left -= inv.price
    return {"budget": chosen}


def build_store(root: Path, kind: str, records: int, seed: int = 1) -> float:
    """A workspace with `records` records; returns the seconds it took to build."""
    started = time.perf_counter()
    rng = random.Random(seed)
    root.mkdir(parents=True)
    (root / "process.yaml").write_text((ROOT / "hybrid" / "examples" / f"{kind}.yaml").read_text(encoding="utf-8"),
                                       encoding="utf-8")
    process = load_process(root / "process.yaml")
    store = Store.open(root, process.id, create=True)
    conn = store.conn.conn  # the sqlite3 connection: bulk loading, not the product's write path
    now = now_utc()
    conn.execute("INSERT INTO layouts VALUES ('bench', 'BENCH-1', 'de', 0, '{}', ?)", (now,))
    paper = int(records * 0.78)
    sms = int(records * 0.17)
    voice = records - paper - sms
    ballots = paper + int(sms * 0.8) + voice
    conn.execute("INSERT INTO print_runs (created_at, first_serial, last_serial, layout_hash, purpose) "
                 "VALUES (?, 1, ?, 'bench', 'benchmark')", (now, ballots))
    hashes = [secrets.token_hex(32) for _ in range(ballots)]
    conn.executemany("INSERT INTO ballots (serial, code_hash, layout_hash, run_id, created_at) "
                     "VALUES (?, ?, 'bench', 1, ?)", ((i + 1, h, now) for i, h in enumerate(hashes)))

    # Every vote inside the process's window: paper arrives ten days after it opens.
    first_day = process.opens.astimezone(timezone.utc)
    window_seconds = int((process.closes - process.opens).total_seconds()) - 1
    arrival = (process.opens + timedelta(days=10)).date().isoformat()

    def paper_rows():
        for i in range(paper):
            roll = rng.random()
            choices = {} if roll < 0.02 else random_choices(process, rng)
            status, reasons = ("counted", ["blank_ballot"]) if roll < 0.02 else (
                ("review", ["marginal_mark"]) if roll < 0.04 else ("counted", []))
            yield ("paper", hashes[i], i + 1, f"scan:{i:064x}#p1", arrival, status, json.dumps(reasons),
                   json.dumps(choices), now, None, None, None)

    def phone_rows(channel: str, count: int, first: int, shared: int):
        for i in range(count):
            if i < shared:  # a code also returned on paper
                index = rng.randrange(paper)
                choices = random_choices(process, rng)
            else:
                index = first + i - shared
                choices = random_choices(process, rng)
            at = (first_day + timedelta(seconds=rng.randrange(window_seconds))).isoformat()
            yield (channel, hashes[index], index + 1, f"{channel}:{'SM' if channel == 'sms' else 'CA'}{i:032x}", at,
                   "counted", "[]", json.dumps(choices), now, secrets.token_hex(32), "counted", "[]")

    sql = ("INSERT INTO records (channel, code_hash, serial, source, received_at, status, reasons, choices, "
           "updated_at, phone_hash, own_status, own_reasons) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    conn.executemany(sql, paper_rows())
    shared = int(sms * 0.2)
    conn.executemany(sql, phone_rows("sms", sms, paper, shared))
    conn.executemany(sql, phone_rows("voice", voice, paper + sms - shared, 0))
    conn.commit()
    store.close()
    return time.perf_counter() - started


def run(records: int, kind: str, documents: bool, reuse: Path | None = None) -> dict:
    from hybrid import review
    from hybrid.results.consul_files import write_consul_folder
    from hybrid.merge import merge_records
    from hybrid.results.public_files import (BALLOTS_COLUMNS, COMMENTS_COLUMNS, TALLY_COLUMNS, VOTES_COLUMNS, ballots_rows,
                                     comments_rows, tally_rows, votes_rows, write_csv,
                                     write_plain_csv)

    work = reuse or Path(tempfile.mkdtemp(prefix="hybrid-merge-bench-"))
    os.environ["XDG_CONFIG_HOME"] = str(work / "config")
    built = 0.0
    if not (work / "ws").exists():  # in a child process, so the peak memory below is merge's alone
        started = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--build-only", str(work), "--records", str(records), "--kind", kind],
                       check=True, env=os.environ)
        built = time.perf_counter() - started
    print(f"workspace: {work / 'ws'}")
    process = load_process(work / "ws" / "process.yaml")
    store = Store.open(work / "ws", process.id)
    # The webhook and the scanner decide every vote on arrival; the bulk-loaded rows were
    # not, so one untimed merge first puts the store where they would have left it.
    settle = time.perf_counter()
    settled = merge_records(store, process).redecided
    settle = time.perf_counter() - settle
    out = Path(tempfile.mkdtemp(prefix="out-", dir=work))
    timings = {}
    from hybrid.merge import no_cycle_collection

    paused = no_cycle_collection()  # as `write_merge` does around the whole merge
    paused.__enter__()
    started = time.perf_counter()
    result = merge_records(store, process)
    timings["merge_records"] = time.perf_counter() - started
    mark = time.perf_counter()
    write_csv(out / "ballots.csv", BALLOTS_COLUMNS, ballots_rows(result.records))
    write_plain_csv(out / "votes.csv", VOTES_COLUMNS, votes_rows(result.records))
    write_csv(out / "tally.csv", TALLY_COLUMNS, tally_rows(result))
    write_csv(out / "comments.csv", COMMENTS_COLUMNS, comments_rows(review.confirmed_comments(store)))
    timings["csv"] = time.perf_counter() - mark
    mark = time.perf_counter()
    write_consul_folder(result, out / "consul")
    timings["consul"] = time.perf_counter() - mark
    timings["total"] = time.perf_counter() - started
    if documents:
        from datetime import datetime, timezone

        from hybrid.results.report_pdf import write_report
        from hybrid.results.workbook import write_results_workbook

        mark = time.perf_counter()
        write_results_workbook(result, out / "results.xlsx", head="0" * 64)
        timings["results.xlsx"] = time.perf_counter() - mark
        mark = time.perf_counter()
        files = write_consul_folder(result, out / "consul")
        write_report(result, out / "report.pdf", head="0" * 64, consul=files, generated_at=datetime.now(timezone.utc))
        timings["report.pdf"] = time.perf_counter() - mark
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    counted = sum(1 for r in result.records if r.state.value == "counted")
    store.close()
    return {"records": len(result.records), "counted": counted, "redecided": settled, "settle": settle, "built": built,
            "timings": timings, "peak_mb": peak}


def compare_workbooks(work: Path, old_module: Path, rounds: int = 3) -> None:
    """results.xlsx by this tree's writer and by `old_module`'s, alternately, on one merge."""
    import importlib.util
    import statistics

    from hybrid.merge import merge_records, no_cycle_collection
    from hybrid.results.workbook import write_results_workbook as new_writer

    spec = importlib.util.spec_from_file_location("old_results_workbook", old_module)
    assert spec is not None and spec.loader is not None
    old = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(old)
    os.environ["XDG_CONFIG_HOME"] = str(work / "config")
    process = load_process(work / "ws" / "process.yaml")
    store = Store.open(work / "ws", process.id)
    out = Path(tempfile.mkdtemp(prefix="xlsx-", dir=work))
    times: dict[str, list[float]] = {"new": [], "old": []}
    with no_cycle_collection():
        result = merge_records(store, process)
        for round_ in range(rounds):
            for name, writer in (("new", new_writer), ("old", old.write_results_workbook)):
                started = time.perf_counter()
                writer(result, out / f"{name}.xlsx", head="0" * 64)
                times[name].append(time.perf_counter() - started)
                size = (out / f"{name}.xlsx").stat().st_size / 1e6
                print(f"round {round_ + 1}: {name} {times[name][-1]:.1f} s, {size:.0f} MB", flush=True)
    store.close()
    print(f"machine: {machine_line()}")
    print(f"{len(result.records):,} records: results.xlsx median new {statistics.median(times['new']):.1f} s, "
          f"old {statistics.median(times['old']):.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--kind", choices=("poll", "budget"), default="poll")
    parser.add_argument("--documents", action="store_true", help="also results.xlsx and report.pdf")
    parser.add_argument("--reuse", type=Path, help="a folder from an earlier run (its store is used again)")
    parser.add_argument("--compare-workbook", type=Path, help="an earlier results_workbook.py to time against")
    parser.add_argument("--build-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.compare_workbook:
        if not args.reuse:
            parser.error("--compare-workbook needs --reuse DIR (a store built by an earlier run)")
        compare_workbooks(args.reuse, args.compare_workbook)
        return
    if args.build_only:
        os.environ["XDG_CONFIG_HOME"] = str(args.build_only / "config")
        build_store(args.build_only / "ws", args.kind, args.records)
        return
    got = run(args.records, args.kind, args.documents, args.reuse)
    t = got["timings"]
    print(f"machine: {machine_line()}")
    print(f"store built in {got['built']:.1f} s; {got['records']:,} records, {got['counted']:,} counted, "
          f"{got['redecided']:,} decided again by a first merge ({got['settle']:.1f} s, not timed)")
    print("| records | kind | merge_records | CSV | CONSUL | total (≤ 30 s) | peak RSS (≤ 2 GiB) | extra |")
    print("|---|---|---|---|---|---|---|---|")
    extra = ", ".join(f"{k} {v:.1f} s" for k, v in t.items() if k in ("results.xlsx", "report.pdf")) or "—"
    print(f"| {got['records']:,} | {args.kind} | {t['merge_records']:.1f} s | {t['csv']:.1f} s | {t['consul']:.1f} s "
          f"| **{t['total']:.1f} s** | {got['peak_mb']:.0f} MB | {extra} |")


if __name__ == "__main__":
    main()

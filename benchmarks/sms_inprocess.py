"""CPU per SMS without HTTP: `SmsService.receive` on the load benchmark's message mix.

    .venv/bin/python benchmarks/sms_inprocess.py [--messages 3000] [--profile]

A throwaway poll workspace (SQLite, or PostgreSQL when HYBRID_DATABASE_URL is set) with
enough issued codes; the messages are built as `sms_load.py` builds them (80 % votes, some
repeated or changed, wrong codes, HILFE, STATUS, chatter) and taken one after the other.
Prints CPU and wall time per message; `--profile` adds a pyinstrument profile when
pyinstrument is installed. Run it in two checkouts to compare them on one machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import sms_load  # noqa: E402


def messages(codes: list[str], count: int, seed: int = 1) -> list:
    from sms.service import InboundSms

    return [InboundSms(f"SM{n:032x}", sms_load.ACCOUNT, body, sender)
            for n, (sender, body) in enumerate(sms_load.message_mix(codes, count, seed))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    from hybrid.workspace import Workspace
    from sms.service import SmsService

    sms_load.CODES = args.messages + 200
    root = Path(tempfile.mkdtemp(prefix="hybrid-sms-inprocess-")) / "ws"
    codes = sms_load.make_workspace(root, os.environ.get("HYBRID_DATABASE_URL"))
    ws = Workspace(root)
    store = ws.open_store()
    service = SmsService(store, ws.process)
    batch = messages(codes, args.messages)
    profiler = None
    if args.profile:
        import pyinstrument

        profiler = pyinstrument.Profiler(interval=0.0005)
        profiler.start()
    cpu, wall = time.process_time(), time.perf_counter()
    for message in batch:
        service.receive(message)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if profiler is not None:
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False))
    store.close()
    print(f"{args.messages} messages: {cpu / args.messages * 1000:.3f} ms CPU, "
          f"{wall / args.messages * 1000:.3f} ms wall per message")


if __name__ == "__main__":
    main()

"""SMS webhook load benchmark: signed requests per second, latency, nothing lost.

    .venv/bin/python benchmarks/sms_load.py [--rate 500] [--duration 60] [--engines sqlite,postgresql]
                                            [--workers 1] [--connections 32] [--providers twilio,gateway]

Both SMS providers are measured side by side in one run: Twilio's route (`POST
/twilio/sms`, form-encoded, X-Twilio-Signature) and the self-hosted gateway's (`POST
/gateway/sms`, android-sms-gateway's JSON events with X-Signature/X-Timestamp), the
same message mix. For the gateway, a stand-in phone (doubles/gateway_double.py, in its
own process) takes the replies the server sends through its API; afterwards every
reply must have reached it ("replies": those sent, those still missing after at most
5 minutes, and how long after the load the last one went out; a real phone sends about
one SMS a second, so the outbox, not the webhook, sets the pace of replies).

For each configuration a real `hybrid sms serve` process (uvicorn; httptools and uvloop
when installed) serves a throwaway poll workspace with 20,000 issued codes; the load
generator, on the same machine, sends requests signed exactly as Twilio signs them at a
fixed rate (open loop: latency counts from the moment a request was due, so a slow
server cannot hide its queue) over keep-alive connections. The mix: 80 % votes (fresh
codes, some sent twice, some changed), 5 % each wrong codes, HELP, STATUS and chatter,
from 25,000 different phones. Afterwards every request must have had a 200 with TwiML
and the store must hold every message exactly once ("lost" counts the difference).

The baseline, in the same run: the same requests against a bare Starlette app under the
same uvicorn that checks the signature and answers fixed TwiML, storing nothing.
PostgreSQL: a throwaway cluster from Debian's binaries with default durability
(fsync and synchronous_commit on), on a Unix socket. Prints Markdown rows for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import machine_line  # noqa: E402
sys.path.insert(0, str(ROOT / "tests"))  # postgres_cluster.py: Debian's server in a temp folder

ACCOUNT = "AC" + "be" * 16
TOKEN = "5ec7e7" + "0" * 26
PUBLIC_URL = "https://abstimmung.example.de"
NUMBER = "+4915792418830"
CODES = 20_000
GATEWAY_KEY = "bench-signing-key"
REPLY_DRAIN_SECONDS = 300
GATEWAY_USER, GATEWAY_PASSWORD = "sms", "gateway-secret"



# -- the workspace ------------------------------------------------------------------------


def make_workspace(root: Path, database_url: str | None, provider: str = "twilio") -> list[str]:
    """A poll workspace, open for voting, with CODES issued codes; returns them."""
    from forms.compose import BallotComposer
    from hybrid.codes import new_code
    from hybrid.workspace import Workspace

    text = (ROOT / "hybrid" / "examples" / "poll.yaml").read_text(encoding="utf-8")
    text = text.replace("opens: 2027-05-03T00:00:00+02:00", "opens: 2020-01-01T00:00:00+01:00")
    text = text.replace("closes: 2027-06-01T00:00:00+02:00", "closes: 2099-01-01T00:00:00+01:00")
    if provider == "gateway":
        text = text.replace('    number: "+49 157 92418830"\n', '    number: "+49 157 92418830"\n    provider: android-gateway\n')
        text = text.replace('  voice:\n    number: "+49 931 4650 0190"\n', "")
    root.mkdir(parents=True)
    (root / "process.yaml").write_text(text, encoding="utf-8")
    if database_url:
        os.environ["HYBRID_DATABASE_URL"] = database_url
    else:
        os.environ.pop("HYBRID_DATABASE_URL", None)
    ws = Workspace(root)
    store = ws.open_store(create=True)
    layout = BallotComposer(ws.process, "de", False).compose().layout
    codes = list({new_code() for _ in range(CODES)})
    with store.transaction():
        store.save_layout(layout)
        run = store.start_print_run(1, len(codes), layout.layout_hash, "benchmark")
        store.issue_ballots(run, layout.layout_hash, [(i + 1, store.code_hash(c)) for i, c in enumerate(codes)])
    store.close()
    return codes


# -- the requests -------------------------------------------------------------------------


def message_mix(codes: list[str], count: int, seed: int = 1) -> list[tuple[str, str]]:
    """`count` (sender, body) pairs: 70 % fresh votes, 10 % a code again (a duplicate or a
    changed vote), 5 % each a wrong code, HILFE, STATUS and chatter, from 25,000 phones."""
    from hybrid.codes import format_code

    rnd = random.Random(seed)
    fresh = iter(codes)
    used: list[str] = []
    out = []
    for _ in range(count):
        kind = rnd.random()
        sender = f"+49151{rnd.randrange(25_000):08d}"
        if kind < 0.70:
            code = next(fresh, None) or rnd.choice(codes)
            used.append(code)
            body = f"{format_code(code)} {rnd.randint(1, 4)} {rnd.randint(5, 9)} {rnd.choice([10, 11])}"
        elif kind < 0.80 and used:  # the same code again: a duplicate or a changed vote
            body = f"{rnd.choice(used)} {rnd.randint(1, 4)}"
        elif kind < 0.85:
            body = f"{rnd.randrange(10**11, 10**12)} 1 5"  # a wrong code
        elif kind < 0.90:
            body = "HILFE"
        elif kind < 0.95:
            body = f"STATUS {rnd.choice(used or codes)}"
        else:
            body = "Hallo, wie funktioniert das?"
        out.append((sender, body))
    return out


def build_requests(codes: list[str], count: int, port: int, seed: int = 1, provider: str = "twilio") -> list[bytes]:
    """`count` raw HTTP requests, each a signed inbound SMS with its own MessageSid (or event id)."""
    from datetime import datetime, timezone

    from doubles.gateway_double import event_body, signed_headers
    from doubles.twilio_double import inbound_params, sign

    out = []
    for n, (sender, body) in enumerate(message_mix(codes, count, seed)):
        if provider == "gateway":
            event = event_body(body, sender, datetime.now(timezone.utc), event_id=f"ev{seed:04x}{n:015x}")
            headers = signed_headers(GATEWAY_KEY, event)
            head = (f"POST /gateway/sms HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: {headers['User-Agent']}\r\n"
                    f"Content-Type: application/json\r\nX-Timestamp: {headers['X-Timestamp']}\r\n"
                    f"X-Signature: {headers['X-Signature']}\r\nContent-Length: {len(event)}\r\n\r\n").encode()
            out.append(head + event)
            continue
        sid = "SM" + f"{seed:04x}{n:028x}"
        params = inbound_params(sid, ACCOUNT, sender, NUMBER, body)
        payload = urlencode(params).encode()
        signature = sign(TOKEN, PUBLIC_URL + "/twilio/sms", params)
        head = (f"POST /twilio/sms HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: TwilioProxy/1.1\r\n"
                f"Content-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: {signature}\r\n"
                f"Content-Length: {len(payload)}\r\n\r\n").encode()
        out.append(head + payload)
    return out


# -- the load generator -------------------------------------------------------------------


@dataclass
class Result:
    sent: int
    ok: int
    errors: int
    seconds: float
    latencies: list[float]  # from the moment each request was due
    done_at: list[float]  # seconds since the start when each answer came

    def timeline(self, step: float = 5.0) -> str:
        """Answers and worst latency per `step` seconds: a stall shows as a gap and a spike."""
        buckets: dict[int, list[float]] = {}
        for at, latency in zip(self.done_at, self.latencies):
            buckets.setdefault(int(at // step), []).append(latency)
        return " ".join(f"{int(k * step)}s:{len(v)}/{max(v) * 1000:.0f}ms" for k, v in sorted(buckets.items()))

    def row(self) -> dict:
        lat = sorted(self.latencies) or [float("nan")]
        q = statistics.quantiles(lat, n=100) if len(lat) > 1 else [lat[0]] * 99
        return {"rate": self.ok / self.seconds, "p50": q[49] * 1000, "p95": q[94] * 1000, "p99": q[98] * 1000,
                "max": lat[-1] * 1000}


async def load(port: int, requests: list[bytes], rate: float, connections: int) -> Result:
    queue: asyncio.Queue = asyncio.Queue()
    latencies: list[float] = []
    done_at: list[float] = []
    counts = {"ok": 0, "errors": 0}
    start = time.perf_counter() + 0.2

    async def connection() -> None:
        reader = writer = None
        while True:
            item = await queue.get()
            if item is None:
                break
            due, data = item
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(data)
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length)
                good = head.startswith(b"HTTP/1.1 200") and body.startswith((b"<?xml", b'{"status":"stored"}'))
                counts["ok" if good else "errors"] += 1
            except (OSError, asyncio.IncompleteReadError):
                counts["errors"] += 1
                writer = None
            now = time.perf_counter()
            latencies.append(now - due)
            done_at.append(now - start)
        if writer is not None:
            writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(connections)]
    for index, data in enumerate(requests):
        due = start + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((due, data))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    return Result(len(requests), counts["ok"], counts["errors"], time.perf_counter() - start, latencies, done_at)


# -- servers ------------------------------------------------------------------------------


def start_server(args: list[str], env: dict) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=str(ROOT))
    line = proc.stdout.readline().decode()
    port = int(line.split("127.0.0.1:")[1].split()[0])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if sock.recv(100).startswith(b"HTTP/1.1 200"):
                    time.sleep(1.0)  # every worker up
                    return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def baseline_app():
    """Signature check and fixed TwiML, no store: what uvicorn + Starlette cost alone."""
    from urllib.parse import parse_qsl

    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route
    from twilio.request_validator import RequestValidator

    from sms.webhook import FormParams, twiml

    validator = RequestValidator(TOKEN)

    async def sms(request):
        params = FormParams(parse_qsl((await request.body()).decode("latin-1"), keep_blank_values=True))
        if not validator.validate(PUBLIC_URL + "/twilio/sms", params, request.headers.get("x-twilio-signature", "")):
            return Response(status_code=403)
        return Response(twiml("Danke! Wir haben Ihre Stimme erhalten."), media_type="application/xml")

    return Starlette(routes=[Route("/twilio/sms", sms, methods=["POST"]),
                             Route("/healthz", lambda r: Response("ok"), methods=["GET"])])


def serve_baseline() -> None:
    import uvicorn

    from sms.webhook import bind

    sock = bind("127.0.0.1", 0)
    print(f"Listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    uvicorn.Server(uvicorn.Config(baseline_app(), ws="none", log_level="warning", access_log=False)).run(sockets=[sock])


def serve_gateway_double() -> None:
    """The stand-in phone's API, in its own process, until stdin closes."""
    from doubles.gateway_double import FakeGateway

    with FakeGateway(GATEWAY_KEY, username=GATEWAY_USER, password=GATEWAY_PASSWORD) as phone:
        print(f"Listening on {phone.url}", flush=True)
        sys.stdin.read()
        print(len(phone.sent), flush=True)


def sent_replies(root: Path, database_url: str | None) -> tuple[int, int]:
    """(replies sent, replies queued) in the outbox."""
    from hybrid.workspace import Workspace

    if database_url:
        os.environ["HYBRID_DATABASE_URL"] = database_url
    store = Workspace(root).open_store()
    try:
        rows = dict(store.conn.execute("SELECT state, COUNT(*) FROM sms_outbox GROUP BY state").fetchall())
        return int(rows.get("sent", 0)), int(rows.get("queued", 0)) + int(rows.get("failed", 0))
    finally:
        store.close()


def stored_messages(root: Path, database_url: str | None) -> int:
    from hybrid.workspace import Workspace

    if database_url:
        os.environ["HYBRID_DATABASE_URL"] = database_url
    store = Workspace(root).open_store()
    try:
        return store.conn.execute("SELECT COUNT(*) FROM sms_messages").fetchone()[0]
    finally:
        store.close()


def run_one(label: str, engine: str | None, workers: int, args, base: Path, cluster, provider: str = "twilio") -> dict:
    env = dict(os.environ, TWILIO_ACCOUNT_SID=ACCOUNT, TWILIO_AUTH_TOKEN=TOKEN, HYBRID_PUBLIC_URL=PUBLIC_URL,
               PYTHONPATH=str(ROOT), XDG_CONFIG_HOME=str(base / "keys"))
    os.environ["XDG_CONFIG_HOME"] = env["XDG_CONFIG_HOME"]
    url = cluster.new_database() if engine == "postgresql" else None
    workspace = base / label.replace(" ", "-").replace(",", "")
    phone = None
    if engine is None:
        command = [sys.executable, str(Path(__file__).resolve()), "--serve-baseline"]
    else:
        codes = make_workspace(workspace, url, provider)
        if url:
            env["HYBRID_DATABASE_URL"] = url
        else:
            env.pop("HYBRID_DATABASE_URL", None)
        command = [sys.executable, str(ROOT / "cli.py"), "-C", str(workspace), "sms", "serve", "--port", "0",
                   "--workers", str(workers)]
        if provider == "gateway":
            phone = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--serve-gateway-double"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=str(ROOT))
            phone_url = phone.stdout.readline().decode().split("Listening on ")[1].strip()
            env.update(HYBRID_GATEWAY_URL=phone_url, HYBRID_GATEWAY_USERNAME=GATEWAY_USER,
                       HYBRID_GATEWAY_PASSWORD=GATEWAY_PASSWORD, HYBRID_GATEWAY_SIGNING_KEY=GATEWAY_KEY)
    proc, port = start_server(command, env)
    load_before = Path("/proc/loadavg").read_text().split()[0]
    cpu_before = server_cpu(proc.pid)
    replies = "–"
    try:
        requests = build_requests(codes if engine else [f"{i:012d}" for i in range(1000)], int(args.rate * args.duration),
                                  port, provider=provider)
        loop_factory = None
        try:
            import uvloop

            loop_factory = uvloop.new_event_loop
        except ImportError:
            pass
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            result = runner.run(load(port, requests, args.rate, args.connections))
        cpu = server_cpu(proc.pid) - cpu_before
        if phone is not None:  # every reply must reach the phone, after the load
            drain_start = time.monotonic()
            while time.monotonic() < drain_start + REPLY_DRAIN_SECONDS:
                sent, waiting = sent_replies(workspace, url)
                if waiting == 0:
                    break
                time.sleep(0.5)
            replies = f"{sent:,} sent, {waiting} missing, {time.monotonic() - drain_start:.0f} s after the load"
    finally:
        stop(proc)
        if phone is not None:
            phone.stdin.close()
            phone.wait(timeout=30)
    print(f"{label}: timeline (answers/worst latency per 5 s): {result.timeline()}", flush=True)
    stored = stored_messages(workspace, url) if engine else None
    row = result.row()
    row.update(label=label, sent=result.sent, ok=result.ok, errors=result.errors,
               lost="–" if stored is None else str(result.sent - stored), stored=stored, replies=replies,
               load=f"{load_before} → {Path('/proc/loadavg').read_text().split()[0]}",
               cpu=f"{cpu / result.seconds:.2f} cores, {cpu / max(result.ok, 1) * 1000:.2f} ms/request")
    return row


def server_cpu(pid: int) -> float:
    """CPU seconds used so far by the server process and its worker processes (not PostgreSQL's)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid] + [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
                    .stdout.split()]
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--workers", default="1", help="comma-separated server process counts to try")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--providers", default="twilio,gateway", help="twilio, gateway or both")
    parser.add_argument("--serve-baseline", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-gateway-double", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_baseline:
        serve_baseline()
        return
    if args.serve_gateway_double:
        serve_gateway_double()
        return

    base = Path(tempfile.mkdtemp(prefix="hybrid-sms-bench-"))
    engines = [e for e in args.engines.split(",") if e]
    cluster = None
    if "postgresql" in engines:
        from postgres_cluster import Cluster

        cluster = Cluster()
        cluster.start = lambda c=cluster: _durable_start(c)  # default durability, not the tests' fsync=off
        cluster.start()
    rows = []
    try:
        if not args.no_baseline:
            rows.append(run_one("baseline (no store)", None, 1, args, base, cluster))
            print(rows[-1], flush=True)
        for engine in engines:
            for workers in [int(w) for w in args.workers.split(",")]:
                for provider in [p for p in args.providers.split(",") if p]:
                    label = f"{engine}, {workers} worker{'s' if workers > 1 else ''}, {provider}"
                    rows.append(run_one(label, engine, workers, args, base, cluster, provider))
                    print(rows[-1], flush=True)
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(base, ignore_errors=True)
    print()
    print(f"Machine: {machine_line()}; "
          f"{time.strftime('%Y-%m-%d')}; rate {args.rate:g}/s for {args.duration:g} s, "
          f"{args.connections} connections")
    print("| configuration | requests | 200 OK | achieved rate | p50 | p95 | p99 | max | lost | replies (gateway) "
          "| server CPU | load avg |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['label']} | {r['sent']:,} | {r['ok']:,} | {r['rate']:.0f}/s | {r['p50']:.1f} ms | "
              f"{r['p95']:.1f} ms | {r['p99']:.1f} ms | {r['max']:.0f} ms | {r['lost']} | {r['replies']} | {r['cpu']} "
              f"| {r['load']} |")


def _durable_start(cluster):
    """The throwaway cluster, but with PostgreSQL's default fsync and synchronous_commit."""
    import pwd

    if cluster.user:
        entry = pwd.getpwnam(cluster.user)
        os.chown(cluster.root, entry.pw_uid, entry.pw_gid)
        os.chmod(cluster.root, 0o700)
    cluster._run(cluster.bin / "initdb", "-D", cluster.data, "-A", "trust", "-U", "hybrid", "-E", "UTF8")
    options = f"-k {cluster.socket} -p {cluster.port + 1} -c listen_addresses='' -c max_connections=50"
    cluster.port += 1
    cluster._run(cluster.bin / "pg_ctl", "-D", cluster.data, "-o", options, "-l", cluster.root / "log", "-w", "start")
    return cluster


if __name__ == "__main__":
    main()

"""What every SMS provider's webhook server shares (DESIGN §7, issue 15): the app around
the provider's routes, store work off the event loop, refusal counts, /healthz, the
listening socket and uvicorn. No provider's library is imported here.

A caller may rely on:
- `create_app(workspace, providers)` serves each provider's routes and `GET /healthz`
  (200 with the process id, the wrong-code alarm, the refusal counts and what each
  provider adds; 503 when the store cannot be reached; nothing in it names a phone).
- Store work runs on its own thread (four, each with its connection, on PostgreSQL), so
  the event loop stays free; `await threads.run(f)` gives up after `STORE_TIMEOUT` s.
- A provider's `start(threads)` runs once the store is open, `stop()` before it closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hybrid import audit
from hybrid.errors import InvalidInput
from hybrid.store import LockBusy, worth_retrying
from hybrid.store.messages import ping
from hybrid.workspace import Workspace
from sms import limits
from sms.caller import RedactingFilter
from sms.provider import SmsProvider
from sms.service import SmsService
from sms.voice_service import VoiceService

STORE_TIMEOUT = 10.0
POSTGRES_STORE_THREADS = 4
WORKSPACE_ENV = "HYBRID_SMS_WORKSPACE"  # tells uvicorn worker processes where the workspace is

log = logging.getLogger("hybrid.sms")


class Refusals:
    """Counts of refused requests, logged at most every few seconds per kind."""

    INTERVAL = 10.0

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._logged: dict[str, tuple[float, int]] = {}

    def add(self, kind: str, message: str) -> None:
        self.counts[kind] += 1
        now = time.monotonic()
        last, at_count = self._logged.get(kind, (0.0, 0))
        if now - last >= self.INTERVAL:
            more = self.counts[kind] - at_count - 1
            log.warning("refused a request: %s%s", message, f" (and {more} more since)" if more > 0 else "")
            self._logged[kind] = (now, self.counts[kind])


class StoreThreads:
    """Store work off the event loop: a few threads (one on SQLite, which takes one writer
    at a time anyway; four on PostgreSQL, to overlap round trips), each with its own
    connection and the SMS and voice services on it. `await threads.run(function)` runs
    `function` on one of them, giving up after STORE_TIMEOUT seconds.

    Work is taken in batches: what queued up while a thread was busy (at most BATCH_MAX)
    runs in one transaction, each piece in its own savepoint, and every piece is answered
    only after that one COMMIT; an idle server runs each piece at once, alone. In a batch
    the audit entries are chained at the end (`audit.deferred`), so the chain's lock is
    held only from there to the commit, and a lock held elsewhere is never waited for: the
    piece that wanted it runs again alone after the commit (so batches never deadlock)."""

    BATCH_MAX = 64

    def __init__(self, workspace: Path) -> None:
        self.workspace = workspace
        self._local = threading.local()
        self._opened: list[SmsService] = []
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        count = POSTGRES_STORE_THREADS if os.environ.get("HYBRID_DATABASE_URL") else 1
        self._threads = [threading.Thread(target=self._serve, name=f"hybrid-store-{n}", daemon=True)
                         for n in range(count)]
        for thread in self._threads:
            thread.start()

    def sms(self) -> SmsService:
        """This thread's SMS service (reconnecting when PostgreSQL went away)."""
        current = getattr(self._local, "service", None)
        connection = getattr(current.store.conn, "conn", None) if current else None
        if current is None or getattr(connection, "closed", False):
            if current is not None:
                with contextlib.suppress(Exception):
                    current.store.close()
            ws = Workspace(self.workspace)
            self._local.service = current = SmsService(ws.open_store(), ws.process)
            self._opened.append(current)
        return current

    def voice(self) -> VoiceService:
        """This thread's voice service, on the same connection as its SMS service."""
        sms = self.sms()
        current = getattr(self._local, "voice", None)
        if current is None or current.store is not sms.store:
            self._local.voice = current = VoiceService(sms.store, sms.process)
        return current

    async def run(self, function, *args, atomic: bool = False):
        """`function(*args)` on a store thread. `atomic`: it is one transaction of its own
        (`store.transaction()`, which leaves nothing behind when it fails), so a batch runs
        it without a savepoint of its own around it."""
        future = asyncio.get_running_loop().create_future()
        self._queue.put((future, function, args, atomic))
        async with asyncio.timeout(STORE_TIMEOUT):
            return await future

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()
        for current in self._opened:
            with contextlib.suppress(Exception):
                current.store.close()

    # -- a store thread --------------------------------------------------------------------

    def _serve(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.BATCH_MAX:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)  # this thread stops after the batch
                    break
                batch.append(more)
            futures = [future for future, _, _, _ in batch]
            work = [(function, args, atomic) for _, function, args, atomic in batch]
            outcomes = self._run_batch(work)
            busy = [not ok and isinstance(value, LockBusy) for ok, value in outcomes]
            _answer([(future, outcome) for future, outcome, again in zip(futures, outcomes, busy) if not again])
            for future, piece, again in zip(futures, work, busy):
                if again:  # a lock held elsewhere (or a batch the engine rolled back): alone, waiting
                    _answer([(future, _outcome(*piece[:2]))])

    def _run_batch(self, work: list) -> list[tuple[bool, object]]:
        """(ok, result or exception) per piece, each committed when this returns; LockBusy
        for a piece that must run again alone."""
        if len(work) == 1:
            return [_outcome(*work[0][:2])]
        try:
            store = self.sms().store
            with store.transaction(), audit.deferred(store):
                with store.conn.without_waiting():
                    return [_outcome(function, args) if atomic else _in_savepoint(store, function, args)
                            for function, args, atomic in work]
        except Exception as exc:  # BEGIN, the audit entries or COMMIT failed: nothing is stored
            if not worth_retrying(exc):
                return [(False, exc)] * len(work)
            return [(False, LockBusy("the batch"))] * len(work)


def _answer(settled: list) -> None:
    """Hand outcomes to their requests on the event loop that awaits them."""
    if settled:
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            settled[0][0].get_loop().call_soon_threadsafe(_settle, settled)


def _outcome(function, args) -> tuple[bool, object]:
    try:
        return True, function(*args)
    except Exception as exc:
        return False, exc


def _in_savepoint(store, function, args) -> tuple[bool, object]:
    def piece():
        with store.transaction():  # nested: a piece that fails leaves nothing of itself behind
            return function(*args)

    return _outcome(piece, ())


def _settle(settled: list) -> None:
    for future, (ok, value) in settled:
        if future.done():  # the request gave up (STORE_TIMEOUT) while its work queued
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


def create_app(workspace: Path, providers: Sequence[SmsProvider]) -> Starlette:
    refusals = Refusals()
    threads = StoreThreads(workspace)

    async def healthz(request: Request) -> Response:
        def check() -> dict:
            current = threads.sms()
            ping(current.store)
            state = limits.alarm_state(current.store)
            body = {
                "status": "ok", "process": current.process.id,
                "wrong_codes_last_hour": state.wrong_codes_last_hour,
                "wrong_code_alarm": state.active,
                "latest_alarm": state.latest_alarm.raised_at if state.latest_alarm else None,
            }
            for provider in providers:
                body.update(provider.health(current.store))
            return body

        try:
            body = await threads.run(check)
        except Exception as exc:
            log.error("health check: store problem: %s: %s", type(exc).__name__, exc)
            return JSONResponse({"status": "store unavailable"}, status_code=503)
        body["refused_requests"] = dict(refusals.counts)
        return JSONResponse(body)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        await threads.run(threads.sms)  # a store that cannot be opened stops the start
        for provider in providers:
            provider.start(threads)
        try:
            yield
        finally:
            for provider in providers:
                await asyncio.get_running_loop().run_in_executor(None, provider.stop)
            threads.close()

    routes = [route for provider in providers for route in provider.routes(threads, refusals)]
    app = Starlette(routes=[*routes, Route("/healthz", healthz, methods=["GET"])], lifespan=lifespan)
    app.state.refusals = refusals
    return app


def app_from_environment() -> Starlette:
    """The app for a uvicorn worker process: the workspace from HYBRID_SMS_WORKSPACE."""
    from sms.provider import providers_for

    configure_logging()
    workspace = Path(os.environ[WORKSPACE_ENV])
    return create_app(workspace, providers_for(workspace, Workspace(workspace).process))


def configure_logging(level: int = logging.INFO) -> None:
    """Log lines to stderr, every one redacted, for hybrid and uvicorn alike."""
    root = logging.getLogger()
    if any(isinstance(f, RedactingFilter) for h in root.handlers for f in h.filters):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("twilio").setLevel(logging.WARNING)  # its request logs would show numbers
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the gateway client's request logs too


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: any free port); InvalidInput when it is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise InvalidInput(f"cannot listen on {host}:{port}: {exc.strerror}; choose another --port or --host") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def run_server(workspace: Path, providers: Sequence[SmsProvider], sock: socket.socket, *, workers: int = 1,
               access_log: bool = False) -> None:
    """Serve on `sock` until interrupted; with `workers` > 1, as that many processes
    (each builds its providers again from the environment)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    options = dict(ws="none", lifespan="on", log_config=None, access_log=access_log, server_header=False,
                   timeout_keep_alive=30, timeout_graceful_shutdown=5)
    if workers <= 1:
        server = uvicorn.Server(uvicorn.Config(create_app(workspace, providers), **options))
        server.run(sockets=[sock])
        return
    os.environ[WORKSPACE_ENV] = str(workspace.resolve())
    config = uvicorn.Config("sms.serving:app_from_environment", factory=True, workers=workers, **options)
    Multiprocess(config, sockets=[sock]).run()

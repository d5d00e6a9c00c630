"""Twilio's webhooks as an ASGI app (Starlette): `POST /twilio/sms`, `GET /healthz`, and
when the process has a voice channel the phone menu's routes (`sms.voice_webhook`:
`POST /twilio/voice`, `/twilio/voice/gather`, `/twilio/voice/status`).

A caller (Twilio, a load balancer) may rely on:
- A request is taken only when X-Twilio-Signature is valid for HYBRID_PUBLIC_URL + the
  raw path + the raw query string (so it is right behind a TLS-terminating proxy), its
  AccountSid is ours and its To is the process's SMS number (voice routes: its voice
  number), in E.164; anything else is answered 403 and nothing is stored (the refusals
  are counted, in memory, for /healthz).
- A taken message is stored before the reply is sent (`sms.service`); the reply is TwiML,
  `<Response><Message>…</Message></Response>`, or an empty `<Response/>` for Twilio's
  own keywords. The same MessageSid again gets the same reply and is stored once.
- Store work runs on its own thread (four, each with its connection, on PostgreSQL), so
  the event loop stays free; a store that
  does not answer within `STORE_TIMEOUT` seconds (well inside Twilio's 15) gives 503,
  and `hybrid sms pull` recovers the message later.
- /healthz answers 200 with the process id, the wrong-code alarm and the refusal counts,
  or 503 when the store cannot be reached. Nothing it says names a phone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator, get_signature_algorithm
from twilio.twiml.messaging_response import MessagingResponse

from hybrid.errors import InvalidInput
from hybrid.workspace import Workspace
from sms import limits
from sms.caller import RedactingFilter, e164
from sms.service import InboundSms, SmsService
from sms.twilio_config import TwilioConfig, from_environment
from sms.voice_service import VoiceService
from sms.voice_webhook import voice_routes

WEBHOOK_PATH = "/twilio/sms"
MAX_BODY_BYTES = 256 * 1024  # Twilio sends at most 1,600 characters of body
STORE_TIMEOUT = 10.0
POSTGRES_STORE_THREADS = 4
WORKSPACE_ENV = "HYBRID_SMS_WORKSPACE"  # tells uvicorn worker processes where the workspace is
_SID = re.compile(r"^[A-Za-z0-9]{10,64}$")

log = logging.getLogger("hybrid.sms")


@dataclass(frozen=True)
class WebhookSettings:
    workspace: Path
    config: TwilioConfig


class FormParams:
    """Twilio's POST parameters, each name with all its values (what RequestValidator signs)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._values: dict[str, list[str]] = {}
        for name, value in pairs:
            self._values.setdefault(name, []).append(value)

    def getall(self, name: str) -> list[str]:
        return self._values[name]

    def get(self, name: str, default: str = "") -> str:
        values = self._values.get(name)
        return values[0] if values else default

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


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


def twiml(reply: str | None) -> str:
    response = MessagingResponse()
    if reply is not None:
        response.message(reply)
    return str(response)


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


class TwilioGate:
    """Reads a request from Twilio: the form, its signature, AccountSid and To.

    `await gate.form(request, number, channel)` returns the form's parameters, or the
    Response that refuses the request (413, 400, 403), counted in `refusals`."""

    def __init__(self, config: TwilioConfig, refusals: Refusals) -> None:
        self.config = config
        self.refusals = refusals
        self._validator = RequestValidator(config.auth_token)
        self._shared_key_validator = RequestValidator(config.signing_secret) if config.signing_secret else None

    async def form(self, request: Request, number: str, channel: str) -> FormParams | Response:
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                self.refusals.add("too_large", "body larger than 256 KiB")
                return Response("request too large\n", status_code=413, media_type="text/plain")
        try:
            params = FormParams(parse_qsl(body.decode("latin-1"), keep_blank_values=True, encoding="utf-8",
                                          errors="strict", max_num_fields=500))
        except (ValueError, UnicodeDecodeError):
            self.refusals.add("bad_request", "the body is not a form")
            return Response("not a form\n", status_code=400, media_type="text/plain")
        if not self.signature_ok(request, params):
            self.refusals.add("bad_signature", "missing or wrong X-Twilio-Signature")
            return _forbidden()
        if params.get("AccountSid") != self.config.account_sid:
            self.refusals.add("wrong_account", "AccountSid is not this process's account")
            return _forbidden()
        if e164(params.get("To")) != number:
            self.refusals.add("wrong_number", f"To is not this process's {channel} number")
            return _forbidden()
        return params

    def signature_ok(self, request: Request, params: FormParams) -> bool:
        signature = request.headers.get("x-twilio-signature")
        if not signature:
            return False
        raw_path = request.scope.get("raw_path") or request.scope["path"].encode()
        query = request.scope.get("query_string", b"")
        url = self.config.public_url + raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
        settings_header = request.headers.get("x-twilio-webhooks-signature-settings")
        if settings_header is None:
            return self._validator.validate(url, params, signature)
        key_validator = self._shared_key_validator or self._validator
        try:
            return key_validator.validate(url, params, signature, algorithm=get_signature_algorithm(settings_header))
        except TypeError:  # a twilio library without shared-key signatures
            return False


def _forbidden() -> Response:
    return Response("forbidden\n", status_code=403, media_type="text/plain")


class StoreThreads:
    """Store work off the event loop: a few threads, each with its own connection and the
    SMS and voice services on it; `await threads.run(function)` runs `function` on one of
    them, giving up after STORE_TIMEOUT seconds."""

    def __init__(self, workspace: Path) -> None:
        self.workspace = workspace
        # SQLite takes one writer at a time anyway; PostgreSQL overlaps the round trips of a few.
        threads = POSTGRES_STORE_THREADS if os.environ.get("HYBRID_DATABASE_URL") else 1
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="hybrid-store")
        self._local = threading.local()
        self._opened: list[SmsService] = []

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

    async def run(self, function, *args):
        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(loop.run_in_executor(self.executor, function, *args), STORE_TIMEOUT)

    def close(self) -> None:
        self.executor.shutdown(wait=True)
        for current in self._opened:
            with contextlib.suppress(Exception):
                current.store.close()


def create_app(settings: WebhookSettings) -> Starlette:
    config = settings.config
    refusals = Refusals()
    gate = TwilioGate(config, refusals)
    threads = StoreThreads(settings.workspace)
    process = Workspace(settings.workspace).process

    async def sms(request: Request) -> Response:
        params = await gate.form(request, config.sms_number, "SMS")
        if isinstance(params, Response):
            return params
        sid = params.get("MessageSid") or params.get("SmsMessageSid")
        if not _SID.match(sid):
            refusals.add("bad_request", "no MessageSid")
            return Response("MessageSid missing\n", status_code=400, media_type="text/plain")
        message = InboundSms(
            message_sid=sid, account_sid=config.account_sid, body=params.get("Body"), sender=params.get("From"),
            num_segments=_int(params.get("NumSegments")), num_media=_int(params.get("NumMedia")) or 0,
            opt_out_type=params.get("OptOutType") or None,
        )
        try:
            handled = await threads.run(lambda: threads.sms().receive(message, "webhook"))
        except Exception as exc:  # store down or locked: Twilio logs an error; `sms pull` recovers the message
            refusals.add("store_error", f"store problem for message {sid}: {type(exc).__name__}: {exc}")
            return Response("store unavailable\n", status_code=503, media_type="text/plain")
        return Response(twiml(handled.reply), media_type="application/xml")

    async def healthz(request: Request) -> Response:
        def check() -> dict:
            current = threads.sms()
            current.store.conn.execute("SELECT 1").fetchone()
            state = limits.alarm_state(current.store)
            return {
                "status": "ok", "process": current.process.id,
                "wrong_codes_last_hour": state.wrong_codes_last_hour,
                "wrong_code_alarm": state.active,
                "latest_alarm": state.latest_alarm.raised_at if state.latest_alarm else None,
            }

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
        try:
            yield
        finally:
            threads.close()

    routes = [Route(WEBHOOK_PATH, sms, methods=["POST"]), Route("/healthz", healthz, methods=["GET"])]
    if process.channels.voice is not None:
        routes += voice_routes(gate, threads, process, config)
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.refusals = refusals
    return app


def app_from_environment() -> Starlette:
    """The app for a uvicorn worker process: the workspace from HYBRID_SMS_WORKSPACE."""
    configure_logging()
    workspace = Path(os.environ[WORKSPACE_ENV])
    config = from_environment(Workspace(workspace).process)
    return create_app(WebhookSettings(workspace, config))


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


def run_server(settings: WebhookSettings, sock: socket.socket, *, workers: int = 1, access_log: bool = False) -> None:
    """Serve on `sock` until interrupted; with `workers` > 1, as that many processes."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    options = dict(ws="none", lifespan="on", log_config=None, access_log=access_log, server_header=False,
                   timeout_keep_alive=30, timeout_graceful_shutdown=5)
    if workers <= 1:
        server = uvicorn.Server(uvicorn.Config(create_app(settings), **options))
        server.run(sockets=[sock])
        return
    os.environ[WORKSPACE_ENV] = str(settings.workspace.resolve())
    config = uvicorn.Config("sms.webhook:app_from_environment", factory=True, workers=workers, **options)
    Multiprocess(config, sockets=[sock]).run()

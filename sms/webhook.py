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
  own keywords and opt-outs. The same MessageSid again gets the same reply and is stored once.
- Store work runs on its own thread (`sms.serving.StoreThreads`), so the event loop
  stays free; a store that does not answer within `sms.serving.STORE_TIMEOUT` seconds
  (well inside Twilio's 15) gives 503,
  and `hybrid sms pull` recovers the message later.
- /healthz answers 200 with the process id, the wrong-code alarm and the refusal counts,
  or 503 when the store cannot be reached. Nothing it says names a phone.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator, get_signature_algorithm
from twilio.twiml.messaging_response import MessagingResponse

from hybrid.definition import Process
from hybrid.workspace import Workspace
from sms import serving
from sms.caller import e164
from sms.serving import Refusals, StoreThreads, bind, configure_logging  # noqa: F401 (used by callers)
from sms.service import InboundSms
from sms.twilio_config import TwilioConfig
from sms.voice_webhook import voice_routes

WEBHOOK_PATH = "/twilio/sms"
MAX_BODY_BYTES = 256 * 1024  # Twilio sends at most 1,600 characters of body
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


class TwilioProvider:
    """Twilio as an `sms.provider.SmsProvider`: `POST /twilio/sms` (unless `sms` is False:
    a voice channel beside another SMS provider) and, when the process has a voice
    channel, the phone menu's routes. Replies are TwiML in the webhook's answer."""

    name = "twilio"

    def __init__(self, config: TwilioConfig, process: Process, *, sms: bool = True) -> None:
        self.config = config
        self.process = process
        self.sms = sms

    def routes(self, threads: StoreThreads, refusals: Refusals) -> list[Route]:
        config = self.config
        gate = TwilioGate(config, refusals)

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
                handled = await threads.run(lambda: threads.sms().receive(message, "webhook"), atomic=True)
            except Exception as exc:  # store down or locked: Twilio logs an error; `sms pull` recovers the message
                refusals.add("store_error", f"store problem for message {sid}: {type(exc).__name__}: {exc}")
                return Response("store unavailable\n", status_code=503, media_type="text/plain")
            return Response(twiml(handled.reply), media_type="application/xml")

        routes = [Route(WEBHOOK_PATH, sms, methods=["POST"])] if self.sms else []
        if self.process.channels.voice is not None:
            routes += voice_routes(gate, threads, self.process, config)
        return routes

    def banner(self) -> str:
        voice = "/twilio/voice" if self.process.channels.voice is not None else ""
        if not self.sms:
            return f"Twilio calls {self.config.public_url}{voice}"
        return f"Twilio calls {self.config.webhook_url}" + (f" and {voice}" if voice else "")

    def health(self, store) -> dict:
        return {}

    def start(self, threads: StoreThreads) -> None:
        pass

    def stop(self) -> None:
        pass


def create_app(settings: WebhookSettings) -> Starlette:
    """The Twilio webhook app for `settings` (what `sms serve` runs for a Twilio process)."""
    process = Workspace(settings.workspace).process
    return serving.create_app(settings.workspace, [TwilioProvider(settings.config, process)])

"""Twilio's voice webhook routes, served by the same app as SMS (`sms.webhook`).

- `POST /twilio/voice`: a call comes in (the number's "A call comes in" webhook).
- `POST /twilio/voice/gather?step=N`: the keys of the Gather of step N (the menu puts
  this URL in every Gather it says, on HYBRID_PUBLIC_URL).
- `POST /twilio/voice/status`: the number's "Call status changes" callback; a call that
  ends before its vote was confirmed is marked hung up (it never counted anything).

A caller (Twilio) may rely on: every request passes the same gate as an SMS (signature
over HYBRID_PUBLIC_URL + raw path + raw query, AccountSid, To = the process's voice
number `channels.voice.number`) or is refused (403, nothing stored); answers are TwiML
(`sms.voice_twiml`). When the store does not answer, the caller hears an apology in the
process's first language and the call ends (status 200: Twilio would otherwise play its
own error message); nothing is cast.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hybrid.definition import Process
from hybrid.errors import InvalidInput
from sms import voice_menu, voice_twiml
from sms.caller import e164
from sms.twilio_config import TwilioConfig
from sms.voice_menu import read_entry
from sms.voice_service import InboundCall

if TYPE_CHECKING:
    from sms.webhook import StoreThreads, TwilioGate

VOICE_PATH = "/twilio/voice"
GATHER_PATH = "/twilio/voice/gather"
STATUS_PATH = "/twilio/voice/status"
_CALL_SID = re.compile(r"^[A-Za-z0-9]{10,64}$")

log = logging.getLogger("hybrid.voice")


def voice_number(process: Process) -> str:
    """The process's voice number in E.164; InvalidInput when it is no phone number."""
    channel = process.channels.voice
    number = e164(channel.number) if channel is not None else None
    if number is None:
        shown = repr(channel.number) if channel is not None else "missing"
        raise InvalidInput(f"process.yaml: channels.voice.number is {shown}; the phone channel needs the Twilio number")
    return number


def gather_url(config: TwilioConfig, seq: int) -> str:
    """Where the Gather of step `seq` sends its keys (what Twilio signs, too)."""
    return f"{config.public_url}{GATHER_PATH}?step={seq}"


def voice_routes(gate: TwilioGate, threads: StoreThreads, process: Process, config: TwilioConfig) -> list[Route]:
    number = voice_number(process)

    async def call_of(request: Request):
        params = await gate.form(request, number, "voice")
        if isinstance(params, Response):
            return params, None
        sid = params.get("CallSid")
        if not _CALL_SID.match(sid):
            gate.refusals.add("bad_request", "no CallSid")
            return Response("CallSid missing\n", status_code=400, media_type="text/plain"), None
        return params, InboundCall(sid, config.account_sid, params.get("From"))

    async def answer(sid: str, step) -> Response:
        try:
            turn = await threads.run(step)
        except Exception as exc:  # store down or locked: say sorry rather than Twilio's error message
            gate.refusals.add("store_error", f"store problem for call {sid}: {type(exc).__name__}: {exc}")
            turn = voice_menu.trouble(process)
        return _xml(voice_twiml.render(turn, gather_url(config, turn.state.seq)))

    async def incoming(request: Request) -> Response:
        params, call = await call_of(request)
        if call is None:
            return params
        return await answer(call.call_sid, lambda: threads.voice().incoming(call))

    async def gather(request: Request) -> Response:
        params, call = await call_of(request)
        if call is None:
            return params
        seq = _int(request.query_params.get("step"))
        entry = read_entry(params.get("Digits"), params.get("FinishedOnKey"))
        return await answer(call.call_sid, lambda: threads.voice().gather(call, seq, entry))

    async def status(request: Request) -> Response:
        params, call = await call_of(request)
        if call is None:
            return params
        call_status = params.get("CallStatus")
        try:
            await threads.run(lambda: threads.voice().ended(call.call_sid, call_status))
        except Exception as exc:  # nothing to lose: a call without an outcome never counted anything
            gate.refusals.add("store_error", f"store problem for call {call.call_sid}: {type(exc).__name__}: {exc}")
            return Response("store unavailable\n", status_code=503, media_type="text/plain")
        return _xml(voice_twiml.empty())

    return [Route(VOICE_PATH, incoming, methods=["POST"]), Route(GATHER_PATH, gather, methods=["POST"]),
            Route(STATUS_PATH, status, methods=["POST"])]


def _xml(text: str) -> Response:
    return Response(text, media_type="application/xml")


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None

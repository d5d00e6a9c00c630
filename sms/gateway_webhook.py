"""android-sms-gateway as an `sms.provider.SmsProvider` (issue 15): `POST /gateway/sms`.

A caller (the phone's app, a load balancer) may rely on:
- A request is taken only with a correct X-Signature whose X-Timestamp is within five
  minutes of now (`sms.gateway_inbound.signature_problem`), from the configured device
  (HYBRID_GATEWAY_DEVICE_ID, when set), to the process's SMS number (when the event
  names its recipient); otherwise 403 and nothing is stored (counted for /healthz).
  A body that is not a gateway event is 400, naming the field; larger than 256 KiB, 413.
- `sms:received` and `mms:received` events are stored before the answer (200, JSON
  `{"status": "stored" | "already"}`); the reply goes out afterwards through the
  gateway's API (`sms.gateway_outbox`). Other events (sms:sent, system:ping, …) are
  answered 200 `{"status": "ignored"}` and not stored, so the app does not retry them.
- A store that does not answer within `sms.serving.STORE_TIMEOUT` seconds gives 503: the
  app retries the event (for about two days), and the retry is taken exactly once.
Nothing here imports twilio.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hybrid.definition import Process
from hybrid.store import gateway
from sms.caller import e164
from sms.gateway_config import WEBHOOK_PATH, GatewayConfig
from sms.gateway_inbound import MESSAGE_EVENTS, EventProblem, message_event, parse_event, signature_problem, take
from sms.gateway_outbox import ReplySender
from sms.serving import Refusals, StoreThreads

MAX_BODY_BYTES = 256 * 1024

log = logging.getLogger("hybrid.sms.gateway")


class GatewayProvider:
    name = "android-gateway"

    def __init__(self, config: GatewayConfig, process: Process, workspace) -> None:
        self.config = config
        self.process = process
        self.sender = ReplySender(config, workspace)

    def routes(self, threads: StoreThreads, refusals: Refusals) -> list[Route]:
        config = self.config
        sender = self.sender

        def refuse(kind: str, status: int, message: str) -> Response:
            refusals.add(kind, message)
            return Response(message + "\n", status_code=status, media_type="text/plain")

        async def sms(request: Request) -> Response:
            body = bytearray()
            async for chunk in request.stream():
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    return refuse("too_large", 413, "body larger than 256 KiB")
            raw = bytes(body)
            problem = signature_problem(config.signing_key, raw, request.headers.get("x-timestamp"),
                                        request.headers.get("x-signature"))
            if problem is not None:
                return refuse("bad_signature", 403, problem)
            try:
                event_id, event_name, data = parse_event(raw)
                if config.device_id and data.get("deviceId") != config.device_id:
                    return refuse("wrong_device", 403, "deviceId is not HYBRID_GATEWAY_DEVICE_ID")
                if event_name not in MESSAGE_EVENTS:
                    return JSONResponse({"status": "ignored", "event": event_name[:40]})
                event = message_event(data)
            except EventProblem as exc:
                return refuse("bad_request", 400, str(exc))
            if event.recipient and e164(event.recipient) not in (None, config.sms_number):
                return refuse("wrong_number", 403, "payload.recipient is not this process's SMS number")
            try:
                taken = await threads.run(lambda: take(threads.sms(), event), atomic=True)
            except Exception as exc:  # store down or locked: the app retries the event
                return refuse("store_error", 503, f"store unavailable for event {event_id}: {type(exc).__name__}")
            if taken.send is not None:
                sender.submit(taken.send)
            return JSONResponse({"status": "already" if taken.handled.replay else "stored"})

        return [Route(WEBHOOK_PATH, sms, methods=["POST"])]

    def banner(self) -> str:
        return (f"the gateway ({self.config.mode} mode, {self.config.api_url}) calls {self.config.webhook_url}")

    def health(self, store) -> dict:
        counts = gateway.outbox_counts(store)
        return {"provider": self.name, "replies_queued": counts.queued, "replies_failed": counts.failed,
                "replies_waiting_here": self.sender.pending()}

    def start(self, threads: StoreThreads) -> None:
        self.sender.start()

    def stop(self) -> None:
        self.sender.stop()

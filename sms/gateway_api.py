"""A small client of android-sms-gateway's REST API (issue 15), on the standard library.

What it calls, as the gateway documents it (the same paths under the phone's own
server in Local mode and under `/3rdparty/v1` of a private or the public server):
- `POST {api}/message` with `{"id", "textMessage": {"text"}, "phoneNumbers": [..],
  "withDeliveryReport": false}` and HTTP basic auth: 202 Accepted with the message and
  its `state` (Pending, …). Our `id` makes a resend harmless: the gateway answers 409
  Conflict for an id it already has, which means it was accepted before.
- `POST {api}/messages/inbox/export` with `{"since", "until"}` (and `deviceId`): 202;
  the phone then sends an `sms:received` webhook for every message of that period again.

A caller may rely on: `send` returns the gateway's state or raises `GatewayError`,
whose `retry` says whether trying again later can help (network, 429, 5xx) or not
(401/403: wrong credentials; 400: the gateway refused the message). The number is
sent only to the gateway and never logged.
"""

from __future__ import annotations

import base64
import http.client
import json
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from sms.gateway_config import GatewayConfig

TIMEOUT = 10.0


@dataclass
class GatewayError(Exception):
    message: str
    retry: bool
    status: int | None = None

    def __str__(self) -> str:
        return self.message


class GatewayApi:
    """One keep-alive connection to the gateway; use from one thread at a time."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        parts = urlsplit(config.api_url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        token = base64.b64encode(f"{config.username}:{config.password}".encode()).decode()
        self._headers = {"Authorization": f"Basic {token}", "Content-Type": "application/json",
                         "Accept": "application/json", "User-Agent": "hybrid-sms"}
        self._conn: http.client.HTTPConnection | None = None

    def send(self, outbox_id: str, number: str, text: str) -> str:
        """Hand one reply to the gateway; its state (Pending, …, or Accepted for a 409)."""
        body = {"id": outbox_id, "textMessage": {"text": text}, "phoneNumbers": [number], "withDeliveryReport": False}
        if self.config.device_id:
            body["deviceId"] = self.config.device_id
        status, answer = self._post("/message", body)
        if status == 409:
            return "Accepted"  # this id was taken before: an earlier attempt got through
        if status in (200, 201, 202):
            state = answer.get("state") if isinstance(answer, dict) else None
            return str(state or "Accepted")
        raise _error(status, answer)

    def export_inbox(self, since: datetime, until: datetime) -> None:
        """Ask the phone to send its inbox of [since, until] through the webhook again."""
        # Whole seconds on the wire: since rounded down and until up, so that a message of the
        # last fraction of a second is asked for too (one stored already is only recognised).
        body = {"since": _iso(since), "until": _iso(_next_whole_second(until))}
        if self.config.device_id:
            body["deviceId"] = self.config.device_id
        status, answer = self._post("/messages/inbox/export", body)
        if status not in (200, 202, 204):
            raise _error(status, answer)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _post(self, path: str, body: dict) -> tuple[int, object]:
        payload = json.dumps(body).encode()
        for attempt in (1, 2):  # a keep-alive connection the server closed meanwhile: once more, fresh
            conn = self._connection()
            try:
                conn.request("POST", self._prefix + path, body=payload, headers=self._headers)
                response = conn.getresponse()
                raw = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                if attempt == 2 or not isinstance(exc, (http.client.RemoteDisconnected, ConnectionResetError,
                                                        BrokenPipeError)):
                    raise GatewayError(f"gateway unreachable: {type(exc).__name__}: {exc}", retry=True) from None
                continue
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            try:
                answer = json.loads(raw) if raw else None
            except ValueError:
                answer = raw[:200].decode("utf-8", "replace")
            return response.status, answer
        raise AssertionError("unreachable")

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self._https:
                self._conn = http.client.HTTPSConnection(self._host, self._port, timeout=TIMEOUT,
                                                         context=ssl.create_default_context())
            else:
                self._conn = http.client.HTTPConnection(self._host, self._port, timeout=TIMEOUT)
        return self._conn


def _next_whole_second(moment: datetime) -> datetime:
    return moment if moment.microsecond == 0 else moment.replace(microsecond=0) + timedelta(seconds=1)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error(status: int, answer: object) -> GatewayError:
    said = answer.get("message") if isinstance(answer, dict) else answer
    said = f": {said}" if said else ""
    if status in (401, 403):
        return GatewayError(f"the gateway refused our credentials (HTTP {status}){said}; check "
                            "HYBRID_GATEWAY_USERNAME and HYBRID_GATEWAY_PASSWORD", retry=False, status=status)
    if status == 429 or status >= 500:
        return GatewayError(f"the gateway is busy or failing (HTTP {status}){said}", retry=True, status=status)
    return GatewayError(f"the gateway refused the request (HTTP {status}){said}", retry=False, status=status)




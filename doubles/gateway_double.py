"""A stand-in for an Android phone running android-sms-gateway, for tests, `make demo` and
the load benchmark (never used by the product).

It follows the gateway's documented API and its source (capcom6/android-sms-gateway):
- REST API on 127.0.0.1 with HTTP basic auth, under `prefix` ("" as the phone's Local
  server, "/3rdparty/v1" as a private server): `POST /message` (and `/messages`) takes
  `{"id"?, "textMessage": {"text"}, "phoneNumbers": [...], ...}` and answers 202 with
  the message (`state: Pending`), 409 for an id it already has, 400 for a request
  without text or numbers, 401 without the right credentials;
  `POST /messages/inbox/export` takes `{"since", "until"}` (ISO 8601) and answers 202,
  then sends an `sms:received` webhook again for every inbox message in that period,
  each with a NEW event id (as the app emits a new event per export).
- Webhooks as the app sends them: JSON `{"deviceId", "event", "id", "payload":
  {"messageId", "message", "sender", "phoneNumber", "recipient", "simNumber",
  "receivedAt"}, "webhookId"}`, `X-Timestamp` (Unix seconds, set at each try) and
  `X-Signature` = hex HMAC-SHA256(signing key, raw body + timestamp). `messageId` is
  derived from the content (sender, time, text), like the app's hash code. `receive`
  delivers a new message; `redeliver` sends an event again, as the app's retries do
  (same body and id, new timestamp and signature).
- `fail_sends(n, status)` makes the next n sends fail (500, 503, or 401 …); `sent` lists
  the accepted outgoing messages, `requests` every API request's path.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEVICE_ID = "ffffffffceb0b1db0000018e937c815b"
WEBHOOK_ID = "LreFUt-Z3sSq0JufY9uWB"
SIM_NUMBER = "+4915792418830"
_NANOID = "_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def nanoid() -> str:
    return "".join(secrets.choice(_NANOID) for _ in range(21))


def signed_headers(signing_key: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = hmac.new(signing_key.encode(), body + stamp.encode(), hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Timestamp": stamp, "X-Signature": signature,
            "User-Agent": "me.capcom.smsgateway/1.40.0"}


def event_body(text: str, sender: str, received_at: datetime, *, event: str = "sms:received",
               event_id: str | None = None, device_id: str = DEVICE_ID, recipient: str | None = SIM_NUMBER) -> bytes:
    """One webhook event's raw JSON, as the app builds it."""
    local = received_at.isoformat(timespec="milliseconds")
    message_id = format(zlib.crc32(f"{sender}|{local}|{text}".encode()), "x")
    payload = {"messageId": message_id, "message": text, "sender": sender, "phoneNumber": sender,
               "recipient": recipient, "simNumber": 1, "receivedAt": local}
    if event == "mms:received":
        payload = {"messageId": message_id, "transactionId": "T" + message_id.upper(), "subject": None,
                   "size": 125684, "contentClass": "IMAGE_BASIC", "sender": sender, "recipient": recipient,
                   "simNumber": 1, "receivedAt": local}
    return json.dumps({"deviceId": device_id, "event": event, "id": event_id or nanoid(), "payload": payload,
                       "webhookId": WEBHOOK_ID}).encode()


@dataclass
class InboxMessage:
    text: str
    sender: str
    received_at: datetime  # the phone's local time, with its offset


@dataclass
class FakeGateway:
    """The phone: its API on 127.0.0.1 and its webhook client. `start()` / `stop()`, or `with`."""

    signing_key: str
    webhook_url: str = ""  # where it delivers events (set once the server under test listens)
    username: str = "sms"
    password: str = "gateway-secret"
    prefix: str = ""
    phone_zone: timezone = timezone(timedelta(hours=1))  # Europe/Berlin in winter
    sent: list[dict] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    inbox: list[InboxMessage] = field(default_factory=list)
    exports: list[dict] = field(default_factory=list)
    deliveries: list[str] = field(default_factory=list)  # each webhook's HTTP status or transport error

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: list[int] = []
        self._ids: set[str] = set()
        self._server: ThreadingHTTPServer | None = None
        self._client = None

    # -- the API ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}{self.prefix}"

    def start(self) -> FakeGateway:
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                status, answer = double._answer(self.path, self.headers.get("Authorization", ""), raw)
                data = json.dumps(answer).encode() if answer is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._client is not None:
            self._client.close()

    def __enter__(self) -> FakeGateway:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def fail_sends(self, count: int, status: int = 500) -> None:
        with self._lock:
            self._failures.extend([status] * count)

    def heal(self) -> None:
        """Sends work again."""
        with self._lock:
            self._failures.clear()

    def texts_to(self, number: str) -> list[str]:
        with self._lock:
            return [m["text"] for m in self.sent if number in m["phoneNumbers"]]

    def _answer(self, path: str, authorization: str, raw: bytes) -> tuple[int, object]:
        with self._lock:
            self.requests.append(path)
        expected = "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        if not hmac.compare_digest(authorization, expected):
            return 401, {"message": "Unauthorized"}
        route = path.split("?", 1)[0]
        if not route.startswith(self.prefix):
            return 404, {"message": "Not Found"}
        route = route[len(self.prefix):]
        try:
            body = json.loads(raw)
        except ValueError:
            return 400, {"message": "Invalid request body"}
        if route in ("/message", "/messages"):
            return self._send(body)
        if route == "/messages/inbox/export":
            return self._export(body)
        return 404, {"message": "Not Found"}

    def _send(self, body: dict) -> tuple[int, object]:
        text = (body.get("textMessage") or {}).get("text") or body.get("message")
        numbers = body.get("phoneNumbers")
        if not text or not isinstance(numbers, list) or not numbers:
            return 400, {"message": "Must specify exactly one of: textMessage, dataMessage, or message"}
        with self._lock:
            if self._failures:
                status = self._failures.pop(0)
                return status, {"message": "simulated failure"}
            message_id = body.get("id") or nanoid()
            if message_id in self._ids:
                return 409, {"message": f"message with id {message_id} already exists"}
            self._ids.add(message_id)
            self.sent.append({"id": message_id, "text": text, "phoneNumbers": numbers})
        return 202, {"id": message_id, "deviceId": DEVICE_ID, "state": "Pending", "isHashed": False,
                     "isEncrypted": False, "recipients": [{"phoneNumber": n, "state": "Pending", "error": None}
                                                          for n in numbers], "states": {}}

    def _export(self, body: dict) -> tuple[int, object]:
        try:
            since = datetime.fromisoformat(body["since"].replace("Z", "+00:00"))
            until = datetime.fromisoformat(body["until"].replace("Z", "+00:00"))
        except (KeyError, ValueError, AttributeError):
            return 400, {"message": "since and until are required"}
        if since > until:
            return 400, {"message": "since must be before until"}
        with self._lock:
            self.exports.append(body)
            chosen = [m for m in self.inbox if since <= m.received_at <= until]
        self.deliveries.append(f"export of {len(chosen)}")
        threading.Thread(target=self._deliver_all, args=(chosen,), daemon=True).start()
        return 202, None

    def _deliver_all(self, chosen: list[InboxMessage]) -> None:
        try:
            for m in chosen:
                self._deliver_until_taken(event_body(m.text, m.sender, m.received_at))
        except Exception as exc:  # a test reads it in `deliveries`
            self.deliveries.append(f"export stopped: {type(exc).__name__}: {exc}")

    def _deliver_until_taken(self, body: bytes, tries: int = 20) -> None:
        """As the app does with a webhook that failed (a dropped keep-alive connection, a
        5xx): send the same event again, a little later."""
        import httpx

        for _ in range(tries):
            try:
                if self._deliver(body)[0] < 500:
                    return
            except httpx.TransportError as exc:
                self.deliveries.append(f"{type(exc).__name__}: {exc}")
            time.sleep(0.2)

    # -- the webhook client ------------------------------------------------------------

    def receive(self, text: str, sender: str = "+4915112345678", received_at: datetime | None = None,
                event: str = "sms:received", deliver: bool = True):
        """The phone receives an SMS (or MMS) and sends the webhook; (HTTP status, JSON, raw event)."""
        moment = (received_at or datetime.now(timezone.utc)).astimezone(self.phone_zone)
        with self._lock:
            self.inbox.append(InboxMessage(text, sender, moment))
        body = event_body(text, sender, moment, event=event)
        if not deliver:  # the phone was offline, or the server was down: an export finds it later
            return None, None, body
        status, answer = self._deliver(body)
        return status, answer, body

    def redeliver(self, body: bytes):
        """The app's retry of an event: the same body, a fresh timestamp and signature."""
        return self._deliver(body)

    def _deliver(self, body: bytes, headers: dict[str, str] | None = None):
        import httpx

        if self._client is None:
            self._client = httpx.Client(timeout=30.0)
        response = self._client.post(self.webhook_url, content=body,
                                     headers=headers or signed_headers(self.signing_key, body))
        self.deliveries.append(str(response.status_code))
        try:
            answer = response.json()
        except ValueError:
            answer = response.text
        return response.status_code, answer

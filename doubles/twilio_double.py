"""A local stand-in for Twilio, for tests, `make demo` and the load benchmark.

- `inbound_params` builds the POST parameters Twilio sends to an SMS webhook (with the
  From*/To* location fields hybrid must never store), and `sign` signs them exactly as
  Twilio does (twilio's RequestValidator: the URL, then every parameter name and value
  in sorted order, HMAC-SHA1 with the auth token, base64).
- `FakeTwilioApi` answers the Messages list of Twilio's REST API
  (`GET /2010-04-01/Accounts/{AccountSid}/Messages.json`) on loopback, in Twilio's
  documented JSON page format (`messages`, `next_page_uri`, `page`, `page_size`, `uri`,
  …; RFC 2822 dates; newest first), with HTTP Basic authentication and the `To`,
  `DateSent>` / `DateSent<` (by day, as Twilio filters), `PageSize`, `Page` parameters.
  Point the real twilio client at it with HYBRID_TWILIO_API_URL=`api.url`.
  It also deletes, as `hybrid purge` asks: `DELETE …/Messages/{MessageSid}.json` and
  `DELETE …/Calls/{CallSid}.json` answer 204 and forget the message or call (`add`,
  `add_call`), 404 for one it does not have; `fail_delete(sid)` makes the next delete
  of `sid` fail with a 500, to test that a failed delete is retried. `deleted` lists
  what was deleted, in order.
Nothing here is used by the webhook itself.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from twilio.request_validator import RequestValidator

from sms import gsm7

API_PREFIX = "/2010-04-01/Accounts/"


def new_message_sid() -> str:
    """A fresh SID in Twilio's form: SM and 32 hex digits."""
    return "SM" + secrets.token_hex(16)


def new_account_sid() -> str:
    return "AC" + secrets.token_hex(16)


def inbound_params(message_sid: str, account_sid: str, sender: str, to: str, body: str, **extra: str) -> dict[str, str]:
    """What Twilio POSTs to an SMS webhook for one inbound message."""
    params = {
        "ToCountry": "DE", "ToState": "", "SmsMessageSid": message_sid, "NumMedia": "0", "ToCity": "",
        "FromZip": "", "SmsSid": message_sid, "FromState": "", "SmsStatus": "received", "FromCity": "WUERZBURG",
        "Body": body, "FromCountry": "DE", "To": to, "ToZip": "", "NumSegments": str(gsm7.segments(body)),
        "ReferralNumMedia": "0", "MessageSid": message_sid, "AccountSid": account_sid, "From": sender,
        "ApiVersion": "2010-04-01",
    }
    params.update(extra)
    return params


def sign(auth_token: str, url: str, params: dict[str, str]) -> str:
    """X-Twilio-Signature for a POST of `params` to `url`."""
    return RequestValidator(auth_token).compute_signature(url, params)


def rfc2822(moment: datetime) -> str:
    return format_datetime(moment.astimezone(timezone.utc))


@dataclass
class FakeTwilioApi:
    """Twilio's Messages list on 127.0.0.1; `start()` / `stop()`, or use it as a context manager."""

    account_sid: str
    auth_token: str
    messages: list[dict] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # paths asked for, for tests
    calls: list[dict] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)  # SIDs deleted, in order
    failing: dict[str, int] = field(default_factory=dict)  # SID → HTTP status of its next delete
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add(self, sid: str, sender: str, to: str, body: str, date_sent: datetime, direction: str = "inbound",
            account_sid: str | None = None) -> dict:
        account = account_sid or self.account_sid
        sent = rfc2822(date_sent)
        message = {
            "account_sid": account, "api_version": "2010-04-01", "body": body, "date_created": sent,
            "date_sent": sent, "date_updated": sent, "direction": direction, "error_code": None,
            "error_message": None, "from": sender, "messaging_service_sid": None, "num_media": "0",
            "num_segments": str(gsm7.segments(body)), "price": None, "price_unit": "USD", "sid": sid,
            "status": "received" if direction == "inbound" else "delivered",
            "subresource_uris": {"media": f"{API_PREFIX}{account}/Messages/{sid}/Media.json"}, "to": to,
            "uri": f"{API_PREFIX}{account}/Messages/{sid}.json",
            "_sent": date_sent.astimezone(timezone.utc),
        }
        self.messages.append(message)
        return message

    def add_call(self, sid: str, caller: str, to: str, start: datetime, account_sid: str | None = None) -> dict:
        account = account_sid or self.account_sid
        started = rfc2822(start)
        call = {"account_sid": account, "api_version": "2010-04-01", "direction": "inbound", "from": caller,
                "to": to, "sid": sid, "start_time": started, "end_time": started, "status": "completed",
                "uri": f"{API_PREFIX}{account}/Calls/{sid}.json"}
        self.calls.append(call)
        return call

    def fail_delete(self, sid: str, status: int = 500) -> None:
        """The next DELETE of `sid` answers `status` (and deletes nothing)."""
        self.failing[sid] = status

    def __enter__(self) -> FakeTwilioApi:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> FakeTwilioApi:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                api.requests.append(self.path)
                status, body = api.answer(self.path, self.headers.get("Authorization", ""))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_DELETE(self) -> None:  # noqa: N802 - http.server's name
                api.requests.append(f"DELETE {self.path}")
                status, body = api.delete(self.path, self.headers.get("Authorization", ""))
                self.send_response(status)
                if body is None:
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _refused(self, authorization: str) -> tuple[int, dict] | None:
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if authorization != expected:
            return 401, {"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003",
                         "status": 401}
        return None

    def delete(self, path: str, authorization: str) -> tuple[int, dict | None]:
        """A DELETE of one message or call: (204, None), or an error in Twilio's JSON form."""
        refused = self._refused(authorization)
        if refused:
            return refused
        parts = urlsplit(path).path
        own = re.escape(API_PREFIX + self.account_sid)
        match = re.fullmatch(rf"{own}/(Messages|Calls)/([A-Za-z0-9]+)\.json", parts)
        store = None if match is None else (self.messages if match.group(1) == "Messages" else self.calls)
        found = [] if store is None else [item for item in store
                                          if item["sid"] == match.group(2) and item["account_sid"] == self.account_sid]
        if not found:
            return _not_found(parts)
        sid = match.group(2)
        if sid in self.failing:
            status = self.failing.pop(sid)
            return status, {"code": 20500, "message": "Internal Server Error",
                            "more_info": "https://www.twilio.com/docs/errors/20500", "status": status}
        store.remove(found[0])
        self.deleted.append(sid)
        return 204, None

    def answer(self, path: str, authorization: str) -> tuple[int, dict]:
        refused = self._refused(authorization)
        if refused:
            return refused
        parts = urlsplit(path)
        listing = f"{API_PREFIX}{self.account_sid}/Messages.json"
        if parts.path != listing:
            return _not_found(parts.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        found = [m for m in self.messages if m["account_sid"] == self.account_sid]
        if "To" in query:
            found = [m for m in found if m["to"] == query["To"]]
        if "From" in query:
            found = [m for m in found if m["from"] == query["From"]]
        after, before = _day(query.get("DateSent>")), _day(query.get("DateSent<"))
        if after:
            found = [m for m in found if m["_sent"].date() >= after]
        if before:
            found = [m for m in found if m["_sent"].date() <= before]
        found.sort(key=lambda m: (m["_sent"], m["sid"]), reverse=True)  # newest first, as Twilio lists them
        size = max(1, min(int(query.get("PageSize", "50")), 1000))
        page = int(query.get("Page", "0"))
        chunk = found[page * size:(page + 1) * size]
        keep = {k: v for k, v in query.items() if k not in ("Page", "PageToken")}

        def uri(number: int, token: str | None = None) -> str:
            extra = {"Page": str(number), **({"PageToken": token} if token else {})}
            return f"{listing}?{urlencode({**keep, **extra})}"

        more = (page + 1) * size < len(found)
        return 200, {
            "end": page * size + max(len(chunk) - 1, 0), "first_page_uri": uri(0),
            "messages": [{k: v for k, v in m.items() if not k.startswith("_")} for m in chunk],
            "next_page_uri": uri(page + 1, "PA" + chunk[-1]["sid"]) if more else None,
            "page": page, "page_size": size, "previous_page_uri": uri(page - 1) if page > 0 else None,
            "start": page * size, "uri": uri(page),
        }


def _not_found(path: str) -> tuple[int, dict]:
    return 404, {"code": 20404, "message": f"The requested resource {path} was not found",
                 "more_info": "https://www.twilio.com/docs/errors/20404", "status": 404}


def _day(text: str | None) -> date | None:
    """Twilio reads DateSent filters by day (YYYY-MM-DD, or a timestamp whose day counts)."""
    if not text:
        return None
    return date.fromisoformat(text[:10])

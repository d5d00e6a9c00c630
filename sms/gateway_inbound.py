"""One webhook event of android-sms-gateway, from raw bytes to a stored message (issue 15).

The event, as the gateway documents and sends it (JSON, POST):
`{"deviceId", "event": "sms:received", "id", "payload": {"messageId", "message",
"sender" (older apps: "phoneNumber"), "recipient", "simNumber", "receivedAt"},
"webhookId"}`, signed: `X-Signature` is the hex HMAC-SHA256, under the app's signing
key, of the raw body followed by `X-Timestamp` (Unix seconds).

A caller may rely on:
- `signature_problem` is None only for a correct signature (compared in constant time)
  whose timestamp is within `MAX_SKEW` (5 minutes) of now, either way.
- `parse_event` returns a `GatewayEvent` or raises `EventProblem` naming the field.
  `receivedAt` (the phone's local time with its offset) becomes UTC.
- `take` stores the message (one `sms_messages` row and one record, as Twilio's, via
  `SmsService.receive`), the event id (`gateway_events`) and the reply (`sms_outbox`)
  in ONE transaction. The message's key is a keyed hash of device, messageId,
  receivedAt and sender: the phone's retries of an event (same id) and an inbox export
  of the same message (new id) both find it, so it is stored, decided and answered once.
  The event's `messageId` alone is no key: the app derives it from the content.
- An `mms:received` event is a message with a picture and no text (the app sends the
  text only with the picture, in `mms:downloaded`, which hybrid does not take).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from hybrid.secret_key import keyed_hash
from hybrid.store import gateway
from sms.gateway_outbox import Reply, lease_for
from sms.service import Handled, InboundSms, SmsService

MAX_SKEW = 300  # seconds
MESSAGE_EVENTS = ("sms:received", "mms:received")
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_HEX = re.compile(r"^[0-9a-fA-F]{64}$")


class EventProblem(ValueError):
    """An event that is not what the gateway sends; the message names the field."""


@dataclass(frozen=True)
class GatewayEvent:
    event_id: str
    event: str
    device_id: str
    webhook_id: str | None
    message_id: str
    text: str
    sender: str  # in memory only
    recipient: str | None
    received_at: datetime  # UTC
    num_media: int


def sign(key: str, body: bytes, timestamp: str) -> str:
    """X-Signature for `body` sent at `timestamp`, as the app computes it."""
    return hmac.new(key.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


def signature_problem(key: str, body: bytes, timestamp: str | None, signature: str | None,
                      now: float | None = None) -> str | None:
    """Why the request is not the gateway's (None: it is)."""
    if not signature or not timestamp:
        return "missing X-Signature or X-Timestamp"
    if not timestamp.isdigit() or len(timestamp) > 12:
        return "X-Timestamp is not Unix seconds"
    if abs((time.time() if now is None else now) - int(timestamp)) > MAX_SKEW:
        return "X-Timestamp more than 5 minutes away from now (a replay, or the phone's clock is wrong)"
    expected = sign(key, body, timestamp)
    given = signature.strip().lower()
    if not _HEX.match(given) or not hmac.compare_digest(expected, given):
        return "wrong X-Signature"
    return None


def parse_event(body: bytes) -> tuple[str, str, dict]:
    """(event id, event name, the whole event) of any event, or EventProblem."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise EventProblem("the body is not JSON") from None
    if not isinstance(data, dict):
        raise EventProblem("the body is not a JSON object")
    event_id, event = data.get("id"), data.get("event")
    if not isinstance(event_id, str) or not _ID.match(event_id):
        raise EventProblem("field id: missing or not an event id")
    if not isinstance(event, str) or not event:
        raise EventProblem("field event: missing")
    return event_id, event, data


def message_event(data: dict) -> GatewayEvent:
    """The message an `sms:received` or `mms:received` event carries, or EventProblem."""
    device_id = data.get("deviceId")
    if not isinstance(device_id, str) or not device_id.strip():
        raise EventProblem("field deviceId: missing")
    webhook_id = data.get("webhookId")
    payload = data.get("payload")
    if not isinstance(payload, dict):
        raise EventProblem("field payload: missing or not an object")
    message_id = payload.get("messageId")
    if not isinstance(message_id, (str, int)) or not str(message_id):
        raise EventProblem("field payload.messageId: missing")
    mms = data["event"] == "mms:received"
    text = "" if mms else payload.get("message")
    if not isinstance(text, str):
        raise EventProblem("field payload.message: missing or not text")
    sender = payload.get("sender") or payload.get("phoneNumber")
    if not isinstance(sender, str):
        raise EventProblem("field payload.sender (or payload.phoneNumber): missing")
    recipient = payload.get("recipient")
    raw_time = payload.get("receivedAt")
    if not isinstance(raw_time, str):
        raise EventProblem("field payload.receivedAt: missing")
    try:
        moment = datetime.fromisoformat(raw_time.strip().replace("Z", "+00:00"))
    except ValueError:
        raise EventProblem(f"field payload.receivedAt: {raw_time[:40]!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise EventProblem(f"field payload.receivedAt: {raw_time[:40]!r} has no UTC offset")
    return GatewayEvent(data["id"], data["event"], device_id.strip(), webhook_id if isinstance(webhook_id, str) else None,
                        str(message_id), text, sender, recipient if isinstance(recipient, str) else None,
                        moment.astimezone(timezone.utc), 1 if mms else 0)


@dataclass(frozen=True)
class Taken:
    handled: Handled
    new_event: bool  # False: the phone sent this event id before
    send: Reply | None  # the reply this process must send now


def message_sid(key: bytes, event: GatewayEvent) -> str:
    """The stored message's key: the same for every event that carries this message."""
    digest = keyed_hash(key, "gateway-message", "|".join(
        (event.device_id, event.message_id, event.received_at.isoformat(), event.sender)))
    return "GW" + digest[:32]


def take(service: SmsService, event: GatewayEvent) -> Taken:
    sid = message_sid(service.store.key, event)
    message = InboundSms(message_sid=sid, account_sid=f"gateway:{event.device_id}"[:64], body=event.text,
                         sender=event.sender, num_media=event.num_media, sent_at=event.received_at,
                         at_twilio=False)  # purge has nothing to delete at Twilio
    outcome: dict = {}

    def also(handled: Handled) -> None:
        store = service.store
        outcome["new_event"] = gateway.record_event(store, event.event_id, sid, event.event, event.device_id,
                                                          event.webhook_id, event.received_at)
        outcome["send"] = None
        if handled.reply is None:
            return
        if not handled.replay:
            outbox_id = "hybrid-" + sid[2:26].lower()
            gateway.queue_reply(store, sid, outbox_id, handled.reply, lease_for(0))
            outcome["send"] = Reply(sid, outbox_id, event.sender, handled.reply)
            return
        queued = gateway.take_over(store, sid, lease_for(0))
        if queued is not None:  # its process died before sending: this one has the number now
            outcome["send"] = Reply(sid, queued.outbox_id, event.sender, queued.text, queued.attempts)

    handled = service.receive(message, "webhook", also=also)
    return Taken(handled, outcome["new_event"], outcome["send"])

"""Twilio settings from the environment, under Twilio's own names (DESIGN §7).

TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and HYBRID_PUBLIC_URL (the URL Twilio calls,
e.g. https://vote.example.org: signatures are checked against it, so the webhook is
right behind a TLS-terminating proxy). The SMS number comes from process.yaml
(`channels.sms.number`). Optional: TWILIO_WEBHOOK_SIGNING_SECRET, when Twilio signs
webhooks with a shared key (X-Twilio-Webhooks-Signature-Settings) instead of the auth
token; HYBRID_TWILIO_API_URL, another base URL for Twilio's REST API (a local
stand-in in tests and the demo, or an egress proxy).

Every problem is reported at once, naming the variable or field, as `InvalidInput`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from hybrid.definition import Process
from hybrid.errors import InvalidInput
from sms.caller import sms_number  # noqa: F401 (imported from here by callers)

_ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")


@dataclass(frozen=True)
class TwilioConfig:
    account_sid: str
    auth_token: str = ""
    public_url: str = ""  # without a trailing slash
    sms_number: str = ""  # E.164
    signing_secret: str | None = None
    api_url: str | None = None

    @property
    def webhook_url(self) -> str:
        return self.public_url + "/twilio/sms"


def from_environment(process: Process, *, webhook: bool = True, credentials: bool = True,
                     environ: Mapping[str, str] | None = None) -> TwilioConfig:
    """The settings `hybrid sms serve` (webhook) or `sms pull` (credentials) needs."""
    env = os.environ if environ is None else environ
    problems: list[str] = []
    account_sid = env.get("TWILIO_ACCOUNT_SID", "").strip()
    auth_token = env.get("TWILIO_AUTH_TOKEN", "").strip()
    public_url = env.get("HYBRID_PUBLIC_URL", "").strip().rstrip("/")
    if credentials or webhook:
        if not account_sid:
            problems.append("TWILIO_ACCOUNT_SID is not set (your Account SID, AC… from the Twilio console)")
        elif not _ACCOUNT_SID.match(account_sid):
            problems.append("TWILIO_ACCOUNT_SID does not look like an Account SID (AC followed by 32 hex digits)")
        if not auth_token:
            problems.append("TWILIO_AUTH_TOKEN is not set (the Auth Token from the Twilio console)")
    if webhook:
        if not public_url:
            problems.append("HYBRID_PUBLIC_URL is not set (the URL Twilio calls, e.g. https://vote.example.org)")
        else:
            parts = urlsplit(public_url)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
                problems.append(f"HYBRID_PUBLIC_URL {public_url!r} is not an http(s) URL like https://vote.example.org")
    number = ""  # a process with only a voice channel: the SMS route refuses every message
    if process.channels.sms is not None or process.channels.voice is None:
        try:
            number = sms_number(process)
        except InvalidInput as exc:
            problems.append(exc.message)
    if problems:
        raise InvalidInput("the SMS channel is not configured:\n  " + "\n  ".join(problems))
    api_url = env.get("HYBRID_TWILIO_API_URL", "").strip().rstrip("/") or None
    secret = env.get("TWILIO_WEBHOOK_SIGNING_SECRET", "").strip() or None
    return TwilioConfig(account_sid, auth_token, public_url, number, secret, api_url)

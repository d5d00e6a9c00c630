"""The self-hosted SMS gateway's settings, from the environment (issue 15).

`channels.sms.provider: android-gateway` in process.yaml selects it; where the phone is
and how to reach it never goes into process.yaml:

- HYBRID_GATEWAY_URL: the base of the gateway's REST API. Local mode: the phone's own
  server, e.g. http://192.168.178.20:8080; a private (self-hosted) server:
  https://sms.example.de/3rdparty/v1. Plain http only to a loopback or private address.
- HYBRID_GATEWAY_USERNAME, HYBRID_GATEWAY_PASSWORD: its basic-auth credentials (the
  app's Home tab, or the private server's device credentials).
- HYBRID_GATEWAY_SIGNING_KEY: the webhook signing key (app: Settings → Webhooks →
  Signing Key); every webhook must carry X-Signature made with it.
- optional HYBRID_GATEWAY_DEVICE_ID: only events of this device are taken, and `sms pull`
  asks this device for its inbox.
- optional HYBRID_PUBLIC_URL: shown as the webhook URL to register.

Every problem is reported at once, naming the variable, as `InvalidInput`. Nothing here
imports twilio.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from hybrid.definition import Process
from hybrid.errors import InvalidInput
from sms.caller import sms_number

WEBHOOK_PATH = "/gateway/sms"


@dataclass(frozen=True)
class GatewayConfig:
    api_url: str  # without a trailing slash
    username: str
    password: str
    signing_key: str
    sms_number: str  # E.164: the SIM's number, channels.sms.number
    device_id: str | None = None
    public_url: str = ""

    @property
    def webhook_url(self) -> str:
        return (self.public_url or "https://<this server>") + WEBHOOK_PATH

    @property
    def mode(self) -> str:
        """local (the phone's own server) or server (a private or the public server)."""
        return "server" if urlsplit(self.api_url).path.rstrip("/").endswith("/3rdparty/v1") else "local"


def _plain_http_allowed(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


def from_environment(process: Process, *, environ: Mapping[str, str] | None = None) -> GatewayConfig:
    """The settings `sms serve` and `sms pull` need for the gateway."""
    env = os.environ if environ is None else environ
    problems: list[str] = []
    api_url = env.get("HYBRID_GATEWAY_URL", "").strip().rstrip("/")
    username = env.get("HYBRID_GATEWAY_USERNAME", "").strip()
    password = env.get("HYBRID_GATEWAY_PASSWORD", "").strip()
    signing_key = env.get("HYBRID_GATEWAY_SIGNING_KEY", "").strip()
    public_url = env.get("HYBRID_PUBLIC_URL", "").strip().rstrip("/")
    if not api_url:
        problems.append("HYBRID_GATEWAY_URL is not set (the gateway's API: http://<phone's address>:8080 in Local "
                        "mode, https://<your server>/3rdparty/v1 with a private server)")
    else:
        parts = urlsplit(api_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            problems.append(f"HYBRID_GATEWAY_URL {api_url!r} is not an http(s) URL like http://192.168.178.20:8080")
        elif parts.scheme == "http" and not _plain_http_allowed(parts.hostname):
            problems.append(f"HYBRID_GATEWAY_URL {api_url!r}: plain http only to a loopback or private address "
                            "(the password would cross the internet unencrypted); use https")
        elif parts.username or parts.password:
            problems.append("HYBRID_GATEWAY_URL carries credentials: set HYBRID_GATEWAY_USERNAME and "
                            "HYBRID_GATEWAY_PASSWORD instead")
    if not username:
        problems.append("HYBRID_GATEWAY_USERNAME is not set (the user name the app shows for its API)")
    if not password:
        problems.append("HYBRID_GATEWAY_PASSWORD is not set (the password the app shows for its API)")
    if not signing_key:
        problems.append("HYBRID_GATEWAY_SIGNING_KEY is not set (the app's Settings → Webhooks → Signing Key)")
    if public_url:
        parts = urlsplit(public_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            problems.append(f"HYBRID_PUBLIC_URL {public_url!r} is not an http(s) URL like https://vote.example.org")
    try:
        number = sms_number(process)
    except InvalidInput as exc:
        problems.append(exc.message)
        number = ""
    if problems:
        raise InvalidInput("the SMS gateway is not configured:\n  " + "\n  ".join(problems))
    device_id = env.get("HYBRID_GATEWAY_DEVICE_ID", "").strip() or None
    return GatewayConfig(api_url, username, password, signing_key, number, device_id, public_url)

"""Deleting the process's messages and calls at Twilio, for `hybrid purge` (DESIGN §3, §9).

`TwilioEraser` is `hybrid.purge`'s `ProviderEraser` for Twilio: one REST DELETE per
stored message (`/Accounts/{sid}/Messages/{MessageSid}.json`, which also deletes the
message's media) or call (`…/Calls/{CallSid}.json`), through twilio's client, pointed
at HYBRID_TWILIO_API_URL when that is set (as `sms pull` is). A caller may rely on:
- `delete` returns True when Twilio deleted it now, False when Twilio answers 404 (it
  was deleted before: by an earlier purge, or by hand in the console);
- any other answer raises `ProviderDeleteFailed`: "refused" for 401/403 (the
  credentials; stop), "unreachable" when no answer came (stop), else "failed" (that
  one item; go on). Nothing is retried here: the store marks what was deleted, and the
  next `hybrid purge` tries the rest.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from hybrid.purge import ProviderDeleteFailed, ProviderKind
from sms.backfill import twilio_client
from sms.twilio_config import TwilioConfig


class TwilioEraser:
    """Deletes messages and calls of our account at Twilio (one request each)."""

    name = "Twilio"

    def __init__(self, config: TwilioConfig, client=None) -> None:
        self.config = config
        self._client = client

    @property
    def client(self):
        if self._client is None:
            logging.getLogger("twilio").setLevel(logging.WARNING)  # its request log is noise here
            self._client = twilio_client(self.config)
        return self._client

    def delete(self, kind: ProviderKind, sid: str) -> bool:
        from twilio.base.exceptions import TwilioException

        account = self.client.api.v2010.account
        resource = account.messages(sid) if kind == "message" else account.calls(sid)
        try:
            resource.delete()
        except TwilioException as exc:
            status = getattr(exc, "status", None)
            if status == 404:
                return False
            if status in (401, 403):
                raise ProviderDeleteFailed(f"Twilio refused TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN (HTTP {status})",
                                           why="refused", stop=True) from None
            if status is None:
                raise ProviderDeleteFailed(f"Twilio's API could not be reached ({type(exc).__name__})",
                                           why="unreachable", stop=True) from None
            detail = getattr(exc, "msg", None) or getattr(exc, "title", None) or ""
            raise ProviderDeleteFailed(f"Twilio answered HTTP {status}{': ' + detail if detail else ''}") from None
        except OSError as exc:  # requests' connection errors and timeouts
            raise ProviderDeleteFailed(f"Twilio's API could not be reached ({type(exc).__name__})",
                                       why="unreachable", stop=True) from None
        return True


def eraser_from_environment(environ: Mapping[str, str] | None = None) -> TwilioEraser | None:
    """A TwilioEraser with TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (and HYBRID_TWILIO_API_URL,
    when set); None when either is missing."""
    env = os.environ if environ is None else environ
    account_sid = env.get("TWILIO_ACCOUNT_SID", "").strip()
    auth_token = env.get("TWILIO_AUTH_TOKEN", "").strip()
    if not account_sid or not auth_token:
        return None
    api_url = env.get("HYBRID_TWILIO_API_URL", "").strip().rstrip("/") or None
    return TwilioEraser(TwilioConfig(account_sid, auth_token, api_url=api_url))

"""Deleting the process's messages and calls at Twilio, for `hybrid purge` (DESIGN §3, §9).

`TwilioEraser` is `hybrid.purge`'s `ProviderEraser` for Twilio: one REST DELETE per
stored message (`/Accounts/{sid}/Messages/{MessageSid}.json`, which also deletes the
message's media) or call (`…/Calls/{CallSid}.json`), through twilio's client, pointed
at HYBRID_TWILIO_API_URL when that is set (as `sms pull` is). The webhook's replies
(TwiML) become messages at Twilio that the store never names: `replies` lists them
(Messages list, From our SMS number, by DateSent day, direction `outbound-reply` only,
so messages the city sent otherwise from the number stay). A caller may rely on:
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
from datetime import datetime, timezone

from hybrid.definition import Process
from hybrid.purge import ProviderDeleteFailed, ProviderKind
from sms.backfill import PAGE_SIZE, twilio_client
from sms.twilio_config import TwilioConfig, sms_number


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

    def replies(self, since: datetime, until: datetime) -> list[str]:
        if not self.config.sms_number:
            return []
        from twilio.base.exceptions import TwilioException

        messages = self.client.api.v2010.account.messages
        try:
            return [m.sid for m in messages.stream(
                from_=self.config.sms_number, date_sent_after=since.astimezone(timezone.utc).strftime("%Y-%m-%d"),
                date_sent_before=until.astimezone(timezone.utc).strftime("%Y-%m-%d"), page_size=PAGE_SIZE)
                if (m.direction or "").lower() == "outbound-reply"]
        except (TwilioException, OSError) as exc:
            # A failed page comes as TwilioException("Unable to fetch page", response), as in `sms pull`.
            status = getattr(exc, "status", None) or getattr(exc.args[1] if len(exc.args) > 1 else None,
                                                             "status_code", None)
            if status in (401, 403):
                raise ProviderDeleteFailed(f"Twilio refused TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN (HTTP {status})",
                                           why="refused", stop=True) from None
            what = f"answered HTTP {status}" if status else f"could not be reached ({type(exc).__name__})"
            raise ProviderDeleteFailed(f"Twilio's API {what} listing our replies",
                                       why="failed" if status else "unreachable", stop=True) from None


def eraser_from_environment(process: Process, environ: Mapping[str, str] | None = None) -> TwilioEraser | None:
    """A TwilioEraser with TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (and HYBRID_TWILIO_API_URL,
    when set) for `process`'s SMS number (none: no replies to list); None when either
    credential is missing."""
    env = os.environ if environ is None else environ
    account_sid = env.get("TWILIO_ACCOUNT_SID", "").strip()
    auth_token = env.get("TWILIO_AUTH_TOKEN", "").strip()
    if not account_sid or not auth_token:
        return None
    api_url = env.get("HYBRID_TWILIO_API_URL", "").strip().rstrip("/") or None
    number = sms_number(process) if process.channels.sms is not None else ""
    return TwilioEraser(TwilioConfig(account_sid, auth_token, sms_number=number, api_url=api_url))

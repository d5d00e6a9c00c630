"""One interface for every SMS provider `hybrid sms serve` can run (issue 15).

Twilio (`sms.webhook.TwilioProvider`) and the self-hosted android-sms-gateway
(`sms.gateway_webhook.GatewayProvider`) both implement `SmsProvider`; which one a
process uses is `channels.sms.provider` in process.yaml (default twilio). The gateway's
modules never import twilio. A voice channel is always Twilio's.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from hybrid.definition import Process

if TYPE_CHECKING:
    from starlette.routing import Route

    from hybrid.store import Store
    from sms.serving import Refusals, StoreThreads


class SmsProvider(Protocol):
    name: str  # twilio | android-gateway

    def routes(self, threads: StoreThreads, refusals: Refusals) -> list[Route]:
        """The webhook routes this provider calls."""

    def banner(self) -> str:
        """What `sms serve` prints after "Listening on …": where the provider calls."""

    def health(self, store: Store) -> dict:
        """What /healthz adds for this provider (never a phone number)."""

    def start(self, threads: StoreThreads) -> None:
        """Background work (the gateway's reply sender) once the store is open."""

    def stop(self) -> None:
        """Finish or hand back background work; called before the store closes."""


def provider_name(process: Process) -> str:
    sms = process.channels.sms
    return sms.provider if sms is not None else "twilio"


def providers_for(workspace: Path, process: Process) -> list[SmsProvider]:
    """The providers `sms serve` runs for `process`, configured from the environment
    (InvalidInput naming every missing or wrong variable)."""
    if provider_name(process) == "android-gateway":
        from sms.gateway_config import from_environment as gateway_settings
        from sms.gateway_webhook import GatewayProvider

        providers: list[SmsProvider] = [GatewayProvider(gateway_settings(process), process, workspace)]
        if process.channels.voice is not None:
            from sms.twilio_config import from_environment
            from sms.webhook import TwilioProvider

            providers.append(TwilioProvider(from_environment(process), process, sms=False))
        return providers
    from sms.twilio_config import from_environment
    from sms.webhook import TwilioProvider

    return [TwilioProvider(from_environment(process), process)]

"""Phones: the SMS channel at a glance, its webhook server, backfill from Twilio's API and CSV."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from commands.output import console
from commands.session import session
from hybrid.errors import ExitCode, InvalidInput

sms_app = typer.Typer(help="Votes by text message through Twilio. / Abstimmen per SMS über Twilio.")


@sms_app.callback(invoke_without_command=True)
def sms_overview(ctx: typer.Context) -> None:
    """The SMS channel at a glance: messages, records, the wrong-code alarm. / SMS-Kanal im Überblick.

    Examples / Beispiele:  hybrid -C mainufer sms
                           hybrid -C mainufer sms serve --port 8080
                           hybrid -C mainufer sms pull --since 2027-05-03
                           hybrid -C mainufer sms import Messages.csv
    """
    if ctx.invoked_subcommand is not None:
        return
    from hybrid.store import counts
    from sms import limits
    from sms.twilio_config import sms_number

    opened = session(ctx)
    process = opened.process
    number = sms_number(process)
    store = opened.store()
    via = counts.sms_messages_by_via(store)
    from sms.provider import provider_name

    gateway = provider_name(process) == "android-gateway"
    path = "/gateway/sms (android-sms-gateway)" if gateway else "/twilio/sms"
    console.print(f"[bold]SMS channel of {process.id}[/]: number {number}, webhook path {path}")
    console.print(f"Messages stored: {sum(via.values())} (webhook {via.get('webhook', 0)}, "
                  f"pull {via.get('pull', 0)}, import {via.get('import', 0)})")
    table = Table(title="SMS records")
    table.add_column("Record state")
    table.add_column("Messages", justify="right")
    from hybrid.final_records import final_records, state_counts

    by_status = state_counts(final_records(store, process, write_back=False).records)["sms"]  # as merge counts them
    for state in ("counted", "review", "rejected", "superseded", "duplicate", "not_a_vote"):
        table.add_row(state, str(by_status.get(state, 0)))
    console.print(table)
    state = limits.alarm_state(store)
    line = (f"Wrong codes in the last hour: {state.wrong_codes_last_hour} "
            f"(alarm above {limits.ALARM_WRONG_CODES}; one phone is locked out after {limits.WRONG_CODES_PER_PHONE})")
    console.print(f"[bold red]ALARM:[/] {line} — someone may be guessing codes" if state.active else line)
    if state.latest_alarm:
        console.print(f"Latest alarm: {state.latest_alarm.raised_at} ({state.latest_alarm.wrong_codes} wrong codes "
                      "in the hour before)")
    if gateway:
        print_gateway_outbox(store)
        missing = [name for name in ("HYBRID_GATEWAY_URL", "HYBRID_GATEWAY_USERNAME", "HYBRID_GATEWAY_PASSWORD",
                                     "HYBRID_GATEWAY_SIGNING_KEY") if not os.environ.get(name)]
        if missing:
            console.print(f"Not set here: {', '.join(missing)} (needed by `sms serve` and `sms pull`)")
        return
    missing = [name for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "HYBRID_PUBLIC_URL") if not os.environ.get(name)]
    if missing:
        console.print(f"Not set here: {', '.join(missing)} (needed by `sms serve`; `sms pull` needs the first two)")


GATEWAY_LIMITS = ("Backfill: `hybrid sms pull` asks the phone to send its inbox again (the gateway's inbox export); "
                  "purge: the gateway's API cannot delete received SMS, so delete them on the phone (its SMS app) "
                  "after `hybrid purge`.")


def print_gateway_outbox(store) -> None:
    """The android gateway's outbox and what its API cannot do (`hybrid sms` and `hybrid status`)."""
    from hybrid.store.gateway import outbox_counts

    counts = outbox_counts(store)
    console.print(f"Gateway: {counts.events} webhook events taken; replies sent {counts.sent}, waiting "
                  f"{counts.queued} ({counts.stale} held by no running server), failed {counts.failed}",
                  highlight=False)
    console.print(GATEWAY_LIMITS, highlight=False)


@sms_app.command("serve")
def sms_serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (behind a TLS proxy: 127.0.0.1)."),
    port: int = typer.Option(8080, "--port", help="Port to listen on (0: any free port)."),
    workers: int = typer.Option(1, "--workers", help="Server processes (PostgreSQL or SQLite, one store)."),
    access_log: bool = typer.Option(False, "--access-log", help="Log every HTTP request (never a phone number)."),
) -> None:
    """Run Twilio's webhooks: POST /twilio/sms, the voice menu (POST /twilio/voice, /twilio/voice/status) when the process has a voice channel, GET /healthz. / Twilio-Webhooks für SMS und Telefon starten.

    Needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and HYBRID_PUBLIC_URL (the URL Twilio calls; signatures are checked against it). In the Twilio console, set the number's "A message comes in" webhook to HYBRID_PUBLIC_URL/twilio/sms and the voice number's "A call comes in" to HYBRID_PUBLIC_URL/twilio/voice, its status callback to HYBRID_PUBLIC_URL/twilio/voice/status (HTTP POST).

    Braucht TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN und HYBRID_PUBLIC_URL (die Adresse, die Twilio aufruft). In der Twilio-Konsole: "A message comes in" → HYBRID_PUBLIC_URL/twilio/sms; "A call comes in" → HYBRID_PUBLIC_URL/twilio/voice, Status-Callback → HYBRID_PUBLIC_URL/twilio/voice/status.

    With channels.sms.provider: android-gateway (a phone with the city's SIM running android-sms-gateway): POST /gateway/sms instead, and HYBRID_GATEWAY_URL, HYBRID_GATEWAY_USERNAME, HYBRID_GATEWAY_PASSWORD, HYBRID_GATEWAY_SIGNING_KEY; register HYBRID_PUBLIC_URL/gateway/sms as the phone's sms:received (and mms:received) webhook. / Mit android-gateway: POST /gateway/sms, Zugang zum Telefon aus HYBRID_GATEWAY_*.

    Example / Beispiel:
      export TWILIO_ACCOUNT_SID=AC… TWILIO_AUTH_TOKEN=… HYBRID_PUBLIC_URL=https://abstimmung.example.de
      hybrid -C mainufer sms serve --host 127.0.0.1 --port 8080
    """
    from sms.provider import providers_for
    from sms.serving import bind, configure_logging, run_server

    opened = session(ctx)
    ws = opened.workspace
    process = opened.process
    providers = providers_for(ws.root, process)
    if workers < 1:
        raise InvalidInput("--workers must be at least 1")
    opened.store()  # refuses a missing store or another key before anything listens
    opened.close()  # the server processes open their own
    sock = bind(host, port)
    actual_port = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    console.print(f"Listening on http://{shown_host}:{actual_port} for {process.id} "
                  f"({workers} worker{'s' if workers > 1 else ''}); "
                  + "; ".join(provider.banner() for provider in providers),
                  highlight=False, soft_wrap=True)
    console.print("Stop with Ctrl-C. / Beenden mit Strg-C.", soft_wrap=True)
    sys.stdout.flush()
    configure_logging()
    try:
        run_server(ws.root, providers, sock, workers=workers, access_log=access_log)
    finally:
        sock.close()
    console.print("Stopped. / Beendet.")


def _parse_moment(text: str | None, option: str, *, end: bool = False):
    """A date (the start of that day, or with `end` the start of the next, Europe/Berlin) or a date and time."""
    from datetime import date, datetime, time, timedelta
    from zoneinfo import ZoneInfo

    if text is None:
        return None
    berlin = ZoneInfo("Europe/Berlin")
    try:
        if len(text.strip()) == 10:
            day = date.fromisoformat(text.strip())
            return datetime.combine(day + timedelta(days=1) if end else day, time(0), tzinfo=berlin)
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{option} {text}: use a date like 2027-05-03 or a time like 2027-05-03T14:30") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=berlin)


def _print_backfill(report) -> None:
    from sms.backfill import summary_rows

    table = Table(title=f"SMS from {report.source}")
    table.add_column("")
    table.add_column("Messages", justify="right")
    for label, value in summary_rows(report):
        table.add_row(label, value)
    console.print(table)
    if report.statuses:
        console.print("Newly stored, by record state: "
                      + ", ".join(f"{state.value} {n}" for state, n in sorted(report.statuses.items())))
    if report.needs_person:
        console.print("Some votes conflict with a vote from another channel: see `hybrid review list`.")


@sms_app.command("pull")
def sms_pull(
    ctx: typer.Context,
    since: Optional[str] = typer.Option(None, "--since", help="From this date or time (default: a week before opens)."),
    until: Optional[str] = typer.Option(None, "--until", help="Up to this date (inclusive) or time (default: now)."),
) -> None:
    """Fetch inbound SMS from Twilio's API: store what the webhook missed, add Twilio's times. / SMS von Twilio abholen.

    No reply is sent for the messages stored here; re-running is harmless. Es werden keine Antworten verschickt; mehrfaches Ausführen schadet nicht.

    Examples / Beispiele:  hybrid -C mainufer sms pull
                           hybrid -C mainufer sms pull --since 2027-05-10 --until 2027-05-11
    """
    import logging
    from datetime import datetime, timedelta, timezone

    from sms.backfill import pull_messages
    from sms.gateway_config import from_environment as gateway_settings
    from sms.provider import provider_name
    from sms.service import SmsService
    from sms.twilio_config import from_environment

    opened = session(ctx)
    process = opened.process
    gateway = provider_name(process) == "android-gateway"
    config = gateway_settings(process) if gateway else from_environment(process, webhook=False)
    start = _parse_moment(since, "--since") or process.opens - timedelta(days=7)
    end = _parse_moment(until, "--until", end=True) or datetime.now(timezone.utc)
    if end <= start:
        raise InvalidInput(f"--until {until or 'now'} is not after --since {since or start.date().isoformat()}")
    if gateway:
        _gateway_pull(config, start, end)
        return
    logging.getLogger("twilio").setLevel(logging.WARNING)  # its request log would show numbers
    report = pull_messages(SmsService(opened.store(), process), config, start, end)
    _print_backfill(report)
    if report.needs_person:
        raise typer.Exit(ExitCode.NEEDS_PERSON)


def _gateway_pull(config, start, end) -> None:
    """The gateway has no list of received messages in every mode, but an inbox export:
    the phone sends each message of the period to the webhook again."""
    from sms.gateway_api import GatewayApi, GatewayError

    api = GatewayApi(config)
    try:
        api.export_inbox(start, end)
    except GatewayError as exc:
        raise _gateway_failure(exc) from None
    finally:
        api.close()
    console.print(f"Asked the phone ({config.api_url}) to send its inbox from {start.isoformat(timespec='minutes')} "
                  f"to {end.isoformat(timespec='minutes')} to the webhook again. `hybrid sms serve` must be "
                  "running: messages it already has are recognised (no second reply), missed ones are stored and "
                  "answered. Watch `hybrid sms` for the counts.", highlight=False, soft_wrap=True)


def _gateway_failure(exc):
    """A gateway that cannot be reached is exit 4 (try again); one that refuses, exit 2."""
    from hybrid.errors import ToolMissing

    return (ToolMissing if exc.retry else InvalidInput)(f"sms pull: {exc}")


@sms_app.command("import")
def sms_import(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="The CSV the Twilio console exports from its messaging logs."),
) -> None:
    """Read inbound SMS from a Twilio console CSV export. / SMS aus einem CSV-Export der Twilio-Konsole lesen.

    Only inbound messages to the process's number are taken; a file with an unreadable row is refused as a whole, naming the line. No reply is sent; re-running is harmless. Nur eingehende SMS an die Nummer des Verfahrens; keine Antworten.

    Example / Beispiel:  hybrid -C mainufer sms import ~/Downloads/Messages.csv
    """
    from sms.backfill import import_csv
    from sms.provider import provider_name
    from sms.service import SmsService
    from sms.twilio_config import TwilioConfig, sms_number

    opened = session(ctx)
    process = opened.process
    if provider_name(process) == "android-gateway":
        raise InvalidInput("sms import reads Twilio's console export; this process takes SMS through "
                           "android-sms-gateway: use `hybrid sms pull` (the phone sends its inbox again)")
    config = TwilioConfig(account_sid=os.environ.get("TWILIO_ACCOUNT_SID", "").strip(), sms_number=sms_number(process))
    report = import_csv(SmsService(opened.store(), process), file, config)
    _print_backfill(report)
    if report.needs_person:
        raise typer.Exit(ExitCode.NEEDS_PERSON)

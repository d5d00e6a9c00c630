"""The `hybrid` command: staff entry point that wires hub, paper and phones together.

Form: `hybrid [-C DIR] COMMAND …` (`-C DIR` is accepted after the command too).
Exit codes (DESIGN §9): 0 ok · 1 needs a person · 2 invalid input · 3 store/key · 4 tool missing.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from hybrid.errors import ExitCode, HybridError, InvalidInput
from hybrid.workspace import Workspace

console = Console()
errors = Console(stderr=True)

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode="rich",
    help=(
        "hybrid — paper and phone participation for CONSUL.\n\n"
        "Papier- und Telefonbeteiligung für CONSUL.\n\n"
        "Example / Beispiel:  hybrid -C wue-bh-2027 print --count 500 --lang de"
    ),
)
audit_app = typer.Typer(no_args_is_help=True, help="The audit chain. / Die Prüfkette.")
app.add_typer(audit_app, name="audit")
review_app = typer.Typer(no_args_is_help=True, help="What the machine could not decide. / Prüfung.")
app.add_typer(review_app, name="review")
sms_app = typer.Typer(help="Votes by text message through Twilio. / Abstimmen per SMS über Twilio.")
app.add_typer(sms_app, name="sms")

_workspace_dir = Path(".")


def workspace() -> Workspace:
    return Workspace(_workspace_dir)


def open_store(ws: Workspace):
    """The workspace's store; made on first use (with the process key) when there is none."""
    from hybrid.store import STORE_FILE

    return ws.open_store(create=not (ws.root / STORE_FILE).exists())


# -- init / check ------------------------------------------------------------


@app.command()
def init(
    example: str = typer.Option("poll", "--example", help="poll | budget: start from a Würzburg sample."),
    from_consul: Optional[Path] = typer.Option(None, "--from-consul", help="CONSUL's admin CSV export of investments."),
    heading_amount: Optional[int] = typer.Option(None, "--heading-amount", help="Money of the heading, in euros."),
    voting_style: str = typer.Option("knapsack", "--voting-style", help="knapsack | approval"),
    max_lines: Optional[int] = typer.Option(None, "--max-lines", help="With approval: most choices per ballot."),
) -> None:
    """Create process.yaml, the store and the key. / Prozess anlegen.

    Examples:  hybrid -C mainufer init --example poll
               hybrid init --from-consul budget_investments.csv --heading-amount 500000 --voting-style knapsack
    """
    ws = workspace()
    if ws.definition_path.exists():
        raise InvalidInput(f"{ws.definition_path}: already exists; hybrid init never overwrites it")
    warnings: list[str] = []
    if from_consul is not None:
        from hybrid.consul_import import process_from_consul_csv

        if heading_amount is None:
            raise InvalidInput("--from-consul needs --heading-amount (the heading's money in euros)")
        if voting_style not in ("knapsack", "approval"):
            raise InvalidInput(f"--voting-style {voting_style}: use knapsack or approval")
        text, warnings = process_from_consul_csv(from_consul, heading_amount, voting_style, max_lines=max_lines)
    else:
        if example not in ("poll", "budget"):
            raise InvalidInput(f"--example {example}: use poll or budget")
        text = (Path(__file__).parent / "hybrid" / "examples" / f"{example}.yaml").read_text(encoding="utf-8")
    ws.root.mkdir(parents=True, exist_ok=True)
    ws.definition_path.write_text(text, encoding="utf-8")
    process = ws.process
    store = ws.open_store(create=True)
    store.close()
    from hybrid.secret_key import key_path

    for warning in warnings:
        errors.print(f"[yellow]warning:[/] {warning}")
    console.print(f"Created {ws.definition_path} for [bold]{process.id}[/] ({process.kind}).")
    if not os.environ.get("HYBRID_SECRET"):
        console.print(f"The key is {key_path(process.id)} — back it up; without it the store cannot be read.")
    console.print("Next: edit process.yaml, then `hybrid check` and `hybrid print --count N`.")


@app.command()
def check() -> None:
    """Validate process.yaml and show what will be printed. / Definition prüfen.

    Example:  hybrid -C wue-bh-2027 check
    """
    ws = workspace()
    p = ws.process
    lang = p.languages[0]
    console.print(f"[bold]{p.text(p.title, lang)}[/]  ({p.id}, {p.kind})")
    console.print(f"Languages: {', '.join(p.languages)} · open {p.opens.isoformat()} → closes {p.closes.isoformat()}"
                  f" · identity {p.identity} · conflicts {p.conflicts}")
    channels = [name for name in ("paper", "sms", "voice") if getattr(p.channels, name) is not None]
    console.print(f"Channels: {', '.join(channels) or 'none'}")
    table = Table(show_header=True, header_style="bold")
    table.add_column("No.", justify="right")
    table.add_column("Question")
    table.add_column("Option")
    table.add_column("Text")
    if p.kind == "budget":
        table.add_column("Price", justify="right")
    for item in p.items():
        row = [str(item.number), item.question, item.option, p.text(item.text, lang)]
        if p.kind == "budget":
            row.append(f"{item.price:,}")
        table.add_row(*row)
    console.print(table)
    if p.kind == "poll":
        for q in p.questions:
            console.print(f"{q.id}: {len(q.options)} options, up to {q.max_choices} choice(s)")
    else:
        assert p.budget is not None
        total = sum(i.price for i in p.budget.investments)
        console.print(f"Budget {p.budget.heading.name}: {p.budget.heading.amount:,} € for {len(p.budget.investments)} "
                      f"investments costing {total:,} € in all · voting style {p.budget.voting_style}")
    if p.help is None:
        console.print("[yellow]No help line (help: phone, hours): the ballot names no number to call for help.[/]")
    if p.privacy is None and not p.is_test:
        console.print("[yellow]No data-protection notice (privacy: controller, officer, print_shop): "
                      "`hybrid print` refuses until it is filled in.[/]")
    console.print("[green]process.yaml is valid.[/]")


# -- print / void ------------------------------------------------------------


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=errors, transient=True)


@app.command("print")
def print_ballots(
    serials: Optional[list[int]] = typer.Argument(None, help="With --replace: the serials to replace."),
    count: Optional[int] = typer.Option(None, "--count", "-n", help="How many ballots."),
    lang: Optional[str] = typer.Option(None, "--lang", help="Ballot language (default: the process's first)."),
    large_print: bool = typer.Option(False, "--large-print", help="Large print: bigger text, 9 mm boxes."),
    addresses: Optional[Path] = typer.Option(
        None, "--addresses", help="CSV of addresses: a cover letter per person (C4 window envelope), then the ballot."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Output PDF name (default: out/…)."),
    replace: bool = typer.Option(False, "--replace", help="Void the given serials and print replacements."),
) -> None:
    """Print personalised ballots (PDF for the print shop). / Stimmzettel drucken.

    Examples:  hybrid print --count 5000 --lang de
               hybrid print --count 200 --lang en --large-print -o out/en-large.pdf
               hybrid print --addresses addresses.csv
               hybrid print --replace 1042 1043
    """
    from forms.addresses import read_addresses
    from forms.print_run import PrintRequest, run_print
    from hybrid.ballot_lifecycle import issued_ballots

    ws = workspace()
    process = ws.process
    replaces: tuple[int, ...] = ()
    address_blocks = read_addresses(addresses) if addresses else None
    store = open_store(ws)
    if replace:
        if not serials:
            raise InvalidInput("--replace needs the serial numbers to replace, e.g. hybrid print --replace 1042")
        rows = issued_ballots(store, list(serials))
        void = [r.serial for r in rows if r.state == "void"]
        if void:
            raise InvalidInput(f"serial {void[0]} is already void; it cannot be replaced again")
        layouts = store.layouts()
        variants = {(layouts[r.layout_hash].language, layouts[r.layout_hash].large_print) for r in rows}
        if len(variants) > 1:
            raise InvalidInput("the serials are of different languages or print sizes; replace them one variant at a time")
        lang, large_print = variants.pop()
        count = len(rows)
        replaces = tuple(r.serial for r in rows)
    elif serials:
        raise InvalidInput(f"unexpected argument {serials[0]}: did you mean --count {serials[0]} or --replace?")
    if count is None:
        if address_blocks is None:
            raise InvalidInput("--count is required (or --addresses FILE, which prints one ballot per address)")
        count = len(address_blocks)
    request = PrintRequest(count=count, lang=lang or process.languages[0], large_print=large_print,
                           output=output, addresses=address_blocks, replaces=replaces)
    with _progress() as progress:
        task = progress.add_task("Printing ballots", total=count)
        result = run_print(store, process, request, ws.out_dir, progress=lambda n: progress.advance(task, n))
    table = Table(title=f"Print run {result.run_id}: {result.ballots} ballots, layout {result.layout_id} "
                        f"({result.layout_hash}), {result.pages_per_ballot} pages each, duplex")
    for column in ("File", "Ballots", "Serials", "Pages", "sha256"):
        table.add_column(column)
    for f in result.files:
        table.add_row(str(f.path), str(f.ballots), f"{f.first_serial}–{f.last_serial}", str(f.pages), f.sha256[:16])
    console.print(table)
    if replaces:
        console.print(f"Voided and replaced: {', '.join(map(str, replaces))}")
    if result.letter_pages:
        console.print(f"Each person: a cover letter ({result.letter_pages} pages, address in the window), then the "
                      f"ballot. C4 window envelope, sheets unfolded, with a C4 return envelope. "
                      f"Addresses are in the PDF only.")
    console.print(f"Layout: {result.layout_path}\nManifest: {result.manifest_path}")
    console.print("[bold]Print at 100 % (no fit-to-page), duplex. The PDFs are the only copy of the codes: "
                  "delete them after the hand-over.[/]")


@app.command()
def void(
    serials: list[int] = typer.Argument(..., help="Serial numbers of the ballots to void."),
    reason: str = typer.Option("void", "--reason", help="Why, e.g. lost, undeliverable."),
) -> None:
    """Void printed ballots (lost, undeliverable); their codes stop working. / Stimmzettel sperren.

    Example:  hybrid void 1042 1043 --reason undeliverable
    """
    from hybrid.ballot_lifecycle import void_ballots

    ws = workspace()
    ws.process  # noqa: B018 - validates the workspace first
    report = void_ballots(ws.open_store(), serials, reason)
    if report.voided:
        console.print(f"Voided: {', '.join(map(str, report.voided))}")
    if report.already_void:
        console.print(f"Already void: {', '.join(map(str, report.already_void))}")


# -- scan / simulate -------------------------------------------------------------


def _parse_day(text: str | None, option: str):
    from datetime import date

    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{option} {text}: use a date like 2027-03-14") from None


@app.command()
def scan(
    inputs: list[Path] = typer.Argument(..., help="Scanner PDFs, TIFF, PNG, JPEG, phone photos, or folders."),
    batch: Optional[str] = typer.Option(None, "--batch", help="A name for this tray (default: date and time)."),
    received: Optional[str] = typer.Option(None, "--received", help="Postal arrival date, e.g. 2027-03-14."),
    envelopes: Optional[int] = typer.Option(None, "--envelopes", help="Envelopes opened, to reconcile with sheets."),
) -> None:
    """Read returned ballots into the store. / Rücklauf einlesen.

    Examples:  hybrid scan tray-07.pdf --received 2027-03-14 --envelopes 212
               hybrid scan scans/2027-03-15/ --batch tray-08
    Re-running a batch is a no-op; an interrupted batch resumes where it stopped.
    """
    from ocr.batch import run_scan
    from ocr.tesseract_check import require_tesseract

    ws = workspace()
    process = ws.process
    day = _parse_day(received, "--received")
    missing = [str(p) for p in inputs if not p.exists()]
    if missing:
        raise InvalidInput(f"{missing[0]}: no such file or folder")
    require_tesseract()
    store = ws.open_store()
    with _progress() as progress:
        task = progress.add_task("Reading pages", total=None)
        report = run_scan(ws, store, process, list(inputs), batch=batch, received=day, envelopes=envelopes,
                          progress=lambda done, total: progress.update(task, completed=done, total=total))
    _print_scan_report(report)
    if report.needs_person:
        raise typer.Exit(ExitCode.NEEDS_PERSON)


def _print_scan_report(report) -> None:
    from hybrid.states import PageState, RecordState

    pages = Table(title=f"Batch {report.batch} (received {report.received.isoformat()}): pages")
    pages.add_column("Page state")
    pages.add_column("Pages", justify="right")
    for state in PageState:
        pages.add_row(state.value, str(report.pages.get(state, 0)))
    pages.add_row("[bold]pages in[/]", f"[bold]{report.pages_in}[/]")
    console.print(pages)
    records = Table(title="Ballots touched by this batch")
    records.add_column("Record state")
    records.add_column("Ballots", justify="right")
    for state in RecordState:
        if report.records.get(state):
            records.add_row(state.value, str(report.records[state]))
    console.print(records)
    reasons = {**{f"page: {r.value}": n for r, n in report.page_reasons.items()},
               **{f"ballot: {r.value}": n for r, n in report.record_reasons.items()}}
    if reasons:
        console.print("Reasons: " + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())))
    if report.resumed_pages:
        console.print(f"{report.resumed_pages} page(s) were already in the store and were not read again.")
    if report.envelopes is not None:
        verdict = "[green]matches[/]" if report.envelopes == report.ballots_found else "[red]differs — check the tray[/]"
        console.print(f"Envelopes opened: {report.envelopes}; ballots found: {report.ballots_found} — {verdict}")
    for problem in report.problems:
        errors.print(f"[yellow]problem:[/] {problem}", highlight=False)
    if report.needs_person:
        console.print("Some ballots or pages need a person: see `hybrid review list`.")


@app.command()
def simulate(
    count: int = typer.Option(..., "--count", "-n", help="How many ballots to fill."),
    degrade: str = typer.Option("moderate", "--degrade", help="light | moderate | heavy | photo"),
    seed: int = typer.Option(1, "--seed", help="Random seed: the same seed gives the same deck."),
    output: Path = typer.Option(..., "-o", "--output", help="Folder for the test deck (created; must be empty)."),
) -> None:
    """Make a test deck: print, fill like people do, scan-like damage, plus the truth. / Testsatz erzeugen.

    Works in its own throwaway workspace whose process id ends in -test, so a live
    workspace rejects its ballots.  Example:  hybrid simulate --count 200 --degrade moderate -o deck/
    """
    from deck.build import simulate_deck

    if count < 1:
        raise InvalidInput("--count must be at least 1")
    if degrade not in ("light", "moderate", "heavy", "photo"):
        raise InvalidInput(f"--degrade {degrade}: use light, moderate, heavy or photo")
    if output.exists() and any(output.iterdir()):
        raise InvalidInput(f"{output}: folder is not empty; simulate writes a fresh deck")
    ws = workspace()
    summary = simulate_deck(ws.process, output, count=count, degrade=degrade, seed=seed)
    console.print(summary.describe() if hasattr(summary, "describe") else str(summary))


# -- sms -----------------------------------------------------------------------


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

    ws = workspace()
    process = ws.process
    number = sms_number(process)
    store = ws.open_store()
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
        _print_gateway_outbox(store)
        missing = [name for name in ("HYBRID_GATEWAY_URL", "HYBRID_GATEWAY_USERNAME", "HYBRID_GATEWAY_PASSWORD",
                                     "HYBRID_GATEWAY_SIGNING_KEY") if not os.environ.get(name)]
        if missing:
            console.print(f"Not set here: {', '.join(missing)} (needed by `sms serve` and `sms pull`)")
        store.close()
        return
    missing = [name for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "HYBRID_PUBLIC_URL") if not os.environ.get(name)]
    if missing:
        console.print(f"Not set here: {', '.join(missing)} (needed by `sms serve`; `sms pull` needs the first two)")
    store.close()


GATEWAY_LIMITS = ("Backfill: `hybrid sms pull` asks the phone to send its inbox again (the gateway's inbox export); "
                  "purge: the gateway's API cannot delete received SMS, so delete them on the phone (its SMS app) "
                  "after `hybrid purge`.")


def _print_gateway_outbox(store) -> None:
    from hybrid.store.gateway import outbox_counts

    counts = outbox_counts(store)
    console.print(f"Gateway: {counts.events} webhook events taken; replies sent {counts.sent}, waiting "
                  f"{counts.queued} ({counts.stale} held by no running server), failed {counts.failed}",
                  highlight=False)
    console.print(GATEWAY_LIMITS, highlight=False)


@sms_app.command("serve")
def sms_serve(
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

    ws = workspace()
    process = ws.process
    providers = providers_for(ws.root, process)
    if workers < 1:
        raise InvalidInput("--workers must be at least 1")
    ws.open_store().close()  # refuses a missing store or another key before anything listens
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
    from sms.service import SmsService
    from sms.twilio_config import from_environment

    from sms.provider import provider_name

    from sms.gateway_config import from_environment as gateway_settings

    ws = workspace()
    process = ws.process
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
    store = ws.open_store()
    try:
        report = pull_messages(SmsService(store, process), config, start, end)
    finally:
        store.close()
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

    ws = workspace()
    process = ws.process
    if provider_name(process) == "android-gateway":
        raise InvalidInput("sms import reads Twilio's console export; this process takes SMS through "
                           "android-sms-gateway: use `hybrid sms pull` (the phone sends its inbox again)")
    config = TwilioConfig(account_sid=os.environ.get("TWILIO_ACCOUNT_SID", "").strip(), sms_number=sms_number(process))
    store = ws.open_store()
    try:
        report = import_csv(SmsService(store, process), file, config)
    finally:
        store.close()
    _print_backfill(report)
    if report.needs_person:
        raise typer.Exit(ExitCode.NEEDS_PERSON)


# -- review --------------------------------------------------------------------


def _reviewer_or_default(reviewer: Optional[str]) -> str:
    """--reviewer, else $HYBRID_REVIEWER: every decision carries a real person's name, never
    the computer's login name by accident."""
    name = " ".join((reviewer or os.environ.get("HYBRID_REVIEWER") or "").split())
    if not name:
        raise InvalidInput("say who decides: --reviewer \"Anna Weber\" (or set HYBRID_REVIEWER once in your shell); "
                           "the decision is recorded under that name")
    return name


def _review_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # a link must name a real address
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def _as_json(value) -> str:
    import dataclasses
    import json

    return json.dumps(dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value,
                      ensure_ascii=False, indent=1, default=str)


@review_app.command("serve")
def review_serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on; 0.0.0.0 for a small office network."),
    port: int = typer.Option(8090, "--port", help="TCP port."),
    prerender: bool = typer.Option(True, "--prerender/--no-prerender",
                                   help="Render the open items' scan pictures in the background (default)."),
) -> None:
    """Serve the review page for staff (German and English). / Prüfseite starten.

    Each reviewer opens their personal link from `hybrid review token NAME`.
    Examples:  hybrid review serve                       (this computer only)
               hybrid review serve --host 0.0.0.0        (staff PCs on the office network)
    """
    import uvicorn

    from hybrid import review as review_mod
    from review.app import create_app

    ws = workspace()
    process = ws.process
    store = ws.open_store()  # the store and the key are checked before anything is served
    names = [r.name for r in review_mod.reviewers(store)]
    left = sum(1 for i in review_mod.list_items(store, process) if i.needs_person)
    store.close()
    console.print(f"Review page: {_review_url(host, port)}  ({left} item(s) waiting)")
    if names:
        console.print(f"Reviewers with a link: {', '.join(names)}. New link: hybrid review token NAME")
    else:
        console.print("No reviewer has a link yet: run `hybrid review token NAME` for each person.")
    if host not in ("127.0.0.1", "localhost", "::1"):
        errors.print("[yellow]warning:[/] the page is reachable from the network over plain HTTP; "
                     "use it only on a trusted office network.", highlight=False)
    uvicorn.run(create_app(ws.root, process, lambda: ws.open_store(), prerender=prerender), host=host, port=port,
                log_level="warning")


@review_app.command("token")
def review_token(
    name: str = typer.Argument(..., help="The reviewer's real name, e.g. \"Anna Weber\"."),
    host: str = typer.Option("127.0.0.1", "--host", help="Host name in the printed link."),
    port: int = typer.Option(8090, "--port", help="Port in the printed link."),
    revoke: bool = typer.Option(False, "--revoke", help="End NAME's access instead."),
) -> None:
    """Print a personal review link for NAME (a new one each time; the old one stops working).

    Only a keyed hash of the token is stored. Example:  hybrid review token "Anna Weber"
    """
    from urllib.parse import quote

    from hybrid import review as review_mod

    ws = workspace()
    ws.process  # noqa: B018 - validates the workspace first
    store = ws.open_store()
    if revoke:
        if not review_mod.revoke_token(store, name):
            raise InvalidInput(f"{name!r} has no active review link")
        console.print(f"The review link of {name} no longer works.")
        return
    token = review_mod.issue_token(store, name)
    typer.echo(f"{_review_url(host, port)}?token={quote(token)}")
    errors.print(f"Personal link for {name}: give it to them only; it opens the review page as {name}.",
                 highlight=False)


@review_app.command("list")
def review_list(
    show_all: bool = typer.Option(False, "--all", help="Decided items too."),
    as_json: bool = typer.Option(False, "--json", help="One JSON document for scripts."),
) -> None:
    """What waits for a person, grouped by reason. / Was noch zu prüfen ist.

    Exit code 1 while anything is open or awaits a second reviewer, 0 when nothing is left.
    Example:  hybrid review list
    """
    import dataclasses

    from hybrid import review as review_mod
    from hybrid import state_texts as words

    ws = workspace()
    process = ws.process
    store = ws.open_store()
    items = review_mod.list_items(store, process, include_decided=True)
    shown = items if show_all else [i for i in items if i.needs_person]
    counts = review_mod.counts(items)
    if as_json:
        typer.echo(_as_json({"counts": counts, "items": [dataclasses.asdict(i) for i in shown]}))
    else:
        table = Table(title=f"Review: {counts['open']} open, {counts['pending']} awaiting a second reviewer, "
                            f"{counts['decided']} decided")
        for column in ("Group", "Item", "Serial", "Reasons", "Status", "Decision"):
            table.add_column(column)
        for item in shown:
            table.add_row(words.text("group", item.group), item.id, "" if item.serial is None else str(item.serial),
                          words.joined("reason", item.reasons), words.text("item_status", item.status),
                          _decision_words(item))
        console.print(table)
    if counts["open"] or counts["pending"]:
        raise typer.Exit(ExitCode.NEEDS_PERSON)


@review_app.command("show")
def review_show(
    item_id: str = typer.Argument(..., metavar="ITEM", help="An item id from `hybrid review list`, e.g. r12."),
    as_json: bool = typer.Option(False, "--json", help="One JSON document for scripts."),
) -> None:
    """One item: the reading (every box with its score), the history, what is in force.

    Example:  hybrid review show r12
    """
    from hybrid import review as review_mod

    ws = workspace()
    process = ws.process
    store = ws.open_store()
    detail = review_mod.item_detail(store, process, item_id, ws.root)
    if as_json:
        typer.echo(_as_json(detail))
        return
    _print_item(detail)


def _decision_words(item) -> str:
    """Who decided what on a review item, in the catalogue's words."""
    from hybrid import state_texts as words

    if item.decision is not None:
        text = f"{words.text('action', item.decision.action)} by {item.decision.reviewer}"
        if item.decision.confirmed_by:
            text += f", confirmed by {item.decision.confirmed_by}"
        return text
    if item.note and item.note.startswith("resolved_by:"):
        return f"settled by {item.note.removeprefix('resolved_by:')}"
    return "re-read after the decision: decide again" if item.note == "reread" else ""


def _choices_words(detail, choices) -> str:
    """Choices as printed numbers with their text: `q1: 2 Für Gastronomie …`."""
    by_option = {(q.id, o.id): o for q in detail.questions for o in q.options}
    parts = []
    for question, options in sorted(choices.items()):
        shown = [f"{by_option[(question, o)].number} {_first_text(by_option[(question, o)].text)}"
                 if (question, o) in by_option else o for o in options]
        if shown:
            parts.append(f"{question}: " + "; ".join(shown))
    return " · ".join(parts) or "no choice"


def _first_text(texts) -> str:
    from hybrid import state_texts as words

    return texts.get(words.cli_language()) or next(iter(texts.values()), "")


def _print_item(detail) -> None:
    """`review show`: the item, each page's boxes as a table, the history, what is in force."""
    from rich import box as boxes

    from hybrid import state_texts as words

    item = detail.item
    head = Table(box=boxes.SIMPLE, show_header=False, title=f"[bold]{item.id}[/]", title_justify="left")
    head.add_column(style="bold")
    head.add_column()
    head.add_row("Status", f"{words.text('item_status', item.status)} (version {item.version})")
    head.add_row("Reasons", words.joined("reason", item.reasons))
    if detail.record is not None:
        rec = detail.record
        head.add_row("Record", f"r{rec.record_id}: {words.text('channel', rec.channel)}, serial {rec.serial or '–'}, "
                               f"received {rec.received_at or '–'}")
        head.add_row("Machine", f"{words.text('record_state', rec.status)} — {_choices_words(detail, rec.choices)}")
    if detail.effective is not None:
        e = detail.effective
        extra = " (invalid ballot)" if e.invalid_ballot else ""
        if e.invalid_questions:
            extra += f" (invalid questions: {', '.join(e.invalid_questions)})"
        head.add_row("In force", f"{words.text('record_state', e.state.value)}{extra} — "
                                 f"{_choices_words(detail, e.choices)} ({'review' if e.by_review else 'machine'})")
    decided = _decision_words(item)
    if decided:
        head.add_row("Decision", decided)
    console.print(head)
    texts = {(q.id, o.id): _first_text(o.text) for q in detail.questions for o in q.options}
    for page in detail.pages:
        if not page.boxes:
            console.print(f"Page {page.ballot_page or '?'} — {page.file_name or page.source} #{page.page_no} "
                          f"({words.text('page_state', page.state)}): no boxes", highlight=False)
            continue
        table = Table(title=f"Page {page.ballot_page or '?'} — {page.file_name or page.source} #{page.page_no} "
                            f"({words.text('page_state', page.state)})", title_justify="left", box=boxes.SIMPLE_HEAD)
        for column, justify in (("No.", "right"), ("Option", "left"), ("Read as", "left"), ("Fill", "right"),
                                ("Ink beside", "right"), ("", "left")):
            table.add_column(column, justify=justify)
        for b in page.boxes:
            table.add_row(str(b.number), f"{b.question}: {texts.get((b.question, b.option), b.option)}",
                          words.text("mark_state", b.state), "" if b.fill is None else f"{b.fill:.0%}",
                          "" if b.ring_ink is None else f"{b.ring_ink:.0%}",
                          "[bold yellow]← look here[/]" if b.doubtful else "")
        console.print(table)
    for other in detail.related:
        console.print(f"Same code: r{other.record_id} ({words.text('channel', other.channel)}) "
                      f"{words.text('record_state', other.status)} — {_choices_words(detail, other.choices)}",
                      highlight=False)
    if detail.comment is not None:
        c = detail.comment
        console.print(f"Comment — suggestion: {c.suggestion or '(none)'}"
                      + (f" (confidence {c.confidence:.0f})" if c.confidence is not None else "")
                      + f"; decided: {c.text or '–'}" + (" — personal data" if c.personal_data else ""), highlight=False)
    if detail.history:
        past = Table(title="History", title_justify="left", box=boxes.SIMPLE_HEAD)
        for column in ("#", "When", "Decision", "By", "Details", "Then"):
            past.add_column(column)
        for d in detail.history:
            then = []
            if d.confirmed_by:
                then.append(f"confirmed by {d.confirmed_by}")
            elif d.pending:
                then.append("awaiting a second reviewer")
            if d.undone_by:
                then.append(f"undone by {d.undone_by}")
            details = ""
            if d.body.get("marks") is not None:
                details = _choices_words(detail, d.body["marks"])
            elif d.body.get("serial"):
                details = f"serial {d.body['serial']}, page {d.body.get('page')}"
            elif d.body.get("questions"):
                details = ", ".join(d.body["questions"])
            elif d.body.get("text"):
                details = d.body["text"][:60]
            past.add_row(str(d.decision_id), d.decided_at, words.text("action", d.action), d.reviewer, details,
                         "; ".join(then))
        console.print(past)


@review_app.command("decide")
def review_decide(
    item_id: str = typer.Argument(..., metavar="ITEM", help="An item id from `hybrid review list`, e.g. r12."),
    accept: bool = typer.Option(False, "--accept", help="Accept as read (a comment: confirm the suggestion)."),
    marks: Optional[str] = typer.Option(None, "--marks", help="Set the marks: q1=a,q2=b+c (or printed numbers 1,6)."),
    invalid_question: Optional[list[str]] = typer.Option(None, "--invalid-question", help="A question to void."),
    invalid: bool = typer.Option(False, "--invalid", help="The ballot is invalid (counted as invalid)."),
    reject: bool = typer.Option(False, "--reject", help="Reject: not a ballot that can count."),
    serial: Optional[int] = typer.Option(None, "--serial", help="Unreadable page: the ballot's serial."),
    page: Optional[int] = typer.Option(None, "--page", help="Unreadable page: which page of the ballot it is."),
    text: Optional[str] = typer.Option(None, "--text", help="Comment: the corrected text."),
    personal_data: bool = typer.Option(False, "--personal-data", help="Comment: contains personal data."),
    confirm: bool = typer.Option(False, "--confirm", help="Confirm the pending decision as a second reviewer."),
    reviewer: Optional[str] = typer.Option(None, "--reviewer", help="Who decides (required, or $HYBRID_REVIEWER)."),
    version: Optional[int] = typer.Option(None, "--version", help="Decide over an existing decision seen at VERSION."),
) -> None:
    """Decide one item. / Einen Eintrag entscheiden.

    Exit code 0 when the decision is in force, 1 when it waits for a second reviewer
    (changed marks), 2 for a wrong option or a conflict.
    Examples:  hybrid review decide r12 --accept --reviewer "Anna Weber"
               hybrid review decide r12 --marks q1=a,q2=b+c --reviewer Anna
               hybrid review decide r12 --confirm --reviewer Ben
               hybrid review decide p3f9a1c2e4b-1 --serial 1042 --marks q1=a --reviewer Anna
               hybrid review decide c3f9a1c2e4b-2 --text "Mehr Bänke" --reviewer Anna
    """
    from hybrid import review as review_mod

    name = _reviewer_or_default(reviewer)
    chosen = [flag for flag, on in (
        ("--confirm", confirm), ("--serial", serial is not None), ("--personal-data", personal_data),
        ("--text", text is not None and not personal_data), ("--accept", accept),
        ("--marks", marks is not None and serial is None), ("--invalid-question", bool(invalid_question)),
        ("--invalid", invalid), ("--reject", reject)) if on]
    if len(chosen) != 1:
        raise InvalidInput("choose one decision: --accept, --marks, --invalid-question Q, --invalid, --reject, "
                           "--serial N [--page P --marks …], --text T, --personal-data, or --confirm"
                           + (f" (got {' '.join(chosen)})" if chosen else ""))
    ws = workspace()
    process = ws.process
    store = ws.open_store()
    if confirm:
        item = review_mod.confirm(store, process, item_id, name, expected_version=version)
    else:
        action = {"--serial": "identify", "--personal-data": "personal_data", "--text": "text", "--accept": "accept",
                  "--marks": "marks", "--invalid-question": "invalid_question", "--invalid": "invalid",
                  "--reject": "reject"}[chosen[0]]
        request = review_mod.DecisionRequest(
            action=action, marks=review_mod.parse_marks(process, marks) if marks is not None else None,
            questions=tuple(invalid_question or ()), serial=serial, page=page, text=text)
        item = review_mod.decide(store, process, item_id, request, name, expected_version=version)
    decision = item.decision
    what = f"{decision.action} by {decision.reviewer}" if decision else "done"
    if item.status == "pending":
        console.print(f"{item.id}: {what} — waiting for a second reviewer "
                      f"(hybrid review decide {item.id} --confirm --reviewer OTHER)", highlight=False)
        raise typer.Exit(ExitCode.NEEDS_PERSON)
    confirmed = f", confirmed by {decision.confirmed_by}" if decision and decision.confirmed_by else ""
    console.print(f"{item.id}: {what}{confirmed} (version {item.version})", highlight=False)


@review_app.command("undo")
def review_undo(
    item_id: str = typer.Argument(..., metavar="ITEM", help="The item whose latest decision to undo."),
    reviewer: Optional[str] = typer.Option(None, "--reviewer", help="Who undoes it (required, or $HYBRID_REVIEWER)."),
    version: Optional[int] = typer.Option(None, "--version", help="Only if the item is still at VERSION."),
) -> None:
    """Undo the latest decision on ITEM (it stays in the history and the audit chain).

    Example:  hybrid review undo r12 --reviewer "Anna Weber"
    """
    from hybrid import review as review_mod

    name = _reviewer_or_default(reviewer)
    ws = workspace()
    process = ws.process
    store = ws.open_store()
    item = review_mod.undo(store, process, item_id, name, expected_version=version)
    state = f"now {item.status}" + (f" ({item.decision.action} by {item.decision.reviewer})" if item.decision else "")
    console.print(f"{item.id}: undone by {name}; {state}", highlight=False)


# -- merge / export ------------------------------------------------------------

export_app = typer.Typer(no_args_is_help=True, help="Confidential exports. / Vertrauliche Exporte.")
app.add_typer(export_app, name="export")


@app.command()
def merge(
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Folder for the results (default: out/)."),
    final: bool = typer.Option(False, "--final", help="The files to enter into CONSUL/Decidim: refused while "
                               "anything waits for a person."),
) -> None:
    """Count every channel into one result and write the files for CONSUL. / Alle Kanäle zählen.

    Writes ballots.csv, votes.csv, tally.csv, comments.csv, results.xlsx, report.pdf, consul/ (or decidim/) and audit.jsonl, and prints the CONSUL settings to check and the audit head hash. Records awaiting review are listed, not counted (exit code 1 until a person has decided them). Without --final every output is marked "VORLÄUFIG / PROVISIONAL — nicht in CONSUL eintragen" (files to enter are named VORLAEUFIG-…); --final refuses (exit 1, naming what is open) until nothing is open, and only it writes the files to enter.

    Schreibt Ergebnisdateien, die Dateien für CONSUL (consul/README.txt) und den Bericht; Stimmzettel in Prüfung werden aufgelistet, nicht gezählt. Ohne --final ist alles VORLÄUFIG.

    Example / Beispiel:  hybrid -C mainufer merge -o results/      hybrid -C mainufer merge --final
    """
    from hybrid.results.merge_outputs import NotFinal, write_merge

    ws = workspace()
    process = ws.process
    store = ws.open_store()
    folder = output if output is not None else ws.out_dir
    try:
        with console.status("Merging / Zusammenführen …"):
            done = write_merge(store, process, folder, final=final)
    except NotFinal as refused:
        console.print("[red]merge --final refused / abgelehnt:[/] still open, nothing written / noch offen, nichts "
                      "geschrieben:", highlight=False)
        for item in refused.open_items:
            console.print(f"  - {item}", highlight=False)
        console.print("Decide them first (hybrid review list), then run merge --final again.", highlight=False)
        raise typer.Exit(ExitCode.NEEDS_PERSON) from None
    _print_merge(done)
    if done.result.awaiting_review or done.result.unreadable_pages:
        raise typer.Exit(ExitCode.NEEDS_PERSON)


def _print_merge(done) -> None:
    from hybrid.merge import BOOTHS

    result = done.result
    states = result.state_counts()
    names = ("counted", "review", "rejected", "duplicate", "superseded", "not_a_vote")
    table = Table(title=f"{result.process.id}: records / Datensätze")
    table.add_column("channel")
    for name in names:
        table.add_column(name, justify="right")
    for channel in result.channels:
        table.add_row(BOOTHS[channel], *(str(states[channel].get(n, 0)) for n in names))
    console.print(table)
    tally = Table(title="tally / Ergebnis")
    for column in ("no.", "question", "option", *(BOOTHS[c] for c in result.channels), "total"):
        tally.add_column(column, justify="right" if column not in ("question", "option") else "left")
    for row in result.tally:
        tally.add_row(str(row.number), row.question, row.option, *(str(row.counts.get(c, 0)) for c in result.channels),
                      str(row.total))
    console.print(tally)
    booths = ", ".join(f"{b.booth}: {b.total} valid / {b.whites} blank / {b.nulls} invalid" for b in result.booths)
    console.print(f"CONSUL: {booths}", highlight=False)
    waiting = result.awaiting_review
    if waiting:
        shown = ", ".join(f"r{r.record_id}" + (f" (#{r.serial})" if r.serial else "") for r in waiting[:20])
        more = f" and {len(waiting) - 20} more" if len(waiting) > 20 else ""
        console.print(f"[yellow]Awaiting review, not counted / Warten auf Prüfung, nicht gezählt:[/] "
                      f"{len(waiting)}: {shown}{more}  (hybrid review list)", highlight=False)
    if result.unreadable_pages:
        console.print(f"[yellow]Unreadable pages to identify / Unlesbare Seiten:[/] {result.unreadable_pages}",
                      highlight=False)
    if result.redecided:
        console.print(f"Decided again across channels / Kanalübergreifend neu entschieden: {result.redecided}")
    _print_checklist(result.process)
    if done.provisional:
        console.print(f"[bold red]{done.provisional.notice}[/]", highlight=False)
        console.print(done.provisional.explanation_de(), highlight=False)
        console.print(done.provisional.explanation_en(), highlight=False)
    else:
        console.print("[bold green]FINAL / ENDGÜLTIG[/]: these files may be entered, each exactly once.",
                      highlight=False)
    console.print(f"Written to {done.folder}/ ({len(done.files) + 3} files)", highlight=False)
    console.print(f"Audit head / Prüfsumme: {done.head}", highlight=False, soft_wrap=True)


def _print_checklist(process) -> None:
    from hybrid.results.consul_checklist import settings_checklist

    platform = "Decidim" if process.platform == "decidim" else "CONSUL"
    table = Table(title=f"Check in {platform} before entering / vor dem Eintragen in {platform} prüfen")
    table.add_column("setting / Einstellung")
    table.add_column("hybrid used / Wert von hybrid")
    for setting in settings_checklist(process):
        table.add_row(f"{setting.de}\n[dim]{setting.en}[/]", setting.value)
    console.print(table)


@export_app.command("cvr")
def export_cvr(
    output: Path = typer.Option(..., "-o", "--output", help="The JSON Lines file to write."),
) -> None:
    """The confidential cast-vote records, one JSON object per record. / Stimmdatensätze (vertraulich).

    They link serials to choices: keep the file like the ballots themselves. / Sie verbinden Seriennummern mit der Wahl: so sicher aufbewahren wie die Stimmzettel.

    Example / Beispiel:  hybrid -C mainufer export cvr -o audit/cvr.jsonl
    """
    from hybrid.results.merge_outputs import export_cvr as write

    ws = workspace()
    count, head = write(ws.open_store(), ws.process, output)
    console.print(f"{count} cast-vote records written to {output} (confidential); audit head {head}",
                  highlight=False, soft_wrap=True)


# -- status --------------------------------------------------------------------


@app.command()
def status(
    as_json: bool = typer.Option(False, "--json", help="One JSON document for scripts."),
) -> None:
    """Where the process stands: pages, records per channel, ballots, review, audit head.

    Exit code 1 while items need a person (review, unreadable pages, comments), else 0.

    Examples:  hybrid -C wue-bh-2027 status
               hybrid -C wue-bh-2027 status --json
    """
    from hybrid.store.gateway import gateway_messages
    from hybrid.status import collect

    ws = workspace()
    process = ws.process
    store = ws.open_store()
    try:
        result = collect(store, process)
        by_gateway = gateway_messages(store)
    finally:
        store.close()
    from sms.provider import provider_name

    gateway = provider_name(process) == "android-gateway"
    if as_json:
        document = result.as_json()
        if gateway:
            document["sms_provider"] = {"provider": "android-gateway", "limits": GATEWAY_LIMITS}
        typer.echo(_as_json(document))
    else:
        _print_status(result, by_gateway)
        if gateway:
            store = ws.open_store()
            try:
                _print_gateway_outbox(store)
            finally:
                store.close()
    if result.needs_person:
        raise typer.Exit(ExitCode.NEEDS_PERSON)


def _print_status(result, by_gateway: int = 0) -> None:
    from rich import box

    from hybrid import state_texts as words
    from hybrid.states import PageState, RecordState

    console.print(f"[bold]{result.process_id}[/] ({result.kind}, identity {result.identity}): open {result.opens} → "
                  f"closes {result.closes}; purge from {result.purge_from}"
                  + (f"; last purge {result.last_purge}" if result.last_purge else ""), highlight=False)
    pages = Table(title="Pages", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    pages.add_column("Batch (received)", overflow="fold")
    for column in (*(s.value for s in PageState), "pages in"):
        pages.add_column(column, justify="right", min_width=len(column), no_wrap=True)
    for batch in result.batches:
        pages.add_row(f"{batch.batch} ({batch.received})", *(str(batch.pages[s.value]) for s in PageState),
                      str(batch.pages_in))
    pages.add_row("[bold]all batches[/]", *(f"[bold]{result.pages[s.value]}[/]" for s in PageState),
                  f"[bold]{result.pages_in}[/]")
    console.print(pages)
    records = Table(title="Records (people's decisions in force applied)")
    records.add_column("Record state")
    for channel in result.records:
        records.add_column(channel.channel, justify="right")
    records.add_column("total", justify="right")
    for state in RecordState:
        counts = [c.states[state.value] for c in result.records]
        records.add_row(words.text("record_state", state.value), *map(str, counts), str(sum(counts)))
    records.add_row("[bold]total[/]", *(f"[bold]{c.total}[/]" for c in result.records),
                    f"[bold]{sum(c.total for c in result.records)}[/]")
    console.print(records)
    for channel in result.records:
        if channel.reasons:
            console.print(f"Reasons ({channel.channel}): "
                          + ", ".join(f"{words.text('reason', reason)} {n}" for reason, n in channel.reasons.items()),
                          highlight=False)
    ballots, phones = result.ballots, result.phones
    console.print(f"Ballots printed: {ballots['issued'] + ballots['void']} (issued {ballots['issued']}, "
                  f"void {ballots['void']})", highlight=False)
    at_twilio = (f"deleted at Twilio {phones.sms_deleted_at_twilio - by_gateway}, {by_gateway} by the city's gateway, "
                 "never at Twilio" if by_gateway else f"deleted at Twilio {phones.sms_deleted_at_twilio}")
    console.print(f"SMS stored: {phones.sms_messages} ({at_twilio}); "
                  f"calls: {phones.voice_calls} (deleted at Twilio {phones.calls_deleted_at_twilio})", highlight=False)
    review = result.review
    waiting = ", ".join(f"{words.text('group', group)} {n}" for group, n in result.review_waiting.items())
    console.print(f"Review: {review.get('open', 0)} open, {review.get('pending', 0)} awaiting a second reviewer, "
                  f"{review.get('decided', 0)} decided" + (f" — waiting: {waiting}" if waiting else ""),
                  highlight=False)
    console.print(f"Audit chain: {result.audit_entries} entries, head {result.audit_head}", highlight=False)
    if result.needs_person:
        console.print("Some items need a person: see `hybrid review list`.")


# -- purge ---------------------------------------------------------------------


@app.command()
def purge(
    dry_run: bool = typer.Option(False, "--dry-run", help="Only show what would go (also before the date)."),
) -> None:
    """Delete what retention covers: raw SMS texts, phone hashes, scan images, and the messages and calls at Twilio.

    Allowed once retention_days have passed after closes (process.yaml); before that it refuses (exit 2) and deletes nothing. Records, votes, counts and the audit chain stay. Deleting at Twilio (the webhook's replies too) needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN. Re-running is harmless: only what is left (a failed Twilio delete) is tried again.

    Examples:  hybrid -C wue-bh-2027 purge --dry-run
               hybrid -C wue-bh-2027 purge
    """
    from hybrid.errors import ToolMissing
    from hybrid.purge import plan_purge, purge as purge_now
    from sms.twilio_cleanup import eraser_from_environment

    ws = workspace()
    process = ws.process
    store = ws.open_store()
    try:
        if dry_run:
            _print_purge_plan(plan_purge(ws, store))
            return
        eraser = eraser_from_environment(process)
        report = purge_now(ws, store, eraser=eraser)
    finally:
        store.close()
    _print_purge_report(report)
    from sms.provider import provider_name

    if provider_name(process) == "android-gateway":
        console.print("The SMS gateway's API cannot delete received messages: delete them on the phone too "
                      "(its SMS app keeps every message the SIM received).", highlight=False)
    if report.complete:
        return
    left = f"{report.pending_messages} message(s) and {report.pending_calls} call(s) are still stored at Twilio"
    replies = sum(1 for f in report.failures if f.kind in ("reply", "replies"))
    left += f", and {replies} reply/replies could not be deleted or listed" if replies else ""
    if eraser is None:
        raise InvalidInput(f"{left}: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, then run `hybrid purge` again")
    refused = [f for f in report.failures if f.why == "refused"]
    if refused:
        raise InvalidInput(f"{left}: {refused[0].message}; fix them, then run `hybrid purge` again")
    why = f" ({report.failures[0].message})" if report.failures else ""
    raise ToolMissing(f"{left}{why}; run `hybrid purge` again: only what is left is tried")


def _purge_rows(counts, *, replies: bool = True) -> list[tuple[str, str]]:
    megabytes = f"{counts.scan_bytes / 1_000_000:.1f} MB"
    return [("raw SMS texts", str(counts.sms_bodies)), ("phone hashes (rows)", str(counts.phone_hashes)),
            ("phones given a placeholder", str(counts.phone_identities)),
            ("scan copies", str(counts.scan_files)), ("review and comment crops", str(counts.crop_files)),
            ("scan images, size", megabytes), ("messages at Twilio", str(counts.provider_messages)),
            ("calls at Twilio", str(counts.provider_calls))] + (
        [("our replies at Twilio", str(counts.provider_replies))] if replies else [])


def _print_purge_plan(plan) -> None:
    table = Table(title="Dry run: what would go")
    table.add_column("")
    table.add_column("Would go", justify="right")
    for label, value in _purge_rows(plan.counts, replies=False):
        table.add_row(label, value)
    console.print(table)
    console.print("Also our replies at Twilio (listed when purging). Nothing was changed.")
    if plan.allowed:
        console.print(f"The retention period ended {plan.purge_from.isoformat()}: `hybrid purge` may run.")
    else:
        days = (plan.purge_from - plan.now).days + 1
        console.print(f"The retention period runs until {plan.purge_from.isoformat()} (in {days} days); "
                      "`hybrid purge` refuses until then.", highlight=False)
    if plan.other_files:
        console.print(f"Left alone (not made by hybrid): {', '.join(plan.other_files[:10])}"
                      + (f" and {len(plan.other_files) - 10} more" if len(plan.other_files) > 10 else ""),
                      highlight=False)


def _print_purge_report(report) -> None:
    table = Table(title="Purged")
    table.add_column("")
    table.add_column("Deleted now", justify="right")
    for label, value in _purge_rows(report.done):
        table.add_row(label, value)
    table.add_row("still at Twilio", f"{report.pending_messages} messages, {report.pending_calls} calls")
    console.print(table)
    for failure in report.failures[:5]:
        errors.print(f"[yellow]not deleted at Twilio:[/] {failure.kind}{' ' + failure.sid if failure.sid else ''}: "
                     f"{failure.message}", highlight=False)
    if len(report.failures) > 5:
        errors.print(f"… and {len(report.failures) - 5} more", highlight=False)
    if report.other_files:
        console.print(f"Left alone in scans/ (not made by hybrid): {len(report.other_files)} file(s)")
    if report.audit_head:
        console.print(f"Records, votes and counts are unchanged. Audit head: {report.audit_head}", highlight=False)
    elif report.complete:
        console.print("Nothing left to purge; nothing was changed.")
    else:
        console.print("Nothing was deleted this time.")


# -- audit ---------------------------------------------------------------------


@audit_app.command("verify")
def audit_verify(
    head: Optional[str] = typer.Option(None, "--head", help="A head hash printed earlier (e.g. by merge)."),
) -> None:
    """Check every entry of the audit chain. / Prüfkette kontrollieren.

    Example:  hybrid audit verify --head 3f9a…
    """
    from hybrid import audit
    from hybrid.errors import StoreProblem

    ws = workspace()
    store = ws.open_store()
    result = audit.verify(store, head)
    if not result.ok:
        raise StoreProblem(f"audit chain broken: {result.problem}")
    console.print(f"Audit chain intact: {result.entries} entries, head {result.head}")


# -- entry point ---------------------------------------------------------------


def _take_workspace_option(argv: list[str]) -> list[str]:
    """Remove `-C DIR` (before or after the command) and remember DIR."""
    global _workspace_dir
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest.extend(argv[i:])
            break
        if arg == "-C":
            if i + 1 >= len(argv):
                raise InvalidInput("-C needs a folder, e.g. hybrid -C wue-bh-2027 check")
            _workspace_dir = Path(argv[i + 1])
            i += 2
            continue
        if arg.startswith("-C") and len(arg) > 2 and not arg.startswith("--"):
            _workspace_dir = Path(arg[2:])
            i += 1
            continue
        rest.append(arg)
        i += 1
    return rest


def main(argv: list[str] | None = None) -> int:
    try:
        args = _take_workspace_option(list(sys.argv[1:] if argv is None else argv))
        result = app(args=args, prog_name="hybrid", standalone_mode=False)
        # Without standalone mode click returns typer.Exit(n)'s code instead of raising it.
        return int(result) if isinstance(result, int) and not isinstance(result, bool) else ExitCode.OK
    except HybridError as exc:
        errors.print(f"[red]error:[/] {exc.message}", highlight=False)
        return exc.exit_code
    except sqlite3.Error as exc:
        errors.print(f"[red]error:[/] store problem: {exc}", highlight=False)
        return ExitCode.STORE_OR_KEY
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        errors.print("aborted")
        return ExitCode.INVALID_INPUT
    except Exception as exc:  # click's usage errors, PostgreSQL errors
        if isinstance(exc, _click_exceptions()):
            exc.show()
            return ExitCode.INVALID_INPUT
        if type(exc).__module__.startswith("psycopg"):
            errors.print(f"[red]error:[/] store problem (PostgreSQL): {exc}", highlight=False)
            return ExitCode.STORE_OR_KEY
        raise


def _click_exceptions() -> tuple[type[Exception], ...]:
    """click's usage-error base class: from click, and from the copy newer Typer vendors as typer._click."""
    import importlib

    found: list[type[Exception]] = []
    for module in ("click", "typer._click"):
        try:
            found.append(importlib.import_module(module).ClickException)
        except (ImportError, AttributeError):
            pass
    return tuple(found)


if __name__ == "__main__":
    sys.exit(main())

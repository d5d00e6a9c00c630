"""Results: merge every channel, export the cast-vote records, show where the process stands."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from commands.output import console, to_json
from commands.phones import GATEWAY_LIMITS, print_gateway_outbox
from commands.session import session
from hybrid.errors import ExitCode

export_app = typer.Typer(no_args_is_help=True, help="Confidential exports. / Vertrauliche Exporte.")


def merge(
    ctx: typer.Context,
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

    opened = session(ctx)
    process = opened.process
    store = opened.store()
    folder = output if output is not None else opened.workspace.out_dir
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
    ctx: typer.Context,
    output: Path = typer.Option(..., "-o", "--output", help="The JSON Lines file to write."),
) -> None:
    """The confidential cast-vote records, one JSON object per record. / Stimmdatensätze (vertraulich).

    They link serials to choices: keep the file like the ballots themselves. / Sie verbinden Seriennummern mit der Wahl: so sicher aufbewahren wie die Stimmzettel.

    Example / Beispiel:  hybrid -C mainufer export cvr -o audit/cvr.jsonl
    """
    from hybrid.results.merge_outputs import export_cvr as write

    opened = session(ctx)
    count, head = write(opened.store(), opened.process, output)
    console.print(f"{count} cast-vote records written to {output} (confidential); audit head {head}",
                  highlight=False, soft_wrap=True)


# -- status --------------------------------------------------------------------


def status(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="One JSON document for scripts."),
) -> None:
    """Where the process stands: pages, records per channel, ballots, review, audit head.

    Exit code 1 while items need a person (review, unreadable pages, comments), else 0.

    Examples:  hybrid -C wue-bh-2027 status
               hybrid -C wue-bh-2027 status --json
    """
    from hybrid.store.gateway import gateway_messages
    from hybrid.status import collect

    opened = session(ctx)
    process = opened.process
    store = opened.store()
    result = collect(store, process)
    by_gateway = gateway_messages(store)
    from sms.provider import provider_name

    gateway = provider_name(process) == "android-gateway"
    if as_json:
        document = result.as_json()
        if gateway:
            document["sms_provider"] = {"provider": "android-gateway", "limits": GATEWAY_LIMITS}
        typer.echo(to_json(document))
    else:
        _print_status(result, by_gateway)
        if gateway:
            print_gateway_outbox(store)
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

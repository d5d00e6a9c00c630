"""Looking after the workspace: init, check, purge, audit verify."""

from __future__ import annotations

import os
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from commands.choices import one_of
from commands.output import console, errors
from commands.session import session
from hybrid.errors import InvalidInput


class Example(StrEnum):
    poll = "poll"
    budget = "budget"


class VotingStyle(StrEnum):
    knapsack = "knapsack"
    approval = "approval"


# -- init / check ------------------------------------------------------------


def init(
    ctx: typer.Context,
    example: Example = typer.Option(Example.poll, "--example", parser=one_of(Example, "--example"),
                                    help="poll | budget: start from a Würzburg sample."),
    from_consul: Optional[Path] = typer.Option(None, "--from-consul", help="CONSUL's admin CSV export of investments."),
    heading_amount: Optional[int] = typer.Option(None, "--heading-amount", help="Money of the heading, in euros."),
    voting_style: VotingStyle = typer.Option(VotingStyle.knapsack, "--voting-style",
                                             parser=one_of(VotingStyle, "--voting-style"), help="knapsack | approval"),
    max_lines: Optional[int] = typer.Option(None, "--max-lines", help="With approval: most choices per ballot."),
) -> None:
    """Create process.yaml, the store and the key. / Prozess anlegen.

    Examples:  hybrid -C mainufer init --example poll
               hybrid init --from-consul budget_investments.csv --heading-amount 500000 --voting-style knapsack
    """
    opened = session(ctx)
    ws = opened.workspace
    if ws.definition_path.exists():
        raise InvalidInput(f"{ws.definition_path}: already exists; hybrid init never overwrites it")
    warnings: list[str] = []
    if from_consul is not None:
        from hybrid.consul_import import process_from_consul_csv

        if heading_amount is None:
            raise InvalidInput("--from-consul needs --heading-amount (the heading's money in euros)")
        text, warnings = process_from_consul_csv(from_consul, heading_amount, voting_style.value, max_lines=max_lines)
    else:
        text = resources.files("hybrid").joinpath("examples", f"{example.value}.yaml").read_text(encoding="utf-8")
    ws.root.mkdir(parents=True, exist_ok=True)
    ws.definition_path.write_text(text, encoding="utf-8")
    process = opened.process
    opened.store(create=True)
    from hybrid.secret_key import key_path

    for warning in warnings:
        errors.print(f"[yellow]warning:[/] {warning}")
    console.print(f"Created {ws.definition_path} for [bold]{process.id}[/] ({process.kind}).")
    if not os.environ.get("HYBRID_SECRET"):
        console.print(f"The key is {key_path(process.id)} — back it up; without it the store cannot be read.")
    console.print("Next: edit process.yaml, then `hybrid check` and `hybrid print --count N`.")


def check(ctx: typer.Context) -> None:
    """Validate process.yaml and show what will be printed. / Definition prüfen.

    Example:  hybrid -C wue-bh-2027 check
    """
    p = session(ctx).process
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


# -- purge ---------------------------------------------------------------------


def purge(
    ctx: typer.Context,
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

    opened = session(ctx)
    ws = opened.workspace
    process = opened.process
    store = opened.store()
    if dry_run:
        _print_purge_plan(plan_purge(ws, store))
        return
    eraser = eraser_from_environment(process)
    report = purge_now(ws, store, eraser=eraser)
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

audit_app = typer.Typer(no_args_is_help=True, help="The audit chain. / Die Prüfkette.")


@audit_app.command("verify")
def audit_verify(
    ctx: typer.Context,
    head: Optional[str] = typer.Option(None, "--head", help="A head hash printed earlier (e.g. by merge)."),
) -> None:
    """Check every entry of the audit chain. / Prüfkette kontrollieren.

    Example:  hybrid audit verify --head 3f9a…
    """
    from hybrid import audit
    from hybrid.errors import StoreProblem

    result = audit.verify(session(ctx).store(), head)
    if not result.ok:
        raise StoreProblem(f"audit chain broken: {result.problem}")
    console.print(f"Audit chain intact: {result.entries} entries, head {result.head}")


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
    addresses: Optional[Path] = typer.Option(None, "--addresses", help="CSV of addresses for window envelopes."),
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
    from ocr.simulate_deck import simulate_deck

    if count < 1:
        raise InvalidInput("--count must be at least 1")
    if degrade not in ("light", "moderate", "heavy", "photo"):
        raise InvalidInput(f"--degrade {degrade}: use light, moderate, heavy or photo")
    if output.exists() and any(output.iterdir()):
        raise InvalidInput(f"{output}: folder is not empty; simulate writes a fresh deck")
    ws = workspace()
    summary = simulate_deck(ws.process, output, count=count, degrade=degrade, seed=seed)
    console.print(summary.describe() if hasattr(summary, "describe") else str(summary))


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
        app(args=args, prog_name="hybrid", standalone_mode=False)
        return ExitCode.OK
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

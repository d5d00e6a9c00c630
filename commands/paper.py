"""Paper: print ballots, void them, scan the returns, simulate a test deck."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from commands.choices import one_of
from commands.output import console, errors
from commands.session import session
from hybrid.errors import ExitCode, InvalidInput


class Degrade(StrEnum):
    light = "light"
    moderate = "moderate"
    heavy = "heavy"
    photo = "photo"


# -- print / void ------------------------------------------------------------


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=errors, transient=True)


def print_ballots(
    ctx: typer.Context,
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
    from hybrid.states import BallotState
    from hybrid.store import STORE_FILE

    opened = session(ctx)
    ws = opened.workspace
    process = opened.process
    replaces: tuple[int, ...] = ()
    address_blocks = read_addresses(addresses) if addresses else None
    store = opened.store(create=not (ws.root / STORE_FILE).exists())  # print makes the store on first use
    if replace:
        if not serials:
            raise InvalidInput("--replace needs the serial numbers to replace, e.g. hybrid print --replace 1042")
        rows = issued_ballots(store, list(serials))
        void = [r.serial for r in rows if r.state == BallotState.VOID]
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


def void(
    ctx: typer.Context,
    serials: list[int] = typer.Argument(..., help="Serial numbers of the ballots to void."),
    reason: str = typer.Option("void", "--reason", help="Why, e.g. lost, undeliverable."),
) -> None:
    """Void printed ballots (lost, undeliverable); their codes stop working. / Stimmzettel sperren.

    Example:  hybrid void 1042 1043 --reason undeliverable
    """
    from hybrid.ballot_lifecycle import void_ballots

    opened = session(ctx)
    opened.process  # noqa: B018 - validates the workspace first
    report = void_ballots(opened.store(), serials, reason)
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


def scan(
    ctx: typer.Context,
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

    opened = session(ctx)
    ws = opened.workspace
    process = opened.process
    day = _parse_day(received, "--received")
    missing = [str(p) for p in inputs if not p.exists()]
    if missing:
        raise InvalidInput(f"{missing[0]}: no such file or folder")
    require_tesseract()
    store = opened.store()
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


def simulate(
    ctx: typer.Context,
    count: int = typer.Option(..., "--count", "-n", help="How many ballots to fill."),
    degrade: Degrade = typer.Option(Degrade.moderate, "--degrade", parser=one_of(Degrade, "--degrade"),
                                    help="light | moderate | heavy | photo"),
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
    if output.exists() and any(output.iterdir()):
        raise InvalidInput(f"{output}: folder is not empty; simulate writes a fresh deck")
    summary = simulate_deck(session(ctx).process, output, count=count, degrade=degrade.value, seed=seed)
    console.print(summary.describe() if hasattr(summary, "describe") else str(summary))

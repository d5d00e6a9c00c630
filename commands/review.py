"""Review: what the machine could not decide, for staff to list, show, decide and undo."""

from __future__ import annotations

import os
from typing import Optional

import typer
from rich.table import Table

from commands.output import console, errors, to_json
from commands.session import session
from hybrid.errors import ExitCode, InvalidInput
from hybrid.states import ReviewAction

review_app = typer.Typer(no_args_is_help=True, help="What the machine could not decide. / Prüfung.")


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


@review_app.command("serve")
def review_serve(
    ctx: typer.Context,
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
    from ocr.evidence_picture import draw
    from review.app import create_app

    opened = session(ctx)
    ws = opened.workspace
    process = opened.process
    store = opened.store()  # the store and the key are checked before anything is served
    names = [r.name for r in review_mod.reviewers(store)]
    left = sum(1 for i in review_mod.list_items(store, process) if i.needs_person)
    opened.close()  # the page opens its own
    console.print(f"Review page: {_review_url(host, port)}  ({left} item(s) waiting)")
    if names:
        console.print(f"Reviewers with a link: {', '.join(names)}. New link: hybrid review token NAME")
    else:
        console.print("No reviewer has a link yet: run `hybrid review token NAME` for each person.")
    if host not in ("127.0.0.1", "localhost", "::1"):
        errors.print("[yellow]warning:[/] the page is reachable from the network over plain HTTP; "
                     "use it only on a trusted office network.", highlight=False)
    uvicorn.run(create_app(ws.root, process, lambda: ws.open_store(), draw_evidence=draw, prerender=prerender),
                host=host, port=port, log_level="warning")


@review_app.command("token")
def review_token(
    ctx: typer.Context,
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

    opened = session(ctx)
    opened.process  # noqa: B018 - validates the workspace first
    store = opened.store()
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
    ctx: typer.Context,
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

    opened = session(ctx)
    process = opened.process
    store = opened.store()
    items = review_mod.list_items(store, process, include_decided=True)
    shown = items if show_all else [i for i in items if i.needs_person]
    counts = review_mod.counts(items)
    if as_json:
        typer.echo(to_json({"counts": counts, "items": [dataclasses.asdict(i) for i in shown]}))
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
    ctx: typer.Context,
    item_id: str = typer.Argument(..., metavar="ITEM", help="An item id from `hybrid review list`, e.g. r12."),
    as_json: bool = typer.Option(False, "--json", help="One JSON document for scripts."),
) -> None:
    """One item: the reading (every box with its score), the history, what is in force.

    Example:  hybrid review show r12
    """
    from hybrid import review as review_mod

    opened = session(ctx)
    process = opened.process
    detail = review_mod.item_detail(opened.store(), process, item_id, opened.workspace.root)
    if as_json:
        typer.echo(to_json(detail))
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
    ctx: typer.Context,
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
    opened = session(ctx)
    process = opened.process
    store = opened.store()
    if confirm:
        item = review_mod.confirm(store, process, item_id, name, expected_version=version)
    else:
        action = {"--serial": ReviewAction.IDENTIFY, "--personal-data": ReviewAction.PERSONAL_DATA,
                  "--text": ReviewAction.TEXT, "--accept": ReviewAction.ACCEPT, "--marks": ReviewAction.MARKS,
                  "--invalid-question": ReviewAction.INVALID_QUESTION, "--invalid": ReviewAction.INVALID,
                  "--reject": ReviewAction.REJECT}[chosen[0]]
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
    ctx: typer.Context,
    item_id: str = typer.Argument(..., metavar="ITEM", help="The item whose latest decision to undo."),
    reviewer: Optional[str] = typer.Option(None, "--reviewer", help="Who undoes it (required, or $HYBRID_REVIEWER)."),
    version: Optional[int] = typer.Option(None, "--version", help="Only if the item is still at VERSION."),
) -> None:
    """Undo the latest decision on ITEM (it stays in the history and the audit chain).

    Example:  hybrid review undo r12 --reviewer "Anna Weber"
    """
    from hybrid import review as review_mod

    name = _reviewer_or_default(reviewer)
    opened = session(ctx)
    process = opened.process
    store = opened.store()
    item = review_mod.undo(store, process, item_id, name, expected_version=version)
    state = f"now {item.status}" + (f" ({item.decision.action} by {item.decision.reviewer})" if item.decision else "")
    console.print(f"{item.id}: undone by {name}; {state}", highlight=False)

"""The `hybrid` command: staff entry point that wires hub, paper and phones together.

Form: `hybrid [-C DIR] COMMAND …` (`-C DIR` is accepted after the command too).
Exit codes (DESIGN §9): 0 ok · 1 needs a person · 2 invalid input · 3 store/key · 4 tool missing.
The commands live in commands/, one module per group; this door opens the workspace and maps errors.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import typer

from commands import paper, phones, results, review, upkeep
from commands.output import console, errors
from commands.session import Session
from hybrid.errors import ExitCode, HybridError, InvalidInput

__all__ = ["app", "console", "errors", "main"]

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


@app.callback()
def open_workspace(
    ctx: typer.Context,
    directory: Path = typer.Option(Path("."), "-C", hidden=True, help="The workspace folder (default: here)."),
) -> None:
    """Every command runs in the workspace DIR; its store is closed when the command ends."""
    ctx.obj = ctx.with_resource(Session(directory))


# In the order `hybrid --help` lists them.
app.command()(upkeep.init)
app.command()(upkeep.check)
app.command("print")(paper.print_ballots)
app.command()(paper.void)
app.command()(paper.scan)
app.command()(paper.simulate)
app.command()(results.merge)
app.command()(results.status)
app.command()(upkeep.purge)
app.add_typer(upkeep.audit_app, name="audit")
app.add_typer(review.review_app, name="review")
app.add_typer(phones.sms_app, name="sms")
app.add_typer(results.export_app, name="export")


def _workspace_first(argv: list[str]) -> list[str]:
    """Move `-C DIR` (also `-CDIR`, before or after the command; the last one wins) to the front,
    where the callback reads it; without a command there is nothing to run in DIR."""
    directory: str | None = None
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
            directory = argv[i + 1]
            i += 2
            continue
        if arg.startswith("-C") and len(arg) > 2 and not arg.startswith("--"):
            directory = arg[2:]
            i += 1
            continue
        rest.append(arg)
        i += 1
    return ["-C", directory, *rest] if directory is not None and rest else rest


def main(argv: list[str] | None = None) -> int:
    try:
        args = _workspace_first(list(sys.argv[1:] if argv is None else argv))
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

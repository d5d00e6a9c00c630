"""`hybrid` at the command line: bad input is refused with the right exit code and a
message that names the file or field, never with a traceback (DESIGN §2, §9).

Every call goes through `cli.main` (the `run_cli` fixture in conftest.py also fails a
test whose output holds a traceback).
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from hybrid.errors import ExitCode
from hybrid.secret_key import key_path
from hybrid.store import STORE_FILE

POLL_ID = "wue-mainufer-2027"
EXAMPLES = Path(__file__).resolve().parent.parent / "hybrid" / "examples"


@pytest.fixture
def poll(tmp_path: Path, run_cli) -> Path:
    """A fresh workspace made by `hybrid init --example poll`."""
    ws = tmp_path / "poll"
    result = run_cli("-C", ws, "init", "--example", "poll")
    assert result.code == 0, result.output
    return ws


def print_runs(ws: Path) -> int:
    with closing(sqlite3.connect(ws / STORE_FILE)) as db:
        return db.execute("SELECT COUNT(*) FROM print_runs").fetchone()[0]


def pdfs(ws: Path) -> list[Path]:
    return sorted(ws.rglob("*.pdf"))


# -- print: bad arguments ------------------------------------------------------------------


def test_count_zero_is_refused(poll: Path, run_cli):
    result = run_cli("-C", poll, "print", "--count", 0)
    assert result.code == ExitCode.INVALID_INPUT == 2
    assert "--count" in result.err
    assert pdfs(poll) == [] and print_runs(poll) == 0


def test_an_existing_output_file_is_never_overwritten(poll: Path, run_cli):
    target = poll / "ballots.pdf"
    target.write_bytes(b"%PDF-1.4 the print shop's copy")
    result = run_cli("-C", poll, "print", "--count", 2, "-o", target)
    assert result.code == 2
    assert str(target) in result.err and "already exists" in result.err
    assert target.read_bytes() == b"%PDF-1.4 the print shop's copy"
    assert not (poll / "ballots.manifest.json").exists()
    assert print_runs(poll) == 0  # refused before any serial was reserved


def test_an_existing_sidecar_also_blocks_the_run(poll: Path, run_cli):
    manifest = poll / "run.manifest.json"
    manifest.write_text("{}", encoding="utf-8")
    result = run_cli("-C", poll, "print", "--count", 1, "-o", poll / "run.pdf")
    assert result.code == 2 and str(manifest) in result.err
    assert manifest.read_text(encoding="utf-8") == "{}" and not (poll / "run.pdf").exists()


def test_printing_twice_to_one_name_keeps_the_first_file(poll: Path, run_cli):
    target = poll / "mailing.pdf"
    assert run_cli("-C", poll, "print", "--count", 1, "-o", target).code == 0
    before = target.read_bytes()
    again = run_cli("-C", poll, "print", "--count", 1, "-o", target)
    assert again.code == 2 and str(target) in again.err
    assert target.read_bytes() == before and print_runs(poll) == 1


@pytest.mark.parametrize("folder", ["missing", "a-file", "unwritable"])
def test_an_unusable_output_folder_is_refused(poll: Path, run_cli, folder: str):
    if folder == "missing":
        parent = poll / "no" / "such" / "folder"
    elif folder == "a-file":
        parent = poll / "process.yaml"
    else:
        parent = Path("/proc/self")  # refuses new files even to root, unlike a chmod'ed folder
    result = run_cli("-C", poll, "print", "--count", 1, "-o", parent / "ballots.pdf")
    assert result.code == 2
    assert str(parent) in result.err
    assert ("does not exist" if folder != "unwritable" else "not writable") in result.err
    assert print_runs(poll) == 0


def test_an_output_name_too_long_for_the_filesystem_is_refused(poll: Path, run_cli):
    name = poll / ("b" * 300 + ".pdf")
    result = run_cli("-C", poll, "print", "--count", 1, "-o", name)
    assert result.code == 2 and "output name" in result.err
    assert print_runs(poll) == 0


def test_output_must_be_a_pdf(poll: Path, run_cli):
    result = run_cli("-C", poll, "print", "--count", 1, "-o", poll / "ballots.txt")
    assert result.code == 2 and "ballots.txt" in result.err and ".pdf" in result.err


def test_a_language_the_process_does_not_have_is_refused(poll: Path, run_cli):
    result = run_cli("-C", poll, "print", "--count", 1, "--lang", "xx")
    assert result.code == 2
    assert "--lang xx" in result.err and "de, en" in result.err
    assert pdfs(poll) == []


def test_replace_needs_serials(poll: Path, run_cli):
    result = run_cli("-C", poll, "print", "--replace")
    assert result.code == 2 and "--replace" in result.err and "serial" in result.err


def test_a_bare_number_is_not_taken_for_a_count(poll: Path, run_cli):
    result = run_cli("-C", poll, "print", 5)
    assert result.code == 2 and "--count 5" in result.err


@pytest.mark.parametrize("args,named", [
    (["print", "--count", "1", "--bogus"], "--bogus"),
    (["print", "--count", "many"], "--count"),
    (["void"], "serials"),
    (["frobnicate"], "frobnicate"),
])
def test_usage_errors_exit_2_without_a_traceback(poll: Path, run_cli, args: list[str], named: str):
    result = run_cli("-C", poll, *args)
    assert result.code == 2
    assert named in result.output


def test_bad_address_files_are_refused_with_file_and_line(poll: Path, run_cli, tmp_path: Path):
    no_city = tmp_path / "no-city.csv"
    no_city.write_text("name,street,postcode\nErika Müßig,Domstraße 7,97070\n", encoding="utf-8")
    result = run_cli("-C", poll, "print", "--addresses", no_city)
    assert result.code == 2 and f"{no_city}:1:" in result.err and "city" in result.err
    empty_name = tmp_path / "empty-name.csv"
    empty_name.write_text("name,street,postcode,city\nA,B,1,C\n,Domstraße 7,97070,Würzburg\n", encoding="utf-8")
    result = run_cli("-C", poll, "print", "--addresses", empty_name)
    assert result.code == 2 and f"{empty_name}:3:" in result.err
    missing = tmp_path / "missing.csv"
    result = run_cli("-C", poll, "print", "--addresses", missing)
    assert result.code == 2 and str(missing) in result.err
    two = tmp_path / "two.csv"
    two.write_text("name,street,postcode,city\nA,B,1,C\nD,E,2,F\n", encoding="utf-8")
    result = run_cli("-C", poll, "print", "--addresses", two, "--count", 3)
    assert result.code == 2 and "--count 3" in result.err and "2 addresses" in result.err
    assert pdfs(poll) == [] and print_runs(poll) == 0


# -- process.yaml ------------------------------------------------------------------------------


def line_col_of(text: str, needle: str) -> tuple[int, int]:
    offset = text.index(needle)
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


@pytest.mark.parametrize("command", [["check"], ["print", "--count", "1"]])
def test_malformed_yaml_names_file_line_and_column(poll: Path, run_cli, command: list[str]):
    definition = poll / "process.yaml"
    text = definition.read_text(encoding="utf-8").replace("max_choices: 2", "max_choices: [2")
    definition.write_text(text, encoding="utf-8")
    result = run_cli("-C", poll, *command)
    assert result.code == 2
    match = re.search(r"process\.yaml:(\d+):(\d+)", result.err)
    assert match, result.err
    bad_line, _ = line_col_of(text, "max_choices: [2")
    assert bad_line <= int(match[1]) <= bad_line + 2
    assert pdfs(poll) == []


def test_a_broken_rule_names_line_column_and_field(poll: Path, run_cli):
    definition = poll / "process.yaml"
    original = definition.read_text(encoding="utf-8")
    text = original.replace("      - id: b\n        consul_order: 2\n        text: {de: \"Trinkwasserbrunnen\"",
                            "      - id: a\n        consul_order: 2\n        text: {de: \"Trinkwasserbrunnen\"")
    assert text != original
    definition.write_text(text, encoding="utf-8")
    result = run_cli("-C", poll, "check")
    assert result.code == 2
    line, col = line_col_of(text, "a\n        consul_order: 2\n        text: {de: \"Trinkwasserbrunnen\"")
    assert f"process.yaml:{line}:{col}" in result.err, result.err
    assert "questions[1].options[1].id" in result.err and "duplicate" in result.err


def test_a_wrong_type_names_the_field(poll: Path, run_cli):
    definition = poll / "process.yaml"
    text = definition.read_text(encoding="utf-8").replace("max_choices: 2", "max_choices: zwei")
    definition.write_text(text, encoding="utf-8")
    result = run_cli("-C", poll, "print", "--count", 1)
    line, col = line_col_of(text, "max_choices: zwei")
    col += len("max_choices: ")  # the value is what is wrong
    assert result.code == 2 and f"process.yaml:{line}:{col}" in result.err
    assert "questions[1].max_choices" in result.err


@pytest.mark.parametrize("command", [["check"], ["print", "--count", "1"], ["void", "1"], ["audit", "verify"]])
def test_a_folder_without_process_yaml_is_refused(tmp_path: Path, run_cli, command: list[str]):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli("-C", empty, *command)
    assert result.code == 2
    assert str(empty / "process.yaml") in result.err and "hybrid init" in result.err
    assert list(empty.iterdir()) == []  # nothing was created


def test_init_never_overwrites(poll: Path, run_cli):
    definition = poll / "process.yaml"
    definition.write_text(definition.read_text(encoding="utf-8") + "# edited by staff\n", encoding="utf-8")
    edited = definition.read_bytes()
    key = key_path(POLL_ID).read_bytes()
    for example in ("poll", "budget"):
        result = run_cli("-C", poll, "init", "--example", example)
        assert result.code == 2
        assert str(definition) in result.err and "already exists" in result.err
    assert definition.read_bytes() == edited
    assert key_path(POLL_ID).read_bytes() == key


def test_init_refuses_an_unknown_example(tmp_path: Path, run_cli):
    result = run_cli("-C", tmp_path / "ws", "init", "--example", "referendum")
    assert result.code == 2 and "--example referendum" in result.err
    assert not (tmp_path / "ws" / "process.yaml").exists()


# -- check ----------------------------------------------------------------------------------


@pytest.mark.parametrize("example,items,first,last", [
    ("poll", 11, "Als ruhige Grünfläche zum Verweilen", "Nein"),
    ("budget", 34, "Trinkwasserbrunnen am Marktplatz", "Barrierefreie Bushaltestelle am Juliusspital"),
])
def test_check_shows_every_printed_number(tmp_path: Path, run_cli, example: str, items: int, first: str, last: str):
    ws = tmp_path / example
    assert run_cli("-C", ws, "init", "--example", example).code == 0
    result = run_cli("-C", ws, "check")
    assert result.code == 0, result.output
    rows = [re.match(r"^\s*│\s*(\d+)\s*│(.*)$", line) for line in result.out.splitlines()]
    rows = [(int(m[1]), m[2]) for m in rows if m]
    assert [n for n, _ in rows] == list(range(1, items + 1))
    assert first in rows[0][1] and last in rows[-1][1]
    assert "process.yaml is valid" in result.out
    if example == "budget":
        assert "18,000" in rows[0][1] and "500,000" in result.out


# -- the key and the store -------------------------------------------------------------------


def test_print_with_another_secret_is_refused(poll: Path, run_cli, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HYBRID_SECRET", "c3" * 32)
    result = run_cli("-C", poll, "print", "--count", 1)
    assert result.code == ExitCode.STORE_OR_KEY == 3
    assert "key does not match" in result.err and STORE_FILE in result.err
    assert pdfs(poll) == []
    monkeypatch.delenv("HYBRID_SECRET")
    assert run_cli("-C", poll, "print", "--count", 1).code == 0  # the right key still works


def test_print_with_a_replaced_key_file_is_refused(poll: Path, run_cli):
    key_path(POLL_ID).write_bytes(bytes(range(32)))
    result = run_cli("-C", poll, "print", "--count", 1)
    assert result.code == 3 and "key does not match" in result.err
    assert pdfs(poll) == []


def test_print_without_the_key_file_is_refused(poll: Path, run_cli):
    key = key_path(POLL_ID)
    key.unlink()
    result = run_cli("-C", poll, "print", "--count", 1)
    assert result.code == 3 and str(key) in result.err
    assert not key.exists() and pdfs(poll) == []  # no new key was made for an existing store


def test_a_damaged_key_file_is_refused(poll: Path, run_cli):
    key_path(POLL_ID).write_bytes(b"too short")
    result = run_cli("-C", poll, "void", 1)
    assert result.code == 3 and "damaged" in result.err


def test_audit_verify_passes_after_prints_and_fails_after_tampering(poll: Path, run_cli):
    assert run_cli("-C", poll, "print", "--count", 2).code == 0
    assert run_cli("-C", poll, "print", "--count", 1, "--lang", "en").code == 0
    assert run_cli("-C", poll, "void", 3).code == 0
    ok = run_cli("-C", poll, "audit", "verify")
    assert ok.code == 0 and re.search(r"intact: 5 entries, head [0-9a-f]{64}", ok.out), ok.out
    with closing(sqlite3.connect(poll / STORE_FILE)) as db, db:
        changed = db.execute(
            "UPDATE audit SET body = replace(body, '\"count\":2', '\"count\":20') WHERE kind = 'print_run'"
        ).rowcount
    assert changed == 2  # both print runs' entries; only the first one had count 2
    broken = run_cli("-C", poll, "audit", "verify")
    assert broken.code == 3
    assert "audit chain broken" in broken.err and "entry 1 (print_run)" in broken.err


def test_audit_verify_notices_a_removed_entry(poll: Path, run_cli):
    assert run_cli("-C", poll, "print", "--count", 1).code == 0
    assert run_cli("-C", poll, "void", 1).code == 0
    with closing(sqlite3.connect(poll / STORE_FILE)) as db, db:
        db.execute("DELETE FROM audit WHERE seq = 2")
    result = run_cli("-C", poll, "audit", "verify")
    assert result.code == 3 and "entry" in result.err


# -- the workspace option ---------------------------------------------------------------------


@pytest.mark.parametrize("form", ["before", "after", "glued", "sub-command"])
def test_workspace_option_before_or_after_the_command(poll: Path, run_cli, form: str):
    args = {
        "before": ["-C", poll, "check"],
        "after": ["check", "-C", poll],
        "glued": [f"-C{poll}", "check"],
        "sub-command": ["audit", "verify", "-C", poll],
    }[form]
    result = run_cli(*args)
    assert result.code == 0, result.output
    assert ("process.yaml is valid" if form != "sub-command" else "Audit chain intact") in result.out


def test_workspace_option_after_print_options(poll: Path, run_cli):
    result = run_cli("print", "--count", 1, "--lang", "en", "-C", poll)
    assert result.code == 0, result.output
    assert [p.name for p in pdfs(poll)] == ["ballots-en-000001.pdf"]


def test_workspace_option_without_a_folder(run_cli):
    result = run_cli("check", "-C")
    assert result.code == 2 and "-C needs a folder" in result.err

"""The door of `hybrid`: `-C DIR` before or after the command, one-of-a-set options refused
with a message naming the option, and the store a command opened closed when it ends.

Every call goes through `cli.main` (the `run_cli` fixture in conftest.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from commands.session import Session
from hybrid.errors import ExitCode


@pytest.fixture
def poll(tmp_path: Path, run_cli) -> Path:
    ws = tmp_path / "poll"
    assert run_cli("-C", ws, "init", "--example", "poll").code == 0
    return ws


def test_the_workspace_can_be_named_before_or_after_the_command(poll: Path, run_cli, monkeypatch):
    before = run_cli("-C", poll, "check")
    assert before.code == 0 and "process.yaml is valid." in before.out
    assert run_cli("check", "-C", poll).out == before.out
    assert run_cli(f"-C{poll}", "check").out == before.out
    monkeypatch.chdir(poll)
    assert run_cli("check").out == before.out  # default: the current folder


def test_minus_c_without_a_folder_is_refused(run_cli):
    result = run_cli("check", "-C")
    assert result.code == ExitCode.INVALID_INPUT and "-C needs a folder" in result.err


@pytest.mark.parametrize(("args", "message"), [
    (("init", "--example", "referendum"), "--example referendum: use poll or budget"),
    (("init", "--from-consul", "x.csv", "--heading-amount", 5, "--voting-style", "greedy"),
     "--voting-style greedy: use knapsack or approval"),
    (("simulate", "--count", 2, "--degrade", "awful", "-o", "deck"),
     "--degrade awful: use light, moderate, heavy or photo"),
])
def test_a_word_outside_the_set_is_refused_naming_the_option(tmp_path: Path, run_cli, args, message):
    result = run_cli("-C", tmp_path / "ws", *args)
    assert result.code == ExitCode.INVALID_INPUT == 2
    assert result.err.strip() == f"error: {message}"
    assert not (tmp_path / "ws").exists()


@pytest.mark.parametrize("args", [("status",), ("review", "list"), ("audit", "verify"), ("void", 999)])
def test_the_store_a_command_opened_is_closed_when_it_ends(poll: Path, run_cli, monkeypatch, args):
    sessions: list[Session] = []
    opened = Session.store

    def watched(self: Session, *, create: bool = False):
        sessions.append(self)
        return opened(self, create=create)

    monkeypatch.setattr(Session, "store", watched)
    run_cli("-C", poll, *args)
    assert sessions, "the command opened its store through the session"
    assert all(s._store is None for s in sessions)

"""Generic fixtures: every test gets its own config folder and no HYBRID_SECRET."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def isolated_config(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """An empty $XDG_CONFIG_HOME per test, so no test reads or writes ~/.config."""
    config = tmp_path_factory.mktemp("xdg-config")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.delenv("HYBRID_DATABASE_URL", raising=False)
    monkeypatch.delenv("HYBRID_SECRET", raising=False)
    return config


# -- the `hybrid` command, run in-process ------------------------------------------------

from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str

    @property
    def output(self) -> str:
        return self.out + self.err


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """`run_cli(*args)` runs `hybrid args…` through `cli.main` and returns its exit code,
    stdout and stderr. Rich prints unwrapped (messages stay on one line); no output may
    hold a traceback."""
    import cli

    monkeypatch.setattr(cli.console, "_width", 10_000)
    monkeypatch.setattr(cli.errors, "_width", 10_000)
    monkeypatch.setattr(cli, "_workspace_dir", Path("."))

    def run(*args: object) -> CliResult:
        capsys.readouterr()
        code = cli.main([str(a) for a in args])
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err, out + err
        return CliResult(int(code), out, err)

    return run


@pytest.fixture(scope="session")
def postgres_cluster():
    """One throwaway PostgreSQL server for the whole run (Debian's binaries, a temp folder)."""
    from postgres_cluster import Cluster

    cluster = Cluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_engine(request, monkeypatch: pytest.MonkeyPatch):
    """Run a test against both store engines: SQLite in the workspace, and a fresh PostgreSQL database."""
    if request.param == "postgresql":
        cluster = request.getfixturevalue("postgres_cluster")
        monkeypatch.setenv("HYBRID_DATABASE_URL", cluster.new_database())
    else:
        monkeypatch.delenv("HYBRID_DATABASE_URL", raising=False)
    return request.param

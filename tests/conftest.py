"""Generic fixtures: every test gets its own config folder and no HYBRID_SECRET."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def isolated_config(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """An empty $XDG_CONFIG_HOME per test, so no test reads or writes ~/.config."""
    config = tmp_path_factory.mktemp("xdg-config")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.delenv("HYBRID_SECRET", raising=False)
    return config

"""The workspace one command runs in: the folder `-C DIR` names, its definition, its store."""

from __future__ import annotations

from pathlib import Path

import typer

from hybrid.definition import Process
from hybrid.store import Store
from hybrid.workspace import Workspace


class Session:
    """Opened by the door for every command. `store()` opens the store on first use; the
    session closes it when the command ends, however it ends."""

    def __init__(self, root: Path) -> None:
        self.workspace = Workspace(root)
        self._store: Store | None = None

    @property
    def process(self) -> Process:
        """The validated process.yaml (read once)."""
        return self.workspace.process

    def store(self, *, create: bool = False) -> Store:
        """The store, opened (with `create`, made with the process key) on first use."""
        if self._store is None:
            self._store = self.workspace.open_store(create=create)
        return self._store

    def close(self) -> None:
        """Close the store if it is open; a later `store()` opens it again."""
        store, self._store = self._store, None
        if store is not None:
            store.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def session(ctx: typer.Context) -> Session:
    """The session the door opened for this command."""
    found = ctx.find_object(Session)
    assert found is not None, "commands run through cli.main, whose callback opens the session"
    return found

"""A workspace: one folder per participation process, like a git working tree (DESIGN §2)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from hybrid.definition import Process
from hybrid.errors import InvalidInput
from hybrid.store import Store

DEFINITION_FILE = "process.yaml"


@dataclass
class Workspace:
    root: Path

    @property
    def definition_path(self) -> Path:
        return self.root / DEFINITION_FILE

    @property
    def out_dir(self) -> Path:
        return self.root / "out"

    @property
    def scans_dir(self) -> Path:
        return self.root / "scans"

    @cached_property
    def process(self) -> Process:
        from hybrid.definition_file import load_process

        if not self.definition_path.exists():
            raise InvalidInput(
                f"{self.definition_path}: no process.yaml here; run `hybrid init --example poll` "
                "or use -C to point at a workspace"
            )
        return load_process(self.definition_path)

    def open_store(self, *, create: bool = False) -> Store:
        return Store.open(self.root, self.process.id, create=create)

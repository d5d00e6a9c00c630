"""Where commands print: results to stdout, warnings and errors to stderr, JSON for scripts."""

from __future__ import annotations

import dataclasses
import json

from rich.console import Console

console = Console()
errors = Console(stderr=True)


def to_json(value) -> str:
    """`value` (a dataclass or plain data) as the indented JSON document `--json` prints."""
    return json.dumps(dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value,
                      ensure_ascii=False, indent=1, default=str)

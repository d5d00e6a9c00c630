"""What a benchmark row names: the machine it ran on."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def machine_line() -> str:
    return f"{os.cpu_count()} cores, {cpu_name()}, Python {platform.python_version()}"

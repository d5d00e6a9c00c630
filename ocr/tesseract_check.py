"""Tesseract is an external program: check it once, name the package when it is missing."""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache

from hybrid.errors import ToolMissing

NEEDED_LANGUAGES = ("deu", "eng")


@lru_cache(maxsize=1)
def require_tesseract() -> str:
    """Tesseract's version; raises ToolMissing (exit 4) naming the Debian packages to install."""
    if shutil.which("tesseract") is None:
        raise ToolMissing("tesseract is not installed: sudo apt-get install tesseract-ocr tesseract-ocr-deu")
    try:
        version = subprocess.run(["tesseract", "--version"], capture_output=True, text=True, timeout=20).stdout
        languages = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise ToolMissing(f"tesseract does not run ({exc}); reinstall: sudo apt-get install tesseract-ocr") from exc
    have = set(languages.split())
    missing = [lang for lang in NEEDED_LANGUAGES if lang not in have]
    if missing:
        packages = " ".join(f"tesseract-ocr-{lang}" for lang in missing)
        raise ToolMissing(f"tesseract lacks language data {', '.join(missing)}: sudo apt-get install {packages}")
    return version.splitlines()[0] if version else "tesseract"

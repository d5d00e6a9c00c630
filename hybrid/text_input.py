"""Reading a text file a person gave us (process.yaml, a CONSUL or Twilio export, addresses):
UTF-8 with or without BOM, or one message naming the file, line and column of the first bad byte."""

from __future__ import annotations

from pathlib import Path

from hybrid.errors import InvalidInput


def read_utf8(path: Path, what: str, fix: str = "save the file as UTF-8") -> str:
    """The text of `path`; `what` names the expected file ("a CSV file") and `fix` tells how to repair bad bytes."""
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise InvalidInput(f"{name}: no such file") from None
    except IsADirectoryError:
        raise InvalidInput(f"{name}: is a folder, not {what}") from None
    except OSError as exc:
        raise InvalidInput(f"{name}: cannot read it: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8-sig")  # Excel and Notepad add a BOM
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InvalidInput(
            f"{name}:{line}:{column}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); {fix}"
        ) from None

"""Recipient addresses for window envelopes (DIN 5008). Used for one print run only:
they go into the PDF and nowhere else (not the store, not the logs, not the manifest)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from hybrid.errors import InvalidInput

# Header names accepted, German or English, mapped to DIN 5008 line order.
_FIELDS = {
    "name": ("name", "empfänger", "recipient"),
    "addition": ("addition", "zusatz", "c/o", "name2"),
    "street": ("street", "straße", "strasse", "address", "anschrift"),
    "postcode": ("postcode", "plz", "zip", "postal_code"),
    "city": ("city", "ort", "town"),
    "country": ("country", "land"),
}
MAX_LINES = 6


def read_addresses(path: Path) -> list[list[str]]:
    """Address blocks (lines in print order) from a UTF-8 CSV with a header row.

    Columns: name, [addition], street, postcode, city, [country] (German names work too:
    Name, Zusatz, Straße, PLZ, Ort, Land). Bad rows are refused with their line number.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InvalidInput(f"{path}: address file not found") from None
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8 CSV") from None
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read the address file ({exc.strerror})") from None
    first = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text), delimiter=";" if first.count(";") > first.count(",") else ",")
    rows = list(reader)
    if not rows:
        raise InvalidInput(f"{path}: the address file is empty")
    header = [h.strip().lower() for h in rows[0]]
    columns: dict[str, int] = {}
    for field, names in _FIELDS.items():
        for i, h in enumerate(header):
            if h in names:
                columns[field] = i
    missing = [f for f in ("name", "street", "postcode", "city") if f not in columns]
    if missing:
        raise InvalidInput(f"{path}:1: address file lacks column(s) {', '.join(missing)} (have: {', '.join(header)})")
    blocks: list[list[str]] = []
    for line_no, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue

        def cell(field: str) -> str:
            i = columns.get(field)
            return row[i].strip() if i is not None and i < len(row) else ""

        if not cell("name") or not cell("city"):
            raise InvalidInput(f"{path}:{line_no}: address without name or city")
        lines = [cell("name")]
        if cell("addition"):
            lines.append(cell("addition"))
        if cell("street"):
            lines.append(cell("street"))
        lines.append(f"{cell('postcode')} {cell('city')}".strip())
        if cell("country"):
            lines.append(cell("country").upper())
        blocks.append(lines[:MAX_LINES])
    if not blocks:
        raise InvalidInput(f"{path}: the address file has a header but no addresses")
    return blocks

"""Start a budget process.yaml from CONSUL's admin export of investments (DESIGN §8).

The export is `/admin/budgets/<id>/budget_investments.csv`; its headers are translated
into the admin's language. English and German exports are read; extra columns (CONSUL
versions differ: Supports, Description, …) are ignored. Headers are matched loosely
(case, spaces, punctuation and a BOM do not matter), since translations drift.

The newest export (CONSUL PR #6367, 2026) has a `Created at` column and one row per
comment (Comment ID, Comment Author, Comment Content, Comment Parent, Comment Created at;
German names not fixed: any column naming a comment/Kommentar), the investment repeated
on each. Rows with the same ID and the same investment columns are one investment;
differing investment columns are refused, naming both lines and the column.

A caller may rely on:
- `process_from_consul_csv` returns (process.yaml text, warnings); the text loads with
  `hybrid.definition_file.load_process` (checked before it is returned).
- Only selected rows are taken, in the export's order, ids and prices as in CONSUL.
- Prices read `€45,000` (CONSUL's own de-DE and en locales) or `45.000 €` (rails-i18n).
  Under `approval` a selected investment may have no price (`Feasible ()`): CONSUL's
  approval budgets do not need one; knapsack refuses it.
- Every refusal is `InvalidInput` naming the CSV file, and the physical line (header =
  line 1) when a row is at fault.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Iterable

import yaml

from hybrid.errors import InvalidInput
from hybrid.text_input import read_utf8

VOTING_STYLES = ("knapsack", "approval")


@dataclass(frozen=True)
class _Columns:
    """CONSUL's header names in one admin language."""

    language: str
    id: str
    title: str
    heading: str
    feasibility: str
    selected: str
    yes: str
    no: str
    feasible: str


# From consuldemocracy's config/locales/*/admin.yml (admin.budget_investments.index.list)
_EXPORTS = (
    _Columns("en", "ID", "Title", "Scope of operation", "Feasibility", "Selected", "Yes", "No", "Feasible"),
    _Columns("de", "ID", "Titel", "Rahmenbedingungen", "Durchführbarkeit", "Ausgewählt", "Ja", "Nein", "Durchführbar"),
)
_LANGUAGE_NAMES = {"de": "German", "en": "English"}
_PROCESS_TITLE = {"de": "Bürgerhaushalt {heading}", "en": "Citizens' budget {heading}"}
_COMMENT = {"de": "Ihre Anmerkung (freiwillig)", "en": "Your comment (optional)"}


@dataclass(frozen=True)
class ConsulInvestment:
    """One selected row of the export."""

    line: int  # physical line in the CSV, header = 1
    id: str
    title: str
    heading: str
    price: int | None  # None only under approval ("Feasible ()")


def process_from_consul_csv(
    csv_path: Path,
    heading_amount: int,
    voting_style: str,
    max_lines: int | None = None,
    process_id: str | None = None,
    languages: Iterable[str] = ("de", "en"),
    *,
    today: date | None = None,
) -> tuple[str, list[str]]:
    """process.yaml text for the export's selected investments, and warnings for the user.

    Dates, channels and the CONSUL url are placeholders to edit (a comment at the top
    says so); titles are copied into languages the export lacks, with a warning.
    """
    name = str(csv_path)
    languages = list(languages)
    if not languages:
        raise InvalidInput("at least one language is needed, e.g. de")
    if heading_amount <= 0:
        raise InvalidInput(f"--heading-amount must be a positive number of euros, not {heading_amount}")
    if voting_style not in VOTING_STYLES:
        raise InvalidInput(f"--voting-style must be knapsack or approval, not {voting_style!r}")
    if voting_style == "approval" and max_lines is None:
        raise InvalidInput("--voting-style approval needs --max-lines (how many investments a voter may choose)")
    if process_id is not None and not re.fullmatch(r"[a-z0-9-]{1,40}", process_id):
        raise InvalidInput(
            f"process id {process_id!r} may only use lowercase letters, digits and '-' (at most 40), e.g. wue-bh-2027"
        )

    export_language, investments = read_selected_investments(csv_path, voting_style)
    headings = sorted({inv.heading for inv in investments})
    if len(headings) > 1:
        raise InvalidInput(
            f"{name}: the selected investments lie in {len(headings)} headings "
            f"({', '.join(repr(h) for h in headings)}); a ballot holds one heading, so export "
            "or keep only one heading's investments per process"
        )
    for inv in investments:
        if inv.price is not None and inv.price > heading_amount:
            raise InvalidInput(
                f"{name}:{inv.line}: investment {inv.id} costs {inv.price}, "
                f"more than the heading amount {heading_amount}"
            )

    warnings: list[str] = []
    missing = [lang for lang in languages if lang != export_language]
    if missing:
        source = _LANGUAGE_NAMES.get(export_language, export_language)
        warnings.append(f"titles copied from {source} into {', '.join(missing)}; translate them")

    heading = headings[0]
    opens, closes = _placeholder_window(today or date.today())
    document = {
        "id": process_id or _process_id(heading, opens.year),
        "kind": "budget",
        "title": _translated(_PROCESS_TITLE, languages, heading=heading),
        "languages": languages,
        "opens": opens,
        "closes": closes,
        "retention_days": 180,
        "consul": {"url": None, "poll_id": None, "budget_id": _budget_id(csv_path)},
        "identity": "code",
        "conflicts": "first",
        "channels": {
            "paper": {
                "return_address": "Stadt Musterstadt, Bürgerbeteiligung, Rathausplatz 1, 12345 Musterstadt",
                "return_by": closes.date() - timedelta(days=4),
            },
            "sms": {"number": "+49 157 00000000"},
            "voice": {"number": "+49 931 0000000"},
        },
        "comment": _translated(_COMMENT, languages),
        "budget": {
            "heading": {"consul_id": None, "name": heading, "amount": heading_amount},
            "voting_style": voting_style,
            "max_lines": max_lines,
            "investments": [
                {"id": inv.id, "title": {lang: inv.title for lang in languages},
                 **({} if inv.price is None else {"price": inv.price})}
                for inv in investments
            ],
        },
    }
    text = _HEADER.format(source=Path(csv_path).name) + yaml.dump(
        document, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=1000
    )

    from hybrid.definition_file import parse_process  # late: keeps this module importable alone

    parse_process(text, "process.yaml made from " + name)  # the promise: what we write loads
    return text, warnings


class _Dumper(yaml.SafeDumper):
    """safe_dump, writing times as 2027-03-01T00:00:00+01:00 like DESIGN §3 shows."""


_Dumper.add_representer(
    datetime, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:timestamp", value.isoformat())
)


_HEADER = """\
# Made by `hybrid init --from-consul {source}`.
# Before printing, edit: opens/closes (placeholders one month apart), consul.url and the
# CONSUL ids, the channels (return address, return_by, SMS and voice numbers), and translate
# the investment titles. Then run `hybrid check`.
"""


def read_selected_investments(csv_path: Path, voting_style: str = "knapsack"
                              ) -> tuple[str, list[ConsulInvestment]]:
    """(export language, selected investments) from a CONSUL investments CSV."""
    name = str(csv_path)
    text = read_utf8(csv_path, "a CSV file", "export it again from CONSUL, or save it from Excel as 'CSV UTF-8'")
    lines = text.splitlines(keepends=True)
    skipped = 0
    delimiter = None
    if lines and lines[0].strip().lower().startswith("sep="):
        # Excel's hint line; physical line numbers still count it
        delimiter = lines[0].strip()[4:5] or None
        skipped = 1
    body = "".join(lines[skipped:])
    if not body.strip():
        raise InvalidInput(f"{name}: the file is empty")
    columns, delimiter, header = _detect(body, delimiter, name)
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=delimiter)
    next(reader)
    index: dict[str, int] = {}
    for i, column in enumerate(header):
        index.setdefault(header_key(column), i)
    wanted = {
        field: index[header_key(getattr(columns, field))]
        for field in ("id", "title", "heading", "feasibility", "selected")
    }
    # The investment's own columns: everything but the comment a row of the newest export carries.
    own = [i for i, column in enumerate(header) if not _is_comment_column(column)]

    investments: list[ConsulInvestment] = []
    seen: dict[str, tuple[int, list[str]]] = {}  # id → (first line, its investment cells)
    previous_end = reader.line_num
    for row in reader:
        line = previous_end + 1 + skipped
        previous_end = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        cells = {field: (row[i].strip() if i < len(row) else "") for field, i in wanted.items()}
        where = f"{name}:{line}"
        inv_id = cells["id"]
        if not re.fullmatch(r"[0-9]{1,12}", inv_id):
            raise InvalidInput(f"{where}: column {columns.id!r} reads {inv_id!r}, not a CONSUL investment id")
        investment_cells = [row[i].strip() if i < len(row) else "" for i in own]
        if inv_id in seen:
            first, earlier = seen[inv_id]
            differing = next((header[own[k]] for k, (a, b) in enumerate(zip(earlier, investment_cells)) if a != b),
                             None)
            if differing is None:
                continue  # the same investment again, on the row of another comment
            raise InvalidInput(
                f"{where}: investment {inv_id} is listed twice with different {differing!r} (lines {first} and "
                f"{line}); export it again from CONSUL"
            )
        seen[inv_id] = (line, investment_cells)
        selected = cells["selected"].casefold()
        if selected == columns.no.casefold():
            continue
        if selected != columns.yes.casefold():
            raise InvalidInput(
                f"{where}: column {columns.selected!r} reads {cells['selected']!r}; "
                f"expected {columns.yes} or {columns.no}"
            )
        if not cells["title"]:
            raise InvalidInput(f"{where}: investment {inv_id} has an empty {columns.title!r}")
        if not cells["heading"]:
            raise InvalidInput(f"{where}: investment {inv_id} has an empty {columns.heading!r}")
        price = parse_price(cells["feasibility"], where)
        if price is None and not (voting_style == "approval" and _feasible(cells["feasibility"], columns)):
            raise InvalidInput(
                f"{where}: investment {inv_id} is selected but has no price "
                f"({columns.feasibility} reads {cells['feasibility']!r}); set it feasible with a price in CONSUL "
                "and export again, or leave it out"
            )
        if price is not None and price <= 0:
            raise InvalidInput(f"{where}: investment {inv_id} has the price {price}; a price must be more than 0")
        investments.append(ConsulInvestment(line, inv_id, cells["title"], cells["heading"], price))
    if not investments:
        raise InvalidInput(
            f"{name}: no selected investments (column {columns.selected!r} = {columns.yes}); "
            "select them in CONSUL and export again"
        )
    return columns.language, investments


def header_key(column: str) -> str:
    """A header as compared: without BOM, case, spaces and punctuation ("Bew. Fin." = "bewfin")."""
    return "".join(ch for ch in column.lstrip("\ufeff").casefold() if ch.isalnum())


def _is_comment_column(column: str) -> bool:
    key = header_key(column)
    return "comment" in key or "kommentar" in key


def _feasible(feasibility: str, columns: _Columns) -> bool:
    """`Feasible ()` / `Durchführbar ()`: feasible, with no price (approval budgets)."""
    return re.fullmatch(rf"{re.escape(columns.feasible)}\s*\(\s*\)", feasibility.strip(), re.IGNORECASE) is not None


def parse_price(feasibility: str, where: str = "") -> int | None:
    """Whole euros inside the parentheses (`Feasible (€45,000)`, `Durchführbar (45.000 €)`),
    or None when there are none (unfeasible, undecided)."""
    inside = re.search(r"\(([^()]*)\)\s*$", feasibility)
    if not inside:
        return None
    number = re.search(r"\d[\d.,\s\u00a0\u202f']*", inside.group(1))
    if not number:
        return None
    digits = re.sub(r"[\s\u00a0\u202f']", "", number.group(0)).rstrip(".,")
    # a separator followed by 1–2 digits at the end is a decimal part (some CONSUL
    # installations print cents); thousands groups always have three digits
    decimals = re.search(r"[.,](\d{1,2})$", digits)
    if decimals:
        if int(decimals.group(1)) != 0:
            raise InvalidInput(f"{where}: price {inside.group(1)!r} has cents; CONSUL prices are whole euros")
        digits = digits[: decimals.start()]
    return int(re.sub(r"[.,]", "", digits))


def _detect(body: str, delimiter: str | None, name: str) -> tuple[_Columns, str, list[str]]:
    """Export language and delimiter, chosen by which reading of the header names CONSUL's columns.

    Titles contain commas and semicolons, so guessing from the data (csv.Sniffer) is
    less reliable than trying both on the header alone.
    """
    best: tuple[int, _Columns, str, list[str]] | None = None
    for candidate in [delimiter] if delimiter else [",", ";", "\t"]:
        header = next(csv.reader(io.StringIO(body, newline=""), delimiter=candidate))
        present = {header_key(cell) for cell in header}
        for columns in _EXPORTS:
            score = sum(header_key(column) in present for column in _needed(columns))
            if best is None or score > best[0]:
                best = (score, columns, candidate, [cell.strip().lstrip("\ufeff") for cell in header])
    assert best is not None
    score, columns, chosen, header = best
    if score <= 1:  # only "ID", which both languages share, or nothing
        raise InvalidInput(
            f"{name}: not a CONSUL investments export; its first line should name the columns "
            + " or ".join(", ".join(_needed(c)) for c in _EXPORTS)
        )
    keys = {header_key(cell) for cell in header}
    missing = [column for column in _needed(columns) if header_key(column) not in keys]
    if missing:
        raise InvalidInput(
            f"{name}: column {missing[0]!r} is missing; a {_LANGUAGE_NAMES[columns.language]} CONSUL export "
            f"has {', '.join(_needed(columns))}"
        )
    return columns, chosen, header


def _needed(columns: _Columns) -> list[str]:
    return [columns.id, columns.title, columns.heading, columns.feasibility, columns.selected]


def _translated(texts: dict[str, str], languages: list[str], **values: str) -> dict[str, str]:
    fallback = texts.get(languages[0]) or texts["en"]
    return {lang: texts.get(lang, fallback).format(**values) for lang in languages}


def _placeholder_window(today: date) -> tuple[datetime, datetime]:
    """Midnight on the first of the month after next, and one month later, Würzburg time."""
    month = today.month + 2
    opens_day = date(today.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
    month = opens_day.month + 1
    closes_day = date(opens_day.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
    zone = _berlin()
    return (
        datetime.combine(opens_day, time(), zone(opens_day)),
        datetime.combine(closes_day, time(), zone(closes_day)),
    )


def _berlin():  # -> Callable[[date], tzinfo]
    """The local UTC offset for a day: +01:00 in winter, +02:00 in summer."""
    try:
        from zoneinfo import ZoneInfo

        berlin = ZoneInfo("Europe/Berlin")
    except Exception:  # no tz database: a fixed +01:00 is still a valid placeholder
        return lambda day: timezone(timedelta(hours=1))

    def offset(day: date) -> tzinfo:
        delta = datetime.combine(day, time(12), berlin).utcoffset() or timedelta(hours=1)
        return timezone(delta)  # fixed offset: YAML writes it as +01:00 / +02:00

    return offset


def _process_id(heading: str, year: int) -> str:
    ascii_name = unicodedata.normalize("NFKD", heading.translate(_UMLAUTS)).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:25].strip("-") or "heading"
    return f"budget-{slug}-{year}"


_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})


def _budget_id(csv_path: Path) -> int | None:
    """CONSUL's budget id when the file name carries it (`budget-4-investments.csv`,
    `budgets_4_budget_investments.csv`); CONSUL's own file name does not."""
    found = re.search(r"budgets?[-_ ]?(\d{1,9})(?!\d)", Path(csv_path).stem, re.IGNORECASE)
    return int(found.group(1)) if found else None

"""The words report.pdf and entry-sheet.pdf print: German first, English second.

Every state, reason and channel has a German label here; a value this table does not
know yet is printed as its own code name, so a new reason never breaks a report.
"""

from __future__ import annotations

from datetime import date, datetime

from hybrid.merge import BOOTHS
from hybrid.rules import BERLIN

CHANNEL_DE = dict(BOOTHS)  # the CONSUL booth names double as channel names for people

RECORD_STATE_DE = {
    "counted": "gezählt",
    "review": "zur Prüfung",
    "rejected": "zurückgewiesen",
    "superseded": "ersetzt",
    "duplicate": "doppelt",
    "not_a_vote": "keine Stimme",
}

PAGE_STATE_DE = {
    "identified": "erkannt",
    "skipped": "übersprungen",
    "duplicate": "doppelt",
    "rejected": "zurückgewiesen",
    "unreadable": "unlesbar",
}

REASON_DE = {
    "marginal_mark": "schwache Markierung",
    "overvote": "zu viele Kreuze",
    "over_budget": "über dem Budget",
    "cancelled_only": "nur gestrichene Kreuze",
    "mark_outside_box": "Markierung neben dem Kästchen",
    "code_from_ocr": "Code per Texterkennung gelesen",
    "doubtful_geometry": "zweifelhafte Scan-Geometrie",
    "photocopy": "Fotokopie",
    "cross_channel_conflict": "Widerspruch zwischen Kanälen",
    "missing_page": "Seite fehlt",
    "late": "zu spät",
    "early": "zu früh",
    "void_code": "gesperrter Code",
    "unknown_code": "unbekannter Code",
    "other_process": "andere Abstimmung",
    "test_ballot": "Test-Stimmzettel",
    "not_a_ballot": "kein Stimmzettel",
    "back_side": "Rückseite",
    "cover_letter": "Anschreiben",
    "blank_page": "leere Seite",
    "rescan": "erneut gescannt",
    "no_code": "kein Code",
    "blank_ballot": "leerer Stimmzettel",
    "invalid_content": "ungültiger Inhalt",
}

LEFT_OUT_DE = {
    "empty": "keine Maßnahme gewählt (eine leere Zeile wäre ein leerer Stimmzettel)",
    "unknown_investment": "Maßnahme nicht in diesem Bürgerhaushalt ausgewählt",
    "twice": "dieselbe Maßnahme zweimal",
    "no_money_left": "über dem Betrag des Bereichs (CONSUL ließe die Maßnahme weg, die nicht passt)",
    "too_many": "mehr Maßnahmen als erlaubt",
}


def label(table: dict[str, str], value: str) -> str:
    """The German label of `value`, or `value` itself when the table does not know it."""
    return table.get(value, value)


def number(n: int) -> str:
    """An integer as German readers write it: 1.234.567."""
    return f"{n:,}".replace(",", ".")


def euros(n: int) -> str:
    return f"{number(n)} €"


def percent(part: int, whole: int) -> str:
    if whole <= 0:
        return "–"
    return f"{100 * part / whole:.1f} %".replace(".", ",")


def day_text(day: date) -> str:
    return day.strftime("%d.%m.%Y")


def moment_text(moment: datetime) -> str:
    """A moment in Berlin time, e.g. "01.06.2027, 00:00 Uhr"; a naive moment is shown as given."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(BERLIN)
    return moment.strftime("%d.%m.%Y, %H:%M Uhr")

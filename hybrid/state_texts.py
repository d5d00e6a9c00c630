"""The words for states, reasons and review decisions, in German and English: one catalogue
read by the review page, `hybrid review list/show` and `hybrid status`.

German is Würzburg's staff language; the English is the same meaning, not a word-for-word
translation. The voters' own word for a box filled completely is used throughout:
German "ausgefüllt", English "filled in" / "cancelled" (the ballot tells voters to fill a
box completely to cancel it), never "durchgestrichen".

`text(kind, value, lang)` gives one word; a value this catalogue does not know yet comes
back readable ("some_reason" → "some reason") rather than failing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

LANGUAGES = ("de", "en")
DEFAULT = "de"

RECORD_STATES: Mapping[str, Mapping[str, str]] = {
    "de": {"counted": "gezählt", "review": "zu prüfen", "rejected": "zurückgewiesen", "superseded": "ersetzt",
           "duplicate": "doppelt", "not_a_vote": "keine Stimme"},
    "en": {"counted": "counted", "review": "to review", "rejected": "rejected", "superseded": "superseded",
           "duplicate": "duplicate", "not_a_vote": "not a vote"},
}

PAGE_STATES: Mapping[str, Mapping[str, str]] = {
    "de": {"identified": "erkannt", "skipped": "übersprungen", "duplicate": "doppelt eingelesen",
           "rejected": "zurückgewiesen", "unreadable": "nicht erkannt"},
    "en": {"identified": "identified", "skipped": "skipped", "duplicate": "scanned twice", "rejected": "rejected",
           "unreadable": "not recognised"},
}

REASONS: Mapping[str, Mapping[str, str]] = {
    "de": {
        "marginal_mark": "schwaches Kreuz", "overvote": "zu viele Kreuze", "over_budget": "über dem Budget",
        "cancelled_only": "nur ausgefüllte Kästchen (zurückgenommen)",
        "mark_outside_box": "Markierung neben dem Kästchen", "code_from_ocr": "Code per Texterkennung gelesen",
        "doubtful_geometry": "zweifelhafte Lage des Blatts", "photocopy": "zweimal mit anderen Kreuzen (Kopie?)",
        "cross_channel_conflict": "Widerspruch Papier/SMS/Telefon", "missing_page": "Seite fehlt",
        "late": "zu spät", "early": "zu früh", "void_code": "gesperrter Code", "unknown_code": "unbekannter Code",
        "other_process": "anderes Verfahren", "test_ballot": "Testzettel", "not_a_ballot": "kein Stimmzettel",
        "back_side": "Rückseite", "cover_letter": "Anschreiben", "blank_page": "leere Seite", "rescan": "erneut eingelesen", "no_code": "kein Code",
        "blank_ballot": "leerer Stimmzettel", "invalid_content": "ungültiger Inhalt",
    },
    "en": {
        "marginal_mark": "faint mark", "overvote": "too many marks", "over_budget": "over the budget",
        "cancelled_only": "only filled-in boxes (cancelled)", "mark_outside_box": "mark beside the box",
        "code_from_ocr": "code read by text recognition", "doubtful_geometry": "doubtful position of the sheet",
        "photocopy": "twice with other marks (a copy?)", "cross_channel_conflict": "paper/SMS/phone conflict",
        "missing_page": "page missing", "late": "late", "early": "early", "void_code": "void code",
        "unknown_code": "unknown code", "other_process": "another process", "test_ballot": "test ballot",
        "not_a_ballot": "not a ballot", "back_side": "back side", "cover_letter": "cover letter",
        "blank_page": "blank page",
        "rescan": "scanned again", "no_code": "no code", "blank_ballot": "blank ballot",
        "invalid_content": "invalid content",
    },
}

MARK_STATES: Mapping[str, Mapping[str, str]] = {
    "de": {"empty": "leer", "marked": "angekreuzt", "marginal": "unsicher",
           "cancelled": "ausgefüllt (zurückgenommen)", "none": "nicht gelesen"},
    "en": {"empty": "empty", "marked": "marked", "marginal": "doubtful", "cancelled": "filled in (cancelled)",
           "none": "not read"},
}

# The review queue's groups: the reasons above plus a few of review's own.
GROUPS: Mapping[str, Mapping[str, str]] = {
    "de": {"awaiting_confirmation": "Warten auf Bestätigung", "unreadable": "Seite nicht erkannt",
           "reread": "Neu eingelesen", "other": "Sonstiges", "comment": "Kommentare"},
    "en": {"awaiting_confirmation": "Awaiting confirmation", "unreadable": "Page not recognised",
           "reread": "Re-read", "other": "Other", "comment": "Comments"},
}

ITEM_STATUS: Mapping[str, Mapping[str, str]] = {
    "de": {"open": "offen", "pending": "wartet auf zweite Person", "decided": "entschieden"},
    "en": {"open": "open", "pending": "awaiting a second reviewer", "decided": "decided"},
}

ACTIONS: Mapping[str, Mapping[str, str]] = {
    "de": {"accept": "wie gelesen übernommen", "marks": "Kreuze gesetzt", "invalid_question": "Frage ungültig",
           "invalid": "Stimmzettel ungültig", "reject": "zurückgewiesen", "identify": "zugeordnet",
           "text": "Text korrigiert", "personal_data": "persönliche Daten", "confirm": "bestätigt",
           "undo": "rückgängig gemacht"},
    "en": {"accept": "accepted as read", "marks": "marks set", "invalid_question": "question invalid",
           "invalid": "ballot invalid", "reject": "rejected", "identify": "identified", "text": "text corrected",
           "personal_data": "personal data", "confirm": "confirmed", "undo": "undone"},
}

CHANNELS: Mapping[str, Mapping[str, str]] = {
    "de": {"paper": "Papier", "sms": "SMS", "voice": "Telefon"},
    "en": {"paper": "Paper", "sms": "SMS", "voice": "Phone"},
}

CATALOGUE: Mapping[str, Mapping[str, Mapping[str, str]]] = {
    "record_state": RECORD_STATES, "page_state": PAGE_STATES, "reason": REASONS, "mark_state": MARK_STATES,
    "group": GROUPS, "item_status": ITEM_STATUS, "action": ACTIONS, "channel": CHANNELS,
}


def pick(lang: str | None) -> str:
    return lang if lang in LANGUAGES else DEFAULT


def text(kind: str, value: str | None, lang: str | None = None) -> str:
    """The word for `value` of `kind` (record_state, page_state, reason, mark_state, group,
    item_status, action, channel) in `lang`; groups fall back to the reason of that name."""
    if value is None:
        value = "none"
    value = getattr(value, "value", value)
    lang = pick(lang or cli_language())
    table = CATALOGUE[kind][lang]
    if value in table:
        return table[value]
    if kind == "group" and value in REASONS[lang]:
        word = REASONS[lang][value]
        return word[:1].upper() + word[1:]
    return str(value).replace("_", " ")


def joined(kind: str, values, lang: str | None = None) -> str:
    """Several words, comma-separated ("–" for none)."""
    words = [text(kind, v, lang) for v in values]
    return ", ".join(words) if words else "–"


def table(lang: str) -> dict[str, str]:
    """Every word of the catalogue in `lang`, keyed `<kind>.<value>` (for the review page)."""
    lang = pick(lang)
    out = {f"{kind}.{value}": word for kind, tables in CATALOGUE.items() for value, word in tables[lang].items()}
    for value in REASONS[lang]:
        out.setdefault(f"group.{value}", text("group", value, lang))
    return out


def cli_language() -> str:
    """The language of the command line's words: German when the locale is German
    (LC_ALL, LC_MESSAGES, LANG, as gettext looks), else English; HYBRID_LANG overrides."""
    for name in ("HYBRID_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return "de" if value.lower().startswith("de") else "en"
    return "en"

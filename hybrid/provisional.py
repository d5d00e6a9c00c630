"""Provisional until final: what every output of a merge says while it may not be entered.

CONSUL adds every entry and cannot take one back (and Decidim's paper-ballot import
adds up too), so figures entered too early cannot be repaired. A merge is final only
when run as `hybrid merge --final`, which refuses while anything waits for a person;
every other merge marks entry-sheet.pdf (every page), report.pdf (every page),
results.xlsx (every sheet), consul/README.txt and the names of the files to be entered
(`VORLAEUFIG-ballot-sheet-Papier-001.txt`, `VORLAEUFIG-poll-12-results.csv`, …).
"""

from __future__ import annotations

from dataclasses import dataclass

NOTICE_CONSUL = "VORLÄUFIG / PROVISIONAL — nicht in CONSUL eintragen"
NOTICE_DECIDIM = "VORLÄUFIG / PROVISIONAL — nicht in Decidim importieren"
FILE_PREFIX = "VORLAEUFIG-"  # ASCII, so every shell, browser and upload form shows it whole


@dataclass(frozen=True)
class Provisional:
    """Why this merge is not final: the notice to print, and what still waits for a person
    (empty when nothing does, but the merge was not run with --final)."""

    notice: str
    open_items: tuple[str, ...]

    def explanation_de(self) -> str:
        if self.open_items:
            return "Noch offen: " + "; ".join(self.open_items) + ". Danach: hybrid merge --final."
        return "Nichts mehr offen: für die endgültigen Dateien hybrid merge --final ausführen."

    def explanation_en(self) -> str:
        if self.open_items:
            return "Still open: " + "; ".join(self.open_items) + ". Then: hybrid merge --final."
        return "Nothing is open: run hybrid merge --final for the final files."


def file_name(name: str, provisional: Provisional | None) -> str:
    """`name` as written by this merge: with the VORLAEUFIG- prefix unless it is final."""
    return FILE_PREFIX + name if provisional else name

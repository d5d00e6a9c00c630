"""consul/README.txt: how staff enter hybrid's figures into CONSUL, in German and English."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hybrid.results.consul_checklist import settings_checklist
from hybrid.merge import MergeResult
from hybrid.provisional import Provisional

if TYPE_CHECKING:
    from hybrid.results.consul_files import ConsulFiles

_POLL_DE = """\
So tragen Sie die Ergebnisse in CONSUL ein (Abstimmung {poll})
==============================================================

1. Legen Sie in CONSUL je Kanal eine Wahlkabine (Booth) an: {booths}.
   Ordnen Sie jede Kabine der Abstimmung zu.
2. Legen Sie für jede Kabine eine Schicht "Auszählung" (recount_scrutiny) für eine
   Person (Officer) an. Solche Schichten gibt es nur in den 7 Tagen nach dem Ende der
   Abstimmung: alles muss in diesem Zeitraum eingetragen werden.
3. Die Person öffnet "Ergebnisse" im Officing-Bereich, wählt die Kabine und trägt ein
   (Zahlen aus poll-{poll}-results.csv und poll-{poll}-recounts.csv, gedruckt in
   entry-sheet.pdf):
   - je Frage die Stimmen jeder Antwort, in der Reihenfolge von CONSUL,
   - "Völlig leere Stimmzettel" = whites,
   - "Ungültige Stimmzettel" = nulls,
   - "Stimmzettel gesamt" = total (nur gültige Stimmzettel; CONSUL zählt leere und
     ungültige selbst dazu).
4. Jede Kabine genau einmal, an genau einem Tag eintragen. CONSUL addiert Einträge
   mehrerer Tage: ein zweiter Eintrag zählt doppelt.
5. Erst wenn alle Kabinen eingetragen sind, die Ergebnisse veröffentlichen.

Zahlen je Kabine:
{table_de}
"""

_POLL_EN = """\
How to enter the results into CONSUL (poll {poll})
=================================================

1. In CONSUL, create one booth per channel: {booths}. Assign each booth to the poll.
2. For each booth create a recount shift ("recount_scrutiny") for an officer. Such
   shifts exist only in the 7 days after the poll ends: enter everything within them.
3. The officer opens "Results" in officing, chooses the booth and enters (figures from
   poll-{poll}-results.csv and poll-{poll}-recounts.csv, printed in entry-sheet.pdf):
   - per question the votes of every answer, in CONSUL's order,
   - "Totally blank ballots" ("Völlig leere Stimmzettel") = whites,
   - "Invalid ballots" ("Ungültige Stimmzettel") = nulls,
   - "Total ballots" ("Stimmzettel gesamt") = total (valid ballots only; CONSUL adds
     blank and invalid ones itself).
4. Enter each booth exactly once, on exactly one day. CONSUL adds up entries of several
   days: a second entry counts twice.
5. Publish results only when every booth is entered.

Figures per booth:
{table_en}
"""

_BUDGET_DE = """\
So tragen Sie die Stimmzettel in CONSUL ein (Bürgerhaushalt {budget})
====================================================================

1. Legen Sie in CONSUL je Kanal eine Wahlkabine (Booth) an: {booths}, und für jede
   Kabine eine Schicht "Auszählung" (recount_scrutiny) für eine Person (Officer).
   Solche Schichten gibt es nur in den 7 Tagen nach dem Ende der Abstimmung.
2. Die Person öffnet "Stimmzettel" (ballot sheets) im Officing-Bereich und fügt den
   Inhalt jeder Datei ballot-sheet-<kabine>-NNN.txt in das Textfeld ein, genau einmal:
   jede Zeile ist ein Stimmzettel, CONSUL zählt eine zweimal eingefügte Datei doppelt.
   Prüfen Sie nach dem Einfügen die Zeilenzahl (ballot-sheets.csv). Jede Datei hat
   höchstens 250 Zeilen: so viele prüft CONSUL sicher in einer Anfrage.
3. Alle Dateien einfügen, bevor in CONSUL die Gewinner berechnet werden.

hybrid hat jeden Stimmzettel vorher nach den Regeln von CONSUL geprüft und nur voll
gültige Stimmzettel geschrieben; ausgelassen (ballot-sheets-left-out.csv):
{left_out_de}

Dateien:
{files}
"""

_BUDGET_EN = """\
How to enter the ballot sheets into CONSUL (budget {budget})
===========================================================

1. In CONSUL, create one booth per channel: {booths}, and for each booth a recount
   shift ("recount_scrutiny") for an officer. Such shifts exist only in the 7 days
   after the vote ends.
2. The officer opens "Ballot sheets" in officing and pastes the content of each file
   ballot-sheet-<booth>-NNN.txt, exactly once: each line is one ballot, and CONSUL
   counts a file pasted twice twice. Check the line count after pasting
   (ballot-sheets.csv). Each file has at most 250 lines: as many as CONSUL checks
   safely in one request.
3. Paste every file before winners are computed in CONSUL.

hybrid checked every ballot by CONSUL's rules first and wrote only fully valid ones;
left out (ballot-sheets-left-out.csv):
{left_out_en}

Files:
{files}
"""


def _booth_table(result: MergeResult, blank: str, invalid: str, total: str) -> str:
    lines = [f"  {'':10} {blank:>12} {invalid:>12} {total:>12}"]
    for b in result.booths:
        lines.append(f"  {b.booth:10} {b.whites:>12} {b.nulls:>12} {b.total:>12}")
    return "\n".join(lines)


def checklist_text(result: MergeResult) -> str:
    """The settings that must match, German and English, with the values hybrid used."""
    lines = ["Vor dem Eintragen in CONSUL prüfen / Check in CONSUL before entering anything:"]
    for setting in settings_checklist(result.process):
        lines.append(f"  [ ] {setting.de}: {setting.value}")
        lines.append(f"      ({setting.en})")
    lines.append("  CONSUL lässt Stimmen, die nicht zu seinen Einstellungen passen, ohne Meldung weg. /")
    lines.append("  CONSUL silently drops votes that do not fit its own settings.")
    return "\n".join(lines)


def provisional_text(provisional: Provisional) -> str:
    bar = "!" * 78
    return "\n".join([bar, f"!! {provisional.notice}", f"!! {provisional.explanation_de()}",
                      f"!! {provisional.explanation_en()}", bar])


def readme_text(result: MergeResult, files: ConsulFiles, provisional: Provisional | None = None) -> str:
    from hybrid.results.consul_files import LEFT_OUT_REASONS

    process = result.process
    booths = ", ".join(f'"{b.booth}"' for b in result.booths)
    if process.kind == "poll":
        poll = process.consul.poll_id if process.consul.poll_id is not None else "?"
        de = _POLL_DE.format(poll=poll, booths=booths,
                             table_de=_booth_table(result, "leer", "ungültig", "gesamt"))
        en = _POLL_EN.format(poll=poll, booths=booths, table_en=_booth_table(result, "whites", "nulls", "total"))
    else:
        budget = process.consul.budget_id if process.consul.budget_id is not None else "?"
        left = sorted(files.left_out.items())
        left_de = "\n".join(f"  {booth}: {n} ({reason})" for (booth, reason), n in left) or "  nichts"
        left_en = "\n".join(f"  {booth}: {n} ({LEFT_OUT_REASONS[reason]})" for (booth, reason), n in left) or "  nothing"
        listing = "\n".join(f"  {s.name}: {s.lines} lines ({s.booth})" for s in files.sheets) or "  (none)"
        de = _BUDGET_DE.format(budget=budget, booths=booths, left_out_de=left_de, files=listing)
        en = _BUDGET_EN.format(budget=budget, booths=booths, left_out_en=left_en, files=listing)
    top = provisional_text(provisional) + "\n\n" if provisional else ""
    return top + checklist_text(result) + "\n\n" + de + "\n\n" + en

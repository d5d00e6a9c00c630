"""decidim/: what Decidim staff import (`platform: decidim`).

Decidim's budgets have no paper import of their own; the maintained path is the module
decidim-module-budgets_paper_ballots (Decidim ≥ 0.27): an admin import of a CSV (`;`),
XLSX or JSON file with the columns `id` (the Decidim project id) and
`paper_ballots_to_import` (how many paper ballots chose the project). The import adds
the counts to the project's votes: importing twice counts twice. hybrid writes
`paper-ballots-<budget_id>.csv` and `.xlsx` with the counted choices of every offline
channel (paper, SMS, phone: the tally's totals), one row per project in ballot order.
While provisional, both are named VORLAEUFIG-… and their first line is the notice, so
that an import by mistake fails on the header instead of adding figures for good.

Decidim's polls (surveys, elections) have no import of paper results at all: the
README says so, and the tally in tally.csv / results.xlsx is what staff publish.
"""

from __future__ import annotations

import csv
from pathlib import Path

from xlsxwriter import Workbook

from hybrid.merge import MergeResult
from hybrid.provisional import Provisional, file_name

IMPORT_COLUMNS = ("id", "paper_ballots_to_import")

_BUDGET_README = """\
So importieren Sie die Papierstimmen in Decidim (Budget {budget})
===============================================================

1. Decidim ≥ 0.27 mit dem Modul decidim-module-budgets_paper_ballots.
2. Im Admin-Bereich des Budgets {budget} ({url}): Projekte → "Papierstimmen importieren".
3. Datei {csv} (CSV mit ";") oder {xlsx} hochladen. Spalten: id (Decidim-Projekt-ID),
   paper_ballots_to_import (Anzahl der Papier-, SMS- und Telefonstimmen).
4. GENAU EINMAL importieren: der Import ADDIERT die Zahlen zu den Stimmen der Projekte.
   Ein zweiter Import zählt alles doppelt und lässt sich nicht zurücknehmen.
5. Danach die Stimmen je Projekt mit tally.csv vergleichen (Spalte total).

Zusammen {total} Stimmen für {projects} Projekte.
"""

_BUDGET_README_EN = """\
How to import the paper votes into Decidim (budget {budget})
===========================================================

1. Decidim ≥ 0.27 with the module decidim-module-budgets_paper_ballots.
2. In the admin of budget {budget} ({url}): Projects → "Import paper ballots".
3. Upload {csv} (CSV separated by ";") or {xlsx}. Columns: id (the Decidim project id),
   paper_ballots_to_import (the count of paper, SMS and phone votes).
4. Import EXACTLY ONCE: the import ADDS the counts to the projects' votes. A second
   import counts everything twice and cannot be taken back.
5. Then compare each project's votes with tally.csv (column total).

{total} votes for {projects} projects in all.
"""

_POLL_README = """\
Decidim: keine Papierergebnisse importierbar / no import of paper results
========================================================================

Decidim hat für Umfragen und Abstimmungen keinen Import von Papier-, SMS- oder
Telefonstimmen. Veröffentlichen Sie das Ergebnis aus tally.csv bzw. results.xlsx
(Blatt "Ergebnis") und report.pdf neben dem Ergebnis der Online-Abstimmung.

Decidim has no import of paper, SMS or phone votes for surveys and polls. Publish the
result from tally.csv or results.xlsx and report.pdf beside the online result.
"""


def import_rows(result: MergeResult) -> list[tuple[int, int]]:
    """(Decidim project id, counted offline choices) per investment, in ballot order."""
    process = result.process
    assert process.budget is not None
    decidim_ids = {inv.id: inv.decidim_id for inv in process.budget.investments}
    rows = []
    for row in result.tally:
        project = decidim_ids[row.option]
        assert project is not None  # the definition refuses a Decidim budget without project ids
        rows.append((project, row.total))
    return rows


def write_decidim_folder(result: MergeResult, folder: Path, provisional: Provisional | None = None) -> list[Path]:
    """decidim/: the paper-ballot import (budgets) and README.txt; the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    process = result.process
    readme = folder / "README.txt"
    notice = ""
    if provisional:
        notice = f"{provisional.notice}\n{provisional.explanation_de()}\n{provisional.explanation_en()}\n\n"
    if process.kind == "poll":
        readme.write_text(notice + _POLL_README, encoding="utf-8")
        return [readme]
    assert process.decidim is not None and process.decidim.budget_id is not None
    budget = process.decidim.budget_id
    rows = import_rows(result)
    csv_path = folder / file_name(f"paper-ballots-{budget}.csv", provisional)
    with open(csv_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\n")
        if provisional:
            writer.writerow([provisional.notice])
        writer.writerow(IMPORT_COLUMNS)
        writer.writerows(rows)
    xlsx_path = csv_path.with_suffix(".xlsx")
    book = Workbook(str(xlsx_path), {"strings_to_formulas": False})
    sheet = book.add_worksheet("paper_ballots")
    bold = book.add_format({"bold": True})
    top = 0
    if provisional:
        sheet.write_string(0, 0, provisional.notice, book.add_format({"bold": True, "font_color": "#B00000"}))
        top = 1
    sheet.write_row(top, 0, IMPORT_COLUMNS, bold)
    for index, (project, count) in enumerate(rows, start=top + 1):
        sheet.write_number(index, 0, project)
        sheet.write_number(index, 1, count)
    sheet.set_column(0, 0, 10)
    sheet.set_column(1, 1, 26)
    book.close()
    values = {"budget": budget, "url": process.decidim.url or "Decidim", "csv": csv_path.name, "xlsx": xlsx_path.name,
              "total": sum(n for _, n in rows), "projects": len(rows)}
    readme.write_text(notice + _BUDGET_README.format(**values) + "\n\n" + _BUDGET_README_EN.format(**values),
                      encoding="utf-8")
    return [csv_path, xlsx_path, readme]

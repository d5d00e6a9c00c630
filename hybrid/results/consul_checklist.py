"""The settings in CONSUL (or Decidim) that must match what hybrid counted with.

CONSUL drops what breaks its own settings silently: a ballot-sheet line is added one
investment at a time, and an investment that does not fit CONSUL's heading price or
`max_ballot_lines`, or is not selected there, is skipped (a heading price of 400,000
instead of 500,000 makes some ballots partial). Results can only be entered by an
officer with a recount shift, which CONSUL offers from the poll's end for
`Poll::RECOUNT_DURATION` (7 days). So before anything is entered, a person compares
these values with CONSUL's admin pages; the entry sheet's first page, consul/README.txt
and `hybrid merge` show the same list (`settings_checklist`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hybrid.definition import Process

RECOUNT_DAYS = 7  # CONSUL's Poll::RECOUNT_DURATION
BERLIN = ZoneInfo("Europe/Berlin")


@dataclass(frozen=True)
class Setting:
    """One value to compare with the platform's admin: where it is, what hybrid used."""

    de: str  # what to check, in German
    en: str
    value: str  # the value hybrid counted with


def _last_date(moment: datetime) -> date:
    local = moment.astimezone(BERLIN)
    return local.date() if local.time() != datetime.min.time() else local.date() - timedelta(days=1)


def last_day(moment: datetime) -> str:
    """The last day before an exclusive end, as a person says it ("31.03.2027")."""
    return _last_date(moment).strftime("%d.%m.%Y")


def recount_window(process: Process) -> tuple[str, str]:
    """The first and last day of CONSUL's recount shifts for a poll whose last day is hybrid's:
    CONSUL creates them from `ends_at` to `ends_at + RECOUNT_DURATION`, both days included."""
    end = _last_date(process.closes)
    return end.strftime("%d.%m.%Y"), (end + timedelta(days=RECOUNT_DAYS)).strftime("%d.%m.%Y")


def settings_checklist(process: Process) -> list[Setting]:
    """What must match in CONSUL (or Decidim, under `platform: decidim`), with hybrid's values."""
    if process.platform == "decidim":
        return _decidim_checklist(process)
    consul = process.consul
    first, last = recount_window(process)
    items = [Setting("Abstimmung (Poll) in CONSUL", "CONSUL poll", _id(consul.poll_id)),
             Setting("Ende der Abstimmung in CONSUL: nicht vor dem letzten Tag von hybrid",
                     "CONSUL poll end date: not before hybrid's last day", f"letzter Tag / last day {last_day(process.closes)}"),
             Setting(f"Eintragen nur in den {RECOUNT_DAYS} Tagen nach dem Ende (Auszählungsschichten)",
                     f"enter only in the {RECOUNT_DAYS} days after the end (recount shifts)", f"{first} – {last}")]
    if process.kind == "poll":
        for question in process.questions:
            items.append(Setting(f"Frage {_id(question.consul_id)} für Stimmen vor Ort (physisch) freigegeben, "
                                 f"{len(question.options)} Antworten in dieser Reihenfolge",
                                 f"question {_id(question.consul_id)} enabled for physical votes, "
                                 f"{len(question.options)} answers in this order",
                                 ", ".join(str(o.consul_order if o.consul_order is not None else "?")
                                           for o in question.options)))
        return items
    budget = process.budget
    assert budget is not None
    heading = budget.heading
    items[1:1] = [Setting("Bürgerhaushalt (Budget) in CONSUL", "CONSUL budget", _id(consul.budget_id)),
                  Setting(f"Bereich (Heading) {_id(heading.consul_id)} „{heading.name}“: Preis (price)",
                          f"heading {_id(heading.consul_id)} \"{heading.name}\": price", _euros(heading.amount)),
                  Setting("Abstimmungsart (voting style)", "voting style",
                          {"knapsack": "knapsack (Budget)", "approval": "approval (Anzahl)"}[budget.voting_style]),
                  Setting("max_ballot_lines des Bereichs" + (" (nur bei approval)" if budget.voting_style == "knapsack"
                                                             else ""),
                          "the heading's max_ballot_lines" + (" (approval only)" if budget.voting_style == "knapsack"
                                                              else ""),
                          str(budget.max_lines) if budget.max_lines is not None else "—"),
                  Setting(f"ausgewählt (selected) in CONSUL: genau diese {len(budget.investments)} Vorschläge",
                          f"selected in CONSUL: exactly these {len(budget.investments)} investments",
                          ", ".join(inv.id for inv in budget.investments))]
    return items


def _decidim_checklist(process: Process) -> list[Setting]:
    decidim = process.decidim
    items = [Setting("Decidim-Adresse", "Decidim address", decidim.url or "—" if decidim else "—")]
    if process.kind == "poll":
        items.append(Setting("Decidim hat keinen Import für Papierergebnisse von Umfragen",
                             "Decidim has no import of paper results for polls", "tally.csv"))
        return items
    budget = process.budget
    assert budget is not None
    items += [Setting("Budget in Decidim", "Decidim budget", _id(decidim.budget_id if decidim else None)),
              Setting("Modul decidim-module-budgets_paper_ballots installiert (Decidim ≥ 0.27)",
                      "module decidim-module-budgets_paper_ballots installed (Decidim ≥ 0.27)", "—"),
              Setting(f"Projekte (Decidim-IDs) der {len(budget.investments)} Vorschläge",
                      f"projects (Decidim ids) of the {len(budget.investments)} investments",
                      ", ".join(f"{inv.id}→{inv.decidim_id}" for inv in budget.investments)),
              Setting("Import genau einmal: er addiert", "import exactly once: it adds up", "—")]
    return items


def _id(value: int | None) -> str:
    return "—" if value is None else str(value)


def _euros(amount: int) -> str:
    return f"{amount:,} €".replace(",", ".")

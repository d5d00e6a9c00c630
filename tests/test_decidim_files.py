"""Decidim as the second platform (`platform: decidim`): the paper-ballot import of the
module decidim-module-budgets_paper_ballots (`;` CSV and XLSX with `id;paper_ballots_to_import`)
matches the tally; polls get a README saying Decidim has no paper import."""

from __future__ import annotations

import csv
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from openpyxl import load_workbook

from hybrid.definition_file import load_process
from hybrid.errors import InvalidInput
from hybrid.results.merge_outputs import write_merge
from hybrid.provisional import NOTICE_DECIDIM
from hybrid.states import MarkState
from test_merge import BUDGET_TEXT, POLL_TEXT, make_deck, numbers, text_sms

MARCH = date(2027, 3, 20)


def decidim_budget_text(budget_id: int = 9) -> str:
    """The sample budget on Decidim: every investment gets a project id (CONSUL's id + 5000)."""
    lines, current = [], None
    for line in BUDGET_TEXT.splitlines(keepends=True):
        lines.append(line)
        if line.startswith("    - id: "):
            current = int(line.split(":")[1])
        elif line.startswith("      price: "):
            lines.append(f"      decidim_id: {5000 + current}\n")
    return "".join(lines).replace("identity: code", f"platform: decidim\ndecidim:\n  url: https://mitmachen.example/"
                                          f"\n  budget_id: {budget_id}\nidentity: code")


def test_the_decidim_import_of_the_sample_budget_matches_the_tally(tmp_path: Path):
    deck = make_deck(tmp_path, decidim_budget_text())
    assert deck.process.platform == "decidim"
    by_id = {it.option: it.number for it in deck.process.items()}
    ballots = [("131", "141"), ("131",), ("137", "138", "150"), ()]
    serials = deck.issue(len(ballots) + 1)
    for serial, chosen in zip(serials, ballots):
        deck.scan_ballot(serial, {by_id[i]: MarkState.MARKED for i in chosen}, received=MARCH)
    text_sms(deck, f"{deck.codes[serials[-1]]} {by_id['131']} {by_id['152']}",
             at=datetime(2027, 3, 10, 9, tzinfo=timezone.utc))
    out = tmp_path / "out"
    done = write_merge(deck.store, deck.process, out, final=True)
    assert not (out / "consul").exists()  # Decidim's files instead of CONSUL's
    folder = out / "decidim"
    lines = (folder / "paper-ballots-9.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "id;paper_ballots_to_import"
    rows = [tuple(map(int, line.split(";"))) for line in lines[1:]]
    tally = {5000 + int(row.option): row.total for row in done.result.tally}
    assert rows == list(tally.items())  # every project, in ballot order, the tally's total (all channels)
    assert dict(rows)[5131] == 3 and dict(rows)[5152] == 1 and sum(n for _, n in rows) == 8
    with open(out / "tally.csv", newline="", encoding="utf-8") as handle:
        assert {5000 + int(r["option"]): int(r["total"]) for r in csv.DictReader(handle)} == dict(rows)
    sheet = load_workbook(folder / "paper-ballots-9.xlsx", read_only=True).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == ("id", "paper_ballots_to_import") and values[1:] == rows  # numbers as numbers
    readme = (folder / "README.txt").read_text(encoding="utf-8")
    assert "GENAU EINMAL" in readme and "EXACTLY ONCE" in readme and "ADDIERT" in readme and "ADDS" in readme
    assert "decidim-module-budgets_paper_ballots" in readme and "paper-ballots-9.csv" in readme
    deck.store.close()


def test_a_provisional_decidim_import_is_named_and_headed_so_that_it_cannot_be_imported(tmp_path: Path):
    deck = make_deck(tmp_path, decidim_budget_text())
    serial = deck.issue(1)[0]
    deck.scan_ballot(serial, {deck.process.items()[0].number: MarkState.MARKED}, received=MARCH)
    write_merge(deck.store, deck.process, tmp_path / "out")
    folder = tmp_path / "out" / "decidim"
    assert sorted(p.name for p in folder.iterdir()) == ["README.txt", "VORLAEUFIG-paper-ballots-9.csv",
                                                        "VORLAEUFIG-paper-ballots-9.xlsx"]
    first, header = (folder / "VORLAEUFIG-paper-ballots-9.csv").read_text(encoding="utf-8").splitlines()[:2]
    assert first == NOTICE_DECIDIM and header == "id;paper_ballots_to_import"
    assert (folder / "README.txt").read_text(encoding="utf-8").startswith(NOTICE_DECIDIM)
    deck.store.close()


def test_a_poll_on_decidim_gets_the_tally_and_a_readme_saying_there_is_no_import(tmp_path: Path):
    text = POLL_TEXT.replace("identity: code", "platform: decidim\nidentity: code")
    deck = make_deck(tmp_path, text)
    serial = deck.issue(1)[0]
    deck.scan_ballot(serial, numbers(deck, ("q1", "a")))
    out = tmp_path / "out"
    write_merge(deck.store, deck.process, out, final=True)
    assert [p.name for p in (out / "decidim").iterdir()] == ["README.txt"]
    readme = (out / "decidim" / "README.txt").read_text(encoding="utf-8")
    assert "keinen Import" in readme and "no import" in readme and "tally.csv" in readme
    assert (out / "tally.csv").exists() and not (out / "consul").exists()
    deck.store.close()


@pytest.mark.parametrize("change, message", [
    (lambda t: t.replace("      decidim_id: 5133\n", ""), r"process.yaml:\d+:\d+: .*investment 133 has no decidim_id"),
    (lambda t: t.replace("decidim_id: 5133", "decidim_id: 5131"), r"investment 133 has the decidim_id 5131 of "
                                                                  r"investment 131"),
    (lambda t: t.replace("  budget_id: 9\nidentity", "identity"), r"platform decidim needs decidim: \{url: …, "
                                                                  r"budget_id: N\}"),
    (lambda t: t.replace("platform: decidim", "platform: decidum"), r"platform"),
])
def test_a_decidim_definition_without_its_ids_is_refused_naming_the_field(tmp_path: Path, change, message):
    path = tmp_path / "process.yaml"
    path.write_text(change(decidim_budget_text()), encoding="utf-8")
    with pytest.raises(InvalidInput, match=message):
        load_process(path)

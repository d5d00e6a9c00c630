"""A budget merge's ballot sheets pasted into CONSUL (as re-implemented from its source in
tests/consul_ballot_sheets.py) lose no line and no investment, while CONSUL's settings
match the checklist; when a setting differs, CONSUL silently makes ballots partial."""

from __future__ import annotations

import random
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from consul_ballot_sheets import ConsulBudget, consul_budget_for, rails_integer, ruby_split
from hybrid.results.consul_checklist import settings_checklist
from hybrid.results.merge_outputs import write_merge
from hybrid.states import MarkState
from paper_deck import Deck
from test_merge import BUDGET_TEXT, make_deck, text_sms

MARCH = date(2027, 3, 20)
APPROVAL_TEXT = BUDGET_TEXT.replace("voting_style: knapsack\n  max_lines: null", "voting_style: approval\n  max_lines: 4")


def fill(deck: Deck, count: int, seed: int) -> None:
    """`count` ballots of random choices (some over the limit, some blank), 4 in 5 on paper,
    the others by SMS."""
    rng = random.Random(seed)
    number = {it.option: it.number for it in deck.process.items()}
    investments = list(number)
    at = datetime(2027, 3, 10, 9, tzinfo=timezone.utc)
    for serial in deck.issue(count):
        chosen = rng.sample(investments, rng.choice([0, 1, 2, 3, 4, 5, 6]))
        if rng.random() < 0.8:
            deck.scan_ballot(serial, {number[i]: MarkState.MARKED for i in chosen}, received=MARCH)
        else:
            text_sms(deck, f"{deck.codes[serial]} " + " ".join(str(number[i]) for i in chosen), at=at,
                     sender=f"+4915112{serial:06d}")


def paste_every_sheet(consul: ConsulBudget, folder: Path) -> dict[str, list[str]]:
    """Paste each ballot-sheet file once, as an officer would; file name → its lines."""
    pasted = {}
    for path in sorted(folder.glob("ballot-sheet-*.txt")):
        data = path.read_text(encoding="utf-8")
        lines = data.split("\n")
        made = consul.paste_ballot_sheet(data)
        assert len(made) == len(lines), path.name  # no empty or extra ballot
        pasted[path.name] = lines
    return pasted


@pytest.mark.parametrize("text", [BUDGET_TEXT, APPROVAL_TEXT], ids=["knapsack", "approval"])
def test_ballot_sheets_lose_no_line_in_consul(tmp_path: Path, text: str):
    deck = make_deck(tmp_path, text)
    fill(deck, 420, seed=6)
    out = tmp_path / "out"
    done = write_merge(deck.store, deck.process, out)  # over-limit paper ballots wait for review
    assert done.provisional is not None
    consul_dir = out / "consul"
    assert not list(consul_dir.glob("ballot-sheet-*.txt"))  # only provisional names while review is open
    # A person sets aside every ballot in review (over the limit: CONSUL could not take it whole).
    from hybrid import review

    for item in review.list_items(deck.store, deck.process):
        if item.kind == "record":
            review.decide(deck.store, deck.process, item.id, review.DecisionRequest("invalid"), "Anna Weber")
    done = write_merge(deck.store, deck.process, out, final=True)
    consul = consul_budget_for(deck.process)
    pasted = paste_every_sheet(consul, consul_dir)
    lines = [line for file_lines in pasted.values() for line in file_lines]
    assert all(len(file_lines) <= 250 for file_lines in pasted.values())
    counted = [r for r in done.result.records if r.state.value == "counted" and r.choices]
    assert len(lines) == len(counted) > 200
    # Every ballot keeps every investment; CONSUL's counts are the tally's.
    for ballot in consul.ballots:
        assert [str(i) for i in ballot.lines] == ballot.data.split(","), ballot.data
    assert consul.votes() == {int(row.option): row.total for row in done.result.tally if row.total}
    deck.store.close()


def test_a_consul_heading_price_lower_than_hybrids_makes_ballots_partial(tmp_path: Path):
    """The issue's example: CONSUL's heading at 400,000 instead of 500,000."""
    deck = make_deck(tmp_path, BUDGET_TEXT)
    number = {it.option: it.number for it in deck.process.items()}
    big, small = deck.issue(2)
    deck.scan_ballot(big, {number[i]: MarkState.MARKED for i in ("133", "142", "139")}, received=MARCH)  # 465,000
    deck.scan_ballot(small, {number["131"]: MarkState.MARKED}, received=MARCH)
    out = tmp_path / "out"
    write_merge(deck.store, deck.process, out, final=True)
    wrong = consul_budget_for(deck.process, heading_price=400_000)
    paste_every_sheet(wrong, out / "consul")
    kept = {ballot.data: ballot.lines for ballot in wrong.ballots}
    assert kept["131"] == [131]
    partial = kept[next(d for d in kept if "133" in d)]
    assert len(partial) == 2  # the third investment no longer fits: dropped without a word
    # Which is why the checklist names the price hybrid counted with, first on the entry sheet.
    prices = [s.value for s in settings_checklist(deck.process) if "Preis" in s.de]
    assert prices == ["500.000 €"]
    deck.store.close()


def test_the_re_implementation_follows_consuls_rules():
    consul = ConsulBudget(1, "knapsack", {}, {})
    from consul_ballot_sheets import ConsulHeading, ConsulInvestment

    consul.headings = {7: ConsulHeading(7, 1, 100), 8: ConsulHeading(8, 1, 100), 9: ConsulHeading(9, 2, 100)}
    consul.investments = {1: ConsulInvestment(1, 7, 60), 2: ConsulInvestment(2, 7, 50), 3: ConsulInvestment(3, 8, 10),
                          4: ConsulInvestment(4, 9, 10), 5: ConsulInvestment(5, 7, 10, selected=False)}
    made = consul.paste_ballot_sheet("1,2\n1,1,4;;3,1\n5,x,4\n 4 ,1\n\n")
    assert [b.lines for b in made] == [
        [1],  # 2 does not fit: no money left
        [1, 4],  # twice: added once; heading 9 is another group
        [],  # an empty line in the middle: an empty ballot
        [3],  # 1 is in heading 7 of the same group as 8
        [4],  # unselected 5 and "x" skipped
        [4, 1],  # Rails casts " 4 " to 4
    ]
    assert ruby_split("a;b;;", ";") == ["a", "b"] and ruby_split(";a", ";") == ["", "a"]
    assert rails_integer(" 12x") == 12 and rails_integer("x") == 0
    with pytest.raises(ValueError):
        consul.paste_ballot_sheet("  ")

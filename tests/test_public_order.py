"""Secrecy by order (DESIGN §4, §12): no public output keeps an order that follows serials,
record ids or arrival.

A budget with a few hundred paper ballots and SMS, each choosing its own set of cheap
investments (so a line of a ballot sheet names its ballot), scanned and texted in a
shuffled order. Each ballot-ordered output is read back, every row matched to its ballot,
and the Spearman rank correlation between the row's position and the ballot's serial,
record id and arrival is asserted near zero. Under a random order its spread is about
1/sqrt(n) (0.06 here); the bound of 0.3 is five of those, so the test does not flake, while
the record order of the old sheets (correlation 1) fails it at once.
"""

from __future__ import annotations

import csv
import random
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from hybrid import review
from hybrid.results.merge_outputs import write_merge
from hybrid.review import DecisionRequest
from hybrid.states import MarkState
from paper_deck import Deck
from test_merge import BUDGET_TEXT, make_deck, text_sms

PAPER, SMS = 260, 160
BOUND = 0.3
CHEAP = ("131", "132", "137", "138", "147", "148", "149", "150", "152", "153", "160")  # 184,500 together


def spearman(xs: list[float], ys: list[float]) -> float:
    rank_x = np.argsort(np.argsort(xs)).astype(float)
    rank_y = np.argsort(np.argsort(ys)).astype(float)
    return float(np.corrcoef(rank_x, rank_y)[0, 1])


def subset_of(index: int) -> tuple[str, ...]:
    """A distinct non-empty set of cheap investments for every index below 2**11."""
    return tuple(inv for bit, inv in enumerate(CHEAP) if (index + 1) >> bit & 1)


def uncorrelated(positions_to_ballots: list[dict[str, float]], what: str) -> None:
    """Every key of the ballots (serial, record id, arrival) is uncorrelated with the row position."""
    assert len(positions_to_ballots) > 100, what
    for key in positions_to_ballots[0]:
        rho = spearman(list(range(len(positions_to_ballots))), [b[key] for b in positions_to_ballots])
        assert abs(rho) < BOUND, f"{what}: row order follows {key} (rank correlation {rho:.2f})"


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_no_public_output_keeps_the_order_of_serials_record_ids_or_arrival(tmp_path: Path):
    deck: Deck = make_deck(tmp_path, BUDGET_TEXT)
    number = {it.option: it.number for it in deck.process.items()}
    comment_page = next(p.page for p in deck.layout.pages if p.comment is not None)
    serials = deck.issue(PAPER + SMS)
    arrival = list(range(PAPER + SMS))
    random.Random(13).shuffle(arrival)  # ballot i arrives as the arrival[i]-th: record ids follow arrival
    by_subset: dict[tuple[str, ...], dict[str, float]] = {}
    march = datetime(2027, 3, 2, 8, tzinfo=timezone.utc)
    for i in sorted(range(PAPER + SMS), key=arrival.__getitem__):
        serial, subset = serials[i], subset_of(i)
        if i < PAPER:
            marks = {number[inv]: MarkState.MARKED for inv in subset}
            for page in deck.layout.pages:
                if page.kind == "back":
                    continue
                here = {n: s for n, s in marks.items() if n in {b.number for b in page.boxes}}
                deck.scan(serial, page.page, here, comment=f"Anmerkung {i}" if page.page == comment_page else None,
                          received=date(2027, 3, 20))
            record_id = deck.record_of(serial)
        else:
            text_sms(deck, f"{deck.codes[serial]} " + " ".join(str(number[inv]) for inv in subset),
                     at=march + timedelta(minutes=arrival[i]))
            record_id = deck.record_of(serial, "sms")
        by_subset[subset] = {"serial": serial, "record_id": record_id, "arrival": arrival[i], "index": i}
    for item in review.list_items(deck.store, deck.process):
        if item.kind == "comment":
            review.decide(deck.store, deck.process, item.id, DecisionRequest("accept"), "Anna Weber")

    out = tmp_path / "out"
    done = write_merge(deck.store, deck.process, out, final=True)
    assert sum(1 for r in done.result.records if r.state.value == "counted") == PAPER + SMS

    consul = out / "consul"
    for booth, size in (("Papier", PAPER), ("SMS", SMS)):
        files = sorted(consul.glob(f"ballot-sheet-{booth}-*.txt"))  # at most 250 lines each
        lines = [line for path in files for line in path.read_text(encoding="utf-8").split("\n")]
        assert len(lines) == size and len(files) == -(-size // 250)
        uncorrelated([by_subset[tuple(line.split(","))] for line in lines], f"ballot-sheet-{booth}-*.txt")

    first_row_of_key: dict[str, int] = {}
    choices_of_key: dict[str, set[str]] = {}
    for position, row in enumerate(read_csv(out / "votes.csv")):
        first_row_of_key.setdefault(row["ballot_key"], position)
        choices_of_key.setdefault(row["ballot_key"], set()).add(row["option"])
    keys_in_order = sorted(first_row_of_key, key=first_row_of_key.__getitem__)
    uncorrelated([by_subset[tuple(inv for inv in CHEAP if inv in choices_of_key[k])] for k in keys_in_order],
                 "votes.csv")

    comments = [int(row["text"].split()[-1]) for row in read_csv(out / "comments.csv")]
    assert sorted(comments) == list(range(PAPER))
    by_index = {b["index"]: b for b in by_subset.values()}
    uncorrelated([by_index[i] for i in comments], "comments.csv")

    # The tally follows the printed ballot, whatever came in: the definition's order alone.
    assert [(r["question"], r["option"]) for r in read_csv(out / "tally.csv")] == [
        (it.question, it.option) for it in deck.process.items()]
    deck.store.close()


def test_poll_results_follow_consuls_order_not_the_records(tmp_path: Path):
    from test_merge import POLL_TEXT, numbers

    orders = []
    for name, seed in (("first", 1), ("second", 2)):
        deck = make_deck(tmp_path, POLL_TEXT, name=name)
        serials = deck.issue(12)
        random.Random(seed).shuffle(serials)
        options = [("q1", "a"), ("q1", "b"), ("q1", "c"), ("q1", "d")]
        for k, serial in enumerate(serials):
            deck.scan_ballot(serial, numbers(deck, options[(k * seed) % 4]))
        write_merge(deck.store, deck.process, tmp_path / f"out-{name}", final=True)
        results = read_csv(tmp_path / f"out-{name}" / "consul" / "poll-12-results.csv")
        orders.append([(r["booth"], r["question_id"], r["option_order"]) for r in results])
        deck.store.close()
    assert orders[0] == orders[1]
    paper_q1 = [o for b, q, o in orders[0] if b == "Papier" and q == "31"]
    assert paper_q1 == sorted(paper_q1)

"""Accuracy over simulated trays of every degradation (1,500 ballots in all).

The story a city runs before a real count: print → fill like people do → damage like
scanners and phones do → `hybrid scan` → compare with the truth. The bar: no ballot
counted with other choices than the truth's, every page accounted for, and few clean
ballots sent to a person.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from hybrid.definition_file import load_process
from hybrid.workspace import Workspace
from ocr.batch import run_scan
from deck.check import check_deck
from deck.build import deck_environment, simulate_deck

EXAMPLES = Path(__file__).resolve().parent.parent / "hybrid" / "examples"

# (degradation, example, ballots, seed, most review of clean ballots allowed)
DECKS = [
    ("light", "poll", 400, 11, 0.01),
    ("moderate", "poll", 400, 12, 0.01),
    ("moderate", "budget", 100, 13, 0.01),
    ("heavy", "poll", 250, 14, 0.10),
    ("photo", "poll", 250, 15, 0.05),
    ("photo", "budget", 100, 16, 0.05),
]


@pytest.mark.slow
@pytest.mark.parametrize("degrade, example, count, seed, review_limit", DECKS,
                         ids=[f"{d}-{e}-{n}" for d, e, n, _, _ in DECKS])
def test_scanned_deck_matches_its_truth(tmp_path, monkeypatch, degrade, example, count, seed, review_limit):
    deck = tmp_path / "deck"
    simulate_deck(load_process(EXAMPLES / f"{example}.yaml"), deck, count=count, degrade=degrade, seed=seed)
    for name, value in deck_environment(deck).items():
        monkeypatch.setenv(name, value)
    ws = Workspace(deck / "workspace")
    store = ws.open_store()
    received = date.fromisoformat(json.loads((deck / "truth.json").read_text())["received"])
    run_scan(ws, store, ws.process, [deck / "scans"], batch="deck", received=received)
    result = check_deck(store, deck)
    print(result.describe())
    assert result.miscounted == [], result.miscounted
    assert result.missing_records == []
    assert result.page_mismatches == [], result.page_mismatches[:10]
    assert result.pages_in_store == result.pages_in_truth
    assert result.review_rate_of_clean <= review_limit, result.clean_sent_to_review

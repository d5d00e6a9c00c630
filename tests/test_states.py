"""Ballot states and review actions are str enums (hybrid/states.py) whose values are what
the store holds and the files, the audit chain and the review page carry: the enums may
change how code reads, never what is stored."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from hybrid import review, state_texts
from hybrid.definition_file import load_process
from hybrid.states import BallotState, MarkState, ReviewAction
from paper_deck import EXAMPLES, open_deck

ROOT = Path(__file__).resolve().parent.parent
POLL = load_process(EXAMPLES / "poll.yaml")


def test_ballot_states_are_the_ones_the_store_allows():
    schema = (ROOT / "hybrid" / "store" / "schema.py").read_text(encoding="utf-8")
    allowed = re.search(r"CHECK \(state IN \(([^)]*)\)\)", schema.split("CREATE TABLE ballots", 1)[1]).group(1)
    assert {v.strip(" '") for v in allowed.split(",")} == {s.value for s in BallotState}


def test_every_review_action_belongs_to_an_item_kind_and_has_words():
    assert set().union(*review.ACTIONS.values()) == set(ReviewAction)
    for action in ReviewAction:
        for lang in ("de", "en"):
            assert "_" not in state_texts.text("action", action.value, lang), action


def test_the_review_page_sends_only_review_actions():
    script = (ROOT / "review" / "static" / "review.js").read_text(encoding="utf-8")
    sent = set(re.findall(r"""action: "([a-z_]+)\"""", script))
    assert sent and sent <= {a.value for a in ReviewAction}


def test_a_decision_given_as_an_enum_member_is_stored_and_audited_as_its_value(tmp_path: Path, store_engine: str):
    deck = open_deck(tmp_path / "ws", POLL)
    try:
        serial = deck.issue(1)[0]
        q1a = next(it.number for it in POLL.items() if (it.question, it.option) == ("q1", "a"))
        q1b = next(it.number for it in POLL.items() if (it.question, it.option) == ("q1", "b"))
        deck.scan(serial, 1, {q1a: MarkState.MARKED, q1b: MarkState.MARKED})
        deck.scan(serial, 2)
        item = f"r{deck.record_of(serial)}"
        review.decide(deck.store, POLL, item, review.DecisionRequest(ReviewAction.ACCEPT), "Anna Weber")
        (action,) = deck.store.conn.execute("SELECT action FROM review_decisions WHERE item = ?", (item,)).fetchone()
        assert type(action) is str and action == "accept"
        (entry,) = [json.loads(body) for (body,) in deck.store.conn.execute(
            "SELECT body FROM audit WHERE kind = 'review'").fetchall()]
        assert entry["action"] == "accept"
        assert review.effective_decision(deck.store, POLL, deck.record_of(serial)).by_review
    finally:
        deck.store.close()


def test_voiding_stores_the_value(tmp_path: Path, store_engine: str):
    from hybrid.ballot_lifecycle import void_ballots

    deck = open_deck(tmp_path / "ws", POLL)
    try:
        serial = deck.issue(2)[0]
        assert void_ballots(deck.store, [serial]).voided == [serial]
        assert void_ballots(deck.store, [serial]).already_void == [serial]
        states = dict(deck.store.conn.execute("SELECT serial, state FROM ballots").fetchall())
        assert states == {serial: "void", serial + 1: "issued"}
    finally:
        deck.store.close()

"""One answer to "what became of each record": `hybrid status`, the `hybrid sms` overview and
`hybrid merge` count the same final states (DESIGN §7, §8, §9), and status and sms write
nothing to find them. Told through the real store: paper readings, the SMS service, one
phone call, reviewers' decisions, a decision awaiting a second reviewer, a voided ballot."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path

from conftest import SMS_ACCOUNT

from hybrid import review
from hybrid.ballot_lifecycle import void_ballots
from hybrid.errors import ExitCode
from hybrid.merge import merge_records
from hybrid.review import DecisionRequest
from hybrid.states import MarkState, Reason, RecordState
from paper_deck import Deck
from sms.voice_menu import read_entry
from sms.voice_service import InboundCall, VoiceService
from test_merge import MAY_8, make_deck, numbers, text_sms

STATES = [s.value for s in RecordState]


def status_records(run_cli, deck: Deck) -> dict[str, dict]:
    result = run_cli("-C", deck.root, "status", "--json")
    assert result.code in (ExitCode.OK, ExitCode.NEEDS_PERSON), result.output
    return {c["channel"]: c for c in json.loads(result.out)["records"]}


def sms_table(run_cli, deck: Deck) -> dict[str, int]:
    """The "SMS records" table of `hybrid sms`: state → messages."""
    result = run_cli("-C", deck.root, "sms")
    assert result.code == ExitCode.OK, result.output
    return {m[1]: int(m[2]) for m in re.finditer(r"(?m)^\W*(" + "|".join(STATES) + r")\W+(\d+)\W*$", result.out)}


def merged(deck: Deck) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """merge's counts: channel → state → records, and channel → reason → records."""
    result = merge_records(deck.store, deck.process)
    states = {c: {s: n.get(s, 0) for s in STATES} for c, n in result.state_counts().items()}
    return states, {c: dict(sorted(n.items())) for c, n in result.reason_counts().items()}


def stored(deck: Deck) -> tuple:
    """Everything status or sms could have written: the records' decisions, claims, audit chain."""
    conn = deck.store.conn
    return (conn.execute("SELECT record_id, status, reasons, updated_at FROM records ORDER BY record_id").fetchall(),
            conn.execute("SELECT identity, record_id FROM claims ORDER BY identity").fetchall(),
            conn.execute("SELECT COUNT(*) FROM audit").fetchall(),
            conn.execute("SELECT COUNT(*) FROM review_decisions").fetchall())


def call_and_vote(deck: Deck, code: str, at: datetime) -> None:
    """One phone call that enters `code`, picks 1, 5 and 10, and confirms."""
    voice = VoiceService(deck.store, deck.process, clock=lambda: at)
    call = InboundCall("CA" + "6f" * 16, SMS_ACCOUNT, "+4915177777777")
    turn = voice.incoming(call)
    for digits, key in ((code, "#"), ("1", "#"), ("5", "#"), ("9", "#"), ("10", "#"), ("1", "")):
        turn = voice.gather(call, turn.state.seq, read_entry(digits, key))
    assert turn.outcome is not None and turn.outcome.value == "received"


def accepted_paper_then_the_same_sms(deck: Deck) -> int:
    """A paper ballot in review that a person accepts; then an SMS of its code with the same
    choices counts by itself (the paper ballot is still in review as the machine sees it)."""
    serial = deck.issue(1)[0]
    deck.scan_ballot(serial, {**numbers(deck, ("q1", "a")), 3: MarkState.MARGINAL}, reasons=(Reason.MARGINAL_MARK,))
    review.decide(deck.store, deck.process, f"r{deck.record_of(serial)}", DecisionRequest("accept"), "Anna Weber")
    text_sms(deck, f"{deck.codes[serial]} 1", at=MAY_8 + timedelta(days=5))
    return serial


def conflict_settled_on_paper(deck: Deck) -> int:
    """An SMS, then a paper ballot with other choices: both in review; a person accepts the
    paper ballot, and the SMS stands down."""
    serial = deck.issue(1)[0]
    text_sms(deck, f"{deck.codes[serial]} 2")
    deck.scan_ballot(serial, numbers(deck, ("q1", "a")))
    review.decide(deck.store, deck.process, f"r{deck.record_of(serial)}", DecisionRequest("accept"), "Anna Weber")
    return serial


def test_a_reviewed_paper_ballot_and_a_counted_sms_of_its_code_count_once_in_status_as_in_merge(
        tmp_path: Path, run_cli):
    deck = make_deck(tmp_path)
    serial = accepted_paper_then_the_same_sms(deck)
    before = stored(deck)
    shown = status_records(run_cli, deck)
    assert stored(deck) == before  # status reads; it never writes
    # Both are COUNTED as stored and reviewed: status used to say so; merge counts the code once.
    assert (shown["paper"]["states"]["counted"], shown["sms"]["states"]["counted"]) == (1, 0)
    assert shown["sms"]["states"]["duplicate"] == 1
    assert sms_table(run_cli, deck)["duplicate"] == 1 and stored(deck) == before
    states, _ = merged(deck)
    assert {c: shown[c]["states"] for c in ("paper", "sms")} == {c: states[c] for c in ("paper", "sms")}
    result = merge_records(deck.store, deck.process)
    assert {r.channel: (r.state, r.by_review) for r in result.records if r.serial == serial or r.channel == "sms"} == {
        "paper": (RecordState.COUNTED, True), "sms": (RecordState.DUPLICATE, False)}
    deck.store.close()


def test_a_ballot_voided_after_a_person_accepted_it_is_rejected_in_status_as_in_merge(tmp_path: Path, run_cli):
    deck = make_deck(tmp_path)
    serial = deck.issue(1)[0]
    deck.scan_ballot(serial, {**numbers(deck, ("q1", "a")), 3: MarkState.MARGINAL}, reasons=(Reason.MARGINAL_MARK,))
    review.decide(deck.store, deck.process, f"r{deck.record_of(serial)}", DecisionRequest("accept"), "Anna Weber")
    void_ballots(deck.store, [serial], "lost")
    before = stored(deck)
    shown = status_records(run_cli, deck)
    assert stored(deck) == before
    # The stored record still says review, and a person accepted that reading; merge decides
    # the code again (void) and the decision no longer fits: status takes merge's answer.
    assert {s: n for s, n in shown["paper"]["states"].items() if n} == {"rejected": 1}
    assert shown["paper"]["reasons"] == {"void_code": 1}
    states, reasons = merged(deck)
    assert (shown["paper"]["states"], shown["paper"]["reasons"]) == (states["paper"], reasons["paper"])
    deck.store.close()


def test_status_sms_and_merge_count_a_mixed_store_alike_and_status_writes_nothing(tmp_path: Path, run_cli):
    deck = make_deck(tmp_path)
    plain, overvote, voided, by_sms, by_phone, invalid_sms = deck.issue(6)
    deck.scan_ballot(plain, numbers(deck, ("q1", "a"), ("q3", "yes")))
    deck.scan_ballot(overvote, numbers(deck, ("q1", "a"), ("q1", "b")))  # review …
    review.decide(deck.store, deck.process, f"r{deck.record_of(overvote)}",  # … marks await a second reviewer
                  DecisionRequest("marks", marks={"q1": ("c",)}), "Anna Weber")
    deck.scan_ballot(voided, numbers(deck, ("q1", "d")))
    void_ballots(deck.store, [voided], "lost")  # voided after it was read: merge will reject it
    text_sms(deck, f"{deck.codes[by_sms]} 1 5 10")
    text_sms(deck, f"{deck.codes[by_sms]} 2", at=MAY_8 + timedelta(hours=1))  # superseded (conflicts: first)
    text_sms(deck, f"{deck.codes[invalid_sms]} 1 2")  # too many for q1: an invalid ballot
    text_sms(deck, "Hallo, wie geht das?")
    call_and_vote(deck, deck.codes[by_phone], MAY_8 + timedelta(hours=2))
    accepted_paper_then_the_same_sms(deck)
    conflict_settled_on_paper(deck)
    open_conflict = deck.issue(1)[0]
    text_sms(deck, f"{deck.codes[open_conflict]} 3")
    deck.scan_ballot(open_conflict, numbers(deck, ("q1", "a")))

    before = stored(deck)
    shown = status_records(run_cli, deck)
    table = sms_table(run_cli, deck)
    assert stored(deck) == before  # neither status nor sms wrote anything
    states, reasons = merged(deck)  # writes back what it decided again (the voided ballot)
    assert stored(deck) != before
    assert {c: shown[c]["states"] for c in states} == states
    assert {c: shown[c]["reasons"] for c in states} == reasons
    assert table == states["sms"]
    assert states["paper"]["rejected"] == 1 and reasons["paper"]["void_code"] == 1
    assert states["voice"]["counted"] == 1 and reasons["sms"]["invalid_content"] == 1
    assert {s: n for s, n in states["sms"].items() if n} == {"counted": 1, "superseded": 2, "rejected": 1,
                                                             "not_a_vote": 1, "duplicate": 1, "review": 1}
    assert reasons["sms"]["cross_channel_conflict"] == 2 and reasons["paper"]["cross_channel_conflict"] == 2
    # Once merge has written back, status still says the same.
    assert {c: status_records(run_cli, deck)[c]["states"] for c in states} == states
    deck.store.close()

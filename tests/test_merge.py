"""`hybrid merge`: the stories of DESIGN §7/§8 told through the real store.

Paper ballots are ingested as readings (tests/paper_deck.py), SMS go through the real
SmsService with Twilio's time; merge decides, and the files it writes are read back.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from openpyxl import load_workbook

from doubles.twilio_double import new_message_sid
from hybrid import audit, review
from hybrid.definition_file import load_process
from hybrid.merge import merge_records
from hybrid.results.merge_outputs import write_merge
from hybrid.review import DecisionRequest
from hybrid.states import MarkState, Reason, RecordState
from paper_deck import EXAMPLES, Deck, open_deck
from sms.service import InboundSms, SmsService

POLL_TEXT = (EXAMPLES / "poll.yaml").read_text(encoding="utf-8")
BUDGET_TEXT = (EXAMPLES / "budget.yaml").read_text(encoding="utf-8")
ACCOUNT = "AC" + "0" * 32
M = MarkState.MARKED
MAY_8 = datetime(2027, 5, 8, 10, 0, tzinfo=timezone.utc)


def make_deck(tmp_path: Path, text: str = POLL_TEXT, name: str = "ws") -> Deck:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return open_deck(tmp_path / name, load_process(path), text)


@pytest.fixture
def poll(tmp_path: Path) -> Deck:
    deck = make_deck(tmp_path)
    yield deck
    deck.store.close()


def text_sms(deck: Deck, body: str, at: datetime = MAY_8, sender: str = "+4915112345678"):
    """An SMS as `sms pull` brings it: with Twilio's time."""
    service = SmsService(deck.store, deck.process, clock=lambda: at)
    return service.receive(InboundSms(new_message_sid(), ACCOUNT, body, sender, sent_at=at), via="pull")


def numbers(deck: Deck, *pairs: tuple[str, str]) -> dict[int, MarkState]:
    found = {(it.question, it.option): it.number for it in deck.process.items()}
    return {found[p]: M for p in pairs}


def states_of(deck: Deck) -> dict[tuple[str, int | None], str]:
    result = merge_records(deck.store, deck.process)
    return {(r.channel, r.serial): r.state.value for r in result.records}


def tally_of(result) -> dict[tuple[str, str], dict[str, int]]:
    return {(row.question, row.option): dict(row.counts) for row in result.tally}


# -- identity and conflicts ------------------------------------------------------------------------


def test_the_same_code_on_paper_and_by_sms_with_the_same_choices_counts_once(poll: Deck):
    serial = poll.issue(1)[0]
    text_sms(poll, f"{poll.codes[serial]} 1 5 10", at=MAY_8)
    poll.scan_ballot(serial, numbers(poll, ("q1", "a"), ("q2", "a"), ("q3", "yes")))
    result = merge_records(poll.store, poll.process)
    by_channel = {r.channel: r for r in result.records}
    assert by_channel["sms"].state is RecordState.COUNTED  # texted on 8 May, the letter came on 10 May
    assert by_channel["paper"].state is RecordState.DUPLICATE
    assert tally_of(result)[("q1", "a")] == {"paper": 0, "sms": 1, "voice": 0}
    assert sum(row.total for row in result.tally) == 3


@pytest.fixture
def poll_on_each_engine(tmp_path: Path, store_engine: str) -> Deck:
    deck = make_deck(tmp_path)
    yield deck
    deck.store.close()


def test_paper_against_an_earlier_sms_with_other_choices_goes_to_review_and_counts_nothing(poll_on_each_engine: Deck):
    poll = poll_on_each_engine
    serial = poll.issue(1)[0]
    text_sms(poll, f"{poll.codes[serial]} 2")
    poll.scan_ballot(serial, numbers(poll, ("q1", "a")))
    result = merge_records(poll.store, poll.process)
    assert {r.channel: r.state for r in result.records} == {"paper": RecordState.REVIEW, "sms": RecordState.REVIEW}
    assert all(Reason.CROSS_CHANNEL_CONFLICT in r.reasons for r in result.records)
    assert sum(row.total for row in result.tally) == 0
    assert {f"r{r.record_id}" for r in result.awaiting_review} <= {i.id for i in review.list_items(poll.store,
                                                                                                     poll.process)}
    # A person accepts the paper ballot: it counts, the SMS stands down.
    paper = next(r for r in result.records if r.channel == "paper")
    review.decide(poll.store, poll.process, f"r{paper.record_id}", DecisionRequest("accept"), "Anna Weber")
    after = merge_records(poll.store, poll.process)
    assert {r.channel: r.state for r in after.records} == {"paper": RecordState.COUNTED,
                                                            "sms": RecordState.SUPERSEDED}
    assert tally_of(after)[("q1", "a")]["paper"] == 1 and sum(row.total for row in after.tally) == 1


@pytest.mark.parametrize("conflicts, counted", [("first", "1"), ("last", "2")])
def test_two_sms_under_first_and_last(tmp_path: Path, conflicts: str, counted: str):
    deck = make_deck(tmp_path, POLL_TEXT.replace("conflicts: first", f"conflicts: {conflicts}"))
    serial = deck.issue(1)[0]
    text_sms(deck, f"{deck.codes[serial]} 1", at=MAY_8)
    text_sms(deck, f"{deck.codes[serial]} 2", at=MAY_8 + timedelta(hours=2))
    result = merge_records(deck.store, deck.process)
    tally = tally_of(result)
    option = {"1": "a", "2": "b"}[counted]
    assert tally[("q1", option)]["sms"] == 1 and sum(row.total for row in result.tally) == 1
    assert Counter(r.state.value for r in result.records) == {"counted": 1, "superseded": 1}
    deck.store.close()


def test_phone_identity_counts_one_vote_per_phone(tmp_path: Path):
    text = POLL_TEXT.replace("identity: code", "identity: phone")
    text = text[:text.index("  paper:")] + text[text.index("  sms:"):]  # phone identity is refused with paper
    deck = make_deck(tmp_path, text)
    first, second, third = deck.issue(3)
    text_sms(deck, f"{deck.codes[first]} 1", sender="+4915111111111")
    text_sms(deck, f"{deck.codes[second]} 2", at=MAY_8 + timedelta(minutes=5), sender="+4915111111111")
    text_sms(deck, f"{deck.codes[third]} 2", sender="+4915122222222")
    result = merge_records(deck.store, deck.process)
    assert tally_of(result)[("q1", "a")]["sms"] == 1
    assert tally_of(result)[("q1", "b")]["sms"] == 1
    assert Counter(r.state.value for r in result.records) == {"counted": 2, "superseded": 1}
    deck.store.close()


def test_late_paper_and_late_sms_are_rejected_as_late(poll: Deck):
    paper_serial, sms_serial = poll.issue(2)
    poll.scan_ballot(paper_serial, numbers(poll, ("q1", "a")), received=date(2027, 6, 1))
    text_sms(poll, f"{poll.codes[sms_serial]} 1", at=datetime(2027, 5, 31, 22, 0, 1, tzinfo=timezone.utc))
    result = merge_records(poll.store, poll.process)
    assert [(r.channel, r.state, r.reasons) for r in result.records] == [
        ("paper", RecordState.REJECTED, (Reason.LATE,)), ("sms", RecordState.REJECTED, (Reason.LATE,))]
    assert sum(row.total for row in result.tally) == 0


def test_a_paper_ballot_posted_on_the_last_day_counts(poll: Deck):
    serial = poll.issue(1)[0]
    poll.scan_ballot(serial, numbers(poll, ("q1", "a")), received=date(2027, 5, 31))
    assert states_of(poll) == {("paper", serial): "counted"}


# -- review: pending, blank, invalid, partly valid → CONSUL's whites, nulls, total ------------------


def test_pending_reviews_are_listed_and_not_counted(poll: Deck):
    serial = poll.issue(1)[0]
    poll.scan_ballot(serial, {**numbers(poll, ("q3", "yes")), 3: MarkState.MARGINAL}, reasons=(Reason.MARGINAL_MARK,))
    record = poll.record_of(serial)
    # Setting marks needs a second reviewer: until then the record waits.
    review.decide(poll.store, poll.process, f"r{record}",
                  DecisionRequest("marks", marks={"q1": ("c",)}), "Anna Weber")
    result = merge_records(poll.store, poll.process)
    (merged,) = result.records
    assert merged.state is RecordState.REVIEW and merged.pending_review
    assert sum(row.total for row in result.tally) == 0
    review.confirm(poll.store, poll.process, f"r{record}", "Ben Krause")
    result = merge_records(poll.store, poll.process)
    assert result.records[0].state is RecordState.COUNTED
    assert tally_of(result)[("q1", "c")]["paper"] == 1 and tally_of(result)[("q3", "yes")]["paper"] == 1


def test_blank_invalid_and_partly_valid_ballots_map_to_whites_nulls_and_total(poll: Deck, tmp_path: Path):
    blank, invalid, partly, valid = poll.issue(4)
    poll.scan_ballot(blank, {})
    poll.scan_ballot(invalid, numbers(poll, ("q1", "a"), ("q1", "b")))  # an overvote: review
    poll.scan_ballot(partly, numbers(poll, ("q1", "a"), ("q1", "b"), ("q3", "no")))
    poll.scan_ballot(valid, numbers(poll, ("q1", "d")))
    review.decide(poll.store, poll.process, f"r{poll.record_of(invalid)}", DecisionRequest("invalid"), "Anna Weber")
    review.decide(poll.store, poll.process, f"r{poll.record_of(partly)}", DecisionRequest("accept"), "Anna Weber")
    text_sms(poll, f"{poll.codes[poll.issue(1)[0]]} 1 2")  # too many for q1: an invalid SMS ballot
    text_sms(poll, "Hallo, wie geht das?")  # chatter is never a null
    done = write_merge(poll.store, poll.process, tmp_path / "out", final=True)
    booths = {b.booth: (b.whites, b.nulls, b.total) for b in done.result.booths}
    assert booths["Papier"] == (1, 1, 2)  # partly valid counts as valid; q1 has no amount from it
    assert booths["SMS"] == (0, 1, 0)
    recounts = read_csv(tmp_path / "out" / "consul" / "poll-12-recounts.csv")
    assert [tuple(r.values()) for r in recounts] == [("Papier", "1", "1", "2"), ("SMS", "0", "1", "0"),
                                                     ("Telefon", "0", "0", "0")]
    results = read_csv(tmp_path / "out" / "consul" / "poll-12-results.csv")
    paper_q1 = [(r["option_order"], r["amount"]) for r in results if r["booth"] == "Papier" and r["question_id"] == "31"]
    assert paper_q1 == [("1", "0"), ("2", "0"), ("3", "0"), ("4", "1")]
    paper_q3 = {r["option"]: r["amount"] for r in results if r["booth"] == "Papier" and r["question_id"] == "33"}
    assert paper_q3 == {"Ja": "0", "Nein": "1"}
    reasons = {row["serial"]: row["reasons"] for row in read_csv(tmp_path / "out" / "ballots.csv")}
    assert "invalid_content" in reasons[str(invalid)]


# -- budgets ---------------------------------------------------------------------------------------


def test_budgets_over_the_limit_never_reach_a_ballot_sheet(tmp_path: Path):
    deck = make_deck(tmp_path, BUDGET_TEXT)
    by_id = {it.option: it.number for it in deck.process.items()}
    ok, over_paper, over_sms, ok_sms = deck.issue(4)
    march = date(2027, 3, 20)  # the budget's window is March 2027
    deck.scan_ballot(ok, {by_id["131"]: M, by_id["141"]: M}, received=march)
    deck.scan_ballot(over_paper, {by_id[i]: M for i in ("133", "142", "169", "159")}, received=march)  # 590,000
    at = datetime(2027, 3, 10, 9, tzinfo=timezone.utc)
    text_sms(deck, f"{deck.codes[over_sms]} {by_id['133']} {by_id['142']} {by_id['169']} {by_id['159']}", at=at)
    text_sms(deck, f"{deck.codes[ok_sms]} {by_id['137']}", at=at)
    done = write_merge(deck.store, deck.process, tmp_path / "out")
    states = {(r.channel, r.serial): r.state for r in done.result.records}
    assert states[("paper", over_paper)] is RecordState.REVIEW
    assert states[("sms", over_sms)] is RecordState.REJECTED
    consul = tmp_path / "out" / "consul"
    # A review is open: the sheets carry the provisional mark in their names.
    assert (consul / "VORLAEUFIG-ballot-sheet-Papier-001.txt").read_text() == "131,141"
    assert (consul / "VORLAEUFIG-ballot-sheet-SMS-001.txt").read_text() == "137"
    assert not list(consul.glob("*ballot-sheet-Telefon-*.txt"))
    # A reviewer cannot make the over-budget ballot valid: it stays out.
    review.decide(deck.store, deck.process, f"r{deck.record_of(over_paper)}", DecisionRequest("accept"), "Anna Weber")
    again = write_merge(deck.store, deck.process, tmp_path / "out", final=True)
    assert (consul / "ballot-sheet-Papier-001.txt").read_text() == "131,141"
    assert not list(consul.glob("VORLAEUFIG-*"))  # the provisional sheets of the first merge are gone
    assert {b.booth: b.nulls for b in again.result.booths} == {"Papier": 1, "SMS": 1, "Telefon": 0}
    readme = (consul / "README.txt").read_text(encoding="utf-8")
    assert "genau einmal" in readme and "exactly once" in readme and "7" in readme
    deck.store.close()


# -- outputs ---------------------------------------------------------------------------------------


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_merge_writes_every_output_with_the_contract_columns(poll: Deck, tmp_path: Path):
    serials = poll.issue(3)
    poll.scan_ballot(serials[0], numbers(poll, ("q1", "b"), ("q2", "a"), ("q2", "e")))
    poll.scan_ballot(serials[1], numbers(poll, ("q3", "no")))
    text_sms(poll, f"{poll.codes[serials[2]]} 1 10")
    out = tmp_path / "out"
    done = write_merge(poll.store, poll.process, out)
    headers = {name: next(csv.reader(open(out / name, encoding="utf-8"))) for name in
               ("ballots.csv", "votes.csv", "tally.csv", "comments.csv")}
    assert headers["ballots.csv"] == ["record_id", "channel", "serial", "source", "received_at", "status", "reasons"]
    assert headers["votes.csv"] == ["ballot_key", "channel", "question", "option"]
    assert headers["tally.csv"] == ["question", "option", "number", "consul_question_id", "consul_option", "paper",
                                    "sms", "voice", "total", "question_text", "option_text"]
    tally_texts = {(t["question"], t["option"]): (t["question_text"], t["option_text"])
                   for t in read_csv(out / "tally.csv")}
    assert tally_texts[("q3", "no")][1] == "Nein" and tally_texts[("q3", "no")][0].startswith("Soll")
    votes = read_csv(out / "votes.csv")
    assert len(votes) == 6 and len({v["ballot_key"] for v in votes}) == 3
    ballots = read_csv(out / "ballots.csv")
    serials_seen = {b["serial"] for b in ballots}
    # votes.csv cannot be joined to serials or record ids.
    assert not ({v["ballot_key"] for v in votes} & (serials_seen | {b["record_id"] for b in ballots}))
    assert {b["source"].split(":")[0] for b in ballots} == {"scan", "sms"}
    assert done.head == audit.head(poll.store)
    lines = (out / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[-1])["mac"] == done.head and json.loads(lines[-1])["kind"] == "export"
    for name in ("results.xlsx", "report.pdf", "consul/entry-sheet.pdf", "consul/README.txt"):
        assert (out / name).stat().st_size > 0
    # Merging again gives new ballot keys but the same tally.
    tally_before = (out / "tally.csv").read_text()
    write_merge(poll.store, poll.process, out)
    assert (out / "tally.csv").read_text() == tally_before
    assert not ({v["ballot_key"] for v in read_csv(out / "votes.csv")} & {v["ballot_key"] for v in votes})


def test_results_workbook_matches_the_csv_files_and_neutralises_formulas(tmp_path: Path):
    text = POLL_TEXT.replace('"Mehr Sitzbänke und Schatten"', '"=HYPERLINK(\\"http://x\\")"')
    assert text != POLL_TEXT
    deck = make_deck(tmp_path, text)
    serials = deck.issue(2)
    deck.scan_ballot(serials[0], numbers(deck, ("q2", "a"), ("q1", "c")))
    text_sms(deck, f"{deck.codes[serials[1]]} 5")
    out = tmp_path / "out"
    write_merge(deck.store, deck.process, out, final=True)
    book = load_workbook(out / "results.xlsx", read_only=True)
    for sheet in book.worksheets:
        for row in sheet.iter_rows(values_only=True):
            for value in row:
                assert not (isinstance(value, str) and value[:1] in "=+-@"), (sheet.title, value)
    tally = read_csv(out / "tally.csv")
    sheet_rows = list(book["Ergebnis"].iter_rows(values_only=True))[1:]
    assert [(str(r[3]), str(r[4]), str(r[7]), str(r[8]), str(r[10])) for r in sheet_rows] == [
        (t["question"], t["option"], t["paper"], t["sms"], t["total"]) for t in tally]
    assert any(str(r[2]).startswith("'=HYPERLINK") for r in sheet_rows)
    ballots = read_csv(out / "ballots.csv")
    records = list(book["Stimmzettel"].iter_rows(values_only=True))
    assert records[0] == ("Datensatz", "Kanal", "Seriennummer", "Quelle", "Eingang", "Status", "Gründe")
    german = {"paper": "Papier", "sms": "SMS", "counted": "gezählt"}
    assert [(r[0], r[1], r[2], r[3], r[5]) for r in records[1:]] == [
        (int(b["record_id"]), german[b["channel"]], int(b["serial"]) if b["serial"] else None, b["source"],
         german[b["status"]]) for b in ballots]  # numbers as numbers, words in German
    deck.store.close()


def test_merge_cli_prints_the_head_and_exits_1_while_reviews_wait(poll: Deck, run_cli, tmp_path: Path):
    serial = poll.issue(1)[0]
    poll.scan_ballot(serial, numbers(poll, ("q1", "a"), ("q1", "b")))
    poll.store.close()
    out = tmp_path / "merged"
    result = run_cli("-C", poll.root, "merge", "-o", out)
    assert result.code == 1, result.output
    assert "Awaiting review" in result.output and f"#{serial}" in result.output
    head = json.loads((out / "audit.jsonl").read_text().splitlines()[-1])["mac"]
    assert head in result.output
    assert run_cli("-C", poll.root, "audit", "verify", "--head", head).code == 0
    cvr = tmp_path / "cvr.jsonl"
    assert run_cli("-C", poll.root, "export", "cvr", "-o", cvr).code == 0
    (line,) = cvr.read_text().splitlines()
    record = json.loads(line)
    assert set(record) == {"record_id", "channel", "serial", "status", "reasons", "choices"}
    assert record["serial"] == serial and record["status"] == "review" and record["choices"] == {"q1": ["a", "b"]}

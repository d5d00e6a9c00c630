"""Review decisions in the hub (hybrid/review.py), on SQLite and PostgreSQL.

Ballots here are printed into the store and "scanned" as readings (no OCR), so each
story runs in milliseconds: a reviewer decides, a second one confirms, someone undoes,
two people race for one item; `effective_decision` is what merge will count.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid import audit, review
from hybrid.definition_file import load_process
from hybrid.states import MarkState, PageState, Reason, RecordState
from hybrid.store import Store
from paper_deck import EXAMPLES, Deck, open_deck

POLL = load_process(EXAMPLES / "poll.yaml")


@pytest.fixture
def deck(tmp_path: Path, store_engine: str):
    made = open_deck(tmp_path / "ws", POLL)
    yield made
    made.store.close()


def number(question: str, option: str) -> int:
    return next(it.number for it in POLL.items() if (it.question, it.option) == (question, option))


M = MarkState.MARKED


def overvoted(deck: Deck) -> int:
    """A ballot with two marks in q1 (one allowed), a valid q2, and its second page."""
    serial = deck.issue(1)[0]
    deck.scan(serial, 1, {number("q1", "a"): M, number("q1", "b"): M, number("q2", "c"): M})
    deck.scan(serial, 2)
    return serial


def marginal(deck: Deck) -> int:
    serial = deck.issue(1)[0]
    deck.scan(serial, 1, {number("q1", "c"): MarkState.MARGINAL, number("q3", "yes"): M},
              reasons=(Reason.MARGINAL_MARK,))
    deck.scan(serial, 2)
    return serial


# -- items -------------------------------------------------------------------------------------


def test_items_name_every_record_in_review_every_unreadable_page_and_every_comment(deck: Deck):
    over, faint = overvoted(deck), marginal(deck)
    fine = deck.issue(1)[0]
    deck.scan(fine, 1, {number("q1", "a"): M})
    deck.scan(fine, 2, comment="Mehr Bänke bitte")
    lost = deck.unreadable()

    items = review.list_items(deck.store, POLL)
    by_id = {i.id: i for i in items}
    assert by_id[f"r{deck.record_of(over)}"].group == "overvote"
    assert by_id[f"r{deck.record_of(faint)}"].group == "marginal_mark"
    assert f"r{deck.record_of(fine)}" not in by_id  # counted: nothing to review
    page_item = review.page_item_id("p", lost)
    assert by_id[page_item].kind == "page" and by_id[page_item].group == "unreadable"
    comments = [i for i in items if i.kind == "comment"]
    assert [c.serial for c in comments] == [fine]
    # Stable ids, in the queue's order: the same list again, every item open.
    assert [i.id for i in review.list_items(deck.store, POLL)] == [i.id for i in items]
    assert {i.status for i in items} == {"open"}
    assert review.get_item(deck.store, POLL, page_item).source == lost
    with pytest.raises(review.UnknownItem):
        review.get_item(deck.store, POLL, "r999999")
    with pytest.raises(review.UnknownItem):
        review.get_item(deck.store, POLL, "x12")


# -- decisions and what merge counts -------------------------------------------------------------


def test_accept_as_read_counts_the_reading_and_an_overvote_stays_invalid(deck: Deck):
    serial = overvoted(deck)
    item = f"r{deck.record_of(serial)}"
    assert deck.effective(serial).state is RecordState.REVIEW
    after = review.decide(deck.store, POLL, item, review.DecisionRequest("accept"), "Anna Weber")
    assert after.status == "decided" and after.decision.reviewer == "Anna Weber"
    eff = deck.effective(serial)
    assert eff.state is RecordState.COUNTED and eff.by_review and eff.reviewer == "Anna Weber"
    assert eff.invalid_questions == ("q1",) and dict(eff.choices) == {"q2": ("c",)}
    assert Reason.OVERVOTE in eff.reasons
    # Beside, never over: the record keeps the machine's reading.
    status, choices = deck.store.conn.execute("SELECT status, choices FROM records WHERE record_id = ?",
                                              (deck.record_of(serial),)).fetchone()
    assert status == "review" and json.loads(choices)["q1"] == ["a", "b"]
    assert review.effective_decisions(deck.store, POLL)[deck.record_of(serial)] == eff


def test_changed_marks_wait_for_a_second_reviewer_who_is_not_the_first(deck: Deck):
    serial = marginal(deck)
    item = f"r{deck.record_of(serial)}"
    pending = review.decide(deck.store, POLL, item,
                            review.DecisionRequest("marks", marks={"q1": ("c",), "q2": ("a", "e")}), "Anna")
    assert pending.status == "pending" and pending.group == "awaiting_confirmation"
    eff = deck.effective(serial)
    assert eff.pending and eff.state is RecordState.REVIEW and not eff.counted  # not used until confirmed
    with pytest.raises(review.SecondReviewerNeeded):
        review.confirm(deck.store, POLL, item, "Anna")
    confirmed = review.confirm(deck.store, POLL, item, "Ben")
    assert confirmed.status == "decided" and confirmed.decision.confirmed_by == "Ben"
    eff = deck.effective(serial)
    assert eff.state is RecordState.COUNTED and eff.confirmed_by == "Ben"
    assert dict(eff.choices) == {"q1": ("c",), "q2": ("a", "e"), "q3": ("yes",)}  # q3 as read


def test_marks_equal_to_the_reading_need_no_second_reviewer(deck: Deck):
    serial = marginal(deck)
    item = review.decide(deck.store, POLL, f"r{deck.record_of(serial)}",
                         review.DecisionRequest("marks", marks={"q3": ("yes",)}), "Anna")
    assert item.status == "decided"
    assert deck.effective(serial).state is RecordState.COUNTED


def test_a_reviewer_cannot_make_an_overvote_valid(deck: Deck):
    serial = marginal(deck)
    item = f"r{deck.record_of(serial)}"
    review.decide(deck.store, POLL, item, review.DecisionRequest("marks", marks={"q1": ("a", "b", "c")}), "Anna")
    review.confirm(deck.store, POLL, item, "Ben")
    eff = deck.effective(serial)
    assert "q1" in eff.invalid_questions and "q1" not in eff.choices and Reason.OVERVOTE in eff.reasons
    assert dict(eff.choices) == {"q3": ("yes",)}


@pytest.mark.parametrize("action, state, invalid_ballot", [
    ("invalid", RecordState.REJECTED, True),
    ("reject", RecordState.REJECTED, False),
])
def test_ballot_invalid_and_reject(deck: Deck, action, state, invalid_ballot):
    serial = overvoted(deck)
    review.decide(deck.store, POLL, f"r{deck.record_of(serial)}", review.DecisionRequest(action), "Anna")
    eff = deck.effective(serial)
    assert eff.state is state and eff.invalid_ballot is invalid_ballot and not eff.choices


def test_question_invalid_leaves_out_that_question(deck: Deck):
    serial = marginal(deck)
    review.decide(deck.store, POLL, f"r{deck.record_of(serial)}",
                  review.DecisionRequest("invalid_question", questions=("q3",)), "Anna")
    eff = deck.effective(serial)
    # Only q3 held a choice: a ballot left with no valid choice but an invalid question is invalid.
    assert eff.invalid_questions == ("q3",) and eff.invalid_ballot and eff.state is RecordState.REJECTED
    with pytest.raises(review.InvalidInput):
        review.decide(deck.store, POLL, f"r{deck.record_of(serial)}",
                      review.DecisionRequest("invalid_question", questions=("q9",)), "Anna", expected_version=1)


def test_undo_keeps_the_history_and_the_audit_chain(deck: Deck):
    serial = overvoted(deck)
    item = f"r{deck.record_of(serial)}"
    review.decide(deck.store, POLL, item, review.DecisionRequest("reject"), "Anna")
    with pytest.raises(review.ReviewConflict):  # a script never decides over a person by accident
        review.decide(deck.store, POLL, item, review.DecisionRequest("accept"), "Ben")
    after = review.undo(deck.store, POLL, item, "Ben")
    assert after.status == "open" and after.decision is None and after.version == 2
    assert deck.effective(serial).state is RecordState.REVIEW
    past = review.history(deck.store, item)
    assert len(past) == 1 and past[0].undone_by == "Ben" and past[0].reviewer == "Anna"
    kinds = [json.loads(e.body).get("event") for e in audit.entries(deck.store) if e.kind == "review"]
    assert kinds == ["decide", "undo"]
    assert audit.verify(deck.store).ok
    with pytest.raises(review.InvalidInput):
        review.undo(deck.store, POLL, item, "Ben")


def test_undo_brings_back_the_decision_before(deck: Deck):
    serial = overvoted(deck)
    item = f"r{deck.record_of(serial)}"
    review.decide(deck.store, POLL, item, review.DecisionRequest("accept"), "Anna")
    review.decide(deck.store, POLL, item, review.DecisionRequest("invalid"), "Ben", expected_version=1)
    assert deck.effective(serial).invalid_ballot
    review.undo(deck.store, POLL, item, "Ben")
    assert deck.effective(serial).state is RecordState.COUNTED


def test_two_reviewers_on_one_item_one_wins_the_other_is_told(deck: Deck):
    serial = overvoted(deck)
    item = f"r{deck.record_of(serial)}"
    seen = review.get_item(deck.store, POLL, item).version
    review.decide(deck.store, POLL, item, review.DecisionRequest("accept"), "Anna", expected_version=seen)
    with pytest.raises(review.ReviewConflict) as caught:
        review.decide(deck.store, POLL, item, review.DecisionRequest("reject"), "Ben", expected_version=seen)
    assert caught.value.by == "Anna" and caught.value.event == "accept" and "not saved" in caught.value.message
    assert [d.reviewer for d in review.history(deck.store, item)] == ["Anna"]


def test_concurrent_decisions_from_separate_connections(deck: Deck):
    """Eight staff press a key on the same item at once: exactly one decision is stored."""
    serial = overvoted(deck)
    item = f"r{deck.record_of(serial)}"
    stores = [Store.open(deck.root, POLL.id) for _ in range(8)]
    outcomes: list[str] = []
    barrier = threading.Barrier(len(stores))

    def press(index: int, store: Store) -> None:
        barrier.wait()
        try:
            review.decide(store, POLL, item, review.DecisionRequest("accept" if index % 2 else "reject"),
                          f"reviewer {index}", expected_version=0)
            outcomes.append("won")
        except review.ReviewConflict:
            outcomes.append("told")

    threads = [threading.Thread(target=press, args=(i, s)) for i, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    assert sorted(outcomes) == ["told"] * 7 + ["won"]
    assert len(review.history(deck.store, item)) == 1
    assert review.get_item(deck.store, POLL, item).version == 1


def test_a_decision_on_an_earlier_reading_is_not_used(deck: Deck):
    serial = deck.issue(1)[0]
    deck.scan(serial, 1, {number("q1", "a"): M})  # page 2 still missing
    item = f"r{deck.record_of(serial)}"
    assert review.get_item(deck.store, POLL, item).group == "missing_page"
    review.decide(deck.store, POLL, item, review.DecisionRequest("accept"), "Anna")
    assert deck.effective(serial).counted
    deck.scan(serial, 2)  # the page arrives: the ballot is re-judged (now counted by the machine)
    eff = deck.effective(serial)
    assert not eff.by_review and eff.state is RecordState.COUNTED
    assert review.get_item(deck.store, POLL, item).note == "reread"


# -- unreadable pages ----------------------------------------------------------------------------


def test_identify_an_unreadable_page_by_serial(deck: Deck):
    serial = deck.issue(1)[0]
    deck.scan(serial, 2)  # the continuation was read; the front was not
    source = deck.unreadable()
    item = review.page_item_id("p", source)
    found = review.lookup_ballot(deck.store, POLL, serial)
    assert found.suggested_page == 1 and found.present_pages == (2,)
    with pytest.raises(review.InvalidInput, match="give its marks"):
        review.decide(deck.store, POLL, item, review.DecisionRequest("identify", serial=serial), "Anna")
    pending = review.decide(deck.store, POLL, item, review.DecisionRequest(
        "identify", serial=serial, marks={"q1": ("d",), "q3": ("no",)}), "Anna")
    assert pending.status == "pending"
    state = deck.store.conn.execute("SELECT state FROM pages WHERE source = ?", (source,)).fetchone()[0]
    assert state == PageState.UNREADABLE.value  # nothing changes before a second reviewer confirms
    review.confirm(deck.store, POLL, item, "Ben")
    row = deck.store.conn.execute("SELECT state, serial, ballot_page FROM pages WHERE source = ?", (source,)).fetchone()
    assert tuple(row) == ("identified", serial, 1)
    eff = deck.effective(serial)
    assert eff.state is RecordState.COUNTED and dict(eff.choices) == {"q1": ("d",), "q3": ("no",)}
    assert review.get_item(deck.store, POLL, item).status == "decided"
    # Undo: the page is unreadable again and the ballot is judged without it.
    review.undo(deck.store, POLL, item, "Anna")
    assert deck.store.conn.execute("SELECT state FROM pages WHERE source = ?", (source,)).fetchone()[0] == "unreadable"
    eff = deck.effective(serial)
    assert eff.state is RecordState.REVIEW and Reason.MISSING_PAGE in eff.reasons
    assert audit.verify(deck.store).ok


def test_identifying_a_lone_page_creates_its_record_and_undo_removes_it(deck: Deck):
    serial = deck.issue(1)[0]
    source = deck.unreadable()
    item = review.page_item_id("p", source)
    with pytest.raises(review.InvalidInput, match="--page"):
        review.decide(deck.store, POLL, item, review.DecisionRequest("identify", serial=serial, marks={}), "Anna")
    done = review.decide(deck.store, POLL, item, review.DecisionRequest("identify", serial=serial, page=2), "Anna")
    assert done.status == "decided"  # page 2 has no boxes: nothing to confirm
    record_id = deck.record_of(serial)
    assert review.effective_decision(deck.store, POLL, record_id).state is RecordState.REVIEW  # page 1 missing
    review.undo(deck.store, POLL, item, "Anna")
    assert deck.store.conn.execute("SELECT COUNT(*) FROM records WHERE serial = ?", (serial,)).fetchone()[0] == 0


def test_void_or_unknown_serials_are_refused(deck: Deck):
    serial = deck.issue(1)[0]
    deck.store.void_ballot(serial, "lost")
    item = review.page_item_id("p", deck.unreadable())
    with pytest.raises(review.InvalidInput, match="void"):
        review.decide(deck.store, POLL, item, review.DecisionRequest("identify", serial=serial, page=2), "Anna")
    with pytest.raises(review.InvalidInput, match="no ballot"):
        review.decide(deck.store, POLL, item, review.DecisionRequest("identify", serial=9999, page=2), "Anna")
    assert review.decide(deck.store, POLL, item, review.DecisionRequest("reject"), "Anna").status == "decided"


# -- comments ------------------------------------------------------------------------------------


def test_comments_confirm_correct_or_keep_private(deck: Deck):
    texts = ["Mehr Bänke bitte", "Ruf mich an: 0931 1234", ""]
    items = []
    for text in texts:
        serial = deck.issue(1)[0]
        deck.scan(serial, 1, {number("q1", "a"): M})
        items.append(review.page_item_id("c", deck.scan(serial, 2, comment=text).source))
    review.decide(deck.store, POLL, items[0], review.DecisionRequest("accept"), "Anna")
    review.decide(deck.store, POLL, items[1], review.DecisionRequest("personal_data"), "Anna")
    with pytest.raises(review.InvalidInput, match="no suggestion"):
        review.decide(deck.store, POLL, items[2], review.DecisionRequest("accept"), "Anna")
    review.decide(deck.store, POLL, items[2], review.DecisionRequest("text", text="  Danke!\r\n"), "Anna")
    published = review.confirmed_comments(deck.store)
    assert [c.text for c in published] == ["Mehr Bänke bitte", "Danke!"]
    assert all(c.language == "de" for c in published)
    # The chain binds each decision without holding the text.
    bodies = "".join(e.body for e in audit.entries(deck.store))
    assert "Bänke" not in bodies and "0931" not in bodies


# -- cross-channel conflicts ---------------------------------------------------------------------


def test_accepting_one_side_of_a_conflict_supersedes_the_other(deck: Deck):
    serial = deck.issue(1)[0]
    deck.scan(serial, 1, {number("q1", "a"): M})
    deck.scan(serial, 2)
    paper = deck.record_of(serial)
    code_hash = deck.store.code_hash(deck.codes[serial])
    with deck.store.transaction():
        reasons = json.dumps([Reason.CROSS_CHANNEL_CONFLICT.value])
        deck.store.conn.execute("UPDATE records SET status = 'review', reasons = ? WHERE record_id = ?",
                                (reasons, paper))
        sms = deck.store.conn.insert(
            "INSERT INTO records (channel, code_hash, serial, source, received_at, status, reasons, choices, "
            "updated_at) VALUES ('sms', ?, ?, 'sms:SM1', '2027-05-09', 'review', ?, ?, '2027-05-09')",
            (code_hash, serial, reasons, json.dumps({"q1": ["b"]})), returning="record_id")
    detail = review.item_detail(deck.store, POLL, f"r{paper}", deck.root)
    assert [r.record_id for r in detail.related] == [sms]  # both side by side
    review.decide(deck.store, POLL, f"r{paper}", review.DecisionRequest("accept"), "Anna")
    assert review.effective_decision(deck.store, POLL, paper).state is RecordState.COUNTED
    other = review.effective_decision(deck.store, POLL, sms)
    assert other.state is RecordState.SUPERSEDED and other.by_review and other.item == f"r{paper}"
    assert review.get_item(deck.store, POLL, f"r{sms}").status == "decided"
    with pytest.raises(review.InvalidInput, match="already accepted"):
        review.decide(deck.store, POLL, f"r{sms}", review.DecisionRequest("accept"), "Ben")


# -- reviewers' tokens -----------------------------------------------------------------------------


def test_tokens_are_stored_hashed_and_replaced(deck: Deck):
    first = review.issue_token(deck.store, "Anna Weber")
    assert review.reviewer_for_token(deck.store, first).name == "Anna Weber"
    dump = json.dumps([list(r) for r in deck.store.conn.execute("SELECT * FROM reviewers").fetchall()])
    assert first not in dump
    second = review.issue_token(deck.store, "Anna Weber")
    assert review.reviewer_for_token(deck.store, first) is None
    assert review.reviewer_for_token(deck.store, second).name == "Anna Weber"
    assert review.revoke_token(deck.store, "Anna Weber")
    assert review.reviewer_for_token(deck.store, second) is None
    assert review.reviewer_for_token(deck.store, "") is None


# -- pure parts --------------------------------------------------------------------------------------

QUESTIONS = {q.id: [o.id for o in q.options] for q in POLL.questions}
@st.composite
def poll_marks(draw) -> dict[str, tuple[str, ...]]:
    chosen = draw(st.sets(st.sampled_from(sorted(QUESTIONS)), min_size=1))
    return {q: tuple(draw(st.lists(st.sampled_from(QUESTIONS[q]), unique=True))) for q in sorted(chosen)}


@given(poll_marks())
@settings(max_examples=200, deadline=None)
def test_parse_marks_reads_what_the_cli_help_shows(marks):
    text = ",".join(f"{q}={'+'.join(opts)}" for q, opts in marks.items())
    assert review.parse_marks(POLL, text) == marks
    numbers = ",".join(str(number(q, o)) for q, opts in marks.items() for o in opts)
    assert review.parse_marks(POLL, numbers) == {q: opts for q, opts in marks.items() if opts}


@given(poll_marks(), poll_marks())
@settings(max_examples=300, deadline=None)
def test_reviewed_marks_never_count_a_question_over_its_limit(read, marks):
    from hybrid import rules

    machine = rules.Decision(RecordState.REVIEW, (Reason.MARGINAL_MARK,), read)
    result = review.apply_decision(POLL, machine, "marks", {"marks": marks})
    limits = {q.id: q.max_choices for q in POLL.questions}
    wanted = {**read, **marks}
    for question, options in result.choices.items():
        assert 0 < len(options) <= limits[question]
        assert set(options) == set(wanted[question])
    for question, options in wanted.items():
        if len(options) > limits[question]:
            assert question in result.invalid_questions and question not in result.choices
    if result.state is RecordState.COUNTED:
        assert result.choices or Reason.BLANK_BALLOT in result.reasons
    else:
        assert result.invalid_ballot and not result.choices


def test_parse_marks_refuses_unknown_names():
    for text, word in (("q9=a", "q9"), ("q1=z", "'z'"), ("99", "printed number")):
        with pytest.raises(review.InvalidInput, match=word):
            review.parse_marks(POLL, text)
    assert review.parse_marks(POLL, "none") == {}
    assert review.parse_marks(POLL, "q2=") == {"q2": ()}

"""The rules module decides what a scanned page is (`rules.classify_page`): the table of
cases a scan meets, and property tests over every combination of facts."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid import rules
from hybrid.definition_file import load_process
from hybrid.states import BallotState, PageState, Reason

EXAMPLES = Path(__file__).resolve().parent.parent / "hybrid" / "examples"
LIVE = load_process(EXAMPLES / "poll.yaml")
TEST = LIVE.model_copy(update={"id": LIVE.id + "-test"})
KINDS = ("ballot", "back", "letter", "blank", "foreign", "unreadable")
REJECTIONS = {Reason.NOT_A_BALLOT, Reason.TEST_BALLOT, Reason.OTHER_PROCESS, Reason.UNKNOWN_CODE, Reason.VOID_CODE}


def ballot_page(**kw) -> rules.PageFacts:
    """A front page of an issued ballot of LIVE, read by its QR, seen for the first time."""
    facts = dict(kind="ballot", process_id=LIVE.id, layout_known=True, has_code=True, serial=7,
                 ballot_state=BallotState.ISSUED, ballot_serial=7)
    facts.update(kw)
    return rules.PageFacts(**facts)


@pytest.mark.parametrize("facts, process, state, reasons", [
    (rules.PageFacts("blank"), LIVE, PageState.SKIPPED, (Reason.BLANK_PAGE,)),
    (rules.PageFacts("back", process_id=LIVE.id, has_code=True), LIVE, PageState.SKIPPED, (Reason.BACK_SIDE,)),
    (rules.PageFacts("letter"), LIVE, PageState.SKIPPED, (Reason.COVER_LETTER,)),
    (rules.PageFacts("foreign"), LIVE, PageState.REJECTED, (Reason.NOT_A_BALLOT,)),
    (rules.PageFacts("unreadable"), LIVE, PageState.UNREADABLE, (Reason.NO_CODE,)),
    (ballot_page(), LIVE, PageState.IDENTIFIED, ()),
    (ballot_page(reasons=(Reason.MARGINAL_MARK,)), LIVE, PageState.IDENTIFIED, (Reason.MARGINAL_MARK,)),
    (ballot_page(process_id="another-2027"), LIVE, PageState.REJECTED, (Reason.OTHER_PROCESS,)),
    (ballot_page(process_id=None), LIVE, PageState.REJECTED, (Reason.OTHER_PROCESS,)),
    (ballot_page(process_id=TEST.id), LIVE, PageState.REJECTED, (Reason.TEST_BALLOT,)),
    (ballot_page(process_id="another-2027-test"), LIVE, PageState.REJECTED, (Reason.TEST_BALLOT,)),
    (ballot_page(process_id="another-2027-test"), TEST, PageState.REJECTED, (Reason.OTHER_PROCESS,)),
    (ballot_page(process_id=LIVE.id), TEST, PageState.REJECTED, (Reason.OTHER_PROCESS,)),
    (ballot_page(process_id=TEST.id), TEST, PageState.IDENTIFIED, ()),
    (ballot_page(layout_known=False), LIVE, PageState.REJECTED, (Reason.OTHER_PROCESS,)),
    (ballot_page(has_code=False), LIVE, PageState.REJECTED, (Reason.OTHER_PROCESS,)),
    (ballot_page(ballot_state=None, ballot_serial=None), LIVE, PageState.REJECTED, (Reason.UNKNOWN_CODE,)),
    (ballot_page(serial=8), LIVE, PageState.REJECTED, (Reason.UNKNOWN_CODE,)),
    (ballot_page(serial=8, code_from_ocr=True, reasons=(Reason.CODE_FROM_OCR,)), LIVE, PageState.IDENTIFIED,
     (Reason.CODE_FROM_OCR,)),
    (ballot_page(ballot_state=BallotState.VOID), LIVE, PageState.REJECTED, (Reason.VOID_CODE,)),
    (ballot_page(ballot_state=BallotState.VOID, serial=8), LIVE, PageState.REJECTED, (Reason.UNKNOWN_CODE,)),
    (ballot_page(rescan=True), LIVE, PageState.DUPLICATE, (Reason.RESCAN,)),
    (ballot_page(rescan=True, ballot_state=BallotState.VOID), LIVE, PageState.REJECTED, (Reason.VOID_CODE,)),
], ids=lambda v: v.value if isinstance(v, PageState) else None)
def test_the_table_of_pages_a_scan_meets(facts, process, state, reasons):
    assert rules.classify_page(process, facts) == (state, reasons)


reader_reasons = st.lists(st.sampled_from([Reason.MARGINAL_MARK, Reason.DOUBTFUL_GEOMETRY, Reason.CODE_FROM_OCR,
                                           Reason.MARK_OUTSIDE_BOX]), unique=True).map(tuple)


@st.composite
def page_facts(draw) -> rules.PageFacts:
    """Any facts a page can come with; the reader reads no code from an unreadable page."""
    kind = draw(st.sampled_from(KINDS))
    ballot_state = draw(st.none() | st.sampled_from(list(BallotState)))
    return rules.PageFacts(
        kind=kind,
        process_id=draw(st.sampled_from([None, LIVE.id, TEST.id, "another-2027", "another-2027-test"])),
        layout_known=draw(st.booleans()),
        has_code=kind != "unreadable" and draw(st.booleans()),
        code_from_ocr=draw(st.booleans()),
        serial=draw(st.none() | st.integers(1, 3)),
        ballot_state=ballot_state,
        ballot_serial=draw(st.integers(1, 3)) if ballot_state is not None else None,
        rescan=draw(st.booleans()),
        reasons=draw(reader_reasons),
    )


processes = st.sampled_from([LIVE, TEST])


@given(processes, page_facts())
@settings(max_examples=500, deadline=None)
def test_every_page_gets_one_state_and_named_reasons(process, facts):
    state, reasons = rules.classify_page(process, facts)
    assert isinstance(state, PageState)
    if state is PageState.IDENTIFIED:
        assert reasons == facts.reasons  # the reader's doubts go on to the ballot's judgement
    else:
        assert len(reasons) == 1
    if state is PageState.UNREADABLE:
        assert not facts.has_code and reasons == (Reason.NO_CODE,)
    assert (state is PageState.UNREADABLE) == (facts.kind == "unreadable")
    assert (state is PageState.SKIPPED) == (facts.kind in ("blank", "back", "letter"))


@given(processes, page_facts())
@settings(max_examples=500, deadline=None)
def test_an_identified_page_is_an_issued_ballot_of_this_process_seen_once(process, facts):
    state, _ = rules.classify_page(process, facts)
    holds = (facts.kind == "ballot" and facts.process_id == process.id and facts.layout_known and facts.has_code
             and facts.ballot_state is BallotState.ISSUED
             and (facts.serial == facts.ballot_serial or facts.code_from_ocr))
    assert (state in (PageState.IDENTIFIED, PageState.DUPLICATE)) == holds
    if holds:
        assert (state is PageState.DUPLICATE) == facts.rescan


@given(processes, page_facts())
@settings(max_examples=500, deadline=None)
def test_a_rejected_page_names_the_fact_that_rejects_it(process, facts):
    state, reasons = rules.classify_page(process, facts)
    if state is not PageState.REJECTED:
        assert REJECTIONS.isdisjoint(reasons)
        return
    (reason,) = reasons
    ours = facts.process_id == process.id
    assert (reason is Reason.NOT_A_BALLOT) == (facts.kind == "foreign")
    assert (reason is Reason.TEST_BALLOT) == (
        facts.kind == "ballot" and not ours and (facts.process_id or "").endswith("-test") and not process.is_test)
    if reason is Reason.OTHER_PROCESS:
        assert not ours or not facts.layout_known or not facts.has_code
    if reason is Reason.UNKNOWN_CODE:
        assert ours and facts.has_code and (facts.ballot_state is None or facts.serial != facts.ballot_serial)
    assert (reason is Reason.VOID_CODE) == (
        facts.kind == "ballot" and ours and facts.layout_known and facts.has_code
        and facts.ballot_state is BallotState.VOID and (facts.serial == facts.ballot_serial or facts.code_from_ocr))


@given(processes, page_facts(), page_facts())
@settings(max_examples=300, deadline=None)
def test_facts_about_the_code_never_decide_a_page_that_is_no_ballot(process, facts, other):
    """The reader's kind alone decides a page that is not a ballot page: the store is not asked."""
    if facts.kind == "ballot":
        return
    mixed = rules.PageFacts(facts.kind, other.process_id, other.layout_known,
                            other.has_code and facts.kind != "unreadable",
                            other.code_from_ocr, other.serial, other.ballot_state, other.ballot_serial, other.rescan,
                            other.reasons)
    assert rules.classify_page(process, mixed) == rules.classify_page(process, facts)

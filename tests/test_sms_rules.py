"""One decision for every vote of a code, from every channel (DESIGN §7): `decide_votes`
is pure, so its promises are checked on many made-up cases (hypothesis)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid.codes import check_digit
from hybrid.definition import Process
from hybrid.definition_file import load_process
from hybrid.rules import (
    CastVote,
    Decision,
    decide_votes,
    identity_key,
    own_paper_decision,
    same_choices,
)
from hybrid.states import Reason, RecordState
from sms.code_mask import mask_codes

EXAMPLES = Path(__file__).resolve().parent.parent / "hybrid" / "examples"
POLL = load_process(EXAMPLES / "poll.yaml")  # open 2027-05-03 … 2027-06-01 (Europe/Berlin)


def variant(**changes) -> Process:
    data = POLL.model_dump()
    data.update(changes)
    return Process.model_validate(data)


LAST = variant(conflicts="last")
PHONE = variant(identity="phone", channels={"sms": {"number": "+49 157 92418830"}})
OPEN = datetime(2027, 5, 10, 12, 0, tzinfo=timezone.utc)
X = {"q1": ("a",)}
Y = {"q1": ("b",)}
Z = {"q1": ("c",), "q2": ("a", "b")}
C, D, R, S, DUP = (RecordState.COUNTED, RecordState.DUPLICATE, RecordState.REVIEW, RecordState.SUPERSEDED,
                   RecordState.DUPLICATE)


def sms(vote_id: int, choices, minutes: float = 0, **kw) -> CastVote:
    return CastVote(vote_id, "sms", choices, at=OPEN + timedelta(minutes=minutes), arrival=vote_id, **kw)


def paper(vote_id: int, choices, state=RecordState.COUNTED, reasons=(), received=date(2027, 5, 11)) -> CastVote:
    return CastVote(vote_id, "paper", choices, received=received, own=Decision(state, reasons, choices),
                    arrival=vote_id)


def states(process, votes) -> dict[int, RecordState]:
    return {k: d.state for k, d in decide_votes(process, votes).items()}


# -- stories --------------------------------------------------------------------------------


def test_the_same_vote_twice_is_a_duplicate_and_a_different_one_follows_conflicts():
    votes = [sms(1, X), sms(2, X, 1), sms(3, Y, 2), sms(4, X, 3)]
    assert states(POLL, votes) == {1: C, 2: DUP, 3: S, 4: DUP}  # first counts
    assert states(LAST, votes) == {1: DUP, 2: DUP, 3: S, 4: C}  # last counts: X again after Y replaces Y
    assert states(LAST, votes[:3]) == {1: S, 2: S, 3: C}
    assert states(LAST, [sms(1, Y), sms(2, X, 1), sms(3, X, 2)]) == {1: S, 2: C, 3: DUP}  # repeating is no new vote


def test_twilio_time_decides_not_arrival():
    late_arrival = sms(1, X, minutes=5)
    early_but_stored_later = sms(2, Y, minutes=1)
    assert states(POLL, [late_arrival, early_but_stored_later]) == {1: S, 2: C}
    same_second = [sms(7, X), sms(3, Y)]  # a tie: the store's order (record id) decides
    assert states(POLL, same_second) == {7: S, 3: C}


def test_paper_against_a_phone_vote():
    assert states(POLL, [paper(1, X), sms(2, Y)]) == {1: R, 2: R}
    decided = decide_votes(POLL, [paper(1, X), sms(2, Y)])
    assert decided[1].reasons == decided[2].reasons == (Reason.CROSS_CHANNEL_CONFLICT,)
    assert states(POLL, [paper(1, X, received=date(2027, 5, 9)), sms(2, X)]) == {1: C, 2: DUP}  # paper came first
    assert states(POLL, [paper(1, X, received=date(2027, 5, 12)), sms(2, X)]) == {1: DUP, 2: C}  # the SMS came first
    marginal = paper(1, X, RecordState.REVIEW, (Reason.MARGINAL_MARK,))
    assert states(POLL, [marginal, sms(2, X)]) == {1: R, 2: C}  # a person still decides the paper
    both = decide_votes(POLL, [marginal, sms(2, Y)])
    assert both[1].reasons == (Reason.CROSS_CHANNEL_CONFLICT, Reason.MARGINAL_MARK)
    late_paper = paper(1, X, RecordState.REJECTED, (Reason.LATE,))
    assert states(POLL, [late_paper, sms(2, Y)]) == {1: RecordState.REJECTED, 2: C}


def test_window_void_codes_and_hidden_callers():
    closes = POLL.closes.astimezone(timezone.utc)
    late = CastVote(1, "sms", X, at=closes, arrival=1)
    just_in = CastVote(2, "sms", Y, at=closes - timedelta(microseconds=1), arrival=2)
    early = CastVote(3, "sms", X, at=POLL.opens - timedelta(seconds=1), arrival=3)
    decided = decide_votes(POLL, [late, just_in, early])
    assert (decided[1].reasons, decided[2].state, decided[3].reasons) == ((Reason.LATE,), C, (Reason.EARLY,))
    void = decide_votes(POLL, [sms(1, X, void_code=True)])[1]
    assert (void.state, void.reasons) == (RecordState.REJECTED, (Reason.VOID_CODE,))
    assert states(POLL, [sms(1, X, hidden_caller=True)]) == {1: C}  # counts under identity: code
    assert states(PHONE, [sms(1, X, hidden_caller=True)]) == {1: RecordState.REJECTED}
    assert identity_key(PHONE, "c0de", None) is None and identity_key(POLL, "c0de", "f00") == "code:c0de"


def test_content_that_cannot_be_taken_gives_way_to_a_vote_that_stands():
    overvote = sms(1, {"q1": ("a", "b")}, own=Decision(RecordState.REJECTED, (Reason.OVERVOTE,)))
    assert decide_votes(POLL, [overvote])[1].reasons == (Reason.OVERVOTE,)
    assert states(POLL, [overvote]) == {1: RecordState.REJECTED}
    assert states(POLL, [overvote, sms(2, X, 1)]) == {1: S, 2: C}


# -- promises, on many made-up cases ----------------------------------------------------------

choice_sets = st.sampled_from([X, Y, Z, {"q1": ("a",), "q3": ("yes",)}])


@st.composite
def vote_sets(draw):
    count = draw(st.integers(1, 7))
    votes = []
    for vote_id in range(1, count + 1):
        channel = draw(st.sampled_from(["sms", "sms", "voice", "paper"]))
        choices = draw(choice_sets)
        if channel == "paper":
            if any(v.channel == "paper" for v in votes):
                channel = "sms"
            else:
                state = draw(st.sampled_from([C, C, R, RecordState.REJECTED]))
                reasons = {C: (), R: (Reason.MARGINAL_MARK,), RecordState.REJECTED: (Reason.LATE,)}[state]
                votes.append(CastVote(vote_id, "paper", choices,
                                      received=date(2027, 5, 3) + timedelta(days=draw(st.integers(-3, 35))),
                                      own=Decision(state, reasons, choices), void_code=draw(st.booleans()) and False,
                                      arrival=draw(st.integers(0, 20))))
                continue
        minutes = draw(st.integers(-20_000, 60_000))
        invalid = draw(st.integers(0, 5)) == 0
        votes.append(CastVote(
            vote_id, channel, choices, at=POLL.opens + timedelta(minutes=minutes), arrival=draw(st.integers(0, 20)),
            own=Decision(RecordState.REJECTED, (Reason.OVERVOTE,)) if invalid else None,
            void_code=draw(st.integers(0, 8)) == 0, hidden_caller=draw(st.booleans())))
    return votes


@given(vote_sets(), st.sampled_from([POLL, LAST]), st.randoms())
@settings(max_examples=400, deadline=None)
def test_every_vote_is_decided_at_most_one_counts_and_order_does_not_matter(votes, process, rnd):
    decided = decide_votes(process, votes)
    assert set(decided) == {v.vote_id for v in votes}
    assert sum(d.state is C for d in decided.values()) <= 1
    shuffled = list(votes)
    rnd.shuffle(shuffled)
    assert decide_votes(process, shuffled) == decided
    for vote in votes:  # every decision keeps the vote's own choices
        assert same_choices(decided[vote.vote_id].choices, vote.choices)


@given(vote_sets(), st.sampled_from([POLL, LAST]))
@settings(max_examples=400, deadline=None)
def test_a_standing_vote_is_never_lost_and_duplicates_agree_with_it(votes, process):
    decided = decide_votes(process, votes)
    usable = [v for v in votes if v.channel != "paper" and v.own is None and not v.void_code
              and process.opens <= v.at < process.closes]
    standing_paper = [v for v in votes if v.channel == "paper" and v.own.state in (C, R)]
    if usable or standing_paper:
        assert any(d.state in (C, R) for d in decided.values())
    counted = [vote for vote in votes if decided[vote.vote_id].state is C]
    for vote in votes:
        if decided[vote.vote_id].state is DUP:
            others = [v for v in votes if v is not vote and decided[v.vote_id].state in (C, R)]
            assert any(same_choices(v.choices, vote.choices) for v in others) or counted == []
    if usable and not standing_paper:
        assert len(counted) == 1
        first = min(usable, key=lambda v: (v.at, v.arrival, v.vote_id))
        last = max(usable, key=lambda v: (v.at, v.arrival, v.vote_id))
        expected = first if process.conflicts == "first" else last
        assert same_choices(counted[0].choices, expected.choices)


@given(st.sampled_from([C, R]), st.sampled_from([(), (Reason.MARGINAL_MARK,), (Reason.BLANK_BALLOT,)]),
       choice_sets, choice_sets, st.integers(-5, 5))
def test_a_paper_ballots_own_decision_survives_being_decided_against_a_phone_vote(state, reasons, mine, theirs, day):
    if state is C and reasons == (Reason.MARGINAL_MARK,) or state is R and reasons != (Reason.MARGINAL_MARK,):
        return  # decide_paper never gives these
    own = Decision(state, reasons, mine)
    ballot = CastVote(1, "paper", mine, received=date(2027, 5, 10) + timedelta(days=day), own=own, arrival=1)
    decided = decide_votes(POLL, [ballot, sms(2, theirs)])[1]
    assert own_paper_decision(decided.state, decided.reasons, mine) == own


# -- what of a body may be stored -------------------------------------------------------------

@given(st.text("0123456789", min_size=11, max_size=11), st.sampled_from(["4-4-4", "12", "5-3-4", "2-2-2-2-2-2", "3-3-3-3"]),
       st.sampled_from([" ", "-", ".", "  ", ", "]), st.lists(st.integers(1, 30), max_size=4),
       st.sampled_from(["", "Code: ", "Hallo ", "STATUS ", "👍 "]), st.sampled_from(["", " danke", " 🎉"]))
@settings(max_examples=300)
def test_a_stored_body_never_holds_a_code(body11, grouping, separator, numbers, before, after):
    code = body11 + check_digit(body11)
    sizes = [int(n) for n in grouping.split("-")]
    pieces, at = [], 0
    for size in sizes:
        pieces.append(code[at:at + size])
        at += size
    head = before
    start = len(head)
    text = head + separator.join(pieces)
    code_positions = [i for i in range(start, len(text)) if text[i].isdigit()]
    text += " " + " ".join(map(str, numbers)) + after
    masked = mask_codes(text, code)  # the webhook passes the code the grammar found
    assert len(masked) == len(text)
    assert all(masked[i] == "#" for i in code_positions)
    if grouping != "5-3-4":  # a code typed in even pieces is masked even when nobody says which it is
        assert all(mask_codes(text)[i] == "#" for i in code_positions)
    if numbers and grouping in ("4-4-4", "12"):  # the printed numbers stay readable
        assert masked.endswith(" " + " ".join(map(str, numbers)) + after)


def test_a_mistyped_code_is_masked_too_and_words_stay():
    assert mask_codes("Mein Code 48 21 77 30 95 13, Nr. 3 und 17") == "Mein Code ## ## ## ## ## ##, Nr. 3 und 17"
    assert mask_codes("Hilfe, wie geht das?") == "Hilfe, wie geht das?"

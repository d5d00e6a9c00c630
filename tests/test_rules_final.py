"""The rules of a record's final state (DESIGN §7, §8), checked on many made-up cases
(hypothesis): at most one COUNTED per identity, the machine's invalid ballot, and merge's
shortcut for lone votes, which must give exactly what `rules.decide_votes` gives."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid.definition import Process
from hybrid.definition_file import load_process
from hybrid.final_records import StoredRow, settled_alone
from hybrid.rules import (
    CONTENT_DOUBTS, PHONE_CHANNELS, CastVote, Decision, decide_votes, invalid_content, one_counted, same_choices,
)
from hybrid.states import Reason, RecordState

EXAMPLES = Path(__file__).resolve().parent.parent / "hybrid" / "examples"
POLL = load_process(EXAMPLES / "poll.yaml")  # open 2027-05-03 … 2027-06-01 (Europe/Berlin)
PHONE = Process.model_validate({**POLL.model_dump(), "identity": "phone",
                                "channels": {"sms": {"number": "+49 157 92418830"}}})
OPENS = datetime(2027, 5, 2, 22, 0, tzinfo=timezone.utc)
CLOSES = datetime(2027, 5, 31, 22, 0, tzinfo=timezone.utc)

choices = st.dictionaries(st.sampled_from(["q1", "q2", "q3"]), st.lists(st.sampled_from(["a", "b", "yes"]), max_size=2,
                                                                         unique=True).map(tuple), max_size=3)
reasons = st.lists(st.sampled_from(list(Reason)), max_size=3, unique=True).map(
    lambda rs: tuple(sorted(rs, key=lambda r: r.value)))
decisions = st.builds(Decision, st.sampled_from(list(RecordState)), reasons, choices)
# Moments at the window's edges and inside it; the edges are where an off-by-one would hide.
moments = st.one_of(st.sampled_from([OPENS - timedelta(microseconds=1), OPENS, CLOSES - timedelta(microseconds=1),
                                     CLOSES]),
                    st.datetimes(datetime(2027, 4, 20), datetime(2027, 6, 10), timezones=st.just(timezone.utc)))


# -- one COUNTED per identity ------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(decisions, st.booleans()), max_size=6))
def test_one_counted_keeps_at_most_one_and_never_guesses(finals):
    out = one_counted(finals)
    assert len(out) == len(finals)
    counted = [i for i, (d, _) in enumerate(finals) if d.state is RecordState.COUNTED]
    assert sum(1 for d in out if d.state is RecordState.COUNTED) <= 1
    if len(counted) < 2:
        assert all(new is old for new, (old, _) in zip(out, finals))
        return
    people = [i for i in counted if finals[i][1]]
    keep = people[0] if len(people) == 1 else None
    for i, (new, (old, _)) in enumerate(zip(out, finals)):
        if old.state is not RecordState.COUNTED or i == keep:
            assert new is old  # untouched: what is not counted, and the one person's decision
            continue
        assert new.choices == old.choices
        if keep is not None and same_choices(old.choices, finals[keep][0].choices):
            assert new.state is RecordState.DUPLICATE and set(new.reasons) == set(old.reasons)
        else:
            assert new.state is RecordState.REVIEW
            assert set(new.reasons) == set(old.reasons) | {Reason.CROSS_CHANNEL_CONFLICT}
        assert list(new.reasons) == sorted(set(new.reasons), key=lambda r: r.value)


@given(st.lists(decisions, max_size=5))
def test_without_people_two_counted_both_go_to_a_person(machine):
    counted = [Decision(RecordState.COUNTED, (), {"q1": ("a",)}), Decision(RecordState.COUNTED, (), {"q1": ("a",)})]
    out = one_counted([(d, False) for d in counted + machine])
    assert [d.state for d in out[:2]] == [RecordState.REVIEW, RecordState.REVIEW]


# -- the machine's invalid ballot --------------------------------------------------------------------------


@settings(max_examples=300)
@given(st.sampled_from(["paper", "sms", "voice"]), st.sampled_from(list(RecordState)),
       st.one_of(st.none(), decisions))
def test_an_invalid_ballot_is_a_rejected_phone_vote_whose_own_content_could_not_be_taken(channel, state, own):
    vote = CastVote(1, channel, {}, own=own)
    expected = (state is RecordState.REJECTED and channel in PHONE_CHANNELS and own is not None
                and own.state is RecordState.REJECTED and bool(set(own.reasons) & CONTENT_DOUBTS))
    assert invalid_content(vote, state) is expected
    if channel == "paper":
        assert not invalid_content(vote, state)  # paper: only a person makes a ballot invalid


# -- merge's shortcut for lone votes -----------------------------------------------------------------------


@st.composite
def lone_rows(draw) -> StoredRow:
    channel = draw(st.sampled_from(["paper", "sms", "voice"]))
    status = draw(st.sampled_from(list(RecordState)))
    own_status = draw(st.sampled_from(["counted", "rejected"])) if channel != "paper" else None
    own_reasons = json.dumps([r.value for r in draw(reasons)]) if own_status == "rejected" else None
    if channel == "paper":
        received = draw(st.one_of(st.none(), st.dates().map(lambda d: f"{d.isoformat()}T00:00:00+00:00")))
    else:
        received = draw(st.one_of(st.none(), moments.map(datetime.isoformat)))
    return StoredRow(record_id=draw(st.integers(1, 10**6)), channel=channel,
                     choices_text=json.dumps(draw(choices)), received_at=received, own_status=own_status,
                     own_reasons=own_reasons, hidden_caller=int(draw(st.booleans())), serial=None, source="x",
                     status=status, reasons=draw(reasons), identity="h", void=draw(st.booleans()))


@settings(max_examples=1000, deadline=None)
@given(st.sampled_from([POLL, PHONE]), lone_rows())
def test_a_lone_vote_merge_skips_is_one_decide_votes_would_leave_as_it_is(process, row):
    if not settled_alone(process, row):
        return
    decided = decide_votes(process, [row.vote()])[row.record_id]
    assert (decided.state, decided.reasons) == (row.status, row.reasons)

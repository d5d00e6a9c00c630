"""Which SMS or call is refused before the rules weigh it, and in what order (DESIGN §7):
`rules.phone_refusal` is pure, so its order is checked on every combination (hypothesis)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from hybrid.definition import Process
from hybrid.definition_file import load_process
from hybrid.rules import Refusal, phone_refusal
from hybrid.states import Reason

EXAMPLES = Path(__file__).resolve().parent.parent / "hybrid" / "examples"
CODE = load_process(EXAMPLES / "poll.yaml")
PHONE = Process.model_validate({**CODE.model_dump(), "identity": "phone",
                                "channels": {"sms": {"number": "+49 157 92418830"}}})

ORDER = [Refusal.SILENT, Refusal.PHOTO_ONLY, Refusal.LATE, Refusal.EARLY, Refusal.LOCKED_OUT, Refusal.HIDDEN_CALLER]

contacts = st.fixed_dictionaries({
    "silent": st.booleans(), "photo_only": st.booleans(), "outside": st.sampled_from([None, Reason.LATE, Reason.EARLY]),
    "locked_out": st.booleans(), "hidden_caller": st.booleans(), "asks_to_vote": st.booleans(),
})


def applies(process: Process, contact: dict) -> set[Refusal]:
    """Every refusal that holds on its own, whatever comes before it."""
    holds = {
        Refusal.SILENT: contact["silent"],
        Refusal.PHOTO_ONLY: contact["photo_only"],
        Refusal.LATE: contact["outside"] is Reason.LATE,
        Refusal.EARLY: contact["outside"] is Reason.EARLY,
        Refusal.LOCKED_OUT: contact["locked_out"],
        Refusal.HIDDEN_CALLER: contact["hidden_caller"] and contact["asks_to_vote"] and process.identity == "phone",
    }
    return {refusal for refusal, held in holds.items() if held}


@given(st.sampled_from([CODE, PHONE]), contacts)
def test_the_first_refusal_that_holds_is_the_one_given(process: Process, contact: dict) -> None:
    holding = applies(process, contact)
    expected = next((refusal for refusal in ORDER if refusal in holding), None)
    assert phone_refusal(process, **contact) is expected


# Each argument and the first refusal it can lead to.
FEEDS = {"silent": Refusal.SILENT, "photo_only": Refusal.PHOTO_ONLY, "outside": Refusal.LATE,
         "locked_out": Refusal.LOCKED_OUT, "hidden_caller": Refusal.HIDDEN_CALLER,
         "asks_to_vote": Refusal.HIDDEN_CALLER}


@given(st.sampled_from([CODE, PHONE]), contacts, contacts)
def test_nothing_tried_after_a_refusal_changes_it(process: Process, contact: dict, other: dict) -> None:
    got = phone_refusal(process, **contact)
    if got is None:
        return
    later = {name for name, first in FEEDS.items() if ORDER.index(first) > ORDER.index(got)}
    assert phone_refusal(process, **{name: other[name] if name in later else value
                                     for name, value in contact.items()}) is got


@given(contacts)
def test_a_hidden_caller_is_refused_only_under_phone_identity_and_only_when_asking_to_vote(contact: dict) -> None:
    assert phone_refusal(CODE, **contact) is not Refusal.HIDDEN_CALLER
    if phone_refusal(PHONE, **contact) is Refusal.HIDDEN_CALLER:
        assert contact["hidden_caller"] and contact["asks_to_vote"]


def test_a_call_is_refused_for_the_window_before_anything_else_of_its_own() -> None:
    # A call passes the window; a hidden caller has no phone hash, so it is never also locked out.
    assert phone_refusal(PHONE, outside=Reason.LATE, hidden_caller=True) is Refusal.LATE
    assert phone_refusal(PHONE, outside=Reason.EARLY, locked_out=True) is Refusal.EARLY
    assert phone_refusal(PHONE, hidden_caller=True) is Refusal.HIDDEN_CALLER
    assert phone_refusal(CODE, hidden_caller=True) is None
    assert phone_refusal(PHONE, locked_out=True) is Refusal.LOCKED_OUT


def test_an_sms_keyword_or_photo_is_never_refused_as_anything_else() -> None:
    # An SMS passes no window: a late message is stored and answered, and the rules reject a late vote.
    assert phone_refusal(PHONE, silent=True, photo_only=True, locked_out=True, hidden_caller=True) is Refusal.SILENT
    assert phone_refusal(PHONE, photo_only=True, locked_out=True, hidden_caller=True) is Refusal.PHOTO_ONLY
    assert phone_refusal(PHONE, hidden_caller=True, asks_to_vote=False) is None
    assert phone_refusal(CODE) is None

"""The SMS hot path's shortcuts give exactly what the general code gives (issue 17:
less CPU per message, nothing read differently)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sms import gsm7
from sms.caller import caller_of, e164
from sms.code_mask import mask_codes
from sms.grammar import _normalise_unicode, normalise

ascii_text = st.text(alphabet=st.characters(max_codepoint=127), max_size=7000)
german_e164 = st.from_regex(r"\A\+49[1-9][0-9]{5,13}\Z")


@settings(max_examples=400, deadline=None)
@given(ascii_text)
def test_ascii_messages_normalise_as_any_text_does(body: str) -> None:
    assert normalise(body) == _normalise_unicode(body)


def test_long_ascii_messages_are_cut_like_any_text() -> None:
    for body in ("1" * 1600, "A" * 1601, "x" * 6400, "y" * 6401, "z " * 5000):
        assert normalise(body) == _normalise_unicode(body)


@settings(max_examples=400, deadline=None)
@given(german_e164)
def test_a_german_number_in_e164_is_its_own_key_as_phonenumbers_would_make_it(number: str) -> None:
    # The shortcut skips phonenumbers; it is right only because phonenumbers gives the
    # number back unchanged or calls it impossible (and then the text is the key anyway).
    assert e164.__wrapped__(number) in (number, None)
    assert caller_of(number).key == (e164.__wrapped__(number) or number.casefold())


def test_other_numbers_still_go_through_phonenumbers() -> None:
    assert caller_of("+49 0151 23456789").key == "+4915123456789"
    assert caller_of("0151 23456789").key == "+4915123456789"
    assert caller_of("+4915123456789 ").key == "+4915123456789"
    assert caller_of("+33612345678").key == "+33612345678"


gsm7_text = st.text(alphabet=st.sampled_from(sorted(gsm7.ALPHABET)), max_size=400)


@settings(max_examples=400, deadline=None)
@given(gsm7_text)
def test_segments_of_gsm7_text_match_packing_every_character(text: str) -> None:
    costs = [2 if ch in gsm7.EXTENSION else 1 for ch in text]
    assert gsm7.segments(text) == gsm7._pack(costs, gsm7.SINGLE_GSM7, gsm7.PART_GSM7)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_is_gsm7_is_every_character_in_the_alphabet(text: str) -> None:
    assert gsm7.is_gsm7(text) == all(ch in gsm7.BASIC or ch in gsm7.EXTENSION for ch in text)


def test_codes_typed_in_other_scripts_are_still_masked() -> None:
    arabic_indic = "٤٨٢١ ٧٧٣٠ ٩٥١٢ 1"
    assert mask_codes(arabic_indic) == "#### #### #### 1"
    assert mask_codes("4821 7730 9512 1 5") == "#### #### #### 1 5"

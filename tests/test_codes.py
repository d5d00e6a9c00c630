"""Ballot codes (DESIGN §4): 12 digits, a Verhoeff check digit, typable and speakable."""

from __future__ import annotations

import time
from pathlib import Path
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid import codes
from hybrid.codes import CODE_DIGITS, check_digit, format_code, is_valid_code, new_code, normalise_code
from hybrid.layout import Layout, Page, Rect
from hybrid.store import Store

DIGITS = "0123456789"

# An 11-digit body as new_code makes it (no leading 0), and the valid code built from it.
bodies = st.tuples(st.integers(1, 9), st.lists(st.integers(0, 9), min_size=10, max_size=10)).map(
    lambda t: str(t[0]) + "".join(map(str, t[1]))
)
valid_codes = bodies.map(lambda body: body + check_digit(body))


# -- generation ------------------------------------------------------------------


def test_generated_codes_are_valid_twelve_digits_without_leading_zero():
    for _ in range(20_000):
        code = new_code()
        assert len(code) == CODE_DIGITS == 12
        assert code.isascii() and code.isdigit()
        assert code[0] != "0"
        assert is_valid_code(code)


@given(st.data())
def test_new_code_is_valid_for_any_random_draw(data):
    """Drive the random source from hypothesis so edge draws (all 0s, all 9s) are covered."""

    def randbelow(n: int) -> int:
        return data.draw(st.integers(0, n - 1))

    with mock.patch.object(codes.secrets, "randbelow", side_effect=randbelow):
        code = new_code()
    assert len(code) == 12 and code.isdigit() and code[0] != "0"
    assert is_valid_code(code)


@given(bodies)
def test_check_digit_completes_any_body(body):
    code = body + check_digit(body)
    assert is_valid_code(code)
    # and it is the only digit that does
    assert [d for d in DIGITS if is_valid_code(body + d)] == [check_digit(body)]


# -- error detection -------------------------------------------------------------


@given(valid_codes)
@settings(max_examples=300)
def test_every_single_digit_substitution_is_caught(code):
    for position in range(CODE_DIGITS):
        for digit in DIGITS:
            if digit == code[position]:
                continue
            wrong = code[:position] + digit + code[position + 1 :]
            assert not is_valid_code(wrong), (code, position, digit)
            assert normalise_code(wrong) is None


@given(valid_codes)
@settings(max_examples=300)
def test_every_adjacent_transposition_is_caught(code):
    for position in range(CODE_DIGITS - 1):
        a, b = code[position], code[position + 1]
        if a == b:
            continue
        swapped = code[:position] + b + a + code[position + 2 :]
        assert not is_valid_code(swapped), (code, position)
        assert normalise_code(swapped) is None


def _valid_code_with(position: int, pair: str) -> str:
    """A valid code (no leading 0) holding `pair` at `position` and `position + 1`."""
    for filler in DIGITS:
        body = ["1"] + ["0"] * 10
        body[5 if position < 4 else 1] = filler  # a free digit that steers the check digit
        body[position] = pair[0]
        if position + 1 < 11:
            body[position + 1] = pair[1]
        text = "".join(body)
        code = text + check_digit(text)
        if code[position : position + 2] == pair:
            return code
    raise AssertionError(f"no valid code with {pair} at {position}")


def test_every_adjacent_transposition_at_every_position_exhaustively():
    """All 11 positions × all 90 ordered pairs of distinct digits, the check digit included."""
    for position in range(CODE_DIGITS - 1):
        for a in DIGITS:
            for b in DIGITS:
                if a == b or (position == 0 and "0" in (a, b)):
                    continue  # codes never start with 0
                code = _valid_code_with(position, a + b)
                assert is_valid_code(code) and code[position : position + 2] == a + b
                swapped = code[:position] + b + a + code[position + 2 :]
                assert not is_valid_code(swapped), (code, position)


@given(st.text(max_size=20))
def test_validity_needs_exactly_twelve_ascii_digits(text):
    if not (len(text) == 12 and text.isascii() and text.isdigit()):
        assert not is_valid_code(text)


def test_non_ascii_digits_are_not_codes():
    code = new_code()
    fullwidth = "".join(chr(ord(c) - ord("0") + ord("０")) for c in code)
    arabic_indic = "".join(chr(ord(c) - ord("0") + 0x0660) for c in code)
    assert not is_valid_code(fullwidth)
    assert not is_valid_code(arabic_indic)


# -- printed and typed forms -------------------------------------------------------


@given(valid_codes)
def test_format_then_normalise_round_trips(code):
    printed = format_code(code)
    assert printed == f"{code[:4]} {code[4:8]} {code[8:]}"
    assert normalise_code(printed) == code
    assert normalise_code(printed.replace(" ", "-")) == code
    assert normalise_code(code) == code


@given(valid_codes, st.data())
def test_normalise_accepts_any_spaces_dashes_and_dots(code, data):
    separators = st.text(alphabet=" -.\t", max_size=3)
    typed = "".join(data.draw(separators) + digit for digit in code) + data.draw(separators)
    assert normalise_code(typed) == code


@given(valid_codes)
def test_normalise_refuses_too_few_or_too_many_digits(code):
    assert normalise_code(format_code(code)[:-1]) is None
    assert normalise_code(code + "0") is None
    assert normalise_code("") is None


# -- uniqueness as the store enforces it ---------------------------------------------


def _layout(process: str) -> Layout:
    page = Page(page=1, kind="front", fiducials=[], qr=Rect(x=160, y=22, w=26, h=26))
    return Layout(process=process, layout_hash="0badc0de", layout_id="T-1", language="de",
                  large_print=False, duplex=False, page_size_mm=(210.0, 297.0), pages=[page])


def test_store_keeps_100000_codes_unique(tmp_path: Path):
    """New codes can collide (11 random digits); the store's UNIQUE code_hash must catch every clash."""
    started = time.monotonic()
    store = Store.open(tmp_path, "wue-unique", create=True)
    try:
        generated = [new_code() for _ in range(100_000)]
        # one certain duplicate, so the "taken" path is always exercised
        generated.append(generated[12_345])
        ballots = [(serial, store.code_hash(code)) for serial, code in enumerate(generated, start=1)]
        expected_taken, seen = [], set()
        for serial, code in enumerate(generated, start=1):
            if code in seen:
                expected_taken.append(serial)
            seen.add(code)
        with store.transaction():
            store.save_layout(_layout("wue-unique"))
            run_id = store.start_print_run(1, len(ballots), "0badc0de", "test")
            taken = store.issue_ballots(run_id, "0badc0de", ballots)
        assert taken == expected_taken
        assert len(generated[-1]) == 12 and len(expected_taken) >= 1
        stored = store.conn.execute("SELECT COUNT(*), COUNT(DISTINCT code_hash) FROM ballots").fetchone()
        assert stored == (len(seen), len(seen))
        for serial in taken:
            assert store.ballot(serial) is None  # a clashing code was never issued
        assert store.ballot_by_code_hash(store.code_hash(generated[12_345])).serial == 12_346
    finally:
        store.close()
    assert time.monotonic() - started < 60  # catches quadratic issuance, not a slow or busy machine

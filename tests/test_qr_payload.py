"""The QR payload (DESIGN §5): what a printed ballot says about itself, and nothing forged."""

from __future__ import annotations

import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid.codes import check_digit
from hybrid.qr_payload import InvalidPayload, QrPayload, decode, encode

# What a QR symbol in alphanumeric mode can carry.
QR_ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

process_ids = st.from_regex(r"[a-z0-9-]{1,40}", fullmatch=True)
layout_hashes = st.from_regex(r"[0-9a-f]{8}", fullmatch=True)
codes = st.from_regex(r"[1-9][0-9]{10}", fullmatch=True).map(lambda body: body + check_digit(body))


@st.composite
def payloads(draw) -> QrPayload:
    pages = draw(st.integers(1, 99))
    return QrPayload(
        process_id=draw(process_ids),
        layout_hash=draw(layout_hashes),
        page=draw(st.integers(1, pages)),
        pages=pages,
        serial=draw(st.integers(1, 999_999_999)),
        code=draw(st.none() | codes),
    )


def with_crc(body: str) -> str:
    """A payload whose checksum is right, so only the field under test can fail."""
    return f"{body}:{zlib.crc32(body.encode('ascii')):08X}"


SAMPLE = QrPayload("wue-bh-2027", "3f9a1c2e", 1, 2, 42, "482177309510")


def test_sample_code_is_valid():
    assert check_digit("48217730951") == "0"


# -- round trip ----------------------------------------------------------------------


@given(payloads())
def test_round_trip(payload):
    text = encode(payload)
    assert decode(text) == payload
    assert decode(text).is_back == (payload.code is None)


@given(payloads())
def test_encoded_text_stays_in_qr_alphanumeric_mode(payload):
    assert set(encode(payload)) <= set(QR_ALPHANUMERIC)


def test_known_encoding():
    text = encode(SAMPLE)
    assert text.startswith("HY1:WUE-BH-2027:3F9A1C2E:1/2:42:482177309510:")
    assert text == with_crc("HY1:WUE-BH-2027:3F9A1C2E:1/2:42:482177309510")
    back = QrPayload("wue-bh-2027", "3f9a1c2e", 2, 2, 42, None)
    assert encode(back) == with_crc("HY1:WUE-BH-2027:3F9A1C2E:2/2:42:B")
    assert decode(encode(back)).is_back


# -- any single-character corruption ---------------------------------------------------


def _accept_or_refuse(original: QrPayload, encoded: str, corrupted: str) -> None:
    try:
        decoded = decode(corrupted)
    except InvalidPayload:
        return
    # Accepted only when nothing changed but surrounding whitespace.
    assert decoded == original, (encoded, corrupted)
    assert corrupted.strip() == encoded, (encoded, corrupted)


@given(payloads())
@settings(max_examples=100, deadline=None)
def test_every_single_character_corruption_is_refused(payload):
    """Exhaustive per payload: every substitution, deletion and insertion."""
    text = encode(payload)
    for i in range(len(text)):
        _accept_or_refuse(payload, text, text[:i] + text[i + 1 :])
        for ch in QR_ALPHANUMERIC:
            if ch != text[i]:
                _accept_or_refuse(payload, text, text[:i] + ch + text[i + 1 :])
    for i in range(len(text) + 1):
        for ch in QR_ALPHANUMERIC:
            _accept_or_refuse(payload, text, text[:i] + ch + text[i:])


@given(payloads(), st.data())
def test_random_single_character_corruption_is_refused(payload, data):
    text = encode(payload)
    kind = data.draw(st.sampled_from(["substitute", "delete", "insert"]))
    ch = data.draw(st.sampled_from(QR_ALPHANUMERIC))
    if kind == "insert":
        i = data.draw(st.integers(0, len(text)))
        corrupted = text[:i] + ch + text[i:]
    else:
        i = data.draw(st.integers(0, len(text) - 1))
        corrupted = text[:i] + (ch if kind == "substitute" else "") + text[i + 1 :]
    _accept_or_refuse(payload, text, corrupted)


# -- named refusals ----------------------------------------------------------------------


@given(payloads())
def test_every_truncation_is_refused(payload):
    text = encode(payload)
    for end in range(len(text)):
        with pytest.raises(InvalidPayload):
            decode(text[:end])


@pytest.mark.parametrize("magic", ["HY2", "HY0", "HX1", "YH1", "HY", "HY11", "hy1", ""])
def test_wrong_magic_is_refused(magic):
    body = "HY1:WUE-BH-2027:3F9A1C2E:1/2:42:482177309510".replace("HY1", magic, 1)
    with pytest.raises(InvalidPayload):
        decode(with_crc(body))


@given(payloads())
def test_lowercase_payload_is_refused(payload):
    text = encode(payload)
    lower = text.lower()
    if lower == text:  # cannot happen: the magic is upper case
        pytest.fail("payload has no letters")
    with pytest.raises(InvalidPayload):
        decode(lower)
    with pytest.raises(InvalidPayload):
        decode(with_crc(text.rsplit(":", 1)[0].lower()))


@pytest.mark.parametrize("pages", ["3/2", "2/1", "99/98", "0/2", "1/0", "100/100", "01/2"])
def test_impossible_page_numbers_are_refused(pages):
    with pytest.raises(InvalidPayload):
        decode(with_crc(f"HY1:WUE-BH-2027:3F9A1C2E:{pages}:42:482177309510"))


@pytest.mark.parametrize("serial", ["0", "012", "1000000000", "-1", ""])
def test_impossible_serials_are_refused(serial):
    with pytest.raises(InvalidPayload):
        decode(with_crc(f"HY1:WUE-BH-2027:3F9A1C2E:1/2:{serial}:482177309510"))


@given(codes, st.integers(0, 11), st.integers(1, 9))
def test_code_failing_its_check_digit_is_refused_even_with_right_crc(code, position, shift):
    wrong = code[:position] + str((int(code[position]) + shift) % 10) + code[position + 1 :]
    with pytest.raises(InvalidPayload, match="check digit"):
        decode(with_crc(f"HY1:WUE-BH-2027:3F9A1C2E:1/2:42:{wrong}"))


@pytest.mark.parametrize(
    "field",
    [
        "HY1:WUE-BH-2027:3F9A1C2:1/2:42:482177309510",  # layout hash too short
        "HY1:WUE-BH-2027:3F9A1C2G:1/2:42:482177309510",  # not hex
        "HY1::3F9A1C2E:1/2:42:482177309510",  # no process
        "HY1:WUE_BH:3F9A1C2E:1/2:42:482177309510",  # not a process id
        "HY1:" + "A" * 41 + ":3F9A1C2E:1/2:42:482177309510",  # process id too long
        "HY1:WUE-BH-2027:3F9A1C2E:1/2:42:48217730951",  # code too short
        "HY1:WUE-BH-2027:3F9A1C2E:1/2:42:4821 7730 9510",  # printed form is not the payload
        "HY1:WUE-BH-2027:3F9A1C2E:1/2:42:b",  # back mark is upper case
        "HY1:WUE-BH-2027:3F9A1C2E:1/2:42:",  # no code
        "HY1:WUE-BH-2027:3F9A1C2E:1/2:42:482177309510:EXTRA",
    ],
)
def test_malformed_fields_are_refused_even_with_right_crc(field):
    with pytest.raises(InvalidPayload):
        decode(with_crc(field))


@given(payloads(), st.integers(1, 2**32 - 1))
def test_wrong_crc_is_refused(payload, delta):
    body, crc = encode(payload).rsplit(":", 1)
    wrong = f"{(int(crc, 16) ^ delta):08X}"
    with pytest.raises(InvalidPayload, match="checksum"):
        decode(f"{body}:{wrong}")


@pytest.mark.parametrize("crc", ["", "1234567", "123456789", "1234567G", "abcdef12"])
def test_malformed_crc_is_refused(crc):
    with pytest.raises(InvalidPayload):
        decode(f"HY1:WUE-BH-2027:3F9A1C2E:1/2:42:482177309510:{crc}")


@pytest.mark.parametrize("text", ["", " ", "\n", "https://example.org/HY1", "HY1", "HY1:"])
def test_garbage_is_refused(text):
    with pytest.raises(InvalidPayload):
        decode(text)


# -- the dataclass refuses what it could never encode ---------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"page": 3, "pages": 2},
        {"page": 0},
        {"pages": 100, "page": 1},
        {"serial": 0},
        {"serial": 1_000_000_000},
        {"code": "482177309513"},
        {"code": "4821 7730 9510"},
        {"process_id": "WUE"},
        {"process_id": ""},
        {"process_id": "a" * 41},
        {"layout_hash": "3F9A1C2E"},
        {"layout_hash": "3f9a1c2"},
    ],
)
def test_invalid_fields_cannot_be_built(kwargs):
    fields = {"process_id": "wue", "layout_hash": "3f9a1c2e", "page": 1, "pages": 2, "serial": 1,
              "code": "482177309510"} | kwargs
    with pytest.raises(InvalidPayload):
        QrPayload(**fields)

"""How many SMS a text costs: the GSM 7-bit default alphabet of 3GPP TS 23.038.

A caller may rely on:
- `is_gsm7(text)`: every character is in the basic table or the extension table
  (no national language shift tables: Twilio does not use them, and Twilio's "Smart
  Encoding" is not relied on either).
- `septets(text)`: basic characters cost 1 septet, extension characters (`€ [ ] { } ~ ^
  \\ |` and form feed) cost 2 (ESC + character); None when the text is not GSM-7.
- `segments(text)`: GSM-7 fits 160 septets in one SMS, else 153 per part of a
  concatenated SMS, and an ESC pair is never split across parts. Anything else is sent
  as UCS-2: 70 UTF-16 code units in one SMS, else 67 per part, and a surrogate pair
  (an emoji, say) is never split. The empty text is one (empty) SMS.
"""

from __future__ import annotations

from typing import Literal

# Basic table, in code order 0x00…0x7F (0x1B is the escape to the extension table).
_BASIC_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
assert len(_BASIC_TABLE) == 128

BASIC = frozenset(_BASIC_TABLE) - {"\x1b"}  # a lone ESC cannot be sent as a character
EXTENSION = frozenset("\f^{}\\[~]|€")

SINGLE_GSM7 = 160
PART_GSM7 = 153  # 7 septets go to the concatenation header
SINGLE_UCS2 = 70
PART_UCS2 = 67


ALPHABET = BASIC | EXTENSION


def is_gsm7(text: str) -> bool:
    """True when every character of `text` can be sent in the GSM 7-bit alphabet."""
    return ALPHABET.issuperset(text)


def septets(text: str) -> int | None:
    """Septets `text` takes in GSM-7 (extension characters count 2), or None if it is not GSM-7."""
    total = 0
    for ch in text:
        if ch in BASIC:
            total += 1
        elif ch in EXTENSION:
            total += 2
        else:
            return None
    return total


def encoding(text: str) -> Literal["GSM-7", "UCS-2"]:
    """The encoding a phone network uses for `text`."""
    return "GSM-7" if is_gsm7(text) else "UCS-2"


def segments(text: str) -> int:
    """How many SMS `text` is sent as (at least 1)."""
    if is_gsm7(text):
        if len(text) + sum(map(text.count, EXTENSION)) <= SINGLE_GSM7:  # one SMS: no parts to pack
            return 1
        costs = [2 if ch in EXTENSION else 1 for ch in text]
        return _pack(costs, SINGLE_GSM7, PART_GSM7)
    costs = [2 if ord(ch) > 0xFFFF else 1 for ch in text]  # UTF-16 code units
    return _pack(costs, SINGLE_UCS2, PART_UCS2)


def _pack(costs: list[int], single: int, part: int) -> int:
    """Parts needed when no unit (ESC pair, surrogate pair) may straddle two parts."""
    if sum(costs) <= single:
        return 1
    parts, used = 1, 0
    for cost in costs:
        if used + cost > part:
            parts += 1
            used = 0
        used += cost
    return parts

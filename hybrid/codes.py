"""Ballot codes: 11 random digits plus a Verhoeff check digit (DESIGN §4).

Verhoeff catches every single-digit error and every adjacent transposition, which
is what people make when they type a code on a keypad or read it aloud.
"""

from __future__ import annotations

import re
import secrets

CODE_DIGITS = 12
EXAMPLE_CODE = "1234 5678 9012"  # printed and sent as an example; fails the check digit, so never issued

_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)
_INV = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)

_NON_DIGITS = re.compile(r"[\s\-.]")


def _checksum(digits: str) -> int:
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _D[c][_P[i % 8][int(ch)]]
    return c


def check_digit(payload: str) -> str:
    """The Verhoeff digit that makes `payload + digit` valid."""
    return str(_INV[_checksum(payload + "0")])


def is_valid_code(code: str) -> bool:
    """True when `code` is 12 ASCII digits whose last one is the Verhoeff check digit."""
    return len(code) == CODE_DIGITS and code.isascii() and code.isdigit() and _checksum(code) == 0


def new_code() -> str:
    """A fresh random code; never starts with 0 so spreadsheets cannot shorten it."""
    body = str(secrets.randbelow(9) + 1) + "".join(str(secrets.randbelow(10)) for _ in range(10))
    return body + check_digit(body)


def format_code(code: str) -> str:
    """`482177309512` → `4821 7730 9512`, the printed and spoken form."""
    return f"{code[0:4]} {code[4:8]} {code[8:12]}"


def normalise_code(text: str) -> str | None:
    """The 12-digit code in `text` (spaces, dashes, dots allowed) if it is valid, else None."""
    digits = _NON_DIGITS.sub("", text)
    return digits if is_valid_code(digits) else None

"""A message body as it may be stored: codes masked (DESIGN §2: codes exist in the store
only as keyed hashes, and a mistyped code is nearly the code).

`mask_codes(body, code)` replaces with `#`, digit by digit (any script's digits):
- every group of 4 or more digits (codes are typed 4821 7730 9512, 482177309512, …;
  printed numbers are short, and long numbers are phone numbers more often than votes);
- every run of consecutive digit groups, with no letter between them, that makes exactly
  12 digits and is `code` (the issued code the grammar found), or passes the check digit
  and is made of short groups only ("48 21 77 30 95 12"); and when no such run passes
  the check digit, every such run (a typo is nearly someone's code).
Everything else (words, printed numbers, emoji, spacing) stays as it was, so the
stored body still reads like the message and its length does not change.
"""

from __future__ import annotations

import re
import unicodedata

from hybrid.codes import CODE_DIGITS, is_valid_code

LONG_GROUP = 4
_DIGITS = re.compile(r"\d+")


def mask_codes(body: str, code: str | None = None) -> str:
    groups = [(m.start(), m.end()) for m in _DIGITS.finditer(body)]
    # two groups belong together when no letter stands between them
    joins = [not any(ch.isalpha() for ch in body[a_end:b_start]) for (_, a_end), (b_start, _) in zip(groups, groups[1:])]
    masked = [end - start >= LONG_GROUP for start, end in groups]
    runs: list[tuple[int, int, str]] = []  # first group, last group, their digits
    for first in range(len(groups)):
        length = 0
        for last in range(first, len(groups)):
            if last > first and not joins[last - 1]:
                break
            length += groups[last][1] - groups[last][0]
            if length >= CODE_DIGITS:
                if length == CODE_DIGITS:
                    runs.append((first, last, "".join(_ascii(body[s:e]) for s, e in groups[first:last + 1])))
                break
    typo_only = not any(is_valid_code(digits) for _, _, digits in runs)
    for first, last, digits in runs:
        short_only = all(groups[i][1] - groups[i][0] < LONG_GROUP for i in range(first, last + 1))
        if digits == code or typo_only or (short_only and is_valid_code(digits)):
            for index in range(first, last + 1):
                masked[index] = True
    out = list(body)
    for index, (start, end) in enumerate(groups):
        if masked[index]:
            out[start:end] = "#" * (end - start)
    return "".join(out)


def _ascii(digits: str) -> str:
    if digits.isascii():
        return digits
    return "".join(str(unicodedata.decimal(ch, 0)) for ch in digits)

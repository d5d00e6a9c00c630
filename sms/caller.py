"""Who sent a message, as far as hybrid may know it: a keyed hash, or "hidden".

A caller may rely on:
- `e164(number)` is the number in E.164 (`+4915792418830`), read with phonenumbers
  (German national forms like `0157 92418830` too), or None when it is no phone number.
- `caller_of(from_)`: the same phone always gives the same `key` (its E.164 form), so
  webhook, `sms pull` and the console CSV hash it alike; a withheld number gives
  `hidden=True` and no key. Withheld numbers arrive as Twilio's placeholder caller IDs:
  keypad spellings such as +266696687 (ANONYMOUS), +86282452253 (UNAVAILABLE),
  +8656696 (UNKNOWN), +7378742833 (RESTRICTED), +2562533 (BLOCKED), +7748283 (PRIVATE),
  or words like "Anonymous", "Restricted", "Unknown", or nothing at all.
- `redact(text)` replaces anything that looks like a phone number; `RedactingFilter`
  does that to every log record it sees, so logs never show a number.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass

import phonenumbers

from hybrid.definition import Process
from hybrid.errors import InvalidInput

DEFAULT_REGION = "DE"  # numbers written without +49 are read as German

# Twilio's placeholders for a withheld caller ID: the words spelled on a phone keypad.
PLACEHOLDER_NUMBERS = frozenset({
    "266696687",  # ANONYMOUS
    "86282452253",  # UNAVAILABLE
    "8656696",  # UNKNOWN
    "7378742833",  # RESTRICTED
    "2562533",  # BLOCKED
    "7748283",  # PRIVATE
})
PLACEHOLDER_WORDS = frozenset({
    "anonymous", "restricted", "unknown", "unavailable", "private", "blocked", "withheld", "hidden",
    "not available", "unknown caller", "private number", "",
})

# A German number already in E.164: phonenumbers gives it back unchanged (or calls it
# impossible, and then the key is the text anyway), so its key needs no parsing.
_GERMAN_E164 = re.compile(r"\+49[1-9]\d{5,13}")
_NUMBER_LIKE = re.compile(r"(?<![\w])\+?\d(?:[\s\-./()]{0,2}\d){6,}")


@dataclass(frozen=True)
class Caller:
    """A sender: `key` (what gets hashed; never stored as such) or hidden."""

    key: str | None
    hidden: bool


@functools.lru_cache(maxsize=65536)
def e164(number: str | None, region: str = DEFAULT_REGION) -> str | None:
    """`number` in E.164, or None when it is not a possible phone number."""
    if not number:
        return None
    text = number.strip()
    if text.lower().startswith(("tel:", "sms:")):
        text = text[4:]
    try:
        parsed = phonenumbers.parse(text, None if text.startswith("+") else region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def is_placeholder(from_: str | None) -> bool:
    """True for a withheld caller ID (one of Twilio's placeholders, a word, or nothing)."""
    text = (from_ or "").strip()
    if text.lower().startswith("client:"):
        text = text[7:]
    if text.lower() in PLACEHOLDER_WORDS:
        return True
    digits = re.sub(r"[\s\-().]", "", text).lstrip("+")
    return digits in PLACEHOLDER_NUMBERS


def caller_of(from_: str | None) -> Caller:
    """The sender of a message whose `From` is `from_`."""
    if is_placeholder(from_):
        return Caller(None, True)
    text = (from_ or "").strip()
    if _GERMAN_E164.fullmatch(text):
        return Caller(text, False)
    # An alphanumeric sender ID or a short code is not E.164, but still one sender.
    return Caller(e164(text) or text.casefold(), False)


def redact(text: str) -> str:
    """`text` with every number-like run of 7 or more digits replaced by [number]."""
    return _NUMBER_LIKE.sub("[number]", text)


class RedactingFilter(logging.Filter):
    """Redacts numbers from a log record's message before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: log it as it is, redacted
            message = str(record.msg)
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            # The traceback text is rendered later; keep the type, redact the message.
            exc_type, exc, _ = record.exc_info
            record.msg = f"{record.msg} ({exc_type.__name__}: {redact(str(exc))})"
            record.exc_info = None
            record.exc_text = None
        return True


def sms_number(process: Process) -> str:
    """The process's SMS number in E.164; InvalidInput when there is none or it is no number."""
    channel = process.channels.sms
    if channel is None:
        raise InvalidInput("process.yaml: channels.sms.number is missing; the SMS channel needs the number that takes the messages")
    number = e164(channel.number)
    if number is None:
        raise InvalidInput(f"process.yaml: channels.sms.number {channel.number!r} is not a phone number")
    return number

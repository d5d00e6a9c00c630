"""The one QR payload codec, used by printing and by scanning (DESIGN §5).

Payload (QR alphanumeric mode, so it stays a low QR version):

    HY1:<PROCESS>:<LAYOUT-HASH>:<page>/<pages>:<serial>:<code or B>:<CRC32>

`B` marks a back side, which carries no code. `L` marks a page of a cover letter: it
carries neither code nor serial (serial `0`), so a letter can never be tied to a ballot.
Every field is checked on decode; a payload that fails any check raises `InvalidPayload`
and must not be trusted.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

from hybrid.codes import is_valid_code

MAGIC = "HY1"
BACK_MARK = "B"
LETTER_MARK = "L"

_PROCESS_ID = re.compile(r"^[a-z0-9-]{1,40}$")
_LAYOUT_HASH = re.compile(r"^[0-9a-f]{8}$")
_PAYLOAD = re.compile(
    r"^HY1:(?P<process>[A-Z0-9-]{1,40}):(?P<layout>[0-9A-F]{8}):(?P<page>[1-9][0-9]?)/(?P<pages>[1-9][0-9]?)"
    r":(?P<serial>0|[1-9][0-9]{0,8}):(?P<code>[0-9]{12}|B|L):(?P<crc>[0-9A-F]{8})$"
)


class InvalidPayload(ValueError):
    """The QR text is not a valid hybrid payload."""


@dataclass(frozen=True)
class QrPayload:
    process_id: str
    layout_hash: str
    page: int
    pages: int
    serial: int  # 0 on a cover letter
    code: str | None  # None on a back side and on a cover letter
    letter: bool = False  # a page of a cover letter (its own layout, kind "letter")

    @property
    def is_back(self) -> bool:
        return self.code is None and not self.letter

    def __post_init__(self) -> None:
        if not _PROCESS_ID.match(self.process_id):
            raise InvalidPayload(f"process id {self.process_id!r} is not [a-z0-9-]")
        if not _LAYOUT_HASH.match(self.layout_hash):
            raise InvalidPayload(f"layout hash {self.layout_hash!r} is not 8 hex digits")
        if not (1 <= self.page <= self.pages <= 99):
            raise InvalidPayload(f"page {self.page}/{self.pages} is out of range")
        if self.letter:
            if self.serial != 0 or self.code is not None:
                raise InvalidPayload("a cover letter carries neither serial nor code")
        elif not (1 <= self.serial <= 999_999_999):
            raise InvalidPayload(f"serial {self.serial} is out of range")
        if self.code is not None and not is_valid_code(self.code):
            raise InvalidPayload("code fails its check digit")


def _crc(body: str) -> str:
    return f"{zlib.crc32(body.encode('ascii')):08X}"


def encode(payload: QrPayload) -> str:
    body = ":".join(
        (
            MAGIC,
            payload.process_id.upper(),
            payload.layout_hash.upper(),
            f"{payload.page}/{payload.pages}",
            str(payload.serial),
            LETTER_MARK if payload.letter else (payload.code if payload.code is not None else BACK_MARK),
        )
    )
    return f"{body}:{_crc(body)}"


def decode(text: str) -> QrPayload:
    """Parse and check a payload; raises `InvalidPayload` on any mismatch."""
    match = _PAYLOAD.match(text.strip())
    if not match:
        raise InvalidPayload("not a hybrid ballot payload")
    body, crc = text.strip().rsplit(":", 1)
    if _crc(body) != crc:
        raise InvalidPayload("payload checksum does not match")
    code = match["code"]
    return QrPayload(
        process_id=match["process"].lower(),
        layout_hash=match["layout"].lower(),
        page=int(match["page"]),
        pages=int(match["pages"]),
        serial=int(match["serial"]),
        code=None if code in (BACK_MARK, LETTER_MARK) else code,
        letter=code == LETTER_MARK,
    )

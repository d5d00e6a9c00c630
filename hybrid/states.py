"""Page and record states with their named reasons (DESIGN §6)."""

from __future__ import annotations

from enum import Enum


class Channel(str, Enum):
    """Where a vote came from; stored and exported as its value."""

    PAPER = "paper"
    SMS = "sms"
    VOICE = "voice"


class BallotState(str, Enum):
    """What a printed ballot is now (table `ballots`); stored as its value."""

    ISSUED = "issued"
    VOID = "void"  # lost, undeliverable or replaced: its code no longer counts


class ReviewAction(str, Enum):
    """What a reviewer decides on an item (table `review_decisions`); stored and exported as its value."""

    ACCEPT = "accept"  # a record as read; a comment's suggested text
    MARKS = "marks"  # a record with the marks the reviewer set
    INVALID_QUESTION = "invalid_question"
    INVALID = "invalid"  # a valid ballot whose content is invalid (CONSUL's nulls)
    REJECT = "reject"
    IDENTIFY = "identify"  # an unreadable page, by the serial printed on it
    TEXT = "text"  # a comment, with the corrected text
    PERSONAL_DATA = "personal_data"  # a comment that must not be published


class PageState(str, Enum):
    """What became of one scanned page; every page ends in exactly one of these."""

    IDENTIFIED = "identified"
    SKIPPED = "skipped"  # back side, cover letter, blank page, separator sheet
    DUPLICATE = "duplicate"  # the same sheet scanned again
    REJECTED = "rejected"  # another process, unknown or void code, not a ballot
    UNREADABLE = "unreadable"  # no code found: a person must identify it


class RecordState(str, Enum):
    """What became of one ballot or message."""

    COUNTED = "counted"
    REVIEW = "review"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"
    DUPLICATE = "duplicate"
    NOT_A_VOTE = "not_a_vote"


class Reason(str, Enum):
    """Why a page or record is in its state. Policy, not the reader, decides what each does."""

    MARGINAL_MARK = "marginal_mark"
    OVERVOTE = "overvote"
    OVER_BUDGET = "over_budget"
    CANCELLED_ONLY = "cancelled_only"
    MARK_OUTSIDE_BOX = "mark_outside_box"
    CODE_FROM_OCR = "code_from_ocr"
    DOUBTFUL_GEOMETRY = "doubtful_geometry"
    PHOTOCOPY = "photocopy"
    CROSS_CHANNEL_CONFLICT = "cross_channel_conflict"
    MISSING_PAGE = "missing_page"
    LATE = "late"
    EARLY = "early"
    VOID_CODE = "void_code"
    UNKNOWN_CODE = "unknown_code"
    OTHER_PROCESS = "other_process"
    TEST_BALLOT = "test_ballot"
    NOT_A_BALLOT = "not_a_ballot"
    BACK_SIDE = "back_side"
    COVER_LETTER = "cover_letter"  # a returned cover letter: skipped, no image of it kept
    BLANK_PAGE = "blank_page"
    RESCAN = "rescan"
    NO_CODE = "no_code"
    BLANK_BALLOT = "blank_ballot"
    INVALID_CONTENT = "invalid_content"  # a valid code whose content cannot count (CONSUL's nulls)


class MarkState(str, Enum):
    """How one printed box was read."""

    EMPTY = "empty"
    MARGINAL = "marginal"  # between the two thresholds: a person decides
    MARKED = "marked"
    CANCELLED = "cancelled"  # filled almost solid: a correction, never a vote

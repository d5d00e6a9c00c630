"""What a review action can be refused with, besides InvalidInput (each maps to an HTTP status)."""

from __future__ import annotations

from hybrid.errors import HybridError, InvalidInput


class UnknownItem(InvalidInput):
    """No such review item (HTTP 404)."""


class ReviewConflict(HybridError):
    """Someone else acted on the item since the caller looked at it (HTTP 409).
    `by`, `event` and `at` name the latest change (who, which decision or confirm/undo, when)."""

    def __init__(self, message: str, version: int, by: str | None = None, event: str | None = None,
                 at: str | None = None) -> None:
        super().__init__(message)
        self.version = version
        self.by, self.event, self.at = by, event, at


class SecondReviewerNeeded(HybridError):
    """The reviewer who made a decision cannot confirm it (HTTP 403)."""

"""Exit codes shared by every command (DESIGN §9) and the errors that carry them."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    NEEDS_PERSON = 1  # done, but items wait for a person (review, unreadable)
    INVALID_INPUT = 2  # usage or invalid input; the message names file, line or field
    STORE_OR_KEY = 3  # store missing, locked, wrong key, on a network filesystem
    TOOL_MISSING = 4  # an external program is missing; the message names the package


class HybridError(Exception):
    """An error a user can act on: printed as one message, never as a traceback."""

    exit_code: ExitCode = ExitCode.INVALID_INPUT

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(HybridError):
    exit_code = ExitCode.INVALID_INPUT


class StoreProblem(HybridError):
    exit_code = ExitCode.STORE_OR_KEY


class ToolMissing(HybridError):
    exit_code = ExitCode.TOOL_MISSING

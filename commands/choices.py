"""Options that take one word of a fixed set: an Enum each, refused with a message naming the option."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TypeVar

from hybrid.errors import InvalidInput

Word = TypeVar("Word", bound=StrEnum)


def one_of(words: type[Word], option: str) -> Callable[[object], Word]:
    """A Typer parser for `option`: the member spelled by the value, else InvalidInput (exit 2),
    e.g. `--degrade awful: use light, moderate, heavy or photo`."""
    spelled = [word.value for word in words]
    listed = ", ".join(spelled[:-1]) + " or " + spelled[-1]

    def parse(value: object) -> Word:
        if isinstance(value, words):
            return value
        try:
            return words(value)
        except ValueError:
            raise InvalidInput(f"{option} {value}: use {listed}") from None

    return parse

"""Read process.yaml into a `Process` (DESIGN §3), with errors a person can act on.

A caller may rely on:
- `load_process(path)` and `parse_process(text, filename)` return a validated `Process`
  or raise `InvalidInput`; no other exception escapes for bad input.
- Every message has the form `FILE:LINE:COL: FIELD.PATH: reason` (1-based line and
  column of the YAML node the error is about; one line per error), or `FILE: reason`
  when the file cannot be read at all.
- Booleans are only `true`/`false` (any case): `yes`, `no`, `on`, `off`, `y`, `n` stay
  text. Every `id` value is kept as written, as text (`{id: no}` → "no", `{id: 0131}` →
  "0131"). YAML timestamps and dates come through as `datetime`/`date`.
- A key given twice in one mapping is an error (PyYAML alone would keep the last one).
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from hybrid.definition import Process, RuleError
from hybrid.errors import InvalidInput
from hybrid.text_input import read_utf8

Loc = tuple[str | int, ...]

_BOOL_TAG = "tag:yaml.org,2002:bool"
_NULL_TAG = "tag:yaml.org,2002:null"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_MAX_NODES = 200_000  # alias expansion ("billion laughs") must not hang a command
_MAX_ERRORS = 20


class _Loader(yaml.SafeLoader):
    """SafeLoader whose booleans are only true/false: `no` is Norway and an answer, not False."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


_Loader.add_implicit_resolver(_BOOL_TAG, re.compile(r"^(?:true|false)$", re.IGNORECASE), list("tTfF"))


def load_process(path: Path) -> Process:
    """Read and validate the definition at `path`; errors name `path` as given."""
    name = str(path)
    text = read_utf8(path, "a process.yaml file")
    return parse_process(text, name)


def parse_process(text: str, filename: str) -> Process:
    """Validate YAML `text`; `filename` is only used in messages."""
    data, positions = _read_yaml(text, filename)
    try:
        return Process.model_validate(data)
    except ValidationError as exc:
        lines = [_describe(error, data, positions) for error in exc.errors()]
        lines.sort(key=lambda item: item[0])
        messages = [f"{filename}:{line}:{column}: {message}" for (line, column), message in lines]
        if len(messages) > _MAX_ERRORS:
            messages = messages[:_MAX_ERRORS] + [f"… and {len(messages) - _MAX_ERRORS} more errors"]
        raise InvalidInput("\n".join(messages)) from None


# --- YAML → plain data, remembering where each value and key was written -----------------


class _Positions:
    """Node of every value and every mapping key, by path from the top."""

    def __init__(self) -> None:
        self.values: dict[Loc, yaml.Node] = {}
        self.keys: dict[Loc, yaml.Node] = {}


def _read_yaml(text: str, filename: str) -> tuple[dict[str, Any], _Positions]:
    try:
        loader = _Loader(text)  # checks for unprintable characters first
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise InvalidInput(
            f"{filename}:{line}:{column}: character #x{exc.character:04x} is not allowed in YAML"
        ) from None
    try:
        try:
            node = loader.get_single_node()
            if node is None:
                raise InvalidInput(f"{filename}: the file is empty; start from `hybrid init --example poll`")
            if not (isinstance(node, yaml.MappingNode) and node.tag == _MAP_TAG):
                raise InvalidInput(
                    f"{filename}:{_mark(node)}: the top level must be a mapping of keys (id, kind, title, …)"
                )
            positions = _Positions()
            data = _Builder(loader, filename, positions).build(node, ())
        except yaml.MarkedYAMLError as exc:
            raise InvalidInput(_yaml_message(exc, filename)) from None
        except yaml.YAMLError as exc:  # unmarked errors: none known, but never a traceback
            raise InvalidInput(f"{filename}: not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    return data, positions


class _Builder:
    def __init__(self, loader: _Loader, filename: str, positions: _Positions) -> None:
        self.loader = loader
        self.filename = filename
        self.positions = positions
        self.active: set[int] = set()  # nodes being built: an alias back into one loops forever
        self.count = 0

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        self.count += 1
        if self.count > _MAX_NODES:
            self.fail(node, loc, "the file expands to too many values (aliases?)")
        if id(node) in self.active:
            self.fail(node, loc, "an alias refers to a mapping or list that contains it")
        self.positions.values[loc] = node
        if isinstance(node, yaml.MappingNode) and node.tag == _MAP_TAG:
            self.active.add(id(node))
            try:
                return self.mapping(node, loc)
            finally:
                self.active.discard(id(node))
        if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ_TAG:
            self.active.add(id(node))
            try:
                return [self.build(item, loc + (index,)) for index, item in enumerate(node.value)]
            finally:
                self.active.discard(id(node))
        return self.construct(node, loc)

    def construct(self, node: yaml.Node, loc: Loc) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except (ValueError, OverflowError) as exc:  # e.g. 2027-02-30 passes YAML's timestamp pattern
            self.fail(node, loc, f"{node.value!r} cannot be read: {exc}")

    def mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[Any, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self.key(key_node, loc)
            if key in seen:
                first = seen[key].start_mark.line + 1
                self.fail(key_node, loc + (key,), f"key {key!r} is given twice (first on line {first})")
            seen[key] = key_node
        self.loader.flatten_mapping(node)  # resolve `<<: *defaults` merges; later keys win
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.key(key_node, loc)
            self.positions.keys[loc + (key,)] = key_node
            if key == "id" and isinstance(value_node, yaml.ScalarNode) and value_node.tag != _NULL_TAG:
                # ids stay exactly as written: `no` is an option id, `0131` is not 89
                self.positions.values[loc + (key,)] = value_node
                result[key] = value_node.value
            else:
                result[key] = self.build(value_node, loc + (key,))
        return result

    def key(self, node: yaml.Node, loc: Loc) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            self.fail(node, loc, "a key must be a plain word, not a mapping or list")
        key = self.construct(node, loc)
        if not isinstance(key, str):
            # every key in process.yaml is a name (id, de, …); 1: or true: is a slip
            self.fail(node, loc, f"key {node.value!r} must be a name like id or de (quote it to mean the text)")
        return key

    def fail(self, node: yaml.Node, loc: Loc, reason: str) -> typing.NoReturn:
        where = _path(loc, None)
        raise InvalidInput(f"{self.filename}:{_mark(node)}: {where + ': ' if where else ''}{reason}")


def _mark(node: yaml.Node) -> str:
    return f"{node.start_mark.line + 1}:{node.start_mark.column + 1}"


def _yaml_message(exc: yaml.MarkedYAMLError, filename: str) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f"{filename}:{mark.line + 1}:{mark.column + 1}" if mark else filename
    reason = exc.problem or exc.context or "not valid YAML"
    if exc.context and exc.problem and exc.context_mark:
        reason += f" ({exc.context} that starts at {exc.context_mark.line + 1}:{exc.context_mark.column + 1})"
    elif exc.context and exc.problem:
        reason += f" ({exc.context})"
    return f"{where}: {reason}"


# --- pydantic errors → FILE:LINE:COL: path: reason ---------------------------------------


def _describe(error: dict[str, Any], data: Any, positions: _Positions) -> tuple[tuple[int, int], str]:
    loc: Loc = tuple(error["loc"])
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, RuleError):
        loc = loc + tuple(cause.at)
    on_key = bool(loc) and loc[-1] == "[key]"
    loc = tuple(part for part in loc if part != "[key]")
    # pydantic adds names of its own (union members); keep only what is in the file, plus
    # the one missing field the error may be about
    known: Loc = ()
    for part in loc:
        if known + (part,) in positions.values or known + (part,) in positions.keys:
            known = known + (part,)
        else:
            break
    if isinstance(cause, RuleError):
        shown = loc  # the rule names its field, even one left out of the file
    elif error["type"] == "missing":
        shown = known + loc[len(known) : len(known) + 1]
    else:
        shown = known
    if error["type"] == "extra_forbidden" or on_key:
        node = positions.keys.get(known) or positions.values[known]
    elif shown != known and known in positions.keys:
        # the field is not in the file: point at the key of the mapping it belongs in
        node = positions.keys[known]
    else:
        node = positions.values.get(known) or positions.keys.get(known) or positions.values[()]
    line, column = node.start_mark.line + 1, node.start_mark.column + 1
    reason = _reason(error, loc, cause)
    where = _path(shown, data)
    return (line, column), f"{where}: {reason}" if where else reason


def _path(loc: Loc, data: Any) -> str:
    """`questions[0].options[1].id` — numbers in lists as [i], mapping keys after a dot."""
    out = ""
    for part in loc:
        in_list = isinstance(data, list) if data is not None else isinstance(part, int)
        out += f"[{part}]" if in_list else (f".{part}" if out else str(part))
        if isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        elif isinstance(data, dict):
            data = data.get(part)
        else:
            data = None
    return out


_PATTERNS = {
    r"^[a-z0-9-]{1,40}$": "use lowercase letters, digits and '-' (at most 40), e.g. wue-bh-2027",
    r"^[A-Za-z0-9_-]{1,40}$": "use letters, digits, '-' and '_' (at most 40)",
    r"^[0-9]{1,12}$": "must be the CONSUL investment id, a number like 131",
}

_TYPES = {
    "string_type": "should be text",
    "int_type": "should be a whole number",
    "int_parsing": "should be a whole number",
    "int_from_float": "should be a whole number",
    "dict_type": "should be a mapping (key: value)",
    "model_type": "should be a mapping (key: value)",
    "list_type": "should be a list",
    "date_type": "should be a date like 2027-03-28",
    "date_parsing": "should be a date like 2027-03-28",
    "date_from_datetime_inexact": "should be a date like 2027-03-28, without a time",
    "datetime_type": "should be a date and time like 2027-03-01T00:00:00+01:00",
    "datetime_parsing": "should be a date and time like 2027-03-01T00:00:00+01:00",
    "datetime_from_date_parsing": "should be a date and time like 2027-03-01T00:00:00+01:00",
}


def _reason(error: dict[str, Any], loc: Loc, cause: object) -> str:
    kind = error["type"]
    value = error.get("input")
    if isinstance(cause, ValueError):
        return str(cause)
    if kind == "missing":
        return "required, but missing"
    if kind == "extra_forbidden":
        known = _allowed_keys(loc[:-1])
        hint = difflib.get_close_matches(str(loc[-1]), known, n=1)
        return f"unknown key {loc[-1]!r}" + (
            f" (did you mean {hint[0]!r}?)" if hint else f" (allowed: {', '.join(known)})" if known else ""
        )
    if kind == "string_pattern_mismatch":
        return f"{_show(value)} is not allowed here: {_PATTERNS.get(error['ctx']['pattern'], error['msg'])}"
    if kind in _TYPES:
        reason = f"{_TYPES[kind]}, not {_show(value)}"
        if isinstance(value, bool) and kind == "string_type":
            reason += " (put it in quotes to mean the text)"
        return reason
    if kind == "too_short" and isinstance(value, list):
        return f"needs at least {error['ctx']['min_length']} entries, has {len(value)}"
    message = str(error["msg"])
    message = re.sub(r"^Input should", "should", message)
    return f"{message}, not {_show(value)}" if kind.endswith(("_error", "_than", "_equal")) else message


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "empty (null)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "…"


def _allowed_keys(loc: Loc) -> list[str]:
    """Field names of the model at `loc`, to suggest the key the user meant."""
    model: type[BaseModel] | None = Process
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(str(part))
        model = _model_in(field.annotation) if field else None
    return list(model.model_fields) if model else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found:
                return found
    return None

"""Parse YAML, JSON and TOML text into plain data, keeping line numbers for error messages.

The parsers are strict where the formats' usual libraries are lenient: a mapping that repeats a
key is an error (PyYAML and :mod:`json` silently keep the last value), and so is binary content.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, cast

from waveplan.errors import PlanSyntaxError

__all__ = ["Document", "Format", "detect_format", "parse_document"]


class Format(Enum):
    """Serialisations of the task file."""

    YAML = "yaml"
    JSON = "json"
    TOML = "toml"


@dataclass
class Document:
    """Parsed data plus the line of each mapping key, where the format tells it."""

    data: object
    key_lines: dict[int, dict[object, int]] = field(default_factory=dict)
    node_lines: dict[int, int] = field(default_factory=dict)

    def line(self, container: object, key: object = None) -> int | None:
        """1-based line of ``key`` in ``container`` (or of the container itself)."""
        if key is not None:
            found = self.key_lines.get(id(container), {}).get(key)
            if found is not None:
                return found
        return self.node_lines.get(id(container))


_EXTENSIONS = {
    ".yaml": Format.YAML,
    ".yml": Format.YAML,
    ".json": Format.JSON,
    ".toml": Format.TOML,
}


def detect_format(name: str, text: str) -> Format:
    """The format from the file name's extension, else from the first character."""
    lowered = name.lower()
    for ext, fmt in _EXTENSIONS.items():
        if lowered.endswith(ext):
            return fmt
    return Format.JSON if text.lstrip().startswith(("{", "[")) else Format.YAML


def decode(raw: bytes, name: str) -> str:
    """Bytes to text, refusing binary content with a clear message."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise PlanSyntaxError("UTF-16 text: save the file as UTF-8", file=name)
    if b"\x00" in raw:
        raise PlanSyntaxError("this is a binary file, not a task file", file=name)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise PlanSyntaxError(
            "not UTF-8 text (is this a binary file?)", file=name, line=line
        ) from None
    if not text.strip():
        raise PlanSyntaxError("the file is empty", file=name)
    return text


def parse_document(text: str, fmt: Format, name: str) -> Document:
    """Parse text in the given format; raise :class:`PlanSyntaxError` with line and column."""
    if fmt is Format.JSON:
        doc = _parse_json(text, name)
    elif fmt is Format.TOML:
        doc = _parse_toml(text, name)
    else:
        doc = _parse_yaml(text, name)
    if doc.data is None:
        raise PlanSyntaxError("the file is empty", file=name)
    return doc


def _duplicate_error(
    name: str,
    key: object,
    path: list[object],
    task: str | None,
    *,
    line: int | None,
    column: int | None = None,
    first_line: int | None = None,
) -> PlanSyntaxError:
    """The error for a key written twice in one mapping, naming its task and field.

    ``path`` leads from the top of the document to the mapping that repeats ``key``; ``task`` is
    the id of the task it lies in (resolved by the caller, who knows the format).
    """
    first = f" (first written on line {first_line})" if first_line is not None else ""
    field: str | None = None
    if not path:  # a top-level field
        field, reason = str(key), "duplicate key"
    elif path == ["tasks"]:  # tasks given as a mapping: the key is a task id
        task, reason = str(key), "duplicate id"
    elif path[0] == "tasks" and len(path) == 2:  # a field of one task
        field, reason = str(key), "duplicate key"
    else:  # inside a field's value, such as 'uses' or 'resources'
        position = path[2] if path[0] == "tasks" else path[0]
        field = str(position) if isinstance(position, str) else None
        reason = f"duplicate key '{key}'"
    return PlanSyntaxError(
        reason + first, file=name, line=line, column=column, task=task, field=field
    )


# --- YAML -------------------------------------------------------------------------------


def _parse_yaml(text: str, name: str) -> Document:
    # PyYAML takes 14 ms to import: only YAML task files need it
    import yaml  # noqa: PLC0415

    from waveplan.load.yamltext import DuplicateKeyError, StrictLoader, yaml_problem  # noqa: PLC0415

    loader = StrictLoader(text)
    try:
        data = loader.get_single_data()
    except DuplicateKeyError as exc:
        raise _duplicate_error(
            name,
            exc.key,
            exc.path,
            exc.task,
            line=exc.line,
            column=exc.column,
            first_line=exc.first_line,
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise PlanSyntaxError(
            f"malformed YAML: {yaml_problem(exc)}",
            file=name,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        raise PlanSyntaxError(f"malformed YAML: {exc}", file=name) from None
    finally:
        loader.dispose()
    return Document(data, loader.key_lines, loader.node_lines)


# --- JSON -------------------------------------------------------------------------------


class _JsonDuplicateKeyError(Exception):
    pass


def _strict_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _JsonDuplicateKeyError
    return result


def _parse_json(text: str, name: str) -> Document:
    try:
        data = json.loads(text, object_pairs_hook=_strict_object)
    except json.JSONDecodeError as exc:
        raise PlanSyntaxError(
            f"malformed JSON: {exc.msg}", file=name, line=exc.lineno, column=exc.colno
        ) from None
    except _JsonDuplicateKeyError:
        raise _json_duplicate_error(text, name) from None
    return Document(data)


# strings, and the punctuation that gives JSON its structure; numbers and literals are skipped
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],:]', re.DOTALL)


@dataclass
class _JsonFrame:
    """An object or array being walked by :func:`_json_duplicate_error`."""

    is_object: bool
    place: object = None  # the current key (object) or index (array)
    expecting_key: bool = True
    key_lines: dict[str, int] = field(default_factory=dict)


def _json_duplicate_error(text: str, name: str) -> PlanSyntaxError:
    """Find the first repeated key of a JSON text (already parsed up to it) and describe it.

    The standard parser gives no positions to its pairs hook, so this slow path walks the text
    once more; it only runs when there is an error to report.
    """
    stack: list[_JsonFrame] = []
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token in ("{", "["):
            stack.append(_JsonFrame(is_object=token == "{", place=None if token == "{" else 0))
        elif token in ("}", "]"):
            stack.pop()
        elif token == ",":
            top = stack[-1]
            if top.is_object:
                top.expecting_key = True
            else:
                top.place = cast(int, top.place) + 1
        elif token == ":":
            stack[-1].expecting_key = False
        elif stack and stack[-1].is_object and stack[-1].expecting_key:
            top = stack[-1]
            key = json.loads(token)
            line = text.count("\n", 0, match.start()) + 1
            if key in top.key_lines:
                path = [frame.place for frame in stack[:-1]]
                column = match.start() - text.rfind("\n", 0, match.start())
                return _duplicate_error(
                    name,
                    key,
                    path,
                    _json_task(text, path),
                    line=line,
                    column=column,
                    first_line=top.key_lines[key],
                )
            top.key_lines[key] = line
            top.place = key
    return PlanSyntaxError("a mapping repeats a key", file=name)


def _json_task(text: str, path: list[object]) -> str | None:
    """The id of the task that ``path`` leads into, read with the first of repeated keys."""
    if len(path) < 2 or path[0] != "tasks":
        return None
    if isinstance(path[1], str):
        return path[1]
    try:  # keep the first value of a repeated key, as the YAML loader reports it
        data = json.loads(text, object_pairs_hook=lambda pairs: dict(reversed(pairs)))
        task_id = data["tasks"][path[1]]["id"]
    except (ValueError, LookupError, TypeError):
        return None
    return str(task_id) if isinstance(task_id, str | int) else None


# --- TOML -------------------------------------------------------------------------------

_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
# the key of a ``key = value`` line: tomllib says "Cannot overwrite a value" without naming it
_TOML_KEY = re.compile(r"(\s*)([^\s=#][^=#]*?)\s*=")


def _parse_toml(text: str, name: str) -> Document:
    import tomllib  # noqa: PLC0415 - 10 ms to import (it compiles its patterns): only for TOML

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _TOML_POSITION.search(message)
        line = column = None
        if found:
            line, column = int(found.group(1)), int(found.group(2))
            message = message[: found.start()]
        if message == "Cannot overwrite a value" and line is not None:
            repeated = _TOML_KEY.match(text.split("\n")[line - 1])
            if repeated:
                raise PlanSyntaxError(
                    f"duplicate key '{repeated.group(2)}'",
                    file=name,
                    line=line,
                    column=len(repeated.group(1)) + 1,
                ) from None
        raise PlanSyntaxError(
            f"malformed TOML: {message}", file=name, line=line, column=column
        ) from None
    return Document(data)

"""Parse YAML, JSON and TOML text into plain data, keeping line numbers for error messages.

The parsers are strict where the formats' usual libraries are lenient: a mapping that repeats a
key is an error (PyYAML and :mod:`json` silently keep the last value), and so is binary content.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

import yaml

from waveplan.errors import PlanSyntaxError

__all__ = ["Document", "Format", "detect_format", "parse_document"]

if TYPE_CHECKING:
    _BaseLoader = yaml.SafeLoader
else:  # the C loader is several times faster on large plans, when PyYAML was built with it
    _BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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


# --- YAML -------------------------------------------------------------------------------


class _DuplicateKeyError(Exception):
    def __init__(
        self, key: object, line: int, column: int, first_line: int, task: str | None
    ) -> None:
        self.key = key
        self.line = line
        self.column = column
        self.first_line = first_line
        self.task = task


def _scalar_id(node: yaml.MappingNode) -> str | None:
    """The ``id`` written in a mapping node, for naming the task in a duplicate-key error."""
    for key_node, value_node in node.value:
        if getattr(key_node, "value", None) == "id" and isinstance(value_node, yaml.ScalarNode):
            return str(value_node.value)
    return None


class _StrictLoader(_BaseLoader):
    """SafeLoader that rejects duplicate keys and records where each key was written."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.key_lines: dict[int, dict[object, int]] = {}
        self.node_lines: dict[int, int] = {}

    def construct_strict_map(self, node: yaml.MappingNode) -> Iterator[dict[Any, Any]]:
        data: dict[Any, Any] = {}
        yield data
        self.flatten_mapping(node)
        lines: dict[object, int] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, "a mapping key must be a plain value", key_node.start_mark
                ) from None
            if key in lines:
                mark = key_node.start_mark
                raise _DuplicateKeyError(
                    key, mark.line + 1, mark.column + 1, lines[key], _scalar_id(node)
                )
            lines[key] = key_node.start_mark.line + 1
            data[key] = self.construct_object(value_node, deep=True)
        self.key_lines[id(data)] = lines
        self.node_lines[id(data)] = node.start_mark.line + 1

    def construct_strict_seq(self, node: yaml.SequenceNode) -> Iterator[list[Any]]:
        data: list[Any] = []
        yield data
        data.extend(self.construct_object(child, deep=True) for child in node.value)
        self.node_lines[id(data)] = node.start_mark.line + 1


_StrictLoader.add_constructor("tag:yaml.org,2002:map", _StrictLoader.construct_strict_map)
_StrictLoader.add_constructor("tag:yaml.org,2002:seq", _StrictLoader.construct_strict_seq)


def _parse_yaml(text: str, name: str) -> Document:
    loader = _StrictLoader(text)
    try:
        data = loader.get_single_data()
    except _DuplicateKeyError as exc:
        raise PlanSyntaxError(
            f"duplicate key '{exc.key}' (first written on line {exc.first_line})",
            file=name,
            line=exc.line,
            column=exc.column,
            task=exc.task,
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "cannot be parsed"
        raise PlanSyntaxError(
            f"malformed YAML: {problem}",
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
    def __init__(self, key: str) -> None:
        self.key = key


def _strict_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _JsonDuplicateKeyError(key)
            seen.add(key)
    return result


def _parse_json(text: str, name: str) -> Document:
    try:
        data = json.loads(text, object_pairs_hook=_strict_object)
    except json.JSONDecodeError as exc:
        raise PlanSyntaxError(
            f"malformed JSON: {exc.msg}", file=name, line=exc.lineno, column=exc.colno
        ) from None
    except _JsonDuplicateKeyError as exc:
        line = _json_duplicate_line(text, exc.key)
        raise PlanSyntaxError(f"duplicate key '{exc.key}'", file=name, line=line) from None
    return Document(data)


def _json_duplicate_line(text: str, key: str) -> int | None:
    pattern = re.compile(r'"' + re.escape(key) + r'"\s*:')
    matches = [m.start() for m in pattern.finditer(text)]
    if len(matches) < 2:
        return None
    return text.count("\n", 0, matches[1]) + 1


# --- TOML -------------------------------------------------------------------------------

_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")


def _parse_toml(text: str, name: str) -> Document:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _TOML_POSITION.search(message)
        line = column = None
        if found:
            line, column = int(found.group(1)), int(found.group(2))
            message = message[: found.start()]
        raise PlanSyntaxError(
            f"malformed TOML: {message}", file=name, line=line, column=column
        ) from None
    return Document(data)

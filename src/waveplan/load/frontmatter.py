"""Front matter of markdown plans: strict YAML first, a lenient line reader when that fails.

Agent frameworks write YAML front matter by hand, and real files hold text that strict YAML
rejects (a regex such as ``"a\\.b"`` in double quotes is an invalid escape). The importers
need only a few fields, so when strict YAML refuses the block the lenient reader picks those
fields out line by line, and the importer records a warning. Every scalar is read as text in
both modes (``wave: 01`` is ``"01"``, ``depends_on: [010]`` keeps its zero), so the importers
convert types themselves, the same way whichever reader ran.

Only a block that cannot be read even so is an error: front matter that is never closed, or
a needed field whose value the lenient reader cannot make out (an unclosed ``[`` or quote).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from waveplan.errors import PlanSyntaxError

if TYPE_CHECKING:
    import yaml

__all__ = [
    "FrontMatter",
    "Value",
    "read_front_matter",
    "text_list",
    "text_value",
    "truth",
    "whole_number",
]

# text, a list of values, or a mapping of text to values; None for an empty value
Value = str | list[Any] | dict[str, Any] | None


@dataclass
class FrontMatter:
    """The fields of a markdown file's front matter and where each was written.

    ``lines`` gives the 1-based line of each top-level key in the file, ``sub_lines`` of each
    key of a nested mapping (``("key-files", "created")``). ``problem`` is why strict YAML
    refused the block (``lenient`` is then True), with its line in the file.
    """

    fields: dict[str, Value] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    sub_lines: dict[tuple[str, str], int] = field(default_factory=dict)
    body: str = ""
    body_line: int = 1
    present: bool = False
    lenient: bool = False
    problem: str | None = None
    problem_line: int | None = None

    def line(self, key: str, sub: str | None = None) -> int:
        """The line of a field (of the front matter's start when unknown)."""
        if sub is not None and (key, sub) in self.sub_lines:
            return self.sub_lines[(key, sub)]
        return self.lines.get(key, 1)


def _is_delimiter(line: str) -> bool:
    return line.rstrip() == "---"


def read_front_matter(
    text: str, file: str, needed: Collection[str] = (), *, task: str | None = None
) -> FrontMatter:
    """Split ``text`` into front matter and body and read the front matter.

    ``needed`` are the fields the caller uses: when strict YAML fails, the lenient reader
    raises :class:`PlanSyntaxError` (naming ``task``) only for those it cannot read.
    """
    lines = text.split("\n")
    if not lines or not _is_delimiter(lines[0]):
        return FrontMatter(body=text, body_line=1)
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() in ("---", "...")), None)
    if end is None:
        raise PlanSyntaxError(
            "the front matter opened with '---' is never closed (no second '---' line)",
            file=file,
            line=1,
            task=task,
        )
    block = lines[1:end]
    matter = FrontMatter(
        body="\n".join(lines[end + 1 :]), body_line=end + 2, present=True, lenient=False
    )
    try:
        _strict(block, matter)
    except _Refused as refused:
        matter.lenient = True
        matter.problem = refused.problem
        matter.problem_line = refused.line
        matter.fields, matter.lines, matter.sub_lines = {}, {}, {}
        _Lenient(block, file, set(needed), task).read(matter)
    return matter


class _Refused(Exception):
    def __init__(self, problem: str, line: int | None) -> None:
        self.problem = problem
        self.line = line


def _strict(block: list[str], matter: FrontMatter) -> None:
    """Read the block as strict YAML into ``matter``; raise _Refused when YAML refuses it."""
    import yaml  # noqa: PLC0415 - only for plans with front matter (see yamltext)

    from waveplan.load.yamltext import DuplicateKeyError, TextLoader  # noqa: PLC0415

    loader = TextLoader("\n".join(block))
    try:
        data = loader.get_single_data()
    except DuplicateKeyError as exc:
        raise _Refused(f"the key '{exc.key}' is written twice", exc.line + 1) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 2 if mark else None
        text = block[mark.line] if mark and mark.line < len(block) else ""
        raise _Refused(_problem(exc, text), line) from None
    except yaml.YAMLError as exc:
        raise _Refused(str(exc), None) from None
    finally:
        loader.dispose()
    if data is None:
        return
    if not isinstance(data, dict):
        raise _Refused("it is not a mapping of keys to values", 2)
    lines = loader.key_lines.get(id(data), {})
    for key, value in data.items():
        name = str(key)
        matter.fields[name] = value
        matter.lines[name] = lines.get(key, 0) + 1
        if isinstance(value, dict):
            for sub, line in loader.key_lines.get(id(value), {}).items():
                matter.sub_lines[(name, str(sub))] = line + 1


# the escapes YAML allows in double quotes (a pair of backslashes first)
_VALID_ESCAPE = re.compile(r"\\[\\0abt\tnvfre \"/N_LPxuU]")
_ANY_ESCAPE = re.compile(r"\\(.)")


def _problem(exc: yaml.MarkedYAMLError, line: str) -> str:
    """PyYAML's description, the same with or without libyaml (which does not say which
    escape it refused, so that is found in the line)."""
    from waveplan.load.yamltext import yaml_problem  # noqa: PLC0415 - loaded by _strict

    problem = yaml_problem(exc)
    if problem.startswith("found unknown escape character"):
        bad = _ANY_ESCAPE.search(_VALID_ESCAPE.sub("", line))
        return "found unknown escape character" + (f" '\\{bad.group(1)}'" if bad else "")
    return problem


# --- the lenient reader ------------------------------------------------------------------

_KEY = re.compile(
    r"^(?P<key>[^\s#:'\"\[\]{},-][^:#]*?|[\"'][^\"']+[\"'])\s*:(?:\s+(?P<value>.*))?$"
)
_ITEM = re.compile(r"^-(?:\s+(?P<value>.*))?$")
_COMMENT = re.compile(r"\s+#.*$")


class _Unreadable(Exception):
    def __init__(self, reason: str, line: int) -> None:
        self.reason = reason
        self.line = line


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _key_name(raw: str) -> str:
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        return raw[1:-1]
    return raw


class _Lenient:
    """Reads ``key: value`` lines, flow lists and mappings, block lists and one level of nested
    mappings; quoted text is taken as written (no escape processing). Anything else in the
    block is skipped unless it is the value of a needed field."""

    def __init__(self, block: list[str], file: str, needed: set[str], task: str | None) -> None:
        self.block = block
        self.file = file
        self.task = task
        self.needed = needed

    def read(self, matter: FrontMatter) -> None:
        i = 0
        block = self.block
        while i < len(block):
            raw = block[i]
            stripped = raw.strip()
            if not stripped or stripped.startswith("#") or _indent(raw) > 0:
                i += 1
                continue
            found = _KEY.match(raw.rstrip())
            if found is None:
                i += 1
                continue
            key = _key_name(found.group("key"))
            line = i + 2  # the block starts on the file's second line
            try:
                value, i = self._value(found.group("value"), i, 0)
            except _Unreadable as exc:
                if key in self.needed:
                    raise self._error(key, exc) from None
                i = self._skip_to_next_key(i + 1)
                continue
            matter.fields[key] = value
            matter.lines[key] = line
            if isinstance(value, dict):
                for sub, sub_line in getattr(value, "lines", {}).items():
                    matter.sub_lines[(key, sub)] = sub_line
                matter.fields[key] = dict(value)

    def _error(self, key: str, exc: _Unreadable) -> PlanSyntaxError:
        return PlanSyntaxError(
            f"{exc.reason} (the front matter is not valid YAML, and cannot be read leniently "
            "either)",
            file=self.file,
            line=exc.line,
            task=self.task,
            field=key,
        )

    def _skip_to_next_key(self, i: int) -> int:
        while i < len(self.block):
            raw = self.block[i]
            if raw.strip() and _indent(raw) == 0 and _KEY.match(raw.rstrip()):
                return i
            i += 1
        return i

    def _value(self, text: str | None, i: int, indent: int) -> tuple[Value, int]:
        """The value starting on line ``i`` (after ``key:``); returns it and the next line."""
        value = (text or "").strip()
        if value and value[0] in "[{":
            return self._flow(i, value)
        if value.startswith(("|", ">")):
            return self._block_scalar(i, indent)
        if value:
            if value.startswith(("&", "*", "!")):  # an anchor, alias or tag before the value
                value = value.split(None, 1)[1] if " " in value else ""
            return _scalar(value, i + 2), i + 1
        return self._children(i + 1, indent)

    def _flow(self, i: int, text: str) -> tuple[Value, int]:
        """A flow list or mapping, which may continue on the following lines."""
        start = i
        joined = text
        while True:
            try:
                parsed, end = _flow_value(joined, 0, start + 2)
            except _Incomplete:
                i += 1
                if i >= len(self.block) or (
                    _indent(self.block[i]) == 0 and _KEY.match(self.block[i].rstrip())
                ):
                    opener = joined.lstrip()[0]
                    raise _Unreadable(f"'{opener}' is never closed", start + 2) from None
                joined += " " + self.block[i].strip()
                continue
            rest = _COMMENT.sub("", " " + joined[end:]).strip()
            if rest:
                raise _Unreadable(f"unexpected text after the value: {rest!r}", i + 2)
            return parsed, i + 1

    def _block_scalar(self, i: int, indent: int) -> tuple[Value, int]:
        parts: list[str] = []
        j = i + 1
        while j < len(self.block) and (
            not self.block[j].strip() or _indent(self.block[j]) > indent
        ):
            parts.append(self.block[j].strip())
            j += 1
        return "\n".join(parts).strip(), j

    def _children(self, i: int, indent: int) -> tuple[Value, int]:
        """The indented lines under ``key:``: a block list or a mapping (or nothing)."""
        j = i
        while j < len(self.block) and not self.block[j].strip():
            j += 1
        if j >= len(self.block):
            return None, j
        first = self.block[j]
        child_indent = _indent(first)
        is_item = _ITEM.match(first.strip()) is not None
        if child_indent < indent or (child_indent == indent and not is_item):
            return None, i
        if is_item:
            return self._list(j, child_indent)
        if child_indent == indent:
            return None, i
        return self._mapping(j, child_indent)

    def _list(self, j: int, indent: int) -> tuple[Value, int]:
        items: list[Any] = []
        while j < len(self.block):
            raw = self.block[j]
            if not raw.strip() or raw.strip().startswith("#"):
                j += 1
                continue
            if _indent(raw) < indent:
                break
            if _indent(raw) > indent:  # a nested item's continuation: skipped
                j += 1
                continue
            item = _ITEM.match(raw.strip())
            if item is None:
                break
            text = (item.group("value") or "").strip()
            if text and text[0] in "[{":
                value, j = self._flow(j, text)
                items.append(value)
                continue
            if text and _KEY.match(text) and not text.startswith(("'", '"')):
                items.append(text)  # a mapping item, kept as written
            elif text:
                items.append(_scalar(text, j + 2))
            j += 1
        return items, j

    def _mapping(self, j: int, indent: int) -> tuple[Value, int]:
        mapping = _LinedDict()
        while j < len(self.block):
            raw = self.block[j]
            if not raw.strip() or raw.strip().startswith("#"):
                j += 1
                continue
            if _indent(raw) < indent:
                break
            if _indent(raw) > indent:
                j += 1
                continue
            found = _KEY.match(raw.strip())
            if found is None:
                break
            key = _key_name(found.group("key"))
            line = j + 2
            value, j = self._value(found.group("value"), j, indent)
            mapping[key] = value
            mapping.lines[key] = line
        return mapping, j


class _LinedDict(dict[str, Any]):
    """A mapping that remembers the line of each key."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[str, int] = {}


class _Incomplete(Exception):
    """A flow collection continues on the next line."""


def _scalar(text: str, line: int) -> str:
    text = text.strip()
    if text.startswith('"'):
        end = _closing_quote(text, 0)
        if end is None:
            raise _Unreadable("a '\"' quote is never closed", line)
        return text[1:end].replace('\\"', '"')
    if text.startswith("'"):
        end = _closing_quote(text, 0)
        if end is None:
            raise _Unreadable('a "\'" quote is never closed', line)
        return text[1:end].replace("''", "'")
    return _COMMENT.sub("", text).strip()


def _closing_quote(text: str, start: int) -> int | None:
    """Index of the quote closing the one at ``start`` (``\\"`` and ``''`` do not close)."""
    quote = text[start]
    i = start + 1
    while i < len(text):
        char = text[i]
        if quote == '"' and char == "\\":
            i += 2
            continue
        if char == quote:
            if quote == "'" and text[i + 1 : i + 2] == "'":
                i += 2
                continue
            return i
        i += 1
    return None


def _flow_value(text: str, i: int, line: int) -> tuple[Any, int]:
    """Parse a flow value at ``text[i]``; returns it and the index after it."""
    while i < len(text) and text[i] == " ":
        i += 1
    if i >= len(text):
        raise _Incomplete
    char = text[i]
    if char in "[{":
        closing = "]" if char == "[" else "}"
        items: list[Any] = []
        pairs: dict[str, Any] = {}
        i += 1
        while True:
            while i < len(text) and text[i] in " ,":
                i += 1
            if i >= len(text):
                raise _Incomplete
            if text[i] == closing:
                return (items if char == "[" else pairs), i + 1
            value, i = _flow_value(text, i, line)
            while i < len(text) and text[i] == " ":
                i += 1
            if char == "{" or (i < len(text) and text[i] == ":"):
                if i < len(text) and text[i] == ":":
                    sub, i = _flow_value(text, i + 1, line)
                else:
                    sub = None
                if char == "{":
                    pairs[str(value)] = sub
                else:
                    items.append({str(value): sub})
            else:
                items.append(value)
            if i >= len(text):
                raise _Incomplete
            if text[i] not in ",]}":
                raise _Unreadable(f"unexpected {text[i]!r} in a flow collection", line)
    if char in "\"'":
        end = _closing_quote(text, i)
        if end is None:
            raise _Unreadable(f"a {char!r} quote is never closed", line)
        raw = text[i + 1 : end]
        return (raw.replace('\\"', '"') if char == '"' else raw.replace("''", "'")), end + 1
    end = i
    while end < len(text) and text[end] not in ",]}" and not text.startswith(": ", end):
        end += 1
    if end < len(text) and text[end] == ":" and text.startswith(": ", end):
        return text[i:end].strip(), end
    return text[i:end].strip(), end


# --- reading fields as the importers need them --------------------------------------------


def text_list(value: Value) -> tuple[list[str], str | None]:
    """A list field as texts, and what was odd about it (None when nothing): a text where a
    list belongs is read as a comma-separated list, a mapping is ignored, and so are items
    that are not plain values."""
    if value is None:
        return [], None
    if isinstance(value, str):
        parts = [part.strip() for part in value.split(",") if part.strip()]
        return parts, "should be a list; read as one" if parts else None
    if isinstance(value, dict):
        return [], "should be a list, not a mapping; ignored"
    items = [str(item).strip() for item in value if isinstance(item, str | int | float)]
    odd = None
    if len(items) < len(value):
        odd = "has items that are not plain values; they are ignored"
    return [item for item in items if item], odd


def text_value(value: Value) -> str | None:
    """A scalar field as text (None when absent, empty or not a scalar)."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def whole_number(value: Value) -> int | None:
    """``2``, ``"02"``: the number; None for anything else."""
    text = text_value(value)
    if text is None or not re.fullmatch(r"\d{1,6}", text):
        return None
    return int(text)


def truth(value: Value) -> bool | None:
    """YAML's spellings of true and false (None for anything else)."""
    text = (text_value(value) or "").lower()
    if text in ("true", "yes", "on", "y"):
        return True
    if text in ("false", "no", "off", "n"):
        return False
    return None

"""A brute-force oracle of resource overlap, written from the issue text, not from the index.

Semantics (issue 3 and the choices recorded with it):

- files, state and tests are separate namespaces; counted resources are checked elsewhere, by
  summing amounts over time;
- a path or directory covers itself and everything under it (``src`` and ``src/`` both cover
  ``src/a.ts``), the root ``./`` covers everything;
- a glob (``*``, ``**``, ``?``, ``[...]``) covers the paths it matches and everything under
  them; ``*`` never crosses ``/``, a ``**`` segment spans zero or more segments;
- named state is dotted: ``db`` covers ``db.users``;
- named test resources (``port:8080``) overlap an equal name; whether a test *path* (the root,
  a glob such as ``*``) covers a name is not specified, so the oracle says :data:`MAYBE`.

Two keys overlap when some concrete path is covered by both. The oracle searches for such a
witness over small candidate paths built from the keys' own segments (literal segments, and
wildcard segments filled with the literal fragments of both keys). For a concrete key against
anything the search is exhaustive, so the verdict is exact; for two globs, finding no witness
gives :data:`MAYBE`.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable
from enum import Enum
from functools import cache

from waveplan.model import Access, Mode, ResourceKind

__all__ = [
    "MAYBE",
    "NO",
    "YES",
    "Verdict",
    "accesses_conflict",
    "conflict_verdict",
    "covers",
    "glob_matches",
    "keys_overlap",
    "path_segments",
    "text_matches",
    "witness",
]


class Verdict(Enum):
    """Whether two resources overlap, as far as the oracle can tell."""

    YES = "yes"
    NO = "no"
    MAYBE = "maybe"


YES, NO, MAYBE = Verdict.YES, Verdict.NO, Verdict.MAYBE

_WILD = frozenset("*?[")
_FILLER_CHARS = ("a", "b", "x", "z", "0", ".", "_")


# --- character level: one segment against one segment pattern --------------------------------


def _class_end(pattern: str, start: int) -> int:
    """Index of the ``]`` closing the class opened at ``start``, or -1 (then ``[`` is literal)."""
    j = start + 1
    if j < len(pattern) and pattern[j] == "!":
        j += 1
    if j < len(pattern) and pattern[j] == "]":
        j += 1
    while j < len(pattern) and pattern[j] != "]":
        j += 1
    return j if j < len(pattern) else -1


def _class_members(body: str) -> tuple[bool, list[tuple[str, str]]]:
    """``(negated, ranges)`` of a class body (the text between ``[`` and ``]``)."""
    negated = body.startswith("!")
    if negated:
        body = body[1:]
    ranges: list[tuple[str, str]] = []
    i = 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            ranges.append((body[i], body[i + 2]))
            i += 3
        else:
            ranges.append((body[i], body[i]))
            i += 1
    return negated, ranges


def _in_class(body: str, char: str) -> bool:
    negated, ranges = _class_members(body)
    inside = any(low <= char <= high for low, high in ranges)
    return inside != negated


@cache
def text_matches(pattern: str, text: str) -> bool:
    """One segment against a segment pattern: ``*`` any run, ``?`` one char, ``[...]`` a class."""

    @cache
    def match(i: int, j: int) -> bool:
        if i == len(pattern):
            return j == len(text)
        char = pattern[i]
        if char == "*":
            return match(i + 1, j) or (j < len(text) and match(i, j + 1))
        if j == len(text):
            return False
        if char == "?":
            return match(i + 1, j + 1)
        if char == "[":
            end = _class_end(pattern, i)
            if end >= 0:
                return _in_class(pattern[i + 1 : end], text[j]) and match(end + 1, j + 1)
        return char == text[j] and match(i + 1, j + 1)

    return match(0, 0)


def _segment_matches(pattern: str, segment: str) -> bool:
    return pattern == "**" or text_matches(pattern, segment)


# --- path level ---------------------------------------------------------------------------------


def is_pattern(key: str) -> bool:
    """True for a glob key (it has a wildcard character)."""
    return any(c in _WILD for c in key)


def path_segments(key: str) -> tuple[str, ...]:
    """The segments of a normalised path, directory or glob key (the root has none)."""
    return tuple(s for s in key.split("/") if s and s != ".")


def glob_matches(pattern: tuple[str, ...], path: tuple[str, ...]) -> bool:
    """A whole path against a glob's segments; a ``**`` segment spans zero or more segments."""
    if not pattern:
        return not path
    if pattern[0] == "**":
        return glob_matches(pattern[1:], path) or (bool(path) and glob_matches(pattern, path[1:]))
    return (
        bool(path) and _segment_matches(pattern[0], path[0]) and glob_matches(pattern[1:], path[1:])
    )


def covers(key: str, path: tuple[str, ...]) -> bool:
    """True when a file-rule key covers a concrete path (the definition, no cleverness)."""
    segments = path_segments(key)
    if not is_pattern(key):
        return path[: len(segments)] == segments
    return any(glob_matches(segments, path[:k]) for k in range(len(path) + 1))


def _fragments(segment: str) -> list[str]:
    """Maximal literal runs of a segment pattern (``*.t?`` gives ``.t``)."""
    found: list[str] = []
    current = ""
    i = 0
    while i < len(segment):
        char = segment[i]
        end = _class_end(segment, i) if char == "[" else -1
        if char in "*?" or end >= 0:
            if current:
                found.append(current)
            current = ""
            i = end + 1 if end >= 0 else i + 1
        else:
            current += char
            i += 1
    if current:
        found.append(current)
    return found


def _class_choices(body: str) -> list[str]:
    _, ranges = _class_members(body)
    chars = {c for low, high in ranges for c in (low, high)} | set(_FILLER_CHARS)
    return sorted(c for c in chars if _in_class(body, c))


def _instantiations(segment: str, fillers: list[str]) -> set[str]:
    """Concrete segments made by filling the wildcards of one segment pattern."""
    pieces: list[list[str]] = []
    i = 0
    while i < len(segment):
        char = segment[i]
        end = _class_end(segment, i) if char == "[" else -1
        if char == "*":
            pieces.append(["", *fillers])
            i += 1
        elif char == "?":
            pieces.append([f for f in fillers if len(f) == 1])
            i += 1
        elif end >= 0:
            pieces.append(_class_choices(segment[i + 1 : end]))
            i = end + 1
        else:
            pieces.append([char])
            i += 1
    made = {"".join(choice) for choice in itertools.product(*pieces)}
    return {m for m in made if m}


def _candidates(keys: Iterable[str]) -> list[str]:
    """Candidate path segments for witnesses: literal segments, and wildcard segments filled
    with the literal fragments of every key, single characters and pairs of fragments."""
    segments = [s for key in keys for s in path_segments(key)]
    fragments = sorted({f for s in segments if s != "**" for f in _fragments(s)})
    fillers = sorted({*fragments, *_FILLER_CHARS, *(a + b for a in fragments for b in fragments)})
    found: set[str] = {"zz"}  # a segment that no vocabulary literal equals
    for segment in segments:
        if segment == "**":
            continue
        if is_pattern(segment):
            found |= _instantiations(segment, fillers)
        else:
            found.add(segment)
    return sorted(found - {".", ".."})  # not segments of a normalised path


_COVERED: frozenset[int] = frozenset({-1})


def _start(segments: tuple[str, ...], glob: bool) -> frozenset[int]:
    return _advance(segments, glob, frozenset({0}))


def _advance(segments: tuple[str, ...], glob: bool, states: frozenset[int]) -> frozenset[int]:
    """Close a state set over ``**`` matching nothing; a finished key covers what follows."""
    result = set(states)
    if glob:
        todo = list(states)
        while todo:
            i = todo.pop()
            if i < len(segments) and segments[i] == "**" and i + 1 not in result:
                result.add(i + 1)
                todo.append(i + 1)
    return _COVERED if len(segments) in result else frozenset(result)


def _step(
    segments: tuple[str, ...], glob: bool, states: frozenset[int], segment: str
) -> frozenset[int]:
    if states == _COVERED:
        return _COVERED
    following: set[int] = set()
    for i in states:
        part = segments[i]
        if glob and part == "**":
            following.add(i)
        elif (glob and text_matches(part, segment)) or (not glob and part == segment):
            following.add(i + 1)
    return _advance(segments, glob, frozenset(following)) if following else frozenset()


_State = tuple[frozenset[int], frozenset[int]]


@cache
def witness(first: str, second: str) -> tuple[str, ...] | None:
    """A shortest concrete path covered by both file-rule keys, from candidate segments."""
    a, b = path_segments(first), path_segments(second)
    glob_a, glob_b = is_pattern(first), is_pattern(second)
    start: _State = (_start(a, glob_a), _start(b, glob_b))
    parents: dict[_State, tuple[_State, str] | None] = {start: None}
    queue = deque([start])
    candidates = _candidates((first, second))
    while queue:
        state = queue.popleft()
        if state == (_COVERED, _COVERED):
            path: list[str] = []
            step = parents[state]
            while step is not None:
                state, segment = step
                path.append(segment)
                step = parents[state]
            found = tuple(reversed(path))
            assert covers(first, found) and covers(second, found), (first, second, found)
            return found
        for segment in candidates:
            nxt = (_step(a, glob_a, state[0], segment), _step(b, glob_b, state[1], segment))
            if nxt[0] and nxt[1] and nxt not in parents:
                parents[nxt] = (state, segment)
                queue.append(nxt)
    return None


# --- resources and accesses -------------------------------------------------------------------


def _is_name(key: str) -> bool:
    """``port:8080`` is a named test resource; ``tests/x:y`` is a path."""
    head, colon, _ = key.partition(":")
    return bool(colon) and "/" not in head


def _state_overlap(first: str, second: str) -> Verdict:
    a, b = first.split("."), second.split(".")
    shorter = min(len(a), len(b))
    return YES if a[:shorter] == b[:shorter] else NO


def _path_overlap(first: str, second: str) -> Verdict:
    if witness(first, second) is not None:
        return YES
    return MAYBE if is_pattern(first) and is_pattern(second) else NO


def _test_overlap(first: str, second: str) -> Verdict:
    name_a, name_b = _is_name(first), _is_name(second)
    if name_a and name_b:
        return YES if first == second else NO
    if name_a or name_b:
        name, path = (first, second) if name_a else (second, first)
        # Unspecified: whether a test path (the root, a top-level glob) covers a name.
        return MAYBE if covers(path, (name,)) else NO
    return _path_overlap(first, second)


@cache
def keys_overlap(kind: ResourceKind, first: str, second: str) -> Verdict:
    """Whether two normalised keys of one namespace overlap."""
    if kind is ResourceKind.STATE:
        return _state_overlap(first, second)
    if kind is ResourceKind.TEST:
        return _test_overlap(first, second)
    if kind is ResourceKind.FILE:
        return _path_overlap(first, second)
    raise ValueError(f"{kind} keys are counted, not overlapped")


def conflict_verdict(a: Access, b: Access) -> Verdict:
    """Whether two accesses of different tasks may not overlap in time.

    Counted resources never conflict here (amounts are summed over time instead); two reads
    never conflict; otherwise the resources must overlap, in one namespace.
    """
    if a.kind is not b.kind or a.kind is ResourceKind.COUNTED:
        return NO
    if a.mode is not Mode.WRITE and b.mode is not Mode.WRITE:
        return NO
    return keys_overlap(a.kind, a.key, b.key)


def accesses_conflict(a: Access, b: Access) -> bool:
    """True when the two accesses certainly conflict (a :data:`MAYBE` is not certain)."""
    return conflict_verdict(a, b) is YES

"""Resource names: normalisation rules for paths, globs and named state.

This module decides what a resource key *is*. Paths are POSIX and relative to the plan root;
``./a/../b`` becomes ``b``; a trailing ``/`` marks a directory, which covers everything under
it; ``*``, ``**``, ``?`` and ``[...]`` make a glob. Named state is dotted and hierarchical:
``db`` covers ``db.users``. Test resources are paths (file rules) or names with a colon such as
``port:8080``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from waveplan.errors import CONTROL

__all__ = [
    "ROOT_DIR",
    "is_glob",
    "is_named_test_resource",
    "literal_segments",
    "normalize_path",
    "normalize_state",
    "normalize_test",
]

ROOT_DIR = "./"
_GLOB_CHARS = frozenset("*?[")


def is_glob(key: str) -> bool:
    """True when a normalised path key is a pattern rather than one path or directory."""
    return any(c in _GLOB_CHARS for c in key)


def literal_segments(segments: Sequence[str]) -> tuple[str, ...]:
    """The segments of a path key before its first wildcard segment: every path a glob
    covers starts with them."""
    return tuple(itertools.takewhile(lambda segment: not is_glob(segment), segments))


def _check_text(raw: str) -> str:
    text = raw.strip()
    if not text:
        raise ValueError("empty name")
    if CONTROL.search(text):
        raise ValueError(f"{raw!r} contains a control character")
    return text


def _has_drive(text: str) -> bool:
    """``C:``, ``C:\\x`` or ``C:/x``: a Windows drive, absolute (or drive-relative)."""
    return len(text) > 1 and text[1] == ":" and text[0].isascii() and text[0].isalpha()


def normalize_path(raw: str) -> str:
    """Normalise a path, directory or glob relative to the plan root.

    Raises ValueError (with the reason) for empty, absolute or escaping paths.
    """
    text = _check_text(raw)
    if text.startswith("/") or _has_drive(text):
        raise ValueError(f"'{text}' is absolute; paths are relative to the plan root")
    if "\\" in text and not is_glob(text):
        raise ValueError(f"'{text}' uses '\\'; write paths with '/'")
    is_dir = text.endswith(("/", "/.", "/..")) or text in (".", "..")
    parts: list[str] = []
    for segment in text.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if not parts:
                raise ValueError(f"'{text}' escapes the plan root")
            parts.pop()
            continue
        parts.append(segment)
    if not parts:
        return ROOT_DIR
    key = "/".join(parts)
    return key + "/" if is_dir else key


def normalize_state(raw: str) -> str:
    """Normalise a dotted state name such as ``db.users``."""
    text = _check_text(raw)
    if any(c.isspace() for c in text):
        raise ValueError(f"'{text}' contains whitespace")
    segments = text.split(".")
    if any(not s for s in segments):
        raise ValueError(f"'{text}' has an empty segment; write names like db.users")
    return text


def is_named_test_resource(text: str) -> bool:
    """``port:8080`` and ``fixture:users`` are names; ``tests/integration/``, ``C:/x`` are paths."""
    head, colon, tail = text.partition(":")
    windows_drive = len(head) == 1 and tail[:1] in ("", "/", "\\")
    return bool(colon) and "/" not in head and "\\" not in head and not windows_drive


def normalize_test(raw: str) -> str:
    """Normalise a test resource: a name with a colon, or a path with file rules."""
    text = _check_text(raw)
    if is_named_test_resource(text):
        if any(c.isspace() for c in text):
            raise ValueError(f"'{text}' contains whitespace")
        head, _, tail = text.partition(":")
        if not head or not tail:
            raise ValueError(f"'{text}' needs a kind and a name around ':', such as port:8080")
        return text
    return normalize_path(text)

"""The content-hash cache of what waveplan read in each file: ``.waveplan/infer-cache/``.

One JSON file, ``facts.json``, maps ``facet/language/digest`` to the facts one scan of a file
produced (its imports, its tables, its test fixtures). The digest is BLAKE2b of the file's
bytes, so an edited file is read again and a file moved or copied is not. Saving keeps only
the entries of files that still exist with that content, so the cache never grows past the
repository. A missing, corrupt or other-version cache is ignored and rebuilt, and so is an
entry its scan's loader rejects (:exc:`Unusable`); a cache that cannot be written is skipped
(the analysis does not depend on it).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

__all__ = [
    "CACHE_DIR",
    "FactCache",
    "Unusable",
    "digest",
    "stored_flag",
    "stored_number",
    "stored_text",
]

CACHE_DIR = Path(".waveplan") / "infer-cache"
_FILE = "facts.json"
# Bump when a scanner changes what it returns: old entries are then ignored.
VERSION = 3


T = TypeVar("T")


class Unusable(ValueError):
    """A cached entry that is not what its scan returns (edited by hand, or by another
    tool): a miss, scanned again."""


def stored_text(value: object) -> str:
    """A string read back from the cache (:exc:`Unusable` when it is not one)."""
    if not isinstance(value, str):
        raise Unusable(f"expected a string, got {type(value).__name__}")
    return value


def stored_number(value: object) -> int:
    """A whole number read back from the cache (:exc:`Unusable` when it is not one)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise Unusable(f"expected a whole number, got {type(value).__name__}")
    return value


def stored_flag(value: object) -> bool:
    """True or false read back from the cache (:exc:`Unusable` when it is neither)."""
    if not isinstance(value, bool):
        raise Unusable(f"expected true or false, got {type(value).__name__}")
    return value


def digest(data: bytes) -> str:
    """The content hash of a file's bytes."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class FactCache:
    """Facts by content hash; ``folder`` None keeps them in memory only."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.entries: dict[str, Any] = {}
        self.hits = 0
        self.misses = 0
        self._changed = False
        if folder is not None:
            self.entries = _read(folder / _FILE)

    def get(self, key: str, load: Callable[[Any], T]) -> T | None:
        """The facts stored under ``key``, as ``load`` makes them from the stored data
        (None: not cached, or stored in a shape ``load`` rejects)."""
        found = self.entries.get(key)
        if found is not None:
            try:
                loaded = load(found)
            except (TypeError, ValueError, KeyError, IndexError):  # Unusable is a ValueError
                pass
            else:
                self.hits += 1
                return loaded
        self.misses += 1
        return None

    def put(self, key: str, facts: Any) -> None:
        """Store the facts of one scan."""
        self.entries[key] = facts
        self._changed = True

    @property
    def changed(self) -> bool:
        """Whether facts were stored since the cache was read or saved."""
        return self._changed

    def digests(self) -> set[str]:
        """The content digests that have entries."""
        return {_digest_of(key) for key in self.entries}

    def save(self, digests: Iterable[str]) -> None:
        """Write the cache, keeping the entries of the given content digests only."""
        if self.folder is None:
            return
        live = set(digests)
        kept = {k: v for k, v in self.entries.items() if _digest_of(k) in live}
        if not self._changed and len(kept) == len(self.entries):
            return
        with contextlib.suppress(OSError):
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(prefix=".facts.", dir=self.folder)
            try:
                # dumps, not dump: the one-shot C encoder is several times faster
                text = json.dumps({"version": VERSION, "entries": kept}, separators=(",", ":"))
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text)
                Path(temporary).replace(self.folder / _FILE)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        self.entries = kept
        self._changed = False


def _digest_of(key: str) -> str:
    """The content digest an entry's key (``facet/language/digest``) ends with."""
    return key.rsplit("/", 1)[-1]


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != VERSION:
        return {}
    entries = data.get("entries")
    return entries if isinstance(entries, dict) else {}

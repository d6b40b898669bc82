"""Co-change from history: files that changed together with a task's declared files.

Pure: commits go in (oldest first, each the set of files it changed), predictions come out.
For a set of declared files, the *base* is the number of commits that changed any of them
(each declared file's ``recent`` latest commits: files move, split and drift apart, and old
commits say less about the code as it is); a file's *support* is the number of those commits
that also changed it, its *confidence* support / base. A file is "likely also touched" when
its support is at least ``min_support`` and its confidence at least ``threshold``. Commits
that change more than ``max_files`` files (mass renames, reformatting, vendoring) say nothing
about which files belong together and are left out. ``waveplan infer`` and
``bench/infer_history.py`` use this same code.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

__all__ = ["CoChange", "CoChangeIndex", "Commit", "HistorySettings"]

THRESHOLD = 0.5
MIN_SUPPORT = 2
MAX_FILES = 30
MAX_COMMITS = 5000
LIMIT = 20
RECENT = 10


@dataclass(frozen=True, slots=True)
class Commit:
    """One commit: its (abbreviated) id and the files it changed."""

    id: str
    files: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class HistorySettings:
    """How co-change is read; see the module docstring for the terms."""

    threshold: float = THRESHOLD
    min_support: int = MIN_SUPPORT
    max_files: int = MAX_FILES
    max_commits: int = MAX_COMMITS  # how far back ``git log`` is read
    limit: int = LIMIT  # at most this many predictions per task, the most confident first
    recent: int | None = RECENT  # commits counted per declared file, the latest first


@dataclass(frozen=True, slots=True)
class CoChange:
    """A file predicted to change with the declared ones."""

    file: str
    support: int
    base: int

    @property
    def confidence(self) -> float:
        """support / base."""
        return self.support / self.base if self.base else 0.0


class CoChangeIndex:
    """Commits indexed by file, added in order; predictions use the commits added so far."""

    def __init__(self, max_files: int = MAX_FILES) -> None:
        self.max_files = max_files
        self._commits: list[tuple[str, ...]] = []
        self._of: dict[str, list[int]] = {}

    @classmethod
    def of(cls, commits: Iterable[Commit], max_files: int) -> CoChangeIndex:
        """An index of these commits."""
        index = cls(max_files)
        for commit in commits:
            index.add(commit.files)
        return index

    def add(self, files: Sequence[str]) -> None:
        """Record one commit (ignored when it changed more than ``max_files`` files)."""
        unique = tuple(dict.fromkeys(files))
        if not unique or len(unique) > self.max_files:
            return
        number = len(self._commits)
        self._commits.append(unique)
        for file in unique:
            self._of.setdefault(file, []).append(number)

    def files(self) -> list[str]:
        """Every file some recorded commit changed."""
        return list(self._of)

    def commits_of(self, file: str) -> int:
        """How many recorded commits changed ``file``."""
        return len(self._of.get(file, ()))

    def predict(
        self,
        declared: Collection[str],
        *,
        threshold: float = THRESHOLD,
        min_support: int = MIN_SUPPORT,
        limit: int | None = LIMIT,
        recent: int | None = RECENT,
    ) -> list[CoChange]:
        """Files likely changed with ``declared``: most confident first, ties by support,
        then by name. ``recent`` None counts every commit."""
        wanted = set(declared)
        numbers: set[int] = set()
        for file in wanted:
            commits = self._of.get(file, [])
            numbers.update(commits if recent is None else commits[-recent:])
        base = len(numbers)
        if base < min_support:
            return []
        counts: Counter[str] = Counter()
        for number in numbers:
            counts.update(self._commits[number])
        found = [
            CoChange(file, support, base)
            for file, support in counts.items()
            if file not in wanted and support >= min_support and support >= threshold * base
        ]
        found.sort(key=lambda c: (-c.support, c.file))
        return found if limit is None else found[:limit]

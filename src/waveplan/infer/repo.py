"""The repository as the analyses see it: its files, their contents, its commit history.

This is the only part of :mod:`waveplan.infer` that touches the file system or runs ``git``.
Files are listed by ``git ls-files`` (tracked and untracked files that are not ignored) in a
git work tree, else by walking the folder without the usual vendored and generated folders.
Contents are read as UTF-8 (a byte order mark dropped, undecodable bytes replaced); binary
files and files over :data:`MAX_FILE_BYTES` are skipped. :class:`Sources` gives each file's
facts through the content-hash cache.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from waveplan.infer.cache import FactCache, digest
from waveplan.infer.cochange import Commit
from waveplan.infer.source import Language, language_of

__all__ = ["MAX_FILES", "MAX_FILE_BYTES", "Repository", "Sources", "text_of"]

T = TypeVar("T")

MAX_FILE_BYTES = 1_000_000
"""Larger files are generated or data, not code anyone edits by hand: not read."""
MAX_FILES = 500_000
"""A folder holding more files is not one project: refused rather than read for minutes."""
_SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".waveplan",
        "node_modules",
        "bower_components",
        ".venv",
        "venv",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
        ".nox",
        ".eggs",
        "site-packages",
        "dist",
        "build",
    }
)


@dataclass
class Repository:
    """A folder of source files, maybe a git work tree. Paths are POSIX, relative to it."""

    path: Path
    files: list[str]
    git: bool

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Repository:
        """List the repository's files (raises ValueError when it is not a folder)."""
        folder = Path(path).absolute()
        if not folder.is_dir():
            raise ValueError(f"{path}: not a folder")
        listed = _git_files(folder)
        git = listed is not None
        files = listed if listed is not None else _walk(folder)
        if len(files) > MAX_FILES:
            raise ValueError(
                f"{path}: more than {MAX_FILES:,} files; give the project's folder (--repo DIR)"
            )
        return cls(folder, files, git=git)

    def read(self, path: str) -> bytes | None:
        """A file's bytes (None when it is missing, too large or binary)."""
        try:
            full = self.path / path
            if full.stat().st_size > MAX_FILE_BYTES:
                return None
            data = full.read_bytes()
        except OSError:
            return None
        if b"\0" in data[:8192]:
            return None
        return data

    def log(self, max_commits: int) -> list[Commit]:
        """The last ``max_commits`` non-merge commits, oldest first, with the files each
        changed (paths relative to the repository; files outside it left out)."""
        if not self.git:
            return []
        result = _git(
            self.path,
            "log",
            "--no-merges",
            "--name-only",
            "--relative",
            "--format=%x00%h",
            f"--max-count={max_commits}",
        )
        if result is None:
            return []
        commits: list[Commit] = []
        for chunk in result.split("\0")[1:]:
            lines = chunk.splitlines()
            if not lines:
                continue
            files = tuple(sorted({line for line in lines[1:] if line}))
            if files:
                commits.append(Commit(lines[0].strip(), files))
        commits.reverse()
        return commits


def text_of(data: bytes) -> str:
    """A file's text: UTF-8 without its byte order mark (editors on Windows write one, and
    it would hide a first-line import or statement), undecodable bytes replaced."""
    return data.decode("utf-8-sig", errors="replace")


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), "-c", "core.quotepath=off", *args],
            capture_output=True,
            check=False,
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", errors="replace")


def _git_files(folder: Path) -> list[str] | None:
    inside = _git(folder, "rev-parse", "--is-inside-work-tree")
    if inside is None or inside.strip() != "true":
        return None
    tracked = _git(folder, "ls-files", "-z", "--cached")
    untracked = _git(folder, "ls-files", "-z", "--others", "--exclude-standard")
    deleted = _git(folder, "ls-files", "-z", "--deleted")
    if tracked is None or untracked is None:
        return None
    gone = set(deleted.split("\0")) if deleted else set()
    # git says what belongs to the project: a tracked build/ or dist/ folder is source like
    # any other. Files nobody added are new source, or a virtual environment or build output
    # that .gitignore forgot: those folders are left out as outside git.
    kept = (f for f in tracked.split("\0") if f and f not in gone and not _ours(f))
    new = (f for f in untracked.split("\0") if f and not _skipped(f))
    return sorted({*kept, *new})


def _skip_dir(name: str) -> bool:
    """Whether walking the folder leaves out a folder of this name."""
    return name in _SKIP_DIRS or name.endswith(".egg-info")


def _skipped(path: str) -> bool:
    """Whether the path is in a folder that walking the folder leaves out (.waveplan too)."""
    return any(map(_skip_dir, path.split("/")[:-1]))


def _ours(path: str) -> bool:
    """Whether the path is in a folder of waveplan's own (the cache, run logs)."""
    return ".waveplan" in path.split("/")[:-1]


def _walk(folder: Path) -> list[str]:
    found: list[str] = []
    for current, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not _skip_dir(d)]
        base = Path(current).relative_to(folder).as_posix()
        prefix = "" if base == "." else base + "/"
        found.extend(prefix + name for name in names)
        if len(found) > MAX_FILES:
            break  # refused by the caller; no need to walk the rest
    return sorted(found)


class Sources:
    """Facts of the repository's files, each computed once per content and cached."""

    def __init__(self, repo: Repository, cache: FactCache) -> None:
        self.repo = repo
        self.cache = cache
        self.digests: dict[str, str] = {}
        self.read_count = 0

    def facts(
        self,
        path: str,
        facet: str,
        scan: Callable[[str, Language, str], Any],
        load: Callable[[Any], T],
    ) -> T | None:
        """The facts of the file: ``load`` of the plain data ``scan(text, language, path)``
        returns, from the cache when its content was scanned before (None for files that
        are not read). An entry ``load`` rejects is scanned again."""
        language = language_of(path)
        if language is None:
            return None
        data = self.repo.read(path)
        if data is None:
            return None
        self.read_count += 1
        cache_key = f"{facet}/{language.value}/{self._digest(path, data)}"
        found = self.cache.get(cache_key, load)
        if found is None:
            facts = scan(text_of(data), language, path)
            self.cache.put(cache_key, facts)
            found = load(facts)
        return found

    def _digest(self, path: str, data: bytes) -> str:
        """The digest of a file's content (``data``), worked out once per run."""
        found = self.digests.get(path)
        if found is None:
            found = self.digests[path] = digest(data)
        return found

    def save(self) -> None:
        """Write the cache when this run scanned something, forgetting the contents that are
        gone: those no file of the repository holds, whether or not this run read the file
        (a run of fewer kinds, or of the written files only, must not forget what the others
        found). A run that scanned nothing (all from the cache, or no file read, as history
        alone) has nothing to write, so it hashes no file it did not read; the next run that
        writes drops what has gone since."""
        if self.cache.folder is None or not self.cache.changed:
            return
        live = set(self.digests.values())
        if self.cache.digests() - live:
            for path in self.repo.files:
                if path in self.digests or language_of(path) is None:
                    continue
                data = self.repo.read(path)
                if data is not None:
                    live.add(self._digest(path, data))
        self.cache.save(live)

"""A thin wrapper around the ``git`` command line, for isolated runs and ``check-merge``.

Every call is one ``git`` process with a fixed locale and no pager or prompts. Operations that
change git's metadata (worktrees, refs, merges) take :data:`METADATA_LOCK`, one per process:
concurrent ``git worktree add`` calls race on git's lock files. Commits never run hooks or
sign (``commit-tree``): they are waveplan's bookkeeping of the task's work. Their author is the
repository's configured identity, or ``waveplan <waveplan@localhost>`` when there is none.
Merges never touch a checkout: ``git merge-tree --write-tree`` computes the merged tree (or
the conflicting paths), ``commit-tree`` records it and ``update-ref`` moves the branch only if
nobody moved it meanwhile.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from waveplan.errors import UserError

__all__ = [
    "INDEX_LOCK_WAIT",
    "METADATA_LOCK",
    "Change",
    "Git",
    "GitError",
    "MergeResult",
    "Prediction",
    "find_repository",
    "predict_merge",
]

METADATA_LOCK = threading.RLock()
"""Held while changing worktrees, refs or the index of a checkout."""

INDEX_LOCK_WAIT = 5.0
"""Seconds to wait for another git process to release the index of a checkout that a merge
brings along (``--into HEAD``)."""

IDENTITY = ("waveplan", "waveplan@localhost")
"""The identity of waveplan's commits in a repository that configures none."""

_ENV = {
    "LC_ALL": "C",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_PAGER": "cat",
    "GIT_OPTIONAL_LOCKS": "0",  # `status` and `diff` must not take the index lock of a checkout
}


class GitError(UserError):
    """A git command failed; the message holds the command and git's own words."""


@dataclass(frozen=True, slots=True)
class Change:
    """One changed file between two commits: ``status`` is git's letter (A, M, D, T)."""

    status: str
    path: str


@dataclass(frozen=True, slots=True)
class MergeResult:
    """What merging two commits would give: the merged tree, or the conflicting paths."""

    tree: str
    conflicts: tuple[str, ...]

    @property
    def clean(self) -> bool:
        return not self.conflicts


@dataclass(frozen=True, slots=True)
class Prediction:
    """What merging two branches would do, found without merging.

    ``overlap`` are the files both changed since their merge base; ``conflicts`` the files
    whose changes collide (hunk precision: edits to different parts of one file merge).
    ``unrelated``: the two have no common history (git refuses to merge them).
    """

    ours: str
    theirs: str
    overlap: tuple[str, ...]
    conflicts: tuple[str, ...]
    unrelated: bool = False

    @property
    def verdict(self) -> str:
        """``clean``, ``file overlap, merges cleanly``, ``conflict`` or ``no common history``."""
        if self.unrelated:
            return "no common history"
        if self.conflicts:
            return "conflict"
        return "file overlap, merges cleanly" if self.overlap else "clean"

    @property
    def fails(self) -> bool:
        """Whether merging the two would stop: a conflict, or no common history."""
        return self.unrelated or bool(self.conflicts)


class Git:
    """The git repository (or worktree) at ``path``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def run(
        self,
        *args: str,
        cwd: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        stdin: bytes | None = None,
        ok: Sequence[int] = (0,),
    ) -> subprocess.CompletedProcess[bytes]:
        """Run ``git ARGS`` and return the finished process; raise :class:`GitError` when its
        exit status is not in ``ok``."""
        process = subprocess.run(
            ["git", *args],
            cwd=cwd or self.path,
            env={**os.environ, **_ENV, **(env or {})},
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )
        if process.returncode not in ok:
            said = (
                process.stderr.decode(errors="replace").strip()
                or process.stdout.decode(errors="replace").strip()
            )
            raise GitError(f"git {' '.join(args[:3])} failed in {cwd or self.path}: {said}")
        return process

    def text(self, *args: str, cwd: str | Path | None = None) -> str:
        """Standard output of ``git ARGS``, without the final newline."""
        return self.run(*args, cwd=cwd).stdout.decode().rstrip("\n")

    # --- the repository ----------------------------------------------------------------------

    def toplevel(self) -> Path:
        return Path(self.text("rev-parse", "--show-toplevel"))

    def common_dir(self) -> Path:
        """The repository's git folder, shared by all its worktrees."""
        return Path(self.text("rev-parse", "--path-format=absolute", "--git-common-dir"))

    def prefix(self) -> str:
        """Where ``path`` is inside its worktree (``""`` at the top, else ``sub/dir/``)."""
        return self.text("rev-parse", "--show-prefix")

    def rev(self, ref: str) -> str | None:
        """The commit ``ref`` names, or None when it names none."""
        process = self.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", ok=(0, 1))
        if process.returncode != 0:
            return None
        return process.stdout.decode().strip() or None

    def current_branch(self) -> str | None:
        """The branch checked out at ``path`` (None when HEAD is detached)."""
        process = self.run("symbolic-ref", "--quiet", "--short", "HEAD", ok=(0, 1))
        if process.returncode != 0:
            return None
        return process.stdout.decode().strip() or None

    def dirty_files(self) -> list[str]:
        """Tracked files with uncommitted changes (staged or not) in the checkout at
        ``path``; untracked files do not count."""
        out = self.run("status", "--porcelain=v1", "-z", "--untracked-files=no").stdout
        entries = out.decode(errors="surrogateescape").split("\0")
        found: list[str] = []
        skip = False
        for entry in entries:
            if skip:  # the source path of a rename
                skip = False
                continue
            if len(entry) > 3:
                found.append(entry[3:])
                skip = entry[0] in "RC"
        return found

    def untracked_files(self) -> list[str]:
        """Untracked files (not ignored) in the checkout at ``path``."""
        out = self.run("ls-files", "--others", "--exclude-standard", "-z").stdout
        return [p for p in out.decode(errors="surrogateescape").split("\0") if p]

    def commit_time(self, commit: str) -> float:
        """When a commit was made: its committer date, in whole seconds since the epoch."""
        return float(self.text("show", "-s", "--format=%ct", commit, "--"))

    def is_ancestor(self, older: str, newer: str) -> bool:
        return self.run("merge-base", "--is-ancestor", older, newer, ok=(0, 1)).returncode == 0

    def merge_base(self, a: str, b: str) -> str | None:
        process = self.run("merge-base", a, b, ok=(0, 1))
        return process.stdout.decode().strip() or None

    def branches(self, prefix: str) -> dict[str, str]:
        """Local branches under ``prefix`` (``waveplan/``) and their commits."""
        out = self.text("for-each-ref", "--format=%(objectname) %(refname)", f"refs/heads/{prefix}")
        found: dict[str, str] = {}
        for line in out.splitlines():
            sha, _, ref = line.partition(" ")
            found[ref.removeprefix("refs/heads/")] = sha
        return found

    def clashing_branch(self, branch: str) -> str | None:
        """A branch that keeps ``branch`` from being created, or None: git cannot hold a
        branch ``a`` and a branch ``a/b`` at once, so a branch named like one of its folders
        (``feature`` for ``feature/wp``) or one below it (``feature/wp/x``) clashes."""
        parts = branch.split("/")
        folders = ["/".join(parts[:n]) for n in range(1, len(parts))]
        # (a pattern matches the ref it names and the refs below it: keep the clashing ones)
        out = self.text(
            "for-each-ref",
            "--format=%(refname)",
            *(f"refs/heads/{folder}" for folder in folders),
            f"refs/heads/{branch}/",
        )
        for line in out.splitlines():
            name = line.removeprefix("refs/heads/")
            if name in folders or name.startswith(f"{branch}/"):
                return name
        return None

    def checked_out(self) -> dict[str, Path]:
        """Branches checked out in any worktree of the repository, with the worktree."""
        found: dict[str, Path] = {}
        path: Path | None = None
        for line in self.text("worktree", "list", "--porcelain").splitlines():
            if line.startswith("worktree "):
                path = Path(line.removeprefix("worktree "))
            elif line.startswith("branch ") and path is not None:
                found[line.removeprefix("branch refs/heads/")] = path
        return found

    def worktrees(self) -> list[Path]:
        """Every worktree of the repository (the main one first)."""
        return [
            Path(line.removeprefix("worktree "))
            for line in self.text("worktree", "list", "--porcelain").splitlines()
            if line.startswith("worktree ")
        ]

    # --- changes ----------------------------------------------------------------------------

    def changes(self, old: str, new: str) -> list[Change]:
        """Files that differ between two commits (renames as a deletion and an addition)."""
        out = self.run(
            "diff", "--name-status", "-z", "--no-renames", "--no-ext-diff", old, new, "--"
        ).stdout  # (``--``: a branch named like a folder, ``docs``, is no path)
        fields = out.decode(errors="surrogateescape").split("\0")
        return [
            Change(fields[i][:1], fields[i + 1]) for i in range(0, len(fields) - 1, 2) if fields[i]
        ]

    def merge_tree(self, ours: str, theirs: str) -> MergeResult:
        """Merge two commits (or branches) without touching any checkout (git 2.38 or
        later); each conflict is named by the path the two sides wrote."""
        process = self.run(
            "merge-tree",
            "--write-tree",
            "--name-only",
            "--no-messages",
            "-z",
            ours,
            theirs,
            ok=(0, 1),
        )
        fields = process.stdout.decode(errors="surrogateescape").split("\0")
        conflicts: list[str] = []
        for field in fields[1:]:
            if not field:
                break
            conflicts.append(_written_path(field, (ours, theirs)))
        if process.returncode == 1 and not conflicts:  # pragma: no cover - git says so always
            raise GitError(f"git merge-tree reported a conflict between {ours} and {theirs}")
        return MergeResult(fields[0], tuple(dict.fromkeys(conflicts)))

    def blob(self, tree: str, path: str) -> bytes | None:
        """The content of the file at ``path`` in ``tree`` (None when it is no file there)."""
        process = self.run("cat-file", "blob", f"{tree}:{path}", ok=(0, 128))
        return process.stdout if process.returncode == 0 else None

    def log_messages(self, since: str | None, until: str) -> list[tuple[str, str]]:
        """``(commit, message)`` of the first-parent history from ``since`` (excluded) to
        ``until``, newest first."""
        span = until if since is None else f"{since}..{until}"
        out = self.run("log", "--first-parent", "--format=%H%x00%B%x00", span, "--").stdout
        fields = out.decode(errors="replace").split("\0")
        return [
            (fields[i].strip(), fields[i + 1]) for i in range(0, len(fields) - 1, 2) if fields[i]
        ]

    # --- writing ----------------------------------------------------------------------------

    def identity_env(self) -> dict[str, str]:
        """Environment giving commits an author: empty when the repository (or the
        environment) has one, else waveplan's for whatever is missing."""
        env: dict[str, str] = {}
        for key, fallback in zip(("name", "email"), IDENTITY, strict=True):
            configured = self.run("config", "--get", f"user.{key}", ok=(0, 1)).stdout.strip()
            for who in ("AUTHOR", "COMMITTER"):
                variable = f"GIT_{who}_{key.upper()}"
                if not configured and not os.environ.get(variable):
                    env[variable] = fallback
        return env

    def commit_worktree(self, worktree: Path, branch: str, message: str) -> str:
        """Commit everything that changed in ``worktree`` (new, modified and deleted files;
        ignored files excepted) on ``branch``; returns the branch's commit, unchanged when
        nothing changed."""
        self.run("add", "--all", "--", ".", cwd=worktree)
        tree = self.text("write-tree", cwd=worktree)
        with METADATA_LOCK:
            parent = self.rev(f"refs/heads/{branch}")
            if parent is None:
                raise GitError(f"branch {branch} is gone")
            if self.text("rev-parse", f"{parent}^{{tree}}") == tree:
                return parent
            commit = self.commit_tree(tree, [parent], message)
            self.update_ref(branch, commit, parent)
        return commit

    def commit_tree(self, tree: str, parents: Sequence[str], message: str) -> str:
        args = ["-c", "commit.gpgSign=false", "commit-tree", tree]
        for parent in parents:
            args += ["-p", parent]
        return (
            self.run(*args, env=self.identity_env(), stdin=message.encode()).stdout.decode().strip()
        )

    def update_ref(self, branch: str, new: str, old: str | None) -> bool:
        """Move ``branch`` to ``new`` if it is at ``old`` (None: if it does not exist yet);
        returns False when someone else moved it."""
        expected = old if old is not None else "0" * 40
        process = self.run(
            "update-ref", "-m", "waveplan", f"refs/heads/{branch}", new, expected, ok=(0, 1, 128)
        )
        return process.returncode == 0

    def delete_branch(self, branch: str, checked_out: Mapping[str, Path] | None = None) -> None:
        """Delete a branch; raise :class:`GitError` when a worktree (the main checkout
        included) has it checked out: ``update-ref -d`` would leave that checkout on a branch
        that no longer exists. ``checked_out`` is :meth:`checked_out`, when the caller has
        just listed it."""
        with METADATA_LOCK:
            checkout = (self.checked_out() if checked_out is None else checked_out).get(branch)
            if checkout is not None:
                raise GitError(
                    f"branch {branch} is checked out in {checkout}: check out another branch "
                    "there first"
                )
            self.run("update-ref", "-d", f"refs/heads/{branch}", ok=(0, 1))

    def add_worktree(self, path: Path, branch: str, start: str) -> None:
        """A new worktree at ``path`` on a new branch starting at ``start``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with METADATA_LOCK:
            self.run(
                "-c",
                "core.hooksPath=/dev/null",
                "worktree",
                "add",
                "--quiet",
                "-b",
                branch,
                str(path),
                start,
            )

    def remove_worktree(self, path: Path) -> None:
        """Remove a worktree, whatever it holds; nothing when it is not one."""
        with METADATA_LOCK:
            if path.exists():
                self.run("worktree", "remove", "--force", "--force", str(path), ok=(0, 128))
            if path.exists():  # not (or no longer) registered: only the folder is left
                shutil.rmtree(path, ignore_errors=True)
            self.run("worktree", "prune")

    def fast_forward_checkout(
        self, checkout: Path, old: str, new: str, *, wait: float | None = None
    ) -> str | None:
        """Bring the index and files of ``checkout`` from commit ``old`` to ``new``, keeping
        the user's uncommitted changes to files the step does not touch; None when done, else
        git's words saying why not, with nothing changed (most often: it would overwrite one
        of those changes).

        Another git process holding the checkout's index lock (an editor's, a ``git status``
        elsewhere) is waited for, ``wait`` seconds at most (default INDEX_LOCK_WAIT): git
        takes the lock without waiting, and that process is done in a moment.
        """
        deadline = time.monotonic() + (INDEX_LOCK_WAIT if wait is None else wait)
        pause = 0.02
        lock: Path | None = None
        with METADATA_LOCK:
            while True:
                process = self.run("read-tree", "-m", "-u", old, new, cwd=checkout, ok=(0, 128))
                if process.returncode == 0:
                    return None
                said = process.stderr.decode(errors="replace").strip()
                if lock is None:
                    where = ("--path-format=absolute", "--git-path", "index.lock")
                    lock = Path(self.text("rev-parse", *where, cwd=checkout))
                # (the lock may be gone already: git's words say it was the reason)
                locked = lock.exists() or f"'{lock}': File exists" in said
                if not locked or time.monotonic() + pause > deadline:
                    return said
                time.sleep(pause)
                pause = min(2 * pause, 0.25)


def predict_merge(repo: Git, ours: str, theirs: str) -> Prediction:
    """Predict merging ``theirs`` into ``ours`` (branch names or commits)."""
    base = repo.merge_base(ours, theirs)
    if base is None:
        return Prediction(ours, theirs, (), (), unrelated=True)
    mine = {c.path for c in repo.changes(base, ours)}
    other = {c.path for c in repo.changes(base, theirs)}
    result = repo.merge_tree(ours, theirs)
    return Prediction(ours, theirs, tuple(sorted(mine & other)), result.conflicts)


def _written_path(path: str, sides: Sequence[str]) -> str:
    """The path a conflict of merging ``sides`` is about. A file one side has where the other
    has a folder is listed under the name git gives it in the merged tree, ``b.txt~<side>``
    (a branch's ``/`` as ``_``, a commit as given): name the path both sides wrote."""
    for side in sides:
        for name in (side, side.replace("/", "_")):
            suffix = f"~{name}"
            if path.endswith(suffix) and len(path) > len(suffix):
                return path[: -len(suffix)]
    return path


def find_repository(path: str | Path) -> Git | None:
    """The git repository holding ``path``, or None when it is not in one; raises
    :class:`GitError` when git is not installed."""
    if shutil.which("git") is None:
        raise GitError("git is not installed (or not on PATH)")
    folder = Path(path)
    try:
        process = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=folder,
            env={**os.environ, **_ENV},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )
    except (FileNotFoundError, NotADirectoryError):
        return None
    if process.returncode != 0:
        return None
    return Git(folder)

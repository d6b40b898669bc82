"""Small real git repositories for the ``waveplan infer`` tests: files, commits, a plan."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from textwrap import dedent
from typing import Any

__all__ = ["commit", "git", "make_repo", "write_plan"]


def git(root: Path, *args: str) -> str:
    """Run git in ``root`` and return its output."""
    done = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=True
    )
    return done.stdout


def commit(root: Path, files: Mapping[str, str | None], message: str) -> None:
    """Write (or, for None, delete) the files and commit them."""
    for name, text in files.items():
        path = root / name
        if text is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text).lstrip("\n"), encoding="utf-8")
    git(root, "add", "-A")
    git(root, "-c", "user.name=Test", "-c", "user.email=test@example.com", "commit", "-qm", message)


def make_repo(
    root: Path,
    files: Mapping[str, str],
    history: Sequence[Mapping[str, str | None]] = (),
) -> Path:
    """A git repository holding ``files`` (dedented) in one commit, then one commit per
    mapping of ``history``."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q")
    commit(root, files, "initial")
    for number, change in enumerate(history, start=1):
        commit(root, change, f"change {number}")
    return root


def write_plan(root: Path, tasks: Sequence[Mapping[str, Any]], name: str = "plan.json") -> Path:
    """A task file in ``root`` (not committed: it is not part of the code)."""
    path = root / name
    path.write_text(json.dumps({"tasks": list(tasks)}), encoding="utf-8")
    return path

"""Real git repositories for tests: made in a temporary folder, with a fixed identity and no
global or system git configuration."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

IDENTITY = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.com",
}


@pytest.fixture(autouse=True)
def no_git_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Neither the machine's nor the user's git configuration, nor an identity from the
    environment, reaches the repositories of a test (waveplan's own commits included)."""
    empty = tmp_path / "gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in IDENTITY:
        monkeypatch.delenv(name, raising=False)
    yield


def git(repo: Path, *args: str, check: bool = True) -> str:
    """Run git in ``repo`` with the test identity; return its standard output, stripped."""
    process = subprocess.run(
        ["git", *args],
        cwd=repo,
        env={**os.environ, **IDENTITY},
        capture_output=True,
        text=True,
        check=False,
    )
    if check and process.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {process.stderr}")
    return process.stdout.strip()


def make_repo(
    path: Path, files: Mapping[str, str], *, identity: bool = True, ignore_state: bool = True
) -> Path:
    """A repository on branch ``main`` with one commit holding ``files``; with ``identity``
    the repository configures its user (so waveplan commits as that user)."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    if identity:
        git(path, "config", "user.name", "Repo User")
        git(path, "config", "user.email", "repo@example.com")
    contents = dict(files)
    if ignore_state:
        contents.setdefault(".gitignore", ".waveplan/\n")
    for name, text in contents.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(path, "add", "--all")
    git(path, "commit", "-q", "-m", "initial")
    return path


def commit_files(repo: Path, files: Mapping[str, str | None], message: str) -> str:
    """Write (or, for None, delete) files and commit them; returns the commit."""
    for name, text in files.items():
        target = repo / name
        if text is None:
            target.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
    git(repo, "add", "--all")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def show(repo: Path, ref: str, path: str) -> str | None:
    """A file's content at ``ref`` (None when it is not there)."""
    process = subprocess.run(
        ["git", "show", f"{ref}:{path}"], cwd=repo, capture_output=True, text=True, check=False
    )
    return process.stdout if process.returncode == 0 else None


def files_at(repo: Path, ref: str) -> set[str]:
    """Every file in the tree of ``ref``."""
    return set(git(repo, "ls-tree", "-r", "--name-only", ref).splitlines())


def branches(repo: Path) -> set[str]:
    return set(git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads").splitlines())

"""Tests of ``waveplan check-merge``: predicting conflicts between finished branches without
merging them, on a real repository."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitrepo import commit_files, git, make_repo, no_git_config
from waveplan.cli import main

__all__ = ["no_git_config"]

LINES = "".join(f"line {n}\n" for n in range(1, 21))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Branches from one commit: ``top`` and ``bottom`` edit different ends of f.txt,
    ``clash`` the same line as ``top``, ``other`` another file."""
    path = make_repo(tmp_path / "repo", {"f.txt": LINES, "g.txt": "g\n"})
    for name, files in (
        ("top", {"f.txt": LINES.replace("line 1\n", "top\n")}),
        ("bottom", {"f.txt": LINES.replace("line 20\n", "bottom\n")}),
        ("clash", {"f.txt": LINES.replace("line 1\n", "clash\n")}),
        ("other", {"g.txt": "other\n"}),
    ):
        git(path, "checkout", "-q", "-b", name, "main")
        commit_files(path, files, name)
    git(path, "checkout", "-q", "main")
    return path


def check(capsys: pytest.CaptureFixture[str], repo: Path, *args: str) -> tuple[int, str, str]:
    code = main(["check-merge", "--root", str(repo), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_same_file_that_merges_cleanly_is_told_from_a_conflict(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One line per pair: clean, file overlap that merges cleanly, or conflict with the
    paths; exit 1 because one pair conflicts."""
    code, out, _ = check(capsys, repo, "top", "bottom", "clash")
    assert code == 1
    assert out == (
        "top + bottom: file overlap, merges cleanly (f.txt)\n"
        "top + clash: conflict: f.txt\n"
        "bottom + clash: file overlap, merges cleanly (f.txt)\n"
    )


def test_branches_that_merge_exit_zero(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No conflict: exit 0; different files are simply clean."""
    code, out, _ = check(capsys, repo, "top", "other", "bottom")
    assert code == 0
    assert "top + other: clean\n" in out


def test_into_checks_each_branch_against_the_integration_branch(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --into, each branch is also checked against it; the repository is unchanged."""
    head = git(repo, "rev-parse", "HEAD")
    refs = git(repo, "for-each-ref")
    code, out, _ = check(capsys, repo, "clash", "--into", "top", "--format", "json")
    assert code == 1
    assert json.loads(out) == [
        {
            "branches": ["top", "clash"],
            "verdict": "conflict",
            "overlap": ["f.txt"],
            "conflicts": ["f.txt"],
        }
    ]
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "for-each-ref") == refs
    assert git(repo, "status", "--porcelain") == ""


def test_unknown_branches_and_lone_branches_are_usage_errors(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown branch is named (exit 2); one branch without --into has nothing to check."""
    code, _, err = check(capsys, repo, "top", "nope")
    assert code == 2
    assert "no branch or commit 'nope'" in err
    code, _, err = check(capsys, repo, "top")
    assert code == 2
    assert "give two branches, or one with --into" in err


def test_branches_named_like_folders_and_file_folder_clashes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A branch named like a folder of the checkout (``docs``) is a branch, not a path (git
    called it ambiguous); a file on one side where the other has a folder is named by its
    path, not by git's ``b.txt~branch``."""
    path = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    for name, files in (
        ("docs", {"docs/x.md": "x\n", "b.txt": "file\n"}),
        ("feat", {"b.txt/inner.txt": "folder\n"}),
    ):
        git(path, "checkout", "-q", "-b", name, "main")
        commit_files(path, files, name)
    git(path, "checkout", "-q", "docs")  # docs/ is a folder of this checkout
    monkeypatch.chdir(path)
    code, out, err = check(capsys, path, "docs", "feat")
    assert code == 1, err
    assert out == "docs + feat: conflict: b.txt\n"


def test_a_pair_without_common_history_does_not_stop_the_others(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An orphan branch has no common history with the others: its pairs say so (exit 1) and
    the other pairs are still checked (it was one error for all)."""
    git(repo, "checkout", "-q", "--orphan", "orph")
    git(repo, "rm", "-q", "-r", "-f", ".")
    commit_files(repo, {"o.txt": "o\n"}, "orphan")
    git(repo, "checkout", "-q", "main")
    code, out, _ = check(capsys, repo, "top", "other", "orph")
    assert code == 1
    assert out == (
        "top + other: clean\n"
        "top + orph: no common history (git refuses to merge them)\n"
        "other + orph: no common history (git refuses to merge them)\n"
    )

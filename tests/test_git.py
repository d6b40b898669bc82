"""Tests of the git wrapper (:mod:`waveplan.run.git`) on real repositories."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from gitrepo import branches, commit_files, git, make_repo, no_git_config, show
from waveplan.run.git import Git, GitError, find_repository, predict_merge

__all__ = ["no_git_config"]

LINES = "".join(f"line {n}\n" for n in range(1, 21))


def edit(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new)


def test_find_repository_outside_a_repository_is_none(tmp_path: Path) -> None:
    """A folder outside any repository has none; a subfolder of one has its repository."""
    assert find_repository(tmp_path / "missing") is None
    assert find_repository(tmp_path) is None
    repo = make_repo(tmp_path / "repo", {"sub/a.txt": "a\n"})
    found = find_repository(repo / "sub")
    assert found is not None
    assert found.toplevel() == repo.resolve()
    assert found.prefix() == "sub/"


def test_rev_and_current_branch(tmp_path: Path) -> None:
    """Refs resolve to commits, unknown ones to None; a detached HEAD has no branch."""
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    wrapper = Git(repo)
    head = git(repo, "rev-parse", "HEAD")
    assert wrapper.rev("refs/heads/main") == head
    assert wrapper.rev("no-such-branch") is None
    assert wrapper.current_branch() == "main"
    git(repo, "checkout", "-q", "--detach")
    assert wrapper.current_branch() is None


def test_changes_list_additions_modifications_and_deletions(tmp_path: Path) -> None:
    """A diff between two commits names each changed file once, renames as delete + add."""
    repo = make_repo(tmp_path / "repo", {"keep.txt": "k\n", "gone.txt": "g\n", "old.txt": "o\n"})
    base = git(repo, "rev-parse", "HEAD")
    git(repo, "mv", "old.txt", "new.txt")
    head = commit_files(repo, {"keep.txt": "k2\n", "gone.txt": None, "dir/add.txt": "a\n"}, "c")
    changes = {(c.status, c.path) for c in Git(repo).changes(base, head)}
    assert changes == {
        ("M", "keep.txt"),
        ("D", "gone.txt"),
        ("A", "dir/add.txt"),
        ("D", "old.txt"),
        ("A", "new.txt"),
    }


def test_merge_tree_merges_edits_to_different_parts_of_one_file(tmp_path: Path) -> None:
    """Two branches editing different hunks of one file merge cleanly, both edits kept."""
    repo = make_repo(tmp_path / "repo", {"f.txt": LINES})
    git(repo, "branch", "a")
    git(repo, "branch", "b")
    git(repo, "checkout", "-q", "a")
    commit_files(repo, {"f.txt": edit(LINES, "line 2\n", "line two\n")}, "a")
    git(repo, "checkout", "-q", "b")
    commit_files(repo, {"f.txt": edit(LINES, "line 19\n", "line nineteen\n")}, "b")
    result = Git(repo).merge_tree("a", "b")
    assert result.clean
    merged = git(repo, "cat-file", "-p", f"{result.tree}:f.txt")
    assert "line two" in merged
    assert "line nineteen" in merged


def test_merge_tree_reports_the_conflicting_paths(tmp_path: Path) -> None:
    """Edits to the same lines, and a modification of a file the other side deleted, are
    conflicts; an unrelated change is not listed."""
    repo = make_repo(tmp_path / "repo", {"f.txt": LINES, "d.txt": "d\n", "x.txt": "x\n"})
    git(repo, "branch", "a")
    git(repo, "branch", "b")
    git(repo, "checkout", "-q", "a")
    commit_files(repo, {"f.txt": edit(LINES, "line 5\n", "A5\n"), "d.txt": None}, "a")
    git(repo, "checkout", "-q", "b")
    commit_files(
        repo, {"f.txt": edit(LINES, "line 5\n", "B5\n"), "d.txt": "d2\n", "x.txt": "y\n"}, "b"
    )
    result = Git(repo).merge_tree("a", "b")
    assert not result.clean
    assert sorted(result.conflicts) == ["d.txt", "f.txt"]


def test_predict_merge_tells_clean_file_overlap_and_conflict(tmp_path: Path) -> None:
    """Different files: clean; one file, different hunks: file overlap, merges cleanly; the
    same lines: conflict."""
    repo = make_repo(tmp_path / "repo", {"f.txt": LINES, "g.txt": "g\n"})
    for name, files in (
        ("top", {"f.txt": edit(LINES, "line 1\n", "top\n")}),
        ("bottom", {"f.txt": edit(LINES, "line 20\n", "bottom\n")}),
        ("clash", {"f.txt": edit(LINES, "line 1\n", "clash\n")}),
        ("other", {"g.txt": "other\n"}),
    ):
        git(repo, "checkout", "-q", "-b", name, "main")
        commit_files(repo, files, name)
    wrapper = Git(repo)
    assert predict_merge(wrapper, "top", "other").verdict == "clean"
    overlap = predict_merge(wrapper, "top", "bottom")
    assert overlap.verdict == "file overlap, merges cleanly"
    assert overlap.overlap == ("f.txt",)
    clash = predict_merge(wrapper, "top", "clash")
    assert clash.verdict == "conflict"
    assert clash.conflicts == ("f.txt",)


def test_commit_worktree_commits_as_the_repository_user(tmp_path: Path) -> None:
    """Changes, new files and deletions are committed on the branch as the configured user;
    ignored files are not; with nothing changed the branch stays where it was."""
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n", "b.txt": "b\n", ".gitignore": "*.log\n"})
    wrapper = Git(repo)
    git(repo, "branch", "work")
    tree = tmp_path / "tree"
    wrapper.add_worktree(tree, "side", "work")
    (tree / "a.txt").write_text("changed\n")
    (tree / "b.txt").unlink()
    (tree / "new.txt").write_text("new\n")
    (tree / "noise.log").write_text("ignored\n")
    before = wrapper.rev("refs/heads/side")
    commit = wrapper.commit_worktree(tree, "side", "waveplan: t1")
    assert commit != before
    assert git(repo, "log", "-1", "--format=%an <%ae>|%s", commit) == (
        "Repo User <repo@example.com>|waveplan: t1"
    )
    assert show(repo, commit, "a.txt") == "changed\n"
    assert show(repo, commit, "b.txt") is None
    assert show(repo, commit, "new.txt") == "new\n"
    assert show(repo, commit, "noise.log") is None
    assert wrapper.commit_worktree(tree, "side", "again") == commit


def test_commit_worktree_without_an_identity_commits_as_waveplan(tmp_path: Path) -> None:
    """A repository with no user configured (and none in the environment) gets waveplan's
    identity instead of failing."""
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"}, identity=False)
    wrapper = Git(repo)
    tree = tmp_path / "tree"
    wrapper.add_worktree(tree, "side", "main")
    (tree / "a.txt").write_text("b\n")
    commit = wrapper.commit_worktree(tree, "side", "waveplan: t1")
    assert git(repo, "log", "-1", "--format=%an <%ae> / %cn", commit) == (
        "waveplan <waveplan@localhost> / waveplan"
    )


def test_update_ref_moves_a_branch_only_from_the_expected_commit(tmp_path: Path) -> None:
    """Compare-and-swap: a branch moves only if it is where the caller thinks; None expects
    a branch that does not exist yet."""
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    first = git(repo, "rev-parse", "HEAD")
    second = commit_files(repo, {"a.txt": "b\n"}, "second")
    wrapper = Git(repo)
    assert wrapper.update_ref("target", first, None)
    assert not wrapper.update_ref("target", second, None)
    assert not wrapper.update_ref("target", second, second)
    assert wrapper.rev("refs/heads/target") == first
    assert wrapper.update_ref("target", second, first)
    assert wrapper.rev("refs/heads/target") == second


def test_delete_branch_refuses_a_branch_checked_out_anywhere(tmp_path: Path) -> None:
    """A branch checked out in the main checkout or in a linked worktree is not deleted
    (``update-ref -d`` would leave that checkout on a branch that no longer exists); others
    are."""
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    wrapper = Git(repo)
    git(repo, "branch", "free")
    git(repo, "branch", "elsewhere")
    git(repo, "worktree", "add", "-q", str(tmp_path / "tree"), "elsewhere")
    for branch, where in (("main", repo), ("elsewhere", tmp_path / "tree")):
        with pytest.raises(GitError, match=f"branch {branch} is checked out in {where.resolve()}"):
            wrapper.delete_branch(branch)
    wrapper.delete_branch("free")
    assert branches(repo) == {"main", "elsewhere"}


def test_concurrent_worktree_adds_all_succeed(tmp_path: Path) -> None:
    """Many threads adding worktrees at once all succeed: metadata operations are serialized
    (unserialized, git's lock files make some of them fail)."""
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    wrapper = Git(repo)
    errors: list[BaseException] = []

    def add(number: int) -> None:
        try:
            wrapper.add_worktree(tmp_path / "trees" / f"t{number}", f"w/t{number}", "main")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert {f"w/t{n}" for n in range(12)} <= branches(repo)
    assert len(wrapper.worktrees()) == 13
    for number in range(12):
        wrapper.remove_worktree(tmp_path / "trees" / f"t{number}")
    assert len(wrapper.worktrees()) == 1


def test_remove_worktree_removes_one_holding_changes(tmp_path: Path) -> None:
    """A worktree with uncommitted and untracked files is removed all the same."""
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    wrapper = Git(repo)
    tree = tmp_path / "tree"
    wrapper.add_worktree(tree, "side", "main")
    (tree / "a.txt").write_text("dirty\n")
    (tree / "untracked.txt").write_text("u\n")
    wrapper.remove_worktree(tree)
    assert not tree.exists()
    assert wrapper.worktrees() == [repo.resolve()]


def test_dirty_files_ignore_untracked_files(tmp_path: Path) -> None:
    """Uncommitted changes to tracked files count, staged or not; untracked files do not."""
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n", "b.txt": "b\n"})
    wrapper = Git(repo)
    (repo / "new.txt").write_text("n\n")
    assert wrapper.dirty_files() == []
    (repo / "a.txt").write_text("changed\n")
    git(repo, "mv", "b.txt", "c.txt")
    assert sorted(wrapper.dirty_files()) == ["a.txt", "c.txt"]


def test_fast_forward_checkout_keeps_the_users_other_changes(tmp_path: Path) -> None:
    """A checkout moves to a newer commit keeping untracked files and edits to files the step
    does not change; it refuses, changing nothing, when an edited file would be overwritten."""
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n", "b.txt": "b\n"})
    old = git(repo, "rev-parse", "HEAD")
    new = commit_files(repo, {"a.txt": "a2\n"}, "new")
    git(repo, "reset", "-q", "--hard", old)
    (repo / "untracked.txt").write_text("mine\n")
    (repo / "b.txt").write_text("my edit\n")
    wrapper = Git(repo)
    assert wrapper.fast_forward_checkout(repo, old, new) is None
    assert (repo / "a.txt").read_text() == "a2\n"
    assert (repo / "b.txt").read_text() == "my edit\n"
    assert (repo / "untracked.txt").read_text() == "mine\n"
    (repo / "a.txt").write_text("edited again\n")
    refused = wrapper.fast_forward_checkout(repo, new, old)
    assert refused is not None and "'a.txt' not uptodate" in refused
    assert (repo / "a.txt").read_text() == "edited again\n"
    assert (repo / "b.txt").read_text() == "my edit\n"


def test_fast_forward_checkout_waits_for_another_git_process(tmp_path: Path) -> None:
    """An index lock another git process holds for a moment is waited for (git's own
    read-tree gives up at once, which looked like a user's change in the way); one that
    stays past the wait gives git's own words, and nothing changed."""
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    old = git(repo, "rev-parse", "HEAD")
    new = commit_files(repo, {"a.txt": "a2\n"}, "new")
    git(repo, "reset", "-q", "--hard", old)
    lock = repo / ".git" / "index.lock"
    lock.touch()
    release = threading.Timer(0.3, lock.unlink)
    release.start()
    try:
        assert Git(repo).fast_forward_checkout(repo, old, new, wait=10) is None
    finally:
        release.join()
    assert (repo / "a.txt").read_text() == "a2\n"
    lock.touch()
    refused = Git(repo).fast_forward_checkout(repo, new, old, wait=0.2)
    assert refused is not None
    assert f"Unable to create '{lock.resolve()}': File exists." in refused
    assert (repo / "a.txt").read_text() == "a2\n"

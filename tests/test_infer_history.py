"""Co-change from history: the index the product and ``bench/infer_history.py`` share."""

from __future__ import annotations

from pathlib import Path

from inferrepo import make_repo
from waveplan.infer import CoChangeIndex, Commit
from waveplan.infer.repo import Repository


def _index(*commits: tuple[str, ...], max_files: int = 30) -> CoChangeIndex:
    return CoChangeIndex.of((Commit(str(n), c) for n, c in enumerate(commits)), max_files)


def test_prediction_counts_support_and_base() -> None:
    """Support: commits changing the file with the declared ones; base: commits changing the
    declared ones; ranked by support, then name."""
    index = _index(("a", "b", "c"), ("a", "b"), ("a", "c"), ("a",), ("b", "d"))
    found = index.predict(["a"], threshold=0.5, min_support=2)
    assert [(c.file, c.support, c.base) for c in found] == [("b", 2, 4), ("c", 2, 4)]
    assert found[0].confidence == 0.5


def test_threshold_and_min_support_filter() -> None:
    """Below the threshold or the minimum support, a file is not predicted."""
    index = _index(("a", "b", "c"), ("a", "b"), ("a", "c"), ("a",))
    assert index.predict(["a"], threshold=0.6, min_support=2) == []
    assert [c.file for c in index.predict(["a"], threshold=0.25, min_support=3)] == []
    assert [c.file for c in index.predict(["a"], threshold=0.25, min_support=1)] == ["b", "c"]


def test_several_declared_files_share_one_base() -> None:
    """The base is the commits changing any declared file; declared files are not predicted."""
    index = _index(("a", "x"), ("b", "x"), ("a", "b"))
    found = index.predict(["a", "b"], threshold=0.5, min_support=2)
    assert [(c.file, c.support, c.base) for c in found] == [("x", 2, 3)]


def test_large_commits_are_left_out() -> None:
    """A commit changing more than max_files files says nothing about what belongs together."""
    index = _index(("a", "b"), ("a", "b"), tuple("abcdefgh"), max_files=5)
    assert index.commits_of("a") == 2
    assert [c.file for c in index.predict(["a"], threshold=0.5, min_support=2)] == ["b"]


def test_limit_keeps_the_most_supported() -> None:
    """At most ``limit`` predictions, the best first."""
    index = _index(("a", "b", "c"), ("a", "b", "c"), ("a", "b"))
    assert [c.file for c in index.predict(["a"], min_support=2, limit=1)] == ["b"]


def test_git_log_is_read_oldest_first_without_merges(tmp_path: Path) -> None:
    """The repository's log: one commit per non-merge commit, oldest first, with its files."""
    repo = make_repo(
        tmp_path / "repo",
        {"a.py": "1\n", "b.py": "1\n"},
        [{"a.py": "2\n"}, {"b.py": "2\n", "c.py": "1\n"}],
    )
    commits = Repository.open(repo).log(100)
    assert [c.files for c in commits] == [("a.py", "b.py"), ("a.py",), ("b.py", "c.py")]
    assert Repository.open(repo).log(1)[0].files == ("b.py", "c.py")


def test_a_folder_that_is_not_a_repository_has_no_history(tmp_path: Path) -> None:
    """Outside git, files are listed by walking the folder and there is no log."""
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "x.js").write_text("1")
    (tmp_path / "a.py").write_text("1")
    repo = Repository.open(tmp_path)
    assert repo.files == ["a.py"]
    assert repo.log(10) == []


def test_only_recent_commits_of_each_declared_file_count() -> None:
    """Old commits of a file drop out: what changed with it long ago is not predicted."""
    index = _index(("a", "old"), ("a", "old"), ("a", "new"), ("a", "new"), ("b", "x"))
    assert [c.file for c in index.predict(["a"], recent=2)] == ["new"]
    assert [c.file for c in index.predict(["a"], recent=None)] == ["new", "old"]
    assert [(c.file, c.base) for c in index.predict(["a", "b"], recent=2)] == [("new", 3)]

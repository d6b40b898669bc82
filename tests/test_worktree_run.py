"""Tests of isolated runs (``waveplan run --isolate worktree``) with real git repositories and
real processes: parallel merges, real conflicts, dependencies, deletions, observed footprints,
``--learn``, ``--into HEAD``, ``--on-conflict rerun``, agents and ``clean``."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitrepo import branches, files_at, git, make_repo, no_git_config, show
from waveplan.cli import main
from waveplan.history import state_dir
from waveplan.run import git as git_module
from waveplan.run.lock import RunLock

__all__ = ["no_git_config"]

LINES = "".join(f"line {n}\n" for n in range(1, 21))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``waveplan ARGS`` in this process: exit code, standard output and error."""
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def report(capsys: pytest.CaptureFixture[str], root: Path) -> dict[str, Any]:
    code, out, err = run(capsys, "report", "--root", str(root), "--format", "json")
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


def by_id(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["id"]: t for t in data["tasks"]}


def plan_file(repo: Path, text: str) -> str:
    path = repo / "plan.yaml"
    path.write_text(text)
    return str(path)


def isolated(capsys: pytest.CaptureFixture[str], plan: str, *args: str) -> tuple[int, str]:
    """Run a plan in worktrees, quietly; returns the exit code and standard error."""
    code, _, err = run(capsys, "run", plan, "--isolate", "worktree", "-q", *args)
    return code, err


def worktrees(repo: Path) -> list[str]:
    return [
        line.removeprefix("worktree ")
        for line in git(repo, "worktree", "list", "--porcelain").splitlines()
        if line.startswith("worktree ")
    ]


def test_tasks_on_different_files_run_in_parallel_and_merge_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two tasks writing different files run at the same time, each in its own worktree on
    its own branch, and both merge into a new integration branch; the user's branch, checkout
    and other branches are untouched, and merged worktrees are removed."""
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n", "b.txt": "b\n"})
    times = tmp_path / "times"
    times.mkdir()
    plan = plan_file(
        repo,
        f"""
tasks:
  - id: t1
    files: [a.txt]
    run: "date +%s.%N > {times}/t1.start; sleep 0.6; echo A > a.txt; date +%s.%N > {times}/t1.end"
  - id: t2
    files: [b.txt]
    run: "date +%s.%N > {times}/t2.start; sleep 0.6; echo B > b.txt; date +%s.%N > {times}/t2.end"
""",
    )
    head = git(repo, "rev-parse", "HEAD")
    code, err = isolated(capsys, plan)
    assert code == 0, err

    def span(task: str) -> tuple[float, float]:
        return float((times / f"{task}.start").read_text()), float(
            (times / f"{task}.end").read_text()
        )

    (s1, e1), (s2, e2) = span("t1"), span("t2")
    assert s1 < e2 and s2 < e1, "the two tasks did not overlap in time"
    data = report(capsys, repo)
    integration = data["integration_branch"]
    run_id = data["run_id"]
    assert integration == f"waveplan/{run_id}"
    assert show(repo, integration, "a.txt") == "A\n"
    assert show(repo, integration, "b.txt") == "B\n"
    tasks = by_id(data)
    assert tasks["t1"]["branch"] == f"waveplan/tasks/{run_id}/t1"
    assert tasks["t1"]["observed_files"] == ["a.txt"]
    assert tasks["t2"]["observed_files"] == ["b.txt"]
    assert tasks["t1"]["undeclared"] == [] and tasks["t1"]["conflict_paths"] == []
    # The user's side: same branch, same commit, clean checkout, nothing else touched.
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "symbolic-ref", "--short", "HEAD") == "main"
    assert (repo / "a.txt").read_text() == "a\n"
    assert git(repo, "status", "--porcelain", "--untracked-files=no") == ""
    assert branches(repo) == {
        "main",
        integration,
        f"waveplan/tasks/{run_id}/t1",
        f"waveplan/tasks/{run_id}/t2",
    }
    assert worktrees(repo) == [str(repo.resolve())]
    log = git(repo, "log", "--first-parent", "--format=%s", integration).splitlines()
    assert sorted(log[:2]) == ["waveplan: merge t1 (t1)", "waveplan: merge t2 (t2)"]


def test_same_lines_conflict_and_the_failed_merge_leaves_the_branch_unchanged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two tasks editing the same lines: the first to finish merges, the second's merge
    conflicts. The integration branch stays at the first merge, the second task ends
    ``conflict`` with the path, its dependent does not run, its branch and worktree (with its
    work committed) are kept, and the exit code is 1."""
    repo = make_repo(tmp_path / "repo", {"f.txt": LINES})
    plan = plan_file(
        repo,
        """
tasks:
  - id: fast
    files: [one/]
    run: "sed -i 's/^line 5$/fast/' f.txt"
  - id: slow
    files: [two/]
    run: "sleep 0.5; sed -i 's/^line 5$/slow/' f.txt"
  - id: after
    depends: [slow]
    run: "true"
""",
    )
    code, _ = isolated(capsys, plan)
    assert code == 1
    data = report(capsys, repo)
    tasks = by_id(data)
    integration = data["integration_branch"]
    assert tasks["fast"]["status"] == "succeeded"
    assert tasks["slow"]["status"] == "conflict"
    assert tasks["slow"]["conflict_paths"] == ["f.txt"]
    assert tasks["slow"]["conflict_with"] == ["fast"]
    assert "merge conflict with fast on f.txt" in tasks["slow"]["reason"]
    assert tasks["after"]["status"] == "skipped"
    # The integration branch is exactly the merge of `fast`: the failed merge left no trace.
    assert git(repo, "log", "-1", "--format=%s", integration) == "waveplan: merge fast (fast)"
    assert git(repo, "rev-list", "--count", f"main..{integration}") == "2"
    assert "fast" in (show(repo, integration, "f.txt") or "")
    assert "slow" not in (show(repo, integration, "f.txt") or "")
    # The conflicting task's branch holds its work, and its worktree is kept.
    assert "slow" in (show(repo, tasks["slow"]["branch"], "f.txt") or "")
    kept = [w for w in worktrees(repo) if w.endswith("/slow")]
    assert len(kept) == 1
    code, out, _ = run(capsys, "report", "--root", str(repo))
    assert "slow: merge conflict with fast on f.txt; branch" in out


@pytest.mark.parametrize(
    ("edits", "collided"),
    [
        ("s/^line 1$/late/", ["early"]),
        ("s/^line 20$/late/", ["middle"]),
        ("s/^line 1$/late/; s/^line 20$/late/", ["early", "middle"]),
    ],
    ids=["first-only", "second-only", "both"],
)
def test_a_conflict_names_only_the_tasks_whose_changes_collided(
    edits: str, collided: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two tasks merged while a third ran, each editing one end of the file it edits: the
    third's conflict names the tasks whose lines it edited too, not one whose change merged
    cleanly with its own (it named every merged task that changed the file)."""
    repo = make_repo(tmp_path / "repo", {"f.txt": LINES})
    plan = plan_file(
        repo,
        f"""
workers: 3
tasks:
  - {{id: early, files: [a/], run: "sed -i 's/^line 1$/early/' f.txt"}}
  - {{id: middle, files: [b/], run: "sleep 0.4; sed -i 's/^line 20$/middle/' f.txt"}}
  - {{id: late, files: [c/], run: "sleep 1; sed -i '{edits}' f.txt"}}
""",
    )
    code, _ = isolated(capsys, plan)
    assert code == 1
    tasks = by_id(report(capsys, repo))
    assert (tasks["early"]["status"], tasks["middle"]["status"]) == ("succeeded", "succeeded")
    assert tasks["late"]["status"] == "conflict"
    assert tasks["late"]["conflict_paths"] == ["f.txt"]
    assert tasks["late"]["conflict_with"] == collided


def test_a_file_against_a_folder_conflict_names_the_path_and_the_task(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One task turns docs/d.txt into a folder, another edits the file: the conflict names
    docs/d.txt and the task it collided with (it named git's docs/d.txt~<commit> and no
    task)."""
    repo = make_repo(tmp_path / "repo", {"docs/d.txt": "d\n"})
    plan = plan_file(
        repo,
        """
tasks:
  - id: folder
    files: [a.txt]
    run: "rm docs/d.txt && mkdir docs/d.txt && echo z > docs/d.txt/z"
  - id: file
    files: [b.txt]
    run: "sleep 0.5; echo changed > docs/d.txt"
""",
    )
    code, _ = isolated(capsys, plan)
    assert code == 1
    task = by_id(report(capsys, repo))["file"]
    assert task["status"] == "conflict"
    assert task["conflict_paths"] == ["docs/d.txt"]
    assert task["conflict_with"] == ["folder"]
    assert task["reason"] == "merge conflict with folder on docs/d.txt"


def test_a_dependent_task_sees_the_merged_work_of_its_dependency(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A task's worktree starts from the integration branch as it is when the task starts,
    so it holds what its dependencies merged."""
    repo = make_repo(tmp_path / "repo", {"README": "r\n"})
    plan = plan_file(
        repo,
        """
tasks:
  - id: make
    files: [made.txt]
    run: "echo made by the dependency > made.txt"
  - id: use
    depends: [make]
    files: [used.txt]
    run: "cat made.txt > used.txt"
""",
    )
    code, err = isolated(capsys, plan)
    assert code == 0, err
    integration = report(capsys, repo)["integration_branch"]
    assert show(repo, integration, "used.txt") == "made by the dependency\n"


def test_a_deletion_stays_deleted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file one task deletes is absent from the integration branch after another task,
    which started before the deletion was merged, merges too."""
    repo = make_repo(tmp_path / "repo", {"old.txt": "old\n", "other.txt": "o\n"})
    plan = plan_file(
        repo,
        """
tasks:
  - id: delete
    files: [old.txt]
    run: "git rm -q old.txt"
  - id: edit
    files: [other.txt]
    run: "sleep 0.4; echo new > other.txt"
""",
    )
    code, err = isolated(capsys, plan)
    assert code == 0, err
    data = report(capsys, repo)
    integration = data["integration_branch"]
    assert files_at(repo, integration) == {".gitignore", "other.txt"}
    assert by_id(data)["delete"]["observed_files"] == ["old.txt"]


def test_an_undeclared_write_is_reported_and_learn_serializes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A task writing a file it did not declare is reported (JSON and text, naming the task
    whose declared files it overlaps); ``plan --learn`` adds it as an observed write, which
    serializes the two tasks the next time."""
    repo = make_repo(tmp_path / "repo", {"shared.py": LINES, "mine.py": "m\n"})
    plan = plan_file(
        repo,
        """
tasks:
  - id: t3
    files: [mine.py]
    run: "echo changed > mine.py; sed -i 's/^line 1$/t3/' shared.py"
  - id: t4
    files: [shared.py]
    run: "sed -i 's/^line 20$/t4/' shared.py"
""",
    )
    code, err = isolated(capsys, plan)
    assert code == 0, err
    data = report(capsys, repo)
    t3 = by_id(data)["t3"]
    assert t3["observed_files"] == ["mine.py", "shared.py"]
    assert t3["undeclared"] == ["shared.py"]
    assert t3["undeclared_overlaps"] == {"shared.py": ["t4"]}
    assert by_id(data)["t4"]["undeclared"] == []
    code, out, _ = run(capsys, "report", "--root", str(repo))
    assert "t3 wrote shared.py, not declared; it overlaps t4's declared files" in out

    code, out, _ = run(capsys, "plan", plan, "--format", "json")
    assert json.loads(out)["waves"]["practical"] == [["t3", "t4"]]
    assert "observed" not in json.loads(out)
    code, out, _ = run(capsys, "plan", plan, "--format", "json", "--learn")
    learnt = json.loads(out)
    assert learnt["waves"]["practical"] in ([["t3"], ["t4"]], [["t4"], ["t3"]])
    assert learnt["observed"] == {"t3": ["shared.py (write)"]}
    code, out, _ = run(capsys, "plan", plan, "--learn")
    assert "t3 writes shared.py (observed)" in out


def test_a_git_step_failing_after_the_command_gives_its_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command succeeds but leaves its worktree's index.lock behind (an agent killed
    inside `git add`), so committing its work fails: the task fails with git's complaint as
    its reason, in one line, and the progress and the report say so instead of "exit code 0"
    (the reason was dropped)."""
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    plan = plan_file(
        repo,
        "tasks:\n  - id: t1\n    files: [a.txt]\n"
        "    run: 'echo b > a.txt; touch \"$(git rev-parse --git-dir)/index.lock\"'\n",
    )
    code, out, err = run(capsys, "run", plan, "--isolate", "worktree")
    assert code == 1, err
    assert "FAILED t1 (git add --all -- failed in" in out
    t1 = by_id(report(capsys, repo))["t1"]
    assert (t1["status"], t1["exit_code"]) == ("failed", 0)
    assert "git add" in t1["reason"] and "index.lock': File exists." in t1["reason"]
    assert "\n" not in t1["reason"]
    code, out, _ = run(capsys, "report", "--root", str(repo))
    assert "exit code 0" not in out
    assert "git add --all -- failed in" in out


def test_rerun_on_conflict_runs_the_task_again_on_the_new_head(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --on-conflict rerun, a task whose merge conflicts runs once more, from the
    integration branch holding the work it collided with, and then merges."""
    repo = make_repo(tmp_path / "repo", {"log.txt": "start\n"})
    plan = plan_file(
        repo,
        """
tasks:
  - id: first
    files: [a/]
    run: "echo first >> log.txt"
  - id: second
    files: [b/]
    run: "sleep 0.4; echo second >> log.txt"
""",
    )
    code, err = isolated(capsys, plan, "--on-conflict", "rerun")
    assert code == 0, err
    data = report(capsys, repo)
    second = by_id(data)["second"]
    assert second["status"] == "succeeded"
    assert second["attempts"] == 2
    assert not second["flaky"]
    assert show(repo, data["integration_branch"], "log.txt") == "start\nfirst\nsecond\n"


def test_a_rerun_after_a_conflict_waited_out_no_retry_backoff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rerun after a merge conflict starts at once: the report counted the moment between
    the conflict and the rerun as retry backoff and said "Retry backoff: 0.00s in all"."""
    repo = make_repo(tmp_path / "repo", {"log.txt": "start\n"})
    plan = plan_file(
        repo,
        """
tasks:
  - {id: first, files: [a/], run: "echo first >> log.txt"}
  - {id: second, files: [b/], run: "sleep 0.4; echo second >> log.txt"}
""",
    )
    code, out, err = run(capsys, "run", plan, "--isolate", "worktree", "--on-conflict", "rerun")
    assert code == 0, err
    # (progress said "retry  second in 0s", as if a backoff of no time had been waited out)
    assert "rerun  second (its work did not merge)\n" in out
    assert "retry" not in out
    data = report(capsys, repo)
    assert by_id(data)["second"]["attempts"] == 2
    assert by_id(data)["second"]["waited"] == 0
    assert data["retry_wait"] == 0
    code, out, _ = run(capsys, "report", "--root", str(repo))
    assert code == 0
    assert "Retry backoff" not in out


def test_into_head_merges_into_the_current_branch_and_its_checkout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--into HEAD merges into the branch checked out; its files follow each merge, the
    user's untracked files stay, and the checkout ends clean."""
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n", "gone.txt": "g\n"})
    (repo / "notes.txt").write_text("my untracked notes\n")
    plan = plan_file(
        repo,
        """
tasks:
  - {id: t1, files: [a.txt], run: "echo A > a.txt"}
  - {id: t2, files: [gone.txt, new.txt], run: "rm gone.txt; echo N > new.txt"}
""",
    )
    code, err = isolated(capsys, plan, "--into", "HEAD")
    assert code == 0, err
    assert report(capsys, repo)["integration_branch"] == "main"
    assert git(repo, "log", "-2", "--format=%s").startswith("waveplan: merge")
    assert (repo / "a.txt").read_text() == "A\n"
    assert (repo / "new.txt").read_text() == "N\n"
    assert not (repo / "gone.txt").exists()
    assert (repo / "notes.txt").read_text() == "my untracked notes\n"
    assert git(repo, "status", "--porcelain", "--untracked-files=no") == ""


def test_into_head_refuses_a_dirty_checkout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--into HEAD with uncommitted changes to tracked files is refused up front (exit 2),
    and nothing is run or created."""
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    (repo / "a.txt").write_text("uncommitted\n")
    plan = plan_file(repo, "tasks:\n  - {id: t1, run: 'echo x > x.txt'}\n")
    code, err = isolated(capsys, plan, "--into", "HEAD")
    assert code == 2
    assert "uncommitted changes (a.txt)" in err
    assert branches(repo) == {"main"}
    assert not (repo / "x.txt").exists()


def test_into_head_names_an_untracked_file_a_merge_would_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A task creates new.txt while the checkout has an untracked new.txt: the task ends in
    conflict with a reason naming the file as untracked (it said "uncommitted changes to
    files", naming none), the file is left as it was, and the report lists it."""
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    (repo / "new.txt").write_text("mine\n")
    plan = plan_file(repo, "tasks:\n  - {id: t1, files: [new.txt], run: 'echo N > new.txt'}\n")
    code, _ = isolated(capsys, plan, "--into", "HEAD")
    assert code == 1
    task = by_id(report(capsys, repo))["t1"]
    assert task["status"] == "conflict"
    assert "untracked new.txt that this merge would overwrite" in task["reason"]
    assert (repo / "new.txt").read_text() == "mine\n"


def test_into_head_waits_for_another_git_process_holding_the_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another git process (an editor, a `git status`) holds the checkout's index.lock when
    the merge brings the checkout along: the merge waits for it and succeeds (it ended in a
    conflict blaming "uncommitted changes to files" nobody had)."""
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    lock = repo / ".git" / "index.lock"
    plan = plan_file(
        repo, f"tasks:\n  - {{id: t1, files: [a.txt], run: 'echo A > a.txt; touch {lock}'}}\n"
    )

    def release() -> None:  # the other process is done half a second after the task
        deadline = time.monotonic() + 30
        while not lock.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.5)
        lock.unlink(missing_ok=True)

    releaser = threading.Thread(target=release)
    releaser.start()
    try:
        code, err = isolated(capsys, plan, "--into", "HEAD")
    finally:
        releaser.join()
    assert code == 0, err
    assert by_id(report(capsys, repo))["t1"]["status"] == "succeeded"
    assert (repo / "a.txt").read_text() == "A\n"
    assert git(repo, "status", "--porcelain", "--untracked-files=no") == ""


def test_into_head_fails_with_gits_words_when_the_index_stays_locked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An index.lock left behind in the checkout (a git process that crashed) fails the
    task with git's own complaint, not an invented "uncommitted changes to files", and
    neither the branch nor the checkout moves."""
    monkeypatch.setattr(git_module, "INDEX_LOCK_WAIT", 0.2)
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    lock = repo / ".git" / "index.lock"
    plan = plan_file(
        repo, f"tasks:\n  - {{id: t1, files: [a.txt], run: 'echo A > a.txt; touch {lock}'}}\n"
    )
    head = git(repo, "rev-parse", "main")
    code, _ = isolated(capsys, plan, "--into", "HEAD")
    assert code == 1
    t1 = by_id(report(capsys, repo))["t1"]
    assert t1["status"] == "failed"
    assert t1["reason"].startswith(f"cannot bring {repo.resolve()} along with the merge")
    assert "index.lock': File exists." in t1["reason"]
    assert "uncommitted" not in t1["reason"]
    lock.unlink()
    assert git(repo, "rev-parse", "main") == head
    assert (repo / "a.txt").read_text() == "a\n"


def test_outside_a_repository_isolation_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--isolate worktree needs a git repository: one error line, exit 2."""
    folder = tmp_path / "plain"
    folder.mkdir()
    plan = plan_file(folder, "tasks:\n  - {id: t1, run: 'true'}\n")
    code, err = isolated(capsys, plan)
    assert code == 2
    assert "needs the plan root in a git repository" in err
    assert len(err.strip().splitlines()) == 1


def _no_commit(path: Path) -> Path:
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    return path


def _detached(path: Path) -> Path:
    repo = make_repo(path, {"a.txt": "a\n"})
    git(repo, "checkout", "-q", "--detach")
    return repo


def _dirty(path: Path) -> Path:
    repo = make_repo(path, {"a.txt": "a\n"})
    (repo / "a.txt").write_text("uncommitted\n")
    return repo


@pytest.mark.parametrize(
    ("make", "args", "message"),
    [
        (lambda path: path, (), "needs the plan root in a git repository"),
        (_no_commit, (), "has no commit yet"),
        (_detached, ("--into", "HEAD"), "HEAD is detached"),
        (
            lambda path: make_repo(path, {"a.txt": "a\n"}),
            ("--into", "bad..name"),
            "not a valid branch name",
        ),
        (_dirty, ("--into", "HEAD"), "uncommitted changes (a.txt)"),
    ],
    ids=["no-repository", "no-commit", "detached-head", "invalid-into", "dirty-checkout"],
)
def test_a_refused_isolated_run_writes_nothing(
    make: Callable[[Path], Path],
    args: tuple[str, ...],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An isolated run refused before it starts is one error line, exit 2, and leaves no
    .waveplan/ in the plan root (it made history.db and run.lock, which a following
    `git add -A` committed)."""
    root = make(tmp_path / "repo")
    root.mkdir(exist_ok=True)
    plan = plan_file(root, "tasks:\n  - {id: t1, files: [x.txt], run: 'echo x > x.txt'}\n")
    code, err = isolated(capsys, plan, *args)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert not state_dir(root).exists()
    assert not (root / "x.txt").exists()


@pytest.mark.parametrize(
    ("branch", "args", "message"),
    [
        ("feature", ("--into", "feature/wp"), "cannot hold both feature and feature/wp"),
        ("feature/wp/x", ("--into", "feature/wp"), "cannot hold both feature/wp and feature/wp/x"),
        ("waveplan", (), "the branch waveplan is in the way of waveplan's branches"),
        (
            "waveplan",
            ("--into", "HEAD"),
            "the branch waveplan is in the way of waveplan's branches",
        ),
    ],
    ids=["folder-of-into", "below-into", "folder-of-default", "folder-of-task-branches"],
)
def test_a_branch_in_the_way_refuses_the_run_and_records_none(
    branch: str,
    args: tuple[str, ...],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A branch git cannot hold next to the run's branches is named in one error line (exit
    2) before anything starts, and the history gets no run: it kept one marked running,
    which a later plain --resume ran in the plan root."""
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    plan = plan_file(repo, "tasks:\n  - {id: t1, files: [x.txt], run: 'echo x >> x.txt'}\n")
    assert run(capsys, "run", plan, "-q")[0] == 0  # an earlier run: the history exists
    git(repo, "branch", branch)
    before = branches(repo)
    code, err = isolated(capsys, plan, *args)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert branches(repo) == before
    code, out, _ = run(capsys, "history", "--root", str(repo), "--format", "json")
    assert [r["status"] for r in json.loads(out)] == ["succeeded"]
    code, _, err = run(capsys, "run", plan, "--resume", "-q")
    assert code == 2
    assert "there is nothing to resume" in err
    assert (repo / "x.txt").read_text() == "x\n"


def test_the_plan_can_ask_for_isolation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``isolate: worktree`` in the plan isolates without the option."""
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    plan = plan_file(repo, "isolate: worktree\ntasks:\n  - {id: t1, run: 'echo b > a.txt'}\n")
    code, _, err = run(capsys, "run", plan, "-q")
    assert code == 0, err
    data = report(capsys, repo)
    assert show(repo, data["integration_branch"], "a.txt") == "b\n"
    assert (repo / "a.txt").read_text() == "a\n"


def test_a_plan_root_below_the_repository_top(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Commands run at the plan root's place in the worktree, and paths are reported
    relative to the plan root, as they are declared."""
    repo = make_repo(tmp_path / "repo", {"app/src/a.py": "a\n", "other/b.py": "b\n"})
    plan = plan_file(
        repo / "app",
        "tasks:\n  - id: t1\n    files: [src/a.py]\n"
        "    run: 'echo A > src/a.py; echo B > ../other/b.py'\n",
    )
    code, err = isolated(capsys, plan)
    assert code == 0, err
    data = report(capsys, repo / "app")
    t1 = by_id(data)["t1"]
    assert t1["observed_files"] == ["../other/b.py", "src/a.py"]
    assert t1["undeclared"] == ["../other/b.py"]
    assert show(repo, data["integration_branch"], "app/src/a.py") == "A\n"


def test_failed_task_keeps_its_work_and_clean_removes_what_runs_left(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A failed task's worktree and branch (its work committed as work in progress) are
    kept; ``clean`` removes worktrees and merged task branches, keeps the failed task's branch
    until --all, and never deletes the integration branch or the user's branches."""
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    git(repo, "branch", "user-branch")
    plan = plan_file(
        repo,
        """
tasks:
  - {id: ok, files: [a.txt], run: "echo A > a.txt"}
  - {id: broken, files: [b.txt], run: "echo half > b.txt; exit 3"}
""",
    )
    code, _ = isolated(capsys, plan, "--keep-going")
    assert code == 1
    data = report(capsys, repo)
    run_id, integration = data["run_id"], data["integration_branch"]
    broken = by_id(data)["broken"]
    assert broken["status"] == "failed"
    assert show(repo, broken["branch"], "b.txt") == "half\n"
    assert len(worktrees(repo)) == 2
    code, out, err = run(capsys, "clean", "--root", str(repo))
    assert code == 0, err
    assert f"kept 1 branch(es) with unmerged work (--all deletes them): {broken['branch']}" in out
    assert worktrees(repo) == [str(repo.resolve())]
    assert branches(repo) == {"main", "user-branch", integration, broken["branch"]}
    code, out, err = run(capsys, "clean", "--root", str(repo), "--all", "--run", run_id)
    assert code == 0, err
    assert branches(repo) == {"main", "user-branch", integration}
    assert not (repo / ".git" / "waveplan" / "worktrees" / run_id).exists()
    code, out, _ = run(capsys, "clean", "--root", str(repo))
    assert out == "nothing to clean\n"


def test_clean_keeps_a_worktree_someone_edited_and_branches_it_did_not_create(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The failed task's worktree, kept to look at, holds edits nobody committed: `clean`
    keeps it and its branch (it removed both, edits included) until --all; a branch the
    user made under the run's prefix is never deleted, even with --all."""
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    plan = plan_file(repo, "tasks:\n  - {id: broken, files: [b.txt], run: 'exit 3'}\n")
    assert isolated(capsys, plan)[0] == 1
    data = report(capsys, repo)
    run_id, branch = data["run_id"], by_id(data)["broken"]["branch"]
    (path,) = [p for p in worktrees(repo) if p != str(repo.resolve())]
    (Path(path) / "fix.txt").write_text("my fix\n")
    mine = f"waveplan/tasks/{run_id}/mine"
    git(repo, "branch", mine)
    code, out, err = run(capsys, "clean", "--root", str(repo))
    assert code == 0, err
    assert f"kept 1 worktree(s) with changes nobody committed (--all removes them): {path}" in out
    assert (Path(path) / "fix.txt").read_text() == "my fix\n"
    assert {branch, mine} <= branches(repo)
    code, out, err = run(capsys, "clean", "--root", str(repo), "--all")
    assert code == 0, err
    assert not Path(path).exists()
    assert branch not in branches(repo)
    assert mine in branches(repo)


def test_clean_keeps_a_task_branch_someone_checked_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The user checked out one task's branch in the main checkout and another's in a
    worktree of their own, to look at the work: `clean`, even with --all, keeps both and
    says where they are checked out (it deleted them, leaving the checkouts on branches that
    no longer existed), and deletes the rest."""
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    plan = plan_file(
        repo,
        "tasks:\n  - {id: t1, files: [a.txt], run: 'echo A > a.txt'}\n"
        "  - {id: t2, files: [b.txt], run: 'echo B > b.txt'}\n"
        "  - {id: t3, files: [c.txt], run: 'echo C > c.txt'}\n",
    )
    assert isolated(capsys, plan)[0] == 0
    run_id = report(capsys, repo)["run_id"]
    t1, t2, t3 = (f"waveplan/tasks/{run_id}/{t}" for t in ("t1", "t2", "t3"))
    git(repo, "checkout", "-q", t1)
    look = tmp_path / "look"
    git(repo, "worktree", "add", "-q", str(look), t2)
    for args in ((), ("--all",)):
        code, out, err = run(capsys, "clean", "--root", str(repo), *args)
        assert code == 0, err
        assert f"{t1} (in {repo.resolve()})" in out
        assert f"{t2} (in {look.resolve()})" in out
        assert {t1, t2} <= branches(repo)
        assert t3 not in branches(repo)
    assert git(repo, "symbolic-ref", "--short", "HEAD") == t1
    assert git(repo, "rev-parse", "HEAD") == git(repo, "rev-parse", t1)
    assert git(look, "symbolic-ref", "--short", "HEAD") == t2


def test_clean_all_deletes_the_branch_of_a_task_dropped_before_a_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Task b failed, was renamed b2 and the run resumed: b's branch is still the run's, so
    `clean --all` deletes it (only the tasks of the last snapshot counted)."""
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    plan = plan_file(
        repo,
        "tasks:\n  - {id: a, files: [a.txt], run: 'echo A > a.txt'}\n"
        "  - {id: b, files: [b.txt], run: 'exit 1'}\n",
    )
    assert isolated(capsys, plan, "--keep-going")[0] == 1
    data = report(capsys, repo)
    old = by_id(data)["b"]["branch"]
    Path(plan).write_text(
        "tasks:\n  - {id: a, files: [a.txt], run: 'echo A > a.txt'}\n"
        "  - {id: b2, files: [b.txt], run: 'echo B > b.txt'}\n"
    )
    assert isolated(capsys, plan, "--resume")[0] == 0
    assert old in branches(repo)
    code, _, err = run(capsys, "clean", "--root", str(repo), "--all")
    assert code == 0, err
    assert old not in branches(repo)


def test_clean_refuses_while_a_run_holds_the_plan_root(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``clean`` does not touch anything while a run is going on."""
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    plan = plan_file(repo, "tasks:\n  - {id: t1, run: 'exit 1'}\n")
    isolated(capsys, plan)
    with RunLock(state_dir(repo)):
        code, _, err = run(capsys, "clean", "--root", str(repo))
    assert code == 2
    assert "another waveplan run is using" in err
    assert len(worktrees(repo)) == 2


def test_many_tasks_at_once_all_merge(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Ten tasks starting together (worktrees added concurrently) and finishing together
    (merges queued) all merge, one merge commit each, no worktree left."""
    repo = make_repo(tmp_path / "repo", {"README": "r\n"})
    tasks = "\n".join(
        f"  - {{id: t{n}, files: [out/{n}.txt], run: 'mkdir -p out && echo {n} > out/{n}.txt'}}"
        for n in range(10)
    )
    plan = plan_file(repo, f"tasks:\n{tasks}\n")
    code, err = isolated(capsys, plan, "-w", "10")
    assert code == 0, err
    integration = report(capsys, repo)["integration_branch"]
    assert {f"out/{n}.txt" for n in range(10)} <= files_at(repo, integration)
    merges = git(repo, "log", "--first-parent", "--format=%s", f"main..{integration}")
    assert len(merges.splitlines()) == 10
    assert worktrees(repo) == [str(repo.resolve())]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--into", "HEAD"), "--into needs --isolate worktree"),
        (("--on-conflict", "rerun"), "--on-conflict needs --isolate worktree"),
    ],
)
def test_worktree_options_without_worktrees_are_refused(
    args: tuple[str, ...], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Options that only mean something for isolated runs are usage errors without them
    (--on-conflict rerun was accepted and ignored)."""
    plan = plan_file(make_repo(tmp_path / "repo", {"a.txt": "a\n"}), "tasks:\n  - {id: t1}\n")
    code, _, err = run(capsys, "run", plan, "-q", *args)
    assert code == 2
    assert message in err

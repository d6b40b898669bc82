"""Resuming isolated runs: ``kill -9`` of waveplan, then ``--resume``, loses no merged work,
runs no merged task again, and gives a task killed mid-way a fresh worktree."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gitrepo import git, make_repo, no_git_config, show
from waveplan.cli import main
from waveplan.history import History, state_dir

__all__ = ["no_git_config"]


def waveplan(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "waveplan", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def integration(repo: Path) -> str:
    """The integration branch of the repository's only isolated run."""
    found = git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/waveplan/")
    (branch,) = [b for b in found.splitlines() if "/tasks/" not in b]
    return branch


def wait_until(condition: object, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def report(capsys: pytest.CaptureFixture[str], root: Path) -> dict[str, object]:
    capsys.readouterr()
    assert main(["report", "--root", str(root), "--format", "json"]) == 0
    data: dict[str, object] = json.loads(capsys.readouterr().out)
    return data


def test_kill_9_then_resume_keeps_merged_work_and_restarts_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """waveplan is killed while one task runs and two others are merged. ``--resume`` does
    not run the merged ones again, keeps their merges on the integration branch, and runs the
    killed task again in a fresh worktree (its half-done files are gone)."""
    repo = make_repo(tmp_path / "repo", {"README": "r\n"})
    counts = tmp_path / "counts"
    counts.mkdir()
    release = tmp_path / "release"
    (repo / "plan.yaml").write_text(
        f"""
tasks:
  - id: t1
    files: [a.txt]
    run: "echo ran >> {counts}/t1; echo A > a.txt"
  - id: t3
    depends: [t1]
    files: [c.txt]
    run: "echo ran >> {counts}/t3; cat a.txt > c.txt"
  - id: t2
    files: [b.txt]
    run: >-
      echo ran >> {counts}/t2; test ! -f half.txt && echo half > half.txt &&
      while [ ! -f {release} ]; do sleep 0.05; done; rm half.txt; echo B > b.txt
"""
    )
    command = [
        sys.executable,
        "-m",
        "waveplan",
        "run",
        "plan.yaml",
        "--isolate",
        "worktree",
        "-q",
        "-w",
        "2",
    ]
    process = subprocess.Popen(command, cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:

        def merged() -> bool:
            found = git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/waveplan/")
            integration = [b for b in found.splitlines() if "/tasks/" not in b]
            if not integration or lines(counts / "t2") < 1:
                return False
            log = git(repo, "log", "--format=%s", integration[0])
            return "waveplan: merge t3 (t3)" in log

        wait_until(merged)
        head_before = git(repo, "rev-parse", f"waveplan/{report(capsys, repo)['run_id']}")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    release.touch()
    done = waveplan("run", "plan.yaml", "--isolate", "worktree", "--resume", "-q", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert (lines(counts / "t1"), lines(counts / "t3"), lines(counts / "t2")) == (1, 1, 2)
    data = report(capsys, repo)
    integration = str(data["integration_branch"])
    git(repo, "merge-base", "--is-ancestor", head_before, integration)  # raises when not
    assert show(repo, integration, "a.txt") == "A\n"
    assert show(repo, integration, "c.txt") == "A\n"
    assert show(repo, integration, "b.txt") == "B\n"
    assert show(repo, integration, "half.txt") is None
    statuses = {t["id"]: t["status"] for t in data["tasks"]}  # type: ignore[attr-defined]
    assert statuses == {"t1": "succeeded", "t2": "succeeded", "t3": "succeeded"}
    assert [w for w in git(repo, "worktree", "list").splitlines() if "/waveplan/" in w] == []


def test_a_merge_the_history_missed_is_found_on_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """waveplan killed between merging a task and recording it: on resume the task's merge
    is found on the integration branch, it is recorded as succeeded (with what it changed),
    its attempt ending at its merge and teaching no duration, and it is not run again."""
    repo = make_repo(tmp_path / "repo", {"README": "r\n"})
    counts = tmp_path / "counts"
    counts.mkdir()
    (repo / "plan.yaml").write_text(
        f"""
tasks:
  - {{id: t1, files: [a.txt], run: "echo ran >> {counts}/t1; echo A > a.txt"}}
  - {{id: t2, files: [b.txt], run: "echo ran >> {counts}/t2; echo B > b.txt"}}
"""
    )
    plan = str(repo / "plan.yaml")
    assert main(["run", plan, "--isolate", "worktree", "-q"]) == 0
    run_id = str(report(capsys, repo)["run_id"])
    # Make the history look as if waveplan died right after merging t2.
    with sqlite3.connect(state_dir(repo) / "history.db") as db:
        db.execute("UPDATE runs SET status = 'running', ended = NULL")
        db.execute("UPDATE sessions SET ended = NULL")
        db.execute("UPDATE tasks SET status = 'pending' WHERE task = 't2'")
        db.execute("UPDATE attempts SET status = 'running', end = NULL WHERE task = 't2'")
        db.execute("DELETE FROM worktree_attempts WHERE task = 't2'")
    assert main(["run", plan, "--isolate", "worktree", "--resume", "-q"]) == 0
    assert lines(counts / "t2") == 1
    data = report(capsys, repo)
    assert data["run_id"] == run_id
    t2 = {t["id"]: t for t in data["tasks"]}["t2"]  # type: ignore[attr-defined]
    assert t2["status"] == "succeeded"
    assert t2["reason"] == "merged before waveplan stopped"
    assert t2["observed_files"] == ["b.txt"]
    assert t2["attempts"] == 1
    # It ends at its merge (it ended where the tidy-up guessed) and teaches no duration.
    merged = git(repo, "log", "-1", "--format=%ct", "--grep=merge t2", integration(repo))
    with History.for_root(repo) as history:
        (recovered,) = history.attempts(task="t2")
        assert recovered.recovered
        assert recovered.end == max(recovered.start, float(merged))
        assert set(history.durations()) == {"t1"}
    assert main(["history", "--root", str(repo), "--task", "t2"]) == 0
    assert "(merged before waveplan stopped: ends at its merge" in capsys.readouterr().out


def test_resume_refuses_another_integration_branch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A resumed run keeps merging into its own integration branch."""
    repo = make_repo(tmp_path / "repo", {"README": "r\n"})
    (repo / "plan.yaml").write_text("tasks:\n  - {id: t1, run: 'exit 1'}\n")
    plan = str(repo / "plan.yaml")
    assert main(["run", plan, "--isolate", "worktree", "-q"]) == 1
    capsys.readouterr()
    code = main(["run", plan, "--isolate", "worktree", "--resume", "--into", "elsewhere", "-q"])
    assert code == 2
    assert "resume it without --into elsewhere" in capsys.readouterr().err
    assert (state_dir(repo) / "history.db").exists()


def test_resume_into_head_means_the_branch_checked_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--resume --into HEAD`` is the branch checked out: refused for a run that merges into
    its own branch (it went on merging there, silently), accepted for a run started with
    ``--into HEAD`` on that branch."""
    repo = make_repo(tmp_path / "repo", {"README": "r\n"})
    gate = tmp_path / "gate"
    (repo / "plan.yaml").write_text(
        f"tasks:\n  - {{id: t1, files: [a.txt], run: 'test -f {gate} && echo A > a.txt'}}\n"
    )
    plan = str(repo / "plan.yaml")
    head = git(repo, "rev-parse", "main")
    assert main(["run", plan, "--isolate", "worktree", "-q"]) == 1
    integration = str(report(capsys, repo)["integration_branch"])
    gate.touch()
    code = main(["run", plan, "--isolate", "worktree", "--resume", "--into", "HEAD", "-q"])
    assert code == 2
    err = capsys.readouterr().err
    assert f"merges into {integration}: resume it without --into HEAD (HEAD is main)" in err
    assert git(repo, "rev-parse", "main") == head
    assert show(repo, integration, "a.txt") is None

    gate.unlink()
    assert main(["run", plan, "--isolate", "worktree", "--into", "HEAD", "-q"]) == 1
    gate.touch()
    code = main(["run", plan, "--isolate", "worktree", "--resume", "--into", "HEAD", "-q"])
    assert code == 0, capsys.readouterr().err
    assert (repo / "a.txt").read_text() == "A\n"
    assert report(capsys, repo)["integration_branch"] == "main"

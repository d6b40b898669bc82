"""Tests of agent tasks (``agent:`` prompts run by ``--agent-cmd``): the task-file key, the
prompt, standard input of the local executor, and a fake agent script in a worktree."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import stat
from pathlib import Path

import pytest

from gitrepo import make_repo, no_git_config, show
from waveplan.cli import main
from waveplan.errors import PlanValidationError
from waveplan.history import state_dir
from waveplan.load import parse_plan_text
from waveplan.model import Access, AttemptStatus, Isolation, Mode, Origin, ResourceKind, Task
from waveplan.render.taskfile import taskfile_json
from waveplan.run.agent import render_prompt
from waveplan.run.executor import Job, Outcome
from waveplan.run.local import LocalExecutor
from waveplan.run.session import definition_hash

__all__ = ["no_git_config"]

AGENT = """#!/bin/sh
# A fake coding agent: keeps what it was told, then edits the files it was given.
cat > prompt-stdin.txt
printf '%s' "$WAVEPLAN_PROMPT" > prompt-env.txt
pwd > where.txt
echo "edited by the agent" > "$(echo "$WAVEPLAN_PROMPT" | sed -n 's/^Files: //p')"
"""


def test_agent_and_run_together_are_an_error() -> None:
    """A task has a command or an agent prompt, not both: one error naming task and field."""
    with pytest.raises(PlanValidationError) as caught:
        parse_plan_text(
            "tasks:\n  - {id: t1, run: 'true', agent: 'do it'}\n", name="plan.yaml", root="."
        )
    message = str(caught.value)
    assert "task 't1'" in message
    assert "field 'agent'" in message
    assert "not both" in message


def test_isolate_key_and_agent_round_trip_through_the_canonical_task_file() -> None:
    """``isolate`` and ``agent`` survive the snapshot the history keeps; an unknown isolate
    value is an error."""
    plan = parse_plan_text(
        "isolate: worktree\ntasks:\n  - {id: t1, agent: 'do {id}'}\n", name="p.yaml", root="."
    )
    assert plan.isolate is Isolation.WORKTREE
    again = parse_plan_text(taskfile_json(plan), name="p.json", root=".")
    assert again.isolate is Isolation.WORKTREE
    assert again.tasks[0].agent == "do {id}"
    with pytest.raises(PlanValidationError, match="expected none or worktree"):
        parse_plan_text("isolate: docker\ntasks: [{id: t1}]\n", name="p.yaml", root=".")


def test_the_prompt_fills_in_the_task_and_keeps_other_braces() -> None:
    """``{id}``, ``{title}``, ``{files}`` (declared writes only) and ``{description}`` are
    filled in; other braces stay as written."""
    plan = parse_plan_text(
        """
tasks:
  - id: t1
    title: Add a cache
    files: [src/cache.py, src/util/]
    reads: [src/config.py]
    description: "Use a dict like {'a': 1}."
    agent: "{id}: {title}\\nFiles: {files}\\n{description}\\nJSON: {\\"k\\": {id}}"
""",
        name="p.yaml",
        root=".",
    )
    assert render_prompt(plan.tasks[0]) == (
        "t1: Add a cache\nFiles: src/cache.py src/util/\nUse a dict like {'a': 1}.\n"
        'JSON: {"k": t1}'
    )


def test_changing_the_prompt_changes_the_task_for_resume() -> None:
    """The agent prompt is part of a task's definition; tasks without one keep the hash
    earlier waveplans gave them."""

    def task(text: str) -> Task:
        return parse_plan_text(f"tasks:\n  - {text}\n", name="p.yaml", root=".").tasks[0]

    assert definition_hash(task("{id: a, agent: one}")) != definition_hash(
        task("{id: a, agent: two}")
    )
    plain = task("{id: c, run: x, depends: []}")
    before = json.dumps(["x", [], [], None, None])
    assert definition_hash(plain) == hashlib.sha256(before.encode()).hexdigest()[:16]


def test_learnt_and_inferred_accesses_do_not_change_the_task_for_resume() -> None:
    """`--learn` and `--infer` add accesses from the runs and the code, which the run itself
    changes: a task they add to is still the same task (`--resume --learn` re-ran tasks that
    had succeeded); a declared access is part of the definition."""
    plan = parse_plan_text("tasks:\n  - {id: a, run: x, files: [a.py]}\n", name="p.yaml")
    task = plan.tasks[0]
    extra = [
        Access(ResourceKind.FILE, "b.py", Mode.WRITE, origin=Origin.OBSERVED),
        Access(ResourceKind.FILE, "c.py", Mode.READ, origin=Origin.INFERRED),
    ]
    grown = dataclasses.replace(task, accesses=(*task.accesses, *extra))
    assert definition_hash(grown) == definition_hash(task)
    declared = dataclasses.replace(
        task, accesses=(*task.accesses, Access(ResourceKind.FILE, "b.py", Mode.WRITE))
    )
    assert definition_hash(declared) != definition_hash(task)


def test_a_read_of_a_written_file_keeps_the_task_for_resume() -> None:
    """The loader now keeps a read of a key the task also writes (it dropped it): the task's
    definition is the one earlier waveplans recorded, so a resume does not run it again."""

    def task(text: str) -> Task:
        return parse_plan_text(f"tasks:\n  - {text}\n", name="p.yaml", root=".").tasks[0]

    both = task("{id: a, run: x, files: [a.py], reads: [a.py, b.py]}")
    assert len(both.accesses) == 3
    assert definition_hash(both) == definition_hash(
        task("{id: a, run: x, files: [a.py], reads: [b.py]}")
    )


def test_local_executor_gives_a_large_stdin_without_blocking(tmp_path: Path) -> None:
    """Standard input far larger than a pipe's buffer reaches the command whole, also when
    the command reads none of it."""
    data = b"".join(b"%07d\n" % n for n in range(40_000))  # 320 kB
    executor = LocalExecutor(2, watchdog=False)
    try:
        executor.submit(
            Job("reads", 1, f"cat > {tmp_path}/got", str(tmp_path), stdin=data, timeout=30)
        )
        executor.submit(Job("ignores", 1, "true", str(tmp_path), stdin=data, timeout=30))
        outcomes: list[Outcome] = []
        while len(outcomes) < 2:
            outcomes += executor.wait(30)
    finally:
        executor.close()
    assert {o.job.task: o.status for o in outcomes} == {
        "reads": AttemptStatus.SUCCEEDED,
        "ignores": AttemptStatus.SUCCEEDED,
    }
    assert (tmp_path / "got").read_bytes() == data


def test_a_fake_agent_gets_the_prompt_in_the_tasks_worktree(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The agent command runs in the task's worktree with the rendered prompt on standard
    input and in WAVEPLAN_PROMPT; what it changes is merged."""
    repo = make_repo(tmp_path / "repo", {"notes.md": "old\n"})
    agent = tmp_path / "agent.sh"
    agent.write_text(AGENT)
    agent.chmod(agent.stat().st_mode | stat.S_IXUSR)
    (repo / "plan.yaml").write_text(
        """
tasks:
  - id: t1
    title: Rewrite the notes
    files: [notes.md]
    description: Keep it short.
    agent: "Task {id}: {title}\\nFiles: {files}\\n{description}"
"""
    )
    code = main(
        ["run", str(repo / "plan.yaml"), "-q", "--isolate", "worktree", "--agent-cmd", str(agent)]
    )
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    main(["report", "--root", str(repo), "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    branch = data["integration_branch"]
    prompt = "Task t1: Rewrite the notes\nFiles: notes.md\nKeep it short."
    assert show(repo, branch, "prompt-stdin.txt") == prompt
    assert show(repo, branch, "prompt-env.txt") == prompt
    assert show(repo, branch, "notes.md") == "edited by the agent\n"
    where = show(repo, branch, "where.txt") or ""
    assert "/waveplan/worktrees/" in where
    assert (repo / "notes.md").read_text() == "old\n"


def test_the_agent_command_can_come_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """WAVEPLAN_AGENT_CMD gives the agent command when --agent-cmd is not given (here
    without worktrees: the agent runs in the plan root)."""
    (tmp_path / "plan.yaml").write_text("tasks:\n  - {id: t1, agent: 'hello from {id}'}\n")
    monkeypatch.setenv("WAVEPLAN_AGENT_CMD", "cat > out.txt")
    assert main(["run", str(tmp_path / "plan.yaml"), "-q"]) == 0
    assert (tmp_path / "out.txt").read_text() == "hello from t1"


def test_a_missing_agent_command_stops_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --agent-cmd or WAVEPLAN_AGENT_CMD, a plan with an agent task is refused with
    one line and exit 2; no task runs and no history is written."""
    monkeypatch.delenv("WAVEPLAN_AGENT_CMD", raising=False)
    (tmp_path / "plan.yaml").write_text(
        "tasks:\n  - {id: a, run: 'touch ran'}\n  - {id: t1, agent: 'do it'}\n"
    )
    code = main(["run", str(tmp_path / "plan.yaml"), "-q"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert "task 't1' has an agent prompt" in err
    assert "--agent-cmd or WAVEPLAN_AGENT_CMD" in err
    assert not (tmp_path / "ran").exists()
    assert not (state_dir(tmp_path) / "history.db").exists()
    assert os.environ.get("WAVEPLAN_AGENT_CMD") is None


def test_resuming_after_the_agent_tasks_succeeded_needs_no_agent_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The agent task succeeded, a shell task failed: `--resume` without the agent command
    runs the shell task (only an agent task left to run needs the command)."""
    monkeypatch.delenv("WAVEPLAN_AGENT_CMD", raising=False)
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "tasks:\n  - {id: t1, agent: 'write {id}'}\n"
        "  - {id: t2, run: 'test -f fixed', depends: [t1]}\n"
    )
    assert main(["run", str(plan), "-q", "--agent-cmd", "cat > out.txt"]) == 1
    (tmp_path / "fixed").touch()
    code = main(["run", str(plan), "-q", "--resume"])
    assert code == 0, capsys.readouterr().err
    (tmp_path / "fixed").unlink()
    assert main(["run", str(plan), "-q", "--agent-cmd", "cat > out.txt"]) == 1
    plan.write_text(plan.read_text().replace("write {id}", "rewrite {id}"))  # t1 must run again
    code = main(["run", str(plan), "-q", "--resume"])
    assert code == 2
    assert "task 't1' has an agent prompt" in capsys.readouterr().err

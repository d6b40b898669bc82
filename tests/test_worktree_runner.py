"""Tests of the runner's merge-conflict policy (``--on-conflict``) and agent jobs, on the fake
executor's virtual clock."""

from __future__ import annotations

from collections.abc import Callable

from waveplan.load import parse_plan_text
from waveplan.model import AttemptStatus, RunStatus, TaskStatus
from waveplan.run.events import RecordingSink, TaskFinished, TaskRetrying, TaskSettled
from waveplan.run.fake import FakeExecutor
from waveplan.run.runner import ConflictPolicy, Runner, RunOptions, RunResult

PLAN = """
tasks:
  - {id: a, run: "true"}
  - {id: b, run: "true", duration: 2}
  - {id: c, run: "true", depends: [b]}
  - {id: d, run: "true", duration: 3}
"""


def conflicting(task: str, attempts: int = 10**9) -> Callable[[str, int], AttemptStatus]:
    """Outcomes where ``task`` conflicts on its first ``attempts`` attempts."""
    return lambda t, n: (
        AttemptStatus.CONFLICT if t == task and n <= attempts else AttemptStatus.SUCCEEDED
    )


def run(
    outcomes: Callable[[str, int], AttemptStatus], workers: int = 2, **options: object
) -> tuple[RunResult, RecordingSink, FakeExecutor]:
    plan = parse_plan_text(PLAN, name="plan.yaml")
    executor = FakeExecutor(outcomes=outcomes)
    record = RecordingSink()
    runner = Runner(
        plan,
        run_id="r",
        executor=executor,
        sinks=[record],
        options=RunOptions(workers=workers, **options),  # type: ignore[arg-type]
    )
    return runner.run(), record, executor


def test_a_conflict_settles_the_task_and_blocks_its_dependents() -> None:
    """With --on-conflict stop, the task ends ``conflict``, its dependent is skipped, the run
    fails (exit 1) and stops starting tasks, like after a failure."""
    result, record, _ = run(conflicting("b"), workers=1)
    assert result.statuses["b"] is TaskStatus.CONFLICT
    assert result.statuses["c"] is TaskStatus.SKIPPED
    assert result.status is RunStatus.FAILED
    assert result.exit_code == 1
    settled = {e.task: e for e in record.events if isinstance(e, TaskSettled)}
    assert settled["c"].reason == "dependency b did not succeed"
    assert result.statuses["d"] is TaskStatus.SKIPPED
    assert settled["d"].reason is not None
    assert "b had a merge conflict" in settled["d"].reason


def test_keep_going_runs_independent_tasks_after_a_conflict() -> None:
    """With --keep-going, tasks that do not depend on the conflicting one still run."""
    result, _, _ = run(conflicting("b"), workers=1, keep_going=True)
    assert result.statuses["d"] is TaskStatus.SUCCEEDED
    assert result.statuses["c"] is TaskStatus.SKIPPED


def test_rerun_runs_a_conflicting_task_once_more_at_once() -> None:
    """With --on-conflict rerun, the task is submitted again right away (no retry delay,
    whatever the retry settings) and its success is not counted as flaky."""
    result, record, executor = run(conflicting("b", attempts=1), on_conflict=ConflictPolicy.RERUN)
    assert result.status is RunStatus.SUCCEEDED
    assert [(j.task, j.attempt) for j in executor.submitted if j.task == "b"] == [
        ("b", 1),
        ("b", 2),
    ]
    retrying = [e for e in record.events if isinstance(e, TaskRetrying)]
    assert [(e.task, e.next_attempt, e.delay) for e in retrying] == [("b", 2, 0.0)]
    assert result.flaky == ()


def test_a_rerun_is_no_retry() -> None:
    """A task with one retry whose rerun after a conflict fails still gets its retry (the
    rerun did not use it up), and passing then makes it flaky."""

    def outcomes(task: str, attempt: int) -> AttemptStatus:
        if task != "b":
            return AttemptStatus.SUCCEEDED
        return (AttemptStatus.CONFLICT, AttemptStatus.FAILED, AttemptStatus.SUCCEEDED)[attempt - 1]

    result, record, _ = run(outcomes, on_conflict=ConflictPolicy.RERUN, retries=1)
    assert result.statuses["b"] is TaskStatus.SUCCEEDED
    finished = [e.status for e in record.events if isinstance(e, TaskFinished) and e.task == "b"]
    assert finished == [AttemptStatus.CONFLICT, AttemptStatus.FAILED, AttemptStatus.SUCCEEDED]
    assert result.flaky == ("b",)


def test_rerun_happens_only_once() -> None:
    """A rerun that conflicts again settles the task as a conflict."""
    result, record, _ = run(conflicting("b"), on_conflict=ConflictPolicy.RERUN)
    assert result.statuses["b"] is TaskStatus.CONFLICT
    finished = [e for e in record.events if isinstance(e, TaskFinished) and e.task == "b"]
    assert [e.status for e in finished] == [AttemptStatus.CONFLICT, AttemptStatus.CONFLICT]


def test_agent_tasks_get_the_agent_command_and_the_prompt() -> None:
    """An agent task's job runs the agent command with the rendered prompt on standard input
    and in WAVEPLAN_PROMPT; a task with ``run`` gets no standard input."""
    plan = parse_plan_text(
        """
tasks:
  - id: t1
    title: Add the parser
    files: [src/parse.py, tests/]
    description: Parse {all} the things.
    agent: "Do {id} ({title}) in {files}: {description}"
  - {id: t2, run: "true"}
""",
        name="plan.yaml",
    )
    executor = FakeExecutor()
    Runner(
        plan,
        run_id="r",
        executor=executor,
        sinks=[],
        options=RunOptions(workers=2, agent_command="my-agent --yes"),
    ).run()
    jobs = {j.task: j for j in executor.submitted}
    prompt = "Do t1 (Add the parser) in src/parse.py tests/: Parse {all} the things."
    assert jobs["t1"].command == "my-agent --yes"
    assert jobs["t1"].stdin == prompt.encode()
    assert jobs["t1"].env["WAVEPLAN_PROMPT"] == prompt
    assert jobs["t2"].stdin is None
    assert "WAVEPLAN_PROMPT" not in jobs["t2"].env

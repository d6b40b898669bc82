"""Tests of the runner loop on the fake executor's virtual clock, with a recording sink."""

from __future__ import annotations

import io
import itertools
import random
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from waveplan.cli.progress import PlainProgress
from waveplan.cli.run import _StopSwitch
from waveplan.load import parse_plan_text
from waveplan.model import AttemptStatus, Plan, RunStatus, TaskStatus
from waveplan.run.events import (
    Event,
    RecordingSink,
    RunFinished,
    RunStarted,
    Sink,
    TaskFinished,
    TaskRetrying,
    TaskSettled,
    TaskStarted,
)
from waveplan.run.fake import FakeExecutor
from waveplan.run.runner import Runner, RunOptions, RunResult, log_tail

E = TypeVar("E")

SUCCEEDED = AttemptStatus.SUCCEEDED
FAILED = AttemptStatus.FAILED


def make_plan(text: str) -> Plan:
    """A plan from YAML text."""
    return parse_plan_text(text, name="plan.yaml")


def failing(*tasks: str, until: int = 10**9) -> Callable[[str, int], AttemptStatus]:
    """Outcomes where the given tasks fail on attempts before ``until`` and others succeed."""
    chosen = set(tasks)
    return lambda task, attempt: FAILED if task in chosen and attempt < until else SUCCEEDED


def run_plan(
    plan: Plan,
    *,
    outcomes: Callable[[str, int], AttemptStatus] | None = None,
    workers: int = 2,
    log_dir: str | None = None,
    done: Iterable[str] = (),
    first_attempt: dict[str, int] | None = None,
    sinks: Iterable[Sink] = (),
    **options: Any,
) -> tuple[RunResult, list[Event], FakeExecutor]:
    """Run a plan on a fake executor; returns the result, the events and the executor."""
    executor = FakeExecutor(outcomes=outcomes)
    record = RecordingSink()
    runner = Runner(
        plan,
        run_id="r1",
        executor=executor,
        sinks=[record, *sinks],
        options=RunOptions(workers=workers, **options),
        log_dir=log_dir,
        done=done,
        first_attempt=first_attempt,
    )
    result = runner.run()
    return result, record.events, executor


def of_kind(events: list[Event], kind: type[E]) -> list[E]:
    """The events of one type, in order."""
    return [e for e in events if isinstance(e, kind)]


CHAIN = """
tasks:
  - {id: a, run: make a, duration: 2}
  - {id: b, run: make b, duration: 1, depends: [a]}
  - {id: c, depends: [b], duration: 0}
"""


def test_chain_emits_the_exact_event_sequence() -> None:
    """A chain with a checkpoint gives start, finish and settle events in order on the
    virtual clock, and one RunStarted and RunFinished around them."""
    result, events, _ = run_plan(make_plan(CHAIN), workers=1, log_dir="/logs")
    assert events == [
        RunStarted(
            run_id="r1",
            tasks=3,
            already_done=0,
            workers=1,
            resumed=False,
            planned={"a": (0.0, 2.0), "b": (2.0, 3.0), "c": (3.0, 3.0)},
            planned_makespan=3.0,
            log_dir="/logs",
        ),
        TaskStarted("a", 1, 0.0, "dry-run", "/logs/a.1.log"),
        TaskFinished("a", 1, SUCCEEDED, 0, 2.0, 2.0, "/logs/a.1.log", None, "dry-run", None),
        TaskSettled("a", TaskStatus.SUCCEEDED),
        TaskStarted("b", 1, 2.0, "dry-run", "/logs/b.1.log"),
        TaskFinished("b", 1, SUCCEEDED, 0, 3.0, 1.0, "/logs/b.1.log", None, "dry-run", None),
        TaskSettled("b", TaskStatus.SUCCEEDED),
        TaskStarted("c", 1, 3.0, "dry-run", None),
        TaskFinished("c", 1, SUCCEEDED, 0, 3.0, 0.0, None, None, "dry-run", None),
        TaskSettled("c", TaskStatus.SUCCEEDED),
        RunFinished("r1", RunStatus.SUCCEEDED, 3.0, {TaskStatus.SUCCEEDED: 3}, ()),
    ]
    assert result.status is RunStatus.SUCCEEDED
    assert result.exit_code == 0
    assert result.wall == 3.0


def test_jobs_carry_the_run_environment_and_the_plan_root() -> None:
    """Each job gets WAVEPLAN_TASK, WAVEPLAN_RUN and WAVEPLAN_ATTEMPT and runs in the root."""
    plan = parse_plan_text(CHAIN, name="plan.yaml", root="/some/root")
    _, _, executor = run_plan(plan)
    job = executor.submitted[0]
    assert job.task == "a"
    assert job.command == "make a"
    assert job.cwd == "/some/root"
    assert dict(job.env) == {"WAVEPLAN_TASK": "a", "WAVEPLAN_RUN": "r1", "WAVEPLAN_ATTEMPT": "1"}
    assert [j.command for j in executor.submitted] == ["make a", "make b", None]


def test_checkpoint_task_has_no_log() -> None:
    """A task without ``run`` is a checkpoint: no command and no log file."""
    _, events, executor = run_plan(make_plan(CHAIN), log_dir="/logs")
    started = {e.task: e for e in of_kind(events, TaskStarted)}
    assert started["c"].log is None
    assert executor.submitted[-1].log is None


def test_retries_back_off_exponentially_on_the_virtual_clock() -> None:
    """A failed attempt is retried after retry_delay * 2 ** (n - 1), capped at the maximum."""
    plan = make_plan("tasks:\n  - {id: a, run: x, duration: 1, retries: 4}\n")
    result, events, _ = run_plan(
        plan, outcomes=failing("a", until=5), retry_delay=1.0, max_retry_delay=3.0
    )
    retrying = of_kind(events, TaskRetrying)
    assert retrying == [
        TaskRetrying("a", 2, 1.0),
        TaskRetrying("a", 3, 2.0),
        TaskRetrying("a", 4, 3.0),
        TaskRetrying("a", 5, 3.0),
    ]
    starts = [(e.attempt, e.time) for e in of_kind(events, TaskStarted)]
    # attempt n runs one unit, then waits its delay: 0, 1+1, 3+2, 6+3, 10+3
    assert starts == [(1, 0.0), (2, 2.0), (3, 5.0), (4, 9.0), (5, 13.0)]
    assert result.status is RunStatus.SUCCEEDED
    assert result.wall == 14.0


def test_thousands_of_retries_wait_the_maximum_delay() -> None:
    """The doubling stops at the maximum however many retries there are: the 1025th retry
    waited 2 ** 1024 seconds, more than a float holds, and crashed the run."""
    plan = make_plan("tasks:\n  - {id: a, run: x, duration: 0}\n")
    result, events, _ = run_plan(plan, outcomes=failing("a"), retries=1100, retry_delay=1.0)
    delays = [e.delay for e in of_kind(events, TaskRetrying)]
    assert len(delays) == 1100
    assert delays[:7] == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0]
    assert set(delays[6:]) == {60.0}
    assert result.status is RunStatus.FAILED
    _, events, _ = run_plan(plan, outcomes=failing("a"), retries=1100, retry_delay=0.0)
    assert {e.delay for e in of_kind(events, TaskRetrying)} == {0.0}


def test_task_passing_after_a_retry_is_flaky() -> None:
    """A task that succeeds on its second attempt is reported flaky; others are not."""
    plan = make_plan("tasks:\n  - {id: a, run: x, duration: 1}\n  - {id: b, run: x, duration: 1}\n")
    result, events, _ = run_plan(plan, outcomes=failing("b", until=2), retries=1)
    assert result.flaky == ("b",)
    finished = of_kind(events, RunFinished)[0]
    assert finished.flaky == ("b",)
    assert result.statuses == {"a": TaskStatus.SUCCEEDED, "b": TaskStatus.SUCCEEDED}
    assert result.exit_code == 0


def test_task_retries_override_the_run_option() -> None:
    """A task's own ``retries`` wins over ``RunOptions.retries``, also when it is zero."""
    plan = make_plan(
        "tasks:\n  - {id: a, run: x, retries: 0}\n  - {id: b, run: x}\n  - {id: c, run: x,"
        " retries: 2}\n"
    )
    result, events, _ = run_plan(plan, outcomes=failing("a", "b", "c"), retries=1, keep_going=True)
    tries = {}
    for event in of_kind(events, TaskStarted):
        tries[event.task] = event.attempt
    assert tries == {"a": 1, "b": 2, "c": 3}
    assert set(result.statuses.values()) == {TaskStatus.FAILED}
    assert result.flaky == ()


def test_exhausted_retries_fail_the_task_with_exit_code_one() -> None:
    """After its last retry fails the task is failed and the run exits 1."""
    plan = make_plan("tasks:\n  - {id: a, run: x, duration: 1}\n")
    result, events, _ = run_plan(plan, outcomes=failing("a"), retries=2, retry_delay=0.5)
    assert len(of_kind(events, TaskRetrying)) == 2
    assert len(of_kind(events, TaskStarted)) == 3
    assert of_kind(events, TaskSettled) == [TaskSettled("a", TaskStatus.FAILED)]
    assert result.status is RunStatus.FAILED
    assert result.exit_code == 1


def test_timed_out_attempt_is_a_failure_and_is_retried() -> None:
    """A timed-out attempt counts as a failure: it is retried and then reported flaky."""
    plan = make_plan("tasks:\n  - {id: a, run: x, duration: 1}\n")

    def outcomes(_task: str, attempt: int) -> AttemptStatus:
        return AttemptStatus.TIMED_OUT if attempt == 1 else SUCCEEDED

    result, events, _ = run_plan(plan, outcomes=outcomes, retries=1)
    statuses = [e.status for e in of_kind(events, TaskFinished)]
    assert statuses == [AttemptStatus.TIMED_OUT, SUCCEEDED]
    assert result.flaky == ("a",)


def test_retrying_task_keeps_its_resources() -> None:
    """While a failed task waits for its retry, a task writing the same file does not start."""
    plan = make_plan(
        "tasks:\n  - {id: a, run: x, duration: 1, files: [f]}\n"
        "  - {id: b, run: x, duration: 1, files: [f]}\n"
    )
    _, events, _ = run_plan(plan, outcomes=failing("a", until=2), retries=1, retry_delay=5.0)
    starts = [(e.task, e.attempt, e.time) for e in of_kind(events, TaskStarted)]
    assert starts == [("a", 1, 0.0), ("a", 2, 6.0), ("b", 1, 7.0)]


MIXED = """
tasks:
  - {id: a, run: x, duration: 2}
  - {id: b, run: x, duration: 1, depends: [a]}
  - {id: c, run: x, duration: 3}
  - {id: d, run: x, duration: 1, depends: [b]}
  - {id: e, run: x, duration: 1}
"""


def test_failure_stops_starting_tasks_and_lets_running_ones_finish() -> None:
    """By default, after a failure nothing new starts, the running task finishes, and the
    rest is skipped with the reason."""
    result, events, _ = run_plan(make_plan(MIXED), outcomes=failing("a"))
    assert [e.task for e in of_kind(events, TaskStarted)] == ["a", "c"]
    assert of_kind(events, TaskSettled) == [
        TaskSettled("a", TaskStatus.FAILED),
        TaskSettled("c", TaskStatus.SUCCEEDED),
        TaskSettled("b", TaskStatus.SKIPPED, "dependency a did not succeed"),
        TaskSettled("d", TaskStatus.SKIPPED, "dependency b was skipped: a did not succeed"),
        TaskSettled(
            "e",
            TaskStatus.SKIPPED,
            "not started: the run stopped after a failed (--keep-going runs independent tasks)",
        ),
    ]
    assert result.status is RunStatus.FAILED
    assert result.exit_code == 1
    assert of_kind(events, RunFinished)[0].counts == {
        TaskStatus.FAILED: 1,
        TaskStatus.SUCCEEDED: 1,
        TaskStatus.SKIPPED: 3,
    }


def test_keep_going_runs_everything_not_downstream_of_a_failure() -> None:
    """With keep_going, independent tasks still run; only downstream tasks are skipped."""
    result, events, _ = run_plan(make_plan(MIXED), outcomes=failing("a"), keep_going=True)
    assert [e.task for e in of_kind(events, TaskStarted)] == ["a", "c", "e"]
    assert result.statuses == {
        "a": TaskStatus.FAILED,
        "b": TaskStatus.SKIPPED,
        "c": TaskStatus.SUCCEEDED,
        "d": TaskStatus.SKIPPED,
        "e": TaskStatus.SUCCEEDED,
    }
    reasons = {e.task: e.reason for e in of_kind(events, TaskSettled)}
    assert reasons["b"] == "dependency a did not succeed"
    assert reasons["d"] is not None
    assert "a" in reasons["d"].split()
    assert result.exit_code == 1


def test_failing_task_event_carries_the_tail_of_its_log(tmp_path: Path) -> None:
    """A failed attempt's TaskFinished holds the last lines of its log; a success holds none."""
    (tmp_path / "a.1.log").write_text("".join(f"line {n}\n" for n in range(50)))
    (tmp_path / "b.1.log").write_text("fine\n")
    plan = make_plan("tasks:\n  - {id: a, run: x}\n  - {id: b, run: x}\n")
    _, events, _ = run_plan(plan, outcomes=failing("a"), log_dir=str(tmp_path), keep_going=True)
    tails = {e.task: e.tail for e in of_kind(events, TaskFinished)}
    assert tails["a"] == "\n".join(f"line {n}" for n in range(30, 50))
    assert tails["b"] is None


def test_log_tail_of_a_missing_file_is_none(tmp_path: Path) -> None:
    """log_tail gives None without a path or for a file that does not exist."""
    assert log_tail(None) is None
    assert log_tail(str(tmp_path / "missing.log")) is None
    (tmp_path / "short.log").write_bytes(b"one\ntwo\n\xff\n")
    assert log_tail(str(tmp_path / "short.log"), lines=2) == "two\n\ufffd"


def test_barrier_mode_runs_waves_strictly() -> None:
    """With barrier, no task of a wave starts before every task of the earlier waves ended;
    without it the same task starts as soon as its dependency succeeded."""
    plan = make_plan(
        "tasks:\n  - {id: a, run: x, duration: 1}\n  - {id: b, run: x, duration: 1,"
        " depends: [a]}\n  - {id: c, run: x, duration: 5}\n  - {id: d, run: x, duration: 1,"
        " depends: [b]}\n"
    )
    free, free_events, _ = run_plan(plan, workers=2)
    starts = {e.task: e.time for e in of_kind(free_events, TaskStarted)}
    assert starts == {"a": 0.0, "c": 0.0, "b": 1.0, "d": 2.0}
    assert free.wall == 5.0

    walled, events, _ = run_plan(plan, workers=2, barrier=True)
    starts = {e.task: e.time for e in of_kind(events, TaskStarted)}
    ends = {e.task: e.time for e in of_kind(events, TaskFinished)}
    assert starts == {"a": 0.0, "c": 0.0, "b": 5.0, "d": 6.0}
    assert walled.wall == 7.0
    waves = [["a", "c"], ["b"], ["d"]]
    for earlier, later in itertools.pairwise(waves):
        assert min(starts[t] for t in later) >= max(ends[t] for t in earlier)


def test_barrier_mode_with_a_failure_skips_the_rest() -> None:
    """In barrier mode a failure still ends the run with downstream tasks skipped."""
    plan = make_plan(
        "tasks:\n  - {id: a, run: x}\n  - {id: b, run: x, depends: [a]}\n  - {id: c, run: x}\n"
    )
    result, _, _ = run_plan(plan, outcomes=failing("a"), barrier=True, keep_going=True)
    assert result.statuses == {
        "a": TaskStatus.FAILED,
        "b": TaskStatus.SKIPPED,
        "c": TaskStatus.SUCCEEDED,
    }


def test_resume_skips_done_tasks_and_numbers_attempts_on() -> None:
    """Tasks passed as done are not run; the others start at once with their next attempt
    numbers, and RunStarted says the session resumes."""
    result, events, executor = run_plan(
        make_plan(CHAIN), done=["a", "unknown"], first_attempt={"b": 3}, log_dir="/logs"
    )
    first = events[0]
    assert isinstance(first, RunStarted)
    assert first.already_done == 1
    assert first.resumed is True
    assert [(j.task, j.attempt) for j in executor.submitted] == [("b", 3), ("c", 1)]
    assert executor.submitted[0].env["WAVEPLAN_ATTEMPT"] == "3"
    assert executor.submitted[0].log == "/logs/b.3.log"
    assert of_kind(events, TaskStarted)[0].time == 0.0
    assert result.statuses["a"] is TaskStatus.SUCCEEDED
    assert "a" not in {e.task for e in of_kind(events, TaskSettled)}
    assert result.status is RunStatus.SUCCEEDED


def test_resume_with_everything_done_runs_nothing() -> None:
    """When every task is already done the session succeeds at once."""
    result, events, executor = run_plan(make_plan(CHAIN), done=["a", "b", "c"])
    assert executor.submitted == []
    assert result.status is RunStatus.SUCCEEDED
    assert result.wall == 0.0
    assert [type(e) for e in events] == [RunStarted, RunFinished]


class StopAt:
    """A sink that asks the runner to stop when a given task starts."""

    def __init__(self, task: str) -> None:
        self.task = task
        self.runner: Runner | None = None

    def handle(self, event: Event) -> None:
        if isinstance(event, TaskStarted) and event.task == self.task and self.runner:
            self.runner.request_stop()

    def close(self) -> None:
        pass


def test_interrupt_terminates_running_tasks_and_exits_130() -> None:
    """A stop request ends running attempts as interrupted, starts nothing more, and the run
    is interrupted with exit code 130."""
    plan = make_plan(
        "tasks:\n  - {id: a, run: x, duration: 1}\n  - {id: b, run: x, duration: 5}\n"
        "  - {id: c, run: x, duration: 1, depends: [a]}\n"
    )
    executor = FakeExecutor()
    record = RecordingSink()
    stop = StopAt("c")
    runner = Runner(
        plan, run_id="r1", executor=executor, sinks=[record, stop], options=RunOptions(workers=2)
    )
    stop.runner = runner
    result = runner.run()
    settled = {e.task: (e.status, e.reason) for e in of_kind(record.events, TaskSettled)}
    assert settled == {
        "a": (TaskStatus.SUCCEEDED, None),
        "b": (TaskStatus.INTERRUPTED, None),
        "c": (TaskStatus.INTERRUPTED, None),
    }
    finished = {e.task: (e.status, e.time) for e in of_kind(record.events, TaskFinished)}
    assert finished["b"] == (AttemptStatus.INTERRUPTED, 1.0)
    assert result.status is RunStatus.INTERRUPTED
    assert result.exit_code == 130


def test_interrupt_before_dependents_start_skips_them_with_the_reason() -> None:
    """Tasks that never started when the run was interrupted are skipped as interrupted."""
    plan = make_plan(
        "tasks:\n  - {id: a, run: x, duration: 1}\n  - {id: b, run: x, duration: 1,"
        " depends: [a]}\n  - {id: c, run: x, duration: 1, depends: [b]}\n"
    )
    executor = FakeExecutor()
    record = RecordingSink()
    stop = StopAt("a")
    runner = Runner(
        plan, run_id="r1", executor=executor, sinks=[record, stop], options=RunOptions(workers=1)
    )
    stop.runner = runner
    result = runner.run()
    settled = {e.task: (e.status, e.reason) for e in of_kind(record.events, TaskSettled)}
    assert settled == {
        "a": (TaskStatus.INTERRUPTED, None),
        "b": (TaskStatus.SKIPPED, "dependency a was interrupted"),
        "c": (TaskStatus.SKIPPED, "dependency b was skipped: a was interrupted"),
    }
    assert result.exit_code == 130


def test_interrupt_during_a_retry_delay_settles_the_task_interrupted() -> None:
    """A task waiting for its retry when the run is interrupted is not tried again."""
    plan = make_plan("tasks:\n  - {id: a, run: x, duration: 1}\n  - {id: b, run: x, duration: 3}\n")
    executor = FakeExecutor(outcomes=failing("a"))
    record = RecordingSink()

    class StopOnRetry:
        runner: Runner | None = None

        def handle(self, event: Event) -> None:
            if isinstance(event, TaskRetrying) and self.runner is not None:
                self.runner.request_stop()

        def close(self) -> None:
            pass

    stop = StopOnRetry()
    runner = Runner(
        plan,
        run_id="r1",
        executor=executor,
        sinks=[record, stop],
        options=RunOptions(workers=2, retries=3, retry_delay=10.0),
    )
    stop.runner = runner
    result = runner.run()
    assert sorted((j.task, j.attempt) for j in executor.submitted) == [("a", 1), ("b", 1)]
    assert result.statuses == {"a": TaskStatus.INTERRUPTED, "b": TaskStatus.INTERRUPTED}
    assert result.status is RunStatus.INTERRUPTED
    assert result.wall == 1.0


def test_conflicting_tasks_never_overlap() -> None:
    """Tasks writing the same file run one after another even with free workers."""
    plan = make_plan(
        "tasks:\n  - {id: a, run: x, duration: 2, files: [src/x.py]}\n"
        "  - {id: b, run: x, duration: 2, files: [src/]}\n"
        "  - {id: c, run: x, duration: 2, reads: [src/x.py]}\n"
        "  - {id: d, run: x, duration: 2, reads: [src/x.py]}\n"
    )
    _, events, _ = run_plan(plan, workers=4)
    spans = {}
    for event in events:
        if isinstance(event, TaskStarted):
            spans[event.task] = [event.time, 0.0]
        elif isinstance(event, TaskFinished):
            spans[event.task][1] = event.time
    assert spans["c"] == spans["d"]  # two readers share the file
    for one, other in (("a", "b"), ("a", "c"), ("b", "c"), ("b", "d")):
        assert spans[one][1] <= spans[other][0] or spans[other][1] <= spans[one][0]


def random_plan(seed: int, size: int = 30) -> Plan:
    """A seeded plan with dependencies, file conflicts and a counted resource."""
    rng = random.Random(seed)
    lines = ["workers: 3", "resources: {db: 2}", "tasks:"]
    for n in range(size):
        deps = sorted({f"t{rng.randrange(n)}" for _ in range(rng.randrange(3))} if n else set())
        files = sorted({f"f{rng.randrange(6)}" for _ in range(rng.randrange(2))})
        uses = "{db: 1}" if rng.random() < 0.3 else "{}"
        lines.append(
            f"  - {{id: t{n}, run: x, duration: {rng.randint(1, 9)}, depends: {deps},"
            f" files: {files}, uses: {uses}}}"
        )
    return make_plan("\n".join(lines).replace("'", ""))


@pytest.mark.parametrize("seed", range(5))
def test_dry_run_makespan_is_the_planned_practical_makespan(seed: int) -> None:
    """On the fake executor the run's makespan is exactly the planned one, since run and plan
    share one scheduler policy."""
    plan = random_plan(seed)
    result, events, _ = run_plan(plan, workers=3)
    started = events[0]
    assert isinstance(started, RunStarted)
    assert result.wall == pytest.approx(started.planned_makespan)
    actual = {e.task: e.time for e in of_kind(events, TaskStarted)}
    assert actual == {t: s for t, (s, _) in started.planned.items()}


def test_event_sequence_does_not_depend_on_input_order() -> None:
    """The same plan written in reverse task order gives the same events."""
    forward = "\n".join(
        ["tasks:"]
        + [f"  - {{id: t{n}, run: x, duration: {n % 3 + 1}, files: [f{n % 2}]}}" for n in range(8)]
    )
    backward = "\n".join(["tasks:", *reversed(forward.splitlines()[1:])])
    _, one, _ = run_plan(make_plan(forward))
    _, two, _ = run_plan(make_plan(backward))
    assert one == two


def test_a_stop_requested_before_the_runner_exists_reaches_it() -> None:
    """Ctrl-C while the session is still being set up (history, worktrees) is not lost: the
    runner gets it as soon as it exists, and starts nothing."""
    plan = make_plan("tasks:\n  - {id: a, run: x, duration: 1}\n")
    switch = _StopSwitch()
    switch.request()
    executor = FakeExecutor()
    runner = Runner(plan, run_id="r1", executor=executor, sinks=[], options=RunOptions(workers=1))
    switch.attach(runner)
    result = runner.run()
    assert executor.submitted == []
    assert result.status is RunStatus.INTERRUPTED
    assert result.statuses == {"a": TaskStatus.SKIPPED}


def test_a_log_tail_is_safe_to_print(tmp_path: Path) -> None:
    """The tail of a failing task's log goes to a terminal: escape sequences (a title change,
    clear screen) and control bytes are dropped, carriage-return progress keeps what the
    terminal would show, a huge line is cut, and only newlines count as line ends (form feeds
    and \\x1c made extra lines that crowded out the real last ones)."""
    log = tmp_path / "t.1.log"
    log.write_bytes(
        b"first\n" + b"x" * 50_000 + b"\nA\x1b]0;PWNED\x07B \x1b[2J C \x1b[31mred\x1b[0m\n"
        b"progress 10%\rprogress 50%\rdone\r\n"
        b"page\x0cbreak\x1c\x00end\n\n"
    )
    tail = log_tail(str(log), lines=4)
    assert tail is not None
    lines = tail.split("\n")
    assert lines[0] == "x" * 400 + "... (49,600 more characters)"
    assert lines[1] == "AB  C red"
    assert lines[2] == "done"
    assert lines[3] == "page\ufffdbreak\ufffd\ufffdend"
    assert "\x1b" not in tail


def test_a_runs_wall_time_counts_from_its_start_not_from_the_executors() -> None:
    """An executor made before the run (the Dask one is, to count the cluster's threads) has
    run its clock meanwhile: the run's wall time leaves that out (a run of 0.6 s of work was
    measured 2.4 s, 'slower than sequential')."""
    executor = FakeExecutor()
    executor._clock = 1.75  # planning and connecting took this long
    runner = Runner(
        make_plan(CHAIN), run_id="r1", executor=executor, sinks=[], options=RunOptions(workers=2)
    )
    result = runner.run()
    assert result.wall == pytest.approx(3.0)  # the chain: 2 + 1 + 0


def test_a_resumed_sessions_plan_holds_only_what_is_left() -> None:
    """RunStarted's planned spans are the tasks the session runs: a resumed run's done tasks
    are left out (the live display's ETA counted them, and never reached 0)."""
    plan = make_plan(CHAIN)
    record = RecordingSink()
    Runner(
        plan,
        run_id="r1",
        executor=FakeExecutor(),
        sinks=[record],
        options=RunOptions(workers=2),
        done={"a"},
    ).run()
    (started,) = of_kind(record.events, RunStarted)
    assert set(started.planned) == {"b", "c"}


def test_progress_lines_tell_a_stopped_task_from_a_failed_one() -> None:
    """An interrupted attempt is "stopped", not "FAILED (interrupted)"; a command that could
    not start says why, not "exit code None"."""
    stream = io.StringIO()
    progress = PlainProgress(stream)
    progress.handle(TaskFinished("b", 1, AttemptStatus.INTERRUPTED, None, 1.0, 1.0, "b.1.log"))
    progress.handle(
        TaskFinished(
            "c",
            1,
            AttemptStatus.FAILED,
            None,
            1.0,
            0.0,
            "c.1.log",
            reason="cannot start the command: [Errno 2] No such file or directory",
        )
    )
    lines = stream.getvalue().splitlines()
    assert lines[0].endswith("stopped b (interrupted) after 1.00s; log: b.1.log")
    assert "FAILED c (cannot start the command: [Errno 2] No such file or directory)" in lines[1]

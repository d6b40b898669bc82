"""The runner loop: start what the scheduler allows, wait for one to end, finish it.

The same :class:`~waveplan.schedule.scheduler.Scheduler` that plans decides what starts, now on
the executor's clock. The loop owns policy only: retries with exponential backoff (a retrying
task keeps its resources), merge conflicts of isolated runs (settle the task, or run it once
more on the new integration head), stopping after a failure (or going on with ``keep_going``),
and interruption. Execution lives in the executor; persistence and display in the sinks, which
receive every event in order.
"""

from __future__ import annotations

import heapq
import re
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from waveplan.errors import CONTROL_CHARACTERS
from waveplan.graph import Graph, tails
from waveplan.model import AttemptStatus, Plan, RunStatus, TaskStatus
from waveplan.resources.index import ResourceIndex
from waveplan.run.agent import PROMPT_ENV, PROMPT_ENV_LIMIT, render_prompt
from waveplan.run.events import (
    BatchingSink,
    Event,
    RunFinished,
    RunStarted,
    Sink,
    TaskFinished,
    TaskRetrying,
    TaskSettled,
    TaskStarted,
)
from waveplan.run.executor import Executor, Job, Outcome
from waveplan.schedule.scheduler import Policy, Scheduler
from waveplan.schedule.simulate import simulate
from waveplan.schedule.waves import layer

__all__ = ["ConflictPolicy", "RunOptions", "RunResult", "Runner", "log_tail"]

TAIL_LINES = 20


class ConflictPolicy(Enum):
    """What a task whose work does not merge gets (``--on-conflict``)."""

    STOP = "stop"  # settled as a conflict, which blocks its dependents like a failure
    RERUN = "rerun"  # run once more, from the integration branch with the work it collided with


@dataclass(frozen=True, slots=True)
class RunOptions:
    """How to run: the worker limit and the failure, retry and timeout policies.

    ``retries`` and ``timeout`` apply to tasks that do not set their own. A failed attempt is
    retried after ``retry_delay * 2 ** (n - 1)`` seconds (at most ``max_retry_delay``).
    ``agent_command`` runs the tasks that have an ``agent`` prompt; ``on_conflict`` decides
    what a merge conflict of an isolated run does.
    """

    workers: int
    keep_going: bool = False
    retries: int = 0
    timeout: float | None = None
    barrier: bool = False
    retry_delay: float = 1.0
    max_retry_delay: float = 60.0
    agent_command: str | None = None
    on_conflict: ConflictPolicy = ConflictPolicy.STOP


@dataclass(frozen=True, slots=True)
class RunResult:
    """What a session achieved."""

    status: RunStatus
    statuses: Mapping[str, TaskStatus]
    flaky: tuple[str, ...]
    wall: float

    @property
    def exit_code(self) -> int:
        """0 success, 1 a task failed, 130 interrupted (DESIGN section 6)."""
        if self.status is RunStatus.SUCCEEDED:
            return 0
        if self.status is RunStatus.INTERRUPTED:
            return 130
        return 1


def log_tail(path: str | None, lines: int = TAIL_LINES) -> str | None:
    """The last lines of a log file (None when there is none)."""
    if path is None:
        return None
    try:
        with Path(path).open("rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            data = handle.read()
    except OSError:
        return None
    text = data.decode("utf-8", errors="replace")
    shown = [_printable(line) for line in text.split("\n")]
    while shown and not shown[-1]:
        shown.pop()
    return "\n".join(shown[-lines:])


# Terminal escape sequences (colours, cursor moves, titles): dropped from a tail shown on screen.
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
# Control characters, tab and line feed but, shown as U+FFFD: the tail keeps its layout.
_CONTROLS = re.compile(rf"(?![\t\n])[{CONTROL_CHARACTERS}]")
TAIL_WIDTH = 400
"""Characters of a tail line shown (a line of a megabyte stays in the log)."""


def _printable(line: str) -> str:
    """A log line as a terminal would leave it, safe to print: what the last carriage return
    did not overwrite, without escape sequences or control characters, at most TAIL_WIDTH."""
    line = _ESCAPES.sub("", line.rstrip("\r")).rsplit("\r", 1)[-1]
    line = _CONTROLS.sub("\ufffd", line)
    if len(line) > TAIL_WIDTH:
        line = f"{line[:TAIL_WIDTH]}... ({len(line) - TAIL_WIDTH:,} more characters)"
    return line


class Runner:
    """Runs one session of a plan.

    ``done`` are tasks that already succeeded (resume); ``first_attempt`` gives, per task, the
    number of its next attempt (attempts are numbered across sessions). ``policy`` is the
    practical schedule's policy (``waveplan plan``'s, see
    :func:`~waveplan.schedule.analysis.practical_policy`); without one, the critical-path rule.
    """

    def __init__(
        self,
        plan: Plan,
        *,
        run_id: str,
        executor: Executor,
        sinks: Sequence[Sink],
        options: RunOptions,
        graph: Graph | None = None,
        index: ResourceIndex | None = None,
        log_dir: str | None = None,
        done: Iterable[str] = (),
        first_attempt: Mapping[str, int] | None = None,
        policy: Policy | None = None,
        resumed: bool | None = None,
    ) -> None:
        self.plan = plan
        self.policy = policy
        # A fresh run of a plan with tasks marked done is not a resumed one: the session says.
        self.resumed = bool(done or first_attempt) if resumed is None else resumed
        self.run_id = run_id
        self.executor = executor
        # Each sink, with itself again when it wants to know which events come together
        # (checked once: isinstance against a runtime protocol is slow, and a run flushes
        # once per turn of its loop).
        self._sinks: list[tuple[Sink, BatchingSink | None]] = [
            (s, s if isinstance(s, BatchingSink) else None) for s in sinks
        ]
        self.options = options
        self.graph = graph if graph is not None else Graph.from_plan(plan)
        self.index = index if index is not None else ResourceIndex.build(plan)
        self.log_dir = log_dir
        self.done = {self.graph.index[t] for t in done if t in self.graph.index}
        self.first_attempt = dict(first_attempt or {})
        self._stop_requested = False
        self._kill_requested = False

    def request_stop(self) -> None:
        """Stop starting tasks and terminate the running ones; asked again, kill them without
        waiting for the grace period. Safe in a signal handler: it only sets flags and wakes
        the loop, which does the rest."""
        if self._stop_requested:
            self._kill_requested = True
        self._stop_requested = True
        self.executor.interrupt()

    # --- the loop ----------------------------------------------------------------------------

    def run(self) -> RunResult:
        graph, options, executor = self.graph, self.options, self.executor
        priority = tails(graph) if self.policy is None else None
        planned = simulate(
            graph, self.index, workers=options.workers, priority=priority, policy=self.policy
        )
        waves = (
            layer(graph, self.index, planned.order, options.workers) if options.barrier else None
        )
        scheduler = Scheduler(
            graph,
            self.index,
            workers=options.workers,
            priority=priority,
            waves=waves,
            done=self.done,
            policy=self.policy,
        )
        self._scheduler = scheduler
        self._settled: dict[int, TaskStatus] = dict.fromkeys(self.done, TaskStatus.SUCCEEDED)
        self._tries = [0] * len(graph)
        self._flaky: list[str] = []
        self._in_flight: set[int] = set()
        self._retry_at: list[tuple[float, int]] = []
        self._failed_first: str | None = None
        self._reran: set[int] = set()
        self._events: list[Event] = []
        self._stopping = False
        self._interrupted = False
        self._killed = False
        began = executor.now()  # (an executor made earlier, a Dask one, has run its clock)
        self._emit(
            RunStarted(
                run_id=self.run_id,
                tasks=len(graph),
                already_done=len(self.done),
                workers=options.workers,
                resumed=self.resumed,
                planned={  # the tasks left to run (a resumed run's done ones are not)
                    graph.ids[i]: (planned.start[i], planned.end[i])
                    for i in range(len(graph))
                    if i not in self.done
                },
                planned_makespan=planned.makespan,
                log_dir=self.log_dir,
            )
        )
        scheduler.prepare(executor.now())
        while True:
            if self._stop_requested and not self._interrupted:
                self._interrupt()
            if self._kill_requested and not self._killed:
                self._killed = True
                executor.kill()
            now = executor.now()
            while self._retry_at and self._retry_at[0][0] <= now:
                self._submit(heapq.heappop(self._retry_at)[1])
            if not self._stopping:
                for task in scheduler.ready(now):
                    self._submit(task)
            self._flush()
            if not self._in_flight and not self._retry_at:
                break
            timeout = max(0.0, self._retry_at[0][0] - now) if self._retry_at else None
            for outcome in executor.wait(timeout):
                self._finish(outcome)
        wall = executor.now() - began
        self._settle_rest()
        statuses = {graph.ids[i]: status for i, status in self._settled.items()}
        status = self._run_status(statuses)
        counts: dict[TaskStatus, int] = {}
        for task_status in statuses.values():
            counts[task_status] = counts.get(task_status, 0) + 1
        self._emit(RunFinished(self.run_id, status, wall, counts, tuple(self._flaky)))
        self._flush()
        return RunResult(status, statuses, tuple(self._flaky), wall)

    def _run_status(self, statuses: Mapping[str, TaskStatus]) -> RunStatus:
        if self._interrupted:
            return RunStatus.INTERRUPTED
        if all(s is TaskStatus.SUCCEEDED for s in statuses.values()):
            return RunStatus.SUCCEEDED
        return RunStatus.FAILED

    def _emit(self, event: Event) -> None:
        self._events.append(event)

    def _flush(self) -> None:
        """Hand the events of one loop turn to the sinks: all of them to the first sink (the
        history, which commits them together), then to the next, so that a sink failing or
        slow (a display whose reader went away or lags) can neither cut the record of the
        turn in half nor hold its commit back. The turn first hands new jobs to the executor,
        so idle workers do not wait for the history to be written."""
        if not self._events:
            return
        events, self._events = self._events, []
        for sink, batch in self._sinks:
            if batch is not None:
                batch.begin_batch()
            try:
                for event in events:
                    sink.handle(event)
            finally:
                if batch is not None:
                    batch.end_batch()

    def _submit(self, task: int) -> None:
        spec = self.plan.tasks[task]
        self._tries[task] += 1
        attempt = self.first_attempt.get(spec.id, 1) + self._tries[task] - 1
        command, stdin = spec.run, None
        env = {
            "WAVEPLAN_TASK": spec.id,
            "WAVEPLAN_RUN": self.run_id,
            "WAVEPLAN_ATTEMPT": str(attempt),
        }
        if spec.agent is not None:
            command = self.options.agent_command
            prompt = render_prompt(spec).encode()
            stdin = prompt
            if len(prompt) <= PROMPT_ENV_LIMIT:
                env[PROMPT_ENV] = prompt.decode()
        log = None
        if command is not None and self.log_dir is not None:
            log = str(Path(self.log_dir) / f"{spec.id}.{attempt}.log")
        job = Job(
            task=spec.id,
            attempt=attempt,
            command=command,
            cwd=self.plan.root,
            env=env,
            log=log,
            timeout=spec.timeout if spec.timeout is not None else self.options.timeout,
            duration=spec.duration,
            stdin=stdin,
        )
        self._in_flight.add(task)
        # The start is read before the executor starts the job, which reads its own start
        # (and its end) later: a recorded attempt never ends before it started.
        started = self.executor.now()
        worker = self.executor.submit(job)
        self._emit(TaskStarted(spec.id, attempt, started, worker, log))

    def _finish(self, outcome: Outcome) -> None:
        job = outcome.job
        task = self.graph.index[job.task]
        self._in_flight.discard(task)
        ok = outcome.status is AttemptStatus.SUCCEEDED
        self._emit(
            TaskFinished(
                task=job.task,
                attempt=job.attempt,
                status=outcome.status,
                exit_code=outcome.exit_code,
                time=outcome.end,
                duration=outcome.end - outcome.start,
                log=job.log,
                tail=None if ok else log_tail(job.log),
                worker=outcome.worker,
                host=outcome.host,
                reason=outcome.reason,
                worktree=outcome.worktree,
            )
        )
        now = self.executor.now()
        tries = self._tries[task] - (task in self._reran)  # a rerun after a conflict is not a
        if ok:  # try of its own: the attempt before it did succeed
            if tries > 1:
                self._flaky.append(job.task)
            self._scheduler.finished(task, True, now)
            self._settle(task, TaskStatus.SUCCEEDED)
            return
        if outcome.status is AttemptStatus.INTERRUPTED or self._interrupted:
            self._scheduler.finished(task, False, now)
            self._settle(task, TaskStatus.INTERRUPTED)
            return
        if outcome.status is AttemptStatus.CONFLICT:
            self._conflict(task, outcome, now)
            return
        spec = self.plan.tasks[task]
        retries = spec.retries if spec.retries is not None else self.options.retries
        if tries <= retries:
            delay = self._backoff(tries)
            heapq.heappush(self._retry_at, (now + delay, task))
            self._emit(TaskRetrying(job.task, job.attempt + 1, delay))
            return
        self._scheduler.finished(task, False, now)
        # The reason says why a failure its exit code does not explain happened (a command
        # that succeeded, then a git step of an isolated run that failed).
        self._settle(task, TaskStatus.FAILED, outcome.reason)
        self._stop_after(f"{job.task} failed")

    def _backoff(self, tries: int) -> float:
        """The delay before the retry after the ``tries``-th failure."""
        # 2.0 ** n overflows a float past n = 1023; by then the maximum was reached long ago
        # (or the first delay is zero, and so is every delay).
        doubled = self.options.retry_delay * 2.0 ** min(tries - 1, 1023)
        return min(self.options.max_retry_delay, doubled)

    def _conflict(self, task: int, outcome: Outcome, now: float) -> None:
        """A task whose work does not merge. The work it collided with is already on the
        integration branch (merges happen one at a time), so a rerun starts right away from
        there; it keeps its resources meanwhile, like a retry."""
        if self.options.on_conflict is ConflictPolicy.RERUN and task not in self._reran:
            self._reran.add(task)
            heapq.heappush(self._retry_at, (now, task))
            self._emit(
                TaskRetrying(outcome.job.task, outcome.job.attempt + 1, 0.0, after_conflict=True)
            )
            return
        self._scheduler.finished(task, False, now)
        self._settle(task, TaskStatus.CONFLICT, outcome.reason)
        self._stop_after(f"{outcome.job.task} had a merge conflict")

    def _stop_after(self, what: str) -> None:
        """A task ended badly: remember the first one, and stop starting tasks unless
        ``keep_going``."""
        if self._failed_first is None:
            self._failed_first = what
        if not self.options.keep_going:
            self._stopping = True

    def _settle(self, task: int, status: TaskStatus, reason: str | None = None) -> None:
        self._settled[task] = status
        self._emit(TaskSettled(self.graph.ids[task], status, reason))

    def _interrupt(self) -> None:
        self._interrupted = True
        self._stopping = True
        self.executor.terminate()
        now = self.executor.now()
        for _, task in self._retry_at:
            self._scheduler.finished(task, False, now)
            self._settle(task, TaskStatus.INTERRUPTED)
        self._retry_at.clear()

    def _settle_rest(self) -> None:
        """Tasks that never ran: skipped, with the reason."""
        graph = self.graph
        # Per blocked task: the task that did not succeed, and the dependency it reaches
        # this one through (itself for a direct dependent).
        blocked_by: dict[int, tuple[int, int]] = {}
        blocking = (TaskStatus.FAILED, TaskStatus.INTERRUPTED, TaskStatus.CONFLICT)
        failed = sorted(t for t, s in self._settled.items() if s in blocking)
        for origin in failed:
            queue = deque((s, origin) for s in graph.succs[origin])
            while queue:
                task, via = queue.popleft()
                if task in blocked_by or task in self._settled:
                    continue
                blocked_by[task] = (origin, via)
                queue.extend((s, task) for s in graph.succs[task])
        for task in range(len(graph)):
            if task in self._settled:
                continue
            if task in blocked_by:
                origin, via = blocked_by[task]
                failed_id, via_id = graph.ids[origin], graph.ids[via]
                how = (
                    "was interrupted"
                    if self._settled[origin] is TaskStatus.INTERRUPTED
                    else "did not succeed"
                )
                reason = f"dependency {failed_id} {how}"
                if via != origin:
                    reason = f"dependency {via_id} was skipped: {failed_id} {how}"
            elif self._interrupted:
                reason = "the run was interrupted"
            elif self._failed_first is not None:
                reason = (
                    f"not started: the run stopped after {self._failed_first} "
                    "(--keep-going runs independent tasks)"
                )
            else:  # pragma: no cover - every task settles in a completed run
                reason = "not started"
            self._settle(task, TaskStatus.SKIPPED, reason)

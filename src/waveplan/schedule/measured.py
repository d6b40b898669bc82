"""Measured figures of a run: how much of the promised speedup was real.

From what the history recorded (:class:`~waveplan.model.RunInfo`), with the definitions of
DESIGN section 7: ``sequential`` is the sum of the measured task durations (all attempts);
``theoretical`` and ``practical`` are recomputed with those durations (critical path; the
conflict-aware schedule under the run's worker limit); ``measured`` is the wall-clock time the
run took; ``efficiency`` is the measured saving over the theoretical saving.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from waveplan.graph import Graph, critical_path, tails
from waveplan.model import (
    AttemptStatus,
    DurationSource,
    Plan,
    RunInfo,
    TaskRun,
    TaskStatus,
    WorktreeRecord,
)
from waveplan.resources.index import ResourceIndex
from waveplan.schedule.analysis import practical_policy
from waveplan.schedule.simulate import simulate
from waveplan.schedule.waves import layer

__all__ = ["Makespans", "RunReport", "TaskReport", "measure"]


MIN_WORK = 0.01
"""Seconds of measured work below which a run's savings are not figures (see measurable)."""


@dataclass(frozen=True, slots=True)
class Makespans:
    sequential: float
    theoretical: float
    practical: float


@dataclass(frozen=True, slots=True)
class TaskReport:
    """One task of a run: planned against actual (times relative to the run's start).

    In an isolated run, ``branch`` is the task's branch and the rest comes from its last
    attempt in a worktree: the observed footprint, the undeclared files among it (with the
    other tasks whose declared files each one overlaps), and the paths that did not merge.
    """

    id: str
    status: TaskStatus
    attempts: int
    start: float | None
    end: float | None
    duration: float
    exit_code: int | None
    planned_start: float
    planned_end: float
    reason: str | None
    flaky: bool
    worker: str | None = None  # the last attempt's worker (with Dask: the worker's address)
    waited: float = 0.0  # between its attempts: the retry backoff
    timed_out: bool = False  # its last attempt was stopped at its timeout
    branch: str | None = None
    observed_files: tuple[str, ...] = ()
    undeclared: tuple[str, ...] = ()
    overlaps: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    conflict_paths: tuple[str, ...] = ()
    conflict_with: tuple[str, ...] = ()
    shared: tuple[str, ...] = ()
    # The plan marks it done: the run does not start it, so its planned start and end (where
    # the planned schedule put it, taking no time) are not shown.
    done: bool = False


@dataclass(frozen=True, slots=True, eq=False)
class RunReport:
    """A run with its planned and measured figures."""

    run: RunInfo
    planned: Makespans
    actual: Makespans
    measured: float
    efficiency: float | None
    tasks: list[TaskReport]

    @property
    def plan(self) -> Plan:
        """The plan as the run ran it (with the run's worker count, the tasks the plan marks
        done taking no time): what the planned figures and the HTML report's analysis are
        of, so the two agree."""
        return _as_run(self.run)

    @property
    def flaky(self) -> list[str]:
        return [t.id for t in self.tasks if t.flaky]

    @property
    def measurable(self) -> bool:
        """Whether the tasks did measurable work: below MIN_WORK seconds in all (a run of
        checkpoints), savings and efficiency are the run's own overhead, not the plan's."""
        return _measurable(self.actual)

    @property
    def retry_wait(self) -> float:
        """Seconds tasks spent waiting to be retried, summed over tasks. Each wait is part of
        the measured time when it delayed the run (a task with nothing else to do meanwhile)."""
        return math.fsum(t.waited for t in self.tasks)


def _as_run(run: RunInfo) -> Plan:
    """The run's plan with the run's worker count, its tasks the plan marks done taking no
    time: the run does not run them."""
    tasks = tuple(dataclasses.replace(t, duration=0.0) if t.done else t for t in run.plan.tasks)
    return dataclasses.replace(run.plan, workers=run.workers, tasks=tasks)


def _measurable(actual: Makespans) -> bool:
    return actual.sequential >= MIN_WORK


def _promised_measurable(actual: Makespans) -> bool:
    """Whether the theoretical saving, in seconds, is itself measurable: a few milliseconds
    promised (a 2 s task beside a 4 ms one) divide the run's own overhead into an efficiency
    such as -19763 %, a figure of nothing."""
    return _measurable(actual) and actual.sequential - actual.theoretical >= MIN_WORK


def _figures(plan: Plan, *, barrier: bool = False) -> tuple[Makespans, list[float], list[float]]:
    """The plan's figures, its practical schedule being the one ``plan`` reports and ``run``
    follows (the search's policy), not the bare critical-path rule. ``barrier``: the
    practical waves run one after another, as ``run --barrier`` lays them out from that
    schedule."""
    graph = Graph.from_plan(plan)
    index = ResourceIndex.build(plan)
    policy = practical_policy(plan, graph, index)
    priority = tails(graph) if policy is None else None
    sim = simulate(graph, index, workers=plan.workers, priority=priority, policy=policy)
    if barrier:
        waves = layer(graph, index, sim.order, plan.workers)
        sim = simulate(
            graph, index, workers=plan.workers, waves=waves, priority=priority, policy=policy
        )
    figures = Makespans(
        sequential=math.fsum(graph.durations),
        theoretical=critical_path(graph).length,
        practical=sim.makespan,
    )
    return figures, sim.start, sim.end


def _measured_duration(task: TaskRun) -> float:
    return math.fsum(a.end - a.start for a in task.attempts if a.end is not None)


def _waited(task: TaskRun) -> float:
    """Seconds between the end of each attempt and the start of its retry in the same session
    (a resumed run's pause between sessions is no retry wait, and neither is the moment before
    a rerun after a merge conflict, which starts at once: it waits out no backoff)."""
    return math.fsum(
        max(0.0, later.start - earlier.end)
        for earlier, later in itertools.pairwise(task.attempts)
        if earlier.end is not None
        and earlier.session == later.session
        and earlier.status is not AttemptStatus.CONFLICT
    )


def _last_worktree(task: TaskRun) -> WorktreeRecord | None:
    """What the task's last attempt in a worktree did (None outside isolated runs)."""
    for attempt in reversed(task.attempts):
        if attempt.worktree is not None:
            return attempt.worktree
    return None


def measure(run: RunInfo) -> RunReport:
    """Planned and measured figures of a recorded run. Tasks the plan marks done are planned
    as taking no time: the run does not run them."""
    plan = _as_run(run)
    planned, planned_start, planned_end = _figures(plan, barrier=run.barrier)
    durations = {t.id: _measured_duration(t) for t in run.tasks}
    if all(
        math.isclose(durations.get(t.id, 0.0), t.duration, rel_tol=1e-9, abs_tol=1e-6)
        for t in plan.tasks
    ):  # a dry run: the tasks took what they were planned to (to the microsecond its clock
        # keeps), so the figures are the same, and the search need not run twice
        actual = planned
    else:
        measured_plan = dataclasses.replace(
            plan,
            tasks=tuple(
                dataclasses.replace(
                    t, duration=durations.get(t.id, 0.0), duration_source=DurationSource.HISTORY
                )
                for t in plan.tasks
            ),
        )
        actual, _, _ = _figures(measured_plan, barrier=run.barrier)
    promised = 1 - actual.theoretical / actual.sequential if actual.sequential > 0 else 0.0
    achieved = 1 - run.wall / actual.sequential if actual.sequential > 0 else 0.0
    tasks = []
    for i, record in enumerate(run.tasks):
        starts = [run.clock(a.start, a.session) for a in record.attempts]
        ends = [run.clock(a.end, a.session) for a in record.attempts if a.end is not None]
        final = record.final
        git = _last_worktree(record)
        tasks.append(
            TaskReport(
                id=record.id,
                status=record.status,
                attempts=len(record.attempts),
                start=min(starts) if starts else None,
                end=max(ends) if ends else None,
                duration=durations[record.id],
                exit_code=None if final is None else final.exit_code,
                planned_start=planned_start[i],
                planned_end=planned_end[i],
                reason=record.reason,
                flaky=record.flaky,
                worker=None if final is None else final.worker,
                waited=_waited(record),
                timed_out=final is not None and final.status is AttemptStatus.TIMED_OUT,
                branch=None if git is None else git.branch,
                observed_files=() if git is None else git.observed,
                undeclared=() if git is None else git.undeclared,
                overlaps={} if git is None else git.overlaps,
                conflict_paths=() if git is None else git.conflict_paths,
                conflict_with=() if git is None else git.conflict_with,
                shared=() if git is None else git.shared,
                done=plan.tasks[i].done,
            )
        )
    return RunReport(
        run=run,
        planned=planned,
        actual=actual,
        measured=run.wall,
        efficiency=achieved / promised if _promised_measurable(actual) else None,
        tasks=tasks,
    )

"""The plan analysis: every figure ``waveplan plan`` reports, computed in one place.

Figures follow DESIGN section 7: sequential (sum of durations), theoretical (critical path),
practical (the conflict-aware schedule under the worker limit), practical with wave barriers,
and the lower bound.

The practical schedule is the best one planning finds within the effort
(:mod:`waveplan.schedule.search`), and with ``optimal`` the exact solver's
(:mod:`waveplan.schedule.exact`), always as the scheduler replays it, so that ``run`` can follow
the same policy (:func:`practical_policy`).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass

from waveplan.graph import (
    CriticalPath,
    Graph,
    critical_path,
    heads,
    sequential_makespan,
    tails,
    waves,
)
from waveplan.model import Plan, Slot
from waveplan.resources.index import ResourceIndex
from waveplan.schedule.advice import (
    REPLAN_EFFORT,
    WIDEN_SHARE,
    Advice,
    AdviceContext,
    advise_widened,
    advise_workers,
    evaluate_group,
    rank,
)
from waveplan.schedule.bounds import LowerBound, lower_bound
from waveplan.schedule.declared import InferredReport, SourceReport, compare, inferred_report
from waveplan.schedule.exact import (
    PROOF_SEARCH_TASKS,
    SOLVER_WORKERS,
    ExactResult,
    ExactStatus,
    solve,
    takes,
)
from waveplan.schedule.explain import (
    ConflictGroup,
    Delay,
    conflict_groups,
    delays,
    point_groups,
    significant_waits,
    wait_subjects,
)
from waveplan.schedule.instance import Instance
from waveplan.schedule.scheduler import WORKERS, Policy
from waveplan.schedule.search import (
    BUDGET,
    MIN_PASSES,
    Effort,
    Method,
    Planned,
    plan_schedule,
    policy_from_starts,
    searchable,
)
from waveplan.schedule.simulate import simulate
from waveplan.schedule.waves import barrier_makespan, layer, wave_lists

__all__ = [
    "DEFAULT_TIME_LIMIT",
    "REPLAN_BUDGET",
    "PlanAnalysis",
    "SerializationPoint",
    "analyse",
    "compare_source",
    "practical_policy",
]

REPLAN_BUDGET = 2_000_000
"""Work units spent on replans for costs and advice. A replan costs what its search spent and
what preparing it took (see :func:`waveplan.schedule.advice.replan_work`); the plan's own
simulation and layering are paid out of the budget first (twice its size: tasks + dependencies
+ accesses), so plans of more than about 700,000 items get none."""
MAX_REPLANS = 40
"""At most this many replans, however small the plan."""
MAX_WAVE_ROUNDS = 8
"""At most this many replays to make the practical schedule no slower than its waves."""
DEFAULT_TIME_LIMIT = 10.0
"""Seconds the exact solver runs by default."""
_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class SerializationPoint:
    """A resource (or group) that made tasks wait for each other.

    ``resource`` names the group's resources, joined by `` + ``; ``resources`` lists them, the
    most waited on first. ``wait``: total time tasks waited on it in the practical schedule.
    ``cost``: how much the practical makespan shrinks when it stops serializing (None when the
    replan budget ran out).
    """

    resource: str
    tasks: tuple[str, ...]
    wait: float
    cost: float | None
    conservative: bool
    resources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, eq=False)
class PlanAnalysis:
    """What a plan promises and where it breaks down."""

    plan: Plan
    sequential: float
    theoretical: float
    practical: float
    practical_waves_makespan: float
    lower_bound: LowerBound
    theoretical_waves: list[list[str]]
    practical_waves: list[list[str]]
    schedule: list[Slot]
    critical_path: CriticalPath
    conflicts: list[ConflictGroup]
    delays: list[Delay]
    serialization: list[SerializationPoint]
    advice: list[Advice]
    source: SourceReport | None = None  # declared vs computed, for imported plans
    inferred: InferredReport | None = None  # what only inferred accesses cause, if any
    method: Method = Method.CRITICAL_PATH
    effort: Effort = Effort.DEFAULT
    schedules: int = 1
    policy: Policy | None = None
    exact: ExactResult | None = None

    @property
    def optimal(self) -> bool:
        """True when the practical makespan equals a proven lower bound."""
        return self.practical <= self.lower_bound.value + _EPSILON

    @property
    def gap(self) -> float:
        """How far the practical makespan may be from the optimum: (practical - lower bound)
        / practical (0 when proven optimal)."""
        if self.optimal or self.practical <= 0:
            return 0.0
        return (self.practical - self.lower_bound.value) / self.practical


def _budget(graph: Graph, index: ResourceIndex) -> tuple[int, int, int]:
    """Work units, replans and the most one replan may cost."""
    size = len(graph) + sum(map(len, graph.preds)) + sum(map(len, index.claims)) + 1
    estimate = size
    if BUDGET[REPLAN_EFFORT] // size >= MIN_PASSES:
        estimate = BUDGET[REPLAN_EFFORT] + size
    return max(0, REPLAN_BUDGET - 2 * size), MAX_REPLANS, estimate


HINT_SHARE = 0.4
"""With ``optimal``, the share of the time limit the schedule search may take first on plans
too large for the solver to prove (see ``_search_limits``)."""


def _search_limits(
    effort: Effort, optimal: bool, tasks: int, time_limit: float, started: float
) -> tuple[Effort, Effort | None, float | None]:
    """The schedule search's effort, the lighter effort it keeps, and its deadline (a
    :func:`time.monotonic` value); see :func:`~waveplan.schedule.search.plan_schedule`.

    With ``optimal`` on a plan of more than ``PROOF_SEARCH_TASKS`` tasks, where a proof is
    rarely within reach and the solver's time goes to improving schedules, the default effort's
    search goes on with the thorough budget until ``HINT_SHARE`` of the time limit: the
    solver's neighbourhood search improves a good hint faster than it finds one. A plan too
    large for the solver gives the search the whole time limit.
    """
    if optimal and effort is Effort.DEFAULT and tasks > PROOF_SEARCH_TASKS:
        share = HINT_SHARE if takes(tasks) else 1.0  # (no solver runs then)
        return Effort.THOROUGH, effort, started + share * time_limit
    return effort, None, None


def analyse(
    plan: Plan,
    graph: Graph | None = None,
    *,
    effort: Effort = Effort.DEFAULT,
    optimal: bool = False,
    time_limit: float = DEFAULT_TIME_LIMIT,
    solver_workers: int = SOLVER_WORKERS,
) -> PlanAnalysis:
    """Analyse a validated plan under its own worker limit (the graph is built if not given).

    ``effort`` bounds the schedule search; ``optimal`` also runs the exact solver, search and
    solver together taking about ``time_limit`` seconds (it needs OR-Tools, see
    :mod:`waveplan.schedule.exact`).
    """
    graph = graph if graph is not None else Graph.from_plan(plan)
    index = ResourceIndex.build(plan)
    workers = plan.workers
    head, tail = heads(graph), tails(graph)
    path = critical_path(graph, tail=tail)
    bound = lower_bound(graph, index, workers, head=head, tail=tail)
    base = simulate(graph, index, workers=workers, priority=tail)  # the critical-path pass
    started = time.monotonic()
    search_effort, keep, deadline = _search_limits(effort, optimal, len(graph), time_limit, started)
    planned = plan_schedule(
        graph,
        index,
        workers,
        effort=search_effort,
        lower=bound.value,
        baseline=base,
        keep=keep,
        deadline=deadline,
    )
    exact: ExactResult | None = None
    # The solver runs unless the search already met the lower bound (nothing could be
    # shorter) or the plan is beyond what it handles in its time limit (MAX_TASKS).
    if optimal and planned.simulation.makespan > bound.value + _EPSILON and takes(len(graph)):
        spent = time.monotonic() - started
        planned, exact, bound = _exact(
            graph,
            index,
            workers,
            planned=planned,
            bound=bound,
            time_limit=time_limit,
            solver_time=max(time_limit * (1 - HINT_SHARE), time_limit - spent),
            solver_workers=solver_workers,
        )
    planned, numbers, barrier = _no_slower_than_waves(graph, index, workers, planned)
    sim = planned.simulation
    layers = wave_lists(numbers)
    ids = graph.ids

    work, replans, estimate = _budget(graph, index)
    ctx = AdviceContext(
        plan, graph, index, workers, planned.policy, sim.makespan, work, replans, estimate
    )
    waits = significant_waits(sim.waits, sim.makespan)
    subjects = wait_subjects(index, waits)
    waited = delays(graph, index, waits, sim.start, sim.end, subjects=subjects)
    # A point names the tasks of its waits: the waiters and every task that held it meanwhile
    # (as the delays tell), not only the holder each wait met first.
    named: dict[str, set[str]] = {}
    for delay in waited:
        named.setdefault(delay.resource, set()).update((delay.task, *delay.holders))
    serialization: list[SerializationPoint] = []
    advice: list[Advice] = []
    groups = point_groups(index, waits, sim.co_blocked, subjects)
    for group in groups:
        name = " + ".join(index.names[p] for p in group.points)
        cost, found = evaluate_group(ctx, group, name)
        advice.extend(found)
        tasks = {ids[t] for t in group.tasks}.union(
            *(named.get(index.names[p], ()) for p in group.points)
        )
        serialization.append(
            SerializationPoint(
                resource=name,
                tasks=tuple(sorted(tasks, key=lambda t: graph.index[t])),
                wait=group.wait,
                cost=cost,
                conservative=group.conservative,
                resources=tuple(index.names[p] for p in group.heaviest),
            )
        )
    if any(w.point == WORKERS for w in waits):
        advice.extend(advise_workers(ctx))
    advice.extend(
        advise_widened(
            ctx,
            groups,
            waits,
            subjects,
            start=sim.start,
            end=sim.end,
            budget=int(WIDEN_SHARE * work),
        )
    )

    analysis = PlanAnalysis(
        plan=plan,
        sequential=sequential_makespan(graph.durations),
        theoretical=path.length,
        practical=sim.makespan,
        practical_waves_makespan=barrier,
        lower_bound=bound,
        theoretical_waves=waves(graph),
        practical_waves=[[ids[t] for t in wave] for wave in layers],
        schedule=[Slot(ids[i], sim.start[i], sim.end[i], sim.worker[i]) for i in range(len(graph))],
        critical_path=path,
        conflicts=conflict_groups(graph, index),
        delays=waited,
        serialization=serialization,
        advice=rank(advice),
        method=planned.method,
        effort=effort,
        schedules=planned.schedules,
        policy=planned.policy,
        exact=exact,
    )
    inferred = inferred_report(plan, graph, analysis.conflicts, analysis.delays)
    if inferred is not None:
        analysis = dataclasses.replace(analysis, inferred=inferred)
    if plan.origin is None:
        return analysis
    return dataclasses.replace(analysis, source=compare_source(analysis, graph))


def compare_source(analysis: PlanAnalysis, graph: Graph) -> SourceReport | None:
    """Declared against computed, for a plan imported from an agent framework's format."""
    return compare(
        analysis.plan,
        graph,
        theoretical_waves=analysis.theoretical_waves,
        practical_waves=analysis.practical_waves,
        schedule=analysis.schedule,
        conflicts=analysis.conflicts,
        delays=analysis.delays,
        inferred=analysis.inferred,
    )


def _no_slower_than_waves(
    graph: Graph, index: ResourceIndex, workers: int | None, planned: Planned
) -> tuple[Planned, list[int], float]:
    """The practical schedule, its waves and their barrier makespan, such that running the
    waves one after another is never faster: when it would be, the barrier run's own order
    becomes the policy (with its full sequence it replays no longer than the barrier run), and
    its waves are taken."""
    numbers = layer(graph, index, planned.simulation.order, workers)
    instance: Instance | None = None
    for _ in range(MAX_WAVE_ROUNDS):
        barrier = barrier_makespan(graph, wave_lists(numbers))
        if barrier >= planned.simulation.makespan - _EPSILON:
            break
        run = simulate(graph, index, workers=workers, waves=numbers)
        instance = instance or Instance.build(graph, index, workers)
        policy = policy_from_starts(instance, run.start, workers=True)
        sim = simulate(graph, index, workers=workers, policy=policy)
        if sim.makespan >= planned.simulation.makespan - _EPSILON:
            break
        planned = dataclasses.replace(
            planned, simulation=sim, policy=policy, schedules=planned.schedules + 2
        )
        numbers = layer(graph, index, sim.order, workers)
    else:  # the waves changed in the last round
        barrier = barrier_makespan(graph, wave_lists(numbers))
    return planned, numbers, barrier


def practical_policy(
    plan: Plan,
    graph: Graph | None = None,
    index: ResourceIndex | None = None,
    *,
    effort: Effort = Effort.DEFAULT,
) -> Policy | None:
    """The policy of the practical schedule ``analyse`` reports with this effort (None: the
    scheduler's default), for ``run`` to follow. ``graph`` and ``index`` are the plan's, when
    the caller has them already."""
    graph = graph if graph is not None else Graph.from_plan(plan)
    index = index if index is not None else ResourceIndex.build(plan)
    if not searchable(graph, index, effort):
        return None
    bound = lower_bound(graph, index, plan.workers)
    planned = plan_schedule(graph, index, plan.workers, effort=effort, lower=bound.value)
    return _no_slower_than_waves(graph, index, plan.workers, planned)[0].policy


def _exact(
    graph: Graph,
    index: ResourceIndex,
    workers: int | None,
    *,
    planned: Planned,
    bound: LowerBound,
    time_limit: float,
    solver_time: float,
    solver_workers: int,
) -> tuple[Planned, ExactResult, LowerBound]:
    """Run the exact solver from the heuristic's schedule for ``solver_time`` seconds (what
    is left of the command's ``time_limit``, which the result reports); keep whichever
    replays shorter (the heuristic's on a tie) and the solver's bound when it is better and
    valid."""
    instance = Instance.build(graph, index, workers)
    scale = instance.scale
    heuristic = planned.simulation
    hint = [round(s * scale) for s in heuristic.start]
    if instance.exact:
        upper = math.ceil(heuristic.makespan * scale - 1e-6)
        lower = math.ceil(bound.value * scale - 1e-6)
    else:
        upper = sum(instance.durations)
        lower = 0
    result = solve(
        instance,
        hint=hint,
        upper=upper,
        lower=lower,
        time_limit=solver_time,
        workers=solver_workers,
    )
    result = dataclasses.replace(result, time_limit=time_limit)
    best = planned
    if result.start is not None:
        has_workers = workers is not None and workers < len(graph)
        variants = [(False, False), (True, False)] + ([(True, True)] if has_workers else [])
        for sequence, on_workers in variants:
            policy = policy_from_starts(
                instance, result.start, sequence=sequence, workers=on_workers
            )
            sim = simulate(graph, index, workers=workers, policy=policy)
            if sim.makespan < best.simulation.makespan - _EPSILON:
                best = Planned(
                    sim, policy, Method.EXACT, planned.schedules + 1, planned.work, False
                )
    if instance.exact and result.status is not ExactStatus.UNKNOWN:
        solver_bound = result.bound / scale
        if solver_bound > bound.value + _EPSILON:
            bound = LowerBound(solver_bound, "CP-SAT bound")
    return best, result, bound

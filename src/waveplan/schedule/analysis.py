"""The plan analysis: every figure ``waveplan plan`` reports, computed in one place.

Figures follow DESIGN section 7: sequential (sum of durations), theoretical (critical path),
practical (the conflict-aware schedule under the worker limit), practical with wave barriers,
and the lower bound.
"""

from __future__ import annotations

import dataclasses
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
    Advice,
    AdviceContext,
    advise_workers,
    evaluate_group,
    rank,
)
from waveplan.schedule.bounds import LowerBound, lower_bound
from waveplan.schedule.declared import InferredReport, SourceReport, compare, inferred_report
from waveplan.schedule.explain import ConflictGroup, Delay, conflict_groups, delays, point_groups
from waveplan.schedule.scheduler import WORKERS
from waveplan.schedule.simulate import simulate
from waveplan.schedule.waves import barrier_makespan, layer, wave_lists

__all__ = [
    "REPLAN_BUDGET",
    "PlanAnalysis",
    "SerializationPoint",
    "analyse",
    "compare_source",
]

REPLAN_BUDGET = 2_000_000
"""Work units spent on replans for costs and advice. A replan of a plan costs its size (tasks
+ dependencies + accesses); the plan's own simulation and layering are paid out of the budget
first, so plans of more than about 700,000 items get none."""
MAX_REPLANS = 40
"""At most this many replans, however small the plan."""
_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class SerializationPoint:
    """A resource (or group) that made tasks wait for each other.

    ``wait``: total time tasks waited on it in the practical schedule. ``cost``: how much the
    practical makespan shrinks when it stops serializing (None when the replan budget ran out).
    """

    resource: str
    tasks: tuple[str, ...]
    wait: float
    cost: float | None
    conservative: bool


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

    @property
    def optimal(self) -> bool:
        """True when the practical makespan equals a proven lower bound."""
        return self.practical <= self.lower_bound.value + _EPSILON


def _budget(graph: Graph, index: ResourceIndex) -> int:
    size = len(graph) + sum(map(len, graph.preds)) + sum(map(len, index.claims)) + 1
    return min(MAX_REPLANS, max(0, REPLAN_BUDGET - 2 * size) // size)


def analyse(plan: Plan, graph: Graph | None = None) -> PlanAnalysis:
    """Analyse a validated plan under its own worker limit (the graph is built if not given)."""
    graph = graph if graph is not None else Graph.from_plan(plan)
    index = ResourceIndex.build(plan)
    workers = plan.workers
    head, tail = heads(graph), tails(graph)
    path = critical_path(graph)
    sim = simulate(graph, index, workers=workers, priority=tail)
    layers = wave_lists(layer(graph, index, sim.order, workers))
    ids = graph.ids

    ctx = AdviceContext(plan, graph, index, workers, tail, sim.makespan, _budget(graph, index))
    serialization: list[SerializationPoint] = []
    advice: list[Advice] = []
    for group in point_groups(index, sim.waits, sim.co_blocked):
        name = " + ".join(index.names[p] for p in group.points)
        cost, found = evaluate_group(ctx, group, name)
        advice.extend(found)
        serialization.append(
            SerializationPoint(
                resource=name,
                tasks=tuple(ids[t] for t in group.tasks),
                wait=group.wait,
                cost=cost,
                conservative=group.conservative,
            )
        )
    if any(w.point == WORKERS for w in sim.waits) and ctx.spend():
        unlimited = simulate(graph, index, workers=None, priority=tail)
        advice.extend(advise_workers(ctx, max(unlimited.worker, default=0) + 1))

    analysis = PlanAnalysis(
        plan=plan,
        sequential=sequential_makespan(graph.durations),
        theoretical=path.length,
        practical=sim.makespan,
        practical_waves_makespan=barrier_makespan(graph, layers),
        lower_bound=lower_bound(graph, index, workers, head=head, tail=tail),
        theoretical_waves=waves(graph),
        practical_waves=[[ids[t] for t in wave] for wave in layers],
        schedule=[Slot(ids[i], sim.start[i], sim.end[i], sim.worker[i]) for i in range(len(graph))],
        critical_path=path,
        conflicts=conflict_groups(graph, index),
        delays=delays(graph, index, sim.waits, sim.start, sim.end),
        serialization=serialization,
        advice=rank(advice),
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

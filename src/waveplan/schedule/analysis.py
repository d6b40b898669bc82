"""The plan analysis: every figure ``waveplan plan`` reports, computed in one place."""

from __future__ import annotations

from dataclasses import dataclass

from waveplan.graph import CriticalPath, Graph, critical_path, sequential_makespan, waves
from waveplan.model import Plan

__all__ = ["PlanAnalysis", "analyse"]


@dataclass(frozen=True, slots=True, eq=False)
class PlanAnalysis:
    """What a plan promises: makespans (DESIGN section 7), waves and the critical path."""

    plan: Plan
    sequential: float
    theoretical: float
    theoretical_waves: list[list[str]]
    critical_path: CriticalPath


def analyse(plan: Plan, graph: Graph | None = None) -> PlanAnalysis:
    """Analyse a validated plan (the graph is built when not given)."""
    graph = graph if graph is not None else Graph.from_plan(plan)
    path = critical_path(graph)
    return PlanAnalysis(
        plan=plan,
        sequential=sequential_makespan(graph.durations),
        theoretical=path.length,
        theoretical_waves=waves(graph),
        critical_path=path,
    )

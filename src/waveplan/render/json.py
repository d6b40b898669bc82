"""JSON output of ``waveplan plan`` (DESIGN section 6, plus explanations)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from waveplan.model import Origin, Plan
from waveplan.render.figures import (
    advice_keys,
    advice_sentence,
    duration_sources,
    efficiency,
    saving,
    time_format,
)
from waveplan.schedule.advice import Action, Advice
from waveplan.schedule.analysis import PlanAnalysis

__all__ = [
    "PRETTY_LIMIT",
    "dumps",
    "inferred_to_dict",
    "plan_json",
    "plan_to_dict",
    "solver_to_dict",
]

# Above this many tasks the JSON is written compactly: indenting is several times slower and
# nobody reads a 100,000-task document without a tool anyway.
PRETTY_LIMIT = 2000


def _advice(advice: Advice, fmt: Callable[[float], str]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "action": advice.action.value,
        "resource": advice.resource,
        "makespan": advice.makespan,
        "gain": advice.gain,
        "description": advice_sentence(advice, fmt),
    }
    if advice.tasks:
        entry["tasks"] = list(advice.tasks)
    if advice.action is Action.NARROW_READS:
        entry["keys"] = advice_keys(advice)
    if advice.value is not None:
        entry["value"] = advice.value
    if advice.new_task is not None:
        entry["new_task"] = {"id": advice.new_task, "duration": advice.new_duration}
    return entry


def plan_to_dict(analysis: PlanAnalysis) -> dict[str, Any]:
    """The plan analysis as plain data."""
    seq = analysis.sequential
    data: dict[str, Any] = {
        "tasks": len(analysis.plan.tasks),
        "workers": analysis.plan.workers,
        "time_unit": "s" if analysis.plan.timed else None,
        "makespan": {
            "sequential": seq,
            "theoretical": analysis.theoretical,
            "practical": analysis.practical,
            "practical_waves": analysis.practical_waves_makespan,
            "lower_bound": analysis.lower_bound.value,
        },
        "lower_bound_reason": analysis.lower_bound.reason,
        "saving": {
            "theoretical": saving(analysis.theoretical, seq),
            "practical": saving(analysis.practical, seq),
        },
        "efficiency": efficiency(analysis.practical, analysis.theoretical, seq),
        "waves": {
            "theoretical": analysis.theoretical_waves,
            "practical": analysis.practical_waves,
        },
        "schedule": [
            {"id": s.task, "start": s.start, "end": s.end, "worker": s.worker}
            for s in analysis.schedule
        ],
        "duration_sources": duration_sources(analysis.plan),
        "default_duration": analysis.plan.default_duration,
        "critical_path": {
            "tasks": list(analysis.critical_path.tasks),
            "length": analysis.critical_path.length,
        },
        "conflicts": [
            {
                "resource": c.resource,
                "tasks": list(c.tasks),
                "writers": list(c.writers),
                "conservative": c.conservative,
            }
            for c in analysis.conflicts
        ],
        "waits": [
            {
                "task": d.task,
                "resource": d.resource,
                "holders": list(d.holders),
                "more_holders": d.more_holders,
                "planned_first": list(d.planned_first),
                "duration": d.duration,
                "conservative": d.conservative,
            }
            for d in analysis.delays
        ],
        "serialization": [
            {
                "resource": s.resource,
                "resources": list(s.resources),
                "tasks": list(s.tasks),
                "cost": s.cost,
                "wait": s.wait,
                "conservative": s.conservative,
            }
            for s in analysis.serialization
        ],
        "advice": [_advice(a, time_format(analysis.plan)) for a in analysis.advice],
        "optimal": analysis.optimal,
        "solver": solver_to_dict(analysis),
        "done": [t.id for t in analysis.plan.tasks if t.done],
    }
    if analysis.inferred is not None and analysis.plan.origin is None:
        data["inferred"] = inferred_to_dict(analysis)  # an imported plan's: in "source"
    if analysis.plan.origin is not None:
        data["source"] = _source(analysis)
    elif observed := _by_origin(analysis.plan, Origin.OBSERVED):
        data["observed"] = observed  # writes `--learn` added from earlier runs
    return data


def _by_origin(plan: Plan, origin: Origin) -> dict[str, list[str]]:
    """Per task, its accesses of one origin, described."""
    found: dict[str, list[str]] = {}
    for task in plan.tasks:
        for access in task.accesses:
            if access.origin is origin:
                found.setdefault(task.id, []).append(access.describe())
    return found


def solver_to_dict(analysis: PlanAnalysis) -> dict[str, Any]:
    """How the practical schedule was found, and how close to optimal it is proven to be."""
    exact = analysis.exact
    return {
        "method": analysis.method.value,
        "effort": analysis.effort.value,
        "schedules": analysis.schedules,
        "sequence": analysis.policy is not None and analysis.policy.links > 0,
        "status": "optimal" if analysis.optimal else "feasible",
        "bound": analysis.lower_bound.value,
        "gap": analysis.gap,
        "time_limit": exact.time_limit if exact is not None else None,
        "exact": None
        if exact is None
        else {"status": exact.status.value, "workers": exact.workers},
    }


def _source(analysis: PlanAnalysis) -> dict[str, Any]:
    """What an imported plan declared and where waveplan disagrees (see docs/importers.md)."""
    plan = analysis.plan
    origin = plan.origin
    assert origin is not None
    report = analysis.source
    findings = list(report.findings) if report is not None else []
    inferred = _by_origin(plan, Origin.INFERRED)
    observed = _by_origin(plan, Origin.OBSERVED)
    return {
        "format": origin.format.value,
        "declared_waves": None
        if origin.declared_waves is None
        else [list(wave) for wave in origin.declared_waves],
        "declared_wave_numbers": list(origin.wave_numbers),
        "parallel": list(origin.parallel),
        "warnings": [*origin.warnings, *findings],
        "ids": dict(origin.source_ids),
        "inferred": {
            "accesses": inferred,
            "conflicts": sorted(report.inferred_conflicts) if report is not None else [],
            "waits": [
                {"task": task, "resource": resource}
                for task, resource in sorted(report.inferred_waits if report else ())
            ],
            "evidence": _evidence(plan),
        },
        "observed": observed,
        "provenance": {task: dict(fields) for task, fields in origin.provenance.items()},
    }


def _evidence(plan: Plan) -> dict[str, dict[str, dict[str, Any]]]:
    """Per task and inferred access (described), the finding and evidence behind it."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for task_id, accesses in plan.evidence.items():
        for access, why in accesses.items():
            found.setdefault(task_id, {})[access.describe()] = {
                "finding": why.finding,
                "lines": list(why.lines),
            }
    return found


def inferred_to_dict(analysis: PlanAnalysis) -> dict[str, Any]:
    """The inferred accesses of a plan, kept apart from the declared ones: per task, each
    access; the conflicts and waits that exist only through them; and, for the accesses
    ``--infer`` added, the finding and evidence behind each (see docs/infer.md)."""
    plan = analysis.plan
    report = analysis.inferred
    accesses: dict[str, list[str]] = {}
    for task in plan.tasks:
        for access in task.accesses:
            if access.origin is Origin.INFERRED:
                accesses.setdefault(task.id, []).append(access.describe())
    return {
        "accesses": accesses,
        "conflicts": sorted(report.conflicts) if report is not None else [],
        "waits": [
            {"task": task, "resource": resource}
            for task, resource in sorted(report.waits if report is not None else ())
        ],
        "evidence": _evidence(plan),
    }


def dumps(data: Any, *, size: int) -> str:
    """Serialise, indented for small documents, compact for large ones."""
    if size <= PRETTY_LIMIT:
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False) + "\n"


def plan_json(analysis: PlanAnalysis) -> str:
    """The plan analysis as a JSON document."""
    return dumps(plan_to_dict(analysis), size=len(analysis.plan.tasks))

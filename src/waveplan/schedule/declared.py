"""Declared against computed: where an imported plan's waves and parallel marks are wrong.

For a plan read from an agent framework (``plan.origin`` set), this compares what the source
declared with what waveplan computed and says, one sentence per finding, naming tasks by their
ids in the source:

- a task declared in a wave no later than one of its dependencies (it cannot start there);
- tasks declared in one wave that conflict on a resource (they cannot run at the same time);
- a task declared later than the practical schedule runs it (it could start earlier);
- the number of declared waves against the waves dependencies and conflicts need;
- a task marked parallel that the practical schedule serializes, and why.

Findings about tasks that are all done already are left out: they describe the past.

:func:`inferred_report` marks the conflicts and waits that exist only because of inferred
accesses (paths found in an imported plan's prose, or what ``waveplan plan --infer`` found in
code, tests and history), by building the resource index again without them. It applies to
every plan with inferred accesses, imported or not.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from waveplan.graph import Graph
from waveplan.model import Origin, Plan, PlanSource, Slot
from waveplan.resources.index import ResourceIndex
from waveplan.schedule.explain import ConflictGroup, Delay, conflict_groups
from waveplan.units import time_formatter

__all__ = ["InferredReport", "SourceReport", "compare", "inferred_report"]

_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class InferredReport:
    """What exists only through inferred accesses: the resources of such conflicts, and the
    (task, resource) waits."""

    conflicts: frozenset[str] = frozenset()
    waits: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True, slots=True)
class SourceReport:
    """The declared-vs-computed findings of an imported plan.

    ``inferred_conflicts`` are the resources of conflicts that exist only through inferred
    accesses; ``inferred_waits`` the (task, resource) waits that do.
    """

    findings: tuple[str, ...]
    inferred_conflicts: frozenset[str] = frozenset()
    inferred_waits: frozenset[tuple[str, str]] = frozenset()


def _join(names: Sequence[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def compare(
    plan: Plan,
    graph: Graph,
    *,
    theoretical_waves: Sequence[Sequence[str]],
    practical_waves: Sequence[Sequence[str]],
    schedule: Sequence[Slot],
    conflicts: Sequence[ConflictGroup],
    delays: Sequence[Delay],
    inferred: InferredReport | None = None,
) -> SourceReport | None:
    """The report of an imported plan (None for a plan read from a task file).

    ``inferred`` is the plan's :func:`inferred_report` when the caller has it already.
    """
    origin = plan.origin
    if origin is None:
        return None
    if inferred is None:
        inferred = inferred_report(plan, graph, conflicts, delays)
    inferred_conflicts = inferred.conflicts if inferred is not None else frozenset()
    inferred_waits = inferred.waits if inferred is not None else frozenset()
    done = {t.id for t in plan.tasks if t.done}
    findings: list[str] = []
    if origin.declared_waves is not None:
        findings += _waves(
            origin,
            graph,
            done,
            theoretical_waves=theoretical_waves,
            practical_waves=practical_waves,
            conflicts=conflicts,
            inferred=inferred_conflicts,
            limited=plan.workers is not None,
        )
    findings += _parallel(
        origin,
        graph,
        done,
        schedule=schedule,
        delays=delays,
        inferred=inferred_waits,
        fmt=time_formatter(plan.timed),
    )
    return SourceReport(tuple(findings), inferred_conflicts, inferred_waits)


def _positions(waves: Sequence[Sequence[str]]) -> dict[str, int]:
    return {task: n for n, wave in enumerate(waves) for task in wave}


def _waves(
    origin: PlanSource,
    graph: Graph,
    done: set[str],
    *,
    theoretical_waves: Sequence[Sequence[str]],
    practical_waves: Sequence[Sequence[str]],
    conflicts: Sequence[ConflictGroup],
    inferred: frozenset[str],
    limited: bool,
) -> list[str]:
    declared = origin.declared_waves or ()
    name = origin.source_id
    number = origin.wave_numbers
    position = _positions(declared)
    level = _positions(theoretical_waves)
    practical = _positions(practical_waves)
    findings: list[str] = []
    misplaced: set[str] = set()
    for task in graph.ids:
        if task not in position:
            continue
        mine = position[task]
        early = [
            graph.ids[d]
            for d in graph.preds[graph.index[task]]
            if graph.ids[d] in position and position[graph.ids[d]] >= mine
        ]
        if early and not ({task, *early} <= done):
            misplaced.add(task)
            described = [f"{name(d)} (wave {number[position[d]]})" for d in early]
            findings.append(
                f"{name(task)} is declared in wave {number[mine]} but depends on "
                f"{_join(described)}: its dependencies put it in wave {level[task] + 1}"
            )
    for group in conflicts:
        by_wave: dict[int, list[str]] = {}
        for task in group.tasks:
            if task in position:
                by_wave.setdefault(position[task], []).append(task)
        writers = set(group.writers)
        for wave, tasks in sorted(by_wave.items()):
            if len(tasks) < 2 or not writers.intersection(tasks) or set(tasks) <= done:
                continue
            findings.append(_same_wave(origin, group, tasks, number[wave], inferred))
    for task in graph.ids:
        if task in position and task not in misplaced and task not in done:
            mine, runs = position[task], practical.get(task, position[task])
            if runs < mine:
                findings.append(
                    f"{name(task)} is declared in wave {number[mine]}, but dependencies and "
                    f"conflicts let it run in wave {runs + 1}"
                )
    counts = (len(declared), len(theoretical_waves), len(practical_waves))
    if counts[0] != counts[2] or counts[0] != counts[1]:
        findings.append(
            f"the source declares {counts[0]} wave{'s' if counts[0] != 1 else ''}; "
            f"dependencies alone need {counts[1]}, and with conflicts"
            f"{' and the worker limit' if limited else ''} the plan runs in "
            f"{counts[2]}"
        )
    return findings


def _same_wave(
    origin: PlanSource,
    group: ConflictGroup,
    tasks: list[str],
    wave: int,
    inferred: frozenset[str],
) -> str:
    name = origin.source_id
    writers = [t for t in tasks if t in group.writers]
    readers = [t for t in tasks if t not in group.writers]
    both = "both" if len(tasks) == 2 else "all"
    if not readers:
        how = f"{both} write {group.resource}"
    else:
        verb = "writes" if len(writers) == 1 else "write"
        how = (
            f"conflict on {group.resource} ({_join([name(t) for t in writers])} {verb} it, "
            f"{_join([name(t) for t in readers])} read{'s' if len(readers) == 1 else ''} it)"
        )
    notes = ""
    if group.resource in inferred:
        notes += " (inferred from the plan's prose)"
    if group.conservative:
        notes += " (conservative: the patterns may overlap)"
    return (
        f"{_join([name(t) for t in tasks])} are {both} in declared wave {wave} but {how}"
        f"{notes}: they cannot run at the same time"
    )


def _parallel(
    origin: PlanSource,
    graph: Graph,
    done: set[str],
    *,
    schedule: Sequence[Slot],
    delays: Sequence[Delay],
    inferred: frozenset[tuple[str, str]],
    fmt: Callable[[float], str],
) -> list[str]:
    """Tasks marked parallel that the practical schedule serializes, with the reasons."""
    name = origin.source_id
    findings: list[str] = []
    slots = {slot.task: slot for slot in schedule}
    for task in origin.parallel:
        if task in done or task not in graph.index:
            continue
        reasons: list[str] = []
        for delay in delays:
            note = " (inferred)" if (delay.task, delay.resource) in inferred else ""
            if delay.task == task:
                holders = [name(h) for h in delay.holders]
                held = f" held by {_join(holders)}" if holders else ""
                reasons.append(f"it waits {fmt(delay.duration)} for {delay.resource}{held}{note}")
            elif task in delay.holders:
                reasons.append(f"{name(delay.task)} waits for it on {delay.resource}{note}")
        if not reasons and len(graph) > 1 and _alone(graph, task, slots):
            reasons.append("its dependencies order it against every other task")
        if reasons:
            findings.append(
                f"{name(task)} is marked parallel, but the computed plan serializes it: "
                + "; ".join(reasons)
            )
    return findings


def _alone(graph: Graph, task: str, slots: dict[str, Slot]) -> bool:
    """Whether no other task runs at the same time as ``task``, and dependencies are why:
    every other task is before or after it."""
    mine = slots.get(task)
    if mine is None:
        return False
    for other, slot in slots.items():
        if other != task and slot.start < mine.end - _EPSILON and mine.start < slot.end - _EPSILON:
            return False
    related = _related(graph, graph.index[task])
    return len(related) == len(graph) - 1


def _related(graph: Graph, start: int) -> set[int]:
    """Every task before or after ``start`` by dependencies."""
    found: set[int] = set()
    for edges in (graph.preds, graph.succs):
        stack = list(edges[start])
        while stack:
            node = stack.pop()
            if node in found:
                continue
            found.add(node)
            stack.extend(edges[node])
    found.discard(start)
    return found


def inferred_report(
    plan: Plan, graph: Graph, conflicts: Sequence[ConflictGroup], delays: Sequence[Delay]
) -> InferredReport | None:
    """Conflicts and waits that vanish when inferred accesses are left out (None when the
    plan has no inferred access).

    Only imported plans (``plan.origin``) and inferred plans (``plan.evidence``) hold
    inferred accesses, so other plans are not scanned access by access.
    """
    if plan.origin is None and not plan.evidence:
        return None
    if not any(a.origin is Origin.INFERRED for t in plan.tasks for a in t.accesses):
        return None
    declared = dataclasses.replace(
        plan,
        tasks=tuple(
            dataclasses.replace(
                t, accesses=tuple(a for a in t.accesses if a.origin is not Origin.INFERRED)
            )
            for t in plan.tasks
        ),
    )
    kept = conflict_groups(graph, ResourceIndex.build(declared))
    members: dict[str, list[set[str]]] = {}
    for group in kept:
        members.setdefault(group.resource, []).append(set(group.tasks))
    inferred_conflicts = frozenset(g.resource for g in conflicts if g.resource not in members)
    inferred_waits = frozenset(
        (d.task, d.resource)
        for d in delays
        if d.holders
        and not any(
            d.task in tasks and tasks.intersection(d.holders)
            for tasks in members.get(d.resource, [])
        )
    )
    return InferredReport(inferred_conflicts, inferred_waits)

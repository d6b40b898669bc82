"""The dependency graph: DAG checks, dependency levels (theoretical waves), critical path.

Tasks are numbered by their position in the plan (sorted by id), and every computation runs over
integer indices and plain lists, so the graph phase stays near-linear and fast at a million
tasks. Ties are broken by index, which is id order: output never depends on input order or on
``PYTHONHASHSEED``.

One Kahn pass, walked level by level, gives the topological order, the dependency levels and the
cycle check at once; ``bench/plan_scale.py`` measures it against networkx. The inner loops use
``map`` over ``__getitem__`` where a comprehension would do the same at about half the speed,
and the garbage collector is paused while the graph is built (see :mod:`waveplan.gcpause`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from waveplan.errors import CycleError, PlanValidationError, UserError, did_you_mean
from waveplan.gcpause import collector_paused
from waveplan.model import Plan

__all__ = [
    "CriticalPath",
    "Graph",
    "ancestors",
    "critical_path",
    "heads",
    "levels",
    "reaches",
    "sequential_makespan",
    "tails",
    "upstream",
    "waves",
]


@dataclass(frozen=True, slots=True, eq=False)
class Graph:
    """Dependency graph of a plan over task indices (the plan's id order).

    ``preds[i]`` are the tasks ``i`` depends on, ``succs[i]`` the tasks depending on ``i``,
    ``order`` a topological order that lists the tasks level by level, ``level[i]`` the
    dependency level of ``i`` (see :func:`levels`).
    """

    ids: Sequence[str]
    index: dict[str, int]
    durations: list[float]
    preds: list[list[int]]
    succs: list[list[int]]
    order: list[int]
    level: list[int]

    @classmethod
    def from_plan(cls, plan: Plan) -> Graph:
        """Build and check the graph; raise :class:`CycleError` on a cycle."""
        with collector_paused():
            return cls._build(plan)

    @classmethod
    def _build(cls, plan: Plan) -> Graph:
        tasks = plan.tasks
        ids = [t.id for t in tasks]
        index = {task_id: i for i, task_id in enumerate(ids)}
        if len(index) != len(ids):
            seen: set[str] = set()
            for task_id in ids:
                if task_id in seen:
                    raise PlanValidationError(
                        "duplicate id", file=plan.source, task=task_id, field="id"
                    )
                seen.add(task_id)
        position_of = index.__getitem__
        try:
            preds = [list(map(position_of, t.depends)) for t in tasks]
        except KeyError as exc:
            culprit = next(t for t in tasks if exc.args[0] in t.depends)
            raise PlanValidationError(
                f"unknown task '{exc.args[0]}'", file=plan.source, task=culprit.id, field="depends"
            ) from None
        succs: list[list[int]] = [[] for _ in tasks]
        for i, ps in enumerate(preds):
            for p in ps:
                succs[p].append(i)
        order, level = _topological_levels(preds, succs)
        if len(order) < len(ids):
            raise CycleError(_find_cycle(ids, preds, order), file=plan.source)
        return cls(ids, index, [t.duration for t in tasks], preds, succs, order, level)

    def __len__(self) -> int:
        return len(self.ids)


def _topological_levels(
    preds: list[list[int]], succs: list[list[int]]
) -> tuple[list[int], list[int]]:
    """Kahn's algorithm one level at a time: the order and each task's level.

    A task becomes ready in the level after the one holding its last dependency, so the level
    it is found in is 1 + its deepest dependency's. With a cycle, the order is short: the tasks
    on or behind the cycle never become ready.
    """
    indegree = list(map(len, preds))
    level = [0] * len(preds)
    current = [i for i, d in enumerate(indegree) if not d]
    order: list[int] = []
    depth = 0
    while current:
        order += current
        following: list[int] = []
        for node in current:
            level[node] = depth
            for s in succs[node]:
                indegree[s] -= 1
                if not indegree[s]:
                    following.append(s)
        current = following
        depth += 1
    return order, level


def _find_cycle(ids: Sequence[str], preds: list[list[int]], order: list[int]) -> list[str]:
    """A closed cycle among the nodes Kahn could not order, smallest id first.

    Every such node has a dependency that is also unordered, so following dependencies from any
    of them must come back to a node already visited.
    """
    ordered = set(order)
    remaining = [i for i in range(len(ids)) if i not in ordered]
    stuck = set(remaining)
    walk: list[int] = []
    position: dict[int, int] = {}
    node = remaining[0]
    while node not in position:
        position[node] = len(walk)
        walk.append(node)
        node = min(p for p in preds[node] if p in stuck)
    cycle = walk[position[node] :]
    start = cycle.index(min(cycle))
    cycle = cycle[start:] + cycle[:start]
    return [ids[i] for i in cycle] + [ids[cycle[0]]]


def reaches(graph: Graph, source: int, target: int, budget: int = 10_000) -> bool | None:
    """Whether ``target`` depends, directly or not, on ``source``; None when the search
    visited ``budget`` tasks without an answer. Only tasks on levels below the target's are
    explored."""
    if source == target:
        return True
    level, succs = graph.level, graph.succs
    limit = level[target]
    seen = {source}
    stack = [source]
    while stack:
        for s in succs[stack.pop()]:
            if s == target:
                return True
            if s not in seen and level[s] < limit:
                if len(seen) >= budget:
                    return None
                seen.add(s)
                stack.append(s)
    return False


def levels(graph: Graph) -> list[int]:
    """Dependency level of each task: 0 without dependencies, else 1 + deepest dependency."""
    return list(graph.level)


def waves(graph: Graph) -> list[list[str]]:
    """Theoretical waves: the tasks of each dependency level, in id order."""
    level = graph.level
    grouped: list[list[str]] = [[] for _ in range(max(level, default=-1) + 1)]
    for task_id, lv in zip(graph.ids, level, strict=True):
        grouped[lv].append(task_id)
    return grouped


def heads(graph: Graph) -> list[float]:
    """Earliest start of each task with unlimited workers and no conflicts."""
    finish = [0.0] * len(graph)
    start = [0.0] * len(graph)
    preds, durations = graph.preds, graph.durations
    finish_of = finish.__getitem__
    for i in graph.order:
        ps = preds[i]
        s = max(map(finish_of, ps)) if ps else 0.0
        start[i] = s
        finish[i] = s + durations[i]
    return start


def tails(graph: Graph) -> list[float]:
    """Longest duration-weighted path from each task's start to the end, its own included.

    This is the scheduler's priority: the work that still has to follow once a task starts.
    """
    tail = list(graph.durations)
    tail_of = tail.__getitem__
    succs = graph.succs
    for i in reversed(graph.order):
        ss = succs[i]
        if ss:
            tail[i] += max(map(tail_of, ss))
    return tail


@dataclass(frozen=True, slots=True)
class CriticalPath:
    """The longest duration-weighted dependency chain and its length."""

    tasks: tuple[str, ...]
    length: float


def critical_path(graph: Graph, *, tail: Sequence[float] | None = None) -> CriticalPath:
    """The critical path; among equally long chains, the one that is first in id order
    (``tail``: the graph's :func:`tails`, when the caller has them)."""
    n = len(graph)
    if n == 0:
        return CriticalPath((), 0.0)
    tail = tails(graph) if tail is None else tail
    preds, succs = graph.preds, graph.succs
    length = max(tail[i] for i in range(n) if not preds[i])
    current = min(i for i in range(n) if not preds[i] and tail[i] == length)
    path = [current]
    while succs[current]:
        best = max(tail[s] for s in succs[current])
        current = min(s for s in succs[current] if tail[s] == best)
        path.append(current)
    return CriticalPath(tuple(graph.ids[i] for i in path), length)


def sequential_makespan(durations: Sequence[float]) -> float:
    """Sum of durations, exactly rounded so the figure does not depend on task order."""
    return math.fsum(durations)


def ancestors(preds: Sequence[Sequence[int]], nodes: Iterable[int]) -> set[int]:
    """Every node that one of ``nodes`` depends on, directly or not (``preds[i]``: what ``i``
    depends on); the nodes themselves only when another of them depends on them."""
    found: set[int] = set()
    pending = [p for node in nodes for p in preds[node]]
    while pending:
        node = pending.pop()
        if node not in found:
            found.add(node)
            pending.extend(preds[node])
    return found


def upstream(plan: Plan, targets: Sequence[str]) -> Plan:
    """The plan cut down to ``targets`` and every task they depend on, directly or not, in the
    plan's order; the plan itself when ``targets`` is empty. What an imported plan declared
    (its waves, its parallel tasks) is cut down the same way. Raise :class:`UserError` for an
    id the plan does not have."""
    if not targets:
        return plan
    position = {task.id: i for i, task in enumerate(plan.tasks)}
    chosen: list[int] = []
    for target in targets:
        if target not in position:
            hint = did_you_mean(target, list(position))
            raise UserError(f"{plan.source} has no task '{target}'{hint}")
        chosen.append(position[target])
    preds = [[position[d] for d in task.depends] for task in plan.tasks]
    keep = ancestors(preds, chosen).union(chosen)
    tasks = tuple(task for i, task in enumerate(plan.tasks) if i in keep)
    kept = {task.id for task in tasks}
    origin = plan.origin
    if origin is not None:
        declared, numbers = origin.declared_waves, origin.wave_numbers
        if declared is not None:
            cut = [(tuple(t for t in wave if t in kept), k) for k, wave in enumerate(declared)]
            declared = tuple(wave for wave, _ in cut if wave)
            numbers = tuple(numbers[k] for wave, k in cut if wave and k < len(numbers))
        origin = dataclasses.replace(
            origin,
            declared_waves=declared,
            wave_numbers=numbers,
            parallel=tuple(t for t in origin.parallel if t in kept),
        )
    evidence = {task: found for task, found in plan.evidence.items() if task in kept}
    return dataclasses.replace(plan, tasks=tasks, origin=origin, evidence=evidence)

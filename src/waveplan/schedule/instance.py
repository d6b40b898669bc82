"""The plan as a project scheduling instance: whole-number durations and cumulative resources.

The schedule search (:mod:`waveplan.schedule.search`) and the exact solver
(:mod:`waveplan.schedule.exact`) both work on this view of a plan. Every waveplan conflict
becomes a constraint of a *family*: claims on lock points that all overlap each other (a
clique), so that at most ``capacity`` units of demand run at once:

- a **node chain**: a claimed node with no claimed node below it, and its claimed ancestors
  (``src/a.ts``, ``src/``, ``./``): every two of them overlap, and every overlapping pair of
  nodes lies on some chain;
- a **glob pair**: a claimed glob and one claimed point it overlaps (or the glob alone);
- read/write families are read/write locks as a cumulative: readers take 1, writers the whole
  capacity (the number of readers), so readers share and a writer excludes everyone; families
  without readers are exclusive (capacity 1);
- a **counted** resource: its capacity and the amounts;
- the **worker limit**: every task takes 1 of ``workers``.

A task's claims inside one family merge (a writer anywhere in it writes the family). Families
are built from the overlap index, never from task pairs, so a file written by 5,000 tasks is
one family of 5,000 members. Durations become whole numbers of grid units: exactly when the
durations allow it (``exact``), else rounded, in which case a schedule on the grid is only a
guide that the real scheduler replays with the true durations.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from waveplan.graph import Graph
from waveplan.resources.index import WRITE, PointKind, ResourceIndex
from waveplan.schedule.scheduler import WORKERS

__all__ = ["Family", "FamilyKind", "Instance", "grid_scale"]


class FamilyKind(Enum):
    """What a family stands for."""

    EXCLUSIVE = "exclusive"  # writers only: one at a time
    READ_WRITE = "read-write"  # readers share, a writer excludes everyone
    COUNTED = "counted"  # amounts within a capacity
    WORKERS = "workers"  # the worker limit


@dataclass(frozen=True, slots=True)
class Family:
    """Tasks that share one cumulative resource.

    ``demands[k]`` is what ``tasks[k]`` takes of ``capacity``; ``points[k]`` is the lock point
    through which it takes it (:data:`~waveplan.schedule.scheduler.WORKERS` for the worker
    limit), used to explain waits.
    """

    kind: FamilyKind
    capacity: int
    tasks: tuple[int, ...]
    demands: tuple[int, ...]
    points: tuple[int, ...]

    def conflicts_with_all(self, member: int) -> bool:
        """True when this member's demand fills the family (a writer, or a full amount)."""
        return self.demands[member] >= self.capacity


def grid_scale(durations: Sequence[float], limit: float) -> tuple[float, bool]:
    """Grid units per unit of time, and whether durations are exact multiples of a unit.

    Tries 1, 10, 100 and 1000 units per time unit, dividing by the durations' common divisor;
    when the total work would exceed ``limit`` units (or no power of ten is exact), the grid is
    ``limit`` units for the total work and durations are rounded (``exact`` is False).
    """
    positive = [d for d in durations if d > 0]
    total = math.fsum(positive)
    if not positive:
        return 1.0, True
    for power in (1, 10, 100, 1000):
        scaled = [d * power for d in positive]
        if all(abs(s - round(s)) <= 1e-9 * max(1.0, s) for s in scaled):
            divisor = 0
            for s in scaled:
                divisor = math.gcd(divisor, round(s))
            scale = power / divisor
            if total * scale <= limit:
                return scale, True
            break
    return limit / total, False


@dataclass(eq=False)
class Instance:
    """A plan as a project scheduling instance over task indices (the plan's id order)."""

    durations: list[int]
    preds: list[list[int]]
    succs: list[list[int]]
    order: list[int]  # a topological order
    families: list[Family]
    scale: float  # grid units per unit of time
    exact: bool  # durations are exact multiples of one grid unit
    uses: list[list[tuple[int, int]]]  # per task: (family, demand)

    def __len__(self) -> int:
        return len(self.durations)

    def heads(self) -> list[int]:
        """Each task's earliest start by dependencies (grid units)."""
        durations = self.durations
        head = [0] * len(durations)
        for i in self.order:
            for s in self.succs[i]:
                if head[i] + durations[i] > head[s]:
                    head[s] = head[i] + durations[i]
        return head

    def tails(self) -> list[int]:
        """The longest dependency chain from each task's start to the end (grid units)."""
        tail = list(self.durations)
        for i in reversed(self.order):
            ss = self.succs[i]
            if ss:
                tail[i] += max(tail[s] for s in ss)
        return tail

    def bound(self, tail: Sequence[int] | None = None) -> int:
        """A lower bound on the makespan of any schedule of the instance (grid units): the
        longest dependency chain, and per family the work of its members over its capacity.
        ``tail`` is :meth:`tails`, when the caller has it."""
        durations = self.durations
        best = max(self.tails() if tail is None else tail, default=0)
        for family in self.families:
            work = sum(q * durations[t] for t, q in zip(family.tasks, family.demands, strict=True))
            best = max(best, -(-work // family.capacity))
        return best

    @property
    def size(self) -> int:
        """Tasks, dependencies and family members: the terms every pass over the instance
        goes through."""
        return (
            len(self.durations)
            + sum(map(len, self.preds))
            + sum(len(f.tasks) for f in self.families)
        )

    @classmethod
    def build(
        cls,
        graph: Graph,
        index: ResourceIndex,
        workers: int | None,
        *,
        grid_limit: float = 1e9,
    ) -> Instance:
        """The instance of a plan under a worker limit; durations on a grid of at most
        ``grid_limit`` units for the total work."""
        scale, exact = grid_scale(graph.durations, grid_limit)
        durations = [
            0 if d <= 0 else max(1, round(d * scale)) if not exact else round(d * scale)
            for d in graph.durations
        ]
        families = build_families(index, len(graph), workers)
        uses: list[list[tuple[int, int]]] = [[] for _ in graph.durations]
        for f, family in enumerate(families):
            for task, demand in zip(family.tasks, family.demands, strict=True):
                uses[task].append((f, demand))
        return cls(
            durations=durations,
            preds=graph.preds,
            succs=graph.succs,
            order=graph.order,
            families=families,
            scale=scale,
            exact=exact,
            uses=uses,
        )


def build_families(index: ResourceIndex, tasks: int, workers: int | None) -> list[Family]:
    """Families covering every conflict of the plan (see the module docstring)."""
    users: dict[int, list[tuple[int, int, int]]] = {}
    for task, claims in enumerate(index.claims):
        for point, mode, amount in claims:
            users.setdefault(point, []).append((task, mode, amount))
    kinds = index.kinds
    families: list[Family] = []
    seen: set[tuple[tuple[int, ...], tuple[int, ...]]] = set()

    def add(points: Sequence[int]) -> None:
        """A read/write family over the claims on these (mutually overlapping) points."""
        mode_of: dict[int, int] = {}
        via: dict[int, int] = {}
        for point in points:
            for task, mode, _ in users.get(point, ()):
                if task not in mode_of or (mode == WRITE and mode_of[task] != WRITE):
                    mode_of[task] = mode
                    via[task] = point
        if len(mode_of) < 2:
            return
        members = sorted(mode_of)
        readers = sum(1 for t in members if mode_of[t] != WRITE)
        if readers == len(members):
            return
        capacity = max(1, readers)
        demands = tuple(capacity if mode_of[t] == WRITE else 1 for t in members)
        key = (tuple(members), demands)
        if key in seen:
            return
        seen.add(key)
        kind = FamilyKind.EXCLUSIVE if readers == 0 else FamilyKind.READ_WRITE
        families.append(
            Family(kind, capacity, tuple(members), demands, tuple(via[t] for t in members))
        )

    claimed = sorted(users)
    below: set[int] = set()
    for point in claimed:
        if kinds[point] is PointKind.NODE:
            below.update(index.ancestors[point])
    for point in claimed:
        kind = kinds[point]
        if kind is PointKind.COUNTED:
            own = sorted(users[point])
            if len(own) > 1 and sum(a for _, _, a in own) > index.capacity[point]:
                families.append(
                    Family(
                        FamilyKind.COUNTED,
                        index.capacity[point],
                        tuple(t for t, _, _ in own),
                        tuple(a for _, _, a in own),
                        (point,) * len(own),
                    )
                )
        elif kind is PointKind.NODE:
            if point not in below:
                add([point, *(a for a in index.ancestors[point] if a in users)])
        else:
            others = [q for q in (*index.glob_nodes[point], *index.glob_globs[point]) if q in users]
            if not others:
                add([point])
            for other in others:
                if kinds[other] is not PointKind.GLOB or other > point:
                    add([point, other])
    if workers is not None and workers < tasks:
        families.append(
            Family(
                FamilyKind.WORKERS,
                workers,
                tuple(range(tasks)),
                (1,) * tasks,
                (WORKERS,) * tasks,
            )
        )
    return families

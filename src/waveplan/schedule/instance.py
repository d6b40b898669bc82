"""The plan as a project scheduling instance: whole-number durations and cumulative resources.

The schedule search (:mod:`waveplan.schedule.search`) and the exact solver
(:mod:`waveplan.schedule.exact`) both work on this view of a plan. Every waveplan conflict
becomes a constraint of a *family* of tasks that share one resource, so that at most
``capacity`` units of demand run at once:

- a **node**: a claimed node (file, directory, state name) with the claims on it and below
  it. A writer of the node excludes everyone; a reader of the node excludes the writers below
  it; claims below it meet each other in their own nodes' families. Nodes without conflicting
  claims get no family. While a family has no reader of the node or no writer below it, it is
  an ordinary read/write family (writers of the node write it, every other member reads it);
  with both it is a *nested* family, whose members hold modes (:data:`W`, :data:`R`,
  :data:`WB`, :data:`RB`) instead of amounts. A folder read by 1,000 tasks over 1,000 files
  written below it is one family of 1,000 members, not 1,000 families of 1,000;
- a **glob**: the claims on a claimed glob and, as if below it, those on the claimed nodes
  and globs it may share a path with. A glob read by 100 tasks over 300 files written is one
  family of 400 members: a family per glob and file made each reader check 300 locks a try;
- read/write families are read/write locks as a cumulative: readers take 1, writers the whole
  capacity (the number of readers), so readers share and a writer excludes everyone; families
  without readers are exclusive (capacity 1);
- a **counted** resource: its capacity and the amounts;
- the **worker limit**: every task takes 1 of ``workers``.

A task's claims inside one family merge (a writer anywhere in a read/write family writes
it). Families are built from the overlap index, never from task pairs, so a file written by
5,000 tasks is one family of 5,000 members. Durations become whole numbers of grid units:
exactly when the durations allow it (``exact``), else rounded, in which case a schedule on the
grid is only a guide that the real scheduler replays with the true durations.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from waveplan.graph import Graph
from waveplan.resources.index import WRITE, PointKind, ResourceIndex
from waveplan.schedule.scheduler import WORKERS

__all__ = ["CONFLICTS", "RB", "WB", "Family", "FamilyKind", "Instance", "R", "W", "grid_scale"]

W, R, WB, RB = 1, 2, 4, 8
"""Modes of a lock family's members (bits; a task's claims in one family combine): writes the
node, reads it, writes below it, reads below it. Read/write families use ``W`` and ``R``."""
_CONFLICT_BITS = {W: W | R | WB | RB, R: W | WB, WB: W | R, RB: W}
CONFLICTS = tuple(
    functools.reduce(operator.or_, (c for bit, c in _CONFLICT_BITS.items() if modes & bit), 0)
    for modes in range(16)
)
"""``CONFLICTS[modes]``: the modes that members holding ``modes`` exclude (as bits; the
union over their bits)."""


class FamilyKind(Enum):
    """What a family stands for."""

    EXCLUSIVE = "exclusive"  # writers only: one at a time
    READ_WRITE = "read-write"  # readers share, a writer excludes everyone
    NESTED = "nested"  # a node's readers exclude the writers below it (see the modes)
    COUNTED = "counted"  # amounts within a capacity
    WORKERS = "workers"  # the worker limit


@dataclass(frozen=True, slots=True)
class Family:
    """Tasks that share one cumulative resource.

    ``demands[k]`` is what ``tasks[k]`` takes of ``capacity``; ``points[k]`` is the lock point
    through which it takes it (:data:`~waveplan.schedule.scheduler.WORKERS` for the worker
    limit), used to explain waits. Lock families (exclusive, read/write, nested) also give
    each member's ``modes``; a nested family's conflicts are its modes alone (its demands are
    1 and its capacity the member count: as a cumulative, it never binds).
    """

    kind: FamilyKind
    capacity: int
    tasks: tuple[int, ...]
    demands: tuple[int, ...]
    points: tuple[int, ...]
    modes: tuple[int, ...] = ()

    def conflict(self, a: int, b: int) -> bool:
        """True when members ``a`` and ``b`` (positions) may not run together."""
        if self.kind is FamilyKind.NESTED:
            return bool(self.modes[a] & CONFLICTS[self.modes[b]])
        return self.demands[a] + self.demands[b] > self.capacity


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
        longest dependency chain, and per family the work of its members over its capacity
        (for a nested family, see ``_nested_bound``).
        ``tail`` is :meth:`tails`, when the caller has it."""
        durations = self.durations
        best = max(self.tails() if tail is None else tail, default=0)
        for family in self.families:
            if family.kind is FamilyKind.NESTED:
                best = max(best, _nested_bound(family, durations))
                continue
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

    def add(modes: dict[int, int], via: dict[int, int]) -> None:
        """A lock family of these members (task: modes), when two of them conflict."""
        if len(modes) < 2:
            return
        held = 0
        for bits in modes.values():
            held |= bits
        members = sorted(modes)
        if not held & W:  # only the node's readers and the writers below it can conflict
            if not (held & R and held & WB):
                return
            members = [t for t in members if modes[t] & (R | WB)]
            if len(members) < 2:
                return
        if held & R and held & WB:
            kind = FamilyKind.NESTED
            capacity = len(members)
            demands = (1,) * len(members)
            member_modes = tuple(modes[t] for t in members)
        else:  # every member but the node's writers only reads, as far as this family goes
            writes = [bool(modes[t] & W) for t in members]
            readers = writes.count(False)
            capacity = max(1, readers)
            demands = tuple(capacity if w else 1 for w in writes)
            member_modes = tuple(W if w else R for w in writes)
            kind = FamilyKind.EXCLUSIVE if readers == 0 else FamilyKind.READ_WRITE
        key = (tuple(members), member_modes)
        if key in seen:
            return
        seen.add(key)
        families.append(
            Family(
                kind,
                capacity,
                tuple(members),
                demands,
                tuple(via[t] for t in members),
                member_modes,
            )
        )

    def around(point: int, others: Sequence[int]) -> None:
        """A family over the claims on ``point`` (a node or a glob) and on ``others``, the
        claimed points that overlap it without it overlapping them all (the nodes below a node;
        the nodes and globs a glob may share a path with): claims on ``point`` write or read
        it, the others' write or read "below" it."""
        modes: dict[int, int] = {}
        via: dict[int, int] = {}
        for task, mode, _ in users[point]:
            modes[task] = modes.get(task, 0) | (W if mode == WRITE else R)
            via[task] = point
        for other in others:
            for task, mode, _ in users[other]:
                bit = WB if mode == WRITE else RB
                old = modes.get(task, 0)
                if not old or (bit == WB and not old & (W | R | WB)):
                    via[task] = other
                modes[task] = old | bit
        add(modes, via)

    claimed = sorted(users)
    below: dict[int, list[int]] = {}
    for point in claimed:
        if kinds[point] is PointKind.NODE:
            for up in index.ancestors[point]:
                if up in users:
                    below.setdefault(up, []).append(point)
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
            around(point, below.get(point, ()))
        else:
            around(
                point,
                [q for q in (*index.glob_nodes[point], *index.glob_globs[point]) if q in users],
            )
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


def _nested_bound(family: Family, durations: Sequence[int]) -> int:
    """A lower bound on the time a nested family is busy: its members that exclude every
    member but the readers below (writers of the node, and tasks both reading it and writing
    below it) run one at a time, apart from the node's other readers, which run apart from
    the other writers below; each of those two groups takes at least its longest member."""
    alone = reading = writing = 0
    for task, bits in zip(family.tasks, family.modes, strict=True):
        d = durations[task]
        if bits & W or (bits & R and bits & WB):
            alone += d
        elif bits & R:
            reading = max(reading, d)
        elif bits & WB:
            writing = max(writing, d)
    return alone + reading + writing

"""Lower bounds on the makespan: proven limits that no schedule can beat.

Each bound comes with what it is made of, so the output can say which one binds:

- the critical path (dependencies only);
- per exclusive resource, the tasks that must run one after another on it: the smallest
  earliest start among them, plus the sum of their durations, plus the smallest remaining
  chain after any of them. For a node those are its writers and the writers of its declared
  ancestors, which all overlap each other; for a glob, its writers, and with them those of a
  node (and its ancestors) or another glob that it overlaps;
- per node read by some tasks and written below by others (a folder and its files, ``db`` and
  ``db.users``), and per glob read by some tasks while others write what it may match: the
  readers and those writers exclude each other, so a task doing both, or writing the node or
  glob, runs alone among them, the other readers apart from the other writers: the smallest
  earliest start, plus the durations of the tasks running alone, plus the longest other
  reader and the longest other writer, plus the smallest remaining chain;
- per counted resource, the same with work (amount x duration) divided by the capacity;
- for the worker limit, the total work divided by the number of workers.

When every duration is a whole number, the bound is rounded up to one: some optimal schedule
starts every task at 0 or at another task's end (shifting tasks left never breaks a
dependency, a lock or a capacity), so optimal makespans are whole numbers too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from waveplan.graph import Graph, heads, tails
from waveplan.resources.index import WRITE, PointKind, ResourceIndex

__all__ = ["LowerBound", "lower_bound"]


@dataclass(frozen=True, slots=True)
class LowerBound:
    """A proven lower bound and what it comes from (``critical path``, a resource, ...)."""

    value: float
    reason: str


@dataclass(slots=True)
class _Group:
    work: list[float]
    head: float = math.inf
    tail: float = math.inf

    def add(self, work: float, head: float, tail: float) -> None:
        self.work.append(work)
        if head < self.head:
            self.head = head
        if tail < self.tail:
            self.tail = tail

    def merged(self, other: _Group) -> _Group:
        return _Group(
            self.work + other.work, min(self.head, other.head), min(self.tail, other.tail)
        )

    def bound(self, capacity: float = 1.0) -> float:
        return self.head + math.fsum(self.work) / capacity + self.tail


def _read_below_written(
    index: ResourceIndex,
    read: dict[int, list[int]],
    durations: Sequence[float],
    head: Sequence[float],
    after: Sequence[float],
) -> dict[int, float]:
    """The bound of each read node or glob that others write below or into (see the module
    docstring)."""
    below: dict[int, set[int]] = {}  # read point: the tasks writing what overlaps it
    owners: dict[int, set[int]] = {}  # read point: the tasks writing it
    kinds = index.kinds
    for task, claims in enumerate(index.claims):
        for point, mode, _ in claims:
            if mode != WRITE or kinds[point] is PointKind.COUNTED:
                continue
            if point in read:
                owners.setdefault(point, set()).add(task)
            # Written: a node is below its ancestors and inside the globs over it, a glob
            # inside the globs it may share a path with. (Glob writers are not counted below
            # a read node: any member may lower the smallest start and remaining chain, and
            # the bound of the node alone never changes.)
            if kinds[point] is PointKind.NODE:
                overlapped: tuple[int, ...] = (*index.ancestors[point], *index.node_globs[point])
            else:
                overlapped = index.glob_globs[point]
            for other in overlapped:
                if other in read:
                    below.setdefault(other, set()).add(task)
    found: dict[int, float] = {}
    for point, writers in sorted(below.items()):
        readers = set(read[point])
        alone = (readers & writers) | owners.get(point, set())
        rest_read = readers - alone
        rest_write = writers - alone
        members = readers | writers | alone
        found[point] = (
            min(head[t] for t in members)
            + math.fsum(durations[t] for t in alone)
            + max((durations[t] for t in rest_read), default=0.0)
            + max((durations[t] for t in rest_write), default=0.0)
            + min(after[t] for t in members)
        )
    return found


def lower_bound(
    graph: Graph,
    index: ResourceIndex,
    workers: int | None,
    *,
    head: Sequence[float] | None = None,
    tail: Sequence[float] | None = None,
) -> LowerBound:
    """The best of the bounds above (ties: the critical path, then resources by name)."""
    durations = graph.durations
    head = heads(graph) if head is None else head
    tail = tails(graph) if tail is None else tail
    after = [tail[i] - durations[i] for i in range(len(graph))]
    best = LowerBound(max(tail, default=0.0), "critical path")

    if workers is not None and len(graph):
        work = math.fsum(durations) / workers
        if work > best.value:
            best = LowerBound(work, f"total work on {workers} worker(s)")

    exclusive: dict[int, _Group] = {}
    counted: dict[int, _Group] = {}
    kinds = index.kinds
    declared = index.declared
    ancestors = index.ancestors
    read: dict[int, list[int]] = {}  # node or glob: its readers
    for task, claims in enumerate(index.claims):
        if not claims:
            continue
        d, h, a = durations[task], head[task], after[task]
        written: set[int] | None = None
        for point, mode, amount in claims:
            kind = kinds[point]
            if mode != WRITE and kind is not PointKind.COUNTED:
                read.setdefault(point, []).append(task)
            if kind is PointKind.COUNTED:
                group = counted.get(point)
                if group is None:
                    group = counted[point] = _Group([])
                group.add(amount * d, h, a)
            elif mode == WRITE:
                # A task writing a node and one of its ancestors counts once, at the ancestor.
                if kind is PointKind.NODE and len(claims) > 1 and ancestors[point]:
                    if written is None:
                        written = {p for p, m, _ in claims if m == WRITE}
                    if any(up in written for up in ancestors[point] if declared[up]):
                        continue
                group = exclusive.get(point)
                if group is None:
                    exclusive[point] = _Group([d], h, a)
                else:  # _Group.add, inlined: this loop runs once per access of the plan
                    group.work.append(d)
                    if h < group.head:
                        group.head = h
                    if a < group.tail:
                        group.tail = a

    # Writers of a node and of its declared ancestors all overlap: chain them top-down
    # (a parent's point number is always smaller than its children's).
    chained: dict[int, _Group] = {}
    for point in sorted(exclusive):
        group = exclusive[point]
        if kinds[point] is PointKind.NODE:
            for up in index.ancestors[point]:
                if up in chained:
                    group = group.merged(chained[up])
                    break
        chained[point] = group
        if len(group.work) > 1:
            value = group.bound()
            if value > best.value:
                best = LowerBound(value, f"{index.names[point]} is exclusive")

    # A glob's writers and the writers of a point it overlaps (a node and its ancestors, or
    # another glob) all overlap each other too.
    globs = [p for p in exclusive if kinds[p] is PointKind.GLOB]
    writes: dict[int, list[tuple[float, set[int]]]] = {g: [] for g in globs}
    if globs:  # per glob, its writers' durations and all they write (counted once below)
        for task, claims in enumerate(index.claims):
            written_points = {p for p, m, _ in claims if m == WRITE}
            for point in written_points.intersection(writes):
                writes[point].append((durations[task], written_points))
    for glob in sorted(globs):
        mine = exclusive[glob]
        work = math.fsum(mine.work)
        for other in (*index.glob_nodes[glob], *index.glob_globs[glob]):
            theirs = chained.get(other)
            if theirs is None or (kinds[other] is PointKind.GLOB and other < glob):
                continue
            chain = {other, *ancestors[other]} if kinds[other] is PointKind.NODE else {other}
            twice = math.fsum(d for d, points in writes[glob] if not chain.isdisjoint(points))
            value = (
                min(mine.head, theirs.head)
                + work
                + math.fsum(theirs.work)
                - twice
                + min(mine.tail, theirs.tail)
            )
            if value > best.value:
                names = f"{index.names[other]} and {index.names[glob]}"
                best = LowerBound(value, f"{names} overlap")

    if read:
        for point, value in _read_below_written(index, read, durations, head, after).items():
            if value > best.value:
                name = index.names[point]
                what = "below it" if kinds[point] is PointKind.NODE else "what it matches"
                best = LowerBound(value, f"{name} is read while others write {what}")

    for point, group in sorted(counted.items()):
        value = group.bound(index.capacity[point])
        if value > best.value:
            best = LowerBound(value, f"{index.names[point]} has capacity {index.capacity[point]}")
    if all(float(d).is_integer() for d in durations):
        whole = math.ceil(best.value - 1e-9)
        if whole > best.value:
            best = LowerBound(float(whole), best.reason)
    return best

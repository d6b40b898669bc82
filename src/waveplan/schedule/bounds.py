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


READ_FORMS = 8
"""Read points (those with the highest bounds of their own) that :func:`_read_forms` tries to
combine into one group of tasks that exclude each other."""


@dataclass(slots=True)
class _Read:
    """A read node or glob: its readers, and the tasks writing into it (below the node or
    what the glob may match, or the point itself)."""

    readers: set[int]
    into: set[int]
    owners: set[int]

    def alone(self) -> set[int]:
        """Tasks that exclude every other reader and writer here: those both reading the point
        and writing into it, and those writing the point itself."""
        return (self.readers & self.into) | self.owners


def _read_points(index: ResourceIndex) -> dict[int, _Read]:
    """Every read node or glob that others write into."""
    kinds = index.kinds
    found: dict[int, _Read] = {}
    writes: list[tuple[int, int]] = []
    for task, claims in enumerate(index.claims):
        for point, mode, _ in claims:
            if kinds[point] is PointKind.COUNTED:
                continue
            if mode == WRITE:
                writes.append((task, point))
                continue
            read = found.get(point)
            if read is None:
                read = found[point] = _Read(set(), set(), set())
            read.readers.add(task)
    if not found:
        return found
    ancestors, node_globs, glob_globs = index.ancestors, index.node_globs, index.glob_globs
    for task, point in writes:
        if point in found:
            found[point].owners.add(task)
        # A node is below its ancestors and inside the globs over it, a glob inside the globs
        # it may share a path with. (Glob writers are not counted below a read node: any
        # member may lower the smallest start and remaining chain, and the bound of the node
        # alone never changes.)
        node = kinds[point] is PointKind.NODE
        for others in (ancestors[point], node_globs[point]) if node else (glob_globs[point],):
            for other in others:
                read = found.get(other)
                if read is not None:
                    read.into.add(task)
    return {p: r for p, r in found.items() if r.into}


def _read_below_written(
    reads: dict[int, _Read],
    durations: Sequence[float],
    head: Sequence[float],
    after: Sequence[float],
) -> dict[int, float]:
    """The bound of each read node or glob that others write into (see the module
    docstring)."""
    found: dict[int, float] = {}
    for point, read in sorted(reads.items()):
        alone = read.alone()
        rest_read = read.readers - alone
        rest_write = read.into - alone
        members = read.readers | read.into | alone
        found[point] = (
            min(head[t] for t in members)
            + math.fsum(durations[t] for t in alone)
            + max((durations[t] for t in rest_read), default=0.0)
            + max((durations[t] for t in rest_write), default=0.0)
            + min(after[t] for t in members)
        )
    return found


def _read_forms(
    reads: dict[int, _Read],
    single: dict[int, float],
    durations: Sequence[float],
    head: Sequence[float],
    after: Sequence[float],
) -> tuple[float, list[int]]:
    """The bound of the best group of read points found, greedily, among the
    :data:`READ_FORMS` best on their own, and the group (ascending).

    For read points ``Q`` (``src/`` and ``src/**/*.py``; ``db`` and ``db.users``), the tasks
    that read or write one of them and write into every one of them exclude each other: one
    reads a point the other writes into, or both write into one. They run one at a time: the
    smallest earliest start among them, plus their durations, plus the smallest remaining
    chain. (Tasks reading ``src/`` and writing ``src/a.py``, and tasks reading
    ``src/**/*.py`` and writing ``src/b.py``, are each alone in their point's bound, and all
    of them together here.)"""
    top = sorted(single, key=lambda p: (-single[p], p))[:READ_FORMS]
    if len(top) < 2:
        return 0.0, []
    alone = {p: reads[p].alone() for p in top}
    into = {p: reads[p].into | reads[p].owners for p in top}

    def value(group: list[int]) -> float:
        tasks = set().union(*(alone[p] for p in group))
        for p in group:
            tasks &= into[p]
        if not tasks:
            return 0.0
        return (
            min(head[t] for t in tasks)
            + math.fsum(durations[t] for t in tasks)
            + min(after[t] for t in tasks)
        )

    group = [top[0]]
    best = single[top[0]]
    while True:
        found = max(((value([*group, p]), -p) for p in top if p not in group), default=None)
        if found is None or found[0] <= best:
            break
        best = found[0]
        group.append(-found[1])
    return (best, sorted(group)) if len(group) > 1 else (0.0, [])


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
    for task, claims in enumerate(index.claims):
        if not claims:
            continue
        d, h, a = durations[task], head[task], after[task]
        written: set[int] | None = None
        for point, mode, amount in claims:
            kind = kinds[point]
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

    reads = _read_points(index)
    if reads:
        single = _read_below_written(reads, durations, head, after)
        for point, value in single.items():
            if value > best.value:
                name = index.names[point]
                what = "below it" if kinds[point] is PointKind.NODE else "what it matches"
                best = LowerBound(value, f"{name} is read while others write {what}")
        value, forms = _read_forms(reads, single, durations, head, after)
        if value > best.value:
            names = " and ".join(index.names[p] for p in forms)
            both = "both" if len(forms) == 2 else "all of them"
            best = LowerBound(value, f"{names} are read by tasks that write into {both}")

    for point, group in sorted(counted.items()):
        value = group.bound(index.capacity[point])
        if value > best.value:
            best = LowerBound(value, f"{index.names[point]} has capacity {index.capacity[point]}")
    if all(float(d).is_integer() for d in durations):
        whole = math.ceil(best.value - 1e-9)
        if whole > best.value:
            best = LowerBound(float(whole), best.reason)
    return best

"""Explanations: why each delayed task waited, and where parallelism breaks down.

A *serialization point* is a resource (or a group of resources that serialize the same tasks,
see :func:`point_groups`) on which tasks that the dependencies would let run together had to
wait for each other in the practical schedule. Its ``wait`` is the total time tasks spent
waiting on it; its ``cost`` is how much shorter the practical makespan gets when the resource
stops serializing (computed by replanning, see :mod:`waveplan.schedule.advice`).
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from waveplan.graph import Graph, reaches
from waveplan.resources.index import WRITE, PointKind, ResourceIndex, covers
from waveplan.schedule.scheduler import BARRIER, WORKERS, Wait

__all__ = [
    "WAIT_TOLERANCE",
    "ConflictGroup",
    "Delay",
    "PointGroup",
    "conflict_groups",
    "delays",
    "held_meanwhile",
    "point_groups",
    "significant_waits",
    "wait_subjects",
]

WAIT_TOLERANCE = 1e-9
"""Waits shorter than this share of the makespan are rounding, not waiting: with durations
0.1 and 0.2 a task ending at 0.1 + 0.2 frees a file 5.6e-17 after one ending at 0.3."""


def significant_waits(waits: Sequence[Wait], makespan: float) -> list[Wait]:
    """The waits worth reporting: those longer than ``WAIT_TOLERANCE`` of the makespan (the
    schedule itself is left as it is)."""
    tolerance = WAIT_TOLERANCE * makespan
    return [w for w in waits if w.end - w.start > tolerance]


@dataclass(frozen=True, slots=True)
class Delay:
    """One task's waiting on one resource: ``t3 waited 1 for src/x.ts held by t2``."""

    task: str
    resource: str
    holders: tuple[str, ...]
    duration: float
    conservative: bool = False
    more_holders: int = 0
    planned_first: tuple[str, ...] = ()
    """For the stretches of the wait when nobody held the resource: the tasks the practical
    schedule plans to start before it there, which had not started yet."""


def _resource_name(index: ResourceIndex, point: int) -> str:
    if point == WORKERS:
        return "a free worker"
    if point == BARRIER:
        return "the earlier waves to finish"
    return index.names[point]


def _conservative(index: ResourceIndex, task: int, point: int) -> bool:
    if point < 0 or not index.conservative:
        return False
    return any(index.is_conservative(point, own) for own, _, _ in index.claims[task])


MAX_HOLDERS = 8
"""Holders named in one explanation; more are counted."""
_LOOK_BACK = 8
_EPSILON = 1e-9  # times that are equal but for rounding

Timeline = list[tuple[float, float, int]]
"""The (start, end, task) of a point's claimants that held it for some time, by start."""


def _holders_between(
    timeline: Timeline, begin: float, finish: float, task: int
) -> tuple[list[int], int]:
    """Tasks on a point's timeline that held it during ``[begin, finish)``: the first ones,
    and how many more. Bisection keeps this cheap on a hot file."""
    first = bisect.bisect_left(timeline, (begin, -math.inf, -1))
    stop = bisect.bisect_left(timeline, (finish, -math.inf, -1))
    earlier = [
        h for s, e, h in timeline[max(0, first - _LOOK_BACK) : first] if e > begin and h != task
    ]
    named = earlier + [
        h for _, _, h in timeline[first : min(stop, first + MAX_HOLDERS)] if h != task
    ]
    rest = max(0, stop - first - MAX_HOLDERS)
    return named, rest


def _timelines(
    index: ResourceIndex,
    hits: Mapping[int, Sequence[int]],
    start: Sequence[float],
    end: Sequence[float],
) -> tuple[dict[int, Timeline], dict[int, Timeline]]:
    """Per subject of a wait (a lock point, or a folder or glob), the timeline of the tasks
    that held any lock point counting toward it (each task once), and that of those that
    wrote one. ``hits`` gives, per lock point, the subjects it counts toward. A task that
    took no time is on no timeline: it never held anything while another waited."""
    held: dict[int, dict[int, bool]] = {}
    for task, claims in enumerate(index.claims):
        if end[task] <= start[task]:
            continue
        for point, mode, _ in claims:
            for subject in hits.get(point, ()):
                writes = held.setdefault(subject, {})
                writes[task] = writes.get(task, False) or mode == WRITE
    claimants: dict[int, Timeline] = {}
    writers: dict[int, Timeline] = {}
    for subject, writes in held.items():
        claimants[subject] = sorted((start[t], end[t], t) for t in writes)
        writers[subject] = sorted((start[t], end[t], t) for t, wrote in writes.items() if wrote)
    return claimants, writers


def _overlap(index: ResourceIndex, a: int, b: int) -> bool:
    """Whether two lock points of the index overlap (a point overlaps itself)."""
    if a == b:
        return True
    kinds = index.kinds
    if kinds[a] is PointKind.COUNTED or kinds[b] is PointKind.COUNTED:
        return False
    if kinds[b] is PointKind.GLOB:
        a, b = b, a
    if kinds[a] is PointKind.GLOB:
        return b in index.glob_globs[a] if kinds[b] is PointKind.GLOB else b in index.glob_nodes[a]
    return a in index.ancestors[b] or b in index.ancestors[a]


def _writes(index: ResourceIndex, task: int, point: int) -> bool:
    """Whether ``task`` writes ``point`` itself."""
    return any(own == point and mode == WRITE for own, mode, _ in index.claims[task])


def _writes_over(index: ResourceIndex, task: int, point: int) -> bool:
    """Whether ``task`` writes something that overlaps ``point``: then every holder of the
    point kept it waiting, else (it only reads there) only the point's writers did."""
    written = [own for own, mode, _ in index.claims[task] if mode == WRITE]
    return point in written or any(_overlap(index, own, point) for own in written)


def _wide(index: ResourceIndex) -> set[int]:
    """The points a wait may be about instead of the point waited on (see :func:`_through`):
    globs, and declared folders above another declared point."""
    declared = [p for p, flag in enumerate(index.declared) if flag]
    ancestors = index.ancestors
    above = set(itertools.chain.from_iterable(map(ancestors.__getitem__, declared)))
    wide = {p for p in above if index.declared[p]}
    wide.update(p for p in declared if index.kinds[p] is PointKind.GLOB)
    return wide


def _inside(index: ResourceIndex, wide: int, point: int) -> bool:
    """Whether the node ``point`` lies in the folder or glob ``wide``: under the folder, or
    at or under a path the glob matches."""
    if index.kinds[point] is not PointKind.NODE:
        return False
    if index.kinds[wide] is PointKind.NODE:
        return wide in index.ancestors[point]
    path = index.keys[point][0][1].rstrip("/")
    return any(covers(key, path) for _, key in index.keys[wide])


def _through(index: ResourceIndex, wide: set[int], task: int, point: int) -> int:
    """What a wait of ``task`` on ``point`` is about: the task's own folder or glob when the
    point lies in it (it writes src/ or src/**/*.py, and a file there was held), so that all
    the files held there make one wait, not only the one it parked behind; else the point.
    ``wide`` is :func:`_wide` of the index."""
    if point < 0 or index.kinds[point] is not PointKind.NODE:
        return point
    claims = index.claims[task]
    mine = [own for own, _, _ in claims if own in wide]
    if not mine or any(own == point for own, _, _ in claims):
        return point
    return next((own for own in mine if _inside(index, own, point)), point)


def _wide_hits(index: ResourceIndex, wide: set[int]) -> dict[int, list[int]]:
    """Per lock point, the folders and globs of ``wide`` it overlaps (for :func:`_timelines`:
    a wait about a folder or glob is on anything held in it)."""
    hits: dict[int, list[int]] = {}
    folders = {w for w in wide if index.kinds[w] is PointKind.NODE}
    for w in wide:
        near = (
            index.overlapping(w)
            if w not in folders
            else [
                *(a for a in index.ancestors[w] if index.declared[a]),
                *index.node_globs[w],
            ]
        )
        for point in (w, *near):
            hits.setdefault(point, []).append(w)
    if folders:  # what lies below a folder: one pass over every point's ancestors
        for point, chain in enumerate(index.ancestors):
            if index.declared[point] and point not in folders:
                for w in folders.intersection(chain):
                    hits.setdefault(point, []).append(w)
    return hits


def wait_subjects(index: ResourceIndex, waits: Sequence[Wait]) -> dict[tuple[int, int], int]:
    """Per (task, point) of a wait, the folder or glob the wait is about when that is not the
    point itself (see :func:`_through`): :func:`delays` and :func:`point_groups` both need it,
    and for a glob it is a pattern match."""
    wide = _wide(index)
    found: dict[tuple[int, int], int] = {}
    if not wide:
        return found
    seen: set[tuple[int, int]] = set()
    for wait in waits:
        key = (wait.task, wait.point)
        if key not in seen:
            seen.add(key)
            about = _through(index, wide, wait.task, wait.point)
            if about != wait.point:
                found[key] = about
    return found


def delays(
    graph: Graph,
    index: ResourceIndex,
    waits: Sequence[Wait],
    start: Sequence[float] | None = None,
    end: Sequence[float] | None = None,
    *,
    subjects: Mapping[tuple[int, int], int] | None = None,
) -> list[Delay]:
    """Per task, its waits merged by resource, in task order then time order.

    A wait is about the resource the task declared when the point it waited on lies in one of
    its folders or globs (see :func:`_through`). With the schedule (``start``, ``end``), the
    holders named are every task that held the resource (for a folder or glob, anything that
    overlaps it) in a way that conflicts with the task's own access (for a task that only
    reads there, the writers) for some time while the task waited, in the order they held it;
    without, the holder met when each wait began. ``subjects`` is :func:`wait_subjects`,
    when the caller has it.
    """
    if subjects is None:
        subjects = wait_subjects(index, waits)
    spans: dict[tuple[int, int], list[tuple[float, float, int | None]]] = {}
    through: set[tuple[int, int]] = set()  # the spans about a folder or glob
    for wait in sorted(waits, key=lambda w: (w.task, w.start)):
        task, point = wait.task, wait.point
        about = subjects.get((task, point), point)
        if about != point:
            through.add((task, about))
        spans.setdefault((task, about), []).append((wait.start, wait.end, wait.holder))
    claimants: dict[int, Timeline] | None = None
    writers: dict[int, Timeline] = {}
    wide_all: dict[int, Timeline] = {}
    wide_writers: dict[int, Timeline] = {}
    if start is not None and end is not None:
        points = {key[1] for key in spans if key not in through and key[1] >= 0}
        claimants, writers = _timelines(index, {p: (p,) for p in points}, start, end)
        if through:
            wide = _wide_hits(index, {about for _, about in through})
            wide_all, wide_writers = _timelines(index, wide, start, end)
    ids = graph.ids
    counted = PointKind.COUNTED
    found = []
    for (task, point), stretches in spans.items():
        holders: list[int] = []
        more = 0
        first_in: list[int] = []  # who went first, for stretches that nobody held
        held_by: Timeline | None = None
        if claimants is not None and point >= 0:
            if (task, point) in through:  # its folder or glob: anything held in it
                held_by = (wide_all if _writes(index, task, point) else wide_writers).get(point, [])
            elif index.kinds[point] is not counted and not _writes_over(index, task, point):
                # it only reads there: only the point's writers kept it waiting
                held_by = writers.get(point, [])
            else:
                held_by = claimants.get(point, [])
        for begin, finish, first in stretches:
            if held_by is None:
                candidates = [] if first is None or first < 0 else [first]
                extra = 0
            else:
                candidates, extra = _holders_between(held_by, begin, finish, task)
                # Nobody held it: the wait was the planned order's, for a task that had not
                # started yet (the scheduler names the one it waited for).
                if (
                    not candidates
                    and first is not None
                    and first >= 0
                    and start is not None
                    and start[first] >= begin - _EPSILON
                ):
                    first_in.append(first)
            more += extra
            for holder in candidates:
                if holder in holders:
                    continue
                if len(holders) < MAX_HOLDERS:
                    holders.append(holder)
                else:
                    more += 1
        found.append(
            Delay(
                task=ids[task],
                resource=_resource_name(index, point),
                holders=tuple(ids[h] for h in holders),
                duration=math.fsum(e - b for b, e, _ in stretches),
                conservative=_conservative(index, task, point),
                more_holders=more,
                planned_first=tuple(ids[h] for h in dict.fromkeys(first_in) if h not in holders),
            )
        )
    return found


@dataclass(frozen=True, slots=True)
class PointGroup:
    """Lock points on which the same tasks waited for each other, with the total wait.
    ``heaviest``: the same points, the most waited on first (ties by name)."""

    points: tuple[int, ...]
    tasks: tuple[int, ...]
    wait: float
    conservative: bool
    heaviest: tuple[int, ...]


def point_groups(
    index: ResourceIndex,
    waits: Sequence[Wait],
    co_blocked: Sequence[tuple[int, frozenset[int]]] = (),
    subjects: Mapping[tuple[int, int], int] | None = None,
) -> list[PointGroup]:
    """Resources that made tasks wait, most wait first.

    A wait on a point that lies in a folder or glob the task claims counts for that folder
    or glob: when the task writes src/**/*.py while two files under src/ are held, ignoring
    one of the files gains nothing, ignoring the pattern does.

    Resources are grouped when they serialize the same tasks: when exactly the same tasks
    waited on them (or held what those waited for), or when they blocked one task at the same
    time (``co_blocked``); ignoring only one resource of such a group would gain nothing. A
    counted resource on which tasks waited is a pool that many tasks share: blocking with it
    groups only resources on which no task waited and that are in no other group. Grouping it
    with others would take in all its tasks and hide what those resources cost and what
    separating them gives (its own change, a higher capacity, is separate anyway).
    """
    involved: dict[int, set[int]] = {}
    total: dict[int, float] = {}
    flagged: dict[int, bool] = {}
    # A wait on a point that lies in the task's own folder or glob is about that folder or
    # glob (as in :func:`delays`); ``through`` keeps which, ``direct`` the points waited on
    # as they are.
    through: dict[int, set[int]] = {}
    direct: set[int] = set()
    if subjects is None:
        subjects = wait_subjects(index, waits)
    for wait in waits:
        if wait.point < 0:
            continue
        about = subjects.get((wait.task, wait.point), wait.point)
        if about == wait.point:
            direct.add(about)
        else:
            through.setdefault(wait.point, set()).add(about)
        tasks = involved.setdefault(about, set())
        tasks.add(wait.task)
        if wait.holder is not None and wait.holder >= 0:
            tasks.add(wait.holder)
        total[about] = total.get(about, 0.0) + wait.duration
        flagged[about] = flagged.get(about, False) or _conservative(index, wait.task, wait.point)
    parent = {point: point for point in involved}

    def find(point: int) -> int:
        while parent[point] != point:
            parent[point] = parent[parent[point]]
            point = parent[point]
        return point

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    counted = PointKind.COUNTED
    kinds = index.kinds
    pools: list[tuple[int, frozenset[int]]] = []
    known: dict[tuple[int, int], bool] = {}

    def inside(wide_point: int, point: int) -> bool:
        """:func:`_inside`, remembered: co-blocked sets repeat the same pairs, and a glob's
        test matches a pattern (1,000 tasks over overlapping globs: 2 s of matching)."""
        key = (wide_point, point)
        found = known.get(key)
        if found is None:
            found = known[key] = _inside(index, wide_point, point)
        return found

    for point, others in co_blocked:
        # No main: its wait was only rounding (see significant_waits). A co-blocked entry does
        # not say which task parked, so each folder or glob a wait there was about takes it.
        mains = [point] if point in direct else []
        mains += sorted(through.get(point, ()))
        for main in mains:
            if kinds[main] is counted:
                pools.append((main, others))
                continue
            for other in others:
                if main != point and inside(main, other):
                    continue  # it blocked the task in that folder or glob as well
                if kinds[other] is not counted or other not in involved:
                    parent.setdefault(other, other)
                    union(main, other)
    # A pool takes only what blocked with it and is in no group yet (no task waited on it).
    for point, others in pools:
        for other in others:
            if other not in parent:
                parent[other] = other
                union(point, other)
    by_tasks: dict[tuple[int, ...], int] = {}
    for point, tasks in involved.items():
        key = tuple(sorted(tasks))
        if key in by_tasks:
            union(by_tasks[key], point)
        else:
            by_tasks[key] = point
    members: dict[int, list[int]] = {}
    for point in parent:
        members.setdefault(find(point), []).append(point)
    groups = []
    for points in members.values():
        tasks = set().union(*(involved.get(p, ()) for p in points))
        groups.append(
            PointGroup(
                points=tuple(sorted(points)),
                tasks=tuple(sorted(tasks)),
                wait=sum(total.get(p, 0.0) for p in points),
                conservative=any(flagged.get(p, False) for p in points),
                heaviest=tuple(sorted(points, key=lambda p: (-total.get(p, 0.0), index.names[p]))),
            )
        )
    groups.sort(key=lambda g: (-g.wait, [index.names[p] for p in g.points]))
    return groups


@dataclass(frozen=True, slots=True)
class ConflictGroup:
    """Tasks that cannot all overlap in time because of one resource (who collides on what).

    For a file, state or test resource: the tasks using it, plus the writers of resources that
    overlap it (a directory above it, a file below it, a matching glob); at least one of them
    writes. For a counted resource: its users, when their amounts together exceed the
    capacity.
    """

    resource: str
    tasks: tuple[str, ...]
    writers: tuple[str, ...]
    conservative: bool


MAX_ORDER_CHECK = 64
"""Conflict groups up to this size are checked for being ordered by dependencies."""
ORDER_SEARCH_BUDGET = 256
"""Tasks one ordering check may visit; beyond it the group is reported (conservatively)."""
ORDER_CHECKS = 500
"""Groups checked per plan (the first ones, in resource order); on larger plans the rest are
reported without the check, which keeps the conflict listing near-linear."""


class _OrderCheck:
    """Whether dependencies already order every pair of a group: such tasks never run
    together, so their shared resource costs nothing. A set is a chain when each member, in
    dependency-level order, reaches the next. Bounded, so huge plans stay near-linear."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.left = ORDER_CHECKS

    def chained(self, members: Sequence[int]) -> bool:
        level = self.graph.level
        if len(members) > MAX_ORDER_CHECK or len({level[t] for t in members}) < len(members):
            return False  # two tasks on one level never depend on each other
        if self.left <= 0:
            return False
        self.left -= 1
        ordered = sorted(members, key=lambda t: (level[t], t))
        return all(
            reaches(self.graph, a, b, ORDER_SEARCH_BUDGET) is True
            for a, b in itertools.pairwise(ordered)
        )


def conflict_groups(graph: Graph, index: ResourceIndex) -> list[ConflictGroup]:
    """Every resource on which at least two tasks that dependencies do not already order
    conflict, by resource name."""
    users: dict[int, list[tuple[int, int, int]]] = {}
    for task, claims in enumerate(index.claims):
        for point, mode, amount in claims:
            users.setdefault(point, []).append((task, mode, amount))
    ids = graph.ids
    order = _OrderCheck(graph)
    # Per declared folder (or state prefix), the used points below it: their writers collide
    # with its readers (a task reading src/ and one writing src/a.py).
    below: dict[int, list[int]] = {}
    for point in users:
        if index.kinds[point] is PointKind.NODE:
            for above in index.ancestors[point]:
                if index.declared[above]:
                    below.setdefault(above, []).append(point)
    groups: list[ConflictGroup] = []
    for point, own in users.items():
        kind = index.kinds[point]
        if kind is PointKind.COUNTED:
            if (
                sum(a for _, _, a in own) > index.capacity[point]
                and len(own) > 1
                and not order.chained([t for t, _, _ in own])
            ):
                holders = tuple(ids[t] for t in sorted({t for t, _, _ in own}))
                groups.append(ConflictGroup(index.names[point], holders, (), False))
            continue
        writers = {t for t, mode, _ in own if mode == WRITE}
        readers = {t for t, mode, _ in own if mode != WRITE}
        if kind is PointKind.NODE:
            related = [a for a in index.ancestors[point] if index.declared[a]]
            related += index.node_globs[point]
            related += below.get(point, ())
        else:
            related = [*index.glob_globs[point], *index.glob_nodes[point]]
        conservative = False
        for other in related:
            for task, mode, _ in users.get(other, ()):
                if mode == WRITE:
                    writers.add(task)
                    conservative = conservative or index.is_conservative(point, other)
        members = writers | readers
        if writers and len(members) > 1 and not order.chained(list(members)):
            groups.append(
                ConflictGroup(
                    index.names[point],
                    tuple(ids[t] for t in sorted(members)),
                    tuple(ids[t] for t in sorted(writers)),
                    conservative,
                )
            )
    groups.sort(key=lambda g: g.resource)
    return groups


class _Held:
    """Per subject (a lock point itself, or a folder or glob standing for what is held in
    it), the times some task held it: whether one held it in some span, by bisection over
    starts and the latest end so far."""

    def __init__(self, timelines: Mapping[int, Timeline]) -> None:
        self._starts: dict[int, list[float]] = {}
        self._ends: dict[int, list[float]] = {}
        for subject, timeline in timelines.items():
            self._starts[subject] = [s for s, _, _ in timeline]
            self._ends[subject] = list(itertools.accumulate((e for _, e, _ in timeline), max))

    def during(self, subject: int, begin: float, finish: float) -> bool:
        starts = self._starts.get(subject)
        if not starts:
            return False
        k = bisect.bisect_left(starts, finish)
        return k > 0 and self._ends[subject][k - 1] > begin


def held_meanwhile(
    index: ResourceIndex,
    waits: Sequence[Wait],
    start: Sequence[float],
    end: Sequence[float],
) -> list[frozenset[int]]:
    """Per wait (in order; empty for the pseudo points), the points held against the task at
    some time while it waited, besides the point the wait is on: each of its claims held by
    another task, each declared folder above one and each glob over one, and for what is held
    below one of its folders or under one of its globs, that folder or glob.

    The scheduler names what blocked a task when it looked (a task in a room: when the
    condition the room waited on stopped holding), so a hold that began and ended while the
    room waited on something else was never named (see :attr:`Scheduler.co_blocked`); the
    schedule names them all. Serialization points stay as the scheduler saw them; advice
    uses these to widen what it separates (:func:`~waveplan.schedule.advice.evaluate_widened`).
    """
    kinds, ancestors, declared = index.kinds, index.ancestors, index.declared
    node, glob = PointKind.NODE, PointKind.GLOB
    waiting = {w.task for w in waits if w.point >= 0}
    # Per waiting task: (point, its own mode there, whether it stands for what is held in it)
    related: dict[int, list[tuple[int, int, bool]]] = {}
    points: set[int] = set()
    wide: set[int] = set()
    for task in waiting:
        found: list[tuple[int, int, bool]] = []
        for point, mode, _ in index.claims[task]:
            kind = kinds[point]
            if kind is node:
                found.append((point, mode, False))
                found.extend((a, mode, False) for a in ancestors[point] if declared[a])
                found.extend((g, mode, False) for g in index.node_globs[point])
                found.append((point, mode, True))
                wide.add(point)
            elif kind is glob:
                found.append((point, mode, False))
                found.append((point, mode, True))
                wide.add(point)
        related[task] = found
        points.update(p for p, _, inside in found if not inside)
    held, wrote = _timelines(index, {p: (p,) for p in points}, start, end)
    hits: dict[int, list[int]] = {}
    for point, chain in enumerate(ancestors):
        if declared[point]:
            for a in chain:
                if a in wide:
                    hits.setdefault(point, []).append(a)
    for point in wide:
        if kinds[point] is glob:
            for other in (*index.glob_nodes[point], *index.glob_globs[point]):
                hits.setdefault(other, []).append(point)
    held_in, wrote_in = _timelines(index, hits, start, end)
    any_hold, write_hold = _Held(held), _Held(wrote)
    any_in, write_in = _Held(held_in), _Held(wrote_in)
    result: list[frozenset[int]] = []
    for wait in waits:
        if wait.point < 0:
            result.append(frozenset())
            continue
        others = set()
        for point, mode, inside in related[wait.task]:
            if inside:
                table = any_in if mode == WRITE else write_in
            else:
                table = any_hold if mode == WRITE else write_hold
            if table.during(point, wait.start, wait.end):
                others.add(point)
        others.discard(wait.point)
        result.append(frozenset(others))
    return result

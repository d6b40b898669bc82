"""Advice: restructurings that would restore parallelism, each with the makespan it gives.

Every advice is a concrete change to the plan (:func:`apply_advice`), and its makespan is what
replanning the changed plan gives, so the figure is achievable by construction:

- **split** a hot file or pattern: each writer edits its own piece (``src/x.ts/@t2``, see
  :func:`piece_key`), so the writers stop conflicting with each other; readers still read the
  whole file (a writer that declares reading it too is one of them). When other resources
  serialize the same tasks at the same time, they are separated together;
- **isolate** a shared state or test resource: each task gets its own copy (a per-task
  database, port or fixture);
- **extract** the shared part of a file into its own earlier task, which the writers then
  depend on; it is assumed to take ``EXTRACT_SHARE`` of the writers' mean duration;
- **narrow the reads** of folders, globs and named state that cover what others write: the
  tasks that read them read only what they really use instead. Its makespan is the replan with
  those broad reads removed (each task's writes and exact reads stay): the best case, where
  the narrowed reads meet no writer;
- **raise the capacity** of a counted resource by one;
- a group's isolation **widened** by the state and test resources held against its tasks
  while they waited on it (:func:`evaluate_widened`), beside the group's own;
- **add workers** when tasks waited for a free worker.

Each serialization point's ``cost`` is computed the same way, by replanning with the resource
ignored altogether. Replans use the fast effort (priority rules and justification, see
:mod:`waveplan.schedule.search`), which every longer search starts with: replanning a changed
plan with any effort gives at most the advice's makespan. A cost's replan also starts from the
practical schedule's own policy (valid once a resource is ignored), so a cost is never negative.
Replans are bounded by a budget of work units proportional to the plan's size; each is charged
what its search spent and what building it took (:func:`replan_work`).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from waveplan.graph import Graph
from waveplan.model import Access, Mode, Origin, Plan, ResourceKind, Task, id_sort_key
from waveplan.resources.index import WRITE, PointKind, ResourceIndex
from waveplan.resources.names import (
    ROOT_DIR,
    is_glob,
    is_named_test_resource,
    literal_segments,
)
from waveplan.schedule.bounds import lower_bound
from waveplan.schedule.explain import PointGroup, held_meanwhile
from waveplan.schedule.scheduler import Policy, Wait
from waveplan.schedule.search import Effort, Planned, plan_schedule

__all__ = [
    "EXTRACT_SHARE",
    "REPLAN_EFFORT",
    "WIDEN_SHARE",
    "Action",
    "Advice",
    "advise_widened",
    "apply_advice",
    "relaxed_makespan",
    "replan",
    "replan_work",
]

EXTRACT_SHARE = 0.25
"""Assumed duration of an extracted shared part, as a share of its writers' mean duration."""

REPLAN_EFFORT = Effort.FAST
"""The effort of replans for costs and advice."""

WIDEN_SHARE = 0.3
"""The share of the replan budget that widened advice (:func:`evaluate_widened`) has besides
it, after the groups' costs and own advice: those stay what they are without it."""

WIDEN_REPLANS = 1
"""The most replans widened advice makes."""

_EPSILON = 1e-9


class Action(Enum):
    """Kinds of restructuring."""

    SPLIT = "split"
    ISOLATE = "isolate"
    EXTRACT = "extract"
    NARROW_READS = "narrow-reads"
    RAISE_CAPACITY = "raise-capacity"
    ADD_WORKERS = "add-workers"


@dataclass(frozen=True, slots=True)
class Advice:
    """A restructuring and the practical makespan it gives.

    ``keys`` are the task-file keys the change is about (for narrowed reads, the broad keys
    read), ``tasks`` the tasks it changes;
    ``value`` is the new worker count or capacity (for those actions), ``new_task`` and
    ``new_duration`` describe an extracted task.
    """

    action: Action
    resource: str
    makespan: float
    gain: float
    keys: tuple[tuple[ResourceKind, str], ...] = ()
    tasks: tuple[str, ...] = ()
    value: int | None = None
    new_task: str | None = None
    new_duration: float | None = None


# --- plan transformations -------------------------------------------------------------------


def piece_key(kind: ResourceKind, key: str, task_id: str) -> str:
    """The key of one task's own piece of a resource (a sub-resource only it uses).

    A folder's piece is a new folder in it (``src/@t/``), a file's a part of it
    (``src/a.py/@t``). A glob's piece is what the glob matches and no other piece can:
    ``src/@t/*.py`` for ``src/**/*.py``, ``src/@t@*.py`` for ``src/*.py`` (ids never hold an
    ``@``). Putting it under each match instead (``src/**/*.py/@t``) would reach into the
    other pieces and files under src/, since ``**`` and ``*`` cross into every folder.
    """
    if kind is ResourceKind.STATE:
        return f"{key}.@{task_id}"
    if kind is ResourceKind.TEST and is_named_test_resource(key):
        return f"{key}@{task_id}"
    if key == ROOT_DIR:
        return f"@{task_id}/"
    if is_glob(key):
        segments = key.split("/")
        first = len(literal_segments(segments))  # the first segment with a wildcard
        segment = segments[first]
        star = segment.find("*")
        if segment == "**":
            segments[first] = f"@{task_id}"
            return "/".join(segments)
        if star >= 0 and "[" not in segment[:star]:
            segments[first] = f"{segment[:star]}@{task_id}@{segment[star:]}"
            return "/".join(segments)
        # ``?`` or ``[...]`` comes first: no room for a piece of its own; under each match
        return f"{key.rstrip('/')}/@{task_id}"
    suffix = "/" if key.endswith("/") else ""
    return f"{key.rstrip('/')}/@{task_id}{suffix}"


def _separate(plan: Plan, keys: Iterable[tuple[ResourceKind, str]]) -> Plan:
    """Give each task its own piece of the resources: for files only writes move to a piece
    (readers keep reading the whole file, and so does a writer that declares reading it too);
    for state and test resources every access does."""
    wanted = set(keys)
    changed: list[Task] = []
    for task in plan.tasks:
        if not any((a.kind, a.key) in wanted for a in task.accesses):
            changed.append(task)
            continue
        accesses = tuple(
            dataclasses.replace(a, key=piece_key(a.kind, a.key, task.id))
            if (a.kind, a.key) in wanted
            and (a.mode is Mode.WRITE or a.kind is not ResourceKind.FILE)
            else a
            for a in task.accesses
        )
        changed.append(dataclasses.replace(task, accesses=accesses))
    return dataclasses.replace(plan, tasks=tuple(changed))


def _extract(plan: Plan, advice: Advice) -> Plan:
    assert advice.new_task is not None and advice.new_duration is not None
    writers = set(advice.tasks)
    split = _separate(plan, advice.keys)
    members = [t for t in plan.tasks if t.id in writers]
    common = set(members[0].depends)
    for member in members[1:]:
        common &= set(member.depends)
    shared = Task(
        id=advice.new_task,
        title=f"Extract the shared part of {advice.resource}",
        depends=tuple(sorted(common, key=id_sort_key)),
        accesses=tuple(
            Access(kind, key, Mode.WRITE, origin=Origin.DECLARED) for kind, key in advice.keys
        ),
        duration=advice.new_duration,
    )
    tasks = [
        dataclasses.replace(t, depends=(*t.depends, shared.id)) if t.id in writers else t
        for t in split.tasks
    ]
    tasks.append(shared)
    tasks.sort(key=lambda t: id_sort_key(t.id))
    return dataclasses.replace(split, tasks=tuple(tasks))


def _narrow(plan: Plan, advice: Advice) -> Plan:
    """Drop the advice's broad reads from its tasks: the best case of narrowing them, where
    what each task really reads meets no writer. Writes and other reads stay."""
    keys, readers = set(advice.keys), set(advice.tasks)
    tasks = tuple(
        dataclasses.replace(
            task,
            accesses=tuple(
                a for a in task.accesses if a.mode is not Mode.READ or (a.kind, a.key) not in keys
            ),
        )
        if task.id in readers
        else task
        for task in plan.tasks
    )
    return dataclasses.replace(plan, tasks=tasks)


def apply_advice(plan: Plan, advice: Advice) -> Plan:
    """The plan as it would be after following the advice."""
    if advice.action in (Action.SPLIT, Action.ISOLATE):
        return _separate(plan, advice.keys)
    if advice.action is Action.EXTRACT:
        return _extract(plan, advice)
    if advice.action is Action.NARROW_READS:
        return _narrow(plan, advice)
    assert advice.value is not None
    if advice.action is Action.ADD_WORKERS:
        return dataclasses.replace(plan, workers=advice.value)
    name = advice.keys[0][1]
    return dataclasses.replace(plan, capacities={**plan.capacities, name: advice.value})


# --- evaluation -------------------------------------------------------------------------------


def replan(
    graph: Graph,
    index: ResourceIndex,
    workers: int | None,
    *,
    seeds: Sequence[Policy] = (),
) -> Planned:
    """Plan with the replan effort, exactly as ``analyse(..., effort=REPLAN_EFFORT)`` plans
    (the same lower bound, so the same early stop), from ``seeds`` too."""
    bound = lower_bound(graph, index, workers).value
    return plan_schedule(graph, index, workers, effort=REPLAN_EFFORT, lower=bound, seeds=seeds)


def replan_work(planned: Planned, graph: Graph, index: ResourceIndex, *, built: bool) -> int:
    """Work units a replan is charged: what its search spent (its replays' counted work), and
    what preparing it took, which the search counts nowhere.

    Every replan computes the lower bound of the plan it replans and lists its tasks' claims:
    two units per task, dependency and claim, and one per two index entries (lock points,
    ancestor links and glob links). A replan of a changed plan (``built``) first builds its
    graph and resource index from the plan's accesses: five units per index entry instead.
    Measured at about the time per unit of j120's search on 28 plans of many shapes (migr_4000:
    about 0.1 s a replan that builds, 0.04 s one that does not); a glob's walk over thousands of
    paths that none of its declared points share is dearer than its entries say."""
    size = len(graph) + sum(map(len, graph.preds)) + sum(map(len, index.claims))
    entries = (
        len(index.names)
        + sum(map(len, index.ancestors))
        + sum(map(len, index.glob_nodes))
        + sum(map(len, index.glob_globs))
        + sum(map(len, index.node_globs))
    )
    return planned.work + 2 * size + (5 * entries if built else entries // 2)


def _makespan(ctx: AdviceContext, plan: Plan, graph: Graph | None, workers: int | None) -> float:
    graph = graph if graph is not None else Graph.from_plan(plan)
    index = ResourceIndex.build(plan)
    planned = replan(graph, index, workers)
    ctx.charge(replan_work(planned, graph, index, built=True))
    return planned.simulation.makespan


def relaxed_makespan(
    graph: Graph,
    index: ResourceIndex,
    points: Sequence[int],
    workers: int | None,
    seeds: Sequence[Policy] = (),
) -> Planned:
    """The practical schedule with the given lock points ignored (every claim on them
    dropped), replanned with the replan effort from ``seeds`` too."""
    drop = set(points)
    claims = [
        tuple(c for c in task_claims if c[0] not in drop)
        if drop.intersection(c[0] for c in task_claims)
        else task_claims
        for task_claims in index.claims
    ]
    relaxed = dataclasses.replace(index, claims=claims)
    return replan(graph, relaxed, workers, seeds=seeds)


def _slug(text: str) -> str:
    return re.sub(r"[^\w.+-]+", "-", text).strip("-.") or "resource"


def _unique_id(plan: Plan, base: str) -> str:
    taken = {t.id for t in plan.tasks}
    candidate = base
    number = 2
    while candidate in taken:
        candidate = f"{base}-{number}"
        number += 1
    return candidate


@dataclass
class AdviceContext:
    """What evaluating advice needs: the plan, its graph and index, the practical schedule's
    policy (None: the critical-path rule), and the replan budget: ``budget`` work units, at most
    ``replans`` replans, each allowed only while ``estimate`` (the most one may cost) is left;
    ``narrowed``: the sets of broad reads already evaluated (several groups share them)."""

    plan: Plan
    graph: Graph
    index: ResourceIndex
    workers: int | None
    policy: Policy | None
    practical: float
    budget: int
    replans: int
    estimate: int
    _covering: set[int] | None = None
    _read: set[tuple[ResourceKind, str]] | None = None
    _broad: list[tuple[tuple[ResourceKind, str], ...]] | None = None
    narrowed: set[tuple[tuple[ResourceKind, str], ...]] = dataclasses.field(default_factory=set)
    widened: set[tuple[int, ...]] = dataclasses.field(default_factory=set)

    def covering(self) -> set[int]:
        """Points that are ancestors of a declared point (they cover something declared)."""
        if self._covering is None:
            index = self.index
            self._covering = {
                a
                for point, chain in enumerate(index.ancestors)
                if index.declared[point]
                for a in chain
            }
        return self._covering

    def read_keys(self) -> set[tuple[ResourceKind, str]]:
        """The keys some task declares reading (also those it writes, which its claims
        merge into a write)."""
        if self._read is None:
            self._read = {
                (a.kind, a.key)
                for task in self.plan.tasks
                for a in task.accesses
                if a.mode is Mode.READ
            }
        return self._read

    def broad_reads(self) -> list[tuple[tuple[ResourceKind, str], ...]]:
        """Each task's broad reads: keys it reads, and does not write, whose point covers a
        point another key is written as: a folder (or named state) above it, a glob that
        overlaps it, a folder a written glob reaches into. Such a read takes in more than the
        task uses whenever it does not use all of that."""
        if self._broad is None:
            index, covering = self.index, self.covering()
            written = {
                point for claims in index.claims for point, mode, _ in claims if mode == WRITE
            }
            broad: set[int] = set()
            for point in written:
                if index.kinds[point] is PointKind.GLOB:
                    broad.update(index.glob_globs[point])
                    broad.update(
                        n
                        for n in index.glob_nodes[point]
                        if n in covering or any(k.endswith("/") for _, k in index.keys[n])
                    )
                else:
                    broad.update(index.ancestors[point])
                    broad.update(index.node_globs[point])
            keys = {key for point in broad for key in index.keys[point]}
            self._broad = [_reads_of(task, keys) for task in self.plan.tasks]
        return self._broad

    def can_spend(self) -> bool:
        """Whether the budget still allows a replan."""
        return self.replans > 0 and self.budget >= self.estimate

    def spend(self) -> bool:
        """Take one replan from the budget; False when it is exhausted."""
        if not self.can_spend():
            return False
        self.replans -= 1
        return True

    def charge(self, work: int) -> None:
        """Pay for a replan that was made."""
        self.budget -= work


def _reads_of(
    task: Task, keys: set[tuple[ResourceKind, str]]
) -> tuple[tuple[ResourceKind, str], ...]:
    """The task's reads of ``keys`` that it does not also write (its claims merge those)."""
    reads = {(a.kind, a.key) for a in task.accesses if a.mode is Mode.READ} & keys
    if reads:
        reads.difference_update((a.kind, a.key) for a in task.accesses if a.mode is not Mode.READ)
    return tuple(sorted(reads, key=lambda k: (k[0].value, k[1])))


def _group_keys(
    index: ResourceIndex, points: Sequence[int]
) -> tuple[tuple[ResourceKind, str], ...]:
    return tuple(key for point in points for key in index.keys[point])


def _writers(index: ResourceIndex, graph: Graph, points: Sequence[int]) -> tuple[str, ...]:
    wanted = set(points)
    return tuple(
        graph.ids[task]
        for task, claims in enumerate(index.claims)
        if any(point in wanted and mode == WRITE for point, mode, _ in claims)
    )


def _standalone(ctx: AdviceContext, points: Sequence[int]) -> bool:
    """True when giving each task its own piece of these points removes every conflict on
    them, exactly as ignoring them would: plain nodes that no other declared point overlaps
    (no declared ancestor or descendant, no glob) and, for files, read by no task (a split
    leaves readers on the whole file, writers that also declare reading it included, whose
    read the claims merge into their write)."""
    index = ctx.index
    for point in points:
        if index.kinds[point] is not PointKind.NODE or index.node_globs[point]:
            return False
        if any(index.declared[a] for a in index.ancestors[point]):
            return False
        if point in ctx.covering():
            return False
    files = (
        key for p in points if index.resource_kinds[p] is ResourceKind.FILE for key in index.keys[p]
    )
    return ctx.read_keys().isdisjoint(files)


def evaluate_group(
    ctx: AdviceContext, group: PointGroup, name: str
) -> tuple[float | None, list[Advice]]:
    """The cost of one serialization point and the advice for it, as the budget allows.

    A group's counted resources each get a higher capacity; its files, state and test
    resources are split or isolated together (a group may hold both kinds when exactly the
    same tasks waited on them)."""
    index = ctx.index
    cost: float | None = None
    if not ctx.spend():
        return cost, []
    seeds = (ctx.policy,) if ctx.policy is not None else ()
    planned = relaxed_makespan(ctx.graph, index, group.points, ctx.workers, seeds)
    ctx.charge(replan_work(planned, ctx.graph, index, built=False))
    cost = max(0.0, ctx.practical - planned.simulation.makespan)
    counted = [p for p in group.points if index.resource_kinds[p] is ResourceKind.COUNTED]
    separable = _separable(index, group)
    # What separating the group gives, when that equals ignoring it (so no replan is needed):
    # only when nothing else (a counted resource) was ignored with it.
    relaxed = None if planned.seeded or counted else planned.simulation.makespan
    found: list[Advice] = []
    for point in counted:
        advice = Advice(
            Action.RAISE_CAPACITY,
            index.names[point],
            math.nan,
            0.0,
            keys=index.keys[point][:1],
            value=index.capacity[point] + 1,
        )
        _consider(ctx, found, advice, same_graph=True)
    if separable:
        if counted:
            name = " + ".join(index.names[p] for p in separable)
        # Narrowing first: while others read the whole tree a split gains little, and a
        # split of its thousands of files is the dearest replan (on an agent-shaped plan of
        # 4,000 tasks it took what was left of the budget).
        _narrow_reads(ctx, found, group, separable, name)
        _separations(ctx, found, separable, name, relaxed)
    return cost, found


def _isolated_points(ctx: AdviceContext, group: PointGroup) -> tuple[int, ...]:
    """The group's points its advice isolates: its state and test resources, when it has no
    files (its files and state are split together otherwise); none for a split."""
    separable = _separable(ctx.index, group)
    if any(ctx.index.resource_kinds[p] is ResourceKind.FILE for p in separable):
        return ()
    return separable


def _separable(index: ResourceIndex, group: PointGroup) -> tuple[int, ...]:
    """The group's points that advice may split or isolate: all but counted resources."""
    return tuple(p for p in group.points if index.resource_kinds[p] is not ResourceKind.COUNTED)


def evaluate_widened(ctx: AdviceContext, group: PointGroup, held: Iterable[int]) -> list[Advice]:
    """The group's isolation widened by ``held``: the state and test resources held against
    its tasks at some time while they waited on it (see
    :func:`~waveplan.schedule.explain.held_meanwhile`). A room names only what blocked its
    task when it looks, so isolating the group alone may leave its tasks serialized on what
    was held meanwhile. A candidate beside the group's own advice, replanned like it, once
    per set of points.

    Splits are not widened: a split's replan is the dearest (it builds the changed plan's
    thousands of pieces), and on the plans measured a widened split never gained."""
    index = ctx.index
    own = _isolated_points(ctx, group)
    wanted = {ResourceKind.STATE, ResourceKind.TEST}
    extra = sorted(p for p in set(held) if p not in own and index.resource_kinds[p] in wanted)
    if not own or not extra:
        return []
    points = tuple(sorted((*own, *extra)))
    if points in ctx.widened:
        return []
    ctx.widened.add(points)
    name = " + ".join(index.names[p] for p in (*own, *extra))
    advice = Advice(Action.ISOLATE, name, math.nan, 0.0, keys=_group_keys(index, points))
    found: list[Advice] = []
    _consider(ctx, found, advice, same_graph=True)
    return found


def _consider(
    ctx: AdviceContext,
    found: list[Advice],
    advice: Advice,
    *,
    same_graph: bool,
    known: float | None = None,
) -> None:
    """Replan with the advice applied (unless its makespan is ``known``) and keep it when it
    shortens the practical makespan."""
    if known is not None:
        makespan = known
    elif ctx.spend():
        changed = apply_advice(ctx.plan, advice)
        makespan = _makespan(ctx, changed, ctx.graph if same_graph else None, ctx.workers)
    else:
        return
    if makespan < ctx.practical - _EPSILON:
        found.append(dataclasses.replace(advice, makespan=makespan, gain=ctx.practical - makespan))


def _separations(
    ctx: AdviceContext,
    found: list[Advice],
    points: Sequence[int],
    name: str,
    relaxed: float | None,
) -> None:
    """Split (and extract from) files, or isolate state and test resources: ``points`` are
    lock points that are not counted resources."""
    index, plan = ctx.index, ctx.plan
    kinds = {index.resource_kinds[p] for p in points}
    keys = _group_keys(index, points)
    same = relaxed if relaxed is not None and _standalone(ctx, points) else None
    if ResourceKind.FILE not in kinds:
        advice = Advice(Action.ISOLATE, name, math.nan, 0.0, keys=keys)
        _consider(ctx, found, advice, same_graph=True, known=same)
        return
    writers = _writers(index, ctx.graph, points)
    if writers:
        advice = Advice(Action.SPLIT, name, math.nan, 0.0, keys=keys, tasks=writers)
        _consider(ctx, found, advice, same_graph=True, known=same)
    if (
        len(writers) >= 2
        and kinds == {ResourceKind.FILE}
        and all(index.kinds[p] is PointKind.NODE for p in points)
    ):
        members = [plan.tasks[ctx.graph.index[w]] for w in writers]
        mean = math.fsum(t.duration for t in members) / len(members)
        advice = Advice(
            Action.EXTRACT,
            name,
            math.nan,
            0.0,
            keys=keys,
            tasks=writers,
            new_task=_unique_id(plan, "shared-" + _slug(name)),
            new_duration=EXTRACT_SHARE * mean,
        )
        _consider(ctx, found, advice, same_graph=False)


def _narrow_reads(
    ctx: AdviceContext, found: list[Advice], group: PointGroup, points: Sequence[int], name: str
) -> None:
    """When some of ``points`` are broad reads (see :meth:`AdviceContext.broad_reads`),
    narrow them and every other broad read of the group's tasks, in every task that has one
    of them; once per set of keys."""
    index = ctx.index
    per_task = ctx.broad_reads()
    own = {key for p in points for key in index.keys[p]}
    keys = {key for task in group.tasks for key in per_task[task]}
    if keys.isdisjoint(own):
        return  # the group is not about broad reads
    ordered = tuple(sorted(keys, key=lambda k: (k[0].value, k[1])))
    if ordered in ctx.narrowed:
        return
    ctx.narrowed.add(ordered)
    readers = tuple(
        ctx.graph.ids[task] for task, reads in enumerate(per_task) if not keys.isdisjoint(reads)
    )
    advice = Advice(Action.NARROW_READS, name, math.nan, 0.0, keys=ordered, tasks=readers)
    _consider(ctx, found, advice, same_graph=True)


def advise_widened(
    ctx: AdviceContext,
    groups: Sequence[PointGroup],
    waits: Sequence[Wait],
    subjects: Mapping[tuple[int, int], int],
    *,
    start: Sequence[float],
    end: Sequence[float],
    budget: int,
) -> list[Advice]:
    """Each group's isolation widened by what was held against its tasks while they waited
    on it (``waits`` with their ``subjects``, ``start`` and ``end`` the schedule's), most wait
    first, on a budget of its own, after the groups' costs and own advice, which stay what
    they are without it."""
    isolated = [(group, _isolated_points(ctx, group)) for group in groups]
    wanted = {p for _, points in isolated for p in points}
    if not wanted:
        return []
    # One reading of the schedule for every group's waits (each reading goes over all claims)
    mine = [w for w in waits if subjects.get((w.task, w.point), w.point) in wanted]
    held: dict[int, set[int]] = {}
    for wait, others in zip(mine, held_meanwhile(ctx.index, mine, start, end), strict=True):
        if others:
            held.setdefault(subjects.get((wait.task, wait.point), wait.point), set()).update(others)
    ctx.budget, ctx.replans = budget, WIDEN_REPLANS
    found: list[Advice] = []
    for group, points in isolated:
        if not ctx.can_spend():
            break
        meanwhile = set().union(*(held.get(p, ()) for p in points))
        if meanwhile:
            found.extend(evaluate_widened(ctx, group, meanwhile))
    return found


def advise_workers(ctx: AdviceContext) -> list[Advice]:
    """More workers, when the worker limit made tasks wait: one more, and the fewest at which
    the limit stops binding.

    The limit stops binding at the fewest workers whose replan is as short as the replan
    without a limit. That replan never runs more tasks at once than its peak, so the peak is
    where the search ends (should a replan with the peak be longer, the heuristic's whim, its
    makespan is the one to reach). The search (:func:`_fewest_workers`) takes replans as no
    longer with more workers, which a heuristic does not promise; but each count advised was
    replanned, so its makespan is achievable, and one worker fewer was replanned longer (or
    cannot finish the work in that time). Nothing is advised when the practical schedule is
    as short as the unlimited replan already."""
    if ctx.workers is None or not ctx.spend():
        return []
    free = replan(ctx.graph, ctx.index, None)
    ctx.charge(replan_work(free, ctx.graph, ctx.index, built=False))
    if ctx.practical <= free.simulation.makespan + _EPSILON:
        return []  # the limit does not bind: the practical schedule is as short already
    made: dict[int, float] = {}

    def makespan(count: int) -> float | None:
        """The replan's makespan with ``count`` workers (None: out of budget)."""
        if count not in made:
            if not ctx.spend():
                return None
            planned = replan(ctx.graph, ctx.index, count)  # the index does not depend on it
            ctx.charge(replan_work(planned, ctx.graph, ctx.index, built=False))
            made[count] = planned.simulation.makespan
        return made[count]

    one_more = ctx.workers + 1
    peak = max(max(free.simulation.worker, default=0) + 1, one_more)
    fewest = one_more
    first = makespan(one_more)
    if first is not None and first > free.simulation.makespan + _EPSILON:
        most = makespan(peak)
        if most is not None:
            target = max(free.simulation.makespan, most) + _EPSILON
            if first > target:
                fewest = _fewest_workers(ctx, makespan, target, one_more, peak)
    found: list[Advice] = []
    for count in sorted({one_more, fewest}):
        result = made.get(count)
        if result is not None and result < ctx.practical - _EPSILON:
            found.append(
                Advice(Action.ADD_WORKERS, "workers", result, ctx.practical - result, value=count)
            )
    return found


def _fewest_workers(
    ctx: AdviceContext,
    makespan: Callable[[int], float | None],
    target: float,
    low: int,
    high: int,
) -> int:
    """The fewest workers between ``low`` (replanned longer than ``target``) and ``high``
    (replanned within it) whose replan is within ``target``, while the budget lasts (then the
    fewest found so far).

    The count the total work requires is usually close, so the search starts there and
    doubles the count until it reaches the target, then bisects: few replans when the answer
    is near that count, about twice a bisection's when it is near ``high``."""
    work = math.fsum(ctx.graph.durations)
    if target > 0:  # fewer than work / target workers cannot finish the work in time
        low = max(low, math.ceil(work / target * (1 - 1e-6)) - 1)
    probe = low + 1
    while probe < high:
        result = makespan(probe)
        if result is None:
            return high
        if result <= target:
            high = probe
            break
        low = probe
        probe = min(high, 2 * probe)
    while high - low > 1:
        middle = (low + high) // 2
        result = makespan(middle)
        if result is None:
            break
        if result <= target:
            high = middle
        else:
            low = middle
    return high


def rank(advice: Iterable[Advice]) -> list[Advice]:
    """Best gain first; ties by action, then resource."""
    order = {action: n for n, action in enumerate(Action)}
    return sorted(advice, key=lambda a: (a.makespan, order[a.action], a.resource, a.value or 0))

"""Schedule search: a better practical schedule within a bounded, deterministic effort.

The critical-path rule (one pass of the scheduler) is where every search starts, and all a
huge plan gets. Smaller plans get, within a budget of *work units* (what each pass did,
counted so that a unit takes about the same time on any plan; never seconds, so output does not
depend on the machine; see :data:`BUDGET`):

1. **priority rules**: the scheduler (a parallel schedule generation scheme) with the latest
   finish time rule, and serial schedule generation with the latest finish time, latest start
   time, most total successors and greatest rank positional weight rules;
2. **justification** of each (forward-backward improvement: shift every task as late as it
   goes, then as early, in the order of the shifted schedule, while the makespan shrinks);
3. a **genetic search** over activity lists (two-point crossover, adjacent-swap mutation,
   every child justified and written back in its schedule's order), started from the rules
   and from regret-biased random samples of the latest-finish rule, with a fixed seed.

Serial passes run on the plan's :class:`~waveplan.schedule.instance.Instance` (whole-number
durations, cumulative families) with time-indexed resource profiles. Every schedule that may be
reported is then turned into a :class:`~waveplan.schedule.scheduler.Policy` and *replayed* by
the scheduler itself, with the plan's true durations: the reported schedule is always one the
runner reproduces. A policy's priorities are the planned start order; its sequence makes each
task wait until the tasks planned before it on its shared resources have started. With exact
durations, a replay with the full sequence is never longer than the planned schedule; lighter
policies (priorities only, or no order on the workers) are preferred when they replay as well.

Effort: ``fast`` stops after step 2; ``default`` searches for a second or two on a plan of a
few hundred tasks; ``thorough`` ten times longer. The search stops early once a schedule
reaches the lower bound: the plan's, or on a grid of rounded durations the grid's own. A plan
too large for a few dozen passes of its effort's budget gets the single pass. The exact mode
alone may also give a search a wall-clock deadline, past a lighter effort it keeps
(``plan_schedule``'s ``keep``).
"""

from __future__ import annotations

import heapq
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from itertools import repeat
from operator import sub

from waveplan.graph import Graph, tails
from waveplan.resources.index import WRITE, PointKind, ResourceIndex
from waveplan.schedule.instance import CONFLICTS, RB, WB, Family, FamilyKind, Instance, R, W
from waveplan.schedule.scheduler import Policy
from waveplan.schedule.simulate import Simulation, simulate
from waveplan.schedule.skip import first_open

__all__ = [
    "BUDGET",
    "Effort",
    "Method",
    "Planned",
    "plan_schedule",
    "policy_from_starts",
    "searchable",
]


class Effort(Enum):
    """How hard planning looks for a shorter schedule."""

    FAST = "fast"
    DEFAULT = "default"
    THOROUGH = "thorough"


BUDGET = {Effort.FAST: 150_000, Effort.DEFAULT: 4_500_000, Effort.THOROUGH: 45_000_000}
"""Work units per effort (a unit is roughly half a microsecond of a serial pass). A serial
pass costs what it did: one unit per placement attempt (each time a task's start is tried
against its resources, see ``_Search.serial``), one per five grid units of counted-family
windows, one per eight tasks, dependencies and family members. Placement attempts are what
varies between plans of one size: a fragmented resource profile takes a task dozens of them.
One replay by the scheduler costs the work it counted (:attr:`Simulation.work`): three units per
task, dependency and resource claim, and what its tasks' waiting took (wake-ups, rooms looked
at, conditions tried): a plan whose tasks wait on each other thousands of times made every
replay cost a hundred times a charge by its size."""
MIN_PASSES = 30
"""A plan whose effort affords fewer passes than this gets the single critical-path pass
(:func:`searchable`, :func:`affords`)."""
DEAR_SHARE = 5
"""A search whose first justified pass took more than 1 / DEAR_SHARE of its budget stops there
(a task reading a folder over hundreds of files written below it checks hundreds of locks a
try): the few passes the budget affords would not pay for themselves."""
SEARCH_GRID = 20_000
"""Grid units for the total work at most, in the search's time-indexed profiles."""
SEED = 20_260_401
"""The genetic search's fixed seed."""
POPULATION = 40
MUTATION = 0.05
MEMO_TASKS = 256
"""Plans of at most this many tasks remember their passes (see ``_Search.serial``)."""
STALL = 5
"""The genetic search stops after this many generations without a better schedule, or one per
``STALL_TASKS`` tasks on larger plans, which keep improving longer; four times as many with the
thorough effort."""
STALL_TASKS = 10
THOROUGH_PATIENCE = 4
KEEP = 2
"""Distinct best schedules of the search that are replayed."""
_BITS = (W, R, WB, RB)
_COVERS = tuple(
    sum(
        bit
        for bit in _BITS
        if CONFLICTS[bits] & bit
        and all(bits & CONFLICTS[other] for other in _BITS if CONFLICTS[other] & bit)
    )
    for bits in range(16)
)
"""``_COVERS[modes]``: the modes whose earlier holders a member holding ``modes`` follows and
stands in for (every mode excluding theirs excludes one of its own)."""
PROXY_LINKS = 16
"""A member that follows more earlier members of one mode than this, without excluding all
they exclude, stands in for them in the sequence (see ``_sequence``): later members follow it
rather than each of them, which also orders it before them where no lock would."""
_SHORT = 16  # windows up to this long are updated unit by unit, longer ones with map()
_EPSILON = 1e-9


class Method(Enum):
    """What produced the reported schedule."""

    CRITICAL_PATH = "critical-path rule"
    PRIORITY_RULES = "priority rules"
    GENETIC = "genetic search"
    EXACT = "cp-sat"


@dataclass(frozen=True, slots=True, eq=False)
class Planned:
    """The practical schedule planning settled on.

    ``policy`` is None for the default critical-path rule. ``schedules`` counts the schedules
    evaluated, ``work`` the work units spent. ``seeded`` is True when the schedule is the
    replay of one of the policies the search was given.
    """

    simulation: Simulation
    policy: Policy | None
    method: Method
    schedules: int
    work: int
    seeded: bool = False


@dataclass(slots=True)
class _Candidate:
    makespan: int
    start: list[int]
    method: Method


def search_size(instance: Instance) -> int:
    """Work units of one serial pass before its placement attempts (see :data:`BUDGET`)."""
    windows = sum(
        instance.durations[t]
        for family in instance.families
        if family.kind in (FamilyKind.COUNTED, FamilyKind.WORKERS)
        for t in family.tasks
    )
    return instance.size // 8 + windows // 5 + 1


def searchable(graph: Graph, index: ResourceIndex, effort: Effort) -> bool:
    """True when the effort may afford the plan more than the single critical-path pass, as
    far as the plan's size tells (tasks, dependencies, claims, and the points each written glob
    overlaps: a family each); :func:`affords` decides on the instance."""
    size = len(graph) + sum(map(len, graph.preds)) + sum(map(len, index.claims))
    kinds = index.kinds
    for claims in index.claims:
        for point, mode, _ in claims:
            if mode == WRITE and kinds[point] is PointKind.GLOB:
                size += len(index.glob_nodes[point]) + len(index.glob_globs[point])
    return len(graph) >= 2 and BUDGET[effort] // max(1, size) >= MIN_PASSES


def affords(instance: Instance, effort: Effort) -> bool:
    """True when the effort affords :data:`MIN_PASSES` serial passes of the instance, each
    costing at least its size and one try per task, charged one unit more per lock the task
    checks (:func:`searchable` cannot see locks: a task writing a glob over hundreds of
    written paths checks hundreds, and 1,000 such tasks made a fast replan take seconds)."""
    locks = sum(len(f.tasks) for f in instance.families if f.modes)
    least = search_size(instance) + len(instance) + locks
    return len(instance) >= 2 and BUDGET[effort] // least >= MIN_PASSES


def plan_schedule(
    graph: Graph,
    index: ResourceIndex,
    workers: int | None,
    *,
    effort: Effort = Effort.DEFAULT,
    lower: float | None = None,
    seeds: Sequence[Policy] = (),
    baseline: Simulation | None = None,
    keep: Effort | None = None,
    deadline: float | None = None,
) -> Planned:
    """The best practical schedule found within the effort.

    ``lower`` is a proven lower bound (the search stops when it reaches it); ``seeds`` are
    policies to replay as candidates (never searched from); ``baseline`` the critical-path
    pass when the caller already has it.

    ``keep`` (a lighter effort) and ``deadline`` (a :func:`time.monotonic` value) go together:
    the search first takes exactly the steps of the ``keep`` effort and replays what that
    effort would settle on, so the result is never worse than it; from there it goes on with
    this effort until the deadline. The result then depends on the machine's speed, which only
    the exact mode accepts (its solver runs for a wall-clock time anyway).
    """
    base = baseline or simulate(graph, index, workers=workers, priority=tails(graph))
    single = Planned(base, None, Method.CRITICAL_PATH, 1, base.work)
    if not searchable(graph, index, effort) or (
        lower is not None and base.makespan <= lower + _EPSILON
    ):
        return single
    budget = BUDGET[effort]
    instance = Instance.build(graph, index, workers, grid_limit=SEARCH_GRID)
    if not affords(instance, effort):
        return single
    return _Search(
        graph,
        index,
        workers=workers,
        instance=instance,
        budget=budget,
        lower=lower,
        base=base,
        seeds=seeds,
        effort=effort,
        keep=keep if keep is not None and affords(instance, keep) else None,
        deadline=deadline,
    ).run()


def policy_from_starts(
    instance: Instance, start: Sequence[float], *, sequence: bool = True, workers: bool = False
) -> Policy:
    """The policy that replays a schedule: priorities in planned start order (zero-duration
    tasks first at one instant, then topological order), and with ``sequence`` the planned order
    on each family (``workers``: on the worker limit too).

    In a read/write family a writer waits for every member planned before it and a reader for
    the writers only (readers never hold each other up); counted families and the workers keep
    their whole order, since any member may be one too many.
    """
    n = len(instance)
    position = [0] * n
    for rank, task in enumerate(instance.order):
        position[task] = rank
    durations = instance.durations
    order = sorted(range(n), key=lambda j: (start[j], durations[j] > 0, position[j]))
    rank_of = [0] * n
    for rank, task in enumerate(order):
        rank_of[task] = rank
    priority = [float(-rank_of[j]) for j in range(n)]
    if not sequence:
        return Policy(priority)
    after: list[dict[int, int]] = [{} for _ in range(n)]
    for family in instance.families:
        if family.kind is FamilyKind.WORKERS and not workers:
            continue
        _sequence(family, rank_of, after)
    return Policy(priority, [tuple(sorted(links.items())) for links in after])


def _sequence(family: Family, rank_of: Sequence[int], after: list[dict[int, int]]) -> None:
    members = sorted(range(len(family.tasks)), key=lambda m: rank_of[family.tasks[m]])
    if not family.modes:  # counted families and the workers keep their whole order
        previous: int | None = None
        for m in members:
            task = family.tasks[m]
            if previous is not None:
                after[task].setdefault(previous, family.points[m])
            previous = task
        return
    # Per mode, the members holding it that a later member excluding the mode must follow
    # directly: a member that follows them and excludes whatever they exclude stands in for
    # them from then on (a read/write family's writer, for the readers since the last one).
    pending: dict[int, list[int]] = {bit: [] for bit in _BITS}
    for m in members:
        task, point, bits = family.tasks[m], family.points[m], family.modes[m]
        links = after[task]
        excluded = CONFLICTS[bits]
        covered = _COVERS[bits]
        for bit in _BITS:
            if excluded & bit:
                for k in pending[bit]:
                    if k != task:
                        links.setdefault(k, point)
                if not covered & bit and len(pending[bit]) > PROXY_LINKS:
                    # it started after them all: later members follow it instead (a reader
                    # of src/ after 2,000 writers below it, and each reader after it, linked
                    # to all of them: 4 million links)
                    pending[bit] = [task]
        for bit in _BITS:
            if covered & bit:
                pending[bit] = []
            if bits & bit:
                pending[bit].append(task)


def _lock_modes(instance: Instance) -> list[list[tuple[int, int]]]:
    """Per task, its lock families and its modes in each: ``(family, modes)``."""
    found: list[list[tuple[int, int]]] = [[] for _ in range(len(instance))]
    for f, family in enumerate(instance.families):
        if family.modes:  # counted families and the workers have none
            for task, bits in zip(family.tasks, family.modes, strict=True):
                found[task].append((f, bits))
    return found


class _Search:
    """One search over one instance (see the module docstring)."""

    def __init__(
        self,
        graph: Graph,
        index: ResourceIndex,
        *,
        workers: int | None,
        instance: Instance,
        budget: int,
        lower: float | None,
        base: Simulation,
        seeds: Sequence[Policy],
        effort: Effort,
        keep: Effort | None = None,
        deadline: float | None = None,
    ) -> None:
        self.graph = graph
        self.index = index
        self.workers = workers
        self.instance = instance
        self.base = base
        self.seeds = seeds
        self.effort = effort
        self.deadline = math.inf if deadline is None else deadline
        n = len(instance)
        self.n = n
        # The lighter effort to keep: where its genetic search stops (see genetic).
        self.keep = keep
        self.keep_budget = BUDGET[keep] if keep not in (None, Effort.FAST) else 0
        self.keep_patience = self.patience(keep) if keep is not None else 0
        durations = instance.durations
        # Profiles end well after the critical-path pass (twice as long, and more on an inexact
        # grid): a pass that runs past the end is dropped, it would be of no use.
        room = 2.0 if instance.exact else 2.2
        self.horizon = (
            min(sum(durations), math.ceil(base.makespan * instance.scale * room) + max(durations))
            + 2
        )
        self.pass_cost = search_size(instance)
        self.size = n + sum(map(len, graph.preds)) + sum(map(len, index.claims))
        self.budget = budget
        self.left = budget
        self.schedules = 1
        # Families as the serial passes keep them: locks (bit masks) and amounts (profiles).
        # A lock family has a mask of busy time units per mode its members hold (see
        # ``instance.W``...): a member checks the masks of the modes it excludes, and marks
        # those of its own modes.
        slot_of: dict[tuple[int, int], int] = {}
        amount_of: dict[int, int] = {}
        self.caps: list[int] = []
        for f, family in enumerate(instance.families):
            if family.modes:
                for bits in sorted(set(family.modes)):
                    for bit in _BITS:
                        if bits & bit and (f, bit) not in slot_of:
                            slot_of[f, bit] = len(slot_of)
            else:
                amount_of[f] = len(self.caps)
                self.caps.append(family.capacity)
        self.slot_count = len(slot_of)
        self.locks = [
            [
                (
                    tuple(
                        slot_of[f, bit]
                        for bit in _BITS
                        if CONFLICTS[bits] & bit and (f, bit) in slot_of
                    ),
                    tuple(slot_of[f, bit] for bit in _BITS if bits & bit),
                )
                for f, bits in modes
            ]
            for modes in _lock_modes(instance)
        ]
        self.amounts = [[(amount_of[f], q) for f, q in u if f in amount_of] for u in instance.uses]
        self.masks = [(1 << (d or 1)) - 1 for d in durations]
        self.position = [0] * n
        for rank, task in enumerate(instance.order):
            self.position[task] = rank
        # Composite sort keys: start time first, zero-duration tasks first, then topological.
        self.tie = [(n if durations[j] else 0) + self.position[j] for j in range(n)]
        self.stride = 2 * n
        self.tail = instance.tails()  # grid units: the longest chain from each task's start
        self.lower = lower
        self.target = -1
        if lower is not None:
            self.target = max(math.ceil(lower * instance.scale - 1e-6), instance.bound(self.tail))
        self.rng = random.Random(SEED)
        # Passes by activity list (and direction), on plans small enough to keep them all.
        self.memo: dict[tuple[int, ...], tuple[list[int], list[int], int] | None] | None = (
            {} if n <= MEMO_TASKS else None
        )
        self.edges = {(p, j) for j in range(n) for p in instance.preds[j]}

    # --- passes -------------------------------------------------------------------------------

    def serial(
        self, order: Sequence[int], backward: bool = False
    ) -> tuple[list[int], list[int], int] | None:
        """:meth:`pass_of` the list, remembered on small plans: their searches meet the same
        lists again and again (three tasks have six; a second run's plan of three learnt
        durations took 1.4 s of passes over a 20,000-unit grid), and a pass remembered is
        neither made nor charged again."""
        if self.memo is None:
            return self.pass_of(order, backward)
        key = (backward, *order)
        if key not in self.memo:
            self.memo[key] = self.pass_of(order, backward)
        return self.memo[key]

    def pass_of(
        self, order: Sequence[int], backward: bool = False
    ) -> tuple[list[int], list[int], int] | None:
        """Serial schedule generation: each task of the list at its earliest feasible time.
        Backward, on the reversed dependencies (times then count from the end).

        Lock families are bit masks of busy time units, one per mode their members hold
        (writers and readers of a read/write family; the node's writers and readers and the
        writers and readers below it in a nested family), which makes a check a few shifts
        whatever the duration; counted families and the workers are lists of the capacity
        left per time unit."""
        self.schedules += 1
        durations = self.instance.durations
        preds = self.instance.succs if backward else self.instance.preds
        locks, amounts, masks = self.locks, self.amounts, self.masks
        horizon = self.horizon
        busy_in = [0] * self.slot_count
        avail = [[c] * horizon for c in self.caps]
        # Per counted family, the skip map of its used-up time units, so that a task never
        # rescans the run of full units before it: on a worker limit, a flat list of n tasks
        # would cost n x horizon.
        free: list[dict[int, int]] = [{} for _ in self.caps]
        finish = [0] * self.n
        start = [0] * self.n
        makespan = 0
        tries = 0  # placement attempts (a start tried against the task's resources), weighted
        for j in order:
            t = 0
            for p in preds[j]:
                f = finish[p]
                if f > t:
                    t = f
            d = durations[j]
            held = locks[j]
            counted = amounts[j]
            if held or counted:
                need = d or 1  # a zero-duration task needs its resources for an instant
                mask = masks[j]
                # a try checks the task's locks one by one: a task in many families (a folder
                # read over files written below it) costs that many units a try
                try_cost = 1 + len(held)
                while True:
                    tries += try_cost
                    end = t + need
                    if end > horizon:
                        self.left -= self.pass_cost + tries
                        return None
                    moved = False
                    for checks, _ in held:
                        busy = 0
                        for c in checks:
                            busy |= busy_in[c]
                        clash = (busy >> t) & mask
                        if clash:
                            t += clash.bit_length()  # just past the last busy unit
                            rest = busy >> t
                            if rest & 1:  # and past the busy run that goes on from there
                                t += (~rest & (rest + 1)).bit_length() - 1
                            moved = True
                            break
                    if moved:
                        continue
                    for f, q in counted:
                        if t in free[f]:
                            t = first_open(free[f], t)
                            moved = True
                            break
                        a = avail[f]
                        if min(a[t:end]) < q:
                            k = end - 1
                            while a[k] >= q:
                                k -= 1
                            t = k + 1
                            moved = True
                            break
                    if not moved:
                        break
                if d:
                    end = t + d
                    window = mask << t
                    for _, marks in held:
                        for c in marks:
                            busy_in[c] |= window
                    for f, q in counted:
                        a = avail[f]
                        if d > _SHORT:
                            a[t:end] = map(sub, a[t:end], repeat(q, d))
                        else:
                            for k in range(t, end):
                                a[k] -= q
                        if 0 in a[t:end]:
                            full = free[f]
                            for k in range(t, end):
                                if not a[k]:
                                    full[k] = k + 1
            start[j] = t
            e = t + d
            finish[j] = e
            if e > makespan:
                makespan = e
        self.left -= self.pass_cost + tries
        return start, finish, makespan

    def justify(self, order: Sequence[int]) -> tuple[int, list[int]] | None:
        """Forward pass, then forward-backward improvement while it shortens the schedule;
        the makespan and the start times."""
        result = self.serial(order)
        if result is None:
            return None
        start, finish, makespan = result
        n, stride, tie, position = self.n, self.stride, self.tie, self.position
        while True:
            # Latest finish first; on a tie the later in topological order, so that a task's
            # dependents (its dependencies, backwards) are always listed before it.
            back_key = [-finish[j] * stride - position[j] for j in range(n)]
            backward = self.serial(sorted(range(n), key=back_key.__getitem__), backward=True)
            if backward is None:
                break
            _, bfinish, bm = backward
            front_key = [(bm - bfinish[j]) * stride + tie[j] for j in range(n)]
            forward = self.serial(sorted(range(n), key=front_key.__getitem__))
            if forward is None or forward[2] >= makespan:
                break
            start, finish, makespan = forward
        return makespan, start

    def order_of(self, start: Sequence[float]) -> list[int]:
        """Tasks by start time (zero-duration first, then topological): an activity list."""
        tie = self.tie
        return sorted(range(self.n), key=lambda j: (start[j], tie[j]))

    # --- the search ---------------------------------------------------------------------------

    def run(self) -> Planned:
        instance = self.instance
        graph = self.graph
        n = self.n
        durations = instance.durations
        tail = [float(t) for t in self.tail]
        after = [tail[j] - durations[j] for j in range(n)]  # latest-finish rule, as a priority

        # Replays in order of preference: on equal makespans the first wins (lighter policies).
        replays: list[tuple[float, Simulation, Policy | None, Method, bool]] = []

        def consider(
            sim: Simulation, policy: Policy | None, method: Method, seeded: bool = False
        ) -> None:
            replays.append((sim.makespan, sim, policy, method, seeded))

        consider(self.base, None, Method.CRITICAL_PATH)
        real_tail = tails(graph)
        lft_policy = Policy([real_tail[j] - graph.durations[j] for j in range(n)])
        lft = self.replay(lft_policy)
        consider(lft, lft_policy, Method.PRIORITY_RULES)
        for seed in self.seeds:  # replayed, never searched from: see Planned.seeded
            consider(self.replay(seed), seed, Method.PRIORITY_RULES, seeded=True)
        starts = [self.base.start, lft.start]

        pool: list[tuple[int, int, list[int], Method]] = []  # (makespan, serial, order, method)
        counter = 0

        def add(order: Sequence[int], method: Method) -> tuple[int, list[int]] | None:
            nonlocal counter
            found = self.justify(order)
            if found is None:
                return None
            makespan, start = found
            pool.append((makespan, counter, start, method))
            counter += 1
            return makespan, start

        rules: list[Sequence[float]] = [
            after,
            tail,
            self.total_successors(),
            [float(durations[j] + sum(durations[s] for s in instance.succs[j])) for j in range(n)],
        ]
        for number, key in enumerate(rules):
            if self.left <= 0:
                break
            add(self.topological(key), Method.PRIORITY_RULES)
            if not number and (self.budget - self.left) * DEAR_SHARE > self.budget:
                self.left = 0  # the plan is too dear to search (see DEAR_SHARE)
                break
        for start in starts:
            if self.left > 0:
                add(self.order_of(start), Method.PRIORITY_RULES)

        replayed: list[list[int]] = []

        def replay_best() -> None:
            """Replay the best distinct schedules of the pool not replayed yet, each with the
            lighter policies first."""
            pool.sort(key=lambda c: (c[0], c[1]))
            kept = 0
            for _, _, start, method in pool:
                if kept >= KEEP:
                    break
                if start in replayed:
                    continue
                replayed.append(start)
                kept += 1
                for sequence, workers in variants:
                    policy = policy_from_starts(instance, start, sequence=sequence, workers=workers)
                    consider(self.replay(policy), policy, method)

        has_workers = any(f.kind is FamilyKind.WORKERS for f in instance.families)
        variants = [(False, False), (True, False)] + ([(True, True)] if has_workers else [])
        replay_best()
        # A replay may meet the bound where no grid schedule does (the grid rounds): then
        # there is nothing left to search for.
        lower = self.lower
        done = lower is not None and min(r[0] for r in replays) <= lower + _EPSILON * max(
            1.0, abs(lower)
        )
        # (An empty pool: the replays took the whole budget, so no rule got a pass.)
        if self.effort is not Effort.FAST and pool and not done and not self.reached(pool):
            self.genetic(pool, after, replay_best)
            replay_best()

        # The shortest replay; among equally short ones (within rounding) the first considered.
        floor = min(r[0] for r in replays)
        _, sim, policy, method, seeded = next(
            r for r in replays if r[0] <= floor + _EPSILON * max(1.0, abs(floor))
        )
        work = self.budget - self.left + self.size
        return Planned(sim, policy, method, self.schedules, work, seeded)

    def reached(self, pool: Sequence[tuple[int, int, list[int], Method]]) -> bool:
        return self.target >= 0 and any(c[0] <= self.target for c in pool)

    def replay(self, policy: Policy) -> Simulation:
        self.schedules += 1
        sim = simulate(self.graph, self.index, workers=self.workers, policy=policy)
        self.left -= sim.work
        return sim

    def total_successors(self) -> list[float]:
        instance = self.instance
        reach: list[int] = [0] * self.n
        bits = [0] * self.n
        for i in reversed(instance.order):
            mask = 0
            for s in instance.succs[i]:
                mask |= bits[s] | (1 << s)
            bits[i] = mask
            reach[i] = mask.bit_count()
        return [float(r) for r in reach]

    def topological(self, key: Sequence[float]) -> list[int]:
        """An activity list: among tasks whose dependencies are listed, highest key first."""
        instance = self.instance
        missing = [len(p) for p in instance.preds]
        heap = [(-key[j], j) for j in range(self.n) if not missing[j]]
        heapq.heapify(heap)
        order: list[int] = []
        while heap:
            j = heapq.heappop(heap)[1]
            order.append(j)
            for s in instance.succs[j]:
                missing[s] -= 1
                if not missing[s]:
                    heapq.heappush(heap, (-key[s], s))
        return order

    def sample(self, after: Sequence[float]) -> list[int]:
        """Regret-based biased random sampling on the latest-finish rule: a task's chance
        grows with how much later the worst eligible task may finish.

        The eligible tasks sit in slots in the order they became eligible; two Fenwick trees
        (sum of ``after`` and count, per slot) find the slot a random point falls in, in log
        time, and a heap gives the least ``after``: one sample costs n log n, not n x the
        number of eligible tasks (a flat plan of 20,000 tasks took minutes)."""
        instance = self.instance
        rng = self.rng.random
        n = self.n
        missing = [len(p) for p in instance.preds]
        sums = [0.0] * (n + 1)  # Fenwick trees over slots 1..n
        counts = [0] * (n + 1)
        task_at = [0] * (n + 1)
        active = [False] * (n + 1)
        least_heap: list[tuple[float, int]] = []
        top = 1
        while top * 2 <= n:
            top *= 2
        filled = 0
        total = 0.0
        live = 0

        def add(j: int) -> None:
            nonlocal filled, total, live
            filled += 1
            slot = filled
            task_at[slot] = j
            active[slot] = True
            value = after[j]
            total += value
            live += 1
            heapq.heappush(least_heap, (value, slot))
            while slot <= n:
                sums[slot] += value
                counts[slot] += 1
                slot += slot & -slot

        def remove(slot: int) -> None:
            nonlocal total, live
            active[slot] = False
            value = after[task_at[slot]]
            total -= value
            live -= 1
            while slot <= n:
                sums[slot] -= value
                counts[slot] -= 1
                slot += slot & -slot

        for j in range(n):
            if not missing[j]:
                add(j)
        order: list[int] = []
        while live:
            while not active[least_heap[0][1]]:
                heapq.heappop(least_heap)
            shift = least_heap[0][0] - 1.0  # a task's weight: after - least + 1
            pick = rng() * (total - shift * live)
            pos, step = 0, top
            while step:
                nxt = pos + step
                if nxt <= n:
                    weight = sums[nxt] - shift * counts[nxt]
                    if weight <= pick:
                        pos = nxt
                        pick -= weight
                step >>= 1
            slot = pos + 1
            if slot > filled or not active[slot]:  # rounding at the very end: the last one
                slot = filled
                while not active[slot]:
                    slot -= 1
            remove(slot)
            j = task_at[slot]
            order.append(j)
            for s in instance.succs[j]:
                missing[s] -= 1
                if not missing[s]:
                    add(s)
        return order

    def crossover(self, mother: Sequence[int], father: Sequence[int]) -> list[int]:
        """Two-point crossover of activity lists: the mother's head, the father's middle (in
        his order, skipping what is taken), the mother's rest; precedence stays respected."""
        n = self.n
        rng = self.rng.random
        q1, q2 = int(rng() * (n + 1)), int(rng() * (n + 1))
        if q1 > q2:
            q1, q2 = q2, q1
        taken = [False] * n
        child = list(mother[:q1])
        for j in child:
            taken[j] = True
        for j in father:
            if len(child) >= q2:
                break
            if not taken[j]:
                taken[j] = True
                child.append(j)
        for j in mother:
            if not taken[j]:
                child.append(j)
        return child

    def mutate(self, order: list[int]) -> list[int]:
        """Swap neighbours that do not depend on each other, each with a small probability."""
        rng = self.rng.random
        edges = self.edges
        for i in range(self.n - 1):
            if rng() < MUTATION:
                a, b = order[i], order[i + 1]
                if (a, b) not in edges:
                    order[i], order[i + 1] = b, a
        return order

    def genetic(
        self,
        pool: list[tuple[int, int, list[int], Method]],
        after: Sequence[float],
        checkpoint: Callable[[], None],
    ) -> None:
        """Grow the pool with the genetic search until the budget or the bound is reached.

        With a lighter effort to keep (``keep``), ``checkpoint`` runs once, at the point where
        that effort's search stops (its budget spent, or its patience run out): until then both
        searches take the same steps, so what ``checkpoint`` replays is what the lighter effort
        ends with. The deadline only counts after that point.
        """
        pending = self.keep is not None

        def lighter_done(stalled: int) -> bool:
            """True from where the lighter effort stops on (``checkpoint`` runs there)."""
            nonlocal pending
            if pending and (
                self.budget - self.left >= self.keep_budget or stalled >= self.keep_patience
            ):
                pending = False
                checkpoint()
            return not pending

        def out_of_time(stalled: int) -> bool:
            return lighter_done(stalled) and time.monotonic() >= self.deadline

        population: list[tuple[int, list[int], Method]] = [
            (makespan, self.order_of(start), method) for makespan, _, start, method in pool
        ]
        counter = len(pool)

        def schedule(order: list[int]) -> tuple[int, list[int], Method] | None:
            """Justify an activity list into the pool; its population entry (None when it
            runs past the horizon)."""
            nonlocal counter
            found = self.justify(order)
            if found is None:
                return None
            makespan, start = found
            pool.append((makespan, counter, start, Method.GENETIC))
            counter += 1
            return makespan, self.order_of(start), Method.GENETIC

        while len(population) < POPULATION and self.left > 0 and not out_of_time(0):
            entry = schedule(self.sample(after))
            if entry is not None:
                population.append(entry)
        rng = self.rng.random

        def pick() -> tuple[int, list[int], Method]:
            a = population[int(rng() * len(population))]
            b = population[int(rng() * len(population))]
            return a if a[0] <= b[0] else b

        best = min(c[0] for c in population)
        stalled = 0
        patience = self.patience(self.effort)
        while (
            self.left > 0
            and stalled < patience
            and not (self.target >= 0 and best <= self.target)
            and not out_of_time(stalled)
        ):
            children: list[tuple[int, list[int], Method]] = []
            for _ in range(POPULATION // 2):
                mother, father = pick(), pick()
                for child in (
                    self.crossover(mother[1], father[1]),
                    self.crossover(father[1], mother[1]),
                ):
                    entry = schedule(self.mutate(child))
                    if entry is not None:
                        children.append(entry)
                if self.left <= 0 or (pending and self.budget - self.left >= self.keep_budget):
                    break
            merged = sorted(
                [*population, *children], key=lambda c: c[0]
            )  # stable: parents before children on ties
            population = []
            seen: set[tuple[int, ...]] = set()
            for entry in merged:
                key = tuple(entry[1])
                if key in seen:
                    continue
                seen.add(key)
                population.append(entry)
                if len(population) >= POPULATION:
                    break
            stalled = stalled + 1 if population[0][0] >= best else 0
            best = population[0][0]
            if len(pool) > 4 * POPULATION:  # keep the pool small: only the best matter
                pool.sort(key=lambda c: (c[0], c[1]))
                del pool[2 * POPULATION :]

    def patience(self, effort: Effort) -> int:
        """Generations without a better schedule after which the genetic search stops."""
        patience = max(STALL, self.n // STALL_TASKS)
        return patience * THOROUGH_PATIENCE if effort is Effort.THOROUGH else patience

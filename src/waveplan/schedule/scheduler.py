"""The scheduler: one state machine decides what starts next, in ``plan`` and in ``run``.

Shaped like :mod:`graphlib`: :meth:`Scheduler.prepare`, :meth:`~Scheduler.ready`,
:meth:`~Scheduler.started`, :meth:`~Scheduler.finished`, :meth:`~Scheduler.is_active`. The
caller owns the clock and passes ``now`` in: ``plan`` drives it with a simulated clock, ``run``
with the real one, so the prediction and the run follow one policy.

State, per task: dependencies still unfinished; then *ready* (in a heap ordered by priority),
*parked* on the lock point or in the room that blocked it, *running*, and finally succeeded or
failed.

Resources are held like locks while a task runs (conflicts are never dependency edges):

- a node (file, directory, state name) held for WRITE excludes every hold on the node, on its
  ancestors and below it; READ excludes writers only. Holds below a node are tracked on each
  declared ancestor, so a check costs the node's depth.
- a glob overlaps precomputed nodes and globs; each point keeps a table of the overlapping
  points that are held (updated as tasks start and end), so a check is one look;
- a counted resource admits holds while their amounts fit its capacity;
- at most ``workers`` tasks run at once.

Selection policy: among ready tasks, highest priority first (by default the longest remaining
duration-weighted path, the critical-path rule), ties by index, which is id order; every task
that can start does (the schedule is non-delay). A task that cannot start waits for something
that holds and blocks it, never for something free. Blocked at a point it claims itself (a
file another task writes, a counted resource), it parks on that point. Waiters of a node or
glob are kept by what they need: readers need no writer, writers need no holder; waiters of a
counted resource are kept by amount. When a point is released, exactly the waiters that it no
longer blocks are woken, best first: all readers, or the best writer when it beats the best
reader, or the best waiter whose amount now fits. Each woken task that starts or parks again
re-applies the rule to the point it was woken from. So a task never sits idle while it could
start, and a file held by one of 25,000 writers costs one wake-up per release, not 25,000.

Blocked *around* a claim instead (at a folder above it, a glob over it, anything below a
folder or under a glob it claims), a task waits in its *room*: the conditions under which
something around its claims is held in a way that excludes it ("src/ is held", "something
below db is written", "src/**/*.py is held"), shared by every task whose claims have the same
surroundings. A room waits on one condition that holds; when that one stops holding it waits
on another, whatever form the holds take, and once none holds it opens: its best task is
woken when it would be the next to start (a room that a better task closed again wakes no
one), and each task woken from it that starts or parks again opens it again. The rooms that
wait on one condition open one at a time, best first, as the waiters of a point wake. The
claimed points themselves are no conditions, or each writer of its own file would have a room
of its own. When a tree is read in two forms (src/ and src/**/*.py, db and db.s1), the writers
below it used to park behind one form, wake when it was released, find the other form held
and park again, every one of them at every change: 1,000 such tasks woke each other 246,510
times, where their two rooms now take one look each per change. A room notes the points of
the conditions it finds holding at each look, so that a task woken from it can tell the
explanations everything that kept it waiting (it used to tell them at each wake-up).

A :class:`Policy` replaces the default: its priorities, plus a *sequence*: a task may start only
once the tasks planned before it on its shared resources have started (a sequence is about
starts, not ends: conflicts still act through the locks, and it is never a dependency). Planning
turns any schedule it finds into a policy this way, so that ``run`` follows the planned order on
every resource even when real durations differ; a task held back by its sequence is the one
exception to "every task that can start does". Tasks done before the run, and tasks that can no
longer run because a dependency failed, count as started.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

from waveplan.graph import Graph, tails
from waveplan.resources.index import WRITE, PointKind, ResourceIndex

__all__ = ["BARRIER", "WORKERS", "Policy", "Scheduler", "Status", "Wait"]

WORKERS = -1
"""Pseudo point of a wait for a free worker."""
BARRIER = -2
"""Pseudo point of a wait for the earlier waves to end (barrier mode)."""

_NODE, _GLOB, _COUNTED = 0, 1, 2
_KIND_CODE = {PointKind.NODE: _NODE, PointKind.GLOB: _GLOB, PointKind.COUNTED: _COUNTED}

Blocker = tuple[int, int, int, bool]
"""What blocks a claim: ``(point, holder, need, around)``, see ``Scheduler._blocking``."""

# A room's conditions are ``point << 3 | what``, ``what`` one of these: the point is held (by
# anyone) or written; a point below the node is held or written; a point overlapping the glob
# is held or written. Each "written" condition follows its "held" one.
_HELD, _WRITTEN, _BELOW_HELD, _BELOW_WRITTEN, _NEAR_HELD, _NEAR_WRITTEN = range(6)
_SHIFT = 3
_WHAT = (1 << _SHIFT) - 1
_CONDITION = -3
"""A condition ``c`` in ``_dirty`` is ``_CONDITION - c`` (below WORKERS and BARRIER)."""

# What the scheduler's steps cost in work units (see ``Scheduler.work``), measured on plans of
# many shapes: a unit is about half a microsecond.
WAKE_WORK = 5
"""A task woken from a point or room: put back in the ready heap, looked at again, started or
parked again."""
QUEUE_WORK = 2
"""A task queued under a worker limit: its place in the ready heap and its wait for a worker."""
ROOM_WORK = 6
"""An open room looked at (and one unit more per condition tried, whenever a room settles)."""
HOLD_ENTRIES = 6
"""Entries of the tables of held points (per declared folder above a claim, per overlapping
point) that a task updates at its start and end, per work unit."""


class Status(Enum):
    """Where a task is in its life."""

    WAITING = "waiting"  # dependencies unfinished
    READY = "ready"  # may start when its resources and a worker are free
    PARKED = "parked"  # blocked by a held lock point
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Wait(NamedTuple):
    """A stretch of time a ready task spent not running, and why.

    ``point`` is a lock point of the resource index, or :data:`WORKERS` / :data:`BARRIER`;
    ``holder`` is the task that held it when the wait began (None for the pseudo points).
    """

    task: int
    point: int
    holder: int | None
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True, slots=True, eq=False)
class Policy:
    """How the scheduler chooses, beyond dependencies and locks.

    ``priority[i]``: higher starts first (ties by index). ``after[i]``: pairs ``(task, point)``:
    ``i`` may start only once ``task`` has started; ``point`` is the lock point (or
    :data:`WORKERS`) the order is about, which names the wait while ``i`` is held back.
    """

    priority: Sequence[float]
    after: Sequence[Sequence[tuple[int, int]]] = ()

    @property
    def links(self) -> int:
        """Number of sequence links."""
        return sum(map(len, self.after))


class Scheduler:
    """Decides which tasks start, holding their resources as locks while they run.

    Tasks are the graph's indices. ``done`` marks tasks finished before this scheduler began
    (resume). ``waves`` (a wave number per task, such as the practical waves) switches on
    barrier mode: a task starts only once every task of the earlier waves has finished.
    ``policy`` replaces ``priority`` and adds a sequence (see :class:`Policy`); in barrier mode
    only the sequence links that agree with the waves are kept.
    """

    def __init__(
        self,
        graph: Graph,
        index: ResourceIndex,
        *,
        workers: int | None = None,
        priority: Sequence[float] | None = None,
        waves: Sequence[int] | None = None,
        done: Iterable[int] = (),
        policy: Policy | None = None,
    ) -> None:
        n = len(graph)
        self.graph = graph
        self.index = index
        self.workers = workers
        self.waves = waves
        self.barrier = waves is not None
        self._wave = 0
        self._left_in_wave: dict[int, int] = {}
        self._deferred: dict[int, list[int]] = {}
        if policy is not None:
            if priority is not None:
                raise ValueError("give either a priority or a policy, not both")
            priority = policy.priority
        prio = tails(graph) if priority is None else priority
        self._key = [(-prio[i], i) for i in range(n)]
        self._claims = index.claims
        self._kind = [_KIND_CODE[k] for k in index.kinds]
        declared = index.declared
        self._up = [tuple(a for a in chain if declared[a]) for chain in index.ancestors]
        # Overlapping points that are not ancestors or below: for a node the globs that
        # overlap it, for a glob the nodes and globs it overlaps (a symmetric relation). Each
        # point keeps its held neighbours (point: holds), written and read, so that a check
        # costs one look whatever the number of neighbours (a glob over 900 written paths).
        self._near = [
            nodes_of_glob + globs if kind is PointKind.GLOB else node_globs
            for kind, node_globs, nodes_of_glob, globs in zip(
                index.kinds, index.node_globs, index.glob_nodes, index.glob_globs, strict=True
            )
        ]
        self._capacity = index.capacity
        points = len(index)
        self._writer = [-1] * points
        self._readers: list[set[int] | None] = [None] * points
        self._below_w: list[dict[int, int] | None] = [None] * points
        self._below_r: list[dict[int, int] | None] = [None] * points
        self._near_w: list[dict[int, int] | None] = [None] * points
        self._near_r: list[dict[int, int] | None] = [None] * points
        self._used = [0] * points
        # Per point: parked readers, parked writers, and for counted points parked amounts.
        self._readers_waiting: dict[int, list[tuple[float, int]]] = {}
        self._writers_waiting: dict[int, list[tuple[float, int]]] = {}
        self._amounts_waiting: dict[int, dict[int, list[tuple[float, int]]]] = {}
        # Rooms (see the module docstring): per room its sorted conditions, its parked tasks
        # and the condition it waits on (-1 while it has none); per task its room, found on
        # its first wait in one; per condition the rooms waiting on it. What ``_dirty`` and
        # ``_origin`` hold for a room is its number plus the number of points.
        self._points = points
        # The globs among each point's overlapping points: those whose tables of held
        # overlapping points are conditions of rooms.
        self._near_globs = [
            globs if kind is PointKind.GLOB else near
            for kind, globs, near in zip(index.kinds, index.glob_globs, self._near, strict=True)
        ]
        self._has_below = [False] * points  # whether a declared point lies below
        for chain, flag in zip(self._up, declared, strict=True):
            if flag:
                for a in chain:
                    self._has_below[a] = True
        self._room_number: dict[tuple[int, ...], int] = {}
        self._room_conditions: list[tuple[int, ...]] = []
        self._room_waiting: list[list[tuple[float, int]]] = []
        self._room_on: list[int] = []
        self._room_of = [-1] * n
        # Per condition, the rooms waiting on it by their best task (a heap: when it stops
        # holding they open one at a time, as the waiters of a point wake); per room, the
        # condition whose wake-up opened it, until that goes on to its next room.
        self._on_condition: dict[int, list[tuple[tuple[float, int], int]]] = {}
        self._room_from: list[int] = []
        # Rooms none of whose conditions held when last looked at, by their best task.
        self._open_rooms: list[tuple[tuple[float, int], int]] = []
        self._room_open: list[bool] = []
        # What blocked each room, for the explanations: per room, the points of the
        # conditions found holding at each look (each time it waits on a condition), each
        # with the number of the last look that found it, in that order; per task, its
        # room's looks when it parked there.
        self._room_looks: list[int] = []
        self._room_seen: list[dict[int, int]] = []
        self._entered = [0] * n
        self._dirty: list[int] = []
        self._heap: list[tuple[float, int]] = []
        self._origin: dict[int, int] = {}
        self._missing = [len(ps) for ps in graph.preds]
        self.status = [Status.WAITING] * n
        self.ready_at: list[float | None] = [None] * n
        self.start: list[float | None] = [None] * n
        self.end: list[float | None] = [None] * n
        self.waits: list[Wait] = []
        # Work units a task's start costs (see ``work``): three per task, claim and dependent
        # (looked at and started, finished, released), and its updates of the held tables.
        up, near = self._up, self._near
        self._start_work = [
            3 * (1 + len(claims) + len(succs))
            + sum(len(up[p]) + len(near[p]) for p, _, _ in claims) // HOLD_ENTRIES
            for claims, succs in zip(index.claims, graph.succs, strict=True)
        ]
        # Work units of what the scheduler did so far, counted step by step (never timed, so
        # that a replay costs the same on every machine): each task's start, each wake-up
        # (WAKE_WORK), each task queued for a worker (QUEUE_WORK), each room looked at
        # (ROOM_WORK) and condition tried, and each room taken off a condition. The schedule
        # search charges its replays by it.
        self.work = 0
        # (point a task parked on, other points that blocked it at the same time)
        self._co_blocked: list[tuple[int, frozenset[int]]] = []
        self._wait_since: dict[int, tuple[int, int | None, float]] = {}
        self._running = 0
        self._parked = 0
        self._prepared = False
        self._done = set(done)
        # Sequence: tasks held until the tasks planned before them have started.
        self._after: Sequence[Sequence[tuple[int, int]]] = ()
        self._seq_missing: list[int] = []
        self._seq_next: list[list[int]] = []
        self._passed: list[bool] = []
        self._hold_at: list[int] = []
        self._holding: set[int] = set()
        if policy is not None and policy.links:
            self._set_sequence(policy.after, waves)

    def _set_sequence(
        self, after: Sequence[Sequence[tuple[int, int]]], waves: Sequence[int] | None
    ) -> None:
        n = len(self.graph)
        if waves is not None:
            after = [
                [(k, p) for k, p in links if waves[k] <= waves[task]]
                for task, links in enumerate(after)
            ]
        self._after = after
        self._seq_missing = [len(links) for links in after]
        self._seq_next = [[] for _ in range(n)]
        for task, links in enumerate(after):
            for k, _ in links:
                self._seq_next[k].append(task)
        self._passed = [False] * n
        self._hold_at = [0] * n  # per task: its first link that may not have passed yet

    # --- the graphlib-shaped interface -----------------------------------------------------

    def prepare(self, now: float = 0.0) -> None:
        """Mark already-done tasks and make tasks without pending dependencies ready."""
        if self._prepared:
            raise ValueError("prepare() was already called")
        self._prepared = True
        for task in sorted(self._done):
            self.status[task] = Status.SUCCEEDED
            for s in self.graph.succs[task]:
                self._missing[s] -= 1
            self._pass(task, now)
        if self.waves is not None:
            for task, wave in enumerate(self.waves):
                if self.status[task] is Status.WAITING:
                    self._left_in_wave[wave] = self._left_in_wave.get(wave, 0) + 1
            self._wave = min(self._left_in_wave, default=0)
        for task in range(len(self.graph)):
            if self.status[task] is Status.WAITING and self._missing[task] == 0:
                self._make_ready(task, now)

    def ready(self, now: float) -> list[int]:
        """Tasks to start now, best first; their resources are held from this call on."""
        if not self._prepared:
            raise ValueError("prepare() must be called first")
        for point in self._dirty:
            self._wake(point, now)
        self._dirty.clear()
        chosen: list[int] = []
        heap, rooms = self._heap, self._open_rooms
        while (heap or rooms) and (self.workers is None or self._running < self.workers):
            if rooms and (not heap or rooms[0][0] < heap[0]):
                self._open_room(now)
                continue
            task = heapq.heappop(heap)[1]
            origin = self._origin.pop(task, None)
            blocking = list(self._blocking(task))
            if not blocking:
                self._acquire(task)
                self.work += self._start_work[task]
                self._close_wait(task, now)
                self.status[task] = Status.RUNNING
                self.start[task] = now
                self._running += 1
                chosen.append(task)
                if self._seq_next:
                    self._pass(task, now)
                if origin is not None:
                    self._wake(origin, now)
            else:
                point, holder, need, around = self._choose(blocking)
                if around:
                    self._park_in_room(task, point, holder, now)
                else:
                    self._park(task, point, holder, need, now)
                if len(blocking) > 1:
                    also = {p for p, _, _, _ in blocking}
                    also.discard(point)
                    if also:
                        self._co_blocked.append((point, frozenset(also)))
                if origin is not None:
                    self._wake(origin, now)
        while rooms:  # no worker left: what could start waits for one in the heap
            self._open_room(now, flush=True)
        return chosen

    def started(self, task: int, now: float) -> None:
        """Record the real start of a task handed out by :meth:`ready` (optional)."""
        if self.status[task] is not Status.RUNNING:
            raise ValueError(f"task {self.graph.ids[task]!r} was not handed out by ready()")
        self.start[task] = now

    def finished(self, task: int, ok: bool, now: float) -> None:
        """Release a running task's resources; on success its dependents may become ready."""
        if self.status[task] is not Status.RUNNING:
            raise ValueError(f"task {self.graph.ids[task]!r} is not running")
        self._release(task)
        self._running -= 1
        self.end[task] = now
        if ok:
            self.status[task] = Status.SUCCEEDED
            missing = self._missing
            status = self.status
            for s in self.graph.succs[task]:
                missing[s] -= 1
                # (A task done already, after one that was not, is not made ready again.)
                if missing[s] == 0 and status[s] is Status.WAITING:
                    self._make_ready(s, now)
        else:
            self.status[task] = Status.FAILED
            if self._seq_next:
                self._pass_unreachable(task, now)
        if self.waves is not None:
            self._leave_wave(task, ok, now)

    def is_active(self) -> bool:
        """True while some task runs or may still start."""
        return bool(self._running or self._heap or self._parked or self._deferred or self._holding)

    @property
    def co_blocked(self) -> list[tuple[int, frozenset[int]]]:
        """Points that blocked a task together with the one it parked on, when it parked and,
        for a task in a room, while it waited there: they serialize the same tasks, so
        ignoring only one of them would gain nothing."""
        return self._co_blocked

    @property
    def running(self) -> int:
        """Number of tasks running now."""
        return self._running

    def unreachable(self) -> list[int]:
        """Tasks that can no longer run because a dependency failed (or never finished)."""
        return [
            i
            for i, status in enumerate(self.status)
            if status in (Status.WAITING, Status.READY, Status.PARKED)
        ]

    # --- internals -------------------------------------------------------------------------

    def _make_ready(self, task: int, now: float) -> None:
        self.status[task] = Status.READY
        self.ready_at[task] = now
        if self.waves is not None and self.waves[task] > self._wave:
            self._deferred.setdefault(self.waves[task], []).append(task)
            self._open_wait(task, BARRIER, None, now)
            return
        self._queue(task, now)

    def _leave_wave(self, task: int, ok: bool, now: float) -> None:
        """Barrier mode: count the task out of its wave; when the current wave is over, open
        the next one. A failure also counts out everything downstream, which will never run."""
        assert self.waves is not None
        gone = [task]
        if not ok:
            seen = {task}
            stack = [task]
            while stack:
                for s in self.graph.succs[stack.pop()]:
                    if s not in seen and self.status[s] is Status.WAITING:
                        seen.add(s)
                        stack.append(s)
                        gone.append(s)
        for t in gone:
            wave = self.waves[t]
            self._left_in_wave[wave] -= 1
            if not self._left_in_wave[wave]:
                del self._left_in_wave[wave]
        while self._left_in_wave and self._wave not in self._left_in_wave:
            self._wave = min(self._left_in_wave)
        for t in self._deferred.pop(self._wave, []):
            self._queue(t, now)

    def _queue(self, task: int, now: float) -> None:
        """Put a task in the ready heap. Until it is taken out, it waits for a worker: had one
        been free, :meth:`ready` would have started it or parked it at this very instant (and
        a zero-length wait is not recorded). Without a worker limit nothing waits there. A task
        whose sequence is not met yet is held until it is."""
        if self._seq_next and self._seq_missing[task]:
            self._holding.add(task)
            self._hold_wait(task, now)
            return
        heapq.heappush(self._heap, self._key[task])
        if self.workers is not None:
            self.work += QUEUE_WORK
            self._open_wait(task, WORKERS, None, now)

    def _pass(self, task: int, now: float) -> None:
        """``task`` started (or is done, or can never run): release the tasks after it."""
        if not self._passed or self._passed[task]:
            return
        self._passed[task] = True
        missing = self._seq_missing
        for follower in self._seq_next[task]:
            missing[follower] -= 1
            if follower in self._holding:
                if missing[follower]:
                    self._hold_wait(follower, now)
                else:
                    self._holding.discard(follower)
                    self._queue(follower, now)

    def _pass_unreachable(self, task: int, now: float) -> None:
        """A failed task's dependents will never start: they no longer hold anyone back."""
        stack = [task]
        seen = {task}
        while stack:
            for s in self.graph.succs[stack.pop()]:
                if s not in seen and self.status[s] is Status.WAITING:
                    seen.add(s)
                    stack.append(s)
                    self._pass(s, now)
        self._pass(task, now)

    def _hold_wait(self, task: int, now: float) -> None:
        """Record why a held task waits: the first task planned before it that has not started
        yet, on the point their order is about. A task once passed stays passed, so the search
        goes on from where it last stopped (a reader of src/ planned after 2,500 writers below
        it rescanned its links at each of their starts)."""
        links = self._after[task]
        at = self._hold_at[task]
        while at < len(links) and self._passed[links[at][0]]:
            at += 1
        self._hold_at[task] = at
        if at < len(links):
            k, point = links[at]
            self._open_wait(task, point, k, now)

    def _open_wait(self, task: int, point: int, holder: int | None, now: float) -> None:
        current = self._wait_since.get(task)
        if current is not None:
            if current[0] == point and current[1] == holder:
                return
            self._close_wait(task, now)
        self._wait_since[task] = (point, holder, now)

    def _close_wait(self, task: int, now: float) -> None:
        current = self._wait_since.pop(task, None)
        if current is not None and now > current[2]:
            self.waits.append(Wait(task, current[0], current[1], current[2], now))

    def _park(self, task: int, point: int, holder: int, need: int, now: float) -> None:
        """Park a task on a held point; ``need`` is its mode there (or the amount it needs)."""
        self.status[task] = Status.PARKED
        self._parked += 1
        key = self._key[task]
        if self._kind[point] == _COUNTED:
            buckets = self._amounts_waiting.setdefault(point, {})
            heapq.heappush(buckets.setdefault(need, []), key)
        elif need == WRITE:
            heapq.heappush(self._writers_waiting.setdefault(point, []), key)
        else:
            heapq.heappush(self._readers_waiting.setdefault(point, []), key)
        self._open_wait(task, point, holder, now)

    def _has_waiters(self, point: int) -> bool:
        return (
            point in self._readers_waiting
            or point in self._writers_waiting
            or point in self._amounts_waiting
        )

    def _wake(self, point: int, now: float) -> None:
        """Wake the waiters of a point (or room, or condition) that it no longer blocks, best
        first."""
        if point >= self._points:
            self._wake_room(point - self._points)
            return
        if point <= _CONDITION:
            self._wake_condition(_CONDITION - point)
            return
        if self._kind[point] == _COUNTED:
            free = self._capacity[point] - self._used[point]
            buckets = self._amounts_waiting.get(point)
            if not buckets:
                return
            fitting = [a for a, heap in buckets.items() if a <= free and heap]
            if fitting:
                best = min(fitting, key=lambda a: buckets[a][0])
                self._resume(heapq.heappop(buckets[best])[1], point, now)
                if not buckets[best]:
                    del buckets[best]
                if not buckets:
                    del self._amounts_waiting[point]
            return
        if self._writer[point] >= 0:
            return
        readers = self._readers_waiting.get(point)
        writers = self._writers_waiting.get(point)
        read_held = bool(self._readers[point])
        if readers and (read_held or not writers or readers[0] < writers[0]):
            del self._readers_waiting[point]
            for _, task in sorted(readers):
                self._resume(task, point, now)
        elif writers and not read_held:
            self._resume(heapq.heappop(writers)[1], point, now)
            if not writers:
                del self._writers_waiting[point]

    def _park_in_room(self, task: int, point: int, holder: int, now: float) -> None:
        """Park a task blocked around one of its claims in its room (the wait is recorded on
        the point that blocked it)."""
        room = self._room_of[task]
        if room < 0:
            room = self._room_of[task] = self._room_for(task)
        self.status[task] = Status.PARKED
        self._parked += 1
        waiting = self._room_waiting[room]
        heapq.heappush(waiting, self._key[task])
        on = self._room_on[room]
        if on < 0:
            self._settle(room)
        elif waiting[0] == self._key[task]:  # the room's best task: its place on the condition
            heapq.heappush(self._on_condition[on], (waiting[0], room))
        self._entered[task] = self._room_looks[room]
        self._open_wait(task, point, holder, now)

    def _room_for(self, task: int) -> int:
        """The room of the task's conditions (made on first use). A claim's own point is no
        condition (a task parks on it as on a counted resource): a file written by one task
        would give each task a room of its own, and a folder read by all would be one
        condition in thousands of rooms."""
        kind, up, near, has_below = self._kind, self._up, self._near, self._has_below
        found: set[int] = set()
        for point, mode, _ in self._claims[task]:
            k = kind[point]
            if k == _COUNTED:
                continue
            held = _HELD if mode == WRITE else _WRITTEN
            if k == _NODE:
                if has_below[point]:
                    found.add(point << _SHIFT | (held + _BELOW_HELD))
                found.update(other << _SHIFT | held for other in up[point])
                found.update(other << _SHIFT | held for other in near[point])
            elif near[point]:
                found.add(point << _SHIFT | (held + _NEAR_HELD))
        # "held" already covers "written": keep the one condition
        conditions = tuple(sorted(c for c in found if not (c & 1 and c - 1 in found)))
        room = self._room_number.get(conditions)
        if room is None:
            room = self._room_number[conditions] = len(self._room_conditions)
            self._room_conditions.append(conditions)
            self._room_waiting.append([])
            self._room_on.append(-1)
            self._room_open.append(False)
            self._room_from.append(-1)
            self._room_looks.append(0)
            self._room_seen.append({})
        return room

    def _settle(self, room: int) -> bool:
        """Make the room wait on its first condition that holds, if one does, and note the
        points of those that hold. A condition on what is held below a folder or under a
        glob notes the folder or glob, not the files held there now: a task reading src/
        behind 2,000 writers below it, one after another, waited for src/, and naming each
        file made one serialization point of them all."""
        conditions = self._room_conditions[room]
        self.work += len(conditions)
        holding = [c for c in conditions if self._holds(c)]
        if not holding:
            return False
        condition = holding[0]
        self._room_on[room] = condition
        heapq.heappush(
            self._on_condition.setdefault(condition, []), (self._room_waiting[room][0], room)
        )
        looks = self._room_looks[room] = self._room_looks[room] + 1
        seen = self._room_seen[room]
        for c in holding:  # its folder or glob for what is held below or under it
            point = c >> _SHIFT
            seen.pop(point, None)
            seen[point] = looks
        return True

    def _left_room(self, task: int, room: int) -> None:
        """Note what blocked a task woken from its room while it waited there, besides the
        point its wait is on: it waited for them all, so ignoring only one of them would have
        gained nothing (see :attr:`co_blocked`). A task used to note this each time it woke
        and parked again; the room notes it once, in the cost of the points found. Its own
        points held by others now blocked it too, until this moment, with what the room
        waited for (a writer of port:8080 reading tests/, behind writers of port:8080 and
        below tests/ in turn)."""
        since = self._entered[task]
        seen = self._room_seen[room]
        found = []
        for point in reversed(seen):
            if seen[point] <= since:
                break
            found.append(point)
        writer, readers, kind = self._writer, self._readers, self._kind
        for point, mode, amount in self._claims[task]:
            if kind[point] == _COUNTED:
                if self._used[point] + amount > self._capacity[point]:
                    found.append(point)
            elif writer[point] >= 0 or (mode == WRITE and readers[point]):
                found.append(point)
        point = self._wait_since[task][0]
        also = frozenset(found).difference((point,))
        if also:
            self._co_blocked.append((point, also))

    def _holds(self, condition: int) -> bool:
        point, what = condition >> _SHIFT, condition & _WHAT
        if what == _HELD:
            return self._writer[point] >= 0 or bool(self._readers[point])
        if what == _WRITTEN:
            return self._writer[point] >= 0
        if what == _BELOW_HELD:
            return bool(self._below_w[point] or self._below_r[point])
        if what == _BELOW_WRITTEN:
            return bool(self._below_w[point])
        if what == _NEAR_HELD:
            return bool(self._near_w[point] or self._near_r[point])
        return bool(self._near_w[point])

    def _wake_condition(self, condition: int) -> None:
        """A condition stopped holding (or the room it opened last was looked at): unless it
        holds again, the best room waiting on it opens. The rooms on a condition open one at
        a time, best first, like the waiters of a point: when a folder read by one task at a
        time is released, its next reader closes it again for all the rest (2,000 rooms
        each opened at every release of src/ cost 2 million looks)."""
        heap = self._on_condition.get(condition)
        if not heap or self._holds(condition):
            return
        room_on, waiting = self._room_on, self._room_waiting
        while heap:
            key, room = heapq.heappop(heap)
            self.work += 1
            if room_on[room] == condition and waiting[room][0] == key:  # else a stale place
                room_on[room] = -1
                self._room_from[room] = condition
                if not self._room_open[room]:
                    self._room_open[room] = True
                    heapq.heappush(self._open_rooms, (key, room))
                break
        if not heap:
            del self._on_condition[condition]

    def _wake_room(self, room: int) -> None:
        """A task woken from the room started or parked again, or the room's condition
        stopped holding: the room opens, to be looked at when its best task would be the next
        to start (:meth:`_open_room`)."""
        came = self._room_from[room]
        if came >= 0 and not self._room_open[room]:  # its condition goes on to the next room
            self._room_from[room] = -1
            self._wake_condition(came)
        if self._room_on[room] >= 0 or self._room_open[room]:
            return
        waiting = self._room_waiting[room]
        if waiting:
            self._room_open[room] = True
            heapq.heappush(self._open_rooms, (waiting[0], room))

    def _open_room(self, now: float, *, flush: bool = False) -> None:
        """Look at the open room whose best task comes first: while one of its conditions
        holds (a task started since it opened), it waits on it again, without waking anyone;
        else its best task goes to the ready heap. Each woken task that starts or parks again
        opens the room again, so its tasks go one by one, best first, as long as none of them
        blocks the rest; rooms that a better task closed again wake no one (when a reader of
        src/ ends and one of src/**/*.py starts, the hundreds of rooms of tasks writing below
        src/ open and close again, each at the cost of one look)."""
        room = heapq.heappop(self._open_rooms)[1]
        self._room_open[room] = False
        self.work += ROOM_WORK
        # A task that parked in the room since it opened made it wait on a condition again;
        # none stops holding before ready() returns, and every open room is looked at by then.
        woke = False
        if self._room_on[room] < 0 and not self._settle(room):
            task = heapq.heappop(self._room_waiting[room])[1]
            self._left_room(task, room)
            self._resume(task, self._points + room, now)
            woke = True
        came = self._room_from[room]
        if came >= 0 and not (flush and woke):
            # The condition that opened the room goes on to its next room now, so that their
            # best tasks come in priority order; with no worker left, once the task woken
            # here starts or parks again (as a point's next waiter wakes).
            self._room_from[room] = -1
            self._wake_condition(came)

    def _cleared(self, task: int) -> None:
        """After ``task`` released its claims: the rooms that waited on a condition that no
        longer holds (they will wait on another, or wake)."""
        on = self._on_condition
        kind, up, near = self._kind, self._up, self._near_globs
        writer, readers = self._writer, self._readers
        below_w, below_r, near_w, near_r = self._below_w, self._below_r, self._near_w, self._near_r
        gone: list[int] = []
        for point, mode, _ in self._claims[task]:
            k = kind[point]
            if k == _COUNTED:
                continue
            if writer[point] < 0 and not readers[point]:
                gone.append(point << _SHIFT | _HELD)
                if mode == WRITE:
                    gone.append(point << _SHIFT | _WRITTEN)
            if k == _NODE:
                for other in up[point]:
                    if not below_w[other]:
                        if mode == WRITE:
                            gone.append(other << _SHIFT | _BELOW_WRITTEN)
                        if not below_r[other]:
                            gone.append(other << _SHIFT | _BELOW_HELD)
            for other in near[point]:
                if not near_w[other]:
                    if mode == WRITE:
                        gone.append(other << _SHIFT | _NEAR_WRITTEN)
                    if not near_r[other]:
                        gone.append(other << _SHIFT | _NEAR_HELD)
        dirty = self._dirty
        for condition in gone:
            if condition in on:
                dirty.append(_CONDITION - condition)

    def _resume(self, task: int, origin: int, now: float) -> None:
        """Move a parked task back to the ready heap, remembering which point woke it."""
        self.work += WAKE_WORK
        self._parked -= 1
        self.status[task] = Status.READY
        self._origin[task] = origin
        self._queue(task, now)

    def _choose(self, blocking: Sequence[Blocker]) -> Blocker:
        """What a blocked task parks behind: the first blocking point, unless the task would
        wait there as a reader and another blocks it as a writer. Waiting writers are woken
        one at a time, waiting readers all at once: a task reading src/ and writing src/its.py,
        blocked by another such task, parks as a writer behind the readers of src/ rather
        than as a reader of the other's file, or 1,000 such tasks wake each other 500,000
        times. A point around one of its claims sends the task to its room."""
        first = blocking[0]
        if first[2] == WRITE or self._kind[first[0]] == _COUNTED:
            return first
        for found in blocking:
            if found[2] == WRITE and self._kind[found[0]] != _COUNTED:
                return found
        return first

    def _blocking(self, task: int) -> Iterator[Blocker]:
        """For each of the task's claims that cannot be granted now: the held points that
        block it, each with a holder (the one with the lowest id), the task's mode (or
        amount) there, and whether the point lies around the claim (below, above or
        overlapping it) rather than being the claimed point itself. The first of a claim is
        the one :meth:`_choose` may park on; the others say what blocked it at the same time:
        the point itself, one point held below it, and every held folder above it and
        overlapping point (a file under two held globs waits for both, a glob over two held
        files too)."""
        writer, readers = self._writer, self._readers
        below_w, below_r = self._below_w, self._below_r
        near_w, near_r = self._near_w, self._near_r
        kind = self._kind
        for point, mode, amount in self._claims[task]:
            k = kind[point]
            if k == _COUNTED:
                if self._used[point] + amount > self._capacity[point]:
                    yield point, min(readers[point] or (-1,)), amount, False
                continue
            if writer[point] >= 0:
                yield point, writer[point], mode, False
                continue  # a writer excludes every other hold that overlaps the point
            if mode == WRITE:
                held = readers[point]
                if held:
                    yield point, min(held), mode, False
            if k == _NODE:
                below = below_w[point]
                if not below and mode == WRITE:
                    below = below_r[point]
                if below:
                    holder = min(below)
                    yield self._held_below(holder, point, mode), holder, mode, True
                up = self._up[point]
                if up:
                    hit = self._held(up, mode)
                    if hit is not None:
                        yield (*hit, mode, True)
                        yield from self._held_after(up, mode, hit[0])
            near = near_w[point]
            if near:
                yield from self._held_near(near, mode)
            if mode == WRITE:
                near = near_r[point]
                if near:
                    yield from self._held_near(near, mode)

    def _held_near(self, near: dict[int, int], mode: int) -> Iterator[Blocker]:
        """Each held point of a table of held overlapping points (the lowest first), with a
        holder, as :meth:`_blocking` yields it."""
        writer, readers = self._writer, self._readers
        first = min(near)
        for other in (first, *(p for p in near if p != first)):
            holder = writer[other] if writer[other] >= 0 else min(readers[other] or (-1,))
            yield other, holder, mode, True

    def _held_below(self, holder: int, point: int, mode: int) -> int:
        """The point under ``point`` that ``holder`` holds in a way that conflicts with
        ``mode`` (for a reader, one it writes): where to park behind it. Parking a reader on a
        point the holder only reads would wake it at once, forever."""
        for other, held, _ in self._claims[holder]:
            if point in self._up[other] and WRITE in (mode, held):
                return other
        raise AssertionError("a hold below a point without a claim below it")  # pragma: no cover

    def _held(self, points: Sequence[int], mode: int) -> tuple[int, int] | None:
        """The first of ``points`` held in a way that conflicts with ``mode``, and a holder."""
        writer, readers = self._writer, self._readers
        for other in points:
            if writer[other] >= 0:
                return other, writer[other]
            if mode == WRITE:
                held = readers[other]
                if held:
                    return other, min(held)
        return None

    def _held_after(self, points: Sequence[int], mode: int, hit: int) -> Iterator[Blocker]:
        """The points after ``hit`` in ``points`` held in a way that conflicts with ``mode``,
        each with a holder (and ``mode``, as :meth:`_blocking` yields it): what else blocks a
        claim once :meth:`_held` found the first (a plain call, since most points are free)."""
        writer, readers = self._writer, self._readers
        for other in itertools.islice(points, points.index(hit) + 1, None):
            if writer[other] >= 0:
                yield other, writer[other], mode, True
            elif mode == WRITE:
                held = readers[other]
                if held:
                    yield other, min(held), mode, True

    def _acquire(self, task: int) -> None:
        kind = self._kind
        for point, mode, amount in self._claims[task]:
            if kind[point] == _COUNTED:
                self._used[point] += amount
            if mode == WRITE:
                self._writer[point] = task
            else:  # readers, and the holders of a counted resource
                held = self._readers[point]
                if held is None:
                    self._readers[point] = {task}
                else:
                    held.add(task)
            if kind[point] == _NODE and self._up[point]:
                _count_in(self._below_w if mode == WRITE else self._below_r, self._up[point], task)
            if self._near[point]:
                _count_in(self._near_w if mode == WRITE else self._near_r, self._near[point], point)

    def _release(self, task: int) -> None:
        kind = self._kind
        dirty = self._dirty
        for point, mode, amount in self._claims[task]:
            if kind[point] == _COUNTED:
                self._used[point] -= amount
            if mode == WRITE:
                self._writer[point] = -1
            else:
                held = self._readers[point]
                assert held is not None
                held.discard(task)
            if self._has_waiters(point):
                dirty.append(point)
            if kind[point] == _NODE and self._up[point]:
                _count_out(self._below_w if mode == WRITE else self._below_r, self._up[point], task)
            if self._near[point]:
                _count_out(
                    self._near_w if mode == WRITE else self._near_r, self._near[point], point
                )
        if self._on_condition:
            self._cleared(task)


def _count_in(table: list[dict[int, int] | None], points: Sequence[int], key: int) -> None:
    """Count one more hold of ``key`` at each of ``points`` (holds below a folder per task,
    held overlapping points per point)."""
    for point in points:
        counts = table[point]
        if counts is None:
            table[point] = {key: 1}
        else:
            counts[key] = counts.get(key, 0) + 1


def _count_out(table: list[dict[int, int] | None], points: Sequence[int], key: int) -> None:
    """Count one hold of ``key`` less at each of ``points`` (see :func:`_count_in`)."""
    for point in points:
        counts = table[point]
        assert counts is not None
        left = counts[key] - 1
        if left:
            counts[key] = left
        else:
            del counts[key]

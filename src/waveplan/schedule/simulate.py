"""Drive the scheduler with a simulated clock: the practical schedule and practical waves.

Each task runs for exactly its estimated duration. Tasks finishing at the same instant are all
finished before anything new starts, so a freed resource goes to the best waiting task, not to
whichever finish happened to be processed first.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

from waveplan.graph import Graph
from waveplan.resources.index import ResourceIndex
from waveplan.schedule.scheduler import Policy, Scheduler, Wait

__all__ = ["Simulation", "simulate"]


@dataclass(frozen=True, slots=True, eq=False)
class Simulation:
    """Result of one simulated run, over task indices.

    ``order`` lists the tasks in the order the scheduler started them (a topological order);
    ``work`` is the scheduler's work in work units (see ``Scheduler.work``).
    """

    start: list[float]
    end: list[float]
    worker: list[int]
    waits: list[Wait]
    co_blocked: list[tuple[int, frozenset[int]]]
    order: list[int]
    makespan: float
    work: int


def simulate(
    graph: Graph,
    index: ResourceIndex,
    *,
    workers: int | None = None,
    waves: Sequence[int] | None = None,
    priority: Sequence[float] | None = None,
    policy: Policy | None = None,
) -> Simulation:
    """Simulate the plan with the scheduler's policy (the default, ``priority``, or a
    :class:`~waveplan.schedule.scheduler.Policy`); every task succeeds. With ``waves``, the
    waves run one after another (barrier mode)."""
    n = len(graph)
    scheduler = Scheduler(
        graph, index, workers=workers, waves=waves, priority=priority, policy=policy
    )
    scheduler.prepare(0.0)
    durations = graph.durations
    start = [0.0] * n
    end = [0.0] * n
    worker = [0] * n
    free_lanes: list[int] = []
    lanes_used = 0
    events: list[tuple[float, int]] = []
    order: list[int] = []
    now = 0.0
    ready = scheduler.ready
    finished = scheduler.finished
    while True:
        batch = ready(now)
        if batch:
            order.extend(batch)
            for task in batch:
                if free_lanes:
                    lane = heapq.heappop(free_lanes)
                else:
                    lane = lanes_used
                    lanes_used += 1
                start[task] = now
                finish = now + durations[task]
                end[task] = finish
                worker[task] = lane
                heapq.heappush(events, (finish, task))
        if not events:
            break
        now, task = heapq.heappop(events)
        finished(task, True, now)
        heapq.heappush(free_lanes, worker[task])
        while events and events[0][0] == now:
            task = heapq.heappop(events)[1]
            finished(task, True, now)
            heapq.heappush(free_lanes, worker[task])
    if scheduler.is_active():  # pragma: no cover - would be a scheduler bug
        raise AssertionError("simulation stopped with tasks still pending")
    return Simulation(
        start=start,
        end=end,
        worker=worker,
        waits=scheduler.waits,
        co_blocked=scheduler.co_blocked,
        order=order,
        makespan=max(end, default=0.0),
        work=scheduler.work,
    )

"""The least a Python planner can cost: a reference for ``plan_scale.py``'s conflict case.

``python bench/plan_floor.py FILE OUT`` reads a JSON task file of the conflict case's shape
(tasks with ``id``, ``depends``, ``files``, ``duration``; every file an exact path, written; no
worker limit) and writes to ``OUT`` the part of ``waveplan plan --format json`` that no planner
can skip, computed the cheapest way plain Python allows for exactly this shape:

* the theoretical waves (Kahn's levels) and the critical path;
* one greedy list schedule that respects dependencies and file conflicts (a task starts when
  its dependencies ended and none of its files is held; a blocked task waits on one held
  file, and a released file lets its best waiter try again; ready tasks by longest remaining
  path, as waveplan orders them), with a worker number per task;
* the makespans: sequential, theoretical, practical, and a lower bound (the critical path, or
  the busiest file's total writing time when larger).

Everything else ``waveplan plan`` does is left out: validation and error messages, path
normalisation and overlap of directories and globs, reads, named state, counted resources,
practical waves, the search for a better schedule, the sharper bound terms, serialization
points with their waits, and advice. Whatever this script costs on a plan, no planner written in
Python that produces a schedule for it can cost less; ``plan_scale.py`` prints it beside
waveplan's figure so that the goal can be read against it.
"""

from __future__ import annotations

import heapq
import json
import sys
from pathlib import Path


def plan(data: dict[str, list[dict[str, object]]]) -> dict[str, object]:
    tasks = data["tasks"]
    count = len(tasks)
    index = {str(task["id"]): n for n, task in enumerate(tasks)}
    ids = list(index)
    duration = [float(task.get("duration", 1)) for task in tasks]  # type: ignore[arg-type]
    successors: list[list[int]] = [[] for _ in range(count)]
    waiting = [0] * count
    for n, task in enumerate(tasks):
        for dep in task.get("depends", ()):  # type: ignore[attr-defined]
            successors[index[dep]].append(n)
            waiting[n] += 1

    # Theoretical waves: Kahn's algorithm, each task one level after its latest dependency.
    left = waiting.copy()
    level = [0] * count
    order = [n for n in range(count) if left[n] == 0]
    for n in order:  # grows while iterated: a topological order
        for s in successors[n]:
            if level[s] <= level[n]:
                level[s] = level[n] + 1
            left[s] -= 1
            if left[s] == 0:
                order.append(s)
    if len(order) != count:
        raise SystemExit("the plan has a cycle")
    waves: list[list[str]] = [[] for _ in range(max(level, default=-1) + 1)]
    for n in range(count):
        waves[level[n]].append(ids[n])

    # Longest remaining path from each task (its priority) and the critical path.
    tail = duration.copy()
    for n in reversed(order):
        if successors[n]:
            tail[n] += max(tail[s] for s in successors[n])
    critical: list[str] = []
    if count:
        n = max(range(count), key=tail.__getitem__)
        while True:
            critical.append(ids[n])
            if not successors[n]:
                break
            n = max(successors[n], key=tail.__getitem__)

    # One greedy list schedule under file write locks, on as many workers as it takes.
    file_ids: dict[str, int] = {}
    writes = [
        [file_ids.setdefault(f, len(file_ids)) for f in task.get("files", ())]  # type: ignore[attr-defined]
        for task in tasks
    ]
    held = [False] * len(file_ids)
    blocked: list[list[tuple[float, int]]] = [[] for _ in file_ids]  # heaps of waiting tasks
    busy = [0.0] * len(file_ids)  # total writing time per file
    for n, fs in enumerate(writes):
        for f in fs:
            busy[f] += duration[n]
    start, end, worker = [0.0] * count, [0.0] * count, [0] * count
    free_workers: list[int] = []
    workers = 0
    ready = [(-tail[n], n) for n in range(count) if waiting[n] == 0]
    heapq.heapify(ready)
    running: list[tuple[float, int]] = []
    released: set[int] = set()  # free files whose waiters may start now
    now = 0.0
    while True:
        while True:
            while ready:
                item = heapq.heappop(ready)
                n = item[1]
                taken = next((f for f in writes[n] if held[f]), None)
                if taken is not None:
                    heapq.heappush(blocked[taken], item)
                    continue
                for f in writes[n]:
                    held[f] = True
                if free_workers:
                    worker[n] = heapq.heappop(free_workers)
                else:
                    worker[n] = workers
                    workers += 1
                start[n], end[n] = now, now + duration[n]
                heapq.heappush(running, (end[n], n))
            # A released file wakes its best waiter only; the others wait for the next release
            # (waking all of them would try a hot file's thousands of writers at every end).
            for f in list(released):
                if held[f] or not blocked[f]:
                    released.discard(f)
                else:
                    heapq.heappush(ready, heapq.heappop(blocked[f]))
            if not ready:
                break
        if not running:
            break
        now, n = heapq.heappop(running)
        ended = [n]
        while running and running[0][0] == now:
            ended.append(heapq.heappop(running)[1])
        for n in ended:
            heapq.heappush(free_workers, worker[n])
            for f in writes[n]:
                held[f] = False
                released.add(f)
            for s in successors[n]:
                waiting[s] -= 1
                if waiting[s] == 0:
                    heapq.heappush(ready, (-tail[s], s))
    if any(blocked):
        raise SystemExit("a task was left waiting")  # cannot happen: a check of the loop

    theoretical = max(tail, default=0.0)
    return {
        "tasks": count,
        "makespan": {
            "sequential": sum(duration),
            "theoretical": theoretical,
            "practical": max(end, default=0.0),
            "lower_bound": max(theoretical, max(busy, default=0.0)),
        },
        "waves": {"theoretical": waves},
        "schedule": [
            {"id": ids[n], "start": start[n], "end": end[n], "worker": worker[n]}
            for n in sorted(range(count), key=lambda n: (start[n], n))
        ],
        "critical_path": {"tasks": critical, "length": theoretical},
    }


def main(argv: list[str]) -> int:
    source, out = Path(argv[0]), Path(argv[1])
    result = plan(json.loads(source.read_text(encoding="utf-8")))
    out.write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

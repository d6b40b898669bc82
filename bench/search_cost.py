"""What a work unit of the schedule search costs on plans of different shapes.

The search's effort is a budget of work units, not seconds, so that a plan gives the same
output on every machine; the units are worth something only if a unit costs about the same
time whatever the plan looks like. This script plans several kinds of plans with the default
effort, in one process, and prints for each the work spent, the wall time and the time per
unit, as a ratio to the **baseline**: PSPLIB j120 instances (the plans the effort's budget
was tuned on), measured in the same run.

Cases (each a handful of seeded plans; their units and seconds are summed):

* ``j120``: ten j120 instances (the first of parameter sets 1, 7, 13 ... 55): the baseline;
* ``j30``: ten j30 instances (the first of sets 1, 5, 10 ... 44);
* ``learnt``: 1000 independent tasks on 2 workers with durations of about a millisecond,
  as measured durations from a run's history are (they are rounded onto the search's grid);
* ``counted``: 300 tasks with lognormal durations, one dependency each for half of them, hot
  and cold files, and a GPU pool of 3 taken 1 or 2 at a time by half of them, on 4 workers
  (a fragmented resource profile: each task is tried at many starts);
* ``files``: 1000 tasks with up to two random dependencies, each writing one of 300 files,
  on 4 workers.

Goal: every case within 2x of the baseline's time per unit (the default effort then takes
about as long on any plan of a given size). Exit 1 otherwise.

Usage: ``python bench/search_cost.py [--seeds N]``
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from waveplan.graph import Graph
from waveplan.load import load_plan, parse_plan_text
from waveplan.model import Plan
from waveplan.resources.index import ResourceIndex
from waveplan.schedule.bounds import lower_bound
from waveplan.schedule.search import Effort, plan_schedule

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "psplib"
GOAL = 2.0


def psplib(name: str, sets: int) -> Callable[[int], Iterator[Plan]]:
    """The first instance of ``count`` parameter sets spread over the library's ``sets``."""

    def plans(count: int) -> Iterator[Plan]:
        for k in range(count):
            parameter = 1 + k * sets // count
            yield load_plan(DATA / f"{name}.sm" / f"{name}{parameter}_1.sm")

    return plans


def generated(make: Callable[[random.Random], dict[str, Any]]) -> Callable[[int], Iterator[Plan]]:
    def plans(count: int) -> Iterator[Plan]:
        for seed in range(count):
            doc = make(random.Random(seed))
            yield parse_plan_text(json.dumps(doc), name="plan.json")

    return plans


def learnt(rng: random.Random) -> dict[str, Any]:
    tasks = [{"id": f"t{i}", "duration": round(rng.uniform(0.0008, 0.002), 6)} for i in range(1000)]
    return {"workers": 2, "tasks": tasks}


def counted(rng: random.Random) -> dict[str, Any]:
    tasks: list[dict[str, Any]] = []
    for i in range(300):
        task: dict[str, Any] = {"id": f"t{i}", "duration": round(rng.lognormvariate(0, 1), 3)}
        if i and rng.random() < 0.5:
            task["depends"] = [f"t{rng.randrange(i)}"]
        if rng.random() < 0.3:
            task["files"] = [f"src/hot{rng.randrange(3)}.py"]
        elif rng.random() < 0.5:
            task["files"] = [f"src/f{rng.randrange(40)}.py"]
        if rng.random() < 0.5:
            task["uses"] = {"gpu": rng.choice([1, 2])}
        tasks.append(task)
    return {"workers": 4, "resources": {"gpu": 3}, "tasks": tasks}


def files(rng: random.Random) -> dict[str, Any]:
    tasks: list[dict[str, Any]] = []
    for i in range(1000):
        task: dict[str, Any] = {
            "id": f"t{i}",
            "duration": round(rng.uniform(0.5, 3.0), 2),
            "files": [f"src/f{rng.randrange(300)}.py"],
        }
        if i:
            task["depends"] = sorted({f"t{rng.randrange(i)}" for _ in range(rng.randrange(3))})
        tasks.append(task)
    return {"workers": 4, "tasks": tasks}


CASES: dict[str, Callable[[int], Iterator[Plan]]] = {
    "j120": psplib("j120", 60),
    "j30": psplib("j30", 48),
    "learnt": generated(learnt),
    "counted": generated(counted),
    "files": generated(files),
}
"""Plans by case name; the first is the baseline."""


def measure(plans: Iterator[Plan]) -> tuple[int, int, float]:
    """Plans, work units and seconds of the default effort's search over the plans."""
    count = work = 0
    seconds = 0.0
    for plan in plans:
        graph, index = Graph.from_plan(plan), ResourceIndex.build(plan)
        bound = lower_bound(graph, index, plan.workers).value
        started = time.perf_counter()
        planned = plan_schedule(graph, index, plan.workers, effort=Effort.DEFAULT, lower=bound)
        seconds += time.perf_counter() - started
        work += planned.work
        count += 1
    return count, work, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="generated plans per case")
    args = parser.parse_args(argv)
    print(f"{'case':<9} {'plans':>5} {'work units':>12} {'seconds':>8} {'us/unit':>8} {'ratio':>6}")
    baseline = None
    ok = True
    for name, plans in CASES.items():
        count, work, seconds = measure(plans(10 if name.startswith("j") else args.seeds))
        per_unit = seconds / max(1, work) * 1e6
        baseline = baseline or per_unit
        ratio = per_unit / baseline
        ok = ok and ratio <= GOAL
        mark = "" if ratio <= GOAL else f"  above the goal of {GOAL}"
        print(
            f"{name:<9} {count:>5} {work:>12,} {seconds:>8.2f} {per_unit:>8.3f} {ratio:>6.2f}{mark}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

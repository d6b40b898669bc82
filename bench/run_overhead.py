"""Run benchmarks (issue 5): what ``waveplan run`` costs over ``make -j``, and how closely a
real run follows the plan.

**Overhead case** (``--case flat`` / ``dag``). 1000 no-op tasks (``true``) on 2 workers:

* ``flat``: no dependencies;
* ``dag``: a seeded random DAG of about 2000 edges (each edge joins two distinct tasks,
  always from the lower number to the higher, so it is acyclic; duplicates are redrawn).

Each plan is written as a JSON task file and as the equivalent Makefile (phony targets, one
``true`` recipe each, ``all`` depending on every task), then both are timed in the same run:
wall clock (``time.perf_counter``) from spawning the process to its exit, interpreter start,
imports, history writes and logs included (waveplan's bytecode compiled first, as an install
does: see ``installed.py``):

* ``python -m waveplan run plan.json -q --workers 2``, each time in a fresh copy of the folder
  (so every run creates its history and logs, and none learns durations from an earlier one);
* ``make -j2 -s -f Makefile all``;
* two references, ``floor`` and ``floor+db`` (``spawn_floor.py``): the least a Python runner
  costs that keeps a log file per task, and also a SQLite history written as the run goes. Their
  ratios say how much of the goal any Python runner has left on this machine.

Run folders are deleted after the case, not between runs: on a file system mounted with
``discard``, creating files soon after deleting thousands is many times slower, which would
charge each contender for the previous one's clean-up.

Runs alternate between the contenders so that machine noise hits both alike; the best of
``--repeats`` is compared and the ratio waveplan / make printed (goal: at most 1.25). The CPU
time of the best run (user + system of the process and its waited-for descendants) is printed
too: on a busy machine it says more about the cost than wall time does. Every run
must exit 0 (exit 1 otherwise), and every waveplan run is checked to have recorded every task
as succeeded.

**Sleep case** (``--case sleep``). A seeded plan of ``--sleep-tasks`` tasks whose commands sleep
0.1-0.3 s (``duration`` says the same), with dependencies and file conflicts, on 2 workers. The
practical makespan comes from ``waveplan plan --format json``; the measured one from
``waveplan report --format json`` after a real ``waveplan run``. Printed: both and the
deviation in % of the planned figure (goal: within 5 %), for each of ``--repeats`` runs.

Contenders are listed in ``CONTENDERS`` (name -> command builder). The Dask backend has a
case of its own (below), against the local backend rather than make.

**Dask case** (``--case dask``). ``--dask-tasks`` independent tasks sleeping ``--dask-sleep``
seconds (200 of 50 ms), 2 workers, in the same run and alternating:

* ``local``: ``waveplan run --backend local``;
* ``dask``: ``waveplan run --backend dask --scheduler-address A``, against a 2-worker
  ``LocalCluster`` (single-threaded processes on loopback) that this script started;
* ``dask+start``: ``waveplan run --backend dask``, which starts (and closes) its own cluster.

Printed: the best and worst wall time of each, its fixed cost (the best time of the same
command on a plan of one no-op task per worker: interpreter, imports, connecting, history), the
overhead per task (best minus ideal minus fixed cost, times workers, over tasks; the ideal is
tasks x sleep / workers) and the ratio to ``local``; then the time this script took to start
the cluster (until both workers were up), best and worst, reported apart. There is no goal:
the figures go into the note.

Usage::

    python bench/run_overhead.py                    # all cases, best of 5
    python bench/run_overhead.py --case dag --repeats 9
    python bench/run_overhead.py --case sleep --sleep-tasks 40
    python bench/run_overhead.py --case dask --repeats 3
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from installed import compile_waveplan

GOAL_RATIO = 1.25
GOAL_DEVIATION = 5.0  # percent

Deps = list[list[int]]
"""Per task (0-based), the tasks it depends on."""


# --- plans ---------------------------------------------------------------------------------


def flat(tasks: int) -> Deps:
    """Tasks without dependencies."""
    return [[] for _ in range(tasks)]


def random_dag(tasks: int, edges: int, seed: int) -> Deps:
    """A random DAG with exactly ``edges`` distinct edges, each from a lower to a higher task."""
    rng = random.Random(seed)
    chosen: set[tuple[int, int]] = set()
    limit = tasks * (tasks - 1) // 2
    if edges > limit:
        raise ValueError(f"{tasks} tasks have at most {limit} edges")
    while len(chosen) < edges:
        a, b = rng.sample(range(tasks), 2)
        chosen.add((min(a, b), max(a, b)))
    deps: Deps = [[] for _ in range(tasks)]
    for a, b in sorted(chosen):
        deps[b].append(a)
    return deps


def task_id(index: int) -> str:
    return f"t{index + 1}"


def write_plan(folder: Path, deps: Deps, command: str, workers: int) -> Path:
    """The plan as a JSON task file in ``folder``."""
    tasks = [
        {"id": task_id(i), "run": command, "depends": [task_id(d) for d in ds]}
        for i, ds in enumerate(deps)
    ]
    path = folder / "plan.json"
    path.write_text(json.dumps({"workers": workers, "tasks": tasks}))
    return path


def write_makefile(folder: Path, deps: Deps, command: str) -> Path:
    """The same plan as a Makefile of phony targets."""
    names = [task_id(i) for i in range(len(deps))]
    lines = [f".PHONY: all {' '.join(names)}", f"all: {' '.join(names)}"]
    for name, ds in zip(names, deps, strict=True):
        lines.append(f"{name}: {' '.join(task_id(d) for d in ds)}".rstrip())
        lines.append(f"\t{command}")
    path = folder / "Makefile"
    path.write_text("\n".join(lines) + "\n")
    return path


# --- contenders ----------------------------------------------------------------------------


def waveplan_argv(*extra: str) -> Callable[[Path, int], list[str]]:
    """``python -m waveplan run plan.json -q --workers N`` plus backend options."""

    def build(folder: Path, workers: int) -> list[str]:
        plan = folder / "plan.json"
        return [sys.executable, "-m", "waveplan", "run", str(plan), "-q", "--workers",
                str(workers), *extra]  # fmt: skip

    return build


def make_argv(folder: Path, workers: int) -> list[str]:
    return ["make", f"-j{workers}", "-s", "-f", str(folder / "Makefile"), "all"]


def floor_argv(*extra: str) -> Callable[[Path, int], list[str]]:
    """``spawn_floor.py``: the least a Python runner keeping logs (and a history) costs."""
    script = str(Path(__file__).with_name("spawn_floor.py"))

    def build(folder: Path, workers: int) -> list[str]:
        return [sys.executable, script, str(folder / "plan.json"), str(workers), *extra]

    return build


CONTENDERS: dict[str, Callable[[Path, int], list[str]]] = {
    "waveplan": waveplan_argv(),
    "make": make_argv,
    "floor": floor_argv(),
    "floor+db": floor_argv("--history"),
}
"""What is timed, by name; the ratio is every other contender over ``make``. The goal is
waveplan's; the two ``floor`` lines are references (see ``spawn_floor.py``): a bare Python
runner with a log file per task, and the same with a SQLite write per start and end."""
REFERENCES = frozenset({"floor", "floor+db"})


@dataclass
class Timing:
    """Wall seconds of each run of one contender, and the CPU seconds (user + system, the
    process and every descendant it waited for) of the fastest run."""

    name: str
    seconds: list[float]
    cpu: list[float]

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def best_cpu(self) -> float:
        return self.cpu[self.seconds.index(self.best)]


def fresh_copy(source: Path, into: Path, number: int) -> Path:
    """A copy of the case folder (plan and Makefile only) for one run."""
    target = into / f"run{number}"
    target.mkdir()
    for name in ("plan.json", "Makefile"):
        shutil.copy2(source / name, target / name)
    return target


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: Sequence[str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one process from spawn to exit; exit status 0 is required.

    CPU time is read from RUSAGE_CHILDREN, which counts the process and every descendant
    that was waited for (waveplan's tasks, make's recipes): a figure that a busy machine
    disturbs less than wall time."""
    cpu = _children_cpu()
    start = time.perf_counter()
    result = subprocess.run(
        argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{argv[0]} ... exited {result.returncode}: {result.stderr.decode()[-2000:]}")
    return seconds, _children_cpu() - cpu


def check_waveplan_run(folder: Path, tasks: int) -> None:
    """The run in ``folder`` recorded every task as succeeded."""
    result = subprocess.run(
        [sys.executable, "-m", "waveplan", "report", "--root", str(folder), "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.exit(f"waveplan report failed: {result.stderr}")
    statuses = [t["status"] for t in json.loads(result.stdout)["tasks"]]
    if len(statuses) != tasks or set(statuses) != {"succeeded"}:
        sys.exit(f"waveplan run in {folder} did not succeed on every task")


def overhead_case(
    name: str, deps: Deps, *, workers: int, repeats: int, scratch: Path
) -> dict[str, Timing]:
    """Time every contender on one plan, alternating, best of ``repeats``."""
    case = scratch / name
    case.mkdir()
    write_plan(case, deps, "true", workers)
    write_makefile(case, deps, "true")
    timings = {contender: Timing(contender, [], []) for contender in CONTENDERS}
    runs = 0
    for _ in range(repeats):
        for contender, build in CONTENDERS.items():
            runs += 1
            folder = fresh_copy(case, scratch / name, runs)
            seconds, cpu = timed(build(folder, workers), folder)
            timings[contender].seconds.append(seconds)
            timings[contender].cpu.append(cpu)
            if contender == "waveplan":
                check_waveplan_run(folder, len(deps))
    # Deleted only now: on this machine's file system (ext4 mounted with ``discard``), files
    # created within seconds of deleting thousands cost up to 20 times more, which would
    # charge one contender for the clean-up after another.
    for number in range(1, runs + 1):
        shutil.rmtree(case / f"run{number}")
    return timings


def print_overhead(name: str, deps: Deps, timings: dict[str, Timing]) -> bool:
    edges = sum(len(d) for d in deps)
    base = timings["make"].best
    print(f"\n{name}: {len(deps)} tasks, {edges} edges")
    print(f"  {'contender':<12} {'best s':>8} {'worst s':>8} {'cpu s':>7} {'ratio':>7}")
    ok = True
    for timing in timings.values():
        ratio = timing.best / base
        mark = ""
        if timing.name in REFERENCES:
            mark = "  reference"
        elif timing.name != "make":
            ok = ok and ratio <= GOAL_RATIO
            mark = "  ok" if ratio <= GOAL_RATIO else f"  above the goal of {GOAL_RATIO}"
        print(
            f"  {timing.name:<12} {timing.best:8.3f} {max(timing.seconds):8.3f}"
            f" {timing.best_cpu:7.3f} {ratio:7.2f}{mark}"
        )
    return ok


# --- planned against measured --------------------------------------------------------------


def sleep_plan(folder: Path, tasks: int, workers: int, seed: int) -> Path:
    """Tasks sleeping 0.1-0.3 s with dependencies and file conflicts (durations declared)."""
    rng = random.Random(seed)
    files = [f"src/mod{n}.py" for n in range(max(2, tasks // 6))]
    entries = []
    for i in range(tasks):
        seconds = round(rng.uniform(0.1, 0.3), 2)
        depends = sorted({task_id(rng.randrange(i)) for _ in range(rng.randint(0, 2))} if i else [])
        writes = rng.sample(files, rng.randint(0, 1))
        entries.append(
            {
                "id": task_id(i),
                "run": f"sleep {seconds}",
                "duration": seconds,
                "depends": depends,
                "files": writes,
            }
        )
    path = folder / "plan.json"
    path.write_text(json.dumps({"workers": workers, "tasks": entries}))
    return path


def waveplan_json(*args: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-m", "waveplan", *args], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        sys.exit(f"waveplan {args[0]} failed ({result.returncode}): {result.stderr}")
    data: dict[str, object] = json.loads(result.stdout)
    return data


def sleep_case(*, tasks: int, workers: int, repeats: int, seed: int, scratch: Path) -> bool:
    """Planned practical makespan against the measured one of real runs."""
    print(f"\nsleep: {tasks} tasks sleeping 0.1-0.3 s with conflicts, {workers} workers")
    print(f"  {'run':<5} {'planned s':>10} {'measured s':>11} {'deviation':>10}")
    deviations = []
    for number in range(1, repeats + 1):
        folder = scratch / f"sleep{number}"
        folder.mkdir()
        plan = sleep_plan(folder, tasks, workers, seed)
        planned = waveplan_json("plan", str(plan), "--format", "json")["makespan"]
        practical = float(planned["practical"])  # type: ignore[index]
        timed([*waveplan_argv()(folder, workers)], folder)
        report = waveplan_json("report", "--root", str(folder), "--format", "json")
        measured = float(report["makespan"]["measured"])  # type: ignore[index]
        deviation = (measured - practical) / practical * 100
        deviations.append(deviation)
        print(f"  {number:<5} {practical:10.3f} {measured:11.3f} {deviation:+9.1f}%")
    worst = max(deviations, key=abs)
    ok = abs(worst) <= GOAL_DEVIATION
    verdict = "ok" if ok else f"above the goal of {GOAL_DEVIATION:g} %"
    print(
        f"  median {statistics.median(deviations):+.1f}%, worst {worst:+.1f}%"
        f" (goal: within {GOAL_DEVIATION:g} %): {verdict}"
    )
    return ok


# --- the Dask backend against the local one ------------------------------------------------


def start_cluster(workers: int) -> tuple[Any, str, float]:
    """A LocalCluster of ``workers`` single-threaded processes, its scheduler's address and
    the seconds it took until every worker was up."""
    import logging

    from distributed import Client, LocalCluster

    start = time.perf_counter()
    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        silence_logs=logging.ERROR,
    )
    with Client(cluster, set_as_default=False) as client:
        client.wait_for_workers(workers)
    return cluster, cluster.scheduler_address, time.perf_counter() - start


def dask_case(*, tasks: int, sleep: float, workers: int, repeats: int, scratch: Path) -> None:
    """The local and Dask backends on the same plan, alternating, best of ``repeats``; each
    also on a plan of ``workers`` no-op tasks, whose time is the fixed cost of a run."""
    case, empty = scratch / "dask", scratch / "dask-fixed"
    for folder, plan, command in (
        (case, flat(tasks), f"sleep {sleep}"),
        (empty, flat(workers), "true"),
    ):
        folder.mkdir()
        write_plan(folder, plan, command, workers)
        write_makefile(folder, plan, command)  # fresh_copy copies both
    names = ("local", "dask", "dask+start")
    timings = {name: Timing(name, [], []) for name in names}
    fixed: dict[str, list[float]] = {name: [] for name in names}
    starts = []
    runs = 0
    for _ in range(repeats):
        cluster, address, started = start_cluster(workers)
        starts.append(started)
        contenders = {
            "local": waveplan_argv("--backend", "local"),
            "dask": waveplan_argv("--backend", "dask", "--scheduler-address", address),
            "dask+start": waveplan_argv("--backend", "dask"),
        }
        try:
            for name in names:
                for source, count in ((case, tasks), (empty, workers)):
                    runs += 1
                    folder = fresh_copy(source, source, runs)
                    seconds, cpu = timed(contenders[name](folder, workers), folder)
                    if source is case:
                        timings[name].seconds.append(seconds)
                        timings[name].cpu.append(cpu)
                    else:
                        fixed[name].append(seconds)
                    check_waveplan_run(folder, count)
                    shutil.rmtree(folder)
        finally:
            cluster.close()
    ideal = tasks * sleep / workers
    base = timings["local"].best
    print(f"\ndask: {tasks} tasks sleeping {sleep:g} s, {workers} workers (ideal {ideal:.3f} s)")
    print(
        f"  {'contender':<12} {'best s':>8} {'worst s':>8} {'fixed s':>8} {'per task ms':>12}"
        f" {'ratio':>7}"
    )
    for timing in timings.values():
        cost = min(fixed[timing.name])
        per_task = (timing.best - ideal - cost) * workers / tasks * 1000
        print(
            f"  {timing.name:<12} {timing.best:8.3f} {max(timing.seconds):8.3f} {cost:8.3f}"
            f" {per_task:12.1f} {timing.best / base:7.2f}"
        )
    print(
        f"  cluster start ({workers} workers, apart): best {min(starts):.3f} s,"
        f" worst {max(starts):.3f} s"
    )


# --- main ----------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", choices=("flat", "dag", "sleep", "dask", "all"), default="all")
    parser.add_argument("--tasks", type=int, default=1000, help="no-op tasks (default 1000)")
    parser.add_argument("--edges", type=int, default=2000, help="DAG edges (default 2000)")
    parser.add_argument("--workers", type=int, default=2, help="workers (default 2)")
    parser.add_argument("--repeats", type=int, default=5, help="runs per contender")
    parser.add_argument("--sleep-tasks", type=int, default=30, help="tasks of the sleep case")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--dask-tasks", type=int, default=200, help="tasks of the dask case")
    parser.add_argument("--dask-sleep", type=float, default=0.05, help="their sleep, seconds")
    args = parser.parse_args(argv)

    if shutil.which("make") is None and args.case not in ("sleep", "dask"):
        print("make is not installed (Debian: apt-get install make)", file=sys.stderr)
        return 2
    compile_waveplan()
    ok = True
    with tempfile.TemporaryDirectory(prefix="waveplan-run-bench-") as scratch_name:
        scratch = Path(scratch_name)
        cases = [("flat", flat(args.tasks)), ("dag", random_dag(args.tasks, args.edges, args.seed))]
        for name, deps in cases:
            if args.case in (name, "all"):
                timings = overhead_case(
                    name, deps, workers=args.workers, repeats=args.repeats, scratch=scratch
                )
                ok = print_overhead(name, deps, timings) and ok
        if args.case in ("sleep", "all"):
            ok = (
                sleep_case(
                    tasks=args.sleep_tasks,
                    workers=args.workers,
                    repeats=args.repeats,
                    seed=args.seed,
                    scratch=scratch,
                )
                and ok
            )
        if args.case in ("dask", "all"):
            dask_case(
                tasks=args.dask_tasks,
                sleep=args.dask_sleep,
                workers=args.workers,
                repeats=args.repeats,
                scratch=scratch,
            )
    print("\nall goals met" if ok else "\nsome goals not met")
    return 0


if __name__ == "__main__":
    sys.exit(main())

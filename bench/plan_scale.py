"""Planning benchmarks: waveplan against networkx on the same random DAG, in the same run.

Two cases (``--case graph|conflict|both``, default both).

**Graph case.** The graph phase is what ``waveplan plan`` does between loading and scheduling:
``Graph.from_plan`` (index, dependency checks, topological order, cycle detection), ``waves``
and ``critical_path``. The baseline is networkx doing less: building a ``DiGraph`` from the same
in-memory :class:`~waveplan.model.Plan` (``add_nodes_from`` + ``add_edges_from``) and listing
``topological_generations`` (no critical path, no id order inside a wave), so the ratio
waveplan/networkx is conservative. A third line, ``kahn``, is a reference: Kahn's algorithm over
integer indices written the obvious way (no checks, no critical path, levels only).

How it measures, and why:

* Every (library, size) pair runs in a fresh subprocess of this script. Each child generates the
  DAG from the seed and builds the ``Plan``, then measures; nothing one library allocated, cached
  or fragmented can help or hurt the next, and no child's memory is inflated by another's.
* Time is the best of ``--repeats`` runs of the phase (``time.perf_counter``, ``gc.collect()``
  before each run), without tracemalloc. The garbage collector is on, as in real use: waveplan
  pauses it while it builds its graph, networkx does not, and that difference is part of what
  is measured.
* Peak memory is measured in one extra run with :mod:`tracemalloc`: the traced peak during the
  phase minus what was traced before it, i.e. the most memory the phase held at once on top of
  its input, results included. ``ru_maxrss`` was not used: it is a whole-process high-water mark,
  so the generator's and the ``Plan``'s memory would dominate it and the phase's own peak could
  hide under memory freed earlier. tracemalloc slows Python down, which is why timing runs
  without it.
* After measuring, each child prints a digest of its levels (each wave's ids, sorted); the parent
  checks that all libraries found the same waves, so a fast wrong answer cannot win (exit 1
  when they differ).

**Conflict case** (issue 3). The whole ``waveplan plan FILE --format json -o OUT`` as a
process, interpreter start, imports, loading, analysis and rendering included, against networkx
building a ``DiGraph`` of the same DAG in memory plus ``topological_generations`` (the graph
case's networkx phase, measured in a fresh subprocess the same way, and reused when the graph
case already measured it in this run). Goals: at 100k tasks the ratio waveplan / networkx is at
most 1.0 and the process's peak RSS stays under 2 GiB; 1M tasks must complete. waveplan's
bytecode is compiled first, as an install does (``installed.py``). A reference, ``floor
process`` (``plan_floor.py``, run alternating with waveplan's), is the least a planner written
in Python costs on this input: loading, theoretical waves, critical path, one greedy schedule
under file locks and its JSON, nothing else.

* The plan is the graph case's DAG (same ``generate``, same seed, ids ``t1``..``tN``) plus, from
  a second seeded generator: ``ACCESSES_PER_TASK`` file writes (``files:``) per task over one
  file per ``TASKS_PER_FILE`` tasks (100k tasks: 300k accesses over 20k files). File popularity
  is zipf(1.0): the file of rank k is drawn with weight 1/k, so the top file gets ~10% of all
  writes and, at 100k, 18,421 of the 20k paths are written at all. Each write goes to a
  uniformly random task, redrawn when that task already writes that file, so the count of
  distinct accesses is exact. Paths are nested like a real tree (``src/pkg17/mod_00342.py``,
  ``src/pkg17/sub2/...``, ``tests/pkg17/test_...``), shuffled so that popularity says nothing
  about path order. Durations are seeded integers 1..10.
* The plan is written as a JSON task file into a temporary folder (not timed).
* Time is wall clock (``time.perf_counter``) from spawning ``python -m waveplan plan`` to its
  exit, best of ``--repeats``; the slowest run is printed too, for the spread.
* Both are taken by a fresh launcher process per measurement (``LAUNCHER``: a stdlib-only
  ``python -S -c`` script) that spawns exactly one waveplan process and waits for it. Peak
  memory is that process's peak RSS, ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` read in the
  launcher: RUSAGE_CHILDREN is a high-water mark over every child a process has waited for, so
  one launcher per measurement is what makes it that one process's peak. The launcher is kept
  minimal because Linux carries the spawning process's RSS high-water mark into the child's
  ru_maxrss over fork/vfork + exec: a launcher that imported this script (networkx, waveplan,
  ~35 MiB) would show through as a floor, a ~10 MiB one never does. ``/usr/bin/time -v``
  would measure the same thing but is not installed everywhere, prints GNU-specific text to
  scrape and only gives wall time to 10 ms. The networkx figure is a tracemalloc peak of its
  phase (above its input, as in the graph case), not a process RSS: printed for scale, not
  compared.
* Every run is checked (exit 1 otherwise): exit status 0, the output parses as JSON with
  ``makespan.practical``, the task count is right, practical >= theoretical and >= the lower
  bound, and the theoretical waves equal networkx's generations (same digest), so the file
  really is the DAG networkx timed.

Usage::

    python bench/plan_scale.py                 # both cases, 100k tasks / 500k dependencies
    python bench/plan_scale.py --full          # and 1M tasks / 5M dependencies (/ 3M accesses)
    python bench/plan_scale.py --case conflict --repeats 5
    python bench/plan_scale.py --sizes 10000:50000,200000:1000000
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import itertools
import json
import random
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import networkx as nx

from installed import compile_waveplan
from waveplan.graph import Graph, critical_path, waves
from waveplan.model import Plan, Task, id_sort_key

DEFAULT_SIZES = ((100_000, 500_000),)
FULL_SIZES = ((100_000, 500_000), (1_000_000, 5_000_000))
GOAL_RATIO = 0.5  # issue 2: the graph phase at 100k takes at most half of networkx's time
LIBRARIES = ("waveplan", "networkx", "kahn")
# A dependency is drawn from the previous LOCAL_WINDOW tasks of the topological order half of
# the time (real plans depend mostly on nearby work, which makes long chains and many waves),
# and from any earlier task otherwise.
LOCAL_WINDOW = 1000
CASES = ("graph", "conflict", "both")
# Issue 3: the whole `waveplan plan --format json` process at 100k takes at most networkx's
# DiGraph build + topological_generations, and stays under 2 GiB.
CONFLICT_GOAL_RATIO = 1.0
CONFLICT_GOAL_PEAK = 2 * 2**30
ACCESSES_PER_TASK = 3  # 100k tasks: 300k file writes
TASKS_PER_FILE = 5  # 100k tasks: 20k files
MODULES_PER_PACKAGE = 100


# --- generate ---------------------------------------------------------------------------------


def generate(tasks: int, dependencies: int, seed: int) -> list[list[int]]:
    """A random DAG as ``preds[i]``: the distinct tasks that task ``i`` depends on.

    A hidden random topological order makes sure id order says nothing about dependency order.
    Exactly ``dependencies`` edges, unless a task is too early in that order to have as many
    distinct earlier tasks as it drew (only the first few can be).
    """
    rng = random.Random(seed)
    rand = rng.random
    task_at = list(range(tasks))  # task_at[position in the hidden topological order]
    rng.shuffle(task_at)
    degree = [0] * tasks  # by position; position 0 has nothing to depend on
    for _ in range(dependencies):
        degree[1 + int(rand() * (tasks - 1))] += 1
    preds: list[list[int]] = [[] for _ in range(tasks)]
    for position in range(1, tasks):
        wanted = min(degree[position], position)
        if not wanted:
            continue
        low = max(0, position - LOCAL_WINDOW)
        chosen: set[int] = set()
        while len(chosen) < wanted:
            if rand() < 0.5:
                chosen.add(low + int(rand() * (position - low)))
            else:
                chosen.add(int(rand() * position))
        preds[task_at[position]] = sorted(task_at[p] for p in chosen)
    return preds


def build_plan(preds: list[list[int]]) -> Plan:
    """The waveplan plan of a generated DAG: ids ``t1``..``tN`` in id order, unit durations."""
    ids = [f"t{i + 1}" for i in range(len(preds))]
    tasks = tuple(
        Task(id=ids[i], title=ids[i], depends=tuple(ids[p] for p in ps))
        for i, ps in enumerate(preds)
    )
    return Plan(tasks=tasks, name="plan_scale")


def file_paths(count: int, rng: random.Random) -> list[str]:
    """``count`` distinct nested paths in random order: index k is the file of popularity rank k.

    Packages of MODULES_PER_PACKAGE modules: most directly in ``src/pkgN/``, some in a
    sub-package, some tests. No path is a prefix of another, so only equal paths overlap.
    """
    width = max(5, len(str(count - 1)))
    paths = []
    for i in range(count):
        package, slot = divmod(i, MODULES_PER_PACKAGE)
        if slot < 70:
            paths.append(f"src/pkg{package}/mod_{i:0{width}d}.py")
        elif slot < 85:
            paths.append(f"src/pkg{package}/sub{slot % 3}/mod_{i:0{width}d}.py")
        else:
            paths.append(f"tests/pkg{package}/test_mod_{i:0{width}d}.py")
    rng.shuffle(paths)
    return paths


def generate_accesses(
    tasks: int, accesses: int, files: int, seed: int
) -> tuple[list[list[str]], list[int]]:
    """Seeded file writes and durations for ``tasks`` tasks: ``(files_of, durations)``.

    ``accesses`` distinct (task, file) writes: the file drawn with zipf(1.0) popularity over
    ``files`` paths, the task uniformly, redrawn when it already writes that file. A file that
    every task already writes is drawn again (only possible in tiny plans).
    """
    rng = random.Random(f"plan_scale accesses {seed}")
    rand = rng.random
    paths = file_paths(files, rng)
    accesses = min(accesses, tasks * files)
    cumulative = list(itertools.accumulate(1 / rank for rank in range(1, files + 1)))
    ranks = range(files)
    writers = [0] * files
    taken: set[int] = set()
    files_of: list[list[str]] = [[] for _ in range(tasks)]
    for drawn in rng.choices(ranks, cum_weights=cumulative, k=accesses):
        rank = drawn
        while writers[rank] >= tasks:
            rank = rng.choices(ranks, cum_weights=cumulative)[0]
        writers[rank] += 1
        while True:
            task = int(rand() * tasks)
            key = rank * tasks + task
            if key not in taken:
                break
        taken.add(key)
        files_of[task].append(paths[rank])
    durations = [1 + int(rand() * 10) for _ in range(tasks)]
    return files_of, durations


def write_task_file(
    path: Path, preds: list[list[int]], files_of: list[list[str]], durations: list[int]
) -> None:
    """The plan as a JSON task file: ids ``t1``..``tN`` (as ``build_plan``), one task a line."""
    ids = [f"t{i + 1}" for i in range(len(preds))]
    with path.open("w", encoding="utf-8") as handle:
        handle.write('{"name": "plan_scale conflict", "tasks": [\n')
        for i, ps in enumerate(preds):
            task: dict[str, Any] = {"id": ids[i]}
            if ps:
                task["depends"] = [ids[p] for p in ps]
            if files_of[i]:
                task["files"] = files_of[i]
            task["duration"] = durations[i]
            handle.write(("" if i == 0 else ",\n") + json.dumps(task, separators=(",", ":")))
        handle.write("\n]}\n")


# --- the phases measured ----------------------------------------------------------------------


def waveplan_phase(plan: Plan) -> list[list[str]]:
    """waveplan's graph phase: build and check the graph, theoretical waves, critical path."""
    graph = Graph.from_plan(plan)
    levels = waves(graph)
    critical_path(graph)
    return levels


def networkx_phase(plan: Plan) -> list[list[str]]:
    """networkx: a DiGraph built from the same plan, then its topological generations."""
    graph = nx.DiGraph()
    graph.add_nodes_from(t.id for t in plan.tasks)
    graph.add_edges_from((d, t.id) for t in plan.tasks for d in t.depends)
    return list(nx.topological_generations(graph))


def kahn_phase(plan: Plan) -> list[list[str]]:
    """The reference: Kahn's algorithm over integer indices, written the obvious way."""
    tasks = plan.tasks
    index = {t.id: i for i, t in enumerate(tasks)}
    preds = [[index[d] for d in t.depends] for t in tasks]
    succs: list[list[int]] = [[] for _ in tasks]
    for i, ps in enumerate(preds):
        for p in ps:
            succs[p].append(i)
    indegree = [len(ps) for ps in preds]
    generation = [i for i, d in enumerate(indegree) if not d]
    grouped: list[list[str]] = []
    while generation:
        grouped.append([tasks[i].id for i in generation])
        following = []
        for node in generation:
            for s in succs[node]:
                indegree[s] -= 1
                if not indegree[s]:
                    following.append(s)
        generation = following
    return grouped


PHASES: dict[str, Callable[[Plan], list[list[str]]]] = {
    "waveplan": waveplan_phase,
    "networkx": networkx_phase,
    "kahn": kahn_phase,
}


# --- measure ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Measurement:
    """One library's graph phase on one DAG."""

    library: str
    tasks: int
    dependencies: int
    seconds: float  # best of the timed runs
    peak_bytes: int  # tracemalloc peak above the phase's input
    waves: int
    digest: str  # of the waves, each sorted by id: equal digests mean equal levels


def waves_digest(levels: list[list[str]]) -> str:
    """A digest of the levels that does not depend on the order inside a wave."""
    digest = hashlib.sha256()
    for wave in levels:
        digest.update(" ".join(sorted(wave, key=id_sort_key)).encode())
        digest.update(b"\n")
    return digest.hexdigest()[:16]


def measure_here(
    library: str, tasks: int, dependencies: int, seed: int, repeats: int
) -> Measurement:
    """Generate the DAG and measure one library in this process (a child's job)."""
    phase = PHASES[library]
    gc.disable()  # the input is not what is measured: build it without collections
    preds = generate(tasks, dependencies, seed)
    edges = sum(len(ps) for ps in preds)
    plan = build_plan(preds)
    del preds
    gc.enable()
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        started = time.perf_counter()
        result = phase(plan)
        best = min(best, time.perf_counter() - started)
        del result
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    levels = phase(plan)
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    return Measurement(library, tasks, edges, best, peak, len(levels), waves_digest(levels))


def measure(library: str, tasks: int, dependencies: int, seed: int, repeats: int) -> Measurement:
    """Measure one library in a fresh subprocess of this script."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        library,
        "--sizes",
        f"{tasks}:{dependencies}",
        "--seed",
        str(seed),
        "--repeats",
        str(repeats),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{library} at {tasks} tasks failed:\n{done.stderr}")
    return Measurement(**json.loads(done.stdout))


# --- measure the conflict case ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProcessRun:
    """One ``waveplan plan --format json`` process on a task file, and what its output said."""

    seconds: float  # wall clock from spawn to exit
    peak_bytes: int  # the process's peak RSS
    returncode: int
    error: str  # empty when the run and its output are fine
    practical: float | None = None
    theoretical: float | None = None
    lower_bound: float | None = None
    sequential: float | None = None
    tasks: int | None = None
    waves: int | None = None
    digest: str | None = None


@dataclass(frozen=True, slots=True)
class ConflictResult:
    """The conflict case at one size: waveplan's process runs and the networkx baseline."""

    tasks: int
    dependencies: int
    accesses: int
    files: int
    runs: tuple[ProcessRun, ...]
    networkx: Measurement
    floor: tuple[ProcessRun, ...] = ()
    """Runs of ``plan_floor.py`` (a reference: the least a Python planner costs)."""

    @property
    def failed(self) -> list[str]:
        """Why a run or its output is wrong (empty when all are fine)."""
        return [r.error for r in self.runs if r.error]

    @property
    def seconds(self) -> float:
        """Best time of the runs."""
        return min(r.seconds for r in self.runs)

    @property
    def slowest(self) -> float:
        """Worst time of the runs (the spread is ``seconds``..``slowest``)."""
        return max(r.seconds for r in self.runs)

    @property
    def peak_bytes(self) -> int:
        """Highest peak RSS of the runs."""
        return max(r.peak_bytes for r in self.runs)

    @property
    def ratio(self) -> float:
        """Best waveplan process time / networkx's time."""
        return self.seconds / self.networkx.seconds


def waveplan_command(file: Path, out: Path) -> list[str]:
    """The command the conflict case times."""
    return [sys.executable, "-m", "waveplan", "plan", str(file), "--format", "json", "-o", str(out)]


def floor_command(file: Path, out: Path) -> list[str]:
    """The reference the conflict case times beside waveplan (see ``plan_floor.py``)."""
    return [sys.executable, str(Path(__file__).with_name("plan_floor.py")), str(file), str(out)]


def check_output(out: Path, tasks: int) -> dict[str, Any]:
    """The figures of a ``plan --format json`` output; ``error`` says what is wrong with it."""
    try:
        data = json.loads(out.read_text(encoding="utf-8"))
        makespan = data["makespan"]
        found: dict[str, Any] = {
            "practical": float(makespan["practical"]),
            "theoretical": float(makespan["theoretical"]),
            "lower_bound": float(makespan["lower_bound"]),
            "sequential": float(makespan["sequential"]),
            "tasks": int(data["tasks"]),
            "waves": len(data["waves"]["theoretical"]),
            "digest": waves_digest(data["waves"]["theoretical"]),
        }
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return {"error": f"bad output: {type(exc).__name__}: {exc}"}
    problems = []
    if found["tasks"] != tasks:
        problems.append(f"{found['tasks']} tasks in the output, {tasks} in the plan")
    if found["practical"] < found["theoretical"] - 1e-9:
        problems.append(f"practical {found['practical']} < theoretical {found['theoretical']}")
    if found["practical"] < found["lower_bound"] - 1e-9:
        problems.append(f"practical {found['practical']} < lower bound {found['lower_bound']}")
    found["error"] = "; ".join(problems)
    return found


# The launcher: stdlib only and started with -S, so it is as small as a Python process gets.
# Linux carries a process's RSS high-water mark over fork/vfork + exec into the child's
# ru_maxrss, so a launcher that imported this script (networkx, waveplan) would put its own size
# into the figure; this one (~10 MiB) is below any waveplan process and never the value read.
LAUNCHER = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
stderr = done.stderr.decode(errors="replace")[-2000:]
found = {"seconds": seconds, "peak": peak, "returncode": done.returncode, "stderr": stderr}
print(json.dumps(found))
"""


def measure_process(
    file: Path, out: Path, tasks: int, planner: Callable[[Path, Path], list[str]] = waveplan_command
) -> ProcessRun:
    """Time one planner process (waveplan's by default) from a fresh launcher, then check
    what it wrote."""
    out.unlink(missing_ok=True)
    command = [sys.executable, "-S", "-c", LAUNCHER, *planner(file, out)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the launcher at {tasks} tasks failed:\n{done.stderr}")
    found = json.loads(done.stdout)
    seconds, returncode = found["seconds"], found["returncode"]
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    peak_bytes = found["peak"] if sys.platform == "darwin" else found["peak"] * 1024
    if returncode != 0:
        tail = found["stderr"].strip().splitlines()[-1:] or ["no message"]
        return ProcessRun(seconds, peak_bytes, returncode, f"exit {returncode}: {tail[0]}")
    checked = check_output(out, tasks)
    out.unlink(missing_ok=True)
    return ProcessRun(seconds, peak_bytes, returncode, **checked)


def conflict_sizes(tasks: int) -> tuple[int, int]:
    """(accesses, files) of the conflict case for ``tasks`` tasks."""
    return ACCESSES_PER_TASK * tasks, max(1, tasks // TASKS_PER_FILE)


def measure_conflict(
    tasks: int, dependencies: int, seed: int, repeats: int, networkx: Measurement | None
) -> ConflictResult:
    """Write the conflict-case plan, time ``repeats`` waveplan processes and the baseline."""
    accesses, files = conflict_sizes(tasks)
    with tempfile.TemporaryDirectory(prefix="plan_scale-") as folder:
        file = Path(folder) / "plan.json"
        out = Path(folder) / "plan.out.json"
        preds = generate(tasks, dependencies, seed)
        edges = sum(len(ps) for ps in preds)
        files_of, durations = generate_accesses(tasks, accesses, files, seed)
        accesses = sum(len(fs) for fs in files_of)
        write_task_file(file, preds, files_of, durations)
        del preds, files_of, durations
        gc.collect()
        runs, floor = [], []
        for _ in range(repeats):  # alternating, so that machine noise hits both alike
            runs.append(measure_process(file, out, tasks))
            if runs[-1].returncode != 0:
                break  # a failed run is not retried: the case failed
            floor.append(measure_process(file, out, tasks, floor_command))
    if networkx is None:
        networkx = measure("networkx", tasks, dependencies, seed, repeats)
    return ConflictResult(tasks, edges, accesses, files, tuple(runs), networkx, tuple(floor))


# --- report -----------------------------------------------------------------------------------


def fmt_size(count: int) -> str:
    """``100k``, ``1M``, ``2.5M``."""
    for unit, scale in (("M", 1_000_000), ("k", 1_000)):
        if count >= scale:
            return f"{count / scale:g}{unit}"
    return str(count)


def report(results: Sequence[Measurement], baseline: str = "networkx") -> str:
    """A table of time and peak memory per library and size, with ratios against ``baseline``."""
    lines = [
        f"{'tasks':>9} {'deps':>9} {'waves':>6}  {'library':<9} {'time s':>8} {'peak MiB':>9}"
        f"  {'time/' + baseline:>14} {'mem/' + baseline:>13}"
    ]
    sizes = sorted({(m.tasks, m.dependencies) for m in results})
    for size in sizes:
        group = [m for m in results if (m.tasks, m.dependencies) == size]
        base = next((m for m in group if m.library == baseline), None)
        for m in group:
            time_ratio = f"{m.seconds / base.seconds:.2f}x" if base else "-"
            mem_ratio = f"{m.peak_bytes / base.peak_bytes:.2f}x" if base else "-"
            lines.append(
                f"{m.tasks:>9,} {m.dependencies:>9,} {m.waves:>6}  "
                f"{m.library:<9} {m.seconds:>8.3f} {m.peak_bytes / 2**20:>9.1f}"
                f"  {time_ratio:>14} {mem_ratio:>13}"
            )
        digests = {m.digest for m in group}
        if len(digests) > 1:
            lines.append(f"  MISMATCH: the libraries found different waves ({sorted(digests)})")
    return "\n".join(lines)


def goal_met(results: Sequence[Measurement], tasks: int = 100_000) -> bool | None:
    """Whether waveplan takes at most GOAL_RATIO of networkx's time at ``tasks`` (None: not run)."""
    mine = [m for m in results if m.tasks == tasks and m.library == "waveplan"]
    theirs = [m for m in results if m.tasks == tasks and m.library == "networkx"]
    if not mine or not theirs:
        return None
    return mine[0].seconds <= GOAL_RATIO * theirs[0].seconds


def fmt_bytes(count: int) -> str:
    """``812 MiB``, ``2.31 GiB``."""
    return f"{count / 2**30:.2f} GiB" if count >= 2**30 else f"{count / 2**20:.0f} MiB"


def fmt_figure(value: float | None) -> str:
    """``1,284,420``, ``12.5``: no exponent, at most 3 decimals."""
    return "-" if value is None else f"{value:,.3f}".rstrip("0").rstrip(".")


def conflict_report(results: Sequence[ConflictResult]) -> str:
    """The conflict case: the waveplan process and networkx, time, peak memory, ratio, checks."""
    lines = [
        "conflict case: `waveplan plan FILE --format json -o OUT` as a process (start and",
        "loading included) vs networkx DiGraph + topological_generations of the same DAG",
        f"{'tasks':>9} {'deps':>9} {'accesses':>9} {'files':>7}  {'':<16} {'time s':>8}"
        f" {'slowest':>8} {'peak MiB':>9} {'of':<7} {'time/networkx':>13}",
    ]
    for r in results:
        if r.failed:
            lines.append(
                f"{r.tasks:>9,} {r.dependencies:>9,} {r.accesses:>9,} {r.files:>7,}  "
                f"{'waveplan process':<16} FAILED: {r.failed[0]}"
            )
        else:
            lines.append(
                f"{r.tasks:>9,} {r.dependencies:>9,} {r.accesses:>9,} {r.files:>7,}  "
                f"{'waveplan process':<16} {r.seconds:>8.3f} {r.slowest:>8.3f}"
                f" {r.peak_bytes / 2**20:>9.1f} {'rss':<7} {r.ratio:>12.2f}x"
            )
        if r.floor:
            best = min(run.seconds for run in r.floor)
            lines.append(
                f"{'':>38}  {'floor process':<16} {best:>8.3f}"
                f" {max(run.seconds for run in r.floor):>8.3f}"
                f" {max(run.peak_bytes for run in r.floor) / 2**20:>9.1f} {'rss':<7}"
                f" {best / r.networkx.seconds:>12.2f}x  reference"
                + "".join(f"; {run.error}" for run in r.floor if run.error)[:200]
            )
        nx_m = r.networkx
        lines.append(
            f"{'':>38}  {'networkx':<16} {nx_m.seconds:>8.3f} {'':>8}"
            f" {nx_m.peak_bytes / 2**20:>9.1f} {'traced':<7} {1:>12.2f}x"
        )
        done = [run for run in r.runs if run.practical is not None]
        if done:
            first = done[0]
            same = first.digest == nx_m.digest
            lines.append(
                f"{'':>11}makespan: sequential {fmt_figure(first.sequential)}, theoretical"
                f" {fmt_figure(first.theoretical)}, practical {fmt_figure(first.practical)},"
                f" lower bound {fmt_figure(first.lower_bound)}"
            )
            lines.append(
                f"{'':>11}{first.waves} theoretical waves,"
                f" {'the same as' if same else 'DIFFERENT FROM'} networkx's generations"
            )
    goal = next((r for r in results if r.tasks == 100_000), None)
    if goal is not None:
        met = (
            not goal.failed
            and goal.ratio <= CONFLICT_GOAL_RATIO
            and goal.peak_bytes < CONFLICT_GOAL_PEAK
        )
        figures = (
            "failed"
            if goal.failed
            else f"ratio {goal.ratio:.2f}x, peak RSS {fmt_bytes(goal.peak_bytes)}"
        )
        lines.append(
            f"goal (waveplan process <= {CONFLICT_GOAL_RATIO}x networkx time and peak RSS < "
            f"{fmt_bytes(CONFLICT_GOAL_PEAK)} at 100k): {'met' if met else 'MISSED'} ({figures})"
        )
    big = next((r for r in results if r.tasks == 1_000_000), None)
    if big is not None:
        outcome = (
            f"FAILED ({big.failed[0]})"
            if big.failed
            else f"completed in {big.seconds:.1f} s, peak RSS {fmt_bytes(big.peak_bytes)}"
        )
        lines.append(f"goal (1M tasks complete): {outcome}")
    return "\n".join(lines)


def conflict_consistent(result: ConflictResult) -> bool:
    """Every run succeeded, its output checks passed and its waves are networkx's."""
    return not result.failed and all(r.digest == result.networkx.digest for r in result.runs)


# --- main -------------------------------------------------------------------------------------


def parse_sizes(text: str) -> list[tuple[int, int]]:
    """``100000:500000,1000000:5000000`` -> [(tasks, dependencies), ...]."""
    sizes = []
    for item in text.split(","):
        tasks, _, deps = item.partition(":")
        sizes.append((int(tasks), int(deps) if deps else 5 * int(tasks)))
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks and print the tables; exit 1 when a consistency check fails."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--case",
        choices=CASES,
        default="both",
        help="graph: the graph phase in memory; conflict: the whole `waveplan plan` process on "
        "a plan with file conflicts (default both)",
    )
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        help="comma-separated TASKS:DEPENDENCIES (default 100000:500000; DEPENDENCIES "
        "defaults to 5 x TASKS; the conflict case adds 3 accesses per task, 1 file per 5 tasks)",
    )
    parser.add_argument(
        "--full", action="store_true", help="also run 1M tasks / 5M dependencies (/ 3M accesses)"
    )
    parser.add_argument("--seed", type=int, default=2, help="random seed of the DAG (default 2)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per case (default 3)")
    parser.add_argument(
        "--libraries",
        default=",".join(LIBRARIES),
        help=f"graph case: comma-separated, from {', '.join(LIBRARIES)} (default all)",
    )
    parser.add_argument("--child", choices=LIBRARIES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    compile_waveplan()
    sizes = args.sizes or list(FULL_SIZES if args.full else DEFAULT_SIZES)
    if args.full and args.sizes:
        sizes += [s for s in FULL_SIZES if s not in sizes]
    if args.child:
        tasks, dependencies = sizes[0]
        found = measure_here(args.child, tasks, dependencies, args.seed, args.repeats)
        print(json.dumps(asdict(found)))
        return 0

    consistent = True
    results: list[Measurement] = []
    # The graph case's networkx phase is the conflict case's baseline on the same DAG: reuse it.
    baselines: dict[tuple[int, int], Measurement] = {}
    if args.case in ("graph", "both"):
        libraries = [name for name in args.libraries.split(",") if name]
        for tasks, dependencies in sizes:
            group = []
            for library in libraries:
                group.append(measure(library, tasks, dependencies, args.seed, args.repeats))
                print(
                    f"  measured {library} at {fmt_size(tasks)} tasks", file=sys.stderr, flush=True
                )
                if library == "networkx":
                    baselines[tasks, dependencies] = group[-1]
            consistent = consistent and len({m.digest for m in group}) == 1
            results += group
        print(report(results))
        met = goal_met(results)
        if met is not None:
            verdict = "met" if met else "MISSED"
            print(f"goal (waveplan <= {GOAL_RATIO}x networkx time at 100k): {verdict}")

    if args.case in ("conflict", "both"):
        conflicts: list[ConflictResult] = []
        for tasks, dependencies in sizes:
            baseline = baselines.get((tasks, dependencies))
            found = measure_conflict(tasks, dependencies, args.seed, args.repeats, baseline)
            print(
                f"  measured the conflict case at {fmt_size(tasks)} tasks",
                file=sys.stderr,
                flush=True,
            )
            consistent = consistent and conflict_consistent(found)
            conflicts.append(found)
        if results:
            print()
        print(conflict_report(conflicts))
    return 0 if consistent else 1


if __name__ == "__main__":
    sys.exit(main())

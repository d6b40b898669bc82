"""Graph-phase benchmark: waveplan against networkx on the same random DAG, in the same run.

The graph phase is what ``waveplan plan`` does between loading and scheduling:
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

Usage::

    python bench/plan_scale.py                 # 100k tasks / 500k dependencies
    python bench/plan_scale.py --full          # and 1M tasks / 5M dependencies
    python bench/plan_scale.py --sizes 10000:50000,200000:1000000
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import random
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import networkx as nx

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


# --- main -------------------------------------------------------------------------------------


def parse_sizes(text: str) -> list[tuple[int, int]]:
    """``100000:500000,1000000:5000000`` -> [(tasks, dependencies), ...]."""
    sizes = []
    for item in text.split(","):
        tasks, _, deps = item.partition(":")
        sizes.append((int(tasks), int(deps) if deps else 5 * int(tasks)))
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table; exit 1 when the consistency check fails."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        help="comma-separated TASKS:DEPENDENCIES (default 100000:500000; DEPENDENCIES "
        "defaults to 5 x TASKS)",
    )
    parser.add_argument("--full", action="store_true", help="also run 1M tasks / 5M dependencies")
    parser.add_argument("--seed", type=int, default=2, help="random seed of the DAG (default 2)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per case (default 3)")
    parser.add_argument(
        "--libraries",
        default=",".join(LIBRARIES),
        help=f"comma-separated, from {', '.join(LIBRARIES)} (default all)",
    )
    parser.add_argument("--child", choices=LIBRARIES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    sizes = args.sizes or list(FULL_SIZES if args.full else DEFAULT_SIZES)
    if args.full and args.sizes:
        sizes += [s for s in FULL_SIZES if s not in sizes]
    if args.child:
        tasks, dependencies = sizes[0]
        found = measure_here(args.child, tasks, dependencies, args.seed, args.repeats)
        print(json.dumps(asdict(found)))
        return 0

    libraries = [name for name in args.libraries.split(",") if name]
    results: list[Measurement] = []
    consistent = True
    for tasks, dependencies in sizes:
        group = []
        for library in libraries:
            group.append(measure(library, tasks, dependencies, args.seed, args.repeats))
            print(f"  measured {library} at {fmt_size(tasks)} tasks", file=sys.stderr, flush=True)
        consistent = consistent and len({m.digest for m in group}) == 1
        results += group
    print(report(results))
    met = goal_met(results)
    if met is not None:
        verdict = "met" if met else "MISSED"
        print(f"goal (waveplan <= {GOAL_RATIO}x networkx time at 100k): {verdict}")
    return 0 if consistent else 1


if __name__ == "__main__":
    sys.exit(main())

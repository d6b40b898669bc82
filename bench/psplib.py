"""PSPLIB benchmark: waveplan's schedules against the known optima and the critical-path bound.

For each instance, ``analyse`` runs in this process as ``waveplan plan`` runs it (the default
heuristic, or ``--optimal --time-limit S``), and the practical makespan is compared with:

* on j30, the proven optimum (``j30opt.sm``): mean % deviation from the optimum;
* on j60 and j120, the critical-path bound (longest path, resources ignored), the measure of
  Kolisch and Hartmann: mean % deviation from that bound.

The time per instance is the wall time of ``analyse`` (graph, search or solver, waves, bounds,
serialization costs and advice), after loading; the mean and the slowest are printed. Each
instance's result is appended to a JSON-lines file under ``bench/out/`` as soon as it is known,
so a long run (the exact mode on all 480 j30 instances takes up to 80 minutes) can be run in the
background, followed with ``--report``, and restarted: instances already in the file are
skipped.

Reference points (from the data's README): single-pass priority rule 4.39 / 17.46 / 43.86 %;
best metaheuristics at 50,000 schedules about 0.0-0.1 / 10.6-10.8 / 30.5-32 %; CP-SAT at
600-900 s 0.00 / 10.59 / 31.44 %. Goals (issue 4): default heuristic <= 0.5 % on j30 and
<= 35 % on j120 at about a second per instance or less; ``--optimal --time-limit 10`` proves at
least 475 of 480 j30 optima and reaches <= 31.5 % on j120 (the exact mode on j60/j120 runs on
the documented sample ``j{60,120}{p}_1``, p = 1..48/60, one instance per parameter setting).

Usage::

    python bench/psplib.py                                   # default heuristic, j30 j60 j120
    python bench/psplib.py --sets j30 --effort fast
    python bench/psplib.py --optimal --time-limit 10 --sets j30          # all 480 (long)
    python bench/psplib.py --optimal --time-limit 10 --sets j120 --sample
    python bench/psplib.py --report                          # summarise every file in bench/out
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from waveplan.graph import Graph
from waveplan.load import load_plan
from waveplan.schedule import analyse
from waveplan.schedule.search import Effort

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "psplib"
OUT = ROOT / "bench" / "out"
SETS = ("j30", "j60", "j120")
NAME = re.compile(r"^j(30|60|120)(\d+)_(\d+)\.sm$")


@dataclass
class Result:
    """One instance planned once."""

    set: str
    instance: str
    tasks: int
    makespan: float
    cpm: float
    reference: float  # the optimum (j30) or the critical-path bound (j60, j120)
    lower_bound: float
    proven: bool
    method: str
    schedules: int
    seconds: float

    @property
    def deviation(self) -> float:
        return 100.0 * (self.makespan - self.reference) / self.reference


def read_table(path: Path) -> dict[tuple[int, int], int]:
    """``(parameter, instance) -> makespan`` from a PSPLIB solution table."""
    table: dict[tuple[int, int], int] = {}
    for line in path.read_text(encoding="latin-1").splitlines():
        cells = line.split()
        if len(cells) >= 3 and cells[0].isdigit() and cells[1].isdigit() and cells[2].isdigit():
            table[(int(cells[0]), int(cells[1]))] = int(cells[2])
    return table


def instances(data: Path, name: str, sample: bool) -> list[Path]:
    """The instance files of a set in parameter/instance order (``sample``: instance 1 of
    each parameter setting)."""
    found = []
    for path in (data / f"{name}.sm").glob("*.sm"):
        match = NAME.match(path.name)
        if match and f"j{match.group(1)}" == name:
            found.append((int(match.group(2)), int(match.group(3)), path))
    found.sort()
    return [path for parameter, number, path in found if not sample or number == 1]


def key(path: Path) -> tuple[int, int]:
    match = NAME.match(path.name)
    assert match is not None
    return int(match.group(2)), int(match.group(3))


def run_one(
    path: Path, name: str, optima: dict[tuple[int, int], int], args: argparse.Namespace
) -> Result:
    plan = load_plan(path)
    started = time.perf_counter()
    analysis = analyse(
        plan,
        Graph.from_plan(plan),
        effort=Effort(args.effort),
        optimal=args.optimal,
        time_limit=args.time_limit,
        solver_workers=args.solver_workers,
    )
    seconds = time.perf_counter() - started
    cpm = analysis.theoretical
    reference = float(optima[key(path)]) if name == "j30" else cpm
    return Result(
        set=name,
        instance=path.stem,
        tasks=len(plan.tasks),
        makespan=analysis.practical,
        cpm=cpm,
        reference=reference,
        lower_bound=analysis.lower_bound.value,
        proven=analysis.optimal,
        method=analysis.method.value,
        schedules=analysis.schedules,
        seconds=seconds,
    )


def out_file(args: argparse.Namespace, name: str) -> Path:
    mode = f"exact{args.time_limit:g}s-w{args.solver_workers}" if args.optimal else args.effort
    suffix = "-sample" if args.sample else ""
    return OUT / f"psplib-{name}-{mode}{suffix}.jsonl"


def load_results(path: Path) -> list[Result]:
    if not path.exists():
        return []
    return [Result(**json.loads(line)) for line in path.read_text().splitlines() if line]


def summary(
    label: str, results: list[Result], best_known: dict[str, dict[tuple[int, int], int]]
) -> str:
    """One line: count, mean deviation, optima, proofs and time per instance."""
    name = results[0].set
    deviation = statistics.fmean(r.deviation for r in results)
    seconds = [r.seconds for r in results]
    parts = [
        f"{label:<34} {len(results):>4} inst",
        f"dev {deviation:6.2f} %",
    ]
    if name == "j30":
        parts.append(f"optimum found {sum(r.makespan <= r.reference for r in results):>3}")
    else:
        table = best_known.get(name, {})
        known = [table.get(key(Path(r.instance + ".sm"))) for r in results]
        if all(k is not None for k in known):
            floor = statistics.fmean(
                100.0 * (k - r.cpm) / r.cpm for k, r in zip(known, results, strict=True) if k
            )
            parts.append(f"(best known {floor:5.2f} %)")
    parts.append(f"proven {sum(r.proven for r in results):>3}")
    parts.append(
        f"time mean {statistics.fmean(seconds):6.3f} s, median {statistics.median(seconds):6.3f} s,"
        f" max {max(seconds):6.2f} s"
    )
    return "  ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated: j30,j60,j120")
    parser.add_argument("--effort", default="default", choices=[e.value for e in Effort])
    parser.add_argument("--optimal", action="store_true", help="run the exact mode")
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--solver-workers", type=int, default=2)
    parser.add_argument("--sample", action="store_true", help="instance 1 of each parameter")
    parser.add_argument("--limit", type=int, help="at most this many instances per set")
    parser.add_argument("--data", type=Path, default=DATA, help="the PSPLIB folder")
    parser.add_argument("--report", action="store_true", help="summarise bench/out and stop")
    args = parser.parse_args(argv)
    data: Path = args.data
    optima = read_table(data / "j30opt.sm")
    best_known = {name: read_table(data / f"{name}hrs.sm") for name in SETS}
    OUT.mkdir(parents=True, exist_ok=True)
    if args.report:
        for path in sorted(OUT.glob("psplib-*.jsonl")):
            results = load_results(path)
            if results:
                print(summary(path.stem.removeprefix("psplib-"), results, best_known))
        return 0
    for name in args.sets.split(","):
        files = instances(data, name, args.sample)
        if args.limit:
            files = files[: args.limit]
        target = out_file(args, name)
        done = {r.instance for r in load_results(target)}
        with target.open("a", encoding="utf-8") as sink:
            for number, path in enumerate(files, start=1):
                if path.stem in done:
                    continue
                result = run_one(path, name, optima, args)
                sink.write(json.dumps(asdict(result)) + "\n")
                sink.flush()
                if number % 20 == 0 or number == len(files):
                    print(f"  {name}: {number}/{len(files)}", file=sys.stderr, flush=True)
        results = [r for r in load_results(target) if r.instance in {p.stem for p in files}]
        label = f"{name} " + (
            f"--optimal --time-limit {args.time_limit:g}"
            if args.optimal
            else f"{args.effort} effort"
        )
        print(summary(label, results, best_known))
        if not math.isfinite(statistics.fmean(r.deviation for r in results)):  # pragma: no cover
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

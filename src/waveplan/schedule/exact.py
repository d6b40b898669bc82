"""The exact mode: the plan as a constraint model for OR-Tools CP-SAT (``waveplan[optimal]``).

One fixed-size interval per task (grid units of the plan's
:class:`~waveplan.schedule.instance.Instance`); a precedence per dependency; per family a
no-overlap when its members exclude each other pairwise (writers only, or amounts that never fit
two at a time), else a cumulative (read/write locks: readers take 1, writers the capacity;
counted resources their amounts; the worker limit 1 per task). The makespan is minimised
between the best lower bound known and the heuristic's makespan, whose schedule is the hint.

Zero-duration tasks are left out of the resource constraints (the model is then a relaxation,
so its bound stays valid, and the scheduler's replay decides where they really go).

The solver runs for a wall-clock time limit, so unless it proves optimality its result depends
on the machine; the caller replays its schedule with the scheduler like any other candidate.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from waveplan.errors import MissingExtraError
from waveplan.schedule.instance import WB, Family, FamilyKind, Instance, R, W

__all__ = [
    "MAX_TASKS",
    "SOLVER_WORKERS",
    "ExactResult",
    "ExactStatus",
    "available",
    "solve",
    "takes",
]

SOLVER_WORKERS = 2
"""CP-SAT search workers by default."""


class ExactStatus(Enum):
    """How the solver ended."""

    OPTIMAL = "optimal"  # proven optimal on the grid
    FEASIBLE = "feasible"  # a schedule, not proven optimal in the time limit
    UNKNOWN = "unknown"  # no schedule within the time limit (or the model was refused)


@dataclass(frozen=True, slots=True)
class ExactResult:
    """The solver's answer, in grid units of the instance it was given.

    ``bound`` is the solver's lower bound on the makespan (valid for the plan only when the
    instance's durations are exact); ``start`` is its best schedule, if any.
    """

    status: ExactStatus
    start: tuple[int, ...] | None
    makespan: int | None
    bound: int
    time_limit: float
    workers: int


def available() -> bool:
    """True when OR-Tools can be imported."""
    try:
        import ortools.sat.python.cp_model  # noqa: F401, PLC0415 - an optional extra
    except ImportError:
        return False
    return True


def _cp_model() -> Any:
    try:
        from ortools.sat.python import cp_model  # noqa: PLC0415 - an optional extra
    except ImportError:
        raise MissingExtraError("--optimal", "optimal", "ortools") from None
    return cp_model


PROOF_SEARCH_TASKS = 50
"""Up to this many tasks, two solver workers both search the whole problem (see ``solve``).
Measured on PSPLIB at 10 s: j30 proves 479 of 480 optima instead of 472 (474 when the second
search was the bound-raising tree search); on the j60 and j120 samples the default portfolio
finds shorter schedules (10.16 and 31.64 % above the critical-path bound, against 10.51 and
32.17 %). Beyond it, the schedule search takes the first part of the time limit
(:func:`waveplan.schedule.analysis.analyse`)."""

MAX_TASKS = 2_000
"""Plans of more tasks get no solver (``takes``): CP-SAT does not keep to its time limit while
it loads a model that large (its full search sets up its propagators for seconds without
looking at the clock). Measured with a 2 s limit on plans of tasks with random nearby
dependencies writing two of n * 0.15 files, unlimited workers, three runs each: 1,500 tasks
took 2.6-2.7 s, 2,000 tasks 3.0 s, 2,500 tasks 5.2-5.4 s and 4,000 tasks 2.3-7.7 s; and with a
3 s limit on tasks in chains writing hot files on 4 workers, 5,000 tasks took 3.7 s and 0.7 GB,
20,000 took 34 s and 6.8 GB (13 GB without a hint)."""

CLIQUES = True
CLIQUE_FAMILY_LIMIT = 400
CLIQUE_WORK = 2_000_000
"""Pair tests and membership checks the clique search may spend. Cliques only strengthen the
model, so a plan that would need more (5,000 tasks on 50 files of 100 writers took 9.7 s)
keeps those found so far; PSPLIB instances need at most 126,313 (j120)."""


NESTED_PAIRS = 50_000
"""Pairs of a node's readers and writers below it that the model forbids one by one, at most
(see ``_nested``); past them the model is a relaxation."""


def takes(tasks: int) -> bool:
    """Whether the solver runs on a plan of this many tasks (``MAX_TASKS``)."""
    return tasks <= MAX_TASKS


def _pairwise_exclusive(demands: Sequence[int], capacity: int) -> bool:
    """True when no two of these demands fit the capacity together (the model then has a
    no-overlap for them)."""
    if len(demands) < 2:
        return False
    smallest = sorted(demands)[:2]
    return smallest[0] + smallest[1] > capacity


def _exclusive(family: Family, members: Sequence[int]) -> bool:
    """True when no two of these members (positions) of the family ever run together."""
    if family.kind is not FamilyKind.NESTED:
        return _pairwise_exclusive([family.demands[k] for k in members], family.capacity)
    modes = family.modes
    return len(members) >= 2 and all(
        modes[k] & W or (modes[k] & R and modes[k] & WB) for k in members
    )


def _nested(
    model: Any, family: Family, members: Sequence[int], intervals: Sequence[Any], pairs: int
) -> int:
    """Constrain a nested family's members (positions): its node's writers exclude everyone;
    a task that reads the node and writes below it excludes every other reader of the node and
    writer below it (two read/write cumulatives); the remaining conflicts, between readers of
    the node and writers below it, are pairs, forbidden one by one while ``pairs`` lasts (the
    rest is left out: the model stays a relaxation, its bound valid). The pairs left."""
    modes, tasks = family.modes, family.tasks

    def read_write(group: Sequence[int], writes: Sequence[bool]) -> None:
        readers = writes.count(False)
        if len(group) < 2 or readers == len(group):
            return
        chosen = [intervals[tasks[k]] for k in group]
        if readers <= 1:
            model.add_no_overlap(chosen)
        else:
            model.add_cumulative(chosen, [readers if w else 1 for w in writes], readers)

    read_write(members, [bool(modes[k] & W) for k in members])
    sides = [k for k in members if modes[k] & (R | WB) and not modes[k] & W]
    read_write(sides, [modes[k] & (R | WB) == R | WB for k in sides])
    reading = [k for k in sides if modes[k] & (R | WB) == R]
    writing = [k for k in sides if modes[k] & (R | WB) == WB]
    for a in reading:
        for b in writing:
            if pairs <= 0:
                return 0
            model.add_no_overlap([intervals[tasks[a]], intervals[tasks[b]]])
            pairs -= 1
    return pairs


def incompatible_cliques(instance: Instance) -> list[list[int]]:
    """Groups of tasks no two of which may ever run together, across families: two tasks are
    incompatible when together they need more than some family's capacity. Found greedily,
    largest first, within ``CLIQUE_WORK``; only groups of three or more that no family already
    makes exclusive, and that no group found before covers."""
    n = len(instance)
    durations = instance.durations
    exclusive_in: list[set[int]] = [set() for _ in range(n)]  # no-overlap families per task
    neighbours: list[set[int]] = [set() for _ in range(n)]
    work = CLIQUE_WORK
    for f, family in enumerate(instance.families):
        if len(family.tasks) > CLIQUE_FAMILY_LIMIT:
            continue
        members = [k for k, t in enumerate(family.tasks) if durations[t]]
        if _exclusive(family, members):
            for k in members:
                exclusive_in[family.tasks[k]].add(f)
        work -= len(members) * (len(members) - 1) // 2
        if work < 0:
            return []
        for a_pos, ka in enumerate(members):
            a = family.tasks[ka]
            for kb in members[a_pos + 1 :]:
                if family.conflict(ka, kb):
                    b = family.tasks[kb]
                    neighbours[a].add(b)
                    neighbours[b].add(a)
    order = sorted(range(n), key=lambda t: (-len(neighbours[t]), t))
    cliques: list[list[int]] = []
    covered: set[tuple[int, int]] = set()
    for seed in order:
        if len(neighbours[seed]) < 2:
            continue
        clique = [seed]
        candidates = sorted(neighbours[seed], key=lambda t: (-len(neighbours[t]), t))
        for t in candidates:
            work -= len(clique)
            if all(t in neighbours[c] for c in clique):
                clique.append(t)
        if work < 0:
            break
        if len(clique) < 3 or set.intersection(*(exclusive_in[t] for t in clique)):
            continue  # too small, or one family's no-overlap already
        pairs = {(min(a, b), max(a, b)) for i, a in enumerate(clique) for b in clique[i + 1 :]}
        if not pairs <= covered:
            covered |= pairs
            cliques.append(sorted(clique))
    return cliques


def _solve_interruptibly(solver: Any, model: Any) -> Any:
    """``solver.solve(model)``, with Ctrl-C stopping the search and raised as usual. CP-SAT
    would catch SIGINT itself and end quietly, so a command interrupted during the solve
    went on as if the time limit had passed (exit 0, output written). It solves in a thread
    while the main thread, where Python handles signals, waits for it."""
    solver.parameters.catch_sigint_signal = False
    outcome: list[Any] = []
    failure: list[BaseException] = []

    def work() -> None:
        try:
            outcome.append(solver.solve(model))
        except BaseException as exc:  # handed to the waiting thread
            failure.append(exc)

    thread = threading.Thread(target=work, name="waveplan-cp-sat", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.1)
    except BaseException:
        solver.stop_search()
        thread.join()
        raise
    if failure:
        raise failure[0]
    return outcome[0]


def solve(
    instance: Instance,
    *,
    hint: Sequence[int],
    upper: int,
    lower: int,
    time_limit: float,
    workers: int = SOLVER_WORKERS,
) -> ExactResult:
    """Minimise the makespan within ``[lower, upper]`` (grid units), starting from ``hint``.
    Raise :class:`~waveplan.errors.MissingExtraError` when OR-Tools is not installed. The time
    limit counts from this call: building the model of a large plan takes part of it."""
    began = time.monotonic()
    cp_model = _cp_model()
    model = cp_model.CpModel()
    durations = instance.durations
    n = len(instance)
    head, tail = instance.heads(), instance.tails()
    lower = max(lower, max(tail, default=0))
    upper = max(upper, lower)
    starts = [model.new_int_var(head[j], max(head[j], upper - tail[j]), f"s{j}") for j in range(n)]
    intervals = [
        model.new_fixed_size_interval_var(starts[j], durations[j], f"i{j}") for j in range(n)
    ]
    for j in range(n):
        for p in instance.preds[j]:
            model.add(starts[j] >= starts[p] + durations[p])
    pairs = NESTED_PAIRS
    for family in instance.families:
        members = [k for k, task in enumerate(family.tasks) if durations[task] > 0]
        if len(members) < 2:
            continue
        if family.kind is FamilyKind.NESTED:
            pairs = _nested(model, family, members, intervals, pairs)
            continue
        demands = [family.demands[k] for k in members]
        if family.kind is FamilyKind.WORKERS and family.capacity >= len(members):
            continue
        if _pairwise_exclusive(demands, family.capacity):  # no two members ever run together
            model.add_no_overlap([intervals[family.tasks[k]] for k in members])
        else:
            model.add_cumulative(
                [intervals[family.tasks[k]] for k in members], demands, family.capacity
            )
    if CLIQUES:
        for clique in incompatible_cliques(instance):
            model.add_no_overlap([intervals[j] for j in clique])
    makespan = model.new_int_var(lower, upper, "makespan")
    for j in range(n):
        if not instance.succs[j]:
            model.add(makespan >= starts[j] + durations[j])
    model.minimize(makespan)
    for j in range(n):
        model.add_hint(starts[j], int(hint[j]))
    hinted = max((hint[j] + durations[j] for j in range(n)), default=0)
    model.add_hint(makespan, max(lower, min(upper, hinted)))

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.0, time_limit - (time.monotonic() - began))
    solver.parameters.num_workers = max(1, workers)
    if workers == 2 and n <= PROOF_SEARCH_TASKS:
        # With two workers CP-SAT runs one full-problem search and interleaves its
        # neighbourhood searches. On a small plan, where a proof is within reach, run two full
        # searches instead: its default one (with the linear relaxation), which finishes off
        # schedules, and one without any linear relaxation, whose cheaper nodes let it explore
        # (and refute) far more of the tree in the same time. On PSPLIB j30 this pair proves
        # five of the six optima that the pair with the bound-raising tree search (used
        # before) left open at 10 s, each in 4-9 s.
        solver.parameters.subsolvers.extend(["default_lp", "no_lp"])
        solver.parameters.num_full_subsolvers = 2
    status = _solve_interruptibly(solver, model)
    bound = math.ceil(solver.best_objective_bound - 1e-6)
    if status == cp_model.OPTIMAL:
        found = ExactStatus.OPTIMAL
    elif status == cp_model.FEASIBLE:
        found = ExactStatus.FEASIBLE
    else:
        found = ExactStatus.UNKNOWN
    if found is ExactStatus.UNKNOWN:  # (infeasible only when rounded durations made it so)
        return ExactResult(found, None, None, lower, time_limit, workers)
    start = tuple(int(solver.value(s)) for s in starts)
    value = int(solver.objective_value)
    if found is ExactStatus.OPTIMAL:
        bound = value
    return ExactResult(found, start, value, max(lower, bound), time_limit, workers)

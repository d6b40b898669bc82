"""Property tests of planning over random plans that use every resource kind.

Plans are generated as task-file data and loaded through :func:`parse_plan_text`, so the
loader's normalisation and sorting are part of what is tested. Conflicts are judged by the
independent oracle in ``tests/oracle.py``, never by the index under test.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from random import Random
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from oracle import accesses_conflict
from waveplan.graph import Graph
from waveplan.load import parse_plan_text
from waveplan.model import Mode, Plan, Slot, Task, id_sort_key
from waveplan.render.json import plan_json
from waveplan.resources.index import WRITE, PointKind, ResourceIndex
from waveplan.schedule import PlanAnalysis, analyse
from waveplan.schedule.advice import REPLAN_EFFORT, Action, apply_advice, replan
from waveplan.schedule.bounds import lower_bound
from waveplan.schedule.explain import WAIT_TOLERANCE
from waveplan.schedule.simulate import Simulation, simulate
from waveplan.schedule.waves import layer

ROOT = Path(__file__).resolve().parent.parent
SEED_EXAMPLE = ROOT / "examples" / "git-workflow.yaml"
EPSILON = 1e-9

# --- the vocabulary: small, so that random plans collide often ---------------------------------

FILE_PATHS = [
    "src/a.ts",
    "src/b.ts",
    "src/a.css",
    "src/sub/a.ts",
    "src/sub/c.py",
    "lib/a.py",
    "lib/x.py",
    "README.md",
    "docs/a.md",
]
FILE_DIRS = ["src/", "src/sub/", "lib/", "docs/", "./"]
FILE_GLOBS = [
    "src/*.ts",
    "src/**/*.ts",
    "**/*.py",
    "src/?.ts",
    "lib/[ab].py",
    "lib/[!a].py",
    "docs/**",
    "*.md",
    "src/*/a.ts",
    "**/a.*",
    "src/a*",
    "src/*.t?",
    "src/*/",
]
FILE_KEYS = FILE_PATHS + FILE_DIRS + FILE_GLOBS
STATE_KEYS = ["db", "db.users", "db.orders", "db.users.index", "cache", "cache.pages", "app"]
TEST_KEYS = [
    "tests/unit/",
    "tests/unit/test_a.py",
    "tests/integration/",
    "tests/**/test_*.py",
    "tests/*/test_a.py",
    "port:8080",
    "port:5432",
    "fixture:users",
    "src/a.ts",  # a test path that is also a file path: separate namespaces
]
DURATIONS = [0, 0.1, 0.25, 0.3, 0.5, 1, 1, 1, 1.5, 2, 3, 7]
ID_PREFIXES = ["t", "task-", "x"]

ACCESS_FIELDS = {
    "files": FILE_KEYS,
    "reads": FILE_KEYS,
    "state": STATE_KEYS,
    "state_reads": STATE_KEYS,
    "tests": TEST_KEYS,
    "test_reads": TEST_KEYS,
}


HOT_FILES = ["src/hot.ts", "src/hot.ts", "src/other.ts", "src/", "src/*.ts"]
HOT_FIELDS = {
    "files": HOT_FILES,
    "reads": HOT_FILES,
    "state": ["db.users", "db"],
    "state_reads": ["db.users"],
    "tests": ["port:8080"],
    "test_reads": ["tests/"],
}
"""A few hot spots, so that splitting, extracting or isolating one of them pays off."""

TWO_FORM_FIELDS = {
    "files": [f"src/p{k}/m{i}.py" for k in (1, 2) for i in (1, 2, 3)] + ["src/p1/"],
    "reads": ["src/", "src/**/*.py", "src/p1/", "src/*/m1.py", "src/p2/m2.py"],
    "state": ["db.s1.t1", "db.s1.t2", "db.s2.t1", "db.s1"],
    "state_reads": ["db", "db.s1", "db.s2"],
}
"""One tree read in several forms (the folder, globs, a folder below; db, db.s1) and written
below: a writer there is blocked by readers of each form in turn."""


@st.composite
def plan_docs(
    draw: st.DrawFn,
    min_tasks: int = 5,
    max_tasks: int = 40,
    fields: dict[str, list[str]] = ACCESS_FIELDS,
) -> dict[str, Any]:
    """Task-file data of a random valid plan: a random DAG over unique ids, random accesses
    of every kind, durations including 0 and fractions, counted resources, maybe a worker
    limit. Tasks are listed in a random topological order."""
    count = draw(st.integers(min_tasks, max_tasks))
    prefix = draw(st.sampled_from(ID_PREFIXES))
    numbers = draw(st.lists(st.integers(0, 300), min_size=count, max_size=count, unique=True))
    ids = [f"{prefix}{n}" for n in numbers]  # in topological order
    capacities = {
        "db-connections": draw(st.integers(1, 3)),
        "gpu": draw(st.integers(1, 2)),
    }
    sparsity = draw(st.sampled_from([2, 4, 8]))  # dense plans collide everywhere, sparse ones
    tasks: list[dict[str, Any]] = []  # have single hot spots that advice can remove
    for position, task_id in enumerate(ids):
        task: dict[str, Any] = {"id": task_id}
        if position:
            deps = draw(st.lists(st.integers(0, position - 1), max_size=3, unique=True))
            if deps:
                task["depends"] = [ids[d] for d in deps]
        for field, keys in fields.items():
            chosen = draw(st.lists(st.sampled_from(keys), max_size=2, unique=True))
            if chosen and draw(st.integers(0, sparsity)) == 0:
                task[field] = chosen
        uses = {
            name: draw(st.integers(1, capacity))
            for name, capacity in capacities.items()
            if draw(st.integers(0, sparsity + 1)) == 0
        }
        if uses:
            task["uses"] = uses
        task["duration"] = draw(st.sampled_from(DURATIONS))
        tasks.append(task)
    doc: dict[str, Any] = {"resources": capacities, "tasks": tasks}
    workers = draw(st.none() | st.integers(1, 4))
    if workers is not None:
        doc["workers"] = workers
    return doc


def load(doc: dict[str, Any], *, fmt: str = "json") -> Plan:
    """Load task-file data through the real loader, from JSON or YAML text."""
    if fmt == "yaml":
        return parse_plan_text(yaml.safe_dump(doc, sort_keys=False), name="plan.yaml")
    return parse_plan_text(json.dumps(doc), name="plan.json")


# --- checks shared by the properties ------------------------------------------------------------


def definitely_conflict(first: Task, second: Task) -> bool:
    """True when the oracle finds a certain conflict between two tasks' accesses."""
    return any(accesses_conflict(a, b) for a in first.accesses for b in second.accesses)


def amounts(task: Task) -> dict[str, int]:
    """Counted-resource amounts of one task."""
    found: dict[str, int] = {}
    for access in task.accesses:
        if access.mode is Mode.AMOUNT:
            found[access.key] = found.get(access.key, 0) + access.amount
    return found


def overlap_in_time(a: Slot, b: Slot) -> bool:
    """True when two slots share a stretch of positive length."""
    return max(a.start, b.start) < min(a.end, b.end) - EPSILON


def active_at(slots: Iterable[Slot], instant: float) -> list[Slot]:
    """Slots running over ``[instant, instant + epsilon)`` (zero-length slots never are)."""
    return [s for s in slots if s.start <= instant + EPSILON and s.end > instant + EPSILON]


def check_schedule(plan: Plan, schedule: Sequence[Slot]) -> None:
    """Assert that a schedule respects every rule of the plan."""
    tasks = {t.id: t for t in plan.tasks}
    slots = {s.task: s for s in schedule}
    assert sorted(slots) == sorted(tasks)
    for task in plan.tasks:
        slot = slots[task.id]
        assert slot.start >= -EPSILON
        assert slot.end - slot.start == pytest.approx(task.duration, abs=EPSILON)
        for dep in task.depends:
            assert slot.start >= slots[dep].end - EPSILON, f"{task.id} starts before {dep} ends"
    ordered = sorted(schedule, key=lambda s: s.start)
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 :]:
            if b.start >= a.end - EPSILON:
                continue
            if overlap_in_time(a, b):
                assert not definitely_conflict(tasks[a.task], tasks[b.task]), (
                    f"{a.task} and {b.task} conflict but overlap in time"
                )
                if a.worker == b.worker:
                    pytest.fail(f"worker {a.worker} runs {a.task} and {b.task} at once")
    for instant in sorted({s.start for s in schedule}):
        running = active_at(schedule, instant)
        if plan.workers is not None:
            assert len(running) <= plan.workers, f"{len(running)} tasks at {instant}"
        used: dict[str, int] = {}
        for slot in running:
            for name, amount in amounts(tasks[slot.task]).items():
                used[name] = used.get(name, 0) + amount
        for name, total in used.items():
            assert total <= plan.capacities[name], f"{name} over capacity at {instant}"
    if plan.workers is not None:
        assert all(0 <= s.worker < plan.workers for s in schedule)


def check_waves(plan: Plan, waves: Sequence[Sequence[str]]) -> None:
    """Assert that practical waves are a valid wave-by-wave plan."""
    tasks = {t.id: t for t in plan.tasks}
    flat = [task_id for wave in waves for task_id in wave]
    assert sorted(flat) == sorted(tasks), "every task exactly once"
    wave_of = {task_id: n for n, wave in enumerate(waves) for task_id in wave}
    for n, wave in enumerate(waves):
        assert wave, "no empty wave"
        if plan.workers is not None:
            assert len(wave) <= plan.workers
        used: dict[str, int] = {}
        for i, first in enumerate(wave):
            for dep in tasks[first].depends:
                assert wave_of[dep] < n, f"{first} is in wave {n} with its dependency {dep}"
            for name, amount in amounts(tasks[first]).items():
                used[name] = used.get(name, 0) + amount
            for second in wave[i + 1 :]:
                assert not definitely_conflict(tasks[first], tasks[second]), (
                    f"{first} and {second} conflict in wave {n}"
                )
        for name, total in used.items():
            assert total <= plan.capacities[name], f"{name} over capacity in wave {n}"


# --- the properties -------------------------------------------------------------------------

PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
KNOWN_FAILURE_SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: it is known to fail
)


@PROPERTY_SETTINGS
@given(plan_docs() | plan_docs(max_tasks=60, fields=TWO_FORM_FIELDS))
def test_every_schedule_respects_dependencies_conflicts_capacities_and_workers(
    doc: dict[str, Any],
) -> None:
    """The practical schedule keeps dependencies, conflicts, read/write rules, capacities,
    the worker limit and lanes, and runs each task for exactly its duration."""
    plan = load(doc)
    check_schedule(plan, analyse(plan).schedule)


@PROPERTY_SETTINGS
@given(plan_docs())
def test_practical_waves_are_valid(doc: dict[str, Any]) -> None:
    """Practical waves hold every task once, after its dependencies, with no conflicting pair,
    no over-capacity set and no more tasks than workers in one wave."""
    plan = load(doc)
    check_waves(plan, analyse(plan).practical_waves)


@PROPERTY_SETTINGS
@given(plan_docs(min_tasks=1, max_tasks=60, fields={}))
def test_each_task_takes_the_first_wave_with_room(doc: dict[str, Any]) -> None:
    """Layering skips full waves (no worker, no amount left) in one step; it must still put
    each task in the first wave after its dependencies with room for it. With counted
    resources and workers only, nothing else can hold a task back."""
    plan = load(doc)
    graph = Graph.from_plan(plan)
    index = ResourceIndex.build(plan)
    order = simulate(graph, index, workers=plan.workers).order
    wave = layer(graph, index, order, plan.workers)
    need = [amounts(task) for task in sorted(plan.tasks, key=lambda t: graph.index[t.id])]
    capacity = plan.capacities
    members: dict[int, list[int]] = {}
    for task in order:  # the waves as they were when each task was placed
        floor = max((wave[p] + 1 for p in graph.preds[task]), default=0)
        needs = need[task]
        for earlier in range(floor, wave[task] + 1):
            placed = members.get(earlier, [])
            used = {name: sum(need[t].get(name, 0) for t in placed) for name in needs}
            room = (plan.workers is None or len(placed) < plan.workers) and all(
                used[name] + amount <= capacity[name] for name, amount in needs.items()
            )
            assert room == (earlier == wave[task]), (graph.ids[task], earlier, wave[task])
        members.setdefault(wave[task], []).append(task)


@PROPERTY_SETTINGS
@given(plan_docs())
def test_figures_are_ordered(doc: dict[str, Any]) -> None:
    """theoretical <= lower bound <= practical <= sequential, and the wave-by-wave figure is
    no shorter than the lower bound either."""
    analysis = analyse(load(doc))
    assert analysis.lower_bound.value >= analysis.theoretical - EPSILON
    assert analysis.practical >= analysis.lower_bound.value - EPSILON
    assert analysis.practical_waves_makespan >= analysis.lower_bound.value - EPSILON
    assert analysis.sequential >= analysis.practical - EPSILON
    assert analysis.practical == pytest.approx(max(s.end for s in analysis.schedule))
    assert analysis.optimal == (analysis.practical <= analysis.lower_bound.value + EPSILON)


COUNTED_WAKE_DOC: dict[str, Any] = {
    "resources": {"db-connections": 2},
    "tasks": [
        {"id": "t0", "uses": {"db-connections": 2}},
        {"id": "t9", "uses": {"db-connections": 1}},
        {"id": "t10", "uses": {"db-connections": 2}},
        {"id": "t11", "uses": {"db-connections": 1}},
    ],
}
"""t0 runs first; when it ends, t9 starts and t10 (woken first) parks again, so t11 is never
woken: practical 4, although the waves [t0], [t9, t11], [t10] take 3."""

FILE_ORDER_DOC: dict[str, Any] = {
    "tasks": [{"id": "a", "files": ["x.txt", "y.txt"]}, {"id": "b", "files": ["x.txt", "y.txt"]}]
}
"""Two writers of two files: reversing the list renames the serialization point."""


@KNOWN_FAILURE_SETTINGS
@example(doc=COUNTED_WAKE_DOC)
@given(plan_docs())
def test_practical_is_no_longer_than_wave_by_wave(doc: dict[str, Any]) -> None:
    """The barrier-free practical schedule is never slower than the practical waves."""
    analysis = analyse(load(doc))
    assert analysis.practical_waves_makespan >= analysis.practical - EPSILON


def slots_of(graph: Graph, sim: Simulation) -> list[Slot]:
    """A simulation's schedule as slots."""
    return [Slot(graph.ids[i], sim.start[i], sim.end[i], sim.worker[i]) for i in range(len(graph))]


@PROPERTY_SETTINGS
@given(
    plan_docs(max_tasks=20) | plan_docs(max_tasks=30, fields=TWO_FORM_FIELDS),
    st.randoms(use_true_random=False),
)
def test_any_priority_gives_a_valid_schedule_within_the_lower_bound(
    doc: dict[str, Any], rng: Any
) -> None:
    """Whatever the priorities, the scheduler's schedule is valid and no shorter than the
    lower bound (which must hold for every schedule, not only the practical one)."""
    plan = load(doc)
    graph = Graph.from_plan(plan)
    index = ResourceIndex.build(plan)
    bound = lower_bound(graph, index, plan.workers).value
    for _ in range(4):
        priority = [float(rng.randint(0, 3)) for _ in range(len(graph))]
        sim = simulate(graph, index, workers=plan.workers, priority=priority)
        check_schedule(plan, slots_of(graph, sim))
        assert sim.makespan >= bound - EPSILON


@PROPERTY_SETTINGS
@given(plan_docs())
def test_running_the_practical_waves_with_barriers_takes_their_makespan(
    doc: dict[str, Any],
) -> None:
    """Barrier mode over the practical waves gives a valid schedule whose makespan is the
    reported wave-by-wave figure, and no task starts before its wave does."""
    plan = load(doc)
    analysis = analyse(plan)
    graph = Graph.from_plan(plan)
    index = ResourceIndex.build(plan)
    wave_of = {task_id: n for n, wave in enumerate(analysis.practical_waves) for task_id in wave}
    numbers = [wave_of[task_id] for task_id in graph.ids]
    sim = simulate(graph, index, workers=plan.workers, waves=numbers)
    check_schedule(plan, slots_of(graph, sim))
    assert sim.makespan == pytest.approx(analysis.practical_waves_makespan, abs=EPSILON)
    for a in range(len(graph)):
        for b in range(len(graph)):
            if numbers[a] < numbers[b]:
                assert sim.start[b] >= sim.end[a] - EPSILON


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    plan_docs(max_tasks=25)
    | plan_docs(max_tasks=20, fields=HOT_FIELDS)
    | plan_docs(max_tasks=20, fields=TWO_FORM_FIELDS)
)
def test_advice_makespans_are_achievable(doc: dict[str, Any]) -> None:
    """Replanning with each advice applied, with the replan effort, gives exactly the makespan
    the advice promises (and with the default effort at most that); every serialization cost
    is non-negative."""
    plan = load(doc)
    analysis = analyse(plan)
    for point in analysis.serialization:
        assert point.cost is None or point.cost >= 0
        assert point.wait > 0
    for number, advice in enumerate(analysis.advice):
        assert advice.makespan < analysis.practical - EPSILON
        assert advice.gain == pytest.approx(analysis.practical - advice.makespan)
        changed = apply_advice(plan, advice)
        replanned = analyse(changed, effort=REPLAN_EFFORT)
        assert replanned.practical == pytest.approx(advice.makespan, abs=EPSILON), advice
        if not number:  # the longer search starts where the replan effort stops
            assert analyse(changed).practical <= advice.makespan + EPSILON


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan_docs(max_tasks=30, fields={}).filter(lambda doc: "workers" in doc))
def test_more_workers_advice_names_the_fewest_that_reach_its_makespan(doc: dict[str, Any]) -> None:
    """The largest worker count advised replans shorter than one worker fewer (more than one
    worker added), and no longer than the peak of the unlimited replan would."""
    plan = load(doc)
    assert plan.workers is not None
    counts = [a for a in analyse(plan).advice if a.action is Action.ADD_WORKERS]
    if not counts:
        return
    fewest = max(counts, key=lambda a: a.value or 0)
    assert fewest.value is not None
    graph, index = Graph.from_plan(plan), ResourceIndex.build(plan)
    free = replan(graph, index, None).simulation
    peak = max(free.worker, default=0) + 1
    assert fewest.value <= max(peak, plan.workers + 1)
    assert fewest.makespan == replan(graph, index, fewest.value).simulation.makespan
    if fewest.value > plan.workers + 1:
        fewer = replan(graph, index, fewest.value - 1).simulation.makespan
        assert fewer > fewest.makespan + EPSILON


@PROPERTY_SETTINGS
@given(plan_docs())
def test_reported_waits_are_longer_than_rounding(doc: dict[str, Any]) -> None:
    """Every wait and serialization point reported is longer than the rounding tolerance of
    the plan's times, though the scheduler may have seen shorter ones."""
    analysis = analyse(load(doc))
    tolerance = WAIT_TOLERANCE * analysis.practical
    assert all(delay.duration > tolerance for delay in analysis.delays)
    assert all(point.wait > tolerance for point in analysis.serialization)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan_docs() | plan_docs(fields=TWO_FORM_FIELDS), st.randoms(use_true_random=False))
def test_planning_ignores_the_order_tasks_are_listed_in(doc: dict[str, Any], rng: Any) -> None:
    """Shuffled, reversed-id-order and mapping-form task files give byte-identical JSON."""
    expected = plan_json(analyse(load(doc)))
    shuffled = dict(doc, tasks=rng.sample(doc["tasks"], len(doc["tasks"])))
    assert plan_json(analyse(load(shuffled, fmt="yaml"))) == expected
    by_id = sorted(doc["tasks"], key=lambda t: id_sort_key(t["id"]), reverse=True)
    reversed_doc = dict(doc, tasks=by_id)
    assert plan_json(analyse(load(reversed_doc))) == expected
    mapping = {t["id"]: {k: v for k, v in t.items() if k != "id"} for t in reversed_doc["tasks"]}
    assert plan_json(analyse(load(dict(doc, tasks=mapping), fmt="yaml"))) == expected


def _shuffle_lists(doc: dict[str, Any], rng: Any) -> dict[str, Any]:
    """The same plan with every list inside each task (accesses, dependencies) shuffled and
    the ``uses`` mapping reversed."""
    tasks = []
    for task in doc["tasks"]:
        changed = {}
        for key, value in task.items():
            if isinstance(value, list):
                changed[key] = rng.sample(value, len(value))
            elif isinstance(value, dict):
                changed[key] = dict(reversed(list(value.items())))
            else:
                changed[key] = value
        tasks.append(changed)
    return dict(doc, tasks=tasks)


@KNOWN_FAILURE_SETTINGS
@example(doc=FILE_ORDER_DOC, rng=Random(1))
@given(plan_docs(), st.randoms(use_true_random=False))
def test_planning_ignores_the_order_of_lists_inside_tasks(doc: dict[str, Any], rng: Any) -> None:
    """Shuffling each task's access and dependency lists gives byte-identical JSON."""
    expected = plan_json(analyse(load(doc)))
    assert plan_json(analyse(load(_shuffle_lists(doc, rng)))) == expected


# --- the schedule starts each task as soon as it may ------------------------------------------


@cache
def _overlapping(index: ResourceIndex, point: int) -> frozenset[int]:
    return frozenset(index.overlapping(point)) | {point}


def _index_conflict(index: ResourceIndex, first: int, second: int) -> bool:
    """Whether two tasks conflict by the index's own rules (amounts aside)."""
    for p, mode_p, _ in index.claims[first]:
        if index.kinds[p] is PointKind.COUNTED:
            continue
        for q, mode_q, _ in index.claims[second]:
            if index.kinds[q] is PointKind.COUNTED or WRITE not in (mode_p, mode_q):
                continue
            if q in _overlapping(index, p):
                return True
    return False


def idle_starts(plan: Plan, analysis: PlanAnalysis) -> list[tuple[str, float]]:
    """Tasks that sat ready while nothing that ran kept them from starting:
    ``(task, instant)`` where a worker was free, their dependencies had finished, no running
    task conflicted with them (by the index's rules) and their amounts fitted."""
    index = ResourceIndex.build(plan)
    order = {t.id: i for i, t in enumerate(plan.tasks)}
    slots = {s.task: s for s in analysis.schedule}
    instants = sorted({0.0} | {s.end for s in analysis.schedule})
    after = analysis.policy.after if analysis.policy is not None else ()
    found: list[tuple[str, float]] = []
    for task in plan.tasks:
        slot = slots[task.id]
        ready = max((slots[d].end for d in task.depends), default=0.0)
        planned_before = [plan.tasks[k].id for k, _ in after[order[task.id]]] if after else []
        for instant in instants:
            if instant < ready - EPSILON or instant >= slot.start - EPSILON:
                continue
            if any(slots[k].start > instant + EPSILON for k in planned_before):
                continue  # held back by the planned order: a task before it has not started
            running = active_at(analysis.schedule, instant)
            if plan.workers is not None and len(running) >= plan.workers:
                continue
            if any(_index_conflict(index, order[task.id], order[r.task]) for r in running):
                continue
            used = amounts(task)
            for other in running:
                for name, amount in amounts(plan.task(other.task)).items():
                    used[name] = used.get(name, 0) + amount
            if any(used.get(n, 0) > c for n, c in plan.capacities.items()):
                continue
            found.append((task.id, instant))
            break
    return found


@KNOWN_FAILURE_SETTINGS
@example(doc=COUNTED_WAKE_DOC)
@given(plan_docs() | plan_docs(max_tasks=60, fields=TWO_FORM_FIELDS))
def test_no_task_sits_idle_when_it_could_start(doc: dict[str, Any]) -> None:
    """The schedule is barrier-free: a task starts as soon as its dependencies, its
    resources, a worker and its planned order allow (DESIGN: 'a task starts as soon as it
    may'; the planned order is the sequence of the practical schedule's policy)."""
    plan = load(doc)
    assert idle_starts(plan, analyse(plan)) == []


# --- determinism across processes ---------------------------------------------------------------

RICH_PLAN = {
    "name": "every resource kind",
    "workers": 3,
    "resources": {"db-connections": 2, "gpu": 1},
    "tasks": [
        {"id": "t1", "files": ["src/state.ts"], "state": ["db"], "duration": 2},
        {"id": "t2", "depends": ["t1"], "files": ["src/*.ts"], "reads": ["lib/"]},
        {"id": "t3", "depends": ["t1"], "files": ["src/a.ts"], "tests": ["port:8080"]},
        {"id": "t4", "depends": ["t1"], "files": ["src/**/*.ts"], "state_reads": ["db.users"]},
        {"id": "t5", "depends": ["t1"], "files": ["src/a*"], "uses": {"gpu": 1}},
        {"id": "t6", "depends": ["t2"], "state": ["db.users"], "uses": {"db-connections": 2}},
        {"id": "t7", "depends": ["t2"], "tests": ["tests/unit/", "port:8080"], "duration": 0.5},
        {"id": "t8", "depends": ["t3"], "test_reads": ["tests/**/test_*.py"], "uses": {"gpu": 1}},
        {"id": "t9", "files": ["lib/x.py", "x/?"], "uses": {"db-connections": 1}, "duration": 3},
        {"id": "t10", "files": ["x/??", "docs/"], "state": ["cache"], "duration": 1.5},
        {"id": "t11", "depends": ["t6", "t7", "t8"], "reads": ["./"], "duration": 0},
    ],
}


def _plan_in_subprocess(path: Path, seed: str) -> bytes:
    env = dict(os.environ, PYTHONHASHSEED=seed)
    done = subprocess.run(
        [sys.executable, "-m", "waveplan", "plan", str(path), "--format", "json"],
        capture_output=True,
        check=True,
        env=env,
        cwd=ROOT,
    )
    return done.stdout


@pytest.mark.parametrize("which", ["seed", "rich"])
def test_plan_json_does_not_depend_on_the_hash_seed(which: str, tmp_path: Path) -> None:
    """``waveplan plan --format json`` is byte-identical under PYTHONHASHSEED=0 and 123."""
    if which == "seed":
        path = SEED_EXAMPLE
    else:
        path = tmp_path / "rich.yaml"
        path.write_text(yaml.safe_dump(RICH_PLAN, sort_keys=False), encoding="utf-8")
    first = _plan_in_subprocess(path, "0")
    assert first == _plan_in_subprocess(path, "123")
    data = json.loads(first)
    if which == "rich":
        assert any(c["conservative"] for c in data["conflicts"])
        assert data["makespan"]["practical"] >= data["makespan"]["lower_bound"]
        assert math.isfinite(data["makespan"]["practical"])

"""Tests of the schedule search: efforts, policies and their replay, plan/run agreement."""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oracle import NO, YES, conflict_verdict
from test_schedule_properties import HOT_FIELDS, check_schedule, load, plan_docs, slots_of
from waveplan.cli import main
from waveplan.graph import Graph, tails
from waveplan.load import load_plan, parse_plan_text
from waveplan.model import Plan
from waveplan.render.json import plan_json
from waveplan.resources.index import ResourceIndex
from waveplan.run.fake import FakeExecutor
from waveplan.run.runner import Runner, RunOptions
from waveplan.schedule import analyse
from waveplan.schedule.analysis import practical_policy
from waveplan.schedule.bounds import LowerBound, lower_bound
from waveplan.schedule.instance import FamilyKind, Instance
from waveplan.schedule.scheduler import Policy, Scheduler, Status
from waveplan.schedule.search import (
    BUDGET,
    SEARCH_GRID,
    Effort,
    Method,
    _Search,
    plan_schedule,
    policy_from_starts,
)
from waveplan.schedule.simulate import simulate

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data" / "psplib"
EPSILON = 1e-9


def make_plan(tasks: list[dict[str, Any]], **top: Any) -> Plan:
    """A plan from task-file data, through the real loader."""
    return parse_plan_text(json.dumps({**top, "tasks": tasks}), name="plan.json")


LPT = make_plan(
    [
        {"id": "a", "duration": 3},
        {"id": "b", "duration": 3},
        {"id": "c", "duration": 2},
        {"id": "d", "duration": 2},
        {"id": "e", "duration": 2},
    ],
    workers=2,
)
"""Longest first on two workers takes 7 (a b | c d | e); a+b and c+d+e take 6, the bound."""


# --- the search --------------------------------------------------------------------------------


def test_the_search_finds_what_the_critical_path_rule_misses() -> None:
    """The critical-path rule takes 7 on LPT; the search finds 6 and proves it optimal."""
    assert simulate(Graph.from_plan(LPT), ResourceIndex.build(LPT), workers=2).makespan == 7.0
    analysis = analyse(LPT)
    assert analysis.practical == 6.0
    assert analysis.optimal
    assert analysis.method is not Method.CRITICAL_PATH
    assert analysis.policy is not None


def test_a_plan_the_rule_already_solves_keeps_the_default_policy() -> None:
    """When the critical-path pass meets the lower bound, nothing else is tried."""
    plan = make_plan([{"id": "a", "files": ["x"]}, {"id": "b", "files": ["x"]}])
    analysis = analyse(plan)
    assert analysis.method is Method.CRITICAL_PATH
    assert analysis.policy is None
    assert analysis.schedules == 1


@pytest.mark.parametrize("name", ["j301_1", "j3037_5", "j601_1"])
def test_more_effort_is_never_worse(name: str) -> None:
    """thorough <= default <= fast <= the critical-path pass, on PSPLIB instances."""
    plan = load_plan(DATA / f"{name}.sm")
    single = simulate(Graph.from_plan(plan), ResourceIndex.build(plan)).makespan
    fast = analyse(plan, effort=Effort.FAST).practical
    default = analyse(plan).practical
    assert default <= fast <= single
    if name == "j301_1":
        assert analyse(plan, effort=Effort.THOROUGH).practical <= default
        assert default == 43.0  # the known optimum


def _keeps(plan: Plan, keep: Effort, deadline: float) -> None:
    """A thorough search that keeps ``keep`` is never worse than ``keep`` alone, and on a tie
    settles on the same schedule."""
    graph, index = Graph.from_plan(plan), ResourceIndex.build(plan)
    lighter = plan_schedule(graph, index, plan.workers, effort=keep)
    deeper = plan_schedule(
        graph, index, plan.workers, effort=Effort.THOROUGH, keep=keep, deadline=deadline
    )
    check_schedule(plan, slots_of(graph, deeper.simulation))
    assert deeper.simulation.makespan <= lighter.simulation.makespan
    if deeper.simulation.makespan == lighter.simulation.makespan:
        assert deeper.simulation.start == lighter.simulation.start
    assert deeper.schedules >= lighter.schedules


@pytest.mark.parametrize("name", ["j301_1", "j3013_1", "j3037_5", "j601_1"])
@pytest.mark.parametrize("keep", [Effort.FAST, Effort.DEFAULT])
def test_a_deeper_search_keeps_what_the_lighter_effort_finds(name: str, keep: Effort) -> None:
    """The exact mode's hint search (thorough, keeping the default, cut by a deadline) is never
    worse than the default effort, whether the deadline has passed already or never comes."""
    plan = load_plan(DATA / f"{name}.sm")
    _keeps(plan, keep, deadline=0.0)
    _keeps(plan, keep, deadline=math.inf)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan_docs(max_tasks=25))
def test_a_deeper_search_keeps_the_default_on_any_plan(doc: dict[str, Any]) -> None:
    """The same on random plans with every resource kind."""
    plan = load(doc)
    _keeps(plan, Effort.DEFAULT, deadline=0.0)
    _keeps(plan, Effort.DEFAULT, deadline=math.inf)


def test_huge_plans_get_the_single_pass() -> None:
    """A plan too large for a few dozen passes of its effort is planned in one pass."""
    plan = make_plan([{"id": f"t{i}", "files": [f"f{i % 50}"]} for i in range(2600)])
    graph, index = Graph.from_plan(plan), ResourceIndex.build(plan)
    planned = plan_schedule(graph, index, None, effort=Effort.FAST)
    assert planned.method is Method.CRITICAL_PATH
    assert planned.schedules == 1
    assert planned.policy is None


def test_a_search_on_a_rounded_grid_stops_at_the_grid_bound() -> None:
    """Measured durations (a second run's) are rounded onto the search's grid; once a grid
    schedule reaches the bound on that grid the search stops, instead of spending its whole
    budget on rounding noise (1000 learnt durations on 2 workers took 6 s, now a few passes)."""
    rng = random.Random(1)
    plan = make_plan(
        [{"id": f"t{i}", "duration": round(rng.uniform(0.0008, 0.002), 6)} for i in range(300)],
        workers=2,
    )
    graph, index = Graph.from_plan(plan), ResourceIndex.build(plan)
    bound = lower_bound(graph, index, 2).value
    assert not Instance.build(graph, index, 2, grid_limit=SEARCH_GRID).exact
    planned = plan_schedule(graph, index, 2, lower=bound)
    assert planned.schedules > 1  # the search ran...
    assert planned.work < BUDGET[Effort.DEFAULT] // 20  # ...and stopped early
    assert planned.simulation.makespan <= bound * 1.01


def test_a_search_keeps_to_its_budget_when_each_pass_is_dear() -> None:
    """Each task writes its own file under src/ and reads src/: every task is in every file's
    family, so a try checks n locks. Charged for them, the fast effort stays near its budget
    (it spent 37 times its budget on such plans: each try counted one unit, and the
    priority-rule passes never looked at what was left)."""
    n = 120
    plan = make_plan(
        [{"id": f"t{i}", "files": [f"src/m{i}.py"], "reads": ["src/"]} for i in range(n)]
    )
    graph, index = Graph.from_plan(plan), ResourceIndex.build(plan)
    bound = lower_bound(graph, index, None).value
    planned = plan_schedule(graph, index, None, effort=Effort.FAST, lower=bound)
    assert planned.work < 2 * BUDGET[Effort.FAST]


def test_a_search_whose_replays_spend_its_budget_returns_their_best() -> None:
    """The critical-path and latest-finish replays of a plan whose tasks wait on each other
    thousands of times can spend the whole budget before any rule gets a serial pass: the
    genetic search then had no population to start from and crashed (min() of an empty
    sequence, on a 4,000-task agent plan). The search returns the best replay."""
    plan = make_plan(
        [
            {"id": f"t{i}", "duration": 1 + i % 3, "files": [f"src/m{i}.py"], "reads": ["src/"]}
            for i in range(12)
        ]
    )
    graph, index = Graph.from_plan(plan), ResourceIndex.build(plan)
    base = simulate(graph, index, workers=None)
    search = _Search(
        graph,
        index,
        workers=None,
        instance=Instance.build(graph, index, None),
        budget=1,
        lower=None,
        base=base,
        seeds=(),
        effort=Effort.DEFAULT,
    )
    planned = search.run()
    assert planned.simulation.makespan <= base.makespan
    check_schedule(plan, slots_of(graph, planned.simulation))


def test_a_replay_is_charged_the_work_its_scheduler_counted() -> None:
    """A replay costs three units per task, dependency and claim when nobody waits, and more
    for the wake-ups and rooms of tasks waiting on each other: counted by the scheduler, not
    timed, so the same whatever the machine or the order of the input (the search charged
    the waits a replay recorded, and tasks waiting in rooms record few)."""
    free = make_plan([{"id": "a", "files": ["x"]}, {"id": "b", "depends": ["a"], "files": ["y"]}])
    assert simulate(Graph.from_plan(free), ResourceIndex.build(free)).work == 3 * (2 + 1 + 2)
    tasks = [
        {
            "id": f"t{i}",
            "duration": 1 + i % 3,
            "files": [f"src/m{i}.py"],
            "reads": ["src/" if i % 4 == 1 else "src/**/*.py"] if i % 2 else [],
        }
        for i in range(40)
    ]
    plan, reversed_plan = make_plan(tasks), make_plan(tasks[::-1])
    graph, index = Graph.from_plan(plan), ResourceIndex.build(plan)
    sim = simulate(graph, index)
    assert sim.work > 2 * 3 * (40 + 60)  # over twice 3 per task and claim
    assert (
        sim.work
        == simulate(Graph.from_plan(reversed_plan), ResourceIndex.build(reversed_plan)).work
    )
    search = _Search(
        graph,
        index,
        workers=None,
        instance=Instance.build(graph, index, None),
        budget=BUDGET[Effort.FAST],
        lower=None,
        base=sim,
        seeds=(),
        effort=Effort.FAST,
    )
    replayed = search.replay(Policy(tails(graph)))
    assert replayed.work == sim.work
    assert search.left == BUDGET[Effort.FAST] - sim.work


def test_a_pass_is_charged_each_start_it_tries() -> None:
    """Three writers of one file (2, 3 and 2 units) placed in that order: a fits at 0 (one
    try); b is tried at 0, then just past a, at 2; c at 0, then past the whole busy run that
    a and b make, at 5 (not at 2 and 4 on the way, one hop per window). The pass costs its
    static size plus those five tries, each 1 unit and 1 more per lock the task checks."""
    plan = make_plan(
        [{"id": i, "duration": d, "files": ["x"]} for i, d in (("a", 2), ("b", 3), ("c", 2))]
    )
    graph, index = Graph.from_plan(plan), ResourceIndex.build(plan)
    instance = Instance.build(graph, index, None)
    search = _Search(
        graph,
        index,
        workers=None,
        instance=instance,
        budget=1000,
        lower=None,
        base=simulate(graph, index, workers=None),
        seeds=(),
        effort=Effort.DEFAULT,
    )
    placed = search.serial([0, 1, 2])
    assert placed is not None and placed[0] == [0, 2, 5]
    assert search.left == 1000 - search.pass_cost - 5 * (1 + 1)


NESTED_FIELDS = {
    "files": ["src/a.ts", "src/b.ts", "src/x/c.ts", "src/x/", "src/*.ts"],
    "reads": ["src/", "src/x/", "src/a.ts", "./"],
    "state": ["db.users", "db.orders", "db"],
    "state_reads": ["db", "db.users"],
    "tests": ["tests/unit/a.py", "port:8080"],
    "test_reads": ["tests/", "tests/unit/"],
}
"""Folders and state read over what others write below them, at every depth."""


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        plan_docs(max_tasks=16),
        plan_docs(max_tasks=16, fields=HOT_FIELDS),
        plan_docs(max_tasks=16, fields=NESTED_FIELDS),
    )
)
def test_the_instance_forbids_exactly_the_conflicts_of_the_plan(doc: dict[str, Any]) -> None:
    """Two tasks share a lock family that keeps them apart exactly when some access of one
    certainly conflicts with an access of the other (pairs of globs the oracle cannot decide
    may go either way)."""
    plan = load(doc)
    graph, index = Graph.from_plan(plan), ResourceIndex.build(plan)
    instance = Instance.build(graph, index, None)
    apart: set[tuple[int, int]] = set()
    for family in instance.families:
        if not family.modes:
            continue
        for a in range(len(family.tasks)):
            for b in range(a + 1, len(family.tasks)):
                if family.conflict(a, b):
                    pair = sorted((family.tasks[a], family.tasks[b]))
                    apart.add((pair[0], pair[1]))
    tasks = {t.id: t for t in plan.tasks}
    for a in range(len(graph)):
        for b in range(a + 1, len(graph)):
            first, second = tasks[graph.ids[a]], tasks[graph.ids[b]]
            verdicts = {conflict_verdict(x, y) for x in first.accesses for y in second.accesses}
            if YES in verdicts:
                assert (a, b) in apart, (first.id, second.id)
            elif verdicts <= {NO}:
                assert (a, b) not in apart, (first.id, second.id)


@pytest.mark.parametrize(
    ("read", "folder", "reason"),
    [
        ("src/", "src", "src/ is read while others write below it"),
        ("src/**/*.py", "src/p{group}", "src/**/*.py is read while others write what it matches"),
    ],
)
def test_a_tree_read_over_files_written_into_it_is_one_family(
    read: str, folder: str, reason: str
) -> None:
    """Each of 60 tasks reads a folder or a glob and writes its own file in it: every two
    conflict, which is one nested family of 60 states (not a family per written file, which
    made each reader check 60 locks a try and starved the search on agent-shaped plans), and
    both bounds see it."""
    plan = make_plan(
        [
            {
                "id": f"t{i}",
                "duration": 1 + i % 3,
                "files": [f"{folder.format(group=i % 4)}/m{i}.py"],
                "reads": [read],
            }
            for i in range(60)
        ]
    )
    graph, index = Graph.from_plan(plan), ResourceIndex.build(plan)
    instance = Instance.build(graph, index, None)
    assert [(f.kind, len(f.tasks)) for f in instance.families] == [(FamilyKind.NESTED, 60)]
    work = sum(t.duration for t in plan.tasks)
    assert instance.bound() == work
    bound = lower_bound(graph, index, None)
    assert bound.value == work
    assert bound.reason == reason
    assert analyse(plan).practical == work


def test_tasks_reading_two_forms_of_a_tree_and_writing_into_it_bound_the_makespan() -> None:
    """Half the tasks read src/ and half src/**/*.py, and each writes its own .py file in
    src/: every two exclude each other (one reads what the other writes), which neither
    point's bound sees alone, and together they prove the serial schedule optimal. A task
    that only reads stays out of the group."""
    tasks: list[dict[str, Any]] = [
        {
            "id": f"t{i}",
            "duration": 1 + i % 3,
            "files": [f"src/p{i % 4}/m{i}.py"],
            "reads": ["src/" if i % 2 else "src/**/*.py"],
        }
        for i in range(40)
    ]
    work = sum(1 + i % 3 for i in range(40))
    plan = make_plan(tasks)
    graph, index = Graph.from_plan(plan), ResourceIndex.build(plan)
    bound = lower_bound(graph, index, None)
    assert bound == LowerBound(work, "src/ and src/**/*.py are read by tasks that write into both")
    assert analyse(plan).practical == work
    lint = make_plan([*tasks, {"id": "lint", "duration": 5, "reads": ["src/**/*.py"]}])
    assert lower_bound(Graph.from_plan(lint), ResourceIndex.build(lint), None) == bound


def test_readers_of_a_folder_follow_its_writers_below_through_few_links() -> None:
    """200 reviewers read src/, 200 tasks write a file in it: each reviewer planned after
    writers must start after them, but through the reviewer before it, not a link to each
    writer (N^2 / 4 links: 4 million at 4,000 tasks); the replay is still never later."""
    tasks: list[dict[str, Any]] = []
    for i in range(200):
        tasks.append({"id": f"w{i}", "duration": 1 + i % 3, "files": [f"src/m{i}.py"]})
        tasks.append({"id": f"r{i}", "duration": 2, "reads": ["src/"], "files": [f"n/{i}.md"]})
    plan = make_plan(tasks)
    graph, index = Graph.from_plan(plan), ResourceIndex.build(plan)
    planned = simulate(graph, index, priority=[float(i % 7) for i in range(len(graph))])
    policy = policy_from_starts(Instance.build(graph, index, None), planned.start)
    assert policy.links < 20 * len(graph)
    replay = simulate(graph, index, policy=policy)
    assert all(r <= p + EPSILON for r, p in zip(replay.start, planned.start, strict=True))


def test_the_search_is_deterministic_and_ignores_input_order() -> None:
    """Planning twice, or from the tasks listed backwards, gives byte-identical JSON."""
    plan = load_plan(DATA / "j3037_5.sm")
    first = plan_json(analyse(plan))
    assert plan_json(analyse(plan)) == first
    doc = {
        "resources": dict(plan.capacities),
        "tasks": [
            {
                "id": t.id,
                "depends": list(t.depends),
                "uses": {a.key: a.amount for a in t.accesses},
                "duration": t.duration,
            }
            for t in reversed(plan.tasks)
        ],
    }
    again = analyse(parse_plan_text(json.dumps(doc), name="j3037_5.json"))
    assert json.loads(plan_json(again))["schedule"] == json.loads(first)["schedule"]
    assert again.practical == json.loads(first)["makespan"]["practical"]


def test_planning_does_not_depend_on_the_hash_seed() -> None:
    """The search's output is the same under different PYTHONHASHSEED values."""
    outputs = set()
    for seed in ("0", "1", "12345"):
        done = subprocess.run(
            [sys.executable, "-m", "waveplan", "plan", str(DATA / "j301_2.sm"), "--format", "json"],
            capture_output=True,
            check=True,
            env=dict(os.environ, PYTHONHASHSEED=seed),
            cwd=ROOT,
        )
        outputs.add(done.stdout)
    assert len(outputs) == 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan_docs(max_tasks=25))
def test_the_reported_schedule_respects_every_rule(doc: dict[str, Any]) -> None:
    """Whatever policy the search settles on, its replay is a valid schedule within the
    bound, at most the critical-path pass, and the one the analysis reports."""
    plan = load(doc)
    analysis = analyse(plan)
    check_schedule(plan, analysis.schedule)
    graph = Graph.from_plan(plan)
    index = ResourceIndex.build(plan)
    single = simulate(graph, index, workers=plan.workers, priority=tails(graph))
    assert analysis.practical <= single.makespan + EPSILON
    assert analysis.practical >= analysis.lower_bound.value - EPSILON
    replay = simulate(graph, index, workers=plan.workers, policy=analysis.policy)
    assert replay.makespan == analysis.practical


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan_docs(max_tasks=40), st.randoms(use_true_random=False))
def test_plans_of_measured_durations_get_valid_schedules(doc: dict[str, Any], rng: Any) -> None:
    """Measured durations (microsecond fractions, as learnt from a history) are rounded onto
    the search's grid; whatever the search settles on, and wherever it stops, the reported
    schedule is valid, within the bound and no later than the critical-path pass."""
    for task in doc["tasks"]:
        task["duration"] = round(rng.uniform(0.0001, 3.0), 6)
    plan = load(doc)
    graph = Graph.from_plan(plan)
    index = ResourceIndex.build(plan)
    assert not Instance.build(graph, index, plan.workers, grid_limit=SEARCH_GRID).exact
    analysis = analyse(plan)
    check_schedule(plan, analysis.schedule)
    single = simulate(graph, index, workers=plan.workers, priority=tails(graph))
    assert analysis.lower_bound.value - EPSILON <= analysis.practical
    assert analysis.practical <= single.makespan + EPSILON


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan_docs(max_tasks=20), st.randoms(use_true_random=False))
def test_a_schedule_replayed_with_its_full_sequence_is_never_later(
    doc: dict[str, Any], rng: Any
) -> None:
    """Turn any valid schedule into a policy with the planned order on every family (workers
    included) and replay it with exact durations: no task starts later than planned."""
    plan = load(doc)
    graph = Graph.from_plan(plan)
    index = ResourceIndex.build(plan)
    priority = [float(rng.randint(0, 5)) for _ in range(len(graph))]
    planned = simulate(graph, index, workers=plan.workers, priority=priority)
    instance = Instance.build(graph, index, plan.workers)
    policy = policy_from_starts(instance, planned.start, workers=True)
    replay = simulate(graph, index, workers=plan.workers, policy=policy)
    check_schedule(plan, slots_of(graph, replay))
    for task in range(len(graph)):
        assert replay.start[task] <= planned.start[task] + EPSILON
    assert replay.makespan <= planned.makespan + EPSILON


# --- the sequence in the scheduler -------------------------------------------------------------


def _ids(graph: Graph, tasks: list[int]) -> list[str]:
    return [graph.ids[t] for t in tasks]


def test_a_task_waits_for_the_task_planned_before_it_to_start() -> None:
    """b may start only once a has; the wait is on the point their order is about."""
    plan = make_plan(
        [
            {"id": "p", "duration": 2},
            {"id": "a", "depends": ["p"], "files": ["x"]},
            {"id": "b", "files": ["x"]},
        ]
    )
    graph, index = Graph.from_plan(plan), ResourceIndex.build(plan)
    a, b = graph.index["a"], graph.index["b"]
    point = index.claims[a][0][0]
    after: list[tuple[tuple[int, int], ...]] = [(), (), ()]
    after[b] = ((a, point),)
    scheduler = Scheduler(graph, index, policy=Policy([0.0, 0.0, 0.0], after))
    scheduler.prepare(0.0)
    assert _ids(graph, scheduler.ready(0.0)) == ["p"]
    assert scheduler.status[b] is Status.READY
    scheduler.finished(graph.index["p"], True, 2.0)
    assert _ids(graph, scheduler.ready(2.0)) == ["a"]
    scheduler.finished(a, True, 3.0)
    assert _ids(graph, scheduler.ready(3.0)) == ["b"]
    waits = [(w.task, w.point, w.holder, w.start, w.end) for w in scheduler.waits]
    assert waits == [(b, point, a, 0.0, 3.0)]  # held back by its order, then by a's lock


def test_a_failed_dependency_releases_the_tasks_planned_after_its_dependents() -> None:
    """b waits for a, which can never run once p fails: b runs anyway."""
    plan = make_plan(
        [
            {"id": "p"},
            {"id": "a", "depends": ["p"], "files": ["x"]},
            {"id": "b", "files": ["x"], "duration": 2},
        ]
    )
    graph, index = Graph.from_plan(plan), ResourceIndex.build(plan)
    a, b, p = graph.index["a"], graph.index["b"], graph.index["p"]
    after: list[tuple[tuple[int, int], ...]] = [(), (), ()]
    after[b] = ((a, index.claims[a][0][0]),)
    scheduler = Scheduler(graph, index, policy=Policy([2.0, 1.0, 0.0], after))
    scheduler.prepare(0.0)
    assert _ids(graph, scheduler.ready(0.0)) == ["p"]
    scheduler.finished(p, False, 1.0)
    assert _ids(graph, scheduler.ready(1.0)) == ["b"]
    scheduler.finished(b, True, 3.0)
    assert not scheduler.is_active()
    assert scheduler.unreachable() == [a]


def test_done_tasks_count_as_started() -> None:
    """On resume, a task planned after a task that is already done is not held."""
    plan = make_plan([{"id": "a", "files": ["x"]}, {"id": "b", "files": ["x"]}])
    graph, index = Graph.from_plan(plan), ResourceIndex.build(plan)
    a, b = graph.index["a"], graph.index["b"]
    after: list[tuple[tuple[int, int], ...]] = [(), ()]
    after[b] = ((a, index.claims[a][0][0]),)
    scheduler = Scheduler(graph, index, policy=Policy([1.0, 0.0], after), done=[a])
    scheduler.prepare(0.0)
    assert _ids(graph, scheduler.ready(0.0)) == ["b"]


def test_a_reader_blocked_by_a_write_below_parks_where_it_is_written() -> None:
    """x reads db while h reads db.users and writes db.users.index: x waits for h's write
    (parking it on db.users, which h only reads, woke it again forever)."""
    plan = make_plan(
        [
            {"id": "k", "state_reads": ["db.users"], "state": ["db.users.a"], "duration": 1},
            {"id": "h", "state_reads": ["db.users"], "state": ["db.users.index"], "duration": 2},
            {"id": "x", "state_reads": ["db"], "duration": 1},
        ]
    )
    graph, index = Graph.from_plan(plan), ResourceIndex.build(plan)
    sim = simulate(graph, index)
    assert [sim.start[graph.index[t]] for t in ("h", "k", "x")] == [0.0, 2.0, 3.0]


def test_a_policy_and_a_priority_together_are_refused() -> None:
    """One source of priorities only."""
    graph, index = Graph.from_plan(LPT), ResourceIndex.build(LPT)
    with pytest.raises(ValueError, match="either a priority or a policy"):
        Scheduler(graph, index, priority=[0.0] * 5, policy=Policy([0.0] * 5))


# --- plan and run agree ------------------------------------------------------------------------


def dry_run(plan: Plan, policy: Policy | None, workers: int) -> dict[str, tuple[float, float]]:
    """Start and end of each task in a run on the fake executor (every job takes its
    duration), with the given policy."""
    executor = FakeExecutor()
    runner = Runner(
        plan,
        run_id="r1",
        executor=executor,
        sinks=[],
        options=RunOptions(workers=workers),
        policy=policy,
    )
    runner.run()
    scheduler = runner._scheduler
    return {
        plan.tasks[i].id: (scheduler.start[i] or 0.0, scheduler.end[i] or 0.0)
        for i in range(len(plan.tasks))
    }


@pytest.mark.parametrize("name", ["j301_1", "j601_1"])
def test_a_dry_run_follows_the_planned_schedule(name: str) -> None:
    """The runner with the plan's policy reproduces the schedule ``waveplan plan`` reports."""
    plan = load_plan(DATA / f"{name}.sm")
    plan = Plan(
        plan.tasks, plan.name, len(plan.tasks), plan.capacities, plan.root, plan.source
    )  # run with a worker per task: the plan's own limit (none)
    analysis = analyse(plan)
    assert analysis.policy is not None
    ran = dry_run(plan, practical_policy(plan), len(plan.tasks))
    for slot in analysis.schedule:
        assert ran[slot.task] == (slot.start, slot.end)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan_docs(max_tasks=20))
def test_plan_and_dry_run_agree_on_random_plans(doc: dict[str, Any]) -> None:
    """Every task starts in the dry run when the plan says."""
    plan = load(doc)
    workers = plan.workers or len(plan.tasks)
    plan = Plan(plan.tasks, plan.name, workers, plan.capacities, plan.root, plan.source)
    analysis = analyse(plan)
    ran = dry_run(plan, practical_policy(plan), workers)
    for slot in analysis.schedule:
        assert ran[slot.task][0] == pytest.approx(slot.start, abs=EPSILON)


# --- the command line --------------------------------------------------------------------------


def test_plan_json_says_how_the_schedule_was_found(capsys: pytest.CaptureFixture[str]) -> None:
    """The solver block names the method, the effort and the gap to the bound."""
    path = DATA / "j301_1.sm"
    assert main(["plan", str(path), "--format", "json", "--effort", "fast"]) == 0
    data = json.loads(capsys.readouterr().out)
    solver = data["solver"]
    assert solver["effort"] == "fast"
    assert solver["method"] in {m.value for m in Method}
    assert solver["time_limit"] is None and solver["exact"] is None
    assert solver["bound"] == data["makespan"]["lower_bound"]
    practical = data["makespan"]["practical"]
    assert solver["gap"] == pytest.approx((practical - solver["bound"]) / practical)
    assert data["optimal"] is (solver["status"] == "optimal")


def test_plan_text_names_the_method(capsys: pytest.CaptureFixture[str]) -> None:
    """The text output has a Schedule line with the method and how far from optimal."""
    assert main(["plan", str(DATA / "j301_1.sm"), "--effort", "fast"]) == 0
    lines = capsys.readouterr().out.splitlines()
    line = next(x for x in lines if x.startswith("Schedule: "))
    assert line.startswith("Schedule: priority rules, fast effort, ")
    bound = next(x for x in lines if x.startswith("Lower bound: "))
    assert bound.startswith("Lower bound: 38 (critical path), gap ")


def test_time_limit_needs_optimal(capsys: pytest.CaptureFixture[str]) -> None:
    """--time-limit alone is a usage error."""
    assert main(["plan", str(DATA / "j301_1.sm"), "--time-limit", "3"]) == 2
    assert "need --optimal" in capsys.readouterr().err


def test_unknown_effort_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """Only fast, default and thorough."""
    assert main(["plan", str(DATA / "j301_1.sm"), "--effort", "huge"]) == 2


def reference_sample(instance: Any, after: list[float], rng: Any) -> list[int]:
    """Biased random sampling written the direct way (a scan of the eligible list per pick)."""
    missing = [len(p) for p in instance.preds]
    eligible = [j for j in range(len(instance)) if not missing[j]]
    order: list[int] = []
    while eligible:
        least = min(after[j] for j in eligible)
        weights = [after[j] - least + 1.0 for j in eligible]
        pick = rng() * sum(weights)
        k = 0
        while k < len(weights) - 1 and pick >= weights[k]:
            pick -= weights[k]
            k += 1
        j = eligible.pop(k)
        order.append(j)
        for s in instance.succs[j]:
            missing[s] -= 1
            if not missing[s]:
                eligible.append(s)
    return order


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan_docs(min_tasks=2, max_tasks=40), st.integers(0, 2**32 - 1))
def test_sampling_picks_what_a_direct_scan_picks(doc: dict[str, Any], seed: int) -> None:
    """The log-time sampling (Fenwick trees over eligible slots) draws exactly the activity
    list a plain scan of the eligible tasks draws from the same random numbers."""
    plan = load(doc)
    graph = Graph.from_plan(plan)
    index = ResourceIndex.build(plan)
    instance = Instance.build(graph, index, plan.workers)
    search = _Search(
        graph,
        index,
        workers=plan.workers,
        instance=instance,
        budget=1,
        lower=None,
        base=simulate(graph, index, workers=plan.workers),
        seeds=(),
        effort=Effort.DEFAULT,
    )
    # Whole-unit latest-finish priorities, as the search's are (grid units).
    values = random.Random(seed + 1)
    after = [float(values.randrange(0, 50)) for _ in range(len(instance))]
    search.rng = random.Random(seed)
    assert search.sample(after) == reference_sample(instance, after, random.Random(seed).random)

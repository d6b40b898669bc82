"""Tests of the scheduler state machine, the lower bounds, the explanations and the seed figures."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from waveplan.graph import Graph
from waveplan.load import load_plan, parse_plan_text
from waveplan.model import Plan
from waveplan.render.json import plan_json
from waveplan.render.text import plan_text
from waveplan.resources.index import ResourceIndex
from waveplan.schedule import analyse
from waveplan.schedule.advice import Action, apply_advice
from waveplan.schedule.bounds import lower_bound
from waveplan.schedule.explain import Delay
from waveplan.schedule.scheduler import BARRIER, WORKERS, Scheduler, Status
from waveplan.schedule.simulate import simulate

ROOT = Path(__file__).resolve().parent.parent
SEED_EXAMPLE = ROOT / "examples" / "git-workflow.yaml"
ENFORCER = "src/git-workflow-enforcer.ts"


def make_plan(tasks: list[dict[str, Any]], **top: Any) -> Plan:
    """A plan from task-file data, through the real loader."""
    return parse_plan_text(json.dumps({**top, "tasks": tasks}), name="plan.json")


class Driver:
    """A scheduler over a plan, spoken to in task ids rather than indices."""

    def __init__(
        self,
        plan: Plan,
        *,
        priority: dict[str, float] | None = None,
        **options: Any,
    ) -> None:
        self.plan = plan
        self.graph = Graph.from_plan(plan)
        self.index = ResourceIndex.build(plan)
        order = None
        if priority is not None:
            order = [priority.get(task_id, 0.0) for task_id in self.graph.ids]
        self.scheduler = Scheduler(self.graph, self.index, priority=order, **options)

    def i(self, task_id: str) -> int:
        """The index of a task id."""
        return self.graph.index[task_id]

    def ready(self, now: float) -> list[str]:
        """Ids of the tasks handed out now."""
        return [self.graph.ids[t] for t in self.scheduler.ready(now)]

    def finished(self, task_id: str, now: float, ok: bool = True) -> None:
        """Report one task as done."""
        self.scheduler.finished(self.i(task_id), ok, now)

    def status(self, task_id: str) -> Status:
        """Where one task is in its life."""
        return self.scheduler.status[self.i(task_id)]


def run_to_end(driver: Driver) -> dict[str, tuple[float, float]]:
    """Drive the scheduler with a simulated clock until nothing is left; ``id -> (start, end)``."""
    durations = {t.id: t.duration for t in driver.plan.tasks}
    running: dict[str, float] = {}
    times: dict[str, tuple[float, float]] = {}
    now = 0.0
    driver.scheduler.prepare(now)
    while True:
        for task_id in driver.ready(now):
            running[task_id] = now + durations[task_id]
            times[task_id] = (now, now + durations[task_id])
        if not running:
            break
        now = min(running.values())
        for task_id in sorted(t for t, end in running.items() if end == now):
            del running[task_id]
            driver.finished(task_id, now)
    assert not driver.scheduler.is_active()
    return times


# --- the state machine ----------------------------------------------------------------------------


def test_ready_before_prepare_is_an_error() -> None:
    """``ready()`` without ``prepare()`` says which call is missing."""
    driver = Driver(make_plan([{"id": "a"}]))
    with pytest.raises(ValueError, match=r"prepare\(\) must be called first"):
        driver.ready(0.0)


def test_prepare_twice_is_an_error() -> None:
    """A scheduler is prepared once."""
    driver = Driver(make_plan([{"id": "a"}]))
    driver.scheduler.prepare()
    with pytest.raises(ValueError, match=r"prepare\(\) was already called"):
        driver.scheduler.prepare()


def test_finishing_a_task_that_is_not_running_names_it() -> None:
    """``finished()`` for a task never handed out (or finished twice) names the task."""
    driver = Driver(make_plan([{"id": "a"}, {"id": "b", "depends": ["a"]}]))
    driver.scheduler.prepare()
    with pytest.raises(ValueError, match="'b' is not running"):
        driver.finished("b", 0.0)
    assert driver.ready(0.0) == ["a"]
    driver.finished("a", 1.0)
    with pytest.raises(ValueError, match="'a' is not running"):
        driver.finished("a", 1.0)


def test_started_for_a_task_not_handed_out_names_it() -> None:
    """``started()`` accepts only tasks that ``ready()`` handed out, and records the start."""
    driver = Driver(make_plan([{"id": "a"}, {"id": "b", "depends": ["a"]}]))
    driver.scheduler.prepare()
    with pytest.raises(ValueError, match=r"'b' was not handed out by ready\(\)"):
        driver.scheduler.started(driver.i("b"), 0.0)
    assert driver.ready(0.0) == ["a"]
    driver.scheduler.started(driver.i("a"), 0.25)
    assert driver.scheduler.start[driver.i("a")] == 0.25


def test_dependents_become_ready_when_their_dependencies_succeed() -> None:
    """Roots come first, best priority first; a dependent only once all its dependencies
    succeeded; ``is_active`` stays true until the last task finished."""
    plan = make_plan(
        [
            {"id": "a", "duration": 2},
            {"id": "b", "depends": ["a", "c"]},
            {"id": "c"},
        ]
    )
    driver = Driver(plan)
    driver.scheduler.prepare()
    assert driver.scheduler.is_active()
    assert driver.ready(0.0) == ["a", "c"]  # a has the longer remaining path
    assert driver.ready(0.0) == []
    assert driver.scheduler.running == 2
    driver.finished("c", 1.0)
    assert driver.ready(1.0) == []
    assert driver.status("b") is Status.WAITING
    driver.finished("a", 2.0)
    assert driver.status("b") is Status.READY
    assert driver.ready(2.0) == ["b"]
    assert driver.status("b") is Status.RUNNING
    driver.finished("b", 3.0)
    assert not driver.scheduler.is_active()
    assert [driver.status(t) for t in ("a", "b", "c")] == [Status.SUCCEEDED] * 3
    assert driver.scheduler.unreachable() == []


def test_failure_makes_dependents_unreachable() -> None:
    """A failed task's dependents (and theirs) never become ready; others still run."""
    plan = make_plan(
        [
            {"id": "a"},
            {"id": "b", "depends": ["a"]},
            {"id": "c", "depends": ["b"]},
            {"id": "d", "duration": 2},
        ]
    )
    driver = Driver(plan)
    driver.scheduler.prepare()
    assert driver.ready(0.0) == ["a", "d"]
    driver.finished("a", 1.0, ok=False)
    assert driver.status("a") is Status.FAILED
    assert driver.ready(1.0) == []
    assert driver.scheduler.is_active()  # d still runs
    driver.finished("d", 2.0)
    assert not driver.scheduler.is_active()
    assert [driver.graph.ids[t] for t in driver.scheduler.unreachable()] == ["b", "c"]


def test_failure_releases_the_failed_task_resources() -> None:
    """A failed writer's file is free again for the next writer."""
    plan = make_plan([{"id": "a", "files": ["x"]}, {"id": "b", "files": ["x"]}])
    driver = Driver(plan)
    driver.scheduler.prepare()
    assert driver.ready(0.0) == ["a"]
    driver.finished("a", 1.0, ok=False)
    assert driver.ready(1.0) == ["b"]


def test_done_tasks_are_skipped_on_resume() -> None:
    """With ``done=``, finished tasks are marked succeeded and their dependents are ready."""
    plan = make_plan(
        [
            {"id": "a"},
            {"id": "b", "depends": ["a"]},
            {"id": "c", "depends": ["a", "b"]},
            {"id": "d", "depends": ["a"]},
        ]
    )
    graph = Graph.from_plan(plan)
    driver = Driver(plan, done=[graph.index["a"], graph.index["b"]])
    driver.scheduler.prepare(5.0)
    assert driver.status("a") is Status.SUCCEEDED
    assert driver.status("b") is Status.SUCCEEDED
    assert sorted(driver.ready(5.0)) == ["c", "d"]
    assert driver.scheduler.ready_at[driver.i("c")] == 5.0


def test_barrier_mode_starts_a_wave_only_after_the_earlier_waves_end() -> None:
    """With ``waves=``, a ready task of a later wave waits for the whole earlier wave."""
    plan = make_plan(
        [
            {"id": "a", "duration": 1},
            {"id": "b", "duration": 3},
            {"id": "c", "depends": ["a"]},
        ]
    )
    driver = Driver(plan, waves=[0, 0, 1])
    driver.scheduler.prepare()
    assert driver.ready(0.0) == ["b", "a"]
    driver.finished("a", 1.0)
    assert driver.ready(1.0) == []  # c is ready by dependencies, but b's wave is still on
    driver.finished("b", 3.0)
    assert driver.ready(3.0) == ["c"]
    driver.finished("c", 4.0)
    assert not driver.scheduler.is_active()
    barrier_waits = [w for w in driver.scheduler.waits if w.point == BARRIER]
    assert [(w.task, w.start, w.end) for w in barrier_waits] == [(driver.i("c"), 1.0, 3.0)]


def test_barrier_simulation_follows_the_waves() -> None:
    """Simulated with waves, a task of wave 2 starts after the slowest task of wave 1."""
    plan = make_plan([{"id": "a", "duration": 5}, {"id": "b"}, {"id": "c"}])
    sim = simulate(Graph.from_plan(plan), ResourceIndex.build(plan), waves=[0, 0, 1])
    assert (sim.start, sim.end, sim.makespan) == ([0.0, 0.0, 5.0], [5.0, 1.0, 6.0], 6.0)


# --- resources as locks ---------------------------------------------------------------------------


def test_readers_share_and_a_writer_waits_for_all_of_them() -> None:
    """Two readers run together; the writer starts when the last reader is done."""
    plan = make_plan(
        [
            {"id": "r1", "reads": ["src/a.ts"]},
            {"id": "r2", "reads": ["src/a.ts"]},
            {"id": "w", "files": ["src/a.ts"]},
        ]
    )
    driver = Driver(plan, priority={"r1": 3, "r2": 2, "w": 1})
    driver.scheduler.prepare()
    assert driver.ready(0.0) == ["r1", "r2"]
    assert driver.status("w") is Status.PARKED
    driver.finished("r1", 1.0)
    assert driver.ready(1.0) == []
    driver.finished("r2", 2.0)
    assert driver.ready(2.0) == ["w"]
    waits = [(w.task, w.point, w.holder, w.start, w.end) for w in driver.scheduler.waits]
    point = driver.index.claims[driver.i("w")][0][0]
    # One stretch: the writer is not woken while a reader still holds the file.
    assert waits == [(driver.i("w"), point, driver.i("r1"), 0.0, 2.0)]


def test_a_writer_excludes_readers_and_writers() -> None:
    """While a task writes a file, neither readers nor other writers of it start."""
    plan = make_plan(
        [
            {"id": "w1", "files": ["x"]},
            {"id": "r", "reads": ["x"]},
            {"id": "w2", "files": ["x"]},
        ]
    )
    driver = Driver(plan, priority={"w1": 3, "r": 2, "w2": 1})
    driver.scheduler.prepare()
    assert driver.ready(0.0) == ["w1"]
    assert driver.status("r") is Status.PARKED
    assert driver.status("w2") is Status.PARKED
    driver.finished("w1", 1.0)
    assert driver.ready(1.0) == ["r"]
    driver.finished("r", 2.0)
    assert driver.ready(2.0) == ["w2"]


@pytest.mark.parametrize(
    ("first", "second", "together"),
    [
        ({"files": ["src/"]}, {"reads": ["src/a.ts"]}, False),
        ({"reads": ["src/"]}, {"files": ["src/a.ts"]}, False),
        ({"reads": ["src/"]}, {"reads": ["src/a.ts"]}, True),
        ({"files": ["src/a.ts"]}, {"files": ["src/b.ts"]}, True),
        ({"files": ["./"]}, {"reads": ["docs/x.md"]}, False),
        ({"files": ["src/*.ts"]}, {"reads": ["src/a.ts"]}, False),
        ({"files": ["src/*.ts"]}, {"reads": ["src/a.css"]}, True),
        ({"files": ["src/**"]}, {"files": ["src/*/x.ts"]}, False),
        ({"files": ["x/?"]}, {"files": ["x/??"]}, False),  # conservative
        ({"state": ["db"]}, {"state_reads": ["db.users"]}, False),
        ({"state": ["db.users"]}, {"state": ["db.orders"]}, True),
        ({"state_reads": ["db"]}, {"state_reads": ["db"]}, True),
        ({"tests": ["port:8080"]}, {"tests": ["port:8080"]}, False),
        ({"tests": ["port:8080"]}, {"tests": ["port:5432"]}, True),
        ({"test_reads": ["tests/unit/"]}, {"test_reads": ["tests/unit/a.py"]}, True),
        ({"tests": ["tests/unit/"]}, {"test_reads": ["tests/unit/a.py"]}, False),
        ({"tests": ["src/a.ts"]}, {"files": ["src/a.ts"]}, True),
        ({"state": ["src"]}, {"files": ["src/"]}, True),
    ],
)
def test_which_accesses_may_run_together(
    first: dict[str, Any], second: dict[str, Any], together: bool
) -> None:
    """Two independent tasks start together exactly when their accesses allow it, whichever
    of them is considered first."""
    for a, b in ((first, second), (second, first)):
        plan = make_plan([{"id": "a", **a}, {"id": "b", **b}])
        driver = Driver(plan, priority={"a": 2, "b": 1})
        driver.scheduler.prepare()
        assert driver.ready(0.0) == (["a", "b"] if together else ["a"])


def test_counted_amounts_never_exceed_the_capacity() -> None:
    """Holders of a counted resource start while their amounts fit its capacity, and a
    smaller amount that fits starts even while a bigger one of better priority waits."""
    plan = make_plan(
        [
            {"id": "a", "uses": {"gpu": 1}},
            {"id": "b", "uses": {"gpu": 1}},
            {"id": "c", "uses": {"gpu": 2}},
            {"id": "d", "uses": {"gpu": 1}},
        ],
        resources={"gpu": 2},
    )
    driver = Driver(plan, priority={"a": 4, "b": 3, "c": 2, "d": 1})
    driver.scheduler.prepare()
    assert driver.ready(0.0) == ["a", "b"]
    driver.finished("a", 1.0)
    assert driver.ready(1.0) == ["d"]  # c needs 2; d needs the 1 that is free
    driver.finished("b", 1.5)
    assert driver.ready(1.5) == []  # only 1 free, c still needs 2
    driver.finished("d", 2.0)
    assert driver.ready(2.0) == ["c"]


def test_at_most_workers_tasks_run_at_once() -> None:
    """With a worker limit the rest wait, and the wait is put down to a free worker."""
    plan = make_plan([{"id": "a"}, {"id": "b"}, {"id": "c"}], workers=2)
    driver = Driver(plan, workers=2)
    driver.scheduler.prepare()
    assert driver.ready(0.0) == ["a", "b"]
    driver.finished("a", 1.0)
    assert driver.ready(1.0) == ["c"]
    waits = [(w.task, w.point, w.start, w.end) for w in driver.scheduler.waits]
    assert waits == [(driver.i("c"), WORKERS, 0.0, 1.0)]


def test_many_writers_of_one_file_all_run_one_at_a_time() -> None:
    """The wake chain: 60 writers of one file run one after another, best priority first,
    none starved, each release costing one hand-over."""
    count = 60
    tasks: list[dict[str, Any]] = [
        {"id": f"w{i}", "files": ["hot.ts"], "duration": 1 + i % 3} for i in range(count)
    ]
    driver = Driver(make_plan(tasks))
    driver.scheduler.prepare()
    order: list[str] = []
    now = 0.0
    for _ in range(count):
        started = driver.ready(now)
        assert len(started) == 1
        order += started
        now += driver.plan.task(started[0]).duration
        driver.finished(started[0], now)
    assert driver.ready(now) == []
    assert not driver.scheduler.is_active()
    expected = sorted(
        (str(t["id"]) for t in tasks),
        key=lambda i: (-driver.plan.task(i).duration, driver.graph.index[i]),
    )
    assert order == expected


def test_a_woken_waiter_that_parks_elsewhere_passes_the_wake_on() -> None:
    """Writers of f that also need g (held for long) park on g and let the writers of f
    alone go first, instead of holding up the chain."""
    tasks: list[dict[str, Any]] = [{"id": "h", "files": ["g"], "duration": 10}]
    for i in (1, 2, 3):
        tasks += [
            {"id": f"w{i}", "files": ["f", "g"]},
            {"id": f"after{i}", "depends": [f"w{i}"], "duration": 5},
        ]
    tasks += [{"id": "w4", "files": ["f"]}, {"id": "w5", "files": ["f"]}]
    times = run_to_end(Driver(make_plan(tasks)))
    assert times["w4"] == (0.0, 1.0)
    assert times["w5"] == (1.0, 2.0)
    assert [times[f"w{i}"][0] for i in (1, 2, 3)] == [10.0, 11.0, 12.0]


def test_mixed_readers_and_writers_of_nested_resources_never_starve() -> None:
    """Writers and readers of a directory, files under it and a glob over them all finish,
    and at no moment does a writer overlap anything it conflicts with."""
    tasks: list[dict[str, Any]] = []
    keys = ["src/", "src/a.ts", "src/b.ts", "src/*.ts", "src/sub/c.ts", "./"]
    for i in range(36):
        key = keys[i % len(keys)]
        field = "files" if i % 4 == 0 else "reads"
        tasks.append({"id": f"t{i}", field: [key], "duration": 1 + (i * 7) % 4})
    plan = make_plan(tasks)
    times = run_to_end(Driver(plan))
    assert sorted(times) == sorted(t["id"] for t in tasks)
    writers = [t for t in tasks if "files" in t]
    for writer in writers:
        start, end = times[writer["id"]]
        overlapping = [t for t in tasks if t is not writer and times[t["id"]][0] < end]
        overlapping = [t for t in overlapping if times[t["id"]][1] > start]
        assert all(
            not {*t.get("files", []), *t.get("reads", [])} & {"./", *writer["files"]}
            for t in overlapping
        ), writer


def test_a_parked_reader_joins_other_readers_as_soon_as_it_may() -> None:
    """A reader parked behind a writer starts as soon as only readers hold the file."""
    plan = make_plan(
        [
            {"id": "x", "files": ["f"], "duration": 1},
            {"id": "y", "depends": ["x"], "reads": ["f"], "duration": 5},
            {"id": "w", "files": ["f"], "duration": 2},
            {"id": "r", "reads": ["f"], "duration": 1},
        ]
    )
    analysis = analyse(plan)
    starts = {s.task: s.start for s in analysis.schedule}
    assert starts["r"] == 1.0
    assert analysis.practical == 8.0


def test_tasks_reading_a_folder_and_writing_below_it_wait_once_each() -> None:
    """300 tasks each read src/ and write their own file in it: every two conflict. Each
    waits as a writer behind the readers of src/ (woken one at a time), not as a reader of
    the running task's file (all woken at every release): one wait per task, not 45,000."""
    plan = make_plan(
        [
            {"id": f"t{i}", "files": [f"src/m{i}.py"], "reads": ["src/"], "duration": 1}
            for i in range(300)
        ]
    )
    sim = simulate(Graph.from_plan(plan), ResourceIndex.build(plan), workers=None)
    assert sim.makespan == 300.0
    assert len(sim.waits) == 299
    assert {w.point for w in sim.waits} == {ResourceIndex.build(plan).names.index("src/")}


class CountingScheduler(Scheduler):
    """A scheduler that counts its wake-ups (parked tasks sent back to the ready heap)."""

    wakes = 0
    looks = 0

    def _resume(self, task: int, origin: int, now: float) -> None:
        self.wakes += 1
        super()._resume(task, origin, now)

    def _settle(self, room: int) -> bool:
        self.looks += 1
        return super()._settle(room)


def count_wakes(plan: Plan) -> tuple[float, CountingScheduler]:
    """Simulate the plan with the critical-path rule: its makespan and the scheduler."""
    graph = Graph.from_plan(plan)
    scheduler = CountingScheduler(graph, ResourceIndex.build(plan), workers=plan.workers)
    scheduler.prepare(0.0)
    running: list[tuple[float, int]] = []
    now = 0.0
    while True:
        running += [(now + graph.durations[t], t) for t in scheduler.ready(now)]
        if not running:
            return now, scheduler
        now = min(end for end, _ in running)
        for end, task in sorted(running):
            if end == now:
                scheduler.finished(task, True, now)
        running = [(end, task) for end, task in running if end != now]


def two_form_tasks(form: str, count: int) -> list[dict[str, Any]]:
    """Tasks that each write their own file (state name) in one of five folders (states)
    and read the whole tree in one of two forms, or three with the task's own folder."""
    tasks: list[dict[str, Any]] = []
    for i in range(count):
        task: dict[str, Any] = {"id": f"t{i}", "duration": 1 + i * 7 % 5}
        if form == "files":
            task |= {"files": [f"src/p{i % 5}/m{i}.py"], "reads": [("src/", "src/**/*.py")[i % 2]]}
        elif form == "state":
            reads = ("db", f"db.s{i % 5}")[i % 2]
            task |= {"state": [f"db.s{i % 5}.t{i}"], "state_reads": [reads]}
        else:
            reads = ("src/", "src/**/*.py", f"src/p{i % 20}/")[i % 3]
            task |= {"files": [f"src/p{i % 20}/m{i}.py"], "reads": [reads]}
        tasks.append(task)
    return tasks


@pytest.mark.parametrize("form", ["files", "state", "folders"])
def test_writers_below_a_tree_read_in_two_forms_are_woken_once_each(form: str) -> None:
    """300 tasks write their own file (state) below src/ (db) and read src/ or src/**/*.py
    (db or db.s<k>; or also their own folder). A blocked writer waits until nothing around
    its file is held, whichever form holds it, and is woken once: it used to wake at every
    change of form and park behind the other one (44,612 wake-ups for the files)."""
    count = 300
    plan = make_plan(two_form_tasks(form, count))
    makespan, scheduler = count_wakes(plan)
    assert makespan == {"files": 900.0, "state": 600.0, "folders": 625.0}[form]
    assert scheduler.wakes < count
    assert len(scheduler.waits) < count


def test_rooms_waiting_for_one_folder_open_one_at_a_time() -> None:
    """300 tasks read src/ and their own folder and write below it: each has a room of its
    own, all waiting for src/. When src/ is released, the best room opens and its task,
    reading src/, closes it again for the others: they are not all looked at (45,149 looks)."""
    count = 300
    tasks = [
        {"id": f"t{i}", "files": [f"src/m{i}/a.py"], "reads": ["src/", f"src/m{i}/"]}
        for i in range(count)
    ]
    makespan, scheduler = count_wakes(make_plan(tasks))
    assert makespan == count
    assert scheduler.wakes < count
    assert scheduler.looks < 3 * count


@pytest.mark.parametrize(
    ("form", "together"),
    [("files", {"src/", "src/**/*.py"}), ("state", {"state:db", "state:db.s0", "state:db.s1"})],
)
def test_the_forms_a_tree_is_read_in_make_one_serialization_point(
    form: str, together: set[str]
) -> None:
    """The writers below a tree read in two forms wait for both forms in turn (woken once):
    the forms are one serialization point, since ignoring only one of them gains nothing."""
    analysis = analyse(make_plan(two_form_tasks(form, 60)))
    first = analysis.serialization[0]
    assert together <= set(first.resource.split(" + "))
    assert first.wait == sum(point.wait for point in analysis.serialization)


def test_advice_isolates_what_was_held_against_a_task_while_its_room_waited() -> None:
    """t reads r and writes a.t; w1 and w2 write below r until 8, and x writes a from 2 to
    5. t's room waits for what is held below r and never sees x hold a, so isolating r alone
    leaves t waiting for x (9.5); isolating a with it, as the schedule shows t waited for
    both, gives 8."""
    plan = make_plan(
        [
            {"id": "w1", "state": ["r.x"], "duration": 4},
            {"id": "w2", "state": ["r.y"], "duration": 8},
            {"id": "e", "duration": 2},
            {"id": "d", "duration": 1.5},
            {"id": "x", "depends": ["e"], "state": ["a"], "duration": 3},
            {"id": "t", "depends": ["d"], "state": ["a.t"], "state_reads": ["r"], "duration": 5},
        ]
    )
    analysis = analyse(plan)
    assert analysis.practical == 13.0
    assert [point.resource for point in analysis.serialization] == ["state:r"]
    best = analysis.advice[0]
    assert (best.action, best.resource, best.makespan) == (Action.ISOLATE, "state:r + state:a", 8.0)
    assert (Action.ISOLATE, "state:r", 9.5) in [
        (a.action, a.resource, a.makespan) for a in analysis.advice
    ]


def test_a_parked_small_amount_starts_when_it_fits() -> None:
    """A task needing 1 of a counted resource starts as soon as 1 is free, even while a
    better-priority task needing 2 still waits."""
    plan = make_plan(
        [
            {"id": "hold", "uses": {"gpu": 1}, "duration": 10},
            {"id": "big", "uses": {"gpu": 2}, "duration": 5},
            {"id": "small1", "uses": {"gpu": 1}, "duration": 2},
            {"id": "small2", "uses": {"gpu": 1}, "duration": 1},
        ],
        resources={"gpu": 2},
    )
    starts = {s.task: s.start for s in analyse(plan).schedule}
    assert starts["small2"] == 2.0


def test_output_does_not_depend_on_the_order_a_task_lists_its_files() -> None:
    """Listing the same files in another order gives the same JSON."""
    forward = make_plan(
        [{"id": "a", "files": ["x.txt", "y.txt"]}, {"id": "b", "files": ["x.txt", "y.txt"]}]
    )
    backward = make_plan(
        [{"id": "a", "files": ["y.txt", "x.txt"]}, {"id": "b", "files": ["y.txt", "x.txt"]}]
    )
    assert plan_json(analyse(backward)) == plan_json(analyse(forward))


# --- lower bounds -------------------------------------------------------------------------------


def bound_of(plan: Plan) -> tuple[float, str]:
    """The plan's lower bound and its reason (checked against the practical makespan)."""
    graph = Graph.from_plan(plan)
    found = lower_bound(graph, ResourceIndex.build(plan), plan.workers)
    assert analyse(plan).practical >= found.value - 1e-9
    return found.value, found.reason


def test_lower_bound_critical_path_binds() -> None:
    """Without conflicts or limits the bound is the critical path."""
    plan = make_plan(
        [{"id": "a"}, {"id": "b", "depends": ["a"], "duration": 2}, {"id": "c", "reads": ["f"]}]
    )
    assert bound_of(plan) == (3.0, "critical path")


def test_lower_bound_total_work_over_workers_binds() -> None:
    """Four independent unit tasks on two workers need 2."""
    plan = make_plan([{"id": f"t{i}"} for i in range(4)], workers=2)
    assert bound_of(plan) == (2.0, "total work on 2 worker(s)")


def test_lower_bound_is_rounded_up_when_every_duration_is_whole() -> None:
    """Nine unit tasks on two workers need 5, not 4.5, and the schedule of 5 is proven
    optimal; with fractional durations nothing is rounded."""
    plan = make_plan([{"id": f"t{i}"} for i in range(9)], workers=2)
    assert bound_of(plan) == (5.0, "total work on 2 worker(s)")
    assert analyse(plan).optimal
    halves = make_plan([{"id": f"t{i}", "duration": 0.5} for i in range(3)], workers=2)
    assert bound_of(halves) == (0.75, "total work on 2 worker(s)")


def test_lower_bound_exclusive_file_binds_with_head_and_tail() -> None:
    """Writers of one file run one after another, after the earliest of them can start and
    before the shortest chain that must follow: 1 + (1 + 1) + 1."""
    plan = make_plan(
        [
            {"id": "a"},
            {"id": "b", "depends": ["a"], "files": ["x"]},
            {"id": "c", "depends": ["a"], "files": ["x"]},
            {"id": "d", "depends": ["b", "c"]},
        ]
    )
    assert bound_of(plan) == (4.0, "x is exclusive")


def test_lower_bound_counts_writers_of_a_directory_with_the_files_under_it() -> None:
    """Writers of ``src/`` conflict with the writers of every file under it."""
    plan = make_plan(
        [
            {"id": "a", "files": ["src/"], "duration": 2},
            {"id": "b", "files": ["src/a.ts"], "duration": 2},
            {"id": "c", "files": ["src/b.ts"], "duration": 1},
        ]
    )
    assert bound_of(plan) == (4.0, "src/a.ts is exclusive")


def test_lower_bound_counts_writers_of_state_with_its_parent() -> None:
    """Writers of ``db`` and of ``db.users`` are exclusive together."""
    plan = make_plan(
        [
            {"id": "a", "state": ["db"], "duration": 2},
            {"id": "b", "state": ["db.users"], "duration": 3},
        ]
    )
    assert bound_of(plan) == (5.0, "state:db.users is exclusive")


def test_lower_bound_exclusive_glob_binds() -> None:
    """Writers of one glob are exclusive too."""
    plan = make_plan([{"id": "a", "files": ["src/*.ts"]}, {"id": "b", "files": ["src/*.ts"]}])
    assert bound_of(plan) == (2.0, "src/*.ts is exclusive")


def test_lower_bound_ignores_readers() -> None:
    """Readers share, so they add nothing to a resource bound."""
    plan = make_plan([{"id": "a", "reads": ["x"]}, {"id": "b", "reads": ["x"]}])
    assert bound_of(plan) == (1.0, "critical path")


def test_lower_bound_counted_capacity_binds() -> None:
    """Three tasks holding 1 of a capacity-2 resource for 2 need 3."""
    plan = make_plan(
        [{"id": f"t{i}", "uses": {"gpu": 1}, "duration": 2} for i in range(3)],
        resources={"gpu": 2},
    )
    assert bound_of(plan) == (3.0, "counted:gpu has capacity 2")


def test_lower_bound_counts_a_task_writing_a_node_and_its_parent_once() -> None:
    """A task that writes ``src/`` and ``src/a.ts`` is counted once in the chain."""
    plan = make_plan(
        [
            {"id": "a", "files": ["src/", "src/a.ts"], "duration": 2},
            {"id": "b", "files": ["src/a.ts"], "duration": 1},
        ]
    )
    assert bound_of(plan) == (3.0, "src/a.ts is exclusive")


def test_lower_bound_counts_a_glob_with_the_files_it_overlaps() -> None:
    """The writers of src/app/a.py and of src/**/*.py all overlap, so they take 3 + 2; two
    overlapping globs likewise (the overlap of two globs may be assumed: the plan serializes
    them all the same)."""
    plan = make_plan(
        [
            {"id": "feature-a", "duration": 3, "files": ["src/app/a.py"]},
            {"id": "feature-b", "duration": 3, "files": ["src/app/b.py"]},
            {"id": "rename-logger", "duration": 2, "files": ["src/**/*.py"]},
        ]
    )
    assert bound_of(plan) == (5.0, "src/app/a.py and src/**/*.py overlap")
    globs = make_plan(
        [{"id": "a", "duration": 2, "files": ["*.py"]}, {"id": "b", "files": ["test_*"]}]
    )
    assert bound_of(globs) == (3.0, "test_* and *.py overlap")


def test_lower_bound_counts_a_task_writing_a_glob_and_a_file_it_overlaps_once() -> None:
    """A task writing src/*.ts and src/a.ts, and one writing src/a.ts: 2 + 1, not 2 + 2 + 1."""
    plan = make_plan(
        [
            {"id": "a", "files": ["src/*.ts", "src/a.ts"], "duration": 2},
            {"id": "b", "files": ["src/a.ts"], "duration": 1},
        ]
    )
    assert bound_of(plan)[0] == 3.0


def test_lower_bound_counts_readers_of_a_folder_apart_from_its_writers_below() -> None:
    """Readers of src/ share it, writers of files below it run together, but never a reader
    with a writer: the longest reader (3) plus the longest writer (2), plus a task doing
    both, which runs alone (1)."""
    plan = make_plan(
        [
            {"id": "r1", "reads": ["src/"], "duration": 3},
            {"id": "r2", "reads": ["src/"], "duration": 1},
            {"id": "w1", "files": ["src/a.py"], "duration": 2},
            {"id": "w2", "files": ["src/b.py"], "duration": 2},
            {"id": "both", "files": ["src/c.py"], "reads": ["src/"], "duration": 1},
        ]
    )
    assert bound_of(plan) == (6.0, "src/ is read while others write below it")
    assert analyse(plan).optimal


# --- explanations and the seed example ---------------------------------------------------------


def seed_analysis() -> Any:
    """The analysis of the seed example."""
    return analyse(load_plan(SEED_EXAMPLE))


def test_seed_figures() -> None:
    """The seed: sequential 7, theoretical 4, practical 6, lower bound 6 (so optimal)."""
    analysis = seed_analysis()
    assert analysis.sequential == 7.0
    assert analysis.theoretical == 4.0
    assert analysis.practical == 6.0
    assert analysis.lower_bound.value == 6.0
    assert analysis.lower_bound.reason == f"{ENFORCER} is exclusive"
    assert analysis.optimal


def test_seed_serialization_point_is_the_enforcer() -> None:
    """The enforcer file serializes t2, t3 and t4 and costs 2."""
    point = seed_analysis().serialization[0]
    assert (point.resource, point.tasks, point.wait, point.cost) == (
        ENFORCER,
        ("t2", "t3", "t4"),
        3.0,
        2.0,
    )
    assert not point.conservative


def test_seed_waits_are_explained() -> None:
    """t3 waited 1 for the enforcer held by t2; t4 waited 2, held by t2 then t3."""
    analysis = seed_analysis()
    assert analysis.delays == [
        Delay("t3", ENFORCER, ("t2",), 1.0, False),
        Delay("t4", ENFORCER, ("t2", "t3"), 2.0, False),
    ]
    text = plan_text(analysis, width=200)
    assert f"t3 waited 1 for {ENFORCER} held by t2" in text
    assert f"t4 waited 2 for {ENFORCER} held by t2, t3" in text


def test_seed_top_advice_is_a_split_that_gives_4() -> None:
    """Splitting the enforcer restores the theoretical 4, and replanning confirms it."""
    plan = load_plan(SEED_EXAMPLE)
    top = analyse(plan).advice[0]
    assert (top.action, top.resource, top.makespan) == (Action.SPLIT, ENFORCER, 4.0)
    assert top.tasks == ("t2", "t3", "t4")
    assert analyse(apply_advice(plan, top)).practical == 4.0


def test_seed_figures_through_the_cli_json() -> None:
    """``python -m waveplan plan examples/git-workflow.yaml --format json`` has the figures."""
    done = subprocess.run(
        [sys.executable, "-m", "waveplan", "plan", str(SEED_EXAMPLE), "--format", "json"],
        capture_output=True,
        check=True,
        cwd=ROOT,
        text=True,
    )
    data = json.loads(done.stdout)
    assert data["makespan"] == {
        "sequential": 7.0,
        "theoretical": 4.0,
        "practical": 6.0,
        "practical_waves": 6.0,
        "lower_bound": 6.0,
    }
    assert data["serialization"][0]["resource"] == ENFORCER
    assert data["serialization"][0]["tasks"] == ["t2", "t3", "t4"]
    assert (data["advice"][0]["action"], data["advice"][0]["makespan"]) == ("split", 4.0)
    waits = [(w["task"], w["resource"], w["holders"], w["duration"]) for w in data["waits"]]
    assert waits == [("t3", ENFORCER, ["t2"], 1.0), ("t4", ENFORCER, ["t2", "t3"], 2.0)]
    assert data["optimal"] is True


def _ids(waves: Sequence[Sequence[str]]) -> list[list[str]]:
    return [list(w) for w in waves]


def test_seed_practical_waves_keep_the_enforcer_writers_apart() -> None:
    """No two of t2, t3, t4 share a practical wave."""
    waves = _ids(seed_analysis().practical_waves)
    for wave in waves:
        assert len({"t2", "t3", "t4"} & set(wave)) <= 1

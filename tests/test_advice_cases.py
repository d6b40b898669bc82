"""Tests of serialization points and advice on small plans whose right answer is known."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from random import Random
from typing import Any

import pytest

from waveplan.graph import Graph
from waveplan.load import load_plan, parse_plan_text
from waveplan.model import Plan, ResourceKind
from waveplan.render.figures import advice_sentence
from waveplan.render.json import plan_json
from waveplan.render.text import plan_text
from waveplan.resources.index import ResourceIndex
from waveplan.resources.names import is_glob, literal_segments
from waveplan.schedule import PlanAnalysis, analyse, explain
from waveplan.schedule import advice as advice_module
from waveplan.schedule.advice import (
    REPLAN_EFFORT,
    Action,
    Advice,
    apply_advice,
    piece_key,
    replan,
)
from waveplan.schedule.explain import delays
from waveplan.schedule.scheduler import Policy
from waveplan.schedule.simulate import simulate

ROOT = Path(__file__).resolve().parent.parent
CI_EXAMPLE = ROOT / "examples" / "ci-pipeline.yaml"


def make_plan(tasks: list[dict[str, Any]], **top: Any) -> Plan:
    """A plan from task-file data, through the real loader."""
    return parse_plan_text(json.dumps({**top, "tasks": tasks}), name="plan.json")


def costs(analysis: PlanAnalysis) -> dict[str, float | None]:
    """Serialization points by name, with their costs."""
    return {point.resource: point.cost for point in analysis.serialization}


def advised(analysis: PlanAnalysis) -> list[tuple[Action, str, float]]:
    """Each advice's action, resource and makespan."""
    return [(a.action, a.resource, a.makespan) for a in analysis.advice]


def replanned(plan: Plan, advice: Advice) -> float:
    """The practical makespan of the plan changed by the advice, at the replan effort."""
    return analyse(apply_advice(plan, advice), effort=REPLAN_EFFORT).practical


# --- a counted resource and a file blocking the same task ---------------------------------------

MIXED = [
    {"id": "a", "files": ["f"], "duration": 4},
    {"id": "b", "files": ["f"], "uses": {"r": 1}, "duration": 4},
    {"id": "c", "uses": {"r": 1}, "duration": 1},
    {"id": "d", "depends": ["c"], "duration": 5},
]


def test_a_file_is_not_grouped_with_a_counted_resource_other_tasks_waited_on() -> None:
    """b waits for r (held by c) and for f (held by a): f serializes a and b, r b and c, so
    they are two points, each with its own cost, and splitting f is advised (6, not 8)."""
    plan = make_plan(MIXED, resources={"r": 1})
    analysis = analyse(plan)
    assert analysis.practical == 8.0
    assert costs(analysis) == {"f": 2.0, "counted:r": 0.0}
    assert [p.tasks for p in analysis.serialization] == [("a", "b"), ("b", "c")]
    top = analysis.advice[0]
    assert (top.action, top.resource, top.makespan, top.tasks) == (
        Action.SPLIT,
        "f",
        6.0,
        ("a", "b"),
    )
    assert replanned(plan, top) == 6.0


def test_ci_pipeline_on_four_workers_advises_isolating_the_database_port() -> None:
    """The CI runners pool does not swallow the port and fixtures it blocked with: isolating
    them gives 38 instead of 48, on 4 workers as on 3."""
    for workers in (3, 4):
        plan = dataclasses.replace(load_plan(CI_EXAMPLE), workers=workers)
        analysis = analyse(plan)
        assert analysis.practical == 48.0
        shared = "test:port:5432 + test:tests/fixtures/db/"
        assert costs(analysis)[shared] == 10.0
        assert all(
            "counted:" not in p.resource or "+" not in p.resource for p in analysis.serialization
        )
        isolate = [a for a in analysis.advice if a.action is Action.ISOLATE]
        assert [(a.resource, a.makespan) for a in isolate] == [(shared, 38.0)]
        assert replanned(plan, isolate[0]) == 38.0


def test_a_counted_resource_groups_a_file_no_task_waited_on() -> None:
    """a and b both write f and use r: b waits on r, and f blocked it too, so ignoring either
    alone gains nothing; they are one point that costs 4, and neither change alone is advised."""
    tasks = [
        {"id": "a", "files": ["f"], "uses": {"r": 1}, "duration": 4},
        {"id": "b", "files": ["f"], "uses": {"r": 1}, "duration": 4},
    ]
    analysis = analyse(make_plan(tasks, resources={"r": 1}))
    assert costs(analysis) == {"counted:r + f": 4.0}
    assert analysis.advice == []


def test_a_group_with_a_counted_resource_still_gets_advice_for_its_file() -> None:
    """r and f are one point (b waited on r while f blocked it too); splitting f alone still
    gives 7, so it is advised, named for f only."""
    tasks = [
        {"id": "a", "files": ["f"], "uses": {"r": 1}, "duration": 4},
        {"id": "b", "files": ["f"], "uses": {"r": 1}, "duration": 1},
        {"id": "c", "depends": ["b"], "files": ["f"], "duration": 1},
        {"id": "d", "depends": ["c"], "files": ["f"], "uses": {"r": 1}, "duration": 2},
    ]
    plan = make_plan(tasks, resources={"r": 1})
    analysis = analyse(plan)
    assert analysis.practical == 8.0
    assert costs(analysis) == {"counted:r + f": 4.0}
    assert advised(analysis)[0] == (Action.SPLIT, "f", 7.0)
    assert replanned(plan, analysis.advice[0]) == 7.0


# --- more workers --------------------------------------------------------------------------------

UNIT_AND_LONG = [{"id": f"u{n}", "duration": 1} for n in range(1, 7)] + [
    {"id": "v1", "duration": 3},
    {"id": "v2", "duration": 3},
]


def test_more_workers_names_the_fewest_at_which_the_limit_stops_binding() -> None:
    """Six tasks of 1 and two of 3 on 2 workers: 4 workers already give the unlimited 3 (not
    8, the tasks the unlimited schedule runs at once); one more worker gives 4."""
    plan = make_plan(UNIT_AND_LONG, workers=2)
    analysis = analyse(plan)
    assert analysis.practical == 6.0
    assert [(a.action, a.value, a.makespan) for a in analysis.advice] == [
        (Action.ADD_WORKERS, 4, 3.0),
        (Action.ADD_WORKERS, 3, 4.0),
    ]
    for advice in analysis.advice:
        assert replanned(plan, advice) == advice.makespan
    assert analyse(dataclasses.replace(plan, workers=None)).practical == 3.0
    assert "Use 4 workers" in plan_text(analysis, width=200)


def test_more_workers_advice_is_the_fewest_on_a_wide_plan() -> None:
    """Forty independent tasks of 1 and a chain of length 10 on 2 workers: 5 workers finish
    the 50 units of work in 10, the critical path, and 4 cannot."""
    tasks: list[dict[str, Any]] = [{"id": f"w{n}", "duration": 1} for n in range(1, 41)]
    tasks += [{"id": "c1", "duration": 5}, {"id": "c2", "depends": ["c1"], "duration": 5}]
    plan = make_plan(tasks, workers=2)
    graph = Graph.from_plan(plan)
    index = ResourceIndex.build(plan)
    fewest = max(a.value or 0 for a in analyse(plan).advice if a.action is Action.ADD_WORKERS)
    assert fewest == 5
    assert replan(graph, index, fewest).simulation.makespan == 10.0
    assert replan(graph, index, fewest - 1).simulation.makespan > 10.0


# --- floating-point noise ------------------------------------------------------------------------

NOISY = [
    {"id": "a", "duration": 0.1},
    {"id": "b", "depends": ["a"], "files": ["x"], "duration": 0.2},
    {"id": "c", "duration": 0.3},
    {"id": "d", "depends": ["c"], "files": ["x"], "duration": 0.1},
    {"id": "e", "duration": 0.7},
]


def test_rounding_in_end_times_is_not_a_wait() -> None:
    """b ends at 0.1 + 0.2, 5.6e-17 after d is ready at 0.3: d starts then (the schedule keeps
    it), but no wait, serialization point or advice is reported for it."""
    plan = make_plan(NOISY)
    analysis = analyse(plan)
    slots = {slot.task: slot for slot in analysis.schedule}
    assert slots["d"].start == slots["b"].end == 0.1 + 0.2
    assert analysis.delays == []
    assert analysis.serialization == []
    assert analysis.advice == []
    data = json.loads(plan_json(analysis))
    assert data["waits"] == [] and data["serialization"] == []
    assert "waited" not in plan_text(analysis, width=200)


def test_a_real_wait_next_to_rounding_is_still_reported() -> None:
    """A wait as short as the shortest duration is real, however small the units."""
    tasks = [
        {"id": "a", "files": ["x"], "duration": 1e-6},
        {"id": "b", "files": ["x"], "duration": 1e-6},
    ]
    analysis = analyse(make_plan(tasks))
    assert [(d.task, d.duration) for d in analysis.delays] == [("b", pytest.approx(1e-6))]
    assert [p.resource for p in analysis.serialization] == ["x"]


def test_rounding_waits_are_still_in_the_simulation() -> None:
    """The scheduler itself keeps every wait it saw: only the reports leave rounding out."""
    plan = make_plan(NOISY)
    sim = simulate(Graph.from_plan(plan), ResourceIndex.build(plan))
    assert [w.end - w.start for w in sim.waits] == [pytest.approx(0.0, abs=1e-15)]


def test_a_serialization_point_names_every_task_its_waits_involved() -> None:
    """w waited for x while both readers held it: the point names r1, r2 and w, as the line
    "w waited 2 for x held by r1, r2" does (it named only the first holder)."""
    plan = parse_plan_text(
        "tasks:\n  - {id: r1, reads: [x], duration: 2}\n  - {id: r2, reads: [x], duration: 2}\n"
        "  - {id: w, files: [x], duration: 1}\n",
        name="plan.yaml",
    )
    analysis = analyse(plan)
    (point,) = analysis.serialization
    assert point.tasks == ("r1", "r2", "w")
    (delay,) = analysis.delays
    assert set(delay.holders) | {delay.task} == set(point.tasks)


def test_a_wait_names_only_holders_that_conflict_with_it_for_some_time() -> None:
    """docs only reads schema.sql: it waited 3 for regen, which writes it, not for snapshot,
    which only reads it (as docs does) and takes no time; neither does the point name it."""
    plan = parse_plan_text(
        "tasks:\n"
        "  - {id: prep, duration: 1}\n"
        "  - {id: snapshot, duration: 0, depends: [prep], reads: [schema.sql]}\n"
        "  - {id: regen, duration: 3, depends: [prep], files: [schema.sql]}\n"
        "  - {id: docs, duration: 1, depends: [prep], reads: [schema.sql]}\n"
        "  - {id: publish, duration: 5, depends: [snapshot]}\n"
        "  - {id: after-regen, duration: 4, depends: [regen]}\n",
        name="plan.yaml",
    )
    analysis = analyse(plan)
    assert [(d.task, d.holders, d.duration) for d in analysis.delays] == [("docs", ("regen",), 3.0)]
    assert [p.tasks for p in analysis.serialization] == [("docs", "regen")]
    assert "docs waited 3 for schema.sql held by regen\n" in plan_text(analysis, width=200)


def test_a_reader_held_back_behind_a_writer_is_not_said_to_wait_for_other_readers() -> None:
    """r is planned after w, which waits for the reader long: r waits from 0 to 5, and only w
    (which writes x) kept it waiting, though long read x during that time."""
    plan = make_plan(
        [
            {"id": "long", "reads": ["x"], "duration": 3},
            {"id": "r", "reads": ["x"], "duration": 1},
            {"id": "w", "files": ["x"], "duration": 2},
        ]
    )
    graph, index = Graph.from_plan(plan), ResourceIndex.build(plan)
    long, r, w = (graph.index[t] for t in ("long", "r", "w"))
    x = index.claims[w][0][0]
    policy = Policy([2.0, 0.0, 1.0], after=[(), ((w, x),), ((long, x),)])
    sim = simulate(graph, index, policy=policy)
    assert (sim.start[long], sim.start[w], sim.start[r]) == (0.0, 3.0, 5.0)
    explained = delays(graph, index, sim.waits, sim.start, sim.end)
    assert [(d.task, d.holders, d.duration) for d in explained] == [
        ("r", ("w",), 5.0),
        ("w", ("long",), 3.0),
    ]


def test_a_folder_read_collides_with_the_files_written_below_it() -> None:
    """Each task writes its own file under src/ and reads src/: every pair conflicts, and the
    conflicts list says so (it was empty: the folder's readers and the files' writers were
    never put together)."""
    plan = parse_plan_text(
        "tasks:\n"
        + "".join(f"  - {{id: t{i}, files: [src/mod{i}.py], reads: [src/]}}\n" for i in range(3)),
        name="plan.yaml",
    )
    (group,) = analyse(plan).conflicts
    assert (group.resource, group.tasks, group.writers) == (
        "src/",
        ("t0", "t1", "t2"),
        ("t0", "t1", "t2"),
    )


# --- a writer that also declares reading the file ------------------------------------------------


def test_a_split_leaves_a_writer_that_declares_reading_the_file_on_the_whole_file() -> None:
    """add-auth writes src/api.py and declares reading it: after a split it edits its own part
    but still reads the whole file, so it still waits for the other writers' parts. With two
    writers the split gains nothing (it promised 2); with three it gives 4, not 2, and
    replanning the changed plan agrees."""
    auth = {
        "id": "add-auth",
        "duration": 2,
        "files": ["src/api.py"],
        "reads": ["src/api.py", "src/models.py"],
    }
    route = {"id": "add-route", "duration": 2, "files": ["src/api.py"]}
    plan = make_plan([route, auth])
    analysis = analyse(plan)
    assert analysis.practical == 4.0
    assert advised(analysis) == []
    plan = make_plan([route, auth, {"id": "add-log", "duration": 2, "files": ["src/api.py"]}])
    analysis = analyse(plan)
    assert analysis.practical == 6.0
    split = [a for a in analysis.advice if a.action is Action.SPLIT]
    assert [(a.resource, a.makespan) for a in split] == [("src/api.py", 4.0)]
    for advice in analysis.advice:
        assert replanned(plan, advice) == advice.makespan


# --- a folder or glob writer blocked by several holders ------------------------------------------

FEATURES = [
    {"id": "feature-a", "duration": 3, "files": ["src/app/a.py"]},
    {"id": "feature-b", "duration": 3, "files": ["src/app/b.py"]},
]


@pytest.mark.parametrize("wide", ["src/**/*.py", "src/app/*.py", "src/"])
def test_a_folder_or_glob_writer_waits_for_every_holder_in_it(wide: str) -> None:
    """rename-logger writes every file under src/ while feature-a and feature-b hold two of
    them: its wait names both and is about what it declared, which costs 2 (ignoring one of
    the files gained nothing, so the point cost 0 and nothing was advised); splitting it
    gives 3, as replanning the changed plan does."""
    plan = make_plan([*FEATURES, {"id": "rename-logger", "duration": 2, "files": [wide]}])
    analysis = analyse(plan)
    assert analysis.practical == 5.0
    assert [(d.task, d.resource, d.holders) for d in analysis.delays] == [
        ("rename-logger", wide, ("feature-a", "feature-b"))
    ]
    (point,) = analysis.serialization
    assert (point.resource, point.tasks, point.wait, point.cost) == (
        wide,
        ("feature-a", "feature-b", "rename-logger"),
        3.0,
        2.0,
    )
    assert advised(analysis) == [(Action.SPLIT, wide, 3.0)]
    assert replanned(plan, analysis.advice[0]) == 3.0
    text = plan_text(analysis, width=200)
    assert f"rename-logger waited 3 for {wide} held by feature-a, feature-b" in text
    assert f"Split {wide} so that rename-logger edits a part of its own" in text


@pytest.mark.parametrize(
    ("key", "piece"),
    [
        ("src/**/*.py", "src/@t/*.py"),
        ("src/*.py", "src/@t@*.py"),
        ("src/*/", "src/@t@*/"),
        ("src/a?*.py", "src/a?@t@*.py"),
        ("docs/x/**", "docs/x/@t"),
        ("src/a?/*.py", "src/a?/*.py/@t"),
        ("src/[ab]*.py", "src/[ab]*.py/@t"),
        ("src/a.py", "src/a.py/@t"),
        ("src/", "src/@t/"),
        ("./", "@t/"),
    ],
)
def test_a_glob_is_split_at_its_first_wildcard_segment(
    key: str, piece: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A glob's piece is cut at the segment where its wildcards start, as the resource
    names find it (piece_key looked for the wildcards again, segment by segment); a ``?``
    or ``[...]`` there leaves no room, so the piece goes under each match."""
    asked: list[tuple[str, ...]] = []

    def first_wildcard(segments: Sequence[str]) -> tuple[str, ...]:
        asked.append(tuple(segments))
        return literal_segments(segments)

    monkeypatch.setattr(advice_module, "literal_segments", first_wildcard)
    assert piece_key(ResourceKind.FILE, key, "t") == piece
    assert asked == ([tuple(key.split("/"))] if is_glob(key) else [])


def test_two_writers_of_a_deep_glob_split_it_into_parts_of_their_own() -> None:
    """Each writer of src/**/*.py gets a part no other can reach (the pattern's ** used to
    reach into the other's part, so the split gained nothing and was not advised)."""
    wide = {"duration": 2, "files": ["src/**/*.py"]}
    plan = make_plan([{"id": "x", **wide}, {"id": "y", **wide}])
    analysis = analyse(plan)
    assert analysis.practical == 4.0
    assert advised(analysis) == [(Action.SPLIT, "src/**/*.py", 2.0)]
    assert replanned(plan, analysis.advice[0]) == 2.0


def test_the_timelines_of_a_file_and_of_its_folder_are_read_alike() -> None:
    """A wait on a file and one about the folder it lies in see their holders through one
    reading of the claims: the file's timeline has the tasks that held it, the folder's
    every task that held anything in it, each once by start, and each its writers; a task
    that took no time is on neither."""
    plan = make_plan(
        [
            {"id": "a", "files": ["src/a.py"]},
            {"id": "b", "reads": ["src/a.py"]},
            {"id": "c", "files": ["src/b.py"], "reads": ["src/a.py"]},
            {"id": "d", "reads": ["src/"]},
            {"id": "e", "files": ["src/a.py"]},
            {"id": "f", "files": ["lib/x.py"]},
        ]
    )
    index = ResourceIndex.build(plan)
    start = [4.0, 0.0, 2.0, 1.0, 3.0, 0.0]
    end = [5.0, 2.0, 3.0, 6.0, 3.0, 1.0]
    file, folder = index.names.index("src/a.py"), index.names.index("src/")
    held, wrote = explain._timelines(index, {file: (file,)}, start, end)
    assert held == {file: [(0.0, 2.0, 1), (2.0, 3.0, 2), (4.0, 5.0, 0)]}
    assert wrote == {file: [(4.0, 5.0, 0)]}
    held, wrote = explain._timelines(index, explain._wide_hits(index, {folder}), start, end)
    assert held == {folder: [(0.0, 2.0, 1), (1.0, 6.0, 3), (2.0, 3.0, 2), (4.0, 5.0, 0)]}
    assert wrote == {folder: [(2.0, 3.0, 2), (4.0, 5.0, 0)]}


def test_a_file_under_a_read_folder_and_a_read_glob_waits_for_both() -> None:
    """fix writes src/util.py while docs reads src/ and lint reads **/*.py: both block it, so
    they are one point, which costs 2 (ignoring either alone gains nothing; it cost 0)."""
    plan = make_plan(
        [
            {"id": "docs", "duration": 3, "reads": ["src/"]},
            {"id": "lint", "duration": 3, "reads": ["**/*.py"]},
            {"id": "fix", "duration": 2, "files": ["src/util.py"]},
        ]
    )
    analysis = analyse(plan)
    assert analysis.practical == 5.0
    assert costs(analysis) == {"**/*.py + src/": 2.0}


# --- what a replan is charged ---------------------------------------------------------------------


def test_an_advice_replan_is_charged_preparing_it_not_only_its_replay(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each replan is charged its search's work plus two units per task, dependency and claim,
    and per index entry a half (the lower bound) or five (a changed plan's graph and index)."""
    plan = make_plan(
        [
            {"id": "a", "files": ["src/x.py"], "duration": 2},
            {"id": "b", "files": ["src/x.py"], "duration": 2},
            {"id": "c", "depends": ["a"], "reads": ["src/"], "duration": 1},
        ]
    )
    made: list[tuple[int, Graph, ResourceIndex]] = []
    real = advice_module.replan

    def recording(
        graph: Graph, index: ResourceIndex, workers: int | None, *, seeds: Sequence[Policy] = ()
    ) -> advice_module.Planned:
        planned = real(graph, index, workers, seeds=seeds)
        made.append((planned.work, graph, index))
        return planned

    charged: list[int] = []
    monkeypatch.setattr(advice_module, "replan", recording)
    monkeypatch.setattr(
        advice_module.AdviceContext, "charge", lambda self, work: charged.append(work)
    )
    analyse(plan)
    own = ResourceIndex.build(plan)  # a cost's replan is charged the claims it filters
    # A changed plan's index has other points (a split's pieces) or other declared ones
    # (narrowed reads); a cost's keeps the plan's own.
    built = [(i.names, i.declared) != (own.names, own.declared) for _, _, i in made]
    assert built.count(True) >= 1 and built.count(False) >= 1  # a changed plan and a cost
    assert len(charged) == len(made)
    for (work, graph, replanned_index), changed, charge in zip(made, built, charged, strict=True):
        index = replanned_index if changed else own
        size = len(graph) + sum(map(len, graph.preds)) + sum(map(len, index.claims))
        entries = len(index.names) + sum(map(len, index.ancestors))  # no globs here
        assert charge == work + 2 * size + (5 * entries if changed else entries // 2)
        assert charge > work


# --- broad reads over files others write ---------------------------------------------------------


def folder_readers(count: int) -> Plan:
    """``count`` unit tasks, each writing its own file under src/ and reading all of src/."""
    return make_plan(
        [{"id": f"t{i}", "files": [f"src/mod{i}.py"], "reads": ["src/"]} for i in range(count)]
    )


def test_readers_of_a_folder_others_write_in_are_told_to_narrow_their_reads() -> None:
    """Six tasks each write their own file under src/ and read src/: every one waits for the
    others (6). Narrowing the reads drops them, and the writers no longer meet (1), exactly
    what replanning the changed plan gives."""
    plan = folder_readers(6)
    analysis = analyse(plan)
    assert analysis.practical == 6.0
    (narrow,) = analysis.advice
    assert (narrow.action, narrow.makespan, narrow.gain) == (Action.NARROW_READS, 1.0, 5.0)
    assert narrow.resource == analysis.serialization[0].resource  # the point it is about
    assert narrow.keys == ((ResourceKind.FILE, "src/"),)
    assert narrow.tasks == tuple(f"t{i}" for i in range(6))
    assert replanned(plan, narrow) == narrow.makespan


def test_narrowing_reads_drops_only_the_broad_reads_of_the_tasks_named() -> None:
    """The changed plan keeps each task's writes and exact reads, and the broad reads of
    tasks the advice does not name."""
    plan = make_plan(
        [
            {"id": "a", "files": ["src/a.py"], "reads": ["src/", "src/b.py", "docs/**/*.md"]},
            {"id": "b", "files": ["src/b.py"], "reads": ["src/**/*.py"]},
            {"id": "c", "files": ["docs/x.md"], "reads": ["src/"]},
        ]
    )
    keys = ((ResourceKind.FILE, "src/"), (ResourceKind.FILE, "src/**/*.py"))
    advice = Advice(Action.NARROW_READS, "src/", 1.0, 1.0, keys=keys, tasks=("a", "b"))
    changed = {t.id: t for t in apply_advice(plan, advice).tasks}
    described = {i: [a.describe() for a in task.accesses] for i, task in changed.items()}
    assert described == {
        "a": ["src/a.py (write)", "src/b.py (read)", "docs/**/*.md (read)"],
        "b": ["src/b.py (write)"],
        "c": ["docs/x.md (write)", "src/ (read)"],
    }
    assert changed["c"] == plan.tasks[2]


def test_narrowing_a_read_never_touches_a_task_that_writes_the_same_key() -> None:
    """rename writes and reads src/: its read is merged into its write, so the advice names
    only the tasks that merely read src/."""
    plan = make_plan(
        [
            *({"id": f"t{i}", "files": [f"src/m{i}.py"], "reads": ["src/"]} for i in range(3)),
            {"id": "rename", "files": ["src/"], "reads": ["src/"], "duration": 0.5},
        ]
    )
    narrow = [a for a in analyse(plan).advice if a.action is Action.NARROW_READS]
    assert [a.tasks for a in narrow] == [("t0", "t1", "t2")]
    for advice in narrow:
        assert replanned(plan, advice) == advice.makespan


def test_readers_of_a_named_state_others_write_below_are_told_to_narrow_them() -> None:
    """Tasks that write their own table and read all of db serialize like readers of a
    folder: narrowing the reads of state:db gives 1 (as giving each task its own db does)."""
    plan = make_plan(
        [{"id": f"t{i}", "state": [f"db.table{i}"], "state_reads": ["db"]} for i in range(4)]
    )
    analysis = analyse(plan)
    assert analysis.practical == 4.0
    (narrow,) = [a for a in analysis.advice if a.action is Action.NARROW_READS]
    assert (narrow.keys, narrow.tasks, narrow.makespan) == (
        ((ResourceKind.STATE, "db"),),
        ("t0", "t1", "t2", "t3"),
        1.0,
    )
    assert replanned(plan, narrow) == 1.0
    assert advice_sentence(narrow) == (
        "Narrow the reads of state:db in t0, t1, t2, t3 to the state each task really reads "
        "(if the narrowed reads meet no writer)"
    )


def agent_plan(tasks: int, packages: int, seed: int) -> Plan:
    """An agent-shaped plan: each task writes a few files of one package and its tests, and
    reads the whole source tree or its package folder and the docs."""
    rng = Random(seed)
    docs: list[dict[str, Any]] = []
    for n in range(tasks):
        package = f"src/pkg{rng.randrange(packages)}"
        files = sorted({f"{package}/m{rng.randrange(20)}.py" for _ in range(rng.randint(1, 3))})
        reads = rng.choice([["src/**/*.py"], [f"{package}/", "docs/**/*.md"]])
        task: dict[str, Any] = {
            "id": f"t{n}",
            "files": [*files, f"tests/{package[4:]}/test_m{rng.randrange(20)}.py"],
            "reads": reads,
            "duration": round(rng.uniform(0.5, 10), 2),
        }
        if n and rng.random() < 0.3:
            task["depends"] = [f"t{rng.randrange(n)}"]
        docs.append(task)
    return make_plan(docs)


def test_an_agent_shaped_plan_is_told_to_narrow_its_broad_reads() -> None:
    """Agents that read whole trees while writing a few files serialize on those reads, and
    no split or extract helps: narrowing the reads is the advice, it brings the plan close to
    its critical path, and replanning the changed plan gives its makespan."""
    plan = agent_plan(80, 4, seed=3)
    analysis = analyse(plan)
    first = analysis.advice[0]
    assert first.action is Action.NARROW_READS
    assert {key for _, key in first.keys} == {"src/**/*.py"} | {f"src/pkg{k}/" for k in range(4)}
    assert first.makespan < analysis.practical / 2
    assert replanned(plan, first) == pytest.approx(first.makespan)


def test_narrowed_reads_in_text_and_json() -> None:
    """The sentence names at most three keys and three tasks and says the figure is a best
    case; the JSON gives the action, resource, tasks and keys."""
    plan = make_plan(
        [
            {"id": f"t{i}", "files": [f"src/p{i}/m.py"], "reads": [f"src/p{i % 5}/", "src/"]}
            for i in range(6)
        ]
    )
    analysis = analyse(plan)
    (narrow,) = analysis.advice
    assert (narrow.action, narrow.makespan) == (Action.NARROW_READS, 1.0)
    assert advice_sentence(narrow) == (
        "Narrow the reads of src/, src/p0/, src/p1/ + 3 more in t0, t1, t2 + 3 more to the "
        "files each task really reads (if the narrowed reads meet no writer)"
    )
    (entry,) = json.loads(plan_json(analysis))["advice"]
    assert entry == {
        "action": "narrow-reads",
        "resource": narrow.resource,
        "makespan": 1.0,
        "gain": 5.0,
        "description": advice_sentence(narrow),
        "tasks": [f"t{i}" for i in range(6)],
        "keys": ["src/", "src/p0/", "src/p1/", "src/p2/", "src/p3/", "src/p4/"],
    }

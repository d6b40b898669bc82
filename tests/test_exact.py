"""Tests of the exact mode (OR-Tools CP-SAT): known optima, every resource kind, and that it is
never worse than the heuristic nor below the lower bound."""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import waveplan.schedule.exact
from oracle import NO, conflict_verdict
from test_schedule_properties import check_schedule, load, plan_docs
from waveplan.cli import main
from waveplan.graph import Graph, heads, tails
from waveplan.load import load_plan, parse_plan_text
from waveplan.model import Mode, Plan
from waveplan.resources.index import ResourceIndex
from waveplan.schedule import analyse
from waveplan.schedule.bounds import _read_below_written, _read_forms, _read_points, lower_bound
from waveplan.schedule.exact import _exclusive, incompatible_cliques
from waveplan.schedule.instance import FamilyKind, Instance
from waveplan.schedule.search import Method

pytest.importorskip("ortools", reason="the exact mode needs the optimal extra")

DATA = Path(__file__).resolve().parent / "data" / "psplib"
EPSILON = 1e-9
LIMIT = 3.0  # seconds per solve: every instance here is proven well within it


def make_plan(tasks: list[dict[str, Any]], **top: Any) -> Plan:
    """A plan from task-file data, through the real loader."""
    return parse_plan_text(json.dumps({**top, "tasks": tasks}), name="plan.json")


def brute_force_optimum(plan: Plan) -> float:
    """The optimal makespan of a tiny plan with whole durations, independently of waveplan's
    scheduler: every topological order decoded by placing each task at its earliest whole
    start where no placed task it conflicts with (by the oracle, conservatively) overlaps,
    the amounts fit the capacities and a worker is free. Such decoding yields every active
    schedule, and some active schedule is optimal."""
    tasks = plan.tasks
    n = len(tasks)
    index = {t.id: i for i, t in enumerate(tasks)}
    duration = [round(t.duration) for t in tasks]
    preds = [[index[d] for d in t.depends] for t in tasks]
    conflict = [
        [
            i != j
            and any(
                conflict_verdict(a, b) is not NO
                for a in tasks[i].accesses
                for b in tasks[j].accesses
            )
            for j in range(n)
        ]
        for i in range(n)
    ]
    amounts = [{a.key: a.amount for a in t.accesses if a.mode is Mode.AMOUNT} for t in tasks]
    best = float(sum(duration))
    for order in itertools.permutations(range(n)):
        position = {task: k for k, task in enumerate(order)}
        if any(position[p] > position[j] for j in range(n) for p in preds[j]):
            continue
        start: dict[int, int] = {}
        for j in order:
            t = max((start[p] + duration[p] for p in preds[j]), default=0)
            while not _fits(
                j, t, start=start, duration=duration, conflict=conflict, amounts=amounts, plan=plan
            ):
                t += 1
            start[j] = t
        best = min(best, float(max(start[j] + duration[j] for j in range(n))))
    return best


def _fits(
    j: int,
    t: int,
    *,
    start: dict[int, int],
    duration: list[int],
    conflict: list[list[bool]],
    amounts: list[dict[str, int]],
    plan: Plan,
) -> bool:
    for unit in range(t, t + max(1, duration[j])):
        running = [k for k, s in start.items() if s <= unit < s + duration[k]]
        if any(conflict[j][k] for k in running):
            return False
        if plan.workers is not None and len(running) + 1 > plan.workers:
            return False
        for name, capacity in plan.capacities.items():
            used = amounts[j].get(name, 0) + sum(amounts[k].get(name, 0) for k in running)
            if used > capacity:
                return False
    return True


# --- known optima ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "optimum"),
    [("j301_1", 43.0), ("j301_2", 47.0), ("j305_3", 76.0), ("j3037_5", 80.0)],
)
def test_known_psplib_optima_are_found_and_proven(name: str, optimum: float) -> None:
    """The exact mode reaches the optimum of j30opt.sm and proves it."""
    analysis = analyse(load_plan(DATA / f"{name}.sm"), optimal=True, time_limit=LIMIT)
    assert analysis.practical == optimum
    assert analysis.lower_bound.value == optimum
    assert analysis.optimal
    assert analysis.exact is not None


EVERY_KIND = make_plan(
    [
        # Files: a writer of src/ excludes the writers under it, which may run together.
        {"id": "dir", "files": ["src/"], "duration": 2},
        {"id": "a", "files": ["src/a.ts"], "duration": 3},
        {"id": "b", "files": ["src/b.ts"], "duration": 3},
        # A glob: src/*.ts overlaps src/a.ts and src/b.ts, not lib/x.py.
        {"id": "glob", "files": ["src/*.ts"], "duration": 1},
        {"id": "lib", "files": ["lib/x.py"], "reads": ["src/a.ts"], "duration": 4},
        # A folder's readers exclude the writers below it; its writers below run together.
        {"id": "docs", "reads": ["docs/"], "duration": 2},
        {"id": "guide", "files": ["docs/guide.md"], "duration": 1},
        {"id": "faq", "files": ["docs/faq.md"], "reads": ["docs/"], "duration": 1},
        {"id": "api", "files": ["docs/api.md"], "duration": 1},
        # State: db covers db.users; readers of db.users share it.
        {"id": "db", "state": ["db"], "duration": 2},
        {"id": "u1", "state_reads": ["db.users"], "duration": 2},
        {"id": "u2", "state_reads": ["db.users"], "duration": 2},
        {"id": "orders", "state": ["db.orders"], "duration": 2, "depends": ["u1"]},
        # Tests: one port at a time.
        {"id": "t1", "tests": ["port:8080"], "duration": 1},
        {"id": "t2", "tests": ["port:8080"], "duration": 1, "depends": ["dir"]},
        # A counted resource of capacity 2.
        {"id": "g1", "uses": {"gpu": 2}, "duration": 2},
        {"id": "g2", "uses": {"gpu": 1}, "duration": 3},
        {"id": "g3", "uses": {"gpu": 1}, "duration": 3},
    ],
    resources={"gpu": 2},
    workers=4,
)


def test_every_resource_kind_becomes_a_constraint() -> None:
    """Files (nodes, directories, globs, reads), state, tests, counted and workers all turn
    into families of the model."""
    graph, index = Graph.from_plan(EVERY_KIND), ResourceIndex.build(EVERY_KIND)
    instance = Instance.build(graph, index, EVERY_KIND.workers)
    kinds = {family.kind for family in instance.families}
    assert kinds == set(FamilyKind)
    ids = graph.ids
    members = [{ids[t] for t in family.tasks} for family in instance.families]
    for pair in (("dir", "a"), ("dir", "b"), ("glob", "a"), ("glob", "dir"), ("a", "lib")):
        assert any(set(pair) <= m for m in members), pair
    for apart in (("a", "b"), ("glob", "lib"), ("u1", "u2"), ("u1", "orders")):
        family = [m for m in members if set(apart) <= m]
        # two tasks that never conflict share only families where a third excludes both
        assert all(len(m) > 2 for m in family), apart
    assert any({"db", "u1", "u2"} <= m for m in members)
    (nested,) = [f for f in instance.families if f.kind is FamilyKind.NESTED]
    assert {ids[t] for t in nested.tasks} == {"docs", "guide", "faq", "api"}

    def conflict(a: str, b: str) -> bool:
        return nested.conflict(nested.tasks.index(ids.index(a)), nested.tasks.index(ids.index(b)))

    assert conflict("docs", "guide") and conflict("faq", "api") and conflict("docs", "faq")
    assert not conflict("guide", "api")


def _instance(plan: Plan) -> Instance:
    return Instance.build(Graph.from_plan(plan), ResourceIndex.build(plan), plan.workers)


def _check_cliques(instance: Instance, cliques: list[list[int]]) -> None:
    """Each clique: three or more tasks, every two of them over some family's capacity
    together, and not all in one family whose members already exclude each other."""
    position: list[dict[int, int]] = [{} for _ in range(len(instance))]
    for f, family in enumerate(instance.families):
        for k, task in enumerate(family.tasks):
            position[task][f] = k
    families = instance.families

    def incompatible(a: int, b: int) -> bool:
        return any(
            f in position[b] and families[f].conflict(k, position[b][f])
            for f, k in position[a].items()
        )

    for clique in cliques:
        assert len(clique) >= 3
        assert all(incompatible(a, b) for a, b in itertools.combinations(clique, 2))
        for family in instance.families:
            inside = [t for t in family.tasks if t in clique]
            assert len(inside) < len(clique) or not _exclusive(family, range(len(family.tasks))), (
                "a clique the family's no-overlap already states"
            )


CROSS = make_plan(
    [
        {"id": "a", "uses": {"r1": 2, "r3": 2}},
        {"id": "b", "uses": {"r1": 2, "r2": 2}},
        {"id": "c", "uses": {"r2": 2, "r3": 2}},
        {"id": "x", "uses": {"gpu": 2}},
        {"id": "y", "uses": {"gpu": 2}},
        {"id": "z", "uses": {"gpu": 2}},
    ],
    resources={"r1": 3, "r2": 3, "r3": 3, "gpu": 2},
)
"""a, b and c exclude each other two by two through three different resources (a clique no
family states); x, y and z exclude each other through one (its no-overlap states it)."""


def test_cliques_add_what_no_family_states() -> None:
    """The clique search finds {a, b, c} and not {x, y, z}, which the gpu's no-overlap already
    covers; on PSPLIB instances every clique it returns is a real and new one."""
    instance = _instance(CROSS)
    ids = Graph.from_plan(CROSS).ids
    cliques = incompatible_cliques(instance)
    assert [[ids[t] for t in clique] for clique in cliques] == [["a", "b", "c"]]
    _check_cliques(instance, cliques)
    for path in sorted(DATA.glob("*.sm")):
        psplib = _instance(load_plan(path))
        _check_cliques(psplib, incompatible_cliques(psplib))


def test_the_clique_search_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond its work budget the search keeps what it found (nothing, here): a plan of many
    tasks on few files does not spend seconds on cliques the solver may not need."""
    monkeypatch.setattr(waveplan.schedule.exact, "CLIQUE_WORK", 5)
    assert incompatible_cliques(_instance(CROSS)) == []
    plan = make_plan([{"id": f"t{i}", "files": [f"f{i % 3}"]} for i in range(300)], workers=4)
    monkeypatch.setattr(waveplan.schedule.exact, "CLIQUE_WORK", 2_000)
    assert incompatible_cliques(_instance(plan)) == []  # (its cliques are the files anyway)


def test_every_resource_kind_reaches_the_brute_force_optimum() -> None:
    """On a plan using every resource kind, the exact mode's makespan is the optimum found by
    brute force, proven, and the schedule is valid."""
    small = make_plan(
        [
            {"id": "dir", "files": ["src/"], "duration": 2},
            {"id": "a", "files": ["src/a.ts"], "tests": ["port:1"], "duration": 3},
            {"id": "glob", "files": ["src/*.ts"], "state_reads": ["db.users"], "duration": 1},
            {"id": "db", "state": ["db"], "reads": ["src/b.ts"], "duration": 2},
            {"id": "t", "tests": ["port:1"], "uses": {"gpu": 1}, "duration": 2},
            {"id": "g", "uses": {"gpu": 2}, "duration": 2, "depends": ["glob"]},
        ],
        resources={"gpu": 2},
        workers=3,
    )
    expected = brute_force_optimum(small)
    analysis = analyse(small, optimal=True, time_limit=LIMIT)
    assert analysis.practical == expected
    assert analysis.optimal
    check_schedule(small, analysis.schedule)


def test_the_exact_mode_on_every_kind_is_proven() -> None:
    """The larger plan with every kind is solved to proven optimality."""
    analysis = analyse(EVERY_KIND, optimal=True, time_limit=LIMIT)
    assert analysis.optimal
    check_schedule(EVERY_KIND, analysis.schedule)


SMALL_FILES = ["src/a.ts", "src/b.ts", "src/", "src/*.ts", "lib/x.py", "**/*.py"]
SMALL_STATE = ["db", "db.users", "db.orders"]
SMALL_TESTS = ["port:1", "tests/"]


@st.composite
def tiny_plans(draw: st.DrawFn) -> dict[str, Any]:
    """Task-file data of a plan of at most 6 tasks with whole durations and every kind."""
    count = draw(st.integers(2, 6))
    tasks: list[dict[str, Any]] = []
    for position in range(count):
        task: dict[str, Any] = {"id": f"t{position}", "duration": draw(st.integers(1, 3))}
        if position:
            deps = draw(st.lists(st.integers(0, position - 1), max_size=1, unique=True))
            if deps:
                task["depends"] = [f"t{d}" for d in deps]
        for field, keys in (
            ("files", SMALL_FILES),
            ("reads", SMALL_FILES),
            ("state", SMALL_STATE),
            ("state_reads", SMALL_STATE),
            ("tests", SMALL_TESTS),
        ):
            if draw(st.integers(0, 3)) == 0:
                task[field] = draw(
                    st.lists(st.sampled_from(keys), min_size=1, max_size=2, unique=True)
                )
        if draw(st.booleans()):
            task["uses"] = {"gpu": draw(st.integers(1, 2))}
        tasks.append(task)
    doc: dict[str, Any] = {"resources": {"gpu": 2}, "tasks": tasks}
    workers = draw(st.none() | st.integers(1, 3))
    if workers is not None:
        doc["workers"] = workers
    return doc


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_plans())
def test_the_exact_mode_matches_brute_force_on_tiny_plans(doc: dict[str, Any]) -> None:
    """Random tiny plans with every resource kind: the exact mode finds and proves the
    brute-force optimum."""
    plan = load(doc)
    analysis = analyse(plan, optimal=True, time_limit=LIMIT)
    assert analysis.practical == brute_force_optimum(plan)
    assert analysis.optimal
    check_schedule(plan, analysis.schedule)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_plans())
def test_the_lower_bound_never_exceeds_the_brute_force_optimum(doc: dict[str, Any]) -> None:
    """Every bound the heuristic reports (folders and globs read while others write into them
    included) is at most the best makespan of any schedule."""
    plan = load(doc)
    graph, index = Graph.from_plan(plan), ResourceIndex.build(plan)
    assert lower_bound(graph, index, plan.workers).value <= brute_force_optimum(plan) + EPSILON


READ_FORMS = ["src/", "src/*.ts", "**/*.ts"]
WRITTEN_INTO = ["src/a.ts", "src/b.ts", "src/c.ts", "src/x.md", "lib/d.ts"]


@st.composite
def read_form_plans(draw: st.DrawFn) -> dict[str, Any]:
    """Plans of at most 7 tasks, each reading one form of one tree (a folder, globs over
    it, a state name and one below it) and writing into it or beside it."""
    tasks: list[dict[str, Any]] = []
    for position in range(draw(st.integers(3, 7))):
        task: dict[str, Any] = {"id": f"t{position}", "duration": draw(st.integers(1, 4))}
        if position and draw(st.integers(0, 3)) == 0:
            task["depends"] = [f"t{draw(st.integers(0, position - 1))}"]
        if draw(st.integers(0, 3)):
            task["reads"] = [draw(st.sampled_from(READ_FORMS))]
        else:
            task["state_reads"] = [draw(st.sampled_from(["db", "db.users"]))]
        written = draw(st.lists(st.sampled_from(WRITTEN_INTO), max_size=2, unique=True))
        if written:
            task["files"] = written
        if draw(st.integers(0, 2)) == 0:
            task["state"] = [draw(st.sampled_from(["db", "db.users", "db.orders"]))]
        tasks.append(task)
    doc: dict[str, Any] = {"tasks": tasks}
    if draw(st.booleans()):
        doc["workers"] = draw(st.integers(1, 3))
    return doc


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(read_form_plans())
def test_read_forms_never_bound_above_the_brute_force_optimum(doc: dict[str, Any]) -> None:
    """The group of tasks reading forms of one tree and writing into all of them (run one at
    a time, by the bound's argument) never claims more than the best schedule takes."""
    plan = load(doc)
    graph, index = Graph.from_plan(plan), ResourceIndex.build(plan)
    durations, head, tail = graph.durations, heads(graph), tails(graph)
    after = [tail[i] - durations[i] for i in range(len(graph))]
    reads = _read_points(index)
    single = _read_below_written(reads, durations, head, after)
    value, _ = _read_forms(reads, single, durations, head, after)
    optimum = brute_force_optimum(plan)
    assert max(single.values(), default=0.0) <= optimum + EPSILON
    assert value <= optimum + EPSILON
    assert lower_bound(graph, index, plan.workers).value <= optimum + EPSILON


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan_docs(max_tasks=25))
def test_the_exact_mode_is_never_worse_than_the_heuristic_nor_below_the_bound(
    doc: dict[str, Any],
) -> None:
    """--optimal never reports a longer schedule than the heuristic, nor one shorter than the
    heuristic's lower bound; its bound never exceeds its makespan; optimal only when proven."""
    plan = load(doc)
    heuristic = analyse(plan)
    exact = analyse(plan, optimal=True, time_limit=1.0)
    check_schedule(plan, exact.schedule)
    assert exact.practical <= heuristic.practical + EPSILON
    assert exact.practical >= heuristic.lower_bound.value - EPSILON
    assert exact.lower_bound.value >= heuristic.lower_bound.value - EPSILON
    assert exact.lower_bound.value <= exact.practical + EPSILON
    assert exact.optimal == (exact.practical <= exact.lower_bound.value + EPSILON)


# --- the command line --------------------------------------------------------------------------


def test_optimal_json_reports_the_solver(capsys: pytest.CaptureFixture[str]) -> None:
    """`plan --optimal --format json`: optimal true only when proven, with the solver's status,
    time limit and workers."""
    path = DATA / "j305_3.sm"
    assert (
        main(["plan", str(path), "--optimal", "--time-limit", str(LIMIT), "--format", "json"]) == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["optimal"] is True
    assert data["makespan"]["practical"] == data["makespan"]["lower_bound"] == 76.0
    solver = data["solver"]
    assert solver["status"] == "optimal" and solver["gap"] == 0.0
    assert solver["time_limit"] == LIMIT
    assert solver["exact"] == {"status": "optimal", "workers": 2}
    assert solver["method"] in {m.value for m in Method}


def test_a_larger_plan_shares_the_time_limit_with_the_search(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """On a plan of more than 50 tasks the search goes on before the solver, within the same
    time limit, which the JSON reports as given; the result is never worse than the default
    heuristic's."""
    path = DATA / "j605_1.sm"  # 60 tasks; the heuristic stays above the critical-path bound
    args = ["plan", str(path), "--optimal", "--time-limit", "2", "--format", "json"]
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["solver"]["time_limit"] == 2.0
    heuristic = analyse(load_plan(path))
    assert data["makespan"]["practical"] <= heuristic.practical
    assert data["makespan"]["practical"] >= data["makespan"]["lower_bound"]


def test_the_solver_is_skipped_when_the_search_meets_the_bound(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A schedule that meets the lower bound is optimal already: no solver runs (it would only
    take time, and memory on a large plan), and the JSON says so with a null ``exact``."""
    plan = make_plan([{"id": f"t{i}", "files": ["same.txt"]} for i in range(60)])
    analysis = analyse(plan, optimal=True, time_limit=LIMIT)
    assert analysis.optimal
    assert analysis.exact is None
    path = DATA / "j601_1.sm"  # the heuristic meets the bound
    assert main(["plan", str(path), "--optimal", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["optimal"] is True
    assert data["solver"]["exact"] is None and data["solver"]["time_limit"] is None


def test_a_plan_too_large_for_the_solver_gets_the_search_and_a_warning(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Beyond MAX_TASKS no solver runs (CP-SAT would overrun its time limit loading the
    model); the command says so on standard error and shows the search's schedule."""
    monkeypatch.setattr(waveplan.schedule.exact, "MAX_TASKS", 20)
    path = DATA / "j3013_1.sm"  # the heuristic is above the bound
    plan = load_plan(path)
    plain = analyse(plan)
    assert plain.practical > plain.lower_bound.value
    args = ["plan", str(path), "--optimal", "--time-limit", "1", "--format", "json"]
    assert main(args) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["solver"]["exact"] is None
    assert data["makespan"]["practical"] <= plain.practical
    assert captured.err.startswith(
        f"warning: --optimal: {len(plan.tasks)} tasks is more than the exact solver takes (20)"
    )


def test_optimal_text_says_cp_sat_ran(capsys: pytest.CaptureFixture[str]) -> None:
    """The Schedule line mentions CP-SAT and its result."""
    args = ["plan", str(DATA / "j301_1.sm"), "--optimal", "--time-limit", "2"]
    assert main([*args, "--solver-workers", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    line = next(x for x in lines if x.startswith("Schedule: "))
    assert "CP-SAT optimal within 2 s (1 worker)" in line
    bound = next(x for x in lines if x.startswith("Lower bound: "))
    assert bound == "Lower bound: 43 (CP-SAT bound): the practical schedule is optimal"


def test_optimal_without_ortools_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without OR-Tools, --optimal is a one-line error with the install command, exit 2."""
    import waveplan.cli.plan

    monkeypatch.setattr(waveplan.cli.plan, "available", lambda: False)
    assert main(["plan", str(DATA / "j301_1.sm"), "--optimal"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "ERROR: --optimal needs the 'ortools' package: install it with "
        "pip install 'waveplan[optimal]'\n"
    )


def test_ctrl_c_during_the_solve_interrupts_the_command(tmp_path: Path) -> None:
    """CP-SAT catches SIGINT itself and ends its search quietly: interrupted mid-solve, plan
    went on as if the time limit had passed (exit 0, output written). Now it exits 130 and
    writes nothing, as any interrupted command."""
    out = tmp_path / "plan.json"
    command = [
        sys.executable,
        "-m",
        "waveplan",
        "plan",
        str(DATA / "j605_1.sm"),
        "--optimal",
        "--effort",
        "fast",
        "--time-limit",
        "60",
        "--format",
        "json",
        "-o",
        str(out),
    ]
    began = time.monotonic()
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    time.sleep(4.0)  # the fast search takes well under a second: CP-SAT is solving
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert "interrupted" in err
    assert not out.exists()
    assert time.monotonic() - began < 30

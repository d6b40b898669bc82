"""Tests of the dependency graph: checks, waves, heads and tails, critical path, determinism."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from itertools import pairwise
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from waveplan.errors import CycleError, PlanValidationError, UserError
from waveplan.graph import (
    CriticalPath,
    Graph,
    critical_path,
    heads,
    levels,
    sequential_makespan,
    tails,
    upstream,
    waves,
)
from waveplan.load import parse_plan_text
from waveplan.model import Plan, PlanSource, SourceFormat, Task, id_sort_key
from waveplan.schedule import analyse

ROOT = Path(__file__).resolve().parent.parent
SEED_EXAMPLE = ROOT / "examples" / "git-workflow.yaml"


def make_plan(spec: dict[str, tuple[list[str], float]]) -> Plan:
    """A plan from ``{id: (depends, duration)}``, tasks sorted by id as the loader does."""
    tasks = [
        Task(id=task_id, title=task_id, depends=tuple(deps), duration=float(duration))
        for task_id, (deps, duration) in spec.items()
    ]
    tasks.sort(key=lambda t: id_sort_key(t.id))
    return Plan(tasks=tuple(tasks))


def seed_plan() -> Plan:
    """The seed example's dependencies: 7 unit tasks in 4 waves."""
    return make_plan(
        {
            "t1": ([], 1),
            "t2": (["t1"], 1),
            "t3": (["t1"], 1),
            "t4": (["t1"], 1),
            "t5": (["t2"], 1),
            "t6": (["t2", "t3", "t4"], 1),
            "t7": (["t5", "t6"], 1),
        }
    )


# --- Graph.from_plan checks ------------------------------------------------------------------


def test_cycle_error_prints_the_closed_cycle_from_its_smallest_id() -> None:
    """A cycle is reported closed, starting and ending at its smallest id, in dependency order."""
    plan = make_plan({"c": (["b"], 1), "b": (["a"], 1), "a": (["c"], 1), "d": (["a"], 1)})
    with pytest.raises(CycleError) as caught:
        Graph.from_plan(plan)
    assert caught.value.cycle == ["a", "c", "b", "a"]
    assert "dependency cycle: a -> c -> b -> a" in str(caught.value)
    assert caught.value.task == "a"
    assert caught.value.field == "depends"


def test_cycle_uses_natural_id_order() -> None:
    """The smallest id of a cycle is chosen in natural order, so t9 comes before t10."""
    plan = make_plan({"t10": (["t9"], 1), "t9": (["t10"], 1)})
    with pytest.raises(CycleError) as caught:
        Graph.from_plan(plan)
    assert caught.value.cycle == ["t9", "t10", "t9"]


def test_cycle_behind_an_acyclic_prefix_is_found() -> None:
    """Tasks that are ordered before a cycle do not hide it, and tasks behind it are not in it."""
    plan = make_plan(
        {
            "a": ([], 1),
            "b": (["a", "d"], 1),
            "c": (["b"], 1),
            "d": (["c"], 1),
            "e": (["d"], 1),
        }
    )
    with pytest.raises(CycleError) as caught:
        Graph.from_plan(plan)
    assert caught.value.cycle == ["b", "d", "c", "b"]


def test_task_depending_on_a_cycle_is_left_out_of_it() -> None:
    """A task that only depends on a cycle is not part of the reported cycle, which still starts
    at its own smallest id."""
    plan = make_plan({"a": (["e"], 1), "c": (["d"], 1), "d": (["e"], 1), "e": (["c"], 1)})
    with pytest.raises(CycleError) as caught:
        Graph.from_plan(plan)
    assert caught.value.cycle == ["c", "d", "e", "c"]


def test_two_task_cycle_is_reported() -> None:
    """The shortest possible cycle between two tasks is found and closed."""
    plan = make_plan({"x": (["y"], 1), "y": (["x"], 1)})
    with pytest.raises(CycleError, match=r"x -> y -> x"):
        Graph.from_plan(plan)


def test_unknown_dependency_names_task_and_field() -> None:
    """A dependency on a task that does not exist names the task and the depends field."""
    plan = make_plan({"a": ([], 1), "b": (["a", "ghost"], 1)})
    with pytest.raises(PlanValidationError) as caught:
        Graph.from_plan(plan)
    assert caught.value.task == "b"
    assert caught.value.field == "depends"
    assert "unknown task 'ghost'" in str(caught.value)


def test_duplicate_ids_are_rejected() -> None:
    """Two tasks with one id are an error naming that id."""
    plan = Plan(tasks=(Task(id="a", title="one"), Task(id="a", title="two")))
    with pytest.raises(PlanValidationError) as caught:
        Graph.from_plan(plan)
    assert caught.value.task == "a"
    assert caught.value.field == "id"


def test_graph_indices_follow_plan_order() -> None:
    """Indices are positions in the plan, and preds and succs mirror each other."""
    graph = Graph.from_plan(seed_plan())
    assert list(graph.ids) == ["t1", "t2", "t3", "t4", "t5", "t6", "t7"]
    assert graph.index == {f"t{k}": k - 1 for k in range(1, 8)}
    assert graph.preds[5] == [1, 2, 3]
    assert graph.succs[0] == [1, 2, 3]
    assert len(graph) == 7
    for i, ps in enumerate(graph.preds):
        for p in ps:
            assert i in graph.succs[p]


def test_empty_plan_has_no_waves_and_an_empty_critical_path() -> None:
    """A plan without tasks has no waves, a zero-length critical path and nothing to sum."""
    graph = Graph.from_plan(Plan(tasks=()))
    assert waves(graph) == []
    assert levels(graph) == []
    assert critical_path(graph) == CriticalPath((), 0.0)
    assert sequential_makespan(graph.durations) == 0.0


# --- levels, waves, heads, tails -------------------------------------------------------------


def test_seed_example_levels_and_waves() -> None:
    """The seed example has the four waves of DESIGN section 7."""
    graph = Graph.from_plan(seed_plan())
    assert levels(graph) == [0, 1, 1, 1, 2, 2, 3]
    assert waves(graph) == [["t1"], ["t2", "t3", "t4"], ["t5", "t6"], ["t7"]]


def test_waves_list_ids_in_natural_order() -> None:
    """Inside a wave, ids are in natural order (t2 before t10), whatever the input order."""
    plan = make_plan({"t10": ([], 1), "t2": ([], 1), "t1": ([], 1), "a": (["t10"], 1)})
    assert waves(Graph.from_plan(plan)) == [["t1", "t2", "t10"], ["a"]]


def test_levels_returns_a_copy() -> None:
    """Changing the list that levels returns does not change the graph."""
    graph = Graph.from_plan(seed_plan())
    first = levels(graph)
    first[0] = 99
    assert levels(graph)[0] == 0


def test_heads_are_earliest_starts() -> None:
    """A task's head is the latest finish among its dependencies (0 without any)."""
    plan = make_plan({"a": ([], 2), "b": ([], 5), "c": (["a", "b"], 1), "d": (["a"], 3)})
    assert heads(Graph.from_plan(plan)) == [0.0, 0.0, 5.0, 2.0]


def test_tails_include_the_task_itself() -> None:
    """A task's tail is its duration plus the longest tail among the tasks depending on it."""
    plan = make_plan({"a": ([], 2), "b": ([], 5), "c": (["a", "b"], 1), "d": (["a"], 3)})
    assert tails(Graph.from_plan(plan)) == [5.0, 6.0, 1.0, 3.0]


# --- critical path and makespans ------------------------------------------------------------


def test_seed_example_critical_path() -> None:
    """The seed example's critical path is t1 t2 t5 t7 of length 4 (first in id order)."""
    path = critical_path(Graph.from_plan(seed_plan()))
    assert path == CriticalPath(("t1", "t2", "t5", "t7"), 4.0)


def test_critical_path_ties_are_broken_by_natural_id_order() -> None:
    """Of two equally long chains the one through the smaller id wins, in natural order."""
    plan = make_plan({"s": ([], 1), "t10": (["s"], 2), "t9": (["s"], 2), "z": (["t9", "t10"], 1)})
    assert critical_path(Graph.from_plan(plan)).tasks == ("s", "t9", "z")


def test_critical_path_follows_durations_not_task_count() -> None:
    """A short chain of long tasks beats a long chain of short ones."""
    plan = make_plan(
        {
            "a": ([], 1),
            "b": (["a"], 1),
            "c": (["b"], 1),
            "d": (["c"], 1),
            "long": ([], 10),
        }
    )
    assert critical_path(Graph.from_plan(plan)) == CriticalPath(("long",), 10.0)


def test_critical_path_ties_between_heads_take_the_smallest_id() -> None:
    """Independent tasks of equal duration give the smallest id as the critical path."""
    plan = make_plan({"b": ([], 3), "a": ([], 3), "c": ([], 1)})
    assert critical_path(Graph.from_plan(plan)) == CriticalPath(("a",), 3.0)


def test_sequential_makespan_is_the_exact_sum() -> None:
    """The sequential makespan is the sum of durations, exactly rounded whatever their order."""
    assert sequential_makespan([0.1, 0.2, 0.3]) == 0.6
    assert sequential_makespan([0.3, 0.2, 0.1]) == 0.6
    assert sequential_makespan(Graph.from_plan(seed_plan()).durations) == 7.0


def test_analysis_of_the_seed_example() -> None:
    """The analysis reports sequential 7 and theoretical 4 for the seed example."""
    analysis = analyse(seed_plan())
    assert analysis.sequential == 7.0
    assert analysis.theoretical == 4.0
    assert analysis.theoretical_waves == [["t1"], ["t2", "t3", "t4"], ["t5", "t6"], ["t7"]]


# --- property tests over random DAGs --------------------------------------------------------

IDS = st.from_regex(r"[a-z]{1,2}[0-9]{0,3}", fullmatch=True)


@st.composite
def dags(draw: st.DrawFn, max_tasks: int = 20, max_deps: int = 4) -> Plan:
    """A random DAG: distinct ids, a hidden topological order, whole-number durations."""
    ids = draw(st.lists(IDS, min_size=1, max_size=max_tasks, unique=True))
    topological = draw(st.permutations(ids))
    spec: dict[str, tuple[list[str], float]] = {}
    for position, task_id in enumerate(topological):
        earlier = topological[:position]
        deps = (
            draw(st.lists(st.sampled_from(earlier), unique=True, max_size=max_deps))
            if earlier
            else []
        )
        spec[task_id] = (deps, draw(st.integers(0, 9)))
    return make_plan(spec)


def to_networkx(plan: Plan) -> nx.DiGraph:
    """The plan as a networkx graph: an edge from each dependency to its dependent."""
    graph = nx.DiGraph()
    graph.add_nodes_from(t.id for t in plan.tasks)
    graph.add_edges_from((d, t.id) for t in plan.tasks for d in t.depends)
    return graph


def longest_chains(plan: Plan) -> dict[str, int]:
    """Edges on the longest dependency chain ending at each task, computed by networkx."""
    graph = to_networkx(plan)
    return {
        v: nx.dag_longest_path_length(graph.subgraph(nx.ancestors(graph, v) | {v})) for v in graph
    }


def longest_weighted_path(plan: Plan) -> float:
    """Longest duration-weighted chain, by networkx over edges weighted by their target."""
    graph = nx.DiGraph()
    source = object()
    durations = {t.id: t.duration for t in plan.tasks}
    graph.add_weighted_edges_from((source, t.id, t.duration) for t in plan.tasks)
    graph.add_weighted_edges_from((d, t.id, durations[t.id]) for t in plan.tasks for d in t.depends)
    return float(nx.dag_longest_path_length(graph, weight="weight"))


def maximal_chains(plan: Plan) -> Iterator[list[str]]:
    """Every chain from a task without dependencies to a task nothing depends on (brute force)."""
    dependents: dict[str, list[str]] = {t.id: [] for t in plan.tasks}
    for t in plan.tasks:
        for d in t.depends:
            dependents[d].append(t.id)

    def extend(chain: list[str]) -> Iterator[list[str]]:
        following = dependents[chain[-1]]
        if not following:
            yield chain
        for nxt in following:
            yield from extend([*chain, nxt])

    for t in plan.tasks:
        if not t.depends:
            yield from extend([t.id])


@given(dags())
def test_every_wave_comes_after_its_dependencies_waves(plan: Plan) -> None:
    """Each task's wave is later than the wave of every task it depends on."""
    wave_of = {
        task_id: n for n, wave in enumerate(waves(Graph.from_plan(plan))) for task_id in wave
    }
    for task in plan.tasks:
        for dep in task.depends:
            assert wave_of[dep] < wave_of[task.id]


@given(dags())
def test_wave_index_is_the_longest_dependency_chain(plan: Plan) -> None:
    """A task's wave number is the number of edges on the longest chain ending at it."""
    graph = Graph.from_plan(plan)
    expected = longest_chains(plan)
    assert levels(graph) == [expected[task_id] for task_id in graph.ids]
    found = waves(graph)
    assert sorted(task_id for wave in found for task_id in wave) == sorted(graph.ids)
    assert all(wave for wave in found)
    for wave in found:
        assert wave == sorted(wave, key=id_sort_key)
        assert {expected[task_id] for task_id in wave} == {found.index(wave)}


@given(dags())
def test_critical_path_length_is_the_theoretical_makespan(plan: Plan) -> None:
    """The critical path's length equals the unlimited-workers makespan and networkx's longest
    duration-weighted path, and equals the sum of its own tasks' durations."""
    graph = Graph.from_plan(plan)
    path = critical_path(graph)
    starts = heads(graph)
    makespan = max(start + graph.durations[i] for i, start in enumerate(starts))
    assert path.length == makespan
    assert path.length == longest_weighted_path(plan)
    assert path.length == analyse(plan, graph).theoretical
    assert path.length == sum(plan.task(task_id).duration for task_id in path.tasks)


@given(dags(), st.data())
def test_a_back_edge_is_reported_as_a_valid_closed_cycle(plan: Plan, data: st.DataObject) -> None:
    """Making a task depend on one of its descendants gives a closed cycle, smallest id first,
    in which each task depends on the next."""
    graph = to_networkx(plan)
    pairs = [(u, v) for u in sorted(graph) for v in sorted(nx.descendants(graph, u))]
    if not pairs:
        return
    u, v = data.draw(st.sampled_from(pairs))
    spec = {t.id: (list(t.depends), t.duration) for t in plan.tasks}
    spec[u][0].append(v)
    with pytest.raises(CycleError) as caught:
        Graph.from_plan(make_plan(spec))
    cycle = caught.value.cycle
    assert cycle[0] == cycle[-1]
    assert len(set(cycle)) == len(cycle) - 1 >= 2
    assert cycle[0] == min(cycle, key=id_sort_key)
    depends = {task_id: deps for task_id, (deps, _) in spec.items()}
    for task_id, nxt in pairwise(cycle):
        assert nxt in depends[task_id]


@given(dags(max_tasks=10, max_deps=3))
def test_critical_path_is_the_first_longest_chain_in_id_order(plan: Plan) -> None:
    """The critical path is, of all longest maximal chains, the first in id order."""
    graph = Graph.from_plan(plan)
    position = graph.index

    def weight(chain: list[str]) -> float:
        return sum(graph.durations[position[task_id]] for task_id in chain)

    chains = list(maximal_chains(plan))
    best = max(weight(chain) for chain in chains)
    expected = min(
        (chain for chain in chains if weight(chain) == best),
        key=lambda chain: [position[task_id] for task_id in chain],
    )
    assert critical_path(graph) == CriticalPath(tuple(expected), best)


# --- determinism ----------------------------------------------------------------------------


def renamed(plan: Plan, rename: Callable[[str], str]) -> Plan:
    """The same DAG and durations under new ids, sorted by the new ids."""
    return make_plan(
        {rename(t.id): ([rename(d) for d in t.depends], t.duration) for t in plan.tasks}
    )


def reverser(plan: Plan) -> Callable[[str], str]:
    """A renaming that reverses the id order: the first id becomes the last."""
    n = len(plan.tasks)
    new = {t.id: f"n{n - k:04d}" for k, t in enumerate(plan.tasks)}
    return new.__getitem__


@given(dags())
def test_reversed_ids_give_the_same_waves(plan: Plan) -> None:
    """Renaming tasks so that their id order is reversed renames the waves and nothing else."""
    rename = reverser(plan)
    original = waves(Graph.from_plan(plan))
    reversed_waves = waves(Graph.from_plan(renamed(plan, rename)))
    assert [sorted(map(rename, wave)) for wave in original] == [
        sorted(wave) for wave in reversed_waves
    ]


@given(dags())
def test_reversed_ids_give_the_same_unique_critical_path(plan: Plan) -> None:
    """With durations that are distinct powers of two every chain has its own length, so the
    critical path is unique and renaming the tasks maps it onto itself."""
    weighted = Plan(
        tasks=tuple(
            Task(id=t.id, title=t.id, depends=t.depends, duration=float(2**k))
            for k, t in enumerate(plan.tasks)
        )
    )
    rename = reverser(weighted)
    original = critical_path(Graph.from_plan(weighted))
    reversed_path = critical_path(Graph.from_plan(renamed(weighted, rename)))
    assert reversed_path == CriticalPath(tuple(map(rename, original.tasks)), original.length)


def plan_document(plan: Plan, order: list[Task]) -> str:
    """A JSON task file listing the plan's tasks in the given order."""
    return json.dumps(
        {"tasks": [{"id": t.id, "depends": list(t.depends), "duration": t.duration} for t in order]}
    )


@given(dags(), st.randoms(use_true_random=False))
def test_input_order_does_not_change_waves_or_critical_path(plan: Plan, rng: random.Random) -> None:
    """Loading the same tasks listed in another order gives the same waves and critical path."""
    shuffled = list(plan.tasks)
    rng.shuffle(shuffled)
    results = []
    for order in (list(plan.tasks), shuffled, list(reversed(plan.tasks))):
        loaded = parse_plan_text(plan_document(plan, order), name="plan.json")
        graph = Graph.from_plan(loaded)
        results.append((waves(graph), critical_path(graph)))
    assert results[0] == results[1] == results[2]


def write_tie_heavy_plan(path: Path, tasks: int = 300, seed: int = 7) -> None:
    """A task file with many equal durations and ids whose hashes scatter, so ties abound."""
    rng = random.Random(seed)
    names = [f"{rng.choice(['api', 'db', 'ui', 'x'])}-{k}" for k in range(tasks)]
    entries = []
    for position, name in enumerate(names):
        deps = rng.sample(names[:position], min(position, rng.randint(0, 3)))
        entries.append({"id": name, "depends": deps, "duration": rng.choice([1, 2])})
    rng.shuffle(entries)
    path.write_text(json.dumps({"tasks": entries}), encoding="utf-8")


@pytest.mark.parametrize("which", ["seed", "generated"])
def test_plan_json_does_not_depend_on_hash_seed(tmp_path: Path, which: str) -> None:
    """``waveplan plan --format json`` prints the same bytes under two PYTHONHASHSEED values."""
    if which == "seed":
        plan_file = SEED_EXAMPLE
    else:
        plan_file = tmp_path / "ties.json"
        write_tie_heavy_plan(plan_file)
    outputs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-m", "waveplan", "plan", str(plan_file), "--format", "json"],
            capture_output=True,
            env=env,
            check=False,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr.decode()
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
    assert json.loads(outputs[0])["tasks"] == (7 if which == "seed" else 300)


@settings(max_examples=25)
@given(dags(max_tasks=40, max_deps=6))
def test_order_lists_each_task_once_after_its_dependencies(plan: Plan) -> None:
    """The graph's order is a topological order of every task, level by level."""
    graph = Graph.from_plan(plan)
    assert sorted(graph.order) == list(range(len(graph)))
    seen: set[int] = set()
    for i in graph.order:
        assert all(p in seen for p in graph.preds[i])
        seen.add(i)
    assert [graph.level[i] for i in graph.order] == sorted(graph.level)


# --- upstream: a target and what it depends on ---------------------------------------------


def test_upstream_keeps_the_targets_and_all_they_depend_on_in_plan_order() -> None:
    """t6 depends on t2, t3, t4 (and through them on t1); t5 and t7 are left out."""
    plan = seed_plan()
    assert [t.id for t in upstream(plan, ["t6"]).tasks] == ["t1", "t2", "t3", "t4", "t6"]
    assert [t.id for t in upstream(plan, ["t5", "t1"]).tasks] == ["t1", "t2", "t5"]
    assert upstream(plan, []) is plan
    assert upstream(plan, ["t7"]).tasks == plan.tasks


def test_upstream_names_an_unknown_task_with_the_closest_id() -> None:
    with pytest.raises(UserError, match=r"has no task 't77' \(did you mean 't7'\?\)"):
        upstream(seed_plan(), ["t2", "t77"])
    with pytest.raises(UserError, match=r"has no task 'deploy'$"):
        upstream(seed_plan(), ["deploy"])


def test_upstream_cuts_what_an_imported_plan_declared() -> None:
    """Declared waves keep their kept tasks (empty waves go, with their numbers), and so do
    the parallel marks."""
    plan = dataclasses.replace(
        seed_plan(),
        origin=PlanSource(
            format=SourceFormat.MARKDOWN,
            declared_waves=(("t1",), ("t2", "t3", "t4"), ("t5", "t6"), ("t7",)),
            wave_numbers=(1, 2, 3, 4),
            parallel=("t2", "t3", "t4", "t5"),
        ),
    )
    origin = upstream(plan, ["t5"]).origin
    assert origin is not None
    assert origin.declared_waves == (("t1",), ("t2",), ("t5",))
    assert origin.wave_numbers == (1, 2, 3)
    assert origin.parallel == ("t2", "t5")


@settings(max_examples=60)
@given(dags(), st.data())
def test_upstream_is_the_smallest_plan_closed_under_dependencies(
    plan: Plan, data: st.DataObject
) -> None:
    """Every kept task's dependencies are kept, and every kept task is a target or something
    a target depends on (networkx's ancestors)."""
    ids = [t.id for t in plan.tasks]
    targets = data.draw(st.lists(st.sampled_from(ids), max_size=3)) if ids else []
    kept = upstream(plan, targets)
    kept_ids = {t.id for t in kept.tasks}
    assert all(set(t.depends) <= kept_ids for t in kept.tasks)
    dag = nx.DiGraph([(d, t.id) for t in plan.tasks for d in t.depends])
    dag.add_nodes_from(ids)
    expected = set(targets).union(*(nx.ancestors(dag, t) for t in targets)) if targets else set(ids)
    assert kept_ids == expected
    assert [t.id for t in kept.tasks] == [i for i in ids if i in kept_ids]

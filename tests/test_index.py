"""Tests of the overlap index: nodes, globs, namespaces, counted resources and claim merging."""

from __future__ import annotations

import fnmatch
import gc
import itertools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import waveplan.resources.index
from oracle import MAYBE, NO, YES, keys_overlap, text_matches, witness
from waveplan.load import parse_plan_text
from waveplan.model import Access, Mode, Plan, ResourceKind, Task
from waveplan.render.json import plan_json
from waveplan.resources import normalize_path
from waveplan.resources.index import (
    AMOUNT,
    READ,
    WRITE,
    PointKind,
    ResourceIndex,
    patterns_overlap,
)
from waveplan.schedule import analyse

FILE, STATE, TEST, COUNTED = (
    ResourceKind.FILE,
    ResourceKind.STATE,
    ResourceKind.TEST,
    ResourceKind.COUNTED,
)


def build(*accesses: tuple[ResourceKind, str], capacities: dict[str, int] | None = None) -> Plan:
    """A plan with one task per access (``t0``, ``t1``, ...), each writing its key."""
    tasks = tuple(
        Task(
            id=f"t{i}",
            title=f"t{i}",
            accesses=(
                Access(kind, key, Mode.AMOUNT, 1)
                if kind is COUNTED
                else Access(kind, key, Mode.WRITE),
            ),
        )
        for i, (kind, key) in enumerate(accesses)
    )
    return Plan(tasks=tasks, capacities=capacities or {})


def point_of(index: ResourceIndex, kind: ResourceKind, key: str) -> int:
    """The lock point that holds one declared key."""
    for point, keys in enumerate(index.keys):
        if (kind, key) in keys:
            return point
    raise KeyError((kind, key))


def overlap(first: tuple[ResourceKind, str], second: tuple[ResourceKind, str]) -> bool:
    """Whether the index says the two keys overlap (the same point counts as overlapping)."""
    index = ResourceIndex.build(build(first, second))
    a, b = point_of(index, *first), point_of(index, *second)
    found = a == b or b in index.overlapping(a)
    assert found == (a == b or a in index.overlapping(b)), "overlap must be symmetric"
    return found


def files(first: str, second: str) -> bool:
    """Whether two file keys overlap, according to the index."""
    return overlap((FILE, first), (FILE, second))


# --- nodes: paths, directories, the root, state names, test resources ------------------------


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("src/", "src/a.ts", True),
        ("src/", "src/sub/deep/x.py", True),
        ("src/sub/", "src/a.ts", False),
        ("src/a.ts", "src/b.ts", False),
        ("src/a.ts", "src/a.tsx", False),
        ("src/a", "src/ab/", False),
        ("src/a.ts", "src/a.ts/", True),
        ("./", "src/a.ts", True),
        ("./", "README.md", True),
        ("./", "src/", True),
        ("lib/", "src/", False),
    ],
)
def test_node_coverage_of_paths_and_directories(first: str, second: str, expected: bool) -> None:
    """A directory (and the root) covers everything under it; siblings never overlap."""
    assert files(first, second) is expected


def test_a_path_and_the_same_directory_share_one_point() -> None:
    """``src`` and ``src/`` are one node: both keys map to the same lock point."""
    index = ResourceIndex.build(build((FILE, "src"), (FILE, "src/")))
    assert point_of(index, FILE, "src") == point_of(index, FILE, "src/")
    assert index.keys[point_of(index, FILE, "src")] == ((FILE, "src"), (FILE, "src/"))


def test_the_root_is_a_declared_node_above_every_path() -> None:
    """``./`` is the root node of the file trie and the ancestor of every file node."""
    index = ResourceIndex.build(build((FILE, "./"), (FILE, "a/b.txt")))
    root = point_of(index, FILE, "./")
    leaf = point_of(index, FILE, "a/b.txt")
    assert index.kinds[root] is PointKind.NODE
    assert root in index.ancestors[leaf]
    assert index.declared[root]
    assert leaf in index.overlapping(root)


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("db", "db.users", True),
        ("db", "db.users.index", True),
        ("db.users", "db.users.index", True),
        ("db.users", "db.orders", False),
        ("db", "dbx", False),
        ("db.users", "db.users", True),
        ("cache", "db", False),
    ],
)
def test_state_is_hierarchical_by_dots(first: str, second: str, expected: bool) -> None:
    """Named state overlaps along dotted prefixes of whole segments only."""
    assert overlap((STATE, first), (STATE, second)) is expected


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ((TEST, "port:8080"), (TEST, "port:8080"), True),
        ((TEST, "port:8080"), (TEST, "port:5432"), False),
        ((TEST, "fixture:users"), (TEST, "port:8080"), False),
        ((TEST, "tests/unit/"), (TEST, "tests/unit/test_a.py"), True),
        ((TEST, "tests/unit/"), (TEST, "tests/integration/"), False),
        ((TEST, "tests/**/test_*.py"), (TEST, "tests/unit/test_a.py"), True),
        ((TEST, "tests/unit/"), (TEST, "port:8080"), False),
    ],
)
def test_test_resources_follow_file_rules_or_are_names(
    first: tuple[ResourceKind, str], second: tuple[ResourceKind, str], expected: bool
) -> None:
    """Test paths use the file rules; named test resources overlap only an equal name."""
    assert overlap(first, second) is expected


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ((FILE, "src/a.ts"), (TEST, "src/a.ts")),
        ((FILE, "./"), (TEST, "tests/")),
        ((FILE, "src/**"), (TEST, "src/x.py")),
        ((STATE, "db"), (FILE, "db")),
        ((STATE, "db"), (TEST, "db")),
        ((COUNTED, "db"), (STATE, "db")),
    ],
)
def test_namespaces_never_overlap(
    first: tuple[ResourceKind, str], second: tuple[ResourceKind, str]
) -> None:
    """Files, tests, state and counted resources are separate namespaces."""
    assert not overlap(first, second)


# --- globs against paths and directories (exact) -----------------------------------------------


@pytest.mark.parametrize(
    ("glob", "path", "expected"),
    [
        ("src/*.ts", "src/a.ts", True),
        ("src/*.ts", "src/a.css", False),
        ("src/*.ts", "src/sub/a.ts", False),
        ("src/**/*.ts", "src/sub/a.ts", True),
        ("src/**/*.ts", "src/a.ts", True),
        ("src/**/*.ts", "src/sub/deep/a.ts", True),
        ("src/**/*.ts", "lib/a.ts", False),
        ("**/*.py", "a/b/c.py", True),
        ("**/*.py", "c.py", True),
        ("**/*.py", "c.pyc", True),  # the node c.pyc covers c.pyc/x.py
        ("src/**/*.py", "lib/c.py", False),
        ("lib/[ab].py", "lib/a.py", True),
        ("lib/[ab].py", "lib/b.py", True),
        ("lib/[ab].py", "lib/c.py", False),
        ("lib/[!a].py", "lib/a.py", False),
        ("lib/[!a].py", "lib/c.py", True),
        ("lib/[a-c].py", "lib/b.py", True),
        ("lib/[a-c].py", "lib/d.py", False),
        ("src/?.ts", "src/a.ts", True),
        ("src/?.ts", "src/ab.ts", False),
        ("src/?.ts", "src/.ts", False),
        ("*.md", "README.md", True),
        ("*.md", "docs/a.md", False),
        ("src/*", "src/a.ts/inner", True),
        ("src/*.ts", "src/a.ts/inner", True),
    ],
)
def test_glob_against_path_is_exact(glob: str, path: str, expected: bool) -> None:
    """A glob overlaps a path when it matches the path or one of its parents, never more."""
    assert files(glob, path) is expected
    index = ResourceIndex.build(build((FILE, glob), (FILE, path)))
    assert not index.conservative


@pytest.mark.parametrize(
    ("glob", "directory", "expected"),
    [
        ("src/*.ts", "src/", True),
        ("src/*.ts", "./", True),
        ("src/*.ts", "lib/", False),
        ("src/*.ts", "src/sub/", False),
        ("src/**", "src/sub/", True),
        ("src/**/*.ts", "src/sub/deep/", True),
        ("src/*/", "src/sub/", True),
        ("src/*/", "src/sub/x.py", True),
        ("*/a.ts", "src/", True),
        ("*/a.ts", "src/sub/", False),
        ("**/sub/**", "src/sub/", True),
        ("**/sub/**", "src/other/", True),  # src/other/sub/x lies under both
        ("src/**/sub/**", "lib/sub/", False),
        ("docs/**", "docs/", True),
        ("*.md", "docs/", False),
        ("**", "anything/", True),
    ],
)
def test_glob_against_directory_is_exact(glob: str, directory: str, expected: bool) -> None:
    """A glob overlaps a directory when it can match something under it, or the directory
    lies under something it matches."""
    assert files(glob, directory) is expected


# --- globs against globs ------------------------------------------------------------------------


def glob_pair(first: str, second: str) -> tuple[bool, bool]:
    """``(overlap, conservative)`` of two file globs in one index."""
    index = ResourceIndex.build(build((FILE, first), (FILE, second)))
    a, b = point_of(index, FILE, first), point_of(index, FILE, second)
    found = b in index.overlapping(a)
    assert found == (a in index.overlapping(b))
    assert index.is_conservative(a, b) == index.is_conservative(b, a)
    if index.is_conservative(a, b):
        assert index.conservative == {(min(a, b), max(a, b))}
        assert found, "a conservative pair is reported as overlapping"
    return found, index.is_conservative(a, b)


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("src/*.ts", "src/*.css", False),
        ("src/*.ts", "lib/*.ts", False),
        ("a*/x", "b*/x", False),
        ("src/*", "src/*.ts", True),
        ("src/**", "src/*/a.ts", True),
        ("**/a.ts", "src/**", True),
        ("**/*.py", "lib/[ab].py", True),
        ("src/*.ts", "src/*.ts/**", True),
        ("src/*/", "src/*.ts", True),
        ("**/x", "**/y", True),
        ("*/a/*", "b/*/c", True),
    ],
)
def test_glob_against_glob_decided_exactly(first: str, second: str, expected: bool) -> None:
    """Where the patterns allow it, glob-vs-glob is decided exactly and not marked conservative."""
    assert glob_pair(first, second) == (expected, False)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("x/?", "x/??"),
        ("x/[ab]", "x/[cd]"),
        ("x/*.ts", "x/a*"),
        ("x/a*b", "x/a*c*"),
    ],
)
def test_undecided_glob_pairs_are_conservative_conflicts(first: str, second: str) -> None:
    """Segment patterns that are both wild and not trivially comparable are assumed to
    overlap, and the pair is recorded in ``ResourceIndex.conservative``."""
    assert glob_pair(first, second) == (True, True)


def test_conservative_overlap_is_said_in_the_output() -> None:
    """The JSON output marks a conflict, a wait and a serialization point as conservative."""
    text = json.dumps({"tasks": [{"id": "a", "files": ["x/?"]}, {"id": "b", "files": ["x/??"]}]})
    plan = parse_plan_text(text, name="plan.json")
    analysis = analyse(plan)
    assert analysis.practical == 2.0
    data = json.loads(plan_json(analysis))
    assert [(c["resource"], c["conservative"]) for c in data["conflicts"]] == [
        ("x/?", True),
        ("x/??", True),
    ]
    assert [w["conservative"] for w in data["waits"]] == [True]
    assert [s["conservative"] for s in data["serialization"]] == [True]


def test_exact_conflicts_are_not_marked_conservative() -> None:
    """A glob matching a declared path is an exact conflict, not a conservative one."""
    text = json.dumps(
        {"tasks": [{"id": "a", "files": ["src/*.ts"]}, {"id": "b", "files": ["src/a.ts"]}]}
    )
    data = json.loads(plan_json(analyse(parse_plan_text(text, name="plan.json"))))
    assert data["conflicts"]
    assert not any(c["conservative"] for c in data["conflicts"])
    assert not any(w["conservative"] for w in data["waits"])


@pytest.mark.parametrize(
    ("other", "expected"),
    [
        ("app/", True),
        ("app/[slug]/", True),
        ("app/[slug]", True),
        ("app/[slug]/page.tsx/", True),
        ("app/*/page.tsx", True),
        ("app/**/*.tsx", True),
        ("app/[id]/page.tsx", True),  # conservative: two classes, as globs
        ("app/s/page.tsx", True),  # what [slug] matches, as a glob
        ("app/x/page.tsx", False),
        ("lib/", False),
    ],
)
def test_a_bracket_path_overlaps_what_its_literal_path_and_its_glob_overlap(
    other: str, expected: bool
) -> None:
    """A Next.js route such as app/[slug]/page.tsx is a glob point when planning; it still
    overlaps every key that covers the route's own file or lies under it, so reading it as the
    literal file it also names (as a run's footprint does) misses no conflict."""
    assert files("app/[slug]/page.tsx", other) is expected


def test_unclosed_bracket_against_another_glob_does_not_crash() -> None:
    """``[draft`` (a literal '[' for fnmatch) compared with another wild segment is decided."""
    plan = build((FILE, "notes/[draft"), (FILE, "notes/*x"))
    index = ResourceIndex.build(plan)
    a, b = point_of(index, FILE, "notes/[draft"), point_of(index, FILE, "notes/*x")
    assert a not in index.overlapping(b) or index.is_conservative(a, b)


# --- counted resources and claims -------------------------------------------------------------


def test_counted_capacity_comes_from_the_plan_and_defaults_to_one() -> None:
    """A counted point's capacity is the plan's, or 1 for an undeclared name."""
    plan = build((COUNTED, "db-connections"), (COUNTED, "gpu"), capacities={"db-connections": 3})
    index = ResourceIndex.build(plan)
    connections = point_of(index, COUNTED, "db-connections")
    gpu = point_of(index, COUNTED, "gpu")
    assert index.kinds[connections] is PointKind.COUNTED
    assert index.capacity[connections] == 3
    assert index.capacity[gpu] == 1
    assert index.overlapping(connections) == []


def test_claims_merge_read_and_write_of_one_point_into_a_write() -> None:
    """A task reading and writing one node (even as ``src`` and ``src/``) holds one write."""
    task = Task(
        id="t1",
        title="t1",
        accesses=(
            Access(FILE, "src", Mode.READ),
            Access(FILE, "src/", Mode.WRITE),
            Access(FILE, "src/a.ts", Mode.READ),
        ),
    )
    index = ResourceIndex.build(Plan(tasks=(task,)))
    src = point_of(index, FILE, "src/")
    leaf = point_of(index, FILE, "src/a.ts")
    assert index.claims[0] == tuple(sorted([(src, WRITE, 0), (leaf, READ, 0)]))


def test_claims_keep_the_write_when_the_read_comes_after() -> None:
    """A later read of a written point does not downgrade the claim."""
    task = Task(
        id="t1",
        title="t1",
        accesses=(Access(STATE, "db", Mode.WRITE), Access(STATE, "db", Mode.READ)),
    )
    index = ResourceIndex.build(Plan(tasks=(task,)))
    assert index.claims[0] == ((point_of(index, STATE, "db"), WRITE, 0),)


def test_claims_sum_amounts_of_one_counted_resource() -> None:
    """Two amounts of one counted resource in one task add up in one claim."""
    task = Task(
        id="t1",
        title="t1",
        accesses=(
            Access(COUNTED, "gpu", Mode.AMOUNT, 1),
            Access(COUNTED, "gpu", Mode.AMOUNT, 2),
        ),
    )
    index = ResourceIndex.build(Plan(tasks=(task,), capacities={"gpu": 4}))
    assert index.claims[0] == ((point_of(index, COUNTED, "gpu"), AMOUNT, 3),)


def test_claims_are_per_task_and_sorted_by_point() -> None:
    """``claims[i]`` are task ``i``'s holds, sorted by point, one per point."""
    plan = build((FILE, "b.txt"), (FILE, "a.txt"), (STATE, "db"))
    index = ResourceIndex.build(plan)
    assert [len(c) for c in index.claims] == [1, 1, 1]
    assert index.claims[1] == ((point_of(index, FILE, "a.txt"), WRITE, 0),)
    for claims in index.claims:
        assert list(claims) == sorted(claims)


# --- the index against the oracle, on random keys ----------------------------------------------

_LITERAL = ["a", "b", "ab", "a.ts", "b.py", "sub"]
_WILD = ["*", "**", "?", "a*", "*b", "*.ts", "[ab]", "[!a]*", "?b", "a?", "*a*", "[a-c].py"]


@st.composite
def file_keys(draw: st.DrawFn) -> str:
    """A random normalised file key: path, directory, root or glob over a tiny alphabet."""
    segments = draw(st.lists(st.sampled_from(_LITERAL + _WILD), max_size=3))
    text = "/".join(segments) or "./"
    if draw(st.booleans()):
        text += "/"
    return normalize_path(text)


@settings(max_examples=400, deadline=None)
@given(file_keys(), file_keys())
def test_index_agrees_with_the_oracle_on_random_file_keys(first: str, second: str) -> None:
    """Exact verdicts agree with the oracle; a witness path always means overlap; a
    conservative verdict only ever happens between two globs."""
    index = ResourceIndex.build(build((FILE, first), (FILE, second)))
    a, b = point_of(index, FILE, first), point_of(index, FILE, second)
    found = a == b or b in index.overlapping(a)
    verdict = keys_overlap(FILE, first, second)
    if verdict is YES:
        assert found, f"{first!r} and {second!r} both cover {witness(first, second)}"
    elif verdict is NO:
        assert not found, f"{first!r} and {second!r} overlap for the index only"
    if index.is_conservative(a, b):
        assert verdict is MAYBE or verdict is YES
        assert index.kinds[a] is PointKind.GLOB and index.kinds[b] is PointKind.GLOB
    elif found and verdict is MAYBE:
        # An exact 'yes' the oracle found no witness for: the oracle's candidates fell short.
        pytest.fail(f"exact overlap of {first!r} and {second!r} without a witness")
    assert verdict is not NO or not index.is_conservative(a, b)


@settings(max_examples=300, deadline=None)
@given(st.text("ab.*?[]!-", max_size=7), st.text("ab.-!]", min_size=1, max_size=5))
def test_the_oracle_segment_matcher_agrees_with_fnmatch(pattern: str, segment: str) -> None:
    """The oracle's own segment matcher means what ``fnmatch`` means, odd brackets included."""
    assert text_matches(pattern, segment) == fnmatch.fnmatchcase(segment, pattern)


def test_comparing_globs_leaves_no_garbage() -> None:
    """Planning runs with the garbage collector paused, and every advice replan compares the
    plan's globs again: a comparison must free what it made as it returns (a recursive cached
    closure per call is a reference cycle: a monorepo plan of 4,000 tasks grew to 3 GB)."""
    pairs = [
        (("packages", "p1", "**"), ("packages", "*", "package.json")),
        (("src", "**", "*.ts"), ("src", "api", "**")),
        (("**", "test_*.py"), ("tests", "**")),
    ]
    expected = [patterns_overlap(a, b) for a, b in pairs]
    assert [overlap for overlap, _ in expected] == [True, True, True]
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    try:
        assert [patterns_overlap(a, b) for a, b in pairs] == expected
        assert gc.collect() == 0
    finally:
        if was:
            gc.enable()


def test_globs_are_compared_only_where_their_literal_prefixes_agree(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Globs under different literal folders cannot overlap and are not compared (a
    monorepo's package globs were compared pairwise); those that can still all are."""
    compared: list[tuple[tuple[str, ...], tuple[str, ...]]] = []

    def counting(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[bool, bool]:
        compared.append((a, b))
        return patterns_overlap(a, b)

    monkeypatch.setattr(waveplan.resources.index, "patterns_overlap", counting)
    keys = [
        *(f"packages/p{i}/**" for i in range(30)),
        "packages/*/package.json",
        "**/*.md",
        "packages/p3/src/*.ts",
    ]
    index = ResourceIndex.build(build(*((FILE, k) for k in keys)))
    # the package globs and the one under p3 each meet the two wide ones (31 * 2), the wide
    # ones each other (1), and p3's glob the one under it (1)
    assert len(compared) == 64  # of the 528 pairs
    point = {k: point_of(index, FILE, k) for k in keys}
    p3 = point["packages/p3/**"]
    assert {index.names[g] for g in index.glob_globs[p3]} == {
        "packages/*/package.json",
        "**/*.md",
        "packages/p3/src/*.ts",
    }
    assert point["packages/p4/**"] not in index.glob_globs[p3]
    for a, b in itertools.combinations(keys, 2):  # the index agrees with the oracle
        found = point[b] in index.glob_globs[point[a]]
        verdict = keys_overlap(FILE, a, b)
        assert found or verdict is not YES, (a, b)
        assert not found or verdict is not NO, (a, b)

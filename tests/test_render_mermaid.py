"""``--format mermaid``: the seed's two views (dependency waves, practical waves with conflict
links) as one well-formed Mermaid flowchart."""

from __future__ import annotations

import re
from pathlib import Path

from waveplan.load import load_plan
from waveplan.render.mermaid import DETAIL_LIMIT, plan_mermaid
from waveplan.schedule import analyse

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "git-workflow.yaml"

# Every statement the renderer may write, one per line.
_STATEMENTS = [
    re.compile(r'^\s*subgraph (\w+)\["[^"\n]*"\]$'),
    re.compile(r"^\s*direction (TB|LR)$"),
    re.compile(r"^\s*end$"),
    re.compile(r'^\s*(\w+)\["[^"\n]*"\]$'),
    re.compile(r"^\s*(\w+) --> (\w+)$"),
    re.compile(r'^\s*(\w+) -\.-\|"[^"\n]*"\| (\w+)$'),
    re.compile(r"^\s*(\w+) ~~~ (\w+)$"),
    re.compile(r"^\s*classDef \w+ [\w#:,.\- ]+$"),
    re.compile(r"^\s*class ([\w,]+) \w+$"),
]


def check_flowchart(text: str) -> None:
    """Fail unless ``text`` is a flowchart of the statements above, its subgraphs balanced and
    every node it links or styles declared (subgraphs count as nodes)."""
    lines = text.splitlines()
    assert lines[0] == "flowchart TB"
    declared: set[str] = set()
    used: set[str] = set()
    depth = 0
    for line in lines[1:]:
        matches = [m for m in (p.match(line) for p in _STATEMENTS) if m is not None]
        assert matches, f"not a statement this renderer writes: {line!r}"
        pattern = matches[0].re.pattern
        if "subgraph" in pattern:
            depth += 1
            declared.add(matches[0].group(1))
        elif pattern.endswith("end$"):
            depth -= 1
            assert depth >= 0, "an end without its subgraph"
        elif pattern.startswith(r"^\s*class "):
            used.update(matches[0].group(1).split(","))
        elif r"\[" in pattern:
            declared.add(matches[0].group(1))
        elif "classDef" not in pattern and "direction" not in pattern:
            used.update(matches[0].groups())
    assert depth == 0, "a subgraph is not closed"
    assert used <= declared, f"undeclared nodes: {sorted(used - declared)}"


def mermaid_of(path: Path) -> str:
    text = plan_mermaid(analyse(load_plan(path)))
    check_flowchart(text)
    return text


def subgraph_members(text: str, name: str) -> list[str]:
    """The node labels declared directly inside subgraph ``name``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(f"subgraph {name}["))
    members = []
    for line in lines[start + 1 :]:
        if line.strip() == "end":
            break
        found = re.match(r'^\s*\w+\["([^"]*)"\]$', line)
        if found:
            members.append(found.group(1).split(":")[0])
    return members


def write(folder: Path, text: str) -> Path:
    path = folder / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_seed_example_draws_both_views() -> None:
    """Four dependency waves with the plan's nine arrows; six practical waves; the shared file
    as a chain of two dotted links between its three writers."""
    text = mermaid_of(EXAMPLE)
    theoretical = [subgraph_members(text, f"TW{w}") for w in range(1, 5)]
    assert theoretical == [["t1"], ["t2", "t3", "t4"], ["t5", "t6"], ["t7"]]
    practical = [subgraph_members(text, f"PW{w}") for w in range(1, 7)]
    assert practical == [["t1"], ["t2"], ["t3", "t5"], ["t4"], ["t6"], ["t7"]]
    assert "subgraph TW5[" not in text and "subgraph PW7[" not in text
    arrows = re.findall(r"^\s*T(\d+) --> T(\d+)$", text, re.MULTILINE)
    assert sorted((int(a) + 1, int(b) + 1) for a, b in arrows) == [
        (1, 2), (1, 3), (1, 4), (2, 5), (2, 6), (3, 6), (4, 6), (5, 7), (6, 7),
    ]  # fmt: skip
    links = re.findall(r'^\s*P(\d+) -\.-\|"([^"]*)"\| P(\d+)$', text, re.MULTILINE)
    assert links == [
        ("1", "src/git-workflow-enforcer.ts", "2"),
        ("2", "src/git-workflow-enforcer.ts", "3"),
    ]


def test_a_resource_shared_by_k_tasks_is_a_chain_of_k_minus_one_links(tmp_path: Path) -> None:
    """Twelve writers of one file: 11 links, not 66."""
    tasks = "".join(f"  - {{id: w{i:02}, files: [src/hot.py]}}\n" for i in range(12))
    text = mermaid_of(write(tmp_path, "tasks:\n" + tasks))
    assert text.count('-.-|"src/hot.py"|') == 11


def test_a_conservative_conflict_is_marked(tmp_path: Path) -> None:
    """*.py and test_* may overlap (waveplan cannot tell): their links say conservative, as
    the other outputs do, in the detailed drawing and in the large plans' notes."""
    plan = 'tasks:\n  - {id: a, duration: 2, files: ["*.py"]}\n  - {id: b, files: ["test_*"]}\n'
    text = mermaid_of(write(tmp_path, plan))
    links = re.findall(r'^\s*P\d+ -\.-\|"([^"]*)"\| P\d+$', text, re.MULTILINE)
    assert links == ["*.py (conservative)", "test_* (conservative)"]
    many = "".join(f"  - {{id: t{i:03}, files: [src/m{i}.py]}}\n" for i in range(DETAIL_LIMIT))
    text = mermaid_of(write(tmp_path, plan + many))
    assert "test_* (conservative): 2 tasks conflict" in text


def test_labels_are_escaped(tmp_path: Path) -> None:
    """Quotes, angle brackets, ampersands and ``#`` (Mermaid's character codes) in titles
    cannot break the label."""
    plan = write(tmp_path, "tasks:\n  - id: a\n    title: 'Say \"hi\" <b> & bye'\n")
    text = mermaid_of(plan)
    assert 'a: Say #quot;hi#quot; #lt;b#gt; #amp; bye"]' in text
    plan = write(tmp_path, "tasks:\n  - id: a\n    title: 'Fix #123; and #amp;'\n")
    assert 'a: Fix #35;123; and #35;amp;"]' in mermaid_of(plan)


def test_done_tasks_are_drawn_greyed_in_both_views(tmp_path: Path) -> None:
    """A task the plan marks done says so in its label and carries the ``done`` class in the
    theoretical and the practical view; other tasks do not."""
    plan = write(
        tmp_path,
        "tasks:\n  - {id: a, title: Old work, done: true}\n  - {id: b, depends: [a]}\n",
    )
    text = mermaid_of(plan)
    assert 'T0["a: Old work (done)"]' in text
    assert 'P0["a: Old work (done)"]' in text
    assert "b (done)" not in text
    assert re.search(r"^\s*classDef done ", text, re.MULTILINE)
    assert re.search(r"^\s*class T0,P0 done$", text, re.MULTILINE)
    without = mermaid_of(write(tmp_path, "tasks:\n  - {id: a}\n  - {id: b, depends: [a]}\n"))
    assert "classDef" not in without and "(done)" not in without


def test_large_plans_draw_one_node_per_wave(tmp_path: Path) -> None:
    """Beyond the detail limit each wave is one node with its size, and the busiest
    conflicts are listed."""
    count = DETAIL_LIMIT + 10
    tasks = "".join(
        f"  - {{id: t{i:03}, files: [{'src/hot.py' if i % 2 else f'src/m{i}.py'}]}}\n"
        for i in range(count)
    )
    text = mermaid_of(write(tmp_path, "tasks:\n" + tasks))
    assert f'T1["Wave 1: {count:,} tasks"]' in text
    assert "src/hot.py: 80 tasks conflict" in text
    assert not re.search(r"t0\d\d", text)  # no task drawn on its own

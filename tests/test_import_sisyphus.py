"""Sisyphus / oh-my-openagent plans: todo rows, parallelization lines, older labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from waveplan.cli import main
from waveplan.errors import PlanError
from waveplan.load import SourceFormat, load_plan
from waveplan.load.imported import id_list
from waveplan.model import Mode, Origin

FIXTURES = Path(__file__).parent / "fixtures" / "sisyphus"
PLAN = ".sisyphus/plans/search-revamp.md"
LEGACY = ".omo/plans/cleanup-logging.md"


@pytest.fixture(autouse=True)
def _in_fixtures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)


def test_the_plan_is_found_from_the_project_root() -> None:
    """The only plan under .sisyphus/plans is read, with the project as its root."""
    plan = load_plan("project")
    assert plan.origin is not None
    assert plan.origin.format is SourceFormat.SISYPHUS
    assert plan.source == f"project/{PLAN}"
    assert plan.root == str(FIXTURES / "project")
    assert plan.name == "Search revamp"
    assert [t.id for t in plan.tasks] == ["1", "2", "3", "4", "5", "6", "F1"]


def test_parallelization_lines_give_waves_and_dependencies() -> None:
    """``Wave N | Blocked by | Blocks``: waves, dependencies, and ``Blocks`` as dependencies
    of the blocked rows; the final verification row waits for every other row."""
    plan = load_plan("project")
    assert plan.origin is not None
    assert plan.origin.declared_waves == (("1",), ("2", "3", "4"), ("5", "6"))
    assert plan.task("4").depends == ("1",)  # from 1's "Blocks: 2, 3, 4"
    assert plan.task("5").depends == ("2", "3", "4")
    assert plan.task("6").depends == ("1",)
    assert plan.task("F1").depends == ("1", "2", "3", "4", "5", "6")
    assert plan.task("1").done
    assert not plan.task("2").done


def test_what_to_do_paths_are_writes_and_references_reads() -> None:
    """Inferred writes from What to do, inferred reads from References; Must NOT do and the
    acceptance criteria add nothing."""
    plan = load_plan("project")
    assert {(a.key, a.mode, a.origin) for a in plan.task("2").accesses} == {
        ("src/search/ranking.ts", Mode.WRITE, Origin.INFERRED),
        ("src/search/index.ts", Mode.WRITE, Origin.INFERRED),
        ("src/search/schema.ts", Mode.READ, Origin.INFERRED),
    }
    assert plan.task("2").description == (
        "- Add a recency boost in `src/search/ranking.ts`\n"
        "- Register the boost in `src/search/index.ts`"
    )


def test_findings_are_pinned(capsys: pytest.CaptureFixture[str]) -> None:
    """Disagreeing Blocks lines, same-wave conflicts and misplaced waves are reported."""
    assert main(["plan", "project", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["source"]["warnings"] == [
        "1 says it blocks 4, but 4 does not list 1 under 'Blocked by': taken as a dependency",
        "2 and 3 are both in declared wave 2 but both write src/search/index.ts (inferred from "
        "the plan's prose): they cannot run at the same time",
        "6 is declared in wave 3, but dependencies and conflicts let it run in wave 2",
        "the source declares 3 waves; dependencies alone need 4, and with conflicts the plan "
        "runs in 5",
    ]


def test_older_plans_declare_files_parallel_marks_and_dependencies(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``Files:``, ``Parallelizable: YES (with task 2)`` and ``Dependencies:`` lines."""
    plan = load_plan(f"legacy/{LEGACY}")
    assert plan.origin is not None
    assert plan.origin.parallel == ("1", "2")
    assert plan.origin.declared_waves is None
    assert plan.task("3").depends == ("1", "2")
    assert {(a.key, a.origin) for a in plan.task("1").accesses} == {
        ("src/api/server.ts", Origin.DECLARED),
        ("src/lib/logger.ts", Origin.DECLARED),
    }
    assert main(["plan", "legacy", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["source"]["warnings"] == [
        "1 is marked parallel, but the computed plan serializes it: 2 waits for it on "
        "src/lib/logger.ts",
        "2 is marked parallel, but the computed plan serializes it: it waits 1 for "
        "src/lib/logger.ts held by 1",
    ]


def test_a_folder_with_several_plans_needs_a_choice(tmp_path: Path) -> None:
    """Two plans under .sisyphus/plans: the error names them."""
    plans = tmp_path / ".sisyphus" / "plans"
    plans.mkdir(parents=True)
    for name in ("a.md", "b.md"):
        (plans / name).write_text("- [ ] 1. Task\n  **Parallelization**: Wave 1\n")
    with pytest.raises(PlanError) as caught:
        load_plan(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path}/.sisyphus/plans: holds 2 Sisyphus plans (a.md, b.md): give the file of one"
    )


def test_relations_in_the_row_title_and_bold_labels(tmp_path: Path) -> None:
    """``(Agent: quick | Blocks: [2] | Blocked By: [])`` after a title, and bold labels inside
    a parallelization line, are read; T-prefixed ids and ranges find their rows."""
    path = tmp_path / "plan.md"
    path.write_text(
        "## TODOs\n\n"
        "- [ ] 1. Types (Agent: quick | Blocks: [2] | Blocked By: [])\n"
        "- [ ] 2. Parser\n"
        "  **Parallelization**: Wave 2 parallel. **Blocks**: Task 4. **Blocked By**: T1.\n"
        "- [ ] 3. Lexer\n"
        "  **Parallelization**: Wave 2, blocked by: none\n"
        "- [ ] 4. Checker\n"
        "  **Parallelization**: Wave 3 | Blocked by: Tasks 2-3\n",
        encoding="utf-8",
    )
    plan = load_plan(path, source_format=SourceFormat.SISYPHUS)
    assert plan.task("1").title == "Types"
    assert [(t.id, t.depends) for t in plan.tasks] == [
        ("1", ()),
        ("2", ("1",)),
        ("3", ()),
        ("4", ("2", "3")),
    ]


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("none", []),
        ("None", []),
        ("\u2014", []),
        ("1, 2", ["1", "2"]),
        ("[3, 4]", ["3", "4"]),
        ("T2-T6", ["T2", "T3", "T4", "T5", "T6"]),
        ("Tasks 5-8", ["5", "6", "7", "8"]),
        ("Task 24", ["24"]),
        ("4\u201325", [str(n) for n in range(4, 26)]),
        ("001, 002", ["001", "002"]),
        ("1 and 3", ["1", "3"]),
        ("1, 2 (UI must land first)", ["1", "2"]),
        ("1 (schema, and data)", ["1"]),
        ("None (can start immediately)", []),
        ("04-01 \u2014 the store", ["04-01"]),
        ("#3: the API", ["3"]),
        ("T2-T6 (the UI)", ["T2", "T3", "T4", "T5", "T6"]),
        ("F1-F3", ["F1", "F2", "F3"]),
        ("Task A and Task setup", ["A", "setup"]),
        ("the schema", ["the schema"]),
    ],
)
def test_id_lists_as_plans_write_them(text: str, ids: list[str]) -> None:
    """The ways plans list task ids; notes are dropped, entries that are no id kept."""
    assert id_list(text) == ids


def test_notes_after_relations_keep_the_ids_and_unreadable_entries_are_reported(
    tmp_path: Path,
) -> None:
    """``Blocked by: 1, 2 (UI must land first)`` names 1 and 2, ``None (can start
    immediately)`` names nothing; an entry that names no row is a warning, whichever line
    holds it."""
    path = tmp_path / "plan.md"
    path.write_text(
        "## TODOs\n\n"
        "- [ ] 1. Types\n"
        "  **Parallelization**: Wave 1 | Blocked by: None (can start immediately)\n"
        "- [ ] 2. UI\n"
        "  **Parallelization**: Wave 1 | Blocked by: none | Blocks: 9, the final review\n"
        "- [ ] 3. Wiring\n"
        "  **Parallelization**: Wave 2 | Blocked by: 1, 2 (UI must land first)\n"
        "- [ ] 4. Docs\n"
        "  **Dependencies**: 3 (the wiring), after the release\n",
        encoding="utf-8",
    )
    plan = load_plan(path, source_format=SourceFormat.SISYPHUS)
    assert [(t.id, t.depends) for t in plan.tasks] == [
        ("1", ()),
        ("2", ()),
        ("3", ("1", "2")),
        ("4", ("3",)),
    ]
    assert plan.origin is not None
    assert plan.origin.warnings == (
        f"{path}:6: 2: cannot read the blocked task 'the final review'; ignored",
        "2 says it blocks 9, which is not in the plan; ignored",
        f"{path}:10: 4: cannot read the dependency 'after the release' (no task has that id); "
        "ignored",
    )


def test_blocked_by_all_other_tasks(tmp_path: Path) -> None:
    """``Blocked by: all other tasks`` depends on every other row, ``all previous tasks`` on
    the rows before it (the docs listed the form; it was "cannot read the dependency")."""
    path = tmp_path / "plan.md"
    path.write_text(
        "## TODOs\n\n"
        "- [ ] 1. Types\n"
        "- [ ] 2. UI\n"
        "  **Parallelization**: Wave 2 | Blocked by: all previous tasks\n"
        "- [ ] 3. Docs\n"
        "- [ ] 4. Review\n"
        "  **Parallelization**: Wave 3 | Blocked by: All other tasks\n",
        encoding="utf-8",
    )
    plan = load_plan(path, source_format=SourceFormat.SISYPHUS)
    assert [(t.id, t.depends) for t in plan.tasks] == [
        ("1", ()),
        ("2", ("1",)),
        ("3", ()),
        ("4", ("1", "2", "3")),
    ]
    assert plan.origin is not None
    assert not any("cannot read" in w for w in plan.origin.warnings)

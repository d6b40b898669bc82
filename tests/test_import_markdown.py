"""Markdown plans in the seed's style: tasks, waves, fields, inferred paths and findings."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from waveplan.cli import main
from waveplan.errors import PlanSyntaxError
from waveplan.load import SourceFormat, imported, load_plan
from waveplan.model import DurationSource, Mode, Origin, Plan

FIXTURES = Path(__file__).parent / "fixtures" / "markdown"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

BILLING_WARNINGS = [
    "6 depends on 9, which is not in the plan: counted as done",
    "4 is declared in wave 2 but depends on 2 (wave 2): its dependencies put it in wave 3",
    "2 and 3 are both in declared wave 2 but both write src/billing/export.ts (inferred from "
    "the plan's prose): they cannot run at the same time",
    "6 is declared in wave 3, but dependencies and conflicts let it run in wave 2",
    "the source declares 4 waves; dependencies alone need 4, and with conflicts the plan runs in 5",
]


@pytest.fixture(autouse=True)
def _in_fixtures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert main(["plan", *args, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert isinstance(data, dict)
    return data


def _accesses(plan: Plan, task: str) -> dict[str, tuple[Mode, Origin]]:
    return {a.key: (a.mode, a.origin) for a in plan.task(task).accesses}


def test_a_markdown_file_is_detected_and_read() -> None:
    """Tasks, titles, dependencies and the done mark come from the task lines."""
    plan = load_plan("billing-export.md")
    assert plan.origin is not None
    assert plan.origin.format is SourceFormat.MARKDOWN
    assert plan.name == "Billing export"
    assert [t.id for t in plan.tasks] == ["1", "2", "3", "4", "5", "6", "7"]
    assert plan.task("1").title == "Add the export schema to src/billing/schema.ts (foundation)"
    assert plan.task("1").done
    assert not plan.task("2").done
    assert plan.task("2").title == "Add the CSV writer"
    assert plan.task("4").depends == ("2",)
    assert plan.task("5").depends == ("2", "3")
    assert plan.task("6").depends == ("1",)  # 9 is not in the plan
    assert plan.task("7").depends == ("5", "6")


def test_declared_waves_come_from_the_wave_sections() -> None:
    """Bold ``**Wave N**`` lines open sections; every task under one belongs to it."""
    plan = load_plan("billing-export.md")
    assert plan.origin is not None
    assert plan.origin.declared_waves == (("1",), ("2", "3", "4"), ("5", "6"), ("7",))
    assert plan.origin.wave_numbers == (1, 2, 3, 4)


def test_field_lines_under_a_task_are_declared() -> None:
    """``Files:``, ``Reads:``, ``Depends:`` and ``Duration:`` lines declare fields."""
    plan = load_plan("billing-export.md")
    assert _accesses(plan, "5") == {
        "src/api/routes.ts": (Mode.WRITE, Origin.DECLARED),
        "src/api/export-handler.ts": (Mode.WRITE, Origin.DECLARED),
        "src/billing/export.ts": (Mode.READ, Origin.DECLARED),
    }
    six = plan.task("6")
    assert six.duration == 1800  # 30min: the plan is timed, in seconds
    assert plan.timed
    assert plan.default_duration == 3600  # its other estimates are hours
    assert six.duration_source is DurationSource.DECLARED
    assert plan.task("5").description == (
        "Adds `GET /exports/billing.csv`, streaming the writer's output."
    )


def test_paths_in_prose_are_inferred_writes() -> None:
    """File paths a task's prose mentions are writes marked inferred; declared ones stay
    declared, and a path the task already reads is not added as a write."""
    plan = load_plan("billing-export.md")
    assert _accesses(plan, "2") == {
        "src/billing/export.ts": (Mode.WRITE, Origin.INFERRED),
        "src/billing/formats.ts": (Mode.WRITE, Origin.INFERRED),
    }
    assert _accesses(plan, "7") == {"CHANGELOG.md": (Mode.WRITE, Origin.DECLARED)}
    assert "src/billing/export.ts" not in {
        a.key for a in plan.task("5").accesses if a.mode is Mode.WRITE
    }


def test_no_infer_files_leaves_prose_alone() -> None:
    """``infer_files=False`` adds no inferred access."""
    plan = load_plan("billing-export.md", infer_files=False)
    assert not any(a.origin is Origin.INFERRED for t in plan.tasks for a in t.accesses)
    assert plan.task("2").accesses == ()


def test_provenance_names_file_and_line() -> None:
    """Each field records the line it came from."""
    plan = load_plan("billing-export.md")
    assert plan.origin is not None
    assert plan.origin.provenance["5"] == {
        "title": "billing-export.md:20",
        "depends": "billing-export.md:21",
        "files:src/api/routes.ts": "billing-export.md:22",
        "files:src/api/export-handler.ts": "billing-export.md:22",
        "reads:src/billing/export.ts": "billing-export.md:23",
        "wave": "billing-export.md:18",
    }
    assert plan.origin.provenance["2"]["files:src/billing/formats.ts"] == "billing-export.md:12"


def test_findings_are_pinned(capsys: pytest.CaptureFixture[str]) -> None:
    """The JSON ``source`` lists every finding, naming tasks by their ids in the source."""
    data = _json(capsys, "billing-export.md")
    source = data["source"]
    assert isinstance(source, dict)
    assert source["format"] == "markdown"
    assert source["declared_waves"] == [["1"], ["2", "3", "4"], ["5", "6"], ["7"]]
    assert source["warnings"] == BILLING_WARNINGS
    assert data["done"] == ["1"]
    assert source["inferred"]["conflicts"] == ["src/billing/export.ts"]
    assert source["inferred"]["waits"] == [{"task": "3", "resource": "src/billing/export.ts"}]
    assert source["inferred"]["accesses"]["2"] == [
        "src/billing/export.ts (write)",
        "src/billing/formats.ts (write)",
    ]


def test_without_inference_the_prose_conflict_is_gone(capsys: pytest.CaptureFixture[str]) -> None:
    """``--no-infer-files``: no inferred conflict, so tasks 2 and 3 run together."""
    data = _json(capsys, "billing-export.md", "--no-infer-files")
    source = data["source"]
    assert isinstance(source, dict)
    assert source["warnings"] == [
        "6 depends on 9, which is not in the plan: counted as done",
        "4 is declared in wave 2 but depends on 2 (wave 2): its dependencies put it in wave 3",
        "6 is declared in wave 3, but dependencies and conflicts let it run in wave 2",
    ]
    assert data["makespan"] == {
        "sequential": 6.5 * 3600,
        "theoretical": 4.0 * 3600,
        "practical": 4.0 * 3600,
        "practical_waves": 4.0 * 3600,
        "lower_bound": 4.0 * 3600,
    }


def test_text_output_marks_done_inferred_and_lists_findings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The text shows the declared waves, ``(done)``, ``(inferred)`` and the findings."""
    assert main(["plan", "billing-export.md"]) == 0
    out = capsys.readouterr().out
    assert "Imported from markdown: billing-export.md (1 done, not run again)" in out
    assert "Declared (markdown)" in out
    assert "(done)" in out
    assert "src/billing/export.ts (inferred)" in out
    assert "3 waited 1h for src/billing/export.ts held by 2 (inferred)" in out
    assert "Declared vs computed" in out
    assert "- 6 depends on 9, which is not in the plan: counted as done" in out


def test_html_output_marks_waits_only_inferred_accesses_cause(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The HTML page marks such a wait ``(inferred)`` as the text does (it did not)."""
    assert main(["plan", "billing-export.md", "--format", "html"]) == 0
    out = capsys.readouterr().out
    assert "3 waited 1h for src/billing/export.ts held by 2 (inferred)</li>" in out


def test_the_seed_plan_with_files_plans_like_the_task_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The seed's plan written in markdown gives the figures of examples/git-workflow.yaml."""
    imported = _json(capsys, "git-workflow.md")
    native = _json(capsys, str(EXAMPLES / "git-workflow.yaml"))
    assert imported["makespan"] == native["makespan"]
    waves = native["waves"]
    assert isinstance(waves, dict)
    assert imported["waves"] == {
        kind: [[task.removeprefix("t") for task in wave] for wave in lists]
        for kind, lists in waves.items()
    }
    source = imported["source"]
    assert isinstance(source, dict)
    assert source["warnings"] == [
        "2, 3 and 4 are all in declared wave 2 but all write src/git-workflow-enforcer.ts: they "
        "cannot run at the same time",
        "the source declares 4 waves; dependencies alone need 4, and with conflicts the plan "
        "runs in 6",
    ]


SEED_PLAN = """\
---
title: "Wave-Based Task Orchestration"
draft: false
---

During a git workflow plugin enhancement, the plan agent organized 7 tasks into 4 waves:

```mermaid
flowchart TB
    T1["Task 1: Foundation"]
```

**Wave 1** (Start Immediately):
- Task 1: Extend State & Config (foundation)

**Wave 2** (After Wave 1):
- Task 2: Add event hook [depends: 1]
- Task 3: Add PR review checking [depends: 1]
- Task 4: Add commit limit enforcement [depends: 1]

**Wave 3** (After Wave 2):
- Task 5: Enhance issue tool [depends: 2]
- Task 6: Add PR tool [depends: 2, 3, 4]

**Wave 4** (After Wave 3):
- Task 7: Update documentation [depends: 5, 6]

The critical path runs through Task 1 -> Task 2 -> Task 6 -> Task 7.

## Reality Hits

Wave 2's tasks (2, 3, 4) all modified the same file: `git-workflow-enforcer.ts`.
"""


def test_the_seed_article_text_reads_as_a_markdown_plan(tmp_path: Path) -> None:
    """The article's own plan section (front matter, code block and prose around it) reads
    as 7 tasks in the 4 declared waves; prose after the waves belongs to no task."""
    path = tmp_path / "article.txt"
    path.write_text(SEED_PLAN, encoding="utf-8")
    plan = load_plan(path, source_format=SourceFormat.MARKDOWN)
    assert plan.name == "Wave-Based Task Orchestration"
    assert [(t.id, t.depends) for t in plan.tasks] == [
        ("1", ()),
        ("2", ("1",)),
        ("3", ("1",)),
        ("4", ("1",)),
        ("5", ("2",)),
        ("6", ("2", "3", "4")),
        ("7", ("5", "6")),
    ]
    assert plan.origin is not None
    assert plan.origin.declared_waves == (("1",), ("2", "3", "4"), ("5", "6"), ("7",))
    assert all(t.accesses == () for t in plan.tasks)


def test_heading_tasks_with_checkboxes_and_status(tmp_path: Path) -> None:
    """``## Task`` headings, ``Status: done`` and ``[x]`` bullets mark tasks done."""
    path = tmp_path / "plan.md"
    path.write_text(
        "## Wave 1\n\n### Task A1: Schema\nStatus: done\n\n### Task A2: API\nDepends: A1\n\n"
        "## Wave 2\n\n- [x] Task B1: Client [depends: A2]\n- [ ] Task B2: Docs\n",
        encoding="utf-8",
    )
    plan = load_plan(path)
    assert [(t.id, t.done, t.depends) for t in plan.tasks] == [
        ("A1", True, ()),
        ("A2", False, ("A1",)),
        ("B1", True, ("A2",)),
        ("B2", False, ()),
    ]
    assert plan.origin is not None
    assert plan.origin.declared_waves == (("A1", "A2"), ("B1", "B2"))
    assert plan.origin.warnings == ("B1 is done, but depends on A2, which is not",)


def test_a_markdown_file_without_tasks_is_an_error(tmp_path: Path) -> None:
    """A markdown file with no task line says what it expected."""
    path = tmp_path / "notes.md"
    path.write_text("# Notes\n\nNothing planned yet.\n", encoding="utf-8")
    with pytest.raises(PlanSyntaxError) as caught:
        load_plan(path)
    assert str(caught.value) == (
        f"{path}: no tasks found: expected lines such as 'Task 2: Add event hook [depends: 1]'"
    )


def test_dotted_task_ids_are_read_whole(tmp_path: Path) -> None:
    """``Task 1.1:`` is task 1.1 (not 1 titled ``1: ...``), so dependencies on dotted ids
    make a chain; ``Task 3. Title`` still reads the dot as the separator."""
    path = tmp_path / "plan.md"
    path.write_text(
        "- Task 1.1: Create schema\n"
        "- Task 1.2: Seed data [depends: 1.1]\n"
        "- Task 2: Use it [depends: 1.2]\n"
        "- Task 3. Document it [depends: 2]\n",
        encoding="utf-8",
    )
    plan = load_plan(path)
    assert [(t.id, t.title, t.depends) for t in plan.tasks] == [
        ("1.1", "Create schema", ()),
        ("1.2", "Seed data", ("1.1",)),
        ("2", "Use it", ("1.2",)),
        ("3", "Document it", ("2",)),
    ]
    assert plan.origin is not None
    assert plan.origin.warnings == ()


def test_tasks_named_by_words_are_dependency_targets(tmp_path: Path) -> None:
    """``Task A``, ``## Task setup``: dependencies name them as words, bare or as
    ``Task A``."""
    path = tmp_path / "plan.md"
    path.write_text(
        "- Task A: Setup\n"
        "- Task B: Build [depends: A]\n"
        "- Task C: Ship [depends: Task A and B]\n\n"
        "## Task setup\n\n"
        "## Task deploy\n\n"
        "Depends: setup, C\n",
        encoding="utf-8",
    )
    plan = load_plan(path)
    assert [(t.id, t.depends) for t in plan.tasks] == [
        ("A", ()),
        ("B", ("A",)),
        ("C", ("A", "B")),
        ("deploy", ("setup", "C")),
        ("setup", ()),
    ]
    assert plan.origin is not None
    assert plan.origin.warnings == ()


def test_dependencies_that_cannot_be_read_are_reported(tmp_path: Path) -> None:
    """An entry that is no id is a warning naming its line; a word that no task has counts
    as a task outside the plan; none of them is dropped silently."""
    path = tmp_path / "plan.md"
    path.write_text(
        "- Task 1: Schema\n"
        "- Task 2: API (after review)\n"
        "  Depends: 1, the schema must exist first\n",
        encoding="utf-8",
    )
    plan = load_plan(path)
    assert plan.task("2").depends == ("1",)
    assert plan.origin is not None
    assert plan.origin.warnings == (
        f"{path}:3: 2: cannot read the dependency 'the schema must exist first' (no task has "
        "that id); ignored",
        "2 depends on review, which is not in the plan: counted as done",
    )


def test_a_note_after_a_dependency_keeps_the_dependency(tmp_path: Path) -> None:
    """``Depends: 1 (schema must exist)`` and ``[depends: 1 \u2014 the schema]`` name task 1;
    commas inside the note do not split the list."""
    path = tmp_path / "plan.md"
    path.write_text(
        "- Task 1: Schema\n"
        "- Task 2: Seed\n"
        "  Depends: 1 (schema must exist)\n"
        "- Task 3: API [depends: 1 \u2014 the schema]\n"
        "- Task 4: Client\n"
        "  Depends: 2 (rows, and users), 3\n",
        encoding="utf-8",
    )
    plan = load_plan(path)
    assert [(t.id, t.depends) for t in plan.tasks] == [
        ("1", ()),
        ("2", ("1",)),
        ("3", ("1",)),
        ("4", ("2", "3")),
    ]
    assert plan.origin is not None
    assert plan.origin.warnings == ()


def test_paths_in_the_home_folder_are_skipped_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``~/x.txt`` and ``$HOME/y.txt`` cannot be in the project: they are reported and not
    converted; ``~z.txt`` is a file name of the project."""
    path = tmp_path / "plan.md"
    path.write_text(
        "- Task 1: Notes\n  Files: ~/x.txt, $HOME/y.txt, ${HOME}/w.txt, ~z.txt, src/a.ts\n",
        encoding="utf-8",
    )
    plan = load_plan(path)
    assert [a.key for a in plan.task("1").accesses] == ["~z.txt", "src/a.ts"]
    assert plan.origin is not None
    assert plan.origin.warnings == (
        "1: skipped paths: '~/x.txt' (in the home folder), '$HOME/y.txt' (in the home "
        "folder), '${HOME}/w.txt' (in the home folder)",
    )
    out = tmp_path / "plan.yaml"
    assert main(["convert", str(path), "-o", str(out)]) == 0
    assert "in the home folder" in capsys.readouterr().err
    converted = load_plan(out)
    assert [a.key for a in converted.task("1").accesses] == ["~z.txt", "src/a.ts"]


def test_file_entries_that_name_no_path_are_reported(tmp_path: Path) -> None:
    """A ``Files:`` entry holding no path is a warning, not a silent drop; ``none`` and
    ``n/a`` name no file."""
    path = tmp_path / "plan.md"
    path.write_text(
        "- Task 1: Notes\n  Files: src/a.ts (new), see the design notes\n"
        "- Task 2: Review\n  Files: none (read only)\n  Reads: N/A\n",
        encoding="utf-8",
    )
    plan = load_plan(path)
    assert [a.key for a in plan.task("1").accesses] == ["src/a.ts"]
    assert plan.task("2").accesses == ()
    assert plan.origin is not None
    assert plan.origin.warnings == (f"{path}:2: 1: 'see the design notes' names no file; ignored",)


def test_a_backticked_path_with_a_space_is_one_path(tmp_path: Path) -> None:
    """`src/config é.py` in a task's prose was split into src/config and é.py, and as a
    ``Files:`` entry it named no file; a backticked command still gives its path argument
    alone, and a span of several paths each of them."""
    path = tmp_path / "plan.md"
    path.write_text(
        "- Task 1: Config\n  Update `src/config é.py` and `docs/User Guide/`.\n"
        "- Task 2: Tests\n  Run `pytest tests/unit/test_a.py -k x`, then `scripts/gen.py --all`"
        " on `src/a.ts src/b.ts`.\n"
        "- Task 3: Declared\n  Files: `src/config é.py`, `src/b c.py` (new)\n",
        encoding="utf-8",
    )
    plan = load_plan(path)
    assert plan.origin is not None
    assert plan.origin.warnings == ()
    assert _accesses(plan, "1") == {
        "src/config é.py": (Mode.WRITE, Origin.INFERRED),
        "docs/User Guide/": (Mode.WRITE, Origin.INFERRED),
    }
    assert list(_accesses(plan, "2")) == [
        "tests/unit/test_a.py",
        "scripts/gen.py",
        "src/a.ts",
        "src/b.ts",
    ]
    assert _accesses(plan, "3") == {
        "src/config é.py": (Mode.WRITE, Origin.DECLARED),
        "src/b c.py": (Mode.WRITE, Origin.DECLARED),
    }


def test_a_backticked_command_with_a_path_argument_is_no_path_with_a_space(
    tmp_path: Path,
) -> None:
    """`bin/run tests/a.py` in prose is a program and its argument (it was read as the one
    path "bin/run tests/a.py", so the test file the task runs was no inferred write); a
    ``Files:`` entry with spaces in a folder's name stays one path."""
    path = tmp_path / "plan.md"
    path.write_text(
        "- Task 1: Run\n  Check with `bin/run tests/a.py` and `tools/fmt src/ui/`.\n"
        "- Task 2: Guide\n  Files: `docs/User Guide/intro.md`\n",
        encoding="utf-8",
    )
    plan = load_plan(path)
    assert list(_accesses(plan, "1")) == ["bin/run", "tests/a.py", "tools/fmt", "src/ui/"]
    assert list(_accesses(plan, "2")) == ["docs/User Guide/intro.md"]


def test_a_bracketed_list_with_a_note_and_ids_with_a_task_prefix(tmp_path: Path) -> None:
    """``Depends: [1, 2] (UI must land first)`` depends on both (the last id kept the bracket);
    a task whose id is ``task-2`` is found by that id, not read as task 2."""
    (tmp_path / "plan.md").write_text(
        "## Task 1: A\n## Task 2: B\n## Task 3: C\n- Depends: [1, 2] (UI must land first)\n",
        encoding="utf-8",
    )
    plan = load_plan(tmp_path / "plan.md")
    assert plan.task("3").depends == ("1", "2")
    (tmp_path / "ids.md").write_text(
        "- Task task-1: A\n- Task task-2: B [depends: task-1]\n", encoding="utf-8"
    )
    plan = load_plan(tmp_path / "ids.md")
    assert plan.task("task-2").depends == ("task-1",)
    assert plan.origin is not None
    assert plan.origin.warnings == ()


def test_a_task_prefix_is_read_once_per_id(monkeypatch: pytest.MonkeyPatch) -> None:
    """``task-4`` and ``todo_04`` find task 4 with one reading of the prefix (it was matched,
    then matched again to remove it); an id with no such task finds nothing."""
    prefix = imported._JOINED_PREFIX
    scans: list[str] = []

    class Counted:
        def match(self, text: str) -> re.Match[str] | None:
            scans.append(text)
            return prefix.match(text)

        def sub(self, replacement: str, text: str) -> str:
            scans.append(text)
            return prefix.sub(replacement, text)

    monkeypatch.setattr(imported, "_JOINED_PREFIX", Counted())
    resolver = imported._Resolver([imported.Draft("4", "A", "p.md:1")], ["4"])
    assert resolver.find("task-4") == "4"
    assert resolver.find("todo_04") == "4"
    assert resolver.find("task-5") is None
    assert scans == ["task-4", "todo_04", "task-5", "5"]


def test_task_ids_may_start_with_any_letter(tmp_path: Path) -> None:
    """``Task Über`` is a task (its line was skipped, so its dependent ran first)."""
    (tmp_path / "p.md").write_text(
        "- Task A: First\n- Task Über: Second [depends: A]\n- Task 3: Third [depends: Über]\n",
        encoding="utf-8",
    )
    plan = load_plan(tmp_path / "p.md")
    assert [t.id for t in plan.tasks] == ["3", "A", "Über"]
    assert plan.task("3").depends == ("Über",)


def test_a_note_inside_an_inline_dependency_tag(tmp_path: Path) -> None:
    """``[depends: 1 (schema must exist), 3]`` names 1 and 3 and leaves the title alone (the
    note's parenthesis ended the tag: 3 was lost, and ', 3]' joined the title)."""
    (tmp_path / "p.md").write_text(
        "- Task 1: one\n- Task 3: three\n"
        "- Task 2: two [depends: 1 (schema must exist), 3]\n"
        "- Task 4: four (depends on 1 (schema), 3)\n",
        encoding="utf-8",
    )
    plan = load_plan(tmp_path / "p.md")
    assert [(t.id, t.title, t.depends) for t in plan.tasks if t.depends] == [
        ("2", "two", ("1", "3")),
        ("4", "four", ("1", "3")),
    ]

"""GSD phase folders: plans, summaries, lenient front matter and the findings."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from waveplan.cli import main
from waveplan.errors import PlanSyntaxError
from waveplan.load import SourceFormat, load_plan
from waveplan.model import DurationSource, Mode, Origin

FIXTURES = Path(__file__).parent / "fixtures" / "gsd"
PROJECT = FIXTURES / "project"
PHASE = ".planning/phases/02-sync-engine"

WARNINGS = [
    ".planning/phases: 2 phase folders; read 02-sync-engine, the first with plans not done "
    "(give a phase folder to read another)",
    f"{PHASE}/02-01-SUMMARY.md:7: 02-01 touched files it did not declare: "
    "src/sync/queue.test.ts, package.json",
    f"{PHASE}/02-03-PLAN.md:15: 02-03: the front matter is not valid YAML (found unknown escape "
    "character '\\.'); read its fields leniently",
    f"{PHASE}/02-04-PLAN.md:6: 02-04: 'depends_on' should be a list; read as one",
    f"{PHASE}/02-05-PLAN.md:1: 02-05: no 'wave' in the front matter",
    "unknown front-matter key 'reviewer' ignored (02-04)",
    "02-02 depends on 01-02, which is not in this phase folder: counted as done",
    "02-04 is declared in wave 2 but depends on 02-02 (wave 2): its dependencies put it in wave 3",
    "02-02 and 02-03 are both in declared wave 2 but both write src/sync/index.ts: they cannot "
    "run at the same time",
    "the source declares 2 waves; dependencies alone need 3, and with conflicts the plan runs in 3",
]


@pytest.fixture(autouse=True)
def _in_project(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(PROJECT)


def test_the_project_folder_reads_the_first_phase_not_done() -> None:
    """From the project root, the phase with plans not done yet is read, and the root is the
    project (the folder holding .planning)."""
    plan = load_plan(".")
    assert plan.origin is not None
    assert plan.origin.format is SourceFormat.GSD
    assert plan.source == PHASE
    assert plan.name == "02-sync-engine"
    assert plan.root == str(PROJECT)
    assert [t.id for t in plan.tasks] == ["02-01", "02-02", "02-03", "02-04", "02-05"]


def test_a_plan_file_stands_for_its_phase_folder() -> None:
    """Giving one PLAN.md reads its whole phase, without the note about other phases."""
    plan = load_plan(f"{PHASE}/02-03-PLAN.md")
    assert plan.source == PHASE
    assert len(plan.tasks) == 5
    assert plan.origin is not None
    assert not any("phase folders" in w for w in plan.origin.warnings)


def test_front_matter_and_task_blocks_give_waves_dependencies_and_files() -> None:
    """``files_modified`` and ``<files>`` are writes, ``<read_first>`` reads; ``depends_on``
    items outside the folder are dropped."""
    plan = load_plan(PHASE)
    assert plan.origin is not None
    assert plan.origin.declared_waves == (("02-01",), ("02-02", "02-03", "02-04"))
    assert plan.task("02-02").depends == ("02-01",)
    assert {(a.key, a.mode) for a in plan.task("02-02").accesses} == {
        ("src/sync/worker.ts", Mode.WRITE),
        ("src/sync/index.ts", Mode.WRITE),
        ("src/sync/retry.ts", Mode.WRITE),
        ("src/sync/queue.ts", Mode.READ),
        ("src/config/env.ts", Mode.READ),
    }
    assert plan.task("02-02").title == "Background worker that drains the queue to the server."
    assert plan.task("02-02").description.startswith("<objective>\nBackground worker")


def test_a_summary_marks_the_plan_done_with_its_footprint_and_duration() -> None:
    """SUMMARY key-files are observed writes; its duration (minutes) comes from history."""
    plan = load_plan(PHASE)
    first = plan.task("02-01")
    assert first.done
    assert first.duration == 14 * 60  # 14min: the plan is timed, in seconds
    assert plan.timed
    assert first.duration_source is DurationSource.HISTORY
    origins = {a.key: a.origin for a in first.accesses if a.mode is Mode.WRITE}
    assert origins == {
        "src/sync/queue.ts": Origin.DECLARED,
        "src/sync/types.ts": Origin.DECLARED,
        "src/sync/queue.test.ts": Origin.OBSERVED,
        "package.json": Origin.OBSERVED,
    }
    assert not plan.task("02-02").done
    assert plan.task("02-02").duration_source is DurationSource.DEFAULT


def test_front_matter_strict_yaml_rejects_is_read_leniently() -> None:
    """02-03's front matter has an invalid escape: its fields still import."""
    plan = load_plan(PHASE)
    third = plan.task("02-03")
    assert third.depends == ("02-01",)
    assert {a.key for a in third.accesses} == {"src/sync/conflicts.ts", "src/sync/index.ts"}
    assert plan.origin is not None
    assert plan.origin.provenance["02-03"]["wave"] == f"{PHASE}/02-03-PLAN.md:5"


def test_findings_are_pinned(capsys: pytest.CaptureFixture[str]) -> None:
    """Every import warning and declared-vs-computed finding, in order."""
    assert main(["plan", ".", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["source"]["format"] == "gsd"
    assert data["source"]["declared_waves"] == [["02-01"], ["02-02", "02-03", "02-04"]]
    assert data["source"]["warnings"] == WARNINGS
    assert data["done"] == ["02-01"]
    assert data["source"]["observed"] == {
        "02-01": ["src/sync/queue.test.ts (write)", "package.json (write)"]
    }


def test_a_finished_phase_is_read_when_given() -> None:
    """A phase folder whose plans all have summaries: every task done, no phase note."""
    plan = load_plan(".planning/phases/01-foundation")
    assert [(t.id, t.done, t.duration) for t in plan.tasks] == [
        ("01-01", True, 9 * 60.0),
        ("01-02", True, 6 * 60.0),
    ]
    assert plan.origin is not None
    assert plan.origin.warnings == ()


def test_unreadable_front_matter_is_one_error_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Front matter that neither strict YAML nor the lenient reader can read: exit 2 and one
    line naming the file, the line, the plan and the field."""
    monkeypatch.chdir(FIXTURES)
    assert main(["plan", "unreadable"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "ERROR: unreadable/03-01-PLAN.md:5: task '03-01', field 'depends_on': '[' is never "
        "closed (the front matter is not valid YAML, and cannot be read leniently either)\n"
    )


def test_front_matter_never_closed_is_an_error(tmp_path: Path) -> None:
    """A PLAN.md whose front matter has no closing line cannot be read at all."""
    (tmp_path / "01-01-PLAN.md").write_text("---\nwave: 1\n\nbody\n", encoding="utf-8")
    with pytest.raises(PlanSyntaxError) as caught:
        load_plan(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path}/01-01-PLAN.md:1: task '01-01': the front matter opened with '---' is "
        "never closed (no second '---' line)"
    )


def test_odd_fields_are_tolerated_with_warnings(tmp_path: Path) -> None:
    """A non-numeric wave, a file list given as text and a plan without front matter import,
    each with a warning; a bare plan number in depends_on means a plan of the same phase."""
    phase = tmp_path / "04-ui"
    phase.mkdir()
    (phase / "04-01-PLAN.md").write_text(
        "---\nwave: first\nfiles_modified: src/ui/app.tsx\n---\n# App shell\n", encoding="utf-8"
    )
    (phase / "04-02-PLAN.md").write_text(
        "---\nwave: 2\ndepends_on: [1]\n---\n<objective>\nTheme\n</objective>\n",
        encoding="utf-8",
    )
    (phase / "04-03-PLAN.md").write_text("Just notes, no front matter.\n", encoding="utf-8")
    plan = load_plan(phase)
    assert plan.task("04-01").title == "App shell"
    assert [a.key for a in plan.task("04-01").accesses] == ["src/ui/app.tsx"]
    assert plan.task("04-02").depends == ("04-01",)
    assert plan.task("04-02").title == "Theme"
    assert plan.origin is not None
    assert plan.origin.warnings == (
        f"{phase}/04-01-PLAN.md:2: 04-01: 'wave' is not a whole number ('first'); ignored",
        f"{phase}/04-01-PLAN.md:3: 04-01: 'files_modified' should be a list; read as one",
        f"{phase}/04-03-PLAN.md:1: 04-03: no front matter: no wave, dependencies or files",
    )


def test_several_phases_all_done_read_the_last(tmp_path: Path) -> None:
    """When every phase is done, the last one is read."""
    phases = tmp_path / ".planning" / "phases"
    shutil.copytree(PROJECT / ".planning" / "phases" / "01-foundation", phases / "01-foundation")
    shutil.copytree(phases / "01-foundation", phases / "00-setup")
    plan = load_plan(tmp_path)
    assert plan.source == f"{tmp_path}/.planning/phases/01-foundation"
    assert plan.origin is not None
    assert plan.origin.warnings[0] == (
        f"{tmp_path}/.planning/phases: 2 phase folders; read 01-foundation, the last (all are "
        "done) (give a phase folder to read another)"
    )


def test_fields_of_the_wrong_shape_are_ignored_with_warnings(tmp_path: Path) -> None:
    """A list wave, mapping items, a mapping for a list, a list for key-files and an
    unreadable duration: each is a warning, none is an error."""
    (tmp_path / "01-01-PLAN.md").write_text("---\nwave: 1\n---\n", encoding="utf-8")
    (tmp_path / "01-01-SUMMARY.md").write_text(
        "---\nkey-files: [a.ts]\nduration: soon\n---\n", encoding="utf-8"
    )
    (tmp_path / "01-02-PLAN.md").write_text(
        "---\nwave: [1]\ndepends_on: [{plan: 01-01}]\nfiles_modified: {a: 1}\n---\n",
        encoding="utf-8",
    )
    plan = load_plan(tmp_path)
    assert plan.task("01-01").done
    assert plan.task("01-02").depends == ()
    assert plan.origin is not None
    assert plan.origin.warnings == (
        f"{tmp_path}/01-01-SUMMARY.md:2: 01-01: 'key-files' is not a mapping of 'created' and "
        "'modified' lists; ignored",
        f"{tmp_path}/01-01-SUMMARY.md:3: 01-01: cannot read the duration 'soon'; ignored",
        f"{tmp_path}/01-02-PLAN.md:2: 01-02: 'wave' is not a whole number (['1']); ignored",
        f"{tmp_path}/01-02-PLAN.md:3: 01-02: 'depends_on' has items that are not plain values; "
        "they are ignored",
        f"{tmp_path}/01-02-PLAN.md:4: 01-02: 'files_modified' should be a list, not a mapping; "
        "ignored",
    )


def test_a_note_after_a_depends_on_entry_keeps_the_plan(tmp_path: Path) -> None:
    """``"04-01 (for the store)"`` names 04-01 of this folder; an entry that is no plan id is
    a warning."""
    phase = tmp_path / "04-ui"
    phase.mkdir()
    (phase / "04-01-PLAN.md").write_text("---\nwave: 1\n---\n# Store\n", encoding="utf-8")
    (phase / "04-02-PLAN.md").write_text(
        '---\nwave: 2\ndepends_on: ["04-01 (for the store)", "the design review"]\n---\n# Views\n',
        encoding="utf-8",
    )
    (phase / "04-03-PLAN.md").write_text(
        '---\nwave: 2\ndepends_on: ["04-01-PLAN.md \u2014 the store", "2 (views)"]\n---\n# Forms\n',
        encoding="utf-8",
    )
    plan = load_plan(phase)
    assert plan.task("04-02").depends == ("04-01",)
    assert plan.task("04-03").depends == ("04-01", "04-02")
    assert plan.origin is not None
    assert plan.origin.warnings[0] == (
        f"{phase}/04-02-PLAN.md:3: 04-02: cannot read the dependency 'the design review' (no "
        "task has that id); ignored"
    )
    assert not any("not in this phase folder" in w for w in plan.origin.warnings)


def test_notes_after_files_modified_entries_are_dropped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``"src/a.ts (new)"`` and ``"`src/a.ts` \u2014 the store"`` both write src/a.ts, so the
    two plans of one wave conflict; an entry with no path is a warning."""
    (tmp_path / "01-01-PLAN.md").write_text(
        '---\nwave: 1\nfiles_modified: ["src/a.ts (new)", "src/b.ts"]\n---\n# Store\n',
        encoding="utf-8",
    )
    (tmp_path / "01-02-PLAN.md").write_text(
        '---\nwave: 1\nfiles_modified:\n  - "`src/a.ts` \u2014 the store"\n'
        "  - see the design notes\n---\n# Views\n",
        encoding="utf-8",
    )
    plan = load_plan(tmp_path)
    assert [a.key for a in plan.task("01-01").accesses] == ["src/a.ts", "src/b.ts"]
    assert [a.key for a in plan.task("01-02").accesses] == ["src/a.ts"]
    assert main(["plan", str(tmp_path), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["source"]["warnings"] == [
        f"{tmp_path}/01-02-PLAN.md:3: 01-02: 'see the design notes' names no file; ignored",
        "01-01 and 01-02 are both in declared wave 1 but both write src/a.ts: they cannot run "
        "at the same time",
        "the source declares 1 wave; dependencies alone need 1, and with conflicts the plan "
        "runs in 2",
    ]


def test_a_files_modified_path_with_spaces_is_one_path(tmp_path: Path) -> None:
    """A YAML list item is one path: ``docs/User Guide.md`` (it was cut to ``docs/User``)."""
    (tmp_path / "01-01-PLAN.md").write_text(
        '---\nwave: 1\nfiles_modified: ["docs/User Guide.md", "assets/logo final.png (new)"]\n'
        "---\n# Docs\n",
        encoding="utf-8",
    )
    plan = load_plan(tmp_path)
    assert sorted(a.key for a in plan.tasks[0].accesses) == [
        "assets/logo final.png",
        "docs/User Guide.md",
    ]

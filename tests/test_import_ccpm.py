"""ccpm epic folders: tasks, declared conflicts, effort hours and parallel marks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from waveplan.cli import main
from waveplan.errors import PlanError
from waveplan.load import SourceFormat, load_plan
from waveplan.model import DurationSource, Mode, Origin, ResourceKind

FIXTURES = Path(__file__).parent / "fixtures" / "ccpm"
PROJECT = FIXTURES / "project"
EPIC = ".claude/epics/offline-mode"

WARNINGS = [
    f"{EPIC}/005.md:2: 005: the front matter is not valid YAML (found unknown escape character "
    "'\\d'); read its fields leniently",
    f"{EPIC}/005.md:5: 005: 'depends_on' should be a list; read as one",
    "unknown front-matter key 'estimate_notes' ignored (005)",
    f"{EPIC}/005.md:7: 005 conflicts with 009, which is not in this epic; ignored",
    "002 is marked parallel, but the computed plan serializes it: 003 waits for it on "
    "state:conflict.002+003",
    "003 is marked parallel, but the computed plan serializes it: it waits 5h for "
    "state:conflict.002+003 held by 002",
    "004 is marked parallel, but the computed plan serializes it: its dependencies order it "
    "against every other task",
]


@pytest.fixture(autouse=True)
def _in_project(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(PROJECT)


def test_the_epic_is_found_from_the_project_root() -> None:
    """The only epic under .claude/epics is read; analysis and update files are not tasks."""
    plan = load_plan(".")
    assert plan.origin is not None
    assert plan.origin.format is SourceFormat.CCPM
    assert plan.source == EPIC
    assert plan.name == "offline-mode"
    assert plan.root == str(PROJECT)
    assert [t.id for t in plan.tasks] == ["001", "002", "003", "004", "005"]
    assert plan.origin.declared_waves is None
    assert plan.origin.parallel == ("002", "003", "004")


def test_front_matter_gives_titles_status_and_dependencies() -> None:
    """``name`` is the title, ``status: closed`` is done, ``depends_on: [1]`` finds 001."""
    plan = load_plan(EPIC)
    assert plan.task("001").title == "Local cache layer"
    assert plan.task("001").done
    assert plan.task("003").depends == ("001",)
    assert plan.task("004").depends == ("002", "003")
    assert plan.task("005").depends == ("004",)
    assert plan.task("005").title == "Offline mode guide: the \\d+ pending edits counter"


def test_a_declared_conflict_is_one_exclusive_resource_for_the_pair() -> None:
    """``conflicts_with`` on both sides gives one named state both tasks write."""
    plan = load_plan(EPIC)
    for task in ("002", "003"):
        states = [a for a in plan.task(task).accesses if a.kind is ResourceKind.STATE]
        assert [(a.key, a.mode) for a in states] == [("conflict.002+003", Mode.WRITE)]
    assert plan.task("003").depends == ("001",)  # a conflict is not a dependency


def test_effort_hours_are_durations() -> None:
    """``Hours: 6`` is 6 hours; a range ``4-6`` is its middle; ``Hours: 1.5`` is 1.5 hours:
    the plan is timed, in seconds."""
    plan = load_plan(EPIC)
    assert plan.timed
    assert [(t.id, t.duration / 3600) for t in plan.tasks] == [
        ("001", 6.0),
        ("002", 5.0),
        ("003", 3.0),
        ("004", 2.0),
        ("005", 1.5),
    ]
    assert all(t.duration_source is DurationSource.DECLARED for t in plan.tasks)


def test_description_sections_are_the_description_and_infer_paths() -> None:
    """Description and Technical Details make the description; their paths are inferred,
    the acceptance criteria's are not."""
    plan = load_plan(EPIC)
    third = plan.task("003")
    assert third.description.startswith("## Description\nQueue edits made offline")
    assert "## Acceptance Criteria" not in third.description
    files = {a.key: a.origin for a in third.accesses if a.kind is ResourceKind.FILE}
    assert files == {"src/offline/queue.ts": Origin.INFERRED}
    assert {a.key for a in plan.task("002").accesses if a.kind is ResourceKind.FILE} == {
        "public/sw.js",
        "src/main.ts",
    }


def test_findings_are_pinned(capsys: pytest.CaptureFixture[str]) -> None:
    """Parallel marks the schedule serializes are reported with the reason."""
    assert main(["plan", ".", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["source"]["format"] == "ccpm"
    assert data["source"]["declared_waves"] is None
    assert data["source"]["parallel"] == ["002", "003", "004"]
    assert data["source"]["warnings"] == WARNINGS
    assert data["done"] == ["001"]


def test_several_epics_need_a_choice(tmp_path: Path) -> None:
    """A project with two epics: the error names them."""
    epics = tmp_path / ".claude" / "epics"
    shutil.copytree(PROJECT / EPIC, epics / "offline-mode")
    shutil.copytree(PROJECT / EPIC, epics / "sharing")
    with pytest.raises(PlanError) as caught:
        load_plan(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path}/.claude/epics: holds 2 ccpm epics (offline-mode, sharing): give the folder "
        "of one"
    )


def test_a_task_file_stands_for_its_epic() -> None:
    """Giving 003.md reads the whole epic."""
    plan = load_plan(f"{EPIC}/003.md")
    assert plan.source == EPIC
    assert len(plan.tasks) == 5


def test_notes_after_depends_on_and_conflicts_with_entries_keep_the_ids(tmp_path: Path) -> None:
    """``"1 (the API)"`` and ``"#1 \u2014 the schema"`` name task 1, in ``depends_on`` and in
    ``conflicts_with``."""
    (tmp_path / "1.md").write_text("---\nname: API\n---\n", encoding="utf-8")
    (tmp_path / "2.md").write_text("---\nname: Schema\n---\n", encoding="utf-8")
    (tmp_path / "3.md").write_text(
        '---\nname: Client\ndepends_on: ["1 (the API)"]\n'
        'conflicts_with: ["#2 \u2014 both edit the schema"]\n---\n',
        encoding="utf-8",
    )
    plan = load_plan(tmp_path)
    assert plan.task("3").depends == ("1",)
    assert [a.key for a in plan.task("3").accesses] == ["conflict.2+3"]
    assert [a.key for a in plan.task("2").accesses] == ["conflict.2+3"]
    assert plan.origin is not None
    assert plan.origin.warnings == ()

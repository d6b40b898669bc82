"""``waveplan convert``: the canonical task file of an imported plan, and what it keeps.

Also the task-file keys it needs (``done``, ``description``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from waveplan.cli import main
from waveplan.errors import PlanValidationError
from waveplan.load import load_plan, parse_plan_text

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

SOURCES = [
    ("markdown", "billing-export.md", []),
    ("markdown", "billing-export.md", ["--no-infer-files"]),
    ("markdown", "git-workflow.md", []),
    ("gsd/project", ".", []),
    ("gsd/project", ".planning/phases/01-foundation", []),
    ("ccpm/project", ".", []),
    ("sisyphus/project", ".", []),
    ("sisyphus/legacy", ".", []),
]


def _plan_json(capsys: pytest.CaptureFixture[str], path: str, *options: str) -> dict[str, Any]:
    assert main(["plan", path, "--format", "json", *options]) == 0
    data = json.loads(capsys.readouterr().out)
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("case", SOURCES, ids=lambda case: " ".join([case[0], *case[2]]))
@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_convert_output_replans_to_the_same_result(
    case: tuple[str, str, list[str]],
    suffix: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The analysis JSON of the converted file equals the original's, except ``source`` and
    where durations came from."""
    folder, path, options = case
    monkeypatch.chdir(FIXTURES / folder)
    original = _plan_json(capsys, path, *options)
    target = tmp_path / f"plan{suffix}"
    assert main(["convert", path, "-o", str(target), *options]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    converted = _plan_json(capsys, str(target))
    assert "source" in original
    assert "source" not in converted
    del original["source"]
    # Durations the import took from the source's own history are declared in the converted
    # file; the tasks without any stay so.
    learnt = original.pop("duration_sources")
    learnt.pop("history", None)
    assert converted.pop("duration_sources") == learnt
    assert converted == original


def test_convert_writes_yaml_to_standard_output_and_warnings_to_standard_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without ``-o`` the YAML goes to standard output; the import's warnings to standard
    error, one per line. The text says where it came from."""
    monkeypatch.chdir(FIXTURES / "markdown")
    assert main(["convert", "billing-export.md"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(
        "# Converted by waveplan from markdown: billing-export.md\n"
        "# Inferred and observed accesses are written here as declared ones.\n"
        "name: Billing export\n"
    )
    data = yaml.safe_load(captured.out)
    assert data["tasks"][0] == {
        "id": "1",
        "title": "Add the export schema to src/billing/schema.ts (foundation)",
        "done": True,
        "files": ["src/billing/schema.ts"],
    }
    assert captured.err == "warning: 6 depends on 9, which is not in the plan: counted as done\n"


def test_convert_json_is_a_task_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``-o plan.json`` writes JSON that loads as a task file with the same tasks."""
    monkeypatch.chdir(FIXTURES / "ccpm" / "project")
    target = tmp_path / "plan.json"
    assert main(["convert", ".", "-o", str(target)]) == 0
    data = json.loads(target.read_text(encoding="utf-8"))
    assert [t["id"] for t in data["tasks"]] == ["001", "002", "003", "004", "005"]
    assert data["tasks"][1]["state"] == ["conflict.002+003"]
    original = load_plan(".")
    converted = load_plan(target)
    assert [(t.id, t.depends, t.duration, t.done) for t in converted.tasks] == [
        (t.id, t.depends, t.duration, t.done) for t in original.tasks
    ]
    assert [t.description for t in converted.tasks] == [t.description for t in original.tasks]


def test_convert_of_unreadable_input_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad input: one error line, exit 2, and no output file."""
    monkeypatch.chdir(FIXTURES / "gsd")
    target = tmp_path / "plan.yaml"
    assert main(["convert", "unreadable", "-o", str(target)]) == 2
    assert capsys.readouterr().err.startswith("ERROR: unreadable/03-01-PLAN.md:5: ")
    assert not target.exists()


@pytest.mark.parametrize("name", ["plan.toml", "plan.md"])
def test_convert_refuses_an_output_waveplan_would_read_as_another_format(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """YAML written to ``plan.toml`` was refused by the next ``plan`` (malformed TOML)."""
    target = tmp_path / name
    assert main(["convert", str(EXAMPLES / "git-workflow.yaml"), "-o", str(target)]) == 2
    assert "convert writes YAML or JSON" in capsys.readouterr().err
    assert not target.exists()


def test_convert_of_a_task_file_is_canonical(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A task file converts to its canonical form, without a header, and replans the same."""
    target = tmp_path / "plan.yaml"
    assert main(["convert", str(EXAMPLES / "git-workflow.yaml"), "-o", str(target)]) == 0
    assert target.read_text(encoding="utf-8").startswith("name: git workflow plugin\n")
    assert _plan_json(capsys, str(target)) == _plan_json(
        capsys, str(EXAMPLES / "git-workflow.yaml")
    )


# --- the task-file keys ---------------------------------------------------------------------


def test_done_and_description_keys_load() -> None:
    """``done: true`` and ``description`` are task-file keys."""
    plan = parse_plan_text(
        "tasks:\n  - id: a\n    done: true\n    description: |\n      Do it.\n      Well.\n"
        "  - id: b\n    depends: [a]\n",
        name="plan.yaml",
    )
    assert plan.task("a").done
    assert plan.task("a").description == "Do it.\nWell.\n"
    assert not plan.task("b").done
    assert plan.origin is None


def test_done_must_be_a_boolean() -> None:
    """``done: yes please`` is an error naming the task and field."""
    with pytest.raises(PlanValidationError) as caught:
        parse_plan_text("tasks:\n  - id: a\n    done: yes please\n", name="plan.yaml")
    assert str(caught.value) == (
        "plan.yaml:3: task 'a', field 'done': expected true or false, got the text 'yes please'"
    )


def test_a_task_file_has_no_source_and_an_empty_done_list(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The JSON of a native task file has ``done: []`` and no ``source``."""
    data = _plan_json(capsys, str(EXAMPLES / "git-workflow.yaml"))
    assert data["done"] == []
    assert "source" not in data

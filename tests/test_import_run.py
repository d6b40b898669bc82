"""``waveplan run`` on imported plans: tasks done in the source are recorded, not run."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from waveplan.cli import main

FIXTURES = Path(__file__).parent / "fixtures"


def _states(root: Path) -> dict[str, str]:
    with sqlite3.connect(root / ".waveplan" / "history.db") as db:
        rows = db.execute("SELECT task, status || ' ' || COALESCE(reason, '') FROM tasks")
        return {str(task): str(state) for task, state in rows.fetchall()}


def test_run_skips_tasks_done_in_the_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A dry run of an imported plan does not start its done task, records it as succeeded
    with the reason "done in the source", and runs the rest."""
    shutil.copy(FIXTURES / "markdown" / "billing-export.md", tmp_path / "plan.md")
    monkeypatch.chdir(tmp_path)
    assert main(["run", "plan.md", "--dry-run", "--no-infer-files"]) == 0
    out = capsys.readouterr().out
    assert "start  1" not in out
    assert "start  2" in out
    assert "1 already done" in out
    assert "done in the source" in out  # the report's note on task 1
    states = _states(tmp_path)
    assert states["1"] == "succeeded done in the source"
    assert states["2"] == "succeeded "


def test_run_skips_done_tasks_of_a_task_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``done: true`` in a task file has the same effect, and ``--from`` is accepted."""
    (tmp_path / "plan.yaml").write_text(
        "tasks:\n  - id: a\n    done: true\n  - id: b\n    depends: [a]\n", encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["run", "plan.yaml", "--dry-run", "-q", "--from", "waveplan"]) == 0
    capsys.readouterr()
    assert _states(tmp_path) == {"a": "succeeded done in the source", "b": "succeeded "}

"""A plan root waveplan cannot write (read-only media, a copy of someone's results): the
commands that only read the history work, and those that must write say so in one line."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from waveplan import history as history_module
from waveplan.cli import main
from waveplan.history import HISTORY_FILE, SCHEMA_VERSION, state_dir

PLAN = "tasks:\n  - {id: a, run: 'true'}\n  - {id: b, run: 'true', depends: [a]}\n"


def _user_version(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("PRAGMA user_version").fetchone()[0])


def _read_only(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Make ``folder`` read-only as a read-only mount is, for every user: ``access`` refuses
    writing there (root ignores a folder's mode bits, not a read-only mount)."""
    real_access = os.access

    def access(path: object, mode: int, **kwargs: object) -> bool:
        if mode & os.W_OK and str(Path(str(path)).absolute()).startswith(str(folder)):
            return False
        return real_access(path, mode, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "access", access)


def test_report_and_history_read_a_history_they_cannot_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An older history in a read-only root is read (upgraded in memory) and left as it was;
    it was refused as unusable, with the advice to move it away."""
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN, encoding="utf-8")
    assert main(["run", str(plan), "-q"]) == 0
    capsys.readouterr()
    path = state_dir(tmp_path) / HISTORY_FILE
    # this waveplan knows one migration more than the file has
    extra = "ALTER TABLE runs ADD COLUMN note TEXT;"
    monkeypatch.setattr(history_module, "_MIGRATIONS", (*history_module._MIGRATIONS, extra))
    monkeypatch.setattr(history_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    _read_only(monkeypatch, tmp_path)
    assert main(["history", "--root", str(tmp_path)]) == 0
    assert "succeeded" in capsys.readouterr().out
    assert main(["report", "--root", str(tmp_path), "--format", "json"]) == 0
    assert '"status": "succeeded"' in capsys.readouterr().out
    assert main(["plan", str(plan)]) == 0
    assert capsys.readouterr().err == ""
    assert _user_version(path) == SCHEMA_VERSION


def test_a_run_where_the_state_folder_cannot_be_made_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """When .waveplan cannot be created (a read-only root; here a file is in the way), run
    exits 2 with one line naming the lock (clean too): it was a traceback."""
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN, encoding="utf-8")
    (tmp_path / ".waveplan").write_text("not a folder\n", encoding="utf-8")
    assert main(["run", str(plan), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ERROR: {tmp_path / '.waveplan' / 'run.lock'}: cannot take the run lock")
    assert err.count("\n") == 1

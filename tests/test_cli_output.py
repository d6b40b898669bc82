"""Where ``-o`` and standard output write: failures are one error line, never a traceback,
and nothing but a regular file is ever replaced."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from waveplan.cli import main

ROOT = Path(__file__).resolve().parent.parent
SEED_EXAMPLE = ROOT / "examples" / "git-workflow.yaml"


def _waveplan(*args: str, **kwargs: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "waveplan", *args], **kwargs)  # type: ignore[call-overload]


def test_an_output_file_that_cannot_be_written_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read-only folder (or a full disk) under ``-o``: exit 2, one line, no file (it was a
    traceback with exit code 1)."""

    def read_only(*_: object, **__: object) -> tuple[int, str]:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(tmp_path))

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    target = tmp_path / "plan.json"
    assert main(["plan", str(SEED_EXAMPLE), "-o", str(target)]) == 2
    assert capsys.readouterr().err == (f"ERROR: {target}: cannot write (Read-only file system)\n")
    assert not target.exists()


def test_a_full_standard_output_is_one_error_line() -> None:
    """``waveplan plan ... > /dev/full``: exit 2 and one line naming standard output."""
    with Path("/dev/full").open("wb") as full:
        process = _waveplan("plan", str(SEED_EXAMPLE), stdout=full, stderr=subprocess.PIPE)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert err.decode() == "ERROR: standard output: cannot write (No space left on device)\n"


def test_a_reader_that_goes_away_at_once_is_not_an_error() -> None:
    """``waveplan plan ... | true``: the reader left before anything was written. Nothing is
    wrong with the plan, so the exit code is 0 and nothing is said (it was exit code 1, the
    code of a failed task)."""
    process = _waveplan(
        "plan",
        str(SEED_EXAMPLE),
        "--format",
        "json",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    err = process.stderr.read()
    assert process.wait(timeout=60) == 0
    assert err == b""


def test_an_output_through_a_symbolic_link_keeps_the_link(tmp_path: Path) -> None:
    """``-o latest.json`` where latest.json links to a file: the file gets the text and the
    link stays a link (it was replaced by a file)."""
    real = tmp_path / "run-42.json"
    real.write_text("old\n", encoding="utf-8")
    link = tmp_path / "latest.json"
    link.symlink_to(real.name)
    assert main(["plan", str(SEED_EXAMPLE), "-o", str(link)]) == 0
    assert link.is_symlink()
    assert real.read_text(encoding="utf-8").startswith("{")


def test_an_output_that_is_not_a_regular_file_is_written_to_not_replaced(tmp_path: Path) -> None:
    """``-o /dev/stdout`` or a named pipe: the text goes to it, and it stays what it was (as
    root, waveplan replaced /dev/stdout with a regular file)."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(
        target=lambda: received.append(fifo.read_text(encoding="utf-8")), daemon=True
    )
    reader.start()
    assert main(["plan", str(SEED_EXAMPLE), "--format", "json", "-o", str(fifo)]) == 0
    reader.join(timeout=30)
    assert received and received[0].startswith("{")
    assert fifo.is_fifo()


@pytest.mark.parametrize("command", ["plan", "infer", "convert"])
def test_an_output_naming_the_plan_it_reads_is_refused(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``waveplan plan plan.yaml -o plan.yaml`` (or ``-o ./plan.yaml``) would replace the
    plan with its analysis: exit 2, one line, and the plan as it was."""
    plan = tmp_path / "plan.yaml"
    text = "tasks:\n  - id: a\n    files: [x]\n"
    plan.write_text(text, encoding="utf-8")
    spelled = str(tmp_path / "." / "plan.yaml")
    assert main([command, str(plan), "-o", spelled]) == 2
    assert capsys.readouterr().err == (
        f"ERROR: {spelled}: is the plan this command reads; give another file to -o\n"
    )
    assert plan.read_text(encoding="utf-8") == text


@pytest.mark.parametrize("command", ["plan", "report"])
def test_an_empty_output_name_is_refused_plainly(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``-o "$OUT"`` with OUT unset said "ERROR: : is a folder"."""
    plan = tmp_path / "plan.yaml"
    plan.write_text("tasks:\n  - {id: a, run: 'true'}\n", encoding="utf-8")
    assert main(["run", str(plan), "-q"]) == 0
    args = [str(plan)] if command == "plan" else ["--root", str(tmp_path)]
    assert main([command, *args, "-o", ""]) == 2
    assert capsys.readouterr().err == (
        "ERROR: -o is empty: give a file name, or - for standard output\n"
    )

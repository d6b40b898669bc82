"""The wording and number formatting every renderer shares."""

from __future__ import annotations

from pathlib import Path

import pytest

from waveplan.cli import main
from waveplan.render.figures import counted, faster, fmt_time


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (7.0, "7"),
        (0.0, "0"),
        (1.5, "1.5"),
        (1 / 3, "0.333"),
        (-1.25, "-1.25"),
        (-0.0001, "0"),  # never "-0": a clock read a hair late is still no time
        (-0.0, "0"),
    ],
)
def test_fmt_time(value: float, text: str) -> None:
    assert fmt_time(value) == text


def test_one_task_on_one_worker_is_said_in_the_singular(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The plan header, the run's first line and the report header said "1 tasks" and
    "1 workers"."""
    plan = tmp_path / "plan.yaml"
    plan.write_text("workers: 1\ntasks:\n  - {id: only, run: 'true'}\n", encoding="utf-8")
    assert main(["plan", str(plan)]) == 0
    assert "plan.yaml  1 task, 1 worker\n" in capsys.readouterr().out
    assert main(["run", str(plan)]) == 0
    out = capsys.readouterr().out
    assert ": 1 task on 1 worker\n" in out
    assert "plan.yaml, 1 worker\n" in out
    assert "1 tasks" not in out and "1 workers" not in out
    assert main(["plan", str(plan), "--workers", "2"]) == 0
    assert "1 task, 2 workers\n" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("number", "text"), [(0, "0 tasks"), (1, "1 task"), (2, "2 tasks"), (1000, "1,000 tasks")]
)
def test_counted(number: int, text: str) -> None:
    assert counted(number, "task") == text


@pytest.mark.parametrize(
    ("makespan", "text"),
    [(7.0, "99% faster"), (0.0, "100% faster"), (4.0, "43% faster"), (7.04, "1% slower")],
)
def test_faster_never_rounds_a_makespan_to_nothing(makespan: float, text: str) -> None:
    """3,000 tasks of 4 on average, 7 on the critical path: "100% faster (on paper)", as if
    the plan took no time at all."""
    sequential = 11994.0 if makespan == 7.0 else 7.0
    assert faster(makespan, sequential) == text

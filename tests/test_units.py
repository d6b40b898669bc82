"""Durations with units: parsing, writing, timed plans end to end."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from waveplan import units
from waveplan.cli import main
from waveplan.load import load_plan
from waveplan.load.gsd import parse_minutes
from waveplan.load.markdown import parse_duration_hours
from waveplan.load.parse import Document
from waveplan.load.taskfile import build_plan
from waveplan.model import DurationSource, Plan, Task
from waveplan.render.taskfile import plan_to_taskfile
from waveplan.schedule.durations import with_history_durations
from waveplan.units import duration_text, format_duration, parse_duration, read_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("30m", 1800.0),
        ("1.5h", 5400.0),
        ("1h 30m", 5400.0),
        ("1h30m", 5400.0),
        ("2m30s", 150.0),
        ("2 hours", 7200.0),
        ("45 sec", 45.0),
        ("250ms", 0.25),
        (".5h", 1800.0),
        ("10 MIN", 600.0),
    ],
)
def test_durations_with_units_are_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == (seconds, True)


def test_a_bare_number_has_no_unit() -> None:
    assert parse_duration(" 30 ") == (30.0, False)
    assert parse_duration("2.5") == (2.5, False)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2d", "days and weeks are ambiguous"),
        ("1w", "days and weeks are ambiguous"),
        ("3 parsecs", "unknown unit 'parsecs'"),
        ("h", "expected a number or a duration"),
        ("", "expected a number or a duration"),
        ("-5m", "expected a number or a duration"),
        ("1h and a bit", "expected a number or a duration"),
    ],
)
def test_what_is_not_a_duration_says_why(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0.0, "0s"),
        (0.25, "0.25s"),
        (45.0, "45s"),
        (59.9996, "1m"),
        (150.0, "2m 30s"),
        (3600.0, "1h"),
        (5400.0, "1h 30m"),
        (5415.0, "1h 30m 15s"),
        (129600.0, "36h"),
        (-90.0, "-1m 30s"),
    ],
)
def test_format_duration(seconds: float, shown: str) -> None:
    assert format_duration(seconds) == shown


@given(st.floats(min_value=0, max_value=1e7, allow_nan=False))
def test_duration_text_reads_back(seconds: float) -> None:
    """What a converted task file writes reads back as the same seconds (to the microsecond)."""
    value, unit_given = parse_duration(duration_text(seconds))
    assert unit_given
    assert value == pytest.approx(seconds, abs=1e-6)


def _plan(data: dict[str, object]) -> Plan:
    return build_plan(Document(data), name="plan.yaml", root=".")


def test_one_duration_with_a_unit_makes_the_plan_timed() -> None:
    plan = _plan(
        {"tasks": [{"id": "a", "duration": "30m"}, {"id": "b", "duration": 45}, {"id": "c"}]}
    )
    assert plan.timed
    assert [t.duration for t in plan.tasks] == [1800.0, 45.0, 1.0]
    untimed = _plan({"tasks": [{"id": "a", "duration": 30}, {"id": "b", "duration": "2"}]})
    assert not untimed.timed
    assert [t.duration for t in untimed.tasks] == [30.0, 2.0]


def test_default_duration_counts_tasks_without_an_estimate() -> None:
    plan = _plan({"default_duration": "1h", "tasks": [{"id": "a"}, {"id": "b", "duration": 60}]})
    assert plan.timed
    assert plan.default_duration == 3600.0
    assert [(t.duration, t.duration_source) for t in plan.tasks] == [
        (3600.0, DurationSource.DEFAULT),
        (60.0, DurationSource.DECLARED),
    ]
    assert plan_to_taskfile(plan)["default_duration"] == "1h"
    untimed = _plan({"default_duration": 2, "tasks": [{"id": "a"}]})
    assert (untimed.timed, untimed.tasks[0].duration) == (False, 2.0)
    assert plan_to_taskfile(untimed)["default_duration"] == 2.0


def test_a_timeout_takes_units_without_timing_the_plan() -> None:
    plan = _plan({"tasks": [{"id": "a", "timeout": "10m"}, {"id": "b", "timeout": 5}]})
    assert [t.timeout for t in plan.tasks] == [600.0, 5.0]
    assert not plan.timed


def test_learnt_durations_time_the_plan() -> None:
    plan = Plan(tasks=(Task(id="a", title="a"), Task(id="b", title="b", duration=3.0)))
    assert not with_history_durations(plan, {}).timed
    learnt = with_history_durations(plan, {"a": 12.5})
    assert learnt.timed
    assert learnt.task("a").duration_source is DurationSource.HISTORY


def test_a_timed_plan_is_written_with_units_and_reads_back_the_same() -> None:
    plan = _plan(
        {"tasks": [{"id": "a", "duration": "1h 30m"}, {"id": "b", "duration": 61.5}, {"id": "c"}]}
    )
    data = plan_to_taskfile(plan)
    assert [t.get("duration") for t in data["tasks"]] == ["1h 30m", "61.5s", None]
    again = _plan(data)
    assert again.timed
    assert [t.duration for t in again.tasks] == [t.duration for t in plan.tasks]


TIMED = """\
name: release
workers: 2
tasks:
  - id: build
    duration: 1h 30m
    files: [src/app.py]
  - id: docs
    duration: 30m
    files: [src/app.py]
  - id: ship
    duration: 90
    depends: [build]
  - id: check
"""


def test_plan_outputs_of_a_timed_plan_write_times_with_units(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def _invoke(args: list[str]) -> str:
        assert main(args) == 0
        return capsys.readouterr().out

    path = tmp_path / "plan.yaml"
    path.write_text(TIMED)
    text = _invoke(["plan", str(path)])
    assert "Durations: check without an estimate, counted as 1s" in text
    assert "(length 1h 31m 30s)" in text
    assert "docs waited 1h 30m for src/app.py held by build" in text
    assert "Time   Notes" in text
    assert "Pure sequential            2h 1m 31s   baseline" in text
    data = json.loads(_invoke(["plan", str(path), "--format", "json"]))
    assert data["time_unit"] == "s"
    assert data["default_duration"] == 1.0
    assert data["makespan"]["sequential"] == 5400 + 1800 + 90 + 1
    html = _invoke(["plan", str(path), "--format", "html"])
    assert ">hours</text>" not in html  # 2 hours: drawn in minutes
    assert ">minutes</text>" in html
    assert "<td>1h 31m 30s</td>" in html or ">1h 31m 30s<" in html


def test_plan_outputs_of_a_unitless_plan_are_unchanged(capsys: pytest.CaptureFixture[str]) -> None:
    def _invoke(args: list[str]) -> str:
        assert main(args) == 0
        return capsys.readouterr().out

    seed = Path(__file__).parent.parent / "examples" / "git-workflow.yaml"
    plan = load_plan(seed)
    assert not plan.timed
    text = _invoke(["plan", str(seed)])
    assert "Time units   Notes" in text
    assert "counted as 1\n" in text
    assert json.loads(_invoke(["plan", str(seed), "--format", "json"]))["time_unit"] is None


def test_run_options_take_units(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text("tasks:\n  - id: a\n")
    assert main(["run", str(path), "--dry-run", "-q", "--timeout", "2m"]) == 0
    for bad, reason in (("5x", "unknown unit 'x'"), ("0", "must be more than 0")):
        assert main(["run", str(path), "--dry-run", "--timeout", bad]) == 2
        assert reason in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("1h 30m", (5400.0, True)),
        ("2h30m", (9000.0, True)),
        ("5m30s", (330.0, True)),
        ("~3h", (10800.0, True)),
        ("about 2 hours", (7200.0, True)),
        ("1-2h", (5400.0, True)),
        ("4-6 hours", (18000.0, True)),
        ("1,5h", (5400.0, True)),
        ("30 min", (1800.0, True)),
        ("500ms", (0.5, True)),
        ("2 days", (57600.0, True)),  # days of work: 8 hours
        ("1w", (144000.0, True)),
        ("12min (est)", (720.0, True)),
        ("3", (3.0, False)),
        ("4-6", (5.0, False)),
        ("two hours", None),
        ("3 tasks", None),
        ("1 hour and 30 minutes", (5400.0, True)),
        ("1h30", (5400.0, True)),  # a bare number after hours counts minutes
        ("2 h 30", (9000.0, True)),
        ("3h-4h", (12600.0, True)),
        ("4 to 6 hours", (18000.0, True)),
        ("1,000 hours", (3600000.0, True)),  # a thousands separator, not a decimal comma
        ("1h 30m 15s", (5415.0, True)),
    ],
)
def test_prose_durations(text: str, found: tuple[float, bool] | None) -> None:
    """What importers read in plans written for people: every unit part, ranges, approximate
    amounts (``1h 30m`` was read as 1h, ``5m30s`` as 30 s, ``2h30m`` and ``~3h`` not at all)."""
    assert read_duration(text) == found


@pytest.mark.parametrize(
    ("text", "matches"),
    # each amount, then where the duration ends (a bare number ends it at once)
    [("3h", 2), ("1h 30m 15s", 4), ("1 hour and 30 minutes", 3), ("1h, 2h + 3h", 4), ("3", 1)],
)
def test_prose_durations_read_each_amount_once(
    text: str, matches: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each amount of a prose duration is matched once (the amount after a join was matched
    to look ahead, then again to read it)."""
    pattern = units._AMOUNT
    read: list[int] = []

    class Counted:
        def match(self, text: str, position: int = 0) -> re.Match[str] | None:
            read.append(position)
            return pattern.match(text, position)

    monkeypatch.setattr(units, "_AMOUNT", Counted())
    assert read_duration(text) is not None
    assert len(read) == len(set(read)) == matches


def test_importers_read_durations_with_every_unit_part(tmp_path: Path) -> None:
    """GSD minutes, markdown hours and ccpm hours, each from the same prose reader."""
    assert parse_minutes("5m30s") == 5.5
    assert parse_minutes("12") == 12.0
    assert parse_duration_hours("1h 30m") == (1.5, True)
    assert parse_duration_hours("2") == (2.0, False)
    epic = tmp_path / ".claude" / "epics" / "e"
    epic.mkdir(parents=True)
    for number, effort in (("001", "- Hours: 30 min"), ("002", "- Hours: 1h 30m")):
        (epic / f"{number}.md").write_text(
            f"---\nname: t{number}\nstatus: open\n---\n\n# Task: t\n\n## Effort Estimate\n"
            f"{effort}\n"
        )
    plan = load_plan(epic)
    assert [t.duration for t in plan.tasks] == [1800.0, 5400.0]  # was 30 h and 1 h


def test_ccpm_effort_is_hours_and_an_unreadable_one_is_reported(tmp_path: Path) -> None:
    """Only an amount of hours (or the Hours: label) is the effort: a note "respond within
    200 ms" is not (it became 0.2 s); "Hours: TBD" is reported, not silently dropped."""
    epic = tmp_path / ".claude" / "epics" / "e"
    epic.mkdir(parents=True)
    effort = "- Size: M\n- Hours: TBD\n- Note: API must respond within 200 ms\n"
    (epic / "001.md").write_text(
        f"---\nname: t\nstatus: open\n---\n\n# Task: t\n\n## Effort Estimate\n{effort}"
    )
    plan = load_plan(epic)
    assert plan.tasks[0].duration_source is DurationSource.DEFAULT
    assert plan.origin is not None
    assert any("cannot read the effort 'TBD'" in w for w in plan.origin.warnings)


def test_gsd_durations_in_seconds_are_exact(tmp_path: Path) -> None:
    """10 s and 1h 20m 10s from GSD summaries stay 10 and 4810 seconds (minutes rounded to 6
    decimals made them 10.00002 s)."""
    for plan_id, took in (("01", "10s"), ("02", "1h 20m 10s")):
        (tmp_path / f"01-{plan_id}-PLAN.md").write_text(f"---\nwave: 1\n---\n# P{plan_id}\n")
        (tmp_path / f"01-{plan_id}-SUMMARY.md").write_text(f"---\nduration: {took}\n---\n")
    plan = load_plan(tmp_path)
    assert [t.duration for t in plan.tasks] == [10.0, 4810.0]
    assert [t.get("duration") for t in plan_to_taskfile(plan)["tasks"]] == ["10s", "1h 20m 10s"]


def test_a_timed_plan_counting_tasks_as_one_second_stays_timed() -> None:
    """``default_duration: 1s`` with no other unit: the plan is timed, and so is the task file
    written from it (convert, run snapshots), which left the key out."""
    plan = _plan({"default_duration": "1s", "tasks": [{"id": "a"}]})
    assert plan.timed
    data = plan_to_taskfile(plan)
    assert data["default_duration"] == "1s"
    assert _plan(data).timed

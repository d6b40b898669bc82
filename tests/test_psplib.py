"""Tests of the PSPLIB loader: single-mode RCPSP files (.sm) as waveplan plans."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from waveplan.cli import main
from waveplan.errors import PlanError, PlanSyntaxError, PlanValidationError
from waveplan.load import load_plan, parse_plan_text
from waveplan.model import Access, Mode, ResourceKind

DATA = Path(__file__).resolve().parent / "data" / "psplib"
J301_1 = DATA / "j301_1.sm"

TINY = """\
************************************************************************
file with basedata            : tiny.bas
initial value random generator: 1
************************************************************************
projects                      :  1
jobs (incl. supersource/sink ):  5
horizon                       :  20
RESOURCES
  - renewable                 :  2   R
  - nonrenewable              :  0   N
  - doubly constrained        :  0   D
************************************************************************
PRECEDENCE RELATIONS:
jobnr.    #modes  #successors   successors
   1        1          2           2   3
   2        1          1           4
   3        1          1           5
   4        1          1           5
   5        1          0
************************************************************************
REQUESTS/DURATIONS:
jobnr. mode duration  R 1  R 2
------------------------------------------------------------------------
  1      1     0       0    0
  2      1     3       2    0
  3      1     4       1    1
  4      1     2       0    1
  5      1     0       0    0
************************************************************************
RESOURCEAVAILABILITIES:
  R 1  R 2
    2    1
************************************************************************
"""


def tiny(**changes: str) -> str:
    """The tiny file with some lines replaced (old line -> new line, by their text)."""
    text = TINY
    for old, new in changes.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


def parse(text: str, name: str = "tiny.sm") -> object:
    return parse_plan_text(text, name=name)


def test_jobs_become_tasks_without_the_dummy_source_and_sink() -> None:
    """Jobs 2..n-1 become tasks j2..j4; the dummy source and sink are dropped."""
    plan = parse_plan_text(TINY, name="tiny.sm")
    assert [t.id for t in plan.tasks] == ["j2", "j3", "j4"]
    assert plan.name == "tiny"
    assert plan.workers is None


def test_successors_become_dependencies() -> None:
    """A job's successors depend on it; the source's successors depend on nothing."""
    plan = parse_plan_text(TINY, name="tiny.sm")
    depends = {t.id: t.depends for t in plan.tasks}
    assert depends == {"j2": (), "j3": (), "j4": ("j2",)}


def test_durations_and_demands_become_durations_and_uses() -> None:
    """Durations are periods; each non-zero demand is an amount of a counted resource."""
    plan = parse_plan_text(TINY, name="tiny.sm")
    j3 = plan.task("j3")
    assert j3.duration == 4.0
    assert j3.accesses == (
        Access(ResourceKind.COUNTED, "R1", Mode.AMOUNT, 1),
        Access(ResourceKind.COUNTED, "R2", Mode.AMOUNT, 1),
    )
    assert dict(plan.capacities) == {"R1": 2, "R2": 1}


def test_a_real_instance_loads_with_its_capacities() -> None:
    """j301_1: 30 tasks, the four capacities of the file, 43 is its known optimum."""
    plan = load_plan(J301_1)
    assert len(plan.tasks) == 30
    assert dict(plan.capacities) == {"R1": 12, "R2": 13, "R3": 4, "R4": 12}
    assert plan.task("j2").duration == 8.0
    assert plan.task("j5").depends == ("j4",)
    assert plan.root == str(DATA)


def test_a_first_job_that_is_not_a_dummy_is_kept() -> None:
    """A source with work of its own is an ordinary task."""
    plan = parse_plan_text(
        tiny(**{"  1      1     0       0    0": "  1      1     2       0    0"}), name="x.sm"
    )
    assert [t.id for t in plan.tasks] == ["j1", "j2", "j3", "j4"]
    assert plan.task("j2").depends == ("j1",)


def test_unused_resources_are_not_declared() -> None:
    """A resource no job uses does not become a counted resource (nor a zero capacity)."""
    text = tiny(
        **{
            "  3      1     4       1    1": "  3      1     4       1    0",
            "  4      1     2       0    1": "  4      1     2       0    0",
            "    2    1\n": "    2    0\n",
        }
    )
    assert dict(parse_plan_text(text, name="x.sm").capacities) == {"R1": 2}


def test_psplib_content_is_recognised_without_the_extension() -> None:
    """A file without a task-file extension is read as PSPLIB when it has its sections."""
    assert len(parse_plan_text(TINY, name="instance").tasks) == 3
    with pytest.raises(PlanSyntaxError):
        parse_plan_text(TINY, name="instance.json")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"   2        1          1           4": "   2        2          1           4"},
            "2 modes: only single-mode files (.sm) are supported",
        ),
        (
            {"   2        1          1           4": "   2        1          2           4"},
            "says 2 successor(s) but lists 1",
        ),
        (
            {"   2        1          1           4": "   2        1          1           9"},
            "unknown job 9 (jobs are 1..5)",
        ),
        (
            {"   2        1          1           4": "   2        1          1           2"},
            "a job cannot succeed itself",
        ),
        (
            {"  2      1     3       2    0": "  2      1     3       3    0"},
            "above its capacity 2",
        ),
        ({"  2      1     3       2    0": "  2      1     x       2    0"}, "got 'x'"),
        ({"  2      1     3       2    0": "  2      1     3       2"}, "got 4 value(s)"),
        (
            {"  - nonrenewable              :  0": "  - nonrenewable              :  1"},
            "nonrenewable",
        ),
        ({"  4      1     2       0    1\n": ""}, "job 4 has no REQUESTS/DURATIONS row"),
        ({"RESOURCEAVAILABILITIES:": "RESOURCES AVAILABLE:"}, "no 'RESOURCEAVAILABILITIES:'"),
        ({"jobs (incl. supersource/sink ):  5": "jobs:  5"}, "no 'jobs (incl."),
        (
            {"   3        1          1           5": "   3        1          1           9"},
            "unknown job 9",
        ),
    ],
)
def test_bad_files_raise_one_plan_error(changes: dict[str, str], message: str) -> None:
    """Every mistake is a PlanError naming the file (and the line and job where known)."""
    with pytest.raises(PlanError) as caught:
        parse_plan_text(tiny(**changes), name="bad.sm")
    assert message in str(caught.value)
    assert str(caught.value).startswith("bad.sm")
    assert "\n" not in str(caught.value)


def test_errors_name_the_line_and_the_job() -> None:
    """The message points at the offending row."""
    with pytest.raises(PlanValidationError) as caught:
        parse_plan_text(
            tiny(
                **{"   2        1          1           4": "   2        1          2           4"}
            ),
            name="bad.sm",
        )
    assert str(caught.value) == (
        "bad.sm:16: task 'j2', field 'successors': says 2 successor(s) but lists 1"
    )


def test_a_cycle_is_reported_like_in_a_task_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A precedence cycle is a one-line error with exit code 2."""
    path = tmp_path / "cycle.sm"
    path.write_text(
        tiny(
            **{
                "   3        1          1           5": "   3        1          1           4",
                "   4        1          1           5": "   4        1          1           3",
            }
        )
    )
    assert main(["plan", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ERROR: ") and err.count("\n") == 1
    assert "dependency cycle" in err


def test_a_bad_file_exits_two_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad input never half-works: exit code 2, one ERROR line, nothing on standard output."""
    path = tmp_path / "bad.sm"
    path.write_text("*****\nnot a project\n")
    assert main(["plan", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("ERROR: ") and captured.err.count("\n") == 1


def test_plan_reads_a_psplib_file(capsys: pytest.CaptureFixture[str]) -> None:
    """``waveplan plan j301_1.sm`` plans it: 30 tasks, counted resources respected."""
    assert main(["plan", str(J301_1), "--format", "json", "--effort", "fast"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["tasks"] == 30
    assert data["makespan"]["theoretical"] == 38.0
    assert data["makespan"]["practical"] >= 43.0

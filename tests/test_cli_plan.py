"""Tests of ``waveplan plan`` through :func:`waveplan.cli.main` and ``python -m waveplan``."""

from __future__ import annotations

import json
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from waveplan import __version__
from waveplan.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SEED_EXAMPLE = EXAMPLES / "git-workflow.yaml"
PLAN_SUFFIXES = (".yaml", ".yml", ".json", ".toml")


def test_plan_of_the_seed_example_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    """Planning the seed example succeeds and writes nothing to standard error."""
    assert main(["plan", str(SEED_EXAMPLE)]) == 0
    captured = capsys.readouterr()
    assert captured.out
    assert captured.err == ""


def test_plan_of_some_tasks_plans_them_and_what_they_depend_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``plan PATH t6`` plans t6 and its dependencies t1..t4: t5 and t7 are left out, and the
    shared file still serializes t2, t3 and t4."""
    assert main(["plan", str(SEED_EXAMPLE), "t6", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["tasks"] == 5
    assert data["waves"]["theoretical"] == [["t1"], ["t2", "t3", "t4"], ["t6"]]
    assert data["makespan"]["practical"] == 5
    assert main(["plan", str(SEED_EXAMPLE), "t9"]) == 2
    assert "has no task 't9'" in capsys.readouterr().err


def test_plan_text_shows_the_speedup_lines(capsys: pytest.CaptureFixture[str]) -> None:
    """The text output has the seed's speedup rows: the baseline and the 43% on paper."""
    main(["plan", str(SEED_EXAMPLE)])
    out = capsys.readouterr().out
    assert "Pure sequential" in out
    assert "Theoretical parallel" in out
    assert "43% faster" in out


def test_plan_json_of_the_seed_example(capsys: pytest.CaptureFixture[str]) -> None:
    """The JSON output has the figures of DESIGN section 7 for the seed example."""
    assert main(["plan", str(SEED_EXAMPLE), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"tasks", "makespan", "waves", "critical_path"} <= set(data)
    assert data["tasks"] == 7
    assert data["makespan"]["sequential"] == 7
    assert data["makespan"]["theoretical"] == 4
    assert data["waves"]["theoretical"] == [["t1"], ["t2", "t3", "t4"], ["t5", "t6"], ["t7"]]
    assert data["critical_path"]["length"] == 4
    assert data["critical_path"]["tasks"] == ["t1", "t2", "t5", "t7"]


def test_output_file_is_written_and_nothing_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With ``-o FILE`` the result goes to the file and standard output stays empty."""
    target = tmp_path / "plan.json"
    assert main(["plan", str(SEED_EXAMPLE), "--format", "json", "-o", str(target)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ""
    assert json.loads(target.read_text(encoding="utf-8"))["tasks"] == 7


def test_output_file_gets_the_same_text_as_standard_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The text written with ``-o`` is what standard output would have shown."""
    main(["plan", str(SEED_EXAMPLE)])
    printed = capsys.readouterr().out
    target = tmp_path / "plan.txt"
    main(["plan", str(SEED_EXAMPLE), "-o", str(target)])
    assert capsys.readouterr().out == ""
    assert target.read_text(encoding="utf-8") == printed


def test_without_a_format_the_output_file_extension_picks_it(tmp_path: Path) -> None:
    """``-o plan.html`` writes the page, ``.json`` JSON, ``.mmd`` mermaid (they wrote text into
    files named so); ``--format`` wins over the extension, and other names get text."""
    written = {}
    for name in ("plan.html", "plan.JSON", "plan.mmd", "plan.md", "plan"):
        target = tmp_path / name
        assert main(["plan", str(SEED_EXAMPLE), "-o", str(target)]) == 0
        written[name] = target.read_text(encoding="utf-8")
    assert written["plan.html"].startswith("<!DOCTYPE html>")
    assert json.loads(written["plan.JSON"])["tasks"] == 7
    assert written["plan.mmd"].startswith("flowchart")
    assert written["plan.md"] == written["plan"]
    assert "Practical parallel" in written["plan"]
    forced = tmp_path / "forced.html"
    assert main(["plan", str(SEED_EXAMPLE), "--format", "text", "-o", str(forced)]) == 0
    assert forced.read_text(encoding="utf-8") == written["plan"]


def test_unknown_option_exits_two(capsys: pytest.CaptureFixture[str]) -> None:
    """An option the command does not have, or a bad option value, is a usage error: exit 2
    and one ERROR line on stderr, as every error (it was click's three-line usage text)."""
    assert main(["plan", str(SEED_EXAMPLE), "--no-such-option"]) == 2
    captured = capsys.readouterr()
    assert "--no-such-option" in captured.err
    assert captured.out == ""
    assert main(["plan", str(SEED_EXAMPLE), "-w", "0"]) == 2
    assert capsys.readouterr().err == (
        "ERROR: Invalid value for '-w' / '--workers': 0 is not in the range x>=1. "
        "(see 'waveplan plan --help')\n"
    )


def test_missing_file_exits_two_with_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A plan file that does not exist is one ERROR line and exit 2, without a traceback."""
    missing = tmp_path / "nope.yaml"
    assert main(["plan", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ERROR: ")
    assert str(missing) in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_cycle_exits_two_and_prints_the_cycle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A dependency cycle is one ERROR line naming the closed cycle, exit 2, nothing written."""
    plan_file = tmp_path / "cycle.yaml"
    plan_file.write_text(
        "tasks:\n  - {id: b, depends: [a]}\n  - {id: a, depends: [c]}\n  - {id: c, depends: [b]}\n",
        encoding="utf-8",
    )
    target = tmp_path / "out.json"
    assert main(["plan", str(plan_file), "--format", "json", "-o", str(target)]) == 2
    captured = capsys.readouterr()
    assert "a -> c -> b -> a" in captured.err
    assert len(captured.err.strip().splitlines()) == 1
    assert captured.out == ""
    assert not target.exists()


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    """``--version`` prints the package version and exits 0."""
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_module_help_runs_in_a_subprocess() -> None:
    """``python -m waveplan --help`` exits 0 and lists the plan command."""
    done = subprocess.run(
        [sys.executable, "-m", "waveplan", "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Usage:" in done.stdout
    assert "plan" in done.stdout


def example_files() -> list[Path]:
    """Every task file shipped in examples/."""
    return sorted(p for p in EXAMPLES.iterdir() if p.suffix in PLAN_SUFFIXES)


def test_examples_folder_has_the_documented_examples() -> None:
    """The seed example and the CI and data-migration examples are shipped."""
    names = {p.name for p in example_files()}
    assert {"git-workflow.yaml", "ci-pipeline.yaml", "data-migration.yaml"} <= names


@pytest.mark.parametrize("example", example_files(), ids=lambda p: p.name)
def test_every_example_plans(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every file in examples/ plans with exit 0, as text and as JSON."""
    assert main(["plan", str(example)]) == 0
    assert capsys.readouterr().err == ""
    assert main(["plan", str(example), "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    data = json.loads(captured.out)
    assert data["tasks"] >= 1
    assert data["makespan"]["theoretical"] <= data["makespan"]["sequential"]


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP"])
def test_a_plan_stopped_by_a_signal_exits_130_and_writes_nothing(
    signame: str, tmp_path: Path
) -> None:
    """SIGTERM or SIGHUP while planning stops the command as Ctrl-C does: one line, exit 130,
    and no half-written output (it was killed: exit 143, no message)."""
    rng = random.Random(4)
    tasks = [
        {
            "id": f"t{i}",
            "depends": sorted(
                {f"t{rng.randrange(max(0, i - 30), i)}" for _ in range(2)} if i else []
            ),
            "files": [f"src/f{rng.randrange(400)}.py" for _ in range(2)],
            "duration": rng.randint(1, 10),
        }
        for i in range(3000)
    ]
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"tasks": tasks}))
    out = tmp_path / "out.json"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "waveplan",
            "plan",
            str(plan),
            "--effort",
            "thorough",
            "-o",
            str(out),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.0)
    process.send_signal(getattr(signal, signame))
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert err.strip() == "ERROR: interrupted"
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [plan]


def test_the_task_file_examples_of_the_docs_plan_as_written(tmp_path: Path) -> None:
    """Every YAML task file in README.md and docs/*.md that has tasks loads and plans when
    copied as it is (the README's example named a dependency it did not define)."""
    root = SEED_EXAMPLE.parent.parent
    checked = 0
    for doc in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        for number, block in enumerate(re.findall(r"```yaml\n(.*?)```", text, re.S)):
            if not re.search(r"^tasks:", block, re.M):
                continue  # a fragment (one task, one option), not a whole file
            plan = tmp_path / f"{doc.stem}-{number}.yaml"
            plan.write_text(block, encoding="utf-8")
            assert main(["plan", str(plan), "-o", str(tmp_path / "out.txt")]) == 0, (
                doc.name,
                number,
            )
            checked += 1
    assert checked >= 2


def test_a_serialization_point_of_many_resources_names_the_most_waited_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reviewers read src/ in eight forms (src/, src/**, src/**/*.py, src/m*, ...) while the
    other tasks write files in it: every form waits with every other, one serialization point
    of eight resources. JSON lists them, the most waited on first, and joins them all in
    ``resource``; the text and HTML name the three most waited on and count the rest."""
    forms = ["src/", "src/**", "src/**/*.py", "src/*.py"]
    forms += ["src/m*.py", "src/*", "src/**/m*", "src/m*"]
    tasks = []
    for i in range(40):
        reads = [forms[i // 2 % len(forms)]] if i % 2 else []
        tasks.append({"id": f"t{i}", "duration": 1 + i % 3, "files": [f"src/m{i}.py"]})
        tasks[-1]["reads"] = reads
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"tasks": tasks}))
    assert main(["plan", str(plan), "--format", "json"]) == 0
    point = json.loads(capsys.readouterr().out)["serialization"][0]
    names = point["resources"]
    assert len(names) > 4
    assert sorted(names) == sorted(point["resource"].split(" + "))
    shown = f"{' + '.join(names[:3])} + {len(names) - 3} more"
    monkeypatch.setenv("COLUMNS", "300")  # (a table cell would wrap the name)
    assert main(["plan", str(plan)]) == 0
    out = capsys.readouterr().out
    assert shown in out
    assert point["resource"] not in out
    html = tmp_path / "plan.html"
    assert main(["plan", str(plan), "-o", str(html)]) == 0
    assert shown in html.read_text()


def test_a_wait_nobody_held_names_the_tasks_planned_first(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """80 agent tasks reading src/ or src/**/*.py while writing files in it: the searched
    schedule holds some tasks back for others it plans to start first, while nobody holds
    what they wait for. Such waits named no holder ("t0 waited 6.26 for src/pkg0/m8.py");
    they now name the tasks planned first, which started no later than the waiting task."""
    plan = ROOT / "tests" / "data" / "agents-80.json"
    assert main(["plan", str(plan), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    start = {slot["id"]: slot["start"] for slot in data["schedule"]}
    unheld = [w for w in data["waits"] if not w["holders"]]
    assert unheld
    for wait in unheld:
        assert wait["planned_first"], wait
        assert all(start[t] <= start[wait["task"]] + 1e-9 for t in wait["planned_first"])
    assert main(["plan", str(plan)]) == 0
    assert "(planned first)" in capsys.readouterr().out

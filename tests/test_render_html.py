"""Tests of the HTML renderer: golden pages for a tiny plan and a tiny run, escaping, the
self-contained page, the 2,000-task page and ``--format html`` on the command line.

Set ``WAVEPLAN_UPDATE_GOLDEN=1`` to rewrite the golden files after an intended change.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import random
import re
from pathlib import Path

import pytest

from waveplan.cli import main
from waveplan.load import load_plan, parse_plan_text
from waveplan.model import (
    AttemptInfo,
    AttemptStatus,
    Plan,
    RunInfo,
    RunStatus,
    TaskRun,
    TaskStatus,
)
from waveplan.render.html import DETAIL_LIMIT, plan_html, report_html
from waveplan.schedule import analyse
from waveplan.schedule.measured import measure

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
SEED_EXAMPLE = ROOT / "examples" / "git-workflow.yaml"
INJECTION = "<img src=x onerror=alert(1)>"

TINY: list[dict[str, object]] = [
    {"id": "a", "title": "Set up <config>", "files": ["src/app.py"]},
    {
        "id": "b",
        "title": "Build the parser",
        "depends": ["a"],
        "files": ["src/shared.py"],
        "duration": 2,
    },
    {
        "id": "c",
        "title": "Build the printer",
        "depends": ["a"],
        "files": ["src/shared.py"],
        "reads": ["src/app.py"],
    },
    {"id": "d", "title": 'Docs & "notes"', "depends": ["b", "c"], "run": "make docs"},
]


def tiny_plan(tasks: list[dict[str, object]] = TINY) -> Plan:
    """The tiny plan: a shared file makes b and c wait for each other."""
    return parse_plan_text(json.dumps({"name": "tiny", "tasks": tasks}), name="tiny.json")


START = 1_700_000_000.0


def attempt(
    task: str,
    n: int,
    start: float,
    end: float | None,
    status: AttemptStatus,
    *,
    code: int | None = None,
) -> AttemptInfo:
    """One attempt, with times in seconds after the run's start."""
    return AttemptInfo(
        task=task,
        attempt=n,
        start=START + start,
        end=None if end is None else START + end,
        status=status,
        exit_code=code,
        worker=f"w{1 + n % 2}",
    )


def tiny_run() -> RunInfo:
    """A run of the tiny plan on 2 workers: b passes on its second try, c fails, d is skipped."""
    ok, failed = AttemptStatus.SUCCEEDED, AttemptStatus.FAILED
    return RunInfo(
        run_id="20240101-000000-abcd",
        plan=tiny_plan(),
        status=RunStatus.FAILED,
        started=START,
        ended=START + 4.5,
        workers=2,
        wall=4.5,
        tasks=(
            TaskRun("a", TaskStatus.SUCCEEDED, (attempt("a", 1, 0.0, 1.0, ok, code=0),)),
            TaskRun(
                "b",
                TaskStatus.SUCCEEDED,
                (attempt("b", 1, 1.0, 1.5, failed, code=1), attempt("b", 2, 2.0, 4.5, ok, code=0)),
            ),
            TaskRun("c", TaskStatus.FAILED, (attempt("c", 1, 1.0, 2.25, failed, code=3),)),
            TaskRun("d", TaskStatus.SKIPPED, (), reason="dependency c did not succeed"),
        ),
    )


def check_golden(name: str, text: str) -> None:
    """Compare ``text`` with the golden file ``name`` (rewritten when asked to)."""
    path = GOLDEN / name
    if os.environ.get("WAVEPLAN_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def data_block(page: str) -> dict[str, object]:
    """The JSON the page's script reads."""
    found = re.search(
        r'<script type="application/json" id="waveplan-data">\n(.*?)\n</script>', page, re.S
    )
    assert found is not None
    data: dict[str, object] = json.loads(found.group(1))
    return data


def big_plan(tasks: int = 2000, seed: int = 7) -> Plan:
    """A random plan: up to 3 dependencies on earlier tasks, one of tasks / 4 files each."""
    rng = random.Random(seed)
    entries = []
    for n in range(tasks):
        depends = sorted({f"t{rng.randrange(n)}" for _ in range(rng.randint(0, 3))}) if n else []
        entries.append(
            {
                "id": f"t{n}",
                "title": f"Task number {n} of the big plan",
                "depends": depends,
                "files": [f"src/module{rng.randrange(tasks // 4)}.py"],
                "duration": rng.randint(1, 5),
            }
        )
    return parse_plan_text(json.dumps({"name": "big", "tasks": entries}), name="big.json")


def run_page(run: RunInfo) -> str:
    """The HTML report of a run, with the analysis of its plan as the CLI passes it."""
    report = measure(run)
    return report_html(report, analyse(report.plan))


# --- golden pages -------------------------------------------------------------------------


def test_plan_page_of_the_tiny_plan_matches_the_golden_file() -> None:
    """The whole plan page of a tiny plan is exactly the reviewed one."""
    check_golden("plan-tiny.html", plan_html(analyse(tiny_plan())))


def test_run_page_of_the_tiny_run_matches_the_golden_file() -> None:
    """The whole run page (a retry, a failure, a skip) is exactly the reviewed one."""
    check_golden("report-tiny.html", run_page(tiny_run()))


def test_plan_page_does_not_depend_on_task_order() -> None:
    """Tasks listed in reverse give the same page, byte for byte."""
    assert plan_html(analyse(tiny_plan(TINY[::-1]))) == plan_html(analyse(tiny_plan()))


def test_renderers_are_given_what_they_show_and_run_none_of_it() -> None:
    """A renderer is a function of the analysis or report it is given: from the planning,
    inference and resource modules it takes types only (the HTML run page ran the whole
    analysis itself), and it imports neither the runner, the history nor the CLI."""
    for path in sorted((ROOT / "src" / "waveplan" / "render").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
                names: list[str] = []
            elif isinstance(node, ast.ImportFrom) and node.module is not None:
                modules, names = [node.module], [alias.name for alias in node.names]
            else:
                continue
            for module in modules:
                assert module.split(".")[:2] not in (
                    ["waveplan", "run"],
                    ["waveplan", "history"],
                    ["waveplan", "cli"],
                ), f"{path.name} imports {module}"
                if module.split(".")[:2] in (
                    ["waveplan", "schedule"],
                    ["waveplan", "infer"],
                    ["waveplan", "graph"],
                    ["waveplan", "resources"],
                ):
                    for name in names:
                        imported = getattr(importlib.import_module(module), name)
                        assert isinstance(imported, type), f"{path.name} imports {name}"


# --- content --------------------------------------------------------------------------------


def test_plan_page_has_one_gantt_bar_per_task() -> None:
    """Each task has exactly one element carrying data-task: its bar in the Gantt chart."""
    page = plan_html(analyse(load_plan(SEED_EXAMPLE)))
    bars = re.findall(r'<rect class="bar[^"]*" data-task="([^"]+)"', page)
    assert sorted(bars) == [f"t{n}" for n in range(1, 8)]
    assert page.count("data-task=") == 7


def test_plan_page_shows_the_seed_figures_and_sections() -> None:
    """The speedup table, the waves of both views, the serialization point and the advice."""
    page = plan_html(analyse(load_plan(SEED_EXAMPLE)))
    assert '<td>Theoretical parallel</td><td class="n">4</td><td>43% faster (on paper)' in page
    assert '<td>Practical parallel</td><td class="n">6</td><td>14% faster' in page
    assert page.count(">Wave 4</text>") == 2
    assert ">Wave 6</text>" in page
    assert 'id="serialization"' in page
    assert "Split src/git-workflow-enforcer.ts so that t2, t3, t4 edit separate parts" in page
    assert 'class="node crit"' in page
    assert 'class="edge crit" data-from="t1" data-to="t2"' in page


def test_tooltip_data_has_title_duration_resources_and_why_it_waited() -> None:
    """The data for t4's tooltip says what it is, how long, what it touches and why it waited."""
    data = data_block(plan_html(analyse(load_plan(SEED_EXAMPLE))))
    tasks = data["tasks"]
    assert isinstance(tasks, dict)
    t4 = tasks["t4"]
    assert t4["title"] == "Add commit limit enforcement"
    assert t4["depends"] == ["t1"]
    facts = dict(map(tuple, t4["facts"]))
    assert facts["duration"] == "1 (default)"
    assert facts["resources"] == "src/git-workflow-enforcer.ts (write)"
    assert facts["waited"] == "2 for src/git-workflow-enforcer.ts held by t2, t3"
    assert data["conflicts"] == [["t2", "t3", "t4"]]


def test_page_is_self_contained_and_forbids_network_access() -> None:
    """No URL to fetch anywhere, and a Content-Security-Policy that blocks every request."""
    page = plan_html(analyse(load_plan(SEED_EXAMPLE)))
    assert (
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
    ) in page
    assert "http:" not in page
    assert "https:" not in page
    assert re.findall(r'(?:src|href)="([^"]*)"', page) == ["data:,"]
    assert "<style>" in page
    assert page.count("<script") == 2


def test_text_from_the_plan_is_escaped_in_markup() -> None:
    """A title that is HTML shows as text: escaped in markup, never raw."""
    plan = parse_plan_text(
        json.dumps(
            {
                "name": INJECTION,
                "tasks": [
                    {"id": "x", "title": INJECTION, "files": ['a/"q".py']},
                    {"id": "y", "depends": ["x"], "files": ['a/"q".py']},
                ],
            }
        ),
        name="evil.json",
    )
    for page in (plan_html(analyse(plan)), _report_of(plan)):
        assert INJECTION not in page
        assert "<img" not in page
        assert "<h1>&lt;img src=x onerror=alert(1)&gt;</h1>" in page or "Run " in page
        tasks = data_block(page)["tasks"]
        assert isinstance(tasks, dict)
        assert tasks["x"]["title"] == INJECTION


def _report_of(plan: Plan) -> str:
    """The run page of a dry-run-like run in which every task took its estimate."""
    tasks = []
    clock = 0.0
    for task in plan.tasks:
        tasks.append(
            TaskRun(
                task.id,
                TaskStatus.SUCCEEDED,
                (
                    attempt(
                        task.id, 1, clock, clock + task.duration, AttemptStatus.SUCCEEDED, code=0
                    ),
                ),
            )
        )
        clock += task.duration
    run = RunInfo(
        run_id="r1",
        plan=plan,
        status=RunStatus.SUCCEEDED,
        started=START,
        ended=START + clock,
        workers=1,
        wall=clock,
        tasks=tuple(tasks),
        dry_run=True,
    )
    return run_page(run)


def test_data_block_cannot_close_its_script_element() -> None:
    """A title holding ``</script>`` stays inside the JSON block and reads back unchanged."""
    title = "</script><script>alert(1)</script><!--"
    plan = parse_plan_text(json.dumps({"tasks": [{"id": "x", "title": title}]}), name="p.json")
    page = plan_html(analyse(plan))
    assert page.count("</script>") == 2
    assert "<!--" not in page
    tasks = data_block(page)["tasks"]
    assert isinstance(tasks, dict)
    assert tasks["x"]["title"] == title


def test_run_page_shows_attempts_failures_and_skips() -> None:
    """Each attempt is drawn with its outcome; the skipped task sits at its planned time."""
    page = run_page(tiny_run())
    assert page.count("data-task=") == 4
    assert page.count('class="att a-failed"') == 2
    assert page.count('class="att a-ok"') == 2
    assert 'class="bar st-skipped' in page
    assert ">\u00d72</text>" in page
    assert "Efficiency:" in page
    tasks = data_block(page)["tasks"]
    assert isinstance(tasks, dict)
    facts = tasks["b"]["facts"]
    assert ["attempt 1", "failed, exit code 1, 0.5 s"] in facts
    assert ["status", "succeeded (flaky: passed after a retry)"] in facts
    assert ["status", "skipped (dependency c did not succeed)"] in tasks["d"]["facts"]


def test_run_page_of_a_run_still_going_draws_running_attempts_to_the_last_record() -> None:
    """A running attempt ends at the last recorded time; a task not started yet sits at its
    planned time; the tooltip says the attempt is running."""
    ok = AttemptStatus.SUCCEEDED
    run = RunInfo(
        run_id="r2",
        plan=tiny_plan(),
        status=RunStatus.RUNNING,
        started=START,
        ended=None,
        workers=2,
        wall=2.0,
        tasks=(
            TaskRun("a", TaskStatus.SUCCEEDED, (attempt("a", 1, 0.0, 1.0, ok, code=0),)),
            TaskRun("b", TaskStatus.PENDING, (attempt("b", 1, 1.0, None, AttemptStatus.RUNNING),)),
            TaskRun("c", TaskStatus.PENDING, ()),
            TaskRun("d", TaskStatus.PENDING, ()),
        ),
    )
    page = run_page(run)
    assert page.count("data-task=") == 4
    running = re.search(
        r'<rect class="att a-running" data-ref="b" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', page
    )
    assert running is not None
    two = re.search(r'<text class="axis" x="([\d.]+)" y="\d+">2</text>', page)
    assert two is not None
    assert float(running.group(1)) + float(running.group(2)) == pytest.approx(float(two.group(1)))
    tasks = data_block(page)["tasks"]
    assert isinstance(tasks, dict)
    assert ["attempt 1", "running"] in tasks["b"]["facts"]
    assert not any(label == "took" for label, _ in tasks["b"]["facts"])
    assert page.count('class="bar st-pending') == 3


# --- scale ----------------------------------------------------------------------------------


def test_two_thousand_task_page_stays_small_and_summarises_the_graph() -> None:
    """2,000 tasks: under 5 MB, every task has its Gantt bar, the graph is one bar per wave."""
    plan = big_plan()
    page = plan_html(analyse(plan))
    assert len(page.encode("utf-8")) < 5_000_000
    assert page.count("data-task=") == 2000
    assert len(plan.tasks) > DETAIL_LIMIT
    assert 'class="summary"' in page
    assert 'class="node' not in page
    tasks = data_block(page)["tasks"]
    assert isinstance(tasks, dict)
    assert len(tasks) == 2000


def test_run_page_of_a_two_thousand_task_run_stays_small() -> None:
    """A 2,000-task run report is under 5 MB with one bar per task."""
    plan = big_plan()
    page = _report_of(plan)
    assert len(page.encode("utf-8")) < 5_000_000
    assert page.count("data-task=") == 2000


# --- command line ---------------------------------------------------------------------------


def test_plan_format_html_writes_the_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``plan --format html -o FILE`` writes the page and prints nothing."""
    target = tmp_path / "plan.html"
    assert main(["plan", str(SEED_EXAMPLE), "--format", "html", "-o", str(target)]) == 0
    assert capsys.readouterr().out == ""
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert page == plan_html(analyse(load_plan(SEED_EXAMPLE)))


def test_plan_format_html_without_output_prints_the_page(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without ``-o`` the page goes to standard output, like the other formats."""
    assert main(["plan", str(SEED_EXAMPLE), "--format", "html"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("<!DOCTYPE html>")
    assert out.rstrip().endswith("</html>")


def test_report_format_html_writes_the_run_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``report --format html -o FILE`` after a dry run writes its page."""
    plan = tmp_path / "plan.yaml"
    plan.write_text(SEED_EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["run", str(plan), "--dry-run", "--quiet"]) == 0
    capsys.readouterr()
    target = tmp_path / "run.html"
    code = main(["report", "--root", str(tmp_path), "--format", "html", "-o", str(target)])
    assert code == 0
    assert capsys.readouterr().out == ""
    page = target.read_text(encoding="utf-8")
    assert "dry run" in page
    assert page.count("data-task=") == 7


def _run_page_with_a_done_task(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """The run page of a dry run on one worker of a, b (which the plan marks done) and c
    after b."""
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "tasks:\n  - {id: a, duration: 1m, run: 'true'}\n"
        "  - {id: b, duration: 1m, done: true, run: 'true'}\n"
        "  - {id: c, duration: 2m, depends: [b], run: 'true'}\n",
        encoding="utf-8",
    )
    assert main(["run", str(plan), "--dry-run", "--quiet", "--workers", "1"]) == 0
    capsys.readouterr()
    assert main(["report", "--root", str(tmp_path), "--format", "html"]) == 0
    return capsys.readouterr().out


def test_run_page_plans_no_bar_for_a_task_the_plan_marks_done(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A task the plan marks done is not run, so the run page draws it no bar and gives it no
    planned start (it drew a planned bar of no length where the schedule put it, and said it
    was planned "from 1m to 1m"), as the text and JSON reports do."""
    page = _run_page_with_a_done_task(tmp_path, capsys)
    assert re.findall(r'data-task="(\w+)"', page) == ["a", "c"]
    assert 'class="planned" data-ref="b"' not in page
    (row,) = re.findall(r'<tr data-ref="b">(.*?)</tr>', page, re.S)
    assert re.findall(r"<td[^>]*>(.*?)</td>", row)[3:6] == ["-", "-", "-"]
    tasks = data_block(page)["tasks"]
    assert isinstance(tasks, dict)
    assert ["planned", "not run: the plan marks it done"] in tasks["b"]["facts"]


def test_run_page_explains_the_planned_schedule_it_shows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The run page's planned waits come from the schedule its planned starts come from, in
    which a task the plan marks done takes no time: a was planned from 2m to 3m and said to
    have waited 3m, the wait of a schedule that gave the done task b its minute."""
    tasks = data_block(_run_page_with_a_done_task(tmp_path, capsys))["tasks"]
    assert isinstance(tasks, dict)
    facts = tasks["a"]["facts"]
    assert ["planned", "1m, from 2m to 3m"] in facts
    assert ["waited (planned)", "2m for a free worker"] in facts

"""Tests of ``waveplan run``, ``report`` and ``history`` through :func:`waveplan.cli.main` and
through real ``python -m waveplan`` processes."""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from waveplan.cli import learn, main
from waveplan.graph import Graph
from waveplan.history import SCHEMA_VERSION, History, state_dir
from waveplan.load import load_plan
from waveplan.model import AttemptStatus, DurationSource, Plan, RunStatus, TaskStatus
from waveplan.resources.index import ResourceIndex
from waveplan.run import session as session_module
from waveplan.run.procs import processes_of_run


def write_plan(folder: Path, text: str, name: str = "plan.yaml") -> Path:
    """Write a task file into ``folder`` and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the CLI in this process; returns exit code, standard output and standard error."""
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def report(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> dict[str, Any]:
    """The JSON report of a run (default: the latest) of the plan root."""
    code, out, err = cli(capsys, "report", *args, "--root", str(root), "--format", "json")
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


def tasks_of(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The report's tasks by id."""
    return {t["id"]: t for t in data["tasks"]}


def waveplan(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``python -m waveplan ARGS`` as a real process and wait for it."""
    return subprocess.run(
        [sys.executable, "-m", "waveplan", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def spawn(*args: str, cwd: Path) -> subprocess.Popen[str]:
    """Start ``python -m waveplan ARGS`` as a real process without waiting."""
    return subprocess.Popen(
        [sys.executable, "-m", "waveplan", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(path: Path, process: subprocess.Popen[str] | None = None, seconds: float = 20) -> str:
    """The content of ``path`` once a line was written to it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().endswith("\n"):
            return path.read_text()
        if process is not None and process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"waveplan ended early ({process.returncode}): {out}{err}")
        time.sleep(0.02)
    raise AssertionError(f"{path} was never written")


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (ProcessLookupError, OSError):
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def gone_within(pid: int, seconds: float) -> bool:
    """True once the process is gone, polling for at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not alive(pid)


SMALL = """
workers: 2
tasks:
  - {id: a, run: echo "a $WAVEPLAN_TASK $WAVEPLAN_ATTEMPT" > a.out, duration: 1}
  - {id: b, run: "cat a.out > b.out", depends: [a], files: [shared], duration: 1}
  - {id: c, run: "true", files: [shared], duration: 2}
  - {id: d, depends: [b, c], duration: 0}
"""


# --- in-process: exit codes, output and the report ------------------------------------------


def test_successful_run_exits_zero_and_prints_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A plan whose tasks all pass exits 0, runs commands in the plan root, and prints
    progress, the measured speedup table and where the logs are."""
    plan = write_plan(tmp_path, SMALL)
    code, out, err = cli(capsys, "run", str(plan))
    assert code == 0, err
    assert (tmp_path / "b.out").read_text() == "a a 1\n"
    assert "start  a" in out
    assert "Speedup" in out
    assert "Measured" in out
    assert "Logs: " in out
    run_id = report(capsys, tmp_path)["run_id"]
    logs = tmp_path / ".waveplan" / "runs" / run_id
    assert sorted(p.name for p in logs.iterdir()) == ["a.1.log", "b.1.log", "c.1.log"]


def test_a_run_builds_the_plan_graph_and_index_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Planning the run's policy and running it share one graph and one overlap index (a
    100k-task plan spends about a second building them)."""
    built: list[str] = []
    graph_build, index_build = Graph.from_plan, ResourceIndex.build

    def count_graph(cls: type[Graph], plan: Plan) -> Graph:
        built.append("graph")
        return graph_build(plan)

    def count_index(cls: type[ResourceIndex], plan: Plan) -> ResourceIndex:
        built.append("index")
        return index_build(plan)

    monkeypatch.setattr(Graph, "from_plan", classmethod(count_graph))
    monkeypatch.setattr(ResourceIndex, "build", classmethod(count_index))
    plan = write_plan(
        tmp_path,
        "tasks:\n  - {id: a, run: 'true', files: [x.py]}\n"
        "  - {id: b, run: 'true', files: [x.py], depends: [a]}\n",
    )
    assert cli(capsys, "run", str(plan), "-q")[0] == 0
    assert sorted(built) == ["graph", "index"]


def test_commands_run_in_the_plan_root_not_the_current_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Commands run in the task file's folder even when waveplan is started elsewhere."""
    root = tmp_path / "project"
    plan = write_plan(root, "tasks:\n  - {id: a, run: pwd > where.txt}\n")
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(capsys, "run", str(plan.relative_to(tmp_path)), "-q")
    assert code == 0, err
    assert (root / "where.txt").read_text() == f"{root}\n"


def test_a_plan_path_with_dots_gives_the_tasks_a_plain_pwd(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``../plan.yaml`` from a subfolder: the tasks' PWD (with a shell or without) and the
    logs name the plan root without ``..``; through a symbolic link, ``link/..`` is the
    folder above the link's target, where the plan is."""
    root = tmp_path / "project"
    text = "tasks:\n  - {id: bare, run: printenv PWD}\n  - {id: shell, run: 'echo \"$PWD\"'}\n"
    write_plan(root, text)
    (root / "sub").mkdir()
    monkeypatch.chdir(root / "sub")
    code, _, err = cli(capsys, "run", "../plan.yaml", "-q")
    assert code == 0, err
    (logs,) = (root / ".waveplan" / "runs").iterdir()
    assert (logs / "bare.1.log").read_text() == f"{root}\n"
    assert (logs / "shell.1.log").read_text() == f"{root}\n"

    real = tmp_path / "real"
    write_plan(real, text)
    (real / "deep").mkdir()
    (tmp_path / "link").symlink_to(real / "deep")
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(capsys, "run", "link/../plan.yaml", "-q")
    assert code == 0, err
    (logs,) = (real / ".waveplan" / "runs").iterdir()
    assert (logs / "shell.1.log").read_text() == f"{real}\n"


def test_quiet_run_prints_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With -q nothing is printed on success."""
    plan = write_plan(tmp_path, SMALL)
    assert cli(capsys, "run", str(plan), "-q") == (0, "", "")


def test_failing_task_exits_one_and_shows_the_tail_of_its_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A failing task makes the run exit 1; the end of its log is shown, and the downstream
    task is skipped with the reason."""
    plan = write_plan(
        tmp_path,
        "tasks:\n  - {id: bad, run: 'echo first words; echo last words >&2; exit 3'}\n"
        "  - {id: after, run: 'true', depends: [bad]}\n",
    )
    code, out, _ = cli(capsys, "run", str(plan))
    assert code == 1
    assert "FAILED bad (exit code 3)" in out
    assert "    | last words" in out
    data = report(capsys, tmp_path)
    assert data["status"] == "failed"
    tasks = tasks_of(data)
    assert (tasks["bad"]["status"], tasks["bad"]["exit_code"]) == ("failed", 3)
    assert tasks["after"]["status"] == "skipped"
    assert tasks["after"]["reason"] == "dependency bad did not succeed"
    assert tasks["after"]["attempts"] == 0


def test_stop_after_failure_versus_keep_going(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """By default an independent task waiting for the worker is skipped after a failure;
    with --keep-going it runs."""
    text = (
        "workers: 1\ntasks:\n  - {id: a, run: 'exit 1', duration: 5}\n"
        "  - {id: b, run: 'touch b.done', duration: 1}\n"
    )
    plan = write_plan(tmp_path, text)
    assert cli(capsys, "run", str(plan), "-q")[0] == 1
    tasks = tasks_of(report(capsys, tmp_path))
    assert tasks["b"]["status"] == "skipped"
    assert "--keep-going" in tasks["b"]["reason"]
    assert not (tmp_path / "b.done").exists()

    assert cli(capsys, "run", str(plan), "-q", "--keep-going")[0] == 1
    tasks = tasks_of(report(capsys, tmp_path))
    assert tasks["b"]["status"] == "succeeded"
    assert (tmp_path / "b.done").exists()


def test_retry_passes_and_is_reported_flaky(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A task failing once passes on its retry: exit 0, two attempts, reported flaky."""
    plan = write_plan(
        tmp_path,
        "tasks:\n  - {id: shaky, run: 'test -f seen || { touch seen; exit 1; }'}\n"
        "  - {id: steady, run: 'true'}\n",
    )
    code, out, _ = cli(capsys, "run", str(plan), "--retries", "1", "--retry-delay", "0")
    assert code == 0
    assert "flaky: passed after a retry" in out
    data = report(capsys, tmp_path)
    assert data["flaky"] == ["shaky"]
    tasks = tasks_of(data)
    assert tasks["shaky"]["attempts"] == 2
    assert tasks["shaky"]["flaky"] is True
    assert tasks["steady"]["flaky"] is False
    logs = tmp_path / ".waveplan" / "runs" / data["run_id"]
    assert (logs / "shaky.1.log").exists()
    assert (logs / "shaky.2.log").exists()


def test_report_says_how_long_retries_waited(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The wait between a task's attempts (its backoff) is reported per task and in all."""
    plan = write_plan(
        tmp_path, "tasks:\n  - {id: shaky, run: 'test -f seen || { touch seen; exit 1; }'}\n"
    )
    code, out, _ = cli(capsys, "run", str(plan), "--retries", "1", "--retry-delay", "0.3")
    assert code == 0
    assert "Retry backoff: 0.3" in out
    assert "(shaky)" in out
    data = report(capsys, tmp_path)
    waited = tasks_of(data)["shaky"]["waited"]
    assert 0.3 <= waited < 5
    assert data["retry_wait"] == waited
    plain = write_plan(tmp_path / "plain", "tasks:\n  - {id: steady, run: 'true'}\n")
    code, out, _ = cli(capsys, "run", str(plain))
    assert code == 0
    assert "Retry backoff" not in out
    data = report(capsys, tmp_path / "plain")
    assert data["retry_wait"] == 0
    assert tasks_of(data)["steady"]["waited"] == 0


def test_a_retry_without_delay_reports_no_backoff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --retry-delay 0 the retry starts at once: the report said "Retry backoff: 0.00s
    in all", a figure saying there was none."""
    plan = write_plan(
        tmp_path, "tasks:\n  - {id: shaky, run: 'test -f seen || { touch seen; exit 1; }'}\n"
    )
    code, out, _ = cli(capsys, "run", str(plan), "--retries", "1", "--retry-delay", "0")
    assert code == 0
    assert "retry  shaky now\n" in out  # (it said "retry  shaky in 0s")
    assert "Retry backoff" not in out
    assert tasks_of(report(capsys, tmp_path))["shaky"]["waited"] < 0.005


def test_a_pause_between_sessions_is_no_retry_wait(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A task that failed in one session and passed when the run was resumed later did not
    wait to be retried: the time between the sessions is no backoff."""
    plan = write_plan(tmp_path, "tasks:\n  - {id: late, run: 'test -f fixed'}\n")
    assert cli(capsys, "run", str(plan), "-q")[0] == 1
    time.sleep(0.3)
    (tmp_path / "fixed").touch()
    assert cli(capsys, "run", str(plan), "-q", "--resume")[0] == 0
    data = report(capsys, tmp_path)
    assert tasks_of(data)["late"]["attempts"] == 2
    assert data["retry_wait"] == 0
    with History.for_root(tmp_path) as history:
        assert [a.session for a in history.attempts(task="late")] == [1, 2]


def test_task_retries_key_and_timeout_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A task's own ``timeout`` kills it (timed out, retried per its ``retries``) and the run
    fails promptly."""
    plan = write_plan(
        tmp_path, "tasks:\n  - {id: slow, run: 'sleep 30', timeout: 0.3, retries: 1}\n"
    )
    start = time.monotonic()
    code, out, _ = cli(capsys, "run", str(plan), "--retry-delay", "0")
    assert code == 1
    assert time.monotonic() - start < 10
    assert "FAILED slow (timed out)" in out
    with History.for_root(tmp_path) as history:
        attempts = history.attempts(task="slow")
    assert [a.status for a in attempts] == [AttemptStatus.TIMED_OUT, AttemptStatus.TIMED_OUT]


def test_timeout_option_applies_to_tasks_without_their_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--timeout limits every task that sets no timeout of its own."""
    plan = write_plan(
        tmp_path,
        "tasks:\n  - {id: slow, run: 'sleep 30'}\n  - {id: own, run: 'sleep 0.5', timeout: 10}\n",
    )
    code, _, _ = cli(capsys, "run", str(plan), "-q", "--timeout", "0.2", "--keep-going")
    assert code == 1
    tasks = tasks_of(report(capsys, tmp_path))
    assert tasks["slow"]["status"] == "failed"
    assert tasks["slow"]["timed_out"] is True
    assert tasks["own"]["status"] == "succeeded"
    assert tasks["own"]["timed_out"] is False
    # The report says the task timed out, not which signal ended it.
    code, out, _ = cli(capsys, "report", "--root", str(tmp_path))
    assert code == 0
    slow = next(line for line in out.splitlines() if line.strip().startswith("slow"))
    assert "timed out" in slow and "exit code" not in slow


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tasks:\n  - {id: a, runn: 'true'}\n", "runn"),
        ("tasks:\n  - {id: a, depends: [zz]}\n", "zz"),
        ("tasks: [", "malformed"),
    ],
)
def test_bad_plan_exits_two_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    """An invalid task file is one ERROR line and exit 2, and no state folder is created."""
    plan = write_plan(tmp_path, text)
    code, out, err = cli(capsys, "run", str(plan))
    assert code == 2
    assert out == ""
    assert err.startswith("ERROR: ")
    assert message in err
    assert not (tmp_path / ".waveplan").exists()


def test_usage_errors_exit_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing file or a bad option value exits 2."""
    assert cli(capsys, "run", str(tmp_path / "missing.yaml"))[0] == 2
    plan = write_plan(tmp_path, SMALL)
    assert cli(capsys, "run", str(plan), "--workers", "0")[0] == 2
    assert cli(capsys, "run", str(plan), "--timeout", "-1")[0] == 2
    for option in ("--timeout", "--retry-delay"):
        code, _, err = cli(capsys, "run", str(plan), option, "nan")
        assert (code, err.count("\n")) == (2, 1)
    code, _, err = cli(capsys, "plan", str(plan), "--optimal", "--time-limit", "nan")
    assert (code, err.count("\n")) == (2, 1)


def test_a_mistyped_root_is_a_usage_error_not_a_new_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--root names an existing folder: a typo ran the commands in a folder waveplan made."""
    plan = write_plan(tmp_path, SMALL)
    missing = tmp_path / "typo"
    for command in (
        ("run", str(plan)),
        ("plan", str(plan)),
        ("infer", str(plan)),
        ("convert", str(plan)),
        ("report",),
        ("history",),
        ("clean",),
        ("check-merge", "a", "b"),
    ):
        code, _, err = cli(capsys, *command, "--root", str(missing))
        assert (code, err.count("\n")) == (2, 1), command
        assert "does not exist" in err
    assert not missing.exists()


def test_resume_without_an_earlier_run_exits_two(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--resume with nothing to continue is a usage error with a message; without a
    history it writes none (it made .waveplan/history.db and run.lock)."""
    plan = write_plan(tmp_path, SMALL)
    code, _, err = cli(capsys, "run", str(plan), "--resume")
    assert code == 2
    assert "no earlier run of this plan to resume" in err
    assert not state_dir(tmp_path).exists()
    assert cli(capsys, "run", str(plan), "-q")[0] == 0
    code, _, err = cli(capsys, "run", str(plan), "--resume")
    assert code == 2
    assert "succeeded; there is nothing to resume" in err


def test_a_fresh_run_of_a_plan_with_done_tasks_is_not_called_resumed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Tasks the plan marks done are not run, and the run says it runs, not that it resumes."""
    plan = write_plan(
        tmp_path,
        "tasks:\n  - {id: a, run: 'echo a >> ran.txt', done: true}\n"
        "  - {id: b, run: 'echo b >> ran.txt', depends: [a]}\n",
    )
    code, out, err = cli(capsys, "run", str(plan))
    assert code == 0, err
    assert "running run " in out
    assert "resuming" not in out
    assert "1 already done" in out
    assert (tmp_path / "ran.txt").read_text() == "b\n"


def test_resume_runs_only_what_did_not_succeed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After a failure is fixed, --resume runs the failed and skipped tasks only, in the same
    run, numbering attempts on."""
    plan = write_plan(
        tmp_path,
        "tasks:\n  - {id: a, run: 'echo a >> ran.txt'}\n"
        "  - {id: b, run: 'echo b >> ran.txt; test -f fixed'}\n"
        "  - {id: c, run: 'echo c >> ran.txt', depends: [b]}\n",
    )
    assert cli(capsys, "run", str(plan), "-q")[0] == 1
    first = report(capsys, tmp_path)["run_id"]
    (tmp_path / "fixed").touch()
    code, out, _ = cli(capsys, "run", str(plan), "--resume")
    assert code == 0
    assert "resuming run " in out
    assert "1 already done" in out
    data = report(capsys, tmp_path)
    assert data["run_id"] == first
    assert data["status"] == "succeeded"
    assert sorted((tmp_path / "ran.txt").read_text().split()) == ["a", "b", "b", "c"]
    assert tasks_of(data)["b"]["attempts"] == 2


def test_resume_numbers_attempts_past_a_log_the_history_missed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A waveplan killed between starting an attempt and recording it leaves only the
    attempt's log; the resumed run's attempt takes the next number instead of appending to
    that log."""
    plan = write_plan(
        tmp_path,
        "tasks:\n  - {id: v1.b, run: 'echo $WAVEPLAN_ATTEMPT >> ran.txt; test -f fixed'}\n",
    )
    assert cli(capsys, "run", str(plan), "-q")[0] == 1
    run_id = report(capsys, tmp_path)["run_id"]
    logs = tmp_path / ".waveplan" / "runs" / run_id
    (logs / "v1.b.2.log").write_text("the unrecorded attempt\n")
    (logs / "notes.txt").write_text("not a log\n")
    (tmp_path / "fixed").touch()
    assert cli(capsys, "run", str(plan), "-q", "--resume")[0] == 0
    assert (tmp_path / "ran.txt").read_text().split() == ["1", "3"]
    assert (logs / "v1.b.2.log").read_text() == "the unrecorded attempt\n"
    assert (logs / "v1.b.3.log").exists()
    with History.for_root(tmp_path) as history:
        assert [a.attempt for a in history.attempts(task="v1.b")] == [1, 3]


TARGETS_PLAN = (
    "tasks:\n"
    "  - {id: setup, run: 'echo setup >> ran.txt'}\n"
    "  - {id: api, run: 'echo api >> ran.txt', depends: [setup]}\n"
    "  - {id: ui, run: 'echo ui >> ran.txt; test -f fixed', depends: [setup]}\n"
    "  - {id: docs, run: 'echo docs >> ran.txt', depends: [api, ui]}\n"
)


def test_run_with_tasks_runs_them_and_what_they_depend_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``run PLAN api`` runs setup and api only; the run records just those two."""
    plan = write_plan(tmp_path, TARGETS_PLAN)
    assert cli(capsys, "run", str(plan), "-q", "api")[0] == 0
    assert (tmp_path / "ran.txt").read_text().split() == ["setup", "api"]
    data = report(capsys, tmp_path)
    assert data["status"] == "succeeded"
    assert sorted(tasks_of(data)) == ["api", "setup"]


def test_run_of_an_unknown_task_exits_two_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = write_plan(tmp_path, TARGETS_PLAN)
    code, _, err = cli(capsys, "run", str(plan), "apii")
    assert code == 2
    assert "has no task 'apii' (did you mean 'api'?)" in err
    assert not (tmp_path / ".waveplan").exists()
    assert not (tmp_path / "ran.txt").exists()


def test_resume_takes_no_tasks_and_continues_a_partial_run_with_the_whole_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run of some tasks that failed is resumed with every task of the plan; what it
    already did is not run again. --resume with TASK arguments is refused."""
    plan = write_plan(tmp_path, TARGETS_PLAN)
    assert cli(capsys, "run", str(plan), "-q", "ui")[0] == 1
    assert (tmp_path / "ran.txt").read_text().split() == ["setup", "ui"]
    code, _, err = cli(capsys, "run", str(plan), "-q", "--resume", "ui")
    assert code == 2
    assert "--resume takes no TASK arguments" in err
    (tmp_path / "fixed").touch()
    assert cli(capsys, "run", str(plan), "-q", "--resume")[0] == 0
    assert sorted((tmp_path / "ran.txt").read_text().split()[2:]) == ["api", "docs", "ui"]
    data = report(capsys, tmp_path)
    assert data["status"] == "succeeded"
    assert sorted(tasks_of(data)) == ["api", "docs", "setup", "ui"]


def test_resume_reruns_a_succeeded_task_whose_command_changed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A succeeded task whose definition changed is run again on --resume."""
    text = (
        "tasks:\n  - {id: a, run: 'echo one >> a.txt'}\n  - {id: b, run: 'exit 1', depends: [a]}\n"
    )
    plan = write_plan(tmp_path, text)
    assert cli(capsys, "run", str(plan), "-q")[0] == 1
    write_plan(tmp_path, text.replace("echo one", "echo two").replace("exit 1", "true"))
    assert cli(capsys, "run", str(plan), "-q", "--resume")[0] == 0
    assert (tmp_path / "a.txt").read_text() == "one\ntwo\n"


def test_dry_run_measured_makespan_is_the_planned_practical_makespan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--dry-run runs nothing, its measured makespan is the practical makespan that
    ``waveplan plan`` predicts for the same workers, and its report's figures are the plan's."""
    text = (
        "workers: 2\ntasks:\n"
        "  - {id: t1, run: 'touch ran', duration: 3, files: [src/core.py]}\n"
        "  - {id: t2, run: 'touch ran', duration: 2, depends: [t1], files: [src/ui.py]}\n"
        "  - {id: t3, run: 'touch ran', duration: 4, depends: [t1], files: [src/ui.py]}\n"
        "  - {id: t4, run: 'touch ran', duration: 1, depends: [t1]}\n"
        "  - {id: t5, run: 'touch ran', duration: 2.3, state: [db.users]}\n"
        "  - {id: t6, run: 'touch ran', duration: 1.7, state: [db], depends: [t4]}\n"
        "  - {id: t7, duration: 1, depends: [t2, t3, t5, t6]}\n"
    )
    plan = write_plan(tmp_path, text)
    code, out, _ = cli(capsys, "plan", str(plan), "--format", "json")
    assert code == 0
    planned = json.loads(out)["makespan"]
    code, out, _ = cli(capsys, "run", str(plan), "--dry-run")
    assert code == 0
    assert "dry run" in out
    assert "Logs:" not in out
    assert not (tmp_path / "ran").exists()
    data = report(capsys, tmp_path)
    assert data["dry_run"] is True
    assert data["makespan"]["measured"] == pytest.approx(planned["practical"], abs=1e-4)
    assert data["planned"]["practical"] == pytest.approx(planned["practical"])
    # the tasks took what they were planned to: the figures are the plan's, exactly (they
    # were replanned from durations off by the clock's rounding, and could move)
    for figure in ("sequential", "theoretical", "practical"):
        assert data["makespan"][figure] == planned[figure]
    assert data["efficiency"] == pytest.approx(
        (1 - planned["practical"] / planned["sequential"])
        / (1 - planned["theoretical"] / planned["sequential"]),
        abs=1e-4,
    )
    assert not (tmp_path / ".waveplan" / "runs").exists()


def test_a_dry_run_reports_the_plan_s_own_figures(tmp_path: Path) -> None:
    """A dry run's tasks take what they were planned to, but recorded through the clock they
    come back a few tenths of a microsecond off (4.299999952 for 4.3): the report replanned
    from those and could move; it reports the plan's figures (and plans once, not twice)."""
    plan = write_plan(
        tmp_path,
        "workers: 2\ntasks:\n"
        "  - {id: t1, run: 'true', duration: 0.3}\n"
        "  - {id: t2, run: 'true', duration: 2.3, depends: [t1]}\n"
        "  - {id: t3, run: 'true', duration: 1.7}\n",
    )
    waveplan = [sys.executable, "-m", "waveplan"]
    subprocess.run([*waveplan, "run", str(plan), "--dry-run", "-q"], check=True, cwd=tmp_path)
    out = subprocess.run(
        [*waveplan, "report", "--format", "json"],
        check=True,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    ).stdout
    figures = json.loads(out)["makespan"]
    assert (figures["sequential"], figures["theoretical"]) == (0.3 + 2.3 + 1.7, 0.3 + 2.3)


def test_report_json_has_the_documented_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The JSON report has run_id, status, tasks with their fields, the four makespans and
    efficiency, with values matching the history."""
    plan = write_plan(tmp_path, SMALL)
    assert cli(capsys, "run", str(plan), "-q")[0] == 0
    data = report(capsys, tmp_path)
    assert {"run_id", "status", "tasks", "makespan", "efficiency"} <= set(data)
    assert set(data["makespan"]) >= {"sequential", "theoretical", "practical", "measured"}
    assert data["status"] == "succeeded"
    for task in data["tasks"]:
        assert {"id", "status", "attempts", "start", "end", "exit_code"} <= set(task)
    tasks = tasks_of(data)
    assert list(tasks) == ["a", "b", "c", "d"]
    assert tasks["a"]["exit_code"] == 0
    assert tasks["a"]["attempts"] == 1
    assert 0 <= tasks["a"]["start"] <= tasks["a"]["end"] <= tasks["b"]["start"]
    # b and c write the same file: one after the other
    b, c = tasks["b"], tasks["c"]
    assert b["end"] <= c["start"] + 0.01 or c["end"] <= b["start"] + 0.01
    assert data["makespan"]["measured"] >= max(t["end"] for t in data["tasks"]) - 0.1
    with History.for_root(tmp_path) as history:
        info = history.run_info(data["run_id"])
    assert info.status is RunStatus.SUCCEEDED
    assert data["makespan"]["measured"] == pytest.approx(info.wall)


def test_report_of_a_named_run_and_of_an_unknown_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """report RUN_ID shows that run; an unknown id exits 2 naming the known ones."""
    plan = write_plan(tmp_path, SMALL)
    cli(capsys, "run", str(plan), "-q")
    first = report(capsys, tmp_path)["run_id"]
    cli(capsys, "run", str(plan), "-q", "--dry-run")
    assert report(capsys, tmp_path)["run_id"] != first
    assert report(capsys, tmp_path, first)["run_id"] == first
    code, _, err = cli(capsys, "report", "nope", "--root", str(tmp_path))
    assert code == 2
    assert "no run 'nope'" in err
    assert first in err


def test_report_text_shows_the_speedup_and_the_tasks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The text report names the run, shows the speedup table and one row per task."""
    plan = write_plan(tmp_path, SMALL)
    cli(capsys, "run", str(plan), "-q")
    code, out, _ = cli(capsys, "report", "--root", str(tmp_path))
    assert code == 0
    run_id = report(capsys, tmp_path)["run_id"]
    assert f"Run {run_id}  succeeded" in out
    for row in ("Pure sequential", "Theoretical parallel", "Practical parallel", "Measured"):
        assert row in out
    assert "Tasks" in out
    for task in "abcd":
        assert f"\n  {task} " in out


def test_report_and_history_without_a_history_exit_two(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Reading a folder that never ran a plan is a usage error with a hint."""
    for command in ("report", "history"):
        code, _, err = cli(capsys, command, "--root", str(tmp_path))
        assert code == 2
        assert "no history in" in err


def test_history_lists_runs_and_attempts_of_a_task(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """history lists each run with its counts; history --task lists one task's attempts."""
    plan = write_plan(tmp_path, SMALL)
    cli(capsys, "run", str(plan), "-q")
    cli(capsys, "run", str(plan), "-q", "--dry-run")
    code, out, _ = cli(capsys, "history", "--root", str(tmp_path))
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2
    assert "(dry run)" in lines[0]
    assert "4/4 succeeded, 0 failed" in lines[1]
    assert str(plan) in lines[1]
    code, out, _ = cli(capsys, "history", "--root", str(tmp_path), "--task", "a")
    assert code == 0
    rows = out.splitlines()
    assert len(rows) == 2
    assert all("attempt 1  succeeded" in row and "exit 0" in row for row in rows)
    code, out, _ = cli(capsys, "history", "--root", str(tmp_path), "--task", "a", "-n", "1")
    assert out.splitlines() == rows[-1:]  # the latest attempt only
    code, _, err = cli(capsys, "history", "--root", str(tmp_path), "--task", "zz")
    assert code == 2
    assert "no attempts of task 'zz'" in err


def test_history_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """history --format json lists the runs (newest first) and --task the attempts, with the
    same facts as the text."""
    plan = write_plan(tmp_path, SMALL)
    cli(capsys, "run", str(plan), "-q")
    cli(capsys, "run", str(plan), "-q", "--dry-run")
    code, out, _ = cli(capsys, "history", "--root", str(tmp_path), "--format", "json")
    assert code == 0
    runs = json.loads(out)
    assert [r["dry_run"] for r in runs] == [True, False]
    real = runs[1]
    assert real["status"] == "succeeded"
    assert (real["tasks"], real["succeeded"], real["failed"]) == (4, 4, 0)
    assert real["plan_file"] == str(plan)
    assert real["ended"] >= real["started"]
    assert report(capsys, tmp_path, runs[1]["run_id"])["run_id"] == real["run_id"]
    code, out, _ = cli(
        capsys, "history", "--root", str(tmp_path), "--task", "a", "--format", "json"
    )
    assert code == 0
    attempts = json.loads(out)
    assert len(attempts) == 2
    for attempt in attempts:
        assert attempt["task"] == "a" and attempt["attempt"] == 1
        assert attempt["status"] == "succeeded" and attempt["exit_code"] == 0
        assert attempt["duration"] == pytest.approx(attempt["end"] - attempt["start"])
        assert attempt["session"] == 1
    assert {a["run_id"] for a in attempts} == {r["run_id"] for r in runs}


def learnt_durations(path: Path) -> Plan:
    """The plan in ``path`` with the durations its root's history teaches."""
    plan = load_plan(path)
    return learn.learnt_from_history(plan).with_durations(plan)


def test_history_gives_durations_to_tasks_without_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A task without ``duration`` gets the median of its successful attempts; a declared
    duration is kept, and dry runs teach nothing."""
    plan = write_plan(
        tmp_path,
        "tasks:\n  - {id: slow, run: 'sleep 0.3'}\n  - {id: fixed, run: 'true', duration: 7}\n",
    )
    cli(capsys, "run", str(plan), "-q", "--dry-run")
    learnt = learnt_durations(plan)
    assert learnt.task("slow").duration_source is DurationSource.DEFAULT
    cli(capsys, "run", str(plan), "-q")
    learnt = learnt_durations(plan)
    assert learnt.task("slow").duration_source is DurationSource.HISTORY
    assert 0.3 <= learnt.task("slow").duration < 1.0
    assert learnt.task("fixed").duration == 7


def test_plan_uses_and_marks_durations_from_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``plan`` learns durations as ``run`` does, and says where they come from: the JSON
    lists the tasks whose duration is not declared by source, the text view in a line."""
    plan = write_plan(
        tmp_path,
        "tasks:\n  - {id: slow, run: 'sleep 0.3'}\n  - {id: fixed, run: 'true', duration: 7}\n"
        "  - {id: new, depends: [slow]}\n",
    )
    code, out, _ = cli(capsys, "plan", str(plan), "--format", "json")
    assert code == 0
    assert json.loads(out)["duration_sources"] == {"default": ["new", "slow"]}
    assert cli(capsys, "run", str(plan), "-q")[0] == 0
    code, out, _ = cli(capsys, "plan", str(plan), "--format", "json")
    data = json.loads(out)
    # (``new`` is a checkpoint: its instant attempt measured nothing, it keeps the default)
    assert data["duration_sources"] == {"default": ["new"], "history": ["slow"]}
    assert 8.3 <= data["makespan"]["sequential"] < 9.0
    code, out, _ = cli(capsys, "plan", str(plan))
    assert "Durations: slow from history (measured in earlier runs); new without an " in out


def test_a_changed_command_is_not_timed_by_its_old_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Learnt durations count only attempts that ran the task's current command: after the
    command changes the task is back to no estimate, until a run of the new command."""
    plan = write_plan(tmp_path, "tasks:\n  - {id: a, run: 'sleep 0.3'}\n")
    assert cli(capsys, "run", str(plan), "-q")[0] == 0
    assert learnt_durations(plan).task("a").duration >= 0.3
    write_plan(tmp_path, "tasks:\n  - {id: a, run: 'sleep 0.01'}\n")
    learnt = learnt_durations(plan).task("a")
    assert learnt.duration_source is DurationSource.DEFAULT
    assert cli(capsys, "run", str(plan), "-q")[0] == 0
    learnt = learnt_durations(plan).task("a")
    assert learnt.duration_source is DurationSource.HISTORY
    assert learnt.duration < 0.3


def test_learning_opens_the_history_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``plan --learn`` and ``run --learn`` read durations and observed files in one opening
    of the history (each was read in an opening of its own)."""
    plan = write_plan(tmp_path, "tasks:\n  - {id: a, run: 'true'}\n")
    assert cli(capsys, "run", str(plan), "-q")[0] == 0
    opened: list[Path] = []

    class Counted(History):
        def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
            opened.append(Path(path))
            super().__init__(path, read_only=read_only)

    monkeypatch.setattr(learn, "History", Counted)
    code, out, err = cli(capsys, "plan", str(plan), "--learn", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["duration_sources"] == {"history": ["a"]}
    assert opened == [tmp_path / ".waveplan" / "history.db"]
    assert cli(capsys, "run", str(plan), "-q", "--learn")[0] == 0
    assert len(opened) == 2


def test_learn_with_an_unusable_history_warns_then_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``plan --learn`` with a history it cannot read warns that durations are not learnt,
    then refuses: the observed files it was asked for are in that history."""
    plan = write_plan(tmp_path, "tasks:\n  - {id: a, run: 'true'}\n")
    (tmp_path / ".waveplan").mkdir()
    with sqlite3.connect(tmp_path / ".waveplan" / "history.db") as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    code, out, err = cli(capsys, "plan", str(plan), "--learn")
    assert code == 2 and out == ""
    assert "durations are not learnt from it" in err
    assert err.count("written by a newer waveplan") == 2


def test_plan_without_a_usable_history_warns_and_plans(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A history ``plan`` cannot read (here: written by a newer waveplan) costs the learnt
    durations and a warning, not the plan; ``run``, which must record, refuses."""
    plan = write_plan(tmp_path, "tasks:\n  - {id: a, run: 'true'}\n")
    (tmp_path / ".waveplan").mkdir()
    with sqlite3.connect(tmp_path / ".waveplan" / "history.db") as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    code, out, err = cli(capsys, "plan", str(plan), "--format", "json")
    assert code == 0
    assert json.loads(out)["duration_sources"] == {"default": ["a"]}
    assert "warning:" in err and "written by a newer waveplan" in err
    assert "durations are not learnt from it" in err
    code, _, err = cli(capsys, "run", str(plan), "-q")
    assert code == 2 and "written by a newer waveplan" in err


def test_no_attempt_ends_before_it_started(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The recorded start of an attempt is read before the executor starts it, so even a
    checkpoint (which ends the instant it starts) never shows a negative duration."""
    tasks = "".join(
        f"  - {{id: c{i}, depends: [t{i}]}}\n  - {{id: t{i}, run: 'true'}}\n" for i in range(20)
    )
    plan = write_plan(tmp_path, "tasks:\n" + tasks)
    assert cli(capsys, "run", str(plan), "-q")[0] == 0
    data = report(capsys, tmp_path)
    assert len(data["tasks"]) == 40
    for task in data["tasks"]:
        assert task["end"] >= task["start"], task


def test_a_run_outlives_the_reader_of_its_output(tmp_path: Path) -> None:
    """``waveplan run ... | head -1``: when the reader of the progress lines goes away, the
    run goes on, records every task and exits with the run's own code; nothing is printed
    about the closed pipe."""
    tasks = "".join(f"  - {{id: t{i}, run: 'sleep 0.05'}}\n" for i in range(8))
    write_plan(tmp_path, "workers: 2\ntasks:\n" + tasks)
    process = spawn("run", "plan.yaml", cwd=tmp_path)
    assert process.stdout is not None and process.stderr is not None
    assert "running run" in process.stdout.readline()
    process.stdout.close()  # the reader goes away after the first line
    assert process.wait(timeout=60) == 0
    assert process.stderr.read() == ""
    process.stderr.close()
    with History.for_root(tmp_path) as history:
        (summary,) = history.summaries()
        assert summary.status is RunStatus.SUCCEEDED
        assert summary.succeeded == 8


def test_an_attempt_ends_when_its_process_ended_while_the_history_was_locked(
    tmp_path: Path,
) -> None:
    """Another program holding the history's write lock (an sqlite3 shell in a transaction)
    kept the runner's write of one task's end waiting, and another task that ended meanwhile
    was recorded as ending only when the lock was released: a ``sleep 14`` measured 34.5 s.
    Its end is when its process ended."""
    write_plan(
        tmp_path,
        "workers: 2\n"
        "tasks:\n"
        "  - {id: first, run: 'until [ -e first.go ]; do sleep 0.02; done'}\n"
        "  - id: second\n"
        "    run: date +%s.%N > second.start; until [ -e second.go ]; do sleep 0.02; done;"
        " date +%s.%N > second.end\n",
    )
    process = spawn("run", "plan.yaml", "-q", cwd=tmp_path)
    shell = None
    try:
        started = float(wait_for(tmp_path / "second.start", process))
        shell = sqlite3.connect(state_dir(tmp_path) / "history.db", isolation_level=None)
        shell.execute("BEGIN IMMEDIATE")  # (after the run recorded both starts)
        (tmp_path / "first.go").touch()  # the runner's record of its end waits for the lock
        time.sleep(0.5)
        (tmp_path / "second.go").touch()
        ended = float(wait_for(tmp_path / "second.end", process))
        time.sleep(3.0)
        shell.execute("COMMIT")
        assert process.wait(timeout=60) == 0, process.communicate()
    finally:
        if shell is not None:
            shell.close()
        if process.poll() is None:
            process.kill()
        process.communicate()
    with History.for_root(tmp_path) as history:
        (attempt,) = history.attempts(task="second")
    assert attempt.end is not None
    assert attempt.start <= started
    assert ended <= attempt.end < ended + 1.0


def test_barrier_option_runs_wave_by_wave(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --barrier the second wave starts only after the whole first wave ended."""
    plan = write_plan(
        tmp_path,
        "workers: 2\ntasks:\n  - {id: a, run: 'true', duration: 1}\n"
        "  - {id: slow, run: 'sleep 0.6', duration: 3}\n"
        "  - {id: b, run: 'true', depends: [a], duration: 1}\n",
    )
    assert cli(capsys, "run", str(plan), "-q", "--barrier")[0] == 0
    tasks = tasks_of(report(capsys, tmp_path))
    assert tasks["b"]["start"] >= tasks["slow"]["end"]
    assert cli(capsys, "run", str(plan), "-q")[0] == 0
    tasks = tasks_of(report(capsys, tmp_path))
    assert tasks["b"]["start"] < tasks["slow"]["end"]


def test_toml_plan_runs_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A TOML task file runs and its report can be read back."""
    plan = write_plan(tmp_path, '[[tasks]]\nid = "a"\nrun = "true"\n', name="plan.toml")
    code, out, err = cli(capsys, "run", str(plan))
    assert code == 0, err
    assert "Speedup" in out
    assert report(capsys, tmp_path)["status"] == "succeeded"


# --- real processes: exit codes, the run lock and signals ----------------------------------


def test_process_exit_codes(tmp_path: Path) -> None:
    """python -m waveplan run exits 0 on success, 1 on a task failure, 2 on bad input."""
    good = write_plan(tmp_path / "good", "tasks:\n  - {id: a, run: 'true'}\n")
    bad = write_plan(tmp_path / "bad", "tasks:\n  - {id: a, run: 'false'}\n")
    invalid = write_plan(tmp_path / "invalid", "tasks:\n  - {id: a, dependz: []}\n")
    assert waveplan("run", str(good), "-q", cwd=tmp_path).returncode == 0
    assert waveplan("run", str(bad), "-q", cwd=tmp_path).returncode == 1
    result = waveplan("run", str(invalid), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("ERROR: ")
    assert "Traceback" not in result.stderr


LONG = (
    "tasks:\n  - {id: long, run: 'echo $$ > long.pid; sleep 60'}\n"
    "  - {id: next, run: 'true', depends: [long]}\n"
)


def test_second_run_on_the_same_root_is_refused(tmp_path: Path) -> None:
    """While one waveplan runs a plan root, a second run there exits 2 with a clear message
    naming the holder, the history can still be read, and the first is not disturbed."""
    plan = write_plan(tmp_path, LONG)
    other = write_plan(tmp_path, "tasks:\n  - {id: x, run: 'touch x.ran'}\n", name="other.yaml")
    first = spawn("run", str(plan), "-q", cwd=tmp_path)
    try:
        wait_for(tmp_path / "long.pid", first)
        second = waveplan("run", str(other), cwd=tmp_path)
        assert second.returncode == 2
        assert "another waveplan run is using" in second.stderr
        assert f"pid {first.pid}" in second.stderr
        assert not (tmp_path / "x.ran").exists()
        # Reading the history while the run writes it is fine.
        listing = waveplan("history", cwd=tmp_path)
        assert listing.returncode == 0
        assert " running " in listing.stdout
        assert first.poll() is None
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=30)
    assert first.returncode == 130


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signal_interrupts_the_run_and_stops_its_processes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sig: signal.Signals
) -> None:
    """Ctrl-C, SIGTERM or a hang-up to waveplan terminates the running task's whole group, starts
    nothing more, records the run as interrupted and exits 130."""
    plan = write_plan(
        tmp_path,
        "tasks:\n  - {id: long, run: 'sleep 60 & echo $! > child.pid; echo $$ > long.pid;"
        " wait'}\n  - {id: next, run: 'touch next.ran', depends: [long]}\n",
    )
    process = spawn("run", str(plan), cwd=tmp_path)
    try:
        pid = int(wait_for(tmp_path / "long.pid", process))
        child = int(wait_for(tmp_path / "child.pid", process))
        process.send_signal(sig)
        out, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130
    assert gone_within(pid, 5)
    assert gone_within(child, 5)
    assert not (tmp_path / "next.ran").exists()
    assert "interrupted" in out
    data = report(capsys, tmp_path)
    assert data["status"] == "interrupted"
    tasks = tasks_of(data)
    assert tasks["long"]["status"] == "interrupted"
    assert tasks["next"]["status"] == "skipped"
    assert processes_of_run(data["run_id"]) == []
    with History.for_root(tmp_path) as history:
        (summary,) = history.summaries()
        (attempt,) = history.attempts(run_id=data["run_id"])
    assert summary.status is RunStatus.INTERRUPTED
    assert attempt.status is AttemptStatus.INTERRUPTED


def test_a_second_ctrl_c_kills_what_ignores_the_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A task that ignores SIGTERM gets 5 s before SIGKILL after a Ctrl-C; a second Ctrl-C
    kills it at once (it had to be waited out)."""
    plan = write_plan(
        tmp_path,
        'tasks:\n  - {id: stubborn, run: \'trap "" TERM; echo $$ > pid; while :; do sleep 0.1;'
        " done'}\n",
    )
    process = spawn("run", str(plan), cwd=tmp_path)
    try:
        pid = int(wait_for(tmp_path / "pid", process))
        process.send_signal(signal.SIGINT)
        time.sleep(0.5)
        assert process.poll() is None  # waiting out the grace period
        began = time.monotonic()
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
        took = time.monotonic() - began
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130
    assert gone_within(pid, 1)
    assert took < 3.0, took  # not the 4.5 s left of the grace period
    assert tasks_of(report(capsys, tmp_path))["stubborn"]["status"] == "interrupted"


def test_a_hang_up_on_a_terminal_records_the_run_as_interrupted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """On a terminal (the live display), closing the terminal and hanging up stops the run
    cleanly: its display fails on the lost terminal without taking the run's record or exit
    code with it."""
    plan = write_plan(tmp_path, "tasks:\n  - {id: long, run: 'echo $$ > long.pid; sleep 60'}\n")
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "waveplan", "run", str(plan)],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        env={**os.environ, "COLUMNS": "80"},
    )
    os.close(follower)
    try:
        pid = int(wait_for(tmp_path / "long.pid"))
        os.close(leader)  # the terminal goes away...
        process.send_signal(signal.SIGHUP)  # ...and says so
        assert process.wait(timeout=30) == 130
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert gone_within(pid, 5)
    data = report(capsys, tmp_path)
    assert data["status"] == "interrupted"
    assert tasks_of(data)["long"]["status"] == "interrupted"


def test_the_live_display_moves_between_events(tmp_path: Path) -> None:
    """On a terminal, a running task's elapsed time grows and the ETA counts down while no
    event happens (each redraw renders the display again)."""
    plan = write_plan(
        tmp_path,
        "tasks:\n"
        "  - {id: quick, run: sleep 0.5, duration: 1}\n"
        "  - {id: slow, run: sleep 3, duration: 6, depends: [quick]}\n",
    )
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "waveplan", "run", str(plan)],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        env={**os.environ, "COLUMNS": "80"},
    )
    os.close(follower)
    output = b""
    try:
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other side is closed
                break
            if not chunk:
                break
            output += chunk
        assert process.wait(timeout=30) == 0
    finally:
        os.close(leader)
        if process.poll() is None:
            process.kill()
            process.wait()
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output.decode(errors="replace"))
    lines = text.replace("\r", "\n").splitlines()
    elapsed = {float(m[1]) for line in lines if (m := re.match(r"slow +([0-9.]+)s", line))}
    etas = {m[1] for line in lines if (m := re.search(r"ETA (\S+)", line))}
    assert len(elapsed) >= 5, elapsed
    assert max(elapsed) >= 2
    # estimated as quick ends (5 planned units left at its pace: about 3s), then 2s, 1s...
    assert len(etas) >= 3, etas


def test_interrupted_run_can_be_resumed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A run stopped with SIGINT resumes to success, running only what did not succeed."""
    plan = write_plan(
        tmp_path,
        "tasks:\n  - {id: first, run: 'echo first >> ran.txt'}\n"
        "  - {id: long, run: 'echo $$ > long.pid; test -f go || sleep 60', depends: [first]}\n"
        "  - {id: last, run: 'echo last >> ran.txt', depends: [long]}\n",
    )
    process = spawn("run", str(plan), "-q", cwd=tmp_path)
    wait_for(tmp_path / "long.pid", process)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=30)
    assert process.returncode == 130
    (tmp_path / "go").touch()
    result = waveplan("run", str(plan), "-q", "--resume", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "ran.txt").read_text() == "first\nlast\n"
    tasks = tasks_of(report(capsys, tmp_path))
    assert {t: v["status"] for t, v in tasks.items()} == dict.fromkeys(
        ("first", "last", "long"), TaskStatus.SUCCEEDED.value
    )
    assert tasks["first"]["attempts"] == 1
    assert tasks["long"]["attempts"] == 2


def test_a_dry_run_never_resumes_a_real_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--resume --dry-run` after a failed real run does not record fake successes into it
    (which made `history` say succeeded, taught `plan` fake durations and refused the real
    `--resume`): it resumes only a dry run."""
    plan = write_plan(
        tmp_path,
        "tasks:\n  - {id: build, run: 'test -f fixed'}\n"
        "  - {id: deploy, run: 'touch deployed', depends: [build]}\n",
    )
    assert cli(capsys, "run", str(plan), "-q")[0] == 1
    real = report(capsys, tmp_path)["run_id"]
    code, _, err = cli(capsys, "run", str(plan), "-q", "--resume", "--dry-run")
    assert code == 2
    assert "no earlier dry run of this plan to resume" in err
    assert report(capsys, tmp_path, real)["status"] == "failed"
    assert cli(capsys, "run", str(plan), "-q", "--dry-run")[0] == 0
    code, _, err = cli(capsys, "run", str(plan), "-q", "--resume", "--dry-run")
    assert (code, "succeeded; there is nothing to resume" in err) == (2, True)
    (tmp_path / "fixed").touch()
    assert cli(capsys, "run", str(plan), "-q", "--resume")[0] == 0
    data = report(capsys, tmp_path, real)
    assert data["status"] == "succeeded"
    assert (tmp_path / "deployed").exists()


def test_resume_finds_the_plan_however_its_path_is_spelled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run started as `plan.yaml` is resumed from a subfolder as `../plan.yaml` and through
    a symbolic link."""
    plan = write_plan(tmp_path, "tasks:\n  - {id: a, run: 'test -f fixed'}\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.yaml").symlink_to(plan)
    monkeypatch.chdir(tmp_path)
    assert cli(capsys, "run", "plan.yaml", "-q")[0] == 1
    first = report(capsys, tmp_path)["run_id"]
    monkeypatch.chdir(tmp_path / "sub")
    assert cli(capsys, "run", "../link.yaml", "-q", "--resume")[0] == 1
    (tmp_path / "fixed").touch()
    assert cli(capsys, "run", "../plan.yaml", "-q", "--resume")[0] == 0
    data = report(capsys, tmp_path)
    assert (data["run_id"], data["status"]) == (first, "succeeded")
    assert tasks_of(data)["a"]["attempts"] == 3


def test_the_report_plans_as_plan_and_run_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The report's planned schedule is the one `plan` reports and `run` follows (it was the
    bare critical-path rule: planned 7290.5 against plan's 7200.5, b planned first while the
    run started a first), so a dry run measures exactly the planned practical makespan."""
    plan = write_plan(
        tmp_path,
        "workers: 2\ntasks:\n"
        "  - {id: a, duration: 1800, files: [src/x.py]}\n"
        "  - {id: b, duration: 5400, files: [src/x.py]}\n"
        "  - {id: c, duration: 90, depends: [a]}\n"
        "  - {id: d, duration: 1, depends: [a]}\n"
        "  - {id: e, duration: 0.5, depends: [b, c]}\n",
    )
    _, out, _ = cli(capsys, "plan", str(plan), "--format", "json")
    planned = json.loads(out)
    assert cli(capsys, "run", str(plan), "-q", "--dry-run")[0] == 0
    data = report(capsys, tmp_path)
    assert data["makespan"]["practical"] == planned["makespan"]["practical"] == 7200.5
    assert data["makespan"]["measured"] == pytest.approx(7200.5)
    starts = {s["id"]: s["start"] for s in planned["schedule"]}
    assert {t["id"]: t["planned_start"] for t in data["tasks"]} == starts


def test_a_checkpoint_learns_no_duration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A task without a command measures nothing: after a run it still counts as the default
    (it learnt ~0 s, which also made an untimed plan timed)."""
    plan = write_plan(
        tmp_path,
        "tasks:\n  - {id: a, duration: 3, run: 'true'}\n  - {id: gate, depends: [a]}\n",
    )
    assert cli(capsys, "run", str(plan), "-q")[0] == 0
    _, out, _ = cli(capsys, "plan", str(plan), "--format", "json")
    data = json.loads(out)
    assert data["duration_sources"] == {"default": ["gate"]}
    assert data["time_unit"] is None
    assert data["makespan"]["sequential"] == 4.0


def test_the_report_of_a_timed_plan_writes_times_with_units(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A timed plan's estimates and the measured times are both seconds: the report writes
    both as durations (its planned column read 256 beside a measured 0.3), says so in JSON,
    and the HTML page draws the planned schedule unscaled."""
    plan = write_plan(
        tmp_path,
        "workers: 2\ntasks:\n  - {id: a, duration: 2m, files: [x], run: 'true'}\n"
        "  - {id: b, duration: 1m 30s, files: [x], run: 'true'}\n",
    )
    assert cli(capsys, "run", str(plan), "-q", "--dry-run")[0] == 0
    code, out, _ = cli(capsys, "report", "--root", str(tmp_path))
    assert code == 0
    assert "Pure sequential         3m 30s     3m 30s" in out
    assert "Measured (s)" not in out
    assert report(capsys, tmp_path)["time_unit"] == "s"
    code, out, _ = cli(capsys, "report", "--root", str(tmp_path), "--format", "html")
    assert "scaled" not in out
    assert ">3m 30s<" in out


def test_resume_runs_a_task_the_plan_no_longer_marks_done(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """a was recorded "done in the source"; unmarked, `--resume` runs it (it stayed succeeded
    and never ran, so b failed again)."""
    plan = write_plan(
        tmp_path,
        "tasks:\n  - {id: a, run: 'touch a.out', done: true}\n"
        "  - {id: b, depends: [a], run: 'test -f a.out'}\n",
    )
    assert cli(capsys, "run", str(plan), "-q")[0] == 1
    plan.write_text(plan.read_text().replace("done: true", "done: false"))
    assert cli(capsys, "run", str(plan), "-q", "--resume")[0] == 0
    assert (tmp_path / "a.out").exists()


def test_resume_passes_over_a_partial_run_that_succeeded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A full run failed, then `run plan a` succeeded: `--resume` continues the full run (it
    said the last run succeeded, nothing to resume); after it succeeds, nothing is left."""
    plan = write_plan(
        tmp_path,
        "tasks:\n  - {id: a, run: 'true'}\n  - {id: b, run: 'test -f ok'}\n"
        "  - {id: c, depends: [b], run: 'true'}\n",
    )
    assert cli(capsys, "run", str(plan), "-q")[0] == 1
    full = report(capsys, tmp_path)["run_id"]
    assert cli(capsys, "run", str(plan), "-q", "a")[0] == 0
    (tmp_path / "ok").touch()
    assert cli(capsys, "run", str(plan), "-q", "--resume")[0] == 0
    data = report(capsys, tmp_path, full)
    assert data["status"] == "succeeded"
    code, _, err = cli(capsys, "run", str(plan), "-q", "--resume")
    assert code == 2
    assert "succeeded; there is nothing to resume" in err


def test_a_folder_name_that_is_not_utf8_is_refused_before_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The history stores paths as text: a plan in a folder named in another encoding is one
    error line and exit 2 (it was a traceback with the run left "running")."""
    folder = Path(os.fsdecode(bytes(tmp_path) + b"/bad\xffdir"))
    plan = write_plan(folder, "tasks:\n  - {id: a, run: 'touch ran'}\n")
    code, _, err = cli(capsys, "run", str(plan), "-q")
    assert code == 2
    assert "records paths as UTF-8 text" in err
    assert not (folder / "ran").exists()


def test_a_run_of_checkpoints_says_so_and_gives_no_percentages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An imported plan's tasks have no command: the run warns that each is a checkpoint (and
    that --agent-cmd is unused), and its report gives no savings or efficiency (it said
    "9336% slower", its own overhead over a sum of nothing)."""
    plan = write_plan(tmp_path, "- Task 1: a\n- Task 2: b [depends: 1]\n", name="plan.md")
    code, _, err = cli(capsys, "run", str(plan), "-q", "--agent-cmd", "cat")
    assert code == 0
    assert "warning: no task has a command ('run:') or an agent prompt" in err
    assert "warning: --agent-cmd is not used: no task has an agent prompt" in err
    data = report(capsys, tmp_path)
    assert data["efficiency"] is None
    assert data["saving"] == {"theoretical": None, "practical": None, "measured": None}
    code, out, _ = cli(capsys, "report", "--root", str(tmp_path))
    assert "- (wall clock)" in out
    assert "slower" not in out


def test_a_dry_run_of_a_plan_with_done_tasks_measures_its_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Done tasks are not run, so the report plans them as taking no time: the dry run's
    measured makespan is the planned one (planned 16 against measured 2 before)."""
    plan = write_plan(
        tmp_path,
        "tasks:\n  - {id: a, duration: 14, done: true, run: 'true'}\n"
        "  - {id: b, duration: 2, depends: [a], run: 'true'}\n",
    )
    assert cli(capsys, "run", str(plan), "-q", "--dry-run")[0] == 0
    data = report(capsys, tmp_path)
    assert data["planned"]["practical"] == data["makespan"]["measured"] == 2.0


def test_a_task_done_in_the_plan_has_no_planned_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A task the plan marks done is not started, so the report gives it no planned start
    (it showed where the planned schedule put it, such as 1m, beside "done in the source")."""
    plan = write_plan(
        tmp_path,
        "tasks:\n  - {id: a, duration: 1m, run: 'true'}\n"
        "  - {id: b, duration: 1m, done: true, run: 'true'}\n"
        "  - {id: c, duration: 2m, depends: [b], run: 'true'}\n",
    )
    assert cli(capsys, "run", str(plan), "-q", "--dry-run", "--workers", "1")[0] == 0
    tasks = tasks_of(report(capsys, tmp_path))
    assert (tasks["b"]["planned_start"], tasks["b"]["planned_end"]) == (None, None)
    assert tasks["b"]["reason"] == "done in the source"
    assert (tasks["c"]["planned_start"], tasks["c"]["planned_end"]) == (0.0, 120.0)
    code, out, _ = cli(capsys, "report", "--root", str(tmp_path))
    assert code == 0
    (row,) = [line.split() for line in out.splitlines() if line.startswith("  b ")]
    assert row == ["b", "succeeded", "0", "-", "-", "-", "done", "in", "the", "source"]


def test_a_huge_worker_limit_makes_no_more_worker_slots_than_tasks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--workers 99999999999`` ran out of memory (the kernel killed waveplan at 24 GB): the
    executor made a name per worker slot. Two tasks need two slots; the limit is recorded as
    given."""
    made: list[int] = []
    real = session_module.local_executor

    def executor(workers: int, **kwargs: Any) -> Any:
        made.append(workers)
        assert workers <= 2, f"{workers:,} worker slots for 2 tasks"
        return real(workers, **kwargs)

    monkeypatch.setattr(session_module, "local_executor", executor)
    plan = write_plan(tmp_path, "tasks:\n  - {id: a, run: 'true'}\n  - {id: b, run: 'true'}\n")
    code, _, err = cli(capsys, "run", str(plan), "-q", "--workers", "99999999999")
    assert (code, err) == (0, "")
    assert made == [2]
    with History.for_root(tmp_path) as history:
        assert history.summaries()[0].run_id
    assert (
        '"workers": 99999999999'
        in cli(capsys, "report", "--root", str(tmp_path), "--format", "json")[1]
    )


def test_the_report_of_a_barrier_run_compares_it_with_the_waves_run_one_after_another(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run with --barrier was reported against the barrier-free schedule: a dry run (whose
    measured makespan is what was planned) measured 6 against a planned practical 4, and
    planned starts were those of the other schedule. Its practical figures are now the
    wave-by-wave ones, which plan reports as practical_waves, named so in the text."""
    text = (
        "tasks:\n"
        "  - {id: a, duration: 1}\n"
        "  - {id: b, duration: 3}\n"
        "  - {id: c, duration: 1, depends: [a]}\n"
        "  - {id: d, duration: 1, depends: [c]}\n"
        "  - {id: e, duration: 1, depends: [b, d]}\n"
    )
    plan = write_plan(tmp_path, text)
    planned = json.loads(cli(capsys, "plan", str(plan), "--format", "json")[1])["makespan"]
    assert (planned["practical"], planned["practical_waves"]) == (4.0, 6.0)
    assert cli(capsys, "run", str(plan), "--dry-run", "--barrier", "-q")[0] == 0
    data = report(capsys, tmp_path)
    assert data["barrier"] is True
    assert data["planned"]["practical"] == data["makespan"]["measured"] == 6.0
    starts = {t["id"]: (t["planned_start"], t["start"]) for t in data["tasks"]}
    assert starts == {"a": (0, 0), "b": (0, 0), "c": (3, 3), "d": (4, 4), "e": (5, 5)}
    out = cli(capsys, "report", "--root", str(tmp_path))[1]
    assert "Practical, wave by wave" in out and "Practical parallel" not in out
    page = cli(capsys, "report", "--root", str(tmp_path), "--format", "html")[1]
    assert "Practical, wave by wave" in page and "Practical parallel" not in page


def test_a_dry_run_of_a_plan_without_units_does_not_call_its_figures_seconds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A dry run's clock counts the plan's units (each task takes its estimate): the report
    headed them "Measured (s)", "Start (s)" and "Took (s)", so 3 story points read 3 s."""
    plan = write_plan(tmp_path, "tasks:\n  - {id: a, duration: 3}\n  - {id: b, duration: 2}\n")
    out = cli(capsys, "run", str(plan), "--dry-run", "--workers", "1")[1]
    assert "(s)" not in out
    assert re.search(r"Pure sequential +5 +5 ", out)
    assert re.search(r"Task +Status +Tries +Planned start +Start +Took +Notes", out)
    assert report(capsys, tmp_path)["time_unit"] is None
    page = cli(capsys, "report", "--root", str(tmp_path), "--format", "html")[1]
    assert "(s)" not in page
    assert "2 tasks \u00b7 1 worker \u00b7" in page  # (said "1 workers")
    plan.write_text("tasks:\n  - {id: a, run: 'true'}\n", encoding="utf-8")
    assert "Measured (s)" in cli(capsys, "run", str(plan))[1]  # (a real run: seconds)


def test_a_task_marked_done_after_one_that_is_not_is_not_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """b is marked done but depends on a, which is not: when a succeeded, b was made ready
    and its command ran (as Sisyphus and GSD plans with a checked step after an unchecked one
    did). A done task is never run; c, after it, still runs."""
    text = (
        "tasks:\n"
        "  - {id: a, run: 'true'}\n"
        "  - {id: b, run: 'echo ran > b.txt', done: true, depends: [a]}\n"
        "  - {id: c, run: 'echo ran > c.txt', depends: [b]}\n"
    )
    plan = write_plan(tmp_path, text)
    assert cli(capsys, "run", str(plan), "-q")[0] == 0
    assert not (tmp_path / "b.txt").exists()
    assert (tmp_path / "c.txt").exists()

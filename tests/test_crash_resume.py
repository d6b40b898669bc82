"""The kill -9 acceptance test: waveplan killed at random moments, then resumed, finishes
every task exactly once and never runs a task twice at once."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

from waveplan.cli import main
from waveplan.history import History
from waveplan.model import AttemptStatus, RunStatus, TaskStatus
from waveplan.run.procs import stop_processes

SEED = int(os.environ.get("WAVEPLAN_CRASH_SEED", "20261126"))  # override to explore
TASKS = 20
FILES = ("src/core.py", "src/ui.py", "docs/", "db")
KILLS = 6

TASK_SCRIPT = '''\
"""One attempt of a crash-test task: log start, sleep (or hold), log end; log killed on TERM."""
import fcntl
import os
import signal
import sys
import time

task = os.environ["WAVEPLAN_TASK"]
attempt = os.environ["WAVEPLAN_ATTEMPT"]
launch = os.environ["CRASH_LAUNCH"]


def log(kind):
    # SIGTERM is blocked while the shared file is locked, so the handler cannot deadlock.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    with open("events.log", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write(f"{kind} {task} {attempt} {os.getpid()} {launch} {time.time():.6f}\\n")
        handle.flush()
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


def on_term(_signum, _frame):
    log("killed")
    os._exit(143)


signal.signal(signal.SIGTERM, on_term)
# Held until this process dies, however it dies: another attempt of the same task running
# at the same time cannot take it.
mine = open(os.path.join("locks", task), "w")
try:
    fcntl.flock(mine, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    log("overlap")
    sys.exit(1)
log("start")
if sys.argv[1] == "hold":  # the sentinel: runs until the test releases it
    while not os.path.exists("release"):
        time.sleep(0.02)
else:
    time.sleep(float(sys.argv[1]))
log("end")
'''


@dataclass
class Span:
    """One attempt as its process logged it."""

    task: str
    attempt: int
    pid: int
    launch: int
    start: float
    end: float | None = None
    how: str | None = None


def make_plan(root: Path, rng: random.Random) -> dict[str, set[str]]:
    """Write the plan (seeded dependencies, file conflicts and durations); returns the
    files each task writes."""
    (root / "locks").mkdir(parents=True)
    script = root / "task.py"
    script.write_text(TASK_SCRIPT)
    # t00 runs until the test creates 'release': some task is always running when waveplan
    # is killed, and only the watchdog can end it before the next launch.
    lines = [
        "workers: 3",
        "tasks:",
        f"  - {{id: t00, run: {sys.executable} {script} hold, duration: 10}}",
    ]
    files: dict[str, set[str]] = {"t00": set()}
    for n in range(1, TASKS + 1):
        task = f"t{n:02}"
        deps = sorted(
            {f"t{rng.randint(1, n - 1):02}" for _ in range(rng.randint(0, 2))} if n > 1 else set()
        )
        writes = {FILES[rng.randrange(len(FILES))]} if rng.random() < 0.6 else set()
        files[task] = writes
        duration = round(rng.uniform(0.3, 0.6), 2)
        lines.append(
            f"  - id: {task}\n    run: {sys.executable} {script} {duration}\n"
            f"    duration: {duration}\n    depends: [{', '.join(deps)}]\n"
            f"    files: [{', '.join(sorted(writes))}]"
        )
    (root / "plan.yaml").write_text("\n".join(lines) + "\n")
    return files


def marked(mark: str, *, tasks_only: bool) -> list[int]:
    """Live processes whose environment carries this test's mark (only task processes, which
    also carry WAVEPLAN_RUN, when ``tasks_only``)."""
    found = []
    needle = f"CRASH_MARK={mark}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if needle in environ and (
            not tasks_only or any(v.startswith(b"WAVEPLAN_RUN=") for v in environ)
        ):
            found.append(int(entry.name))
    return found


def none_left(mark: str, *, tasks_only: bool, seconds: float) -> list[int]:
    """Poll until no marked process is left; returns the survivors (empty when none)."""
    deadline = time.monotonic() + seconds
    while True:
        left = marked(mark, tasks_only=tasks_only)
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.05)


def started_tasks(root: Path, number: int, process: subprocess.Popen[bytes]) -> None:
    """Wait until a task of launch ``number`` logged its start (or waveplan ended)."""
    deadline = time.monotonic() + 30
    path = root / "events.log"
    while time.monotonic() < deadline and process.poll() is None:
        lines = path.read_text().splitlines() if path.exists() else []
        if any(line.startswith("start ") and line.split()[4] == str(number) for line in lines):
            return
        time.sleep(0.01)


def run_state(root: Path) -> tuple[RunStatus | None, set[str]]:
    """The status of the plan's latest run and its tasks recorded as succeeded."""
    if not (root / ".waveplan" / "history.db").exists():
        return None, set()
    with History.for_root(root) as history:
        run_id = history.latest_run()
        if run_id is None:
            return None, set()
        (summary,) = [s for s in history.summaries() if s.run_id == run_id]
        states = history.task_states(run_id)
    done = {t for t, (status, _) in states.items() if status is TaskStatus.SUCCEEDED}
    return summary.status, done


def read_spans(root: Path) -> tuple[list[Span], list[str]]:
    """Every attempt's span from the shared event file, and the 'overlap' lines."""
    spans: dict[int, Span] = {}
    overlaps = []
    path = root / "events.log"
    for line in path.read_text().splitlines() if path.exists() else []:
        kind, task, attempt, pid, launch, stamp = line.split()
        if kind == "overlap":
            overlaps.append(line)
        elif kind == "start":
            spans[int(pid)] = Span(task, int(attempt), int(pid), int(launch), float(stamp))
        else:
            span = spans[int(pid)]
            span.end, span.how = float(stamp), kind
    return list(spans.values()), overlaps


def overlapping(one: Span, other: Span) -> bool:
    """True when two finished spans share some time."""
    assert one.end is not None
    assert other.end is not None
    return one.start < other.end and other.start < one.end


@pytest.mark.slow
def test_kill_9_at_random_moments_then_resume_runs_every_task_once(tmp_path: Path) -> None:
    """waveplan killed with SIGKILL at random moments leaves no task process behind; each
    --resume continues the run; at the end every task succeeded exactly once, no task
    recorded as succeeded ran again, and no two attempts of a task (or of two tasks writing
    the same file) overlapped."""
    rng = random.Random(SEED)
    files = make_plan(tmp_path, rng)
    mark = uuid.uuid4().hex
    done_before: dict[int, set[str]] = {}

    def launch(number: int) -> subprocess.Popen[bytes]:
        status, done = run_state(tmp_path)
        done_before[number] = done
        resume = ["--resume"] if status is not None else []
        env = {**os.environ, "CRASH_MARK": mark, "CRASH_LAUNCH": str(number)}
        return subprocess.Popen(
            [sys.executable, "-m", "waveplan", "run", "plan.yaml", "-q", *resume],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
        )

    try:
        for number in range(1, KILLS + 1):
            process = launch(number)
            if rng.random() < 0.3:
                time.sleep(rng.uniform(0.0, 0.6))  # anywhere, start-up and tidy-up included
            else:
                started_tasks(tmp_path, number, process)  # while tasks run, however slow the host
                time.sleep(rng.uniform(0.0, 0.6))
            # t00 never ends before 'release' exists, so waveplan is still running.
            assert process.poll() is None
            process.send_signal(signal.SIGKILL)
            process.wait()
            survivors = none_left(mark, tasks_only=True, seconds=3.0)
            assert survivors == [], f"task processes outlived waveplan: {survivors}"
            # The watchdog itself goes too, so the next launch starts clean.
            assert none_left(mark, tasks_only=False, seconds=10.0) == []

        (tmp_path / "release").touch()
        final = launch(KILLS + 1)
        final.wait(timeout=120)
        assert final.returncode == 0
    finally:
        (tmp_path / "release").touch()  # never leave the sentinel behind
        stop_processes(marked(mark, tasks_only=False), grace=1.0)

    with History.for_root(tmp_path) as history:
        run_id = history.latest_run()
        assert run_id is not None
        info = history.run_info(run_id)
        (summary,) = history.summaries()
    # One run, resumed again and again.
    assert summary.run_id == run_id
    assert info.status is RunStatus.SUCCEEDED
    assert len(info.tasks) == TASKS + 1
    spans, overlaps = read_spans(tmp_path)
    assert overlaps == []
    assert any(span.how == "killed" for span in spans)  # some kill hit running tasks
    for record in info.tasks:
        assert record.status is TaskStatus.SUCCEEDED, record
        succeeded = [a for a in record.attempts if a.status is AttemptStatus.SUCCEEDED]
        assert len(succeeded) == 1, record
        # The recorded success is the last attempt, and its process logged its end.
        assert record.attempts[-1] == succeeded[0]
        ended = [s for s in spans if s.task == record.id and s.how == "end"]
        assert succeeded[0].attempt in {s.attempt for s in ended}

    # No task already recorded as succeeded when a launch began was started by it.
    for span in spans:
        assert span.task not in done_before[span.launch], span

    # Every attempt that started was seen to end or to be terminated.
    assert all(span.end is not None for span in spans), [s for s in spans if s.end is None]
    by_task: dict[str, list[Span]] = defaultdict(list)
    for span in spans:
        by_task[span.task].append(span)
    for task, attempts in by_task.items():
        for i, one in enumerate(attempts):
            for other in attempts[i + 1 :]:
                assert not overlapping(one, other), (task, one, other)
    for one in spans:
        for other in spans:
            if one.task < other.task and files[one.task] & files[other.task]:
                assert not overlapping(one, other), (one, other)


def _session_started(root: Path) -> bool:
    """Whether the latest run of the root is running with a session (its process) recorded."""
    if run_state(root)[0] is not RunStatus.RUNNING:
        return False
    with History.for_root(root) as history:
        run_id = history.latest_run()
        return run_id is not None and history.last_session(run_id) is not None


def test_a_run_whose_waveplan_was_killed_is_shown_interrupted_not_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After ``kill -9``, history and report said the run was still running until the next
    run in the root tidied it; its process is gone, so they show it interrupted (what that
    run records). A run whose process lives is still shown running."""
    (tmp_path / "plan.yaml").write_text(
        "tasks:\n  - {id: a, run: 'sleep 30'}\n  - {id: b, run: 'true', depends: [a]}\n",
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "waveplan", "run", "plan.yaml", "-q"], cwd=tmp_path
    )
    try:
        deadline = time.monotonic() + 60
        while not _session_started(tmp_path):
            assert time.monotonic() < deadline, "the run did not start"
            time.sleep(0.05)
        assert main(["history", "--root", str(tmp_path)]) == 0
        assert " running " in capsys.readouterr().out
    finally:
        process.kill()
        process.wait()
    assert main(["history", "--root", str(tmp_path), "--format", "json"]) == 0
    assert '"status": "interrupted"' in capsys.readouterr().out
    assert main(["report", "--root", str(tmp_path)]) == 0
    assert capsys.readouterr().out.split("\n", 1)[0].split()[2] == "interrupted"
    with History.for_root(tmp_path) as history:  # (the record itself is the next run's work)
        assert history.summaries()[0].status is RunStatus.RUNNING


KILLED_BEFORE_RUNNING = """\
import os, signal, sys
from waveplan.cli import main
from waveplan.run import session

def killed(*args, **kwargs):  # the run is recorded; its executor is being made
    os.kill(os.getpid(), signal.SIGKILL)

session.local_executor = killed
sys.exit(main(["run", "plan.yaml", "-q"]))
"""


@pytest.mark.parametrize("resume", [False, True], ids=["new", "resumed"])
def test_a_run_killed_before_its_first_task_is_shown_interrupted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], resume: bool
) -> None:
    """waveplan killed after recording a new run but before recording its session (the
    process working on it) left history and report saying running until the next run
    tidied it. The session is recorded with the run, in one transaction, so the run is
    shown interrupted; a resumed run gets its new session with it too."""
    (tmp_path / "plan.yaml").write_text(
        "tasks:\n  - {id: a, run: 'false'}\n  - {id: b, run: 'true'}\n", encoding="utf-8"
    )
    code = KILLED_BEFORE_RUNNING
    if resume:
        assert main(["run", str(tmp_path / "plan.yaml"), "-q"]) == 1
        code = code.replace('"-q"]', '"-q", "--resume"]')
    killed = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path)
    assert killed.wait(timeout=60) == -signal.SIGKILL
    with History.for_root(tmp_path) as history:
        (summary, *_) = history.summaries()
        assert summary.status is RunStatus.RUNNING  # (the record itself is the next run's work)
        assert history.last_session(summary.run_id) == (killed.pid, socket.gethostname())
    capsys.readouterr()
    assert main(["history", "--root", str(tmp_path), "--format", "json"]) == 0
    assert '"status": "interrupted"' in capsys.readouterr().out.split("}", 1)[0]
    assert main(["report", "--root", str(tmp_path)]) == 0
    assert capsys.readouterr().out.split("\n", 1)[0].split()[2] == "interrupted"

"""Tests of the local executor with real processes: environment, logs, process groups."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from waveplan.model import AttemptStatus
from waveplan.run.executor import Job, Outcome
from waveplan.run.local import (
    LocalExecutor,
    ThreadedExecutor,
    direct_argv,
    local_executor,
    note_in_log,
)
from waveplan.run.procs import group_alive, processes_of_run, stop_group

GRACE = 0.5


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie waiting to be reaped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def gone_within(pid: int, seconds: float) -> bool:
    """True once the process is gone, polling for at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.02)
    return not alive(pid)


def read_pid(path: Path, seconds: float = 5.0) -> int:
    """The pid a command wrote to ``path`` (waiting for it to appear)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        text = path.read_text() if path.exists() else ""
        if text.endswith("\n"):
            return int(text.split()[0])
        time.sleep(0.02)
    raise AssertionError(f"{path} was never written")


AnyExecutor = LocalExecutor | ThreadedExecutor


def collect(executor: AnyExecutor, count: int, seconds: float = 20.0) -> list[Outcome]:
    """Wait for ``count`` outcomes (failing the test after ``seconds``)."""
    found: list[Outcome] = []
    deadline = time.monotonic() + seconds
    while len(found) < count:
        left = deadline - time.monotonic()
        assert left > 0, f"only {len(found)} of {count} jobs ended"
        found.extend(executor.wait(left))
    return found


Kind = type[LocalExecutor] | type[ThreadedExecutor]


@pytest.fixture(params=[LocalExecutor, ThreadedExecutor], ids=["pidfd", "threads"])
def kind(request: pytest.FixtureRequest) -> Kind:
    """Each test runs on both local executors: the same behaviour is expected of them."""
    chosen: Kind = request.param
    return chosen


@pytest.fixture
def executor(kind: Kind) -> Iterator[AnyExecutor]:
    """A two-worker executor with a short kill grace and no watchdog."""
    running = kind(2, grace=GRACE, watchdog=False)
    try:
        yield running
    finally:
        running.close()


def job(tmp_path: Path, command: str | None, task: str = "t", **extra: object) -> Job:
    """A job running in ``tmp_path`` with its log under ``tmp_path/logs``."""
    return Job(
        task=task,
        attempt=1,
        command=command,
        cwd=str(tmp_path),
        env={"WAVEPLAN_TASK": task, "WAVEPLAN_RUN": "run-1", "WAVEPLAN_ATTEMPT": "1"},
        log=str(tmp_path / "logs" / f"{task}.1.log"),
        **extra,  # type: ignore[arg-type]
    )


def test_command_sees_the_run_environment_and_runs_in_the_plan_root(
    executor: AnyExecutor, tmp_path: Path
) -> None:
    """A shell command gets the WAVEPLAN_* variables and the plan root as working folder."""
    executor.submit(
        job(tmp_path, 'echo "$WAVEPLAN_TASK $WAVEPLAN_RUN $WAVEPLAN_ATTEMPT"; pwd; echo "$PWD"')
    )
    (outcome,) = collect(executor, 1)
    assert outcome.status is AttemptStatus.SUCCEEDED
    assert outcome.exit_code == 0
    log = (tmp_path / "logs" / "t.1.log").read_text()
    assert log == f"t run-1 1\n{tmp_path}\n{tmp_path}\n"


def test_directly_executed_command_sees_the_plan_root_as_pwd(
    executor: AnyExecutor, tmp_path: Path
) -> None:
    """A plain command run without a shell gets the same PWD a shell would have set."""
    assert direct_argv("printenv PWD WAVEPLAN_TASK") is not None
    executor.submit(job(tmp_path, "printenv PWD WAVEPLAN_TASK"))
    (outcome,) = collect(executor, 1)
    assert outcome.status is AttemptStatus.SUCCEEDED
    assert (tmp_path / "logs" / "t.1.log").read_text() == f"{tmp_path}\nt\n"


def test_output_and_errors_go_to_the_log(executor: AnyExecutor, tmp_path: Path) -> None:
    """Standard output and standard error are both appended to the attempt's log, and the
    log folder is created."""
    executor.submit(job(tmp_path, "echo out; echo err >&2; echo more"))
    collect(executor, 1)
    assert (tmp_path / "logs" / "t.1.log").read_text() == "out\nerr\nmore\n"


def test_a_log_folder_removed_by_a_task_is_made_again(
    executor: AnyExecutor, tmp_path: Path
) -> None:
    """A task that deletes the log folder does not keep the next one from starting."""
    executor.submit(job(tmp_path, f"rm -rf {tmp_path / 'logs'}", task="a"))
    (first,) = collect(executor, 1)
    assert first.status is AttemptStatus.SUCCEEDED
    assert not (tmp_path / "logs").exists()
    executor.submit(job(tmp_path, "echo again", task="b"))
    (second,) = collect(executor, 1)
    assert second.status is AttemptStatus.SUCCEEDED
    assert (tmp_path / "logs" / "b.1.log").read_text() == "again\n"


def test_a_note_of_waveplan_is_one_line_after_the_output_of_the_attempt(
    executor: AnyExecutor, tmp_path: Path
) -> None:
    """The executors' one way of adding a line of their own to an attempt's log (the Dask and
    worktree executors had a copy each, one of which glued a message without a line end to
    the next): after the command's output, one line whether or not the text ends one."""
    executor.submit(job(tmp_path, "echo out"))
    collect(executor, 1)
    log = tmp_path / "logs" / "t.1.log"
    note_in_log(str(log), "waveplan: first")
    note_in_log(str(log), "waveplan: second\n")
    assert log.read_text() == "out\nwaveplan: first\nwaveplan: second\n"
    note_in_log(str(tmp_path / "new" / "a.log"), "made")  # its folder is made
    assert (tmp_path / "new" / "a.log").read_text() == "made\n"
    note_in_log(None, "nowhere")


def test_a_log_that_cannot_be_written_does_not_stop_a_note(tmp_path: Path) -> None:
    """A note to a log whose folder is a file is passed over: the worktree executor's copy
    raised there, out of the worker thread noting why a git step failed."""
    (tmp_path / "logs").write_text("not a folder\n")
    note_in_log(str(tmp_path / "logs" / "t.1.log"), "waveplan: git failed")
    assert (tmp_path / "logs").read_text() == "not a folder\n"


def test_command_gets_no_standard_input(executor: AnyExecutor, tmp_path: Path) -> None:
    """Standard input is /dev/null, so a command reading it does not wait."""
    # What cat copies is not checked: in some sandboxes /dev/null is a regular file.
    executor.submit(job(tmp_path, "readlink /proc/$$/fd/0; cat > copy.txt; echo done"))
    (outcome,) = collect(executor, 1, seconds=5)
    assert outcome.status is AttemptStatus.SUCCEEDED
    assert (tmp_path / "logs" / "t.1.log").read_text() == "/dev/null\ndone\n"


def test_nonzero_exit_is_a_failure_with_its_code(executor: AnyExecutor, tmp_path: Path) -> None:
    """A command exiting 3 fails with exit code 3; an unknown program fails with 127."""
    executor.submit(job(tmp_path, "exit 3", task="a"))
    executor.submit(job(tmp_path, "no-such-program-for-waveplan", task="b"))
    outcomes = {o.job.task: o for o in collect(executor, 2)}
    assert outcomes["a"].status is AttemptStatus.FAILED
    assert outcomes["a"].exit_code == 3
    assert outcomes["b"].status is AttemptStatus.FAILED
    assert outcomes["b"].exit_code == 127
    assert "not found" in (tmp_path / "logs" / "b.1.log").read_text()


def test_checkpoint_succeeds_at_once_without_a_log(executor: AnyExecutor, tmp_path: Path) -> None:
    """A job without a command succeeds immediately and writes no log."""
    executor.submit(job(tmp_path, None))
    (outcome,) = collect(executor, 1)
    assert outcome.status is AttemptStatus.SUCCEEDED
    assert outcome.start == outcome.end
    assert not (tmp_path / "logs").exists()


def test_missing_working_folder_fails_with_a_message(executor: AnyExecutor, tmp_path: Path) -> None:
    """A command that cannot be started fails without an exit code and says why in its log."""
    broken = Job(
        task="t",
        attempt=1,
        command="echo hi",
        cwd=str(tmp_path / "missing"),
        log=str(tmp_path / "t.log"),
    )
    executor.submit(broken)
    (outcome,) = collect(executor, 1)
    assert outcome.status is AttemptStatus.FAILED
    assert outcome.exit_code is None
    assert "waveplan: cannot start the command" in (tmp_path / "t.log").read_text()


def test_outcome_reports_worker_host_and_times(executor: AnyExecutor, tmp_path: Path) -> None:
    """An outcome names its worker thread and host; start and end are on the executor clock."""
    before = executor.now()
    executor.submit(job(tmp_path, "sleep 0.2"))
    (outcome,) = collect(executor, 1)
    assert outcome.worker in {"w1", "w2"}
    assert outcome.host
    assert before <= outcome.start < outcome.end <= executor.now()
    assert outcome.end - outcome.start >= 0.19


def test_jobs_run_in_parallel_up_to_the_worker_count(executor: AnyExecutor, tmp_path: Path) -> None:
    """Two workers run two half-second jobs together; a third waits for a free worker."""
    for name in "abc":
        executor.submit(job(tmp_path, "sleep 0.5", task=name))
    outcomes = sorted(collect(executor, 3), key=lambda o: o.start)
    assert outcomes[1].start < outcomes[0].end
    assert outcomes[2].start >= min(outcomes[0].end, outcomes[1].end) - 0.01


def test_timeout_kills_the_whole_group_grandchildren_included(tmp_path: Path, kind: Kind) -> None:
    """On timeout the attempt's group gets TERM, so background grandchildren (and their
    children) die too; the attempt is timed out as soon as they are gone, without waiting
    for the grace period before SIGKILL."""
    command = (
        "sleep 300 & echo $! > child.pid; "
        "sh -c 'sleep 300 & echo $! > grandchild.pid; wait' & "
        "sleep 300"
    )
    patient = kind(1, grace=5.0, watchdog=False)
    try:
        patient.submit(job(tmp_path, command, timeout=0.5))
        child = read_pid(tmp_path / "child.pid")
        grandchild = read_pid(tmp_path / "grandchild.pid")
        assert alive(child)
        assert alive(grandchild)
        (outcome,) = collect(patient, 1, seconds=10)
    finally:
        patient.close()
    assert outcome.status is AttemptStatus.TIMED_OUT
    assert outcome.exit_code == -signal.SIGTERM
    # Well under timeout + grace; orphaned grandchildren stay zombies (still group members)
    # until init reaps them, which some container inits only do every second or two.
    assert 0.5 <= outcome.end - outcome.start < 4.5
    assert gone_within(child, 2)
    assert gone_within(grandchild, 2)


def test_timeout_kills_a_command_that_ignores_sigterm(
    executor: AnyExecutor, tmp_path: Path
) -> None:
    """A command ignoring SIGTERM is killed with SIGKILL after the grace period."""
    executor.submit(job(tmp_path, "trap '' TERM; echo $$ > pid; sleep 300", timeout=0.3))
    pid = read_pid(tmp_path / "pid")
    (outcome,) = collect(executor, 1, seconds=10)
    assert outcome.status is AttemptStatus.TIMED_OUT
    assert outcome.end - outcome.start >= 0.3 + GRACE - 0.05
    assert gone_within(pid, 2)


def test_background_child_does_not_hang_the_run(executor: AnyExecutor, tmp_path: Path) -> None:
    """A command that leaves a background child ends when its shell exits, and the leftover
    child is terminated."""
    start = time.monotonic()
    executor.submit(job(tmp_path, "sleep 300 & echo $! > child.pid; echo started"))
    (outcome,) = collect(executor, 1, seconds=10)
    assert time.monotonic() - start < 3
    assert outcome.status is AttemptStatus.SUCCEEDED
    child = read_pid(tmp_path / "child.pid")
    assert gone_within(child, GRACE + 2)


def test_background_child_holding_the_output_does_not_hang_the_run(
    executor: AnyExecutor, tmp_path: Path
) -> None:
    """A background child that keeps writing to the log does not keep the attempt open."""
    executor.submit(job(tmp_path, "(while true; do echo tick; sleep 0.1; done) & exit 0"))
    (outcome,) = collect(executor, 1, seconds=5)
    assert outcome.status is AttemptStatus.SUCCEEDED
    time.sleep(GRACE + 1)
    log = tmp_path / "logs" / "t.1.log"
    size = log.stat().st_size
    time.sleep(0.4)
    assert log.stat().st_size == size


def test_terminate_interrupts_running_jobs_and_their_groups(
    executor: AnyExecutor, tmp_path: Path
) -> None:
    """terminate() ends running attempts as interrupted, their children included, and jobs
    still queued end as interrupted without starting."""
    executor.submit(job(tmp_path, "sleep 300 & echo $! > a.pid; sleep 300", task="a"))
    executor.submit(job(tmp_path, "sleep 300 & echo $! > b.pid; sleep 300", task="b"))
    executor.submit(job(tmp_path, "echo started > c.out", task="c"))
    pids = [read_pid(tmp_path / "a.pid"), read_pid(tmp_path / "b.pid")]
    executor.terminate()
    outcomes = {o.job.task: o for o in collect(executor, 3, seconds=10)}
    assert {o.status for o in outcomes.values()} == {AttemptStatus.INTERRUPTED}
    assert not (tmp_path / "c.out").exists()
    for pid in pids:
        assert gone_within(pid, 2)


def test_wait_times_out_and_interrupt_wakes_it(executor: AnyExecutor, tmp_path: Path) -> None:
    """wait() returns nothing after its timeout, and at once after interrupt()."""
    start = time.monotonic()
    assert executor.wait(0.2) == []
    assert time.monotonic() - start >= 0.19
    executor.submit(job(tmp_path, "sleep 300"))
    executor.interrupt()
    start = time.monotonic()
    assert executor.wait(10) == []
    assert time.monotonic() - start < 1


def test_many_queued_jobs_that_end_at_once(kind: Kind, tmp_path: Path) -> None:
    """Thousands of checkpoints queued behind one worker all end, in order, on that worker."""
    running = kind(1, grace=GRACE, watchdog=False)
    try:
        for n in range(3000):
            running.submit(job(tmp_path, None, task=f"c{n}"))
        outcomes = collect(running, 3000)
    finally:
        running.close()
    assert [o.job.task for o in outcomes] == [f"c{n}" for n in range(3000)]
    assert {o.worker for o in outcomes} == {"w1"}
    assert {o.status for o in outcomes} == {AttemptStatus.SUCCEEDED}


def open_fds() -> set[str]:
    """This process's open file descriptors."""
    return {entry.name for entry in Path("/proc/self/fd").iterdir()}


def test_no_descriptor_is_left_open(kind: Kind, tmp_path: Path) -> None:
    """After many attempts (logs, a timeout, an interrupted one) and close(), the executor
    holds no file descriptor: no log, pidfd or wake-up pipe leaks."""
    before = open_fds()
    running = kind(2, grace=GRACE, watchdog=False)
    try:
        for n in range(40):
            running.submit(job(tmp_path, "true", task=f"t{n}"))
        running.submit(job(tmp_path, "sleep 5", task="slow", timeout=0.2))
        assert len(collect(running, 41)) == 41
        running.submit(job(tmp_path, "sleep 300", task="cut"))
        running.terminate()
        collect(running, 1)
    finally:
        running.close()
    assert open_fds() <= before


def test_the_pidfd_executor_is_chosen_where_pidfds_work() -> None:
    """This system has pidfds (Linux 5.3+): runs get the executor without worker threads."""
    chosen = local_executor(1)
    try:
        assert isinstance(chosen, LocalExecutor)
    finally:
        chosen.close()


def test_interrupt_after_close_writes_nowhere(kind: Kind, tmp_path: Path) -> None:
    """A stop request that arrives after close() (Ctrl-C during the report) does nothing: it
    does not write to a descriptor number that now belongs to another file."""
    running = kind(1, grace=GRACE, watchdog=False)
    running.close()
    other = tmp_path / "other"
    fds = [os.open(other, os.O_WRONLY | os.O_CREAT, 0o644) for _ in range(4)]
    try:
        running.interrupt()
    finally:
        for fd in fds:
            os.close(fd)
    assert other.read_bytes() == b""


def test_close_terminates_running_jobs(tmp_path: Path, kind: Kind) -> None:
    """close() stops what is still running and returns promptly."""
    running = kind(1, grace=GRACE, watchdog=False)
    running.submit(job(tmp_path, "echo $$ > pid; sleep 300"))
    pid = read_pid(tmp_path / "pid")
    start = time.monotonic()
    running.close()
    assert time.monotonic() - start < GRACE + 2
    assert gone_within(pid, 2)


@pytest.mark.parametrize(
    ("command", "argv"),
    [
        ("true", ["true"]),
        ("  sleep 0.1  ", ["sleep", "0.1"]),
        ("printenv A_B", ["printenv", "A_B"]),
        ("false", ["false"]),
        ("env X=1", ["env", "X=1"]),
        ("ls -la src/a.py:3 @x %y +z", ["ls", "-la", "src/a.py:3", "@x", "%y", "+z"]),
        (f"{sys.executable} -V", [sys.executable, "-V"]),
    ],
)
def test_direct_argv_runs_plain_commands_without_a_shell(command: str, argv: list[str]) -> None:
    """Commands made only of plain words on a found program are split into an argv."""
    assert direct_argv(command) == argv


@pytest.mark.parametrize(
    "command",
    [
        "echo $HOME",
        "cd src",
        "exit 1",
        "export A=1",
        "A=1 env",
        "true; false",
        "true && false",
        "ls | wc",
        "echo hi > out",
        "echo 'quoted'",
        'echo "quoted"',
        "ls *.py",
        "ls ~",
        "sleep 1 &",
        "true\ntrue",
        "echo `date`",
        "set -e",
        "echo hi",
        "printf x",
        "pwd",
        "no-such-program-for-waveplan",
        "./not-here.sh",
        "",
        "   ",
    ],
)
def test_direct_argv_leaves_shell_syntax_to_the_shell(command: str) -> None:
    """Anything the shell would interpret, a builtin, or an unknown program goes through
    /bin/sh."""
    assert direct_argv(command) is None


def test_direct_argv_finds_a_program_by_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A program given by a path with a slash runs directly when that file exists."""
    script = tmp_path / "build.sh"
    script.write_text("#!/bin/sh\necho built\n")
    script.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    assert direct_argv("./build.sh fast") == ["./build.sh", "fast"]
    assert direct_argv(f"{script} fast") == [str(script), "fast"]


@pytest.mark.parametrize(
    "command",
    ["echo -e a", "echo -n a", "pwd", "printf %q-%s a b", "printenv WAVEPLAN_TASK", "ls -d ."],
)
def test_commands_give_what_the_shell_gives(
    executor: AnyExecutor, tmp_path: Path, command: str
) -> None:
    """Whether or not a command runs without a shell, its output is what ``/bin/sh -c``
    gives, also for builtins whose program namesake differs (echo -e, pwd, printf %q)."""
    executor.submit(job(tmp_path, command))
    collect(executor, 1)
    env = {**os.environ, "WAVEPLAN_TASK": "t", "PWD": str(tmp_path)}
    shell = subprocess.run(
        ["/bin/sh", "-c", command], cwd=tmp_path, env=env, capture_output=True, check=False
    )
    assert (tmp_path / "logs" / "t.1.log").read_bytes() == shell.stdout + shell.stderr


def test_stop_group_kills_the_group_and_group_alive_sees_it(tmp_path: Path) -> None:
    """stop_group ends every process of a group; group_alive tells before and after."""
    process = subprocess.Popen(["/bin/sh", "-c", "sleep 300 & sleep 300"], start_new_session=True)
    try:
        assert group_alive(process.pid)
        stop_group(process.pid, GRACE)
        process.wait(timeout=5)
        deadline = time.monotonic() + 2
        while group_alive(process.pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not group_alive(process.pid)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_processes_of_run_and_the_watchdog(tmp_path: Path) -> None:
    """Processes carrying WAVEPLAN_RUN are found; the watchdog leaves them alone after
    ``done`` and terminates them when its pipe closes without it."""
    run_id = f"test-{os.getpid()}-{time.monotonic_ns()}"
    env = {**os.environ, "WAVEPLAN_RUN": run_id}
    task = subprocess.Popen(["sleep", "300"], env=env, start_new_session=True)
    try:
        # /proc shows the new environment only once exec has finished setting it up.
        deadline = time.monotonic() + 5
        while processes_of_run(run_id) != [task.pid] and time.monotonic() < deadline:
            time.sleep(0.01)
        assert processes_of_run(run_id) == [task.pid]
        assert processes_of_run("some-other-run") == []
        watchdog = [sys.executable, "-m", "waveplan.run.watchdog", run_id]
        polite = subprocess.run(watchdog, input=b"done\n", timeout=30, check=True)
        assert polite.returncode == 0
        assert alive(task.pid)
        subprocess.run(watchdog, input=b"", timeout=30, check=True)
        assert task.wait(timeout=5) == -signal.SIGTERM
    finally:
        if task.poll() is None:
            task.kill()
            task.wait()


def test_executor_watchdog_stops_tasks_when_waveplan_dies(tmp_path: Path) -> None:
    """A process running a LocalExecutor that is killed with SIGKILL leaves no task running:
    its watchdog terminates them."""
    script = f"""
import sys, time
from waveplan.run.executor import Job
from waveplan.run.local import LocalExecutor
ex = LocalExecutor(1, run_id="wd-{os.getpid()}")
ex.submit(Job("t", 1, "echo $$ > {tmp_path}/pid; sleep 300", "{tmp_path}",
              env={{"WAVEPLAN_RUN": "wd-{os.getpid()}"}}))
time.sleep(300)
"""
    process = subprocess.Popen([sys.executable, "-c", script])
    try:
        pid = read_pid(tmp_path / "pid", seconds=20)
        assert alive(pid)
        process.kill()
        process.wait()
        assert gone_within(pid, 10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_group_alive_ignores_a_reaped_group() -> None:
    """A group whose processes all exited and were reaped is not alive."""
    process = subprocess.Popen(["true"], start_new_session=True)
    process.wait()
    assert not group_alive(process.pid)


def test_group_alive_ignores_zombies() -> None:
    """A group whose only process exited but is not reaped yet (a zombie) runs nothing: not
    alive. (A killed command's orphans are reaped by init, sometimes late, sometimes never
    when waveplan itself is PID 1: waiting for them held a timed-out task for seconds.)"""
    process = subprocess.Popen(["true"], start_new_session=True)
    try:
        stat = Path(f"/proc/{process.pid}/stat")
        deadline = time.monotonic() + 10
        while stat.read_text().rsplit(")", 1)[-1].split()[0] != "Z":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert not group_alive(process.pid)
    finally:
        process.wait()


def test_programs_run_as_the_shell_would_run_them(executor: AnyExecutor, tmp_path: Path) -> None:
    """A plain command is executed without a shell, but what the shell does for it still
    happens: an executable script without a ``#!`` line runs (the shell runs it itself; a
    direct exec failed), a file that is not executable fails with the shell's 126 and a
    missing program with 127, each with the shell's message in the log."""
    script = tmp_path / "build.sh"
    script.write_text("echo built > built.txt\n")
    script.chmod(0o755)
    plain = tmp_path / "notes.sh"
    plain.write_text("echo never\n")
    executor.submit(job(tmp_path, "./build.sh", task="script"))
    executor.submit(job(tmp_path, "./notes.sh", task="plain"))
    executor.submit(job(tmp_path, "./missing-tool --flag", task="missing"))
    outcomes = {o.job.task: o for o in collect(executor, 3)}
    assert outcomes["script"].status is AttemptStatus.SUCCEEDED
    assert (tmp_path / "built.txt").read_text() == "built\n"
    assert (outcomes["plain"].status, outcomes["plain"].exit_code) == (AttemptStatus.FAILED, 126)
    assert "ermission denied" in (tmp_path / "logs" / "plain.1.log").read_text()
    assert outcomes["missing"].exit_code == 127
    assert "not found" in (tmp_path / "logs" / "missing.1.log").read_text()


def test_a_command_that_cannot_start_says_why(executor: AnyExecutor, tmp_path: Path) -> None:
    """When not even the shell can start (the task's folder is gone), the outcome carries
    the reason (the progress line said "exit code None")."""
    executor.submit(dataclasses.replace(job(tmp_path, "true"), cwd=str(tmp_path / "nowhere")))
    (outcome,) = collect(executor, 1)
    assert (outcome.status, outcome.exit_code) == (AttemptStatus.FAILED, None)
    assert outcome.reason is not None
    assert outcome.reason.startswith("cannot start the command: ")

"""Tests of the Dask executor on a real ``LocalCluster`` of two worker processes on loopback:
commands, logs, timeouts and termination reaching the remote process group, lost workers,
and whole runs with their dependency and conflict guarantees."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from distributed import Client, LocalCluster

from waveplan.cli import main
from waveplan.history import History
from waveplan.load import parse_plan_text
from waveplan.model import AttemptStatus, RunStatus, TaskStatus
from waveplan.run import dask_executor
from waveplan.run.dask_executor import DaskExecutor, RootMap
from waveplan.run.executor import Job, Outcome
from waveplan.run.fake import FakeExecutor
from waveplan.run.remote import RemoteJob, RemoteResult, WireError, read_claim, run_attempt
from waveplan.run.runner import Runner, RunOptions
from waveplan.run.session import SessionSpec, run_session

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


def read_pid(path: Path, seconds: float = 10.0) -> int:
    """The pid a command wrote to ``path`` (waiting for it to appear)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        text = path.read_text() if path.exists() else ""
        if text.endswith("\n"):
            return int(text.split()[0])
        time.sleep(0.02)
    raise AssertionError(f"{path} was never written")


def collect(executor: DaskExecutor, count: int, seconds: float = 30.0) -> list[Outcome]:
    """Wait for ``count`` outcomes (failing the test after ``seconds``)."""
    found: list[Outcome] = []
    deadline = time.monotonic() + seconds
    while len(found) < count:
        left = deadline - time.monotonic()
        assert left > 0, f"only {len(found)} of {count} jobs ended"
        found.extend(executor.wait(left))
    return found


def kill_worker(client: Client, address: str) -> None:
    """SIGKILL the process of the worker at ``address`` (its nanny starts a new one)."""
    pids: dict[str, int] = client.run(os.getpid)
    os.kill(pids[address], signal.SIGKILL)


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    """Two single-threaded worker processes on loopback, shared by the module's tests."""
    with LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},  # not port 8787
        silence_logs=logging.CRITICAL,
    ) as running:
        yield running


@pytest.fixture
def client(cluster: LocalCluster) -> Iterator[Client]:
    """A client of the cluster once both workers are up (a test may have killed one)."""
    with Client(cluster.scheduler_address, set_as_default=False) as connected:
        connected.wait_for_workers(2, timeout=60)
        yield connected


@pytest.fixture
def executor(cluster: LocalCluster) -> Iterator[DaskExecutor]:
    """A Dask executor on the cluster with a short kill grace."""
    connected = Client(cluster.scheduler_address, set_as_default=False)
    connected.wait_for_workers(2, timeout=60)
    running = DaskExecutor(connected, grace=GRACE)
    try:
        yield running
    finally:
        running.close()


def job(root: Path, command: str | None, task: str = "t", **extra: Any) -> Job:
    """A job running in ``root`` with its log under ``root/logs``."""
    attempt = extra.pop("attempt", 1)
    return Job(
        task=task,
        attempt=attempt,
        command=command,
        cwd=str(root),
        env={"WAVEPLAN_TASK": task, "WAVEPLAN_RUN": "run-1", "WAVEPLAN_ATTEMPT": str(attempt)},
        log=str(root / "logs" / f"{task}.{attempt}.log"),
        **extra,
    )


def workers_of(client: Client) -> set[str]:
    return set(client.scheduler_info()["workers"])


# --- the executor ----------------------------------------------------------------------------


def test_attempt_runs_on_a_worker_in_the_plan_root_and_writes_its_log(
    executor: DaskExecutor, tmp_path: Path
) -> None:
    """The command runs on a worker with the run's variables, the plan root as working folder
    and its output in the log; the outcome names the worker's address and host."""
    executor.submit(job(tmp_path, 'echo "$WAVEPLAN_TASK $WAVEPLAN_ATTEMPT"; pwd; echo err >&2'))
    (outcome,) = collect(executor, 1)
    assert outcome.status is AttemptStatus.SUCCEEDED
    assert outcome.exit_code == 0
    assert (tmp_path / "logs" / "t.1.log").read_text() == f"t 1\n{tmp_path}\nerr\n"
    assert outcome.worker in workers_of(executor.client)
    assert outcome.host == socket.gethostname()
    assert 0 <= outcome.start <= outcome.end <= executor.now()


def test_plain_command_runs_directly_with_the_plan_root_as_pwd(
    executor: DaskExecutor, tmp_path: Path
) -> None:
    """A command without shell syntax runs without a shell and still sees PWD."""
    executor.submit(job(tmp_path, "printenv PWD WAVEPLAN_TASK"))
    (outcome,) = collect(executor, 1)
    assert outcome.status is AttemptStatus.SUCCEEDED
    assert (tmp_path / "logs" / "t.1.log").read_text() == f"{tmp_path}\nt\n"


def test_programs_run_as_the_shell_would_run_them(executor: DaskExecutor, tmp_path: Path) -> None:
    """As on the local backend: an executable script without a ``#!`` line runs through the
    shell, a file that is not executable fails with the shell's 126 and a missing program
    with 127, each with the shell's message in the log. (Absolute paths: the workers run in
    another folder, where ``./build.sh`` is not found and goes to the shell at once.)"""
    script = tmp_path / "build.sh"
    script.write_text("echo built > built.txt\n")
    script.chmod(0o755)
    plain = tmp_path / "notes.sh"
    plain.write_text("echo never\n")
    executor.submit(job(tmp_path, str(script), task="script"))
    executor.submit(job(tmp_path, str(plain), task="plain"))
    executor.submit(job(tmp_path, "./missing-tool --flag", task="missing"))
    outcomes = {o.job.task: o for o in collect(executor, 3)}
    assert outcomes["script"].status is AttemptStatus.SUCCEEDED
    assert (tmp_path / "built.txt").read_text() == "built\n"
    assert (outcomes["plain"].status, outcomes["plain"].exit_code) == (AttemptStatus.FAILED, 126)
    assert "ermission denied" in (tmp_path / "logs" / "plain.1.log").read_text()
    assert outcomes["missing"].exit_code == 127
    assert "not found" in (tmp_path / "logs" / "missing.1.log").read_text()


def test_command_reads_the_job_standard_input_or_none(
    executor: DaskExecutor, tmp_path: Path
) -> None:
    """The job's stdin reaches the remote command; without it the command reads nothing."""
    executor.submit(job(tmp_path, "cat; echo end", task="fed", stdin=b"prompt\n"))
    # What /dev/null holds is not checked: in some sandboxes it is a regular file.
    executor.submit(job(tmp_path, "readlink /proc/$$/fd/0", task="none"))
    outcomes = collect(executor, 2)
    assert {o.status for o in outcomes} == {AttemptStatus.SUCCEEDED}
    assert (tmp_path / "logs" / "fed.1.log").read_text() == "prompt\nend\n"
    assert (tmp_path / "logs" / "none.1.log").read_text() == "/dev/null\n"


def test_nonzero_exit_is_a_failure_with_its_code(executor: DaskExecutor, tmp_path: Path) -> None:
    """A command exiting 3 fails with exit code 3."""
    executor.submit(job(tmp_path, "exit 3"))
    (outcome,) = collect(executor, 1)
    assert outcome.status is AttemptStatus.FAILED
    assert outcome.exit_code == 3


def test_identical_commands_both_run(executor: DaskExecutor, tmp_path: Path) -> None:
    """Two attempts with the same command are two Dask tasks (pure=False): both run."""
    for task in ("a", "b"):
        executor.submit(job(tmp_path, "echo ran >> twice.txt", task=task))
    outcomes = collect(executor, 2)
    assert {o.status for o in outcomes} == {AttemptStatus.SUCCEEDED}
    assert (tmp_path / "twice.txt").read_text() == "ran\nran\n"


def test_checkpoint_succeeds_without_reaching_the_cluster(
    executor: DaskExecutor, tmp_path: Path
) -> None:
    """A task without a command succeeds at once, on no worker."""
    executor.submit(job(tmp_path, None))
    (outcome,) = collect(executor, 1, seconds=1)
    assert outcome.status is AttemptStatus.SUCCEEDED
    assert outcome.worker is None
    assert not (tmp_path / "logs").exists()


def test_timeout_kills_the_remote_process_group(executor: DaskExecutor, tmp_path: Path) -> None:
    """On timeout the worker signals the attempt's whole group, background children too."""
    command = "sleep 300 & echo $! > child.pid; echo $$ > pid; sleep 300"
    executor.submit(job(tmp_path, command, timeout=0.5))
    pid, child = read_pid(tmp_path / "pid"), read_pid(tmp_path / "child.pid")
    (outcome,) = collect(executor, 1)
    assert outcome.status is AttemptStatus.TIMED_OUT
    assert outcome.exit_code == -signal.SIGTERM
    assert 0.5 <= outcome.end - outcome.start < 0.5 + GRACE + 2
    assert gone_within(pid, 2)
    assert gone_within(child, 2)


def test_timeout_kills_a_command_that_ignores_sigterm(
    executor: DaskExecutor, tmp_path: Path
) -> None:
    """A remote command ignoring SIGTERM gets SIGKILL after the grace period."""
    executor.submit(job(tmp_path, "trap '' TERM; echo $$ > pid; sleep 300", timeout=0.3))
    pid = read_pid(tmp_path / "pid")
    (outcome,) = collect(executor, 1)
    assert outcome.status is AttemptStatus.TIMED_OUT
    assert outcome.end - outcome.start >= 0.3 + GRACE - 0.05
    assert gone_within(pid, 2)


def test_terminate_stops_remote_process_groups_and_queued_attempts(
    executor: DaskExecutor, tmp_path: Path
) -> None:
    """terminate() ends running attempts as interrupted and their remote groups die; an
    attempt still queued in Dask never starts."""
    executor.submit(job(tmp_path, "sleep 300 & echo $! > a.pid; sleep 300", task="a"))
    executor.submit(job(tmp_path, "sleep 300 & echo $! > b.pid; sleep 300", task="b"))
    executor.submit(job(tmp_path, "echo started > c.out", task="c"))
    pids = [read_pid(tmp_path / "a.pid"), read_pid(tmp_path / "b.pid")]
    executor.terminate()
    outcomes = collect(executor, 3, seconds=10)
    assert {o.status for o in outcomes} == {AttemptStatus.INTERRUPTED}
    for pid in pids:
        assert gone_within(pid, GRACE + 2)
    assert not (tmp_path / "c.out").exists()
    executor.submit(job(tmp_path, "echo late > d.out", task="d"))
    (late,) = collect(executor, 1, seconds=1)
    assert late.status is AttemptStatus.INTERRUPTED


def test_closing_the_client_stops_the_remote_process(
    executor: DaskExecutor, tmp_path: Path
) -> None:
    """When waveplan's client goes away, Dask releases its tasks and the workers stop them."""
    executor.submit(job(tmp_path, "echo $$ > pid; sleep 300"))
    pid = read_pid(tmp_path / "pid")
    executor.client.close()
    assert gone_within(pid, GRACE + 2)


def test_attempt_after_the_scheduler_went_away_is_lost(
    executor: DaskExecutor, tmp_path: Path
) -> None:
    """Once the connection to the scheduler is closed for good, an attempt cannot be handed
    over: it is lost (so the retry policy applies), and its log says why."""
    executor.client.close()
    executor.submit(job(tmp_path, "echo ran > ran.txt"))
    (outcome,) = collect(executor, 1, seconds=5)
    assert outcome.status is AttemptStatus.LOST
    assert (
        "cannot hand the attempt to the Dask scheduler"
        in (tmp_path / "logs" / "t.1.log").read_text()
    )


def test_wait_times_out_and_interrupt_wakes_it(executor: DaskExecutor, tmp_path: Path) -> None:
    """wait() returns nothing after its timeout, and at once after interrupt()."""
    start = time.monotonic()
    assert executor.wait(0.2) == []
    assert time.monotonic() - start >= 0.19
    executor.submit(job(tmp_path, "sleep 300"))
    executor.interrupt()
    start = time.monotonic()
    assert executor.wait(10) == []
    assert time.monotonic() - start < 1


def test_remote_root_is_where_workers_find_the_plan_root(
    executor: DaskExecutor, tmp_path: Path
) -> None:
    """With a root map, the command runs in (and logs to) the plan root as the workers mount
    it, and waveplan reads the log where it mounts it."""
    local = tmp_path / "local"
    local.mkdir()
    mount = tmp_path / "mount"
    mount.symlink_to(local)
    executor.roots = RootMap(local=str(local), remote=str(mount))
    executor.submit(job(local, 'echo "$PWD"'))
    (outcome,) = collect(executor, 1)
    assert outcome.status is AttemptStatus.SUCCEEDED
    assert (local / "logs" / "t.1.log").read_text() == f"{mount}\n"


def test_plan_root_missing_on_the_worker_fails_with_a_message(
    executor: DaskExecutor, tmp_path: Path
) -> None:
    """A worker that does not see the plan root fails the attempt and says why in the log."""
    executor.roots = RootMap(local=str(tmp_path), remote="/nonexistent/waveplan-root")
    executor.submit(job(tmp_path, "true"))
    (outcome,) = collect(executor, 1)
    assert outcome.status is AttemptStatus.FAILED
    log = (tmp_path / "logs" / "t.1.log").read_text()
    assert "/nonexistent/waveplan-root is not a folder on" in log
    assert "--remote-root" in log


def test_attempt_run_again_by_dask_is_lost_without_running_its_command(
    executor: DaskExecutor, tmp_path: Path
) -> None:
    """When Dask re-runs a task whose worker died, the attempt's claim is already there: it is
    reported lost on the first worker, and the command does not run a second time."""
    claim = tmp_path / "logs" / "t.1.log.claim"
    claim.parent.mkdir()
    claim.write_text("tcp://10.0.0.9:4242\nother-host\n")
    executor.submit(job(tmp_path, "echo ran > ran.txt"))
    (outcome,) = collect(executor, 1)
    assert outcome.status is AttemptStatus.LOST
    assert (outcome.worker, outcome.host) == ("tcp://10.0.0.9:4242", "other-host")
    assert not (tmp_path / "ran.txt").exists()


def test_killed_worker_loses_the_attempt_and_its_process_group(
    executor: DaskExecutor, tmp_path: Path
) -> None:
    """Killing a worker mid-task: the attempt is lost on that worker, the command it ran is
    stopped (so it cannot run beside its retry), and the next attempt runs elsewhere."""
    executor.submit(job(tmp_path, "sleep 300 & echo $! > child.pid; echo $$ > pid; sleep 300"))
    pid, child = read_pid(tmp_path / "pid"), read_pid(tmp_path / "child.pid")
    address, _ = read_claim(str(tmp_path / "logs" / "t.1.log.claim"))
    assert address is not None
    kill_worker(executor.client, address)
    (outcome,) = collect(executor, 1)
    assert outcome.status is AttemptStatus.LOST
    assert outcome.worker == address
    assert gone_within(pid, GRACE + 5)
    assert gone_within(child, GRACE + 5)
    executor.submit(job(tmp_path, "echo again", attempt=2))
    (retry,) = collect(executor, 1)
    assert retry.status is AttemptStatus.SUCCEEDED
    assert retry.worker != address


def test_worker_with_another_waveplan_version_fails_the_attempt_with_a_message(
    executor: DaskExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker whose waveplan is not the same version runs nothing and says so in the log."""
    wire = RemoteJob.to_wire
    monkeypatch.setattr(RemoteJob, "to_wire", lambda job: {**wire(job), "waveplan": "0.0.1"})
    executor.submit(job(tmp_path, "echo ran > ran.txt"))
    (outcome,) = collect(executor, 1)
    assert outcome.status is AttemptStatus.FAILED
    assert (
        "this run needs 0.0.1: install the same version"
        in (tmp_path / "logs" / "t.1.log").read_text()
    )
    assert not (tmp_path / "ran.txt").exists()


def test_attempts_travel_as_plain_data_with_the_version(tmp_path: Path) -> None:
    """Jobs and results cross the wire as mappings of plain values; a result of another
    version is refused."""
    spec = RemoteJob(command="true", cwd=str(tmp_path), timeout=2.0).to_wire()
    assert all(isinstance(v, (str, float, int, dict, type(None))) for v in spec.values())
    data = run_attempt(spec)
    result = RemoteResult.from_wire(data)
    assert (result.status, result.exit_code, result.worker) == (AttemptStatus.SUCCEEDED, 0, None)
    with pytest.raises(WireError, match=r"the worker runs waveplan 0\.0\.1"):
        RemoteResult.from_wire({**data, "waveplan": "0.0.1"})


# --- whole runs ------------------------------------------------------------------------------


STAMPED = "date +%s.%N > stamps/{id}.start; sleep {sleep}; date +%s.%N > stamps/{id}.end"

GUARANTEES = """
workers: 2
tasks:
  - {{id: a, run: "{a}", files: [shared.txt]}}
  - {{id: b, run: "{b}", files: [shared.txt]}}
  - {{id: c, run: "{c}", files: [src/]}}
  - {{id: d, run: "{d}", files: [src/mod.py], depends: [a]}}
  - {{id: e, run: "{e}", depends: [d, b]}}
  - {{id: f, run: "echo same >> twice.txt"}}
  - {{id: g, run: "echo same >> twice.txt"}}
"""


def stamps(root: Path, task: str) -> tuple[float, float]:
    """The (start, end) wall-clock times a task wrote."""
    start = float((root / "stamps" / f"{task}.start").read_text())
    return start, float((root / "stamps" / f"{task}.end").read_text())


def test_plan_keeps_its_guarantees_on_the_cluster(client: Client, tmp_path: Path) -> None:
    """Dependencies are respected and conflicting tasks never overlap (timestamps written by
    the tasks), identical commands both run, and the history names each attempt's worker."""
    (tmp_path / "stamps").mkdir()
    commands = {t: STAMPED.format(id=t, sleep=0.3) for t in "abcde"}
    plan = parse_plan_text(GUARANTEES.format(**commands), name="plan.yaml", root=str(tmp_path))
    executor = DaskExecutor(Client(client.scheduler.address, set_as_default=False))
    spec = SessionSpec(plan=plan, plan_file=str(tmp_path / "plan.yaml"), options=RunOptions(2))
    run_id, result = run_session(spec, executor=executor)
    assert result.status is RunStatus.SUCCEEDED
    times = {t: stamps(tmp_path, t) for t in "abcde"}
    for before, after in (("a", "d"), ("d", "e"), ("b", "e")):
        assert times[after][0] >= times[before][1], f"{after} started before {before} ended"
    for one, other in (("a", "b"), ("c", "d")):
        first, second = sorted((times[one], times[other]))
        assert second[0] >= first[1], f"{one} and {other} overlapped"
    assert (tmp_path / "twice.txt").read_text() == "same\nsame\n"
    with History.for_root(tmp_path) as history:
        attempts = history.attempts(run_id=run_id)
    assert len(attempts) == 7
    assert {a.worker for a in attempts} <= workers_of(client)
    assert {a.host for a in attempts} == {socket.gethostname()}


def test_killed_worker_mid_task_is_retried_and_the_run_completes(
    client: Client, tmp_path: Path
) -> None:
    """A worker killed while it runs a task: that attempt is recorded lost on the worker, the
    retry runs on another worker, and the run succeeds."""
    command = "echo $$ > pid.$WAVEPLAN_ATTEMPT; [ $WAVEPLAN_ATTEMPT = 1 ] && sleep 300; echo ok"
    text = f"""
tasks:
  - {{id: slow, run: "{command}", retries: 1}}
  - {{id: after, run: "echo after", depends: [slow]}}
"""
    plan = parse_plan_text(text, name="plan.yaml", root=str(tmp_path))
    executor = DaskExecutor(Client(client.scheduler.address, set_as_default=False), grace=GRACE)
    spec = SessionSpec(
        plan=plan, plan_file=str(tmp_path / "plan.yaml"), options=RunOptions(2, retry_delay=0.1)
    )
    done: list[tuple[str, Any]] = []
    session = threading.Thread(target=lambda: done.append(run_session(spec, executor=executor)))
    session.start()
    try:
        pid = read_pid(tmp_path / "pid.1")
        (claim,) = (tmp_path / ".waveplan" / "runs").glob("*/slow.1.log.claim")
        address, _ = read_claim(str(claim))
        assert address is not None
        kill_worker(client, address)
    finally:
        session.join(timeout=60)
    assert not session.is_alive()
    ((run_id, result),) = done
    assert result.status is RunStatus.SUCCEEDED
    assert result.flaky == ("slow",)
    assert gone_within(pid, GRACE + 5)
    with History.for_root(tmp_path) as history:
        attempts = [a for a in history.attempts(run_id=run_id) if a.task == "slow"]
    assert [a.status for a in attempts] == [AttemptStatus.LOST, AttemptStatus.SUCCEEDED]
    assert attempts[0].worker == address
    assert attempts[1].worker not in (None, address)


def test_lost_attempt_is_retried_per_the_retry_policy() -> None:
    """A lost attempt counts as a failed one: retried when the task has retries left, and the
    task fails when it has none."""
    plan = parse_plan_text("tasks:\n  - {id: a, run: make}\n", name="plan.yaml")

    def lost_first(_task: str, attempt: int) -> AttemptStatus:
        return AttemptStatus.LOST if attempt == 1 else AttemptStatus.SUCCEEDED

    for retries, expected in ((0, TaskStatus.FAILED), (1, TaskStatus.SUCCEEDED)):
        runner = Runner(
            plan,
            run_id="r1",
            executor=FakeExecutor(outcomes=lost_first),
            sinks=[],
            options=RunOptions(1, retries=retries),
        )
        assert runner.run().statuses == {"a": expected}


# --- the command line ------------------------------------------------------------------------


PLAN = """
tasks:
  - {id: a, run: "echo a", files: [x.txt]}
  - {id: b, run: "echo b", files: [x.txt]}
  - {id: c, run: "echo c", depends: [a]}
  - {id: d}
"""


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def report(capsys: pytest.CaptureFixture[str], root: Path) -> dict[str, Any]:
    code, out, err = cli(capsys, "report", "--root", str(root), "--format", "json")
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


def test_cli_runs_on_a_scheduler_and_reports_each_task_worker(
    client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--backend dask --scheduler-address`` runs the plan on that cluster, as many tasks at
    once as it has threads, and ``report --format json`` gives each task's worker."""
    (tmp_path / "plan.yaml").write_text(PLAN)
    address = client.scheduler.address
    args = ["run", str(tmp_path / "plan.yaml"), "--backend", "dask", "-q"]
    code, _, err = cli(capsys, *args, "--scheduler-address", address)
    assert code == 0, err
    data = report(capsys, tmp_path)
    assert data["workers"] == 2
    workers = {t["id"]: t["worker"] for t in data["tasks"]}
    assert set(workers) == {"a", "b", "c", "d"}
    assert workers.pop("d") is None  # a checkpoint runs nowhere
    assert set(workers.values()) <= workers_of(client)


def test_cli_gives_remote_tasks_a_plain_pwd(
    client: Client,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A plan named ``../plan.yaml`` runs its remote tasks in the plan root without ``..``."""
    (tmp_path / "plan.yaml").write_text("tasks:\n  - {id: p, run: 'echo \"$PWD\"'}\n")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    address = client.scheduler.address
    args = ["run", "../plan.yaml", "--backend", "dask", "-q", "--scheduler-address", address]
    code, _, err = cli(capsys, *args)
    assert code == 0, err
    (logs,) = (tmp_path / ".waveplan" / "runs").iterdir()
    assert (logs / "p.1.log").read_text() == f"{tmp_path}\n"


def test_cli_starts_a_local_cluster_without_an_address(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without an address, a local cluster of --workers processes runs the plan."""
    (tmp_path / "plan.yaml").write_text(PLAN)
    args = ["run", str(tmp_path / "plan.yaml"), "--backend", "dask", "--workers", "2", "-q"]
    code, _, err = cli(capsys, *args)
    assert code == 0, err
    workers = [t["worker"] for t in report(capsys, tmp_path)["tasks"] if t["id"] != "d"]
    assert all(w.startswith("tcp://127.0.0.1:") for w in workers)


def test_cli_without_dask_says_how_to_install_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the extra installed, --backend dask is one line saying what to install."""
    monkeypatch.setitem(sys.modules, "distributed", None)
    (tmp_path / "plan.yaml").write_text(PLAN)
    code, out, err = cli(capsys, "run", str(tmp_path / "plan.yaml"), "--backend", "dask")
    assert code == 2
    assert out == ""
    assert err.strip().endswith(
        "--backend dask needs the 'distributed' package: install it with "
        "pip install 'waveplan[dask]'"
    )
    assert not (tmp_path / ".waveplan").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scheduler-address", "tcp://127.0.0.1:8786"], "--scheduler-address needs --backend"),
        (["--remote-root", "/srv/plan"], "--remote-root needs --backend dask"),
        (["--backend", "dask", "--remote-root", "srv/plan"], "give the absolute path"),
    ],
)
def test_cli_dask_options_are_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    """Dask options without the Dask backend, and a relative remote root, are usage errors."""
    (tmp_path / "plan.yaml").write_text(PLAN)
    code, _, err = cli(capsys, "run", str(tmp_path / "plan.yaml"), *args)
    assert code == 2
    assert message in err


def test_cli_cluster_without_workers_needs_a_worker_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """On a cluster with no workers yet, the default worker limit (its threads) would be
    zero: that is an error saying what to do, unless --workers is given."""
    (tmp_path / "plan.yaml").write_text(PLAN)
    with LocalCluster(
        n_workers=0,
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        silence_logs=logging.CRITICAL,
    ) as empty:
        args = ["run", str(tmp_path / "plan.yaml"), "--backend", "dask", "-q"]
        code, _, err = cli(capsys, *args, "--scheduler-address", empty.scheduler_address)
    assert code == 2
    assert "the Dask cluster has no workers yet; start some" in err


def test_cli_unreachable_scheduler_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scheduler address nobody listens on is one error line, exit code 2."""
    monkeypatch.setattr(dask_executor, "CONNECT_TIMEOUT", 1.0)
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    (tmp_path / "plan.yaml").write_text(PLAN)
    address = f"tcp://127.0.0.1:{port}"
    args = ["run", str(tmp_path / "plan.yaml"), "--backend", "dask"]
    code, _, err = cli(capsys, *args, "--scheduler-address", address)
    assert code == 2
    assert f"--scheduler-address {address}: cannot reach the Dask scheduler" in err


@pytest.mark.parametrize("remote", [True, False], ids=["scheduler", "local-cluster"])
def test_commands_stop_when_waveplan_is_killed(
    cluster: LocalCluster, tmp_path: Path, remote: bool
) -> None:
    """``kill -9`` of waveplan stops its commands: the scheduler drops the tasks of a client
    that went away, and a local cluster's workers die with waveplan, their guards stopping
    the commands."""
    (tmp_path / "plan.yaml").write_text('tasks:\n  - {id: a, run: "echo $$ > pid; sleep 300"}\n')
    args = ["run", "plan.yaml", "--backend", "dask", "--workers", "1", "-q"]
    if remote:
        args += ["--scheduler-address", cluster.scheduler_address]
    waveplan = subprocess.Popen([sys.executable, "-m", "waveplan", *args], cwd=tmp_path)
    try:
        pid = read_pid(tmp_path / "pid", seconds=30)
        waveplan.kill()
    finally:
        waveplan.kill()
        waveplan.wait()
    assert gone_within(pid, GRACE + 10)


def test_ctrl_c_interrupts_the_run_and_stops_the_remote_command(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    """SIGINT to ``waveplan run --backend dask``: the remote command is stopped, the attempt
    is recorded interrupted, and waveplan exits with 130."""
    (tmp_path / "plan.yaml").write_text('tasks:\n  - {id: a, run: "echo $$ > pid; sleep 300"}\n')
    args = ["run", "plan.yaml", "--backend", "dask", "--scheduler-address"]
    args += [cluster.scheduler_address, "--workers", "1", "-q"]
    waveplan = subprocess.Popen([sys.executable, "-m", "waveplan", *args], cwd=tmp_path)
    try:
        pid = read_pid(tmp_path / "pid", seconds=30)
        waveplan.send_signal(signal.SIGINT)
        assert waveplan.wait(timeout=30) == 130
    finally:
        waveplan.kill()
        waveplan.wait()
    assert gone_within(pid, GRACE + 10)
    with History.for_root(tmp_path) as history:
        (attempt,) = history.attempts()
    assert attempt.status is AttemptStatus.INTERRUPTED

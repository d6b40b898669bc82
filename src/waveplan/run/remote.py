"""What runs on a Dask worker: one attempt of a task, and the guard of the worker's processes.

:func:`run_attempt` is the function the Dask executor submits. It runs the command as the local
executor does (its own process group, the log appended to, the job's standard input or none,
plain commands without a shell), and on the worker it also:

- claims the attempt with a file beside its log (created exclusively), so that when Dask
  re-runs a task whose worker died (the scheduler's ``allowed-failures``), the second run
  reports the attempt ``lost`` instead of running the command again: waveplan's retry policy,
  not Dask's, decides whether it runs again;
- enforces the timeout itself, and stops the group when Dask no longer wants the task (the
  run was interrupted, or waveplan's client went away): SIGTERM, SIGKILL after the grace;
- registers the group with a guard process (one per worker process, reading a pipe from it)
  that terminates the worker's groups when the worker dies, so a lost attempt cannot go on
  running beside its retry.

Only the standard library and waveplan are needed here; ``distributed`` is imported only to
ask which worker this is.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from waveplan import __version__
from waveplan.model import AttemptStatus
from waveplan.run.local import open_log, open_stdin, start_command
from waveplan.run.procs import KILL_GRACE, group_alive, stop_group

__all__ = [
    "RemoteJob",
    "RemoteResult",
    "WireError",
    "guard_main",
    "read_claim",
    "run_attempt",
]

POLL = 0.05
"""Seconds between checks that Dask still wants a running attempt."""


class WireError(ValueError):
    """What came over the wire is not what this waveplan sends (another version?)."""


@dataclass(frozen=True, slots=True)
class RemoteJob:
    """One attempt as the worker sees it (paths already translated to the worker's mounts).

    It travels as a plain mapping (:meth:`to_wire`) carrying waveplan's version: a worker
    with another version of waveplan then fails the attempt with a message, where a pickled
    object of a changed class could confuse Dask itself."""

    command: str
    cwd: str
    env: Mapping[str, str] = field(default_factory=dict)
    log: str | None = None
    claim: str | None = None
    timeout: float | None = None
    grace: float = KILL_GRACE
    stdin: bytes | None = None

    def to_wire(self) -> dict[str, Any]:
        return {"waveplan": __version__, **{f.name: getattr(self, f.name) for f in fields(self)}}

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> RemoteJob:
        try:
            return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})
        except TypeError as exc:
            raise WireError(str(exc)) from None


@dataclass(frozen=True, slots=True)
class RemoteResult:
    """How the attempt ended; ``duration`` is measured on the worker's monotonic clock.
    ``message`` says why the command could not even start, for waveplan to add to the log
    (the worker may not have been able to write it)."""

    status: AttemptStatus
    exit_code: int | None
    duration: float
    worker: str | None
    host: str | None
    message: str | None = None

    def to_wire(self) -> dict[str, Any]:
        return {
            "waveplan": __version__,
            **{f.name: getattr(self, f.name) for f in fields(self)},
            "status": self.status.value,
        }

    @classmethod
    def from_wire(cls, data: object) -> RemoteResult:
        if not isinstance(data, Mapping) or data.get("waveplan") != __version__:
            version = data.get("waveplan") if isinstance(data, Mapping) else None
            raise WireError(f"the worker runs waveplan {version or '(unknown version)'}")
        try:
            return cls(
                **{f.name: data[f.name] for f in fields(cls)}
                | {"status": AttemptStatus(data["status"])}
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise WireError(f"unexpected result {exc}") from None


def _dask_task() -> tuple[str | None, Callable[[], bool]]:
    """The address of the Dask worker running this function, and a check that Dask still
    wants the task: a task whose future was cancelled or released (the run was interrupted, or
    waveplan's client went away) turns ``cancelled`` on its worker. Outside a worker: no
    address, and always wanted."""
    try:
        from distributed import get_worker  # noqa: PLC0415 - only workers have it for sure

        worker = get_worker()
    except (ImportError, ValueError):
        return None, lambda: True
    key = worker.get_current_task()

    def wanted() -> bool:
        try:
            state = worker.state.tasks.get(key)
        except AttributeError:  # a distributed without that state: never stop on it
            return True
        return state is not None and state.state != "cancelled"

    return str(worker.address), wanted


def write_claim(path: str, worker: str | None, host: str) -> bool:
    """Claim the attempt; False when it was claimed before (Dask is running it again)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    try:
        os.write(handle, f"{worker or ''}\n{host}\n".encode())
    finally:
        os.close(handle)
    return True


def read_claim(path: str) -> tuple[str | None, str | None]:
    """The worker address and host that claimed an attempt (None when unknown)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None, None
    worker = lines[0] if lines and lines[0] else None
    host = lines[1] if len(lines) > 1 and lines[1] else None
    return worker, host


def run_attempt(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Run one attempt (:meth:`RemoteJob.to_wire`) on this worker and say how it ended
    (:meth:`RemoteResult.to_wire`)."""
    started = time.monotonic()
    if spec.get("waveplan") != __version__:
        host = socket.gethostname()
        message = (
            f"waveplan: the worker on {host} runs waveplan {__version__}, this run needs "
            f"{spec.get('waveplan')}: install the same version everywhere\n"
        )
        address, _ = _dask_task()
        return RemoteResult(AttemptStatus.FAILED, None, 0.0, address, host, message).to_wire()
    return _run(RemoteJob.from_wire(spec), started).to_wire()


def _run(job: RemoteJob, started: float) -> RemoteResult:
    address, wanted = _dask_task()
    host = socket.gethostname()

    def result(status: AttemptStatus, code: int | None, message: str | None = None) -> RemoteResult:
        return RemoteResult(status, code, time.monotonic() - started, address, host, message)

    if not Path(job.cwd).is_dir():
        return result(
            AttemptStatus.FAILED,
            None,
            f"waveplan: the plan root {job.cwd} is not a folder on {host}: the workers must "
            "share it (--remote-root says where they mount it)\n",
        )
    if job.claim is not None and not write_claim(job.claim, address, host):
        first, first_host = read_claim(job.claim)
        return RemoteResult(AttemptStatus.LOST, None, 0.0, first, first_host)
    if not wanted():
        return result(AttemptStatus.INTERRUPTED, None)
    _GUARD.start(job.grace)
    log = open_log(job.log)
    stdin = open_stdin(job.stdin)
    try:
        process = start_command(
            job.command,
            cwd=job.cwd,
            env={**os.environ, "PWD": job.cwd, **job.env},
            stdin=stdin,
            log=log,
        )
    except OSError as exc:
        return result(
            AttemptStatus.FAILED, None, f"waveplan: cannot start the command on {host}: {exc}\n"
        )
    finally:
        for handle in (log, stdin):
            if handle != subprocess.DEVNULL:
                os.close(handle)
    _GUARD.add(process.pid)
    ended = threading.Event()
    stopped: list[AttemptStatus] = []
    deadline = None if job.timeout is None else started + job.timeout

    def watch() -> None:
        # This thread stops the group while the task's thread waits for (reaps) the command:
        # an unreaped command still counts as a member of its group (see the local executor).
        while True:
            left = POLL if deadline is None else min(POLL, deadline - time.monotonic())
            if ended.wait(max(0.0, left)):
                return
            if deadline is not None and time.monotonic() >= deadline:
                stopped.append(AttemptStatus.TIMED_OUT)
            elif not wanted():
                stopped.append(AttemptStatus.INTERRUPTED)
            else:
                continue
            stop_group(process.pid, job.grace)
            return

    watcher = threading.Thread(target=watch, daemon=True, name=f"waveplan-watch-{process.pid}")
    watcher.start()
    code = process.wait()
    ended.set()
    watcher.join()
    outcome = result(stopped[0] if stopped else _status(code), code)
    if group_alive(process.pid):  # background leftovers of a finished command
        threading.Thread(target=_stop_leftovers, args=(process.pid, job.grace), daemon=True).start()
    else:
        _GUARD.remove(process.pid)
    return outcome


def _status(code: int) -> AttemptStatus:
    return AttemptStatus.SUCCEEDED if code == 0 else AttemptStatus.FAILED


def _stop_leftovers(pgid: int, grace: float) -> None:
    stop_group(pgid, grace)
    _GUARD.remove(pgid)


class _Guard:
    """The worker process's guard: a child process told, through a pipe, which process groups
    this worker runs. When the pipe closes (the worker exited or died, ``kill -9`` included),
    it terminates the groups still registered."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._owner = 0

    def start(self, grace: float) -> None:
        """Start the guard unless it runs: before the command, so that registering the
        command's group right after it started is only a write to the pipe."""
        with self._lock:
            if self._process is None or self._owner != os.getpid():
                self._process = subprocess.Popen(
                    [sys.executable, "-m", "waveplan.run.remote", str(grace)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    start_new_session=True,
                )
                self._owner = os.getpid()

    def _send(self, line: str) -> None:
        with self._lock:
            if self._process is None or self._process.stdin is None:
                return
            try:
                self._process.stdin.write(line.encode())
                self._process.stdin.flush()
            except OSError:  # the guard died: start another for the next attempt
                self._process = None

    def add(self, pgid: int) -> None:
        self._send(f"+{pgid}\n")

    def remove(self, pgid: int) -> None:
        self._send(f"-{pgid}\n")


_GUARD = _Guard()


def guard_main(argv: list[str]) -> int:
    """The guard process: ``python -m waveplan.run.remote GRACE`` with the pipe as stdin."""
    grace = float(argv[0]) if argv else KILL_GRACE
    groups: set[int] = set()
    for raw in sys.stdin.buffer:
        line = raw.strip()
        if line[:1] in (b"+", b"-") and line[1:].isdigit():
            pgid = int(line[1:])
            if line.startswith(b"+"):
                groups.add(pgid)
            else:
                groups.discard(pgid)
    # Never signal init's group or the guard's own, whatever the pipe said.
    groups -= {0, 1, os.getpgrp()}
    alive = [pgid for pgid in groups if group_alive(pgid)]
    for pgid in alive:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while alive and time.monotonic() < deadline:
        time.sleep(0.02)
        alive = [pgid for pgid in alive if group_alive(pgid)]
    for pgid in alive:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
    return 0


if __name__ == "__main__":
    sys.exit(guard_main(sys.argv[1:]))

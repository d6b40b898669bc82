"""The local executors: each attempt is a shell command in its own process group.

Each attempt:

- runs ``/bin/sh -c COMMAND`` in the plan root, in a new session (its own process group), with
  standard output and error appended to its log file and no standard input (or the job's
  ``stdin``, read from an unlinked temporary file so a large prompt never blocks). Like make, a
  command made only of plain words (no quoting, variables, redirections or other shell syntax,
  and not a shell builtin) is executed directly, which saves starting a shell;
- on timeout, or when the run is interrupted, gets SIGTERM on its whole group, then SIGKILL
  after a grace period, so grandchildren go too;
- when the command exits, whatever it left running in its group is terminated, so a stray
  background process can neither hang the run nor outlive it.

Two executors share that: :class:`LocalExecutor` starts processes in the caller's thread and
waits for any of them to end by polling their pidfds (Linux 5.3 and later), so handing out the
next job costs no thread switch: 1000 no-op commands on 2 workers take about as long as
starting 1000 processes does (0.43 s here, against 0.65 s through a thread pool). While
the runner is away from :meth:`~LocalExecutor.wait` for longer than a moment (its history
write waiting for another program's lock, a display whose reader lags), one helper thread
notes when attempts end, so an attempt's end is when its process ended, not when the runner
came back to look.
:class:`ThreadedExecutor` runs each job in a worker thread of a fixed pool, for jobs that do
blocking work around the process (the git worktree executor), and where pidfds are missing
(:func:`local_executor` chooses).

A watchdog process (:mod:`waveplan.run.watchdog`) terminates the run's processes if waveplan
itself dies.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import queue
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from waveplan.model import AttemptStatus
from waveplan.run.executor import Job, Outcome
from waveplan.run.procs import KILL_GRACE, group_alive, stop_group

__all__ = [
    "LocalExecutor",
    "ThreadedExecutor",
    "direct_argv",
    "local_executor",
    "note_in_log",
    "open_log",
    "open_stdin",
    "pidfds_work",
    "start_command",
]

_WAKE = object()


class _Processes:
    """What both local executors share: the clock, starting an attempt's process, its status
    when it ends, stopping process groups and the watchdog."""

    def __init__(
        self,
        workers: int,
        *,
        run_id: str | None = None,
        grace: float = KILL_GRACE,
        watchdog: bool = True,
    ) -> None:
        self.workers = workers
        self.grace = grace
        self.host = socket.gethostname()
        self._started = time.monotonic()
        self._running: dict[tuple[str, int], subprocess.Popen[bytes]] = {}
        self._interrupted: set[tuple[str, int]] = set()
        self._lock = threading.Lock()
        self._stopping = False
        self._base_env = dict(os.environ)
        self._stoppers: list[threading.Thread] = []
        self._hurry = threading.Event()  # set: groups being stopped are killed at once
        self._watchdog = self._start_watchdog(run_id) if watchdog and run_id else None
        self._open()

    def _open(self) -> None:
        """Set up what the executor needs to take jobs (called last by ``__init__``)."""
        raise NotImplementedError

    def now(self) -> float:
        return time.monotonic() - self._started

    def terminate(self) -> None:
        with self._lock:
            self._stopping = True
            running = list(self._running.items())
            self._interrupted.update(key for key, _ in running)
        for _, process in running:
            self._stop_group_async(process.pid)

    def kill(self) -> None:
        self._hurry.set()
        self.terminate()

    def _stop_group_async(self, pgid: int) -> threading.Thread:
        thread = threading.Thread(
            target=stop_group, args=(pgid, self.grace, self._hurry), daemon=True
        )
        thread.start()
        with self._lock:
            self._stoppers = [t for t in self._stoppers if t.is_alive()]
            self._stoppers.append(thread)
        return thread

    def _join_stoppers(self) -> None:
        """Wait for the groups being stopped (at most the grace period, then they are
        killed): after ``close`` nothing an attempt started is left running, and a group
        that ignores SIGTERM still gets its SIGKILL before waveplan exits."""
        with self._lock:
            stoppers, self._stoppers = self._stoppers, []
        for thread in stoppers:
            thread.join()

    def _is_stopping(self) -> bool:
        return self._stopping

    def _spawn(self, job: Job, worker: str, start: float) -> subprocess.Popen[bytes] | Outcome:
        """Start the attempt's process (an outcome instead when it cannot start)."""
        assert job.command is not None
        log = open_log(job.log)
        stdin = open_stdin(job.stdin)
        try:
            process = start_command(
                job.command,
                cwd=job.cwd,
                env={**self._base_env, "PWD": _absolute(job.cwd), **job.env},
                stdin=stdin,
                log=log,
            )
        except OSError as exc:
            reason = f"cannot start the command: {exc}"
            if log != subprocess.DEVNULL:
                os.write(log, f"waveplan: {reason}\n".encode())
            end = self.now()
            return Outcome(job, AttemptStatus.FAILED, None, start, end, worker, self.host, reason)
        finally:
            if log != subprocess.DEVNULL:
                os.close(log)
            if stdin != subprocess.DEVNULL:
                os.close(stdin)
        key = (job.task, job.attempt)
        with self._lock:
            self._running[key] = process
            late = self._is_stopping()  # terminate() ran while this one was starting
            if late:
                self._interrupted.add(key)
        # The group is stopped from another thread while this one waits for (reaps) the
        # command: an unreaped command still counts as a member of its group, so stopping the
        # group before reaping it would always wait the whole grace period.
        if late:
            self._stop_group_async(process.pid)
        return process

    def _ended(
        self,
        job: Job,
        process: subprocess.Popen[bytes],
        start: float,
        worker: str,
        *,
        timed_out: bool,
        end: float | None = None,
    ) -> Outcome:
        """The outcome of an attempt whose command has been reaped (``end``: when it was
        seen to end, if that was before now)."""
        end = self.now() if end is None else min(end, self.now())
        if group_alive(process.pid):  # background leftovers of a finished command
            self._stop_group_async(process.pid)
        key = (job.task, job.attempt)
        with self._lock:
            del self._running[key]
            interrupted = key in self._interrupted
        code = process.returncode
        if interrupted:
            status = AttemptStatus.INTERRUPTED
        elif timed_out:
            status = AttemptStatus.TIMED_OUT
        elif code == 0:
            status = AttemptStatus.SUCCEEDED
        else:
            status = AttemptStatus.FAILED
        return Outcome(job, status, code, start, end, worker, self.host)

    def _begin(self, job: Job, worker: str) -> tuple[subprocess.Popen[bytes], float] | Outcome:
        """Start the job's process: the process and its start time, or the job's outcome
        when it ends at once (a checkpoint succeeds, nothing starts once the executor is
        stopping, a command that cannot start fails)."""
        start = self.now()
        if job.command is None:
            return Outcome(job, AttemptStatus.SUCCEEDED, 0, start, start, worker, self.host)
        if self._is_stopping():
            return Outcome(job, AttemptStatus.INTERRUPTED, None, start, start, worker, self.host)
        process = self._spawn(job, worker, start)
        return process if isinstance(process, Outcome) else (process, start)

    def _close_watchdog(self) -> None:
        if self._watchdog is not None:
            self._stop_watchdog(self._watchdog)
            self._watchdog = None

    @staticmethod
    def _start_watchdog(run_id: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-I", "-S", str(Path(__file__).with_name("watchdog.py")), run_id],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )

    @staticmethod
    def _stop_watchdog(process: subprocess.Popen[bytes]) -> None:
        assert process.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            process.stdin.write(b"done\n")
            process.stdin.close()
        process.wait()


WATCH_INTERVAL = 0.02
"""Seconds the runner may stay away from :meth:`LocalExecutor.wait` before the helper thread
notes the ends of attempts for it (also how often that thread looks)."""


@dataclass(eq=False)
class _Attempt:
    """A running attempt of the pidfd executor."""

    job: Job
    process: subprocess.Popen[bytes]
    start: float
    worker: str
    deadline: float  # on the executor's clock (inf: no timeout)
    pidfd: int
    timed_out: bool = False
    stopper: threading.Thread | None = None
    exited: bool = False  # its pidfd said so
    # When its process was first seen to have ended (by wait(), or by the helper thread while
    # the runner was away); every such time is at or after the real end.
    ended: float | None = None


class LocalExecutor(_Processes):
    """Runs jobs as local processes, at most ``workers`` at once, from the caller's thread:
    :meth:`submit` starts the process (or queues the job while every worker is busy), and
    :meth:`wait` polls the running processes' pidfds, a wake-up pipe and the nearest timeout."""

    def _open(self) -> None:
        workers = self.workers
        self._free = [f"w{n}" for n in range(workers, 0, -1)]  # popped from the end: w1 first
        self._queued: deque[Job] = deque()
        self._attempts: dict[int, _Attempt] = {}  # by pidfd
        self._ready: list[Outcome] = []
        self._poll = select.poll()
        self._wake_read, self._wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._poll.register(self._wake_read, select.POLLIN)
        self._away: float | None = self.now()  # since when the caller is out of wait()
        self._closed = threading.Event()
        self._watcher = threading.Thread(target=self._watch, daemon=True, name="waveplan-ends")
        self._watcher.start()

    # --- Executor interface ------------------------------------------------------------------

    def submit(self, job: Job) -> str | None:
        if self._free:
            self._start(job, self._free.pop())
        else:
            self._queued.append(job)
        return None

    def wait(self, timeout: float | None) -> list[Outcome]:
        self._away = None
        try:
            return self._wait(timeout)
        finally:
            self._away = self.now()

    def _wait(self, timeout: float | None) -> list[Outcome]:
        until = None if timeout is None else self.now() + timeout
        while True:
            if self._ready:
                found, self._ready = self._ready, []
                return found
            now = self.now()
            limits = [
                a.deadline
                for a in self._attempts.values()
                if not a.timed_out and a.deadline != math.inf
            ]
            if until is not None:
                limits.append(until)
            if any(a.exited for a in self._attempts.values()):
                limits.append(now + 0.02)  # a timed-out group still being stopped
            wait_ms = None if not limits else max(0, int((min(limits) - now) * 1000) + 1)
            woken = False
            for fd, _ in self._poll.poll(wait_ms):
                if fd == self._wake_read:
                    with contextlib.suppress(BlockingIOError):
                        while os.read(self._wake_read, 512):
                            pass
                    woken = True
                else:
                    attempt = self._attempts[fd]
                    attempt.exited = True
                    if attempt.ended is None:
                        attempt.ended = self.now()
            self._check(self.now())
            if self._ready or woken or (until is not None and self.now() >= until):
                found, self._ready = self._ready, []
                return found

    def interrupt(self) -> None:
        wake = self._wake_write
        if wake < 0:  # closed: its number may belong to another file by now
            return
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(wake, b"!")

    def terminate(self) -> None:
        super().terminate()
        while self._queued:
            job = self._queued.popleft()
            start = self.now()
            self._ready.append(
                Outcome(job, AttemptStatus.INTERRUPTED, None, start, start, None, self.host)
            )

    def close(self) -> None:
        self.terminate()
        while self._attempts:
            self.wait(None)
        self._ready.clear()
        self._join_stoppers()
        self._close_watchdog()
        self._closed.set()
        self._watcher.join()
        # (-1 first: a signal handler calling interrupt() must not write to a reused number)
        wake_read, wake_write = self._wake_read, self._wake_write
        self._wake_read = self._wake_write = -1
        self._poll.unregister(wake_read)
        os.close(wake_read)
        os.close(wake_write)

    # --- attempts ----------------------------------------------------------------------------

    def _start(self, job: Job, worker: str) -> None:
        ended = self._launch(job, worker)
        if ended is not None:
            self._settle(ended)

    def _launch(self, job: Job, worker: str) -> Outcome | None:
        """Start the job on the worker; its outcome when it ends at once."""
        begun = self._begin(job, worker)
        if isinstance(begun, Outcome):
            return begun
        process, start = begun
        pidfd = os.pidfd_open(process.pid)
        timeout = job.timeout
        deadline = start + timeout if timeout is not None else math.inf
        self._attempts[pidfd] = _Attempt(job, process, start, worker, deadline, pidfd)
        self._poll.register(pidfd, select.POLLIN)
        return None

    def _check(self, now: float) -> None:
        """Stop the attempts past their timeout; settle the ones that ended."""
        for pidfd, attempt in list(self._attempts.items()):
            if not attempt.timed_out and now >= attempt.deadline and not attempt.exited:
                attempt.timed_out = True
                attempt.stopper = self._stop_group_async(attempt.process.pid)
            if not attempt.exited:
                continue
            if attempt.process.returncode is None:
                attempt.process.wait()  # reaps at once: the pidfd said it ended
                self._poll.unregister(pidfd)
            if attempt.stopper is not None and attempt.stopper.is_alive():
                continue  # a timed-out group is gone (or killed) before the attempt ends
            del self._attempts[pidfd]
            os.close(pidfd)  # only now: the number is the attempt's key until then
            outcome = self._ended(
                attempt.job,
                attempt.process,
                attempt.start,
                attempt.worker,
                timed_out=attempt.timed_out,
                # A timed-out attempt ends when its group is gone, which only now is known.
                end=None if attempt.timed_out else attempt.ended,
            )
            self._settle(outcome)

    def _watch(self) -> None:
        """The helper thread: while the caller has been away from :meth:`wait` for more than
        WATCH_INTERVAL, note which attempts have ended, and when. It only ever sets an
        attempt's ``ended``: the caller's thread does everything else, as before. An attempt
        whose pidfd the caller closed meanwhile was settled already, so whatever this thread
        notes of it (its number may belong to another file by then) is never read."""
        while not self._closed.wait(WATCH_INTERVAL):
            away = self._away
            if away is None or self.now() - away < WATCH_INTERVAL:
                continue
            try:
                attempts = list(self._attempts.values())
            except RuntimeError:  # changed by the caller's thread meanwhile: look next time
                continue
            waiting = {a.pidfd: a for a in attempts if a.ended is None}
            if not waiting:
                continue
            poll = select.poll()
            for pidfd in waiting:
                poll.register(pidfd, select.POLLIN)
            ready = poll.poll(0)
            now = self.now()
            for pidfd, _ in ready:
                attempt = waiting[pidfd]
                if attempt.ended is None:
                    attempt.ended = now

    def _settle(self, outcome: Outcome) -> None:
        """Hand the outcome over and give its worker the next queued job (in a loop: queued
        jobs that end at once, like checkpoints, hand the worker on in turn)."""
        ended: Outcome | None = outcome
        while ended is not None:
            self._ready.append(ended)
            worker = ended.worker
            if worker is None:
                return
            if not self._queued:
                self._free.append(worker)
                return
            ended = self._launch(self._queued.popleft(), worker)


class ThreadedExecutor(_Processes):
    """Runs jobs as local processes on ``workers`` threads: each thread takes a job from a
    queue and runs it to the end (:meth:`_execute`, which subclasses extend)."""

    def _open(self) -> None:
        workers = self.workers
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._results: queue.SimpleQueue[Outcome | object] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, args=(f"w{n + 1}",), daemon=True, name=f"w{n + 1}")
            for n in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    # --- Executor interface ------------------------------------------------------------------

    def submit(self, job: Job) -> str | None:
        self._jobs.put(job)
        return None

    def wait(self, timeout: float | None) -> list[Outcome]:
        found: list[Outcome] = []
        try:
            item = self._results.get(timeout=timeout)
        except queue.Empty:
            return found
        while True:
            if isinstance(item, Outcome):
                found.append(item)
            try:
                item = self._results.get_nowait()
            except queue.Empty:
                return found

    def interrupt(self) -> None:
        self._results.put(_WAKE)

    def close(self) -> None:
        self.terminate()
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join()
        self._join_stoppers()
        self._close_watchdog()

    # --- workers -----------------------------------------------------------------------------

    def _work(self, name: str) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            self._results.put(self._execute(job, name))

    def _execute(self, job: Job, worker: str) -> Outcome:
        begun = self._begin(job, worker)
        if isinstance(begun, Outcome):
            return begun
        process, start = begun
        timed_out = False
        try:
            process.wait(timeout=job.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            stopper = self._stop_group_async(process.pid)
            process.wait()
            stopper.join()
        return self._ended(job, process, start, worker, timed_out=timed_out)


@functools.cache
def pidfds_work() -> bool:
    """Whether this system can wait for processes through pidfds (Linux 5.3 and later)."""
    if not hasattr(os, "pidfd_open"):
        return False
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError:
        return False
    return True


def local_executor(
    workers: int, *, run_id: str | None = None, grace: float = KILL_GRACE
) -> LocalExecutor | ThreadedExecutor:
    """The executor for local processes: the pidfd one where the system has pidfds."""
    if pidfds_work():
        return LocalExecutor(workers, run_id=run_id, grace=grace)
    return ThreadedExecutor(workers, run_id=run_id, grace=grace)


_PLAIN = re.compile(r"[A-Za-z0-9_./:@%+,-]+(?:[ \t]+[A-Za-z0-9_./:@%+,=-]+)*")
# Words the shell handles itself (changing its own state, or syntax), and builtins whose
# program namesake behaves differently (/bin/echo takes -e, /bin/pwd prints the physical path,
# /usr/bin/printf knows %q: `echo -e x` prints "-e x" through /bin/sh). Builtins that also
# exist as programs with the same behaviour (true, false, test...) may run directly.
_SHELL_ONLY = frozenset(
    """. : alias bg break case cd command continue do done echo elif else esac eval exec exit
    export fg fi for getopts hash if in jobs local printf pwd read readonly return set shift
    then times trap type ulimit umask unalias unset until wait
    while""".split()  # noqa: SIM905 - a word list
)


def direct_argv(command: str) -> list[str] | None:
    """The argument list to execute without a shell, when the shell would do nothing but
    split the command into words and find the program; None otherwise."""
    text = command.strip()
    if not _PLAIN.fullmatch(text):
        return None
    words = text.split()
    program = words[0]
    if program in _SHELL_ONLY or "=" in program:
        return None
    return words if _program(program) is not None else None


def start_command(
    command: str, *, cwd: str, env: Mapping[str, str], stdin: int, log: int
) -> subprocess.Popen[bytes]:
    """Start an attempt's command in a new session (its own process group), standard output
    and error appended to ``log``: executed directly when :func:`direct_argv` allows, else
    through ``/bin/sh -c``. ``env`` should set ``PWD``, as a shell would. Both executors
    start commands here. Raises OSError when not even the shell can start (``cwd`` is gone).
    """

    def popen(argv: list[str] | None) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            argv or ["/bin/sh", "-c", command],
            executable=_program(argv[0]) if argv else None,
            cwd=cwd,
            env=env,
            stdin=stdin,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    argv = direct_argv(command)
    if argv is None:
        return popen(None)
    try:
        return popen(argv)
    except OSError:
        # Not executable, or a script without a #! line: the shell says which (exit 126 or
        # 127), or runs the script itself, as it would have without waveplan.
        return popen(None)


def _program(program: str) -> str | None:
    """The file a directly executed program runs from (None if there is none): found once
    on the search path, so that starting it does not try every folder of PATH in turn."""
    if "/" in program:
        return program if Path(program).is_file() else None
    return _on_path(program, os.environ.get("PATH"))


@functools.lru_cache(maxsize=256)
def _on_path(program: str, path: str | None) -> str | None:
    """Where the program is on the search path (cached: a plan runs the same few programs
    thousands of times)."""
    return shutil.which(program, path=path)


@functools.lru_cache(maxsize=64)
def _absolute(folder: str) -> str:
    return str(Path(folder).absolute())


_LOG_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND


def open_log(path: str | None) -> int:
    """An append-only file descriptor for an attempt's output (or /dev/null). Its folder is
    made when missing: before the first attempt, or after a task removed it."""
    if path is None:
        return subprocess.DEVNULL
    try:
        return os.open(path, _LOG_FLAGS, 0o644)
    except FileNotFoundError:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, _LOG_FLAGS, 0o644)


def note_in_log(path: str | None, text: str) -> None:
    """Append ``text`` (one line of waveplan's own, such as why the attempt could not run) to
    an attempt's log, in one write beside the command's output. A log that cannot be written
    is passed over: the attempt's outcome says what happened all the same."""
    try:
        log = open_log(path)
    except OSError:
        return
    if log == subprocess.DEVNULL:
        return
    try:
        os.write(log, (text.rstrip("\n") + "\n").encode())
    except OSError:
        pass
    finally:
        os.close(log)


def open_stdin(data: bytes | None) -> int:
    """A file descriptor to read ``data`` from (or /dev/null): an unlinked temporary file,
    which the command can read at its own pace (a pipe would block waveplan on a big prompt
    the command does not read)."""
    if data is None:
        return subprocess.DEVNULL
    fd, path = tempfile.mkstemp(prefix="waveplan-stdin-")
    try:
        Path(path).unlink()
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd

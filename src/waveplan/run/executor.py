"""The executor interface: how the runner hands work out and gets results back.

The runner decides *what* starts (through the scheduler); an executor decides *how* it runs: as
local processes, on a Dask cluster, in a git worktree, or not at all (the dry-run fake). Every
executor also owns the clock the runner uses, so a fake executor can run on virtual time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from waveplan.model import AttemptStatus, WorktreeRecord

__all__ = ["Executor", "Job", "Outcome"]


@dataclass(frozen=True, slots=True)
class Job:
    """One attempt of one task to execute.

    ``command`` is a shell command (None for a checkpoint task, which succeeds at once);
    ``env`` holds the variables to add to the environment; ``duration`` is the plan's estimate
    (the dry-run executor takes exactly that long). ``stdin`` is what the command reads on its
    standard input (an agent's prompt); None gives it none.
    """

    task: str
    attempt: int
    command: str | None
    cwd: str
    env: Mapping[str, str] = field(default_factory=dict)
    log: str | None = None
    timeout: float | None = None
    duration: float = 0.0
    stdin: bytes | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a job ended; ``start`` and ``end`` are on the executor's clock.

    ``reason`` explains a status the exit code does not (a merge conflict); ``worktree`` is
    what an attempt in its own git worktree did to the repository.
    """

    job: Job
    status: AttemptStatus
    exit_code: int | None
    start: float
    end: float
    worker: str | None = None
    host: str | None = None
    reason: str | None = None
    worktree: WorktreeRecord | None = None


class Executor(Protocol):
    """Runs jobs; single-threaded use by the runner, whatever it does inside."""

    def now(self) -> float:
        """Seconds since the executor started (the runner's clock)."""
        ...

    def submit(self, job: Job) -> str | None:
        """Start a job; returns the worker it runs on, when known."""
        ...

    def wait(self, timeout: float | None) -> list[Outcome]:
        """Block until at least one job ended (or ``timeout`` seconds passed, or
        :meth:`interrupt` was called); return the outcomes."""
        ...

    def interrupt(self) -> None:
        """Wake a pending :meth:`wait` (safe to call from a signal handler)."""
        ...

    def terminate(self) -> None:
        """Stop every running job (their outcomes arrive as interrupted)."""
        ...

    def kill(self) -> None:
        """Stop every running job at once, without the grace period :meth:`terminate` gives
        (a second Ctrl-C); an executor that cannot hurry terminates."""
        ...

    def close(self) -> None:
        """Release everything; running jobs are terminated."""
        ...

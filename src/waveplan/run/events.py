"""Run events and the sinks that receive them.

The runner reports everything it does as events; sinks (the history, the progress display, a
recording sink in tests) receive them in order. A sink's ``close`` is always called, also when
the run ends by an exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from waveplan.model import AttemptStatus, RunStatus, TaskStatus, WorktreeRecord

__all__ = [
    "BatchingSink",
    "Event",
    "RecordingSink",
    "RunFinished",
    "RunStarted",
    "Sink",
    "TaskFinished",
    "TaskRetrying",
    "TaskSettled",
    "TaskStarted",
]


@dataclass(frozen=True, slots=True)
class RunStarted:
    """A session of a run begins. ``planned`` maps the ids of the tasks it has to run (not
    those already done) to their planned (start, end)."""

    run_id: str
    tasks: int
    already_done: int
    workers: int
    resumed: bool
    planned: Mapping[str, tuple[float, float]]
    planned_makespan: float
    log_dir: str | None


@dataclass(frozen=True, slots=True)
class TaskStarted:
    """An attempt of a task starts (``time``: seconds since the session began)."""

    task: str
    attempt: int
    time: float
    worker: str | None
    log: str | None


@dataclass(frozen=True, slots=True)
class TaskFinished:
    """An attempt ended. ``tail`` holds the end of the log when it did not succeed;
    ``reason`` says why when the exit code does not (a merge conflict); ``worktree`` is what
    an attempt in its own git worktree did to the repository."""

    task: str
    attempt: int
    status: AttemptStatus
    exit_code: int | None
    time: float
    duration: float
    log: str | None
    tail: str | None = None
    worker: str | None = None
    host: str | None = None
    reason: str | None = None
    worktree: WorktreeRecord | None = None


@dataclass(frozen=True, slots=True)
class TaskRetrying:
    """A task will be tried again after ``delay`` seconds: a failed one, or with
    ``after_conflict`` one whose work did not merge, run again at once (``--on-conflict
    rerun``)."""

    task: str
    next_attempt: int
    delay: float
    after_conflict: bool = False


@dataclass(frozen=True, slots=True)
class TaskSettled:
    """A task's outcome in this session is final: succeeded, failed, skipped (and why) or
    interrupted."""

    task: str
    status: TaskStatus
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class RunFinished:
    """The session ended (``wall``: its length in seconds)."""

    run_id: str
    status: RunStatus
    wall: float
    counts: Mapping[TaskStatus, int]
    flaky: tuple[str, ...]


Event = RunStarted | TaskStarted | TaskFinished | TaskRetrying | TaskSettled | RunFinished


class Sink(Protocol):
    """Receives every event of a run, in order."""

    def handle(self, event: Event) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class BatchingSink(Protocol):
    """A sink that wants to know which events the runner hands over together (one turn of
    its loop, all happening at the same moment): the history commits them in one go."""

    def begin_batch(self) -> None: ...

    def end_batch(self) -> None: ...


class RecordingSink:
    """Keeps every event; used by tests to check the exact sequence."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.closed = False

    def handle(self, event: Event) -> None:
        self.events.append(event)

    def close(self) -> None:
        self.closed = True

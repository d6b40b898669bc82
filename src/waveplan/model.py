"""The data model: frozen dataclasses and enums shared by every layer.

A :class:`Plan` is what a task file says once it has been parsed and validated: tasks sorted
by id (natural order, so ``t2`` comes before ``t10``), each with its dependencies, its resource
accesses and its duration estimate. Nothing here does I/O or knows about file formats.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

__all__ = [
    "Access",
    "AttemptInfo",
    "AttemptStatus",
    "DurationSource",
    "Evidence",
    "Isolation",
    "Mode",
    "Origin",
    "Plan",
    "PlanSource",
    "ResourceKind",
    "RunInfo",
    "RunStatus",
    "RunSummary",
    "Slot",
    "SourceFormat",
    "Task",
    "TaskRun",
    "TaskStatus",
    "WorktreeRecord",
    "id_sort_key",
]


class Mode(Enum):
    """How a task uses a resource."""

    READ = "read"  # shared with other readers
    WRITE = "write"  # exclusive
    AMOUNT = "amount"  # takes an amount of a counted resource


class ResourceKind(Enum):
    """The namespace a resource lives in; resources of different kinds never overlap."""

    FILE = "file"  # paths, directories (trailing /) and globs under the plan root
    STATE = "state"  # named runtime state, hierarchical with '.': db covers db.users
    TEST = "test"  # test resources: test paths (file rules) or names such as port:8080
    COUNTED = "counted"  # a resource with a capacity, used in amounts


class Origin(Enum):
    """Where an access comes from; outputs keep the kinds apart."""

    DECLARED = "declared"  # written in the plan
    INFERRED = "inferred"  # found by analysis of code, prose or history
    OBSERVED = "observed"  # seen touched by an earlier run


class DurationSource(Enum):
    """Where a task's duration estimate comes from."""

    DECLARED = "declared"
    DEFAULT = "default"
    HISTORY = "history"


@dataclass(frozen=True, slots=True)
class Access:
    """One use of one resource by one task.

    ``key`` is normalised by the loader: files are POSIX paths relative to the plan root
    (directories end with ``/``), state names are dotted, counted resources are bare names.
    ``amount`` is meaningful only for :attr:`Mode.AMOUNT`.
    """

    kind: ResourceKind
    key: str
    mode: Mode
    amount: int = 0
    origin: Origin = Origin.DECLARED

    def describe(self) -> str:
        """Short human form: ``src/a.ts (write)``, ``db-connections x2``."""
        if self.mode is Mode.AMOUNT:
            return f"{self.key} x{self.amount}"
        prefix = (
            "" if self.kind in (ResourceKind.FILE, ResourceKind.COUNTED) else f"{self.kind.value}:"
        )
        return f"{prefix}{self.key} ({self.mode.value})"


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why an inferred access is in a plan: the finding that added it and what was seen.

    ``finding`` names the kind of finding (``import coupling``, ``test footprint``, ``test
    conflict``, ``state``, ``likely also touched``); ``lines`` are what was seen, one sentence
    or source line each (``src/app.py:3: from pkg import core``).
    """

    finding: str
    lines: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Task:
    """A unit of work."""

    id: str
    title: str
    depends: tuple[str, ...] = ()
    accesses: tuple[Access, ...] = ()
    duration: float = 1.0
    duration_source: DurationSource = DurationSource.DEFAULT
    run: str | None = None
    retries: int | None = None
    timeout: float | None = None
    done: bool = False  # finished before waveplan saw the plan: shown by `plan`, skipped by `run`
    description: str = ""  # the task's body text in its source (agent prompts use it)
    agent: str | None = None  # a prompt template for the agent command (instead of `run`)


class Isolation(Enum):
    """Where a run's tasks work: all in the plan root, or each in its own git worktree."""

    NONE = "none"
    WORKTREE = "worktree"


class SourceFormat(Enum):
    """The format a plan was read from: a task file, or a plan an agent framework wrote."""

    WAVEPLAN = "waveplan"  # a YAML, JSON or TOML task file
    MARKDOWN = "markdown"  # a markdown plan in the seed article's style
    GSD = "gsd"  # a GSD phase folder (.planning/phases/NN-name/)
    CCPM = "ccpm"  # a ccpm epic folder (.claude/epics/<epic>/)
    SISYPHUS = "sisyphus"  # a Sisyphus / oh-my-openagent plan (.sisyphus/plans/*.md)


@dataclass(frozen=True, slots=True)
class PlanSource:
    """What an imported plan declared, kept to compare with what waveplan computes.

    ``declared_waves`` lists the waves the source declared, in order, as task ids (None when
    the format has no waves); ``wave_numbers`` the number the source gave each of them.
    ``parallel`` are the tasks the source marks as parallel. ``warnings`` are the import's
    findings, one sentence each, naming tasks by their ids in the source. ``source_ids`` maps
    a task id to its id in the source where the two differ. ``provenance`` says, per task and
    field, where the value came from (``file:line``); accesses are fields named
    ``files:KEY``, ``reads:KEY`` and ``state:KEY``.
    """

    format: SourceFormat
    declared_waves: tuple[tuple[str, ...], ...] | None = None
    wave_numbers: tuple[int, ...] = ()
    parallel: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    source_ids: Mapping[str, str] = field(default_factory=dict)
    provenance: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def source_id(self, task_id: str) -> str:
        """The task's id as the source writes it."""
        return self.source_ids.get(task_id, task_id)


@dataclass(frozen=True, slots=True)
class Plan:
    """A validated plan: tasks sorted by :func:`id_sort_key`, ids unique.

    ``root`` is the folder that task paths are relative to; ``source`` the file it came from.
    ``workers`` is the worker limit (None: unlimited); ``capacities`` the counted resources.
    ``origin`` is set when the plan was imported from another format (None for task files).
    ``evidence`` says, per task id and inferred access, why the access was inferred (for the
    accesses ``waveplan plan --infer`` adds from code, tests and history).
    ``isolate`` is the plan's ``isolate:`` key (None when it does not say).
    ``timed`` says that durations are seconds: a task wrote its duration with a unit (``30m``)
    or durations were measured (:mod:`waveplan.units`); otherwise they have no unit.
    ``default_duration`` is what a task without an estimate counts as (the plan's
    ``default_duration:`` key, else 1).
    """

    tasks: tuple[Task, ...]
    name: str | None = None
    workers: int | None = None
    capacities: Mapping[str, int] = field(default_factory=dict)
    root: str = "."
    source: str = "<memory>"
    origin: PlanSource | None = None
    evidence: Mapping[str, Mapping[Access, Evidence]] = field(default_factory=dict)
    isolate: Isolation | None = None
    timed: bool = False
    default_duration: float = 1.0

    def task(self, task_id: str) -> Task:
        """The task with this id (KeyError if there is none)."""
        for candidate in self.tasks:
            if candidate.id == task_id:
                return candidate
        raise KeyError(task_id)


_DIGITS = re.compile(r"(\d+)")


def id_sort_key(task_id: str) -> tuple[tuple[str | int, ...], str]:
    """Natural order of ids: ``t2`` before ``t10``; the raw id breaks remaining ties.

    Text and number runs alternate at fixed positions, so comparing two keys only ever compares
    str with str and int with int.
    """
    parts = _DIGITS.split(task_id)
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts)), task_id


@dataclass(frozen=True, slots=True)
class Slot:
    """When and on which worker lane one task runs in a schedule."""

    task: str
    start: float
    end: float
    worker: int


class AttemptStatus(Enum):
    """How one try of one task ended (or that it is still running)."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # non-zero exit status
    TIMED_OUT = "timed-out"  # killed after its timeout
    INTERRUPTED = "interrupted"  # stopped by Ctrl-C, SIGTERM or a crash of waveplan
    LOST = "lost"  # the worker running it went away
    CONFLICT = "conflict"  # succeeded, but its work does not merge into the integration branch


class TaskStatus(Enum):
    """A task's outcome in a run."""

    PENDING = "pending"  # not finished yet (the run is still going, or was killed)
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"  # not run: a dependency failed, or the run stopped first
    INTERRUPTED = "interrupted"
    CONFLICT = "conflict"  # its work did not merge (isolated runs): blocks dependents


class RunStatus(Enum):
    """A run's outcome."""

    RUNNING = "running"  # in progress, or waveplan was killed (resume it)
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True, slots=True)
class WorktreeRecord:
    """What an attempt in its own git worktree did to the repository.

    ``base`` is the integration branch's commit the worktree started from; ``head`` the task
    branch's commit after waveplan committed the attempt's changes; ``merged`` the merge commit
    on the integration branch (None when nothing was merged). ``observed`` is the observed
    footprint: the files the attempt changed (``head`` against ``base``), relative to the plan
    root. ``undeclared`` are the observed files none of the task's declared writes cover, and
    ``overlaps`` maps each of them to the other tasks whose declared files cover it.
    ``conflict_paths`` are the files that did not merge and ``conflict_with`` the tasks whose
    merged work they collided with; ``shared`` are files other merged tasks changed too that
    merged cleanly ("file overlap, merges cleanly").
    """

    branch: str
    base: str | None = None
    head: str | None = None
    merged: str | None = None
    observed: tuple[str, ...] = ()
    undeclared: tuple[str, ...] = ()
    overlaps: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    conflict_paths: tuple[str, ...] = ()
    conflict_with: tuple[str, ...] = ()
    shared: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AttemptInfo:
    """One try of one task. Times are seconds since the epoch."""

    task: str
    attempt: int
    start: float
    end: float | None
    status: AttemptStatus
    exit_code: int | None = None
    worker: str | None = None
    host: str | None = None
    command_hash: str | None = None
    log: str | None = None
    worktree: WorktreeRecord | None = None  # runs with --isolate worktree
    session: int | None = None  # which waveplan process of the run made it (1, 2, ... on resume)
    # found merged on resume after waveplan died: its end is its merge commit's (to the second)
    recovered: bool = False


@dataclass(frozen=True, slots=True)
class TaskRun:
    """A task's record in a run: its attempts, outcome and why it was skipped."""

    id: str
    status: TaskStatus
    attempts: tuple[AttemptInfo, ...] = ()
    reason: str | None = None

    @property
    def flaky(self) -> bool:
        """Succeeded after a retry: an attempt of the same command failed or timed out earlier
        in the same session (an attempt that was interrupted, lost or did not merge did not
        fail, a command that changed since is another command, and a run resumed after a
        failure that stopped it was fixed, not retried)."""
        final = self.final
        if self.status is not TaskStatus.SUCCEEDED or final is None:
            return False
        return any(
            a.status in (AttemptStatus.FAILED, AttemptStatus.TIMED_OUT)
            and a.command_hash == final.command_hash
            and a.session == final.session
            for a in self.attempts
        )

    @property
    def final(self) -> AttemptInfo | None:
        """The last attempt, if any."""
        return self.attempts[-1] if self.attempts else None


@dataclass(frozen=True, slots=True)
class RunSummary:
    """A recorded run in brief: one line of ``waveplan history``."""

    run_id: str
    plan_file: str
    status: RunStatus
    started: float
    ended: float | None
    tasks: int
    succeeded: int
    failed: int
    dry_run: bool


@dataclass(frozen=True, slots=True)
class RunInfo:
    """A run of a plan as the history records it.

    ``wall`` is the measured makespan: the wall-clock time waveplan spent running this plan,
    summed over the sessions of a resumed run. ``plan`` is the plan as it was run.
    ``integration_branch`` is the branch an isolated run merged its tasks into (None when the
    tasks ran in the plan root). ``sessions`` maps each session (waveplan process) of the run
    to its start and end, seconds since the epoch.
    """

    run_id: str
    plan: Plan
    status: RunStatus
    started: float
    ended: float | None
    workers: int
    wall: float
    tasks: tuple[TaskRun, ...]
    dry_run: bool = False
    integration_branch: str | None = None
    sessions: Mapping[int, tuple[float, float]] = field(default_factory=dict)
    barrier: bool = False  # the run ran the practical waves one after another (--barrier)

    def clock(self, when: float, session: int | None) -> float:
        """Seconds of the run at ``when`` (seconds since the epoch) in ``session``: the time
        the run's sessions ran before it, not the pauses between them."""
        if session is None or session not in self.sessions:
            return when - self.started
        start, _ = self.sessions[session]
        before = sum(end - begin for n, (begin, end) in self.sessions.items() if n < session)
        return before + (when - start)

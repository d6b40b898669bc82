"""A run session: lock the plan root, tidy up after crashed runs, record, run, record.

This is what ``waveplan run`` does between parsing its options and printing the result:

1. take the plan root's run lock (a second ``waveplan run`` on the same root is refused);
2. any run still marked running belonged to a waveplan that died: mark its attempts
   interrupted and terminate its leftover processes;
3. start a new run, or with ``resume`` continue the latest run of the same plan file (tasks
   that succeeded and whose definition did not change are not run again); tasks the plan
   marks done (``done: true``, or done in the source of an imported plan) are recorded as
   succeeded with the reason "done in the source" and not run;
4. run it, writing every event to the history as it happens.

An isolated run (``--isolate worktree``) checks its repository and integration branch before
step 1, so one refused there writes nothing, and also records its integration branch;
resuming one first looks on that branch for tasks whose work was merged before waveplan
stopped, and records them as succeeded (see :mod:`waveplan.run.worktree`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import socket
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from waveplan.errors import UserError
from waveplan.graph import Graph
from waveplan.history import (
    HISTORY_FILE,
    History,
    WorktreeRun,
    command_hash,
    plan_file_key,
    state_dir,
)
from waveplan.model import Isolation, Mode, Origin, Plan, RunStatus, Task, TaskStatus
from waveplan.render.taskfile import taskfile_json
from waveplan.resources.index import ResourceIndex
from waveplan.run.agent import AGENT_CMD_ENV
from waveplan.run.events import (
    Event,
    RunFinished,
    Sink,
    TaskFinished,
    TaskSettled,
    TaskStarted,
)
from waveplan.run.executor import Executor
from waveplan.run.fake import FakeExecutor
from waveplan.run.git import find_repository
from waveplan.run.local import local_executor
from waveplan.run.lock import RunLock
from waveplan.run.procs import processes_of_run, stop_processes
from waveplan.run.runner import Runner, RunOptions, RunResult
from waveplan.run.worktree import (
    Workspace,
    WorktreeExecutor,
    check_checkout_clean,
    into_branch,
    resolve_target,
)
from waveplan.schedule.scheduler import Policy

__all__ = [
    "DONE_IN_SOURCE",
    "MERGED_BEFORE",
    "HistorySink",
    "SessionSpec",
    "definition_hash",
    "new_run_id",
    "run_session",
]

DONE_IN_SOURCE = "done in the source"
"""The reason recorded for a task the plan marks done, which the run does not start."""
MERGED_BEFORE = "merged before waveplan stopped"
"""The reason recorded, on resume, for a task whose work was found on the integration branch."""


def new_run_id(now: float | None = None) -> str:
    """A sortable, branch-safe run id: ``20261126-052100-3f9a``."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(time.time() if now is None else now))
    return f"{stamp}-{secrets.token_hex(2)}"


def definition_hash(task: Task) -> str:
    """What makes a task the same task for ``--resume``: its command or agent prompt,
    dependencies, declared accesses, retries, timeout and done mark (not its title or duration
    estimate, nor the accesses ``--infer`` or ``--learn`` add: they come from the code and the
    runs, which the run itself changes). A read of a key the task also writes is left out, as
    the loader once dropped it, so the hashes of earlier runs stay valid."""
    declared = [a for a in task.accesses if a.origin is Origin.DECLARED]
    written = {(a.kind, a.key) for a in declared if a.mode is Mode.WRITE}
    data: list[object] = [
        task.run,
        list(task.depends),
        sorted(
            (a.kind.value, a.key, a.mode.value, a.amount)
            for a in declared
            if a.mode is not Mode.READ or (a.kind, a.key) not in written
        ),
        task.retries,
        task.timeout,
    ]
    if task.agent is not None:  # only then, so the hashes of earlier runs stay valid
        data.append(task.agent)
    if task.done:  # a task no longer done in the source is not the task recorded as done
        data.append("done")
    return hashlib.sha256(json.dumps(data).encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class SessionSpec:
    """What to run and how."""

    plan: Plan
    plan_file: str
    options: RunOptions
    resume: bool = False
    dry_run: bool = False
    isolate: Isolation = Isolation.NONE
    into: str | None = None
    policy: Policy | None = None  # the practical schedule's policy (None: critical-path rule)
    graph: Graph | None = None  # the plan's graph and overlap index, when the caller has them
    index: ResourceIndex | None = None


class HistorySink:
    """Writes each event to the history as it happens."""

    def __init__(
        self,
        history: History,
        run_id: str,
        session: int,
        *,
        wall0: float,
        started: float,
        plan: Plan,
    ) -> None:
        """``wall0`` is the epoch time of the executor's clock's zero (events carry executor
        times), ``started`` the session's start (a run's duration counts from there)."""
        self.history = history
        self.run_id = run_id
        self.session = session
        self.wall0 = wall0
        self.started = started
        self.host = socket.gethostname()
        self.commands = {t.id: command_hash(t) for t in plan.tasks}

    def handle(self, event: Event) -> None:
        if isinstance(event, TaskStarted):
            self.history.attempt_started(
                self.run_id,
                event.task,
                event.attempt,
                session=self.session,
                start=self.wall0 + event.time,
                worker=event.worker,
                host=self.host,
                command_hash=self.commands.get(event.task),
                log=event.log,
            )
        elif isinstance(event, TaskFinished):
            self.history.attempt_finished(
                self.run_id,
                event.task,
                event.attempt,
                end=self.wall0 + event.time,
                status=event.status,
                exit_code=event.exit_code,
                worker=event.worker,
                host=event.host,
            )
            if event.worktree is not None:
                self.history.worktree_attempt(
                    self.run_id, event.task, event.attempt, event.worktree
                )
        elif isinstance(event, TaskSettled):
            self.history.task_finished(self.run_id, event.task, event.status, event.reason)
        elif isinstance(event, RunFinished):
            ended = self.started + event.wall
            self.history.end_session(self.run_id, self.session, ended)
            self.history.finish_run(self.run_id, event.status, ended)

    def begin_batch(self) -> None:
        self.history.begin()

    def end_batch(self) -> None:
        self.history.commit()

    def close(self) -> None:
        pass


def tidy_crashed_runs(history: History, now: float) -> list[str]:
    """Runs left marked running by a waveplan that died: mark them interrupted and stop the
    processes they left. Only called while holding the run lock, so none of them is live."""
    crashed = [s.run_id for s in history.summaries() if s.status is RunStatus.RUNNING]
    for run_id in crashed:
        stop_processes(processes_of_run(run_id))
        history.abandon_attempts(run_id, now)
        for task, (status, _) in history.task_states(run_id).items():
            if status is TaskStatus.PENDING:
                history.task_finished(run_id, task, TaskStatus.INTERRUPTED, "waveplan stopped")
        history.finish_run(run_id, RunStatus.INTERRUPTED, now)
    return crashed


def run_session(
    spec: SessionSpec,
    *,
    sinks: Sequence[Sink] = (),
    executor: Executor | None = None,
    on_runner: Callable[[Runner], None] | None = None,
) -> tuple[str, RunResult]:
    """Run (or resume) the plan; returns the run id and the result.

    ``on_runner`` receives the runner before it starts (the CLI connects signals to it).
    Sinks are always closed, also when the run ends by an exception.
    """
    plan = spec.plan
    folder = state_dir(plan.root)
    new_id = new_run_id()  # (a resumed run keeps its own)
    target = None
    if spec.resume and not (folder / HISTORY_FILE).exists():
        raise _nothing_to_resume(spec)  # (before the lock and the history: writes nothing)
    if not spec.dry_run and not spec.resume:
        check_agent_command(plan, spec.options.agent_command)
        if spec.isolate is Isolation.WORKTREE:
            # Before the lock and the history are made: a run refused here (not in a
            # repository, no commit yet, a bad --into, a branch in the way) writes nothing.
            target = resolve_target(plan.root, spec.into, new_id)
    try:
        with RunLock(folder), History.for_root(plan.root) as history:
            tidy_crashed_runs(history, time.time())
            definitions = {t.id: definition_hash(t) for t in plan.tasks}
            snapshot = taskfile_json(plan)
            done: set[str] = set()
            first_attempt: dict[str, int] = {}
            workspace: Workspace | None = None
            if spec.resume:
                run_id = _resumable(history, spec)
                before = history.task_states(run_id)
                done = {
                    task
                    for task, (status, definition) in before.items()
                    if status is TaskStatus.SUCCEEDED and definitions.get(task) == definition
                }
                if not spec.dry_run:
                    check_agent_command(plan, spec.options.agent_command, done)
                    workspace = _resumed_workspace(spec, history, run_id)
                with history.transaction():
                    history.resume_run(
                        run_id,
                        snapshot=snapshot,
                        workers=spec.options.workers,
                        definitions=definitions,
                    )
                    session = _start_session(history, run_id)
                if workspace is not None:
                    done |= _recover_merged(history, run_id, workspace, before, definitions)
                first_attempt = _next_attempts(
                    history.next_attempt(run_id), folder / "runs" / run_id
                )
            else:
                run_id = new_id
                isolated = None
                if target is not None:  # its branch first: a run it refuses is not recorded
                    workspace = Workspace.start(target, run_id=run_id, plan=plan)
                    isolated = WorktreeRun(
                        str(workspace.repo.path), workspace.integration, workspace.base
                    )
                with history.transaction():
                    history.start_run(
                        run_id,
                        plan_file=spec.plan_file,
                        snapshot=snapshot,
                        root=plan.root,
                        started=time.time(),
                        workers=spec.options.workers,
                        dry_run=spec.dry_run,
                        options={
                            "keep_going": spec.options.keep_going,
                            "retries": spec.options.retries,
                            "timeout": spec.options.timeout,
                            "barrier": spec.options.barrier,
                        },
                        definitions=definitions,
                        worktree=isolated,
                    )
                    session = _start_session(history, run_id)
            for task in plan.tasks:  # done before waveplan saw the plan: not run again
                if task.done and task.id not in done:
                    history.task_finished(run_id, task.id, TaskStatus.SUCCEEDED, DONE_IN_SOURCE)
                    done.add(task.id)
            log_dir = None if spec.dry_run else str(folder / "runs" / run_id)
            # No more worker slots (and threads) than tasks: --workers 99999999999 made a
            # list of that many slot names, until the kernel killed waveplan for its memory.
            slots = min(spec.options.workers, max(1, len(plan.tasks)))
            if workspace is not None:
                if executor is not None:
                    raise UserError("tasks in worktrees run as local processes")
                executor = WorktreeExecutor(slots, workspace, run_id=run_id)
            elif executor is None:
                executor = FakeExecutor() if spec.dry_run else local_executor(slots, run_id=run_id)
            started = time.time()
            wall0 = started - executor.now()
            history.session_began(run_id, session, started)
            record = HistorySink(history, run_id, session, wall0=wall0, started=started, plan=plan)
            runner = Runner(
                plan,
                run_id=run_id,
                executor=executor,
                sinks=[record, *sinks],
                options=spec.options,
                log_dir=log_dir,
                done=done,
                first_attempt=first_attempt,
                policy=spec.policy,
                resumed=spec.resume,
                graph=spec.graph,
                index=spec.index,
            )
            if on_runner is not None:
                on_runner(runner)
            try:
                result = runner.run()
            finally:
                executor.close()
            return run_id, result
    finally:
        for sink in sinks:
            sink.close()


def _start_session(history: History, run_id: str) -> int:
    """Record that this process works on the run, in the transaction that records (or
    resumes) the run: a run recorded without it could not be told from one whose waveplan
    died (``history`` and ``report`` showed such a run running until the next run tidied it)."""
    return history.start_session(
        run_id, pid=os.getpid(), host=socket.gethostname(), started=time.time()
    )


def check_agent_command(plan: Plan, command: str | None, done: Collection[str] = ()) -> None:
    """Agent tasks that will run (not done in the source, nor ``done`` by the run being
    resumed) need the agent command."""
    if command:
        return
    waiting = [t.id for t in plan.tasks if t.agent is not None and not t.done and t.id not in done]
    if waiting:
        raise UserError(
            f"task '{waiting[0]}' has an agent prompt: give the command that runs the agent with "
            f"--agent-cmd or {AGENT_CMD_ENV} (see docs/worktrees.md)"
        )


def _resumed_workspace(spec: SessionSpec, history: History, run_id: str) -> Workspace | None:
    """The workspace of an isolated run being resumed (None for a run in the plan root)."""
    recorded = history.worktree_run(run_id)
    if recorded is None:
        if spec.isolate is Isolation.WORKTREE:
            raise UserError(
                f"run {run_id} ran its tasks in the plan root: resume it without "
                "--isolate worktree, or start a new run"
            )
        return None
    repo = find_repository(spec.plan.root)
    if repo is None:
        raise UserError(f"{spec.plan.root} is no longer in a git repository: cannot resume")
    if spec.into is not None:
        into = into_branch(repo, spec.into)  # HEAD: the branch checked out now
        if into != recorded.integration:
            named = f" (HEAD is {into})" if into != spec.into else ""
            raise UserError(
                f"run {run_id} merges into {recorded.integration}: resume it without "
                f"--into {spec.into}{named}"
            )
    if repo.rev(f"refs/heads/{recorded.integration}") is None:
        raise UserError(
            f"the integration branch {recorded.integration} of run {run_id} is gone: cannot resume"
        )
    check_checkout_clean(repo, recorded.integration)
    return Workspace(
        repo, run_id=run_id, integration=recorded.integration, base=recorded.base, plan=spec.plan
    )


def _recover_merged(
    history: History,
    run_id: str,
    workspace: Workspace,
    before: dict[str, tuple[TaskStatus, str]],
    definitions: dict[str, str],
) -> set[str]:
    """Tasks whose work reached the integration branch although the history does not say
    they succeeded (waveplan was killed between the merge and its record): they succeeded."""
    recovered: set[str] = set()
    for task, (attempt, record) in workspace.merged().items():
        status, definition = before.get(task, (TaskStatus.PENDING, ""))
        if status is TaskStatus.SUCCEEDED or definitions.get(task) != definition:
            continue
        merged = None if record.merged is None else workspace.repo.commit_time(record.merged)
        history.recover_attempt(run_id, task, attempt, merged=merged)
        history.worktree_attempt(run_id, task, attempt, record)
        history.task_finished(run_id, task, TaskStatus.SUCCEEDED, MERGED_BEFORE)
        workspace.repo.remove_worktree(workspace.worktree(task))
        recovered.add(task)
    return recovered


def _next_attempts(recorded: dict[str, int], log_dir: Path) -> dict[str, int]:
    """Per task, the number of its next attempt: past those the history records and those
    whose log exists. A waveplan killed between starting an attempt and recording it leaves
    only the log, which the next attempt must not append to."""
    found = dict(recorded)
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for entry in os.scandir(log_dir):
            stem, dot, number = entry.name.removesuffix(".log").rpartition(".")
            if dot and number.isdigit() and entry.name.endswith(".log"):
                found[stem] = max(found.get(stem, 1), int(number) + 1)
    return found


def _same_file(path: str) -> Callable[[str], bool]:
    """Whether a recorded plan path names the same file as ``path`` (runs recorded by older
    versions kept the path as it was spelled)."""
    key = plan_file_key(path)
    return lambda recorded: recorded == key or plan_file_key(recorded) == key


def _nothing_to_resume(spec: SessionSpec) -> UserError:
    kind = "dry run" if spec.dry_run else "run"
    return UserError(f"{spec.plan_file}: no earlier {kind} of this plan to resume")


def _resumable(history: History, spec: SessionSpec) -> str:
    """The run ``--resume`` continues: the plan's latest unfinished run of the same kind (a dry
    run resumes a dry run; a real run never takes fake attempts for real ones), past runs of
    some of its tasks that succeeded (``run plan.yaml a`` after a failed full run); nothing
    when the latest run of the whole plan succeeded. Runs recorded under another spelling of
    the plan's path (``..``, a symbolic link) count too."""
    plan_file, dry_run = spec.plan_file, spec.dry_run
    same = _same_file(plan_file)
    latest = [s for s in history.summaries() if s.dry_run == dry_run and same(s.plan_file)]
    if not latest:
        raise _nothing_to_resume(spec)
    wanted = {t.id for t in spec.plan.tasks}
    for summary in latest:
        if summary.status is not RunStatus.SUCCEEDED:
            return summary.run_id
        if set(history.task_states(summary.run_id)) >= wanted:
            break  # the whole plan succeeded
    raise UserError(
        f"{plan_file}: the last run ({latest[0].run_id}) succeeded; there is nothing to resume"
    )

"""``waveplan run PATH``: run the plan's tasks, record them, report the measured speedup."""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import click

from waveplan.cli.backend import check_backend_options, cluster_threads, dask_backend
from waveplan.cli.common import FOLDER, Seconds, handling, stdout_gone, terminal_style
from waveplan.cli.isolate import isolate_choice, isolate_options
from waveplan.cli.learn import learn_option, learnt_from_history
from waveplan.cli.sources import source_format, source_options, targets_argument
from waveplan.errors import UserError
from waveplan.graph import Graph, upstream
from waveplan.history import History, plan_file_key, state_dir
from waveplan.load import load_plan
from waveplan.model import Plan
from waveplan.resources.index import ResourceIndex
from waveplan.run.events import Sink
from waveplan.run.executor import Executor
from waveplan.run.runner import Runner, RunOptions
from waveplan.run.session import SessionSpec, run_session
from waveplan.schedule.analysis import practical_policy

__all__ = ["run_command"]


def _warn_of_checkpoints(plan: Plan, agent_command: str | None, given: bool) -> None:
    """Say so when the run will run nothing (every task a checkpoint, as in most imported
    plans) or when ``--agent-cmd`` was given but no task has an agent prompt."""
    to_run = [t for t in plan.tasks if not t.done]
    if to_run and all(t.run is None and t.agent is None for t in to_run):
        click.echo(
            "warning: no task has a command ('run:') or an agent prompt ('agent:'): each one "
            "is a checkpoint that succeeds at once",
            err=True,
        )
    if given and agent_command and not any(t.agent is not None for t in to_run):
        click.echo("warning: --agent-cmd is not used: no task has an agent prompt", err=True)


def _recordable(path: str) -> bool:
    """Whether a path can be stored as text (a folder named in another encoding cannot)."""
    try:
        path.encode()
    except UnicodeEncodeError:
        return False
    return True


class _StopSwitch:
    """Where a stop request goes: the runner once it exists; a request that arrives before it
    (while the history opens or worktrees are prepared) is kept and passed on when it does."""

    def __init__(self) -> None:
        self.runner: Runner | None = None
        self.pending = False

    def attach(self, runner: Runner) -> None:
        self.runner = runner
        if self.pending:
            runner.request_stop()

    def request(self) -> None:
        self.pending = True
        if self.runner is not None:
            self.runner.request_stop()


@contextmanager
def _stop_on_signals(switch: _StopSwitch) -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP (the terminal closed) stop the run cleanly instead of
    killing waveplan."""

    def handler(_signum: int, _frame: FrameType | None) -> None:
        switch.request()

    with handling((signal.SIGINT, signal.SIGTERM, signal.SIGHUP), handler):
        yield


def _progress(width: int) -> Sink:
    """The progress display: live on a terminal, one line per event otherwise. Rich and the
    report are imported only when shown: with ``--quiet`` a run of many short tasks does not
    pay for them at start-up."""
    from waveplan.cli.progress import LiveProgress, PlainProgress  # noqa: PLC0415

    if sys.stdout.isatty():
        from rich.console import Console  # noqa: PLC0415

        return LiveProgress(Console(width=width))
    return PlainProgress(sys.stdout)


@click.command("run")
@click.argument("file", metavar="PATH", type=click.Path())
@targets_argument
@source_options
@click.option(
    "-w",
    "--workers",
    type=click.IntRange(min=1),
    metavar="N",
    help="Tasks at once (default: the plan's 'workers', else the CPU count, or the threads of "
    "the Dask cluster at --scheduler-address).",
)
@click.option(
    "--keep-going",
    is_flag=True,
    help="After a failure, still run every task that does not depend on it.",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue the last unfinished run of this plan; succeeded tasks are kept.",
)
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Retries for tasks that do not set 'retries'.",
)
@click.option(
    "--retry-delay",
    type=Seconds(zero=True),
    default=1.0,
    show_default=True,
    metavar="S",
    help="First retry delay in seconds; it doubles on each retry.",
)
@click.option(
    "--timeout",
    type=Seconds(),
    metavar="S",
    help="Timeout in seconds (or 10m, 1h 30m) for tasks that do not set 'timeout'.",
)
@click.option(
    "--barrier",
    is_flag=True,
    help="Run strictly wave by wave (the practical waves of `waveplan plan`).",
)
@click.option(
    "--dry-run", is_flag=True, help="Run nothing: follow the plan's durations on a virtual clock."
)
@click.option("-q", "--quiet", is_flag=True, help="No progress display and no report.")
@click.option(
    "--root",
    metavar="DIR",
    type=FOLDER,
    help="Folder that task paths are relative to and commands run in.",
)
@click.option(
    "--backend",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="Run tasks as local processes, or on a Dask cluster (see docs/dask.md).",
)
@click.option(
    "--scheduler-address",
    metavar="ADDRESS",
    help="Dask scheduler to use, e.g. tcp://HOST:8786 (default: a local cluster of N workers).",
)
@click.option(
    "--remote-root",
    metavar="DIR",
    help="Where the Dask workers mount the plan root, when not at the same path.",
)
@isolate_options
@learn_option
def run_command(
    *,
    file: str,
    targets: tuple[str, ...],
    workers: int | None,
    keep_going: bool,
    resume: bool,
    retries: int,
    retry_delay: float,
    timeout: float | None,
    barrier: bool,
    dry_run: bool,
    quiet: bool,
    root: str | None,
    source: str | None,
    infer_files: bool,
    backend: str,
    scheduler_address: str | None,
    remote_root: str | None,
    isolate: str | None,
    into: str | None,
    on_conflict: str,
    agent_cmd: str | None,
    learn: bool,
) -> int:
    """Run the tasks of the plan in PATH (a task file or a plan to import) in parallel,
    respecting its conflicts; tasks the plan marks done are not run. Given TASKs, only those
    and the tasks they depend on."""
    if targets and resume:
        raise UserError(
            "--resume takes no TASK arguments: it continues the last unfinished run of the "
            "plan with all its tasks"
        )
    loaded = load_plan(
        file, root=root, source_format=source_format(source), infer_files=infer_files
    )
    plan = upstream(loaded, targets)
    learnt = learnt_from_history(plan, file if learn else None)
    plan = learnt.with_durations(plan)
    check_backend_options(backend, scheduler_address, remote_root)
    if learn:
        plan = learnt.with_observed(plan)
    chosen = isolate_choice(
        plan,
        isolate=isolate,
        into=into,
        on_conflict=on_conflict,
        agent_cmd=agent_cmd,
        backend=backend,
        dry_run=dry_run,
    )
    for path in (plan_file_key(file), plan.root):
        if not _recordable(path):
            raise UserError(
                f"{path.encode(errors='surrogateescape').decode(errors='replace')}: the history "
                "records paths as UTF-8 text, and this one is not: rename the folder or file"
            )
    _warn_of_checkpoints(plan, chosen.agent_command, agent_cmd is not None)
    count = workers or plan.workers or os.cpu_count() or 1
    executor: Executor | None = None
    if backend == "dask" and not dry_run:  # a dry run runs nothing, anywhere
        dask = dask_backend(  # (a local cluster of no more processes than tasks)
            plan.root,
            workers=min(count, len(plan.tasks)),
            scheduler_address=scheduler_address,
            remote_root=remote_root,
        )
        executor = dask
        count = workers or plan.workers or cluster_threads(dask, scheduler_address)
    plan = dataclasses.replace(plan, workers=count)
    options = RunOptions(
        workers=count,
        keep_going=keep_going,
        retries=retries,
        timeout=timeout,
        barrier=barrier,
        retry_delay=retry_delay,
        agent_command=chosen.agent_command,
        on_conflict=chosen.on_conflict,
    )
    width, color = terminal_style()
    sinks: list[Sink] = [] if quiet else [_progress(width)]
    switch = _StopSwitch()
    graph, index = Graph.from_plan(plan), ResourceIndex.build(plan)
    spec = SessionSpec(
        plan=plan,
        plan_file=plan_file_key(file),
        options=options,
        resume=resume,
        dry_run=dry_run,
        isolate=chosen.isolate,
        into=chosen.into,
        # planned with the effort `waveplan plan` uses by default
        policy=practical_policy(plan, graph, index),
        graph=graph,
        index=index,
    )
    try:
        with _stop_on_signals(switch):
            run_id, result = run_session(
                spec, sinks=sinks, on_runner=switch.attach, executor=executor
            )
    finally:
        if executor is not None:  # also when the session could not start
            executor.close()
    if not quiet:
        from waveplan.render.report import report_text  # noqa: PLC0415 - see _progress
        from waveplan.schedule.measured import measure  # noqa: PLC0415

        with History.for_root(plan.root) as history:
            report = measure(history.run_info(run_id))
        try:
            click.echo(report_text(report, width=width, color=color), nl=False)
            logs = state_dir(plan.root) / "runs" / run_id
            if not dry_run and logs.is_dir():  # (a run of checkpoints wrote none)
                click.echo(f"Logs: {logs}")
        except OSError:  # the reader or terminal went away: the exit code is still the run's
            stdout_gone()
    return result.exit_code

"""``waveplan plan PATH``: analyse a plan (a task file, or a plan to import) and render it."""

from __future__ import annotations

import dataclasses

import click

import waveplan.schedule.exact as exact_solver
from waveplan.cli.common import (
    FOLDER,
    Seconds,
    emit,
    format_option,
    output_format,
    terminal_style,
)
from waveplan.cli.infer import infer_option, inferred
from waveplan.cli.learn import Learnt, learn_option, learnt_from_history
from waveplan.cli.sources import source_format, source_options, targets_argument
from waveplan.errors import MissingExtraError, UserError
from waveplan.gcpause import collector_paused
from waveplan.graph import Graph, upstream
from waveplan.history import HistoryError
from waveplan.load import load_plan
from waveplan.render.html import plan_html
from waveplan.render.json import plan_json
from waveplan.render.mermaid import plan_mermaid
from waveplan.render.text import plan_text
from waveplan.schedule import analyse
from waveplan.schedule.analysis import DEFAULT_TIME_LIMIT
from waveplan.schedule.exact import SOLVER_WORKERS, available
from waveplan.schedule.search import Effort

__all__ = ["EFFORTS", "plan_command"]

FORMATS = ("text", "json", "mermaid", "html")
EFFORTS = tuple(e.value for e in Effort)


@click.command("plan")
@click.argument("file", metavar="PATH", type=click.Path())
@targets_argument
@source_options
@format_option(*FORMATS, from_output=True)
@click.option("-o", "--output", metavar="OUT", help="Write to OUT instead of standard output.")
@click.option(
    "--root",
    metavar="DIR",
    type=FOLDER,
    help="Folder that task paths are relative to (default: the plan file's folder; for an "
    "imported plan, its project).",
)
@click.option(
    "-w",
    "--workers",
    type=click.IntRange(min=1),
    metavar="N",
    help="Worker limit (default: the plan's 'workers', else unlimited).",
)
@learn_option
@infer_option
@click.option(
    "--effort",
    type=click.Choice(EFFORTS),
    default=Effort.DEFAULT.value,
    show_default=True,
    help="How hard to search for a shorter schedule, counted in work, not time: the output "
    "is the same on every machine.",
)
@click.option(
    "--optimal",
    is_flag=True,
    help="Also run the exact solver (OR-Tools CP-SAT: pip install 'waveplan[optimal]').",
)
@click.option(
    "--time-limit",
    type=Seconds(),
    metavar="S",
    help=f"Seconds the exact solver may run (with --optimal; default {DEFAULT_TIME_LIMIT:g}).",
)
@click.option(
    "--solver-workers",
    type=click.IntRange(min=1),
    metavar="N",
    help=f"Search workers of the exact solver (with --optimal; default {SOLVER_WORKERS}).",
)
def plan_command(
    *,
    file: str,
    targets: tuple[str, ...],
    fmt: str | None,
    output: str | None,
    root: str | None,
    workers: int | None,
    source: str | None,
    infer_files: bool,
    infer: str | None,
    learn: bool,
    effort: str,
    optimal: bool,
    time_limit: float | None,
    solver_workers: int | None,
) -> None:
    """Show the waves, conflicts, schedule, speedup and advice of the plan in PATH: a task
    file, or a plan an agent framework wrote (markdown, GSD, ccpm, Sisyphus), or a PSPLIB
    instance. Given TASKs, only those and the tasks they depend on."""
    if not optimal and (time_limit is not None or solver_workers is not None):
        raise UserError("--time-limit and --solver-workers need --optimal")
    if optimal and not available():
        raise MissingExtraError("--optimal", "optimal", "ortools")
    with collector_paused():
        plan = upstream(
            load_plan(
                file, root=root, source_format=source_format(source), infer_files=infer_files
            ),
            targets,
        )
        try:
            learnt = learnt_from_history(plan, file if learn else None)
        except HistoryError as exc:  # planning does not need the history: say so and go on
            click.echo(f"warning: {exc}; durations are not learnt from it", err=True)
            learnt = Learnt(unread=exc)
        plan = learnt.with_durations(plan)
        if workers is not None:
            plan = dataclasses.replace(plan, workers=workers)
        if infer is not None:
            plan = inferred(plan, infer)
        if learn:
            plan = learnt.with_observed(plan)
        analysis = analyse(
            plan,
            Graph.from_plan(plan),
            effort=Effort(effort),
            optimal=optimal,
            time_limit=DEFAULT_TIME_LIMIT if time_limit is None else time_limit,
            solver_workers=SOLVER_WORKERS if solver_workers is None else solver_workers,
        )
        if optimal and not exact_solver.takes(len(plan.tasks)):
            click.echo(
                f"warning: --optimal: {len(plan.tasks):,} tasks is more than the exact solver "
                f"takes ({exact_solver.MAX_TASKS:,}); the schedule search's result is shown",
                err=True,
            )
        fmt = output_format(fmt, output, FORMATS)
        if fmt == "json":
            text = plan_json(analysis)
        elif fmt == "mermaid":
            text = plan_mermaid(analysis)
        elif fmt == "html":
            text = plan_html(analysis)
        else:
            width, color = terminal_style()
            text = plan_text(analysis, width=width, color=color and output is None)
    emit(text, output, reads=file)

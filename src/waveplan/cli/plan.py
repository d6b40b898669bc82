"""``waveplan plan PATH``: analyse a plan (a task file, or a plan to import) and render it."""

from __future__ import annotations

import dataclasses

import click

from waveplan.cli.common import emit, terminal_style
from waveplan.cli.infer import infer_option, inferred
from waveplan.cli.learn import learn_option, learnt
from waveplan.cli.sources import source_format, source_options
from waveplan.gcpause import collector_paused
from waveplan.graph import Graph
from waveplan.load import load_plan
from waveplan.render import plan_json, plan_mermaid, plan_text
from waveplan.render.html import plan_html
from waveplan.schedule import analyse

__all__ = ["plan_command"]

FORMATS = ("text", "json", "mermaid", "html")


@click.command("plan")
@click.argument("file", metavar="PATH")
@source_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option("-o", "--output", metavar="OUT", help="Write to OUT instead of standard output.")
@click.option(
    "--root",
    metavar="DIR",
    help="Folder that task paths are relative to (default: the plan file's folder).",
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
def plan_command(
    *,
    file: str,
    fmt: str,
    output: str | None,
    root: str | None,
    workers: int | None,
    source: str | None,
    infer_files: bool,
    infer: str | None,
    learn: bool,
) -> None:
    """Show the waves, conflicts, schedule, speedup and advice of the plan in PATH: a task
    file, or a plan an agent framework wrote (markdown, GSD, ccpm, Sisyphus)."""
    with collector_paused():
        plan = load_plan(
            file, root=root, source_format=source_format(source), infer_files=infer_files
        )
        if workers is not None:
            plan = dataclasses.replace(plan, workers=workers)
        if infer is not None:
            plan = inferred(plan, infer)
        if learn:
            plan = learnt(plan, file)
        analysis = analyse(plan, Graph.from_plan(plan))
        if fmt == "json":
            text = plan_json(analysis)
        elif fmt == "mermaid":
            text = plan_mermaid(analysis)
        elif fmt == "html":
            text = plan_html(analysis)
        else:
            width, color = terminal_style()
            text = plan_text(analysis, width=width, color=color and output is None)
    emit(text, output)

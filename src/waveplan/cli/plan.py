"""``waveplan plan FILE``: analyse a plan and render it."""

from __future__ import annotations

import click

from waveplan.cli.common import emit, terminal_style
from waveplan.graph import Graph
from waveplan.load import load_plan
from waveplan.render import plan_json, plan_text
from waveplan.schedule import analyse

__all__ = ["plan_command"]

FORMATS = ("text", "json")


@click.command("plan")
@click.argument("file", metavar="FILE")
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
def plan_command(file: str, fmt: str, output: str | None, root: str | None) -> None:
    """Show the waves, critical path and speedup of the plan in FILE."""
    plan = load_plan(file, root=root)
    analysis = analyse(plan, Graph.from_plan(plan))
    if fmt == "json":
        text = plan_json(analysis)
    else:
        width, color = terminal_style()
        text = plan_text(analysis, width=width, color=color and output is None)
    emit(text, output)

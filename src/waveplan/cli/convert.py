"""``waveplan convert PATH``: write a plan (usually an imported one) as a canonical task file."""

from __future__ import annotations

import json

import click

from waveplan.cli.common import FOLDER, emit
from waveplan.cli.sources import source_format, source_options
from waveplan.errors import UserError
from waveplan.graph import Graph
from waveplan.load import load_plan
from waveplan.render.taskfile import plan_to_taskfile, taskfile_yaml

__all__ = ["convert_command"]


@click.command("convert")
@click.argument("file", metavar="PATH", type=click.Path())
@source_options
@click.option(
    "-o",
    "--output",
    metavar="OUT",
    help="Write to OUT instead of standard output: YAML, or JSON when OUT ends with .json "
    "(.toml and .md are refused).",
)
@click.option(
    "--root",
    metavar="DIR",
    type=FOLDER,
    help="Folder that task paths are relative to (default: the plan's project folder).",
)
def convert_command(
    *, file: str, output: str | None, root: str | None, source: str | None, infer_files: bool
) -> None:
    """Write the plan in PATH (a markdown, GSD, ccpm or Sisyphus plan, or a task file) as a
    waveplan task file. The import's warnings go to standard error."""
    if output is not None and output.lower().endswith((".toml", ".md", ".markdown")):
        raise UserError(
            f"{output}: convert writes YAML or JSON; name the output .yaml or .json "
            "(waveplan would read this name as another format)"
        )
    plan = load_plan(file, root=root, source_format=source_format(source), infer_files=infer_files)
    Graph.from_plan(plan)  # a cycle is an error here too: the task file would not load
    if output is not None and output.lower().endswith(".json"):
        text = json.dumps(plan_to_taskfile(plan), indent=2, ensure_ascii=False) + "\n"
    else:
        header = ""
        if plan.origin is not None:
            header = (
                f"# Converted by waveplan from {plan.origin.format.value}: {plan.source}\n"
                "# Inferred and observed accesses are written here as declared ones.\n"
            )
        text = header + taskfile_yaml(plan)
    if plan.origin is not None:
        for warning in plan.origin.warnings:
            click.echo(f"warning: {warning}", err=True)
    emit(text, output, reads=file)

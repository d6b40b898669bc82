"""What the commands that read plans share: ``--from FORMAT``, ``--no-infer-files``, and the
TASK arguments (completed from the plan by the shell)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click
from click.shell_completion import CompletionItem

from waveplan.model import SourceFormat

__all__ = ["SOURCE_FORMATS", "source_format", "source_options", "targets_argument"]

SOURCE_FORMATS = tuple(f.value for f in SourceFormat)

F = TypeVar("F", bound=Callable[..., Any])


def source_options(command: F) -> F:
    """Add ``--from`` and ``--no-infer-files`` to a command (as ``source`` and ``infer_files``)."""
    command = click.option(
        "--no-infer-files",
        "infer_files",
        is_flag=True,
        flag_value=False,
        default=True,
        help="Do not take file paths mentioned in an imported plan's prose as writes.",
    )(command)
    return click.option(
        "--from",
        "source",
        type=click.Choice(SOURCE_FORMATS),
        metavar="FORMAT",
        help=("Read PATH as this format: " + ", ".join(SOURCE_FORMATS) + " (default: detected)."),
    )(command)


def source_format(value: str | None) -> SourceFormat | None:
    """The ``--from`` value as a format (None: detect it)."""
    return None if value is None else SourceFormat(value)


def _complete_task_ids(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """The ids of the plan named on the command line that start with ``incomplete`` (and are
    not given yet), with their titles; none when the plan cannot be read."""
    from waveplan.errors import WaveplanError  # noqa: PLC0415 - only while completing
    from waveplan.load import load_plan  # noqa: PLC0415

    file = ctx.params.get("file")
    if not file:
        return []
    try:
        plan = load_plan(
            file,
            root=ctx.params.get("root"),
            source_format=source_format(ctx.params.get("source")),
            infer_files=False,
        )
    except (WaveplanError, OSError):
        return []
    given = set(ctx.params.get(param.name or "") or ())
    return [
        CompletionItem(task.id, help=None if task.title == task.id else task.title)
        for task in plan.tasks
        if task.id.startswith(incomplete) and task.id not in given
    ]


def targets_argument(command: F) -> F:
    """Add the TASK arguments (as ``targets``): only these tasks and what they depend on."""
    return click.argument(
        "targets", nargs=-1, metavar="[TASK]...", shell_complete=_complete_task_ids
    )(command)

"""Options shared by the commands that read plans: ``--from FORMAT`` and ``--no-infer-files``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from waveplan.model import SourceFormat

__all__ = ["SOURCE_FORMATS", "source_format", "source_options"]

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

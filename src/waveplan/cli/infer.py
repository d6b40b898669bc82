"""``waveplan infer PATH``: the hidden collisions of a plan, with evidence; and ``--infer``
for ``waveplan plan``, which plans with the inferred accesses added."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from waveplan.cli.common import FOLDER, FloatRange, emit, format_option, output_format
from waveplan.cli.sources import source_format, source_options
from waveplan.errors import UserError
from waveplan.graph import Graph
from waveplan.infer import ALL_KINDS, DEFAULT_KINDS, HistorySettings, Inference, Kind, infer_plan
from waveplan.infer.cochange import MIN_SUPPORT, THRESHOLD
from waveplan.load import load_plan
from waveplan.model import Plan
from waveplan.render.infer import inference_json, inference_text

__all__ = ["infer_command", "infer_option", "inferred", "parse_kinds"]

F = TypeVar("F", bound=Callable[..., Any])

_NAMES = ", ".join(k.value for k in ALL_KINDS)


def parse_kinds(value: str) -> tuple[Kind, ...]:
    """``imports,tests`` -> those kinds; ``all`` -> every kind; a bad name is a user error."""
    kinds: list[Kind] = []
    for part in value.split(","):
        name = part.strip().lower()
        if not name:
            continue
        if name == "all":
            return ALL_KINDS
        try:
            kinds.append(Kind(name))
        except ValueError:
            raise UserError(
                f"unknown kind of inference '{part.strip()}' (use {_NAMES} or all)"
            ) from None
    if not kinds:
        raise UserError(f"no kind of inference given (use {_NAMES} or all)")
    return tuple(k for k in ALL_KINDS if k in kinds)


def _run(
    plan: Plan,
    repo: str | None,
    kinds: tuple[Kind, ...],
    settings: HistorySettings,
    cache: bool,
) -> Inference:
    try:
        return infer_plan(plan, repo, kinds, history=settings, cache=cache)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def infer_option(command: F) -> F:
    """Add ``--infer [KINDS]`` (as ``infer``: None when not given)."""
    return click.option(
        "--infer",
        "infer",
        is_flag=False,
        flag_value=",".join(k.value for k in DEFAULT_KINDS),
        default=None,
        metavar="[KINDS]",
        help="Plan with the accesses 'waveplan infer' finds, marked inferred. KINDS: a comma "
        f"list of {_NAMES}, or all (default: imports,tests,state).",
    )(command)


def inferred(plan: Plan, kinds: str) -> Plan:
    """The plan with the accesses the given kinds of inference find (repository: the plan
    root)."""
    return _run(plan, None, parse_kinds(kinds), HistorySettings(), cache=True).plan


INFER_FORMATS = ("text", "json")


@click.command("infer")
@click.argument("file", metavar="PATH", type=click.Path())
@source_options
@click.option(
    "--repo",
    metavar="DIR",
    help="Repository to read (default: the plan root). It must contain the plan root or lie "
    "inside it.",
)
@click.option(
    "--root",
    metavar="DIR",
    type=FOLDER,
    help="Folder that task paths are relative to (default: the plan file's folder; for an "
    "imported plan, its project).",
)
@click.option(
    "--kinds",
    default=",".join(k.value for k in ALL_KINDS),
    show_default=True,
    metavar="KINDS",
    help=f"What to infer: a comma list of {_NAMES}, or all.",
)
@click.option(
    "--history-threshold",
    type=FloatRange(min=0.0, max=1.0, min_open=True),
    default=THRESHOLD,
    show_default=True,
    metavar="SHARE",
    help="Least share of the commits changing a task's files that must change a file too.",
)
@click.option(
    "--history-min-support",
    type=click.IntRange(min=1),
    default=MIN_SUPPORT,
    show_default=True,
    metavar="N",
    help="Least number of such commits.",
)
@format_option(*INFER_FORMATS, from_output=True)
@click.option("-o", "--output", metavar="OUT", help="Write to OUT instead of standard output.")
@click.option("--no-cache", is_flag=True, help="Read every file again; write no cache.")
def infer_command(
    *,
    file: str,
    repo: str | None,
    root: str | None,
    kinds: str,
    history_threshold: float,
    history_min_support: int,
    fmt: str | None,
    output: str | None,
    no_cache: bool,
    source: str | None,
    infer_files: bool,
) -> None:
    """List what the tasks of the plan in PATH touch beyond what they declare: import
    coupling and shared helpers, test footprints and shared test resources, database
    tables, and files that history says change with theirs. Each finding comes with its
    evidence."""
    chosen = parse_kinds(kinds)
    plan = load_plan(file, root=root, source_format=source_format(source), infer_files=infer_files)
    Graph.from_plan(plan)  # an invalid plan is refused here as everywhere
    settings = HistorySettings(threshold=history_threshold, min_support=history_min_support)
    result = _run(plan, repo, chosen, settings, cache=not no_cache)
    fmt = output_format(fmt, output, INFER_FORMATS)
    text = inference_json(result) if fmt == "json" else inference_text(result)
    emit(text, output, reads=file)

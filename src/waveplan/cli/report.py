"""``waveplan report [RUN_ID]`` and ``waveplan history``: read the plan root's history."""

from __future__ import annotations

import dataclasses
import os
import socket
import sqlite3
from pathlib import Path

import click
from click.shell_completion import CompletionItem

from waveplan.cli.common import FOLDER, emit, format_option, output_format, terminal_style
from waveplan.errors import UserError, WaveplanError
from waveplan.history import HISTORY_FILE, History, state_dir
from waveplan.model import RunStatus
from waveplan.render.history import attempts_json, attempts_text, runs_json, runs_text
from waveplan.render.html import report_html
from waveplan.render.report import report_json, report_text
from waveplan.schedule.analysis import analyse
from waveplan.schedule.measured import measure

__all__ = ["history_command", "report_command"]


def _open(root: str | None) -> History:
    folder = Path(root or ".")
    path = state_dir(folder) / HISTORY_FILE
    if not path.exists():
        raise UserError(
            f"no history in {folder.absolute()} (looked for {path}); run a plan there first, "
            "or point --root at the plan's folder"
        )
    return History(path, read_only=True)


def _died(history: History, run_id: str) -> bool:
    """Whether the waveplan process of a run recorded as running is gone: it ran on this
    machine and its process no longer exists (killed, or the machine restarted). The next
    ``run`` in the root records such a run interrupted; until then it is shown so, not as
    running. A process on another machine, or a process id in use again, leaves it running."""
    session = history.last_session(run_id)
    if session is None:
        return False
    pid, host = session
    if host != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # (another user's process: it exists)
        return False
    try:  # a process killed but not yet reaped by its parent is a zombie: gone all the same
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def _status(history: History, run_id: str, status: RunStatus) -> RunStatus:
    if status is RunStatus.RUNNING and _died(history, run_id):
        return RunStatus.INTERRUPTED
    return status


def _complete_run_ids(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """The recorded runs whose id starts with ``incomplete``, newest first, each with its
    status and plan file; none when there is no history to read."""
    try:
        with _open(ctx.params.get("root")) as history:
            runs = history.summaries()
    except (WaveplanError, sqlite3.Error):
        return []
    return [
        CompletionItem(run.run_id, help=f"{run.status.value}, {Path(run.plan_file).name}")
        for run in runs  # (newest first)
        if run.run_id.startswith(incomplete)
    ]


REPORT_FORMATS = ("text", "json", "html")


@click.command("report")
@click.argument("run_id", required=False, metavar="[RUN_ID]", shell_complete=_complete_run_ids)
@format_option(*REPORT_FORMATS, from_output=True)
@click.option("-o", "--output", metavar="OUT", help="Write to OUT instead of standard output.")
@click.option(
    "--root", metavar="DIR", type=FOLDER, help="Plan root holding .waveplan/ (default: here)."
)
def report_command(
    run_id: str | None, fmt: str | None, output: str | None, root: str | None
) -> None:
    """Show the measured speedup of a run (default: the latest)."""
    with _open(root) as history:
        chosen = run_id or history.latest_run()
        if chosen is None:
            raise UserError("the history has no runs yet")
        info = history.run_info(chosen)
        info = dataclasses.replace(info, status=_status(history, chosen, info.status))
        report = measure(info)
    fmt = output_format(fmt, output, REPORT_FORMATS)
    if fmt == "json":
        emit(report_json(report), output)
    elif fmt == "html":
        emit(report_html(report, analyse(report.plan)), output)
    else:
        width, color = terminal_style()
        emit(report_text(report, width=width, color=color and output is None), output)


@click.command("history")
@click.option("--task", "task", metavar="ID", help="List the attempts of one task.")
@click.option(
    "-n",
    "--limit",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="How many runs to list (with --task: how many of its latest attempts).",
)
@format_option("text", "json")
@click.option(
    "--root", metavar="DIR", type=FOLDER, help="Plan root holding .waveplan/ (default: here)."
)
def history_command(task: str | None, limit: int, fmt: str, root: str | None) -> None:
    """List recorded runs, or the attempts of one task."""
    with _open(root) as history:
        if task is None:
            runs = [
                dataclasses.replace(r, status=_status(history, r.run_id, r.status))
                for r in history.summaries(limit)
            ]
            emit(runs_json(runs) if fmt == "json" else runs_text(runs), None)
            return
        found = history.attempt_runs(task)[-limit:]
    if not found:
        raise UserError(f"no attempts of task '{task}' in the history")
    emit(attempts_json(found) if fmt == "json" else attempts_text(found), None)

"""Run reports: the measured speedup table and planned-versus-actual per task."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from waveplan.model import RunStatus, TaskStatus
from waveplan.render.figures import (
    counted,
    measured_heading,
    measured_rows,
    retry_wait_sentence,
    saving,
    seconds_format,
    task_note,
    time_format,
)
from waveplan.render.json import dumps
from waveplan.render.text import MAX_ROWS, render_to_string
from waveplan.schedule.measured import RunReport

__all__ = ["report_json", "report_text", "report_to_dict"]


def report_to_dict(report: RunReport) -> dict[str, Any]:
    """The run report as plain data."""
    run = report.run
    return {
        "run_id": run.run_id,
        "status": run.status.value,
        "plan": run.plan.source,
        "workers": run.workers,
        "dry_run": run.dry_run,
        "barrier": run.barrier,
        "time_unit": "s" if run.plan.timed else None,
        "tasks": [
            {
                "id": t.id,
                "status": t.status.value,
                "attempts": t.attempts,
                "start": t.start,
                "end": t.end,
                "duration": t.duration,
                "exit_code": t.exit_code,
                "worker": t.worker,
                "planned_start": None if t.done else t.planned_start,
                "planned_end": None if t.done else t.planned_end,
                "reason": t.reason,
                "flaky": t.flaky,
                "waited": t.waited,
                "timed_out": t.timed_out,
                "branch": t.branch,
                "observed_files": list(t.observed_files),
                "undeclared": list(t.undeclared),
                "undeclared_overlaps": {k: list(v) for k, v in t.overlaps.items()},
                "conflict_paths": list(t.conflict_paths),
                "conflict_with": list(t.conflict_with),
            }
            for t in report.tasks
        ],
        "integration_branch": run.integration_branch,
        "makespan": {
            "sequential": report.actual.sequential,
            "theoretical": report.actual.theoretical,
            "practical": report.actual.practical,
            "measured": report.measured,
        },
        "planned": {
            "sequential": report.planned.sequential,
            "theoretical": report.planned.theoretical,
            "practical": report.planned.practical,
        },
        "saving": {  # (null when the tasks did no measurable work: a run of checkpoints)
            name: saving(value, report.actual.sequential) if report.measurable else None
            for name, value in (
                ("theoretical", report.actual.theoretical),
                ("practical", report.actual.practical),
                ("measured", report.measured),
            )
        },
        "efficiency": report.efficiency,
        "flaky": report.flaky,
        "retry_wait": report.retry_wait,
    }


def report_json(report: RunReport) -> str:
    return dumps(report_to_dict(report), size=len(report.tasks))


def speedup_table(report: RunReport) -> Table:
    """The seed's table with a measured column: estimates as planned, then the same figures
    recomputed with the measured durations, and the measured wall-clock makespan."""
    table = Table(title="Speedup", box=box.SIMPLE_HEAVY, title_justify="left")
    table.add_column("Approach")
    table.add_column("Planned", justify="right")
    table.add_column(measured_heading(report, "Measured"), justify="right")
    table.add_column("Notes")
    for row in measured_rows(report):
        table.add_row(*row)
    return table


_STYLE = {
    TaskStatus.SUCCEEDED: "green",
    TaskStatus.FAILED: "bold red",
    TaskStatus.SKIPPED: "yellow",
    TaskStatus.INTERRUPTED: "magenta",
    TaskStatus.PENDING: "dim",
    TaskStatus.CONFLICT: "bold red",
}


_RUN_STYLE = {
    RunStatus.SUCCEEDED: "green",
    RunStatus.FAILED: "bold red",
    RunStatus.INTERRUPTED: "magenta",
    RunStatus.RUNNING: "dim",
}


def tasks_table(report: RunReport) -> Table:
    """Per task: status, attempts, planned start and actual start and duration."""
    plan = report.run.plan
    fmt, secs = time_format(plan), seconds_format(plan)
    table = Table(title="Tasks", box=box.SIMPLE_HEAVY, title_justify="left")
    table.add_column("Task")
    table.add_column("Status")
    table.add_column("Tries", justify="right")
    table.add_column("Planned start", justify="right")
    table.add_column(measured_heading(report, "Start"), justify="right")
    table.add_column(measured_heading(report, "Took"), justify="right")
    table.add_column("Notes")
    interesting = sorted(
        report.tasks,
        key=lambda t: (t.status is TaskStatus.SUCCEEDED and not t.flaky, t.start or 0.0),
    )
    for task in interesting[: MAX_ROWS * 2]:
        note = task_note(task)
        table.add_row(
            task.id,
            Text(task.status.value, style=_STYLE[task.status]),
            str(task.attempts),
            "-" if task.done else fmt(task.planned_start),
            "-" if task.start is None else secs(task.start),
            secs(task.duration) if task.attempts else "-",
            note,
        )
    if len(report.tasks) > MAX_ROWS * 2:
        table.add_row(Text(f"... and {len(report.tasks) - MAX_ROWS * 2:,} more", style="dim"))
    return table


def report_text(report: RunReport, *, width: int = 100, color: bool = False) -> str:
    """The run report for a terminal."""
    run = report.run
    header = Text()
    header.append(f"Run {run.run_id}", style="bold")
    header.append(f"  {run.status.value}", style=_RUN_STYLE[run.status])
    header.append(f"  {run.plan.name or run.plan.source}, {counted(run.workers, 'worker')}")
    if run.dry_run:
        header.append("  (dry run: durations are the plan's estimates)")
    items: list[RenderableType] = [header, speedup_table(report)]
    if report.efficiency is not None:
        items.append(
            Text(
                f"Efficiency: {report.efficiency:.0%} of the theoretical saving was realised",
                style="bold",
            )
        )
    waits = retry_wait_sentence(report)
    if waits is not None:
        items.append(Text(waits))
    items.append(tasks_table(report))
    items += worktree_lines(report)
    return render_to_string(items, width=width, color=color)


def _names(items: tuple[str, ...] | list[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def undeclared_sentences(report: RunReport) -> list[str]:
    """``t3 wrote src/x.ts, not declared; it overlaps t4's declared files``, per file."""
    lines = []
    for task in report.tasks:
        for path in task.undeclared:
            others = task.overlaps.get(path, ())
            overlap = ""
            if others:
                owners = " and ".join(f"{o}'s" for o in others[:3])
                more = f" (and {len(others) - 3} more)" if len(others) > 3 else ""
                overlap = f"; it overlaps {owners} declared files{more}"
            lines.append(f"{task.id} wrote {path}, not declared{overlap}")
    return lines


def worktree_lines(report: RunReport) -> list[RenderableType]:
    """An isolated run: its integration branch, conflicts and undeclared writes."""
    branch = report.run.integration_branch
    if branch is None:
        return []
    lines: list[RenderableType] = [Text(f"Integration branch: {branch}", style="bold")]
    for task in report.tasks:
        if task.conflict_paths:
            against = f" with {_names(task.conflict_with)}" if task.conflict_with else ""
            kept = f"; branch {task.branch} kept" if task.status is TaskStatus.CONFLICT else ""
            lines.append(
                Text(
                    f"  {task.id}: merge conflict{against} on {_names(task.conflict_paths)}{kept}",
                    style="red",
                )
            )
        if task.shared and not task.conflict_paths:
            lines.append(
                Text(
                    f"  {task.id}: file overlap with work merged before it, merges cleanly: "
                    f"{_names(task.shared)}"
                )
            )
    undeclared = undeclared_sentences(report)
    if undeclared:
        lines.append(Text("Undeclared writes (waveplan plan --learn adds them)", style="italic"))
        lines += [Text(f"  {line}") for line in undeclared[: MAX_ROWS * 2]]
        if len(undeclared) > MAX_ROWS * 2:
            lines.append(Text(f"  ... and {len(undeclared) - MAX_ROWS * 2} more", style="dim"))
    return lines

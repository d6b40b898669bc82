"""``waveplan history``: the recorded runs, or one task's attempts, as text or JSON.

Times in the text are local wall-clock times; in the JSON, seconds since the epoch (as the
history stores them), with each attempt's duration.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from typing import Any

from waveplan.model import AttemptInfo, RunSummary
from waveplan.render.figures import fmt_time

__all__ = ["attempts_json", "attempts_text", "runs_json", "runs_text"]


def _when(stamp: float | None) -> str:
    if stamp is None:
        return "-"
    return datetime.datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M:%S")


def _duration(attempt: AttemptInfo) -> float | None:
    return None if attempt.end is None else max(0.0, attempt.end - attempt.start)


def runs_text(runs: Sequence[RunSummary]) -> str:
    """One line per run, newest first as given."""
    if not runs:
        return "no runs recorded yet\n"
    return "".join(
        f"{s.run_id}  {s.status.value:<11} {_when(s.started)}  "
        f"{s.succeeded}/{s.tasks} succeeded, {s.failed} failed"
        f"{'  (dry run)' if s.dry_run else ''}  {s.plan_file}\n"
        for s in runs
    )


def runs_json(runs: Sequence[RunSummary]) -> str:
    """The runs as a JSON list."""
    data: list[dict[str, Any]] = [
        {
            "run_id": s.run_id,
            "plan_file": s.plan_file,
            "status": s.status.value,
            "started": s.started,
            "ended": s.ended,
            "tasks": s.tasks,
            "succeeded": s.succeeded,
            "failed": s.failed,
            "dry_run": s.dry_run,
        }
        for s in runs
    ]
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


RECOVERED = "  (merged before waveplan stopped: ends at its merge, to the second)"
"""Said of an attempt found merged on resume: its duration was not measured."""


def attempts_text(found: Sequence[tuple[str, AttemptInfo]]) -> str:
    """One line per attempt of a task: run, attempt, status, start, duration, exit, worker."""
    return "".join(
        f"{run_id}  attempt {a.attempt}  {a.status.value:<11} {_when(a.start)}  "
        f"{fmt_time(round(_duration(a) or 0.0, 3))}s"
        f"  exit {a.exit_code if a.exit_code is not None else '-'}"
        f"  {a.worker or '-'}@{a.host or '-'}{RECOVERED if a.recovered else ''}\n"
        for run_id, a in found
    )


def attempts_json(found: Sequence[tuple[str, AttemptInfo]]) -> str:
    """A task's attempts as a JSON list (``end`` and ``duration`` null while unfinished;
    ``recovered`` for an attempt found merged on resume, whose end is its merge's)."""
    data: list[dict[str, Any]] = [
        {
            "run_id": run_id,
            "task": a.task,
            "attempt": a.attempt,
            "status": a.status.value,
            "start": a.start,
            "end": a.end,
            "duration": _duration(a),
            "exit_code": a.exit_code,
            "worker": a.worker,
            "host": a.host,
            "session": a.session,
            "command_hash": a.command_hash,
            "log": a.log,
            "recovered": a.recovered,
        }
        for run_id, a in found
    ]
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

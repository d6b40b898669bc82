"""``waveplan clean``: remove the worktrees and merged task branches isolated runs left."""

from __future__ import annotations

from pathlib import Path

import click

from waveplan.cli.common import FOLDER, emit
from waveplan.errors import UserError
from waveplan.history import HISTORY_FILE, History, state_dir
from waveplan.model import RunStatus
from waveplan.run.git import Git
from waveplan.run.lock import RunLock
from waveplan.run.worktree import clean_run

__all__ = ["clean_command"]


@click.command("clean")
@click.option(
    "--root", metavar="DIR", type=FOLDER, help="Plan root holding .waveplan/ (default: here)."
)
@click.option("--run", "run_id", metavar="RUN_ID", help="Only this run (default: every run).")
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Also delete the branches of tasks whose work was not merged (conflicts, failures).",
)
def clean_command(root: str | None, run_id: str | None, everything: bool) -> None:
    """Remove the worktrees of isolated runs (--isolate worktree) and their task branches
    whose work is on the integration branch. Branches of conflicts and failures are kept
    unless --all; integration branches are never deleted."""
    folder = Path(root or ".")
    path = state_dir(folder) / HISTORY_FILE
    if not path.exists():
        raise UserError(f"no history in {folder.absolute()}: nothing waveplan made to clean")
    lines: list[str] = []
    with RunLock(state_dir(folder)), History(path) as history:
        runs = history.worktree_runs()
        statuses = {s.run_id: s.status for s in history.summaries()}
        if run_id is not None:
            if run_id not in runs:
                raise UserError(f"run '{run_id}' did not run its tasks in worktrees")
            runs = {run_id: runs[run_id]}
        for rid, recorded in runs.items():
            if not Path(recorded.repo).is_dir():
                lines.append(f"{rid}: repository {recorded.repo} is gone, skipped")
                continue
            # the run's tasks as it last planned them, and those of earlier sessions that ran
            # (a resumed run may have dropped some)
            tasks = set(history.task_states(rid))
            tasks |= {a.task for a in history.attempts(run_id=rid)}
            cleaned = clean_run(
                Git(recorded.repo), rid, recorded.integration, tasks=tasks, everything=everything
            )
            if not (
                cleaned.worktrees
                or cleaned.branches
                or cleaned.kept
                or cleaned.kept_worktrees
                or cleaned.checked_out
            ):
                continue
            crashed = " (it did not finish: --resume starts its tasks afresh)"
            note = crashed if statuses.get(rid) is RunStatus.RUNNING else ""
            lines.append(
                f"{rid}: removed {len(cleaned.worktrees)} worktree(s) and "
                f"{len(cleaned.branches)} branch(es){note}"
            )
            if cleaned.kept:
                lines.append(
                    f"  kept {len(cleaned.kept)} branch(es) with unmerged work "
                    f"(--all deletes them): {', '.join(cleaned.kept)}"
                )
            if cleaned.kept_worktrees:
                shown = ", ".join(str(p) for p in cleaned.kept_worktrees)
                lines.append(
                    f"  kept {len(cleaned.kept_worktrees)} worktree(s) with changes nobody "
                    f"committed (--all removes them): {shown}"
                )
            if cleaned.checked_out:
                shown = ", ".join(f"{b} (in {p})" for b, p in cleaned.checked_out)
                lines.append(
                    f"  kept {len(cleaned.checked_out)} branch(es) checked out (check out "
                    f"another branch there to let clean delete them): {shown}"
                )
    emit("\n".join(lines or ["nothing to clean"]) + "\n", None)

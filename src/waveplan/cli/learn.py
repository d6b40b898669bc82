"""What ``plan`` and ``run`` learn from the plan root's history: durations, always (a task
without a declared duration takes the median of its successful attempts), and with
``--learn`` the files tasks were seen changing without declaring them (in isolated runs) as
observed writes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from waveplan.history import HISTORY_FILE, History, command_hash, plan_file_key, state_dir
from waveplan.model import Plan
from waveplan.schedule.durations import with_history_durations
from waveplan.schedule.observed import with_observed_writes

__all__ = ["learn_option", "learnt", "plan_with_history"]

F = TypeVar("F", bound=Callable[..., Any])


def learn_option(command: F) -> F:
    """Add ``--learn`` (as ``learn``)."""
    return click.option(
        "--learn",
        is_flag=True,
        help="Add the files tasks changed without declaring them in earlier isolated runs "
        "(--isolate worktree) as writes, marked observed.",
    )(command)


def learnt(plan: Plan, file: str) -> Plan:
    """The plan with the observed writes of the plan file's recorded runs."""
    path = state_dir(plan.root) / HISTORY_FILE
    if not path.exists():
        return plan
    with History(path, read_only=True) as history:
        return with_observed_writes(plan, history.undeclared_files(plan_file_key(file)))


def plan_with_history(plan: Plan) -> Plan:
    """The plan with durations learnt from the plan root's history, when there is one: per
    task without a declared duration, the median of its latest successful attempts that ran
    its current command."""
    path = state_dir(plan.root) / HISTORY_FILE
    if not path.exists():
        return plan
    with History(path, read_only=True) as history:
        # A checkpoint (no command) measures nothing: its ~0 s attempts teach no duration.
        commands = {t.id: command_hash(t) for t in plan.tasks}
        medians = history.durations({task: c for task, c in commands.items() if c is not None})
    return with_history_durations(plan, medians)

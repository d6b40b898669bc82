"""What ``plan`` and ``run`` learn from the plan root's history: durations, always (a task
without a declared duration takes the median of its successful attempts), and with
``--learn`` the files tasks were seen changing without declaring them (in isolated runs) as
observed writes. Both are read in one opening of the history."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click

from waveplan.history import (
    HISTORY_FILE,
    History,
    HistoryError,
    command_hash,
    plan_file_key,
    state_dir,
)
from waveplan.model import Plan
from waveplan.schedule.durations import with_history_durations
from waveplan.schedule.observed import with_observed_writes

__all__ = ["Learnt", "learn_option", "learnt_from_history"]

F = TypeVar("F", bound=Callable[..., Any])


def learn_option(command: F) -> F:
    """Add ``--learn`` (as ``learn``)."""
    return click.option(
        "--learn",
        is_flag=True,
        help="Add the files tasks changed without declaring them in earlier isolated runs "
        "(--isolate worktree) as writes, marked observed.",
    )(command)


@dataclass(frozen=True, slots=True)
class Learnt:
    """What the history holds for a plan: per task the median of its latest successful
    attempts that ran its current command, and (when asked for) the files it changed without
    declaring them. ``unread`` is why a history that exists could not be read."""

    medians: Mapping[str, float] = field(default_factory=dict)
    undeclared: Mapping[str, Sequence[str]] = field(default_factory=dict)
    unread: HistoryError | None = None

    def with_durations(self, plan: Plan) -> Plan:
        """The plan with the learnt durations (tasks without a declared one)."""
        return with_history_durations(plan, self.medians)

    def with_observed(self, plan: Plan) -> Plan:
        """The plan with the observed writes; raises ``unread`` (``--learn`` needs the
        history)."""
        if self.unread is not None:
            raise self.unread
        return with_observed_writes(plan, self.undeclared)


def learnt_from_history(plan: Plan, file: str | None = None) -> Learnt:
    """What the plan root's history, when there is one, teaches the plan: durations, and
    with ``file`` (``--learn``) the undeclared files of that plan file's recorded runs.
    Raises HistoryError when the history cannot be opened."""
    path = state_dir(plan.root) / HISTORY_FILE
    if not path.exists():
        return Learnt()
    with History(path, read_only=True) as history:
        # A checkpoint (no command) measures nothing: its ~0 s attempts teach no duration.
        commands = {t.id: command_hash(t) for t in plan.tasks}
        medians = history.durations({task: c for task, c in commands.items() if c is not None})
        undeclared = {} if file is None else history.undeclared_files(plan_file_key(file))
    return Learnt(medians, undeclared)

"""``waveplan run`` options of isolated runs and agent tasks: ``--isolate``, ``--into``,
``--on-conflict``, ``--agent-cmd`` (see docs/worktrees.md)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from waveplan.errors import UserError
from waveplan.model import Isolation, Plan
from waveplan.run.agent import AGENT_CMD_ENV
from waveplan.run.git import find_repository
from waveplan.run.runner import ConflictPolicy

__all__ = ["IsolateChoice", "isolate_choice", "isolate_options"]

F = TypeVar("F", bound=Callable[..., Any])


def isolate_options(command: F) -> F:
    """Add the options as ``isolate``, ``into``, ``on_conflict`` and ``agent_cmd``."""
    options = [
        click.option(
            "--isolate",
            type=click.Choice([i.value for i in Isolation]),
            help="worktree: run each task in its own git worktree and merge its work into the "
            "integration branch (default: the plan's 'isolate', else none).",
        ),
        click.option(
            "--into",
            metavar="BRANCH",
            help="Integration branch of an isolated run: HEAD merges into the branch checked "
            "out (which must be clean); default: a new branch waveplan/RUN_ID from HEAD.",
        ),
        click.option(
            "--on-conflict",
            type=click.Choice([p.value for p in ConflictPolicy]),
            default=ConflictPolicy.STOP.value,
            show_default=True,
            help="A task whose work does not merge: stop it (its dependents do not run), or "
            "rerun it once on the new integration branch.",
        ),
        click.option(
            "--agent-cmd",
            metavar="CMD",
            help="Command running the tasks that have an 'agent' prompt (default: "
            f"${AGENT_CMD_ENV}); it gets the prompt on standard input and in $WAVEPLAN_PROMPT.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@dataclass(frozen=True, slots=True)
class IsolateChoice:
    """What the options decided."""

    isolate: Isolation
    into: str | None
    on_conflict: ConflictPolicy
    agent_command: str | None


def isolate_choice(
    plan: Plan,
    *,
    isolate: str | None,
    into: str | None,
    on_conflict: str,
    agent_cmd: str | None,
    backend: str,
    dry_run: bool,
) -> IsolateChoice:
    """Check the options against the plan and each other; warn when the user's uncommitted
    changes will not be in the worktrees."""
    chosen = Isolation(isolate) if isolate is not None else plan.isolate or Isolation.NONE
    if chosen is not Isolation.WORKTREE and into is not None:
        raise click.UsageError("--into needs --isolate worktree")
    if chosen is not Isolation.WORKTREE and on_conflict != ConflictPolicy.STOP.value:
        raise click.UsageError("--on-conflict needs --isolate worktree (only merges conflict)")
    agent_command = agent_cmd or os.environ.get(AGENT_CMD_ENV) or None
    if backend != "local" and not dry_run and chosen is Isolation.WORKTREE:
        raise UserError("--isolate worktree runs tasks as local processes: use --backend local")
    if chosen is Isolation.WORKTREE and not dry_run and into is None:
        repo = find_repository(plan.root)
        dirty = repo.dirty_files() if repo is not None else []
        if dirty:
            click.echo(
                f"warning: {len(dirty)} tracked file(s) have uncommitted changes, which the "
                "tasks' worktrees will not have (they start from commits)",
                err=True,
            )
    return IsolateChoice(chosen, into, ConflictPolicy(on_conflict), agent_command)

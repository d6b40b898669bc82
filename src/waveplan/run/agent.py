"""Agent tasks: a task with an ``agent:`` prompt template instead of a ``run:`` command.

The prompt is the template with ``{id}``, ``{title}``, ``{files}`` (the declared written files,
space-separated) and ``{description}`` filled in; any other text, braces included, is kept as
written. The agent command (``--agent-cmd`` or ``WAVEPLAN_AGENT_CMD``) runs like a task's
``run`` command, with the prompt on its standard input and in ``WAVEPLAN_PROMPT``.
"""

from __future__ import annotations

import re

from waveplan.model import Mode, ResourceKind, Task

__all__ = ["AGENT_CMD_ENV", "PROMPT_ENV", "PROMPT_ENV_LIMIT", "render_prompt"]

AGENT_CMD_ENV = "WAVEPLAN_AGENT_CMD"
"""The environment variable naming the agent command when ``--agent-cmd`` is not given."""
PROMPT_ENV = "WAVEPLAN_PROMPT"
"""The environment variable holding the rendered prompt."""
PROMPT_ENV_LIMIT = 100_000
"""Prompts longer than this many bytes are only given on standard input: Linux refuses to
start a program with an environment string above 128 KiB."""

_FIELD = re.compile(r"\{(id|title|files|description)\}")


def render_prompt(task: Task) -> str:
    """The task's prompt: its ``agent`` template with the task's fields filled in."""
    template = task.agent or ""
    values = {
        "id": task.id,
        "title": task.title,
        "files": " ".join(
            a.key for a in task.accesses if a.kind is ResourceKind.FILE and a.mode is Mode.WRITE
        ),
        "description": task.description,
    }
    return _FIELD.sub(lambda match: values[match.group(1)], template)

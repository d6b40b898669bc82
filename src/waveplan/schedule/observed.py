"""Observed footprints learnt from history: files a task changed without declaring them.

``waveplan plan --learn`` (and ``run --learn``) adds them to the task's accesses as writes of
origin ``observed``, so the next plan serializes what really collided. Paths outside the plan
root (a run can see them, a plan cannot declare them) are left out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from waveplan.model import Access, Mode, Origin, Plan, ResourceKind
from waveplan.resources import normalize_path

__all__ = ["with_observed_writes"]


def with_observed_writes(plan: Plan, files: Mapping[str, Sequence[str]]) -> Plan:
    """The plan where each task also writes the files ``files`` says it was seen changing
    (those it does not already declare)."""
    tasks = []
    changed = False
    for task in plan.tasks:
        known = {a.key for a in task.accesses if a.kind is ResourceKind.FILE}
        added: list[Access] = []
        for path in files.get(task.id, ()):
            try:
                key = normalize_path(path)
            except ValueError:
                continue
            if key in known:
                continue
            known.add(key)
            added.append(Access(ResourceKind.FILE, key, Mode.WRITE, origin=Origin.OBSERVED))
        if added:
            changed = True
            task = dataclasses.replace(task, accesses=(*task.accesses, *added))  # noqa: PLW2901
        tasks.append(task)
    return dataclasses.replace(plan, tasks=tuple(tasks)) if changed else plan

"""Durations learnt from history: a task without an estimate gets its measured median."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from waveplan.model import DurationSource, Plan

__all__ = ["with_history_durations"]


def with_history_durations(plan: Plan, medians: Mapping[str, float]) -> Plan:
    """The plan where every task without a declared duration takes the median of its
    successful attempts, when the history has any (its source becomes ``history``). Measured
    durations are seconds, so a plan that learns any is timed (:attr:`Plan.timed`)."""
    learnt = [
        t.id for t in plan.tasks if t.duration_source is DurationSource.DEFAULT and t.id in medians
    ]
    if not learnt:
        return plan
    wanted = set(learnt)
    tasks = tuple(
        dataclasses.replace(t, duration=medians[t.id], duration_source=DurationSource.HISTORY)
        if t.id in wanted
        else t
        for t in plan.tasks
    )
    return dataclasses.replace(plan, tasks=tasks, timed=True)

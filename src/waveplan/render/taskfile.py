"""The canonical task file of a plan: what ``convert`` writes and the history snapshots.

Loading the output gives the same plan back (same tasks, dependencies, accesses, durations,
done marks and options), so a converted or recorded plan replans to the same result. What an
imported plan knew about its source (declared waves, inferred or observed accesses, provenance)
is not part of a task file: inferred and observed accesses are written as declared ones.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

from waveplan.model import DurationSource, Mode, Plan, ResourceKind, Task
from waveplan.units import duration_text

if TYPE_CHECKING:
    import yaml

__all__ = ["plan_to_taskfile", "taskfile_json", "taskfile_yaml"]

_FIELDS = {
    (ResourceKind.FILE, Mode.WRITE): "files",
    (ResourceKind.FILE, Mode.READ): "reads",
    (ResourceKind.STATE, Mode.WRITE): "state",
    (ResourceKind.STATE, Mode.READ): "state_reads",
    (ResourceKind.TEST, Mode.WRITE): "tests",
    (ResourceKind.TEST, Mode.READ): "test_reads",
}


def _task(task: Task, timed: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": task.id}
    if task.title != task.id:
        entry["title"] = task.title
    if task.done:
        entry["done"] = True
    if task.depends:
        entry["depends"] = list(task.depends)
    uses: dict[str, int] = {}
    for access in task.accesses:
        if access.mode is Mode.AMOUNT:
            uses[access.key] = uses.get(access.key, 0) + access.amount
        else:
            entry.setdefault(_FIELDS[(access.kind, access.mode)], []).append(access.key)
    if uses:
        entry["uses"] = uses
    if task.duration_source is not DurationSource.DEFAULT:
        entry["duration"] = duration_text(task.duration) if timed else task.duration
    if task.run is not None:
        entry["run"] = task.run
    if task.agent is not None:
        entry["agent"] = task.agent
    if task.retries is not None:
        entry["retries"] = task.retries
    if task.timeout is not None:
        entry["timeout"] = task.timeout
    if task.description:
        entry["description"] = task.description
    return entry


def plan_to_taskfile(plan: Plan) -> dict[str, Any]:
    """The plan as task-file data (the mapping a YAML or JSON task file holds)."""
    data: dict[str, Any] = {}
    if plan.name is not None:
        data["name"] = plan.name
    if plan.workers is not None:
        data["workers"] = plan.workers
    if plan.capacities:
        data["resources"] = dict(plan.capacities)
    if plan.isolate is not None:
        data["isolate"] = plan.isolate.value
    if plan.default_duration != 1.0 or plan.timed:  # (1s keeps a plan timed, as ``1h`` does)
        default = plan.default_duration
        data["default_duration"] = duration_text(default) if plan.timed else default
    data["tasks"] = [_task(t, plan.timed) for t in plan.tasks]
    return data


def taskfile_json(plan: Plan) -> str:
    """The canonical task file as compact JSON."""
    return json.dumps(plan_to_taskfile(plan), separators=(",", ":"), ensure_ascii=False)


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


@functools.cache
def _dumper() -> type[yaml.SafeDumper]:
    """PyYAML's safe dumper writing multi-line text (task descriptions) as literal blocks,
    which read as written. Made on first use: only YAML output needs PyYAML (14 ms to import),
    while every run writes its JSON snapshot."""
    import yaml  # noqa: PLC0415

    class Dumper(yaml.SafeDumper):
        pass

    Dumper.add_representer(str, _text)
    return Dumper


def taskfile_yaml(plan: Plan) -> str:
    """The canonical task file as YAML, keys in the reference order."""
    import yaml  # noqa: PLC0415 - see _dumper

    return yaml.dump(
        plan_to_taskfile(plan), Dumper=_dumper(), sort_keys=False, allow_unicode=True, width=100
    )

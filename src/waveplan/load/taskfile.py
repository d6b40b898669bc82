"""Turn parsed task-file data into a validated :class:`~waveplan.model.Plan`.

Every check names the file, the task and the field it is about (and the line when the format
tells it). Checks that need the whole plan (unknown dependencies) run here too; cycles are found
when the dependency graph is built (:mod:`waveplan.graph`).
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable, Collection, Mapping
from typing import Any, NoReturn

from waveplan.errors import CONTROL, PlanValidationError, did_you_mean
from waveplan.load.parse import Document
from waveplan.model import (
    Access,
    DurationSource,
    Isolation,
    Mode,
    Plan,
    ResourceKind,
    Task,
    id_sort_key,
)
from waveplan.resources import normalize_path, normalize_state, normalize_test
from waveplan.units import MAX_SECONDS, parse_duration

__all__ = ["TASK_KEYS", "TOP_KEYS", "build_plan"]

TOP_KEYS = ("name", "workers", "resources", "isolate", "default_duration", "tasks")
TASK_KEYS = (
    "id",
    "title",
    "description",
    "depends",
    "files",
    "reads",
    "state",
    "state_reads",
    "tests",
    "test_reads",
    "uses",
    "duration",
    "run",
    "agent",
    "retries",
    "timeout",
    "done",
)

_TASK_KEY_SET = frozenset(TASK_KEYS)

# task-file field -> (kind, mode, normaliser) for the list-of-names accesses
_ACCESS_FIELDS: dict[str, tuple[ResourceKind, Mode, Callable[[str], str]]] = {
    "files": (ResourceKind.FILE, Mode.WRITE, normalize_path),
    "reads": (ResourceKind.FILE, Mode.READ, normalize_path),
    "state": (ResourceKind.STATE, Mode.WRITE, normalize_state),
    "state_reads": (ResourceKind.STATE, Mode.READ, normalize_state),
    "tests": (ResourceKind.TEST, Mode.WRITE, normalize_test),
    "test_reads": (ResourceKind.TEST, Mode.READ, normalize_test),
}

_ID_CHARS = re.compile(r"^\w[\w.+-]*$")
# Plain ASCII ids that pass every rule below: checked in one regex match, the common case.
_SAFE_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_+-]*(?:\.[A-Za-z0-9_+-]+)*\Z")


def _type_name(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, bytes):
        return "binary data"
    if isinstance(value, datetime.datetime | datetime.time):
        return f"the time {value.isoformat()}"
    if isinstance(value, datetime.date):
        return f"the date {value.isoformat()}"
    return f"a {type(value).__name__}"


def _unknown_key(key: object, known: tuple[str, ...]) -> str:
    """Name an unknown key with the closest known one, or list them all when none is close."""
    hint = did_you_mean(str(key), known)
    return f"unknown key '{key}'{hint or '; known keys: ' + ', '.join(known)}"


def check_id(raw: object) -> str:
    """Return the id as text, or raise ValueError saying why it is unsafe."""
    if type(raw) is str and _SAFE_ID.match(raw) and not raw.endswith(".lock"):
        return raw
    if raw is None:
        raise ValueError("the id is empty")
    if isinstance(raw, bool):  # true or false, in YAML or JSON
        raise ValueError("expected a text or whole-number id, got a boolean (quote it)")
    if not isinstance(raw, str | int):
        raise ValueError(f"expected a text or whole-number id, got {_type_name(raw)}")
    text = str(raw)
    if not text:
        raise ValueError("the id is empty")
    if CONTROL.search(text):
        raise ValueError(f"id '{text}' contains a control character")
    if any(c.isspace() for c in text):
        raise ValueError(f"id '{text}' contains whitespace")
    if "/" in text or "\\" in text:
        raise ValueError(f"id '{text}' contains a path separator")
    if ".." in text:
        raise ValueError(f"id '{text}' contains '..'")
    if text.endswith((".", ".lock")):  # ids may name git branches, which cannot end so
        raise ValueError(f"id '{text}' cannot end with '.' or '.lock'")
    if not _ID_CHARS.match(text):
        raise ValueError(
            f"id '{text}' is not safe: use letters, digits, '_', '-', '.' and '+', "
            "starting with a letter, digit or '_'"
        )
    return text


class _Context:
    """Error factory bound to one file and its line table."""

    def __init__(self, name: str, doc: Document) -> None:
        self.name = name
        self.doc = doc

    def error(
        self,
        message: str,
        *,
        container: object = None,
        key: object = None,
        task: str | None = None,
        field: str | None = None,
    ) -> PlanValidationError:
        line = self.doc.line(container, key) if container is not None else None
        return PlanValidationError(message, file=self.name, line=line, task=task, field=field)


def build_plan(doc: Document, *, name: str, root: str) -> Plan:
    """Validate parsed data and build the plan; raise :class:`PlanValidationError`."""
    ctx = _Context(name, doc)
    data = doc.data
    if not isinstance(data, dict):
        raise ctx.error(
            f"expected a mapping at the top level (with 'tasks'), got {_type_name(data)}"
        )
    for key in data:
        if key not in TOP_KEYS:
            raise ctx.error(_unknown_key(key, TOP_KEYS), container=data, key=key)
    plan_name = data.get("name")
    if plan_name is not None and not isinstance(plan_name, str):
        raise ctx.error(
            f"expected text, got {_type_name(plan_name)}", container=data, key="name", field="name"
        )
    workers = _workers(ctx, data)
    capacities = _capacities(ctx, data)
    isolate = _isolate(ctx, data)
    default = 1.0
    if "default_duration" in data:
        default = _seconds(
            data["default_duration"],
            "default_duration",
            ">= 0",
            lambda message, field: ctx.error(message, container=data, key=field, field=field),
        )
    if "tasks" not in data:
        raise ctx.error("no 'tasks': a plan needs a list or mapping of tasks")
    raw_tasks = _task_entries(ctx, data)
    tasks: list[Task] = []
    seen: dict[str, int] = {}
    access_cache: dict[tuple[str, str], Access] = {}
    for position, (entry, task_id) in enumerate(raw_tasks):
        task = _task(ctx, entry, task_id, capacities, access_cache, default=default)
        if task.id in seen:
            raise ctx.error(
                f"duplicate id (tasks #{seen[task.id] + 1} and #{position + 1})",
                container=entry,
                key="id",
                task=task.id,
                field="id",
            )
        seen[task.id] = position
        tasks.append(task)
    by_id = {t.id: (t, entry) for t, (entry, _) in zip(tasks, raw_tasks, strict=True)}
    if not _dependencies_resolve(tasks, by_id.keys()):
        _dependency_error(ctx, by_id)
    tasks.sort(key=lambda t: id_sort_key(t.id))
    return Plan(
        tasks=tuple(tasks),
        name=plan_name,
        workers=workers,
        capacities=capacities,
        root=root,
        source=name,
        isolate=isolate,
        timed=_timed(data.get("default_duration"))
        or any(_timed(entry.get("duration")) for entry, _ in raw_tasks),
        default_duration=default,
    )


def _dependency_error(ctx: _Context, by_id: dict[str, tuple[Task, dict[Any, Any]]]) -> NoReturn:
    """Raise the error of the first task with a dependency on itself or on no task."""
    known = list(by_id)
    for task, entry in by_id.values():
        for dep in task.depends:
            if dep == task.id:
                raise ctx.error(
                    "a task cannot depend on itself",
                    container=entry,
                    key="depends",
                    task=task.id,
                    field="depends",
                )
            if dep not in by_id:
                try:  # an unsafe id deserves its own message, not "unknown task"
                    check_id(dep)
                except ValueError as exc:
                    raise ctx.error(
                        str(exc), container=entry, key="depends", task=task.id, field="depends"
                    ) from None
                raise ctx.error(
                    f"unknown task '{dep}'{did_you_mean(dep, known)}",
                    container=entry,
                    key="depends",
                    task=task.id,
                    field="depends",
                )
    raise AssertionError("no dependency problem to report")  # pragma: no cover


def _dependencies_resolve(tasks: list[Task], ids: Collection[str]) -> bool:
    """True when every dependency names another task of the plan: checked in bulk, so that
    only a plan with a problem walks its tasks one by one (to name the first one)."""
    if any(t.id in t.depends for t in tasks):
        return False
    named: set[str] = set()
    named.update(*(t.depends for t in tasks))
    return named.issubset(ids)


def _isolate(ctx: _Context, data: dict[Any, Any]) -> Isolation | None:
    value = data.get("isolate")
    if value is None:
        return None
    choices = [i.value for i in Isolation]
    if not isinstance(value, str) or value not in choices:
        raise ctx.error(
            f"expected {' or '.join(choices)}, got {_type_name(value)}",
            container=data,
            key="isolate",
            field="isolate",
        )
    return Isolation(value)


def _workers(ctx: _Context, data: dict[Any, Any]) -> int | None:
    value = data.get("workers")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ctx.error(
            f"expected a whole number >= 1, got {_type_name(value)}",
            container=data,
            key="workers",
            field="workers",
        )
    return value


def _capacities(ctx: _Context, data: dict[Any, Any]) -> dict[str, int]:
    value = data.get("resources")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ctx.error(
            f"expected a mapping of resource name to capacity, got {_type_name(value)}",
            container=data,
            key="resources",
            field="resources",
        )
    capacities: dict[str, int] = {}
    for name, capacity in value.items():
        if not isinstance(name, str) or not name.strip() or any(c.isspace() for c in name):
            raise ctx.error(
                f"resource name {name!r} must be text without whitespace",
                container=value,
                key=name,
                field="resources",
            )
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ctx.error(
                f"capacity of '{name}' must be a whole number >= 1, got {_type_name(capacity)}",
                container=value,
                key=name,
                field="resources",
            )
        capacities[name] = capacity
    return capacities


def _task_entries(ctx: _Context, data: dict[Any, Any]) -> list[tuple[dict[Any, Any], str]]:
    """Each task's mapping with its id checked, from the list or the mapping form."""
    raw = data["tasks"]
    entries: list[tuple[dict[Any, Any], str]] = []
    if isinstance(raw, list):
        for number, entry in enumerate(raw, start=1):
            if not isinstance(entry, dict):
                raise ctx.error(
                    f"task #{number}: expected a mapping, got {_type_name(entry)}",
                    container=raw,
                    field="tasks",
                )
            if "id" not in entry:
                title = entry.get("title")
                hint = f" (titled {title!r})" if isinstance(title, str) else ""
                raise ctx.error(f"task #{number}{hint} has no 'id'", container=entry, field="id")
            entries.append((entry, _checked_id(ctx, entry["id"], entry, "id")))
    elif isinstance(raw, dict):
        for key, value in raw.items():
            task_id = _checked_id(ctx, key, raw, key)
            entry = {} if value is None else value
            if not isinstance(entry, dict):
                raise ctx.error(
                    f"expected a mapping, got {_type_name(entry)}",
                    container=raw,
                    key=key,
                    task=task_id,
                )
            if "id" in entry and str(entry["id"]) != task_id:
                raise ctx.error(
                    f"id {entry['id']!r} differs from the mapping key '{task_id}'",
                    container=entry,
                    key="id",
                    task=task_id,
                    field="id",
                )
            entries.append((entry, task_id))
    else:
        raise ctx.error(
            f"expected a list or mapping of tasks, got {_type_name(raw)}",
            container=data,
            key="tasks",
            field="tasks",
        )
    if not entries:
        raise ctx.error("the plan has no tasks", container=data, key="tasks", field="tasks")
    return entries


def _checked_id(ctx: _Context, raw: object, container: object, key: object) -> str:
    try:
        return check_id(raw)
    except ValueError as exc:
        raise ctx.error(str(exc), container=container, key=key, field="id") from None


def _task(
    ctx: _Context,
    entry: dict[Any, Any],
    task_id: str,
    capacities: Mapping[str, int],
    access_cache: dict[tuple[str, str], Access],
    *,
    default: float,
) -> Task:
    def fail(message: str, field: str) -> PlanValidationError:
        return ctx.error(message, container=entry, key=field, task=task_id, field=field)

    depends: tuple[str, ...] = ()
    accesses: list[Access] = []
    for key in entry:
        if key not in _TASK_KEY_SET:
            raise ctx.error(_unknown_key(key, TASK_KEYS), container=entry, key=key, task=task_id)
        if key == "depends":
            depends = _depends(entry, fail)
        elif key in _ACCESS_FIELDS:
            accesses.extend(_accesses(entry, key, fail, access_cache))

    title = entry.get("title", task_id)
    if not isinstance(title, str):
        raise fail(f"expected text, got {_type_name(title)}", "title")
    description = entry.get("description", "")
    if not isinstance(description, str):
        raise fail(f"expected text, got {_type_name(description)}", "description")
    done = entry.get("done", False)
    if not isinstance(done, bool):
        raise fail(f"expected true or false, got {_type_name(done)}", "done")

    uses = entry.get("uses")
    if uses is not None:
        if not isinstance(uses, dict):
            raise fail(f"expected a mapping of resource to amount, got {_type_name(uses)}", "uses")
        for resource, amount in uses.items():
            if resource not in capacities:
                declared = ", ".join(sorted(capacities)) or "none"
                raise fail(
                    f"unknown resource '{resource}'{did_you_mean(str(resource), list(capacities))}"
                    f"; declare it under 'resources' (declared: {declared})",
                    "uses",
                )
            if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
                raise fail(
                    f"amount of '{resource}' must be a whole number >= 0, got {_type_name(amount)}",
                    "uses",
                )
            if amount > capacities[resource]:
                raise fail(
                    f"uses {amount} of '{resource}', above its capacity {capacities[resource]}",
                    "uses",
                )
            if amount:
                accesses.append(Access(ResourceKind.COUNTED, resource, Mode.AMOUNT, amount))

    duration = default
    source = DurationSource.DEFAULT
    if "duration" in entry:
        duration = _seconds(entry["duration"], "duration", ">= 0", fail)
        source = DurationSource.DECLARED

    command = entry.get("run")
    if command is not None and not isinstance(command, str):
        raise fail(f"expected a shell command as text, got {_type_name(command)}", "run")
    agent = entry.get("agent")
    if agent is not None:
        if not isinstance(agent, str) or not agent.strip():
            raise fail(f"expected a prompt template as text, got {_type_name(agent)}", "agent")
        if command is not None:
            raise fail(
                "a task has either 'run' (a shell command) or 'agent' (a prompt for the agent "
                "command), not both",
                "agent",
            )
    for field, text in (("run", command), ("agent", agent)):
        if text is not None and "\0" in text:  # no process can be given one
            raise fail("contains a NUL character", field)

    retries = entry.get("retries")
    if retries is not None and (
        isinstance(retries, bool) or not isinstance(retries, int) or retries < 0
    ):
        raise fail(f"expected a whole number >= 0, got {_type_name(retries)}", "retries")
    timeout = entry.get("timeout")
    if timeout is not None:
        timeout = _seconds(timeout, "timeout", "> 0", fail)

    return Task(
        id=task_id,
        title=title,
        depends=depends,
        accesses=_dedupe(accesses),
        duration=duration,
        duration_source=source,
        run=command,
        retries=retries,
        timeout=timeout,
        done=done,
        description=description,
        agent=agent,
    )


def _seconds(
    raw: object, field: str, limit: str, fail: Callable[[str, str], PlanValidationError]
) -> float:
    """A duration field: a number, or text with units (``90s``, ``1h 30m``) read as seconds."""
    value: object = raw
    if isinstance(raw, str):
        try:
            value = parse_duration(raw)[0]
        except ValueError as exc:
            raise fail(f"{_type_name(raw)} is not a duration: {exc}", field) from None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or (value < 0 if limit == ">= 0" else value <= 0)
    ):
        raise fail(
            f"expected a number {limit} or a duration such as 90s or 1h 30m, got {_type_name(raw)}",
            field,
        )
    if value > MAX_SECONDS:
        raise fail(f"{_type_name(raw)} is too large (at most {MAX_SECONDS:.0e})", field)
    return float(value)


def _timed(raw: object) -> bool:
    """Whether a (valid) duration field is written with a unit, which makes the plan timed."""
    return isinstance(raw, str) and parse_duration(raw)[1]


def _depends(
    entry: dict[Any, Any], fail: Callable[[str, str], PlanValidationError]
) -> tuple[str, ...]:
    raw = _list_field(entry, "depends", fail)
    if all(type(d) is str for d in raw):  # checked against the known ids in build_plan
        return tuple(dict.fromkeys(raw))
    depends: dict[str, None] = {}  # ordered and without repeats
    for raw_dep in raw:
        try:
            depends[check_id(raw_dep)] = None
        except ValueError as exc:
            raise fail(str(exc), "depends") from None
    return tuple(depends)


def _accesses(
    entry: dict[Any, Any],
    field: str,
    fail: Callable[[str, str], PlanValidationError],
    cache: dict[tuple[str, str], Access],
) -> list[Access]:
    """One list field of accesses; equal items share one Access object across the plan."""
    found = []
    for item in _list_field(entry, field, fail):
        if not isinstance(item, str):
            raise fail(f"expected text items, got {_type_name(item)}", field)
        access = cache.get((field, item))
        if access is None:
            kind, mode, normalise = _ACCESS_FIELDS[field]
            try:
                access = Access(kind, normalise(item), mode)
            except ValueError as exc:
                raise fail(str(exc), field) from None
            cache[(field, item)] = access
        found.append(access)
    return found


def _list_field(
    entry: dict[Any, Any], field: str, fail: Callable[[str, str], PlanValidationError]
) -> list[Any]:
    """A list field; a single text or number stands for a one-item list."""
    value = entry.get(field)
    if value is None:
        return []
    if isinstance(value, str | int) and not isinstance(value, bool):
        return [value]
    if not isinstance(value, list):
        raise fail(f"expected a list, got {_type_name(value)}", field)
    return value


def _dedupe(accesses: list[Access]) -> tuple[Access, ...]:
    """Drop repeated accesses. A read of a key the task also writes is kept: planning holds
    the key for writing anyway, but a split of the file leaves the task reading the whole."""
    if len(accesses) < 2 or len({a.key for a in accesses}) == len(accesses):
        return tuple(accesses)
    seen: set[tuple[ResourceKind, str, Mode]] = set()
    kept: list[Access] = []
    for access in accesses:
        marker = (access.kind, access.key, access.mode)
        if marker in seen:
            continue
        seen.add(marker)
        kept.append(access)
    return tuple(kept)

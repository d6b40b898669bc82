"""From what an importer read to a validated plan: the part every importer shares.

An importer turns its format into :class:`Draft` tasks, each field with the place it came
from, and hands them to :func:`assemble`, which

1. gives each task a safe id (the source's id when it is safe, else one derived from it),
2. resolves dependencies by source id (``1`` finds ``001``); a dependency on a task the
   import does not hold counts as already done and is reported,
3. normalises paths (an absolute path inside the project becomes relative; others are
   reported and skipped),
4. builds the task-file data a task file would hold and validates it with the task-file
   builder, so an imported plan obeys every rule a task file does,
5. marks inferred and observed accesses and records the :class:`~waveplan.model.PlanSource`:
   declared waves, parallel marks, warnings, source ids and provenance.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from waveplan.load.parse import Document
from waveplan.load.taskfile import build_plan, check_id
from waveplan.model import (
    DurationSource,
    Mode,
    Origin,
    Plan,
    PlanSource,
    ResourceKind,
    SourceFormat,
    Task,
    id_sort_key,
)
from waveplan.resources import normalize_path, normalize_state
from waveplan.units import duration_text

__all__ = ["Draft", "DraftAccess", "Import", "assemble", "id_list", "join_ids"]

# task-file field -> (kind, mode, normaliser)
_FIELDS: dict[str, tuple[ResourceKind, Mode, Callable[[str], str]]] = {
    "files": (ResourceKind.FILE, Mode.WRITE, normalize_path),
    "reads": (ResourceKind.FILE, Mode.READ, normalize_path),
    "state": (ResourceKind.STATE, Mode.WRITE, normalize_state),
}
_STRENGTH = {Origin.DECLARED: 2, Origin.OBSERVED: 1, Origin.INFERRED: 0}


@dataclass
class DraftAccess:
    """One access as the source gives it: ``field`` is ``files``, ``reads`` or ``state``."""

    field: str
    raw: str
    origin: Origin
    where: str


@dataclass
class Draft:
    """One task as an importer read it; every ``*_where`` is ``file:line``."""

    source_id: str
    title: str
    where: str
    description: str = ""
    depends: list[tuple[str, str]] = field(default_factory=list)  # (source id, where)
    accesses: list[DraftAccess] = field(default_factory=list)
    duration: float | None = None
    duration_source: DurationSource = DurationSource.DECLARED
    duration_where: str = ""
    done: bool = False
    done_where: str = ""
    wave: int | None = None
    wave_where: str = ""
    parallel: bool | None = None
    parallel_where: str = ""

    def add(self, field_name: str, raw: str, origin: Origin, where: str) -> None:
        self.accesses.append(DraftAccess(field_name, raw, origin, where))


@dataclass
class Import:
    """What an importer read: its tasks, in the source's order, and its warnings so far.

    ``scope`` names what the import holds in messages (``this phase folder``).
    ``duration_unit`` is the seconds in a unit of the drafts' durations when the source gives
    them a unit (the plan is then timed, and a task without a duration counts as one unit);
    None when they have none.
    """

    format: SourceFormat
    source: str
    root: str
    drafts: list[Draft]
    name: str | None = None
    scope: str = "the plan"
    warnings: list[str] = field(default_factory=list)
    duration_unit: float | None = None


def join_ids(ids: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(ids) <= 1:
        return "".join(ids)
    return ", ".join(ids[:-1]) + " and " + ids[-1]


def _canonical(source_id: str) -> str:
    """The id with leading zeros dropped from its numbers: ``001`` and ``1`` are one task."""
    return re.sub(r"\d+", lambda m: str(int(m.group())), source_id.strip().lower())


_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]+")


def _derive_id(source_id: str, position: int) -> str:
    """A safe id for a source id that is not one: its safe characters, else ``task-N``."""
    candidate = _UNSAFE.sub("-", source_id).strip("-.+")
    candidate = re.sub(r"\.{2,}", ".", candidate).removesuffix(".lock")
    try:
        return check_id(candidate)
    except ValueError:
        return f"task-{position}"


def id_list(text: str) -> tuple[list[str], list[str]]:
    """Task ids in a list as plans write them: ``1, 2``, ``[3, 4]``, ``T2-T6``, ``Tasks 5-8``,
    ``Task 24``, ``none``. Returns the ids and the entries that are not ids."""
    text = text.strip().strip("[]().").strip()
    if not text or text.lower() in ("none", "n/a", "na", "-", "\u2014", "\u2013", "nothing"):
        return [], []
    ids: list[str] = []
    odd: list[str] = []
    for part in re.split(r",|;|\band\b|&", text):
        item = part.strip().strip("[]()`*").strip()
        if not item or item.lower() in ("none", "-", "\u2014"):
            continue
        item = re.sub(r"^(?:tasks?|todos?|#)\s*", "", item, flags=re.IGNORECASE).strip()
        span = re.fullmatch(r"(T?)(\d+)\s*(?:-|\u2013|\u2014|to|\.\.)\s*T?(\d+)", item, re.I)
        if span and int(span.group(2)) < int(span.group(3)) <= int(span.group(2)) + 200:
            prefix = span.group(1)
            width = len(span.group(2)) if span.group(2).startswith("0") else 0
            ids.extend(
                f"{prefix}{str(n).zfill(width)}"
                for n in range(int(span.group(2)), int(span.group(3)) + 1)
            )
            continue
        word = re.fullmatch(r"[A-Za-z]{0,3}\d+(?:[.-]\d+)*[a-z]?", item)
        if word:
            ids.append(item)
        else:
            odd.append(part.strip())
    return ids, odd


def _strip_t(source_id: str) -> str:
    return re.sub(r"^t(?=\d)", "", source_id, flags=re.IGNORECASE)


class _Resolver:
    """Finds tasks by source id: exactly, then with numbers compared by value, then without a
    ``T`` prefix (``T4`` and ``4``)."""

    def __init__(self, drafts: list[Draft], ids: list[str]) -> None:
        self.exact: dict[str, str] = {}
        self.loose: dict[str, str] = {}
        for draft, task_id in zip(drafts, ids, strict=True):
            self.exact.setdefault(draft.source_id, task_id)
            self.loose.setdefault(_canonical(draft.source_id), task_id)
            self.loose.setdefault(_canonical(_strip_t(draft.source_id)), task_id)

    def find(self, source_id: str) -> str | None:
        found = self.exact.get(source_id)
        if found is None:
            found = self.loose.get(_canonical(source_id))
        if found is None:
            found = self.loose.get(_canonical(_strip_t(source_id)))
        return found


def _relative(raw: str, root: str) -> str:
    """An absolute path inside the project root, made relative to it; others as they are."""
    if not raw.startswith("/"):
        return raw
    try:
        return PurePosixPath(raw).relative_to(Path(root).absolute().as_posix()).as_posix()
    except ValueError:
        return raw


def _why_not(raw: str, exc: ValueError) -> str:
    if raw.startswith("~"):
        return "in the home folder"
    if raw.startswith("/"):
        return "outside the project"
    return str(exc).replace(f"'{raw}' ", "")


def assemble(imported: Import) -> Plan:
    """Validate the drafts into a plan carrying its :class:`PlanSource`."""
    drafts = imported.drafts
    warnings = list(imported.warnings)
    ids: list[str] = []
    taken: set[str] = set()
    first_of: dict[str, Draft] = {}
    for position, draft in enumerate(drafts, start=1):
        try:
            task_id = check_id(draft.source_id)
        except ValueError:
            task_id = _derive_id(draft.source_id, position)
        if draft.source_id in first_of:
            earlier = first_of[draft.source_id]
            warnings.append(
                f"{draft.where}: two tasks have the id {draft.source_id} (the other is at "
                f"{earlier.where}); dependencies on {draft.source_id} mean the first"
            )
        first_of.setdefault(draft.source_id, draft)
        base, n = task_id, 2
        while task_id in taken:
            task_id, n = f"{base}-{n}", n + 1
        taken.add(task_id)
        ids.append(task_id)
    name_of = {task_id: draft.source_id for task_id, draft in zip(ids, drafts, strict=True)}
    resolver = _Resolver(drafts, ids)

    entries: list[dict[str, Any]] = []
    origins: dict[str, dict[tuple[str, str], Origin]] = {}
    provenance: dict[str, dict[str, str]] = {}
    for task_id, draft in zip(ids, drafts, strict=True):
        where = provenance.setdefault(task_id, {"title": draft.where})
        title = draft.title.replace("`", "").strip(" *_") or draft.source_id
        entry: dict[str, Any] = {"id": task_id, "title": title}
        depends: list[str] = []
        outside: list[str] = []
        for dep, dep_where in draft.depends:
            found = resolver.find(dep)
            if found is None:
                if dep not in outside:
                    outside.append(dep)
            elif found == task_id:
                warnings.append(f"{dep_where}: {draft.source_id} depends on itself; ignored")
            elif found not in depends:
                depends.append(found)
                where.setdefault("depends", dep_where)
        if outside:
            which = "which is" if len(outside) == 1 else "which are"
            warnings.append(
                f"{draft.source_id} depends on {join_ids(outside)}, {which} not in "
                f"{imported.scope}: counted as done"
            )
        if depends:
            entry["depends"] = depends
        kept: dict[tuple[str, str], tuple[Origin, str]] = {}
        skipped: list[str] = []
        for access in draft.accesses:
            _kind, _mode, normalise = _FIELDS[access.field]
            raw = _relative(access.raw.strip(), imported.root)
            try:
                key = normalise(raw)
            except ValueError as exc:
                if access.origin is not Origin.INFERRED:
                    skipped.append(f"'{access.raw}' ({_why_not(raw, exc)})")
                continue
            marker = (access.field, key)
            previous = kept.get(marker)
            if previous is None or _STRENGTH[access.origin] > _STRENGTH[previous[0]]:
                kept[marker] = (access.origin, access.where)
        if skipped:
            warnings.append(f"{draft.source_id}: skipped paths: {', '.join(skipped)}")
        # an inferred path the task already names in another field adds nothing
        named = {key for (f, key), (origin, _) in kept.items() if origin is not Origin.INFERRED}
        for (field_name, key), (origin, access_where) in kept.items():
            if origin is Origin.INFERRED and key in named:
                continue
            entry.setdefault(field_name, []).append(key)
            where.setdefault(f"{field_name}:{key}", access_where)
            if origin is not Origin.DECLARED:
                origins.setdefault(task_id, {})[(field_name, key)] = origin
        if draft.duration is not None:
            entry["duration"] = (
                draft.duration
                if imported.duration_unit is None
                else duration_text(draft.duration * imported.duration_unit)
            )
            where["duration"] = draft.duration_where
        if draft.done:
            entry["done"] = True
            where["done"] = draft.done_where
        if draft.description:
            entry["description"] = draft.description
        if draft.wave is not None:
            where["wave"] = draft.wave_where
        if draft.parallel is not None:
            where["parallel"] = draft.parallel_where
        entries.append(entry)

    data: dict[str, Any] = {"tasks": entries}
    if imported.duration_unit is not None:
        data = {"default_duration": duration_text(imported.duration_unit), **data}
    if imported.name:
        data = {"name": imported.name, **data}
    plan = build_plan(Document(data), name=imported.source, root=imported.root)
    plan = _mark(plan, origins, drafts, ids)
    done = {t.id for t in plan.tasks if t.done}
    for task in plan.tasks:
        pending = [name_of[d] for d in task.depends if d not in done]
        if task.done and pending:
            warnings.append(
                f"{name_of[task.id]} is done, but depends on {join_ids(pending)}, "
                f"which {'is' if len(pending) == 1 else 'are'} not"
            )
    waves: dict[int, list[str]] = {}
    for task_id, draft in zip(ids, drafts, strict=True):
        if draft.wave is not None:
            waves.setdefault(draft.wave, []).append(task_id)
    numbers = sorted(waves)
    source = PlanSource(
        format=imported.format,
        declared_waves=tuple(tuple(sorted(waves[n], key=id_sort_key)) for n in numbers)
        if waves
        else None,
        wave_numbers=tuple(numbers),
        parallel=tuple(
            sorted((t for t, d in zip(ids, drafts, strict=True) if d.parallel), key=id_sort_key)
        ),
        warnings=tuple(warnings),
        source_ids={t: s for t, s in name_of.items() if t != s},
        provenance=provenance,
    )
    return dataclasses.replace(plan, origin=source)


def _mark(
    plan: Plan,
    origins: dict[str, dict[tuple[str, str], Origin]],
    drafts: list[Draft],
    ids: list[str],
) -> Plan:
    """Give accesses their inferred or observed origin and durations their source."""
    history = {
        task_id
        for task_id, draft in zip(ids, drafts, strict=True)
        if draft.duration is not None and draft.duration_source is DurationSource.HISTORY
    }
    if not origins and not history:
        return plan
    field_of = {(kind, mode): name for name, (kind, mode, _) in _FIELDS.items()}
    tasks: list[Task] = []
    for task in plan.tasks:
        marked = task
        marks = origins.get(task.id)
        if marks:
            accesses = tuple(
                dataclasses.replace(
                    access,
                    origin=marks.get(
                        (field_of.get((access.kind, access.mode), ""), access.key),
                        Origin.DECLARED,
                    ),
                )
                for access in task.accesses
            )
            marked = dataclasses.replace(marked, accesses=accesses)
        if task.id in history:
            marked = dataclasses.replace(marked, duration_source=DurationSource.HISTORY)
        tasks.append(marked)
    return dataclasses.replace(plan, tasks=tuple(tasks))

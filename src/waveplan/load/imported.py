"""From what an importer read to a validated plan: the part every importer shares.

An importer turns its format into :class:`Draft` tasks, each field with the place it came
from, and hands them to :func:`assemble`, which

1. gives each task a safe id (the source's id when it is safe, else one derived from it),
2. resolves dependencies by source id (``1`` finds ``001``, a word finds the task of that
   id); a dependency on a task the import does not hold counts as already done and is
   reported, and an entry that is no id at all (``the schema``) is reported and ignored,
3. normalises paths (an absolute path inside the project becomes relative; others, and
   paths in the home folder, are reported and skipped),
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
from waveplan.load.prose import path_of_entry
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

__all__ = [
    "Draft",
    "DraftAccess",
    "Import",
    "assemble",
    "dependency_entry",
    "id_list",
    "join_ids",
    "readable_id",
]

# task-file field -> (kind, mode, normaliser)
_FIELDS: dict[str, tuple[ResourceKind, Mode, Callable[[str], str]]] = {
    "files": (ResourceKind.FILE, Mode.WRITE, normalize_path),
    "reads": (ResourceKind.FILE, Mode.READ, normalize_path),
    "state": (ResourceKind.STATE, Mode.WRITE, normalize_state),
}
_STRENGTH = {Origin.DECLARED: 2, Origin.OBSERVED: 1, Origin.INFERRED: 0}
# ``~/x``, ``~user/x``, ``$HOME/x``: a plan written for an agent may name files of the person's
# home folder, which no project holds (a task file may still name a file ``~x``)
_HOME = re.compile(r"~[\w.-]*/|~$|(?:\$HOME|\$\{HOME\})(?:/|$)")


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

    def declare(
        self,
        field_name: str,
        entries: list[str],
        where: str,
        warnings: list[str],
        *,
        whole: bool = False,
    ) -> None:
        """Declared paths from the entries of a list, notes dropped (``src/a.ts (new)``); an
        entry that names no path is reported, and ``none`` (``n/a``) names nothing. With
        ``whole`` each entry is one path, spaces included (a YAML list's item)."""
        for entry in entries:
            if re.sub(r"\s*\(.*$", "", entry).strip(" `*.").lower() in _NONE:
                continue
            path = path_of_entry(entry, whole=whole)
            if path:
                self.add(field_name, path, Origin.DECLARED, where)
            else:
                warnings.append(f"{where}: {self.source_id}: {entry!r} names no file; ignored")


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


_NONE = frozenset({"none", "n/a", "na", "-", "\u2014", "\u2013", "nothing"})
_PREFIX = re.compile(r"^(?:(?:tasks?|todos?)[\s#:]+|#\s*)", re.IGNORECASE)
# ``task-1`` names task ``1`` only when no task has the id ``task-1`` (see _Resolver.find)
_JOINED_PREFIX = re.compile(r"^(?:tasks?|todos?)[-_](?=\d)", re.IGNORECASE)
# what follows an id as a note: ``1 (schema must exist)``, ``04-01 \u2014 the store``, ``3: API``
_NOTE = re.compile(r"\s*(?:\(|\s[-\u2013\u2014]|[\u2013\u2014]\s|:\s|\s#).*$", re.DOTALL)
# ``T2-T6``, ``F1-F4``, ``5 to 8``: the second number may repeat the first one's letters
_SPAN = re.compile(
    r"([A-Za-z]{0,2})(\d+)\s*(?:-|\u2013|\u2014|to|\.\.)\s*(?:\1)?(\d+)", re.IGNORECASE
)


def _split_list(text: str) -> list[str]:
    """The entries of a list, split at commas, semicolons, ``and`` and ``&`` outside
    parentheses (a note may hold them)."""
    parts: list[str] = []
    start = depth = 0
    for found in re.finditer(r"[()]|,|;|\band\b|&", text):
        mark = found.group()
        if mark in "()":
            depth = depth + 1 if mark == "(" else max(0, depth - 1)
        elif depth == 0:
            parts.append(text[start : found.start()])
            start = found.end()
    parts.append(text[start:])
    return parts


def dependency_entry(entry: str) -> str | None:
    """The id one entry of a dependency list names, without a ``Task``/``#`` prefix or the
    note after it: ``Task 3``, ``#3``, ``1 (schema must exist)``, ``04-01 \u2014 the store``.
    None for ``none``; the entry as written when it holds nothing else."""
    written = entry.strip().strip("`*").strip()
    item = _PREFIX.sub("", written).strip()
    item = _NOTE.sub("", item).strip().strip("`*").strip()
    if written.lower() in _NONE or item.lower() in _NONE:
        return None
    return item or written or None


def id_list(text: str) -> list[str]:
    """Task ids in a list as plans write them: ``1, 2``, ``[3, 4]``, ``T2-T6``, ``Tasks 5-8``,
    ``Task 24``, ``A and B``, ``1, 2 (UI must land first)``, ``none``. Notes are dropped;
    an entry that names no id is kept as written, for :func:`assemble` to report."""
    text = text.strip().rstrip(".").strip()
    wrapped = re.match(r"\[([^\[\]]*)\]|\(([^()]*)\)", text)  # a note may follow
    if wrapped:
        text = (wrapped.group(1) or wrapped.group(2) or "").strip()
    ids: list[str] = []
    for part in _split_list(text):
        item = part.strip().strip("[]`*").strip()
        if not item:
            continue
        bare = _PREFIX.sub("", item).strip()
        span = _SPAN.fullmatch(bare) or _SPAN.fullmatch(re.sub(r"\s*\(.*$", "", bare))
        if span and int(span.group(2)) < int(span.group(3)) <= int(span.group(2)) + 200:
            prefix = span.group(1)
            width = len(span.group(2)) if span.group(2).startswith("0") else 0
            ids.extend(
                f"{prefix}{str(n).zfill(width)}"
                for n in range(int(span.group(2)), int(span.group(3)) + 1)
            )
            continue
        found = dependency_entry(item)
        if found is not None:
            ids.append(found)
    return ids


def _strip_t(source_id: str) -> str:
    return re.sub(r"^t(?=\d)", "", source_id, flags=re.IGNORECASE)


class _Resolver:
    """Finds tasks by source id: exactly, then with numbers compared by value, then without a
    ``T`` prefix (``T4`` and ``4``), then without a ``task-`` prefix (``task-4`` and ``4``)."""

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
        if found is None:
            joined = _JOINED_PREFIX.match(source_id)
            if joined is not None:
                return self.find(source_id[joined.end() :])
        return found


def _relative(raw: str, root: str) -> str:
    """An absolute path inside the project root, made relative to it; others as they are."""
    if not raw.startswith("/"):
        return raw
    try:
        return PurePosixPath(raw).relative_to(Path(root).absolute().as_posix()).as_posix()
    except ValueError:
        return raw


def _key(field_name: str, raw: str) -> str:
    """The resource key of an access; ValueError saying why its path cannot be in the
    project."""
    kind, _mode, normalise = _FIELDS[field_name]
    if kind is ResourceKind.FILE and _HOME.match(raw):
        raise ValueError("in the home folder")
    try:
        return normalise(raw)
    except ValueError as exc:
        if kind is ResourceKind.FILE and raw.startswith("/"):
            raise ValueError("outside the project") from None
        raise ValueError(str(exc).replace(f"'{raw}' ", "")) from None


def readable_id(text: str) -> bool:
    """Whether a dependency that names no task of the import could name a task elsewhere (it
    is a safe task id); ``the schema`` cannot."""
    try:
        check_id(text)
    except ValueError:
        return False
    return True


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
            if found is None and not readable_id(dep):
                warnings.append(
                    f"{dep_where}: {draft.source_id}: cannot read the dependency {dep!r} "
                    "(no task has that id); ignored"
                )
            elif found is None:
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
            raw = _relative(access.raw.strip(), imported.root)
            try:
                key = _key(access.field, raw)
            except ValueError as exc:
                if access.origin is not Origin.INFERRED:
                    skipped.append(f"'{access.raw}' ({exc})")
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
                else duration_text(round(draft.duration * imported.duration_unit, 6))
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

"""Which format a path holds, what exactly to read, and the project root its paths are under.

Without ``--from``: ``.yaml``/``.yml``/``.json``/``.toml`` files (and other non-markdown files)
are task files. A markdown file is a GSD plan when it is named ``*-PLAN.md`` or ``*-SUMMARY.md``
(its phase folder is read), a ccpm task when it is ``epic.md`` or ``<N>.md`` in
``.claude/epics/<epic>/`` (its epic is read), a Sisyphus plan when it lies in
``.sisyphus/plans/`` or ``.omo/plans/`` or has numbered todo rows with parallelization lines,
and else a markdown plan. A folder is a GSD phase folder (or a project, ``.planning`` or
``phases`` folder holding phases: the first phase with plans not done is read), a ccpm epic (or
a folder holding exactly one), or a folder holding exactly one Sisyphus plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from waveplan.errors import PlanError
from waveplan.load.ccpm import EPIC_FILE, task_files
from waveplan.load.gsd import PLAN_SUFFIX, SUMMARY_SUFFIX, plan_files
from waveplan.load.sisyphus import has_todo_rows
from waveplan.load.text import read_text
from waveplan.model import SourceFormat, id_sort_key

__all__ = ["Target", "find_target"]

_TASK_FILE_SUFFIXES = (".yaml", ".yml", ".json", ".toml")
_MARKDOWN_SUFFIXES = (".md", ".markdown")
_SISYPHUS_DIRS = (".sisyphus", ".omo")


@dataclass
class Target:
    """What to read: ``path`` (a file or folder) in ``format``; ``display`` names it in
    messages; ``root`` is the project root; ``notes`` explain choices made on the way."""

    format: SourceFormat
    path: Path
    display: str
    root: Path
    notes: list[str] = field(default_factory=list)


def _shown(given: str, base: Path, found: Path) -> str:
    """How to name ``found``, a path under ``base`` (which the user gave as ``given``)."""
    if found == base:
        return given
    try:
        return str(Path(given) / found.relative_to(base))
    except ValueError:
        return str(found)


def find_target(given: str, forced: SourceFormat | None = None) -> Target:
    """Detect (or, with ``forced``, check) the format of ``given``; raise :class:`PlanError`
    when there is nothing waveplan can read there."""
    if not given:  # Path("") is the current folder: '' named it in every message
        raise PlanError("the plan path is empty: give a task file or a plan folder")
    path = Path(given)
    if not path.exists():
        raise PlanError("no such file", file=given)
    if path.is_dir():
        return _folder(given, path, forced)
    return _file(given, path, forced)


def _file(given: str, path: Path, forced: SourceFormat | None) -> Target:
    name = path.name
    fmt = forced
    if fmt is None:
        if not name.lower().endswith(_MARKDOWN_SUFFIXES):
            fmt = SourceFormat.WAVEPLAN
        elif name.endswith((PLAN_SUFFIX, SUMMARY_SUFFIX)):
            fmt = SourceFormat.GSD
        elif name == EPIC_FILE or (path.stem.isdigit() and path.parent.parent.name == "epics"):
            fmt = SourceFormat.CCPM
        elif _in_sisyphus(path) or has_todo_rows(read_text(path, given) or ""):
            fmt = SourceFormat.SISYPHUS
        else:
            fmt = SourceFormat.MARKDOWN
    if fmt is SourceFormat.GSD:  # a plan or summary stands for its phase folder
        if not plan_files(path.parent):  # (--from gsd on another file)
            raise PlanError("no GSD plans (NN-MM-PLAN.md) in its folder", file=given)
        return _gsd_phase(given, path, path.parent)
    if fmt is SourceFormat.CCPM:  # a task file or epic.md stands for its epic
        if not _is_epic(path.parent):
            raise PlanError("no ccpm tasks (<N>.md) or epic.md in its folder", file=given)
        return _ccpm_epic(given, path, path.parent)
    if fmt is SourceFormat.SISYPHUS:
        return Target(fmt, path, given, _sisyphus_root(path))
    return Target(fmt, path, given, path.parent)


def _folder(given: str, path: Path, forced: SourceFormat | None) -> Target:
    if forced in (SourceFormat.WAVEPLAN, SourceFormat.MARKDOWN):
        kind = "task file" if forced is SourceFormat.WAVEPLAN else "markdown plan"
        raise PlanError(f"is a folder; give the {kind} itself", file=given)
    if forced in (None, SourceFormat.GSD):
        found = _find_gsd(given, path)
        if found is not None:
            return found
    if forced in (None, SourceFormat.CCPM):
        found = _find_ccpm(given, path)
        if found is not None:
            return found
    if forced in (None, SourceFormat.SISYPHUS):
        found = _find_sisyphus(given, path, forced is SourceFormat.SISYPHUS)
        if found is not None:
            return found
    if forced is not None:
        expected = {
            SourceFormat.GSD: "no GSD plans (NN-MM-PLAN.md) in this folder or .planning/phases/",
            SourceFormat.CCPM: "no ccpm tasks (<N>.md) in this folder or .claude/epics/",
            SourceFormat.SISYPHUS: "no Sisyphus plan in this folder, .sisyphus/plans/ or "
            ".omo/plans/",
        }[forced]
        raise PlanError(expected, file=given)
    raise PlanError(
        "is a folder, not a task file, and holds no plan waveplan can import (a GSD phase "
        "folder, a ccpm epic or a Sisyphus plan; see --from)",
        file=given,
    )


# --- GSD -----------------------------------------------------------------------------------


def _gsd_root(phase: Path) -> Path:
    parent = phase.absolute().parent
    if parent.name == "phases" and parent.parent.name == ".planning":
        return parent.parent.parent
    return phase


def _gsd_phase(given: str, base: Path, phase: Path, notes: list[str] | None = None) -> Target:
    shown = _shown(given, base, phase) if base != phase else given
    if base.is_file():
        shown = str(Path(given).parent)
    return Target(SourceFormat.GSD, phase, shown, _gsd_root(phase), notes or [])


def _find_gsd(given: str, path: Path) -> Target | None:
    if plan_files(path):
        return _gsd_phase(given, path, path)
    for holder in (path / ".planning" / "phases", path / "phases", path):
        if not holder.is_dir():
            continue
        phases = sorted(
            (d for d in holder.iterdir() if d.is_dir() and plan_files(d)),
            key=lambda d: id_sort_key(d.name),
        )
        if not phases:
            continue
        pending = [
            d
            for d in phases
            if any(
                not p.with_name(p.name[: -len(PLAN_SUFFIX)] + SUMMARY_SUFFIX).is_file()
                for p in plan_files(d)
            )
        ]
        chosen = pending[0] if pending else phases[-1]
        notes = []
        if len(phases) > 1:
            why = "the first with plans not done" if pending else "the last (all are done)"
            notes.append(
                f"{_shown(given, path, holder)}: {len(phases)} phase folders; read "
                f"{chosen.name}, {why} (give a phase folder to read another)"
            )
        return Target(
            SourceFormat.GSD, chosen, _shown(given, path, chosen), _gsd_root(chosen), notes
        )
    return None


# --- ccpm ----------------------------------------------------------------------------------


def _ccpm_root(epic: Path) -> Path:
    parent = epic.absolute().parent
    if parent.name == "epics" and parent.parent.name == ".claude":
        return parent.parent.parent
    return epic


def _is_epic(folder: Path) -> bool:
    return bool(task_files(folder)) or (folder / EPIC_FILE).is_file()


def _ccpm_epic(given: str, base: Path, epic: Path) -> Target:
    shown = str(Path(given).parent) if base.is_file() else _shown(given, base, epic)
    return Target(SourceFormat.CCPM, epic, shown, _ccpm_root(epic))


def _find_ccpm(given: str, path: Path) -> Target | None:
    if _is_epic(path):
        return _ccpm_epic(given, path, path)
    for holder in (path / ".claude" / "epics", path / "epics", path):
        if not holder.is_dir():
            continue
        epics = sorted(d for d in holder.iterdir() if d.is_dir() and _is_epic(d))
        if len(epics) == 1:
            return _ccpm_epic(given, path, epics[0])
        if epics:
            names = ", ".join(d.name for d in epics)
            raise PlanError(
                f"holds {len(epics)} ccpm epics ({names}): give the folder of one",
                file=_shown(given, path, holder),
            )
    return None


# --- Sisyphus ------------------------------------------------------------------------------


def _in_sisyphus(path: Path) -> bool:
    parent = path.absolute().parent
    return parent.name == "plans" and parent.parent.name in _SISYPHUS_DIRS


def _sisyphus_root(path: Path) -> Path:
    return path.absolute().parent.parent.parent if _in_sisyphus(path) else path.parent


def _find_sisyphus(given: str, path: Path, forced: bool) -> Target | None:
    holders = [path / d / "plans" for d in _SISYPHUS_DIRS]
    if path.name in _SISYPHUS_DIRS:
        holders.append(path / "plans")
    if (path.name == "plans" and path.absolute().parent.name in _SISYPHUS_DIRS) or forced:
        holders.append(path)
    for holder in holders:
        if not holder.is_dir():
            continue
        plans = sorted(
            p
            for p in holder.iterdir()
            if p.is_file() and p.suffix == ".md" and p.name.lower() != "readme.md"
        )
        if len(plans) == 1:
            return Target(
                SourceFormat.SISYPHUS,
                plans[0],
                _shown(given, path, plans[0]),
                _sisyphus_root(plans[0]),
            )
        if plans:
            names = ", ".join(p.name for p in plans)
            raise PlanError(
                f"holds {len(plans)} Sisyphus plans ({names}): give the file of one",
                file=_shown(given, path, holder),
            )
    return None

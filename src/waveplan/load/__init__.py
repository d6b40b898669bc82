"""Loading plans: the only code that reads task files and the plans agent frameworks write.

``load_plan(path)`` reads a YAML, JSON or TOML task file, or imports a markdown plan, a GSD
phase folder, a ccpm epic or a Sisyphus plan (detected, or forced with ``source_format``), and
returns a validated :class:`~waveplan.model.Plan`. Imported plans carry a
:class:`~waveplan.model.PlanSource` (``plan.origin``). The root is the task file's folder, or
the project an imported plan belongs to, unless ``root`` is given. A PSPLIB project scheduling
instance (``.sm``) is read as a task file (:mod:`waveplan.load.psplib`).
"""

from __future__ import annotations

import os
from pathlib import Path

from waveplan.errors import PlanError
from waveplan.load.ccpm import read_ccpm
from waveplan.load.detect import Target, find_target
from waveplan.load.gsd import read_gsd
from waveplan.load.imported import Import, assemble
from waveplan.load.markdown import read_markdown
from waveplan.load.parse import Format, decode, detect_format, parse_document
from waveplan.load.psplib import looks_like_psplib, parse_psplib
from waveplan.load.sisyphus import read_sisyphus
from waveplan.load.taskfile import build_plan
from waveplan.load.text import read_text
from waveplan.model import Plan, SourceFormat

__all__ = ["Format", "SourceFormat", "load_plan", "parse_plan_text"]


def load_plan(
    path: str | os.PathLike[str],
    *,
    root: str | os.PathLike[str] | None = None,
    source_format: SourceFormat | None = None,
    infer_files: bool = True,
) -> Plan:
    """Read and validate a plan; raise :class:`~waveplan.errors.PlanError` if it is bad.

    ``infer_files`` takes the file paths an imported plan's prose mentions as inferred writes.
    """
    target = find_target(str(path), source_format)
    if target.format is SourceFormat.WAVEPLAN:
        return _task_file(target.path, str(path), root)
    plan_root = _plain_root(Path(root) if root is not None else target.root)
    return assemble(_import(target, plan_root, infer_files))


def _plain_root(folder: Path) -> str:
    """The plan root, absolute and without ``.`` and ``..`` (``../plan.yaml`` from ``sub``
    must not give the tasks ``PWD=/x/sub/..``): the path as spelled with them taken out when
    that is the same folder, else its physical path (``link/..`` is the parent of the link's
    target, not the folder the link is in)."""
    spelled = str(folder.absolute())
    plain = os.path.normpath(spelled)
    try:
        if plain == spelled or Path(plain).samefile(spelled):
            return plain
    except OSError:
        pass
    return str(Path(spelled).resolve())


def _task_file(file: Path, name: str, root: str | os.PathLike[str] | None) -> Plan:
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise PlanError("no such file", file=name) from None
    except IsADirectoryError:
        raise PlanError("is a folder, not a task file", file=name) from None
    except OSError as exc:
        raise PlanError(f"cannot be read: {exc.strerror}", file=name) from None
    plan_root = Path(root) if root is not None else file.parent
    return parse_plan_text(decode(raw, name), name=name, root=_plain_root(plan_root))


def _import(target: Target, root: str, infer: bool) -> Import:
    if target.format is SourceFormat.GSD:
        return read_gsd(target.path, display=target.display, root=root, notes=target.notes)
    if target.format is SourceFormat.CCPM:
        imported = read_ccpm(target.path, display=target.display, root=root, infer=infer)
        imported.warnings[:0] = target.notes
        return imported
    text = read_text(target.path, target.display)
    if text is None:
        raise PlanError("the file is empty", file=target.display)
    reader = read_sisyphus if target.format is SourceFormat.SISYPHUS else read_markdown
    return reader(target.path, text, display=target.display, root=root, infer=infer)


def parse_plan_text(text: str, *, name: str, root: str = ".", fmt: Format | None = None) -> Plan:
    """Validate a task file given as text (format from ``fmt`` or the name's extension; a
    PSPLIB file is recognised by its ``.sm`` extension or, without a known extension, by its
    sections)."""
    if fmt is None and is_psplib(name, text):
        return parse_psplib(text, name=name, root=root)
    chosen = fmt or detect_format(name, text)
    return build_plan(parse_document(text, chosen, name), name=name, root=root)


def is_psplib(name: str, text: str) -> bool:
    """A PSPLIB file: the ``.sm`` extension, or no task-file extension and PSPLIB's sections."""
    lowered = name.lower()
    if lowered.endswith(".sm"):
        return True
    known = lowered.endswith((".yaml", ".yml", ".json", ".toml"))
    return not known and looks_like_psplib(text)

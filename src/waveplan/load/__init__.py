"""Loading plans: the only code that reads task files.

``load_plan(path)`` reads a YAML, JSON or TOML task file and returns a validated
:class:`~waveplan.model.Plan` whose root is the file's folder unless ``root`` is given.
"""

from __future__ import annotations

import os
from pathlib import Path

from waveplan.errors import PlanError
from waveplan.load.parse import Format, decode, detect_format, parse_document
from waveplan.load.taskfile import build_plan
from waveplan.model import Plan

__all__ = ["Format", "load_plan", "parse_plan_text"]


def load_plan(path: str | os.PathLike[str], *, root: str | os.PathLike[str] | None = None) -> Plan:
    """Read and validate a task file; raise :class:`~waveplan.errors.PlanError` if it is bad."""
    file = Path(path)
    name = str(path)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise PlanError("no such file", file=name) from None
    except IsADirectoryError:
        raise PlanError("is a folder, not a task file", file=name) from None
    except OSError as exc:
        raise PlanError(f"cannot be read: {exc.strerror}", file=name) from None
    plan_root = Path(root) if root is not None else file.parent
    return parse_plan_text(decode(raw, name), name=name, root=str(plan_root.absolute()))


def parse_plan_text(text: str, *, name: str, root: str = ".", fmt: Format | None = None) -> Plan:
    """Validate a task file given as text (format from ``fmt`` or the name's extension)."""
    chosen = fmt or detect_format(name, text)
    return build_plan(parse_document(text, chosen, name), name=name, root=root)

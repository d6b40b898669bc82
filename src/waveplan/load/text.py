"""Reading the text files of imported plans, with the task-file loader's checks."""

from __future__ import annotations

from pathlib import Path

from waveplan.errors import PlanError
from waveplan.load.parse import decode

__all__ = ["read_text"]


def read_text(path: Path, shown: str) -> str | None:
    """The file's text (None when it is empty); binary or non-UTF-8 content is an error
    naming ``shown``."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PlanError(f"cannot be read: {exc.strerror}", file=shown) from None
    if not raw.strip():
        return None
    return decode(raw, shown).replace("\r\n", "\n")

"""``python -m waveplan``."""

from __future__ import annotations

from waveplan.cli import entry

entry()

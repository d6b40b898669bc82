"""Inference of hidden collisions from code, tests and history (``waveplan infer``).

:func:`infer_plan` reads the repository a plan works on — Python with :mod:`ast` (never
imported or run), JavaScript/TypeScript import statements, SQL and migrations, ``git log`` —
and returns the findings with their evidence and the plan with the inferred accesses added
(:mod:`.inference`). The pieces: :mod:`.source` (scanners), :mod:`.modules` (the module
graph), :mod:`.tests` (test footprints and shared test resources), :mod:`.sql` (tables),
:mod:`.cochange` (co-change from history), :mod:`.repo` (files and git: the only I/O) and
:mod:`.cache` (the content-hash cache under ``.waveplan/infer-cache/``). Planning never
imports this package: an inferred plan is analysed like any other.
"""

from __future__ import annotations

from waveplan.infer.cochange import CoChange, CoChangeIndex, Commit, HistorySettings
from waveplan.infer.inference import (
    ALL_KINDS,
    DEFAULT_KINDS,
    Addition,
    Finding,
    FindingKind,
    Inference,
    Kind,
    Stats,
    infer_plan,
)

__all__ = [
    "ALL_KINDS",
    "DEFAULT_KINDS",
    "Addition",
    "CoChange",
    "CoChangeIndex",
    "Commit",
    "Finding",
    "FindingKind",
    "HistorySettings",
    "Inference",
    "Kind",
    "Stats",
    "infer_plan",
]

"""Planning: everything computed from a plan before anything runs.

Pure code: no I/O, no clock, no unseeded randomness. ``analyse(plan)`` is the entry point used by
``waveplan plan``; its result feeds the renderers.
"""

from __future__ import annotations

from waveplan.schedule.analysis import PlanAnalysis, analyse

__all__ = ["PlanAnalysis", "analyse"]

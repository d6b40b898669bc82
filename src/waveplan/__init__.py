"""waveplan: plan and run tasks in dependency waves that respect real conflicts.

Load a plan with :func:`load_plan`, analyse it with :func:`analyse`; the command line
(``waveplan plan FILE``) does both and renders the result.
"""

from __future__ import annotations

__version__ = "0.1.0"

from waveplan.errors import PlanError, UserError, WaveplanError
from waveplan.graph import Graph
from waveplan.load import load_plan
from waveplan.model import Access, Mode, Plan, ResourceKind, Task
from waveplan.schedule import PlanAnalysis, analyse

__all__ = [
    "Access",
    "Graph",
    "Mode",
    "Plan",
    "PlanAnalysis",
    "PlanError",
    "ResourceKind",
    "Task",
    "UserError",
    "WaveplanError",
    "__version__",
    "analyse",
    "load_plan",
]

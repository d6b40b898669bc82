"""waveplan: plan and run tasks in dependency waves that respect real conflicts.

Load a plan with :func:`load_plan`, analyse it with :func:`analyse`; the command line
(``waveplan plan FILE``) does both and renders the result.
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from waveplan.errors import PlanError, UserError, WaveplanError
    from waveplan.graph import Graph
    from waveplan.load import load_plan
    from waveplan.model import Access, Mode, Plan, ResourceKind, Task
    from waveplan.schedule import PlanAnalysis, analyse

_PUBLIC = {
    "Access": "waveplan.model",
    "Graph": "waveplan.graph",
    "Mode": "waveplan.model",
    "Plan": "waveplan.model",
    "PlanAnalysis": "waveplan.schedule",
    "PlanError": "waveplan.errors",
    "ResourceKind": "waveplan.model",
    "Task": "waveplan.model",
    "UserError": "waveplan.errors",
    "WaveplanError": "waveplan.errors",
    "analyse": "waveplan.schedule",
    "load_plan": "waveplan.load",
}


def __getattr__(name: str) -> Any:
    """The public names, imported on first use: importing ``waveplan`` (as every command
    does) does not load the planner."""
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'waveplan' has no attribute {name!r}")
    import importlib  # noqa: PLC0415 - only when a public name is first used

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


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

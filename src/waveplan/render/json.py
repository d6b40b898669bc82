"""JSON output of ``waveplan plan`` (the keys of DESIGN section 6)."""

from __future__ import annotations

import json
from typing import Any

from waveplan.schedule.analysis import PlanAnalysis

__all__ = ["PRETTY_LIMIT", "plan_json", "plan_to_dict"]

# Above this many tasks the JSON is written compactly: indenting is several times slower and
# nobody reads a 100,000-task document without a tool anyway.
PRETTY_LIMIT = 2000


def plan_to_dict(analysis: PlanAnalysis) -> dict[str, Any]:
    """The plan analysis as plain data."""
    return {
        "tasks": len(analysis.plan.tasks),
        "makespan": {
            "sequential": analysis.sequential,
            "theoretical": analysis.theoretical,
        },
        "waves": {"theoretical": analysis.theoretical_waves},
        "critical_path": {
            "tasks": list(analysis.critical_path.tasks),
            "length": analysis.critical_path.length,
        },
    }


def dumps(data: Any, *, size: int) -> str:
    """Serialise, indented for small documents, compact for large ones."""
    if size <= PRETTY_LIMIT:
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False) + "\n"


def plan_json(analysis: PlanAnalysis) -> str:
    """The plan analysis as a JSON document."""
    return dumps(plan_to_dict(analysis), size=len(analysis.plan.tasks))

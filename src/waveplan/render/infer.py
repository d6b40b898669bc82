"""Output of ``waveplan infer``: the findings grouped by kind, each with its evidence."""

from __future__ import annotations

from typing import Any

from waveplan.infer import Finding, Inference, Kind
from waveplan.render.json import dumps

__all__ = ["inference_json", "inference_text", "inference_to_dict"]

_TITLES = {
    Kind.IMPORTS: "Imports and shared helpers",
    Kind.TESTS: "Tests",
    Kind.STATE: "State",
    Kind.HISTORY: "History (likely also touched)",
}


def _stats_line(inference: Inference) -> str:
    stats = inference.stats
    line = f"{stats.files:,} files listed, {stats.scanned:,} read ({stats.cached:,} from the cache)"
    if Kind.HISTORY in inference.kinds:
        line += f", {stats.commits:,} commits"
    return line


def inference_text(inference: Inference) -> str:
    """The findings for a terminal: one block per kind, evidence indented under each."""
    kinds = ", ".join(k.value for k in inference.kinds)
    count = len(inference.findings)
    lines = [
        f"{inference.plan.name or inference.plan.source}: {count} finding"
        f"{'s' if count != 1 else ''} in {inference.repo} ({kinds})",
        _stats_line(inference),
    ]
    for kind in inference.kinds:
        found = [f for f in inference.findings if f.kind.analysis is kind]
        lines += ["", f"{_TITLES[kind]}: {len(found) or 'nothing found'}"]
        for finding in found:
            lines.append(f"  - {finding.kind.value}: {finding.summary}")
            lines += [f"      {line}" for line in finding.evidence]
            added = [f"{a.task} {a.access.describe()}" for a in finding.added]
            if added:
                shown = ", ".join(added[:6]) + (
                    f" and {len(added) - 6} more" if len(added) > 6 else ""
                )
                lines.append(f"      adds: {shown}")
    if inference.notes:
        lines += ["", "Notes:"]
        lines += [f"  - {note}" for note in inference.notes]
    return "\n".join(lines) + "\n"


def _finding(finding: Finding) -> dict[str, Any]:
    return {
        "kind": finding.kind.analysis.value,
        "finding": finding.kind.value,
        "tasks": list(finding.tasks),
        "resources": list(finding.resources),
        "summary": finding.summary,
        "evidence": list(finding.evidence),
        "adds": [
            {
                "task": a.task,
                "resource": a.access.kind.value,
                "key": a.access.key,
                "mode": a.access.mode.value,
                "evidence": list(a.evidence),
            }
            for a in finding.added
        ],
    }


def inference_to_dict(inference: Inference) -> dict[str, Any]:
    """The findings as plain data."""
    stats = inference.stats
    return {
        "repo": inference.repo,
        "kinds": [k.value for k in inference.kinds],
        "findings": [_finding(f) for f in inference.findings],
        "notes": list(inference.notes),
        "stats": {
            "files": stats.files,
            "read": stats.scanned,
            "cached": stats.cached,
            "parsed": stats.parsed,
            "commits": stats.commits,
        },
    }


def inference_json(inference: Inference) -> str:
    """The findings as a JSON document."""
    return dumps(inference_to_dict(inference), size=len(inference.findings))

"""Mermaid output of ``waveplan plan``: the seed's two views in one flowchart.

The *theoretical* view draws the dependency waves as subgraphs with dependency arrows; the
*practical* view draws the practical waves with each conflict as a dotted link labelled with
the resource, marked ``(conservative)`` when the overlap was assumed and ``(inferred)`` when
only inferred accesses cause it. A resource shared by k tasks is drawn as a chain of k - 1
links, never as k squared. Tasks the plan marks done (finished before waveplan saw it) are drawn
greyed and dashed, with "(done)" after their title. Beyond ``DETAIL_LIMIT`` tasks each wave is
drawn as one node with its size.
"""

from __future__ import annotations

from waveplan.render.figures import conflict_text, counted
from waveplan.schedule.analysis import PlanAnalysis

__all__ = ["DETAIL_LIMIT", "plan_mermaid"]

DETAIL_LIMIT = 150
MAX_CONFLICT_LINKS = 200
DONE_STYLE = "fill:#e8ecef,stroke:#8a97a3,stroke-dasharray:4 2,color:#55606b"


def _label(text: str) -> str:
    """Text safe inside a quoted Mermaid label (``#`` first: Mermaid reads ``#...;`` as a
    character code, so a title ``fix #123;`` would lose its text)."""
    return (
        text.replace("#", "#35;")
        .replace("&", "#amp;")
        .replace('"', "#quot;")
        .replace("<", "#lt;")
        .replace(">", "#gt;")
        .replace("\n", " ")
    )


def plan_mermaid(analysis: PlanAnalysis) -> str:
    """The plan analysis as a Mermaid flowchart."""
    plan = analysis.plan
    lines = ["flowchart TB"]
    if len(plan.tasks) > DETAIL_LIMIT:
        return "\n".join(lines + _summary(analysis)) + "\n"
    number = {t.id: n for n, t in enumerate(plan.tasks)}
    titles = {t.id: t.title for t in plan.tasks}
    done = [t.id for t in plan.tasks if t.done]
    is_done = frozenset(done)

    def node(prefix: str, task_id: str) -> str:
        title = titles[task_id]
        text = task_id if title == task_id else f"{task_id}: {title}"
        if task_id in is_done:
            text += " (done)"
        return f'{prefix}{number[task_id]}["{_label(text)}"]'

    lines.append('  subgraph THEORETICAL["Theoretical waves (dependencies only)"]')
    lines.append("    direction TB")
    for w, wave in enumerate(analysis.theoretical_waves, start=1):
        lines.append(f'    subgraph TW{w}["Wave {w}"]')
        lines.extend(f"      {node('T', t)}" for t in wave)
        lines.append("    end")
    for task in plan.tasks:
        lines.extend(f"    T{number[d]} --> T{number[task.id]}" for d in task.depends)
    lines.append("  end")

    lines.append('  subgraph PRACTICAL["Practical waves (conflicts respected)"]')
    lines.append("    direction TB")
    for w, wave in enumerate(analysis.practical_waves, start=1):
        lines.append(f'    subgraph PW{w}["Wave {w}"]')
        lines.extend(f"      {node('P', t)}" for t in wave)
        lines.append("    end")
    links = 0
    for group in analysis.conflicts:
        label = _label(conflict_text(group, analysis))
        for a, b in zip(group.tasks, group.tasks[1:], strict=False):
            if links >= MAX_CONFLICT_LINKS:
                break
            lines.append(f'    P{number[a]} -.-|"{label}"| P{number[b]}')
            links += 1
    lines.append("  end")
    lines.append("  THEORETICAL ~~~ PRACTICAL")
    if done:
        lines.append(f"  classDef done {DONE_STYLE}")
        nodes = ",".join(f"{prefix}{number[t]}" for t in done for prefix in "TP")
        lines.append(f"  class {nodes} done")
    return "\n".join(lines) + "\n"


def _summary(analysis: PlanAnalysis) -> list[str]:
    """Large plans: one node per wave, and the busiest conflicts as notes."""
    lines = []
    for view, prefix, waves in (
        ("Theoretical waves", "T", analysis.theoretical_waves),
        ("Practical waves", "P", analysis.practical_waves),
    ):
        lines.append(f'  subgraph {prefix}["{view} ({len(waves):,})"]')
        lines.append("    direction LR")
        shown = waves[:DETAIL_LIMIT]
        for w, wave in enumerate(shown, start=1):
            lines.append(f'    {prefix}{w}["Wave {w}: {counted(len(wave), "task")}"]')
        lines.extend(f"    {prefix}{w} --> {prefix}{w + 1}" for w in range(1, len(shown)))
        lines.append("  end")
    busiest = sorted(analysis.conflicts, key=lambda c: (-len(c.tasks), c.resource))[:10]
    for n, group in enumerate(busiest):
        name = _label(conflict_text(group, analysis))
        lines.append(f'  C{n}["{name}: {len(group.tasks):,} tasks conflict"]')
    return lines

"""Terminal output of ``waveplan plan``: Rich tables rendered to a string.

Large plans are summarised (a bounded number of tasks per wave and of waves) so the text stays
readable; the JSON output always has everything.
"""

from __future__ import annotations

import io

from rich import box
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from waveplan.model import Origin, Plan
from waveplan.render.figures import (
    advice_sentence,
    conflict_text,
    counted,
    delay_text,
    durations_sentence,
    faster,
    fmt_time,
    ids_text,
    serialization_text,
    time_format,
    time_heading,
)
from waveplan.schedule.analysis import PlanAnalysis

__all__ = ["plan_text", "render_to_string"]

MAX_TASKS_PER_WAVE = 12
MAX_WAVES = 40
MAX_ROWS = 15
MAX_PATH = 30


def render_to_string(items: list[RenderableType], *, width: int = 100, color: bool = False) -> str:
    """Render Rich renderables to text (with ANSI styles only when ``color``)."""
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        highlight=False,
        emoji=False,
        legacy_windows=False,
    )
    for item in items:
        console.print(item)
    # Rich pads table cells to the full width; trailing blanks only get in the way of diffs.
    return "\n".join(line.rstrip() for line in buffer.getvalue().split("\n"))


def _wave_cell(ids: list[str], titles: dict[str, str], done: frozenset[str] = frozenset()) -> Text:
    text = Text()
    shown = ids[:MAX_TASKS_PER_WAVE]
    for n, task_id in enumerate(shown):
        if n:
            text.append("\n")
        text.append(task_id, style="bold")
        title = titles[task_id]
        if title != task_id:
            text.append(f"  {title}")
        if task_id in done:
            text.append("  (done)", style="dim")
    if len(ids) > len(shown):
        text.append(f"\n... and {len(ids) - len(shown):,} more", style="dim")
    return text


def _more(total: int, shown: int, what: str) -> Text:
    return Text(f"... and {total - shown:,} more {what}", style="dim")


def waves_table(analysis: PlanAnalysis, titles: dict[str, str]) -> Table:
    """Theoretical and practical waves side by side, one row per wave number; for an imported
    plan that declares waves, the declared ones first."""
    theoretical, practical = analysis.theoretical_waves, analysis.practical_waves
    origin = analysis.plan.origin
    declared = [list(w) for w in origin.declared_waves or ()] if origin is not None else []
    done = frozenset(t.id for t in analysis.plan.tasks if t.done)
    table = Table(title="Waves", box=box.SIMPLE_HEAVY, title_justify="left")
    table.add_column("Wave", justify="right")
    columns = [theoretical, practical]
    if declared:
        table.add_column(f"Declared ({origin.format.value if origin else ''})")
        columns.insert(0, declared)
    table.add_column("Theoretical (dependencies only)")
    table.add_column("Practical (conflicts and workers respected)")
    rows = max(len(column) for column in columns)
    for number in range(min(rows, MAX_WAVES)):
        table.add_row(
            str(number + 1),
            *(
                _wave_cell(column[number], titles, done) if number < len(column) else Text()
                for column in columns
            ),
        )
    if rows > MAX_WAVES:
        table.add_row("...", _more(rows, MAX_WAVES, "waves"), *([Text()] * (len(columns) - 1)))
    return table


def speedup_table(sequential: float, rows: list[tuple[str, float, str]], plan: Plan) -> Table:
    """The seed's table: pure sequential as the baseline, then each approach with its time
    (in the plan's units) and how much faster it is (``43% faster (on paper)``)."""
    fmt = time_format(plan)
    table = Table(title="Speedup", box=box.SIMPLE_HEAVY, title_justify="left")
    table.add_column("Approach")
    table.add_column(time_heading(plan), justify="right")
    table.add_column("Notes")
    table.add_row("Pure sequential", fmt(sequential), "baseline")
    for label, value, note in rows:
        table.add_row(label, fmt(value), f"{faster(value, sequential)} {note}".strip())
    return table


def conflicts_table(analysis: PlanAnalysis) -> Table:
    """Who collides on what: each shared resource with its tasks (writers marked)."""
    table = Table(
        title="Conflicts (who collides on what)", box=box.SIMPLE_HEAVY, title_justify="left"
    )
    table.add_column("Resource")
    table.add_column("Tasks (* writes)")
    ranked = sorted(analysis.conflicts, key=lambda c: (-len(c.tasks), c.resource))
    for group in ranked[:MAX_ROWS]:
        writers = set(group.writers)
        marked = tuple(f"{t}*" if t in writers else t for t in group.tasks)
        name = conflict_text(group, analysis, " (conservative: patterns may overlap)")
        table.add_row(name, ids_text(marked))
    if len(ranked) > MAX_ROWS:
        table.add_row(_more(len(ranked), MAX_ROWS, "resources"), "")
    return table


def serialization_table(analysis: PlanAnalysis) -> Table:
    """Serialization points: where tasks that could run together waited for each other."""
    table = Table(title="Serialization points", box=box.SIMPLE_HEAVY, title_justify="left")
    table.add_column("Resource")
    table.add_column("Tasks")
    table.add_column("Waited", justify="right")
    table.add_column("Costs", justify="right")
    points = analysis.serialization
    fmt = time_format(analysis.plan)
    for point in points[:MAX_ROWS]:
        cost = "?" if point.cost is None else fmt(point.cost)
        table.add_row(serialization_text(point), ids_text(point.tasks), fmt(point.wait), cost)
    if len(points) > MAX_ROWS:
        table.add_row(_more(len(points), MAX_ROWS, "resources"), "", "", "")
    return table


def delay_lines(analysis: PlanAnalysis) -> list[RenderableType]:
    """``t3 waited 1 for src/x.ts held by t2``, one line per task and resource."""
    lines: list[RenderableType] = [Text("Why tasks waited", style="italic")]
    for delay in analysis.delays[:MAX_ROWS]:
        lines.append(Text(f"  {delay.task} waited {delay_text(delay, analysis)}"))
    if len(analysis.delays) > MAX_ROWS:
        lines.append(_more(len(analysis.delays), MAX_ROWS, "waits"))
    return lines


def advice_table(analysis: PlanAnalysis) -> Table:
    """Ranked advice with the practical makespan each would give."""
    table = Table(title="Advice", box=box.SIMPLE_HEAVY, title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("Change")
    table.add_column("Practical", justify="right")
    table.add_column("Notes")
    seq = analysis.sequential
    fmt = time_format(analysis.plan)
    for number, advice in enumerate(analysis.advice[:MAX_ROWS], start=1):
        table.add_row(
            str(number),
            advice_sentence(advice, fmt),
            fmt(advice.makespan),
            faster(advice.makespan, seq),
        )
    return table


def method_line(analysis: PlanAnalysis) -> Text:
    """``Schedule: genetic search, default effort, 1,427 schedules``: what produced the
    practical schedule (and what the exact solver concluded, when it ran)."""
    line = Text("Schedule: ", style="bold")
    count = analysis.schedules
    line.append(
        f"{analysis.method.value}, {analysis.effort.value} effort, "
        f"{count:,} schedule{'s' if count != 1 else ''}"
    )
    exact = analysis.exact
    if exact is not None:
        workers = f"{exact.workers} worker{'s' if exact.workers != 1 else ''}"
        line.append(
            f"; CP-SAT {exact.status.value} within {fmt_time(exact.time_limit)} s ({workers})"
        )
    return line


def plan_text(analysis: PlanAnalysis, *, width: int = 100, color: bool = False) -> str:
    """The plan analysis for a terminal."""
    plan = analysis.plan
    titles = {t.id: t.title for t in plan.tasks}
    header = Text()
    header.append(plan.name or plan.source, style="bold")
    workers = counted(plan.workers, "worker") if plan.workers else "unlimited workers"
    header.append(f"  {counted(len(plan.tasks), 'task')}, {workers}")
    if plan.origin is not None:
        done = sum(1 for t in plan.tasks if t.done)
        header.append(f"\nImported from {plan.origin.format.value}: {plan.source}")
        if done:
            header.append(f" ({done:,} done, not run again)")
    sources = durations_sentence(plan)
    if sources is not None:
        header.append(f"\n{sources}")
    path = analysis.critical_path
    critical = Text("Critical path: ", style="bold")
    critical.append(" -> ".join(path.tasks[:MAX_PATH]))
    if len(path.tasks) > MAX_PATH:
        critical.append(f" -> ... ({len(path.tasks) - MAX_PATH:,} more)")
    fmt = time_format(plan)
    critical.append(f"  (length {fmt(path.length)})")
    bound = Text("Lower bound: ", style="bold")
    bound.append(f"{fmt(analysis.lower_bound.value)} ({analysis.lower_bound.reason})")
    if analysis.optimal:
        bound.append(": the practical schedule is optimal")
    else:
        bound.append(f", gap {analysis.gap:.1%}")
    items: list[RenderableType] = [
        header,
        waves_table(analysis, titles),
        critical,
        bound,
        method_line(analysis),
    ]
    if analysis.conflicts:
        items += [Text(), conflicts_table(analysis)]
    if analysis.serialization:
        items += [serialization_table(analysis), *delay_lines(analysis), Text()]
    elif analysis.delays:
        items += [Text(), *delay_lines(analysis), Text()]
    else:
        items.append(Text())
    items.append(
        speedup_table(
            analysis.sequential,
            [
                ("Theoretical parallel", analysis.theoretical, "(on paper)"),
                ("Practical parallel", analysis.practical, "(conflicts respected)"),
                (
                    "Practical, wave by wave",
                    analysis.practical_waves_makespan,
                    "(barrier between waves)",
                ),
            ],
            plan,
        )
    )
    if analysis.advice:
        items.append(advice_table(analysis))
    items += inferred_lines(analysis)
    if plan.origin is not None:
        items += source_lines(analysis)
    else:
        items += observed_lines(analysis)
    return render_to_string(items, width=width, color=color)


def observed_lines(analysis: PlanAnalysis) -> list[RenderableType]:
    """The writes ``--learn`` added: files tasks changed in earlier runs without declaring."""
    found = [
        (task.id, access.key)
        for task in analysis.plan.tasks
        for access in task.accesses
        if access.origin is Origin.OBSERVED
    ]
    if not found:
        return []
    lines: list[RenderableType] = [Text("Observed in earlier runs (--learn)", style="italic")]
    lines += [Text(f"  {task} writes {key} (observed)") for task, key in found[:MAX_ROWS]]
    if len(found) > MAX_ROWS:
        lines.append(_more(len(found), MAX_ROWS, "observed writes"))
    return lines


def inferred_lines(analysis: PlanAnalysis) -> list[RenderableType]:
    """The accesses ``--infer`` added, each with its finding and first line of evidence."""
    plan = analysis.plan
    found = [
        (task.id, access, why)
        for task in plan.tasks
        for access, why in plan.evidence.get(task.id, {}).items()
    ]
    if not found:
        return []
    kinds = ", ".join(dict.fromkeys(why.finding for _, _, why in found))
    lines: list[RenderableType] = [
        Text(f"Inferred accesses ({len(found):,}: {kinds})", style="italic")
    ]
    for task_id, access, why in found[:MAX_ROWS]:
        lines.append(Text(f"  {task_id} {access.describe()} (inferred: {why.finding})"))
        if why.lines:
            more = f" (+{len(why.lines) - 1:,} more)" if len(why.lines) > 1 else ""
            lines.append(Text(f"      {why.lines[0]}{more}", style="dim"))
    if len(found) > MAX_ROWS:
        lines.append(_more(len(found), MAX_ROWS, "inferred accesses"))
    return [*lines, Text()]


def source_lines(analysis: PlanAnalysis) -> list[RenderableType]:
    """The "Declared vs computed" section of an imported plan: every warning, one a line."""
    origin = analysis.plan.origin
    if origin is None:
        return []
    findings = [*origin.warnings, *(analysis.source.findings if analysis.source else ())]
    table = Table.grid(padding=(0, 1))
    table.add_column(width=3, justify="right")
    table.add_column()
    for finding in findings:
        table.add_row("-", finding)
    if not findings:
        table.add_row("", "the source agrees with the computed plan")
    return [Text("Declared vs computed", style="italic"), table]

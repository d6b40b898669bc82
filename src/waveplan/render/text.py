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

from waveplan.render.figures import faster, fmt_time
from waveplan.schedule.analysis import PlanAnalysis

__all__ = ["plan_text", "render_to_string"]

MAX_TASKS_PER_WAVE = 12
MAX_WAVES = 40


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


def _wave_cell(ids: list[str], titles: dict[str, str]) -> Text:
    text = Text()
    shown = ids[:MAX_TASKS_PER_WAVE]
    for n, task_id in enumerate(shown):
        if n:
            text.append("\n")
        text.append(task_id, style="bold")
        title = titles[task_id]
        if title != task_id:
            text.append(f"  {title}")
    if len(ids) > len(shown):
        text.append(f"\n... and {len(ids) - len(shown):,} more", style="dim")
    return text


def waves_table(title: str, waves: list[list[str]], titles: dict[str, str]) -> Table:
    """One row per wave: its number, its size and its tasks."""
    table = Table(title=title, box=box.SIMPLE_HEAVY, title_justify="left", show_lines=False)
    table.add_column("Wave", justify="right")
    table.add_column("Tasks", justify="right")
    table.add_column("Ids and titles")
    for number, wave in enumerate(waves[:MAX_WAVES], start=1):
        table.add_row(str(number), str(len(wave)), _wave_cell(wave, titles))
    if len(waves) > MAX_WAVES:
        rest = waves[MAX_WAVES:]
        table.add_row(
            "...", f"{sum(len(w) for w in rest):,}", Text(f"{len(rest):,} more waves", style="dim")
        )
    return table


def speedup_table(sequential: float, rows: list[tuple[str, float, str]]) -> Table:
    """The seed's table: pure sequential as the baseline, then each approach with its time
    units and how much faster it is (``43% faster (on paper)``)."""
    table = Table(title="Speedup", box=box.SIMPLE_HEAVY, title_justify="left")
    table.add_column("Approach")
    table.add_column("Time units", justify="right")
    table.add_column("Notes")
    table.add_row("Pure sequential", fmt_time(sequential), "baseline")
    for label, value, note in rows:
        table.add_row(label, fmt_time(value), f"{faster(value, sequential)} {note}".strip())
    return table


def plan_text(analysis: PlanAnalysis, *, width: int = 100, color: bool = False) -> str:
    """The plan analysis for a terminal."""
    plan = analysis.plan
    titles = {t.id: t.title for t in plan.tasks}
    header = Text()
    header.append(plan.name or plan.source, style="bold")
    header.append(f"  {len(plan.tasks):,} tasks")
    path = analysis.critical_path
    critical = Text("Critical path: ", style="bold")
    critical.append(" -> ".join(path.tasks))
    critical.append(f"  (length {fmt_time(path.length)})")
    rows = [("Theoretical parallel", analysis.theoretical, "(on paper)")]
    return render_to_string(
        [
            header,
            waves_table(
                "Theoretical waves (dependencies only)", analysis.theoretical_waves, titles
            ),
            critical,
            Text(),
            speedup_table(analysis.sequential, rows),
        ],
        width=width,
        color=color,
    )

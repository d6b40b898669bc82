"""HTML output of ``waveplan plan`` and ``waveplan report``: one self-contained page.

Everything is inline (CSS, a small script, SVG laid out by :mod:`waveplan.render.svg`) and a
Content-Security-Policy forbids every network request, so the page works offline from a
``file://`` URL. Text from the plan is escaped in markup; the data the script needs (tooltips,
dependencies, conflict groups) is embedded as JSON with ``<``, ``>`` and ``&`` escaped, and the
script writes it with ``textContent`` only. Output is deterministic: no clock, no randomness.
"""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from waveplan.model import AttemptStatus, DurationSource, Plan, TaskStatus
from waveplan.render.figures import (
    advice_sentence,
    conflict_text,
    counted,
    delay_text,
    faster,
    fmt_time,
    ids_text,
    measured_heading,
    measured_rows,
    retry_wait_sentence,
    seconds_format,
    seconds_text,
    serialization_text,
    task_note,
    time_format,
    time_heading,
)
from waveplan.render.svg import Bar, GraphStyle, esc, gantt, pack_lanes, wave_graph, wave_summary
from waveplan.schedule.analysis import PlanAnalysis
from waveplan.schedule.explain import ConflictGroup, Delay
from waveplan.schedule.measured import RunReport
from waveplan.units import HOUR, MINUTE

__all__ = ["DETAIL_LIMIT", "plan_html", "report_html"]

DETAIL_LIMIT = 200
"""Above this many tasks the graph is drawn as one bar per wave (the Gantt keeps every task)."""
MAX_EDGES = 4 * DETAIL_LIMIT
"""Above this many dependencies the graph is summarised too, however few the tasks."""
MAX_ROWS = 50
"""Rows of a table (conflicts, waits, serialization points, advice) before "and N more"."""
MAX_CHIPS = 40
"""Conflict groups given a colour and a highlight chip."""
MAX_PATH = 30
PALETTE = 8  # conflict colours c0..c7 in the style sheet

CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


# --- shared pieces ----------------------------------------------------------------------------


def _json_script(data: Any) -> str:
    """Data for the script: JSON that cannot close its element (``<``, ``>``, ``&`` escaped),
    one task per line so the page stays readable."""

    def dump(value: Any) -> str:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")

    tasks = data["tasks"]
    body = ",\n".join(f"{dump(key)}:{dump(value)}" for key, value in tasks.items())
    rest = "".join(f",\n{dump(key)}:{dump(value)}" for key, value in data.items() if key != "tasks")
    return (
        '<script type="application/json" id="waveplan-data">\n'
        f'{{"tasks":{{\n{body}\n}}{rest}}}\n</script>'
    )


def _page(title: str, sections: Iterable[str], data: Mapping[str, Any]) -> str:
    body = "\n".join(s for s in sections if s)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="waveplan">
<title>{esc(title)}</title>
<link rel="icon" href="data:,">
<style>
{_CSS}</style>
</head>
<body>
{body}
<div id="tip" class="tip" role="tooltip" hidden></div>
{_json_script(data)}
<script>
{_JS}</script>
</body>
</html>
"""


def _table(caption: str, head: Sequence[str], rows: Iterable[str], more: int = 0) -> str:
    cells = "".join(f"<th>{esc(h)}</th>" for h in head)
    lines = ["<table>"]
    if caption:
        lines.append(f"<caption>{esc(caption)}</caption>")
    lines += [f"<tr>{cells}</tr>", *rows]
    if more > 0:
        lines.append(f'<tr class="more"><td colspan="{len(head)}">... and {more:,} more</td></tr>')
    lines.append("</table>")
    return "\n".join(lines)


def _row(*cells: str, numeric: Sequence[int] = (), attrs: str = "") -> str:
    """A table row of already escaped cells; the cells at ``numeric`` are right-aligned."""
    return (
        f"<tr{attrs}>"
        + "".join(
            f'<td class="n">{c}</td>' if n in numeric else f"<td>{c}</td>"
            for n, c in enumerate(cells)
        )
        + "</tr>"
    )


def _section(key: str, heading: str, *parts: str) -> str:
    inner = "\n".join(p for p in parts if p)
    return f'<section id="{key}">\n<h2>{esc(heading)}</h2>\n{inner}\n</section>'


def _delays_by_task(analysis: PlanAnalysis) -> dict[str, list[Delay]]:
    found: dict[str, list[Delay]] = {}
    for delay in analysis.delays:
        found.setdefault(delay.task, []).append(delay)
    return found


def _duration_note(source: DurationSource) -> str:
    if source is DurationSource.DEFAULT:
        return " (default)"
    if source is DurationSource.HISTORY:
        return " (from history)"
    return ""


# --- sections shared by both pages ------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class _Conflicts:
    """The conflict groups that get a highlight chip, the biggest first, at most
    ``MAX_CHIPS``; group ``n`` has colour ``n % PALETTE``, which ``marks`` lists per task."""

    shown: list[ConflictGroup]
    marks: dict[str, list[int]]
    total: int


def _conflicts(analysis: PlanAnalysis) -> _Conflicts:
    ranked = sorted(analysis.conflicts, key=lambda c: (-len(c.tasks), c.resource))
    marks: dict[str, list[int]] = {}
    for n, group in enumerate(ranked[:MAX_CHIPS]):
        for task in group.tasks:
            marks.setdefault(task, []).append(n % PALETTE)
    return _Conflicts(ranked[:MAX_CHIPS], marks, len(ranked))


def _graph_section(
    analysis: PlanAnalysis, conflicts: _Conflicts, classes: Mapping[str, str], note: str = ""
) -> str:
    plan = analysis.plan
    path = analysis.critical_path.tasks
    critical = set(path)
    chips = [
        f'<span class="chip" data-conflict="{n}"><i class="sw c{n % PALETTE}"></i>'
        f"{esc(group.resource)} <small>{len(group.tasks):,} tasks</small></span>"
        for n, group in enumerate(conflicts.shown)
    ]
    if conflicts.total > len(conflicts.shown):
        chips.append(f"<small>... and {conflicts.total - len(conflicts.shown):,} more</small>")
    legend = (
        '<p class="legend"><span class="key crit"></span> critical path'
        '  <span class="key dep"></span> dependencies of the task under the pointer</p>'
    )
    edges = sum(len(t.depends) for t in plan.tasks)
    summary = len(plan.tasks) > DETAIL_LIMIT or edges > MAX_EDGES
    if summary:
        legend = (
            '<p class="legend"><span class="key crit"></span> the critical path goes through '
            "the wave</p>"
        )
    if chips:
        where = " in the Gantt chart" if summary else ""
        legend += f'\n<p class="chips">Conflicts (point at one to see its tasks{where}): ' + (
            " ".join(chips) + "</p>"
        )
    views = []
    if summary:
        intro = (
            f'<p class="note">{len(plan.tasks):,} tasks, {edges:,} dependencies: each wave is '
            "drawn as one bar, as tall "
            "as the wave is big (point at a bar for its size); the Gantt chart below has every "
            "task.</p>"
        )
        for heading, waves in (
            ("Theoretical waves (dependencies only)", analysis.theoretical_waves),
            ("Practical waves (conflicts and workers respected)", analysis.practical_waves),
        ):
            drawing = wave_summary(heading, waves, critical, "tasks")
            views.append(
                f'<div class="view">\n<h3>{esc(heading)}: {len(waves):,}</h3>\n{drawing}\n</div>'
            )
    else:
        intro = ""
        depends = {t.id: t.depends for t in plan.tasks}
        titles = {t.id: t.title for t in plan.tasks}
        node_classes = {
            t.id: " ".join(
                c
                for c in (
                    "crit" if t.id in critical else "",
                    "done" if t.done else "",
                    classes.get(t.id, ""),
                )
                if c
            )
            for t in plan.tasks
        }
        style = GraphStyle(node_classes, conflicts.marks, set(itertools.pairwise(path)))
        for heading, waves in (
            ("Theoretical waves (dependencies only)", analysis.theoretical_waves),
            ("Practical waves (conflicts and workers respected)", analysis.practical_waves),
        ):
            drawing = wave_graph(heading, waves, depends, titles, style)
            views.append(f'<div class="view">\n<h3>{esc(heading)}</h3>\n{drawing}\n</div>')
    body = '<div class="views">\n' + "\n".join(views) + "\n</div>"
    return _section("graph", "Dependency graph", note, intro, legend, body)


def _conflicts_section(conflicts: _Conflicts, analysis: PlanAnalysis) -> str:
    if not conflicts.shown:
        return ""
    rows = []
    for n, group in enumerate(conflicts.shown[:MAX_ROWS]):
        writers = set(group.writers)
        marked = tuple(f"{t}*" if t in writers else t for t in group.tasks)
        name = conflict_text(group, analysis, " (conservative: patterns may overlap)")
        rows.append(
            _row(
                f'<i class="sw c{n % PALETTE}"></i>{esc(name)}',
                esc(ids_text(marked, 12)),
                attrs=f' data-conflict="{n}"',
            )
        )
    return _section(
        "conflicts",
        "Conflicts (who collides on what)",
        _table("", ["Resource", "Tasks (* writes)"], rows, conflicts.total - len(rows)),
    )


def _serialization_section(analysis: PlanAnalysis, heading: str) -> str:
    parts = []
    points = analysis.serialization
    fmt = time_format(analysis.plan)
    if points:
        rows = [
            _row(
                esc(serialization_text(p)),
                esc(ids_text(p.tasks)),
                fmt(p.wait),
                "?" if p.cost is None else fmt(p.cost),
                numeric=(2, 3),
            )
            for p in points[:MAX_ROWS]
        ]
        parts.append(
            _table(
                "Where tasks that could run together waited for each other; Costs: how much "
                "shorter the practical makespan gets without it",
                ["Resource", "Tasks", "Waited", "Costs"],
                rows,
                len(points) - len(rows),
            )
        )
    if analysis.delays:
        items = [
            f"<li>{esc(d.task)} waited {esc(delay_text(d, analysis))}</li>"
            for d in analysis.delays[:MAX_ROWS]
        ]
        more = len(analysis.delays) - len(items)
        if more > 0:
            items.append(f"<li>... and {more:,} more waits</li>")
        parts.append(
            '<h3>Why tasks waited</h3>\n<ul class="waits">\n' + "\n".join(items) + "\n</ul>"
        )
    if not parts:
        parts.append("<p>No task waited: nothing serializes the plan.</p>")
    return _section("serialization", heading, *parts)


def _advice_section(analysis: PlanAnalysis, heading: str) -> str:
    if not analysis.advice:
        return _section("advice", heading, "<p>No restructuring would shorten the plan.</p>")
    seq = analysis.sequential
    fmt = time_format(analysis.plan)
    rows = [
        _row(
            str(n),
            esc(advice_sentence(a, fmt)),
            fmt(a.makespan),
            esc(faster(a.makespan, seq)),
            numeric=(0, 2),
        )
        for n, a in enumerate(analysis.advice[:MAX_ROWS], start=1)
    ]
    return _section(
        "advice",
        heading,
        _table(
            "Ranked by the practical makespan each change gives",
            ["#", "Change", "Practical", "Notes"],
            rows,
            len(analysis.advice) - len(rows),
        ),
    )


def _source_section(analysis: PlanAnalysis) -> str:
    origin = analysis.plan.origin
    if origin is None:
        return ""
    findings = [*origin.warnings, *(analysis.source.findings if analysis.source else ())]
    items = [f"<li>{esc(f)}</li>" for f in findings] or [
        "<li>the source agrees with the computed plan</li>"
    ]
    return _section(
        "source",
        f"Declared vs computed ({origin.format.value})",
        "<ul>\n" + "\n".join(items) + "\n</ul>",
    )


def _critical_text(analysis: PlanAnalysis) -> str:
    path = analysis.critical_path
    shown = " \u2192 ".join(path.tasks[:MAX_PATH])
    if len(path.tasks) > MAX_PATH:
        shown += f" \u2192 ... ({len(path.tasks) - MAX_PATH:,} more)"
    return f"critical path {shown} (length {time_format(analysis.plan)(path.length)})"


def _task_facts(
    analysis: PlanAnalysis, delays: Mapping[str, list[Delay]]
) -> dict[str, list[list[str]]]:
    """Per task, the tooltip lines every page shows: resources, why it waited, dependencies."""
    theoretical = {t: n for n, w in enumerate(analysis.theoretical_waves, start=1) for t in w}
    practical = {t: n for n, w in enumerate(analysis.practical_waves, start=1) for t in w}
    critical = set(analysis.critical_path.tasks)
    facts: dict[str, list[list[str]]] = {}
    for task in analysis.plan.tasks:
        rows = [
            ["resources", ", ".join(a.describe() for a in task.accesses) or "none"],
            ["waves", f"theoretical {theoretical[task.id]}, practical {practical[task.id]}"],
        ]
        waits = delays.get(task.id, [])
        rows.extend(["waited", delay_text(d, analysis)] for d in waits)
        if not waits:
            rows.append(["waited", "no: it started as soon as its dependencies finished"])
        rows.append(["depends on", ", ".join(task.depends) or "nothing"])
        if task.id in critical:
            rows.append(["critical path", "yes"])
        if task.done:
            rows.append(["done", "finished before waveplan saw the plan"])
        facts[task.id] = rows
    return facts


# --- the plan page ----------------------------------------------------------------------------


def plan_html(analysis: PlanAnalysis) -> str:
    """The plan analysis as a self-contained HTML page."""
    plan = analysis.plan
    conflicts = _conflicts(analysis)
    workers = f"{plan.workers} workers" if plan.workers else "unlimited workers"
    bound = analysis.lower_bound
    optimal = ": the practical schedule is optimal" if analysis.optimal else ""
    header = (
        f"<header>\n<h1>{esc(plan.name or plan.source)}</h1>\n"
        f'<p class="sub">{esc(plan.source)} \u00b7 {len(plan.tasks):,} tasks \u00b7 {workers}</p>\n'
        f"<p>{esc(_critical_text(analysis))}<br>\n"
        f"lower bound {time_format(plan)(bound.value)} ({esc(bound.reason)}){optimal}</p>\n"
        "</header>"
    )
    return _page(
        plan.name or plan.source,
        [
            header,
            _plan_speedup(analysis),
            _graph_section(analysis, conflicts, {}),
            _plan_gantt(analysis),
            _conflicts_section(conflicts, analysis),
            _serialization_section(analysis, "Serialization points"),
            _advice_section(analysis, "Advice"),
            _source_section(analysis),
        ],
        {"tasks": _plan_data(analysis), "conflicts": [list(c.tasks) for c in conflicts.shown]},
    )


def _plan_speedup(analysis: PlanAnalysis) -> str:
    seq = analysis.sequential
    fmt = time_format(analysis.plan)
    rows = [_row("Pure sequential", fmt(seq), "baseline", numeric=(1,))]
    for label, value, note in (
        ("Theoretical parallel", analysis.theoretical, "(on paper)"),
        ("Practical parallel", analysis.practical, "(conflicts respected)"),
        ("Practical, wave by wave", analysis.practical_waves_makespan, "(barrier between waves)"),
    ):
        rows.append(_row(label, fmt(value), esc(f"{faster(value, seq)} {note}"), numeric=(1,)))
    rows.append(
        _row(
            "Lower bound",
            fmt(analysis.lower_bound.value),
            esc(f"no schedule can beat it ({analysis.lower_bound.reason})"),
            numeric=(1,),
        )
    )
    head = ["Approach", time_heading(analysis.plan), "Notes"]
    return _section("speedup", "Speedup", _table("", head, rows))


def _axis_unit(plan: Plan, end: float) -> tuple[str, float]:
    """The unit a chart of the plan's times counts in, and its length in the plan's times."""
    if not plan.timed:
        return "time units", 1.0
    if end >= 3 * HOUR:
        return "hours", HOUR
    if end >= 3 * MINUTE:
        return "minutes", MINUTE
    return "seconds", 1.0


def _plan_gantt(analysis: PlanAnalysis) -> str:
    critical = set(analysis.critical_path.tasks)
    done = {t.id for t in analysis.plan.tasks if t.done}
    lanes = max((s.worker for s in analysis.schedule), default=-1) + 1
    bars = [
        Bar(
            s.task,
            s.worker,
            s.start,
            s.end,
            " ".join(
                c
                for c in ("crit" if s.task in critical else "", "done" if s.task in done else "")
                if c
            ),
        )
        for s in analysis.schedule
    ]
    unit, per_unit = _axis_unit(analysis.plan, analysis.practical)
    drawing = gantt(
        "Practical schedule",
        bars,
        [f"worker {n + 1}" for n in range(lanes)],
        analysis.practical,
        unit,
        per_unit=per_unit,
    )
    return _section(
        "gantt",
        "Practical schedule",
        '<p class="legend"><span class="key bar"></span> task'
        ' <span class="key crit"></span> on the critical path; one lane per worker</p>',
        f'<div class="scroll">\n{drawing}\n</div>',
    )


def _plan_data(analysis: PlanAnalysis) -> dict[str, Any]:
    facts = _task_facts(analysis, _delays_by_task(analysis))
    slots = {s.task: s for s in analysis.schedule}
    fmt = time_format(analysis.plan)
    data: dict[str, Any] = {}
    for task in analysis.plan.tasks:
        slot = slots[task.id]
        rows = [
            ["duration", fmt(task.duration) + _duration_note(task.duration_source)],
            ["scheduled", f"{fmt(slot.start)} to {fmt(slot.end)} on worker {slot.worker + 1}"],
            *facts[task.id],
        ]
        data[task.id] = {"title": task.title, "depends": list(task.depends), "facts": rows}
    return data


# --- the run page -----------------------------------------------------------------------------

_ATTEMPT_CLASS = {
    AttemptStatus.RUNNING: "a-running",
    AttemptStatus.SUCCEEDED: "a-ok",
    AttemptStatus.FAILED: "a-failed",
    AttemptStatus.TIMED_OUT: "a-timeout",
    AttemptStatus.INTERRUPTED: "a-interrupted",
    AttemptStatus.LOST: "a-lost",
    AttemptStatus.CONFLICT: "a-failed",
}


def report_html(report: RunReport, analysis: PlanAnalysis) -> str:
    """The run report as a self-contained HTML page: the measured speedup, planned against
    actual bars per task (every attempt), and the plan's graph, conflicts and advice, from
    ``analysis``, the analysis of the plan as the run ran it (:attr:`RunReport.plan`)."""
    run = report.run
    plan = analysis.plan
    conflicts = _conflicts(analysis)
    started = datetime.datetime.fromtimestamp(run.started, tz=datetime.UTC)
    dry = " \u00b7 dry run: durations are the plan's estimates" if run.dry_run else ""
    header = (
        f"<header>\n<h1>Run {esc(run.run_id)} "
        f'<span class="status st-{run.status.value}">{run.status.value}</span></h1>\n'
        f'<p class="sub">{esc(plan.name or plan.source)} \u00b7 {counted(len(plan.tasks), "task")}'
        f" \u00b7 {counted(run.workers, 'worker')} \u00b7 started {started:%Y-%m-%d %H:%M:%S} UTC"
        f"{dry}</p>\n"
        f"<p>{esc(_critical_text(analysis))} (planned)</p>\n</header>"
    )
    statuses = {t.id: f"st-{t.status.value}" for t in report.tasks}
    return _page(
        f"Run {run.run_id}",
        [
            header,
            _run_speedup(report),
            _run_gantt(report, analysis),
            _run_tasks(report),
            _graph_section(
                analysis,
                conflicts,
                statuses,
                '<p class="note">Nodes are coloured by how the task ended in this run.</p>',
            ),
            _conflicts_section(conflicts, analysis),
            _serialization_section(analysis, "Serialization points (planned)"),
            _advice_section(analysis, "Advice (from the plan's estimates)"),
        ],
        {
            "tasks": _run_data(report, analysis),
            "conflicts": [list(c.tasks) for c in conflicts.shown],
        },
    )


def _run_speedup(report: RunReport) -> str:
    rows = [
        _row(esc(label), planned, measured, esc(note), numeric=(1, 2))
        for label, planned, measured, note in measured_rows(report)
    ]
    heading = measured_heading(report, "Measured")
    table = _table("", ["Approach", "Planned", heading, "Notes"], rows)
    lines = []
    if report.efficiency is not None:
        lines.append(
            f'<p class="strong">Efficiency: {report.efficiency:.0%} of the theoretical saving '
            "was realised</p>"
        )
    waits = retry_wait_sentence(report)
    if waits is not None:
        lines.append(f"<p>{esc(waits)}</p>")
    return _section("speedup", "Speedup", table, *lines)


def _scale(report: RunReport) -> float:
    """Seconds per plan unit: what the successful attempts took over their tasks' estimates
    (1 for a dry run, whose attempts take exactly the estimates). Planned bars drawn at this
    scale share the time axis of the actual ones whatever unit the estimates are in (a timed
    plan's estimates are seconds already)."""
    if report.run.plan.timed:
        return 1.0
    planned = {t.id: t.planned_end - t.planned_start for t in report.tasks}
    estimated = measured = 0.0
    for task in report.run.tasks:
        final = task.final
        if task.status is TaskStatus.SUCCEEDED and final is not None and final.end is not None:
            estimated += planned.get(task.id, 0.0)
            measured += final.end - final.start
    if estimated <= 0 or measured <= 0 or abs(measured - estimated) <= 1e-9 * estimated:
        return 1.0
    return measured / estimated


def _run_gantt(report: RunReport, analysis: PlanAnalysis) -> str:
    run = report.run
    scale = _scale(report)
    critical = set(analysis.critical_path.tasks)
    attempts = {t.id: t.attempts for t in run.tasks}
    # An attempt still running (or cut off by a crash) is drawn up to the last recorded time.
    recorded = max([report.measured] + [t.end for t in report.tasks if t.end is not None])
    # A task the plan marks done is planned nowhere: it is not run (the planned schedule gave
    # it no time, and a strip of no length at a start it never had said otherwise).
    to_do = [t for t in report.tasks if not t.done]
    known_end = max([recorded] + [t.planned_end * scale for t in to_do])
    spans: list[tuple[str, float, float]] = []
    drawn: dict[str, tuple[tuple[float, float, str], ...]] = {}
    for task in report.tasks:
        tries = tuple(
            (
                run.clock(a.start, a.session),
                recorded if a.end is None else run.clock(a.end, a.session),
                _ATTEMPT_CLASS[a.status],
            )
            for a in attempts.get(task.id, ())
        )
        if tries:
            drawn[task.id] = tries
            spans.append((task.id, min(s for s, _, _ in tries), max(e for _, e, _ in tries)))
    lanes = pack_lanes(spans)
    ran = max(lanes.values(), default=-1) + 1
    idle = [
        (t.id, t.planned_start * scale, t.planned_end * scale) for t in to_do if t.id not in drawn
    ]
    not_run = pack_lanes(idle, first=ran)
    bars = []
    for task in report.tasks:
        extra = " crit" if task.id in critical else ""
        kind = f"st-{task.status.value}{extra}"
        planned = None if task.done else (task.planned_start * scale, task.planned_end * scale)
        if task.id in drawn:  # (one marked done after an earlier session ran it)
            tries = drawn[task.id]
            start, end = min(s for s, _, _ in tries), max(e for _, e, _ in tries)
            bars.append(Bar(task.id, lanes[task.id], start, end, kind, tries, planned))
        elif planned is not None:
            bars.append(Bar(task.id, not_run[task.id], planned[0], planned[1], kind))
    names = [f"lane {n + 1}" for n in range(ran)]
    names += ["not run"] * (max(not_run.values(), default=ran - 1) + 1 - ran)
    drawing = gantt("Planned and actual schedule", bars, names, known_end, "seconds")
    unit = (
        "the planned schedule as is"
        if scale == 1
        else f"the planned schedule with its durations scaled \u00d7{fmt_time(round(scale, 3))}"
        " (the time the successful attempts took over their estimates)"
    )
    legend = (
        '<p class="legend"><span class="key planned"></span> planned '
        '<span class="key a-ok"></span> attempt succeeded '
        '<span class="key a-failed"></span> failed '
        '<span class="key a-timeout"></span> timed out '
        '<span class="key a-interrupted"></span> interrupted or lost '
        '<span class="key skipped"></span> not run (at its planned time) '
        "\u00d7N: tries</p>\n"
        '<p class="note">Seconds of the run (its sessions, without the pauses between them); '
        "one lane per task running at once. "
        f"Planned strips show {esc(unit)}.</p>"
    )
    return _section(
        "gantt", "Planned and actual schedule", legend, f'<div class="scroll">\n{drawing}\n</div>'
    )


def _run_tasks(report: RunReport) -> str:
    plan = report.run.plan
    fmt, secs = time_format(plan), seconds_format(plan)
    ordered = sorted(
        report.tasks,
        key=lambda t: (t.status is TaskStatus.SUCCEEDED and not t.flaky, t.start or 0.0),
    )
    rows = [
        _row(
            esc(t.id),
            f'<span class="status st-{t.status.value}">{t.status.value}</span>',
            str(t.attempts),
            "-" if t.done else fmt(t.planned_start),
            "-" if t.start is None else secs(t.start),
            secs(t.duration) if t.attempts else "-",
            esc(task_note(t)),
            numeric=(2, 3, 4, 5),
            attrs=f' data-ref="{esc(t.id)}"',
        )
        for t in ordered[: MAX_ROWS * 2]
    ]
    return _section(
        "tasks",
        "Tasks",
        _table(
            "Failures, retries and skips first",
            [
                "Task",
                "Status",
                "Tries",
                "Planned start",
                measured_heading(report, "Start"),
                measured_heading(report, "Took"),
                "Notes",
            ],
            rows,
            len(report.tasks) - len(rows),
        ),
    )


def _run_data(report: RunReport, analysis: PlanAnalysis) -> dict[str, Any]:
    run = report.run
    plan: Plan = analysis.plan
    facts = _task_facts(analysis, _delays_by_task(analysis))
    tasks = {t.id: t for t in plan.tasks}
    attempts = {t.id: t.attempts for t in run.tasks}
    fmt = time_format(plan)
    secs = seconds_text(plan)
    data: dict[str, Any] = {}
    for entry in report.tasks:
        task = tasks[entry.id]
        status = entry.status.value
        note = task_note(entry)
        rows = [["status", f"{status} ({note})" if note else status]]
        for a in attempts.get(entry.id, ()):
            took = "" if a.end is None else f", {secs(a.end - a.start)}"
            code = f", exit code {a.exit_code}" if a.exit_code is not None else ""
            rows.append([f"attempt {a.attempt}", f"{a.status.value}{code}{took}"])
        if entry.end is not None:
            rows.append(["took", secs(entry.duration)])
        if entry.done:
            rows.append(["planned", "not run: the plan marks it done"])
        else:
            rows.append(
                [
                    "planned",
                    f"{fmt(task.duration)}{_duration_note(task.duration_source)}, "
                    f"from {fmt(entry.planned_start)} to {fmt(entry.planned_end)}",
                ]
            )
        rows.extend(
            [f"{label} (planned)" if label == "waited" else label, value]
            for label, value in facts[entry.id]
        )
        data[entry.id] = {"title": task.title, "depends": list(task.depends), "facts": rows}
    return data


# --- style sheet and script -------------------------------------------------------------------

_CSS = """\
:root { --ink: #1f2933; --muted: #62707d; --line: #d5dbe1; --crit: #b45309; --dep: #ca8a04;
  --ok: #3f9c5a; --fail: #dc2626; --skip: #9aa5b1; }
* { box-sizing: border-box; }
body { margin: 0; padding: 16px 24px 48px; font: 14px/1.45 system-ui, sans-serif;
  color: var(--ink); background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); }
h3 { font-size: 14px; margin: 8px 0; }
.sub, .note, caption, small { color: var(--muted); }
.strong { font-weight: 600; }
table { border-collapse: collapse; margin: 4px 0 8px; }
caption { text-align: left; padding-bottom: 4px; }
th, td { text-align: left; padding: 3px 12px 3px 0; border-bottom: 1px solid #eef1f4;
  vertical-align: top; }
td.n { text-align: right; }
tr.more td { color: var(--muted); }
.views { display: flex; flex-wrap: wrap; gap: 16px 24px; align-items: flex-start; }
.view, .scroll { max-width: 100%; max-height: 85vh; overflow: auto; }
svg text { font: 11px system-ui, sans-serif; fill: var(--ink); }
svg .col { text-anchor: middle; fill: var(--muted); font-weight: 600; }
svg .axis { fill: var(--muted); text-anchor: middle; }
svg .axis.unit { text-anchor: start; }
svg .axis.end { text-anchor: end; }
svg .axis.start { text-anchor: start; }
svg .lname { text-anchor: end; fill: var(--muted); }
svg .tick { stroke: #eef1f4; }
svg .base { stroke: var(--line); }
svg .lane { fill: #f7f9fa; }
.edge { fill: none; stroke: #aab4be; stroke-width: 1.2; }
.edge.crit { stroke: var(--crit); stroke-width: 2.5; }
.edge.dep-edge { stroke: var(--dep); stroke-width: 2.5; }
.node { cursor: default; }
.node .box { fill: #f3f6f9; stroke: #8a96a3; stroke-width: 1; }
.node.crit .box { stroke: var(--crit); stroke-width: 2.5; }
.node.done .box { fill: #e8ecef; stroke-dasharray: 4 2; }
.node .nid { font-weight: 600; }
.node .ntitle { fill: var(--muted); }
.node.st-succeeded .box { fill: #e3f4e8; }
.node.st-failed .box, .node.st-conflict .box { fill: #fde2e2; }
.node.st-skipped .box, .node.st-pending .box { fill: #eef1f4; stroke-dasharray: 4 2; }
.node.st-interrupted .box { fill: #f3e8ff; }
.bar { fill: #6b8fb5; }
.bar.crit { fill: #a8642a; }
.bar.done { fill: #b7c2cc; }
.bar.st-succeeded, .bar.st-failed, .bar.st-conflict, .bar.st-interrupted { fill: #dfe5ea; }
.bar.st-skipped, .bar.st-pending { fill: #fff; stroke: var(--skip); stroke-dasharray: 3 2; }
.bar.crit.st-succeeded, .bar.crit.st-failed { stroke: var(--crit); stroke-width: 1.5; }
.att, .blabel, .tries { pointer-events: none; }
.att.a-ok { fill: var(--ok); }
.att.a-failed { fill: var(--fail); }
.att.a-timeout { fill: #ea580c; }
.att.a-interrupted, .att.a-lost { fill: #9333ea; }
.att.a-running { fill: #60a5fa; }
.blabel { fill: #fff; font-weight: 600; }
.bar.st-skipped + .blabel, .bar.st-pending + .blabel { fill: var(--muted); }
.tries { fill: var(--ink); font-weight: 600; }
.planned { fill: #cbd5df; stroke: #8a96a3; stroke-width: 0.6; }
.summary .wave { fill: #6b8fb5; }
.summary .wave.crit { fill: #a8642a; }
.mark { stroke: #fff; stroke-width: 0.5; }
.c0 { fill: #2563eb; background: #2563eb; } .c1 { fill: #db2777; background: #db2777; }
.c2 { fill: #059669; background: #059669; } .c3 { fill: #7c3aed; background: #7c3aed; }
.c4 { fill: #0891b2; background: #0891b2; } .c5 { fill: #65a30d; background: #65a30d; }
.c6 { fill: #c026d3; background: #c026d3; } .c7 { fill: #475569; background: #475569; }
.legend, .chips { margin: 4px 0; }
.key { display: inline-block; width: 14px; height: 10px; border-radius: 2px;
  vertical-align: middle; background: #6b8fb5; }
.key.crit { background: var(--crit); } .key.dep { background: var(--dep); }
.key.planned { background: #cbd5df; border: 1px solid #8a96a3; height: 6px; }
.key.a-ok { background: var(--ok); } .key.a-failed { background: var(--fail); }
.key.a-timeout { background: #ea580c; } .key.a-interrupted { background: #9333ea; }
.key.skipped { background: #fff; border: 1px dashed var(--skip); }
.chip { display: inline-block; margin: 2px 4px 2px 0; padding: 1px 8px; border: 1px solid
  var(--line); border-radius: 10px; cursor: default; white-space: nowrap; }
.sw { display: inline-block; width: 9px; height: 9px; margin-right: 5px; border-radius: 2px; }
.chip:hover, tr[data-conflict]:hover { background: #fef9c3; }
.status { font-size: 12px; font-weight: 600; padding: 1px 7px; border-radius: 9px;
  background: #eef1f4; vertical-align: middle; }
.status.st-succeeded { background: #dcfce7; color: #166534; }
.status.st-failed, .status.st-conflict { background: #fee2e2; color: #991b1b; }
.status.st-interrupted { background: #f3e8ff; color: #6b21a8; }
.waits { margin: 0; padding-left: 20px; }
.hovering :is(.node, .bar, .att, .planned):not(.focus):not(.dep):not(.conf) { opacity: 0.35; }
.node.focus .box, .bar.focus, .att.focus { stroke: var(--ink); stroke-width: 2.5; }
.node.dep .box, .bar.dep, .att.dep { stroke: var(--dep); stroke-width: 3; }
.node.dep .box { fill: #fef9c3; }
.node.conf .box, .bar.conf, .att.conf { stroke: #e11d48; stroke-width: 3; }
tr.focus, tr.dep { background: #fef9c3; }
.tip { position: fixed; z-index: 10; max-width: 440px; padding: 8px 10px; background: #fff;
  border: 1px solid #8a96a3; border-radius: 6px; box-shadow: 0 4px 14px rgba(0, 0, 0, 0.18);
  pointer-events: none; font-size: 13px; }
.tip .tip-head { font-weight: 600; margin-bottom: 4px; overflow-wrap: anywhere; }
.tip div { overflow-wrap: anywhere; }
"""

_JS = """\
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("waveplan-data").textContent);
  var tip = document.getElementById("tip");
  var shown = {}, into = {}, current = null;
  document.querySelectorAll("[data-task],[data-ref]").forEach(function (el) {
    var id = el.getAttribute("data-task") || el.getAttribute("data-ref");
    (shown[id] = shown[id] || []).push(el);
  });
  document.querySelectorAll("[data-to]").forEach(function (el) {
    var id = el.getAttribute("data-to");
    (into[id] = into[id] || []).push(el);
  });
  function mark(elements, name, on) {
    (elements || []).forEach(function (el) { el.classList.toggle(name, on); });
  }
  function light(ids, name, on) {
    ids.forEach(function (id) { mark(shown[id], name, on); });
  }
  function place(event) {
    var x = event.clientX + 14, y = event.clientY + 14;
    var w = tip.offsetWidth, h = tip.offsetHeight;
    if (x + w > innerWidth - 8) x = Math.max(8, event.clientX - w - 14);
    if (y + h > innerHeight - 8) y = Math.max(8, event.clientY - h - 14);
    tip.style.left = x + "px";
    tip.style.top = y + "px";
  }
  function leave() {
    if (current === null) return;
    light([current], "focus", false);
    light(data.tasks[current].depends, "dep", false);
    mark(into[current], "dep-edge", false);
    document.body.classList.remove("hovering");
    tip.hidden = true;
    current = null;
  }
  function enter(id, event) {
    var task = data.tasks[id];
    leave();
    if (!task) return;
    current = id;
    var head = document.createElement("div");
    head.className = "tip-head";
    head.textContent = task.title === id ? id : id + ": " + task.title;
    tip.replaceChildren(head);
    task.facts.forEach(function (fact) {
      var line = document.createElement("div"), label = document.createElement("b");
      label.textContent = fact[0] + ": ";
      line.append(label, fact[1]);
      tip.append(line);
    });
    tip.hidden = false;
    place(event);
    document.body.classList.add("hovering");
    light([id], "focus", true);
    light(task.depends, "dep", true);
    mark(into[id], "dep-edge", true);
  }
  document.addEventListener("mouseover", function (event) {
    var el = event.target.closest ? event.target.closest("[data-task],[data-ref]") : null;
    var id = el ? el.getAttribute("data-task") || el.getAttribute("data-ref") : null;
    if (id === current) return;
    if (id === null) leave(); else enter(id, event);
  });
  document.addEventListener("mousemove", function (event) {
    if (current !== null) place(event);
  });
  document.querySelectorAll("[data-conflict]").forEach(function (el) {
    var ids = data.conflicts[Number(el.getAttribute("data-conflict"))] || [];
    el.addEventListener("mouseenter", function () {
      light(ids, "conf", true);
      document.body.classList.add("hovering");
    });
    el.addEventListener("mouseleave", function () {
      light(ids, "conf", false);
      document.body.classList.remove("hovering");
    });
  });
})();
"""

"""SVG drawings for the HTML page, laid out here rather than in the browser.

The dependency graph draws waves as columns (one node per task, dependency edges between
columns); beyond a size it becomes a wave summary (one bar per wave). Gantt charts draw a time
axis and one lane per worker, one ``rect.bar`` per task carrying ``data-task``. Every function
returns markup with all text escaped; coordinates are rounded to one decimal so output is stable.
"""

from __future__ import annotations

import heapq
import html
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from waveplan.render.figures import counted, fmt_time

__all__ = [
    "Bar",
    "GraphStyle",
    "clip",
    "esc",
    "gantt",
    "pack_lanes",
    "wave_graph",
    "wave_summary",
]

NODE_W = 120
NODE_H = 38
COL_GAP = 30
ROW_GAP = 8
PAD = 10
HEAD = 24
LIFT = (NODE_H + ROW_GAP) * 0.7  # a cubic's peak is 3/4 of its control points' lift
CHART_W = 960
LABEL_W = 80
AXIS_H = 26
CHAR_W = 6.6  # average width of a character of the 11px labels, to decide what fits
MAX_MARKS = 4


def esc(text: str) -> str:
    """Text safe in markup and in quoted attributes."""
    return html.escape(text, quote=True)


def num(value: float) -> str:
    """A coordinate: one decimal at most, no ``-0``."""
    text = f"{round(value, 1) + 0.0:.1f}"
    return text[:-2] if text.endswith(".0") else text


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + "\u2026"


@dataclass(frozen=True, slots=True)
class GraphStyle:
    """How the graph marks tasks: extra CSS classes per task (``crit``, ``done``, a run status)
    and the conflict colours (indexes into the page's palette) per task."""

    classes: Mapping[str, str]
    marks: Mapping[str, Sequence[int]]
    critical_edges: Collection[tuple[str, str]]


def wave_graph(
    label: str,
    waves: Sequence[Sequence[str]],
    depends: Mapping[str, Sequence[str]],
    titles: Mapping[str, str],
    style: GraphStyle,
) -> str:
    """The dependency graph with one column per wave, nodes in wave order, edges beneath."""
    place: dict[str, tuple[float, float]] = {}
    for column, wave in enumerate(waves):
        for row, task in enumerate(wave):
            place[task] = (
                PAD + column * (NODE_W + COL_GAP),
                PAD + HEAD + row * (NODE_H + ROW_GAP),
            )
    tallest = max((len(w) for w in waves), default=0)
    width = 2 * PAD + max(len(waves), 1) * (NODE_W + COL_GAP) - COL_GAP
    height = 2 * PAD + HEAD + max(tallest, 1) * (NODE_H + ROW_GAP) - ROW_GAP
    lines = [
        f'<svg class="graph" role="img" aria-label="{esc(label)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">'
    ]
    for column in range(len(waves)):
        x = PAD + column * (NODE_W + COL_GAP) + NODE_W / 2
        lines.append(f'<text class="col" x="{num(x)}" y="{PAD + 12}">Wave {column + 1}</text>')
    for wave in waves:
        for task in wave:
            tx, ty = place[task]
            for dep in depends.get(task, ()):
                if dep not in place:
                    continue
                sx, sy = place[dep]
                x1, y1, x2, y2 = sx + NODE_W, sy + NODE_H / 2, tx, ty + NODE_H / 2
                bend = max(abs(x2 - x1) / 2, 16)
                # An edge skipping columns arcs towards the gap above its row, so that it is
                # not hidden behind the nodes it passes and does not read as a chain.
                lift = LIFT if x2 - x1 > NODE_W + 2 * COL_GAP else 0
                kind = "edge crit" if (dep, task) in style.critical_edges else "edge"
                lines.append(
                    f'<path class="{kind}" data-from="{esc(dep)}" data-to="{esc(task)}" '
                    f'd="M{num(x1)} {num(y1)} C{num(x1 + bend)} {num(y1 - lift)} '
                    f'{num(x2 - bend)} {num(y2 - lift)} {num(x2)} {num(y2)}"/>'
                )
    for wave in waves:
        lines.extend(_node(task, place[task], titles.get(task, task), style) for task in wave)
    lines.append("</svg>")
    return "\n".join(lines)


def _node(task: str, at: tuple[float, float], title: str, style: GraphStyle) -> str:
    extra = style.classes.get(task, "")
    kind = f"node {extra}".strip()
    x, y = at
    parts = [
        f'<g class="{kind}" data-ref="{esc(task)}" transform="translate({num(x)} {num(y)})">',
        f'<rect class="box" width="{NODE_W}" height="{NODE_H}" rx="5"/>',
        f'<text class="nid" x="7" y="15">{esc(clip(task, 16))}</text>',
    ]
    if title != task:
        parts.append(f'<text class="ntitle" x="7" y="30">{esc(clip(title, 17))}</text>')
    for n, colour in enumerate(style.marks.get(task, ())[:MAX_MARKS]):
        parts.append(
            f'<rect class="mark c{colour}" x="{NODE_W - 12 - n * 10}" y="5" width="7" height="7"/>'
        )
    parts.append("</g>")
    return "".join(parts)


def wave_summary(
    label: str, waves: Sequence[Sequence[str]], critical: Collection[str], unit: str
) -> str:
    """A large plan's graph, simplified: one bar per wave, as tall as the wave is big, marked
    when the critical path goes through it; each bar's title says what it holds."""
    count = max(len(waves), 1)
    biggest = max((len(w) for w in waves), default=1) or 1
    step = max(2.0, min(28.0, CHART_W / count))
    bar = step - 1 if step < 6 else step - 3
    chart_h = 150
    width = math.ceil(2 * PAD + LABEL_W + count * step)
    height = 2 * PAD + chart_h + 36
    base = PAD + chart_h
    lines = [
        f'<svg class="summary" role="img" aria-label="{esc(label)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">',
        f'<text class="axis start" x="{PAD}" y="{PAD + 10}">{biggest:,} {unit}</text>',
        f'<line class="tick" x1="{PAD + LABEL_W}" y1="{PAD}" x2="{width - PAD}" y2="{PAD}"/>',
        f'<line class="base" x1="{PAD + LABEL_W}" y1="{base}" x2="{width - PAD}" y2="{base}"/>',
    ]
    for n, wave in enumerate(waves):
        x = PAD + LABEL_W + n * step
        tall = max(1.0, len(wave) / biggest * chart_h)
        on_path = [t for t in wave if t in critical]
        note = f"; critical path: {', '.join(on_path[:3])}" if on_path else ""
        size = counted(len(wave), "task")
        lines.append(
            f'<rect class="wave" x="{num(x)}" y="{num(base - tall)}" width="{num(bar)}" '
            f'height="{num(tall)}"><title>{esc(f"Wave {n + 1}: {size}{note}")}'
            "</title></rect>"
        )
        if on_path:
            lines.append(
                f'<rect class="wave crit" x="{num(x)}" y="{base + 2}" width="{num(bar)}" '
                'height="4"/>'
            )
    lines.append(f'<text class="axis start" x="{PAD + LABEL_W}" y="{base + 20}">Wave 1</text>')
    lines.append(
        f'<text class="axis end" x="{width - PAD}" y="{base + 20}">Wave {len(waves):,}</text>'
    )
    lines.append("</svg>")
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Bar:
    """One task in a Gantt chart: its lane and span, and for a run its attempts (start, end,
    status) and its planned span (None when the bar itself is the planned span)."""

    task: str
    lane: int
    start: float
    end: float
    classes: str = ""
    attempts: tuple[tuple[float, float, str], ...] = ()
    planned: tuple[float, float] | None = None


def pack_lanes(spans: Sequence[tuple[str, float, float]], first: int = 0) -> dict[str, int]:
    """Lanes for spans ``(task, start, end)`` so no two in a lane overlap: each span, in start
    order (ties by task), takes the lowest free lane."""
    lanes: dict[str, int] = {}
    busy: list[tuple[float, int]] = []
    free: list[int] = []
    opened = first
    for task, start, end in sorted(spans, key=lambda s: (s[1], s[2], s[0])):
        while busy and busy[0][0] <= start:
            heapq.heappush(free, heapq.heappop(busy)[1])
        if free:
            lane = heapq.heappop(free)
        else:
            lane, opened = opened, opened + 1
        lanes[task] = lane
        heapq.heappush(busy, (max(end, start), lane))
    return lanes


def _ticks(end: float) -> list[float]:
    """Round tick values from 0 to ``end``: steps of 1, 2 or 5 times a power of ten."""
    raw = end / 8
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw - 1e-12)
    return [n * step for n in range(int(end / step + 1e-9) + 1)]


def gantt(
    label: str,
    bars: Sequence[Bar],
    lane_names: Sequence[str],
    end: float,
    unit: str,
    *,
    per_unit: float = 1.0,
) -> str:
    """A Gantt chart: time axis on top, one lane per entry of ``lane_names``, one ``rect.bar``
    with ``data-task`` per task. Bars with attempts get them drawn over the bar; bars with a
    planned span get a thin planned strip above them. The axis counts in ``unit``, each
    ``per_unit`` of the bars' time (minutes of a chart in seconds: ``per_unit=60``)."""
    end = end if end > 0 else 1.0
    scale = CHART_W / end
    run = any(b.attempts or b.planned is not None for b in bars)
    many = len(lane_names) > 60
    lane_h = (16 if many else 34) if run else (10 if many else 24)
    strip = 5 if many else 7  # the planned strip of a run chart
    left = PAD + LABEL_W
    top = PAD + AXIS_H
    width = left + CHART_W + PAD + 70
    height = top + max(len(lane_names), 1) * lane_h + PAD
    lines = [
        f'<svg class="gantt" role="img" aria-label="{esc(label)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">'
    ]
    for n, name in enumerate(lane_names):
        y = top + n * lane_h
        if n % 2:
            lines.append(
                f'<rect class="lane" x="{left}" y="{y}" width="{CHART_W}" height="{lane_h}"/>'
            )
        if not many or n % 10 == 0:
            lines.append(
                f'<text class="lname" x="{left - 6}" y="{num(y + lane_h / 2 + 4)}">'
                f"{esc(name)}</text>"
            )
    bottom = top + len(lane_names) * lane_h
    for value in _ticks(end / per_unit):
        x = left + value * per_unit * scale
        lines.append(
            f'<line class="tick" x1="{num(x)}" y1="{top - 4}" x2="{num(x)}" y2="{bottom}"/>'
        )
        lines.append(f'<text class="axis" x="{num(x)}" y="{top - 8}">{fmt_time(value)}</text>')
    lines.append(
        f'<text class="axis unit" x="{left + CHART_W + 8}" y="{top - 8}">{esc(unit)}</text>'
    )
    for bar in bars:
        y = top + bar.lane * lane_h
        bar_y, bar_h = (y + strip + 5, lane_h - strip - 8) if run else (y + 3, lane_h - 6)
        x = left + bar.start * scale
        w = max((bar.end - bar.start) * scale, 1.5)
        kind = f"bar {bar.classes}".strip()
        if bar.planned is not None:
            px = left + bar.planned[0] * scale
            pw = max((bar.planned[1] - bar.planned[0]) * scale, 1.5)
            lines.append(
                f'<rect class="planned" data-ref="{esc(bar.task)}" x="{num(px)}" y="{y + 3}" '
                f'width="{num(pw)}" height="{strip}"/>'
            )
        lines.append(
            f'<rect class="{kind}" data-task="{esc(bar.task)}" x="{num(x)}" y="{num(bar_y)}" '
            f'width="{num(w)}" height="{num(bar_h)}" rx="2"/>'
        )
        for start, stop, status in bar.attempts:
            ax = left + start * scale
            aw = max((stop - start) * scale, 1.5)
            lines.append(
                f'<rect class="att {status}" data-ref="{esc(bar.task)}" x="{num(ax)}" '
                f'y="{num(bar_y)}" width="{num(aw)}" height="{num(bar_h)}" rx="2"/>'
            )
        fits = int((w - 6) / CHAR_W)
        if not many and fits >= 2:
            lines.append(
                f'<text class="blabel" x="{num(x + 4)}" y="{num(bar_y + bar_h / 2 + 4)}">'
                f"{esc(clip(bar.task, fits))}</text>"
            )
        if len(bar.attempts) > 1 and not many:
            lines.append(
                f'<text class="tries" x="{num(x + w + 3)}" y="{num(bar_y + bar_h / 2 + 4)}">'
                f"\u00d7{len(bar.attempts)}</text>"
            )
    lines.append("</svg>")
    return "\n".join(lines)

"""Wording and formatting shared by the renderers, so every output says the same thing."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from waveplan.model import DurationSource, Plan, ResourceKind, TaskStatus
from waveplan.schedule.advice import Action, Advice
from waveplan.schedule.analysis import PlanAnalysis, SerializationPoint
from waveplan.schedule.explain import ConflictGroup, Delay
from waveplan.schedule.measured import RunReport, TaskReport
from waveplan.units import format_duration, time_formatter
from waveplan.units import format_number as fmt_time

__all__ = [
    "advice_keys",
    "advice_sentence",
    "conflict_text",
    "counted",
    "delay_text",
    "duration_sources",
    "durations_sentence",
    "efficiency",
    "faster",
    "fmt_time",
    "ids_text",
    "measured_faster",
    "retry_wait_sentence",
    "saving",
    "seconds_format",
    "seconds_heading",
    "seconds_text",
    "task_note",
    "time_format",
    "time_heading",
]


def time_format(plan: Plan) -> Callable[[float], str]:
    """How the plan's times are written: ``1h 30m`` when it is timed (seconds), else as the
    bare numbers its durations are."""
    return time_formatter(plan.timed)


def time_heading(plan: Plan) -> str:
    """The heading of a column of the plan's times."""
    return "Time" if plan.timed else "Time units"


def seconds_format(plan: Plan) -> Callable[[float], str]:
    """How a run report writes measured seconds: as the plan's times when it is timed (both
    are seconds then), else as bare numbers under a heading that says seconds."""
    return format_duration if plan.timed else lambda value: fmt_time(round(value, 3))


def seconds_text(plan: Plan) -> Callable[[float], str]:
    """Measured seconds in a sentence: ``1m 5s`` beside a timed plan, else ``65 s``."""
    bare = seconds_format(plan)
    return bare if plan.timed else lambda value: f"{bare(value)} s"


def seconds_heading(plan: Plan, label: str) -> str:
    """The heading of a column of measured seconds: ``Took``, or ``Took (s)`` beside a plan
    whose times have no unit."""
    return label if plan.timed else f"{label} (s)"


def counted(number: int, noun: str) -> str:
    """``1 task``, ``2 tasks``, ``1,000 workers``: a count with its noun in the right number
    (``noun`` is the singular; the plural adds an s)."""
    return f"{number:,} {noun}" if number == 1 else f"{number:,} {noun}s"


def saving(makespan: float, sequential: float) -> float | None:
    """``1 - makespan / sequential`` (DESIGN section 7), None when there is no work."""
    if sequential <= 0:
        return None
    return 1.0 - makespan / sequential


def efficiency(makespan: float, theoretical: float, sequential: float) -> float | None:
    """Share of the theoretical saving that a makespan achieves (None without any saving)."""
    achieved = saving(makespan, sequential)
    promised = saving(theoretical, sequential)
    if achieved is None or promised is None or promised <= 0:
        return None
    return achieved / promised


def faster(makespan: float, sequential: float) -> str:
    """``43% faster`` in the seed's wording (``0% faster``, ``12% slower``)."""
    share = saving(makespan, sequential)
    if share is None:
        return "-"
    percent = round(share * 100)
    if percent == 100 and makespan > 0:  # 7 of 11,994 is 99.94 % faster, not instant
        percent = 99
    if percent < 0:
        return f"{-percent}% slower"
    return f"{percent}% faster"


def ids_text(ids: Sequence[str], limit: int = 8) -> str:
    """Task ids in a table cell: ``t1, t2 (+3)`` past ``limit``."""
    shown = ", ".join(ids[:limit])
    return shown + (f" (+{len(ids) - limit:,})" if len(ids) > limit else "")


NAMED_RESOURCES = 3
"""Resources a serialization point's name shows, past four: ``a + b + c + 12 more``."""


def serialization_text(point: SerializationPoint, conservative: str = " (conservative)") -> str:
    """A serialization point's resources for a table cell: all of them up to four, else the
    three most waited on and how many more; ``conservative`` when an overlap was assumed."""
    names = point.resources or (point.resource,)
    if len(names) > NAMED_RESOURCES + 1:
        shown = " + ".join(names[:NAMED_RESOURCES])
        text = f"{shown} + {len(names) - NAMED_RESOURCES:,} more"
    else:
        text = point.resource
    return text + (conservative if point.conservative else "")


def conflict_text(
    group: ConflictGroup, analysis: PlanAnalysis, conservative: str = " (conservative)"
) -> str:
    """The resource of a conflict, with ``conservative`` when its overlap was assumed
    (patterns that may overlap) and ``(inferred)`` when only inferred accesses cause it."""
    name = group.resource + (conservative if group.conservative else "")
    if analysis.inferred is not None and group.resource in analysis.inferred.conflicts:
        name += " (inferred)"
    return name


def delay_text(delay: Delay, analysis: PlanAnalysis) -> str:
    """``1 for src/x.ts held by t2``: the rest of "t3 waited ...", marked ``(conservative
    overlap)`` and ``(inferred)`` (only inferred accesses make the task wait) as they apply."""
    more = f" and {delay.more_holders:,} more" if delay.more_holders else ""
    held = f" held by {ids_text(delay.holders)}{more}" if delay.holders else ""
    if delay.planned_first:
        also = " and" if held else ""
        held += f",{also} kept for {ids_text(delay.planned_first)} (planned first)"
    note = " (conservative overlap)" if delay.conservative else ""
    if analysis.inferred is not None and (delay.task, delay.resource) in analysis.inferred.waits:
        note += " (inferred)"
    return f"{time_format(analysis.plan)(delay.duration)} for {delay.resource}{held}{note}"


def _tasks(ids: tuple[str, ...], limit: int = 6) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _few(items: Sequence[str]) -> str:
    """``a, b, c + 12 more``: at most ``NAMED_RESOURCES`` items named, as a serialization
    point names its resources."""
    if len(items) > NAMED_RESOURCES + 1:
        return f"{', '.join(items[:NAMED_RESOURCES])} + {len(items) - NAMED_RESOURCES:,} more"
    return ", ".join(items)


def advice_keys(advice: Advice) -> list[str]:
    """The task-file keys an advice is about, state and test resources marked as such
    (``state:db``, ``test:tests/unit/``), as resources are named elsewhere."""
    prefix = {ResourceKind.STATE: "state:", ResourceKind.TEST: "test:"}
    return [prefix.get(kind, "") + key for kind, key in advice.keys]


def measured_faster(report: RunReport, value: float) -> str:
    """:func:`faster` for a measured figure, ``-`` when the tasks did no measurable work (a
    run of checkpoints is "19778% slower" by its own overhead)."""
    return faster(value, report.actual.sequential) if report.measurable else "-"


def advice_sentence(advice: Advice, fmt: Callable[[float], str] = fmt_time) -> str:
    """What to do, in one sentence (without the resulting makespan); ``fmt`` writes the
    plan's times (:func:`time_format`)."""
    if advice.action is Action.SPLIT:
        if len(advice.tasks) == 1:  # a folder or pattern over files other tasks write
            return f"Split {advice.resource} so that {advice.tasks[0]} edits a part of its own"
        return f"Split {advice.resource} so that {_tasks(advice.tasks)} edit separate parts"
    if advice.action is Action.ISOLATE:
        return f"Give each task its own {advice.resource} (per-task copy, port or fixture)"
    if advice.action is Action.EXTRACT:
        duration = fmt(advice.new_duration or 0.0)
        return (
            f"Extract the shared part of {advice.resource} into an earlier task "
            f"'{advice.new_task}' (assumed duration {duration}) that {_tasks(advice.tasks)} "
            "depend on"
        )
    if advice.action is Action.NARROW_READS:
        keys = advice_keys(advice)
        what = "state" if all(kind is ResourceKind.STATE for kind, _ in advice.keys) else "files"
        return (
            f"Narrow the reads of {_few(keys)} in {_few(advice.tasks)} to the {what} each "
            "task really reads (if the narrowed reads meet no writer)"
        )
    if advice.action is Action.RAISE_CAPACITY:
        return f"Raise the capacity of {advice.resource} to {advice.value}"
    return f"Use {advice.value} workers"


def measured_heading(report: RunReport, label: str) -> str:
    """A measured column's heading: a dry run's clock counts the plan's own units (each task
    takes its estimate), so it says seconds only when the plan is in seconds."""
    return label if report.run.dry_run else seconds_heading(report.run.plan, label)


def measured_rows(report: RunReport) -> list[tuple[str, str, str, str]]:
    """The rows of a run's speedup table, as text: approach, planned, measured, notes. A
    ``--barrier`` run is compared with the practical waves run one after another."""
    plan = report.run.plan
    fmt, secs = time_format(plan), seconds_format(plan)
    planned, actual = report.planned, report.actual
    barrier = report.run.barrier
    return [
        (
            "Pure sequential",
            fmt(planned.sequential),
            secs(actual.sequential),
            "baseline (sum of tasks)",
        ),
        (
            "Theoretical parallel",
            fmt(planned.theoretical),
            secs(actual.theoretical),
            f"{measured_faster(report, actual.theoretical)} (on paper)",
        ),
        (
            "Practical, wave by wave" if barrier else "Practical parallel",
            fmt(planned.practical),
            secs(actual.practical),
            f"{measured_faster(report, actual.practical)} "
            + ("(barrier between waves)" if barrier else "(conflicts respected)"),
        ),
        (
            "Measured",
            "",
            secs(report.measured),
            f"{measured_faster(report, report.measured)} (wall clock)",
        ),
    ]


def retry_wait_sentence(report: RunReport) -> str | None:
    """How long retried tasks waited for their next attempt (None when none did, or not long
    enough to show: with ``--retry-delay 0`` a retry starts at once, and "0.00s in all" would
    only say so with a figure)."""
    if round(report.retry_wait, 2) <= 0:
        return None
    waiting = tuple(t.id for t in report.tasks if t.waited > 0)
    return (
        f"Retry backoff: {report.retry_wait:.2f}s in all ({_tasks(waiting)}), part of the"
        " measured time where it held the run up"
    )


def duration_sources(plan: Plan) -> dict[str, list[str]]:
    """The tasks whose duration was not declared, by where it comes from (``history``:
    measured in earlier runs, the median of their successful attempts in the plan root's
    history or what an imported plan recorded; ``default``: no estimate, counted as the
    plan's ``default_duration``)."""
    found: dict[str, list[str]] = {}
    for task in plan.tasks:
        if task.duration_source is not DurationSource.DECLARED:
            found.setdefault(task.duration_source.value, []).append(task.id)
    return found


def durations_sentence(plan: Plan) -> str | None:
    """Where the durations of tasks that declare none come from (None when all declare one)."""
    sources = duration_sources(plan)
    parts = []
    if DurationSource.HISTORY.value in sources:
        ids = sources[DurationSource.HISTORY.value]
        where = "measured in earlier runs"
        if plan.origin is not None:  # a GSD summary says what a task took, too
            where = "recorded by the source or measured in earlier runs"
        parts.append(f"{_some(ids)} from history ({where})")
    if DurationSource.DEFAULT.value in sources:
        ids = sources[DurationSource.DEFAULT.value]
        counted = time_format(plan)(plan.default_duration)
        parts.append(f"{_some(ids)} without an estimate, counted as {counted}")
    return "Durations: " + "; ".join(parts) if parts else None


def _some(ids: list[str]) -> str:
    """A few task ids by name, many by number."""
    return ", ".join(ids) if len(ids) <= 3 else f"{len(ids):,} tasks"


def task_note(task: TaskReport) -> str:
    """What the run report says about a task beside its status (empty when nothing)."""
    if task.flaky:
        return "flaky: passed after a retry"
    if task.status is TaskStatus.FAILED and task.timed_out:
        return "timed out"
    if task.status is TaskStatus.FAILED and task.exit_code is not None and task.reason is None:
        return f"exit code {task.exit_code}"
    return task.reason or ""

"""Progress sinks of ``waveplan run``: a live Rich display, plain lines, or nothing.

These are the only run sinks that print, which is why they live with the CLI.
"""

from __future__ import annotations

import threading
import time
from typing import IO

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from waveplan.cli.common import stdout_gone
from waveplan.model import AttemptStatus, TaskStatus
from waveplan.render.figures import counted, fmt_time
from waveplan.run.events import (
    Event,
    RunFinished,
    RunStarted,
    TaskFinished,
    TaskRetrying,
    TaskSettled,
    TaskStarted,
)
from waveplan.units import format_duration

__all__ = ["LiveProgress", "PlainProgress"]


def _seconds(value: float) -> str:
    return f"{value:6.2f}s"


def _indent(text: str) -> str:
    return "\n".join("    | " + line for line in text.splitlines())


class PlainProgress:
    """One line per event, for logs and pipes. When the reader of the pipe goes away, the
    lines stop and the run goes on (a run is not stopped by ``| head``)."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self._started = time.monotonic()
        self._gone = False

    def _line(self, text: str) -> None:
        self._write(f"[{_seconds(time.monotonic() - self._started)}] {text}\n")

    def _write(self, text: str) -> None:
        if self._gone:
            return
        try:
            self.stream.write(text)
            self.stream.flush()
        except OSError:  # a closed pipe, or a terminal that went away (hang-up)
            self._gone = True
            stdout_gone()

    def handle(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            done = f", {event.already_done} already done" if event.already_done else ""
            verb = "resuming" if event.resumed else "running"
            self._line(
                f"{verb} run {event.run_id}: {counted(event.tasks, 'task')} on "
                f"{counted(event.workers, 'worker')}{done}"
            )
        elif isinstance(event, TaskStarted):
            again = f" (attempt {event.attempt})" if event.attempt > 1 else ""
            self._line(f"start  {event.task}{again}")
        elif isinstance(event, TaskFinished):
            self._finished(event)
        elif isinstance(event, TaskRetrying):
            self._line(_retrying(event))
        elif isinstance(event, TaskSettled) and event.status is TaskStatus.SKIPPED:
            self._line(f"skip   {event.task}: {event.reason}")
        elif isinstance(event, RunFinished):
            self._line(f"run {event.run_id} {event.status.value} in {fmt_time(event.wall)}s")

    def _finished(self, event: TaskFinished) -> None:
        took = f"{event.duration:.2f}s"
        if event.status is AttemptStatus.SUCCEEDED:
            self._line(f"done   {event.task} {took}")
            return
        if event.status is AttemptStatus.CONFLICT:
            self._line(f"CONFLICT {event.task}: {event.reason}")
            return
        if event.status is AttemptStatus.INTERRUPTED:  # stopped, not failed
            self._line(f"stopped {event.task} (interrupted) after {took}; log: {event.log}")
            return
        why = {
            AttemptStatus.FAILED: (  # a reason beside an exit code: the git step after it
                event.reason
                or (f"exit code {event.exit_code}" if event.exit_code is not None else None)
                or "did not start"
            ),
            AttemptStatus.TIMED_OUT: "timed out",
            AttemptStatus.LOST: "worker lost",
        }.get(event.status, event.status.value)
        self._line(f"FAILED {event.task} ({why}) after {took}; log: {event.log}")
        if event.tail:
            self._write(_indent(event.tail) + "\n")

    def close(self) -> None:
        self._write("")


def _retrying(event: TaskRetrying) -> str:
    """The line of a task tried again: a rerun after a merge conflict, a retry at once (a
    retry delay of 0), or a retry after its backoff."""
    if event.after_conflict:
        return f"rerun  {event.task} (its work did not merge)"
    if event.delay <= 0:
        return f"retry  {event.task} now"
    return f"retry  {event.task} in {fmt_time(event.delay)}s"


class LiveProgress:
    """A live terminal display: overall bar, running tasks with elapsed time, and an ETA
    from the planned schedule scaled by the pace so far, counting down between tasks.

    Live redraws several times a second and renders the display anew each time (through
    ``get_renderable``), so elapsed times and the ETA move between events too. Events
    arrive on the runner's thread and redraws happen on Live's: the lock guards the state
    both read (and is never held while printing, which takes Live's lock).
    """

    def __init__(self, console: Console) -> None:
        self.console = console
        self._bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[eta]}"),
            console=console,
        )
        self._overall = self._bar.add_task("tasks", total=1, eta="")
        self._lock = threading.Lock()
        self._running: dict[str, tuple[int, float]] = {}
        self._planned: dict[str, float] = {}
        self._planned_total = 0.0
        self._planned_done = 0.0
        self._started = time.monotonic()
        self._finish: float | None = None  # when the run should end, estimated at the last task
        self._live = Live(
            console=console, refresh_per_second=8, transient=True, get_renderable=self._render
        )
        self._live.start()

    def _render(self) -> Group:
        now = time.monotonic()
        with self._lock:
            running = sorted(self._running.items(), key=lambda kv: kv[1][1])
            finish = self._finish
        eta = "" if finish is None else f"ETA {format_duration(round(max(0.0, finish - now)))}"
        self._bar.update(self._overall, eta=eta)
        table = Table.grid(padding=(0, 2))
        for task, (attempt, since) in running[:12]:
            again = f" (attempt {attempt})" if attempt > 1 else ""
            table.add_row(Text(task, style="cyan"), f"{now - since:5.1f}s{again}")
        if len(running) > 12:
            table.add_row(Text(f"... and {len(running) - 12} more", style="dim"), "")
        return Group(self._bar, table)

    def _estimate(self) -> float | None:
        """When the run should end: the planned work left at the pace so far."""
        now = time.monotonic()
        if self._planned_done <= 0 or self._planned_total <= 0:
            return None
        pace = (now - self._started) / self._planned_done
        return now + max(0.0, (self._planned_total - self._planned_done) * pace)

    def handle(self, event: Event) -> None:
        try:
            self._show(event)
        except OSError:  # the terminal went away (hang-up): drop the display, keep the run
            stdout_gone()

    def _show(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self._planned = {t: end - start for t, (start, end) in event.planned.items()}
            self._planned_total = sum(self._planned.values())
            self._bar.update(self._overall, total=event.tasks, completed=event.already_done)
        elif isinstance(event, TaskStarted):
            with self._lock:
                self._running[event.task] = (event.attempt, time.monotonic())
        elif isinstance(event, TaskFinished):
            with self._lock:
                self._running.pop(event.task, None)
            if event.status is AttemptStatus.CONFLICT:
                self.console.print(Text(f"CONFLICT {event.task}: {event.reason}", "red"))
            elif event.status is AttemptStatus.INTERRUPTED:
                self.console.print(Text(f"stopped {event.task} (interrupted)", "magenta"))
            elif event.status is not AttemptStatus.SUCCEEDED:
                self.console.print(
                    Text(f"FAILED {event.task} ({event.status.value}); log: {event.log}", "red")
                )
                if event.tail:
                    self.console.print(Text(_indent(event.tail), style="dim"))
        elif isinstance(event, TaskSettled):
            self._planned_done += self._planned.get(event.task, 0.0)
            finish = self._estimate()
            with self._lock:
                self._finish = finish
            self._bar.advance(self._overall)

    def close(self) -> None:
        try:
            self._live.stop()
        except OSError:
            stdout_gone()
            self._live.stop()

"""The fake executor: runs nothing, on a virtual clock, for dry runs and tests.

Each job takes exactly its planned duration (or what ``durations`` says), and ends with the
status ``outcomes`` gives it (success by default). Time only moves when the runner waits, so a
dry run of any plan finishes at once and its measured makespan is the practical schedule's.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping

from waveplan.model import AttemptStatus
from waveplan.run.executor import Job, Outcome

__all__ = ["FakeExecutor"]


class FakeExecutor:
    """Pretends to run jobs: ``outcomes(task, attempt)`` decides how each attempt ends."""

    def __init__(
        self,
        *,
        durations: Mapping[str, float] | None = None,
        outcomes: Callable[[str, int], AttemptStatus] | None = None,
    ) -> None:
        self._clock = 0.0
        self._durations = durations or {}
        self._outcomes = outcomes
        self._pending: list[tuple[float, int, Job, float]] = []
        self._sequence = 0
        self._woken = False
        self.submitted: list[Job] = []

    def now(self) -> float:
        return self._clock

    def submit(self, job: Job) -> str | None:
        self.submitted.append(job)
        duration = self._durations.get(job.task, job.duration)
        self._sequence += 1
        heapq.heappush(self._pending, (self._clock + duration, self._sequence, job, self._clock))
        return "dry-run"

    def wait(self, timeout: float | None) -> list[Outcome]:
        if self._woken:  # interrupt() was called: return at once, as the protocol says
            self._woken = False
            return []
        if not self._pending:
            if timeout is not None:
                self._clock += timeout
            return []
        end = self._pending[0][0]
        if timeout is not None and end > self._clock + timeout:
            self._clock += timeout
            return []
        self._clock = max(self._clock, end)
        found = []
        while self._pending and self._pending[0][0] == end:
            _, _, job, start = heapq.heappop(self._pending)
            status = (
                self._outcomes(job.task, job.attempt)
                if self._outcomes is not None
                else AttemptStatus.SUCCEEDED
            )
            code = 0 if status is AttemptStatus.SUCCEEDED else 1
            found.append(Outcome(job, status, code, start, end, "dry-run", None))
        return found

    def interrupt(self) -> None:
        self._woken = True

    def terminate(self) -> None:
        now = self._clock
        self._pending = [(now, seq, job, start) for _, seq, job, start in self._pending]
        heapq.heapify(self._pending)
        self._outcomes = lambda _task, _attempt: AttemptStatus.INTERRUPTED

    def kill(self) -> None:
        self.terminate()

    def close(self) -> None:
        self._pending.clear()

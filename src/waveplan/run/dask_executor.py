"""The Dask executor: each attempt runs on a worker of a Dask distributed cluster.

waveplan's scheduler stays the single authority on dependencies, conflicts and capacities: the
runner submits an attempt only when the scheduler starts it, and Dask only decides *where* it
runs. Each attempt is one Dask task, :func:`waveplan.run.remote.run_attempt`, submitted with
``pure=False`` and a unique key (identical commands both run). Outcomes are collected by a done
callback into a queue, so :meth:`DaskExecutor.wait` blocks with a timeout and
:meth:`~DaskExecutor.interrupt` wakes it.

- **Clock.** ``end`` is when the outcome reached waveplan (the runner's clock), ``start`` is
  ``end`` minus the duration measured on the worker: no worker clock is ever compared with
  waveplan's, and the duration is exact.
- **Paths.** The plan root must be on a filesystem the workers share (logs are written there);
  ``roots`` says where the workers mount it when that differs.
- **Lost workers.** An attempt whose worker died is ``lost`` (Dask's ``KilledWorker``, a
  future cancelled by a lost connection, or Dask re-running the task, which the claim file
  beside the attempt's log detects); the runner retries it per the retry policy, and the
  retry prefers other workers.
- **Stopping.** :meth:`~DaskExecutor.terminate` cancels the futures; the worker notices and
  stops the process group (see :mod:`waveplan.run.remote`).

``distributed`` is imported only when a Dask executor is made: it is an optional extra.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import PurePosixPath
from types import ModuleType
from typing import TYPE_CHECKING, Any

from waveplan.errors import MissingExtraError, UserError
from waveplan.model import AttemptStatus
from waveplan.run.executor import Job, Outcome
from waveplan.run.local import note_in_log
from waveplan.run.procs import KILL_GRACE
from waveplan.run.remote import RemoteJob, RemoteResult, WireError, read_claim, run_attempt

if TYPE_CHECKING:
    from distributed import Client, Future, LocalCluster

__all__ = ["DaskExecutor", "RootMap", "connect", "require_distributed"]

_WAKE = object()
CONNECT_TIMEOUT = 10.0
"""Seconds to wait for the scheduler at ``--scheduler-address``."""


def require_distributed() -> ModuleType:
    """The ``distributed`` package, or the error saying how to install it."""
    try:
        import distributed  # noqa: PLC0415 - an optional extra, imported only when used
    except ImportError:
        raise MissingExtraError("--backend dask", "dask", "distributed") from None
    return distributed


@dataclass(frozen=True, slots=True)
class RootMap:
    """The plan root as waveplan sees it (``local``) and as the workers mount it (``remote``)."""

    local: str
    remote: str

    def translate(self, path: str) -> str:
        """``path`` as the workers see it (paths outside the plan root are kept)."""
        local = PurePosixPath(self.local)
        try:
            rest = PurePosixPath(path).relative_to(local)
        except ValueError:
            return path
        return str(PurePosixPath(self.remote) / rest)


@dataclass(frozen=True, slots=True)
class _Immediate:
    """An attempt that ends without reaching the cluster (a checkpoint, one submitted after
    :meth:`DaskExecutor.terminate`, or one the scheduler cannot take any more); it ends when
    the runner next waits."""

    job: Job
    status: AttemptStatus


@dataclass(slots=True)
class _Pending:
    job: Job
    future: Future[dict[str, Any]]
    submitted: float
    claim: str | None


class DaskExecutor:
    """Runs jobs on a Dask cluster through ``client``.

    ``cluster`` (a ``LocalCluster`` the executor started) is closed with the executor.
    """

    def __init__(
        self,
        client: Client,
        *,
        cluster: LocalCluster | None = None,
        roots: RootMap | None = None,
        grace: float = KILL_GRACE,
    ) -> None:
        self.client = client
        self.cluster = cluster
        self.roots = roots
        self.grace = grace
        self._started = time.monotonic()
        self._arrivals: queue.SimpleQueue[tuple[str, float] | _Immediate | object] = (
            queue.SimpleQueue()
        )
        self._pending: dict[str, _Pending] = {}
        self._lost_on: dict[str, set[str]] = {}
        self._lock = threading.Lock()
        self._stopping = False
        self._closed = False

    @property
    def threads(self) -> int:
        """Tasks the cluster can run at once (its workers' threads)."""
        return sum(self.client.nthreads().values())

    # --- Executor interface ------------------------------------------------------------------

    def now(self) -> float:
        return time.monotonic() - self._started

    def submit(self, job: Job) -> str | None:
        if job.command is None:  # a checkpoint: nothing to send anywhere
            self._arrivals.put(_Immediate(job, AttemptStatus.SUCCEEDED))
            return None
        if self._stopping:
            self._arrivals.put(_Immediate(job, AttemptStatus.INTERRUPTED))
            return None
        claim = None if job.log is None else f"{job.log}.claim"
        remote = RemoteJob(
            command=job.command,
            cwd=self._remote(job.cwd),
            env=dict(job.env),
            log=None if job.log is None else self._remote(job.log),
            claim=None if claim is None else self._remote(claim),
            timeout=job.timeout,
            grace=self.grace,
            stdin=job.stdin,
        )
        key = f"{job.task}-{job.attempt}-{uuid.uuid4().hex[:12]}"
        try:
            where: dict[str, Any] = {}
            avoid = self._lost_on.get(job.task)
            if avoid:  # a retry after a lost worker: prefer any other worker
                others = [w for w in self.client.scheduler_info()["workers"] if w not in avoid]
                if others:
                    where = {"workers": others, "allow_other_workers": True}
            future: Future[dict[str, Any]] = self.client.submit(
                run_attempt, remote.to_wire(), key=key, pure=False, **where
            )
        except Exception as exc:  # the client is closed: the scheduler went away for good
            note_in_log(job.log, f"waveplan: cannot hand the attempt to the Dask scheduler: {exc}")
            self._arrivals.put(_Immediate(job, AttemptStatus.LOST))
            return None
        with self._lock:
            self._pending[key] = _Pending(job, future, self.now(), claim)
        future.add_done_callback(self._arrived)
        return None

    def wait(self, timeout: float | None) -> list[Outcome]:
        try:
            item = self._arrivals.get(timeout=timeout)
        except queue.Empty:
            return []
        ready: list[Outcome] = []
        arrived: list[tuple[str, float]] = []
        while True:
            if isinstance(item, _Immediate):
                now = self.now()
                code = 0 if item.status is AttemptStatus.SUCCEEDED else None
                ready.append(Outcome(item.job, item.status, code, now, now))
            elif isinstance(item, tuple):
                arrived.append(item)
            try:
                item = self._arrivals.get_nowait()
            except queue.Empty:
                break
        return ready + self._outcomes(arrived)

    def interrupt(self) -> None:
        self._arrivals.put(_WAKE)

    def terminate(self) -> None:
        with self._lock:
            self._stopping = True
            futures = [p.future for p in self._pending.values()]
        if futures and self.client.status == "running":  # a closed client cancelled them
            self.client.cancel(futures, reason="waveplan: the run was interrupted")

    def kill(self) -> None:
        """Cancel the jobs: each worker stops its process group with its own grace period."""
        self.terminate()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self.terminate()
        finally:
            self.client.close()
            if self.cluster is not None:
                self.cluster.close()

    # --- outcomes ----------------------------------------------------------------------------

    def _remote(self, path: str) -> str:
        return path if self.roots is None else self.roots.translate(path)

    def _arrived(self, future: Future[dict[str, Any]]) -> None:
        """Done callback (a Dask thread): note when the outcome reached waveplan."""
        self._arrivals.put((str(future.key), time.monotonic()))

    def _outcomes(self, arrived: list[tuple[str, float]]) -> list[Outcome]:
        with self._lock:
            found = [(self._pending.pop(key), at) for key, at in arrived if key in self._pending]
        finished = [(p, at) for p, at in found if p.future.status == "finished"]
        results: list[RemoteResult | Exception] = []
        if finished:
            try:
                fetched = list(self.client.gather([p.future for p, _ in finished]))
            except Exception:  # one of them failed: fetch them one by one
                results = [self._result(p.future) for p, _ in finished]
            else:
                results = [_unwire(data) for data in fetched]
        outcomes = []
        by_key = {p.future.key: r for (p, _), r in zip(finished, results, strict=True)}
        for pending, at in found:
            end = at - self._started
            result = by_key.get(pending.future.key)
            if isinstance(result, RemoteResult):
                outcome = self._from_result(pending, result, end)
            else:
                outcome = self._from_failure(pending, result, end)
            if outcome.status is AttemptStatus.LOST and outcome.worker is not None:
                self._lost_on.setdefault(pending.job.task, set()).add(outcome.worker)
            outcomes.append(outcome)
        return outcomes

    @staticmethod
    def _result(future: Future[dict[str, Any]]) -> RemoteResult | Exception:
        """The attempt's result, or the error in its place."""
        try:
            data = future.result()
        except Exception as exc:  # turned into an outcome by _from_failure
            return exc
        return _unwire(data)

    def _from_result(self, pending: _Pending, result: RemoteResult, end: float) -> Outcome:
        if result.message is not None:
            note_in_log(pending.job.log, result.message)
        start = pending.submitted
        if result.status is not AttemptStatus.LOST:  # a lost one ran until its worker died
            start = max(start, end - result.duration)
        return Outcome(
            pending.job, result.status, result.exit_code, start, end, result.worker, result.host
        )

    def _from_failure(self, pending: _Pending, error: BaseException | None, end: float) -> Outcome:
        """An attempt that did not return: stopped, lost with its worker, or unable to run."""
        job, future = pending.job, pending.future
        worker, host = read_claim(pending.claim) if pending.claim else (None, None)
        if error is None and future.status == "error":
            found = self._result(future)
            error = found if isinstance(found, Exception) else None
        if self._stopping:
            status = AttemptStatus.INTERRUPTED
        elif error is None or _is_lost(error):
            status = AttemptStatus.LOST
        else:
            status = AttemptStatus.FAILED
            note_in_log(job.log, f"waveplan: the attempt could not run on the cluster: {error!r}")
        return Outcome(job, status, None, pending.submitted, end, worker, host)


def _unwire(data: object) -> RemoteResult | Exception:
    try:
        return RemoteResult.from_wire(data)
    except WireError as exc:
        return exc


def _is_lost(error: BaseException) -> bool:
    """Errors that mean the worker (or the connection to it) went away, not the task."""
    distributed = require_distributed()
    lost: tuple[type[BaseException], ...] = (
        distributed.KilledWorker,
        distributed.CancelledError,
        distributed.comm.CommClosedError,
    )
    return isinstance(error, lost)


def connect(
    address: str | None,
    *,
    workers: int,
    roots: RootMap | None = None,
    grace: float = KILL_GRACE,
) -> DaskExecutor:
    """A Dask executor on the cluster at ``address``, or on a new ``LocalCluster`` of
    ``workers`` single-threaded worker processes when there is none."""
    distributed = require_distributed()
    if address is None:
        cluster = distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            # no dashboard; its HTTP server (health checks) on any free loopback port
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            silence_logs=logging.ERROR,
        )
        try:
            client = distributed.Client(cluster, set_as_default=False)
        except BaseException:
            cluster.close()
            raise
        return DaskExecutor(client, cluster=cluster, roots=roots, grace=grace)
    try:
        client = distributed.Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise UserError(
            f"--scheduler-address {address}: cannot reach the Dask scheduler ({exc})"
        ) from None
    return DaskExecutor(client, roots=roots, grace=grace)

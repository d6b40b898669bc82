"""``waveplan run --backend dask``: the Dask executor from the command's options."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import TYPE_CHECKING

import click

from waveplan.errors import UserError

if TYPE_CHECKING:
    from waveplan.run.dask_executor import DaskExecutor

__all__ = ["check_backend_options", "cluster_threads", "dask_backend"]


def check_backend_options(
    backend: str, scheduler_address: str | None, remote_root: str | None
) -> None:
    """Options of the Dask backend need it."""
    if backend != "dask":
        for name, value in (
            ("--scheduler-address", scheduler_address),
            ("--remote-root", remote_root),
        ):
            if value is not None:
                raise click.UsageError(f"{name} needs --backend dask")


def dask_backend(
    root: str, *, workers: int, scheduler_address: str | None, remote_root: str | None
) -> DaskExecutor:
    """The Dask executor: on the scheduler at ``scheduler_address``, else on a new local
    cluster of ``workers`` single-threaded processes."""
    # Imported here: a local run does not load the Dask executor.
    from waveplan.run.dask_executor import RootMap, connect  # noqa: PLC0415

    roots = None
    if remote_root is not None:
        if not PurePosixPath(remote_root).is_absolute():
            raise UserError(f"--remote-root {remote_root}: give the absolute path on the workers")
        roots = RootMap(local=root, remote=remote_root)
    return connect(scheduler_address, workers=workers, roots=roots)


def cluster_threads(executor: DaskExecutor, scheduler_address: str | None) -> int:
    """The default worker limit on a Dask cluster: its workers' threads. A cluster without
    workers is an error (the executor is closed), since nothing would ever start."""
    threads = executor.threads
    if threads == 0:
        executor.close()
        raise UserError(
            f"--scheduler-address {scheduler_address}: the Dask cluster has no workers yet; "
            "start some (dask worker ADDRESS) or give --workers N"
        )
    return threads

"""Process hygiene: process groups, terminating them, and finding a run's leftovers.

Every attempt runs in its own session (so its own process group): a timeout or an interrupt
signals the whole group, grandchildren included. Every attempt's environment carries
``WAVEPLAN_RUN``, so the processes of a run can be found again after waveplan itself died
(``kill -9`` included): the watchdog does that the moment waveplan dies, and the next
``waveplan run`` on the same plan root does it again before starting anything.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterable
from pathlib import Path

__all__ = ["group_alive", "processes_of_run", "stop_group", "stop_processes"]

KILL_GRACE = 5.0
"""Seconds between SIGTERM and SIGKILL."""


def group_alive(pgid: int, proc: str = "/proc") -> bool:
    """True while a process of the group runs: a zombie does not count (it runs nothing and
    only waits for its parent, often init, to reap it)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False  # the common case, answered without reading /proc
    except PermissionError:
        return True
    try:
        entries = list(Path(proc).iterdir())
    except OSError:
        return True
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[-1].split()
        except OSError:
            continue  # gone meanwhile
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def stop_group(pgid: int, grace: float = KILL_GRACE, hurry: threading.Event | None = None) -> None:
    """SIGTERM the whole group; SIGKILL what is left after ``grace`` seconds, or as soon as
    ``hurry`` is set (a second Ctrl-C)."""
    _signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while group_alive(pgid):
        if time.monotonic() >= deadline or (hurry is not None and hurry.is_set()):
            _signal_group(pgid, signal.SIGKILL)
            return
        time.sleep(0.01)


def processes_of_run(run_id: str, proc: str = "/proc") -> list[int]:
    """Processes whose environment says they belong to the run (Linux ``/proc``)."""
    marker = f"WAVEPLAN_RUN={run_id}".encode()
    found = []
    own = os.getpid()
    for entry in Path(proc).iterdir():
        if not entry.name.isdigit() or int(entry.name) == own:
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0"):
            found.append(int(entry.name))
    return sorted(found)


def stop_processes(pids: Iterable[int], grace: float = KILL_GRACE) -> None:
    """SIGTERM the processes (and their groups); SIGKILL survivors after ``grace``."""
    targets = list(pids)
    for pid in targets:
        _signal(pid, signal.SIGTERM)
        _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while True:
        alive = [pid for pid in targets if _alive(pid)]
        if not alive:
            return
        if time.monotonic() >= deadline:
            for pid in alive:
                _signal(pid, signal.SIGKILL)
            return
        time.sleep(0.01)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is dead for our purposes: it runs nothing and only waits to be reaped.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"

"""One run per plan root at a time: an advisory lock on ``.waveplan/run.lock``.

The kernel releases the lock when the process ends, however it ends, so a crashed run never
leaves a stale lock behind. The file's text (pid, host, start time) only serves the message.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
from pathlib import Path

from waveplan.errors import UserError

__all__ = ["RunLock", "RunLockedError"]


class RunLockedError(UserError):
    """Another waveplan process runs a plan in the same root."""


class RunLock:
    """Exclusive lock of a plan root's state folder."""

    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder) / "run.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`RunLockedError` naming the holder."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:  # a read-only plan root
            raise UserError(
                f"{self.path}: cannot take the run lock ({exc.strerror or exc}): waveplan "
                "records runs in the plan root's .waveplan folder, which must be writable"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 4096).decode("utf-8", errors="replace").strip()
            os.close(fd)
            raise RunLockedError(
                f"another waveplan run is using {self.path.parent}"
                f"{' (' + holder + ')' if holder else ''}: wait for it to finish or stop it"
            ) from None
        os.ftruncate(fd, 0)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}, started {stamp}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        os.close(self._fd)  # closing the descriptor releases the lock
        self._fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *_: object) -> None:
        self.release()

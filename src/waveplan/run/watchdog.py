"""The watchdog: stops a run's processes when the waveplan running it dies.

Started by the local executor with a pipe as standard input. waveplan writes ``done`` before a
normal exit; if the pipe closes without it, waveplan died (``kill -9`` included), and the
watchdog terminates every process carrying the run's ``WAVEPLAN_RUN`` in its environment.

Usage: ``python -m waveplan.run.watchdog RUN_ID``
"""

from __future__ import annotations

import sys

from waveplan.run.procs import processes_of_run, stop_processes


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m waveplan.run.watchdog RUN_ID", file=sys.stderr)
        return 2
    run_id = argv[0]
    message = sys.stdin.buffer.read()
    if message.strip() == b"done":
        return 0
    stop_processes(processes_of_run(run_id))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

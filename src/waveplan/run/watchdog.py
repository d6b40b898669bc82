"""The watchdog: stops a run's processes when the waveplan running it dies.

Started by the local executor with a pipe as standard input. waveplan writes ``done`` before a
normal exit; if the pipe closes without it, waveplan died (``kill -9`` included), and the
watchdog terminates every process carrying the run's ``WAVEPLAN_RUN`` in its environment.

It is started as a plain script (``python -I -S .../watchdog.py RUN_ID``) and loads only the
standard-library module :mod:`waveplan.run.procs` next to it, so it costs a bare interpreter
start, not an import of waveplan.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def _procs() -> ModuleType:
    if __package__:
        from waveplan.run import procs  # noqa: PLC0415 - imported as part of waveplan

        return procs
    spec = importlib.util.spec_from_file_location(
        "_waveplan_procs", Path(__file__).with_name("procs.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: watchdog.py RUN_ID", file=sys.stderr)
        return 2
    run_id = argv[0]
    message = sys.stdin.buffer.read()
    if message.strip() == b"done":
        return 0
    procs = _procs()
    procs.stop_processes(procs.processes_of_run(run_id))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The least a Python runner can cost: a reference contender for ``run_overhead.py``.

``python bench/spawn_floor.py PLAN.json WORKERS [--history]`` runs the plan's ``run`` commands
the cheapest way Python allows, and keeps only what issue 5 requires of every run:

* a task starts when its dependencies ended and a worker is free, the ready task with the
  longest chain of tasks after it first (waveplan's priority with unit durations);
* each command is executed directly (``os.posix_spawn``, no shell: the benchmark's commands
  are plain program names), in a new session, output appended to its own log file
  ``.floor/<task>.1.log``;
* with ``--history``, each start and each end is written to a SQLite database in WAL mode
  with ``synchronous=NORMAL`` (one row per attempt, keyed by task), one commit per turn of the
  loop (an end and the starts it allowed), as waveplan's history commits.

Nothing else: no validation, no resources, no retries, timeouts, progress, resume, report or
process hygiene beyond the new session. Whatever this costs over ``make`` on the same plan, no
Python runner that keeps a log per task (and a history) can cost less on the same machine; the
benchmark prints it beside waveplan's figure so that the goal can be read against it.
Exits 1 if a command fails.
"""

from __future__ import annotations

import heapq
import json
import os
import shutil
import sqlite3
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    plan_path, workers, history = Path(argv[0]), int(argv[1]), "--history" in argv[2:]
    tasks = json.loads(plan_path.read_text())["tasks"]
    folder = plan_path.parent / ".floor"
    folder.mkdir()
    db = None
    if history:
        db = sqlite3.connect(folder / "history.db", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE attempts (task TEXT PRIMARY KEY, start REAL, end REAL, code INT)")
    index = {task["id"]: n for n, task in enumerate(tasks)}
    waiting = [len(task.get("depends", ())) for task in tasks]
    successors: list[list[int]] = [[] for _ in tasks]
    for n, task in enumerate(tasks):
        for dep in task.get("depends", ()):
            successors[index[dep]].append(n)
    # Longest chain of tasks from each task to the end, as the ready tasks' priority (the one
    # waveplan uses, with unit durations): a worse order would leave a worker idle.
    order = [n for n, count in enumerate(waiting) if count == 0]
    left = waiting.copy()
    for n in order:  # grows while iterated: a topological order
        for successor in successors[n]:
            left[successor] -= 1
            if left[successor] == 0:
                order.append(successor)
    chain = [1] * len(tasks)
    for n in reversed(order):
        chain[n] += max((chain[s] for s in successors[n]), default=0)
    ready = [(-chain[n], n) for n, count in enumerate(waiting) if count == 0]
    heapq.heapify(ready)
    programs: dict[str, str] = {}
    running: dict[int, int] = {}
    if db is not None:
        db.execute("BEGIN")
    while ready or running:
        while ready and len(running) < workers:
            n = heapq.heappop(ready)[1]
            argv_ = tasks[n]["run"].split()
            program = programs.get(argv_[0]) or shutil.which(argv_[0]) or argv_[0]
            programs[argv_[0]] = program
            log = os.open(
                folder / f"{tasks[n]['id']}.1.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND
            )
            actions = [(os.POSIX_SPAWN_DUP2, log, 1), (os.POSIX_SPAWN_DUP2, log, 2)]
            pid = os.posix_spawn(program, argv_, os.environ, file_actions=actions, setsid=True)
            os.close(log)
            running[pid] = n
            if db is not None:
                db.execute(
                    "INSERT INTO attempts VALUES (?, ?, NULL, NULL)", (tasks[n]["id"], time.time())
                )
        if db is not None:  # the turn's writes: the last end and the starts it allowed
            db.execute("COMMIT")
        pid, status = os.wait()
        n = running.pop(pid)
        code = os.waitstatus_to_exitcode(status)
        if db is not None:
            db.execute("BEGIN")
            db.execute(
                "UPDATE attempts SET end = ?, code = ? WHERE task = ?",
                (time.time(), code, tasks[n]["id"]),
            )
        if code != 0:
            print(f"{tasks[n]['id']} exited {code}", file=sys.stderr)
            return 1
        for successor in successors[n]:
            waiting[successor] -= 1
            if waiting[successor] == 0:
                heapq.heappush(ready, (-chain[successor], successor))
    if db is not None:
        db.execute("COMMIT")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

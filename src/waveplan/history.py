"""Run history: the only code that talks to SQLite.

``.waveplan/history.db`` under the plan root holds every run, session (one waveplan process
working on a run), task outcome and attempt. Each event is written and committed as it
happens, so a crash of waveplan loses nothing that had finished. The schema version is
SQLite's ``user_version``: older databases are upgraded in place; a newer one is refused with a
message saying what to do.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sqlite3
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from waveplan.errors import UserError
from waveplan.load import Format, parse_plan_text
from waveplan.model import (
    AttemptInfo,
    AttemptStatus,
    RunInfo,
    RunStatus,
    RunSummary,
    Task,
    TaskRun,
    TaskStatus,
    WorktreeRecord,
)

__all__ = [
    "HISTORY_FILE",
    "RECENT_ATTEMPTS",
    "SCHEMA_VERSION",
    "History",
    "HistoryError",
    "WorktreeRun",
    "command_hash",
    "plan_file_key",
    "state_dir",
]

STATE_DIR = ".waveplan"
HISTORY_FILE = "history.db"
RECENT_ATTEMPTS = 10
"""A learnt duration is the median of at most this many of the task's latest successful
attempts: durations drift (a growing test suite), and the estimate follows."""


def command_hash(task: Task) -> str | None:
    """What an attempt records of the command it ran (the task's ``run``, or its agent
    prompt): a learnt duration only counts attempts that ran the task's current command."""
    command = task.run if task.run is not None else task.agent
    return None if command is None else hashlib.sha256(command.encode()).hexdigest()[:12]


def plan_file_key(path: str) -> str:
    """A plan file as runs record it: its real path, the same however it was spelled
    (relative, through ``..`` or a symbolic link), so ``--resume`` and ``--learn`` find the
    plan's runs from any folder."""
    return os.path.realpath(path)


_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        plan_file TEXT NOT NULL,
        snapshot TEXT NOT NULL,
        root TEXT NOT NULL,
        started REAL NOT NULL,
        ended REAL,
        status TEXT NOT NULL,
        workers INTEGER NOT NULL,
        dry_run INTEGER NOT NULL DEFAULT 0,
        options TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE sessions (
        run_id TEXT NOT NULL REFERENCES runs(id),
        session INTEGER NOT NULL,
        pid INTEGER NOT NULL,
        host TEXT NOT NULL,
        started REAL NOT NULL,
        ended REAL,
        PRIMARY KEY (run_id, session)
    );
    CREATE TABLE tasks (
        run_id TEXT NOT NULL REFERENCES runs(id),
        task TEXT NOT NULL,
        definition TEXT NOT NULL,
        status TEXT NOT NULL,
        reason TEXT,
        PRIMARY KEY (run_id, task)
    );
    CREATE TABLE attempts (
        run_id TEXT NOT NULL REFERENCES runs(id),
        task TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        session INTEGER NOT NULL,
        start REAL NOT NULL,
        end REAL,
        status TEXT NOT NULL,
        exit_code INTEGER,
        worker TEXT,
        host TEXT,
        command_hash TEXT,
        log TEXT,
        PRIMARY KEY (run_id, task, attempt)
    );
    CREATE INDEX attempts_by_task ON attempts (task, status);
    CREATE INDEX runs_by_plan ON runs (plan_file, started);
    """,
    # 2: isolated runs (--isolate worktree): the integration branch, and per attempt its
    # branch, commits, observed footprint and merge conflict. Lists are JSON arrays.
    """
    CREATE TABLE worktree_runs (
        run_id TEXT PRIMARY KEY REFERENCES runs(id),
        repo TEXT NOT NULL,
        integration TEXT NOT NULL,
        base TEXT NOT NULL
    );
    CREATE TABLE worktree_attempts (
        run_id TEXT NOT NULL REFERENCES runs(id),
        task TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        branch TEXT NOT NULL,
        base TEXT,
        head TEXT,
        merged TEXT,
        observed TEXT NOT NULL DEFAULT '[]',
        undeclared TEXT NOT NULL DEFAULT '[]',
        overlaps TEXT NOT NULL DEFAULT '{}',
        conflict_paths TEXT NOT NULL DEFAULT '[]',
        conflict_with TEXT NOT NULL DEFAULT '[]',
        shared TEXT NOT NULL DEFAULT '[]',
        PRIMARY KEY (run_id, task, attempt)
    );
    """,
    # 3: attempts found merged on resume after waveplan died: their end is known only from
    # the merge commit (to the second), so they teach no duration.
    """
    ALTER TABLE attempts ADD COLUMN recovered INTEGER NOT NULL DEFAULT 0;
    """,
)
SCHEMA_VERSION = len(_MIGRATIONS)

BUSY_TIMEOUT = 30.0
"""Seconds a write waits for another program that holds the database's write lock."""


def _writable(path: Path) -> bool:
    """Whether the history at ``path`` (or the folder it would be created in) can be written:
    false on read-only media whoever asks, since ``access`` reports a read-only mount."""
    if path.exists():
        return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return os.access(folder, os.W_OK)


class HistoryError(UserError):
    """The history database cannot be used (newer schema, corrupt file, locked...)."""


def state_dir(root: str | Path) -> Path:
    """The folder where waveplan keeps history, logs and locks for a plan root."""
    return Path(root) / STATE_DIR


@dataclass(frozen=True, slots=True)
class WorktreeRun:
    """An isolated run's repository (its top folder), integration branch and the commit that
    branch was at when the run started."""

    repo: str
    integration: str
    base: str


class History:
    """The history database of one plan root."""

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        """Open the history at ``path``, creating it if needed. ``read_only``: the caller only
        reads, so a history it cannot write (a read-only folder or file, a copy on read-only
        media) is read from a copy in memory, upgraded there when its schema is older."""
        self.path = Path(path)
        if read_only and self.path.exists() and not _writable(self.path):
            self._db = self._copy_in_memory()
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
            self._use_wal()
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except (sqlite3.DatabaseError, OSError) as exc:
            if not _writable(self.path):
                raise HistoryError(
                    f"{self.path}: cannot write the history database: "
                    f"{self.path.parent} is read-only"
                ) from None
            raise HistoryError(
                f"{self.path}: cannot use the history database ({exc}); move it away to start "
                "a new history"
            ) from None

    def _use_wal(self) -> None:
        """Switch the file to WAL (it stays so). SQLite answers "database is locked" at once,
        without waiting, when another process opens the new file at the same moment: try
        again for as long as a busy database is waited for."""
        deadline = time.monotonic() + BUSY_TIMEOUT
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _copy_in_memory(self) -> sqlite3.Connection:
        """The history read into memory: SQLite cannot open a WAL database read-only without
        its shared-memory file, which a read-only folder cannot hold, and an older schema is
        upgraded on the copy."""
        uri = self.path.absolute().as_uri()
        memory = sqlite3.connect(":memory:", isolation_level=None)
        try:
            source: sqlite3.Connection | None = None
            try:
                source = sqlite3.connect(f"{uri}?mode=ro", uri=True)
                source.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except sqlite3.OperationalError:  # no -shm file and no right to create one
                if source is not None:
                    source.close()
                source = sqlite3.connect(f"{uri}?immutable=1", uri=True)
            try:
                source.backup(memory)
            finally:
                source.close()
            self._db = memory
            self._migrate()
        except sqlite3.DatabaseError as exc:
            memory.close()
            raise HistoryError(f"{self.path}: cannot read the history database ({exc})") from None
        return memory

    @classmethod
    def for_root(cls, root: str | Path) -> History:
        """Open (creating if needed) the history of a plan root."""
        return cls(state_dir(root) / HISTORY_FILE)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _migrate(self) -> None:
        if self._version() == SCHEMA_VERSION:
            return
        # One transaction: a half-applied migration is never committed. The version is read
        # again once the write lock is held: another waveplan (a plan or report opening the
        # history a first run is creating) may have upgraded the file meanwhile, and running
        # its migrations again failed ("table runs already exists").
        with self.transaction():
            for number in range(self._version(), SCHEMA_VERSION):
                for statement in _MIGRATIONS[number].split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {number + 1}")

    def _version(self) -> int:
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise HistoryError(
                f"{self.path} was written by a newer waveplan (history schema {version}, this "
                f"waveplan reads up to {SCHEMA_VERSION}): upgrade waveplan, or move the file "
                "away to start a new history"
            )
        return version

    def transaction(self) -> _Transaction:
        """Group the writes of the ``with`` block into one transaction (BEGIN IMMEDIATE ...
        COMMIT, rolled back by an exception): what it records is there all together or not
        at all. The writes inside that open transactions of their own join it."""
        return _Transaction(self)

    def _locked_is_an_error(self, execute: Callable[..., object], *args: object) -> None:
        """Run ``execute(*args)``; a database another program kept locked for the whole busy
        timeout (an sqlite3 shell left in a transaction) is a HistoryError, one line."""
        try:
            execute(*args)
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            raise HistoryError(
                f"{self.path}: the history database stayed locked for {BUSY_TIMEOUT:g} s "
                "(another program is writing to it, such as an sqlite3 shell in a "
                "transaction); try again once it has finished"
            ) from None

    def _write(self, sql: str, params: Sequence[object]) -> None:
        """One statement, committed at once (the connection is in autocommit mode), or with
        the rest of the batch opened by :meth:`begin`."""
        self._locked_is_an_error(self._db.execute, sql, params)

    def begin(self) -> None:
        """Group the following writes into one transaction, until :meth:`commit` (used for
        the events of one runner turn, which all happen at the same moment)."""
        if not self._db.in_transaction:
            self._locked_is_an_error(self._db.execute, "BEGIN IMMEDIATE")

    def commit(self) -> None:
        if self._db.in_transaction:
            self._db.execute("COMMIT")

    # --- writing, one event at a time ------------------------------------------------------

    def start_run(
        self,
        run_id: str,
        *,
        plan_file: str,
        snapshot: str,
        root: str,
        started: float,
        workers: int,
        dry_run: bool,
        options: Mapping[str, object],
        definitions: Mapping[str, str],
        worktree: WorktreeRun | None = None,
    ) -> None:
        """Record a new run and its tasks (all pending), and for a run that isolates its
        tasks in worktrees its repository and integration branch, in one transaction: a run
        recorded without its branch would be resumed in the plan root."""
        with self.transaction():
            self._db.execute(
                "INSERT INTO runs (id, plan_file, snapshot, root, started, status, workers,"
                " dry_run, options) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    plan_file,
                    snapshot,
                    root,
                    started,
                    RunStatus.RUNNING.value,
                    workers,
                    int(dry_run),
                    json.dumps(dict(options), sort_keys=True),
                ),
            )
            self._db.executemany(
                "INSERT INTO tasks (run_id, task, definition, status) VALUES (?, ?, ?, ?)",
                [(run_id, t, d, TaskStatus.PENDING.value) for t, d in definitions.items()],
            )
            if worktree is not None:
                self._db.execute(
                    "INSERT INTO worktree_runs (run_id, repo, integration, base)"
                    " VALUES (?, ?, ?, ?)",
                    (run_id, worktree.repo, worktree.integration, worktree.base),
                )

    def resume_run(
        self, run_id: str, *, snapshot: str, workers: int, definitions: Mapping[str, str]
    ) -> None:
        """Continue a run with the plan as it is now: changed tasks start over as pending."""
        with self.transaction():
            self._db.execute(
                "UPDATE runs SET snapshot = ?, workers = ?, status = ?, ended = NULL WHERE id = ?",
                (snapshot, workers, RunStatus.RUNNING.value, run_id),
            )
            known = dict(
                self._db.execute(
                    "SELECT task, definition FROM tasks WHERE run_id = ?", (run_id,)
                ).fetchall()
            )
            for task, definition in definitions.items():
                if task not in known:
                    self._db.execute(
                        "INSERT INTO tasks (run_id, task, definition, status) VALUES (?,?,?,?)",
                        (run_id, task, definition, TaskStatus.PENDING.value),
                    )
                elif known[task] != definition:
                    self._db.execute(
                        "UPDATE tasks SET definition = ?, status = ?, reason = NULL"
                        " WHERE run_id = ? AND task = ?",
                        (definition, TaskStatus.PENDING.value, run_id, task),
                    )
            self._db.execute(
                "UPDATE tasks SET status = ?, reason = NULL WHERE run_id = ? AND status != ?",
                (TaskStatus.PENDING.value, run_id, TaskStatus.SUCCEEDED.value),
            )
            gone = set(known) - set(definitions)
            self._db.executemany(
                "DELETE FROM tasks WHERE run_id = ? AND task = ?", [(run_id, t) for t in gone]
            )

    def last_session(self, run_id: str) -> tuple[int, str] | None:
        """The process id and host of the latest session of a run (None before any)."""
        row = self._db.execute(
            "SELECT pid, host FROM sessions WHERE run_id = ? ORDER BY session DESC LIMIT 1",
            (run_id,),
        ).fetchone()
        return None if row is None else (int(row[0]), str(row[1]))

    def start_session(self, run_id: str, *, pid: int, host: str, started: float) -> int:
        """Record that this process now works on the run; returns the session number."""
        with self.transaction():
            row = self._db.execute(
                "SELECT COALESCE(MAX(session), 0) FROM sessions WHERE run_id = ?", (run_id,)
            ).fetchone()
            session = int(row[0]) + 1
            self._db.execute(
                "INSERT INTO sessions (run_id, session, pid, host, started) VALUES (?,?,?,?,?)",
                (run_id, session, pid, host, started),
            )
        return session

    def session_began(self, run_id: str, session: int, started: float) -> None:
        """The session's clock starts (its runner is about to start tasks): its start until
        then was when it was recorded, with its run."""
        self._write(
            "UPDATE sessions SET started = ? WHERE run_id = ? AND session = ?",
            (started, run_id, session),
        )

    def end_session(self, run_id: str, session: int, ended: float) -> None:
        self._write(
            "UPDATE sessions SET ended = ? WHERE run_id = ? AND session = ?",
            (ended, run_id, session),
        )

    def attempt_started(
        self,
        run_id: str,
        task: str,
        attempt: int,
        *,
        session: int,
        start: float,
        worker: str | None,
        host: str | None,
        command_hash: str | None,
        log: str | None,
    ) -> None:
        self._write(
            "INSERT INTO attempts (run_id, task, attempt, session, start, status, worker, host,"
            " command_hash, log) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run_id,
                task,
                attempt,
                session,
                start,
                AttemptStatus.RUNNING.value,
                worker,
                host,
                command_hash,
                log,
            ),
        )

    def attempt_finished(
        self,
        run_id: str,
        task: str,
        attempt: int,
        *,
        end: float,
        status: AttemptStatus,
        exit_code: int | None,
        worker: str | None = None,
        host: str | None = None,
    ) -> None:
        self._write(
            "UPDATE attempts SET end = ?, status = ?, exit_code = ?,"
            " worker = COALESCE(?, worker), host = COALESCE(?, host)"
            " WHERE run_id = ? AND task = ? AND attempt = ?",
            (end, status.value, exit_code, worker, host, run_id, task, attempt),
        )

    def task_finished(
        self, run_id: str, task: str, status: TaskStatus, reason: str | None = None
    ) -> None:
        self._write(
            "UPDATE tasks SET status = ?, reason = ? WHERE run_id = ? AND task = ?",
            (status.value, reason, run_id, task),
        )

    def finish_run(self, run_id: str, status: RunStatus, ended: float) -> None:
        self._write(
            "UPDATE runs SET status = ?, ended = ? WHERE id = ?", (status.value, ended, run_id)
        )

    def abandon_attempts(self, run_id: str, ended: float) -> list[tuple[str, int]]:
        """Mark attempts left running by a crashed session as interrupted and close its
        session; returns the ``(task, attempt)`` pairs that were marked.

        The session is closed at its last recorded activity, and its abandoned attempts end
        there too (``ended``, the time of the tidy-up, only when nothing better is known):
        the time between the crash and the tidy-up is not time the run spent running.
        """
        rows = self._db.execute(
            "SELECT task, attempt FROM attempts WHERE run_id = ? AND status = ?",
            (run_id, AttemptStatus.RUNNING.value),
        ).fetchall()
        with self.transaction():
            self._db.execute(
                "UPDATE sessions SET ended = COALESCE(ended, (SELECT MAX(COALESCE(end, start))"
                " FROM attempts WHERE attempts.run_id = sessions.run_id AND attempts.session ="
                " sessions.session), started) WHERE run_id = ? AND ended IS NULL",
                (run_id,),
            )
            self._db.execute(
                "UPDATE attempts SET status = ?, end = COALESCE(end, (SELECT s.ended FROM"
                " sessions s WHERE s.run_id = attempts.run_id AND s.session = attempts.session),"
                " ?) WHERE run_id = ? AND status = ?",
                (AttemptStatus.INTERRUPTED.value, ended, run_id, AttemptStatus.RUNNING.value),
            )
        return [(str(t), int(a)) for t, a in rows]

    def worktree_attempt(
        self, run_id: str, task: str, attempt: int, record: WorktreeRecord
    ) -> None:
        """Record what an attempt in its own worktree did to the repository."""
        self._write(
            "INSERT OR REPLACE INTO worktree_attempts (run_id, task, attempt, branch, base, head,"
            " merged, observed, undeclared, overlaps, conflict_paths, conflict_with, shared)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run_id,
                task,
                attempt,
                record.branch,
                record.base,
                record.head,
                record.merged,
                json.dumps(list(record.observed)),
                json.dumps(list(record.undeclared)),
                json.dumps({k: list(v) for k, v in record.overlaps.items()}, sort_keys=True),
                json.dumps(list(record.conflict_paths)),
                json.dumps(list(record.conflict_with)),
                json.dumps(list(record.shared)),
            ),
        )

    def recover_attempt(
        self, run_id: str, task: str, attempt: int, *, merged: float | None = None
    ) -> None:
        """An attempt recorded as interrupted whose work was found merged: it succeeded, and
        ended when it was merged (``merged``, the merge commit's time; not before it started),
        which its session lasted until too. Its end is the tidy-up's guess without that, and
        to the second with it, so the attempt teaches no duration (:meth:`durations`)."""
        where = "run_id = ? AND task = ? AND attempt = ?"
        with self.transaction():
            self._db.execute(
                "UPDATE attempts SET status = ?, exit_code = COALESCE(exit_code, 0),"
                f" recovered = 1, end = MAX(start, COALESCE(?, end, start)) WHERE {where}",
                (AttemptStatus.SUCCEEDED.value, merged, run_id, task, attempt),
            )
            self._db.execute(
                f"UPDATE sessions SET ended = MAX(ended, (SELECT end FROM attempts WHERE {where}))"
                f" WHERE ended IS NOT NULL AND run_id = ? AND session ="
                f" (SELECT session FROM attempts WHERE {where})",
                (run_id, task, attempt, run_id, run_id, task, attempt),
            )

    # --- reading ---------------------------------------------------------------------------

    def worktree_run(self, run_id: str) -> WorktreeRun | None:
        """The repository and integration branch of an isolated run (None for other runs)."""
        row = self._db.execute(
            "SELECT repo, integration, base FROM worktree_runs WHERE run_id = ?", (run_id,)
        ).fetchone()
        return None if row is None else WorktreeRun(str(row[0]), str(row[1]), str(row[2]))

    def worktree_runs(self) -> dict[str, WorktreeRun]:
        """Every isolated run of the history."""
        return {
            str(r[0]): WorktreeRun(str(r[1]), str(r[2]), str(r[3]))
            for r in self._db.execute(
                "SELECT run_id, repo, integration, base FROM worktree_runs ORDER BY run_id"
            )
        }

    def worktree_records(self, run_id: str) -> dict[tuple[str, int], WorktreeRecord]:
        """What each attempt of an isolated run did to the repository."""
        return {
            (str(row[0]), int(row[1])): _record(row[2:])
            for row in self._db.execute(
                "SELECT task, attempt, branch, base, head, merged, observed, undeclared,"
                " overlaps, conflict_paths, conflict_with, shared"
                " FROM worktree_attempts WHERE run_id = ?",
                (run_id,),
            )
        }

    def undeclared_files(self, plan_file: str) -> dict[str, list[str]]:
        """Per task, the files its attempts changed without declaring them, in isolated runs
        of ``plan_file``, in the order first seen."""
        found: dict[str, dict[str, None]] = {}
        for task, undeclared in self._db.execute(
            "SELECT w.task, w.undeclared FROM worktree_attempts w JOIN runs r ON r.id = w.run_id"
            " WHERE r.plan_file = ? ORDER BY r.started, w.attempt",
            (plan_file,),
        ):
            for path in json.loads(undeclared):
                found.setdefault(str(task), {})[str(path)] = None
        return {task: list(paths) for task, paths in found.items()}

    def latest_run(self) -> str | None:
        row = self._db.execute(
            "SELECT id FROM runs ORDER BY started DESC, id DESC LIMIT 1"
        ).fetchone()
        return None if row is None else str(row[0])

    def run_ids(self) -> list[str]:
        return [str(r[0]) for r in self._db.execute("SELECT id FROM runs ORDER BY started, id")]

    def task_states(self, run_id: str) -> dict[str, tuple[TaskStatus, str]]:
        """Each task's recorded status and definition hash in a run."""
        return {
            str(task): (TaskStatus(status), str(definition))
            for task, status, definition in self._db.execute(
                "SELECT task, status, definition FROM tasks WHERE run_id = ?", (run_id,)
            )
        }

    def next_attempt(self, run_id: str) -> dict[str, int]:
        """Per task, the number its next attempt gets."""
        return {
            str(task): int(last) + 1
            for task, last in self._db.execute(
                "SELECT task, MAX(attempt) FROM attempts WHERE run_id = ? GROUP BY task",
                (run_id,),
            )
        }

    def durations(
        self, commands: Mapping[str, str | None] | None = None, *, recent: int = RECENT_ATTEMPTS
    ) -> dict[str, float]:
        """Per task, the median duration of its latest ``recent`` successful attempts in real
        (not dry) runs, recovered ones excepted (their end is not measured). With ``commands``
        (task id -> :func:`command_hash`), only the tasks it names, and only attempts that ran
        the command the task has now."""
        # The tasks and their commands go in as one JSON object (any number of tasks in one
        # parameter), so SQLite returns only the attempts that count.
        named = (
            ""
            if commands is None
            else " JOIN json_each(:commands) c ON c.key = a.task AND c.value IS a.command_hash"
        )
        found: dict[str, list[float]] = {}
        for row_task, start, end in self._db.execute(
            "SELECT task, start, end FROM ("
            " SELECT a.task, a.start, a.end, a.attempt, ROW_NUMBER() OVER"
            " (PARTITION BY a.task ORDER BY a.start DESC, a.attempt DESC) AS latest"
            f" FROM attempts a JOIN runs r ON r.id = a.run_id{named}"
            " WHERE a.status = :succeeded AND r.dry_run = 0 AND a.end IS NOT NULL"
            " AND a.recovered = 0"
            ") WHERE latest <= :recent ORDER BY start DESC, attempt DESC",
            {
                "succeeded": AttemptStatus.SUCCEEDED.value,
                "recent": recent,
                "commands": None if commands is None else json.dumps(dict(commands)),
            },
        ):
            found.setdefault(str(row_task), []).append(max(0.0, float(end) - float(start)))
        return {task: statistics.median(values) for task, values in found.items()}

    def summaries(self, limit: int | None = None) -> list[RunSummary]:
        sql = (
            "SELECT r.id, r.plan_file, r.status, r.started, r.ended, r.dry_run,"
            " COUNT(t.task), SUM(t.status = ?), SUM(t.status IN (?, ?))"
            " FROM runs r LEFT JOIN tasks t ON t.run_id = r.id GROUP BY r.id"
            " ORDER BY r.started DESC, r.id DESC"
        )
        params: list[object] = [
            TaskStatus.SUCCEEDED.value,
            TaskStatus.FAILED.value,
            TaskStatus.CONFLICT.value,  # its work did not merge: the task failed
        ]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [
            RunSummary(
                run_id=str(r[0]),
                plan_file=str(r[1]),
                status=RunStatus(r[2]),
                started=float(r[3]),
                ended=None if r[4] is None else float(r[4]),
                dry_run=bool(r[5]),
                tasks=int(r[6]),
                succeeded=int(r[7] or 0),
                failed=int(r[8] or 0),
            )
            for r in self._db.execute(sql, params)
        ]

    def attempts(self, *, task: str | None = None, run_id: str | None = None) -> list[AttemptInfo]:
        """Attempts, oldest first, optionally of one task or one run."""
        sql = (
            "SELECT task, attempt, start, end, status, exit_code, worker, host, command_hash, log,"
            " session, recovered FROM attempts"
        )
        clauses, params = [], []
        if task is not None:
            clauses.append("task = ?")
            params.append(task)
        if run_id is not None:
            clauses.append("run_id = ?")
            params.append(run_id)
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY start, task, attempt"
        return [_attempt(row) for row in self._db.execute(sql, params)]

    def attempt_runs(self, task: str) -> list[tuple[str, AttemptInfo]]:
        """``(run_id, attempt)`` of every attempt of one task, oldest first."""
        rows = self._db.execute(
            "SELECT run_id, task, attempt, start, end, status, exit_code, worker, host,"
            " command_hash, log, session, recovered FROM attempts WHERE task = ?"
            " ORDER BY start, attempt",
            (task,),
        )
        return [(str(r[0]), _attempt(r[1:])) for r in rows]

    def run_info(self, run_id: str) -> RunInfo:
        """Everything recorded about one run; raises HistoryError for an unknown id."""
        row = self._db.execute(
            "SELECT plan_file, snapshot, root, started, ended, status, workers, dry_run,"
            " options FROM runs WHERE id = ?",
            (run_id,),
        ).fetchone()
        if row is None:
            known = ", ".join(self.run_ids()[-5:]) or "none"
            raise HistoryError(f"no run '{run_id}' in {self.path} (latest: {known})")
        plan_file, snapshot, root, started, ended, status, workers, dry_run, options = row
        # The snapshot is always JSON (taskfile_json), whatever format the plan file had.
        plan = parse_plan_text(snapshot, name=str(plan_file), root=str(root), fmt=Format.JSON)
        attempts: dict[str, list[AttemptInfo]] = {}
        records = self.worktree_records(run_id)
        for attempt in self.attempts(run_id=run_id):
            record = records.get((attempt.task, attempt.attempt))
            if record is not None:
                attempt = dataclasses.replace(attempt, worktree=record)  # noqa: PLW2901
            attempts.setdefault(attempt.task, []).append(attempt)
        states = {
            str(t): (TaskStatus(s), None if r is None else str(r))
            for t, s, r in self._db.execute(
                "SELECT task, status, reason FROM tasks WHERE run_id = ?", (run_id,)
            )
        }
        tasks = tuple(
            TaskRun(
                id=task.id,
                status=states.get(task.id, (TaskStatus.PENDING, None))[0],
                reason=states.get(task.id, (TaskStatus.PENDING, None))[1],
                attempts=tuple(sorted(attempts.get(task.id, []), key=lambda a: a.attempt)),
            )
            for task in plan.tasks
        )
        isolated = self.worktree_run(run_id)
        # A session that never recorded its end (waveplan was killed, or is still running)
        # counts until the last start or end of an attempt it recorded.
        sessions = {
            int(number): (float(s), max(float(s), float(e)))
            for number, s, e in self._db.execute(
                "SELECT s.session, s.started,"
                " COALESCE(s.ended, MAX(COALESCE(a.end, a.start)), s.started)"
                " FROM sessions s LEFT JOIN attempts a"
                " ON a.run_id = s.run_id AND a.session = s.session"
                " WHERE s.run_id = ? GROUP BY s.session",
                (run_id,),
            )
        }
        wall = sum(end - start for start, end in sessions.values())
        return RunInfo(
            run_id=run_id,
            plan=plan,
            status=RunStatus(status),
            started=float(started),
            ended=None if ended is None else float(ended),
            workers=int(workers),
            wall=wall,
            tasks=tasks,
            dry_run=bool(dry_run),
            sessions=sessions,
            integration_branch=None if isolated is None else isolated.integration,
            barrier=bool(json.loads(options or "{}").get("barrier")),
        )


def _attempt(row: Sequence[object]) -> AttemptInfo:
    (
        task,
        attempt,
        start,
        end,
        status,
        exit_code,
        worker,
        host,
        command_hash,
        log,
        session,
        recovered,
    ) = row
    return AttemptInfo(
        task=str(task),
        attempt=int(attempt),  # type: ignore[call-overload]
        start=float(start),  # type: ignore[arg-type]
        end=None if end is None else float(end),  # type: ignore[arg-type]
        status=AttemptStatus(status),
        exit_code=None if exit_code is None else int(exit_code),  # type: ignore[call-overload]
        worker=None if worker is None else str(worker),
        host=None if host is None else str(host),
        command_hash=None if command_hash is None else str(command_hash),
        log=None if log is None else str(log),
        session=int(session),  # type: ignore[call-overload]
        recovered=bool(recovered),
    )


def _record(row: Sequence[object]) -> WorktreeRecord:
    branch, base, head, merged, observed, undeclared, overlaps, paths, with_, shared = row

    def listed(text: object) -> tuple[str, ...]:
        return tuple(str(item) for item in json.loads(str(text)))

    return WorktreeRecord(
        branch=str(branch),
        base=None if base is None else str(base),
        head=None if head is None else str(head),
        merged=None if merged is None else str(merged),
        observed=listed(observed),
        undeclared=listed(undeclared),
        overlaps={str(k): tuple(v) for k, v in json.loads(str(overlaps)).items()},
        conflict_paths=listed(paths),
        conflict_with=listed(with_),
        shared=listed(shared),
    )


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error) on an autocommit connection; inside a
    transaction already open, its writes join that one (which commits or rolls back)."""

    def __init__(self, history: History) -> None:
        self._history = history
        self._db = history._db
        self._outer = False

    def __enter__(self) -> None:
        self._outer = not self._db.in_transaction
        if self._outer:
            self._history._locked_is_an_error(self._db.execute, "BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *_: object) -> None:
        if self._outer:
            self._db.execute("ROLLBACK" if kind is not None else "COMMIT")

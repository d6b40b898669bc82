"""Tests of the SQLite run history on real database files."""

from __future__ import annotations

import dataclasses
import random
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from waveplan import history as history_module
from waveplan.cli import main
from waveplan.history import (
    HISTORY_FILE,
    SCHEMA_VERSION,
    History,
    HistoryError,
    WorktreeRun,
    state_dir,
)
from waveplan.load import parse_plan_text
from waveplan.model import AttemptInfo, AttemptStatus, Plan, RunStatus, TaskRun, TaskStatus
from waveplan.render.taskfile import taskfile_json
from waveplan.schedule.measured import measure

PLAN_TEXT = """
workers: 2
tasks:
  - {id: a, run: make a, duration: 2, files: [src/a.py]}
  - {id: b, run: make b, depends: [a]}
  - {id: c, title: checkpoint, depends: [b]}
"""


def make_plan(root: Path) -> Plan:
    """The three-task plan of these tests, rooted at ``root``."""
    return parse_plan_text(PLAN_TEXT, name=str(root / "plan.yaml"), root=str(root))


def start_run(
    history: History,
    plan: Plan,
    run_id: str,
    *,
    started: float = 1000.0,
    dry_run: bool = False,
    plan_file: str | None = None,
) -> None:
    """Record a new run of ``plan`` with every task pending."""
    history.start_run(
        run_id,
        plan_file=plan_file or plan.source,
        snapshot=taskfile_json(plan),
        root=plan.root,
        started=started,
        workers=2,
        dry_run=dry_run,
        options={"keep_going": False},
        definitions={t.id: f"def-{t.id}" for t in plan.tasks},
    )


def attempt(
    history: History,
    run_id: str,
    task: str,
    number: int,
    span: tuple[float, float | None],
    *,
    status: AttemptStatus = AttemptStatus.SUCCEEDED,
    session: int = 1,
    command: str | None = "abc",
) -> None:
    """Record one attempt from ``span`` (start, end), finished unless the end is None;
    ``command`` is the command hash it records."""
    start, end = span
    history.attempt_started(
        run_id,
        task,
        number,
        session=session,
        start=start,
        worker="w1",
        host="host",
        command_hash=command,
        log=f"/logs/{task}.{number}.log",
    )
    if end is not None:
        code = 0 if status is AttemptStatus.SUCCEEDED else 1
        history.attempt_finished(
            run_id, task, number, end=end, status=status, exit_code=code, worker="w2"
        )


def user_version(path: Path) -> int:
    """The schema version stored in a database file."""
    with sqlite3.connect(path) as db:
        return int(db.execute("PRAGMA user_version").fetchone()[0])


def test_new_history_is_created_in_wal_mode_at_the_current_schema(tmp_path: Path) -> None:
    """Opening a plan root's history creates .waveplan/history.db in WAL mode, current schema."""
    with History.for_root(tmp_path) as history:
        assert history.path == tmp_path / ".waveplan" / HISTORY_FILE
    path = state_dir(tmp_path) / HISTORY_FILE
    assert path.exists()
    assert user_version(path) == SCHEMA_VERSION
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_newer_schema_is_refused_with_an_actionable_message(tmp_path: Path) -> None:
    """A database written by a newer waveplan is refused: the message names both versions and
    says to upgrade or move the file away, and the file is left untouched."""
    path = tmp_path / "history.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE future (x)")
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 3}")
    with pytest.raises(HistoryError) as caught:
        History(path)
    message = str(caught.value)
    assert str(path) in message
    assert f"history schema {SCHEMA_VERSION + 3}" in message
    assert f"reads up to {SCHEMA_VERSION}" in message
    assert "upgrade waveplan, or move the file away" in message
    assert caught.value.exit_code == 2
    assert user_version(path) == SCHEMA_VERSION + 3


def test_corrupt_file_is_refused_with_an_actionable_message(tmp_path: Path) -> None:
    """A file that is not a database gives a HistoryError saying to move it away."""
    path = tmp_path / "history.db"
    path.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(HistoryError, match="move it away to start a new history"):
        History(path)


def test_older_schema_is_migrated_in_place_keeping_its_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database at an older schema version is upgraded when opened; its runs survive."""
    plan = make_plan(tmp_path)
    path = tmp_path / "history.db"
    with History(path) as history:
        start_run(history, plan, "r1")
    extra = "ALTER TABLE runs ADD COLUMN note TEXT;"
    monkeypatch.setattr(history_module, "_MIGRATIONS", (*history_module._MIGRATIONS, extra))
    monkeypatch.setattr(history_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with History(path) as history:
        assert history.run_ids() == ["r1"]
    assert user_version(path) == SCHEMA_VERSION + 1
    with sqlite3.connect(path) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(runs)")]
    assert "note" in columns


def test_failed_migration_leaves_the_database_at_its_old_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A migration that fails half-way is rolled back: no partial change, version unchanged."""
    plan = make_plan(tmp_path)
    path = tmp_path / "history.db"
    with History(path) as history:
        start_run(history, plan, "r1")
    broken = "CREATE TABLE half (x); INSERT INTO no_such_table VALUES (1);"
    monkeypatch.setattr(history_module, "_MIGRATIONS", (*history_module._MIGRATIONS, broken))
    monkeypatch.setattr(history_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(HistoryError, match="cannot use the history database"):
        History(path)
    assert user_version(path) == SCHEMA_VERSION
    with sqlite3.connect(path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert "half" not in tables


def test_a_transaction_records_a_run_and_its_session_together_or_not_at_all(
    tmp_path: Path,
) -> None:
    """Writes in one ``transaction()`` block, those that open a transaction of their own
    included, are committed together; an exception rolls them all back."""
    plan = make_plan(tmp_path)
    with History.for_root(tmp_path) as history:
        with pytest.raises(RuntimeError), history.transaction():
            start_run(history, plan, "r1")
            history.start_session("r1", pid=1, host="h", started=1000.0)
            raise RuntimeError("killed")
        assert history.run_ids() == []
        with history.transaction():
            start_run(history, plan, "r1")
            session = history.start_session("r1", pid=1, host="h", started=1000.0)
        history.session_began("r1", session, 1000.25)
        assert history.last_session("r1") == (1, "h")
        assert history.run_info("r1").sessions == {1: (1000.25, 1000.25)}


def test_run_info_round_trip(tmp_path: Path) -> None:
    """What was written event by event comes back as one RunInfo: the plan snapshot, task
    outcomes with reasons, attempts in order, and the session's wall time."""
    plan = make_plan(tmp_path)
    with History.for_root(tmp_path) as history:
        start_run(history, plan, "r1", started=1000.0)
        session = history.start_session("r1", pid=42, host="host", started=1000.0)
        assert session == 1
        attempt(history, "r1", "a", 1, (1000.5, 1001.0), status=AttemptStatus.FAILED)
        attempt(history, "r1", "a", 2, (1002.0, 1004.0))
        history.task_finished("r1", "a", TaskStatus.SUCCEEDED)
        attempt(history, "r1", "b", 1, (1004.0, 1005.0), status=AttemptStatus.TIMED_OUT)
        history.task_finished("r1", "b", TaskStatus.FAILED)
        history.task_finished("r1", "c", TaskStatus.SKIPPED, "dependency b did not succeed")
        history.end_session("r1", session, 1005.5)
        history.finish_run("r1", RunStatus.FAILED, 1005.5)
        info = history.run_info("r1")
    assert info.run_id == "r1"
    assert info.status is RunStatus.FAILED
    assert info.started == 1000.0
    assert info.ended == 1005.5
    assert info.wall == 5.5
    assert info.workers == 2
    assert info.dry_run is False
    assert [t.id for t in info.plan.tasks] == ["a", "b", "c"]
    assert info.plan.task("b").depends == ("a",)
    assert info.plan.task("a").run == "make a"
    assert info.plan.root == str(tmp_path)
    by_id = {t.id: t for t in info.tasks}
    assert by_id["a"].status is TaskStatus.SUCCEEDED
    assert [(a.attempt, a.status) for a in by_id["a"].attempts] == [
        (1, AttemptStatus.FAILED),
        (2, AttemptStatus.SUCCEEDED),
    ]
    assert by_id["a"].flaky
    first = by_id["a"].attempts[0]
    assert (first.start, first.end, first.exit_code) == (1000.5, 1001.0, 1)
    assert (first.worker, first.host, first.command_hash) == ("w2", "host", "abc")
    assert first.log == "/logs/a.1.log"
    assert by_id["b"].status is TaskStatus.FAILED
    assert by_id["b"].final is not None
    assert by_id["b"].final.status is AttemptStatus.TIMED_OUT
    assert by_id["c"].status is TaskStatus.SKIPPED
    assert by_id["c"].reason == "dependency b did not succeed"
    assert by_id["c"].attempts == ()


def test_an_isolated_run_is_recorded_with_its_branch_or_not_at_all(tmp_path: Path) -> None:
    """A run in worktrees is recorded together with its integration branch, in one
    transaction: when the branch cannot be written, neither is the run (a run recorded
    without its branch was resumed in the plan root)."""
    plan = make_plan(tmp_path)

    def start(run_id: str, worktree: WorktreeRun) -> None:
        history.start_run(
            run_id,
            plan_file=plan.source,
            snapshot=taskfile_json(plan),
            root=plan.root,
            started=1000.0,
            workers=2,
            dry_run=False,
            options={},
            definitions={"a": "def-a"},
            worktree=worktree,
        )

    with History.for_root(tmp_path) as history:
        start("r1", WorktreeRun("/repo", "waveplan/r1", "abc123"))
        assert history.worktree_run("r1") == WorktreeRun("/repo", "waveplan/r1", "abc123")
        with pytest.raises(sqlite3.IntegrityError):
            start("r2", WorktreeRun(None, "waveplan/r2", "abc123"))  # type: ignore[arg-type]
        assert history.run_ids() == ["r1"]
        assert history.worktree_run("r2") is None


@pytest.mark.parametrize("suffix", [".yaml", ".json", ".toml"])
def test_run_info_reads_the_snapshot_whatever_the_plan_format(tmp_path: Path, suffix: str) -> None:
    """The recorded snapshot is read back also when the plan file was JSON or TOML."""
    plan = make_plan(tmp_path)
    with History.for_root(tmp_path) as history:
        start_run(history, plan, "r1", plan_file=str(tmp_path / f"plan{suffix}"))
        info = history.run_info("r1")
    assert [t.id for t in info.plan.tasks] == ["a", "b", "c"]


def test_run_info_of_an_unknown_run_names_the_known_ones(tmp_path: Path) -> None:
    """Asking for a run that is not there raises a HistoryError listing the latest ids."""
    plan = make_plan(tmp_path)
    with History.for_root(tmp_path) as history:
        start_run(history, plan, "r1")
        with pytest.raises(HistoryError, match=r"no run 'r9' .*\(latest: r1\)"):
            history.run_info("r9")


def test_each_event_is_visible_to_another_connection_at_once(tmp_path: Path) -> None:
    """Every write is committed as it happens: a second reader sees it before the writer
    closes, so a crash loses nothing already written."""
    plan = make_plan(tmp_path)
    writer = History.for_root(tmp_path)
    try:
        start_run(writer, plan, "r1")
        attempt(writer, "r1", "a", 1, (1000.0, None))
        reader = History.for_root(tmp_path)
        try:
            (seen,) = reader.attempts(run_id="r1")
            assert seen.status is AttemptStatus.RUNNING
            writer.attempt_finished(
                "r1", "a", 1, end=1001.0, status=AttemptStatus.SUCCEEDED, exit_code=0
            )
            (seen,) = reader.attempts(run_id="r1")
            assert seen.status is AttemptStatus.SUCCEEDED
        finally:
            reader.close()
    finally:
        writer.close()


def test_durations_are_medians_of_successful_real_attempts(tmp_path: Path) -> None:
    """durations() is per task the median of successful attempts of real runs; failed,
    unfinished and dry-run attempts do not count."""
    plan = make_plan(tmp_path)
    with History.for_root(tmp_path) as history:
        start_run(history, plan, "r1", started=1000.0)
        attempt(history, "r1", "a", 1, (1000.0, 1001.0))
        attempt(history, "r1", "a", 2, (1001.0, 1001.5), status=AttemptStatus.FAILED)
        attempt(history, "r1", "b", 1, (1000.0, None))
        start_run(history, plan, "r2", started=2000.0)
        attempt(history, "r2", "a", 1, (2000.0, 2003.0))
        attempt(history, "r2", "b", 1, (2000.0, 2000.25))
        start_run(history, plan, "r3", started=3000.0)
        attempt(history, "r3", "a", 1, (3000.0, 3010.0))
        start_run(history, plan, "dry", started=4000.0, dry_run=True)
        attempt(history, "dry", "a", 1, (4000.0, 4100.0))
        attempt(history, "dry", "c", 1, (4000.0, 4001.0))
        assert history.durations() == {"a": 3.0, "b": 0.25}


def test_durations_follow_the_current_command_and_the_latest_attempts(tmp_path: Path) -> None:
    """Given the tasks' current command hashes, durations() counts only attempts that ran
    those commands (a changed command starts afresh), of named tasks only, and only each
    task's latest ``recent`` successful attempts."""
    plan = make_plan(tmp_path)
    with History.for_root(tmp_path) as history:
        for n in range(15):  # a: 1 s, 2 s ... 15 s, one attempt per run, oldest first
            run_id = f"r{n}"
            start_run(history, plan, run_id, started=1000.0 * (n + 1))
            at = 1000.0 * (n + 1)
            attempt(history, run_id, "a", 1, (at, at + n + 1))
            attempt(history, run_id, "b", 1, (at, at + 100.0), command="old")
            if n >= 13:
                attempt(history, run_id, "b", 2, (at + 200, at + 207.0), command="new")
        assert history.durations(recent=10) == {"a": 10.5, "b": 100.0}  # 6..15; b: any command
        assert history.durations({"a": "abc", "b": "new"}, recent=3) == {"a": 14.0, "b": 7.0}
        assert history.durations({"b": "gone"}) == {}


def durations_in_python(
    path: Path, commands: dict[str, str | None] | None, recent: int
) -> dict[str, float]:
    """What durations() gives, worked out from every successful attempt in Python: the
    oracle of the SQL that filters them."""
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT a.task, a.start, a.end, a.command_hash FROM attempts a"
            " JOIN runs r ON r.id = a.run_id"
            " WHERE a.status = 'succeeded' AND r.dry_run = 0 AND a.end IS NOT NULL"
            " AND a.recovered = 0 ORDER BY a.start DESC, a.attempt DESC"
        ).fetchall()
    found: dict[str, list[float]] = {}
    for task, start, end, recorded in rows:
        if commands is not None and (task not in commands or commands[task] != recorded):
            continue
        values = found.setdefault(task, [])
        if len(values) < recent:
            values.append(max(0.0, end - start))
    return {task: statistics.median(values) for task, values in found.items()}


def random_history(path: Path, tasks: int, seed: int) -> None:
    """A history of ``tasks`` tasks over a few runs (one dry), with attempts of every status,
    recovered ones, several commands (and none) and durations that tie."""
    rng = random.Random(seed)
    with History(path):
        pass
    with sqlite3.connect(path) as db:
        for run in range(6):
            db.execute(
                "INSERT INTO runs (id, plan_file, snapshot, root, started, status, workers,"
                " dry_run) VALUES (?, 'p', '{}', '/', ?, 'succeeded', 2, ?)",
                (f"r{run}", run * 100.0, int(run == 3)),
            )
        rows = []
        for n in range(tasks):
            for run in range(6):
                for number in range(1, rng.randint(1, 3) + 1):
                    start = float(rng.randint(0, 50) + run * 100)
                    rows.append(
                        (
                            f"r{run}",
                            f"t{n}",
                            number,
                            start,
                            None if rng.random() < 0.1 else start + rng.randint(0, 4) / 2,
                            rng.choice(["succeeded", "succeeded", "failed", "interrupted"]),
                            rng.choice(["x", "y", None]),
                            int(rng.random() < 0.1),
                        )
                    )
        db.executemany(
            "INSERT INTO attempts (run_id, task, attempt, session, start, end, status,"
            " command_hash, recovered) VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?)",
            rows,
        )


@pytest.mark.parametrize("seed", range(4))
def test_durations_filtered_in_sql_are_those_filtered_in_python(tmp_path: Path, seed: int) -> None:
    """durations() picks in SQL exactly the attempts the Python filter picked: per command
    (none included), per named task, the latest ``recent``."""
    path = tmp_path / "history.db"
    random_history(path, 40, seed)
    rng = random.Random(seed)
    some: dict[str, str | None] = {f"t{n}": rng.choice(["x", "y", None]) for n in range(0, 50, 2)}
    with History(path) as history:
        for commands in (None, some, {}):
            for recent in (1, 2, 5, 10):
                expected = durations_in_python(path, commands, recent)
                assert history.durations(commands, recent=recent) == expected


def counted_attempts(path: Path, commands: dict[str, str | None]) -> dict[str, int]:
    """Per task, how many of its attempts count for its duration (of any age)."""
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT a.task, a.command_hash FROM attempts a JOIN runs r ON r.id = a.run_id"
            " WHERE a.status = 'succeeded' AND r.dry_run = 0 AND a.end IS NOT NULL"
            " AND a.recovered = 0"
        ).fetchall()
    counts: dict[str, int] = {}
    for task, recorded in rows:
        if task in commands and commands[task] == recorded:
            counts[task] = counts.get(task, 0) + 1
    return counts


def test_durations_of_many_tasks_are_asked_in_one_query(tmp_path: Path) -> None:
    """Forty thousand named tasks (more than SQLite takes parameters in one statement) give
    the same durations as the Python filter, and SQLite returns only the attempts that count
    (every successful attempt of every task was read and most thrown away)."""
    path = tmp_path / "history.db"
    random_history(path, 40_000, 7)
    commands: dict[str, str | None] = {f"t{n}": "x" for n in range(40_000)}
    expected = durations_in_python(path, commands, 2)
    assert len(expected) > 30_000
    with History(path) as history:
        connection = history._db
        returned = 0

        def execute(sql: str, parameters: object = ()) -> Iterator[object]:
            nonlocal returned
            for row in connection.execute(sql, parameters):  # type: ignore[arg-type]
                returned += 1
                yield row

        history._db = SimpleNamespace(execute=execute)  # type: ignore[assignment]
        assert history.durations(commands, recent=2) == expected
        history._db = connection
    assert returned == sum(min(2, count) for count in counted_attempts(path, commands).values())


def test_abandon_attempts_marks_running_attempts_interrupted(tmp_path: Path) -> None:
    """Attempts left running by a crashed session become interrupted; finished ones are
    untouched; the session is closed at its last recorded activity, where the abandoned
    attempts end too, so the time until the tidy-up does not count as running time."""
    plan = make_plan(tmp_path)
    with History.for_root(tmp_path) as history:
        start_run(history, plan, "r1")
        session = history.start_session("r1", pid=1, host="host", started=1000.0)
        attempt(history, "r1", "a", 1, (1000.0, 1002.0), session=session)
        attempt(history, "r1", "b", 1, (1001.0, None), session=session)
        marked = history.abandon_attempts("r1", 5000.0)
        assert marked == [("b", 1)]
        states = {a.task: (a.status, a.end) for a in history.attempts(run_id="r1")}
        assert states == {
            "a": (AttemptStatus.SUCCEEDED, 1002.0),
            "b": (AttemptStatus.INTERRUPTED, 1002.0),
        }
        assert history.abandon_attempts("r1", 6000.0) == []
        info = history.run_info("r1")
    assert info.wall == 2.0


def test_a_recovered_attempt_ends_at_its_merge_and_teaches_no_duration(tmp_path: Path) -> None:
    """An abandoned attempt found merged on resume succeeded: it ends at its merge (not
    before it started), its session lasted until then, and it is marked recovered and
    teaches no duration (it ended where the tidy-up guessed, 0 s after its start, and the
    next plan learnt 0 s)."""
    plan = make_plan(tmp_path)
    with History.for_root(tmp_path) as history:
        start_run(history, plan, "r1")
        session = history.start_session("r1", pid=1, host="host", started=1000.0)
        attempt(history, "r1", "a", 1, (1000.0, 1001.0), session=session)
        attempt(history, "r1", "b", 1, (1001.0, None), session=session)
        attempt(history, "r1", "c", 1, (1001.5, None), session=session, command="c")
        history.abandon_attempts("r1", 5000.0)
        history.recover_attempt("r1", "b", 1, merged=1004.0)
        history.recover_attempt("r1", "c", 1, merged=1001.0)  # merged in the second it began
        found = {a.task: a for a in history.attempts(run_id="r1")}
        assert (found["b"].status, found["b"].end, found["b"].exit_code) == (
            AttemptStatus.SUCCEEDED,
            1004.0,
            0,
        )
        assert (found["c"].status, found["c"].end) == (AttemptStatus.SUCCEEDED, 1001.5)
        assert found["b"].recovered and found["c"].recovered and not found["a"].recovered
        assert history.durations() == {"a": 1.0}
        assert history.run_info("r1").wall == 4.0


def test_abandoned_session_without_attempts_lasts_nothing(tmp_path: Path) -> None:
    """A crashed session that recorded no attempt is closed at its start."""
    plan = make_plan(tmp_path)
    with History.for_root(tmp_path) as history:
        start_run(history, plan, "r1")
        history.start_session("r1", pid=1, host="host", started=1000.0)
        assert history.abandon_attempts("r1", 5000.0) == []
        assert history.run_info("r1").wall == 0.0


def test_resume_run_resets_what_changed_and_keeps_what_succeeded(tmp_path: Path) -> None:
    """Resuming keeps succeeded tasks with the same definition, resets changed and
    unfinished ones to pending, adds new tasks and drops removed ones."""
    plan = make_plan(tmp_path)
    with History.for_root(tmp_path) as history:
        start_run(history, plan, "r1")
        history.task_finished("r1", "a", TaskStatus.SUCCEEDED)
        history.task_finished("r1", "b", TaskStatus.SUCCEEDED)
        history.task_finished("r1", "c", TaskStatus.SKIPPED, "why")
        history.finish_run("r1", RunStatus.FAILED, 1001.0)
        history.resume_run(
            "r1",
            snapshot=taskfile_json(plan),
            workers=3,
            definitions={"a": "def-a", "b": "changed", "d": "def-d"},
        )
        assert history.task_states("r1") == {
            "a": (TaskStatus.SUCCEEDED, "def-a"),
            "b": (TaskStatus.PENDING, "changed"),
            "d": (TaskStatus.PENDING, "def-d"),
        }
        (summary,) = history.summaries()
        assert summary.status is RunStatus.RUNNING
        assert summary.ended is None


def test_next_attempt_continues_numbering_per_task(tmp_path: Path) -> None:
    """next_attempt gives each task with attempts the number after its last one."""
    plan = make_plan(tmp_path)
    with History.for_root(tmp_path) as history:
        start_run(history, plan, "r1")
        attempt(history, "r1", "a", 1, (1000.0, 1001.0), status=AttemptStatus.FAILED)
        attempt(history, "r1", "a", 2, (1001.0, None))
        attempt(history, "r1", "b", 1, (1001.0, 1002.0))
        assert history.next_attempt("r1") == {"a": 3, "b": 2}


def test_summaries_list_runs_newest_first_with_counts(tmp_path: Path) -> None:
    """summaries() lists runs newest first with task counts, honouring the limit."""
    plan = make_plan(tmp_path)
    with History.for_root(tmp_path) as history:
        start_run(history, plan, "r1", started=1000.0)
        history.task_finished("r1", "a", TaskStatus.FAILED)
        history.task_finished("r1", "b", TaskStatus.CONFLICT)  # its work did not merge: failed
        history.finish_run("r1", RunStatus.FAILED, 1001.0)
        start_run(history, plan, "r2", started=2000.0, dry_run=True)
        for task in "abc":
            history.task_finished("r2", task, TaskStatus.SUCCEEDED)
        history.finish_run("r2", RunStatus.SUCCEEDED, 2003.0)
        first, second = history.summaries()
        assert (first.run_id, first.status, first.dry_run) == ("r2", RunStatus.SUCCEEDED, True)
        assert (first.tasks, first.succeeded, first.failed) == (3, 3, 0)
        assert (second.run_id, second.status, second.ended) == ("r1", RunStatus.FAILED, 1001.0)
        assert (second.tasks, second.succeeded, second.failed) == (3, 0, 2)
        assert [s.run_id for s in history.summaries(limit=1)] == ["r2"]
        assert history.latest_run() == "r2"
        assert history.run_ids() == ["r1", "r2"]


def test_attempts_of_one_task_across_runs(tmp_path: Path) -> None:
    """attempt_runs and attempts(task=...) list one task's attempts over every run, oldest
    first."""
    plan = make_plan(tmp_path)
    with History.for_root(tmp_path) as history:
        start_run(history, plan, "r1", started=1000.0)
        attempt(history, "r1", "a", 1, (1000.0, 1001.0))
        attempt(history, "r1", "b", 1, (1001.0, 1002.0))
        start_run(history, plan, "r2", started=2000.0)
        attempt(history, "r2", "a", 1, (2000.0, 2001.0), status=AttemptStatus.FAILED)
        found = history.attempt_runs("a")
        assert [(run, a.status) for run, a in found] == [
            ("r1", AttemptStatus.SUCCEEDED),
            ("r2", AttemptStatus.FAILED),
        ]
        assert [a.start for a in history.attempts(task="a")] == [1000.0, 2000.0]
        assert history.attempt_runs("zzz") == []


def test_history_survives_reopening(tmp_path: Path) -> None:
    """Everything written is there again after closing and reopening the file."""
    plan = make_plan(tmp_path)
    with History.for_root(tmp_path) as history:
        start_run(history, plan, "r1")
        history.start_session("r1", pid=1, host="h", started=1000.0)
        attempt(history, "r1", "a", 1, (1000.0, 1001.0))
    with History.for_root(tmp_path) as history:
        assert history.run_ids() == ["r1"]
        assert history.start_session("r1", pid=2, host="h", started=1100.0) == 2
        assert [a.task for a in history.attempts()] == ["a"]


def _attempt(number: int, status: AttemptStatus, command: str = "abc") -> AttemptInfo:
    return AttemptInfo("a", number, float(number), number + 0.5, status, command_hash=command)


@pytest.mark.parametrize(
    ("attempts", "flaky"),
    [
        ((AttemptStatus.FAILED, AttemptStatus.SUCCEEDED), True),
        ((AttemptStatus.TIMED_OUT, AttemptStatus.SUCCEEDED), True),
        # killed (Ctrl-C, kill -9) and resumed: nothing failed
        ((AttemptStatus.INTERRUPTED, AttemptStatus.SUCCEEDED), False),
        ((AttemptStatus.LOST, AttemptStatus.SUCCEEDED), False),
        ((AttemptStatus.CONFLICT, AttemptStatus.SUCCEEDED), False),
        ((AttemptStatus.SUCCEEDED,), False),
    ],
)
def test_flaky_means_the_same_command_failed_before_it_passed(
    attempts: tuple[AttemptStatus, ...], flaky: bool
) -> None:
    task = TaskRun(
        "a",
        TaskStatus.SUCCEEDED,
        tuple(_attempt(n, s) for n, s in enumerate(attempts, start=1)),
    )
    assert task.flaky is flaky


def test_a_fixed_command_that_passes_is_not_flaky() -> None:
    """The command failed, was changed, and the new one passed on --resume: not flaky."""
    task = TaskRun(
        "a",
        TaskStatus.SUCCEEDED,
        (_attempt(1, AttemptStatus.FAILED, "old"), _attempt(2, AttemptStatus.SUCCEEDED, "new")),
    )
    assert not task.flaky


def test_a_session_without_an_end_counts_until_its_last_record(tmp_path: Path) -> None:
    """A session killed before it recorded its end (or still running) counts until the last
    attempt start or end it recorded, not as 0 (which made a crashed run "100% faster")."""
    plan = make_plan(tmp_path)
    with History.for_root(tmp_path) as history:
        start_run(history, plan, "r1", started=1000.0)
        first = history.start_session("r1", pid=1, host="h", started=1000.0)
        attempt(history, "r1", "a", 1, (1000.5, 1003.0), session=first)
        attempt(history, "r1", "b", 1, (1003.0, None), session=first)  # killed while running
        second = history.start_session("r1", pid=2, host="h", started=2000.0)
        attempt(history, "r1", "b", 2, (2000.0, 2001.5), session=second)
        history.end_session("r1", second, 2002.0)
        history.start_session("r1", pid=3, host="h", started=3000.0)  # recorded nothing
        assert history.run_info("r1").wall == 3.0 + 2.0 + 0.0


def test_the_run_clock_leaves_out_the_pauses_between_sessions(tmp_path: Path) -> None:
    """A task of the second session starts, on the run's clock, after the time the first
    session ran, not after the hour between the sessions (its start said 3600 s in a run
    whose measured makespan was 5 s)."""
    plan = make_plan(tmp_path)
    with History.for_root(tmp_path) as history:
        start_run(history, plan, "r1", started=1000.0)
        first = history.start_session("r1", pid=1, host="h", started=1000.0)
        attempt(history, "r1", "a", 1, (1000.0, 1002.0), session=first)
        history.end_session("r1", first, 1003.0)
        second = history.start_session("r1", pid=2, host="h", started=4600.0)
        attempt(history, "r1", "b", 1, (4601.0, 4602.0), session=second)
        history.end_session("r1", second, 4602.0)
        info = history.run_info("r1")
    assert info.wall == 3.0 + 2.0
    assert info.clock(4601.0, second) == 3.0 + 1.0
    report = measure(info)
    starts = {t.id: (t.start, t.end) for t in report.tasks}
    assert starts["a"] == (0.0, 2.0)
    assert starts["b"] == (4.0, 5.0)


def test_a_failure_fixed_before_a_resume_is_not_flaky() -> None:
    """The run stopped at a failure, the user fixed something, `--resume` passed: no retry
    happened, so the task is not flaky (a retry in one session is)."""
    failed, passed = _attempt(1, AttemptStatus.FAILED), _attempt(2, AttemptStatus.SUCCEEDED)
    resumed = TaskRun(
        "a",
        TaskStatus.SUCCEEDED,
        (dataclasses.replace(failed, session=1), dataclasses.replace(passed, session=2)),
    )
    assert not resumed.flaky
    retried = TaskRun(
        "a",
        TaskStatus.SUCCEEDED,
        (dataclasses.replace(failed, session=2), dataclasses.replace(passed, session=2)),
    )
    assert retried.flaky


def test_a_promised_saving_of_milliseconds_gives_no_efficiency(tmp_path: Path) -> None:
    """Two parallel tasks of 2 s and 4 ms promise a saving of 4 ms: the run's own overhead
    divided by it made an efficiency of -1148 % (-19763 % in a real run). Below the measurable
    work (10 ms) the promised saving gives no efficiency, as no work at all gives none."""
    text = "tasks:\n  - {id: x, run: make x}\n  - {id: y, run: make y}\n"
    plan = parse_plan_text(text, name=str(tmp_path / "plan.yaml"), root=str(tmp_path))
    with History.for_root(tmp_path) as history:
        start_run(history, plan, "r1", started=1000.0)
        session = history.start_session("r1", pid=1, host="h", started=1000.0)
        attempt(history, "r1", "x", 1, (1000.0, 1002.0), session=session)
        attempt(history, "r1", "y", 1, (1000.0, 1000.004), session=session)
        history.end_session("r1", session, 1002.05)
        report = measure(history.run_info("r1"))
    assert report.actual.sequential == pytest.approx(2.004)
    assert report.efficiency is None


def test_processes_opening_a_new_history_at_once_all_succeed(tmp_path: Path) -> None:
    """A plan or report opening the history while a first run creates it: each process read
    the schema version, then ran the migrations another had just committed ("table runs
    already exists"). Four processes at once, five times over (it failed nearly every time)."""
    code = (
        "import sys, time\n"
        "from waveplan.history import History\n"
        "time.sleep(max(0.0, float(sys.argv[2]) - time.time()))\n"
        "with History.for_root(sys.argv[1]):\n"
        "    pass\n"
    )
    for round_ in range(5):
        folder = tmp_path / str(round_)
        folder.mkdir()
        at = time.time() + 1.0
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", code, str(folder), str(at)], stderr=subprocess.PIPE
            )
            for _ in range(4)
        ]
        errors = [p.communicate(timeout=60)[1].decode() for p in processes]
        assert [p.returncode for p in processes] == [0] * 4, errors
        assert user_version(state_dir(folder) / HISTORY_FILE) == SCHEMA_VERSION


def test_a_history_another_program_keeps_locked_is_one_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An sqlite3 shell left in a transaction on the history: run waited the busy timeout,
    then ended in a traceback (sqlite3.OperationalError: database is locked). It is one
    line, exit code 2, and no run is recorded."""
    monkeypatch.setattr(history_module, "BUSY_TIMEOUT", 0.2, raising=False)
    plan = tmp_path / "plan.yaml"
    plan.write_text("tasks:\n  - {id: a, run: 'true'}\n", encoding="utf-8")
    with History.for_root(tmp_path):
        pass
    shell = sqlite3.connect(state_dir(tmp_path) / HISTORY_FILE, isolation_level=None)
    try:
        shell.execute("BEGIN IMMEDIATE")
        assert main(["run", str(plan), "-q"]) == 2
    finally:
        shell.close()
    err = capsys.readouterr().err
    assert err == (
        f"ERROR: {state_dir(tmp_path) / HISTORY_FILE}: the history database stayed locked for "
        "0.2 s (another program is writing to it, such as an sqlite3 shell in a transaction); "
        "try again once it has finished\n"
    )
    with History.for_root(tmp_path) as history:
        assert history.run_ids() == []

"""Isolated runs: each task in its own git worktree, its work merged with real git.

An isolated run (``--isolate worktree``) has an **integration branch** (``--into``; by default
a new branch ``waveplan/<run-id>`` from HEAD). When a task starts, it gets a new worktree on
its own branch, ``waveplan/tasks/<run-id>/<task>``, made from the integration branch as it is
at that moment, so it holds the merged work of its dependencies. (Git cannot have a branch
``waveplan/<run-id>`` and branches below it, hence ``tasks/``.) Worktrees live in the
repository's git folder (``<git-common-dir>/waveplan/worktrees/<run-id>/<task>``), out of
sight of the user's ``git status``; commands run at the plan root's place in them.

When the command succeeds, waveplan commits what it changed on the task's branch and merges
the branch into the integration branch, one merge at a time in the order the commands
finished, without touching any checkout (:meth:`~waveplan.run.git.Git.merge_tree`). A merge
that conflicts leaves the integration branch as it was, and the attempt ends ``conflict`` with
the conflicting paths and the tasks whose merged work they collided with. The **observed
footprint** of an attempt is what its branch changed against its start; the files no declared
write covers are **undeclared**, with the other tasks whose declared files they overlap.

Worktrees are removed after a merge and kept (with their work committed) when the attempt
fails or conflicts. When the integration branch is checked out (``--into HEAD``), that
checkout is brought along with each merge, keeping the user's untracked files.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from waveplan.errors import UserError
from waveplan.model import AttemptStatus, Mode, Plan, ResourceKind, WorktreeRecord
from waveplan.resources.index import covers
from waveplan.run.executor import Job, Outcome
from waveplan.run.git import METADATA_LOCK, Git, GitError, find_repository
from waveplan.run.local import ThreadedExecutor, note_in_log
from waveplan.run.procs import KILL_GRACE

__all__ = [
    "TASK_BRANCHES",
    "Cleaned",
    "Footprints",
    "Merge",
    "Opened",
    "Target",
    "Workspace",
    "WorktreeExecutor",
    "check_checkout_clean",
    "clean_run",
    "integration_branch_name",
    "into_branch",
    "resolve_target",
    "task_branch_name",
    "worktrees_dir",
]

TASK_BRANCHES = "waveplan/tasks"
"""Task branches are ``waveplan/tasks/<run-id>/<task>``."""
RUN_TRAILER = "Waveplan-Run"
TASK_TRAILER = "Waveplan-Task"
ATTEMPT_TRAILER = "Waveplan-Attempt"


def integration_branch_name(run_id: str) -> str:
    """The default integration branch of a run."""
    return f"waveplan/{run_id}"


def task_branch_name(run_id: str, task: str) -> str:
    return f"{TASK_BRANCHES}/{run_id}/{task}"


def worktrees_dir(common_dir: Path, run_id: str) -> Path:
    """Where a run's worktrees live: in the repository's git folder."""
    return common_dir / "waveplan" / "worktrees" / run_id


# --- observed footprints ---------------------------------------------------------------------


class Footprints:
    """The declared files of a plan's tasks, to tell observed files from declared ones."""

    def __init__(self, plan: Plan) -> None:
        self.writes = {
            t.id: tuple(
                a.key for a in t.accesses if a.kind is ResourceKind.FILE and a.mode is Mode.WRITE
            )
            for t in plan.tasks
        }
        self.files = {
            t.id: tuple(a.key for a in t.accesses if a.kind is ResourceKind.FILE)
            for t in plan.tasks
        }

    def undeclared(self, task: str, observed: Sequence[str]) -> tuple[str, ...]:
        """The observed files none of the task's declared writes cover."""
        writes = self.writes.get(task, ())
        return tuple(p for p in observed if not any(covers(k, p) for k in writes))

    def overlapping(self, task: str, path: str) -> tuple[str, ...]:
        """Other tasks whose declared files (written or read) cover ``path``."""
        return tuple(
            other
            for other, keys in self.files.items()
            if other != task and any(covers(k, path) for k in keys)
        )


# --- the integration branch ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """Where an isolated run merges, checked before the run starts.

    ``branch`` is None for the default new branch; ``start`` the commit a new branch starts
    from.
    """

    repo: Git
    branch: str | None
    start: str


def resolve_target(root: str, into: str | None, run_id: str) -> Target:
    """Check that the plan root is in a git repository, that ``into`` can be merged into and
    that the run's branches can be created; raise :class:`UserError` saying what is wrong."""
    repo = find_repository(root)
    if repo is None:
        raise UserError(
            f"--isolate worktree needs the plan root in a git repository, and {root} is in none "
            "(git init, commit, and run again)"
        )
    head = repo.rev("HEAD")
    if head is None:
        raise UserError(
            f"the repository at {repo.toplevel()} has no commit yet: tasks start from the "
            "integration branch, so commit something first"
        )
    # The branches the run makes: its task branches (any task: what clashes is a branch named
    # like one of their folders, such as `waveplan`), and without --into its integration branch.
    made = [task_branch_name(run_id, "task")]
    if into is None:
        made.append(integration_branch_name(run_id))
    for branch in made:
        clash = repo.clashing_branch(branch)
        if clash is not None:
            raise UserError(
                f"the branch {clash} is in the way of waveplan's branches "
                f"({integration_branch_name(run_id)}, {TASK_BRANCHES}/{run_id}/<task>): git "
                f"cannot hold both a branch and branches below it; rename it (git branch -m "
                f"{clash} NEW)"
            )
    if into is None:
        return Target(repo, None, head)
    into = into_branch(repo, into)
    start = repo.rev(f"refs/heads/{into}")
    if start is None:
        if repo.run("check-ref-format", "--branch", into, ok=(0, 1, 128)).returncode != 0:
            raise UserError(f"--into {into}: not a valid branch name")
        if into.startswith(f"{TASK_BRANCHES}/"):
            raise UserError(f"--into {into}: branches under {TASK_BRANCHES}/ are waveplan's")
        clash = repo.clashing_branch(into)
        if clash is not None:
            raise UserError(f"--into {into}: {_clash(clash, into)}; choose another name")
        return Target(repo, into, head)
    check_checkout_clean(repo, into)
    return Target(repo, into, start)


def into_branch(repo: Git, into: str) -> str:
    """The branch ``--into`` names: for ``HEAD``, the branch checked out (refused when HEAD
    is detached)."""
    if into != "HEAD":
        return into
    branch = repo.current_branch()
    if branch is None:
        raise UserError("--into HEAD needs a branch checked out, and HEAD is detached")
    return branch


def _clash(existing: str, wanted: str) -> str:
    """Why ``wanted`` cannot be created next to the branch ``existing``."""
    short, long = sorted((existing, wanted), key=len)
    return f"the branch {existing} exists, and git cannot hold both {short} and {long}"


def check_checkout_clean(repo: Git, branch: str) -> None:
    """A checked-out integration branch needs a clean checkout (tracked files): each merge
    brings it along, and must not mix with uncommitted changes."""
    checkout = repo.checked_out().get(branch)
    if checkout is None:
        return
    dirty = Git(checkout).dirty_files()
    if dirty:
        shown = ", ".join(dirty[:5]) + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else "")
        raise UserError(
            f"--into {branch}: the branch is checked out in {checkout}, which has uncommitted "
            f"changes ({shown}); commit or stash them first (untracked files may stay)"
        )


@dataclass(frozen=True, slots=True)
class Opened:
    """A task's worktree for one attempt."""

    task: str
    attempt: int
    branch: str
    path: Path
    cwd: Path
    base: str


@dataclass(frozen=True, slots=True)
class Merge:
    """How merging an attempt's branch went."""

    status: AttemptStatus
    merged: str | None = None
    conflicts: tuple[str, ...] = ()
    conflict_with: tuple[str, ...] = ()
    shared: tuple[str, ...] = ()
    reason: str | None = None


class _Turns:
    """Merges one at a time, in the order tickets were taken (when commands finished)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._issued = 0
        self._serving = 0

    def take(self) -> int:
        with self._condition:
            self._issued += 1
            return self._issued - 1

    @contextmanager
    def turn(self, ticket: int) -> Iterator[None]:
        with self._condition:
            self._condition.wait_for(lambda: self._serving == ticket)
        try:
            yield
        finally:
            with self._condition:
                self._serving += 1
                self._condition.notify_all()


class Workspace:
    """The git side of one isolated run: worktrees, commits and merges."""

    def __init__(self, repo: Git, *, run_id: str, integration: str, base: str, plan: Plan) -> None:
        self.repo = Git(repo.toplevel())
        self.prefix = repo.prefix()  # the plan root inside the repository ("" or "sub/")
        self.common = repo.common_dir()
        self.run_id = run_id
        self.integration = integration
        self.base = base
        self.footprints = Footprints(plan)
        self.titles = {t.id: t.title.splitlines()[0] if t.title else t.id for t in plan.tasks}
        self.turns = _Turns()

    @classmethod
    def start(cls, target: Target, *, run_id: str, plan: Plan) -> Workspace:
        """A new run's workspace: creates the default integration branch (or ``--into``'s
        new branch) at the target's start."""
        branch = target.branch or integration_branch_name(run_id)
        if target.repo.rev(f"refs/heads/{branch}") is None:
            with METADATA_LOCK:
                if not target.repo.update_ref(branch, target.start, None):
                    clash = target.repo.clashing_branch(branch)  # made since it was checked
                    why = "" if clash is None else f": {_clash(clash, branch)}"
                    raise UserError(f"cannot create the integration branch {branch}{why}")
        return cls(target.repo, run_id=run_id, integration=branch, base=target.start, plan=plan)

    # --- paths --------------------------------------------------------------------------------

    def branch(self, task: str) -> str:
        return task_branch_name(self.run_id, task)

    def worktree(self, task: str) -> Path:
        return worktrees_dir(self.common, self.run_id) / task

    def head(self) -> str:
        head = self.repo.rev(f"refs/heads/{self.integration}")
        if head is None:
            raise GitError(f"the integration branch {self.integration} is gone")
        return head

    # --- one attempt --------------------------------------------------------------------------

    def open(self, task: str, attempt: int) -> Opened:
        """A fresh worktree for the attempt, from the integration branch as it is now; an
        earlier attempt's worktree and branch are removed first."""
        path = self.worktree(task)
        branch = self.branch(task)
        with METADATA_LOCK:
            self.discard(task)
            base = self.head()
            self.repo.add_worktree(path, branch, base)
        cwd = path / self.prefix
        cwd.mkdir(parents=True, exist_ok=True)  # the plan root may not be committed
        return Opened(task, attempt, branch, path, cwd, base)

    def discard(self, task: str) -> None:
        """Remove a task's worktree and branch."""
        with METADATA_LOCK:
            self.repo.remove_worktree(self.worktree(task))
            self.repo.delete_branch(self.branch(task))

    def commit(self, opened: Opened, *, succeeded: bool) -> str:
        """Commit the attempt's changes on its branch; returns the branch's commit."""
        title = self.titles.get(opened.task, opened.task)
        what = "" if succeeded else ", did not succeed: work in progress"
        message = (
            f"waveplan: {opened.task} ({title}), attempt {opened.attempt}{what}\n\n"
            f"{RUN_TRAILER}: {self.run_id}\n{TASK_TRAILER}: {opened.task}\n"
            f"{ATTEMPT_TRAILER}: {opened.attempt}\n"
        )
        return self.repo.commit_worktree(opened.path, opened.branch, message)

    def observe(self, opened: Opened, head: str) -> WorktreeRecord:
        """The attempt's observed footprint: what its branch changed since it started."""
        observed = tuple(
            sorted(self._relative(c.path) for c in self.repo.changes(opened.base, head))
        )
        undeclared = self.footprints.undeclared(opened.task, observed)
        overlaps = {
            path: found
            for path in undeclared
            if (found := self.footprints.overlapping(opened.task, path))
        }
        return WorktreeRecord(
            branch=opened.branch,
            base=opened.base,
            head=head,
            observed=observed,
            undeclared=undeclared,
            overlaps=overlaps,
        )

    def _relative(self, path: str) -> str:
        """A repository path relative to the plan root (``../x`` outside it)."""
        if not self.prefix:
            return path
        if path.startswith(self.prefix):
            return path[len(self.prefix) :]
        return os.path.relpath(path, self.prefix)

    def merge(self, opened: Opened, head: str) -> Merge:
        """Merge the attempt's branch into the integration branch (the caller keeps merges
        in completion order)."""
        if head == opened.base:
            return Merge(AttemptStatus.SUCCEEDED)  # nothing changed: nothing to merge
        for _ in range(3):  # someone else may move the branch: merge again on its new head
            with METADATA_LOCK:
                old = self.head()
                if self.repo.is_ancestor(head, old):
                    return Merge(AttemptStatus.SUCCEEDED)
                result = self.repo.merge_tree(old, head)
                if not result.clean:
                    paths = tuple(self._relative(p) for p in result.conflicts)
                    collided = self._merged_tasks(opened.base, old, head, set(result.conflicts))
                    with_ = f" with {', '.join(collided)}" if collided else ""
                    return Merge(
                        AttemptStatus.CONFLICT,
                        conflicts=paths,
                        conflict_with=collided,
                        reason=f"merge conflict{with_} on {', '.join(paths)}",
                    )
                title = self.titles.get(opened.task, opened.task)
                message = (
                    f"waveplan: merge {opened.task} ({title})\n\n"
                    f"{RUN_TRAILER}: {self.run_id}\n{TASK_TRAILER}: {opened.task}\n"
                    f"{ATTEMPT_TRAILER}: {opened.attempt}\n"
                )
                commit = self.repo.commit_tree(result.tree, [old, head], message)
                blocked = self._bring_checkout(old, commit)
                if blocked is not None:
                    return blocked
                if self.repo.update_ref(self.integration, commit, old):
                    return Merge(
                        AttemptStatus.SUCCEEDED, merged=commit, shared=self._shared(opened, old)
                    )
                self._bring_checkout(commit, old)  # undo, and merge on the branch's new head
        raise GitError(f"the integration branch {self.integration} keeps moving")

    def _bring_checkout(self, old: str, new: str) -> Merge | None:
        """When the integration branch is checked out, bring that checkout from ``old`` to
        ``new``; a Merge saying why not when the user changed files the merge changes. Raises
        :class:`GitError` with git's words when it is not that (an index lock another git
        process kept longer than waveplan waits)."""
        checkout = self.repo.checked_out().get(self.integration)
        if checkout is None:
            return None
        refused = self.repo.fast_forward_checkout(checkout, old, new)
        if refused is None:
            return None
        touched = {c.path for c in self.repo.changes(old, new)}
        here = Git(checkout)
        dirty = [self._relative(p) for p in here.dirty_files() if p in touched]
        untracked = [self._relative(p) for p in here.untracked_files() if p in touched]
        if not (dirty or untracked):
            raise GitError(f"cannot bring {checkout} along with the merge: {refused}")
        what = []
        if dirty:
            what.append(f"uncommitted changes to {', '.join(dirty)}")
        if untracked:
            what.append(f"untracked {', '.join(untracked)}")
        return Merge(
            AttemptStatus.CONFLICT,
            conflicts=tuple(dirty + untracked),
            reason=f"{checkout} has {' and '.join(what)} that this merge would overwrite; "
            "commit, stash or move them",
        )

    def _shared(self, opened: Opened, old: str) -> tuple[str, ...]:
        """Files the attempt changed that tasks merged since it started changed too."""
        if old == opened.base:
            return ()
        mine = {c.path for c in self.repo.changes(opened.base, opened.branch)}
        theirs = {c.path for c in self.repo.changes(opened.base, old)}
        return tuple(sorted(self._relative(p) for p in mine & theirs))

    def _merged_tasks(self, since: str, until: str, head: str, paths: set[str]) -> tuple[str, ...]:
        """Tasks of this run merged between two commits whose work ``head`` (an attempt that
        started at ``since``) collides with on ``paths``.

        Each task merged meanwhile that changed one of the paths is a suspect, but its change
        may merge cleanly with the attempt's (other lines of the file). Merging ``head`` into
        the integration branch as each suspect's merge left it, oldest first, tells them
        apart: a suspect collided when its merge made a path conflict, or changed what
        conflicts in it. When that clears every suspect, all are named (conservative).
        """
        suspects: list[tuple[str, str]] = []
        for commit, message in reversed(self.repo.log_messages(since, until)):
            trailers = _trailers(message)
            task = trailers.get(TASK_TRAILER)
            if trailers.get(RUN_TRAILER) != self.run_id or task is None:
                continue
            changed = {c.path for c in self.repo.changes(f"{commit}^1", commit)}
            if changed & paths:
                suspects.append((task, commit))
        named = {task for task, _ in suspects}
        if len(named) < 2:
            return tuple(sorted(named))
        found: set[str] = set()
        before: dict[str, tuple[bytes, ...]] = {}  # at `since`, where it started, nothing
        for task, commit in suspects:
            after = self._conflicts(commit, head, paths)
            if any(before.get(path) != regions for path, regions in after.items()):
                found.add(task)
            before = after
        return tuple(sorted(found or named))

    def _conflicts(self, ours: str, theirs: str, paths: set[str]) -> dict[str, tuple[bytes, ...]]:
        """Which of ``paths`` merging two commits conflicts on, each with its conflicting
        regions (none for a conflict without text, such as a file against a folder)."""
        result = self.repo.merge_tree(ours, theirs)
        return {
            path: _regions(self.repo.blob(result.tree, path))
            for path in result.conflicts
            if path in paths
        }

    # --- resuming -----------------------------------------------------------------------------

    def merged(self) -> dict[str, tuple[int, WorktreeRecord]]:
        """Tasks of this run whose work is on the integration branch: the attempt that was
        merged (the newest merge of each task) and what it did."""
        found: dict[str, tuple[int, WorktreeRecord]] = {}
        for commit, message in self.repo.log_messages(self.base, self.head()):
            trailers = _trailers(message)
            task = trailers.get(TASK_TRAILER)
            if trailers.get(RUN_TRAILER) != self.run_id or task is None or task in found:
                continue
            attempt = trailers.get(ATTEMPT_TRAILER, "1")
            head = self.repo.rev(f"{commit}^2")
            base = None if head is None else self.repo.merge_base(f"{commit}^1", head)
            record = WorktreeRecord(branch=self.branch(task), merged=commit)
            if head is not None and base is not None:
                opened = Opened(task, 0, self.branch(task), self.worktree(task), Path(), base)
                record = dataclasses.replace(self.observe(opened, head), merged=commit)
            found[task] = (int(attempt) if attempt.isdigit() else 1, record)
        return found


def _regions(text: bytes | None) -> tuple[bytes, ...]:
    """The conflict regions of a file git merged with conflicts, without their marker lines
    (which name the commits merged), sorted."""
    found: list[bytes] = []
    region: list[bytes] | None = None
    for line in (text or b"").splitlines():
        if line.startswith(b"<<<<<<<"):
            region = []
        elif region is not None and line.startswith(b">>>>>>>"):
            found.append(b"\n".join(region))
            region = None
        elif region is not None and not line.startswith((b"=======", b"|||||||")):
            region.append(line)
    return tuple(sorted(found))


def _trailers(message: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in message.splitlines():
        key, colon, value = line.partition(": ")
        if colon and key in (RUN_TRAILER, TASK_TRAILER, ATTEMPT_TRAILER):
            found[key] = value.strip()
    return found


# --- the executor ------------------------------------------------------------------------------


class WorktreeExecutor(ThreadedExecutor):
    """Runs each attempt as a local process in the task's own worktree, then commits and
    merges its work before reporting how it ended."""

    def __init__(
        self,
        workers: int,
        workspace: Workspace,
        *,
        run_id: str | None = None,
        grace: float = KILL_GRACE,
        watchdog: bool = True,
    ) -> None:
        self.workspace = workspace
        super().__init__(workers, run_id=run_id, grace=grace, watchdog=watchdog)

    def _execute(self, job: Job, worker: str) -> Outcome:
        if job.command is None or self._is_stopping():
            return super()._execute(job, worker)
        start = self.now()
        space = self.workspace
        try:
            opened = space.open(job.task, job.attempt)
        except GitError as exc:
            note_in_log(job.log, f"waveplan: cannot make the task's worktree: {exc}")
            return Outcome(
                job, AttemptStatus.FAILED, None, start, self.now(), worker, self.host, _reason(exc)
            )
        env = {**job.env, "WAVEPLAN_WORKTREE": str(opened.path), "WAVEPLAN_BRANCH": opened.branch}
        ran = super()._execute(dataclasses.replace(job, cwd=str(opened.cwd), env=env), worker)
        succeeded = ran.status is AttemptStatus.SUCCEEDED
        ticket = space.turns.take() if succeeded else None
        status, reason = ran.status, None
        record = WorktreeRecord(branch=opened.branch, base=opened.base)
        try:
            head = space.commit(opened, succeeded=succeeded)
            record = space.observe(opened, head)
            if ticket is not None:
                with space.turns.turn(ticket):
                    ticket = None
                    merge = space.merge(opened, head)
                status, reason = merge.status, merge.reason
                record = dataclasses.replace(
                    record,
                    merged=merge.merged,
                    conflict_paths=merge.conflicts,
                    conflict_with=merge.conflict_with,
                    shared=merge.shared,
                )
                if status is AttemptStatus.SUCCEEDED:
                    space.repo.remove_worktree(opened.path)
        except GitError as exc:
            note_in_log(job.log, f"waveplan: {exc}")
            status, reason = AttemptStatus.FAILED, _reason(exc)
        finally:
            if ticket is not None:  # never leave later merges waiting
                with space.turns.turn(ticket):
                    pass
        return Outcome(
            job, status, ran.exit_code, start, self.now(), worker, self.host, reason, record
        )


def _reason(exc: GitError) -> str:
    """A git failure as the one-line reason the report shows; git's advice that follows
    ("Another git process seems to be running...") is in the attempt's log."""
    return str(exc).strip().split("\n", 1)[0]


# --- cleaning up --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cleaned:
    """What :func:`clean_run` removed and kept: ``kept`` are task branches with unmerged
    work, ``kept_worktrees`` worktrees with changes nobody committed, ``checked_out`` task
    branches someone checked out (to look at a task's work), with where."""

    worktrees: tuple[Path, ...]
    branches: tuple[str, ...]
    kept: tuple[str, ...]
    kept_worktrees: tuple[Path, ...] = ()
    checked_out: tuple[tuple[str, Path], ...] = ()


def clean_run(
    repo: Git,
    run_id: str,
    integration: str,
    *,
    tasks: Collection[str],
    everything: bool = False,
) -> Cleaned:
    """Remove what a finished run left: its worktrees, and the branches of its ``tasks`` whose
    work is on the integration branch (all of them with ``everything``). A worktree holding
    changes nobody committed (someone looked into a conflict and edited it) is kept unless
    ``everything``, and a branch checked out in a worktree waveplan did not make (the user's
    checkout) is always kept: deleting it would leave that checkout on a branch that no
    longer exists. The integration branch and anything waveplan did not create (another
    branch under the run's prefix included) are never touched."""
    folder = worktrees_dir(repo.common_dir(), run_id)
    removed: list[Path] = []
    kept_worktrees: list[Path] = []
    with METADATA_LOCK:
        known = [path for path in repo.worktrees() if path.parent == folder]
        strays = [p for p in sorted(folder.iterdir()) if p not in known] if folder.exists() else []
        for path in known:
            if not everything and _has_changes(path):
                kept_worktrees.append(path)
                continue
            repo.remove_worktree(path)
            removed.append(path)
        for path in strays:  # folders git no longer knows
            repo.remove_worktree(path)
            removed.append(path)
        if folder.exists() and not any(folder.iterdir()):
            folder.rmdir()
        repo.run("worktree", "prune")
        head = repo.rev(f"refs/heads/{integration}")
        deleted: list[str] = []
        kept: list[str] = []
        held: list[tuple[str, Path]] = []
        mine = {task_branch_name(run_id, task): task for task in tasks}
        looked_into = {path.name for path in kept_worktrees}
        checked_out = repo.checked_out()
        for branch, commit in sorted(repo.branches(f"{TASK_BRANCHES}/{run_id}/").items()):
            if branch not in mine:
                continue
            merged = head is not None and repo.is_ancestor(commit, head)
            if not (merged or everything) or mine[branch] in looked_into:
                kept.append(branch)
            elif branch in checked_out:
                held.append((branch, checked_out[branch]))
            else:
                repo.delete_branch(branch, checked_out)
                deleted.append(branch)
    return Cleaned(
        tuple(dict.fromkeys(removed)),
        tuple(deleted),
        tuple(kept),
        tuple(kept_worktrees),
        tuple(held),
    )


def _has_changes(path: Path) -> bool:
    """Whether a worktree holds changes nobody committed (tracked or untracked files)."""
    try:
        here = Git(path)
        return bool(here.dirty_files() or here.untracked_files())
    except GitError:
        return False

"""Hidden collisions: what a plan's tasks touch beyond what they declare, with evidence.

:func:`infer_plan` reads the repository the plan works on and returns an :class:`Inference`:
the findings, each with its evidence, and the plan with the accesses the findings add
(:attr:`~waveplan.model.Origin.INFERRED`, each with its :class:`~waveplan.model.Evidence` in
``plan.evidence``). Every finding starts from a file a task declares it writes; files no task
writes are never reported on their own. The kinds:

- ``imports``: a task writing a module that imports a module another task writes reads it
  (*import coupling*); a module one task writes and the files of several other tasks import
  is a *shared helper*;
- ``tests``: the tests a task affects become ``tests`` reads (*test footprint*); fixtures,
  ports, URLs and paths that the tests of several tasks use become exclusive ``tests``
  resources of those tasks (*test conflict*);
- ``state``: the tables in the SQL and migrations of a task's files become ``db.<table>``
  state (reads when only SELECTed);
- ``history``: files that changed with a task's files in enough commits are *likely also
  touched* (writes).
"""

from __future__ import annotations

import bisect
import os
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any

from waveplan.graph import Graph, ancestors
from waveplan.infer.cache import CACHE_DIR, FactCache, stored_flag, stored_number, stored_text
from waveplan.infer.cochange import CoChange, CoChangeIndex, Commit, HistorySettings
from waveplan.infer.modules import Edge, ModuleGraph, Resolver
from waveplan.infer.repo import Repository, Sources, text_of
from waveplan.infer.source import ImportRef, Language, Literal, js_imports, python_imports
from waveplan.infer.sql import TableUse, migration_tables, statement_tables
from waveplan.infer.tests import TestFacts, footprint, is_test_file, scan_tests, test_uses
from waveplan.model import Access, Evidence, Mode, Origin, Plan, ResourceKind, Task
from waveplan.resources.index import covers
from waveplan.resources.names import is_glob, is_named_test_resource, literal_segments

__all__ = [
    "ALL_KINDS",
    "DEFAULT_KINDS",
    "Addition",
    "Finding",
    "FindingKind",
    "Inference",
    "Kind",
    "Stats",
    "infer_plan",
]

MAX_EVIDENCE = 6
"""Evidence lines kept per finding item (the rest is counted)."""


class Kind(Enum):
    """The analyses, as ``--infer`` and ``--kinds`` name them."""

    IMPORTS = "imports"
    TESTS = "tests"
    STATE = "state"
    HISTORY = "history"


DEFAULT_KINDS = (Kind.IMPORTS, Kind.TESTS, Kind.STATE)
ALL_KINDS = (*DEFAULT_KINDS, Kind.HISTORY)


class FindingKind(Enum):
    """What a finding says."""

    IMPORT_COUPLING = "import coupling"
    SHARED_HELPER = "shared helper"
    TEST_FOOTPRINT = "test footprint"
    TEST_CONFLICT = "test conflict"
    STATE = "state"
    LIKELY_TOUCHED = "likely also touched"

    @property
    def analysis(self) -> Kind:
        """The analysis that makes this kind of finding."""
        return _ANALYSIS[self]


_ANALYSIS = {
    FindingKind.IMPORT_COUPLING: Kind.IMPORTS,
    FindingKind.SHARED_HELPER: Kind.IMPORTS,
    FindingKind.TEST_FOOTPRINT: Kind.TESTS,
    FindingKind.TEST_CONFLICT: Kind.TESTS,
    FindingKind.STATE: Kind.STATE,
    FindingKind.LIKELY_TOUCHED: Kind.HISTORY,
}


@dataclass(frozen=True, slots=True)
class Addition:
    """An access a finding adds to a task, with the evidence lines about it."""

    task: str
    access: Access
    evidence: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Finding:
    """One hidden collision (or footprint), with its evidence.

    ``tasks`` are the tasks involved, ``resources`` what they collide on (plan paths, state
    and test resource names), ``summary`` one sentence, ``evidence`` what was seen (source
    lines, import chains, counts), ``added`` the accesses it adds to the plan.
    """

    kind: FindingKind
    tasks: tuple[str, ...]
    resources: tuple[str, ...]
    summary: str
    evidence: tuple[str, ...]
    added: tuple[Addition, ...] = ()


@dataclass(frozen=True, slots=True)
class Stats:
    """How much was read: files listed, files scanned, scans served from the cache."""

    files: int = 0
    scanned: int = 0
    cached: int = 0
    parsed: int = 0
    commits: int = 0


@dataclass(frozen=True, slots=True, eq=False)
class Inference:
    """The findings and the plan with their accesses added."""

    plan: Plan
    findings: tuple[Finding, ...]
    kinds: tuple[Kind, ...]
    repo: str
    notes: tuple[str, ...] = ()
    stats: Stats = field(default_factory=Stats)


def _scan_imports(text: str, language: Language, path: str) -> Any:
    if language is Language.SQL:
        return [[], []]
    refs, literals = python_imports(text) if language is Language.PYTHON else js_imports(text)
    return [
        [[r.line, r.text, r.module, r.level, list(r.names)] for r in refs],
        [[lit.line, lit.text] for lit in literals],
    ]


def _refs(data: Any) -> list[ImportRef]:
    return [
        ImportRef(
            stored_number(a),
            stored_text(b),
            stored_text(c),
            stored_number(d),
            tuple(stored_text(n) for n in e),
        )
        for a, b, c, d, e in data[0]
    ]


def _scan_state(text: str, language: Language, path: str) -> Any:
    literals = (
        [Literal(1, text)]
        if language is Language.SQL
        else (python_imports(text) if language is Language.PYTHON else js_imports(text))[1]
    )
    uses = [u for lit in literals for u in statement_tables(lit.text, lit.line)]
    uses += migration_tables(text, path)
    return [[u.table, u.write, u.line, u.text] for u in uses]


def _uses(data: Any) -> list[TableUse]:
    return [
        TableUse(stored_text(t), stored_flag(w), stored_number(n), stored_text(s))
        for t, w, n, s in data
    ]


class _Paths:
    """Repository paths and plan paths (relative to the plan root), both ways."""

    def __init__(self, root: Path, repo: Path) -> None:
        self.inner = ""  # the plan root inside the repository
        self.outer = ""  # the repository inside the plan root
        if root == repo:
            return
        if root.is_relative_to(repo):
            self.inner = root.relative_to(repo).as_posix()
        elif repo.is_relative_to(root):
            self.outer = repo.relative_to(root).as_posix()
        else:
            raise ValueError(
                f"the repository {repo} and the plan root {root} do not contain each other"
            )

    def to_plan(self, path: str) -> str | None:
        if self.inner:
            prefix = self.inner + "/"
            return path[len(prefix) :] if path.startswith(prefix) else None
        return f"{self.outer}/{path}" if self.outer else path


def _literal_prefix(key: str) -> str:
    """The part of a path key before its first wildcard segment."""
    if not is_glob(key):
        return key.rstrip("/")
    return "/".join(literal_segments(key.split("/")))


def _matching(keys: Iterable[str], paths: Sequence[str]) -> list[int]:
    """Indices of the (sorted) plan paths some key covers."""
    found: set[int] = set()
    for key in keys:
        prefix = _literal_prefix(key)
        start = bisect.bisect_left(paths, prefix) if prefix not in ("", ".") else 0
        for i in range(start, len(paths)):
            path = paths[i]
            if prefix and prefix != "." and not path.startswith(prefix):
                break
            if covers(key, path):
                found.add(i)
    return sorted(found)


def _declared_writes(task: Task) -> list[str]:
    """The file keys a task declares it writes."""
    return [a.key for a in task.accesses if a.kind is ResourceKind.FILE and a.mode is Mode.WRITE]


def _covered(task: Task, kind: ResourceKind, key: str, mode: Mode) -> bool:
    """Whether the task already declares an access covering this key in this mode: any
    access covers a read, only a write covers a write (a declared read of a table the task
    updates must not hide the write)."""
    named = kind is ResourceKind.TEST and is_named_test_resource(key)
    for access in task.accesses:
        if access.kind is not kind or (mode is Mode.WRITE and access.mode is not Mode.WRITE):
            continue
        if kind is ResourceKind.STATE:
            if key == access.key or key.startswith(access.key + "."):
                return True
        elif named or (kind is ResourceKind.TEST and is_named_test_resource(access.key)):
            if key == access.key:
                return True
        elif covers(access.key, key):
            return True
    return False


class _Folders:
    """Where the test files are, to name a whole folder of tests by the folder."""

    def __init__(self, tests: Iterable[str]) -> None:
        self.count: Counter[str] = Counter()
        for test in tests:
            self.count.update(_folders(test))

    def cover(self, tests: Sequence[str]) -> list[tuple[str, list[str]]]:
        """The tests as keys: a folder (``tests/unit/``) when every test file under it is
        among them (never the root: a folder key must not cover named test resources), else
        each test file. Each key comes with the tests it stands for."""
        mine: Counter[str] = Counter()
        for test in tests:
            mine.update(_folders(test))
        grouped: dict[str, list[str]] = {}
        for test in tests:
            key = test
            for folder in _folders(test):  # the outermost complete folder wins
                if mine[folder] == self.count[folder] and mine[folder] > 1:
                    key = folder + "/"
                    break
            grouped.setdefault(key, []).append(test)
        return sorted(grouped.items())


def _folders(path: str) -> list[str]:
    """The folders a path is in, outermost first (the root excluded)."""
    parts = path.split("/")[:-1]
    return ["/".join(parts[: n + 1]) for n in range(len(parts))]


def _join(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _capped(lines: Sequence[str], limit: int = MAX_EVIDENCE) -> list[str]:
    if len(lines) <= limit:
        return list(lines)
    return [*lines[:limit], f"... and {len(lines) - limit} more"]


class _Analysis:
    """One run of the analyses over one plan and one repository."""

    def __init__(
        self,
        *,
        plan: Plan,
        repo: Repository,
        sources: Sources,
        paths: _Paths,
        history: HistorySettings,
        commits: Sequence[Commit] | None,
    ) -> None:
        self.plan = plan
        self.repo = repo
        self.sources = sources
        self.paths = paths
        self.settings = history
        self.commits = commits
        self.full_graph = False  # set when the tests analysis will need every file's imports
        self.notes: list[str] = []
        self.findings: list[Finding] = []
        self.commit_count = 0
        self.tasks = {t.id: t for t in plan.tasks}
        self.plan_path: dict[str, str] = {}
        self.repo_path: dict[str, str] = {}
        for file in repo.files:
            mapped = paths.to_plan(file)
            if mapped is not None:
                self.plan_path[file] = mapped
                self.repo_path[mapped] = file
        self.files = set(repo.files)
        ordered = sorted(self.repo_path)
        self.written: dict[str, list[str]] = {}
        self.writers: dict[str, list[str]] = {}
        for task in plan.tasks:
            # a task done before the plan was read collides with nothing any more
            keys = [] if task.done else _declared_writes(task)
            files = [self.repo_path[ordered[i]] for i in _matching(keys, ordered)]
            self.written[task.id] = files
            for file in files:
                self.writers.setdefault(file, []).append(task.id)
        self._graph: ModuleGraph | None = None
        self._full = False
        self._resolver: Resolver | None = None
        self._graph_of_plan: Graph | None = None
        self._upstream: dict[int, set[int]] = {}  # ancestors of the tasks asked about
        self._lines: dict[str, list[str]] = {}

    # -- shared pieces ----------------------------------------------------------------------

    def resolver(self) -> Resolver:
        if self._resolver is None:
            self._resolver = Resolver(self.repo.files)
        return self._resolver

    def graph(self, full: bool) -> ModuleGraph:
        """The module graph of the written files, or of every file when ``full``."""
        if self._graph is not None and (self._full or not full):
            return self._graph
        chosen = self.repo.files if full else sorted(self.writers)
        refs: dict[str, list[ImportRef]] = {}
        for file in chosen:
            found = self.sources.facts(file, "imports", _scan_imports, _refs)
            if found:
                refs[file] = found
        self._graph = ModuleGraph.build(self.resolver(), refs)
        self._full = full
        return self._graph

    def line(self, file: str, number: int) -> str:
        lines = self._lines.get(file)
        if lines is None:
            data = self.repo.read(file)
            lines = text_of(data).splitlines() if data else []
            self._lines[file] = lines
        text = lines[number - 1].strip() if 0 < number <= len(lines) else ""
        return text[:160]

    def ordered(self, a: str, b: str) -> bool:
        """Whether dependencies already order tasks a and b one way or the other."""
        if self._graph_of_plan is None:
            self._graph_of_plan = Graph.from_plan(self.plan)
        graph = self._graph_of_plan
        ia, ib = graph.index[a], graph.index[b]
        return ia in self._ancestors(graph, ib) or ib in self._ancestors(graph, ia)

    def _ancestors(self, graph: Graph, node: int) -> set[int]:
        found = self._upstream.get(node)
        if found is None:
            found = self._upstream[node] = ancestors(graph.preds, [node])
        return found

    def shown(self, file: str) -> str:
        """A repository path as the plan names it (as it is when outside the plan root)."""
        found = self.plan_path.get(file)
        if found is None:
            found = self.paths.to_plan(file) or file
        return found

    def add(
        self,
        kind: FindingKind,
        *,
        tasks: Sequence[str],
        resources: Sequence[str],
        summary: str,
        evidence: Sequence[str],
        added: Sequence[Addition] = (),
    ) -> None:
        self.findings.append(
            Finding(kind, tuple(tasks), tuple(resources), summary, tuple(evidence), tuple(added))
        )

    # -- imports ----------------------------------------------------------------------------

    def imports(self) -> None:
        graph = self.graph(full=self.full_graph)
        importers: dict[str, dict[str, list[Edge]]] = {}  # module -> importing task -> edges
        for task in self.plan.tasks:
            for file in self.written[task.id]:
                for edge in graph.imports.get(file, ()):
                    if edge.target in self.writers:
                        found = importers.setdefault(edge.target, {})
                        found.setdefault(task.id, []).append(edge)
        for module in sorted(importers):
            writers = self.writers[module]
            by_task = importers[module]
            others = [t for t in by_task if t not in writers]
            key = self.shown(module)
            for task_id in others:
                task = self.tasks[task_id]
                if _covered(task, ResourceKind.FILE, key, Mode.READ):
                    continue
                edges = by_task[task_id]
                sources = list(dict.fromkeys(self.shown(e.source) for e in edges))
                verb = "imports" if len(sources) == 1 else "import"
                note = ""
                if all(self.ordered(task_id, w) for w in writers):
                    note = " (dependencies already order them)"
                access = Access(ResourceKind.FILE, key, Mode.READ, origin=Origin.INFERRED)
                lines = _capped([self._edge(e) for e in edges])
                self.add(
                    FindingKind.IMPORT_COUPLING,
                    tasks=[*writers, task_id],
                    resources=[key],
                    summary=f"{task_id} writes {_join(sources)}, which {verb} {key}; "
                    f"{_join(writers)} {'writes' if len(writers) == 1 else 'write'} {key}: "
                    f"{task_id} reads it{note}",
                    evidence=lines,
                    added=[Addition(task_id, access, tuple(lines))],
                )
            if len(others) >= 2:
                edges = [e for t in others for e in by_task[t]]
                self.add(
                    FindingKind.SHARED_HELPER,
                    tasks=[*writers, *others],
                    resources=[key],
                    summary=f"{key} is written by {_join(writers)} and imported by the files of "
                    f"{_join(others)}: change it first in its own task, and make "
                    f"{_join(others)} depend on that task",
                    evidence=_capped([self._edge(e) for e in edges]),
                )

    def _edge(self, edge: Edge) -> str:
        return f"{self.shown(edge.source)}:{edge.line}: {edge.text}"

    # -- tests ------------------------------------------------------------------------------

    def tests(self) -> None:
        graph = self.graph(full=True)
        prints = {
            task.id: footprint(graph, self.written[task.id], is_test_file)
            for task in self.plan.tasks
        }
        folders = _Folders(f for f in self.repo.files if is_test_file(f))
        for task in self.plan.tasks:
            fp = prints[task.id]
            added: list[Addition] = []
            for key, tests in folders.cover(fp.tests):
                name = self.paths.to_plan(key.rstrip("/"))
                if name is None:
                    continue  # outside the plan root: no access can name it
                name += "/" if key.endswith("/") else ""
                if _covered(task, ResourceKind.TEST, name, Mode.READ):
                    continue
                access = Access(ResourceKind.TEST, name, Mode.READ, origin=Origin.INFERRED)
                chain = self._chain(tests[0], fp.via[tests[0]])
                if len(tests) > 1:
                    chain = f"{name}: all {len(tests)} test files in it, such as {chain}"
                added.append(Addition(task.id, access, (chain,)))
            if added:
                count = sum(len(t) for _, t in folders.cover(fp.tests))
                self.add(
                    FindingKind.TEST_FOOTPRINT,
                    tasks=[task.id],
                    resources=[a.access.key for a in added],
                    summary=f"{task.id} affects {count} test file{'s' if count != 1 else ''}",
                    evidence=_capped([a.evidence[0] for a in added], 20),
                    added=added,
                )
        every = sorted({t for fp in prints.values() for t in fp.tests})
        facts_of: dict[str, TestFacts | None] = {}

        def facts(path: str) -> TestFacts | None:
            if path not in facts_of:
                facts_of[path] = self.sources.facts(path, "tests", scan_tests, TestFacts.from_json)
            return facts_of[path]

        by_test: dict[str, list[tuple[str, str]]] = {}
        for use in test_uses(every, facts, self.files, self.line):
            by_test.setdefault(use.test, []).append((use.resource, use.evidence))
        users: dict[str, dict[str, list[str]]] = {}  # resource -> task -> evidence
        for task in self.plan.tasks:
            for test in prints[task.id].tests:
                for resource, evidence in by_test.get(test, ()):
                    lines = users.setdefault(resource, {}).setdefault(task.id, [])
                    if evidence not in lines:
                        lines.append(evidence)
        groups: dict[tuple[str, ...], list[str]] = {}
        for resource in sorted(users):
            if len(users[resource]) >= 2:
                groups.setdefault(tuple(users[resource]), []).append(resource)
        for tasks, resources in sorted(groups.items()):
            conflict: list[Addition] = []
            shared: list[str] = []
            for task_id in tasks:
                for resource in resources:
                    key = self._test_key(resource)
                    if not _covered(self.tasks[task_id], ResourceKind.TEST, key, Mode.WRITE):
                        access = Access(ResourceKind.TEST, key, Mode.WRITE, origin=Origin.INFERRED)
                        lines = _capped(users[resource][task_id], 3)
                        conflict.append(Addition(task_id, access, tuple(lines)))
                seen = [line for r in resources for line in users[r][task_id]]
                shared += [f"{task_id}: {line}" for line in _capped(list(dict.fromkeys(seen)), 3)]
            if not conflict:
                continue
            shown = [self._test_key(r) for r in resources]
            self.add(
                FindingKind.TEST_CONFLICT,
                tasks=tasks,
                resources=shown,
                summary=f"the tests of {_join(list(tasks))} share {_join(shown)}: they cannot "
                "run at the same time",
                evidence=shared,
                added=conflict,
            )

    def _test_key(self, resource: str) -> str:
        """A test resource as the plan names it (fixture paths relative to the plan root)."""
        if resource.startswith("fixture:"):
            conftest, _, name = resource[len("fixture:") :].partition("::")
            return f"fixture:{self.shown(conftest)}::{name}"
        return resource

    def _chain(self, test: str, via: Sequence[Edge]) -> str:
        if not via:
            return f"{self.shown(test)}: written by the task"
        hops = [f"{self.shown(e.source)}:{e.line} imports {self.shown(e.target)}" for e in via]
        if len(hops) > 4:
            hops = [*hops[:3], f"... ({len(hops) - 4} more)", hops[-1]]
        return "; ".join(hops)

    # -- state ------------------------------------------------------------------------------

    def state(self) -> None:
        for task in self.plan.tasks:
            tables: dict[str, list[TableUse]] = {}
            where: dict[str, list[str]] = {}
            for file in self.written[task.id]:
                for use in self.sources.facts(file, "state", _scan_state, _uses) or ():
                    tables.setdefault(use.table, []).append(use)
                    where.setdefault(use.table, []).append(
                        f"{self.shown(file)}:{use.line}: {use.text}"
                    )
            added: list[Addition] = []
            for table in sorted(tables):
                key = f"db.{table}"
                write = any(u.write for u in tables[table])
                mode = Mode.WRITE if write else Mode.READ
                if _covered(task, ResourceKind.STATE, key, mode):
                    continue
                access = Access(ResourceKind.STATE, key, mode, origin=Origin.INFERRED)
                lines = _capped(list(dict.fromkeys(where[table])), 3)
                added.append(Addition(task.id, access, tuple(lines)))
            if added:
                named = [f"{a.access.key} ({a.access.mode.value})" for a in added]
                self.add(
                    FindingKind.STATE,
                    tasks=[task.id],
                    resources=[a.access.key for a in added],
                    summary=f"{task.id}'s files use {_join(named)}",
                    evidence=[line for a in added for line in a.evidence],
                    added=added,
                )

    # -- history ----------------------------------------------------------------------------

    def history(self) -> None:
        commits = self.commits
        if commits is None:
            if not self.repo.git:
                self.notes.append("history: not a git repository, nothing read")
                return
            commits = self.repo.log(self.settings.max_commits)
        self.commit_count = len(commits)
        if not commits:
            self.notes.append("history: no commits")
            return
        index = CoChangeIndex.of(commits, self.settings.max_files)
        known = sorted(f for f in index.files() if self.paths.to_plan(f) is not None)
        shown_known = [self.paths.to_plan(f) or f for f in known]
        order = sorted(range(len(known)), key=lambda i: shown_known[i])
        plan_sorted = [shown_known[i] for i in order]
        for task in self.plan.tasks:
            keys = [] if task.done else _declared_writes(task)
            declared = [known[order[i]] for i in _matching(keys, plan_sorted)]
            if not declared:
                continue
            predicted = index.predict(
                declared,
                threshold=self.settings.threshold,
                min_support=self.settings.min_support,
                limit=None,
                recent=self.settings.recent,
            )
            kept: list[CoChange] = []
            for guess in predicted:
                key = self.paths.to_plan(guess.file)
                if guess.file not in self.files or key is None:
                    continue  # gone since, or outside the plan root
                if _covered(task, ResourceKind.FILE, key, Mode.WRITE):
                    continue
                kept.append(guess)
            kept = kept[: self.settings.limit]
            if not kept:
                continue
            base = kept[0].base
            files = [self.shown(g.file) for g in kept]
            evidence = [
                f"{self.shown(g.file)}: changed in {g.support} of the {g.base} commits that "
                f"changed {_declared(declared, self.shown)} ({g.confidence:.0%})"
                for g in kept
            ]
            added = [
                Addition(
                    task.id,
                    Access(ResourceKind.FILE, f, Mode.WRITE, origin=Origin.INFERRED),
                    (line,),
                )
                for f, line in zip(files, evidence, strict=True)
            ]
            self.add(
                FindingKind.LIKELY_TOUCHED,
                tasks=[task.id],
                resources=files,
                summary=f"{task.id} likely also touches {_join(files)} (from {base} commits)",
                evidence=evidence,
                added=added,
            )


def _declared(files: Sequence[str], shown: Callable[[str], str]) -> str:
    if len(files) == 1:
        return shown(files[0])
    return f"{shown(files[0])} or {len(files) - 1} other declared file" + (
        "s" if len(files) > 2 else ""
    )


def _with_inferred(plan: Plan, findings: Sequence[Finding]) -> Plan:
    """The plan with the findings' accesses added, marked inferred, with their evidence. A
    write and a read of one key in one task keep the write."""
    chosen: dict[str, dict[tuple[ResourceKind, str], tuple[Addition, FindingKind]]] = {}
    for finding in findings:
        for addition in finding.added:
            access = addition.access
            slot = chosen.setdefault(addition.task, {})
            previous = slot.get((access.kind, access.key))
            if previous is None or (
                access.mode is Mode.WRITE and previous[0].access.mode is not Mode.WRITE
            ):
                slot[(access.kind, access.key)] = (addition, finding.kind)
    if not chosen:
        return plan
    tasks: list[Task] = []
    evidence: dict[str, dict[Access, Evidence]] = {k: dict(v) for k, v in plan.evidence.items()}
    for task in plan.tasks:
        extra = chosen.get(task.id)
        if not extra:
            tasks.append(task)
            continue
        ordered = sorted(extra.values(), key=lambda p: (p[0].access.kind.value, p[0].access.key))
        tasks.append(replace(task, accesses=task.accesses + tuple(a.access for a, _ in ordered)))
        mine = evidence.setdefault(task.id, {})
        for addition, kind in ordered:
            mine[addition.access] = Evidence(kind.value, addition.evidence)
    return replace(plan, tasks=tuple(tasks), evidence=evidence)


_KIND_ORDER = {kind: n for n, kind in enumerate(FindingKind)}


def infer_plan(
    plan: Plan,
    repo: str | os.PathLike[str] | None = None,
    kinds: Collection[Kind] = DEFAULT_KINDS,
    *,
    history: HistorySettings | None = None,
    commits: Sequence[Commit] | None = None,
    cache: bool = True,
) -> Inference:
    """Find the hidden collisions of ``plan`` in ``repo`` (default: the plan root).

    ``commits`` replaces the repository's ``git log`` (oldest first) for the history
    analysis. The cache lives in ``.waveplan/infer-cache/`` under the plan root; ``cache``
    False keeps it in memory. Raises ValueError when the repository is not a folder or does
    not overlap the plan root.
    """
    root = Path(plan.root).absolute()
    repository = Repository.open(repo if repo is not None else root)
    paths = _Paths(root, repository.path)
    facts = FactCache(root / CACHE_DIR if cache else None)
    sources = Sources(repository, facts)
    settings = history if history is not None else HistorySettings()
    analysis = _Analysis(
        plan=plan,
        repo=repository,
        sources=sources,
        paths=paths,
        history=settings,
        commits=commits,
    )
    chosen = tuple(k for k in ALL_KINDS if k in kinds)
    analysis.full_graph = Kind.TESTS in chosen
    for kind in chosen:
        getattr(analysis, kind.value)()
    for task in plan.tasks:
        declared = _declared_writes(task)
        if (
            declared
            and not task.done
            and not analysis.written[task.id]
            and any(k in (Kind.IMPORTS, Kind.TESTS, Kind.STATE) for k in chosen)
        ):
            analysis.notes.append(
                f"{task.id}: none of its files exist yet ({_join(declared[:3])}"
                f"{', ...' if len(declared) > 3 else ''}): nothing read for it"
            )
    sources.save()
    findings = sorted(
        analysis.findings,
        key=lambda f: (_KIND_ORDER[f.kind], f.resources, f.tasks),
    )
    stats = Stats(
        files=len(repository.files),
        scanned=sources.read_count,
        cached=facts.hits,
        parsed=facts.misses,
        commits=analysis.commit_count,
    )
    return Inference(
        plan=_with_inferred(plan, findings),
        findings=tuple(findings),
        kinds=chosen,
        repo=str(repository.path),
        notes=tuple(analysis.notes),
        stats=stats,
    )

"""The overlap index: which resource keys overlap, without enumerating conflicting task pairs.

Every distinct key becomes a *lock point* the scheduler can hold:

- **nodes** of a trie, one trie per namespace (files, state, tests). A file path, a directory and
  a dotted state name are nodes; a node covers its whole subtree, so ``src/`` overlaps
  ``src/a.ts`` and ``db`` overlaps ``db.users``. The scheduler checks a node's ancestors and
  keeps, per node, the holders of anything below it (intention locks), so a hot directory costs
  its depth, not its number of descendants.
- **globs** (``src/**/*.ts``), each with the precomputed list of nodes and other globs it
  overlaps. A glob covers the paths it matches and, like a directory, everything under a matched
  directory. Glob-versus-path is exact; glob-versus-glob is exact where the patterns allow it and
  conservative otherwise (recorded in :attr:`ResourceIndex.conservative`).
- **counted** resources with a capacity.

Cost is linear in accesses plus, per glob, the part of its trie that the pattern can reach.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

from waveplan.model import Mode, Plan, ResourceKind, Task
from waveplan.resources.names import ROOT_DIR, is_glob, is_named_test_resource, literal_segments

__all__ = ["READ", "WRITE", "Claim", "PointKind", "ResourceIndex", "covers"]

# Claim modes as small ints: the scheduler's inner loop compares them millions of times.
READ = 0
WRITE = 1
AMOUNT = 2

_MODE_CODE = {Mode.READ: READ, Mode.WRITE: WRITE, Mode.AMOUNT: AMOUNT}

Claim = tuple[int, int, int]
"""``(point, mode, amount)``: one task's hold on one lock point."""


class PointKind(Enum):
    """What a lock point is."""

    NODE = "node"
    GLOB = "glob"
    COUNTED = "counted"


_NAMESPACE = {ResourceKind.FILE: "", ResourceKind.STATE: "state:", ResourceKind.TEST: "test:"}


@dataclass(eq=False)
class ResourceIndex:
    """Lock points of a plan and how they overlap; ``claims[i]`` are task ``i``'s holds."""

    names: list[str]
    kinds: list[PointKind]
    resource_kinds: list[ResourceKind]
    ancestors: list[tuple[int, ...]]
    node_globs: list[tuple[int, ...]]
    glob_nodes: list[tuple[int, ...]]
    glob_globs: list[tuple[int, ...]]
    capacity: list[int]
    declared: list[bool]
    keys: list[tuple[tuple[ResourceKind, str], ...]]
    conservative: set[tuple[int, int]]
    claims: list[tuple[Claim, ...]]

    @classmethod
    def build(cls, plan: Plan) -> ResourceIndex:
        """Index every access of the plan's tasks (task ``i`` is ``plan.tasks[i]``)."""
        return _Builder(plan.capacities).build(plan.tasks)

    def __len__(self) -> int:
        return len(self.names)

    def overlapping(self, point: int) -> list[int]:
        """Points that overlap ``point`` (itself excluded): ancestors, descendants that are
        declared, and overlapping globs. Used for explanations, not in the scheduler loop."""
        kind = self.kinds[point]
        if kind is PointKind.COUNTED:
            return []
        if kind is PointKind.GLOB:
            return sorted({*self.glob_nodes[point], *self.glob_globs[point]})
        found = set(self.ancestors[point]) | set(self.node_globs[point])
        for other, chain in enumerate(self.ancestors):
            if point in chain and self.declared[other]:
                found.add(other)
        found.discard(point)
        return sorted(found)

    def is_conservative(self, a: int, b: int) -> bool:
        """True when the overlap of ``a`` and ``b`` was assumed, not proven."""
        return (min(a, b), max(a, b)) in self.conservative


class _Builder:
    def __init__(self, capacities: Mapping[str, int]) -> None:
        self.capacities = capacities
        self.names: list[str] = []
        self.kinds: list[PointKind] = []
        self.resource_kinds: list[ResourceKind] = []
        self.parent: list[int] = []
        self.children: list[dict[str, int]] = []
        self.capacity: list[int] = []
        self.declared: list[bool] = []
        self.roots: dict[ResourceKind, int] = {}
        self.by_key: dict[tuple[ResourceKind, str], int] = {}
        self.globs: dict[ResourceKind, list[int]] = {}
        self.patterns: dict[int, tuple[str, ...]] = {}

    def _new(self, name: str, kind: PointKind, rkind: ResourceKind, parent: int = -1) -> int:
        self.names.append(name)
        self.kinds.append(kind)
        self.resource_kinds.append(rkind)
        self.parent.append(parent)
        self.children.append({})
        self.capacity.append(0)
        self.declared.append(False)
        return len(self.names) - 1

    def _root(self, rkind: ResourceKind) -> int:
        root = self.roots.get(rkind)
        if root is None:
            label = ROOT_DIR if rkind is not ResourceKind.STATE else "*"
            root = self._new(_NAMESPACE[rkind] + label, PointKind.NODE, rkind)
            self.roots[rkind] = root
        return root

    def _node(self, rkind: ResourceKind, segments: Sequence[str], separator: str) -> int:
        node = self._root(rkind)
        prefix = _NAMESPACE[rkind]
        for depth, segment in enumerate(segments):
            child = self.children[node].get(segment)
            if child is None:
                name = prefix + separator.join(segments[: depth + 1])
                if separator == "/" and depth + 1 < len(segments):
                    name += "/"
                child = self._new(name, PointKind.NODE, rkind, node)
                self.children[node][segment] = child
            node = child
        return node

    def point(self, kind: ResourceKind, key: str) -> int:
        """The lock point of one normalised key (created on first use)."""
        found = self.by_key.get((kind, key))
        if found is not None:
            return found
        if kind is ResourceKind.COUNTED:
            point = self._new(f"counted:{key}", PointKind.COUNTED, kind)
            self.capacity[point] = self.capacities.get(key, 1)
        elif kind is ResourceKind.STATE:
            point = self._node(kind, key.split("."), ".")
        elif kind is ResourceKind.TEST and is_named_test_resource(key):
            point = self._node(kind, [key], "/")
        elif is_glob(key):
            point = self._new(_NAMESPACE[kind] + key, PointKind.GLOB, kind)
            self.patterns[point] = tuple(s for s in key.rstrip("/").split("/") if s)
            self.globs.setdefault(kind, []).append(point)
        elif key == ROOT_DIR:
            point = self._root(kind)
        else:
            segments = key.rstrip("/").split("/")
            point = self._node(kind, segments, "/")
            if key.endswith("/") and not self.names[point].endswith("/"):
                self.names[point] += "/"
        self.declared[point] = True
        self.by_key[(kind, key)] = point
        return point

    def build(self, tasks: Sequence[Task]) -> ResourceIndex:
        # Points are numbered in key order, not in order of appearance, so nothing derived
        # from point numbers (claim order, tie-breaks) depends on how a task lists its keys.
        # The loader shares one Access object between equal accesses, so work per distinct
        # object (keyed by identity: every object stays alive during the build).
        unique = {id(a): a for task in tasks for a in task.accesses}
        keys = {(a.kind, a.key) for a in unique.values()}
        for kind, key in sorted(keys, key=lambda k: (k[0].value, k[1])):
            self.point(kind, key)
        mode_code = _MODE_CODE
        of_access = {
            ident: (self.point(a.kind, a.key), mode_code[a.mode], a.amount)
            for ident, a in unique.items()
        }
        claims: list[tuple[Claim, ...]] = []
        for task in tasks:
            accesses = task.accesses
            if len(accesses) == 1:
                claims.append((of_access[id(accesses[0])],))
                continue
            held: dict[int, Claim] = {}
            for access in accesses:
                claim = of_access[id(access)]
                p = claim[0]
                previous = held.get(p)
                if previous is None:
                    held[p] = claim
                elif claim[1] == AMOUNT:
                    held[p] = (p, AMOUNT, previous[2] + claim[2])
                elif claim[1] > previous[1]:
                    held[p] = claim
            claims.append(tuple(sorted(held.values())))
        count = len(self.names)
        ancestors: list[tuple[int, ...]] = [()] * count
        for node in range(count):
            if self.kinds[node] is PointKind.NODE:
                chain = []
                up = self.parent[node]
                while up != -1:
                    chain.append(up)
                    up = self.parent[up]
                ancestors[node] = tuple(chain)
        node_globs: list[list[int]] = [[] for _ in range(count)]
        glob_nodes: list[tuple[int, ...]] = [()] * count
        glob_globs: list[list[int]] = [[] for _ in range(count)]
        conservative: set[tuple[int, int]] = set()
        for rkind, globs in self.globs.items():
            root = self.roots.get(rkind)
            for g in globs:
                hits = self._glob_overlaps(root, self.patterns[g]) if root is not None else []
                hits = [n for n in hits if self.declared[n]]
                glob_nodes[g] = tuple(hits)
                for n in hits:
                    node_globs[n].append(g)
            for g, h in self._glob_pairs(globs):
                overlap, exact = patterns_overlap(self.patterns[g], self.patterns[h])
                if overlap:
                    glob_globs[g].append(h)
                    glob_globs[h].append(g)
                    if not exact:
                        conservative.add((min(g, h), max(g, h)))
        return ResourceIndex(
            names=self.names,
            kinds=self.kinds,
            resource_kinds=self.resource_kinds,
            ancestors=ancestors,
            node_globs=[tuple(x) for x in node_globs],
            glob_nodes=glob_nodes,
            glob_globs=[tuple(sorted(x)) for x in glob_globs],
            capacity=self.capacity,
            declared=self.declared,
            keys=self._keys(count),
            conservative=conservative,
            claims=claims,
        )

    def _keys(self, count: int) -> list[tuple[tuple[ResourceKind, str], ...]]:
        """The declared keys of each point (``src`` and ``src/`` share one node)."""
        found: list[list[tuple[ResourceKind, str]]] = [[] for _ in range(count)]
        for key, point in self.by_key.items():
            found[point].append(key)
        return [tuple(sorted(k, key=lambda item: item[1])) for k in found]

    def _glob_pairs(self, globs: Sequence[int]) -> Iterator[tuple[int, int]]:
        """The pairs of globs that may overlap, each once: those whose literal leading
        segments (up to the first with a wildcard) agree, one's being a prefix of the
        other's. Every path a glob covers starts with its literal prefix, so globs whose
        prefixes part (``packages/p1/**`` and ``packages/p7/**``) share none: a monorepo's
        thousand package globs were compared pairwise, a million patterns each replan."""
        by_prefix: dict[tuple[str, ...], list[int]] = {}
        prefixes: dict[int, tuple[str, ...]] = {}
        for g in globs:
            prefix = literal_segments(self.patterns[g])
            prefixes[g] = prefix
            by_prefix.setdefault(prefix, []).append(g)
        for g in globs:
            prefix = prefixes[g]
            for cut in range(len(prefix)):  # globs whose prefix is a proper prefix of g's
                yield from ((g, h) for h in by_prefix.get(prefix[:cut], ()))
            yield from ((g, h) for h in by_prefix[prefix] if h > g)

    def _glob_overlaps(self, root: int, pattern: tuple[str, ...]) -> list[int]:
        """Nodes of one namespace that overlap a glob, found by walking the trie with the
        pattern's automaton: a subtree is entered only while the pattern can still match."""
        hits: list[int] = []
        start = _closure(pattern, frozenset({0}))
        if len(pattern) in start:
            return self._subtree(root)
        stack: list[tuple[int, frozenset[int]]] = [(root, start)]
        hits.append(root)
        while stack:
            node, states = stack.pop()
            for segment, child in self.children[node].items():
                nxt = _step(pattern, states, segment)
                if not nxt:
                    continue
                if len(pattern) in nxt:
                    hits.extend(self._subtree(child))
                else:
                    hits.append(child)
                    stack.append((child, nxt))
        return sorted(hits)

    def _subtree(self, node: int) -> list[int]:
        found = [node]
        stack = [node]
        while stack:
            for child in self.children[stack.pop()].values():
                found.append(child)
                stack.append(child)
        return found


# --- glob matching over path segments ------------------------------------------------------


def _wildcard_spans(pattern: str) -> list[tuple[int, int]]:
    """Where the wildcards of a segment pattern are, as ``[start, end)`` spans, following
    :mod:`fnmatch`: ``*`` and ``?`` are one character; ``[...]`` runs to its closing ``]``
    (a ``]`` right after ``[`` or ``[!`` is part of the set); an unclosed ``[`` is literal."""
    spans = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c in "*?":
            spans.append((i, i + 1))
        elif c == "[":
            j = i + 1
            if j < n and pattern[j] == "!":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 1
            if j < n:
                spans.append((i, j + 1))
                i = j
        i += 1
    return spans


def _has_wildcard(segment: str) -> bool:
    return ("*" in segment or "?" in segment or "[" in segment) and bool(_wildcard_spans(segment))


@lru_cache(maxsize=65536)
def segment_matches(pattern: str, segment: str) -> bool:
    """One path segment against one pattern segment (``*`` never crosses ``/``)."""
    if not _has_wildcard(pattern):
        return pattern == segment
    return fnmatch.fnmatchcase(segment, pattern.replace("**", "*"))


def _closure(pattern: tuple[str, ...], states: frozenset[int]) -> frozenset[int]:
    """Add the positions reachable by letting each ``**`` match zero segments."""
    result = set(states)
    todo = list(states)
    while todo:
        i = todo.pop()
        if i < len(pattern) and pattern[i] == "**" and i + 1 not in result:
            result.add(i + 1)
            todo.append(i + 1)
    return frozenset(result)


def _step(pattern: tuple[str, ...], states: frozenset[int], segment: str) -> frozenset[int]:
    """Positions after consuming one path segment."""
    nxt: set[int] = set()
    for i in states:
        if i >= len(pattern):
            continue
        part = pattern[i]
        if part == "**":
            nxt.add(i)
        elif segment_matches(part, segment):
            nxt.add(i + 1)
    return _closure(pattern, frozenset(nxt)) if nxt else frozenset()


def _fixed_ends(pattern: str) -> tuple[str, str]:
    """Literal text before the first and after the last wildcard of a segment pattern."""
    spans = _wildcard_spans(pattern)
    return pattern[: spans[0][0]], pattern[spans[-1][1] :]


def segment_patterns_overlap(a: str, b: str) -> tuple[bool, bool]:
    """Whether some segment matches both patterns: ``(overlap, exact)``.

    Exact when one side is literal, the patterns are equal, one is a lone ``*``, or their
    literal ends contradict each other; otherwise the overlap is assumed (conservative).
    """
    wild_a, wild_b = _has_wildcard(a), _has_wildcard(b)
    if not wild_a:
        return segment_matches(b, a), True
    if not wild_b:
        return segment_matches(a, b), True
    if a == b or a in ("*", "**") or b in ("*", "**"):
        return True, True
    prefix_a, suffix_a = _fixed_ends(a)
    prefix_b, suffix_b = _fixed_ends(b)
    if not (prefix_a.startswith(prefix_b) or prefix_b.startswith(prefix_a)):
        return False, True
    if not (suffix_a.endswith(suffix_b) or suffix_b.endswith(suffix_a)):
        return False, True
    return True, False


def patterns_overlap(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[bool, bool]:
    """Whether two glob patterns (as segments) can cover a common path: ``(overlap, exact)``.

    One pattern ending while the other continues counts as overlap: a matched directory covers
    everything under it. The search prefers an exact witness; the result is conservative only
    when every witness needed a conservative segment decision.
    """
    return _overlap_from(a, b, 0, 0, {})


def _overlap_from(
    a: tuple[str, ...],
    b: tuple[str, ...],
    i: int,
    j: int,
    memo: dict[tuple[int, int], tuple[bool, bool]],
) -> tuple[bool, bool]:
    """:func:`patterns_overlap` of ``a[i:]`` and ``b[j:]``, remembered in ``memo``. A function
    of the module, not a closure made per call: a cached closure that calls itself is a
    reference cycle, and planning runs with the garbage collector paused, so each of the
    index's glob pairs (rebuilt by every advice replan) leaked a kilobyte (3 GB on a monorepo
    plan of 4,000 tasks)."""
    known = memo.get((i, j))
    if known is not None:
        return known
    found: tuple[bool, bool] | None = None
    if i == len(a) or j == len(b):
        found = (True, True)
    else:
        best = (False, True)
        options: list[tuple[bool, bool]] = []
        if a[i] == "**":
            options.append(_overlap_from(a, b, i + 1, j, memo))
            options.append(_overlap_from(a, b, i, j + 1, memo) if j < len(b) else (False, True))
        if b[j] == "**":
            options.append(_overlap_from(a, b, i, j + 1, memo))
            options.append(_overlap_from(a, b, i + 1, j, memo) if i < len(a) else (False, True))
        if a[i] != "**" and b[j] != "**":
            overlap, exact = segment_patterns_overlap(a[i], b[j])
            if overlap:
                rest, rest_exact = _overlap_from(a, b, i + 1, j + 1, memo)
                options.append((rest, exact and rest_exact))
        for overlap, exact in options:
            if overlap and exact:
                found = (True, True)
                break
            if overlap:
                best = (True, False)
        if found is None:
            found = best
    memo[i, j] = found
    return found


def covers(key: str, path: str) -> bool:
    """Whether the normalised path key (a path, directory or glob) covers the concrete ``path``.

    The overlap rules of the index, for one concrete path: a path or directory covers itself
    and everything under it; a glob covers what it matches and everything under a match. A key
    with glob characters also covers itself, literally, and what is under it: ``[slug]`` in a
    Next.js route ``app/[slug]/page.tsx`` is a folder's name as much as a character class (the
    index, which reads it as a glob, overlaps everything the literal path overlaps).
    """
    if key == ROOT_DIR:
        return True
    base = key.rstrip("/")
    if path == base or path.startswith(base + "/"):
        return True
    if not is_glob(key):
        return False
    pattern = tuple(s for s in key.rstrip("/").split("/") if s)
    states = _closure(pattern, frozenset({0}))
    for segment in path.split("/"):
        states = _step(pattern, states, segment)
        if not states:
            return False
        if len(pattern) in states:
            return True
    return False

"""Practical waves: a layering that respects dependencies, conflicts, capacities and workers.

Tasks are placed one by one in the order the practical schedule starts them, each in the
earliest wave that comes after the waves of its dependencies and of every earlier-placed task
it conflicts with, and that still has room for it (workers, counted capacities). Every wave is
then a set of tasks that may run together, and running the waves one after another with a
barrier in between is a valid execution (``run --barrier`` does exactly that).

One pass, near-linear: full waves (no worker, or nothing left of a counted resource) are
skipped in one step, and per lock point it keeps the latest wave of its writers and readers,
and per declared ancestor the latest wave of the holds below it, like the scheduler's locks.
"""

from __future__ import annotations

from collections.abc import Sequence

from waveplan.graph import Graph
from waveplan.resources.index import WRITE, PointKind, ResourceIndex
from waveplan.schedule.skip import first_open

__all__ = ["barrier_makespan", "layer", "wave_lists"]


def layer(
    graph: Graph, index: ResourceIndex, order: Sequence[int], workers: int | None
) -> list[int]:
    """Wave number (0-based) of each task, placing tasks in ``order``."""
    points = len(index)
    last_w = [-1] * points  # latest wave holding the point for writing
    last_r = [-1] * points  # latest wave holding it for reading (or any amount)
    below_w = [-1] * points  # latest wave writing something under a declared ancestor
    below_r = [-1] * points
    used: list[dict[int, int]] = [{} for _ in range(points)]  # counted: wave -> amount
    size: dict[int, int] = {}
    kinds = index.kinds
    declared = index.declared
    up = [tuple(a for a in chain if declared[a]) for chain in index.ancestors]
    # Points whose exact holds conflict with a claim on this one: for a node its declared
    # ancestors and overlapping globs (holds below it are tracked in below_w/below_r); for a
    # glob every node and glob it overlaps.
    relatives = [
        (*up[p], *index.node_globs[p])
        if kinds[p] is PointKind.NODE
        else (*index.glob_nodes[p], *index.glob_globs[p])
        for p in range(points)
    ]
    capacity = index.capacity

    def fits(wave: int, claims: Sequence[tuple[int, int, int]]) -> bool:
        """Room for one more task in a wave: a worker, and every counted amount."""
        if workers is not None and size.get(wave, 0) >= workers:
            return False
        return all(
            kinds[p] is not PointKind.COUNTED or used[p].get(wave, 0) + amount <= capacity[p]
            for p, _, amount in claims
        )

    # Full waves are skipped in one step: ``full[p]`` (p a counted point, or -1 for the
    # workers) is the skip map of the waves with nothing left of p, so placing n tasks on w
    # workers does not rescan the n / w full waves below each task.
    full: dict[int, dict[int, int]] = {
        p: {} for p in range(-1, points) if p < 0 or kinds[p] is PointKind.COUNTED
    }

    def candidate(w: int, claims: Sequence[tuple[int, int, int]]) -> int:
        """The first wave from ``w`` on that is full of nothing this task needs."""
        while True:
            moved = first_open(full[-1], w)
            for p, _, amount in claims:
                if amount and kinds[p] is PointKind.COUNTED:
                    moved = first_open(full[p], moved)
            if moved == w:
                return w
            w = moved

    wave = [-1] * len(graph)
    preds = graph.preds
    claims_of = index.claims
    for task in order:
        earliest = 0
        for p in preds[task]:
            if wave[p] >= earliest:
                earliest = wave[p] + 1
        claims = claims_of[task]
        for point, mode, _ in claims:
            kind = kinds[point]
            if kind is PointKind.COUNTED:
                continue
            # Latest conflicting wave: writers always; readers too when this claim writes.
            if mode == WRITE:
                latest = last_w[point] if last_w[point] > last_r[point] else last_r[point]
            else:
                latest = last_w[point]
            if kind is PointKind.NODE:
                below = below_w[point]
                if mode == WRITE and below_r[point] > below:
                    below = below_r[point]
                if below > latest:
                    latest = below
            for other in relatives[point]:
                if last_w[other] > latest:
                    latest = last_w[other]
                if mode == WRITE and last_r[other] > latest:
                    latest = last_r[other]
            if latest >= earliest:
                earliest = latest + 1
        chosen = candidate(earliest, claims)
        while not fits(chosen, claims):
            chosen = candidate(chosen + 1, claims)
        wave[task] = chosen
        size[chosen] = size.get(chosen, 0) + 1
        if workers is not None and size[chosen] >= workers:
            full[-1][chosen] = chosen + 1
        for point, mode, amount in claims:
            kind = kinds[point]
            if kind is PointKind.COUNTED:
                used[point][chosen] = used[point].get(chosen, 0) + amount
                if used[point][chosen] >= capacity[point]:
                    full[point][chosen] = chosen + 1
                continue
            if mode == WRITE:
                last_w[point] = max(last_w[point], chosen)
            else:
                last_r[point] = max(last_r[point], chosen)
            if kind is PointKind.NODE:
                table = below_w if mode == WRITE else below_r
                for a in up[point]:
                    table[a] = max(table[a], chosen)
    return wave


def wave_lists(wave: Sequence[int]) -> list[list[int]]:
    """Tasks of each wave, in id order."""
    count = max(wave, default=-1) + 1
    grouped: list[list[int]] = [[] for _ in range(count)]
    for task, w in enumerate(wave):
        grouped[w].append(task)
    return grouped


def barrier_makespan(graph: Graph, waves: Sequence[Sequence[int]]) -> float:
    """Makespan when each wave starts after the slowest task of the previous one ends."""
    durations = graph.durations
    total = 0.0
    for tasks in waves:
        total += max((durations[t] for t in tasks), default=0.0)
    return total

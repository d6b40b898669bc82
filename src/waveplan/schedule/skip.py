"""Skipping runs of full slots (waves, time units) in one step.

A *skip map* holds the slots that are full: ``skip[k]`` points at a later slot to try (``k +
1`` when ``k`` fills up). :func:`first_open` follows the pointers to the first slot that is
not full and compresses the path it took, so that placing n items never rescans the full
slots below each of them: near-linear instead of quadratic.
"""

from __future__ import annotations

__all__ = ["first_open"]


def first_open(skip: dict[int, int], at: int) -> int:
    """The first slot from ``at`` on that is not in ``skip`` (path-compressed)."""
    root = at
    while root in skip:
        root = skip[root]
    while at != root:
        nxt = skip[at]
        skip[at] = root
        at = nxt
    return root

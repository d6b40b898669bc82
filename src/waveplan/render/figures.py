"""Formatting of figures shared by the renderers, so every output says the same thing."""

from __future__ import annotations

__all__ = ["faster", "fmt_time", "saving"]


def fmt_time(value: float) -> str:
    """A duration or time for humans: ``7``, ``1.5``, ``0.333``."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.3f}".rstrip("0").rstrip(".")


def saving(makespan: float, sequential: float) -> float | None:
    """``1 - makespan / sequential`` (DESIGN section 7), None when there is no work."""
    if sequential <= 0:
        return None
    return 1.0 - makespan / sequential


def faster(makespan: float, sequential: float) -> str:
    """``43% faster`` in the seed's wording (``0% faster``, ``12% slower``)."""
    share = saving(makespan, sequential)
    if share is None:
        return "-"
    percent = round(share * 100)
    if percent < 0:
        return f"{-percent}% slower"
    return f"{percent}% faster"

"""Durations with units: ``90s``, ``30m``, ``1.5h``, ``1h 30m``, read into seconds and written back.

A plan's durations are unitless numbers until one of them is written with a unit; from then on
the plan is *timed*: every duration is in seconds (bare numbers included), as are the durations
waveplan measures when it runs tasks. Nothing here does I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

__all__ = [
    "HOUR",
    "MAX_SECONDS",
    "MINUTE",
    "duration_text",
    "format_duration",
    "format_number",
    "parse_duration",
    "read_duration",
    "time_formatter",
]

MINUTE = 60.0
HOUR = 3600.0
# Durations and timeouts above this are refused: a million of them still add up exactly
# enough, far from overflowing to infinity (which broke the bounds' arithmetic).
MAX_SECONDS = 1e12

_SECONDS = {
    "ms": 0.001,
    "msec": 0.001,
    "msecs": 0.001,
    "millisecond": 0.001,
    "milliseconds": 0.001,
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": MINUTE,
    "min": MINUTE,
    "mins": MINUTE,
    "minute": MINUTE,
    "minutes": MINUTE,
    "h": HOUR,
    "hr": HOUR,
    "hrs": HOUR,
    "hour": HOUR,
    "hours": HOUR,
}
_DAYS = frozenset({"d", "day", "days", "w", "wk", "week", "weeks"})
_NUMBER = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_PART = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Z]+)\s*")


def parse_duration(text: str) -> tuple[float, bool]:
    """``(seconds, unit_given)`` for a duration such as ``90s``, ``30m``, ``1.5h``, ``1h 30m``
    or ``2 hours``; a bare number (``"30"``) is returned as it is, with ``unit_given`` False.

    Raises ValueError saying what is wrong: an unknown unit, days or weeks (a day of work is
    not 24 hours, so they are refused rather than guessed), or text that is not a duration.
    """
    stripped = text.strip()
    if _NUMBER.fullmatch(stripped):
        return float(stripped), False
    total = 0.0
    position = 0
    while position < len(stripped):
        part = _PART.match(stripped, position)
        if part is None:
            raise ValueError("expected a number or a duration such as 90s, 30m, 1.5h or 1h 30m")
        unit = part.group(2).lower()
        if unit in _DAYS:
            raise ValueError(
                "days and weeks are ambiguous (a day of work is not 24 hours): write hours, "
                "such as 16h"
            )
        if unit not in _SECONDS:
            raise ValueError(
                f"unknown unit '{part.group(2)}' (use ms, s, m or h: 90s, 30m, 1h 30m)"
            )
        total += float(part.group(1)) * _SECONDS[unit]
        position = part.end()
    if not stripped or not math.isfinite(total):
        raise ValueError("expected a number or a duration such as 90s, 30m, 1.5h or 1h 30m")
    return total, True


def format_number(value: float) -> str:
    """A unitless time for humans: ``7``, ``1.5``, ``0.333`` (never ``-0``)."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def format_duration(seconds: float) -> str:
    """Seconds for humans: ``0.25s``, ``45s``, ``2m 30s``, ``1h 30m``, ``36h`` (whole seconds
    from a minute up)."""
    if seconds < 0:
        return "-" + format_duration(-seconds)
    if round(seconds, 3) < MINUTE:
        return f"{format_number(round(seconds, 3))}s"
    hours, rest = divmod(round(seconds), int(HOUR))
    minutes, secs = divmod(rest, int(MINUTE))
    parts = [f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if n]
    return " ".join(parts)


def duration_text(seconds: float) -> str:
    """A task file's ``duration`` for these seconds: :func:`format_duration` when that reads
    back exactly, else the seconds with an ``s`` (``61.5s``)."""
    shown = format_duration(seconds)
    if parse_duration(shown)[0] == seconds:
        return shown
    return f"{seconds:.6f}".rstrip("0").rstrip(".") + "s"


def time_formatter(timed: bool) -> Callable[[float], str]:
    """How a plan's times are written: :func:`format_duration` for a timed plan (seconds),
    else :func:`format_number`."""
    return format_duration if timed else format_number


# Prose (plans written for people or other tools) also counts in work days and weeks.
_PROSE_SECONDS = {
    **_SECONDS,
    "d": 8 * HOUR,
    "day": 8 * HOUR,
    "days": 8 * HOUR,
    "w": 40 * HOUR,
    "wk": 40 * HOUR,
    "wks": 40 * HOUR,
    "week": 40 * HOUR,
    "weeks": 40 * HOUR,
}
_APPROX = re.compile(
    r"\s*(?:~|\u2248|about\b|around\b|roughly\b|approx(?:\.|imately\b)?|ca\.)\s*", re.IGNORECASE
)
_NUM = r"(\d+(?:\.\d+)?|\.\d+)"
_WORD = r"([a-zA-Z]+(?![a-zA-Z]))"
# One amount: ``3h``, ``1-2h``, ``3h-4h``, ``4 to 6 hours``, ``30`` (a unit, or none).
_AMOUNT = re.compile(rf"\s*{_NUM}(?:\s*{_WORD}?\s*(?:-|\u2013|\u2014|to)\s*{_NUM})?(?:\s*{_WORD})?")
_JOIN = re.compile(r"\s*(?:,|\+|&|\band\b)?", re.IGNORECASE)
# The unit a bare number after an amount counts in: ``1h30`` is 1 h 30 min.
_NEXT_SMALLER = {HOUR: MINUTE, MINUTE: 1.0, 8 * HOUR: HOUR, 40 * HOUR: 8 * HOUR}


def read_duration(text: str) -> tuple[float, bool] | None:
    """A duration as prose writes it, from the start of ``text``: ``(seconds, True)`` for
    ``1h 30m``, ``2h30m``, ``1h30``, ``1 hour and 30 minutes``, ``~3h``, ``1-2h`` and ``3h-4h``
    (the middle), ``1,5 hours``, ``1,000 hours``, ``2 days`` (days of 8 hours, weeks of 40),
    whatever follows (``12min (est)``); ``(number, False)`` for a bare number (``3``,
    ``4-6``), whose unit the caller knows; None when it starts with neither."""
    rest = _APPROX.sub("", text, count=1)
    rest = re.sub(r"(\d),(\d{3})(?!\d)", r"\1\2", rest)  # 1,000: thousands
    rest = re.sub(r"(\d),(\d)", r"\1.\2", rest)  # 1,5: a decimal comma
    total = 0.0
    last: float | None = None  # the unit of the amount before
    part = _AMOUNT.match(rest)
    while part is not None:
        low, first_unit, high, unit = part.groups()
        value = (float(low) + float(high)) / 2 if high else float(low)
        word = (unit or first_unit or "").lower()
        seconds = _PROSE_SECONDS.get(word)
        if seconds is None and not word and last is not None:
            seconds = _NEXT_SMALLER.get(last)  # 1h30: minutes
        if seconds is None:
            if last is None and not word:
                return value, False
            break
        total += value * seconds
        last = seconds
        # The next amount, after what joins it to this one (``,``, ``+``, ``&``, ``and``), if
        # anything does (the pattern matches also nothing, so it always matches).
        joined = _JOIN.match(rest, part.end())
        assert joined is not None
        part = _AMOUNT.match(rest, joined.end())
    return (total, True) if last is not None else None

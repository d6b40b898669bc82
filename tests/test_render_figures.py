"""The wording and number formatting every renderer shares."""

from __future__ import annotations

import pytest

from waveplan.render.figures import fmt_time


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (7.0, "7"),
        (0.0, "0"),
        (1.5, "1.5"),
        (1 / 3, "0.333"),
        (-1.25, "-1.25"),
        (-0.0001, "0"),  # never "-0": a clock read a hair late is still no time
        (-0.0, "0"),
    ],
)
def test_fmt_time(value: float, text: str) -> None:
    assert fmt_time(value) == text

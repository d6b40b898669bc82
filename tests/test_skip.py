"""The skip map behind practical waves and schedule generation."""

from __future__ import annotations

from waveplan.schedule.skip import first_open


def test_first_open_jumps_over_full_slots_and_compresses_the_path() -> None:
    """Slots 2..5 are full: from any of them the first open slot is 6, and afterwards every
    slot on the path points at 6 directly; open slots are their own answer."""
    skip = {k: k + 1 for k in range(2, 6)}
    assert first_open(skip, 0) == 0
    assert first_open(skip, 2) == 6
    assert skip == {2: 6, 3: 6, 4: 6, 5: 6}
    skip[6] = 7  # slot 6 fills up too
    assert first_open(skip, 3) == 7
    assert first_open(skip, 7) == 7

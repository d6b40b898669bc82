"""Tests of observed footprints: which observed files a task's declared writes cover, and
which other tasks' declared files an undeclared one overlaps."""

from __future__ import annotations

import pytest

from waveplan.load import parse_plan_text
from waveplan.resources.index import covers
from waveplan.run.worktree import Footprints


@pytest.mark.parametrize(
    ("key", "path", "covered"),
    [
        ("src/a.py", "src/a.py", True),
        ("src/a.py", "src/a.pyc", False),
        ("src/", "src/deep/a.py", True),
        ("src", "src/deep/a.py", True),
        ("src", "srcs/a.py", False),
        ("./", "anything/at/all", True),
        ("*.py", "a.py", True),
        ("*.py", "src/a.py", False),
        ("src/*.py", "src/a.py", True),
        ("src/*.py", "src/sub/a.py", False),
        ("src/**/*.py", "src/a.py", True),
        ("src/**/*.py", "src/x/y/a.py", True),
        ("src/**", "src/x/y", True),
        ("**/test_*.py", "tests/unit/test_a.py", True),
        ("src/*/", "src/pkg/mod.py", True),
        ("docs/[ab].md", "docs/b.md", True),
        ("docs/[ab].md", "docs/c.md", False),
    ],
)
def test_covers_follows_the_overlap_rules(key: str, path: str, covered: bool) -> None:
    """A path covers itself and what is under it; a glob what it matches and what is under a
    match; ``*`` stays within one segment, ``**`` crosses them."""
    assert covers(key, path) is covered


def test_undeclared_files_and_the_tasks_they_overlap() -> None:
    """Observed files no declared write covers are undeclared (a declared read does not
    cover a write); each names the other tasks whose declared files cover it, reads included."""
    plan = parse_plan_text(
        """
tasks:
  - {id: t3, files: [src/x/], reads: [src/shared.ts]}
  - {id: t4, files: [src/shared.ts]}
  - {id: t5, reads: ["src/*.ts"]}
  - {id: t6, files: [docs/]}
""",
        name="plan.yaml",
        root=".",
    )
    footprints = Footprints(plan)
    observed = ("src/x/a.ts", "src/shared.ts", "README.md")
    assert footprints.undeclared("t3", observed) == ("src/shared.ts", "README.md")
    assert footprints.overlapping("t3", "src/shared.ts") == ("t4", "t5")
    assert footprints.overlapping("t3", "README.md") == ()

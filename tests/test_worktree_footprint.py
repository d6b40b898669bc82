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
        ("app/[slug]/page.tsx", "app/[slug]/page.tsx", True),
        ("app/[slug]/", "app/[slug]/page.tsx", True),
        ("app/[slug]", "app/[slug]/page.tsx", True),
        ("app/[slug]/page.tsx", "app/s/page.tsx", True),
        ("app/[slug]", "app/[slug]x/page.tsx", False),
        ("app/[slug]/page.tsx", "app/[id]/page.tsx", False),
    ],
)
def test_covers_follows_the_overlap_rules(key: str, path: str, covered: bool) -> None:
    """A path covers itself and what is under it; a glob what it matches and what is under a
    match; ``*`` stays within one segment, ``**`` crosses them; a key with brackets (a Next.js
    route) covers itself, literally, as well as what it matches."""
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


def test_a_declared_bracket_path_covers_the_file_of_that_name() -> None:
    """A task declaring the Next.js route app/[slug]/page.tsx and changing it wrote nothing
    undeclared (the key was only read as a glob, whose [slug] matches one letter); another
    task declaring it overlaps the change."""
    plan = parse_plan_text(
        """
tasks:
  - {id: page, files: ["app/[slug]/page.tsx"]}
  - {id: layout, reads: ["app/[slug]/"]}
""",
        name="plan.yaml",
        root=".",
    )
    footprints = Footprints(plan)
    observed = ("app/[slug]/page.tsx", "app/[slug]/layout.tsx")
    assert footprints.undeclared("page", observed) == ("app/[slug]/layout.tsx",)
    assert footprints.overlapping("page", "app/[slug]/layout.tsx") == ("layout",)
    assert footprints.overlapping("layout", "app/[slug]/page.tsx") == ("page",)

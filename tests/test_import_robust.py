"""Messy input never crashes an importer: it imports, or it is one PlanError."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from waveplan.errors import PlanError
from waveplan.load import SourceFormat, load_plan
from waveplan.load.frontmatter import read_front_matter

FRAGMENTS = [
    "---",
    "wave: 2",
    "wave: two",
    "depends_on: [01-01, 01-02]",
    'depends_on: ["01-01",',
    "depends_on: 01-01",
    "files_modified:",
    "  - src/a.ts",
    "  - /abs/b.ts",
    "  - ../escape.ts",
    'pattern: "a\\.b"',
    "name: 'it''s'",
    "status: closed",
    "parallel: true",
    "conflicts_with: [2, 9]",
    "key-files:",
    "  created: [src/c.ts]",
    "duration: 12min",
    "- [ ] 1. First",
    "- [x] 2. Second",
    "  **Parallelization**: Wave 1 | Blocked by: 2 | Blocks: all",
    "  **Files**: `src/a.ts`, `src/b.ts`",
    "  **Parallelizable**: YES (with task 1)",
    "**Wave 1**",
    "## Wave 2",
    "- Task 1: Schema `src/s.ts` [depends: 2]",
    "- Task 2: API [depends: 1, 7]",
    "### Task 3: Docs",
    "Files: docs/a.md, C:\\x",
    "Files: ~/x.txt, $HOME/y.txt, ~z.txt (new), see the notes",
    "- Task 1.1: Dotted [depends: 1 (the schema), the API]",
    "- Task A: Words [depends: Task B, none (first)]",
    "Depends: A \u2014 setup, (tbd)",
    'depends_on: ["01-01 (the store)", "the review"]',
    'files_modified: ["src/a.ts (new)", "`src/b.ts` \u2014 the store"]',
    "  **Parallelization**: Wave 2 | Blocked by: 1, 2 (UI first) | Blocks: 9, the rest",
    "Duration: 2h",
    "<task><files>src/x.ts</files><read_first>- ~/notes.md</read_first></task>",
    "```",
    "## Effort Estimate",
    "- Hours: 4-6",
    "",
    "\t",
]

lines = st.lists(st.sampled_from(FRAGMENTS), min_size=0, max_size=14)


@given(lines)
def test_front_matter_reads_or_refuses_in_one_error(parts: list[str]) -> None:
    """Any block of these lines is read (strictly or leniently) or is one PlanError."""
    text = "\n".join(["---", *parts, "---", "body"])
    with contextlib.suppress(PlanError):
        read_front_matter(text, "f.md", needed=("wave", "depends_on", "key-files", "name"))


FORMATS = [
    ("01-01-PLAN.md", SourceFormat.GSD),
    ("1.md", SourceFormat.CCPM),
    ("plan.md", SourceFormat.SISYPHUS),
    ("plan.md", SourceFormat.MARKDOWN),
]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60)
@given(st.sampled_from(FORMATS), lines, lines)
def test_importers_import_or_raise_one_plan_error(
    case: tuple[str, SourceFormat], first: list[str], second: list[str]
) -> None:
    """Two files of random plan lines: each format imports them or raises a PlanError."""
    name, fmt = case
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / name).write_text("\n".join(first) + "\n", encoding="utf-8")
        if fmt is SourceFormat.GSD:
            (root / "01-02-PLAN.md").write_text("\n".join(second) + "\n", encoding="utf-8")
            (root / "01-01-SUMMARY.md").write_text("\n".join(second) + "\n", encoding="utf-8")
        elif fmt is SourceFormat.CCPM:
            (root / "2.md").write_text("\n".join(second) + "\n", encoding="utf-8")
        path = root if fmt in (SourceFormat.GSD, SourceFormat.CCPM) else root / name
        try:
            plan = load_plan(path, source_format=fmt)
        except PlanError:
            return
        assert plan.origin is not None
        assert plan.tasks


@pytest.mark.parametrize(
    ("forced", "reason"),
    [
        (SourceFormat.GSD, "no GSD plans (NN-MM-PLAN.md) in its folder"),
        (SourceFormat.CCPM, "no ccpm tasks (<N>.md) or epic.md in its folder"),
    ],
)
def test_forcing_a_folder_format_on_a_file_with_none_beside_it_names_the_file(
    forced: SourceFormat, reason: str, tmp_path: Path
) -> None:
    """``--from gsd plan.toml`` read plan.toml's folder and said "ERROR: .: field 'tasks':
    the plan has no tasks", naming neither the file nor what was looked for."""
    plan = tmp_path / "plan.toml"
    plan.write_text('[[tasks]]\nid = "a"\n', encoding="utf-8")
    with pytest.raises(PlanError) as caught:
        load_plan(str(plan), source_format=forced)
    assert str(caught.value) == f"{plan}: {reason}"

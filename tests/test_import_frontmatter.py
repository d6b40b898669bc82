"""The front-matter reader (strict, then lenient) and format detection."""

from __future__ import annotations

from pathlib import Path

import pytest

from waveplan.cli import main
from waveplan.errors import PlanSyntaxError
from waveplan.load import SourceFormat, load_plan
from waveplan.load.detect import find_target
from waveplan.load.frontmatter import read_front_matter, text_list, truth, whole_number
from waveplan.load.prose import find_paths, path_of_entry

FIXTURES = Path(__file__).parent / "fixtures"


def test_strict_front_matter_reads_every_scalar_as_text() -> None:
    """No implicit types: ``01`` keeps its zero, ``010`` is not octal, ``true`` is text."""
    matter = read_front_matter(
        "---\nplan: 01\ndepends_on: [010, 002]\nautonomous: true\n---\nbody\n", "f.md"
    )
    assert not matter.lenient
    assert matter.fields == {"plan": "01", "depends_on": ["010", "002"], "autonomous": "true"}
    assert matter.lines == {"plan": 2, "depends_on": 3, "autonomous": 4}
    assert matter.body == "body\n"
    assert matter.body_line == 6


def test_an_invalid_escape_falls_back_to_the_lenient_reader() -> None:
    """``"a\\.b"`` in double quotes: strict YAML refuses it, the lenient reader keeps the
    text as written, with the problem and its line."""
    text = (
        "---\n"
        "wave: 2\n"
        'pattern: "^sync\\.[a-z]+$"\n'
        "depends_on:\n"
        "  - 02-01\n"
        "key-files:\n"
        "  created: [a.ts,\n"
        "    b.ts]\n"
        "  modified:\n"
        "    - c.ts  # changed\n"
        "notes: |\n"
        "  two\n"
        "  lines\n"
        "---\n"
    )
    matter = read_front_matter(text, "f.md", needed=("wave", "depends_on", "key-files"))
    assert matter.lenient
    assert matter.problem == "found unknown escape character '\\.'"
    assert matter.problem_line == 3
    assert matter.fields == {
        "wave": "2",
        "pattern": "^sync\\.[a-z]+$",
        "depends_on": ["02-01"],
        "key-files": {"created": ["a.ts", "b.ts"], "modified": ["c.ts"]},
        "notes": "two\nlines",
    }
    assert matter.line("key-files", "modified") == 9


def test_a_repeated_key_is_read_leniently_last_one_wins() -> None:
    """Strict YAML refuses a repeated key; the lenient reader keeps the last value."""
    matter = read_front_matter("---\nwave: 1\nwave: 2\n---\n", "f.md")
    assert matter.lenient
    assert matter.problem == "the key 'wave' is written twice"
    assert matter.fields == {"wave": "2"}


def test_a_needed_field_the_lenient_reader_cannot_read_is_an_error() -> None:
    """An unclosed quote in a needed field: an error with the file, line, task and field."""
    with pytest.raises(PlanSyntaxError) as caught:
        read_front_matter(
            '---\nwave: 1\ntitle: "Sync\\d\n---\n', "p.md", needed=("title",), task="01-01"
        )
    assert str(caught.value) == (
        "p.md:3: task '01-01', field 'title': a '\"' quote is never closed (the front matter "
        "is not valid YAML, and cannot be read leniently either)"
    )


def test_an_unneeded_unreadable_field_is_skipped() -> None:
    """The same problem in a field nobody needs is not an error."""
    matter = read_front_matter('---\nnotes: [a, "b\\q\nwave: 3\n---\n', "p.md", needed=("wave",))
    assert matter.lenient
    assert matter.fields == {"wave": "3"}


def test_text_without_front_matter() -> None:
    """No leading ``---``: the whole text is the body."""
    matter = read_front_matter("# Title\n", "f.md")
    assert not matter.present
    assert matter.body == "# Title\n"


def test_field_helpers() -> None:
    """Lists, numbers and booleans as the importers read them."""
    assert text_list(["a", 1]) == (["a", "1"], None)
    assert text_list("a, b") == (["a", "b"], "should be a list; read as one")
    assert text_list({"x": 1}) == ([], "should be a list, not a mapping; ignored")
    assert text_list(["a", {"plan": "b"}]) == (
        ["a"],
        "has items that are not plain values; they are ignored",
    )
    assert text_list(None) == ([], None)
    assert whole_number("02") == 2
    assert whole_number("two") is None
    assert truth("yes") is True
    assert truth("off") is False
    assert truth("maybe") is None


def test_paths_in_prose() -> None:
    """Backticked and bare paths count; sentences, versions, URLs and technologies do not."""
    assert find_paths(
        "Edit `src/a.ts:12-40` and lib/b.py, then docs/guide.md#usage. Node.js and/or v1.2 "
        "at https://x.io/c.ts; see the `tests/integration/` folder and README.md."
    ) == ["src/a.ts", "tests/integration/", "lib/b.py", "docs/guide.md", "README.md"]
    assert path_of_entry("src/a.ts (new)") == "src/a.ts"
    assert path_of_entry("Current `pnpm-workspace.yaml` (full file)") == "pnpm-workspace.yaml"
    assert path_of_entry("apps/web/main.ts \u2014 the entry point") == "apps/web/main.ts"


@pytest.mark.parametrize(
    ("path", "fmt", "target"),
    [
        ("markdown/billing-export.md", SourceFormat.MARKDOWN, "markdown/billing-export.md"),
        ("gsd/project", SourceFormat.GSD, "gsd/project/.planning/phases/02-sync-engine"),
        ("gsd/project/.planning", SourceFormat.GSD, "gsd/project/.planning/phases/02-sync-engine"),
        (
            "gsd/project/.planning/phases/01-foundation/01-01-SUMMARY.md",
            SourceFormat.GSD,
            "gsd/project/.planning/phases/01-foundation",
        ),
        ("ccpm/project", SourceFormat.CCPM, "ccpm/project/.claude/epics/offline-mode"),
        (
            "ccpm/project/.claude/epics/offline-mode/epic.md",
            SourceFormat.CCPM,
            "ccpm/project/.claude/epics/offline-mode",
        ),
        (
            "sisyphus/legacy/.omo",
            SourceFormat.SISYPHUS,
            "sisyphus/legacy/.omo/plans/cleanup-logging.md",
        ),
    ],
)
def test_detection(
    path: str, fmt: SourceFormat, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files and folders are recognised by their place and names."""
    monkeypatch.chdir(FIXTURES)
    found = find_target(path)
    assert found.format is fmt
    assert found.display == target


def test_from_forces_a_format(tmp_path: Path) -> None:
    """``--from`` reads a file in the format given, whatever its name."""
    path = tmp_path / "plan.txt"
    path.write_text("- [ ] 1. One\n  **Parallelization**: Wave 1\n", encoding="utf-8")
    assert load_plan(path, source_format=SourceFormat.SISYPHUS).task("1").title == "One"
    with pytest.raises(PlanSyntaxError, match="no tasks found"):
        load_plan(path, source_format=SourceFormat.MARKDOWN)


def test_from_on_a_folder_without_that_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--from gsd`` on a folder without plans says what it looked for, exit 2."""
    assert main(["plan", str(tmp_path), "--from", "gsd"]) == 2
    assert capsys.readouterr().err == (
        f"ERROR: {tmp_path}: no GSD plans (NN-MM-PLAN.md) in this folder or .planning/phases/\n"
    )


def test_binary_plan_file_is_an_error(tmp_path: Path) -> None:
    """A binary PLAN.md is refused with its name."""
    (tmp_path / "01-01-PLAN.md").write_bytes(b"---\nwave: 1\n\x00\x01---\n")
    with pytest.raises(PlanSyntaxError) as caught:
        load_plan(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path}/01-01-PLAN.md: this is a binary file, not a task file"
    )

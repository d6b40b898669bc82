"""The task-file loader: the bad-input corpus through the CLI, and what valid files load to."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from waveplan.cli import main
from waveplan.errors import CycleError, PlanError, PlanSyntaxError, PlanValidationError
from waveplan.load import Format, load_plan, parse_plan_text, yamltext
from waveplan.model import Access, DurationSource, Mode, Plan, ResourceKind
from waveplan.resources.index import READ, WRITE, ResourceIndex

CORPUS = Path(__file__).parent / "corpus"
INVALID = CORPUS / "invalid"
VALID = CORPUS / "valid"
EXPECTED = INVALID / "expected.txt"


def _expected_messages() -> dict[str, str]:
    """File name -> expected message, from ``expected.txt`` (the name precedes the first ':')."""
    messages: dict[str, str] = {}
    for line in EXPECTED.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name = line.split(":", 1)[0]
            assert name not in messages, f"two expected messages for {name}"
            messages[name] = line
    return messages


MESSAGES = _expected_messages()
CASES = sorted(MESSAGES)


def _libyaml_in_use() -> bool:
    return bool(yaml.__with_libyaml__) and issubclass(yamltext.StrictLoader, yaml.CSafeLoader)


def _parse(text: str, name: str = "plan.yaml") -> Plan:
    return parse_plan_text(text, name=name)


# --- the corpus ----------------------------------------------------------------------------


def test_every_corpus_file_has_exactly_one_expected_message() -> None:
    """Each invalid file has an expected line and each expected line has a file."""
    files = {p.name for p in INVALID.iterdir() if p.name != EXPECTED.name}
    assert files == set(MESSAGES)


@pytest.mark.parametrize("name", CASES)
def test_invalid_file_prints_one_error_line_and_exits_2(
    name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`waveplan plan FILE` on a bad file prints exactly the expected ERROR line and returns 2."""
    monkeypatch.chdir(INVALID)
    code = main(["plan", name])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    assert err.endswith("\n")
    assert err.count("\n") == 1
    expected = MESSAGES[name]
    if "malformed YAML" in expected and not _libyaml_in_use():
        # the pure-Python parser words its problems differently; keep to what waveplan adds
        assert err.startswith(f"ERROR: {name}:")
        assert "malformed YAML: " in err
    else:
        assert err == f"ERROR: {expected}\n"


@pytest.mark.parametrize("name", CASES)
def test_invalid_file_writes_no_output_file(
    name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With `-o OUT` a bad file leaves no output file, and no temporary file either."""
    monkeypatch.chdir(INVALID)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code = main(["plan", name, "--format", "json", "-o", str(out_dir / "out.json")])
    capsys.readouterr()
    assert code == 2
    assert list(out_dir.iterdir()) == []


@pytest.mark.parametrize("name", CASES)
def test_load_plan_raises_a_plan_error_with_the_expected_message(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The library raises the same message as the CLI prints (except cycles, found by graph)."""
    monkeypatch.chdir(INVALID)
    expected = MESSAGES[name]
    if "dependency cycle" in expected:
        plan = load_plan(name)  # cycles are the dependency graph's to find
        assert plan.tasks
        return
    with pytest.raises(PlanError) as caught:
        load_plan(name)
    if "malformed YAML" not in expected or _libyaml_in_use():
        assert str(caught.value) == expected
    assert caught.value.file == name


def test_missing_file_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A task file that does not exist is reported by name with exit code 2."""
    monkeypatch.chdir(tmp_path)
    assert main(["plan", "nope.yaml"]) == 2
    assert capsys.readouterr().err == "ERROR: nope.yaml: no such file\n"


def test_an_empty_plan_path_is_refused_not_read_as_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``waveplan run "$PLAN"`` with PLAN unset read the current folder (here a Sisyphus
    project, which it would have run) or said "ERROR: : is a folder"."""
    monkeypatch.chdir(tmp_path)
    plans = tmp_path / ".sisyphus" / "plans"
    plans.mkdir(parents=True)
    (plans / "p.md").write_text("# P\n\n## TODOs\n\n- [ ] 1. Do it\n", encoding="utf-8")
    assert main(["plan", "."]) == 0
    capsys.readouterr()
    for command in ("plan", "run", "convert", "infer"):
        assert main([command, ""]) == 2
        assert capsys.readouterr().err == (
            "ERROR: the plan path is empty: give a task file or a plan folder\n"
        )
    assert not (tmp_path / ".waveplan").exists()


def test_folder_instead_of_file_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Giving a folder that holds no importable plan says so, with exit code 2."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plans").mkdir()
    assert main(["plan", "plans"]) == 2
    assert capsys.readouterr().err == (
        "ERROR: plans: is a folder, not a task file, and holds no plan waveplan can import "
        "(a GSD phase folder, a ccpm epic or a Sisyphus plan; see --from)\n"
    )


# --- error details -------------------------------------------------------------------------


def test_error_carries_file_line_task_and_field() -> None:
    """A validation error keeps its parts as attributes, not only in the message."""
    with pytest.raises(PlanValidationError) as caught:
        _parse("tasks:\n  - id: a\n  - id: b\n    depends: [c]\n")
    error = caught.value
    assert (error.file, error.line, error.task, error.field) == ("plan.yaml", 4, "b", "depends")
    assert error.reason == "unknown task 'c'"


def test_duplicate_key_is_a_syntax_error_with_line_and_column() -> None:
    """PyYAML keeps the last of two equal keys; the loader refuses them instead."""
    with pytest.raises(PlanSyntaxError) as caught:
        _parse("tasks:\n  - id: a\n    duration: 1\n    duration: 5\n")
    error = caught.value
    assert (error.line, error.column, error.task, error.field) == (4, 5, "a", "duration")


def test_duplicate_key_in_later_json_task_points_at_the_repeat() -> None:
    """A JSON key repeated in one task is located there, not at the key's first use elsewhere."""
    text = '{"tasks": [\n{"id": "a", "title": "x"},\n{"id": "b",\n "title": "y", "title": "z"}\n]}'
    with pytest.raises(PlanSyntaxError) as caught:
        _parse(text, name="plan.json")
    assert str(caught.value) == (
        "plan.json:4:16: task 'b', field 'title': duplicate key (first written on line 4)"
    )


def test_cycle_is_found_by_the_graph_and_printed_closed() -> None:
    """The cycle is reported closed, starting from its smallest id."""
    from waveplan.graph import Graph

    plan = _parse(
        "tasks:\n  - {id: c, depends: [a]}\n  - {id: b, depends: [c]}\n  - {id: a, depends: [b]}\n"
    )
    with pytest.raises(CycleError) as caught:
        Graph.from_plan(plan)
    assert caught.value.cycle == ["a", "b", "c", "a"]


def test_control_characters_in_user_text_keep_the_message_on_one_line() -> None:
    """An unknown key holding a newline is escaped, so the error stays one line."""
    with pytest.raises(PlanValidationError) as caught:
        _parse('tasks:\n  - id: a\n    "ti\\ntle\\u2028": x\n')
    message = str(caught.value)
    assert message.splitlines() == [message]
    assert "'ti\\ntle\\u2028'" in message


def test_a_long_quoted_value_is_shortened_in_the_error_line(tmp_path: Path) -> None:
    """A plan path naming the wrong file (``waveplan plan /etc/passwd``, a log) quoted the
    whole file in the error line; a 5,000-character duration, id or dependency the same. The
    line now shows the start of the value and its length."""
    prose = tmp_path / "notes.txt"
    prose.write_text("word " * 1000, encoding="utf-8")
    with pytest.raises(PlanError) as caught:
        load_plan(str(prose))
    message = str(caught.value)
    assert message.endswith(f"got the text '{'word ' * 12}...' (4,999 characters)")
    with pytest.raises(PlanError) as caught:
        parse_plan_text(f"tasks:\n  - id: a\n    depends: [{'x' * 5000}]\n", name="p.yaml")
    assert str(caught.value) == (
        f"p.yaml:3: task 'a', field 'depends': unknown task '{'x' * 60}...' (5,000 characters)"
    )


def test_unknown_key_in_json_has_a_suggestion() -> None:
    """Unknown keys get a "did you mean" in every format."""
    with pytest.raises(PlanValidationError, match=r"unknown key 'dependss' \(did you mean"):
        _parse('{"tasks": [{"id": "a", "dependss": []}]}', name="plan.json")


# --- what valid files load to --------------------------------------------------------------

VALID_FILES = ["list.yaml", "mapping.yaml", "plan.json", "plan.toml"]


@pytest.mark.parametrize("name", VALID_FILES[1:])
def test_valid_corpus_files_load_to_the_same_plan(name: str) -> None:
    """YAML list and mapping forms, JSON and TOML spellings of one plan load identically."""
    reference = load_plan(VALID / VALID_FILES[0])
    plan = load_plan(VALID / name)
    assert plan.tasks == reference.tasks
    assert (plan.name, plan.workers, dict(plan.capacities), plan.root) == (
        reference.name,
        reference.workers,
        dict(reference.capacities),
        reference.root,
    )


def test_valid_plan_has_the_declared_contents() -> None:
    """The reference plan holds the tasks, accesses and figures written in it."""
    plan = load_plan(VALID / "list.yaml")
    assert [t.id for t in plan.tasks] == ["t1", "t2", "t10"]
    assert plan.name == "release"
    assert plan.workers == 2
    assert dict(plan.capacities) == {"db-connections": 2}
    t2 = plan.task("t2")
    assert t2.depends == ("t1",)
    assert t2.duration == 2.0
    assert t2.duration_source is DurationSource.DECLARED
    assert [a.describe() for a in t2.accesses] == [
        "src/hooks/ (write)",
        "src/types.ts (read)",
        "src/state.ts (read)",
        "state:db.users (write)",
        "test:tests/integration/ (write)",
        "test:port:8080 (write)",
        "db-connections x1",
    ]
    t10 = plan.task("t10")
    assert t10.run == "make publish"
    assert t10.duration == 1.0
    assert t10.duration_source is DurationSource.DEFAULT


def test_mapping_and_list_forms_are_equivalent() -> None:
    """Tasks keyed by id load to the same tasks as a list with ids."""
    listed = _parse("tasks:\n  - id: a\n    files: [x]\n  - id: b\n    depends: [a]\n")
    mapped = _parse("tasks:\n  a:\n    files: [x]\n  b:\n    depends: [a]\n")
    assert listed.tasks == mapped.tasks


def test_mapping_form_accepts_an_empty_task() -> None:
    """A task written as just its key in the mapping form is a task with defaults."""
    plan = _parse("tasks:\n  a:\n  b: {}\n")
    assert [(t.id, t.title, t.duration) for t in plan.tasks] == [("a", "a", 1.0), ("b", "b", 1.0)]


def test_ids_given_as_numbers_become_text() -> None:
    """Numeric ids and dependencies are read as their text."""
    plan = _parse("tasks:\n  - id: 1\n  - id: 2\n    depends: [1]\n")
    assert [t.id for t in plan.tasks] == ["1", "2"]
    assert plan.task("2").depends == ("1",)


def test_yaml_numbers_with_leading_zeros_keep_their_text() -> None:
    """YAML 1.1 reads ``010`` as 8 and ``001`` as 1: ids written so keep their text (they were
    renamed, so ``depends: ["001"]`` named no task), in the list and the mapping form."""
    plan = _parse('tasks:\n  - id: 001\n  - id: 010\n    depends: ["001"]\n  - id: 0x10\n')
    assert sorted(t.id for t in plan.tasks) == ["001", "010", "0x10"]
    assert plan.task("010").depends == ("001",)
    plan = _parse("tasks:\n  007: {}\n  8:\n    depends: 007\n")
    assert plan.task("8").depends == ("007",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "workers: 010\ntasks: [{id: a}]\n",
            "field 'workers': expected a whole number >= 1, got the text '010'",
        ),
        ("tasks: [{id: a, duration: 1:30}]\n", "the text '1:30' is not a duration"),
        ("tasks: [{id: a, retries: 1_0}]\n", "got the text '1_0'"),
    ],
)
def test_yaml_1_1_numbers_are_not_converted_silently(text: str, message: str) -> None:
    """A workers count ``010`` was 8 and a duration ``1:30`` was 90 (base 60): now an error
    naming the field and the text."""
    with pytest.raises(PlanValidationError, match=message):
        _parse(text)


def test_yaml_1_1_booleans_are_words() -> None:
    """``no``, ``on``, ``yes`` and ``off`` are names, as in JSON and YAML 1.2 (an id ``no``
    was refused as a boolean, a state ``on`` too); ``true``/``false`` stay booleans, and
    ``done: yes`` is an error naming the field."""
    plan = _parse("tasks:\n  - id: no\n    state: [on, off]\n  - id: yes\n    done: True\n")
    assert [t.id for t in plan.tasks] == ["no", "yes"]
    assert {a.key for a in plan.task("no").accesses} == {"on", "off"}
    assert plan.task("yes").done
    with pytest.raises(PlanValidationError, match="field 'done': expected true or false"):
        _parse("tasks: [{id: a, done: yes}]\n")


def test_mapping_form_numeric_keys_become_text() -> None:
    """Numeric keys of the mapping form are ids too."""
    plan = _parse("tasks:\n  10: {}\n  9:\n    depends: 10\n")
    assert [t.id for t in plan.tasks] == ["9", "10"]
    assert plan.task("9").depends == ("10",)


def test_single_string_is_accepted_for_list_fields() -> None:
    """A lone text stands for a one-item list in every list field."""
    plan = _parse(
        "tasks:\n  - id: a\n  - id: b\n    depends: a\n    files: src/x.py\n"
        "    reads: src/y.py\n    state: db\n    state_reads: cache\n"
        "    tests: port:80\n    test_reads: tests/unit/\n"
    )
    task = plan.task("b")
    assert task.depends == ("a",)
    assert task.accesses == (
        Access(ResourceKind.FILE, "src/x.py", Mode.WRITE),
        Access(ResourceKind.FILE, "src/y.py", Mode.READ),
        Access(ResourceKind.STATE, "db", Mode.WRITE),
        Access(ResourceKind.STATE, "cache", Mode.READ),
        Access(ResourceKind.TEST, "port:80", Mode.WRITE),
        Access(ResourceKind.TEST, "tests/unit/", Mode.READ),
    )


def test_duplicate_dependencies_are_deduplicated() -> None:
    """A dependency written twice (even once as a number) is kept once, in first-seen order."""
    plan = _parse("tasks:\n  - id: 1\n  - id: b\n  - id: c\n    depends: [b, 1, b, '1']\n")
    assert plan.task("c").depends == ("b", "1")


def test_read_of_a_written_key_is_kept_and_repeats_count_once() -> None:
    """Repeated spellings of a path count once; a read of what the task also writes is kept
    (a split of the file leaves the task reading the whole), though it is held as a write."""
    plan = _parse(
        "tasks:\n  - id: a\n    files: [src/a.py, ./src/a.py]\n"
        "    reads: [src/lib/../a.py, src/b.py, src/b.py]\n"
        "    state: [db]\n    state_reads: [db, db.users]\n"
    )
    assert plan.task("a").accesses == (
        Access(ResourceKind.FILE, "src/a.py", Mode.WRITE),
        Access(ResourceKind.FILE, "src/a.py", Mode.READ),
        Access(ResourceKind.FILE, "src/b.py", Mode.READ),
        Access(ResourceKind.STATE, "db", Mode.WRITE),
        Access(ResourceKind.STATE, "db", Mode.READ),
        Access(ResourceKind.STATE, "db.users", Mode.READ),
    )
    index = ResourceIndex.build(plan)
    assert [(index.names[p], mode) for p, mode, _ in index.claims[0]] == [
        ("src/a.py", WRITE),
        ("src/b.py", READ),
        ("state:db", WRITE),
        ("state:db.users", READ),
    ]


def test_same_name_in_different_kinds_is_kept_apart() -> None:
    """A file and a test resource with the same key are different resources."""
    plan = _parse("tasks:\n  - id: a\n    files: [tests/]\n    test_reads: [tests/]\n")
    assert [(a.kind, a.mode) for a in plan.task("a").accesses] == [
        (ResourceKind.FILE, Mode.WRITE),
        (ResourceKind.TEST, Mode.READ),
    ]


def test_zero_amount_of_a_counted_resource_adds_no_access() -> None:
    """`uses: {db: 0}` is allowed and takes nothing."""
    plan = _parse("resources: {db: 1}\ntasks:\n  - id: a\n    uses: {db: 0}\n")
    assert plan.task("a").accesses == ()


def test_ids_are_sorted_in_natural_order() -> None:
    """t2 comes before t10, whatever order the file lists them in."""
    plan = _parse("tasks:\n  - id: t10\n  - id: t2\n  - id: t1\n  - id: a\n")
    assert [t.id for t in plan.tasks] == ["a", "t1", "t2", "t10"]


def test_plan_does_not_depend_on_task_order_in_the_file() -> None:
    """Reversing the tasks of a file loads the same plan."""
    tasks = [f"  - id: t{i}\n    depends: [t{i - 1}]\n" if i else "  - id: t0\n" for i in range(12)]
    forward = _parse("tasks:\n" + "".join(tasks))
    backward = _parse("tasks:\n" + "".join(reversed(tasks)))
    assert forward.tasks == backward.tasks


def test_root_defaults_to_the_plan_files_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without `root`, paths are relative to the folder holding the task file, made absolute."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "plan.yaml").write_text("tasks:\n  - id: a\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    plan = load_plan("sub/plan.yaml")
    assert plan.root == str(tmp_path / "sub")
    assert plan.source == "sub/plan.yaml"


def test_root_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An explicit `root` (the CLI's --root) replaces the file's folder, made absolute."""
    (tmp_path / "plans").mkdir()
    (tmp_path / "repo").mkdir()
    (tmp_path / "plans" / "plan.yaml").write_text("tasks:\n  - id: a\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert load_plan("plans/plan.yaml", root="repo").root == str(tmp_path / "repo")
    assert load_plan(tmp_path / "plans" / "plan.yaml", root=tmp_path).root == str(tmp_path)


def test_root_option_is_accepted_by_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--root DIR` does not change validation: an escaping path is still an error."""
    (tmp_path / "plan.yaml").write_text("tasks:\n  - id: a\n    files: [../x]\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["plan", "plan.yaml", "--root", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        "ERROR: plan.yaml:3: task 'a', field 'files': '../x' escapes the plan root\n"
    )


@pytest.mark.parametrize("name", ["plan.yaml", "plan.json", "plan.toml"])
def test_utf8_bom_is_accepted(name: str, tmp_path: Path) -> None:
    """A UTF-8 byte-order mark, as some Windows editors write, is skipped in every format."""
    text = {
        "plan.yaml": "tasks:\n  - id: a\n",
        "plan.json": '{"tasks": [{"id": "a"}]}',
        "plan.toml": '[[tasks]]\nid = "a"\n',
    }[name]
    path = tmp_path / name
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert [t.id for t in load_plan(path).tasks] == ["a"]


def test_format_is_detected_from_content_without_an_extension(tmp_path: Path) -> None:
    """A file without a known extension is read as JSON when it starts with a brace."""
    (tmp_path / "plan").write_text('{"tasks": {"a": {}}}', encoding="utf-8")
    (tmp_path / "plan.txt").write_text("tasks:\n  a: {}\n", encoding="utf-8")
    assert load_plan(tmp_path / "plan").tasks == load_plan(tmp_path / "plan.txt").tasks


def test_explicit_format_overrides_the_extension() -> None:
    """`fmt` chooses the parser whatever the name says."""
    plan = parse_plan_text('[[tasks]]\nid = "a"\n', name="plan.yaml", fmt=Format.TOML)
    assert [t.id for t in plan.tasks] == ["a"]


def test_yaml_merge_keys_and_anchors_are_supported() -> None:
    """Anchors and `<<` merges let tasks share settings."""
    plan = _parse(
        "tasks:\n  - &base {id: a, duration: 3, reads: [shared.txt]}\n  - <<: *base\n    id: b\n"
    )
    assert plan.task("b").duration == 3.0
    assert plan.task("b").accesses == plan.task("a").accesses


def test_yaml_c_loader_is_used_when_available() -> None:
    """PyYAML's C loader (libyaml) is the base of the strict loader when it is installed."""
    if not yaml.__with_libyaml__:
        pytest.skip("PyYAML was built without libyaml")
    assert issubclass(yamltext.StrictLoader, yaml.CSafeLoader)


def test_yaml_merged_keys_may_be_overridden_but_written_keys_not_repeated() -> None:
    """A key from a `<<` merge can be overridden; a key written twice is still a duplicate."""
    base = "tasks:\n  - &base {id: a, title: shared}\n  - <<: *base\n    id: b\n"
    assert _parse(base).task("b").title == "shared"
    with pytest.raises(PlanSyntaxError) as caught:
        _parse(base + "    id: c\n")
    assert str(caught.value) == (
        "plan.yaml:5:5: task 'b', field 'id': duplicate key (first written on line 4)"
    )


@pytest.mark.parametrize(
    ("command", "loads_yaml"),
    [
        ("from waveplan.load import load_plan; load_plan('plan.json')", False),
        ("from waveplan.load import load_plan; load_plan('plan.toml')", False),
        ("from waveplan.load import load_plan; load_plan('plan.yaml')", True),
        ("from waveplan.cli import main; main(['history'])", False),
    ],
)
def test_pyyaml_is_imported_only_for_yaml(tmp_path: Path, command: str, loads_yaml: bool) -> None:
    """PyYAML (14 ms to import) and tomllib (10 ms) load only when a plan in their format is
    read: JSON plans and the history commands do without."""
    (tmp_path / "plan.json").write_text('{"tasks": [{"id": "a"}]}')
    (tmp_path / "plan.toml").write_text('[[tasks]]\nid = "a"\n')
    (tmp_path / "plan.yaml").write_text("tasks:\n  - id: a\n")
    probe = f"import sys; {command}; print('yaml' in sys.modules, 'tomllib' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    yaml_loaded, toml_loaded = result.stdout.split()[-2:]
    assert yaml_loaded == str(loads_yaml)
    assert toml_loaded == str("toml" in command)

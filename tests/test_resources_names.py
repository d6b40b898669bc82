"""Resource names: how paths, globs, state names and test resources are normalised or refused."""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest

from waveplan.errors import CONTROL, PlanError
from waveplan.load.taskfile import check_id
from waveplan.resources import (
    ROOT_DIR,
    is_glob,
    is_named_test_resource,
    normalize_path,
    normalize_state,
    normalize_test,
)
from waveplan.run.runner import log_tail


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("src/a.py", "src/a.py"),
        ("./a/../b", "b"),
        ("src/lib/../../src/a.py", "src/a.py"),
        ("a//b///c", "a/b/c"),
        ("./src/./a.py", "src/a.py"),
        ("  src/a.py  ", "src/a.py"),
        ("~/notes.txt", "~/notes.txt"),
        ("name with spaces.txt", "name with spaces.txt"),
    ],
)
def test_paths_are_normalised(raw: str, key: str) -> None:
    """`.` and `..` segments, repeated slashes and surrounding blanks disappear."""
    assert normalize_path(raw) == key


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("src/", "src/"),
        ("src//", "src/"),
        ("./src/", "src/"),
        ("src/.", "src/"),
        ("src/lib/..", "src/"),
        ("a/b/../", "a/"),
    ],
)
def test_directories_keep_one_trailing_slash(raw: str, key: str) -> None:
    """A path that names a folder (trailing `/`, `/.` or `/..`) ends with exactly one `/`."""
    assert normalize_path(raw) == key


@pytest.mark.parametrize("raw", [".", "./", "x/..", "a/b/../..", ".//."])
def test_the_root_itself_is_dot_slash(raw: str) -> None:
    """Every spelling of the plan root normalises to `./`, which covers everything."""
    assert normalize_path(raw) == ROOT_DIR == "./"


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("src/**/*.ts", "src/**/*.ts"),
        ("./src/*.py", "src/*.py"),
        ("docs/../tests/test_?.py", "tests/test_?.py"),
        ("data/[ab].csv", "data/[ab].csv"),
        ("**", "**"),
    ],
)
def test_globs_are_kept_and_their_folders_normalised(raw: str, key: str) -> None:
    """Glob characters are kept as written; the segments around them are normalised."""
    assert normalize_path(raw) == key
    assert is_glob(key)


@pytest.mark.parametrize("key", ["src/a.py", "src/", ROOT_DIR, "a.b/c-d_e"])
def test_plain_paths_are_not_globs(key: str) -> None:
    """Only `*`, `?` and `[` make a glob."""
    assert not is_glob(key)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("/etc/passwd", "'/etc/passwd' is absolute; paths are relative to the plan root"),
        ("//server/share", "'//server/share' is absolute; paths are relative to the plan root"),
        ("C:\\Users\\me", "'C:\\Users\\me' is absolute; paths are relative to the plan root"),
        ("c:/data", "'c:/data' is absolute; paths are relative to the plan root"),
        ("D:", "'D:' is absolute; paths are relative to the plan root"),
        ("..", "'..' escapes the plan root"),
        ("../x", "'../x' escapes the plan root"),
        ("src/../../x/", "'src/../../x/' escapes the plan root"),
        ("a/../..", "'a/../..' escapes the plan root"),
        ("./../a", "'./../a' escapes the plan root"),
        ("src\\a.py", "'src\\a.py' uses '\\'; write paths with '/'"),
        ("..\\x", "'..\\x' uses '\\'; write paths with '/'"),
        ("", "empty name"),
        ("   ", "empty name"),
        ("a\x00b", "'a\\x00b' contains a control character"),
        ("a\nb", "'a\\nb' contains a control character"),
        ("a\x85b", "'a\\x85b' contains a control character"),
    ],
)
def test_bad_paths_are_refused_with_a_reason(raw: str, reason: str) -> None:
    """Absolute, escaping, backslashed, empty and control-character paths raise ValueError."""
    with pytest.raises(ValueError) as caught:
        normalize_path(raw)
    assert str(caught.value) == reason


def test_escaping_check_is_done_after_normalisation() -> None:
    """`..` that stays inside the root is fine; the same depth one level up is not."""
    assert normalize_path("a/b/../../c") == "c"
    with pytest.raises(ValueError, match="escapes the plan root"):
        normalize_path("a/b/../../../c")


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("db", "db"),
        ("db.users", "db.users"),
        (" cache.sessions ", "cache.sessions"),
        ("a/b", "a/b"),
    ],
)
def test_state_names_are_kept_dotted(raw: str, key: str) -> None:
    """State names are dotted and otherwise kept as written (no path rules)."""
    assert normalize_state(raw) == key


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("db..users", "'db..users' has an empty segment; write names like db.users"),
        (".db", "'.db' has an empty segment; write names like db.users"),
        ("db.", "'db.' has an empty segment; write names like db.users"),
        ("db users", "'db users' contains whitespace"),
        ("", "empty name"),
        ("db\x7f", "'db\\x7f' contains a control character"),
    ],
)
def test_bad_state_names_are_refused(raw: str, reason: str) -> None:
    """Empty segments, whitespace and control characters are errors in state names."""
    with pytest.raises(ValueError) as caught:
        normalize_state(raw)
    assert str(caught.value) == reason


@pytest.mark.parametrize(
    ("raw", "key", "named"),
    [
        ("port:8080", "port:8080", True),
        ("fixture:users", "fixture:users", True),
        ("x:1", "x:1", True),
        ("tests/integration/", "tests/integration/", False),
        ("./tests/../tests/unit", "tests/unit", False),
        ("tests/data:v2/", "tests/data:v2/", False),
        ("tests/**/test_*.py", "tests/**/test_*.py", False),
    ],
)
def test_test_resources_are_names_with_a_colon_or_paths(raw: str, key: str, named: bool) -> None:
    """`kind:name` is a named test resource kept as is; anything else follows the path rules."""
    assert is_named_test_resource(raw) is named
    assert normalize_test(raw) == key


@pytest.mark.parametrize("text", ["C:/tests", "C:\\tests", "c:", "a\\b:c"])
def test_windows_paths_are_not_test_names(text: str) -> None:
    """A drive letter or a backslash before the colon marks a path, not a `kind:name`."""
    assert not is_named_test_resource(text)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("port:80 80", "'port:80 80' contains whitespace"),
        ("port:", "'port:' needs a kind and a name around ':', such as port:8080"),
        (":8080", "':8080' needs a kind and a name around ':', such as port:8080"),
        ("C:\\tests", "'C:\\tests' is absolute; paths are relative to the plan root"),
        ("C:/tests", "'C:/tests' is absolute; paths are relative to the plan root"),
        ("../tests/", "'../tests/' escapes the plan root"),
        ("/tmp/tests", "'/tmp/tests' is absolute; paths are relative to the plan root"),
    ],
)
def test_bad_test_resources_are_refused(raw: str, reason: str) -> None:
    """Named test resources need both parts and no blanks; test paths obey the path rules."""
    with pytest.raises(ValueError) as caught:
        normalize_test(raw)
    assert str(caught.value) == reason


def test_control_characters_are_exactly_unicode_category_cc() -> None:
    """The control-character check matches Unicode's category Cc on every code point."""
    controls = [c for c in map(chr, range(sys.maxunicode + 1)) if unicodedata.category(c) == "Cc"]
    assert [c for c in map(chr, range(sys.maxunicode + 1)) if CONTROL.search(c)] == controls


def refused_as_control(check: Callable[[str], object], text: str) -> bool:
    """``check`` refuses ``text`` for a control character."""
    try:
        check(text)
    except ValueError as exc:
        return "control character" in str(exc)
    return False


def test_every_control_character_check_follows_the_one_definition(tmp_path: Path) -> None:
    """Ids, resource names, error messages and log tails tell control characters by one
    definition: ids and names refuse them, a message escapes them (and line separators), a
    log tail replaces them (but a tab)."""
    log = tmp_path / "t.log"
    for char in map(chr, [*range(0x300), 0x2028, 0x2029, 0xFEFF]):
        control = bool(CONTROL.search(char))
        assert refused_as_control(check_id, f"a{char}b") == control, repr(char)
        assert refused_as_control(normalize_state, f"a{char}b") == control, repr(char)
        escaped = str(PlanError(f"a{char}b")) != f"a{char}b"
        assert escaped == (control or char in "\u2028\u2029"), repr(char)
        if char not in "\n\r\x1b":  # line ends and escape sequences are taken apart first
            log.write_text(f"a{char}b\n", encoding="utf-8")
            replaced = log_tail(str(log)) == "a\ufffdb"
            assert replaced == (control and char != "\t"), repr(char)

"""What ``waveplan infer`` reads in test files: fixtures defined and requested, literal
resources, and which files are tests."""

from __future__ import annotations

import pytest

from waveplan.infer.source import Language, python_definitions
from waveplan.infer.tests import TestFacts as Facts
from waveplan.infer.tests import is_test_file, scan_tests

CONFTEST = '''
import pytest


@pytest.fixture
def database():
    """A fixture whose docstring says def not_a_fixture(x):"""
    return {}


@pytest.fixture(name="client", scope="session")
def make_client(database, request):
    return database


@pytest.fixture(autouse=True)
def reset(monkeypatch):
    yield
'''

TESTS = """
import pytest

pytestmark = pytest.mark.usefixtures("marked")


def test_plain(database, tmp_path):
    def helper(not_a_fixture):
        return not_a_fixture
    assert helper(1)


@pytest.mark.parametrize("value, database", [(1, 2)])
def test_parametrized(value, database, client):
    pass


@pytest.mark.usefixtures("used")
class TestThings:
    def test_method(self, cache):
        pass

    def helper(self, not_a_fixture):
        pass


class Helper:
    def test_not_collected(self, not_a_fixture):
        pass


@pytest.fixture
def local(database):
    return database


async def test_async(local, optional=None):
    pass
"""


def _facts(text: str, path: str = "tests/test_x.py") -> Facts:
    return Facts.from_json(scan_tests(text, Language.PYTHON, path))


def test_fixture_definitions_with_names_requests_and_autouse() -> None:
    """Fixtures by function name or ``name=``, what they request (not ``request``), autouse."""
    assert _facts(CONFTEST, "tests/conftest.py").fixtures == (
        ("database", 6, (), False),
        ("client", 12, ("database",), False),
        ("reset", 17, ("monkeypatch",), True),
    )


def test_requests_of_tests_marks_and_classes() -> None:
    """Parameters of test functions and of methods of Test classes, usefixtures marks on a
    class and the module's pytestmark; not parametrized names, defaults, nested helpers or
    methods of other classes."""
    facts = _facts(TESTS)
    assert facts.requests == (
        ("marked", 4),
        ("database", 7),
        ("tmp_path", 7),
        ("client", 14),
        ("used", 20),
        ("cache", 20),
        ("local", 37),
    )
    assert facts.fixtures == (("local", 33, ("database",), False),)


@pytest.mark.parametrize(
    ("line", "resource"),
    [
        ("PORT = 8080", "port:8080"),
        ("server_port: int = 5001", "port:5001"),
        ("run(app, port=5002)", "port:5002"),
        ("CONFIG = {'port': 5003}", "port:5003"),
        ("sock.bind(('', 5004))", "port:5004"),
        ("URL = 'http://localhost:5005/api'", "port:5005"),
        (
            "DB = 'postgresql://user:secret@db.local:5432/test?ssl=1'",
            "url:postgresql://db.local:5432/test",
        ),
        ("REDIS = 'redis://127.0.0.1:6379/0'", "url:redis://127.0.0.1:6379/0"),
        ("SOCKET = '/tmp/app.sock'", "path:/tmp/app.sock"),
    ],
)
def test_literal_resources(line: str, resource: str) -> None:
    """Ports, service URLs (without credentials or query) and absolute paths are resources."""
    assert resource in [key for key, _ in _facts(line + "\n").literals]


@pytest.mark.parametrize(
    "line",
    [
        "port = 0",
        "URL = 'https://example.com/api'",
        "DB = 'sqlite:///:memory:'",
        "DB = 'sqlite://'",
        "ROUTE = '/api/users'",
        "PATH = '/usr/bin/env'",
        "from os import path as import_port",
        "sock.listen(5)",
    ],
)
def test_things_that_are_not_shared_resources(line: str) -> None:
    """Free ports, remote URLs, in-memory databases, routes and system paths are not."""
    assert _facts(line + "\n").literals == ()


def test_script_tests_literals() -> None:
    """JavaScript tests: ports in code and strings, URLs."""
    text = "const port = 3001;\napp.listen(3002);\nconst db = 'mongodb://localhost/test';\n"
    facts = Facts.from_json(scan_tests(text, Language.SCRIPT, "web/a.test.ts"))
    assert facts.literals == (
        ("port:3001", 1),
        ("port:3002", 2),
        ("url:mongodb://localhost/test", 3),
    )


def test_definitions_are_read_without_the_bodies() -> None:
    """Decorated, async and nested definitions with their indentation; strings skipped."""
    text = 'x = """\ndef fake(a):\n"""\n@dec(1)\nasync def f(a: "str" = ")"):\n    def g(b): ...\n'
    found = [(line, indent, type(node).__name__) for line, indent, node in python_definitions(text)]
    assert found == [(5, 0, "AsyncFunctionDef"), (6, 4, "FunctionDef")]


@pytest.mark.parametrize(
    ("path", "test"),
    [
        ("tests/test_a.py", True),
        ("pkg/a_test.py", True),
        ("app/tests.py", True),
        ("tests/conftest.py", False),
        ("tests/helpers.py", False),
        ("web/a.test.ts", True),
        ("web/a.spec.jsx", True),
        ("web/__tests__/a.js", True),
        ("web/test_a.ts", False),
        ("docs/test_a.md", False),
    ],
)
def test_test_files_by_name(path: str, test: bool) -> None:
    """Which files are tests."""
    assert is_test_file(path) is test

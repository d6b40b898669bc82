"""Tests: which test files a task affects, and what those tests share.

A file is a test by its name: ``test_*.py``, ``*_test.py``, ``tests.py``, ``*.test.*`` and
``*.spec.*`` scripts, and scripts under ``__tests__/``. A task's **test footprint** is the
tests that import, directly or through other modules, a file the task writes (and the tests
it writes itself). What a test file uses is read with :mod:`ast` for Python (never imported):

- the **conftest fixtures** its tests request (parameters of ``test*`` functions and of the
  file's own fixtures, ``usefixtures`` marks; ``parametrize`` names are not fixtures), found
  in the nearest ``conftest.py`` up the folders, with the fixtures those request in turn.
  Autouse fixtures are not counted: they would tie every test under a folder to every other;
- **literal resources**: ports (``port=8080``, ``PORT = 5000``, ``localhost:8000``,
  ``bind(("", 9000))``), database and service URLs (``postgresql://...``, ``redis://...``;
  in-memory SQLite is not shared), and absolute paths under ``/tmp``, ``/var`` and the like.

JavaScript and TypeScript tests are read for literal resources only.
"""

from __future__ import annotations

import ast
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from waveplan.infer.cache import stored_flag, stored_number, stored_text
from waveplan.infer.modules import Edge, ModuleGraph
from waveplan.infer.source import Language, language_of, python_definitions

__all__ = [
    "Footprint",
    "TestFacts",
    "TestUse",
    "footprint",
    "is_test_file",
    "scan_tests",
    "test_uses",
]

_SCRIPT_TEST = re.compile(r"\.(?:test|spec)\.[cm]?[jt]sx?$")


@lru_cache(maxsize=65536)
def is_test_file(path: str) -> bool:
    """Whether a file is a test by its name."""
    name = path.rpartition("/")[2]
    language = language_of(path)
    if language is Language.PYTHON:
        return name.endswith(".py") and (
            name.startswith("test_") or name.endswith("_test.py") or name == "tests.py"
        )
    if language is Language.SCRIPT:
        return bool(_SCRIPT_TEST.search(name)) or "/__tests__/" in f"/{path}"
    return False


@dataclass(frozen=True, slots=True)
class Footprint:
    """The tests a task affects; ``via[test]`` is the import chain from the test to a file
    the task writes (empty when the task writes the test itself)."""

    tests: tuple[str, ...]
    via: Mapping[str, tuple[Edge, ...]]


def footprint(
    graph: ModuleGraph, written: Iterable[str], is_test: Callable[[str], bool]
) -> Footprint:
    """The tests that import the written files, directly or transitively (breadth first, so
    each chain is a shortest one)."""
    start = sorted(set(written))
    reached: dict[str, Edge | None] = dict.fromkeys(start)
    queue = list(start)
    for file in queue:
        for edge in graph.importers.get(file, ()):
            if edge.source not in reached:
                reached[edge.source] = edge
                queue.append(edge.source)
    via: dict[str, tuple[Edge, ...]] = {}
    for file in sorted(reached):
        if not is_test(file):
            continue
        chain: list[Edge] = []
        step = reached[file]
        while step is not None:
            chain.append(step)
            step = reached[step.target]
        via[file] = tuple(chain)
    return Footprint(tuple(via), via)


# -- what test files use ---------------------------------------------------------------------

_URL = re.compile(
    r"\b((?:postgres(?:ql)?|mysql|mariadb|mssql|oracle|sqlite|redis|rediss|mongodb(?:\+srv)?"
    r"|amqps?|memcached?|nats|kafka|clickhouse|cockroachdb)(?:\+\w+)?://[^\s'\"`<>]*)"
)
_HOST_PORT = re.compile(r"(?:\blocalhost|\b127\.0\.0\.1|\b0\.0\.0\.0|\[::1\]):(\d{2,5})\b")
_PATH = re.compile(r"^/(?:tmp|var|run|srv|data|mnt|home|Users|private)/[^\s'\"`]+$")
_PORT_NAME = re.compile(r"(?i)^\w*port$")
_SOCKET_CALLS = frozenset({"bind", "connect", "connect_ex", "create_connection", "create_server"})


def _url_key(url: str) -> str | None:
    """``url:`` + the URL without credentials or query; None for in-memory databases."""
    scheme, _, rest = url.partition("://")
    rest = rest.split("?", 1)[0].split("#", 1)[0]
    if "@" in rest.split("/", 1)[0]:
        rest = rest.split("@", 1)[1]
    if scheme.startswith("sqlite") and rest in ("", "/", "/:memory:", ":memory:"):
        return None
    if not rest.strip("/"):
        return None
    return f"url:{scheme}://{rest}"


def _port_key(value: object) -> str | None:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536:
        return f"port:{value}"
    return None


def _string_resources(text: str) -> list[str]:
    """Resources a string literal names: URLs of shared services, local ports, paths."""
    found: list[str] = []
    for match in _URL.finditer(text):
        key = _url_key(match.group(1))
        if key is not None:
            found.append(key)
    for match in _HOST_PORT.finditer(text):
        key = _port_key(match.group(1))
        if key is not None:
            found.append(key)
    if _PATH.match(text):
        found.append(f"path:{text}")
    return found


@dataclass(frozen=True, slots=True)
class TestFacts:
    """What one test or conftest file defines and uses.

    ``fixtures``: (name, line, requested fixtures, autouse) of the fixtures it defines;
    ``requests``: (fixture, line) its tests request; ``literals``: (resource, line).
    """

    fixtures: tuple[tuple[str, int, tuple[str, ...], bool], ...] = ()
    requests: tuple[tuple[str, int], ...] = ()
    literals: tuple[tuple[str, int], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Plain data for the cache."""
        return {
            "f": [[n, line, list(deps), auto] for n, line, deps, auto in self.fixtures],
            "r": [list(r) for r in self.requests],
            "l": [list(r) for r in self.literals],
        }

    @classmethod
    def from_json(cls, data: Any) -> TestFacts:
        """From :meth:`to_json`'s data (:exc:`~waveplan.infer.cache.Unusable`, or the error
        unpacking it raises, when it is not such data)."""
        return cls(
            tuple(
                (
                    stored_text(n),
                    stored_number(line),
                    tuple(stored_text(d) for d in deps),
                    stored_flag(a),
                )
                for n, line, deps, a in data["f"]
            ),
            tuple((stored_text(n), stored_number(line)) for n, line in data["r"]),
            tuple((stored_text(k), stored_number(line)) for k, line in data["l"]),
        )


def scan_tests(text: str, language: Language, path: str) -> dict[str, Any]:
    """The test facts of one file, as plain data (see :class:`TestFacts`)."""
    if language is Language.PYTHON:
        return _python_tests(text).to_json()
    if language is Language.SCRIPT:
        return _script_tests(text).to_json()
    return TestFacts().to_json()


def _decorator_name(node: ast.expr) -> str:
    target = node.func if isinstance(node, ast.Call) else node
    parts: list[str] = []
    while isinstance(target, ast.Attribute):
        parts.append(target.attr)
        target = target.value
    if isinstance(target, ast.Name):
        parts.append(target.id)
    return ".".join(reversed(parts))


def _strings_of(node: ast.expr) -> list[str]:
    """Names given as ``"a, b"``, ``"a"`` or a list/tuple of strings."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [n.strip() for n in node.value.split(",") if n.strip()]
    if isinstance(node, ast.List | ast.Tuple):
        return [
            e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
        ]
    return []


def _parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    args = function.args
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    defaults = len(args.defaults)
    positional = [*args.posonlyargs, *args.args]
    with_default = {a.arg for a in positional[len(positional) - defaults :]} if defaults else set()
    with_default |= {a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d}
    return [
        a.arg
        for a in every
        if a.arg not in ("self", "cls", "request") and a.arg not in with_default
    ]


def _marks(decorators: list[ast.expr]) -> tuple[set[str], list[str], bool, str | None]:
    """Parametrized names, ``usefixtures`` names, autouse, and the fixture's name (None: not
    a fixture; empty: the function's name)."""
    parametrized: set[str] = set()
    used: list[str] = []
    fixture: str | None = None
    autouse = False
    for decorator in decorators:
        name = _decorator_name(decorator)
        call = decorator if isinstance(decorator, ast.Call) else None
        if name.endswith("parametrize") and call is not None and call.args:
            parametrized.update(_strings_of(call.args[0]))
        elif name.endswith("usefixtures") and call is not None:
            for arg in call.args:
                used.extend(_strings_of(arg))
        elif name in ("fixture", "pytest.fixture", "pytest_asyncio.fixture"):
            fixture = ""
            for keyword in call.keywords if call is not None else ():
                value = keyword.value
                if keyword.arg == "name" and isinstance(value, ast.Constant):
                    fixture = str(value.value)
                if keyword.arg == "autouse" and isinstance(value, ast.Constant):
                    autouse = bool(value.value)
    return parametrized, used, autouse, fixture


_PORT_WORD = re.compile(r"port\w*\s*[=:]|port['\"]")
_SCHEMES = (
    "postgres",
    "mysql",
    "mariadb",
    "mssql",
    "oracle",
    "sqlite",
    "redis",
    "mongodb",
    "amqp",
    "memcache",
    "nats",
    "kafka",
    "clickhouse",
    "cockroachdb",
)
_HINTS = (
    "localhost:",
    "127.0.0.1:",
    "0.0.0.0:",
    "[::1]:",
    *(f"{q}/{folder}/" for q in "'\"" for folder in ("tmp", "var", "run", "srv", "data", "mnt")),
    *(f"{q}/{folder}/" for q in "'\"" for folder in ("home", "users", "private")),
    *(f".{call}((" for call in ("bind", "connect", "connect_ex", "create_connection")),
    ".create_server((",
)


def _may_hold(text: str) -> bool:
    """Whether a file may hold a literal resource at all: most test files do not, and walking
    a whole syntax tree is what costs. Plain substring checks, then the word ``port``."""
    lowered = text.lower()
    if any(hint in lowered for hint in _HINTS):
        return True
    if "://" in lowered and any(scheme in lowered for scheme in _SCHEMES):
        return True
    at = lowered.find("port")
    while at >= 0:
        before = lowered[at - 1] if at else " "
        if (not before.isalnum() or before == "_") and _PORT_WORD.match(lowered, at):
            return True
        at = lowered.find("port", at + 4)
    return False


def _python_tests(text: str) -> TestFacts:
    fixtures: list[tuple[str, int, tuple[str, ...], bool]] = []
    requests: list[tuple[str, int]] = []
    # the enclosing definitions: (indentation, is a class, is a test class, class marks)
    stack: list[tuple[int, bool, bool, list[str]]] = []
    for line, indent, node in python_definitions(text):
        while stack and stack[-1][0] >= indent:
            stack.pop()
        in_function = any(not is_class for _, is_class, _, _ in stack)
        if isinstance(node, ast.ClassDef):
            _, used, _, _ = _marks(node.decorator_list)
            outer = stack[-1][3] if stack else []
            test_class = node.name.startswith("Test") and not in_function
            stack.append((indent, True, test_class, outer + used))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            stack_before = list(stack)
            stack.append((indent, False, False, []))
            if in_function:
                continue  # a helper inside a function: neither a test nor a fixture
            parametrized, used, autouse, fixture = _marks(node.decorator_list)
            params = [p for p in _parameters(node) if p not in parametrized]
            if fixture is not None:
                fixtures.append((fixture or node.name, line, tuple(params), autouse))
                continue
            enclosing = stack_before[-1] if stack_before else None
            if not node.name.startswith("test") or (enclosing is not None and not enclosing[2]):
                continue
            class_uses = enclosing[3] if enclosing is not None else []
            requests.extend((r, line) for r in [*class_uses, *used, *params])
        elif isinstance(node, ast.Assign) and indent == 0:
            value = node.value
            for mark in value.elts if isinstance(value, ast.List | ast.Tuple) else [value]:
                if isinstance(mark, ast.Call) and _decorator_name(mark).endswith("usefixtures"):
                    for arg in mark.args:
                        requests.extend((n, line) for n in _strings_of(arg))
    return TestFacts(tuple(fixtures), tuple(requests), _python_literals(text))


def _python_literals(text: str) -> tuple[tuple[str, int], ...]:
    """The literal resources of a Python test file (its whole tree is read only when a quick
    look finds something that may be one)."""
    if not _may_hold(text):
        return ()
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return ()
    literals: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", None)
        if line is not None:
            literals.extend((key, line) for key in _node_resources(node))
    return tuple(dict.fromkeys(literals))


def _node_resources(node: ast.AST) -> list[str]:
    """Literal resources one AST node names."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return _string_resources(node.value)
    found: list[str] = []
    if isinstance(node, ast.keyword) and node.arg and _PORT_NAME.match(node.arg):
        if isinstance(node.value, ast.Constant):
            key = _port_key(node.value.value)
            if key:
                found.append(key)
    elif isinstance(node, ast.Assign | ast.AnnAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        named = any(isinstance(t, ast.Name) and _PORT_NAME.match(t.id) for t in targets)
        if named and isinstance(node.value, ast.Constant):
            key = _port_key(node.value.value)
            if key:
                found.append(key)
    elif isinstance(node, ast.Dict):
        for k, v in zip(node.keys, node.values, strict=True):
            if (
                isinstance(k, ast.Constant)
                and isinstance(k.value, str)
                and _PORT_NAME.match(k.value)
                and isinstance(v, ast.Constant)
            ):
                key = _port_key(v.value)
                if key:
                    found.append(key)
    elif isinstance(node, ast.Call) and _decorator_name(node).rsplit(".", 1)[-1] in _SOCKET_CALLS:
        for arg in node.args:
            if isinstance(arg, ast.Tuple) and len(arg.elts) == 2:
                host, port = arg.elts
                if isinstance(host, ast.Constant) and isinstance(port, ast.Constant):
                    key = _port_key(port.value)
                    if key:
                        found.append(key)
    return found


_SCRIPT_PORT = re.compile(r"(?i)\b\w*port\s*[:=]\s*(\d{2,5})\b|\.listen\(\s*(\d{2,5})\s*[,)]")
_SCRIPT_STRING = re.compile(r"""'([^'\\\n]*)'|"([^"\\\n]*)"|`([^`\\]*)`""")


def _script_tests(text: str) -> TestFacts:
    literals: list[tuple[str, int]] = []
    for match in _SCRIPT_PORT.finditer(text):
        key = _port_key(match.group(1) or match.group(2))
        if key:
            literals.append((key, text.count("\n", 0, match.start()) + 1))
    for match in _SCRIPT_STRING.finditer(text):
        value = match.group(1) or match.group(2) or match.group(3) or ""
        for key in _string_resources(value):
            literals.append((key, text.count("\n", 0, match.start()) + 1))
    return TestFacts(literals=tuple(dict.fromkeys(literals)))


# -- shared resources of a set of tests -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class TestUse:
    """A test file's use of a shared resource, with where it is seen."""

    resource: str
    test: str
    evidence: str


def test_uses(
    tests: Iterable[str],
    facts: Callable[[str], TestFacts | None],
    files: set[str],
    lines: Callable[[str, int], str],
) -> list[TestUse]:
    """The conftest fixtures and literal resources the given test files use.

    ``facts(path)`` gives a file's test facts, ``files`` is every file of the repository and
    ``lines(path, n)`` the text of line ``n`` (for the evidence).
    """
    uses: list[TestUse] = []
    for test in sorted(set(tests)):
        own = facts(test)
        if own is None:
            continue
        local = {name: deps for name, _, deps, _ in own.fixtures}
        conftests = _conftests(test, files)
        seen: set[tuple[str, str]] = set()
        # (fixture, line in the test file, where it is looked up from, how it was reached)
        queue: list[tuple[str, int, str, tuple[str, ...]]] = [
            (name, line, test, (name,)) for name, line in own.requests
        ]
        queue += [
            (dep, line, test, (name, dep)) for name, line, deps, _ in own.fixtures for dep in deps
        ]
        for name, line, where, chain in queue:
            if (name, where) in seen:
                continue
            seen.add((name, where))
            if where == test and name in local:
                continue  # the file's own fixture: its requests are queued already
            # a conftest fixture's requests are looked up from its own folder upwards
            first = conftests.index(where) if where in conftests else 0
            for conftest in conftests[first:]:
                defined = facts(conftest)
                match = (
                    next((f for f in defined.fixtures if f[0] == name), None) if defined else None
                )
                if match is None:
                    continue
                fixture, at, deps, _ = match
                how = " -> ".join(chain)
                uses.append(
                    TestUse(
                        f"fixture:{conftest}::{fixture}",
                        test,
                        f"{test}:{line}: {lines(test, line)} (fixture {how}, {conftest}:{at})",
                    )
                )
                queue.extend((dep, line, conftest, (*chain, dep)) for dep in deps)
                break
        for key, line in own.literals:
            uses.append(TestUse(key, test, f"{test}:{line}: {lines(test, line)}"))
    return uses


def _conftests(test: str, files: set[str]) -> list[str]:
    """The ``conftest.py`` files that apply to a test, nearest first."""
    found: list[str] = []
    folder = posixpath.dirname(test)
    while True:
        candidate = posixpath.join(folder, "conftest.py") if folder else "conftest.py"
        if candidate in files:
            found.append(candidate)
        if not folder:
            return found
        folder = posixpath.dirname(folder)

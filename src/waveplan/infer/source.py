"""Reading source files without running them: import statements and string literals.

Python: a lexer-aware scan finds the import statements that start a line outside strings and
comments, and :mod:`ast` parses exactly those statements (a whole-file ``ast.parse`` costs
about 4 ms per 16 kB file, which is 40 s for a 10,000-file repository; the scan is some 15
times faster and ``ast`` still decides what each statement imports). Nothing is imported or
executed. JavaScript and TypeScript: ``import ... from '...'``, ``import '...'``,
``import('...')``, ``require('...')`` and ``export ... from '...'``, found outside strings and
comments. Both scans also return the string literals that start like an SQL statement.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from enum import Enum

__all__ = [
    "ImportRef",
    "Language",
    "Literal",
    "js_imports",
    "language_of",
    "line_of",
    "python_definitions",
    "python_imports",
    "sql_literals",
]


class Language(Enum):
    """The languages waveplan reads."""

    PYTHON = "py"
    SCRIPT = "js"  # JavaScript and TypeScript
    SQL = "sql"


_EXTENSIONS = {
    ".py": Language.PYTHON,
    ".pyi": Language.PYTHON,
    ".js": Language.SCRIPT,
    ".jsx": Language.SCRIPT,
    ".mjs": Language.SCRIPT,
    ".cjs": Language.SCRIPT,
    ".ts": Language.SCRIPT,
    ".tsx": Language.SCRIPT,
    ".mts": Language.SCRIPT,
    ".cts": Language.SCRIPT,
    ".sql": Language.SQL,
}


def language_of(path: str) -> Language | None:
    """The language of a file, from its extension (None: not read). Minified bundles and
    declaration files are skipped: they are generated, and nobody edits them by hand."""
    name = path.rpartition("/")[2]
    dot = name.rfind(".")
    if dot <= 0 or name.endswith((".min.js", ".bundle.js", ".d.ts")):
        return None
    return _EXTENSIONS.get(name[dot:])


@dataclass(frozen=True, slots=True)
class ImportRef:
    """One import as written: ``module`` is the dotted Python module (empty for ``from .
    import x``) or the JavaScript specifier; ``level`` counts a Python import's leading dots;
    ``names`` are the names of a ``from`` import (each may be a submodule)."""

    line: int
    text: str
    module: str
    level: int = 0
    names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Literal:
    """A string literal (implicitly concatenated parts joined) that starts like SQL: its text
    with interpolations replaced by ``?``."""

    line: int
    text: str


def line_of(text: str, offset: int) -> int:
    """The 1-based line number of an offset."""
    return text.count("\n", 0, offset) + 1


class _Lines:
    """Line numbers of increasing offsets in one text, counted from the previous offset (a
    scan asks for many, and counting from the start each time is quadratic)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.offset = 0
        self.line = 1

    def __call__(self, offset: int) -> int:
        if offset < self.offset:
            self.offset, self.line = 0, 1
        self.line += self.text.count("\n", self.offset, offset)
        self.offset = offset
        return self.line


# How an SQL statement starts: its keyword and what must follow it, so that prose ("Update
# the cache", "Create a user") is not taken for SQL. The statement grammar is in sql.py.
_SQL_WORDS = (
    r"(?:select\s.{0,400}?\bfrom\s"
    r"|insert\s+(?:or\s+\w+\s+)?(?:ignore\s+)?into\s"
    r"|update\s+(?:or\s+\w+\s+)?[\w.\"`\[\]]+(?:\s+(?:as\s+)?\w+)?\s+set\s"
    r"|delete\s+from\s"
    r"|create\s+(?:or\s+replace\s+)?(?:(?:temp|temporary|unique|unlogged|virtual)\s+)*"
    r"(?:table|index|view)\s"
    r"|alter\s+table\s"
    r"|drop\s+(?:table|index|view)\s"
    r"|with\s+(?:recursive\s+)?\w+(?:\s*\([^)]*\))?\s+as\s*\("
    r"|replace\s+into\s"
    r"|truncate\s+(?:table\s+)?\w"
    r"|merge\s+into\s)"
)

# String bodies after the opening quote, written unrolled ([^q\\]*(?:\\.[^q\\]*)*) so the
# engine never backtracks through them.
_PY_BODIES = {
    "'''": r"[^'\\]*(?:(?:\\.|'(?!''))[^'\\]*)*'''",
    '"""': r'[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*"""',
    "'": r"[^'\\\n]*(?:\\.[^'\\\n]*)*'",
    '"': r'[^"\\\n]*(?:\\.[^"\\\n]*)*"',
}


def _strings(bodies: dict[str, str]) -> tuple[str, str]:
    """Alternations matching whole strings: those whose text starts like SQL, and all."""
    sql = "|".join(f"{re.escape(q)}(?=\\s*(?i:{_SQL_WORDS})){b}" for q, b in bodies.items())
    every = "|".join(f"{re.escape(q)}{b}" for q, b in bodies.items())
    return sql, every


# One alternation, tried at each quote, '#' and newline: strings and comments are consumed
# whole, so an 'import' inside a docstring never looks like a statement.
_PY_SQL, _PY_ANY = _strings(_PY_BODIES)
_PY_LEX = re.compile(
    rf"(?P<sql>{_PY_SQL})|{_PY_ANY}|\#[^\n]*|\n(?P<imp>[ \t]*(?:import|from)[ \t])",
    re.DOTALL,
)
_PY_STRING = {q: re.compile(re.escape(q) + b, re.DOTALL) for q, b in _PY_BODIES.items()}
_PY_GAP = re.compile(r"(?:\s|\\\n|#[^\n]*)*")
_PY_NEXT_STRING = re.compile(r"[rRbBuUfF]{0,2}('''|\"\"\"|'|\")")
_MAX_STATEMENT = 4000


def _statement_end(text: str, start: int) -> int:
    """End of the logical line that starts at ``start``: through parentheses and backslash
    continuations, never more than a few thousand characters."""
    depth = 0
    limit = min(len(text), start + _MAX_STATEMENT)
    i = start
    while i < limit:
        c = text[i]
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "\\" and text.startswith("\\\n", i):
            i += 2
            continue
        elif c == "#":
            newline = text.find("\n", i)
            if newline < 0 or depth <= 0:
                return limit if newline < 0 else newline
            i = newline
            continue
        elif c == "\n" and depth <= 0:
            return i
        i += 1
    return limit


def _import_nodes(statements: list[tuple[int, str]]) -> list[tuple[int, ast.stmt]]:
    """Parse the statements (line, text), all at once when they parse, else one by one."""
    joined = "\n".join(text for _, text in statements)
    try:
        tree = ast.parse(joined)
    except (SyntaxError, ValueError):
        found: list[tuple[int, ast.stmt]] = []
        for line, text in statements:
            try:
                found.extend((line, node) for node in ast.parse(text).body)
            except (SyntaxError, ValueError):
                continue
        return found
    starts: list[int] = []  # first line of each statement in the joined text
    position = 1
    for _, text in statements:
        starts.append(position)
        position += text.count("\n") + 1
    result: list[tuple[int, ast.stmt]] = []
    which = 0
    for node in tree.body:
        while which + 1 < len(starts) and starts[which + 1] <= node.lineno:
            which += 1
        result.append((statements[which][0], node))
    return result


_PY_DEFS = re.compile(
    rf"{_PY_ANY}|\#[^\n]*"
    r"|\n(?P<def>[ \t]*(?:@|(?:async[ \t]+)?def[ \t]|class[ \t]|pytestmark[ \t]*=))",
    re.DOTALL,
)


def _header_end(text: str, start: int) -> int:
    """End of a ``def`` or ``class`` header: after the colon outside brackets and strings."""
    depth = 0
    limit = min(len(text), start + _MAX_STATEMENT)
    i = start
    while i < limit:
        c = text[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c in "'\"":
            opener = _PY_NEXT_STRING.match(text, i)
            body = _PY_STRING[opener.group(1)].match(text, i) if opener else None
            if body is None:
                return limit
            i = body.end()
            continue
        elif c == ":" and depth <= 0:
            return i + 1
        i += 1
    return limit


def python_definitions(text: str) -> list[tuple[int, int, ast.stmt]]:
    """The ``def`` and ``class`` statements of a Python source (with their decorators, without
    their bodies) and its ``pytestmark`` assignments: (line, indentation, node). Found like
    imports, by a scan that skips strings and comments, and parsed with :mod:`ast` one header
    at a time, so a large file costs its scan, not a whole syntax tree."""
    source = "\n" + text
    line_at = _Lines(source)
    units: list[tuple[int, str]] = []
    indents: dict[int, int] = {}
    decorators: list[str] = []
    for match in _PY_DEFS.finditer(source):
        if match.lastgroup != "def":
            continue
        start = match.start("def")
        head = match.group("def")
        indent = len(head) - len(head.lstrip(" \t"))
        begin = start + indent
        line = line_at(begin) - 1
        if head.lstrip(" \t").startswith("@"):
            decorators.append(source[begin : _statement_end(source, begin)].strip())
            continue
        if head.lstrip(" \t").startswith("pytestmark"):
            units.append((line, source[begin : _statement_end(source, begin)].strip()))
        else:
            header = source[begin : _header_end(source, begin)]
            units.append((line, "\n".join([*decorators, header, "    pass"])))
        indents[line] = indent
        decorators = []
    return [(line, indents[line], node) for line, node in _import_nodes(units)]


def python_imports(text: str) -> tuple[list[ImportRef], list[Literal]]:
    """The imports of a Python source and its SQL-looking string literals."""
    source = "\n" + text  # a statement on the first line starts after a newline too
    line_at = _Lines(source)
    statements: list[tuple[int, str]] = []
    literals: list[Literal] = []
    for match in _PY_LEX.finditer(source):
        group = match.lastgroup
        if group == "imp":
            start = match.start("imp")
            end = _statement_end(source, start)
            statements.append((line_at(start) - 1, source[start:end].strip()))
        elif group == "sql":
            found = _python_sql(source, match.start(), line_at(match.start()) - 1)
            if found is not None:
                literals.append(found)
    imports: list[ImportRef] = []
    shown = {line: " ".join(statement.split())[:160] for line, statement in statements}
    for line, node in _import_nodes(statements):
        if isinstance(node, ast.Import):
            imports.extend(ImportRef(line, shown[line], alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names = tuple(alias.name for alias in node.names if alias.name != "*")
            imports.append(ImportRef(line, shown[line], node.module or "", node.level, names))
    return imports, literals


def _python_sql(source: str, start: int, line: int) -> Literal | None:
    """The SQL-looking literal whose quote is at ``start``, with the literals implicitly
    concatenated to it; f-string fields become ``?``."""
    prefix = start
    while prefix > start - 2 and source[prefix - 1] in "rRbBuUfF":
        prefix -= 1
    if prefix < start and (source[prefix - 1].isalnum() or source[prefix - 1] == "_"):
        prefix = start  # part of a name such as `buf"`: not a prefix
    parts: list[str] = []
    position = prefix
    while True:
        opener = _PY_NEXT_STRING.match(source, position)
        if opener is None:
            break
        quote = opener.group(1)
        body = _PY_STRING[quote].match(source, opener.start(1))
        if body is None:
            break
        content = body.group()[len(quote) : -len(quote)]
        if "f" in opener.group()[: -len(quote)].lower():
            content = re.sub(r"\{[^{}]*\}", "?", content)
        parts.append(content)
        gap = _PY_GAP.match(source, body.end())
        position = gap.end() if gap is not None else body.end()
    if not parts:
        return None
    return Literal(line, re.sub(r"\\[ntr]", " ", "".join(parts)))


_JS_BODIES = {
    "'": r"[^'\\\n]*(?:\\.[^'\\\n]*)*'",
    '"': r'[^"\\\n]*(?:\\.[^"\\\n]*)*"',
    "`": r"[^`\\]*(?:\\.[^`\\]*)*`",
}
_JS_SQL, _JS_ANY = _strings(_JS_BODIES)
_NOT_AFTER = r"(?<![\w$.])"
_JS_LEX = re.compile(
    rf"""
    (?P<imp>{_NOT_AFTER}import\s*(?:type\s+)?(?:[\w$*{{}},\s]+?\s*from\s*)?
        (?P<q1>['"])(?P<s1>[^'"\n]+)(?P=q1))
    |(?P<call>{_NOT_AFTER}(?:import|require)\s*\(\s*(?P<q2>['"`])(?P<s2>[^'"`\n$]+)(?P=q2)\s*\))
    |(?P<exp>{_NOT_AFTER}export\s+(?:type\s+)?(?:\*(?:\s+as\s+[\w$]+)?|\{{[^}}]*\}})\s*from\s*
        (?P<q3>['"])(?P<s3>[^'"\n]+)(?P=q3))
    |(?P<sql>{_JS_SQL})
    |{_JS_ANY}
    |//[^\n]*
    |/\*.*?\*/
    """,
    re.VERBOSE | re.DOTALL,
)


def js_imports(text: str) -> tuple[list[ImportRef], list[Literal]]:
    """The imports of a JavaScript or TypeScript source and its SQL-looking literals."""
    imports: list[ImportRef] = []
    literals: list[Literal] = []
    line_at = _Lines(text)
    for match in _JS_LEX.finditer(text):
        group = match.lastgroup
        if group in ("imp", "call", "exp"):
            spec = match.group("s1") or match.group("s2") or match.group("s3")
            shown = " ".join(match.group().split())[:160]
            imports.append(ImportRef(line_at(match.start()), shown, spec))
        elif group == "sql":
            quote = match.group()[0]
            content = match.group()[1:-1]
            if quote == "`":
                content = re.sub(r"\$\{[^{}]*\}", "?", content)
            content = re.sub(r"\\[ntr]", " ", content)
            literals.append(Literal(line_at(match.start()), content))
    return imports, literals


def sql_literals(text: str, language: Language) -> list[Literal]:
    """The SQL-looking string literals of a source (a whole ``.sql`` file is one literal)."""
    if language is Language.SQL:
        return [Literal(1, text)]
    if language is Language.PYTHON:
        return python_imports(text)[1]
    return js_imports(text)[1]

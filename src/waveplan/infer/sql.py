"""Tables from SQL statements and migrations: what becomes a ``db.<table>`` state access.

:func:`statement_tables` reads one SQL text (a string literal or a ``.sql`` file) and returns
the tables it writes (INSERT, UPDATE, DELETE, CREATE/ALTER/DROP/TRUNCATE TABLE, CREATE INDEX
ON, REPLACE, MERGE) and reads (FROM and JOIN). A literal counts as SQL only when it is a whole
statement: its first keyword and the keywords that must follow it (``UPDATE t SET``,
``SELECT ... FROM t``), written in one case (``SELECT``/``select``, never ``Select``, which
is how prose starts), and each table followed by what SQL allows there. :func:`migration_tables`
reads the table operations of Alembic, Django, knex and Sequelize migrations. Pure: text in,
tables out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["TableUse", "migration_tables", "statement_tables"]


@dataclass(frozen=True, slots=True)
class TableUse:
    """One table named by one statement or operation, at a line of its source."""

    table: str
    write: bool
    line: int
    text: str


_IDENT = r"""(?:[`"\[]?[A-Za-z_][\w$]*[`"\]]?)"""
_TABLE = rf"(?P<t>{_IDENT}(?:\.{_IDENT}){{0,2}})"
# What may follow a table name in a FROM or JOIN list: an alias, then a clause keyword.
_AFTER_TABLE = (
    r"(?:\s+(?:as\s+)?(?!(?:where|join|inner|left|right|full|cross|natural|on|using|order|group"
    r"|limit|having|union|except|intersect|offset|fetch|for|window|returning|set|values)\b)"
    r"[A-Za-z_]\w*)?"
    r"(?=\s*(?:$|;|,|\)|(?:where|join|inner|left|right|full|cross|natural|on|using|order|group"
    r"|limit|having|union|except|intersect|offset|fetch|for|window|returning)\b))"
)
_WRITES = [
    rf"^\s*insert\s+(?:or\s+\w+\s+)?(?:ignore\s+)?into\s+{_TABLE}",
    rf"^\s*replace\s+into\s+{_TABLE}",
    rf"^\s*merge\s+into\s+{_TABLE}",
    rf"^\s*update\s+(?:or\s+\w+\s+)?(?:only\s+)?{_TABLE}(?:\s+(?:as\s+)?\w+)?\s+set\b",
    rf"^\s*delete\s+from\s+(?:only\s+)?{_TABLE}{_AFTER_TABLE}",
    rf"^\s*create\s+(?:(?:unlogged|virtual)\s+)?table\s+(?:if\s+not\s+exists\s+)?{_TABLE}",
    rf"^\s*alter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?{_TABLE}",
    rf"^\s*drop\s+table\s+(?:if\s+exists\s+)?{_TABLE}",
    rf"^\s*truncate\s+(?:table\s+)?(?:only\s+)?{_TABLE}",
    rf"^\s*create\s+(?:unique\s+)?index\s+(?:concurrently\s+)?(?:if\s+not\s+exists\s+)?"
    rf"(?:{_IDENT}\s+)?on\s+(?:only\s+)?{_TABLE}",
]
_WRITE_RES = [re.compile(p, re.IGNORECASE) for p in _WRITES]
_READ_RE = re.compile(rf"\b(?:from|join)\s+(?!\(){_TABLE}{_AFTER_TABLE}", re.IGNORECASE)
_MORE_RE = re.compile(rf"\s*,\s*(?!\(){_TABLE}{_AFTER_TABLE}", re.IGNORECASE)
_SELECT_RE = re.compile(r"^\s*select\s.*?\bfrom\s", re.IGNORECASE | re.DOTALL)
_WITH_RE = re.compile(r"^\s*with\s+(?:recursive\s+)?", re.IGNORECASE)
# The head of one common table expression, up to its opening parenthesis: a name, an optional
# column list, AS and an optional (NOT) MATERIALIZED. Both where WITH's statement starts and
# which names are expressions (not tables) are read with it, so they cannot disagree.
_CTE_HEAD = re.compile(
    r"\s*(?P<name>[A-Za-z_]\w*)(?:\s*\([^)]*\)\s*|\s+)as\b\s*"
    r"(?:(?:not\s+)?materialized\b\s*)?\(",
    re.IGNORECASE,
)
_SPECIAL_FROM = re.compile(
    r"\b(?:extract|substring|trim|position|overlay)\s*\([^()]*\)|\bdistinct\s+from\b",
    re.IGNORECASE,
)
_KEYWORD = re.compile(
    r"^\s*(select|insert|update|delete|create|alter|drop|with|replace|truncate|merge)\b",
    re.IGNORECASE,
)
_STRUCTURE = re.compile(r"\b(from|into|set|table|index|on|as)\b", re.IGNORECASE)
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
_QUOTED = re.compile(r"'(?:[^']|'')*'")
# Catalog tables: reading them touches no application state.
_SYSTEM = re.compile(r"^(?:dual|sqlite_master|sqlite_schema|sqlite_sequence|pg_\w+)$")
_SYSTEM_SCHEMAS = ("information_schema", "pg_catalog", "sys", "mysql")
# Words prose puts where a table would be ("delete from the list"): never taken for tables.
_PROSE = frozenset(
    [
        "a",
        "an",
        "the",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "my",
        "our",
        "your",
        "their",
        "his",
        "her",
        "all",
        "any",
        "each",
        "every",
        "some",
        "which",
        "what",
        "there",
        "here",
    ]
)


def _name(raw: str) -> str | None:
    """``"Public"."Users"`` -> ``users``; None for a catalog table."""
    parts = [p.strip('`"[]') for p in raw.split(".")]
    if len(parts) > 1 and parts[0].lower() in _SYSTEM_SCHEMAS:
        return None
    table = parts[-1].lower()
    if not table or table == "?" or table in _PROSE or _SYSTEM.match(table):
        return None
    return table


def _one_case(statement: str) -> bool:
    """The statement's keywords are written in one case: all upper or all lower."""
    words = [m.group(1) for m in (_KEYWORD.match(statement),) if m]
    words += [m.group(1) for m in _STRUCTURE.finditer(statement)]
    keywords = [w for w in words if w]
    if not keywords:
        return False
    first = keywords[0]
    if not (first.isupper() or first.islower()):
        return False
    return all(w.isupper() == first.isupper() for w in keywords[:4])


def _statements(text: str) -> list[tuple[int, str, str]]:
    """The statements of an SQL text: the lines before each, its text with string literals
    masked (what is parsed) and as written (what is shown)."""
    clean = _COMMENTS.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), text)
    masked = _QUOTED.sub(lambda m: "'" + re.sub(r"[^\n]", "x", m.group()[1:-1]) + "'", clean)
    found: list[tuple[int, str, str]] = []
    start = 0
    for piece in masked.split(";"):
        end = start + len(piece)
        body = piece.lstrip()
        if body:
            offset = start + len(piece) - len(body)
            found.append((clean.count("\n", 0, offset), masked[offset:end], clean[offset:end]))
        start = end + 1
    return found


def statement_tables(text: str, line: int = 1) -> list[TableUse]:
    """The tables an SQL text writes and reads; ``line`` is the line the text starts on."""
    uses: list[TableUse] = []
    for skipped, statement, written_as in _statements(text):
        if not _one_case(statement):
            continue
        shown = " ".join(written_as.split())[:120]
        at = line + skipped
        written: set[str] = set()
        target = None
        with_match = _WITH_RE.match(statement)
        # After WITH's common table expressions comes the statement itself, which may write
        # (``WITH old AS (...) DELETE FROM sessions ...``).
        main = statement if with_match is None else _after_ctes(statement, with_match.end())
        for pattern in _WRITE_RES:
            match = pattern.match(main)
            if match:
                target = _name(match.group("t"))
                if target:
                    written.add(target)
                    uses.append(TableUse(target, True, at, shown))
                    if re.match(r"^\s*drop\s+table", main, re.IGNORECASE):
                        for more in _MORE_RE.finditer(main, match.end()):
                            name = _name(more.group("t"))
                            if name and name not in written:
                                written.add(name)
                                uses.append(TableUse(name, True, at, shown))
                break
        is_select = bool(_SELECT_RE.match(statement))
        if target is None and not is_select and with_match is None:
            continue
        ctes = set()
        if with_match is not None:
            heads = _CTE_HEAD.finditer(statement, with_match.end())
            ctes = {m.group("name").lower() for m in heads}
        body = _SPECIAL_FROM.sub(" ", statement)
        for match in _READ_RE.finditer(body):
            names = [match.group("t")]
            names += [m.group("t") for m in _iter_more(body, match.end())]
            for raw in names:
                name = _name(raw)
                if name and name not in ctes and name not in written:
                    uses.append(TableUse(name, False, at, shown))
    return _unique(uses)


def _after_ctes(statement: str, position: int) -> str:
    """What follows the common table expressions of a WITH statement (from ``position``, just
    after ``WITH``): ``name AS (...)``, comma-separated, parentheses balanced."""
    while True:
        head = _CTE_HEAD.match(statement, position)
        if head is None:
            return statement[position:]
        depth, index = 1, head.end()
        while depth and index < len(statement):
            char = statement[index]
            if char == '"':  # a quoted name may hold parentheses (literals are masked)
                closing = statement.find('"', index + 1)
                index = len(statement) if closing < 0 else closing + 1
                continue
            depth += {"(": 1, ")": -1}.get(char, 0)
            index += 1
        comma = re.match(r"\s*,", statement[index:])
        if comma is None:
            return statement[index:]
        position = index + comma.end()


def _iter_more(body: str, position: int) -> list[re.Match[str]]:
    """The further tables of a comma-separated FROM list."""
    found: list[re.Match[str]] = []
    while True:
        match = _MORE_RE.match(body, position)
        if match is None:
            return found
        found.append(match)
        position = match.end()


def _unique(uses: list[TableUse]) -> list[TableUse]:
    seen: set[tuple[str, bool, int]] = set()
    kept: list[TableUse] = []
    for use in uses:
        marker = (use.table, use.write, use.line)
        if marker not in seen:
            seen.add(marker)
            kept.append(use)
    return kept


_STR = r"""['"`](?P<t>[A-Za-z_][\w$]*)['"`]"""
_MIGRATIONS = [
    # Alembic: the table is the first argument...
    re.compile(
        r"\bop\.(?:create_table|drop_table|add_column|drop_column|alter_column|batch_alter_table"
        r"|rename_table|bulk_insert)\(\s*(?:sa\.table\(\s*)?" + _STR
    ),
    # ... or the second, after the constraint's or index's name, or table_name=.
    re.compile(
        r"\bop\.(?:create_index|drop_index|create_unique_constraint|create_foreign_key"
        r"|drop_constraint|create_check_constraint|create_primary_key)\(\s*(?:None|"
        r"""['"][^'"]*['"])\s*,\s*""" + _STR
    ),
    re.compile(r"\bop\.\w+\([^()]*?\btable_name\s*=\s*" + _STR),
    # knex schema builder, Sequelize's queryInterface.
    re.compile(
        r"\bschema\s*\.\s*(?:withSchema\([^)]*\)\s*\.\s*)?(?:createTable|createTableIfNotExists"
        r"|alterTable|dropTable|dropTableIfExists|renameTable|table)\(\s*" + _STR
    ),
    re.compile(
        r"\bqueryInterface\s*\.\s*(?:createTable|dropTable|addColumn|removeColumn|changeColumn"
        r"|renameColumn|addIndex|removeIndex|renameTable|bulkInsert|bulkDelete|bulkUpdate"
        r"|addConstraint|removeConstraint)\(\s*" + _STR
    ),
]
_DJANGO = re.compile(
    r"\bmigrations\.(?:CreateModel|DeleteModel|AlterModelTable|AlterUniqueTogether"
    r"|AlterIndexTogether|AddIndex|RemoveIndex|AddConstraint|RemoveConstraint|AddField"
    r"|RemoveField|AlterField|RenameField)\(\s*(?:name|model_name)\s*=\s*" + _STR
)


def migration_tables(text: str, path: str) -> list[TableUse]:
    """Tables the migration operations in a source write (every operation writes)."""
    uses: list[TableUse] = []
    for pattern in _MIGRATIONS:
        for match in pattern.finditer(text):
            uses.append(_use(text, match, match.group("t").lower()))
    parts = path.split("/")
    if "migrations" in parts[:-1]:
        at = len(parts) - 1 - parts[::-1].index("migrations")
        app = parts[at - 1] if at > 0 else ""
        if app:
            for match in _DJANGO.finditer(text):
                table = f"{app}_{match.group('t')}".lower()
                uses.append(_use(text, match, table))
    return _unique(uses)


def _use(text: str, match: re.Match[str], table: str) -> TableUse:
    start = text.rfind("\n", 0, match.start()) + 1
    end = text.find("\n", match.start())
    shown = " ".join(text[start : end if end >= 0 else len(text)].split())[:120]
    return TableUse(table, True, text.count("\n", 0, match.start()) + 1, shown)

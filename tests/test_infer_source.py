"""Tests of the source scanners, the SQL reader and the module resolver of ``waveplan infer``."""

from __future__ import annotations

import pytest

from waveplan.infer.modules import ModuleGraph, Resolver
from waveplan.infer.source import (
    ImportRef,
    Language,
    js_imports,
    language_of,
    python_imports,
    sql_literals,
)
from waveplan.infer.sql import migration_tables, statement_tables
from waveplan.resources.index import covers

PYTHON = '''"""Module docstring.

    from docs_only import example
import docs_only_too
"""
import os, sys
from . import sibling, other
from ..pkg.mod import (
    a,  # a comment with a (
    b,
)


def f():
    import inner.mod as im
    text = "import not_this"
    query = ("SELECT id "
             "FROM users WHERE x = ?")
    gone = f"DELETE FROM {table} WHERE a = 1"
    return """
      insert into orders (a) values (1)
    """
# import commented
'''


def test_python_imports_are_the_statements_outside_strings_and_comments() -> None:
    """Docstrings, string literals and comments that read like imports are not imports."""
    refs, _ = python_imports(PYTHON)
    assert [(r.line, r.module, r.level, r.names) for r in refs] == [
        (6, "os", 0, ()),
        (6, "sys", 0, ()),
        (7, "", 1, ("sibling", "other")),
        (8, "pkg.mod", 2, ("a", "b")),
        (15, "inner.mod", 0, ()),
    ]
    assert refs[0].text == "import os, sys"


def test_python_sql_literals_join_implicit_concatenation_and_blank_fields() -> None:
    """Adjacent literals are one statement; f-string fields become ``?``."""
    _, literals = python_imports(PYTHON)
    assert [(lit.line, " ".join(lit.text.split())) for lit in literals] == [
        (17, "SELECT id FROM users WHERE x = ?"),
        (19, "DELETE FROM ? WHERE a = 1"),
        (20, "insert into orders (a) values (1)"),
    ]


def test_python_file_that_does_not_parse_keeps_its_good_imports() -> None:
    """A broken statement is skipped; the others are still read."""
    refs, _ = python_imports("import good\nfrom broken import (\nx = 1\nimport also_good\n")
    assert [r.module for r in refs] == ["good", "also_good"]


SCRIPT = """import React, { useState } from 'react';
import type { A } from "./types";
import './side.css';
// import x from './commented'
/* require('./blocked') */
const b = require('../lib/b');
export * from './reexp';
export { c as d } from "./c.js";
const lazy = await import('./lazy');
const q = `SELECT * FROM users WHERE id = ${id}`;
const s = "import x from './inside-a-string'";
const u = import.meta.url;
"""


def test_script_imports_cover_every_form_and_skip_comments_and_strings() -> None:
    """import/from, side-effect imports, require, export-from and dynamic import."""
    refs, literals = js_imports(SCRIPT)
    assert [(r.line, r.module) for r in refs] == [
        (1, "react"),
        (2, "./types"),
        (3, "./side.css"),
        (6, "../lib/b"),
        (7, "./reexp"),
        (8, "./c.js"),
        (9, "./lazy"),
    ]
    assert [(lit.line, lit.text) for lit in literals] == [(10, "SELECT * FROM users WHERE id = ?")]


@pytest.mark.parametrize(
    ("path", "language"),
    [
        ("a/b.py", Language.PYTHON),
        ("a/b.tsx", Language.SCRIPT),
        ("x.mjs", Language.SCRIPT),
        ("db/001.sql", Language.SQL),
        ("dist/app.min.js", None),
        ("types/x.d.ts", None),
        ("README.md", None),
    ],
)
def test_language_of_a_path(path: str, language: Language | None) -> None:
    """Languages by extension; minified bundles and declaration files are not read."""
    assert language_of(path) is language


@pytest.mark.parametrize(
    ("statement", "tables"),
    [
        ("SELECT id FROM users WHERE x = ?", [("users", False)]),
        (
            "select a.x from users a join orders b on a.id = b.uid",
            [("users", False), ("orders", False)],
        ),
        ("INSERT INTO orders (a) SELECT x FROM carts", [("orders", True), ("carts", False)]),
        ("UPDATE users SET name = ?", [("users", True)]),
        ("DELETE FROM sessions WHERE t < ?", [("sessions", True)]),
        ("CREATE TABLE IF NOT EXISTS files (path TEXT)", [("files", True)]),
        ("DROP TABLE IF EXISTS logs, jobs", [("logs", True), ("jobs", True)]),
        ("CREATE INDEX ix ON users (name)", [("users", True)]),
        ("SELECT * FROM logs l, jobs j WHERE l.x = j.y", [("logs", False), ("jobs", False)]),
        ('SELECT * FROM public."Users"', [("users", False)]),
        ("WITH t AS (SELECT * FROM logs) SELECT * FROM t", [("logs", False)]),
        # a WITH statement that writes: the statement after its expressions (it read as a
        # SELECT: sessions a read, t9 and acct lost)
        (
            "WITH recent AS (SELECT * FROM events) DELETE FROM sessions WHERE id IN "
            "(SELECT id FROM recent)",
            [("sessions", True), ("events", False)],
        ),
        ("WITH r AS (SELECT 1) INSERT INTO t9 SELECT * FROM r", [("t9", True)]),
        (
            'WITH a AS (SELECT 1), b AS (SELECT ")" FROM t) INSERT INTO logs SELECT * FROM b',
            [("logs", True), ("t", False)],
        ),
        (
            "with a as (select x from b), c (k) as materialized (select 1) "
            "update acct set v = 1 from a where acct.id = a.x",
            [("acct", True), ("b", False)],
        ),
        ("UPDATE t2 AS x SET y = 1 FROM t3 WHERE x.id = t3.id", [("t2", True), ("t3", False)]),
        ("SELECT EXTRACT(year FROM created) FROM events", [("events", False)]),
        ("SELECT 'from x' FROM real_table", [("real_table", False)]),
        ("SELECT name FROM sqlite_master", []),
        ("Select entry points from self that match", []),
        ("delete from the list", []),
        ("update the cache set for later", []),
        ("SELECT ? FROM ?", []),
    ],
)
def test_statement_tables(statement: str, tables: list[tuple[str, bool]]) -> None:
    """Written and read tables of one statement; prose and catalog tables are not tables."""
    assert [(u.table, u.write) for u in statement_tables(statement)] == tables


@pytest.mark.parametrize(
    ("statement", "tables"),
    [
        # MATERIALIZED after AS: x is an expression, not a table read
        (
            "WITH x AS MATERIALIZED (SELECT * FROM src) DELETE FROM t WHERE id IN "
            "(SELECT id FROM x)",
            [("t", True), ("src", False)],
        ),
        # no space before the parenthesis: t is written, not read
        ("WITH x AS(SELECT * FROM src) DELETE FROM t", [("t", True), ("src", False)]),
        ("with x as not materialized(select 1 from src) select * from x", [("src", False)]),
        (
            "WITH x (k) AS NOT MATERIALIZED (SELECT 1 FROM src) UPDATE t SET v = 1 FROM x",
            [("t", True), ("src", False)],
        ),
        (
            "WITH x(k)AS(SELECT k FROM src) INSERT INTO t SELECT * FROM x",
            [("t", True), ("src", False)],
        ),
        (
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
            "INSERT INTO t SELECT * FROM n",
            [("t", True)],
        ),
        (
            "with recursive n as materialized (select 1 from src union all select * from n) "
            "delete from t where id in (select * from n)",
            [("t", True), ("src", False)],
        ),
        (
            "WITH p AS(SELECT * FROM src), q (k) AS MATERIALIZED (SELECT k FROM p), "
            "r AS NOT MATERIALIZED(SELECT * FROM q) DELETE FROM t USING r",
            [("t", True), ("src", False)],
        ),
    ],
)
def test_every_cte_head_is_read_alike(statement: str, tables: list[tuple[str, bool]]) -> None:
    """Any common table expression head, whatever its spacing, column list, case or
    MATERIALIZED, both ends the WITH list (so the statement's write is found) and names an
    expression (never reported as a table)."""
    assert [(u.table, u.write) for u in statement_tables(statement)] == tables


def test_an_update_with_an_alias_is_found_in_code() -> None:
    """``UPDATE t2 AS x SET`` in a Python string is SQL (the quick filter wanted SET right
    after the table, so the statement was never read)."""
    found = sql_literals(
        'c.execute("UPDATE t2 AS x SET y = 1 FROM t3 WHERE x.id = t3.id")\n', Language.PYTHON
    )
    assert [(u.table, u.write) for lit in found for u in statement_tables(lit.text)] == [
        ("t2", True),
        ("t3", False),
    ]


def test_statement_lines_count_from_the_literal() -> None:
    """Each statement of a text is reported at the line it starts on."""
    uses = statement_tables("-- setup\nSELECT a FROM b;\n\nINSERT INTO c VALUES (1);", line=10)
    assert [(u.table, u.line) for u in uses] == [("b", 11), ("c", 13)]


def test_migration_operations_write_their_tables() -> None:
    """Alembic, knex and Sequelize operations, and Django operations named by app."""
    alembic = """
def upgrade():
    op.create_table("accounts", sa.Column("id"))
    op.add_column('users', sa.Column('x'))
    op.create_index("ix", "orders", ["a"])
    op.drop_index("ix2", table_name="carts")
    knex.schema.createTable('widgets', t => {})
    queryInterface.addColumn('Gadgets', 'x')
"""
    uses = migration_tables(alembic, "alembic/versions/1.py")
    assert [(u.table, u.write, u.line) for u in uses] == [
        ("accounts", True, 3),
        ("users", True, 4),
        ("orders", True, 5),
        ("carts", True, 6),
        ("widgets", True, 7),
        ("gadgets", True, 8),
    ]
    django = (
        "migrations.CreateModel(\n    name='Post',\n)\nmigrations.AddField(model_name='comment')"
    )
    assert [u.table for u in migration_tables(django, "blog/migrations/0001_initial.py")] == [
        "blog_post",
        "blog_comment",
    ]
    assert migration_tables(django, "blog/models.py") == []


FILES = [
    "setup.py",
    "src/app/__init__.py",
    "src/app/core.py",
    "src/app/sub/__init__.py",
    "src/app/sub/deep.py",
    "src/app/ns/leaf.py",
    "tests/conftest.py",
    "tests/helpers.py",
    "tests/test_core.py",
    "packages/lib/src/lib/__init__.py",
    "packages/lib/src/lib/tool.py",
    "web/src/util.ts",
    "web/src/index.ts",
    "web/src/widgets/index.tsx",
    "web/src/page.ts",
]


def _resolve(importer: str, ref: ImportRef) -> list[str]:
    return Resolver(FILES).resolve(importer, ref)


@pytest.mark.parametrize(
    ("importer", "ref", "targets"),
    [
        ("tests/test_core.py", ImportRef(1, "", "app.core"), ["src/app/core.py"]),
        ("tests/test_core.py", ImportRef(1, "", "app", 0, ("core",)), ["src/app/core.py"]),
        ("tests/test_core.py", ImportRef(1, "", "app", 0, ("thing",)), ["src/app/__init__.py"]),
        (
            "tests/test_core.py",
            ImportRef(1, "", "app", 0, ("core", "thing")),
            ["src/app/core.py", "src/app/__init__.py"],
        ),
        ("tests/test_core.py", ImportRef(1, "", "helpers"), ["tests/helpers.py"]),
        ("src/app/sub/deep.py", ImportRef(1, "", "", 2, ("core",)), ["src/app/core.py"]),
        ("src/app/sub/deep.py", ImportRef(1, "", "", 1, ("x",)), ["src/app/sub/__init__.py"]),
        ("src/app/core.py", ImportRef(1, "", "app.ns", 0, ("leaf",)), ["src/app/ns/leaf.py"]),
        ("src/app/core.py", ImportRef(1, "", "lib.tool"), ["packages/lib/src/lib/tool.py"]),
        ("src/app/core.py", ImportRef(1, "", "os"), []),
        ("src/app/core.py", ImportRef(1, "", "", 4, ("x",)), []),
        ("web/src/page.ts", ImportRef(1, "", "./util"), ["web/src/util.ts"]),
        ("web/src/page.ts", ImportRef(1, "", "./util.js"), ["web/src/util.ts"]),
        ("web/src/page.ts", ImportRef(1, "", "./widgets"), ["web/src/widgets/index.tsx"]),
        ("web/src/widgets/index.tsx", ImportRef(1, "", ".."), ["web/src/index.ts"]),
        ("web/src/page.ts", ImportRef(1, "", "react"), []),
        ("web/src/page.ts", ImportRef(1, "", "../../../../outside"), []),
    ],
)
def test_resolution(importer: str, ref: ImportRef, targets: list[str]) -> None:
    """Imports resolve to the repository's files the way Python and bundlers find them."""
    assert _resolve(importer, ref) == targets


def test_module_graph_indexes_edges_both_ways() -> None:
    """Edges by importing file and by imported file, one per target."""
    refs = {
        "web/src/page.ts": [ImportRef(1, "import a", "./util"), ImportRef(2, "import b", "./util")],
        "web/src/index.ts": [ImportRef(3, "import c", "./util")],
    }
    graph = ModuleGraph.build(Resolver(FILES), refs)
    assert [e.target for e in graph.imports["web/src/page.ts"]] == ["web/src/util.ts"]
    assert [e.source for e in graph.importers["web/src/util.ts"]] == [
        "web/src/index.ts",
        "web/src/page.ts",
    ]
    assert graph.importers["web/src/util.ts"][1].evidence() == "web/src/page.ts:1: import a"


@pytest.mark.parametrize(
    ("key", "path", "covered"),
    [
        ("src/a.py", "src/a.py", True),
        ("src/", "src/a/b.py", True),
        ("src", "src/a/b.py", True),
        ("src/a", "src/ab.py", False),
        ("src/*.py", "src/a.py", True),
        ("src/*.py", "src/a/b.py", False),
        ("src/**/*.py", "src/a/b.py", True),
        ("src/*", "src/a/b.py", True),
        ("./", "anything", True),
        ("tests/**", "src/a.py", False),
    ],
)
def test_covers(key: str, path: str, covered: bool) -> None:
    """A key covers the paths the overlap rules say it does."""
    assert covers(key, path) is covered

"""``waveplan plan --infer`` and ``waveplan infer`` on real repositories, one per kind of hidden
collision: the inferred accesses are exactly the seeded ones, and unrelated files give none."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from inferrepo import commit, make_repo, write_plan
from waveplan.cli import main
from waveplan.infer import ALL_KINDS, Kind, infer_plan
from waveplan.load import load_plan


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(list(args)) == 0
    data = json.loads(capsys.readouterr().out)
    assert isinstance(data, dict)
    return data


def _inferred(capsys: pytest.CaptureFixture[str], plan: Path, *options: str) -> dict[str, Any]:
    data = _json(capsys, "plan", str(plan), "--format", "json", *options)
    inferred = data.get("inferred", {})
    assert isinstance(inferred, dict)
    return inferred


def _serialized(capsys: pytest.CaptureFixture[str], plan: Path, *options: str) -> set[str]:
    """The pairs of tasks the plan keeps from running at the same time (``a+b``, ids sorted):
    two tasks of one conflict group, one of them writing."""
    groups = _json(capsys, "plan", str(plan), "--format", "json", *options)["conflicts"]
    return {
        f"{a}+{b}"
        for group in groups
        for a in group["tasks"]
        for b in group["tasks"]
        if a < b and (a in group["writers"] or b in group["writers"])
    }


SHOP = {
    "src/shop/__init__.py": "",
    "src/shop/money.py": '''
        """Money helpers."""


        def cents(value):
            return round(value * 100)
        ''',
    "src/shop/cart.py": """
        from shop.money import cents


        def total(items):
            return sum(cents(i) for i in items)
        """,
    "src/shop/orders.py": """
        from .money import cents
        """,
    "src/shop/report.py": """
        import csv

        from shop import legacy
        """,
    "src/shop/legacy.py": """
        from shop.money import cents
        """,
    "src/shop/labels.py": """
        TEXT = "import shop.money"
        """,
    "web/src/format.ts": "export const fmt = (x: number) => x.toFixed(2);\n",
    "web/src/app.ts": "import { fmt } from './format';\n",
    "web/src/other.ts": "import { fmt } from './format';\n",
    "web/src/alone.ts": "// import { fmt } from './format';\nexport const a = 1;\n",
}


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "shop", SHOP)


def test_import_coupling_adds_a_read_of_the_imported_module(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A task writing an importer reads the module another task writes (Python and
    TypeScript); modules no other task writes, docstrings, strings and comments add nothing."""
    plan = write_plan(
        shop,
        [
            {"id": "money", "files": ["src/shop/money.py"]},
            {"id": "cart", "files": ["src/shop/cart.py"]},
            {"id": "report", "files": ["src/shop/report.py", "src/shop/labels.py"]},
            {"id": "format", "files": ["web/src/format.ts"]},
            {"id": "app", "files": ["web/src/app.ts", "web/src/alone.ts"]},
        ],
    )
    before = _json(capsys, "plan", str(plan), "--format", "json")
    assert before["conflicts"] == []
    assert "inferred" not in before
    assert _serialized(capsys, plan) == set()
    assert _serialized(capsys, plan, "--infer", "imports") == {"cart+money", "app+format"}
    inferred = _inferred(capsys, plan, "--infer", "imports")
    assert inferred["accesses"] == {
        "app": ["web/src/format.ts (read)"],
        "cart": ["src/shop/money.py (read)"],
    }
    assert inferred["conflicts"] == ["src/shop/money.py", "web/src/format.ts"]
    assert inferred["evidence"]["cart"]["src/shop/money.py (read)"] == {
        "finding": "import coupling",
        "lines": ["src/shop/cart.py:1: from shop.money import cents"],
    }
    assert inferred["evidence"]["app"]["web/src/format.ts (read)"]["lines"] == [
        "web/src/app.ts:1: import { fmt } from './format'"
    ]


def test_plan_text_marks_inferred_conflicts_and_lists_the_evidence(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The text output marks the conflict (inferred) and shows each access with its evidence."""
    plan = write_plan(
        shop,
        [
            {"id": "money", "files": ["src/shop/money.py"]},
            {"id": "cart", "files": ["src/shop/cart.py"]},
        ],
    )
    assert main(["plan", str(plan), "--infer", "imports"]) == 0
    out = capsys.readouterr().out
    assert "src/shop/money.py (inferred)" in out
    assert "Inferred accesses (1: import coupling)" in out  # the kinds found, no others
    assert "  cart src/shop/money.py (read) (inferred: import coupling)" in out
    assert "      src/shop/cart.py:1: from shop.money import cents" in out


@pytest.mark.parametrize("fmt", ["mermaid", "html"])
def test_mermaid_and_html_mark_inferred_conflicts(
    shop: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The Mermaid links and the HTML conflicts table say which conflicts were inferred."""
    plan = write_plan(
        shop,
        [
            {"id": "money", "files": ["src/shop/money.py"]},
            {"id": "cart", "files": ["src/shop/cart.py"]},
        ],
    )
    assert main(["plan", str(plan), "--format", fmt]) == 0
    assert "(inferred)" not in capsys.readouterr().out
    assert main(["plan", str(plan), "--format", fmt, "--infer", "imports"]) == 0
    assert "src/shop/money.py (inferred)" in capsys.readouterr().out


def test_done_tasks_collide_with_nothing(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A task done before the plan was read is left out of every analysis."""
    plan = write_plan(
        shop,
        [
            {"id": "money", "files": ["src/shop/money.py"], "done": True},
            {"id": "cart", "files": ["src/shop/cart.py"]},
        ],
    )
    data = _json(capsys, "infer", str(plan), "--kinds", "all", "--format", "json")
    assert data["findings"] == []


def test_shared_helper_is_reported_with_advice(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A module one task writes and the files of two others import is a shared helper."""
    plan = write_plan(
        shop,
        [
            {"id": "money", "files": ["src/shop/money.py"]},
            {"id": "cart", "files": ["src/shop/cart.py"]},
            {"id": "orders", "files": ["src/shop/orders.py"]},
        ],
    )
    data = _json(capsys, "infer", str(plan), "--kinds", "imports", "--format", "json")
    helpers = [f for f in data["findings"] if f["finding"] == "shared helper"]
    assert helpers == [
        {
            "kind": "imports",
            "finding": "shared helper",
            "tasks": ["money", "cart", "orders"],
            "resources": ["src/shop/money.py"],
            "summary": "src/shop/money.py is written by money and imported by the files of cart "
            "and orders: change it first in its own task, and make cart and orders depend on "
            "that task",
            "evidence": [
                "src/shop/cart.py:1: from shop.money import cents",
                "src/shop/orders.py:1: from .money import cents",
            ],
            "adds": [],
        }
    ]
    couplings = [f["tasks"] for f in data["findings"] if f["finding"] == "import coupling"]
    assert couplings == [["money", "cart"], ["money", "orders"]]


def test_declared_reads_and_dependency_order_are_respected(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A read the task declares is not inferred again; an ordered pair is said to be ordered."""
    plan = write_plan(
        shop,
        [
            {"id": "money", "files": ["src/shop/money.py"]},
            {"id": "cart", "files": ["src/shop/cart.py"], "reads": ["src/shop/"]},
            {"id": "orders", "files": ["src/shop/orders.py"], "depends": ["money"]},
        ],
    )
    data = _json(capsys, "infer", str(plan), "--kinds", "imports", "--format", "json")
    couplings = [f for f in data["findings"] if f["finding"] == "import coupling"]
    assert [f["tasks"] for f in couplings] == [["money", "orders"]]
    assert couplings[0]["summary"].endswith("(dependencies already order them)")


CLINIC = {
    "src/clinic/__init__.py": "",
    "src/clinic/visits.py": "def book():\n    return 1\n",
    "src/clinic/billing.py": "def bill():\n    return 2\n",
    "src/clinic/notes.py": "def note():\n    return 3\n",
    "src/clinic/legacy.py": "def old():\n    return 4\n",
    "tests/conftest.py": """
        import pytest


        @pytest.fixture
        def database():
            return {}


        @pytest.fixture
        def patient(database):
            return database


        @pytest.fixture
        def clock():
            return 0
        """,
    "tests/test_visits.py": """
        from clinic.visits import book


        def test_book(patient):
            assert book()
        """,
    "tests/test_billing.py": """
        from clinic import billing


        def test_bill(database, tmp_path):
            assert billing.bill()
        """,
    "tests/test_notes.py": """
        from clinic.notes import note

        SERVER = "http://localhost:8765/notes"


        def test_note(tmp_path, clock):
            assert note()
        """,
    "tests/test_legacy.py": """
        from clinic.legacy import old

        PORT = 8765


        def test_old(database):
            assert old()
        """,
    "tests/api/test_api.py": """
        import pytest

        from clinic.visits import book


        @pytest.mark.parametrize("database", [1, 2])
        def test_api(database):
            assert book()
        """,
}


@pytest.fixture
def clinic(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "clinic", CLINIC)


def test_tests_sharing_a_conftest_fixture_conflict(
    clinic: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two tasks whose tests use one conftest fixture (directly or through another fixture)
    conflict on it; each task reads its own tests; a parametrized name is not a fixture; a
    fixture or port used only by tests of unplanned files makes nothing."""
    plan = write_plan(
        clinic,
        [
            {"id": "visits", "files": ["src/clinic/visits.py"]},
            {"id": "billing", "files": ["src/clinic/billing.py"]},
            {"id": "notes", "files": ["src/clinic/notes.py"]},
        ],
    )
    assert _serialized(capsys, plan, "--infer", "tests") == {"billing+visits"}
    inferred = _inferred(capsys, plan, "--infer", "tests")
    assert inferred["accesses"] == {
        "billing": [
            "test:fixture:tests/conftest.py::database (write)",
            "test:tests/test_billing.py (read)",
        ],
        "notes": ["test:tests/test_notes.py (read)"],
        "visits": [
            "test:fixture:tests/conftest.py::database (write)",
            "test:tests/api/test_api.py (read)",
            "test:tests/test_visits.py (read)",
        ],
    }
    assert inferred["conflicts"] == ["test:fixture:tests/conftest.py::database"]
    why = inferred["evidence"]["visits"]["test:fixture:tests/conftest.py::database (write)"]
    assert why == {
        "finding": "test conflict",
        "lines": [
            "tests/test_visits.py:4: def test_book(patient): "
            "(fixture patient -> database, tests/conftest.py:5)"
        ],
    }


def test_tests_sharing_a_port_conflict(clinic: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A literal port in the tests of two tasks is a conflict on ``port:N``."""
    plan = write_plan(
        clinic,
        [
            {"id": "notes", "files": ["src/clinic/notes.py"]},
            {"id": "legacy", "files": ["src/clinic/legacy.py"]},
        ],
    )
    assert _serialized(capsys, plan, "--infer", "tests") == {"legacy+notes"}
    inferred = _inferred(capsys, plan, "--infer", "tests")
    assert inferred["conflicts"] == ["test:port:8765"]
    assert inferred["evidence"]["legacy"]["test:port:8765 (write)"]["lines"] == [
        "tests/test_legacy.py:3: PORT = 8765"
    ]
    assert inferred["evidence"]["notes"]["test:port:8765 (write)"]["lines"] == [
        'tests/test_notes.py:3: SERVER = "http://localhost:8765/notes"'
    ]


def test_test_footprint_is_transitive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A test reaches a module through the modules between them, and says how."""
    repo = make_repo(
        tmp_path / "chain",
        {
            "pkg/__init__.py": "",
            "pkg/base.py": "X = 1\n",
            "pkg/middle.py": "from pkg.base import X\n",
            "tests/test_top.py": "from pkg.middle import X\n\n\ndef test_x():\n    assert X\n",
        },
    )
    plan = write_plan(repo, [{"id": "base", "files": ["pkg/base.py"]}])
    inferred = _inferred(capsys, plan, "--infer", "tests")
    assert inferred["accesses"] == {"base": ["test:tests/test_top.py (read)"]}
    assert inferred["evidence"]["base"]["test:tests/test_top.py (read)"]["lines"] == [
        "tests/test_top.py:1 imports pkg/middle.py; pkg/middle.py:1 imports pkg/base.py"
    ]


def test_a_folder_whose_tests_are_all_affected_is_read_as_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every test under a folder affected: one read of the folder, not one per file."""
    repo = make_repo(
        tmp_path / "folders",
        {
            "pkg/__init__.py": "",
            "pkg/core.py": "X = 1\n",
            "pkg/side.py": "Y = 1\n",
            "tests/unit/test_a.py": "from pkg.core import X\n",
            "tests/unit/deep/test_b.py": "from pkg.core import X\n",
            "tests/unit/deep/helpers.py": "from pkg.side import Y\n",
            "tests/other/test_c.py": "from pkg.core import X\n",
            "tests/other/test_d.py": "from pkg.side import Y\n",
        },
    )
    plan = write_plan(repo, [{"id": "core", "files": ["pkg/core.py"]}])
    inferred = _inferred(capsys, plan, "--infer", "tests")
    assert inferred["accesses"] == {
        "core": ["test:tests/other/test_c.py (read)", "test:tests/unit/ (read)"]
    }
    assert inferred["evidence"]["core"]["test:tests/unit/ (read)"]["lines"] == [
        "tests/unit/: all 2 test files in it, such as tests/unit/deep/test_b.py:1 imports "
        "pkg/core.py"
    ]


STORE = {
    "src/store/users.py": """
        def add(db, name):
            db.execute("INSERT INTO users (name) VALUES (?)", (name,))
        """,
    "src/store/reports.py": '''
        QUERY = """
            SELECT u.name, count(*)
            FROM users u JOIN orders o ON o.user_id = u.id
            GROUP BY u.name
        """
        ''',
    "src/store/help.py": """
        def text():
            return "Select the users from the list"
        """,
    "src/store/audit.py": """
        def log(db):
            db.execute("INSERT INTO audit (x) VALUES (1)")
        """,
    "migrations/versions/002_orders.py": """
        from alembic import op
        import sqlalchemy as sa


        def upgrade():
            op.add_column("orders", sa.Column("total", sa.Integer()))
        """,
    "db/schema.sql": "CREATE TABLE users (id integer);\nCREATE TABLE orders (id integer);\n",
}


def test_sql_and_migrations_become_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Tables in a task's SQL and migrations are db.<table>: writes, or reads when only
    selected; prose and files no task writes add nothing."""
    repo = make_repo(tmp_path / "store", STORE)
    plan = write_plan(
        repo,
        [
            {"id": "users", "files": ["src/store/users.py", "src/store/help.py"]},
            {"id": "reports", "files": ["src/store/reports.py"]},
            {"id": "migrate", "files": ["migrations/"]},
        ],
    )
    assert _serialized(capsys, plan, "--infer", "state") == {"reports+users", "migrate+reports"}
    inferred = _inferred(capsys, plan, "--infer", "state")
    assert inferred["accesses"] == {
        "migrate": ["state:db.orders (write)"],
        "reports": ["state:db.orders (read)", "state:db.users (read)"],
        "users": ["state:db.users (write)"],
    }
    assert inferred["conflicts"] == ["state:db.orders", "state:db.users"]
    assert inferred["evidence"]["migrate"]["state:db.orders (write)"]["lines"] == [
        'migrations/versions/002_orders.py:6: op.add_column("orders", sa.Column("total", '
        "sa.Integer()))"
    ]


def test_declared_state_is_not_inferred_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A task declaring ``db`` covers every ``db.<table>``."""
    repo = make_repo(tmp_path / "store", STORE)
    plan = write_plan(repo, [{"id": "users", "files": ["src/store/users.py"], "state": ["db"]}])
    assert _inferred(capsys, plan, "--infer", "state") == {}


def test_a_declared_read_does_not_hide_an_inferred_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A task that declares it reads a table its files update writes it: it no longer runs
    beside another reader; the same for history's writes over ``reads:`` and a test
    conflict over ``test_reads:``."""
    repo = make_repo(tmp_path / "store", STORE)
    plan = write_plan(
        repo,
        [
            {"id": "users", "files": ["src/store/users.py"], "state_reads": ["db.users"]},
            {"id": "reader", "state_reads": ["db.users"]},
        ],
    )
    assert _serialized(capsys, plan, "--infer", "state") == {"reader+users"}
    inferred = _inferred(capsys, plan, "--infer", "state")
    assert inferred["accesses"] == {"users": ["state:db.users (write)"]}

    repo = _history_repo(tmp_path / "history")
    plan = write_plan(
        repo,
        [
            {"id": "model", "files": ["app/models.py"], "reads": ["app/schema.sql"]},
            {"id": "reader", "reads": ["app/schema.sql"]},
        ],
    )
    assert _serialized(capsys, plan, "--infer", "history") == {"model+reader"}

    clinic = make_repo(tmp_path / "clinic", CLINIC)
    fixture = "fixture:tests/conftest.py::database"
    plan = write_plan(
        clinic,
        [
            {"id": "visits", "files": ["src/clinic/visits.py"], "test_reads": [fixture]},
            {"id": "billing", "files": ["src/clinic/billing.py"], "test_reads": [fixture]},
        ],
    )
    assert _serialized(capsys, plan, "--infer", "tests") == {"billing+visits"}


def _history_repo(root: Path) -> Path:
    files = {
        "app/models.py": "A = 1\n",
        "app/schema.sql": "CREATE TABLE a (id int);\n",
        "app/views.py": "B = 1\n",
        "docs/index.md": "docs\n",
    }
    history: list[dict[str, str | None]] = []
    for n in range(3):
        history.append({"app/models.py": f"A = {n + 2}\n", "app/schema.sql": f"-- {n}\n"})
        history.append({"app/views.py": f"B = {n + 2}\n"})
    history.append({"app/models.py": "A = 9\n", "docs/index.md": "more docs\n"})
    return make_repo(root, files, history)


def test_history_reports_files_that_change_together(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Files changed with a task's files in enough commits are likely also touched, with the
    counts; they become accesses only with ``--infer history``."""
    repo = _history_repo(tmp_path / "history")
    plan = write_plan(
        repo,
        [
            {"id": "model", "files": ["app/models.py"]},
            {"id": "schema", "files": ["app/schema.sql"]},
        ],
    )
    data = _json(capsys, "infer", str(plan), "--kinds", "history", "--format", "json")
    assert [(f["finding"], f["tasks"], f["resources"]) for f in data["findings"]] == [
        ("likely also touched", ["schema"], ["app/models.py"]),
        ("likely also touched", ["model"], ["app/schema.sql"]),
    ]
    assert data["findings"][1]["evidence"] == [
        "app/schema.sql: changed in 4 of the 5 commits that changed app/models.py (80%)"
    ]
    assert data["stats"]["commits"] == 8
    assert _inferred(capsys, plan, "--infer") == {}
    assert _serialized(capsys, plan, "--infer") == set()
    assert _serialized(capsys, plan, "--infer", "history") == {"model+schema"}
    inferred = _inferred(capsys, plan, "--infer", "history")
    assert inferred["accesses"] == {
        "model": ["app/schema.sql (write)"],
        "schema": ["app/models.py (write)"],
    }
    stricter = _json(
        capsys,
        "infer",
        str(plan),
        "--kinds",
        "history",
        "--history-threshold",
        "0.9",
        "--format",
        "json",
    )
    assert [f["tasks"] for f in stricter["findings"]] == [["schema"]]


def test_history_skips_files_that_are_gone(tmp_path: Path) -> None:
    """A file that changed with the task's files but no longer exists is not predicted."""
    repo = _history_repo(tmp_path / "history")
    commit(repo, {"app/schema.sql": None}, "drop the schema")
    plan = load_plan(write_plan(repo, [{"id": "model", "files": ["app/models.py"]}]))
    assert infer_plan(plan, kinds=[Kind.HISTORY]).findings == ()


def test_unrelated_files_give_no_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Imports, tests, SQL and co-changes among files no task writes are never reported."""
    repo = make_repo(
        tmp_path / "quiet",
        {
            "lib/__init__.py": "",
            "lib/core.py": 'Q = "SELECT * FROM users"\n',
            "lib/helpers.py": "from lib.core import Q\n",
            "lib/more.py": "from lib.core import Q\n",
            "tests/conftest.py": "import pytest\n\n\n@pytest.fixture\ndef db():\n    return 1\n",
            "tests/test_core.py": "from lib.core import Q\nPORT = 9000\n\n\ndef test_q(db): ...\n",
            "tests/test_more.py": "from lib.more import Q\n\n\ndef test_m(db):\n    assert Q\n",
            "tools/a.py": "A = 1\n",
            "tools/b.py": "B = 1\n",
        },
        [{"lib/core.py": 'Q = "x"\n', "lib/helpers.py": "from lib.core import Q  # x\n"}] * 1,
    )
    plan = write_plan(
        repo, [{"id": "a", "files": ["tools/a.py"]}, {"id": "b", "files": ["tools/b.py"]}]
    )
    data = _json(capsys, "infer", str(plan), "--kinds", "all", "--format", "json")
    assert data["findings"] == []
    assert data["notes"] == []
    assert "inferred" not in _json(capsys, "plan", str(plan), "--format", "json", "--infer", "all")


def test_every_kind_at_once_on_one_repository(tmp_path: Path) -> None:
    """All analyses together add the union of what each adds, and nothing else."""
    repo = make_repo(tmp_path / "all", {**SHOP, **CLINIC, **STORE})
    tasks = [
        {"id": "money", "files": ["src/shop/money.py"]},
        {"id": "cart", "files": ["src/shop/cart.py"]},
        {"id": "visits", "files": ["src/clinic/visits.py"]},
        {"id": "billing", "files": ["src/clinic/billing.py"]},
        {"id": "users", "files": ["src/store/users.py"]},
        {"id": "reports", "files": ["src/store/reports.py"]},
    ]
    plan = load_plan(write_plan(repo, tasks))
    together = infer_plan(plan, kinds=ALL_KINDS, cache=False)
    alone = [infer_plan(plan, kinds=[kind], cache=False) for kind in ALL_KINDS]

    def added(result: Any) -> set[tuple[str, str]]:
        return {(a.task, a.access.describe()) for f in result.findings for a in f.added}

    assert added(together) == set().union(*(added(r) for r in alone))
    assert {t for t, _ in added(together)} == {"cart", "visits", "billing", "users", "reports"}


def test_tracked_files_in_build_and_dist_folders_are_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """In a git repository every tracked file is read, whatever its folder is called (a
    package named ``build``), but not waveplan's own ``.waveplan/``, nor untracked files in
    the folders a walk leaves out (a virtual environment .gitignore forgot)."""
    repo = make_repo(
        tmp_path / "tracked",
        {
            "src/build/__init__.py": "",
            "src/build/env.py": "def env():\n    return 1\n",
            "src/app/__init__.py": "",
            "src/app/main.py": "from build.env import env\n",
            "dist/tool.py": "X = 1\n",
        },
    )
    (repo / ".waveplan").mkdir()
    (repo / ".waveplan" / "stray.py").write_text("Y = 1\n", encoding="utf-8")
    venv = repo / ".venv" / "lib" / "site-packages"
    venv.mkdir(parents=True)  # untracked, and forgotten in .gitignore: not the project's
    (venv / "mod.py").write_text("Z = 1\n", encoding="utf-8")
    plan = write_plan(
        repo,
        [
            {"id": "env", "files": ["src/build/env.py"]},
            {"id": "main", "files": ["src/app/main.py"]},
            {"id": "tool", "files": ["dist/tool.py"]},
        ],
    )
    data = _json(capsys, "infer", str(plan), "--kinds", "imports", "--format", "json")
    assert [(f["tasks"], f["resources"]) for f in data["findings"]] == [
        (["env", "main"], ["src/build/env.py"])
    ]
    assert data["notes"] == []
    assert data["stats"]["files"] == 6  # the five committed files and the plan


def test_a_byte_order_mark_hides_no_first_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A UTF-8 byte order mark before a first-line import or SQL statement is not part of
    it: both are found, and the evidence quotes the line without it."""
    repo = make_repo(
        tmp_path / "bom",
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "X = 1\n",
            "b.py": "\ufeffimport pkg.a\n",
            "m.sql": "\ufeffUPDATE users SET a = 1;\n",
        },
    )
    plan = write_plan(
        repo, [{"id": "a", "files": ["pkg/a.py"]}, {"id": "b", "files": ["b.py", "m.sql"]}]
    )
    inferred = _inferred(capsys, plan, "--infer", "imports,state")
    assert inferred["accesses"] == {"b": ["pkg/a.py (read)", "state:db.users (write)"]}
    assert inferred["evidence"]["b"]["pkg/a.py (read)"]["lines"] == ["b.py:1: import pkg.a"]
    assert inferred["evidence"]["b"]["state:db.users (write)"]["lines"] == [
        "m.sql:1: UPDATE users SET a = 1"
    ]


def test_an_unknown_kind_is_a_usage_error(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A kind that does not exist is refused in one line with exit code 2."""
    plan = write_plan(shop, [{"id": "a", "files": ["src/shop/money.py"]}])
    assert main(["plan", str(plan), "--infer", "imprts"]) == 2
    assert capsys.readouterr().err == (
        "ERROR: unknown kind of inference 'imprts' (use imports, tests, state, history or all)\n"
    )


@pytest.mark.parametrize("value", ["nan", "NaN", "-nan", "inf", "0", "1.5"])
def test_a_history_threshold_that_is_no_share_is_a_usage_error(
    shop: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    """NaN (which click's float range lets through, and which disabled history silently) is
    refused like any share outside (0, 1]: one line, exit code 2."""
    plan = write_plan(shop, [{"id": "a", "files": ["src/shop/money.py"]}])
    assert main(["infer", str(plan), "--history-threshold", value]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ERROR: Invalid value for '--history-threshold': ")
    assert err.count("\n") == 1


def test_a_repository_outside_the_plan_root_is_refused(
    shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--repo must contain the plan root or lie inside it."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    plan = write_plan(elsewhere, [{"id": "a", "files": ["x.py"]}])
    assert main(["infer", str(plan), "--repo", str(shop)]) == 2
    assert "do not contain each other" in capsys.readouterr().err


def test_plan_root_inside_the_repository(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Paths are translated between a plan root below the repository and the repository."""
    plan = write_plan(
        shop / "src",
        [{"id": "money", "files": ["shop/money.py"]}, {"id": "cart", "files": ["shop/cart.py"]}],
    )
    data = _json(
        capsys, "infer", str(plan), "--repo", str(shop), "--kinds", "imports", "--format", "json"
    )
    assert [(f["tasks"], f["resources"]) for f in data["findings"]] == [
        (["money", "cart"], ["shop/money.py"])
    ]

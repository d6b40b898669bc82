"""How long ``waveplan infer`` takes on a 10,000-file repository, cold and warm (issue 10).

A synthetic repository is generated from a seed and committed to git (not timed):

* ``PACKAGES`` Python packages under ``src/`` of ``MODULES`` modules each; every module has a
  docstring, a few imports of modules of its package and of a shared ``core`` package, some
  functions and classes, and one in ten an SQL statement; about 6 kB a file;
* one test folder per package with a ``conftest.py`` (fixtures that request each other) and
  ``TESTS`` test files importing modules of the package, requesting fixtures, one in five with
  a literal port;
* ``SCRIPTS`` TypeScript files per package importing siblings with relative specifiers;
* ``COMMITS`` commits changing a few related files each, for the history analysis.

The plan has ``TASKS`` tasks writing two or three modules each (a few of them ``core``
modules, which many files import). Each measurement is a fresh process running
:func:`waveplan.infer.infer_plan` with every kind (imports, tests, state, history); the time
is taken around that call (interpreter start and imports excluded, printed separately).

* **cold**: no cache: every file is read, hashed and scanned;
* **warm**: the cache of the cold run: every file is read and hashed, nothing is parsed;
* **warm, one file edited**: one written module changed: only it is scanned again.

Baselines measured in the same run, in fresh processes too: reading and hashing every source
file (the floor of any content-hash cache), and ``ast.parse`` of every Python file (what a
whole-file AST scan would cost before doing anything with the trees).

Usage: ``python bench/infer_scale.py [--files N] [--repeats R] [--keep DIR]``
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SEED = 10
TASKS = 40
COMMITS = 300

CHILD = r"""
import json, sys, time
started = time.perf_counter()
from waveplan.infer import ALL_KINDS, infer_plan
from waveplan.load import load_plan
imported = time.perf_counter() - started
plan = load_plan(sys.argv[1])
t0 = time.perf_counter()
result = infer_plan(plan, kinds=ALL_KINDS, cache=sys.argv[2] == "cache")
seconds = time.perf_counter() - t0
s = result.stats
print(json.dumps({"seconds": seconds, "imports": imported, "files": s.files, "read": s.scanned,
                  "cached": s.cached, "parsed": s.parsed, "commits": s.commits,
                  "findings": len(result.findings),
                  "added": sum(len(f.added) for f in result.findings)}))
"""

BASELINE = r"""
import ast, hashlib, json, subprocess, sys, time
root = sys.argv[1]
listed = subprocess.run(["git", "-C", root, "ls-files"], capture_output=True, text=True)
files = listed.stdout.split()
files = [f for f in files if f.endswith((".py", ".ts"))]
t0 = time.perf_counter()
for f in files:
    with open(f"{root}/{f}", "rb") as handle:
        hashlib.blake2b(handle.read(), digest_size=16).hexdigest()
hashing = time.perf_counter() - t0
t0 = time.perf_counter()
for f in files:
    if f.endswith(".py"):
        with open(f"{root}/{f}", "rb") as handle:
            ast.parse(handle.read())
parsing = time.perf_counter() - t0
print(json.dumps({"hash": hashing, "ast": parsing}))
"""


def _module(rng: random.Random, package: int, number: int, modules: int) -> str:
    lines = [f'"""Module {number} of package {package}: generated for the benchmark.', ""]
    lines += [f"Explains what mod_{number:03d} does, in a paragraph of prose." for _ in range(4)]
    lines += ['"""', "", "from __future__ import annotations", "", "import json", "import os"]
    for other in rng.sample(range(modules), 3):
        if other != number:
            lines.append(f"from pkg{package:02d}.mod_{other:03d} import helper_{other}")
    for core in rng.sample(range(20), 2):
        lines.append(f"from core import util_{core:02d}")
    lines.append("")
    for f in range(8):
        lines += [
            "",
            f"def helper_{number}_{f}(value: int, *, scale: float = 1.0) -> float:",
            f'    """Compute something about value {f}; import nothing here."""',
            "    total = 0.0",
            "    for item in range(value):",
            "        total += item * scale  # a comment with a 'quote",
            '    text = f"{value}: {total}"',
            "    return total if text else 0.0",
        ]
    lines += ["", "", f"class Thing{number}:", '    """A class."""', ""]
    for m in range(6):
        lines += [f"    def method_{m}(self, x: int) -> int:", "        return x * 2", ""]
    if number % 10 == 0:
        lines += ["", f'QUERY = "SELECT id, name FROM table_{package % 7} WHERE id = ?"']
    lines += ["", f"helper_{number} = helper_{number}_0", ""]
    return "\n".join(lines)


def _conftest() -> str:
    return (
        "import pytest\n\n\n@pytest.fixture\ndef database():\n    return {}\n\n\n"
        "@pytest.fixture\ndef client(database):\n    return database\n"
    )


def _test(rng: random.Random, package: int, number: int, modules: int) -> str:
    lines = ["import pytest", ""]
    for other in rng.sample(range(modules), 2):
        lines.append(f"from pkg{package:02d}.mod_{other:03d} import helper_{other}")
    if number % 5 == 0:
        lines.append(f"PORT = {8000 + package}")
    fixture = rng.choice(["database", "client", "tmp_path"])
    for t in range(10):
        lines += ["", "", f"def test_{number}_{t}({fixture}):", f"    assert {t} >= 0"]
    return "\n".join(lines) + "\n"


def _script(rng: random.Random, number: int, scripts: int) -> str:
    lines = [f"import {{ a{o} }} from './file_{o:03d}';" for o in rng.sample(range(scripts), 3)]
    lines.append("import React from 'react';")
    lines += [
        f"export const value{number}_{k} = (x: number): number => x * {k};" for k in range(60)
    ]
    return "\n".join(lines) + "\n"


def generate(root: Path, files: int) -> tuple[Path, int]:
    """Write and commit the repository; return the plan file and the number of source files."""
    rng = random.Random(SEED)
    packages = max(2, files // 160)
    modules, tests, scripts = 100, 30, 30  # 160 source files per package (with the conftest)
    written = 0
    for core in range(20):
        path = root / "src" / "core" / f"util_{core:02d}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f'"""Core utility {core}."""\n\n\ndef util_{core:02d}():\n    return 1\n')
        written += 1
    (root / "src" / "core" / "__init__.py").write_text("")
    for package in range(packages):
        base = root / "src" / f"pkg{package:02d}"
        base.mkdir(parents=True)
        (base / "__init__.py").write_text("")
        for number in range(modules):
            (base / f"mod_{number:03d}.py").write_text(_module(rng, package, number, modules))
        tests_dir = root / "tests" / f"pkg{package:02d}"
        tests_dir.mkdir(parents=True)
        (tests_dir / "conftest.py").write_text(_conftest())
        for number in range(tests - 1):
            (tests_dir / f"test_{number:03d}.py").write_text(_test(rng, package, number, modules))
        web = root / "web" / f"pkg{package:02d}"
        web.mkdir(parents=True)
        for number in range(scripts):
            (web / f"file_{number:03d}.ts").write_text(_script(rng, number, scripts))
        written += modules + tests + scripts + 1
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _commit(root, "generated")
    all_modules = [
        f"src/pkg{p:02d}/mod_{m:03d}.py" for p in range(packages) for m in range(modules)
    ]
    for number in range(COMMITS):
        package = rng.randrange(packages)
        first = rng.randrange(modules - 3)
        for m in range(first, first + rng.randint(1, 3)):
            path = root / "src" / f"pkg{package:02d}" / f"mod_{m:03d}.py"
            path.write_text(path.read_text() + f"\n# change {number}\n")
        _git(root, "add", "-A")
        _commit(root, f"change {number}")
    tasks = []
    for number in range(TASKS):
        chosen = rng.sample(all_modules, rng.randint(2, 3))
        if number % 10 == 0:
            chosen.append(f"src/core/util_{number // 10:02d}.py")
        tasks.append({"id": f"t{number + 1}", "files": chosen})
    plan = root / "plan.json"
    plan.write_text(json.dumps({"tasks": tasks}))
    return plan, written


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


def _commit(root: Path, message: str) -> None:
    _git(
        root,
        "-c",
        "user.name=bench",
        "-c",
        "user.email=bench@example.com",
        "commit",
        "-qm",
        message,
    )


def _child(script: str, *args: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, check=True
    )
    data = json.loads(done.stdout)
    assert isinstance(data, dict)
    return data


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="generate the repository here and keep it")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="waveplan-infer-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        plan, count = generate(folder, args.files)
        size = sum(p.stat().st_size for p in folder.rglob("*.py")) + sum(
            p.stat().st_size for p in folder.rglob("*.ts")
        )
        print(
            f"repository: {count:,} source files, {size / 1e6:.1f} MB, {COMMITS} commits "
            f"(generated in {time.perf_counter() - started:.1f} s); plan: {TASKS} tasks"
        )
        cache = folder / ".waveplan"
        cold, warm, edited = [], [], []
        for _ in range(args.repeats):
            shutil.rmtree(cache, ignore_errors=True)
            cold.append(_child(CHILD, str(plan), "cache"))
            warm.append(_child(CHILD, str(plan), "cache"))
            target = folder / json.loads(plan.read_text())["tasks"][0]["files"][0]
            target.write_text(target.read_text() + "\nimport os\n")
            edited.append(_child(CHILD, str(plan), "cache"))
        base = [_child(BASELINE, str(folder)) for _ in range(args.repeats)]
        last = cold[-1]
        print(
            f"found {last['findings']:.0f} findings adding {last['added']:.0f} accesses; "
            f"{last['files']:,.0f} files listed, {last['read']:,.0f} reads, "
            f"{last['commits']:.0f} commits; imports of waveplan "
            f"{min(r['imports'] for r in cold):.2f} s (not included)"
        )
        print(f"{'case':<34}{'best s':>9}{'worst s':>9}{'parsed':>9}{'cached':>9}")
        for name, runs in (
            ("cold (empty cache)", cold),
            ("warm (cache of the cold run)", warm),
            ("warm, one written file edited", edited),
        ):
            times = [r["seconds"] for r in runs]
            print(
                f"{name:<34}{min(times):>9.2f}{max(times):>9.2f}"
                f"{runs[-1]['parsed']:>9,.0f}{runs[-1]['cached']:>9,.0f}"
            )
        hashing = min(b["hash"] for b in base)
        parsing = min(b["ast"] for b in base)
        print(f"{'baseline: read + hash every file':<34}{hashing:>9.2f}")
        print(f"{'baseline: ast.parse every .py':<34}{parsing:>9.2f}")
        best_cold = min(r["seconds"] for r in cold)
        best_warm = min(r["seconds"] for r in warm)
        print(
            f"ratios: cold / ast.parse-all {best_cold / parsing:.2f}; "
            f"warm / read+hash {best_warm / hashing:.2f}"
        )
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

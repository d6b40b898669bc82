"""The content-hash cache of ``waveplan infer``: reused when files are unchanged, refreshed
for an edited file, pruned of contents that are gone, ignored when corrupt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inferrepo import make_repo, write_plan
from waveplan.infer import ALL_KINDS, Kind, infer_plan
from waveplan.infer import repo as repo_module
from waveplan.infer.cache import CACHE_DIR, VERSION, digest
from waveplan.load import load_plan

FILES = {
    "pkg/__init__.py": "",
    "pkg/core.py": "X = 1\n",
    "pkg/use.py": "from pkg.core import X\n",
    "pkg/other.py": "Y = 2\n",
    "tests/test_use.py": "from pkg.use import X\n\n\ndef test_x():\n    assert X\n",
}


def _plan(root: Path) -> Path:
    return write_plan(
        root, [{"id": "core", "files": ["pkg/core.py"]}, {"id": "use", "files": ["pkg/use.py"]}]
    )


def test_second_run_reads_every_file_from_the_cache(tmp_path: Path) -> None:
    """The first run parses every file; the second parses none and finds the same."""
    repo = make_repo(tmp_path / "repo", FILES)
    plan = load_plan(_plan(repo))
    first = infer_plan(plan, kinds=ALL_KINDS)
    assert first.stats.parsed > 0
    assert (repo / CACHE_DIR / "facts.json").is_file()
    second = infer_plan(plan, kinds=ALL_KINDS)
    assert second.stats.parsed == 0
    assert second.stats.cached == first.stats.parsed + first.stats.cached
    assert second.findings == first.findings


def test_an_edited_file_is_parsed_again(tmp_path: Path) -> None:
    """Only the edited file is parsed again, and what it now says is what is found."""
    repo = make_repo(tmp_path / "repo", FILES)
    plan = load_plan(_plan(repo))
    imports = [Kind.IMPORTS]
    assert [f.kind.value for f in infer_plan(plan, kinds=imports).findings] == ["import coupling"]
    (repo / "pkg" / "use.py").write_text("from pkg.other import Y\n", encoding="utf-8")
    again = infer_plan(plan, kinds=imports)
    assert again.stats.parsed == 1
    assert [f.kind.value for f in again.findings] == []


def test_contents_that_are_gone_are_dropped_from_the_cache(tmp_path: Path) -> None:
    """Saving keeps only the entries of contents the repository still holds."""
    repo = make_repo(tmp_path / "repo", FILES)
    plan = load_plan(_plan(repo))
    infer_plan(plan, kinds=[Kind.IMPORTS])
    cache = repo / CACHE_DIR / "facts.json"
    before = set(json.loads(cache.read_text())["entries"])
    (repo / "pkg" / "use.py").write_text("from pkg.other import Y\n", encoding="utf-8")
    infer_plan(plan, kinds=[Kind.IMPORTS])
    after = set(json.loads(cache.read_text())["entries"])
    assert len(after) == len(before)
    assert len(after - before) == 1


def test_a_run_of_fewer_kinds_keeps_the_entries_of_unchanged_files(tmp_path: Path) -> None:
    """A run that reads fewer files (history only reads none, imports only the written
    files) keeps what the others found in files that did not change; the next run that
    scans a file still drops the contents that are gone."""
    repo = make_repo(tmp_path / "repo", FILES)
    plan = load_plan(_plan(repo))
    infer_plan(plan, kinds=ALL_KINDS)
    cache = repo / CACHE_DIR / "facts.json"
    before = set(json.loads(cache.read_text())["entries"])
    infer_plan(plan, kinds=[Kind.HISTORY])
    infer_plan(plan, kinds=[Kind.IMPORTS])
    assert set(json.loads(cache.read_text())["entries"]) == before
    assert infer_plan(plan, kinds=ALL_KINDS).stats.parsed == 0
    (repo / "pkg" / "other.py").unlink()
    gone = digest(FILES["pkg/other.py"].encode())
    assert any(key.endswith(gone) for key in before)
    (repo / "pkg" / "core.py").write_text("X = 2\n", encoding="utf-8")
    assert infer_plan(plan, kinds=[Kind.IMPORTS]).stats.parsed == 1
    after = set(json.loads(cache.read_text())["entries"])
    edited = digest(FILES["pkg/core.py"].encode())
    assert before - after == {key for key in before if key.endswith((gone, edited))}


def test_a_run_that_scans_nothing_hashes_no_file_it_did_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """History alone reads no file and an imports run from the cache only the written ones:
    neither hashes the others (each hashed every file to drop the contents gone from a
    cache it did not change), and the cache stays as it was."""
    repo = make_repo(tmp_path / "repo", FILES)
    plan = load_plan(_plan(repo))
    infer_plan(plan, kinds=ALL_KINDS)
    cache = repo / CACHE_DIR / "facts.json"
    before = cache.read_text()
    hashed: list[bytes] = []

    def counted(data: bytes) -> str:
        hashed.append(data)
        return digest(data)

    monkeypatch.setattr(repo_module, "digest", counted)
    (repo / "pkg" / "other.py").unlink()
    infer_plan(plan, kinds=[Kind.HISTORY])
    assert hashed == []
    imports = infer_plan(plan, kinds=[Kind.IMPORTS])
    assert imports.stats.parsed == 0
    assert sorted(hashed) == sorted({FILES["pkg/core.py"].encode(), FILES["pkg/use.py"].encode()})
    assert cache.read_text() == before


def test_a_corrupt_cache_is_rebuilt(tmp_path: Path) -> None:
    """An unreadable cache is ignored and written again."""
    repo = make_repo(tmp_path / "repo", FILES)
    plan = load_plan(_plan(repo))
    cache = repo / CACHE_DIR / "facts.json"
    cache.parent.mkdir(parents=True)
    cache.write_text("{not json", encoding="utf-8")
    result = infer_plan(plan)
    assert result.stats.cached == 0
    assert json.loads(cache.read_text())["version"] == VERSION


def test_entries_of_the_wrong_shape_are_scanned_again(tmp_path: Path) -> None:
    """A cache that is good JSON but whose entries are not what the scans store (a number, a
    list of the wrong things, a string where a line number goes) finds what a cold run finds
    and is written again; entries of the right shape are still used."""
    repo = make_repo(tmp_path / "repo", FILES)
    plan = load_plan(_plan(repo))
    cold = infer_plan(plan, kinds=ALL_KINDS)
    cache = repo / CACHE_DIR / "facts.json"
    good = json.loads(cache.read_text())["entries"]
    broken: dict[str, object] = {}
    wrong: list[object] = [0, [[["one", "x", "m", 0, []]], []], {"f": 1}, [[1, 2, 3, 4]], "x"]
    for n, key in enumerate(sorted(good)):
        broken[key] = wrong[n % len(wrong)] if n % 2 == 0 else good[key]
    cache.write_text(json.dumps({"version": VERSION, "entries": broken}), encoding="utf-8")
    again = infer_plan(plan, kinds=ALL_KINDS)
    assert again.findings == cold.findings
    assert again.stats.parsed == (len(good) + 1) // 2
    assert json.loads(cache.read_text())["entries"] == good


def test_no_cache_writes_nothing(tmp_path: Path) -> None:
    """With the cache off nothing is written under .waveplan/."""
    repo = make_repo(tmp_path / "repo", FILES)
    infer_plan(load_plan(_plan(repo)), cache=False)
    assert not (repo / ".waveplan").exists()

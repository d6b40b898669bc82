"""The module graph: which file of the repository imports which.

Python imports are resolved the way the interpreter would find the repository's own modules:
relative imports against the importing package; absolute ones against the importing file's
own top folder (the first folder up without ``__init__.py``: where a script or a pytest test
file is run from), the repository root, ``src/`` and every other folder that holds a
top-level package (src layouts and monorepos). ``from p import n`` is an edge to the submodule
``p/n.py`` when there is one, else to ``p`` itself; no edge is added to the packages above a
module, so a package's ``__init__.py`` is a dependency only of what imports it by name.
JavaScript and TypeScript specifiers are resolved when relative (``./``, ``../``): the path
as written, then with each extension, then its ``index`` file; ``./a.js`` also finds
``a.ts``. Imports of anything outside the repository are dropped.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from waveplan.infer.source import ImportRef, Language, language_of

__all__ = ["Edge", "ModuleGraph", "Resolver"]

_SCRIPT_EXTENSIONS = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts", ".json")
_SWAPPED = {".js": (".ts", ".tsx"), ".jsx": (".tsx",), ".mjs": (".mts",), ".cjs": (".cts",)}


@dataclass(frozen=True, slots=True)
class Edge:
    """``source`` imports ``target`` at ``line`` with the statement ``text``."""

    source: str
    target: str
    line: int
    text: str

    def evidence(self) -> str:
        """``src/app.py:3: from pkg import core``."""
        return f"{self.source}:{self.line}: {self.text}"


def _parent(path: str) -> str:
    return path.rpartition("/")[0]


def _join(folder: str, *parts: str) -> str:
    rest = "/".join(parts)
    return f"{folder}/{rest}" if folder else rest


class Resolver:
    """Resolves import references to files of the repository."""

    def __init__(self, files: Iterable[str]) -> None:
        self.files = set(files)
        self.dirs: set[str] = set()
        for path in self.files:
            folder = _parent(path)
            while folder and folder not in self.dirs:
                self.dirs.add(folder)
                folder = _parent(folder)
        self._base: dict[str, str] = {}
        self._tops: dict[str, list[str]] = {}
        # many files import the same modules: resolutions by what they depend on
        self._memo: dict[tuple[str, str, int, tuple[str, ...]], list[str]] = {}
        for path in sorted(self.files):
            if language_of(path) is Language.PYTHON:
                root = self.base(path)
                rest = path[len(root) + 1 :] if root else path
                top = rest.split("/", 1)[0].removesuffix(".py").removesuffix(".pyi")
                roots = self._tops.setdefault(top, [])
                if root not in roots:
                    roots.append(root)

    def base(self, path: str) -> str:
        """The folder a Python file's absolute imports start from: the first folder up that
        is not a package (has no ``__init__.py``)."""
        folder = _parent(path)
        found = self._base.get(folder)
        if found is not None:
            return found
        current = folder
        while current and _join(current, "__init__.py") in self.files:
            current = _parent(current)
        self._base[folder] = current
        return current

    def _module(self, root: str, dotted: Sequence[str]) -> tuple[str | None, str | None]:
        """``(file, package folder)`` of a dotted module under a root (None where absent)."""
        stem = _join(root, *dotted) if dotted else root
        file = None
        for candidate in (stem + ".py", stem + ".pyi", _join(stem, "__init__.py")):
            if candidate in self.files:
                file = candidate
                break
        folder = stem if stem in self.dirs else None
        return file, folder

    def python(self, importer: str, ref: ImportRef) -> list[str]:
        """The files a Python import reaches (empty when it is not the repository's)."""
        # a relative import depends on the importer's folder, an absolute one on its base
        where = _parent(importer) if ref.level else self.base(importer)
        key = (where, ref.module, ref.level, ref.names)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = self._python(importer, ref)
        return found

    def _python(self, importer: str, ref: ImportRef) -> list[str]:
        parts = [p for p in ref.module.split(".") if p]
        if ref.level:
            root = _parent(importer)
            for _ in range(ref.level - 1):
                if not root:
                    return []
                root = _parent(root)
            file, folder = self._module(root, parts)
            return self._names(file, folder, ref)
        if not parts:
            return []
        for root in self._roots(importer, parts[0]):
            file, folder = self._module(root, parts)
            if file is None and folder is None:
                continue
            if not ref.names:
                return [file] if file is not None else []
            return self._names(file, folder, ref)
        return []

    def _roots(self, importer: str, top: str) -> list[str]:
        roots: list[str] = []
        for root in (self.base(importer), "", "src", *self._tops.get(top, ())):
            if root not in roots:
                roots.append(root)
        return roots

    def _names(self, file: str | None, folder: str | None, ref: ImportRef) -> list[str]:
        found: list[str] = []
        whole = False
        for name in ref.names or ("",):
            if name and folder is not None:
                sub, sub_folder = self._module(folder, [name])
                if sub is not None:
                    found.append(sub)
                    continue
                if sub_folder is not None:
                    continue  # a namespace package: nothing to read
            whole = True
        if whole and file is not None:
            found.append(file)
        return list(dict.fromkeys(found))

    def script(self, importer: str, ref: ImportRef) -> str | None:
        """The file a relative JavaScript/TypeScript specifier names (None otherwise)."""
        spec = ref.module.split("?", 1)[0].split("#", 1)[0]
        if not (spec.startswith(("./", "../")) or spec in (".", "..")):
            return None
        stem = posixpath.normpath(_join(_parent(importer), spec))
        if stem == ".." or stem.startswith("../"):
            return None
        stem = "" if stem == "." else stem
        if stem in self.files:
            return stem
        for extension in _SCRIPT_EXTENSIONS:
            if stem + extension in self.files:
                return stem + extension
        base, extension = posixpath.splitext(stem)
        for swapped in _SWAPPED.get(extension, ()):
            if base + swapped in self.files:
                return base + swapped
        for extension in _SCRIPT_EXTENSIONS:
            candidate = _join(stem, "index" + extension)
            if candidate in self.files:
                return candidate
        return None

    def resolve(self, importer: str, ref: ImportRef, language: Language | None = None) -> list[str]:
        """The files an import of ``importer`` (written in ``language``, by default the one
        its name says) reaches."""
        if (language or language_of(importer)) is Language.PYTHON:
            return [t for t in self.python(importer, ref) if t != importer]
        target = self.script(importer, ref)
        return [target] if target is not None and target != importer else []


@dataclass
class ModuleGraph:
    """Import edges by importing file and by imported file."""

    imports: dict[str, list[Edge]] = field(default_factory=dict)
    importers: dict[str, list[Edge]] = field(default_factory=dict)

    @classmethod
    def build(cls, resolver: Resolver, refs: Mapping[str, Sequence[ImportRef]]) -> ModuleGraph:
        """The graph of the given files' imports (``refs``: file -> its imports)."""
        graph = cls()
        for source in sorted(refs):
            edges: list[Edge] = []
            seen: set[str] = set()
            language = language_of(source)
            for ref in refs[source]:
                for target in resolver.resolve(source, ref, language):
                    if target not in seen:
                        seen.add(target)
                        edges.append(Edge(source, target, ref.line, ref.text))
            if edges:
                graph.imports[source] = edges
                for edge in edges:
                    graph.importers.setdefault(edge.target, []).append(edge)
        return graph

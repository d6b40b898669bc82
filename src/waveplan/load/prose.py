"""Finding file paths in the text of imported plans.

Two uses: the entries of a list the plan declares (``Files: src/a.ts, src/b.ts (new)``), where
each entry is taken at its word, and paths mentioned in a task's prose, which the importers
take as *inferred* writes. Prose is full of things that look like paths and are not (``and/or``,
``v1.2``, ``Node.js``, URLs), so a bare word counts only when it has a known file extension or
a ``/`` and an extension or a trailing ``/``; a word in backticks counts when it has a ``/`` or
an extension. A backticked span with spaces is one path when it reads as one
(``src/config é.py``), and its words otherwise (a command: ``bin/run tests/a.py``). Line
suffixes (``src/a.ts:12-40``) and anchors (``docs/x.md#usage``) are dropped.
"""

from __future__ import annotations

import re

__all__ = ["find_paths", "list_entries", "path_of_entry"]

EXTENSIONS = frozenset(
    """
    ts tsx mts cts js jsx mjs cjs py pyi pyx rb go rs java kt kts scala swift m mm c cc cpp
    cxx h hh hpp hxx cs fs vb php pl pm sh bash zsh fish ps1 bat sql graphql gql proto
    thrift md mdx rst adoc txt json jsonc json5 yaml yml toml ini cfg conf env lock xml xsd
    html htm css scss sass less styl vue svelte astro tf tfvars hcl gradle properties csv
    tsv ipynb r jl ex exs erl hrl hs ml mli elm dart lua nim zig v sol wasm wat tmpl tpl j2
    jinja hbs ejs pug prisma
    """.split()  # noqa: SIM905 - a word list reads better than quoted items
)
FILENAMES = frozenset(
    """
    Makefile Dockerfile Containerfile Gemfile Procfile Rakefile Justfile Vagrantfile
    Jenkinsfile CODEOWNERS LICENSE
    """.split()  # noqa: SIM905 - a word list reads better than quoted items
)
# words that end in a known extension but name a technology, not a file
_NOT_FILES = frozenset(
    """
    node.js vue.js next.js nuxt.js express.js react.js d3.js three.js chart.js ember.js
    backbone.js angular.js alpine.js deno.js bun.js solid.js p5.js
    """.split()  # noqa: SIM905 - a word list reads better than quoted items
)

_BACKTICKS = re.compile(r"`([^`\n]+)`")
_WORD = re.compile(r"[^\s`]+")
_PATH_CHARS = re.compile(r"^[\w@.+\-]+(?:/[\w@.+\-*?\[\]{}]+)*/?$")
_SUFFIX = re.compile(r"(?::\d+(?:[-,]\d+)*|#[\w.\-]*)$")
_STRIP = "()[]{}<>,;:!?\"'*\u201c\u201d\u2018\u2019"


def _clean(word: str) -> str:
    word = word.strip().strip(_STRIP)
    word = word.removeprefix("@").removeprefix("./")
    while word.endswith((".", ",", ";", ":", ")")):
        word = word[:-1]
    return _SUFFIX.sub("", word)


def _extension(name: str) -> str | None:
    stem, dot, ext = name.rpartition(".")
    if not dot or not ext:
        return None
    if not stem:  # a dotfile such as .gitignore or .env
        return ext.lower()
    return ext.lower() if ext.lower() in EXTENSIONS else None


def _looks_like_path(word: str, *, quoted: bool) -> bool:
    if not word or "://" in word or word.startswith(("/", "~", "http", "www.")) or ":" in word:
        return False
    if not _PATH_CHARS.match(word) or ".." in word.split("/"):
        return False
    if word.lower() in _NOT_FILES:
        return False
    last = word.rstrip("/").rsplit("/", 1)[-1]
    if not last or last.isdigit():
        return False
    has_slash = "/" in word.rstrip("/")
    if word in FILENAMES:
        return True
    if last.startswith("."):  # dotfiles only when they cannot be read as a sentence's end
        return (quoted or has_slash) and len(last) > 2
    if _extension(last) is not None and not re.fullmatch(r"[\d.]+", last):
        return True
    if quoted:
        return has_slash or word.endswith("/")
    return has_slash and word.endswith("/") and not word.startswith("/")


def _spaced_path(span: str, *, prose: bool) -> str | None:
    """A backticked span with spaces read as one path (``src/config é.py``, ``docs/User
    Guide/``), or None when it reads as a command or as several paths: a word before the
    last with a file extension (``scripts/gen.py --all``, ``a.ts b.ts``), an option
    (``-k``), an end that is neither an extension nor ``/``. In ``prose``, where commands
    are common, also a first word outside a folder (``pytest test_a.py``) or a later word
    with a folder of its own, a path argument (``bin/run tests/a.py``): there only a name
    with spaces in its last folder or file is one path (a ``Files:`` entry is a path
    whatever it holds)."""
    text = _clean(span)
    words = text.split()
    if len(words) < 2 or any(w.startswith("-") for w in words):
        return None
    if any(_extension(w.rstrip("/").rsplit("/", 1)[-1]) is not None for w in words[:-1]):
        return None
    if prose and ("/" not in words[0] or any("/" in w.rstrip("/") for w in words[1:])):
        return None
    if not text.endswith("/") and re.search(r"\w\.[A-Za-z0-9]{1,8}$", text) is None:
        return None
    return text if _looks_like_path(text.replace(" ", "_"), quoted=True) else None


def find_paths(text: str) -> list[str]:
    """Path-like words in prose, in order of first mention, without repeats."""
    found: dict[str, None] = {}
    for quoted in _BACKTICKS.finditer(text):
        whole = _spaced_path(quoted.group(1), prose=True)
        if whole is not None:
            found.setdefault(whole, None)
            continue
        for word in quoted.group(1).split():
            cleaned = _clean(word)
            if _looks_like_path(cleaned, quoted=True):
                found.setdefault(cleaned, None)
    bare = _BACKTICKS.sub(" ", text)
    for match in _WORD.finditer(bare):
        cleaned = _clean(match.group())
        if _looks_like_path(cleaned, quoted=False):
            found.setdefault(cleaned, None)
    return list(found)


def path_of_entry(entry: str, *, whole: bool = False) -> str | None:
    """The path of one declared list entry: ``src/a.ts (new)``, ```src/a.ts` - the store``.
    With ``whole`` the entry is one path, spaces included (an item of a YAML list:
    ``docs/User Guide.md``), once a note after it is dropped."""
    quoted = [_clean(q) for q in _BACKTICKS.findall(entry)]
    for candidate in quoted:
        if candidate and (whole or " " not in candidate):
            return candidate
        spaced = _spaced_path(candidate, prose=False)  # `docs/User Guide.md`
        if spaced is not None:
            return spaced
    text = entry.strip().removeprefix("- ").strip()
    for separator in (" \u2014 ", " \u2013 ", " - ", " (", "(", " #"):
        text = text.split(separator, 1)[0]
    words = text.split()
    if not words:
        return None
    if whole and len(words) > 1:  # one path with spaces, when it reads as one
        spaced = _clean(text)
        joined = spaced.replace(" ", "_")
        ends = spaced.endswith("/") or re.search(r"\w\.[A-Za-z0-9]{1,8}$", spaced) is not None
        if ends and _looks_like_path(joined, quoted=True):
            return spaced
    word = _clean(words[0]) if len(words) == 1 else None
    if word is None:  # several words: the first one that looks like a path
        word = next(
            (w for w in (_clean(w) for w in words) if _looks_like_path(w, quoted=True)), None
        )
    return word or None


def list_entries(text: str) -> list[str]:
    """The entries of a declared list written on one line or several: separated by commas or
    line breaks, with or without ``-`` bullets."""
    entries = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith(("- ", "* ")):
            entries.append(line[2:].strip())
            continue
        entries.extend(part.strip() for part in _split_commas(line) if part.strip())
    return entries


def _split_commas(line: str) -> list[str]:
    """Split on commas outside backticks and parentheses."""
    parts: list[str] = []
    depth = 0
    quoted = False
    current: list[str] = []
    for char in line:
        if char == "`":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth = max(0, depth - 1)
        if char == "," and depth == 0 and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts

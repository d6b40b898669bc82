"""Sisyphus / oh-my-openagent plans (``.sisyphus/plans/*.md``, ``.omo/plans/*.md``).

Tasks are numbered todo rows, ``- [ ] 3. Title`` (``[x]`` when done), usually under ``## TODOs``.
Under a row, labelled lines describe it, bold or not:

- ``Parallelization: Wave 2 | Blocked by: 1 | Blocks: 4, 5`` (current plans): the declared
  wave and the dependencies in both directions;
- ``Files:``, ``Parallelizable: YES (with 2)`` and ``Dependencies:`` (older plans).

Rows under a ``Final Verification`` heading (``F1.``) run after all the others.
``What to do`` is the description; the paths it (and the title) mentions are inferred writes,
the paths under ``References`` inferred reads, unless the row declares them in ``Files:``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from waveplan.errors import PlanSyntaxError
from waveplan.load.imported import Draft, Import, id_list, join_ids, readable_id
from waveplan.load.prose import find_paths, list_entries
from waveplan.model import Origin, SourceFormat

__all__ = ["has_todo_rows", "read_sisyphus"]

_ROW = re.compile(
    r"^(?P<indent>\s*)[-*]\s+\[(?P<check>[ xX])\]\s+(?P<id>[A-Za-z]{0,2}\d+(?:\.\d+)*)[.):]\s+"
    r"(?P<title>.*)$"
)
_LABEL = re.compile(
    r"^\s*(?:[-*]\s+)?(?:\*\*|__)?(?P<label>[A-Za-z][A-Za-z /()-]{1,40}?)\s*(?::\s*(?:\*\*|__)|"
    r"(?:\*\*|__)\s*:|:)\s*(?P<value>.*)$"
)
_HEADING = re.compile(r"^#{1,6}\s")
_FENCE = re.compile(r"^\s*(```|~~~)")
_RULE = re.compile(r"^\s*(?:-{3,}|\*{3,}|_{3,})\s*$")
_PLAIN_LABELS = frozenset(
    {
        "files",
        "parallelizable",
        "parallelization",
        "dependencies",
        "blocked by",
        "blocks",
        "depends on",
        "what to do",
        "must not do",
        "references",
        "acceptance criteria",
        "qa scenarios",
        "commit",
    }
)
_WAVE = re.compile(r"\bwave\s+(\d+)\b", re.IGNORECASE)
_KEYWORDS = re.compile(r"\b(blocked\s+by|depends\s+on|blocks)\b\s*:?", re.IGNORECASE)
_TITLE_TAGS = re.compile(r"\s*\((?P<tags>[^()]*\b(?:blocks|blocked\s+by)\b[^()]*)\)\s*$", re.I)
_FINAL = re.compile(r"final\s+verification", re.IGNORECASE)
_YES = re.compile(r"^\s*(yes|true|y)\b", re.IGNORECASE)
_NO = re.compile(r"^\s*(no|false|n)\b", re.IGNORECASE)


def has_todo_rows(text: str) -> bool:
    """Whether the text has numbered todo rows with Sisyphus' parallelization lines."""
    return bool(
        re.search(r"^\s*[-*]\s+\[[ xX]\]\s+\d+[.)]\s", text, re.MULTILINE)
        and re.search(r"parallelizable|parallelization|blocked\s+by", text, re.IGNORECASE)
    )


@dataclass
class _Row:
    draft: Draft
    indent: int
    lines: list[tuple[int, str]] = field(default_factory=list)
    blocks: list[tuple[str, str]] = field(default_factory=list)
    blocks_all: str | None = None  # where "Blocks: all" was written
    # where "Blocked by: all other tasks" was written, and whether only earlier rows count
    # ("all previous tasks")
    blocked_by_all: tuple[str, bool] | None = None
    says_blocked_by: bool = False


def read_sisyphus(path: Path, text: str, *, display: str, root: str, infer: bool) -> Import:
    """Read a Sisyphus plan; raise :class:`PlanSyntaxError` when it holds no todo row."""
    rows: list[_Row] = []
    name: str | None = None
    lines = text.split("\n")
    candidates: list[tuple[int, re.Match[str]]] = []
    fenced = False
    for number, raw in enumerate(lines, start=1):
        if _FENCE.match(raw):
            fenced = not fenced
            continue
        if fenced:
            continue
        if name is None and raw.startswith("# "):
            name = raw[2:].strip() or None
        found = _ROW.match(raw)
        if found:
            candidates.append((number, found))
    if not candidates:
        raise PlanSyntaxError(
            "no todo rows found: expected rows such as '- [ ] 1. Add the event hook'", file=display
        )
    top = min(len(found.group("indent")) for _, found in candidates)
    starts = {number: found for number, found in candidates if len(found.group("indent")) == top}
    current: _Row | None = None
    fenced = False
    final: str | None = None  # where the "Final Verification Wave" heading is
    finals: list[_Row] = []
    for number, raw in enumerate(lines, start=1):
        if number in starts:
            current = _start(starts[number], number, display)
            rows.append(current)
            if final is not None:
                finals.append(current)
            continue
        if not fenced and _HEADING.match(raw):
            final = f"{display}:{number}" if _FINAL.search(raw) else None
        if current is None:
            continue
        if not fenced and (_HEADING.match(raw) or _RULE.match(raw)):
            current = None
            continue
        if _FENCE.match(raw):
            fenced = not fenced
        current.lines.append((number, raw))
    warnings: list[str] = []
    for row in rows:
        _read_row(row, display, infer, warnings)
    _blocks(rows, warnings)
    for row in finals:  # the final verification runs after every other task
        if not row.draft.depends:
            row.draft.depends = [
                (other.draft.source_id, row.draft.where) for other in rows if other not in finals
            ]
    return Import(
        format=SourceFormat.SISYPHUS,
        source=display,
        root=root,
        drafts=[row.draft for row in rows],
        name=name,
        scope="the plan",
        warnings=warnings,
    )


def _start(found: re.Match[str], number: int, display: str) -> _Row:
    where = f"{display}:{number}"
    title = found.group("title").strip()
    draft = Draft(source_id=found.group("id"), title=title, where=where)
    row = _Row(draft, len(found.group("indent")))
    tags = _TITLE_TAGS.search(title)
    if tags:
        draft.title = title[: tags.start()].strip()
        _relations(row, tags.group("tags"), where)
    draft.title = draft.title.strip("*_ ").strip() or draft.source_id
    if found.group("check") in "xX":
        draft.done, draft.done_where = True, where
    return row


def _relations(row: _Row, text: str, where: str) -> None:
    """``Wave 2 | Blocked by: 1, 3 | Blocks: 4``, in any of the ways plans write it."""
    text = text.replace("**", "").replace("__", "")
    wave = _WAVE.search(text)
    if wave and row.draft.wave is None:
        row.draft.wave, row.draft.wave_where = int(wave.group(1)), where
    parts = _KEYWORDS.split(text)
    # parts: [before, keyword, value, keyword, value, ...]
    for keyword, written in zip(parts[1::2], parts[2::2], strict=True):
        value = re.split(r"\||\.\s|\.$", written)[0]
        value = re.sub(r"\b(?:parallel|sequential)\b.*$", "", value, flags=re.IGNORECASE)
        kind = keyword.lower().split()[0]
        if kind == "blocks":
            if re.search(r"\ball\b", value, re.IGNORECASE):
                row.blocks_all = where
                continue
            row.blocks.extend((i, where) for i in id_list(value))
        else:
            row.says_blocked_by = True
            if re.match(r"\s*all\b", value, re.IGNORECASE):
                earlier = re.search(r"\b(?:previous|earlier|above|prior)\b", value, re.I)
                row.blocked_by_all = (where, earlier is not None)
                continue
            row.draft.depends.extend((i, where) for i in id_list(value))


def _sections(row: _Row) -> list[tuple[str, int, str]]:
    """The row's body as (label, line, text): labelled lines, and the lines under them."""
    sections: list[tuple[str, int, str]] = []
    label = ""
    label_indent = -1
    for number, raw in row.lines:
        found = _LABEL.match(raw)
        indent = len(raw) - len(raw.lstrip())
        head = raw.lstrip()
        head = head[2:].lstrip() if head.startswith(("- ", "* ")) else head
        bold = head.startswith(("**", "__"))
        plain = found is not None and found.group("label").strip().lower() in _PLAIN_LABELS
        if found and (bold or (plain and (label == "" or indent <= label_indent))):
            label = found.group("label").strip().lower()
            label_indent = indent
            sections.append((label, number, found.group("value").strip()))
            continue
        sections.append((label, number, raw.strip()))
    return sections


def _read_row(row: _Row, display: str, infer: bool, warnings: list[str]) -> None:
    draft = row.draft
    described: list[str] = []
    title_line = int(draft.where.rsplit(":", 1)[1])
    mentions: list[tuple[str, int, str]] = [("files", title_line, draft.title)]
    for label, number, text in _sections(row):
        where = f"{display}:{number}"
        if label in ("parallelization", "parallel", "blocked by", "blocks", "depends on"):
            _relations(row, f"{label}: {text}" if label != "parallelization" else text, where)
        elif label in ("dependencies", "dependency"):
            draft.depends.extend((i, where) for i in id_list(text))
        elif label == "parallelizable":
            _parallelizable(row, text, where)
        elif label in ("files", "file", "files to modify", "files modified"):
            draft.declare("files", list_entries(text), where, warnings)
        elif label in ("what to do", ""):
            described.append(text)
            mentions.append(("files", number, text))
        elif label.startswith("references") or label.endswith("references"):
            mentions.append(("reads", number, text))
    draft.description = "\n".join(described).strip()
    if infer:
        for target, number, text in mentions:
            for path in find_paths(text):
                draft.add(target, path, Origin.INFERRED, f"{display}:{number}")


def _parallelizable(row: _Row, text: str, where: str) -> None:
    """``YES (with task 2)``, ``NO (depends on 1)``, ``No (after TASK-002)``."""
    draft = row.draft
    if _YES.match(text):
        draft.parallel, draft.parallel_where = True, where
    elif _NO.match(text):
        draft.parallel, draft.parallel_where = False, where
    after = re.search(r"\b(?:depends\s+on|after|blocked\s+by)\b\s*:?\s*([^)]*)", text, re.I)
    if after:
        ids = id_list(re.sub(r"(?i)\btask[-_ ]?", "", after.group(1)))
        draft.depends.extend((i, where) for i in ids)


def _blocks(rows: list[_Row], warnings: list[str]) -> None:
    """``Blocks:`` lists become dependencies of the blocked rows; where a blocked row lists
    its own ``Blocked by`` without the blocker, the two lines disagree: say so."""
    by_id = {row.draft.source_id: row for row in rows}
    for position, row in enumerate(rows):
        if row.blocked_by_all is not None:
            where, earlier = row.blocked_by_all
            others = rows[:position] if earlier else [o for o in rows if o is not row]
            row.draft.depends.extend((o.draft.source_id, where) for o in others)
    for row in rows:
        blocked: list[tuple[str, str]] = list(row.blocks)
        if row.blocks_all is not None:
            blocked += [(o.draft.source_id, row.blocks_all) for o in rows if o is not row]
        silent: list[str] = []
        missing: list[str] = []
        for target, where in blocked:
            other = by_id.get(target) or by_id.get(target.lstrip("Tt"))
            if other is None and not readable_id(target):
                warnings.append(
                    f"{where}: {row.draft.source_id}: cannot read the blocked task "
                    f"{target!r}; ignored"
                )
                continue
            if other is None:
                if target not in missing:
                    missing.append(target)
                continue
            if other is row:
                continue
            named = {dep for dep, _ in other.draft.depends}
            if row.draft.source_id in named:
                continue
            if other.says_blocked_by and other.draft.source_id not in silent:
                silent.append(other.draft.source_id)
            other.draft.depends.append((row.draft.source_id, where))
        if missing:
            which = "which is" if len(missing) == 1 else "which are"
            warnings.append(
                f"{row.draft.source_id} says it blocks {join_ids(missing)}, {which} not in the "
                "plan; ignored"
            )
        if silent:
            verb = "does" if len(silent) == 1 else "do"
            warnings.append(
                f"{row.draft.source_id} says it blocks {join_ids(silent)}, but {join_ids(silent)} "
                f"{verb} not list {row.draft.source_id} under 'Blocked by': taken as a dependency"
            )

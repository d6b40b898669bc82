"""ccpm epic folders: ``.claude/epics/<epic>/<N>.md``, one task per numbered file.

Front matter: ``name``, ``status`` (``closed`` is done), ``depends_on``, ``parallel`` and
``conflicts_with``. A declared conflict becomes a named state both tasks write,
``conflict.<a>+<b>``, so they never run at the same time (without a fake dependency). Hours
in the ``Effort Estimate`` section are the durations (``4-6 hours`` counts as 5). The
``Description`` and ``Technical Details`` sections are the description, and the paths they
mention are inferred writes.
"""

from __future__ import annotations

import re
from pathlib import Path

from waveplan.load.frontmatter import read_front_matter, text_list, text_value, truth
from waveplan.load.imported import Draft, Import, dependency_entry, join_ids
from waveplan.load.markdown import DONE_WORDS, parse_duration_hours
from waveplan.load.prose import find_paths
from waveplan.load.text import read_text
from waveplan.model import DurationSource, Origin, SourceFormat, id_sort_key
from waveplan.units import HOUR

__all__ = ["EPIC_FILE", "read_ccpm", "task_files"]

EPIC_FILE = "epic.md"
_TASK_FILE = re.compile(r"^(?P<id>\d+)\.md$")
_KNOWN = frozenset(
    """
    name title status created updated github depends_on depends-on parallel conflicts_with
    conflicts-with epic priority assignee labels estimate effort prd
    """.split()  # noqa: SIM905 - a word list reads better than quoted items
)
_NEEDED = ("name", "status", "depends_on", "parallel", "conflicts_with")
_SECTION = re.compile(r"^##\s+(?P<title>.+?)\s*#*\s*$", re.MULTILINE)
_TITLE = re.compile(r"^#\s+(?:Task:\s*)?(?P<text>.+?)\s*$", re.MULTILINE)
_HOURS_LABEL = re.compile(r"hours?\s*(?:\*\*)?\s*[:=]\s*(?:\*\*)?\s*(?P<value>[^\n]*)", re.I)
# An amount of hours in prose (``4-6 hours``, ``~3h``), where the effort section has no label
_HOURS_AMOUNT = re.compile(
    r"(?<![\w.])[~\u2248]?\d+(?:[.,]\d+)?(?:\s*(?:-|\u2013|to)\s*\d+(?:[.,]\d+)?)?\s*"
    r"(?:h|hrs?|hours?)(?![a-zA-Z])",
    re.IGNORECASE,
)
_PROSE_SECTIONS = ("description", "technical details")


def task_files(folder: Path) -> list[Path]:
    """The epic's task files, in number order."""
    found = [p for p in folder.iterdir() if p.is_file() and _TASK_FILE.match(p.name)]
    return sorted(found, key=lambda p: id_sort_key(p.stem))


def _hours(text: str) -> tuple[float | None, str | None]:
    """The effort in hours, from ``Hours: 6`` (a bare number is hours), ``Hours: 1h 30m``,
    ``Hours: 30 min``, else from the first amount of hours in the text (``4-6 hours``: the
    middle); and the label's text when it holds no duration (``Hours: TBD``)."""
    label = _HOURS_LABEL.search(text)
    if label is not None:
        hours, _ = parse_duration_hours(label.group("value"))
        if hours is not None:
            return hours, None
    for start in _HOURS_AMOUNT.finditer(text):
        hours, given = parse_duration_hours(text[start.start() :])
        if given:
            return hours, None
    return None, None if label is None else label.group("value").strip()


def read_ccpm(folder: Path, *, display: str, root: str, infer: bool) -> Import:
    """Read one epic folder (``display`` is how messages name it)."""
    warnings: list[str] = []
    name = folder.name
    epic = folder / EPIC_FILE
    if epic.is_file():
        text = read_text(epic, f"{display}/{EPIC_FILE}")
        if text:
            matter = read_front_matter(text, f"{display}/{EPIC_FILE}", needed=("name",))
            name = text_value(matter.fields.get("name")) or name
    drafts: list[Draft] = []
    conflicts: dict[tuple[str, str], list[tuple[Draft, str]]] = {}
    unknown: dict[str, list[str]] = {}
    for path in task_files(folder):
        shown = f"{display}/{path.name}"
        task_id = path.stem
        text = read_text(path, shown)
        if text is None:
            warnings.append(f"{shown}: {task_id}: the file is empty; skipped")
            continue
        matter = read_front_matter(text, shown, needed=_NEEDED, task=task_id)
        draft = Draft(source_id=task_id, title=task_id, where=f"{shown}:1")
        if matter.lenient:
            line = matter.problem_line or 1
            warnings.append(
                f"{shown}:{line}: {task_id}: the front matter is not valid YAML "
                f"({matter.problem}); read its fields leniently"
            )
        fields = matter.fields
        for key in fields:
            if key not in _KNOWN:
                unknown.setdefault(key, []).append(task_id)
        title = text_value(fields.get("name")) or text_value(fields.get("title"))
        if title:
            draft.title, draft.where = title, f"{shown}:{matter.line('name')}"
        else:
            heading = _TITLE.search(matter.body)
            if heading:
                line = matter.body_line + matter.body.count("\n", 0, heading.start())
                draft.title, draft.where = heading.group("text"), f"{shown}:{line}"
        status = (text_value(fields.get("status")) or "").lower()
        if status in DONE_WORDS:
            draft.done, draft.done_where = True, f"{shown}:{matter.line('status')}"
        for key in ("depends_on", "depends-on"):
            if key in fields:
                where = f"{shown}:{matter.line(key)}"
                items, odd = text_list(fields[key])
                if odd:
                    warnings.append(f"{where}: {task_id}: '{key}' {odd}")
                for item in items:
                    dep = dependency_entry(item)  # "#3", "3 (the API)" name 3
                    if dep is not None:
                        draft.depends.append((dep, where))
        if "parallel" in fields:
            flag = truth(fields["parallel"])
            where = f"{shown}:{matter.line('parallel')}"
            if flag is None:
                warnings.append(
                    f"{where}: {task_id}: 'parallel' is not true or false "
                    f"({fields['parallel']!r}); ignored"
                )
            else:
                draft.parallel, draft.parallel_where = flag, where
        for key in ("conflicts_with", "conflicts-with"):
            if key in fields:
                where = f"{shown}:{matter.line(key)}"
                items, odd = text_list(fields[key])
                if odd:
                    warnings.append(f"{where}: {task_id}: '{key}' {odd}")
                for item in items:
                    other = dependency_entry(item)
                    if other is None:
                        continue
                    pair = tuple(sorted((task_id, other), key=id_sort_key))
                    conflicts.setdefault((pair[0], pair[1]), []).append((draft, where))
        _sections(draft, matter.body, matter.body_line, shown, infer=infer, warnings=warnings)
        drafts.append(draft)
    for key, tasks in sorted(unknown.items()):
        warnings.append(f"unknown front-matter key '{key}' ignored ({join_ids(tasks)})")
    _conflicts(drafts, conflicts, warnings)
    return Import(
        format=SourceFormat.CCPM,
        source=display,
        root=root,
        drafts=drafts,
        name=name,
        scope="this epic",
        warnings=warnings,
        duration_unit=HOUR if any(d.duration is not None for d in drafts) else None,
    )


def _sections(
    draft: Draft, body: str, body_line: int, shown: str, *, infer: bool, warnings: list[str]
) -> None:
    """Duration from ``Effort Estimate``; description and inferred paths from the prose."""
    marks = list(_SECTION.finditer(body))
    described: list[str] = []
    for n, mark in enumerate(marks):
        end = marks[n + 1].start() if n + 1 < len(marks) else len(body)
        title = mark.group("title").strip().lower()
        text = body[mark.end() : end]
        first_line = body_line + body.count("\n", 0, mark.end())
        if title.startswith("effort"):
            hours, unread = _hours(text)
            if hours is not None:
                draft.duration, draft.duration_where = hours, f"{shown}:{first_line}"
                draft.duration_source = DurationSource.DECLARED
            elif unread is not None:
                warnings.append(
                    f"{shown}:{first_line}: {draft.source_id}: cannot read the effort "
                    f"{unread!r}; ignored"
                )
        elif title in _PROSE_SECTIONS:
            described.append(f"## {mark.group('title').strip()}\n{text.strip()}")
            if infer:
                for offset, line in enumerate(text.split("\n")):
                    for path in find_paths(line):
                        draft.add("files", path, Origin.INFERRED, f"{shown}:{first_line + offset}")
    draft.description = "\n\n".join(described).strip()
    if infer:
        for path in find_paths(draft.title):
            draft.add("files", path, Origin.INFERRED, draft.where)


def _conflicts(
    drafts: list[Draft],
    conflicts: dict[tuple[str, str], list[tuple[Draft, str]]],
    warnings: list[str],
) -> None:
    """Each declared pair writes one shared state, ``conflict.<a>+<b>``."""
    by_id = {d.source_id: d for d in drafts}
    numbers = {str(int(d.source_id)): d for d in drafts if d.source_id.isdigit()}
    for (a, b), declared in sorted(conflicts.items()):
        first = by_id.get(a) or numbers.get(str(int(a)) if a.isdigit() else a)
        second = by_id.get(b) or numbers.get(str(int(b)) if b.isdigit() else b)
        owner, where = declared[0]
        if first is None or second is None or first is second:
            other = b if owner.source_id == a else a
            warnings.append(
                f"{where}: {owner.source_id} conflicts with {other}, which is not in this epic; "
                "ignored"
            )
            continue
        low, high = sorted((first.source_id, second.source_id), key=id_sort_key)
        resource = f"conflict.{low}+{high}"
        for draft in (first, second):
            if not any(x.raw == resource for x in draft.accesses):
                draft.add("state", resource, Origin.DECLARED, where)

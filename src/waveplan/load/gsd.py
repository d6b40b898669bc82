"""GSD ("Get Shit Done") phase folders: ``.planning/phases/NN-name/NN-MM-PLAN.md``.

Each plan's front matter gives ``wave``, ``depends_on`` (plan ids such as ``01-02``) and
``files_modified`` (or ``files-modified``); its ``<task>`` blocks add ``<files>`` (writes) and
``<read_first>`` (reads). A plan with a ``NN-MM-SUMMARY.md`` is done: the summary's
``key-files`` (``created``, ``modified``) are what it really touched (observed writes, and a
warning for those it did not declare) and its ``duration`` (``12min``) what it took. Durations
are in minutes.
"""

from __future__ import annotations

import re
from pathlib import Path

from waveplan.load.frontmatter import (
    FrontMatter,
    read_front_matter,
    text_list,
    text_value,
    whole_number,
)
from waveplan.load.imported import Draft, Import, dependency_entry, join_ids
from waveplan.load.prose import list_entries, path_of_entry
from waveplan.load.text import read_text
from waveplan.model import DurationSource, Origin, SourceFormat
from waveplan.units import MINUTE, read_duration

__all__ = ["PLAN_SUFFIX", "SUMMARY_SUFFIX", "parse_minutes", "plan_files", "read_gsd"]

PLAN_SUFFIX = "-PLAN.md"
SUMMARY_SUFFIX = "-SUMMARY.md"
_ID = re.compile(r"^(?P<phase>\d+(?:\.\d+)*)-(?P<plan>\d+)(?=-|$)")
_KNOWN = frozenset(
    """
    phase plan type wave depends_on depends-on files_modified files-modified autonomous
    requirements user_setup must_haves domain title name description objective gap_closure
    tags subsystem created updated status tdd estimate priority
    """.split()  # noqa: SIM905 - a word list reads better than quoted items
)
_NEEDED = ("wave", "depends_on", "depends-on", "files_modified", "files-modified", "title")
_TASK = re.compile(r"<task\b[^>]*>(?P<body>.*?)</task>", re.DOTALL)
_TAG = re.compile(r"<(?P<tag>name|files|read_first)>(?P<text>.*?)</(?P=tag)>", re.DOTALL)
_OBJECTIVE = re.compile(r"<objective>\s*(?P<text>.*?)</objective>", re.DOTALL)
_HEADING = re.compile(r"^#{1,3}\s+(?P<text>.+?)\s*$", re.MULTILINE)


def parse_minutes(text: str) -> float | None:
    """``12min``, ``1h 30m``, ``5m30s``, ``45s``, ``2 hours``, ``~15 minutes``: the minutes (a
    bare number is minutes too); None when the text holds no duration."""
    found = read_duration(text)
    if found is None:
        return None
    value, unit_given = found
    return value / MINUTE if unit_given else value


def plan_files(folder: Path) -> list[Path]:
    """The folder's plan files, in plan order."""
    return sorted(
        (p for p in folder.iterdir() if p.is_file() and p.name.endswith(PLAN_SUFFIX)),
        key=lambda p: _order(p.name),
    )


def _order(name: str) -> tuple[tuple[int, ...], str]:
    found = _ID.match(name)
    if found is None:
        return (10**9,), name
    numbers = [int(n) for n in found.group("phase").split(".")] + [int(found.group("plan"))]
    return tuple(numbers), name


def _plan_id(name: str) -> str:
    stem = name[: -len(PLAN_SUFFIX)]
    found = _ID.match(stem)
    return f"{found.group('phase')}-{found.group('plan')}" if found else stem


def read_gsd(folder: Path, *, display: str, root: str, notes: list[str]) -> Import:
    """Read one phase folder (``display`` is how messages name it)."""
    drafts: list[Draft] = []
    warnings = list(notes)
    unknown: dict[str, list[str]] = {}
    for path in plan_files(folder):
        shown = f"{display}/{path.name}"
        plan_id = _plan_id(path.name)
        text = read_text(path, shown)
        if text is None:
            warnings.append(f"{shown}: {plan_id}: the file is empty; skipped")
            continue
        matter = read_front_matter(text, shown, needed=_NEEDED, task=plan_id)
        draft = Draft(source_id=plan_id, title=plan_id, where=f"{shown}:1")
        _front(draft, matter, shown, plan_id, warnings)
        for key in matter.fields:
            if key not in _KNOWN:
                unknown.setdefault(key, []).append(plan_id)
        _body(draft, matter, shown)
        summary = path.with_name(path.name[: -len(PLAN_SUFFIX)] + SUMMARY_SUFFIX)
        if summary.is_file():
            _summary(draft, summary, f"{display}/{summary.name}", warnings)
        drafts.append(draft)
    for key, plans in sorted(unknown.items()):
        warnings.append(f"unknown front-matter key '{key}' ignored ({join_ids(plans)})")
    return Import(
        format=SourceFormat.GSD,
        source=display,
        root=root,
        drafts=drafts,
        name=folder.name,
        scope="this phase folder",
        warnings=warnings,
        duration_unit=MINUTE if any(d.duration is not None for d in drafts) else None,
    )


def _lenient_warning(matter: FrontMatter, shown: str, plan_id: str) -> str:
    line = matter.problem_line if matter.problem_line is not None else 1
    return (
        f"{shown}:{line}: {plan_id}: the front matter is not valid YAML ({matter.problem}); "
        "read its fields leniently"
    )


def _front(
    draft: Draft, matter: FrontMatter, shown: str, plan_id: str, warnings: list[str]
) -> None:
    """Wave, dependencies, declared files and title from a plan's front matter."""
    if not matter.present:
        warnings.append(f"{shown}:1: {plan_id}: no front matter: no wave, dependencies or files")
        return
    if matter.lenient:
        warnings.append(_lenient_warning(matter, shown, plan_id))
    fields = matter.fields
    if "wave" not in fields:
        warnings.append(f"{shown}:1: {plan_id}: no 'wave' in the front matter")
    else:
        wave = whole_number(fields["wave"])
        if wave is None:
            warnings.append(
                f"{shown}:{matter.line('wave')}: {plan_id}: 'wave' is not a whole number "
                f"({fields['wave']!r}); ignored"
            )
        else:
            draft.wave, draft.wave_where = wave, f"{shown}:{matter.line('wave')}"
    phase = _ID.match(plan_id)
    for key in ("depends_on", "depends-on"):
        if key not in fields:
            continue
        where = f"{shown}:{matter.line(key)}"
        items, odd = text_list(fields[key])
        if odd:
            warnings.append(f"{where}: {plan_id}: '{key}' {odd}")
        for item in items:
            entry = dependency_entry(item)  # "04-01 (for the store)" names 04-01
            if entry is None:
                continue
            dep = re.sub(r"-PLAN(?:\.md)?$", "", entry)
            if dep.isdigit() and phase:  # a plan number of the same phase
                dep = f"{phase.group('phase')}-{dep.zfill(2)}"
            draft.depends.append((dep, where))
    for key in ("files_modified", "files-modified"):
        if key not in fields:
            continue
        where = f"{shown}:{matter.line(key)}"
        items, odd = text_list(fields[key])
        if odd:
            warnings.append(f"{where}: {plan_id}: '{key}' {odd}")
        draft.declare("files", items, where, warnings, whole=True)
    title = text_value(fields.get("title")) or text_value(fields.get("name"))
    if title:
        draft.title, draft.where = title, f"{shown}:{matter.line('title')}"


def _body(draft: Draft, matter: FrontMatter, shown: str) -> None:
    """Title (when the front matter has none), description, and the task blocks' files."""
    body = matter.body
    draft.description = "\n".join(line.rstrip() for line in body.strip().split("\n"))

    def line_at(offset: int) -> str:
        return f"{shown}:{matter.body_line + body.count(chr(10), 0, offset)}"

    if draft.title == draft.source_id:
        heading = _HEADING.search(body)
        objective = _OBJECTIVE.search(body)
        if heading:
            draft.title, draft.where = heading.group("text"), line_at(heading.start())
        elif objective and objective.group("text").strip():
            first = objective.group("text").strip().split("\n")[0].strip()
            draft.title, draft.where = first, line_at(objective.start("text"))
    for task in _TASK.finditer(body):
        for tag in _TAG.finditer(task.group("body")):
            if tag.group("tag") == "name":
                continue
            target = "files" if tag.group("tag") == "files" else "reads"
            offset = task.start("body") + tag.start("text")
            for raw in tag.group("text").split("\n"):
                for entry in list_entries(raw):
                    path = path_of_entry(entry)
                    if path:
                        draft.add(target, path, Origin.DECLARED, line_at(offset))
                offset += len(raw) + 1


def _summary(draft: Draft, path: Path, shown: str, warnings: list[str]) -> None:
    """A plan's SUMMARY: done, what it touched (observed writes) and how long it took."""
    draft.done, draft.done_where = True, f"{shown}:1"
    text = read_text(path, shown)
    if text is None:
        return
    matter = read_front_matter(
        text, shown, needed=("key-files", "duration", "metrics"), task=draft.source_id
    )
    if matter.lenient:
        warnings.append(_lenient_warning(matter, shown, draft.source_id))
    declared = {a.raw.strip().removeprefix("./") for a in draft.accesses if a.field == "files"}
    undeclared: list[str] = []
    first_line: int | None = None
    touched = matter.fields.get("key-files")
    if touched is not None and not isinstance(touched, dict):
        warnings.append(
            f"{shown}:{matter.line('key-files')}: {draft.source_id}: 'key-files' is not a "
            "mapping of 'created' and 'modified' lists; ignored"
        )
    if isinstance(touched, dict):
        for sub in ("created", "modified"):
            items, _ = text_list(touched.get(sub))
            line = matter.line("key-files", sub)
            for item in items:
                path_text = path_of_entry(item) or item
                draft.add("files", path_text, Origin.OBSERVED, f"{shown}:{line}")
                if path_text.removeprefix("./") not in declared and not _covered(
                    path_text, declared
                ):
                    undeclared.append(path_text)
                    first_line = first_line or line
    if undeclared:
        warnings.append(
            f"{shown}:{first_line}: {draft.source_id} touched files it did not declare: "
            + ", ".join(dict.fromkeys(undeclared))
        )
    duration = matter.fields.get("duration")
    where = f"{shown}:{matter.line('duration')}"
    metrics = matter.fields.get("metrics")
    if duration is None and isinstance(metrics, dict):
        duration = metrics.get("duration")
        where = f"{shown}:{matter.line('metrics', 'duration')}"
    text_duration = text_value(duration)
    if text_duration is not None:
        minutes = parse_minutes(text_duration)
        if minutes is None:
            warnings.append(
                f"{where}: {draft.source_id}: cannot read the duration {text_duration!r}; ignored"
            )
        else:
            draft.duration, draft.duration_where = minutes, where
            draft.duration_source = DurationSource.HISTORY


def _covered(path: str, declared: set[str]) -> bool:
    """Whether a declared directory covers the path."""
    return any(d.endswith("/") and path.startswith(d) for d in declared)

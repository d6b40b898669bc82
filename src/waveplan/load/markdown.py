"""Markdown plans in the seed article's style.

A task is a heading, bullet or line such as ``Task 2: Add event hook [depends: 1]``
(``- [x] Task 2: ...`` is done). Waves are sections opened by ``**Wave 2**``, ``## Wave 2`` or a
``Wave 2:`` line. Under a task, ``Files:``, ``Reads:``, ``Depends:``, ``Duration:`` and
``Status:`` lines declare fields; the rest is its description, and the file paths it mentions
(that the task does not declare) are inferred writes. Code blocks are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from waveplan.errors import PlanSyntaxError
from waveplan.load.frontmatter import read_front_matter, text_value
from waveplan.load.imported import Draft, Import, id_list
from waveplan.load.prose import find_paths, list_entries
from waveplan.model import DurationSource, Origin, SourceFormat
from waveplan.units import HOUR, read_duration

__all__ = ["DONE_WORDS", "parse_duration_hours", "read_markdown"]

_BOLD = re.compile(r"\*\*|__")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^(?P<indent>\s*)(?P<mark>[-*+]|\d+[.)])\s+(?P<text>.*)$")
_CHECK = re.compile(r"^\[(?P<check>[ xX])\]\s+(?P<text>.*)$")
# the id takes every dot that a word character follows (``1.2``), and no more (``Task 3. Title``)
_TASK = re.compile(
    r"^Task\s+(?P<id>[^\W_](?:[\w-]|\.(?=\w))*+)\s*(?:[:.)]|\s[-\u2013\u2014]|$)\s*"
    r"(?P<rest>.*)$",
    re.IGNORECASE,
)
_WAVE = re.compile(r"^Wave\s+(?P<n>\d+)(?=\s*(?:$|[:(\-\u2013\u2014]))", re.IGNORECASE)
_DEPENDS_TAG = re.compile(
    r"[\[(]\s*(?:depends(?:\s+on)?|deps|after|blocked\s+by)\s*:?\s*"
    r"(?P<ids>(?:[^\[\]()]|\([^()]*\))*)[\])]",  # a note in parentheses may sit inside
    re.IGNORECASE,
)
_FIELD = re.compile(
    r"^(?P<label>files|writes|reads|depends(?:\s+on)?|dependencies|duration|estimate|status)"
    r"\s*:\s*(?P<value>.*)$",
    re.IGNORECASE,
)
_FENCE = re.compile(r"^\s*(```|~~~)")
DONE_WORDS = frozenset({"done", "complete", "completed", "closed", "finished", "merged"})


def parse_duration_hours(text: str) -> tuple[float | None, bool]:
    """A duration such as ``2``, ``2h``, ``1h 30m``, ``30min`` or ``~3h``: the number (in
    hours when a unit is given, a day being 8 hours) and whether a unit was given."""
    found = read_duration(text)
    if found is None:
        return None, False
    value, unit_given = found
    return (value / HOUR, True) if unit_given else (value, False)


@dataclass
class _Line:
    number: int
    text: str  # without bold markers
    raw: str
    heading: int = 0  # heading level, 0 when not a heading
    indent: int = 0
    bullet: bool = False


@dataclass
class _Open:
    """The task being read, with the extent of its body."""

    draft: Draft
    heading: int
    indent: int
    bullet: bool
    body: list[_Line] = field(default_factory=list)


def _lines(text: str) -> list[_Line]:
    lines: list[_Line] = []
    fenced = False
    for number, raw in enumerate(text.split("\n"), start=1):
        if _FENCE.match(raw):
            fenced = not fenced
            continue
        if fenced:
            continue
        plain = _BOLD.sub("", raw.rstrip())
        heading = _HEADING.match(plain)
        if heading:
            lines.append(_Line(number, heading.group(2), raw, heading=len(heading.group(1))))
            continue
        bullet = _BULLET.match(plain)
        if bullet:
            lines.append(
                _Line(number, bullet.group("text"), raw, indent=len(bullet.group("indent")))
            )
            lines[-1].bullet = True
            continue
        lines.append(_Line(number, plain.strip(), raw, indent=len(plain) - len(plain.lstrip())))
    return lines


def _wave_marker(line: _Line) -> int | None:
    found = _WAVE.match(line.text)
    if found is None:
        return None
    stripped = line.raw.strip().lstrip("-*+ ").lstrip()
    if (
        line.heading
        or stripped.startswith(("**", "__"))
        or re.fullmatch(r"Wave\s+\d+\s*(?::.*|\(.*\)\s*:?)?", line.text, re.IGNORECASE)
    ):
        return int(found.group("n"))
    return None


def read_markdown(path: Path, text: str, *, display: str, root: str, infer: bool) -> Import:
    """Read a markdown plan; raise :class:`PlanSyntaxError` when it holds no task."""
    drafts: list[Draft] = []
    name: str | None = None
    if text.startswith("---\n"):  # front matter: its title names the plan; lines keep numbers
        try:
            matter = read_front_matter(text, display)
        except PlanSyntaxError:
            matter = None
        if matter is not None and matter.present:
            name = text_value(matter.fields.get("title"))
            text = "\n" * (matter.body_line - 1) + matter.body
    timed = False  # an estimate was written with a unit
    warnings: list[str] = []
    wave: int | None = None
    wave_where = ""
    wave_heading = 0  # the heading level that opened the wave; 7 for a bold line
    current: _Open | None = None
    for line in _lines(text):
        if name is None and line.heading == 1:
            name = line.text.strip() or None
        check = _CHECK.match(line.text) if line.bullet else None
        body_text = check.group("text") if check else line.text
        task = _TASK.match(body_text) if (line.heading or line.bullet or not line.indent) else None
        marker = None if task else _wave_marker(line)
        if current is not None and not task and marker is None and _in_body(current, line):
            current.body.append(line)
            continue
        if current is not None:
            timed |= _finish(current, display, infer, warnings)
            current = None
        if marker is not None:
            wave, wave_where = marker, f"{display}:{line.number}"
            wave_heading = line.heading or 7
            continue
        if line.heading and task is None and wave is not None and line.heading <= wave_heading:
            wave = None
        if task is None:
            continue
        rest = task.group("rest").strip()
        draft = Draft(
            source_id=task.group("id"),
            title=rest,
            where=f"{display}:{line.number}",
        )
        for tag in _DEPENDS_TAG.finditer(rest):
            draft.depends.extend((dep, draft.where) for dep in id_list(tag.group("ids")))
        draft.title = _DEPENDS_TAG.sub("", rest).strip().rstrip(":").strip() or draft.source_id
        if check and check.group("check") in "xX":
            draft.done, draft.done_where = True, draft.where
        if wave is not None:
            draft.wave, draft.wave_where = wave, wave_where
        drafts.append(draft)
        current = _Open(draft, line.heading, line.indent, line.bullet)
    if current is not None:
        timed |= _finish(current, display, infer, warnings)
    if not drafts:
        raise PlanSyntaxError(
            "no tasks found: expected lines such as 'Task 2: Add event hook [depends: 1]'",
            file=display,
        )
    return Import(
        format=SourceFormat.MARKDOWN,
        source=display,
        root=root,
        drafts=drafts,
        name=name,
        scope="the plan",
        warnings=warnings,
        duration_unit=HOUR if timed else None,  # one estimate with a unit: all are hours
    )


def _in_body(task: _Open, line: _Line) -> bool:
    """Whether ``line`` continues the task's body."""
    if line.heading:
        return bool(task.heading) and line.heading > task.heading
    if task.heading:
        return True
    if not line.text:
        return True
    if task.bullet:
        return line.indent > task.indent
    return not line.bullet or line.indent > task.indent


def _finish(task: _Open, display: str, infer: bool, warnings: list[str]) -> bool:
    """Read the fields of a task's body; the rest is its description. True when its
    estimate is written with a unit."""
    draft = task.draft
    timed = False
    prose: list[_Line] = []
    for line in task.body:
        found = _FIELD.match(line.text.strip())
        if found is None:
            prose.append(line)
            continue
        label = found.group("label").lower()
        value = found.group("value").strip()
        where = f"{display}:{line.number}"
        if label in ("files", "writes", "reads"):
            target = "reads" if label == "reads" else "files"
            draft.declare(target, list_entries(value), where, warnings)
        elif label.startswith("depend"):
            draft.depends.extend((dep, where) for dep in id_list(value))
        elif label in ("duration", "estimate"):
            hours, unit_given = parse_duration_hours(value)
            if hours is not None:
                draft.duration, draft.duration_where = hours, where
                timed = unit_given
                draft.duration_source = DurationSource.DECLARED
            else:
                warnings.append(
                    f"{where}: {draft.source_id}: cannot read the duration {value!r}; ignored"
                )
        elif label == "status" and value.lower().strip(" .`*") in DONE_WORDS:
            draft.done, draft.done_where = True, where
    while prose and not prose[-1].text:
        prose.pop()
    while prose and not prose[0].text:
        prose.pop(0)
    draft.description = _dedent([line.raw for line in prose])
    if infer:
        title_line = int(draft.where.rsplit(":", 1)[1])
        mentions = [(title_line, draft.title)] + [(line.number, line.text) for line in prose]
        for number, text in mentions:
            for path in find_paths(text):
                draft.add("files", path, Origin.INFERRED, f"{display}:{number}")
    return timed


def _dedent(lines: list[str]) -> str:
    widths = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    cut = min(widths, default=0)
    return "\n".join(line[cut:].rstrip() for line in lines).strip()

"""PSPLIB single-mode RCPSP files (``.sm``) as waveplan plans.

PSPLIB (Kolisch and Sprecher, 1996) is the standard benchmark library of resource-constrained
project scheduling. An ``.sm`` file lists jobs with their successors, one mode per job with its
duration (in periods) and its demand of each renewable resource, and the resources'
capacities. The mapping:

- each job becomes a task ``j<number>`` (``j2`` ... ``j31`` for a j30 instance) with the
  duration in periods and its successors as the dependents;
- the dummy source (the first job) and sink (the last job) are dropped when they are dummies
  (duration 0, no demand), so a task list holds only real work; a non-dummy first or last job
  is kept as an ordinary task;
- each renewable resource ``R 1`` becomes a counted resource ``R1`` with its capacity, and each
  non-zero demand a ``uses`` amount. Nonrenewable and doubly constrained resources, and
  multi-mode files, are refused.

Errors name the file, the line, the job and the field, like every other loader error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from waveplan.errors import PlanSyntaxError, PlanValidationError
from waveplan.model import Access, DurationSource, Mode, Plan, ResourceKind, Task, id_sort_key

__all__ = ["looks_like_psplib", "parse_psplib"]

_SECTIONS = ("PRECEDENCE RELATIONS:", "REQUESTS/DURATIONS:", "RESOURCEAVAILABILITIES:")
_COUNT = re.compile(r"^\s*jobs\s*\(incl\. supersource/sink\s*\)\s*:\s*(\d+)\s*$")
_RESOURCE_COUNT = re.compile(r"^\s*-\s*(renewable|nonrenewable|doubly constrained)\s*:\s*(\d+)")
_RESOURCE_NAME = re.compile(r"([RNDS])\s*(\d+)")


def looks_like_psplib(text: str) -> bool:
    """True when the text has the sections of a PSPLIB single-mode file."""
    head = text[:20_000]
    return all(section in head for section in _SECTIONS)


@dataclass
class _Lines:
    """The file's lines with their 1-based numbers, read front to back."""

    name: str
    lines: list[str]
    at: int = 0

    def error(
        self,
        message: str,
        line: int | None = None,
        *,
        task: str | None = None,
        field: str | None = None,
    ) -> PlanValidationError:
        return PlanValidationError(message, file=self.name, line=line, task=task, field=field)

    def find(self, title: str) -> int:
        """Move past the line starting with ``title``; return its number."""
        for number in range(self.at, len(self.lines)):
            if self.lines[number].strip().startswith(title):
                self.at = number + 1
                return number + 1
        raise PlanSyntaxError(f"no '{title}' section: not a PSPLIB .sm file", file=self.name)

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """The numeric rows of the current section, up to its closing line of stars."""
        while self.at < len(self.lines):
            text = self.lines[self.at]
            self.at += 1
            stripped = text.strip()
            if stripped.startswith("*"):
                return
            if not stripped or stripped.startswith("-") or not stripped[0].isdigit():
                continue
            yield self.at, stripped.split()


def _int(lines: _Lines, text: str, line: int, what: str, job: str | None = None) -> int:
    try:
        value = int(text)
    except ValueError:
        raise lines.error(
            f"expected a whole number for {what}, got {text!r}", line, task=job
        ) from None
    if value < 0:
        raise lines.error(f"{what} must be >= 0, got {value}", line, task=job)
    return value


def parse_psplib(text: str, *, name: str, root: str = ".") -> Plan:
    """Read a PSPLIB single-mode file into a :class:`~waveplan.model.Plan`."""
    lines = _Lines(name, text.splitlines())
    count = None
    kinds: dict[str, int] = {}
    for head in lines.lines[:200]:
        if head.strip().startswith(_SECTIONS[0]):
            break
        found = _COUNT.match(head)
        if found:
            count = int(found.group(1))
        kind = _RESOURCE_COUNT.match(head)
        if kind:
            kinds[kind.group(1)] = int(kind.group(2))
    if count is None:
        raise PlanSyntaxError(
            "no 'jobs (incl. supersource/sink )' line: not a PSPLIB .sm file", file=name
        )
    if count < 2:
        raise lines.error(f"{count} job(s): a PSPLIB file has at least a source and a sink")
    if kinds.get("nonrenewable", 0) or kinds.get("doubly constrained", 0):
        raise lines.error(
            "nonrenewable and doubly constrained resources are not supported "
            "(only renewable ones, which become counted resources)"
        )

    def job_id(job: int) -> str:
        return f"j{job}"

    def job_number(cells: list[str], line: int) -> int:
        job = _int(lines, cells[0], line, "the job number")
        if not 1 <= job <= count:
            raise lines.error(f"job {job} is not one of the {count} jobs the file declares", line)
        return job

    # Successors.
    lines.find(_SECTIONS[0])
    successors: dict[int, list[int]] = {}
    for line, cells in lines.rows():
        job = job_number(cells, line)
        where = job_id(job)
        if len(cells) < 3:
            raise lines.error("expected 'jobnr. #modes #successors successors'", line, task=where)
        if job in successors:
            raise lines.error("listed twice under PRECEDENCE RELATIONS", line, task=where)
        modes = _int(lines, cells[1], line, "the number of modes", where)
        if modes != 1:
            raise lines.error(
                f"{modes} modes: only single-mode files (.sm) are supported", line, task=where
            )
        declared = _int(lines, cells[2], line, "the number of successors", where)
        listed = [_int(lines, c, line, "a successor", where) for c in cells[3:]]
        if len(listed) != declared:
            raise lines.error(
                f"says {declared} successor(s) but lists {len(listed)}",
                line,
                task=where,
                field="successors",
            )
        for s in listed:
            if not 1 <= s <= count:
                raise lines.error(
                    f"unknown job {s} (jobs are 1..{count})", line, task=where, field="successors"
                )
            if s == job:
                raise lines.error(
                    "a job cannot succeed itself", line, task=where, field="successors"
                )
        successors[job] = listed

    # Durations and demands.
    header_line = lines.find(_SECTIONS[1])
    header = ""
    while lines.at < len(lines.lines):
        header = lines.lines[lines.at]
        lines.at += 1
        if header.strip():
            break
    resources = [f"R{n}" for kind, n in _RESOURCE_NAME.findall(header.split("duration", 1)[-1])]
    if not resources and "duration" not in header:
        raise lines.error("expected the 'jobnr. mode duration R 1 ...' header", header_line + 1)
    durations: dict[int, int] = {}
    demands: dict[int, list[int]] = {}
    for line, cells in lines.rows():
        job = job_number(cells, line)
        where = job_id(job)
        if len(cells) != 3 + len(resources):
            raise lines.error(
                f"expected job, mode, duration and {len(resources)} demand(s), "
                f"got {len(cells)} value(s)",
                line,
                task=where,
            )
        if job in durations:
            raise lines.error("listed twice under REQUESTS/DURATIONS", line, task=where)
        if cells[1] != "1":
            raise lines.error(
                f"mode {cells[1]}: only single-mode files (.sm) are supported", line, task=where
            )
        durations[job] = _int(lines, cells[2], line, "the duration", where)
        demands[job] = [
            _int(lines, c, line, f"the demand of {r}", where)
            for c, r in zip(cells[3:], resources, strict=True)
        ]

    # Capacities.
    lines.find(_SECTIONS[2])
    capacities: list[int] | None = None
    for line, cells in lines.rows():
        if len(cells) != len(resources):
            raise lines.error(
                f"expected {len(resources)} capacities, got {len(cells)}", line, field="capacity"
            )
        capacities = [
            _int(lines, c, line, f"the capacity of {r}")
            for c, r in zip(cells, resources, strict=True)
        ]
        break
    if capacities is None:
        raise lines.error("no capacities under RESOURCEAVAILABILITIES")

    for job in range(1, count + 1):
        if job not in successors:
            raise lines.error(f"job {job} has no PRECEDENCE RELATIONS row", task=job_id(job))
        if job not in durations:
            raise lines.error(f"job {job} has no REQUESTS/DURATIONS row", task=job_id(job))

    def dummy(job: int) -> bool:
        return durations[job] == 0 and not any(demands[job])

    dropped = {job for job in (1, count) if dummy(job)}
    depends: dict[int, list[int]] = {job: [] for job in range(1, count + 1)}
    for job, listed in successors.items():
        for s in listed:
            depends[s].append(job)
    used = [False] * len(resources)
    tasks: list[Task] = []
    for job in range(1, count + 1):
        if job in dropped:
            continue
        accesses = []
        for r, (resource, amount) in enumerate(zip(resources, demands[job], strict=True)):
            if not amount:
                continue
            if amount > capacities[r]:
                raise lines.error(
                    f"uses {amount} of '{resource}', above its capacity {capacities[r]}",
                    task=job_id(job),
                    field="uses",
                )
            used[r] = True
            accesses.append(Access(ResourceKind.COUNTED, resource, Mode.AMOUNT, amount))
        tasks.append(
            Task(
                id=job_id(job),
                title=job_id(job),
                depends=tuple(job_id(p) for p in sorted(depends[job]) if p not in dropped),
                accesses=tuple(accesses),
                duration=float(durations[job]),
                duration_source=DurationSource.DECLARED,
            )
        )
    tasks.sort(key=lambda t: id_sort_key(t.id))
    stem = name.replace("\\", "/").rsplit("/", 1)[-1]
    if stem.lower().endswith(".sm"):
        stem = stem[:-3]
    return Plan(
        tasks=tuple(tasks),
        name=stem or None,
        workers=None,
        capacities={r: c for r, c, u in zip(resources, capacities, used, strict=True) if u},
        root=root,
        source=name,
    )

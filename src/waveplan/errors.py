"""The exception tree of waveplan.

Every error a user can cause by what they write or type is a :class:`UserError`; the CLI prints
its one-line message and exits with its ``exit_code`` (2). Anything else is a bug and keeps
its traceback.

    WaveplanError
    ├── UserError                      exit 2, one line, no traceback
    │   ├── PlanError                  a plan file is unreadable or invalid
    │   │   ├── PlanSyntaxError        malformed YAML/JSON/TOML, binary or empty file
    │   │   └── PlanValidationError    a task or field is wrong (names the task and field)
    │   │       └── CycleError         dependencies form a cycle (carries the closed cycle)
    │   └── MissingExtraError          an optional extra (OR-Tools, Dask...) is not installed
    └── (bugs are plain exceptions)
"""

from __future__ import annotations

import re

__all__ = [
    "CONTROL",
    "CONTROL_CHARACTERS",
    "CycleError",
    "MissingExtraError",
    "PlanError",
    "PlanSyntaxError",
    "PlanValidationError",
    "UserError",
    "WaveplanError",
    "did_you_mean",
]


def did_you_mean(word: str, choices: tuple[str, ...] | list[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or nothing when none is close."""
    import difflib  # noqa: PLC0415 - only when there is a mistake to name

    by_case = [c for c in choices if c.casefold() == word.casefold()]
    close = by_case or difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


CONTROL_CHARACTERS = r"\x00-\x1f\x7f-\x9f"
"""Unicode's control characters (category Cc: C0, DEL and C1) as the ranges of a regular
expression's character class, for the patterns that add or leave out a few."""
CONTROL = re.compile(rf"[{CONTROL_CHARACTERS}]")
"""A control character: never in an id or a resource name."""
# control characters and line separators: a message quotes user text, and must stay one line
_UNPRINTABLE = re.compile(rf"[{CONTROL_CHARACTERS}\u2028\u2029]")


def _escape(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape").decode("ascii")


QUOTE_LIMIT = 60
"""Characters of a quoted value an error message shows: a message quoting a whole file (a
plan path that names /etc/passwd: "got the text '...'") stays one readable line."""
_LONG_QUOTE = re.compile(rf"(['\"])([^'\"\n]{{{QUOTE_LIMIT * 2},}})\1")


def _shorten(match: re.Match[str]) -> str:
    quote, text = match.group(1), match.group(2)
    return f"{quote}{text[:QUOTE_LIMIT]}...{quote} ({len(text):,} characters)"


class WaveplanError(Exception):
    """Base class of every exception waveplan raises on purpose."""


class UserError(WaveplanError):
    """A mistake in the user's input or invocation: reported in one line, exit code 2."""

    exit_code = 2


class PlanError(UserError):
    """A plan file is unreadable or invalid.

    The message is assembled from its parts so that every report names the same things in the
    same order: ``FILE[:LINE[:COL]]: task 'ID', field 'NAME': what is wrong``.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        task: str | None = None,
        field: str | None = None,
    ) -> None:
        self.reason = message
        self.file = file
        self.line = line
        self.column = column
        self.task = task
        self.field = field
        super().__init__(self._format())

    def _format(self) -> str:
        where = ""
        if self.file is not None:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        about = []
        if self.task is not None:
            about.append(f"task '{self.task}'")
        if self.field is not None:
            about.append(f"field '{self.field}'")
        subject = ", ".join(about) + ": " if about else ""
        reason = _LONG_QUOTE.sub(_shorten, self.reason)
        return _UNPRINTABLE.sub(_escape, f"{where}{subject}{reason}")


class PlanSyntaxError(PlanError):
    """The file cannot be parsed at all (malformed, binary, empty)."""


class PlanValidationError(PlanError):
    """The file parses but a task or field breaks the task-file contract."""


class CycleError(PlanValidationError):
    """Dependencies form a cycle; ``cycle`` is closed: its first and last ids are equal."""

    def __init__(self, cycle: list[str], *, file: str | None = None) -> None:
        self.cycle = cycle
        super().__init__(
            "dependency cycle: " + " -> ".join(cycle) + " (each task depends on the next)",
            file=file,
            task=cycle[0],
            field="depends",
        )


class MissingExtraError(UserError):
    """An optional feature needs a package that is not installed."""

    def __init__(self, feature: str, extra: str, module: str) -> None:
        self.feature = feature
        self.extra = extra
        self.module = module
        super().__init__(
            f"{feature} needs the '{module}' package: install it with "
            f"pip install 'waveplan[{extra}]'"
        )

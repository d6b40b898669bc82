"""Helpers shared by the commands: error lines, output destinations, terminal detection, the
``--format`` option."""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

import click

from waveplan.errors import UserError
from waveplan.units import MAX_SECONDS, parse_duration

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "FloatRange",
    "Seconds",
    "emit",
    "format_option",
    "print_error",
    "stdout_gone",
    "terminal_style",
]

FOLDER = click.Path(exists=True, file_okay=False)
"""An existing folder (``--root``): a mistyped one is a usage error, not a new folder."""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

F = TypeVar("F", bound=Callable[..., Any])


@contextlib.contextmanager
def handling(
    signals: Sequence[signal.Signals], handler: Callable[[int, FrameType | None], Any]
) -> Iterator[None]:
    """Handle these signals with ``handler`` inside the block, then restore the handlers
    there were. Only the main thread may set handlers: elsewhere (the CLI called from a
    thread) the block runs with the handlers as they are."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


_EXTENSIONS = {".json": "json", ".html": "html", ".htm": "html", ".mmd": "mermaid"}


def format_option(*choices: str, from_output: bool = False) -> Callable[[F], F]:
    """``--format`` (as ``fmt``) with these choices; the first is the default, or with
    ``from_output`` the one ``-o OUT``'s extension names (see :func:`output_format`)."""
    named = sorted(e for e, f in _EXTENSIONS.items() if f in choices and e != ".htm")
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices),
        default=None if from_output else choices[0],
        show_default=not from_output,
        help=f"Output format (default: as OUT ends, {', '.join(named)}; else {choices[0]})."
        if from_output
        else "Output format.",
    )


def output_format(fmt: str | None, output: str | None, choices: Sequence[str]) -> str:
    """The format asked for, else the one OUT's extension names (``-o plan.html`` writes
    HTML, not text in a .html file), else the first choice."""
    if fmt is not None:
        return fmt
    if output is not None:
        named = _EXTENSIONS.get(Path(output).suffix.lower())
        if named is not None and named in choices:
            return named
    return choices[0]


if TYPE_CHECKING:
    _FloatParam = click.ParamType[float]
else:  # generic only for type checkers in the click versions waveplan supports
    _FloatParam = click.ParamType


class FloatRange(click.FloatRange):
    """``click.FloatRange`` that refuses NaN: NaN is neither below nor above any bound, so
    click lets it through, and every comparison with it afterwards is false (a threshold of
    NaN keeps nothing). Float options use this or :class:`Seconds` (whose checks NaN fails),
    never click's own."""

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        number: float = super().convert(value, param, ctx)
        if math.isnan(number):
            self.fail(f"{value!r} is not a number", param, ctx)
        return number


class Seconds(_FloatParam):
    """An option in seconds: a number, or a duration with a unit (``90s``, ``10m``,
    ``1h 30m``); more than zero unless ``zero`` allows it."""

    name = "seconds"

    def __init__(self, *, zero: bool = False) -> None:
        self.zero = zero

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = float(value)
        else:
            try:
                seconds = parse_duration(str(value))[0]
            except ValueError as exc:
                self.fail(f"{value!r} is not a duration: {exc}", param, ctx)
        if not (seconds > 0 or (self.zero and seconds == 0)):
            self.fail(f"{value!r} must be more than 0{' or 0' if self.zero else ''}", param, ctx)
        if seconds > MAX_SECONDS:
            self.fail(f"{value!r} is too large (at most {MAX_SECONDS:.0e} seconds)", param, ctx)
        return seconds


def print_error(message: str) -> None:
    """One ``ERROR:`` line on standard error."""
    click.echo(f"ERROR: {message}", err=True)


def terminal_style() -> tuple[int, bool]:
    """Width and whether to use colour for standard output."""
    tty = sys.stdout.isatty()
    color = tty and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
    width = shutil.get_terminal_size((100, 24)).columns if tty else 100
    return max(width, 60), color


def emit(text: str, output: str | None, *, reads: str | None = None) -> None:
    """Print ``text``, or write it to ``output`` atomically (never a half-written file).

    ``reads`` is the file the command read its plan from: an output naming it (however
    spelled) is refused rather than overwriting the plan. A symbolic link is written through
    (it keeps pointing at the new text), and what is not a regular file (``/dev/stdout``, a
    named pipe) is written to as it is, never replaced."""
    if output is None or output == "-":
        try:
            click.echo(text, nl=False)
        except BrokenPipeError:  # the reader went away (``| head``): nothing left to say
            stdout_gone()
        except OSError as exc:  # a full disk, a closed descriptor...
            stdout_gone()
            raise UserError(f"standard output: cannot write ({exc.strerror or exc})") from None
        return
    if not output:  # Path("") is the current folder
        raise UserError("-o is empty: give a file name, or - for standard output")
    target = Path(output)
    if target.is_dir():
        raise UserError(f"{output}: is a folder; give a file name to -o")
    folder = target.parent
    if not folder.is_dir():
        raise UserError(f"{output}: folder {str(folder)!r} does not exist")
    if reads is not None and target.exists() and _same_file(target, Path(reads)):
        raise UserError(f"{output}: is the plan this command reads; give another file to -o")
    try:
        if target.exists() and not target.is_file():  # a device, a named pipe
            with target.open("w", encoding="utf-8") as handle:
                handle.write(text)
        else:
            _write_atomically(Path(os.path.realpath(target)), text)
    except OSError as exc:  # a read-only folder, a full disk...
        raise UserError(f"{output}: cannot write ({exc.strerror or exc})") from None


def _same_file(one: Path, other: Path) -> bool:
    try:
        return one.samefile(other)
    except OSError:
        return False


def _write_atomically(target: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``target``, then rename it into place."""
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        # mkstemp creates the file for its owner only; give it the mode a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        Path(temporary).replace(target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def stdout_gone() -> None:
    """Point standard output at /dev/null once its reader has gone (``waveplan run ... |
    head``): what is left to print is dropped, and the run goes on to record its end."""
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)

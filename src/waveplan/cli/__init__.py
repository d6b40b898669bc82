"""The command line: the only code that reads argv, prints, and maps errors to exit codes.

Exit codes: 0 success; 1 a task failed; 2 invalid input or usage; 130 interrupted.
Nothing imports this package; ``main(argv)`` is the entry point for the console script,
``python -m waveplan`` and the tests.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType

import click

from waveplan import __version__
from waveplan.cli.common import EXIT_INTERRUPTED, EXIT_USAGE, handling, print_error
from waveplan.errors import UserError

__all__ = ["cli", "entry", "main"]

COMMANDS = {
    "plan": ("waveplan.cli.plan", "plan_command"),
    "run": ("waveplan.cli.run", "run_command"),
    "convert": ("waveplan.cli.convert", "convert_command"),
    "report": ("waveplan.cli.report", "report_command"),
    "history": ("waveplan.cli.report", "history_command"),
    "check-merge": ("waveplan.cli.checkmerge", "check_merge_command"),
    "clean": ("waveplan.cli.clean", "clean_command"),
    "infer": ("waveplan.cli.infer", "infer_command"),
}
"""Each subcommand and where it is defined: a command's module (and what it needs: the
planner, the runner, Rich, Dask...) is imported only when that command runs, so a short
command does not pay for the others at start-up."""


class _Commands(click.Group):
    """The subcommands, imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = COMMANDS.get(cmd_name)
        if found is None:
            return None
        module, name = found
        command = getattr(importlib.import_module(module), name)
        assert isinstance(command, click.Command)
        return command


@click.group(
    cls=_Commands,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="waveplan")
def cli() -> None:
    """Plan and run tasks in dependency waves that respect file, state and test conflicts."""


def _interrupted(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    SIGTERM and SIGHUP stop a command as Ctrl-C does (exit 130, partial outputs removed);
    while ``run`` runs tasks it handles all three itself, to stop the run cleanly."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        with handling((signal.SIGTERM, signal.SIGHUP), _interrupted):
            result = cli.main(args=args, prog_name="waveplan", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.UsageError as exc:  # one line, as every other error
        where = exc.ctx.command_path if exc.ctx is not None else "waveplan"
        print_error(f"{exc.format_message()} (see '{where} --help')")
        return EXIT_USAGE
    except click.ClickException as exc:
        exc.show()
        return EXIT_USAGE if exc.exit_code == 2 else int(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        print_error("interrupted")
        return EXIT_INTERRUPTED
    except UserError as exc:
        print_error(str(exc))
        return exc.exit_code
    return result if isinstance(result, int) else 0


def entry() -> None:
    """The console script: run, flush, and leave without tearing the heap down.

    Freeing a large plan object by object takes longer than some whole commands; the operating
    system reclaims the memory at once. Files are closed by the commands themselves.
    """
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

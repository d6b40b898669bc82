"""``waveplan check-merge BRANCH...``: predict textual conflicts between branches without
merging them (``git merge-tree``), pair by pair, and against ``--into``."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import click

from waveplan.cli.common import EXIT_FAILED, EXIT_OK, FOLDER, emit, format_option
from waveplan.errors import UserError
from waveplan.run.git import Prediction, find_repository, predict_merge

__all__ = ["check_merge_command"]


def _line(prediction: Prediction) -> str:
    pair = f"{prediction.ours} + {prediction.theirs}: "
    if prediction.unrelated:
        return pair + "no common history (git refuses to merge them)"
    if prediction.conflicts:
        return pair + "conflict: " + ", ".join(prediction.conflicts)
    if prediction.overlap:
        return pair + "file overlap, merges cleanly (" + ", ".join(prediction.overlap) + ")"
    return pair + "clean"


@click.command("check-merge")
@click.argument("branches", nargs=-1, required=True, metavar="BRANCH...")
@click.option(
    "--into",
    metavar="BRANCH",
    help="Also check each branch against this one (the integration branch).",
)
@format_option("text", "json")
@click.option(
    "--root", metavar="DIR", type=FOLDER, help="A folder of the repository (default: here)."
)
def check_merge_command(
    branches: tuple[str, ...], into: str | None, fmt: str, root: str | None
) -> int:
    """Predict, without merging, whether BRANCHes merge with each other (and into --into):
    clean, file overlap that merges cleanly, conflict, or no common history. Exit 1 when any
    pair conflicts or has no common history."""
    folder = Path(root or ".")
    repo = find_repository(folder)
    if repo is None:
        raise UserError(f"{folder.absolute()} is not in a git repository")
    names = list(dict.fromkeys(branches))
    for name in [*names, *([into] if into else [])]:
        if repo.rev(name) is None:
            raise UserError(f"no branch or commit '{name}' in {repo.toplevel()}")
    pairs = list(itertools.combinations(names, 2))
    if into is not None:
        pairs = [(into, name) for name in names if name != into] + pairs
    if not pairs:
        raise click.UsageError("give two branches, or one with --into")
    predictions = [predict_merge(repo, ours, theirs) for ours, theirs in pairs]
    if fmt == "json":
        text = json.dumps(
            [
                {
                    "branches": [p.ours, p.theirs],
                    "verdict": p.verdict,
                    "overlap": list(p.overlap),
                    "conflicts": list(p.conflicts),
                }
                for p in predictions
            ],
            indent=2,
        )
        emit(text + "\n", None)
    else:
        emit("".join(_line(p) + "\n" for p in predictions), None)
    return EXIT_FAILED if any(p.fails for p in predictions) else EXIT_OK

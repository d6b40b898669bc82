"""How well history predicts the files a change also touches (issue 10).

Replays a commit history in order. For each commit, the first of its files (in the order the
history lists them) is "declared", and the files it is "likely also touched" with are predicted
from the commits before it only, by :class:`waveplan.infer.CoChangeIndex` (the code
``waveplan infer`` runs); the prediction is compared with the commit's other files. Then the
commit is added to the index.

Input: ``../shared/data/history/flask.jsonl`` (one JSON object per line, oldest first, with
``files``) when present, or the file or git repository given as argument (a repository is read
with the same ``git log`` call as the product).

Figures, per threshold:

* micro precision = correct predictions / predictions, micro recall = correct predictions /
  other files of all commits;
* macro precision = mean over commits with a prediction of that commit's precision, macro
  recall = mean over commits with other files of that commit's recall;
* coverage = share of the commits with other files that got any prediction.

Baseline, in the same run: predict the other files of the latest earlier commit that changed
the declared file ("last co-change").

Usage: ``python bench/infer_history.py [HISTORY.jsonl | REPO] [--min-support N]
[--max-files N] [--limit N] [--thresholds 0.2,0.3,...]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from waveplan.infer import CoChangeIndex, Commit
from waveplan.infer.cochange import LIMIT, MAX_FILES, MIN_SUPPORT, RECENT
from waveplan.infer.repo import Repository

DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "history"


@dataclass
class Score:
    """Running counts for one predictor."""

    predicted: int = 0
    actual: int = 0
    correct: int = 0
    precisions: list[float] = field(default_factory=list)
    recalls: list[float] = field(default_factory=list)
    with_others: int = 0
    covered: int = 0

    def add(self, predicted: set[str], actual: set[str]) -> None:
        hit = len(predicted & actual)
        self.predicted += len(predicted)
        self.actual += len(actual)
        self.correct += hit
        if predicted:
            self.precisions.append(hit / len(predicted))
        if actual:
            self.with_others += 1
            self.recalls.append(hit / len(actual))
            if predicted:
                self.covered += 1

    def row(self) -> tuple[float, float, float, float, float]:
        def share(a: float, b: float) -> float:
            return a / b if b else 0.0

        return (
            share(self.correct, self.predicted),
            share(self.correct, self.actual),
            share(sum(self.precisions), len(self.precisions)),
            share(sum(self.recalls), len(self.recalls)),
            share(self.covered, self.with_others),
        )


def load(source: Path) -> tuple[str, list[Commit]]:
    """Commits, oldest first, from a JSON-lines history or a git repository."""
    if source.is_dir():
        commits = Repository.open(source).log(max_commits=1_000_000)
        if not commits:
            sys.exit(f"{source}: not a git repository with commits")
        return f"git log of {source}", commits
    commits = []
    with source.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                entry = json.loads(line)
                commits.append(Commit(str(entry.get("commit", "")), tuple(entry["files"])))
    return str(source), commits


Predictor = Callable[[CoChangeIndex, dict[str, tuple[str, ...]], str], set[str]]
"""(index of earlier commits, latest earlier commit of each file, declared file) -> files."""


def replay(
    commits: Sequence[Commit], max_files: int, predictors: dict[str, Predictor]
) -> tuple[dict[str, Score], dict[str, Score]]:
    """Score each predictor over the history (every prediction sees earlier commits only):
    over all commits, and over the commits that changed more than one file."""
    index = CoChangeIndex(max_files)
    last: dict[str, tuple[str, ...]] = {}
    scores = {name: Score() for name in predictors}
    multi = {name: Score() for name in predictors}
    for commit in commits:
        if commit.files:
            declared = commit.files[0]
            actual = set(commit.files[1:]) - {declared}
            for name, predict in predictors.items():
                predicted = predict(index, last, declared)
                scores[name].add(predicted, actual)
                if actual:
                    multi[name].add(predicted, actual)
        index.add(commit.files)
        for file in commit.files:
            last[file] = commit.files
    return scores, multi


def co_change(threshold: float, min_support: int, limit: int, recent: int | None) -> Predictor:
    """What ``waveplan infer`` predicts for one declared file."""

    def predict(index: CoChangeIndex, _: dict[str, tuple[str, ...]], declared: str) -> set[str]:
        found = index.predict(
            [declared], threshold=threshold, min_support=min_support, limit=limit, recent=recent
        )
        return {c.file for c in found}

    return predict


def last_cochange(_: CoChangeIndex, last: dict[str, tuple[str, ...]], declared: str) -> set[str]:
    """The baseline: the other files of the latest earlier commit that changed the file."""
    return set(last.get(declared, ())) - {declared}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT / "flask.jsonl")
    parser.add_argument("--min-support", type=int, default=MIN_SUPPORT)
    parser.add_argument("--max-files", type=int, default=MAX_FILES)
    parser.add_argument("--limit", type=int, default=LIMIT)
    parser.add_argument(
        "--recent", type=int, default=RECENT, help="latest commits counted per file (0: all)"
    )
    parser.add_argument(
        "--thresholds", default="0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1.0", help="comma list"
    )
    args = parser.parse_args(argv)
    if not args.source.exists():
        sys.exit(f"{args.source}: no such file or folder (give a history file or a repository)")
    name, commits = load(args.source)
    thresholds = [float(t) for t in args.thresholds.split(",")]
    predictors: dict[str, Predictor] = {
        f"co-change >= {t:.2f}": co_change(t, args.min_support, args.limit, args.recent or None)
        for t in thresholds
    }
    predictors["baseline: last co-change"] = last_cochange

    started = time.perf_counter()
    scores, multi_scores = replay(commits, args.max_files, predictors)
    seconds = time.perf_counter() - started

    multi = sum(1 for c in commits if len(c.files) > 1)
    print(f"history: {name}")
    print(
        f"{len(commits):,} commits ({multi:,} with more than one file); declared: each "
        f"commit's first file; min support {args.min_support}; commits of more than "
        f"{args.max_files} files left out of the index; at most {args.limit} predictions; "
        f"the latest {args.recent or 'all'} commits of the declared file counted"
    )
    print(f"replayed in {seconds:.2f} s ({len(predictors)} predictors)\n")
    header = ("predictor", "P micro", "R micro", "P macro", "R macro", "coverage")
    for title, table in (
        ("all commits", scores),
        ("commits that changed more than one file", multi_scores),
    ):
        print(title)
        print(f"{header[0]:<26}" + "".join(f"{h:>10}" for h in header[1:]))
        for label, score in table.items():
            print(f"{label:<26}" + "".join(f"{v:>10.3f}" for v in score.row()))
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

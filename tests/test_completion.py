"""Shell completion: task ids from the plan on the command line, run ids from the history,
files for PATH. Driven as the shells drive it, through ``_WAVEPLAN_COMPLETE``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from waveplan.cli import main

PLAN = (
    "tasks:\n"
    "  - {id: setup, title: Prepare the database}\n"
    "  - {id: api, depends: [setup]}\n"
    "  - {id: ui, depends: [setup], run: 'true'}\n"
)


def complete(folder: Path, words: str, shell: str = "bash") -> list[str]:
    """What waveplan offers for the last of ``words`` (a command line up to the cursor)."""
    env = {
        **os.environ,
        "_WAVEPLAN_COMPLETE": f"{shell}_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split(" ")) - 1),
    }
    result = subprocess.run(
        [sys.executable, "-m", "waveplan"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [line for line in result.stdout.splitlines() if line]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "plan.yaml").write_text(PLAN, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("command", ["plan", "run"])
def test_task_ids_of_the_plan_are_offered(folder: Path, command: str) -> None:
    assert complete(folder, f"waveplan {command} plan.yaml ") == [
        "plain,api",
        "plain,setup",
        "plain,ui",
    ]
    assert complete(folder, f"waveplan {command} plan.yaml s") == ["plain,setup"]


def test_ids_given_already_are_not_offered_again_and_titles_are_the_help(folder: Path) -> None:
    """zsh shows each id's title (a task without one shows none)."""
    assert complete(folder, "waveplan run plan.yaml ui ", shell="zsh") == [
        "plain",
        "api",
        "_",
        "plain",
        "setup",
        "Prepare the database",
    ]


def test_a_plan_that_cannot_be_read_offers_nothing(folder: Path) -> None:
    (folder / "broken.yaml").write_text("tasks: [\n", encoding="utf-8")
    assert complete(folder, "waveplan run missing.yaml ") == []
    assert complete(folder, "waveplan run broken.yaml ") == []


def test_path_completes_as_a_file(folder: Path) -> None:
    """PATH is a file: the shell completes it (bash gets the ``file`` type to do so)."""
    assert complete(folder, "waveplan plan pl") == ["file,pl"]


def test_report_offers_the_recorded_runs(
    folder: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert complete(folder, "waveplan report ") == []  # no history yet
    monkeypatch.chdir(folder)
    assert main(["run", "plan.yaml", "-q", "ui"]) == 0
    capsys.readouterr()
    offered = complete(folder, "waveplan report ", shell="zsh")
    assert len(offered) == 3
    assert offered[0] == "plain"
    assert offered[2] == "succeeded, plan.yaml"
    assert complete(folder, f"waveplan report {offered[1][:8]}") == [f"plain,{offered[1]}"]
    assert complete(folder, "waveplan report nothing-like-it") == []

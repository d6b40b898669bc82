"""The HTML pages in a real browser: Debian's Chromium, headless, driven by Playwright.

Playwright never downloads a browser here: it launches the system ``chromium`` (``.ci/run``
installs it with apt-get). Each page is opened from a ``file://`` URL while every request,
console message, page error and dialog is recorded. Screenshots go to ``test-output/``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from test_render_html import big_plan
from waveplan.cli import main
from waveplan.load import load_plan, parse_plan_text
from waveplan.render.html import plan_html
from waveplan.schedule import analyse

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "test-output"
SEED_EXAMPLE = ROOT / "examples" / "git-workflow.yaml"
INJECTION = "<img src=x onerror=alert(1)>"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str:
    """Debian's Chromium; the tests fail (not skip) without it, since CI installs it."""
    found = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(found).exists():
        pytest.fail("chromium is not installed (apt-get install chromium; .ci/run does it)")
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the module."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Opened:
    """A page loaded from a file, with everything it did while loading and after."""

    page: Page
    url: str
    requests: list[str] = field(default_factory=list)
    console: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture
def open_file(browser: Browser) -> Iterator[Any]:
    """Open a file in a fresh page (1600x1000) and record its requests, console, errors and
    dialogs; pages are closed after the test."""
    pages: list[Page] = []

    def opener(path: Path) -> Opened:
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        pages.append(page)
        opened = Opened(page, path.resolve().as_uri())
        page.on("request", lambda request: opened.requests.append(request.url))
        page.on("console", lambda message: opened.console.append((message.type, message.text)))
        page.on("pageerror", lambda error: opened.errors.append(str(error)))

        def dialog(shown: Any) -> None:
            opened.dialogs.append(shown.message)
            shown.dismiss()

        page.on("dialog", dialog)
        page.goto(opened.url, wait_until="load")
        return opened

    yield opener
    for page in pages:
        page.close()


def assert_quiet(opened: Opened) -> None:
    """Only the document itself was requested; no console errors or warnings; no page error;
    no dialog."""
    assert opened.requests == [opened.url]
    assert [m for m in opened.console if m[0] in ("error", "warning")] == []
    assert opened.errors == []
    assert opened.dialogs == []


def write_page(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_seed_plan_page_loads_offline_with_one_bar_per_task(tmp_path: Path, open_file: Any) -> None:
    """The seed page loads from file:// without requests or console errors, has a Gantt bar
    per task, and a screenshot of it is written to test-output/seed-plan.png."""
    path = write_page(tmp_path, "plan.html", plan_html(analyse(load_plan(SEED_EXAMPLE))))
    opened = open_file(path)
    page = opened.page
    assert page.locator("svg.gantt rect.bar[data-task]").count() == 7
    assert page.locator("[data-task]").count() == 7
    assert page.locator("svg.graph").count() == 2
    assert page.get_by_role("heading", name="Speedup").is_visible()
    assert page.get_by_text("Split src/git-workflow-enforcer.ts so that").is_visible()
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "seed-plan.png"), full_page=True)
    assert (OUTPUT / "seed-plan.png").stat().st_size > 10_000
    assert_quiet(opened)


def test_hovering_a_bar_shows_its_tooltip_and_highlights_its_dependencies(
    tmp_path: Path, open_file: Any
) -> None:
    """Pointing at t4's bar shows its title, duration, resources and why it waited, and marks
    t1 (its dependency) in the graph and the Gantt chart."""
    path = write_page(tmp_path, "plan.html", plan_html(analyse(load_plan(SEED_EXAMPLE))))
    opened = open_file(path)
    page = opened.page
    tip = page.locator("#tip")
    assert tip.is_hidden()
    page.hover('svg.gantt [data-task="t4"]')
    assert tip.is_visible()
    text = tip.inner_text()
    assert "t4: Add commit limit enforcement" in text
    assert "duration: 1" in text
    assert "resources: src/git-workflow-enforcer.ts (write)" in text
    assert "waited: 2 for src/git-workflow-enforcer.ts held by t2, t3" in text
    dependency = page.locator('svg.gantt [data-task="t1"]')
    assert "dep" in (dependency.get_attribute("class") or "").split()
    assert page.locator('g.node.dep[data-ref="t1"]').count() == 2
    assert page.locator('g.node.dep[data-ref="t2"]').count() == 0
    page.mouse.move(1, 1)
    assert tip.is_hidden()
    assert page.locator("svg .dep").count() == 0
    assert_quiet(opened)


def test_pointing_at_a_conflict_highlights_its_tasks(tmp_path: Path, open_file: Any) -> None:
    """The chip of the shared file marks the three tasks that write it."""
    path = write_page(tmp_path, "plan.html", plan_html(analyse(load_plan(SEED_EXAMPLE))))
    opened = open_file(path)
    page = opened.page
    page.hover('.chip[data-conflict="0"]')
    marked = page.locator("svg.gantt .bar.conf")
    assert sorted(marked.nth(n).get_attribute("data-task") or "" for n in range(3)) == [
        "t2",
        "t3",
        "t4",
    ]
    assert marked.count() == 3
    assert_quiet(opened)


def test_injected_title_shows_as_text_and_never_runs(tmp_path: Path, open_file: Any) -> None:
    """A plan named and titled with an img onerror payload: no dialog, no img element, and
    the text is visible as written, in the heading and in the tooltip."""
    plan = parse_plan_text(
        json.dumps(
            {
                "name": INJECTION,
                "tasks": [
                    {"id": "x", "title": INJECTION, "files": ["a.py"]},
                    {"id": "y", "title": "</script><script>alert(2)</script>", "depends": ["x"]},
                ],
            }
        ),
        name="evil.json",
    )
    opened = open_file(write_page(tmp_path, "evil.html", plan_html(analyse(plan))))
    page = opened.page
    assert page.locator("img").count() == 0
    assert page.locator("h1").inner_text() == INJECTION
    page.hover('svg.gantt [data-task="x"]')
    assert page.locator("#tip .tip-head").inner_text() == f"x: {INJECTION}"
    page.hover('svg.gantt [data-task="y"]')
    assert page.locator("#tip .tip-head").inner_text() == "y: </script><script>alert(2)</script>"
    assert page.locator("img").count() == 0
    assert page.evaluate("document.scripts.length") == 2
    assert_quiet(opened)


def test_two_thousand_task_page_stays_usable(tmp_path: Path, open_file: Any) -> None:
    """2,000 tasks: the page loads, every task has its bar, the graph is summarised, and a
    tooltip still appears."""
    text = plan_html(analyse(big_plan()))
    opened = open_file(write_page(tmp_path, "big.html", text))
    page = opened.page
    assert page.locator("svg.gantt rect.bar[data-task]").count() == 2000
    assert page.locator("svg.summary").count() == 2
    page.hover('svg.gantt [data-task="t1500"]')
    assert page.locator("#tip .tip-head").inner_text().startswith("t1500: ")
    assert_quiet(opened)


PLAN_TO_RUN = """\
name: run page check
workers: 2
tasks:
  - id: prepare
    title: Prepare the workspace
    run: sleep 0.2
    duration: 0.2
    files: [src/app.py]
  - id: flaky
    title: Passes on the second try
    depends: [prepare]
    run: sh -c 'test "$WAVEPLAN_ATTEMPT" = 2 || exit 1'
    retries: 1
    files: [src/shared.py]
  - id: edit
    title: Also edits the shared file
    depends: [prepare]
    run: sleep 0.2
    duration: 0.2
    files: [src/shared.py]
  - id: broken
    title: Always fails
    depends: [prepare]
    run: sh -c 'exit 3'
  - id: after
    title: Needs the broken one
    depends: [broken]
    run: "true"
"""


def test_run_report_page_shows_planned_and_actual_bars(
    tmp_path: Path, open_file: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real run with a retry, a failure and a skip: its page loads offline, has one bar per
    task, draws every attempt, and the flaky task's tooltip lists both attempts."""
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN_TO_RUN, encoding="utf-8")
    assert main(["run", str(plan), "--keep-going", "--retry-delay", "0", "--quiet"]) == 1
    target = tmp_path / "run.html"
    assert main(["report", "--root", str(tmp_path), "--format", "html", "-o", str(target)]) == 0
    capsys.readouterr()
    opened = open_file(target)
    page = opened.page
    assert page.locator("svg.gantt rect.bar[data-task]").count() == 5
    assert page.locator("svg.gantt .att.a-failed").count() == 2
    assert page.locator('svg.gantt .bar.st-skipped[data-task="after"]').count() == 1
    page.hover('svg.gantt [data-task="flaky"]')
    text = page.locator("#tip").inner_text()
    assert "flaky: Passes on the second try" in text
    assert "attempt 1: failed, exit code 1" in text
    assert "attempt 2: succeeded, exit code 0" in text
    page.mouse.move(1, 1)
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "run-report.png"), full_page=True)
    assert_quiet(opened)

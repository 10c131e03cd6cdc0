"""Real-browser test: on Models & jobs, "Run a demo job" shows the job progressing live, then succeeding."""

from __future__ import annotations

import re

import pytest

from tests.fixtures.app_server import needs_chromium
from tests.fixtures.browser import SHOTS
from tests.fixtures.browser import wait_idle as _wait_idle
from tests.ui.test_browser import app_url  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, needs_chromium]


def test_demo_job_progresses_live(app_url: str, browser) -> None:  # noqa: F811 - fixtures
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{app_url}/models-jobs", wait_until="domcontentloaded")
    _wait_idle(page)
    page.get_by_role("button", name=re.compile("Run a demo job")).click()
    main = page.locator('[data-testid="stMain"]')
    # The job's progress bar (details) refreshes on its own: its step counter moves without any click.
    bar = main.locator('[data-testid="stProgress"]', has_text=re.compile(r"step \d+ of 20"))
    bar.first.wait_for(timeout=60_000)
    first = bar.first.inner_text()
    page.wait_for_function(
        """(t) => [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stProgress"]')]
            .some(e => /step \\d+ of 20/.test(e.innerText) && e.innerText !== t)""",
        arg=first,
        timeout=30_000,
    )
    page.screenshot(path=str(SHOTS / "models-jobs-running.png"), full_page=True)
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("1 running, 0 queued").wait_for(timeout=15_000)  # the sidebar block refreshes itself
    main.locator('[data-testid="stMarkdownContainer"]', has_text="succeeded").first.wait_for(timeout=60_000)
    page.screenshot(path=str(SHOTS / "models-jobs-done.png"), full_page=True)
    assert not page.locator('[data-testid="stException"]').count()

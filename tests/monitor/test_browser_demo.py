"""Real browser, real model (slow): the analyst's first run — 'Start demo stream' scores the sample tweets with
the embedded sentiment model in the running app and the dashboard renders, planted spike and alert included."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.app_server import CHROMIUM, CHROMIUM_ARGS, needs_chromium, running_app
from tests.fixtures.browser import SHOTS
from tests.fixtures.browser import wait_idle as _wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_chromium]


def test_demo_stream_with_the_embedded_model(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with running_app(tmp_path / "data") as url, sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = b.new_page(viewport={"width": 1400, "height": 1800})
        page.goto(f"{url}/sentiment", wait_until="domcontentloaded")
        _wait_idle(page)
        page.get_by_role("button", name="Start demo stream").click()
        page.wait_for_selector("text=Sentiment over time", timeout=300_000)
        page.wait_for_selector(".js-plotly-plot", timeout=60_000)
        _wait_idle(page)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "sentiment-demo.png"), full_page=True)
        assert page.locator("[data-testid='stException'], [data-testid='stAlertContentError']").count() == 0
        volume = page.locator("[data-testid='stMetricValue']").first.inner_text()
        assert int(volume.replace(",", "")) > 0
        b.close()

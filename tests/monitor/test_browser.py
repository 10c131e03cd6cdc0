"""Real browser: the Sentiment monitor page over a seeded monitor (scored with the fast fake), chart rendered,
a drill-down period, and 'Draft a reply' opening the Ad copy page with the brief filled in."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from tests.fixtures.app_server import CHROMIUM, CHROMIUM_ARGS, needs_chromium, running_app
from tests.fixtures.browser import SHOTS

pytestmark = [pytest.mark.browser, needs_chromium]


def _seed(fake_scorer) -> str:
    from aigc_core.monitor import alerts, scoring, store

    rows = []
    for day in range(10):
        for i in range(30):
            neg = i < (24 if day == 8 else 6)
            text = f"flight delayed, bag lost {day}-{i}" if neg else f"great crew, thanks {day}-{i}"
            rows.append({"t": f"2026-01-{day + 1:02d}T{i % 24:02d}:00:00Z", "text": text, "topic": "airline"})
    info, _ = store.create_monitor(
        "Browser check", mapping={"text": "text", "timestamp": "t", "topic": "topic"}, frame=pd.DataFrame(rows)
    )
    alerts.create_rule(info.id, "share_negative", 0.5, window="1D", min_volume=10, cooldown_s=0)
    run = scoring.score_pending(info.id)
    assert run.n_alerts == 1
    return info.id


def test_sentiment_page_in_a_browser(data_dir, fake_scorer) -> None:
    from playwright.sync_api import sync_playwright

    _seed(fake_scorer)
    with running_app(data_dir) as url, sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = b.new_page(viewport={"width": 1400, "height": 1600})
        page.goto(f"{url}/sentiment", timeout=120_000)
        page.wait_for_selector("text=Sentiment over time", timeout=120_000)
        page.wait_for_selector(".js-plotly-plot", timeout=60_000)
        assert page.locator("text=80% negative").count() >= 1  # banner (and log): 24 of 30 texts on 9 January
        assert page.locator("[data-testid='stException']").count() == 0
        assert page.locator("[data-testid='stMetricValue']").first.inner_text() == "300"
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "sentiment-dashboard.png"), full_page=True)
        page.get_by_role("button", name="Draft a reply").first.click()
        page.wait_for_selector("text=The brief was filled in", timeout=120_000)
        points, deadline = "", time.time() + 30
        while time.time() < deadline and "Acknowledge:" not in points:  # the page may still be rerunning
            points = page.get_by_label("Key points (one per line)").input_value()
            time.sleep(0.5)
        assert "Acknowledge:" in points and "Apologise for the trouble" in points
        audience = page.get_by_label("Audience").input_value()  # the complaint texts
        assert "bag lost" in points + audience
        assert page.locator("[data-testid='stException']").count() == 0
        b.close()

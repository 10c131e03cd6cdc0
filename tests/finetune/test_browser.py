"""Real browser: train a sentiment classifier from the Fine-tune page on the embedded MiniLM, watch the run in
the Runs tab until the worker finishes it, and find the new version in the model registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.app_server import CHROMIUM, CHROMIUM_ARGS, needs_chromium, running_app
from tests.fixtures.browser import SHOTS
from tests.fixtures.browser import wait_idle as _wait_idle

pytestmark = [pytest.mark.browser, needs_chromium]


def test_train_watch_and_register_in_a_browser(data_dir: Path, sentiment_frames) -> None:
    from playwright.sync_api import sync_playwright

    from aigc_core import data

    ds = data.create_dataset("tweets (browser)")
    train, val, test = sentiment_frames
    data.save_version(ds.id, kind="split", splits={"train": train, "validation": val, "test": test},
                      roles={"text": "text", "label": "label"})  # fmt: skip
    with running_app(data_dir, {"AIGC_DEVICE": "cpu"}) as url, sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = b.new_page(viewport={"width": 1400, "height": 1500})
        page.goto(f"{url}/fine-tune", wait_until="domcontentloaded")
        _wait_idle(page)
        page.get_by_label("Name of the model version").fill("browser run")
        page.get_by_role("button", name="Train", exact=True).click()
        page.get_by_text("Queued run", exact=False).wait_for(timeout=120_000)
        page.get_by_role("tab", name="Runs").click()
        page.get_by_text("succeeded", exact=False).first.wait_for(timeout=240_000)  # the page polls every 3 s
        page.wait_for_selector(".js-plotly-plot", timeout=60_000)  # live curves of the finished run
        _wait_idle(page)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "fine-tune-run.png"), full_page=True)
        assert page.locator('[data-testid="stException"]').count() == 0
        # The registry tab is outside the polling fragment: it shows the new version only because the page
        # reran itself when the run finished.
        page.get_by_role("tab", name="Model registry").click()
        registry = page.locator('[role="tabpanel"]:visible')
        registry.get_by_text("browser run", exact=False).first.wait_for(state="attached", timeout=60_000)
        assert page.locator('[data-testid="stException"]').count() == 0
        b.close()

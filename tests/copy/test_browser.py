"""Real browser, real model (slow): the Ad copy page writes copy with the embedded SmolLM2-135M-Instruct."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fixtures.app_server import CHROMIUM, CHROMIUM_ARGS, ROOT, needs_chromium, running_app
from tests.ui.test_browser import SHOTS, _wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_chromium]


def _reuse_converted_model(data_dir: Path) -> None:
    """Point the fresh data dir at the repository's converted GGUF cache when there is one (saves ~60 s)."""
    src = ROOT / "data" / "cache" / "converted"
    if src.is_dir() and any(src.iterdir()):
        (data_dir / "cache").mkdir(parents=True, exist_ok=True)
        os.symlink(src, data_dir / "cache" / "converted")


def test_ad_copy_generates_with_the_embedded_model(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    data = tmp_path / "data"
    _reuse_converted_model(data)
    with running_app(data) as url, sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = b.new_page(viewport={"width": 1400, "height": 1400})
        page.goto(f"{url}/ad-copy", wait_until="domcontentloaded")
        _wait_idle(page)
        page.get_by_label("Product or brand").fill("AquaPure insulated bottle")
        page.get_by_label("Key points (one per line)").fill("Keeps drinks cold for 24 hours\nBPA-free steel")
        page.get_by_label("Audience").fill("hikers")
        page.get_by_role("button", name="Generate", exact=True).click()
        page.get_by_text("variants ·", exact=False).first.wait_for(timeout=300_000)  # first run converts the GGUF
        _wait_idle(page)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "ad-copy-generated.png"), full_page=True)
        caption = page.get_by_text("variants ·", exact=False).first.inner_text()
        assert "smollm2" in caption.lower() and "tokens/s" in caption
        assert page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]').count() == 0
        b.close()

"""Real-browser test: generate a gallery image with the tiny pipeline, build creatives from it on the Creatives
page and download the ZIP (screenshots in ``test-artifacts/screenshots/``)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.app_server import needs_chromium, running_app
from tests.fixtures.browser import SHOTS
from tests.fixtures.browser import wait_idle as _wait_idle

pytestmark = [pytest.mark.browser, needs_chromium]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, tiny_sd_pipeline_dir: Path) -> Iterator[str]:
    """The app started with the launcher on a fresh data dir, the tiny pipeline as the image model."""
    data = tmp_path_factory.mktemp("browser-creatives")
    with running_app(data, {"AIGC_TEXT_TO_IMAGE_MODEL": str(tiny_sd_pipeline_dir)}) as url:
        yield url


def test_build_creatives_from_a_gallery_image_and_download_the_zip(app_url: str, browser) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1100}, accept_downloads=True)
    page.goto(f"{app_url}/images", wait_until="domcontentloaded")
    _wait_idle(page)
    page.get_by_label("Prompt", exact=True).fill("a glass water bottle on moss")
    page.get_by_role("button", name="Generate", exact=True).click()
    page.get_by_text("seed", exact=False).first.wait_for(timeout=120_000)
    _wait_idle(page)

    page.goto(f"{app_url}/creatives", wait_until="domcontentloaded")
    _wait_idle(page)
    page.get_by_text("Type it", exact=True).click()
    _wait_idle(page)
    page.get_by_label("Headline", exact=True).fill("Cold water for 24 hours")
    page.get_by_label("Headline", exact=True).press("Control+Enter")
    _wait_idle(page)
    page.get_by_role("button", name="Build creatives", exact=True).click()
    button = page.get_by_role("button", name="Download 5 creatives as a ZIP (with manifest.json)")
    button.wait_for(timeout=120_000)
    _wait_idle(page)
    page.screenshot(path=str(SHOTS / "creatives-built.png"), full_page=True)
    assert page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]').count() == 0
    with page.expect_download(timeout=60_000) as info:
        button.click()
    data = Path(info.value.path()).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
    assert len([n for n in names if n.endswith(".png")]) == 5
    assert manifest["copy"]["headline"] == "Cold water for 24 hours"
    assert manifest["image"]["generation_id"] and manifest["image"]["settings"]["prompt"].startswith("a glass")

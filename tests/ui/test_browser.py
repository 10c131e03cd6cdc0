"""Real-browser test: start the app as a user would, open every page in Chromium, look for error boxes.

Screenshots go to ``test-artifacts/screenshots/`` for a person to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.app_server import needs_chromium, running_app
from tests.fixtures.browser import SHOTS
from tests.fixtures.browser import wait_idle as _wait_idle

PAGES = [
    ("", "AIGC Studio"),  # the default page lives at the root URL
    ("ad-copy", "Ad copy"),
    ("images", "Images"),
    ("sentiment", "Sentiment monitor"),
    ("data", "Data"),
    ("fine-tune", "Fine-tune"),
    ("models-jobs", "Models & jobs"),
]

pytestmark = [pytest.mark.browser, needs_chromium]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, tiny_sd_pipeline_dir: Path) -> Iterator[str]:
    """The app and its worker started with the README's launcher, on a free port and a fresh data dir.

    The Images page is pointed at the tiny random Stable Diffusion pipeline (no diffusion weights exist offline).
    """
    data = tmp_path_factory.mktemp("browser-data")
    with running_app(data, {"AIGC_TEXT_TO_IMAGE_MODEL": str(tiny_sd_pipeline_dir)}) as url:
        yield url


def test_every_page_opens_without_an_error(app_url: str, browser) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    problems = []
    for path, title in PAGES:
        page.goto(f"{app_url}/{path}", wait_until="domcontentloaded")
        _wait_idle(page)
        page.get_by_role("heading", name=title).first.wait_for(timeout=30_000)
        page.screenshot(path=str(SHOTS / f"{path or 'home'}.png"), full_page=True)
        # The shared frame (router sidebar) is there on every page, deep links on a fresh server included.
        sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
        if "Device:" not in sidebar or "Models & jobs" not in sidebar:
            problems.append(f"{path}: the router's sidebar is missing: {sidebar[:200]!r}")
        errors = page.locator(
            '[data-testid="stException"], [data-testid="stAlertContentError"], [role="dialog"]:has-text("not found")'
        )
        if errors.count():
            problems.append(f"{path}: {errors.first.inner_text()[:300]}")
    assert problems == []


def test_images_page_generates_an_image(app_url: str, browser) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    page.goto(f"{app_url}/images", wait_until="domcontentloaded")
    _wait_idle(page)
    page.get_by_label("Prompt", exact=True).fill("a glass water bottle on moss")
    page.get_by_role("button", name="Generate", exact=True).click()
    page.get_by_text("seed", exact=False).first.wait_for(timeout=120_000)
    _wait_idle(page)
    page.screenshot(path=str(SHOTS / "images-generated.png"), full_page=True)
    main = page.locator('[data-testid="stMain"]')
    assert main.locator("img").count() >= 1
    assert page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]').count() == 0

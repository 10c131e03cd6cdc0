"""Real browser: upload a CSV on the Data page, see how it was read, save it as a dataset."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.app_server import CHROMIUM, CHROMIUM_ARGS, needs_chromium, running_app
from tests.fixtures.browser import SHOTS
from tests.fixtures.browser import wait_idle as _wait_idle

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.browser, needs_chromium]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The app on a free port with a fresh data dir: (url, data dir)."""
    data = tmp_path_factory.mktemp("browser-upload")
    with running_app(data) as url:
        yield url, data


def test_upload_csv_and_save(app: tuple[str, Path], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    url, data = app
    csv = tmp_path / "reviews.csv"
    csv.write_bytes("review;stars\nGreat café, friendly staff;positive\nCold coffee again;negative\n".encode("cp1252"))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/data", wait_until="domcontentloaded")
        _wait_idle(page)
        page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(csv))
        _wait_idle(page)
        page.get_by_text("Read 2 rows").wait_for(timeout=30_000)
        body = page.locator('[data-testid="stMain"]').inner_text()
        assert "cp1252" in body and "semicolon" in body
        page.get_by_role("button", name="Save as a new dataset").click()
        _wait_idle(page)
        page.get_by_text("Saved reviews").first.wait_for(timeout=30_000)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "data_upload.png"), full_page=True)
        errors = page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]')
        assert errors.count() == 0, errors.first.inner_text()
        browser.close()
    assert any((data / "uploads").rglob("*reviews.csv"))

"""Real browser: build a knowledge base from an uploaded FAQ on the Support replies page, test the retrieval, draft
a reply and see it beside its numbered passages (embedded all-MiniLM; the tiny random LM writes the reply)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.app_server import CHROMIUM, CHROMIUM_ARGS, needs_chromium, running_app
from tests.fixtures.browser import SHOTS
from tests.fixtures.browser import wait_idle as _wait_idle
from tests.support.conftest import FAQ_CSV

pytestmark = [pytest.mark.browser, needs_chromium]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on a free port with a fresh data dir and the tiny LM."""
    from tests.copy.conftest import make_tiny_lm

    lm = make_tiny_lm(tmp_path_factory.mktemp("support-browser-lm"), context=1024)
    data = tmp_path_factory.mktemp("support-browser")
    with running_app(data, {"AIGC_TEXT_GENERATION_MODEL": str(lm)}) as url:
        yield url


def test_build_kb_ask_and_draft(app: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    faq = tmp_path / "faq.csv"
    faq.write_text(FAQ_CSV, encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1400})
        page.goto(f"{app}/support", wait_until="domcontentloaded")
        _wait_idle(page)
        page.get_by_label("Name", exact=True).fill("Help centre")
        page.get_by_role("button", name="Create").click()
        _wait_idle(page)
        page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(str(faq))
        _wait_idle(page)
        page.get_by_text("here, now (small files)").click()
        _wait_idle(page)
        page.get_by_role("button", name="Add and re-index").click()
        page.get_by_text("4 passages (ready)").wait_for(timeout=120_000)
        _wait_idle(page)
        page.get_by_label("Question", exact=True).fill("What will I pay for delivery?")
        page.get_by_test_id("stTabs").get_by_role("button", name="Search").click()
        _wait_idle(page)
        page.get_by_text("passage(s) in").wait_for(timeout=60_000)
        page.get_by_role("tab", name="Draft a reply").click()
        page.get_by_label("Ticket", exact=True).fill("How much is shipping to my house?")
        page.get_by_role("button", name="Draft reply").click()
        page.get_by_role("tabpanel", name="Draft a reply").get_by_text("Passages", exact=True).wait_for(timeout=180_000)
        _wait_idle(page)
        body = page.locator('[data-testid="stMain"]').inner_text()
        assert "[1]" in body and "faq.csv" in body
        assert "check before sending" in body or "ready to send" in body or "needs a person" in body
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "support_reply.png"), full_page=True)
        errors = page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]')
        assert errors.count() == 0, errors.first.inner_text()
        browser.close()

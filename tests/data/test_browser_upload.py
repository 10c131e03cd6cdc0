"""Real browser: upload a CSV on the Data page, see how it was read, save it as a dataset."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ui.test_browser import CHROMIUM, CHROMIUM_ARGS, SHOTS, _wait_idle

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (scripts/setup.sh test does it)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The app (Streamlit only) on a free port with a fresh data dir: (url, data dir)."""
    port = _free_port()
    data = tmp_path_factory.mktemp("browser-upload")
    env = {**os.environ, "AIGC_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1", "AIGC_OFFLINE": "true"}
    log = open(data / "app.log", "wb")  # noqa: SIM115 - closed in teardown
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    if proc.poll() is not None:
        log.close()
        pytest.fail(f"the app did not start:\n{(data / 'app.log').read_text(errors='replace')[-3000:]}")
    yield url, data
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    log.close()


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

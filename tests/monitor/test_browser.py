"""Real browser: the Sentiment monitor page over a seeded monitor (scored with the fast fake), chart rendered,
a drill-down period, and 'Draft a reply' opening the Ad copy page with the brief filled in."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-dev-shm-usage"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _seed(fake_scorer) -> str:
    from aigc_core.monitor import alerts
    from aigc_core.monitor import monitors as mon

    rows = []
    for day in range(10):
        for i in range(30):
            neg = i < (24 if day == 8 else 6)
            text = f"flight delayed, bag lost {day}-{i}" if neg else f"great crew, thanks {day}-{i}"
            rows.append({"t": f"2026-01-{day + 1:02d}T{i % 24:02d}:00:00Z", "text": text, "topic": "airline"})
    info, _ = mon.create_monitor(
        "Browser check", mapping={"text": "text", "timestamp": "t", "topic": "topic"}, frame=pd.DataFrame(rows)
    )
    alerts.create_rule(info.id, "share_negative", 0.5, window="1D", min_volume=10, cooldown_s=0)
    run = mon.score_pending(info.id)
    assert run.n_alerts == 1
    return info.id


def test_sentiment_page_in_a_browser(data_dir, fake_scorer) -> None:
    from playwright.sync_api import sync_playwright

    _seed(fake_scorer)
    port = _port()
    env = {**os.environ, "AIGC_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1", "AIGC_OFFLINE": "true"}
    log = open(data_dir / "app.log", "wb")  # noqa: SIM115 - closed below
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    cmd += ["--server.address", "127.0.0.1", "--server.headless", "true"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = b.new_page(viewport={"width": 1400, "height": 1600})
            page.goto(f"{url}/sentiment", timeout=120_000)
            page.wait_for_selector("text=Sentiment over time", timeout=120_000)
            page.wait_for_selector(".js-plotly-plot", timeout=60_000)
            assert page.locator("text=80% negative").count() >= 1  # banner (and log): 24 of 30 texts on 9 January
            assert page.locator("[data-testid='stException']").count() == 0
            assert page.locator("[data-testid='stMetricValue']").first.inner_text() == "300"
            page.get_by_role("button", name="Draft a reply").first.click()
            page.wait_for_selector("text=The brief was filled in", timeout=120_000)
            points, deadline = "", time.time() + 30
            while time.time() < deadline and "upset about" not in points:  # the page may still be rerunning
                points = page.get_by_label("Key points (one per line)").input_value()
                time.sleep(0.5)
            assert "upset about" in points and "bag lost" in points
            assert page.locator("[data-testid='stException']").count() == 0
            b.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()

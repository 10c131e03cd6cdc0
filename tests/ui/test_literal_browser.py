"""Real browser, Streamlit's own Markdown renderer: text escaped with ``pages._ui.literal`` (and ``code_span``)
shows as typed in every element that renders Markdown, and nothing it names is fetched or linked."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
import urllib.request

import pytest

from tests.fixtures.app_server import CHROMIUM, CHROMIUM_ARGS, ROOT, free_port, needs_chromium
from tests.ui.test_literal import PAYLOADS

pytestmark = [pytest.mark.browser, needs_chromium]
ELEMENTS = ("markdown", "caption", "info", "expander", "button", "progress", "popover")
SCRIPT = textwrap.dedent(
    """
    import sys

    sys.path.insert(0, {root!r})
    import streamlit as st

    from pages._ui import code_span, literal
    from tests.ui.test_literal import PAYLOADS

    for i, text in enumerate(PAYLOADS):
        st.markdown(literal(text))
        st.caption(literal(text))
        st.info(literal(text))
        with st.expander(literal(text)):
            st.write("body")
        st.button(literal(text), key=f"b{{i}}")
        st.progress(0.5, text=literal(text))
        with st.popover(literal(text)):
            st.write("body")
        st.markdown(code_span(text))
    st.toast(literal(PAYLOADS[0]))
    st.success("done")
    """
)


@pytest.fixture(scope="module")
def page_url(tmp_path_factory: pytest.TempPathFactory):
    script = tmp_path_factory.mktemp("literal") / "literal_app.py"
    script.write_text(SCRIPT.format(root=str(ROOT)))
    port = free_port()
    log = script.with_suffix(".log")
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while time.time() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        if proc.poll() is not None or time.time() >= deadline:
            pytest.fail(f"streamlit did not start:\n{log.read_text(errors='replace')[-3000:]}")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_escaped_text_renders_as_typed_and_loads_nothing(page_url: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1200, "height": 2000})
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_url, wait_until="domcontentloaded")
        page.get_by_text("done").wait_for(timeout=60_000)
        page.wait_for_timeout(1500)  # let images (if any were rendered) start loading
        main = page.locator('[data-testid="stMain"]')
        md = main.locator('[data-testid="stMarkdownContainer"]')
        assert main.locator("img").count() == 0
        assert md.locator("a").count() == 0  # no link, no autolinked URL, e-mail or www. address
        assert md.locator("h1, h2, h3, table, li, blockquote, strong, em, del, .katex").count() == 0
        assert main.locator('[data-testid="stMarkdownContainer"] [data-testid="stIconMaterial"]').count() == 0
        assert not [u for u in requests if "127.0.0.1:9" in u or u.startswith("http://x")]
        texts = [t.replace("\u200b", "") for t in md.all_inner_texts()]
        for payload in PAYLOADS:
            want = " ".join(payload.split())
            assert texts.count(want) >= len(ELEMENTS), (payload, [t for t in texts if want[:8] in t])
        codes = [t.replace("\u200b", "") for t in md.locator("code").all_inner_texts()]
        assert codes == [" ".join(p.split()) for p in PAYLOADS]
        toast = page.locator('[data-testid="stToast"]').first.inner_text().replace("\u200b", "")
        assert PAYLOADS[0] in toast
        browser.close()

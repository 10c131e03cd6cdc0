"""Real browser, issue 17: mark ad copy variants, build preference data, train the brand voice with DPO in the real
worker, then compare the new version blind against its base on the Feedback page.

The store is seeded with stored ad copy generations (generating with a real model would be slow, and a tiny random
model's output fails the copy checks). Three of them are marked in the browser on the Ad copy page's History tab
(used / thumbs down / thumbs up on one variant each); the other thirteen are seeded already marked, through the
engine, because clicking all 48 buttons would add about a minute. The three browser-marked briefs are checked to have
no pairs before the clicks and to be in the preference data after them.

Sign-in is off (as in tests/ui/test_browser.py): the app's user is the one-person "local" admin, who may pick a
folder as the base model. Screenshots (``feedback-*.png``) go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.feedback.conftest import BAD, GOOD, PRODUCTS  # texts in the tiny tokenizer's words
from tests.fixtures.app_server import needs_chromium, running_app
from tests.fixtures.browser import T, shot
from tests.fixtures.browser import idle as _idle
from tests.fixtures.browser import main as _main

pytestmark = [pytest.mark.browser, needs_chromium]

# Marked by clicking; the rest are seeded marked. Their names occur in no variant text, so a History search for
# one finds only it.
IN_BROWSER = ["shoes 0", "phone 0", "bakery 0"]
MARKS = {0: "used", 1: "down", 2: "up"}  # variant index -> the button clicked on it
BAD_ON_PAGE = '[data-testid="stException"], [data-testid="stAlertContentError"]'


@dataclass(frozen=True)
class Studio:
    url: str
    data_dir: Path
    browser_gids: dict[str, str]  # product -> generation id, for the generations marked in the browser


def _seed() -> dict[str, str]:
    """16 stored copy generations of 16 briefs (owned by the app's "local" user), three variants each; all but
    the IN_BROWSER ones marked used / down / up. Returns product -> id of the unmarked ones."""
    from aigc_core import feedback
    from aigc_core.copy.brief import Brief
    from aigc_core.store import Generation, init_store, session_scope

    init_store()
    unmarked: dict[str, str] = {}
    products = [f"{p} {k}" for k in range(2) for p in PRODUCTS]
    # the browser-marked ones last: newest, so they head the History list
    products = [p for p in products if p not in IN_BROWSER] + IN_BROWSER
    for n, product in enumerate(products):
        brief = Brief(product=product, key_points="quality\nfast delivery", channel="social_post", brand_kit="Acme")
        texts = [GOOD[n % 3], BAD[n % 2], GOOD[(n + 1) % 3]]
        with session_scope() as s:
            row = Generation(
                kind="copy", owner="local", model="tiny-lm", model_revision="r1", prompt=brief.as_text(),
                params={"temperature": 0.8, "top_p": 0.95}, seed=7,
                outputs=[{"text": t, "rating": 0, "favourite": False} for t in texts],
                meta={"brief": brief.model_dump()},
            )  # fmt: skip
            s.add(row)
            s.flush()
            gid = row.id
        if product in IN_BROWSER:
            unmarked[product] = gid
        else:
            for idx, action in MARKS.items():
                feedback.give_feedback(gid, idx, action)
        time.sleep(0.01)  # distinct created_at: a stable newest-first order
    return unmarked


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    """A fresh data dir with the seeded generations; the app and its worker (CPU, one job at a time) on it.
    The test process uses the same store."""
    from aigc_core.settings import reset_settings
    from aigc_core.store.db import dispose_engines

    data = tmp_path_factory.mktemp("feedback-ui") / "data"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIGC_DATA_DIR", str(data))
        mp.delenv("AIGC_DATABASE_URL", raising=False)
        reset_settings()
        try:
            gids = _seed()
            dispose_engines()  # the app's processes open their own connections
            with running_app(data, {"AIGC_DEVICE": "cpu", "AIGC_JOB_WORKERS": "1"}) as url:
                yield Studio(url, data, gids)
        finally:
            dispose_engines()
            reset_settings()


# Helpers ------------------------------------------------------------------------------------------


def _no_errors(page, where: str) -> None:
    errors = page.locator(BAD_ON_PAGE)
    assert errors.count() == 0, f"{where}: {errors.first.inner_text()[:500]}"


def _go(page, title: str) -> None:
    """Open a page through the sidebar navigation (same browser session)."""
    page.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()
    _main(page).get_by_role("heading", name=title).first.wait_for(timeout=T)
    _idle(page)


def _tab(page, name: str):
    page.get_by_role("tab", name=name).click()
    return page.locator('[role="tabpanel"]:visible')


def _pick(page, key: str, option: str) -> None:
    """Choose ``option`` in the selectbox ``key``. The page may still be moving (an expander opening, a fragment
    redrawing), so a click can miss the box: click again until the option list is open."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    box = page.locator(f".st-key-{key} input")
    wanted = page.get_by_role("option", name=option, exact=True)
    for _ in range(5):
        box.click()
        try:
            wanted.wait_for(timeout=2000)
            break
        except PlaywrightTimeout:  # the list did not open: try again
            page.keyboard.press("Escape")
    wanted.click()
    _idle(page)


def _set_number(page, key: str, value: str) -> None:
    box = page.locator(f".st-key-{key} input")
    box.fill(value)
    box.press("Enter")
    _idle(page)


def _wait_job(job_id: str, timeout_s: float = 240):
    from aigc_core import jobs
    from aigc_core.users.roles import SYSTEM

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        info = jobs.get(job_id, actor=SYSTEM)
        if info.finished:
            return info
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not finish: {jobs.log_tail(job_id, 30, actor=SYSTEM)}")


def _prompts(version_id: str) -> set[str]:
    from aigc_core import data as data_api

    return {p for split in ("train", "test") for p in data_api.load_version(version_id, split)["prompt"]}


# The test -----------------------------------------------------------------------------------------
def test_marks_train_and_compare_in_the_browser(studio: Studio, browser, tiny_causal_lm_dir: Path) -> None:
    from playwright.sync_api import expect

    from aigc_core import feedback, jobs
    from aigc_core.copy import history
    from aigc_core.feedback.dataset import preference_pairs
    from aigc_core.finetune import registry
    from aigc_core.store import session_scope
    from aigc_core.store.models import BlindComparison
    from aigc_core.users.roles import SYSTEM

    gids = studio.browser_gids
    assert preference_pairs([history.get_entry(g, actor=SYSTEM) for g in gids.values()]) == []  # unmarked yet

    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    page.set_default_timeout(T)
    try:
        page.goto(studio.url, wait_until="domcontentloaded")
        page.locator('[data-testid="stSidebarNav"]').wait_for(timeout=60_000)  # sign-in off: straight in
        _idle(page)

        # 1. Ad copy → History: find each unmarked generation, open it, mark used / 👎 / 👍.
        _go(page, "Ad copy")
        panel = _tab(page, "History")
        for product, gid in gids.items():
            search = panel.locator(".st-key-copy_hist_search input")
            search.fill(f"product: {product}")
            search.press("Enter")
            _idle(page)
            expanders = panel.locator('[data-testid="stExpander"]')
            expect(expanders).to_have_count(1)
            expect(expanders).to_contain_text(f"· {product} ·")
            expanders.locator("summary").click()
            prefix = f"copy_h_{gid}"
            for idx, action in MARKS.items():
                page.locator(f".st-key-{prefix}_{action}_{idx} button:visible").click()
                _idle(page)
                marked = page.locator(f'.st-key-{prefix}_{action}_{idx} [data-testid="stBaseButton-primary"]:visible')
                expect(marked).to_have_count(1)  # marked: the button turns primary
            expect(page.locator(f".st-key-{prefix}_used_0 button:visible")).to_contain_text("Used")
            _no_errors(page, f"Ad copy history {product}")
        shot(page, "feedback-marked")
        for gid in gids.values():
            v = history.get_entry(gid, actor=SYSTEM).variants
            assert (v[0].get("used"), v[1]["rating"], v[2]["rating"]) == (True, -1, 1), v
            events = feedback.list_feedback(gid, actor=SYSTEM)
            assert sorted(e.action for e in events) == ["down", "up", "used"]
            assert {e.owner for e in events} == {"local"}  # recorded as the app's user, i.e. by the clicks

        # 2. Feedback → Preference data: build the pairs.
        _go(page, "Feedback")
        panel = _tab(page, "Preference data")
        panel.locator(".st-key-fb_build button").click()
        _idle(page)
        built = panel.locator('[data-testid="stAlertContentSuccess"]', has_text="training pairs")
        built.wait_for(timeout=T)
        _no_errors(page, "Feedback build")
        shot(page, "feedback-built")
        version_id = built.inner_text().split("Saved dataset version ", 1)[1].split(":", 1)[0].strip()
        prompts = _prompts(version_id)
        for product in gids:  # the browser's marks are in the preference data
            assert any(p.startswith(f"Product: {product}\n") for p in prompts), (product, sorted(prompts)[:3])

        # 3. Fine-tune → Brand voice from preferences: tiny folder base, 1 epoch, train in the real worker.
        _go(page, "Fine-tune")
        page.locator('[data-testid="stExpander"] summary', has_text="Brand voice from preferences").click()
        _pick(page, "ft_pref_base", "custom…")
        base = page.locator(".st-key-ft_pref_base_custom input")
        base.fill(str(tiny_causal_lm_dir))
        base.press("Enter")
        _idle(page)
        name = page.locator(".st-key-ft_pref_name input")
        name.fill("brand voice from picks")
        name.press("Enter")
        _idle(page)
        _set_number(page, "ft_pref_epochs", "1")
        _set_number(page, "ft_pref_lr", "0.005")
        _set_number(page, "ft_pref_maxlen", "128")
        _set_number(page, "ft_pref_r", "4")
        page.locator(".st-key-ft_pref_train button").click()
        _idle(page)
        queued = page.locator('[data-testid="stAlertContentSuccess"]', has_text="Queued run")
        queued.wait_for(timeout=T)
        _no_errors(page, "Fine-tune train")
        shot(page, "feedback-queued")
        job_id = queued.inner_text().split("Queued run ", 1)[1].split(".", 1)[0].strip()
        info = _wait_job(job_id)
        assert info.status == "succeeded", jobs.log_tail(job_id, 40, actor=SYSTEM)
        train = info.params["train"]  # what was typed in the form reached the worker
        assert info.params["base_model"] == str(tiny_causal_lm_dir) and info.params["dataset_version_id"] == version_id
        assert (train["epochs"], train["max_length"], info.params["lora"]["r"]) == (1.0, 128, 4)
        version = registry.get_version(info.result["model_version_id"], actor=SYSTEM)
        assert version.dataset_version_id == version_id and version.has_adapter
        assert version.meta.get("base_path") and version.metrics["test"]["reward_accuracy"] is not None
        runs = _tab(page, "Runs")
        expect(runs).to_contain_text("succeeded", timeout=T)
        _no_errors(page, "Fine-tune runs")
        shot(page, "feedback-trained")

        # 4. Feedback → Blind comparison: the new version (A) against its base (B) on two briefs.
        _go(page, "Feedback")
        panel = _tab(page, "Blind comparison")
        short = version.id[:6]  # the version's name and id, A preselected, its base as B
        expect(panel.locator(".st-key-fb_cmp_a input")).to_have_value(f"brand voice from picks ({short})")
        expect(panel.locator(".st-key-fb_cmp_b input")).to_have_value(f"base model of brand voice from picks ({short})")
        _set_number(page, "fb_cmp_n", "2")
        page.locator(".st-key-fb_cmp_start button").click()
        _main(page).get_by_text("Pick the better answer").wait_for(timeout=60_000)
        _idle(page)
        _no_errors(page, "Feedback compare")
        shot(page, "feedback-compare")
        with session_scope() as s:  # the hidden sides, to pick A's answer every time
            row = s.query(BlindComparison).one()
            cmp_id, sides, models = row.id, [i["a_side"] for i in row.items], (row.model_a, row.model_b)
        assert len(sides) == 2 and models == (version.ref, f"base:{version.id}")
        for n, side in enumerate(sides):
            page.locator(f".st-key-fb_pick_{cmp_id}_{n}_{side} button").click()
            _idle(page)
        result = page.locator('[data-testid="stAlertContentSuccess"]', has_text="win rate of A")
        result.wait_for(timeout=T)
        text = result.inner_text()
        assert "A wins 2, B wins 0, ties 0: win rate of A 100%" in text, text
        assert "95% Wilson interval 34%–100%" in text, text
        expect(panel.locator('[data-testid="stDataFrame"]')).to_be_visible()  # the finished comparisons
        _no_errors(page, "Feedback compared")
        shot(page, "feedback-compared")

        stored = feedback.get_comparison(cmp_id, actor=SYSTEM)
        low, high = feedback.wilson_interval(2, 2)
        assert stored.complete and (stored.wins_a, stored.wins_b, stored.ties) == (2, 0, 0)
        assert stored.win_rate_a == 1.0
        assert stored.ci_low == pytest.approx(low) and stored.ci_high == pytest.approx(high)
        assert [c.id for c in feedback.list_comparisons(actor=SYSTEM)] == [cmp_id]
    except Exception:
        shot(page, "feedback-failure")  # what the page showed when it failed
        raise
    finally:
        ctx.close()

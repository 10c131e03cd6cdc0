"""Real browser, sign-in on, several people at once: each browser context is one person's session.

alice (admin), bob (editor) and vera (viewer) use the studio side by side. A fresh browser sees only the sign-in
page; bob sees none of alice's private work (her running job, her dataset) and cannot cancel it; vera may look but
not start work; alice sees and cancels her job, and the audit log has bob's refused attempt and alice's cancel.

Screenshots (``teams-*.png``) go to ``test-artifacts/screenshots/`` with the other browser tests'.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from tests.fixtures.app_server import needs_chromium, running_app
from tests.fixtures.browser import T, shot
from tests.fixtures.browser import idle as _idle
from tests.fixtures.browser import main as _main
from tests.fixtures.browser import sidebar as _sidebar

pytestmark = [pytest.mark.browser, needs_chromium]

PASSWORDS = {"alice": "alice-long-password", "bob": "bob-long-password", "vera": "vera-long-password"}
DATASET = "alice-private-reviews"
VIEWER_REFUSAL = "may look but not start work"


@dataclass(frozen=True)
class Studio:
    url: str
    data_dir: Path
    job_id: str


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    """A fresh data dir with alice (admin), bob (editor), vera (viewer), alice's private long demo job and
    private dataset; the app and its worker started on it with sign-in on. The test process uses the same store."""
    from aigc_core import jobs
    from aigc_core.data import versions
    from aigc_core.settings import reset_settings
    from aigc_core.store.db import dispose_engines
    from aigc_core.users import accounts
    from aigc_core.users.roles import SYSTEM, Actor, acting_as

    data = tmp_path_factory.mktemp("teams") / "data"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIGC_DATA_DIR", str(data))
        mp.setenv("AIGC_AUTH", "on")
        mp.delenv("AIGC_DATABASE_URL", raising=False)
        reset_settings()
        try:
            accounts.add_admin_cli("alice", PASSWORDS["alice"])
            accounts.add_user("bob", PASSWORDS["bob"], "editor", actor=SYSTEM)
            accounts.add_user("vera", PASSWORDS["vera"], "viewer", actor=SYSTEM)
            alice = Actor("alice", "admin")
            job_id = jobs.submit("demo.count", {"steps": 400, "seconds_per_step": 0.5}, actor=alice)
            with acting_as(alice):
                df = pd.DataFrame({"text": ["great bottle", "leaks a bit", "cold all day"], "label": [1, 0, 1]})
                versions.import_dataframe(DATASET, df, filename="reviews.csv")
                _private_copy_and_image()
            dispose_engines()  # the app's processes open their own connections
            with running_app(data, {"AIGC_AUTH": "on"}) as url:
                yield Studio(url, data, job_id)
        finally:
            dispose_engines()
            reset_settings()


COPY_PRODUCT = "AlicePrivateBottle"
IMAGE_PROMPT = "alice private lighthouse at dawn"


def _private_copy_and_image() -> None:
    """alice's private ad copy generation (History) and gallery image, made as alice."""
    import io

    from PIL import Image

    from aigc_core.images import gallery
    from aigc_core.store import Generation, session_scope

    with session_scope() as s:
        s.add(
            Generation(
                kind="copy", owner="alice", prompt=f"Product: {COPY_PRODUCT}",
                outputs=[{"text": f"{COPY_PRODUCT} keeps drinks cold for 24 hours."}],
                meta={"brief": {"product": COPY_PRODUCT, "key_points": "Cold 24 hours", "channel": "slogan"}},
            )
        )  # fmt: skip
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), "navy").save(buf, format="PNG")
    gallery.save_png(buf.getvalue(), {"prompt": IMAGE_PROMPT, "width": 64, "height": 64, "seed": 1})


# Helpers ------------------------------------------------------------------------------------------


def _open(browser, url: str):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    page.set_default_timeout(T)
    page.goto(url, wait_until="domcontentloaded")
    return ctx, page


def _sign_in(page, name: str) -> None:
    from playwright.sync_api import expect

    page.get_by_label("User name", exact=True).fill(name)
    page.get_by_label("Password", exact=True).fill(PASSWORDS[name])
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(_sidebar(page)).to_contain_text(re.compile(rf"Signed in:\s*{name}\s*·"), timeout=T)


def _go(page, title: str) -> None:
    """Open a page through the sidebar navigation (a reload would start a new, signed-out session)."""
    page.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()
    _main(page).get_by_role("heading", name=title).first.wait_for(timeout=T)
    _idle(page)


def _datasets_tab(page):
    """The Data page's "Datasets" tab, opened; its panel."""
    page.get_by_role("tab", name="Datasets").click()
    return page.locator('[role="tabpanel"]:visible')


def _wait_status(job_id: str, wanted: tuple[str, ...], timeout_s: float = 40) -> str:
    from aigc_core import jobs
    from aigc_core.users.roles import SYSTEM

    deadline = time.time() + timeout_s
    status = ""
    while time.time() < deadline:
        status = jobs.get(job_id, actor=SYSTEM).status
        if status in wanted:
            return status
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} stayed {status!r}, expected one of {wanted}")


# The test -----------------------------------------------------------------------------------------
def test_two_accounts_side_by_side_see_only_their_own_work(studio: Studio, browser) -> None:
    from playwright.sync_api import expect

    from aigc_core import jobs
    from aigc_core.errors import NotFoundError
    from aigc_core.users import audit
    from aigc_core.users.roles import SYSTEM, Actor

    url, job_id = studio.url, studio.job_id
    contexts = []
    try:
        # 1. A fresh browser: the sign-in page, nothing of the studio.
        ctx0, anon = _open(browser, url)
        contexts.append(ctx0)
        anon.get_by_label("User name", exact=True).wait_for(timeout=T)
        expect(anon.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
        body = anon.locator("body").inner_text()
        assert "Jobs:" not in body and "Models & jobs" not in body and "Signed in:" not in body
        assert anon.locator('[data-testid="stSidebarNav"]').count() == 0
        shot(anon, "teams-signin")

        # 2. alice and bob sign in at the same time, each in their own context.
        ctx_a, pa = _open(browser, url)
        ctx_b, pb = _open(browser, url)
        contexts += [ctx_a, ctx_b]
        _sign_in(pa, "alice")
        _sign_in(pb, "bob")
        _wait_status(job_id, ("running",))  # the worker picked alice's job up

        # alice sees her running job in the sidebar and on Models & jobs, with a Cancel button.
        expect(_sidebar(pa)).to_contain_text("Jobs: 1 running, 0 queued", timeout=T)
        expect(_sidebar(pa)).to_contain_text("Signed in: alice · admin")
        _go(pa, "Models & jobs")
        _main(pa).locator("code", has_text=job_id).first.wait_for(timeout=T)  # the picked job's details
        expect(pa.locator(f".st-key-mj_cancel_{job_id} button:visible")).to_be_enabled(timeout=T)
        expect(_main(pa)).to_contain_text("Owner: alice")
        shot(pa, "teams-alice")

        # 3. bob: none of it. The sidebar counts nothing, Models & jobs lists nothing, no Cancel button.
        expect(_sidebar(pb)).to_contain_text("Signed in: bob · editor")
        expect(_sidebar(pb)).to_contain_text("Jobs: none running", timeout=T)
        assert pb.locator('[data-testid="stSidebarNav"] a', has_text="Users").count() == 0  # no admin page
        _go(pb, "Models & jobs")
        _main(pb).get_by_text("No jobs yet.").wait_for(timeout=T)
        assert job_id not in _main(pb).inner_text()
        assert pb.locator('[class*="st-key-mj_cancel_"]').count() == 0
        expect(_sidebar(pb)).to_contain_text("Jobs: none running")
        shot(pb, "teams-bob")

        # ... nor alice's dataset on the Data page (alice does see it there).
        _go(pb, "Data")
        panel_b = _datasets_tab(pb)
        panel_b.get_by_text("No datasets yet.").wait_for(timeout=T)
        assert DATASET not in _main(pb).inner_text()
        shot(pb, "teams-bob-data")
        _go(pa, "Data")
        _datasets_tab(pa).get_by_text(DATASET).first.wait_for(timeout=T)
        shot(pa, "teams-alice-data")

        # ... nor her ad copy history or her gallery image (alice sees both).
        _go(pb, "Ad copy")
        pb.get_by_role("tab", name="History").click()
        _idle(pb)
        assert COPY_PRODUCT not in _main(pb).inner_text()
        shot(pb, "teams-bob-history")
        _go(pa, "Ad copy")
        pa.get_by_role("tab", name="History").click()
        _main(pa).get_by_text(COPY_PRODUCT).first.wait_for(timeout=T)
        _go(pb, "Images")
        pb.get_by_role("tab", name="Gallery").click()
        _main(pb).get_by_text("No images yet.").first.wait_for(timeout=T)
        assert IMAGE_PROMPT not in _main(pb).inner_text()
        shot(pb, "teams-bob-gallery")
        _go(pa, "Images")
        pa.get_by_role("tab", name="Gallery").click()
        _main(pa).get_by_text("1 image(s), newest first.").first.wait_for(timeout=T)
        shot(pa, "teams-alice-gallery")

        # ... and bob cannot cancel it through the engine either: to him the job does not exist.
        bob = Actor("bob", "editor")
        with pytest.raises(NotFoundError):
            jobs.cancel(job_id, actor=bob)
        with pytest.raises(NotFoundError):
            jobs.get(job_id, actor=bob)
        assert jobs.get(job_id, actor=SYSTEM).status == "running"
        assert not jobs.get(job_id, actor=SYSTEM).cancel_requested

        # 4. vera (viewer) in a third context may look but not start work: the demo button refuses.
        ctx_v, pv = _open(browser, url)
        contexts.append(ctx_v)
        _sign_in(pv, "vera")
        expect(_sidebar(pv)).to_contain_text("Signed in: vera · viewer")
        expect(_sidebar(pv)).to_contain_text("Jobs: none running", timeout=T)
        _go(pv, "Models & jobs")
        _main(pv).get_by_text("No jobs yet.").wait_for(timeout=T)
        pv.locator(".st-key-mj_demo button:visible").click()
        refusal = _main(pv).locator('[data-testid="stAlertContentError"]', has_text=VIEWER_REFUSAL)
        refusal.wait_for(timeout=T)
        assert "Your role (viewer)" in refusal.inner_text()
        shot(pv, "teams-vera")
        assert jobs.list_jobs(owner="vera", actor=SYSTEM) == []
        assert [j.id for j in jobs.list_jobs(actor=SYSTEM)] == [job_id]

        # 5. alice cancels her job on Models & jobs.
        _go(pa, "Models & jobs")
        cancel = pa.locator(f".st-key-mj_cancel_{job_id} button:visible")
        expect(cancel).to_be_enabled(timeout=T)
        cancel.click()
        assert _wait_status(job_id, ("cancelled",)) == "cancelled"
        expect(_main(pa)).to_contain_text("cancelled", timeout=T)
        expect(_sidebar(pa)).to_contain_text("Jobs: none running", timeout=T)
        shot(pa, "teams-alice-cancelled")

        # The audit log: bob's refused attempt on the job, vera's refused start and alice's cancel.
        events = audit.list_events(actor=SYSTEM)
        bob_denied = [e for e in events if e.actor == "bob" and e.object_id == job_id and not e.allowed]
        assert bob_denied and all(e.action.startswith("denied:") for e in bob_denied)
        assert any(e.actor == "vera" and e.action == "denied:create" and not e.allowed for e in events)
        cancels = [e for e in events if e.action == "job.cancel" and e.object_id == job_id]
        assert [(e.actor, e.allowed) for e in cancels] == [("alice", True)]
        assert {"alice", "bob", "vera"} <= {e.actor for e in events if e.action == "signin"}

        # ... which alice, as admin, reads on the Users page's "Audit log" tab.
        _go(pa, "Users")
        pa.get_by_role("tab", name="Audit log").click()
        who = pa.locator(".st-key-audit_who input")
        who.fill("bob")
        who.press("Enter")
        grid = pa.locator('[role="tabpanel"]:visible [data-testid="stDataFrame"]')
        grid.wait_for(timeout=T)
        expect(grid).to_contain_text("denied:read", timeout=T)
        shot(pa, "teams-alice-audit")
    finally:
        for ctx in contexts:
            ctx.close()


def test_viewer_cannot_start_ad_copy_generation(studio: Studio, browser) -> None:
    """vera (viewer) presses Generate on Ad copy: the page should refuse before any model work starts."""
    ctx, pv = _open(browser, studio.url)
    try:
        _sign_in(pv, "vera")
        _go(pv, "Ad copy")
        generate = pv.locator(".st-key-copy_generate button:visible")
        generate.wait_for(timeout=T)
        if generate.is_disabled():
            shot(pv, "teams-vera-adcopy")
            return
        pv.get_by_label("Product or brand", exact=True).fill("AquaPure insulated bottle")
        pv.get_by_label("Product or brand", exact=True).press("Enter")
        pv.wait_for_timeout(1000)
        generate.click()
        main = _main(pv)
        refusal = main.locator('[data-testid="stAlertContentError"]', has_text=VIEWER_REFUSAL)
        # refused before the model loads (the engine checks the role first; it used to fail after the whole run)
        refusal.wait_for(timeout=30_000)
        shot(pv, "teams-vera-adcopy")
        assert refusal.count() == 1
    finally:
        ctx.close()

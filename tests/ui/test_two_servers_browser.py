"""Two app servers, one store: what one server does, the other shows (issue #15 §2).

Two ``streamlit run app.py`` servers (scripts/serve.py) listen on two ports over the same data dir and the same
store: a fresh PostgreSQL schema when the test server answers (tests/fixtures/postgres.py), else the data dir's
SQLite file. No job worker runs, so the demo job stays queued until it is cancelled. bob (editor) signs in on
server A in one browser context and on server B in another: the job he starts on A shows on B with the same id and
status, he cancels it on B and A shows it cancelled; the brand kit he saves on A is listed and opens on B.

Screenshots (``a-*.png``, ``b-*.png``) go to the test's tmp dir.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures.app_server import needs_chromium, running_app
from tests.ui.test_teams_browser import PASSWORDS, T, _go, _idle, _main, _open, _sidebar, _sign_in

pytestmark = [pytest.mark.browser, needs_chromium]

USER = "bob"  # an editor: he sees only his own jobs, so B listing the job shows B knows who started it on A
KIT = "TwoServersKit"
VOICE = "Short sentences, saved on server A."


@dataclass(frozen=True)
class Servers:
    a: str
    b: str
    data_dir: Path
    store: str  # "postgresql" or "sqlite"


@pytest.fixture(scope="module")
def servers(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """Accounts alice (admin) and bob (editor) in a fresh store, then two app servers over it with sign-in on.
    The test process uses the same store (to read the job's id and status)."""
    from aigc_core.settings import reset_settings
    from aigc_core.store import init_store
    from aigc_core.store.db import dispose_engines
    from aigc_core.users import accounts
    from aigc_core.users.roles import SYSTEM
    from tests.fixtures import postgres

    data = tmp_path_factory.mktemp("two_servers") / "data"
    with contextlib.ExitStack() as stack, pytest.MonkeyPatch.context() as mp:
        try:
            server_url = request.getfixturevalue("pg_server_url")
        except pytest.skip.Exception:  # no PostgreSQL here: the servers share the data dir's SQLite store
            db_url = None
        else:
            db_url = stack.enter_context(postgres.temporary_schema(server_url, prefix="aigc_two_servers"))
        env = {"AIGC_DATA_DIR": str(data), "AIGC_AUTH": "on"}
        if db_url:
            env["AIGC_DATABASE_URL"] = db_url
        else:
            mp.delenv("AIGC_DATABASE_URL", raising=False)
        for name, value in env.items():
            mp.setenv(name, value)
        reset_settings()
        try:
            init_store()  # once, before both servers, as the launcher does
            accounts.add_admin_cli("alice", PASSWORDS["alice"])
            accounts.add_user(USER, PASSWORDS[USER], "editor", actor=SYSTEM)
            dispose_engines()
            with (
                running_app(data, env, worker=False, log_name="app-a.log") as a,
                running_app(data, env, worker=False, log_name="app-b.log") as b,
            ):
                yield Servers(a, b, data, "postgresql" if db_url else "sqlite")
        finally:
            dispose_engines()
            reset_settings()


def _shot(page, path: Path) -> None:
    page.wait_for_timeout(400)  # let the last deltas paint
    page.screenshot(path=str(path), full_page=True)


def _only_job(owner: str, timeout_s: float = 20) -> str:
    """The id of the one job ``owner`` has in the store (waits for the page's submit to land)."""
    from aigc_core import jobs
    from aigc_core.users.roles import SYSTEM

    deadline = time.time() + timeout_s
    while time.time() < deadline:
        rows = jobs.list_jobs(owner=owner, actor=SYSTEM)
        if rows:
            assert len(rows) == 1, [j.id for j in rows]
            return rows[0].id
        time.sleep(0.3)
    raise AssertionError(f"no job of {owner} reached the store")


def _brand_kit_tab(page):
    page.get_by_role("tab", name="Brand kit").click()
    panel = page.locator('[role="tabpanel"]:visible')
    panel.locator(".st-key-copy_kit_edit").wait_for(timeout=T)
    return panel


def test_a_job_and_a_brand_kit_from_server_a_show_on_server_b(servers: Servers, browser, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    from aigc_core import copy as copy_api
    from aigc_core import jobs
    from aigc_core.users import audit
    from aigc_core.users.roles import SYSTEM

    assert servers.a != servers.b
    # the store is the one picked: PostgreSQL leaves no SQLite file in the shared data dir
    assert (servers.data_dir / "aigc.db").exists() == (servers.store == "sqlite")
    assert jobs.list_jobs(actor=SYSTEM) == []
    ctx_a, pa = _open(browser, servers.a)
    ctx_b, pb = _open(browser, servers.b)
    try:
        # 1. On A: bob signs in and saves a brand kit on Ad copy ...
        _sign_in(pa, USER)
        _go(pa, "Ad copy")
        panel_a = _brand_kit_tab(pa)
        panel_a.locator(".st-key-copy_kit_name_new input").fill(KIT)
        panel_a.locator(".st-key-copy_kit_voice_new textarea").fill(VOICE)
        panel_a.locator(".st-key-copy_kit_name_new input").click()  # blur the text area: its value is sent
        _idle(pa)
        panel_a.locator(".st-key-copy_kit_save button").click()
        panel_a.get_by_text(f"Saved “{KIT}”.").wait_for(timeout=T)
        kit = copy_api.get_kit(KIT)
        assert (kit.voice, kit.owner) == (VOICE, USER)

        # ... then starts the demo job from Models & jobs: it is queued (no worker runs) and A stays on the page,
        # whose live view polls while the job is queued (leaving it then would race that poll).
        _go(pa, "Models & jobs")
        _main(pa).get_by_text("No jobs yet.").wait_for(timeout=T)
        pa.locator(".st-key-mj_demo button:visible").click()
        job_id = _only_job(USER)
        _main(pa).locator("code", has_text=job_id).first.wait_for(timeout=T)
        expect(_main(pa)).to_contain_text(f"demo.count · {job_id} · 🕓 queued", timeout=T)
        expect(_main(pa)).to_contain_text(f"Owner: {USER}")
        expect(_sidebar(pa)).to_contain_text("Jobs: 0 running, 1 queued", timeout=T)
        _shot(pa, tmp_path / "a-1-job-queued.png")

        # 2. On B (another process, another browser context): bob signs in again and sees the same job, queued.
        _sign_in(pb, USER)
        expect(_sidebar(pb)).to_contain_text("Jobs: 0 running, 1 queued", timeout=T)
        _go(pb, "Models & jobs")
        _main(pb).locator("code", has_text=job_id).first.wait_for(timeout=T)
        expect(_main(pb)).to_contain_text(f"demo.count · {job_id} · 🕓 queued", timeout=T)
        expect(_main(pb)).to_contain_text(f"Owner: {USER}")
        _shot(pb, tmp_path / "b-1-same-job-queued.png")

        # ... cancels it there: the store has it cancelled, and B says so.
        cancel = pb.locator(f".st-key-mj_cancel_{job_id} button:visible")
        expect(cancel).to_be_enabled(timeout=T)
        cancel.click()
        expect(_main(pb)).to_contain_text(f"demo.count · {job_id} · ⏹️ cancelled", timeout=T)
        expect(_sidebar(pb)).to_contain_text("Jobs: none running", timeout=T)
        info = jobs.get(job_id, actor=SYSTEM)
        assert (info.status, info.message) == ("cancelled", "Cancelled before it started")
        _shot(pb, tmp_path / "b-2-cancelled.png")

        # ... and finds the brand kit saved on A: listed in the picker, and it opens with A's voice.
        _go(pb, "Ad copy")
        panel_b = _brand_kit_tab(pb)
        panel_b.locator(".st-key-copy_kit_edit").click()
        pb.get_by_role("option", name=KIT).click()
        _idle(pb)
        expect(panel_b.locator(f".st-key-copy_kit_voice_{kit.id} textarea")).to_have_value(VOICE, timeout=T)
        expect(panel_b).to_contain_text(f"Owner: {USER}")
        _shot(pb, tmp_path / "b-3-brand-kit-from-a.png")

        # 3. Back on A: its next poll of the store finds the job cancelled by B and reruns the page, which says so;
        # opening the page again (a fresh run) shows the same.
        expect(_main(pa)).to_contain_text(f"demo.count · {job_id} · ⏹️ cancelled", timeout=T)
        expect(_sidebar(pa)).to_contain_text("Jobs: none running", timeout=T)
        _idle(pa)
        _go(pa, "Models & jobs")
        expect(_main(pa)).to_contain_text(f"demo.count · {job_id} · ⏹️ cancelled", timeout=T)
        assert pa.locator(f".st-key-mj_cancel_{job_id} button").count() == 0  # finished: no Cancel button
        expect(_sidebar(pa)).to_contain_text("Jobs: none running", timeout=T)
        _shot(pa, tmp_path / "a-2-cancelled-by-b.png")

        # The shared audit log has bob's cancel, and both sign-ins.
        events = audit.list_events(actor=SYSTEM)
        assert [(e.actor, e.allowed) for e in events if e.action == "job.cancel" and e.object_id == job_id] == [
            (USER, True)
        ]
        assert len([e for e in events if e.action == "signin" and e.actor == USER]) == 2
    except Exception:
        _shot(pa, tmp_path / "a-failed.png")
        _shot(pb, tmp_path / "b-failed.png")
        raise
    finally:
        ctx_a.close()
        ctx_b.close()

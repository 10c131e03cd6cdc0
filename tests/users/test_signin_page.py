"""The sign-in page through the real router (AppTest): first admin, sign-in, lock-out message, sign-out,
expiry, the Users page for admins only, and two users who do not see each other's jobs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from aigc_core import jobs
from aigc_core.users import accounts
from tests.users.conftest import PASSWORDS

ROOT = Path(__file__).resolve().parents[2]


def _app() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def _sign_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="signin_name").set_value(name)
    at.text_input(key="signin_password").set_value(password)
    at.button(key="signin_submit").click().run()
    assert not at.exception, at.exception
    return at


def _plain(text: str) -> str:
    """Rendered text without the Markdown escapes that keep user text literal."""
    return text.replace("\\", "").replace("\u200b", "")


def _sidebar(at: AppTest) -> str:
    return _plain(" ".join(m.value for m in at.sidebar.markdown))


def _errors(at: AppTest) -> str:
    return _plain(" ".join(e.value for e in at.error))


def test_fresh_install_asks_for_the_set_up_token(settings, monkeypatch) -> None:
    monkeypatch.setenv("AIGC_AUTH", "on")
    from aigc_core.settings import reset_settings

    reset_settings()
    at = _app()
    assert [s.value for s in at.subheader] == ["Create the first admin"]
    assert "python -m aigc_core.users add --admin NAME" in " ".join(m.value for m in at.markdown)
    assert not at.sidebar.markdown  # nothing of the studio before sign-in
    at.text_input(key="first_admin_token").set_value("guess")
    at.text_input(key="first_admin_name").set_value("alice")
    at.text_input(key="first_admin_password").set_value(PASSWORDS["alice"])
    at.text_input(key="first_admin_password2").set_value(PASSWORDS["alice"])
    at.button(key="first_admin_submit").click().run()
    assert "set-up token is not right" in _errors(at)
    at.text_input(key="first_admin_token").set_value(accounts.setup_token() or "")
    at.button(key="first_admin_submit").click().run()
    assert not at.exception, at.exception
    assert "`alice` · admin" in _sidebar(at)


def test_sign_in_wrong_then_right_then_sign_out(team) -> None:
    at = _app()
    assert [s.value for s in at.subheader] == ["Sign in"]
    _sign_in(at, "bob", "wrong-password-1")
    assert "Wrong user name or password" in _errors(at)
    _sign_in(at, "bob", PASSWORDS["bob"])
    assert "`bob` · editor" in _sidebar(at)
    at.button(key="sidebar_sign_out").click().run()
    assert [s.value for s in at.subheader] == ["Sign in"]


def test_session_expires(team) -> None:
    at = _sign_in(_app(), "bob", PASSWORDS["bob"])
    at.session_state["aigc_signed_in"] = {"name": "bob", "expires": time.time() - 1}
    at.run()
    assert [s.value for s in at.subheader] == ["Sign in"]
    assert any("expired" in _plain(i.value) for i in at.info)


def test_disabling_a_user_ends_their_session(team) -> None:
    at = _sign_in(_app(), "bob", PASSWORDS["bob"])
    accounts.set_disabled("bob", actor=team["alice"])
    at.run()
    assert [s.value for s in at.subheader] == ["Sign in"]


def test_users_page_is_for_admins_only(team) -> None:
    at = _sign_in(_app(), "alice", PASSWORDS["alice"])
    at.switch_page("pages/users.py").run()
    assert not at.exception, at.exception
    assert "bob" in list(at.dataframe[0].value["user"])
    bob = _sign_in(_app(), "bob", PASSWORDS["bob"])
    with pytest.raises(ValueError, match="Could not find a navigation page"):  # not in an editor's navigation
        bob.switch_page("pages/users.py")


def test_two_users_do_not_see_each_other_s_jobs(team) -> None:
    a_job = jobs.submit("demo.count", {"steps": 3}, actor=team["alice"])
    bob = _sign_in(_app(), "bob", PASSWORDS["bob"])
    assert "none running" in _sidebar(bob)  # alice's queued job is not counted for bob
    bob.switch_page("pages/models_jobs.py").run()
    assert not bob.exception, bob.exception
    shown = [str(v) for d in bob.dataframe for v in d.value.get("Job", [])] if bob.dataframe else []
    assert a_job not in shown
    alice = _sign_in(_app(), "alice", PASSWORDS["alice"])
    assert "1 queued" in _sidebar(alice)

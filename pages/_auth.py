"""Sign-in for every page: the first admin's set-up, name and password, single sign-on, sign-out."""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from aigc_core.users import accounts
from aigc_core.users.roles import Actor, set_actor_provider, set_current
from pages._ui import literal, show_error

SESSION_KEY = "aigc_signed_in"  # {"name": str, "expires": float}
ACTOR_KEY = "aigc_actor"  # the Actor checked at the start of the last full run of this session


def _session_actor() -> Actor | None:
    """The acting user of the browser session running this code (None outside a script run)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx() is None:
        return None
    return st.session_state.get(ACTOR_KEY)


set_actor_provider(_session_actor)


def _sso_configured() -> bool:
    """True when `.streamlit/secrets.toml` has an ``[auth]`` section for ``st.login``."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file
        return False


def _remember(actor: Actor) -> None:
    hours = accounts.get_settings().session_hours
    st.session_state[SESSION_KEY] = {"name": actor.name, "expires": time.time() + hours * 3600}


def sign_out() -> None:
    """Forget this browser's sign-in (and the identity provider's, with single sign-on)."""
    st.session_state.pop(SESSION_KEY, None)
    st.session_state.pop(ACTOR_KEY, None)
    set_current(None)
    if _sso_configured() and getattr(st.user, "is_logged_in", False):
        st.logout()


def _from_session() -> Actor | None:
    info: dict[str, Any] | None = st.session_state.get(SESSION_KEY)
    if not info:
        return None
    if time.time() > float(info.get("expires", 0)):
        st.session_state.pop(SESSION_KEY, None)
        st.session_state["aigc_signin_notice"] = "Your sign-in expired: sign in again."
        return None
    actor = accounts.session_user(str(info.get("name", "")))
    if actor is None:  # removed or disabled since
        st.session_state.pop(SESSION_KEY, None)
        st.session_state["aigc_signin_notice"] = "This account was disabled or removed."
    return actor


def _first_admin_form() -> None:
    st.subheader("Create the first admin")
    st.write(
        "Nobody has an account yet. The terminal that started the app printed a one-time set-up token "
        "(also: `python -m aigc_core.users setup-token`). Paste it here to create the first admin, "
        "or create one there with `python -m aigc_core.users add --admin NAME`."
    )
    with st.form("first_admin_form"):
        token = st.text_input("Set-up token", type="password", key="first_admin_token")
        name = st.text_input("Your user name", key="first_admin_name")
        pw = st.text_input("Password", type="password", key="first_admin_password")
        pw2 = st.text_input("Password again", type="password", key="first_admin_password2")
        if st.form_submit_button("Create admin and sign in", type="primary", key="first_admin_submit"):
            if pw != pw2:
                st.error("The two passwords differ.")
            else:
                try:
                    actor = accounts.create_first_admin(token, name, pw)
                except Exception as exc:
                    show_error(exc)
                else:
                    _remember(actor)
                    st.rerun()


def _password_form() -> None:
    with st.form("signin_form"):
        name = st.text_input("User name", key="signin_name")
        pw = st.text_input("Password", type="password", key="signin_password")
        if st.form_submit_button("Sign in", type="primary", key="signin_submit"):
            try:
                actor = accounts.authenticate(name, pw)
            except Exception as exc:
                show_error(exc)
            else:
                _remember(actor)
                st.rerun()
    st.caption("No account? Ask an admin of this studio to add you on the Users page.")


def _sso_sign_in() -> Actor | None:
    """The studio user of the identity provider's sign-in, or a button to sign in there."""
    if getattr(st.user, "is_logged_in", False):
        try:
            return accounts.sso_user(dict(st.user.to_dict()))
        except Exception as exc:
            show_error(exc)
            st.button("Sign out of single sign-on", key="sso_logout", on_click=st.logout)
            return None
    st.button("Sign in with your company account", key="sso_login", type="primary", on_click=st.login)
    return None


def signed_in_actor() -> Actor:
    """The acting user of this page run; shows the sign-in page and stops the run when nobody is signed in."""
    if not accounts.sign_in_required():
        return _act(accounts.local_actor())
    actor = _from_session()
    if actor is None and _sso_configured():
        actor = _sso_sign_in_if_logged_in()
    if actor is not None:
        return _act(actor)
    st.session_state.pop(ACTOR_KEY, None)
    set_current(None)
    st.title("AIGC Studio")
    notice = st.session_state.pop("aigc_signin_notice", None)
    if notice:
        st.info(literal(notice))
    if accounts.setup_token() is not None:
        _first_admin_form()
    else:
        st.subheader("Sign in")
        if _sso_configured():
            _sso_sign_in()
            st.divider()
        _password_form()
    st.stop()
    raise RuntimeError("unreachable")  # st.stop() ends the run


def _act(actor: Actor) -> Actor:
    st.session_state[ACTOR_KEY] = actor
    set_current(actor)
    return actor


def _sso_sign_in_if_logged_in() -> Actor | None:
    if not getattr(st.user, "is_logged_in", False):
        return None
    actor = _sso_sign_in()
    if actor is not None:
        _remember(actor)
    return actor

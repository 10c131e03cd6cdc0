"""The shared sidebar shown on every page: user, device, loaded models, running jobs."""

from __future__ import annotations

import streamlit as st

from pages._jobs_widgets import LIVE_EVERY
from pages._ui import code_span, guard, literal


@st.cache_data(ttl=15, show_spinner=False)
def _device_summary() -> tuple[str, str]:
    from aigc_core.devices import device_info

    info = device_info()
    return info.device, info.summary()


def _render_device() -> None:
    result = guard(_device_summary)
    if result is None:
        return
    device, summary = result
    st.markdown(f"**Device:** `{device}`")
    st.caption(summary)


def _models_block() -> None:
    from aigc_core.models.manager import get_manager

    manager = get_manager()
    rows = manager.loaded()
    st.markdown(f"**Models loaded:** {len(rows)}")
    for row in rows:
        cols = st.columns([4, 1])
        cols[0].caption(f"{row.task} · {literal(row.key)} · {row.dtype} · {row.size_gb:.2f} GB")
        unload_help = f"Unload {literal(row.key)}"
        if cols[1].button("", icon=":material/eject:", key=f"sidebar_unload_{row.id}", help=unload_help):
            guard(manager.unload, row.id)
            st.rerun()
    if rows and st.button("Unload all models", key="sidebar_unload_all", icon=":material/layers_clear:"):
        guard(manager.unload_all)
        st.rerun()


def _render_models() -> None:
    """The loaded models, refreshed every few seconds: the sidebar is drawn before the page, so a model the page
    loads shows up at the next refresh (it said "Models loaded: 0" after writing copy)."""

    @st.fragment(run_every=LIVE_EVERY)
    def _live() -> None:
        _models_block()

    _live()


def _render_jobs() -> None:
    from pages._jobs_widgets import render_running_jobs

    render_running_jobs()


def _render_user() -> None:
    from aigc_core.users.accounts import sign_in_required
    from aigc_core.users.roles import current

    me = current()
    st.markdown(f"**Signed in:** {code_span(me.name)} · {me.role}")
    if sign_in_required():
        from pages._auth import sign_out

        # a callback: it runs before the next script run, which then shows the sign-in page
        st.button("Sign out", key="sidebar_sign_out", icon=":material/logout:", on_click=sign_out)


def render_sidebar() -> None:
    """User, device, models and jobs blocks; each fails on its own without breaking the page."""
    with st.sidebar:
        guard(_render_user)
        st.divider()
        _render_device()
        st.divider()
        guard(_render_models)
        st.divider()
        guard(_render_jobs)

"""The shared sidebar shown on every page: device, loaded models, running jobs."""

from __future__ import annotations

import streamlit as st

from pages._ui import guard


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


def _render_models() -> None:
    from aigc_core.models.manager import get_manager

    manager = get_manager()
    rows = manager.loaded()
    st.markdown(f"**Models loaded:** {len(rows)}")
    for row in rows:
        cols = st.columns([4, 1])
        cols[0].caption(f"{row.task} · {row.key} · {row.dtype} · {row.size_gb:.2f} GB")
        if cols[1].button("", icon=":material/eject:", key=f"sidebar_unload_{row.id}", help=f"Unload {row.key}"):
            guard(manager.unload, row.id)
            st.rerun()
    if rows and st.button("Unload all models", key="sidebar_unload_all", icon=":material/layers_clear:"):
        guard(manager.unload_all)
        st.rerun()


def _render_jobs() -> None:
    from pages._jobs_widgets import render_running_jobs

    render_running_jobs()


def render_sidebar() -> None:
    """Device, models and jobs blocks; each fails on its own without breaking the page."""
    with st.sidebar:
        _render_device()
        st.divider()
        guard(_render_models)
        st.divider()
        guard(_render_jobs)

"""AIGC Studio: the router, sign-in and the shared frame (sidebar: user, device, models, running jobs)."""

from __future__ import annotations

import logging

import streamlit as st

from aigc_core.settings import get_settings

st.set_page_config(page_title="AIGC Studio", page_icon=":material/auto_awesome:", layout="wide")

# Every page is listed here explicitly (no auto-discovery).
PAGES = {
    "Studio": [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/ad_copy.py", title="Ad copy", icon=":material/campaign:", url_path="ad-copy"),
        st.Page("pages/images.py", title="Images", icon=":material/image:", url_path="images"),
        st.Page("pages/creatives.py", title="Creatives", icon=":material/ad_units:", url_path="creatives"),
        st.Page("pages/sentiment.py", title="Sentiment monitor", icon=":material/monitoring:", url_path="sentiment"),
        st.Page("pages/support.py", title="Support replies", icon=":material/support_agent:", url_path="support"),
    ],
    "Build": [
        st.Page("pages/data.py", title="Data", icon=":material/table:", url_path="data"),
        st.Page("pages/finetune.py", title="Fine-tune", icon=":material/model_training:", url_path="fine-tune"),
        st.Page("pages/models_jobs.py", title="Models & jobs", icon=":material/memory:", url_path="models-jobs"),
        st.Page("pages/feedback.py", title="Feedback", icon=":material/thumbs_up_down:", url_path="feedback"),
    ],
}


@st.cache_resource
def _startup() -> None:
    """Once per server process: logging and the store's schema."""
    from aigc_core.launcher import prepare_store

    logging.basicConfig(level=get_settings().log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    prepare_store()


try:
    _startup()
except Exception as exc:
    from pages._ui import show_error

    show_error(exc)
    st.stop()

from pages._auth import signed_in_actor  # noqa: E402 - after set_page_config

actor = signed_in_actor()  # the sign-in page (and st.stop) when nobody is signed in
pages = dict(PAGES)
if actor.is_admin:
    pages["Admin"] = [st.Page("pages/users.py", title="Users", icon=":material/group:", url_path="users")]
nav = st.navigation(pages)

from pages._frame import render_sidebar  # noqa: E402 - after set_page_config/navigation

render_sidebar()  # before the page: a page may st.stop(), and nothing is drawn after that; the models and jobs
nav.run()  # blocks refresh themselves every few seconds, so they show what the page just loaded or queued

"""Small UI helpers shared by the pages: headers, empty states and error display.

Pages call into ``aigc_core`` through :func:`guard` so that an engine error is shown as a
clear message (with its hint) instead of a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from aigc_core.errors import AigcError

T = TypeVar("T")
log = logging.getLogger("aigc_studio.ui")


def page_header(title: str, subtitle: str) -> None:
    """The page's title and a one-line description of what it is for."""
    st.title(title)
    st.caption(subtitle)


def empty_state(message: str, *, hint: str | None = None) -> None:
    """An honest empty state: what the page shows once there is something, and how to get there."""
    st.info(message + (f"\n\n{hint}" if hint else ""), icon=":material/info:")


def show_error(exc: BaseException) -> None:
    """Show an engine error as a message; unexpected errors get a short text, never a traceback."""
    if isinstance(exc, AigcError):
        st.error(exc.message + (f"\n\n**What to do:** {exc.hint}" if exc.hint else ""), icon=":material/error:")
    else:
        log.exception("unexpected error in page", exc_info=exc)
        st.error(
            f"Something went wrong: {type(exc).__name__}: {exc}. The details are in the app's log.",
            icon=":material/error:",
        )


def guard(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """Call ``fn``; on an error show it with :func:`show_error` and return None."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        show_error(exc)
        return None


def link_to_page(path: str, label: str, icon: str | None = None) -> None:
    """A link to another page of the app; plain text when the page runs on its own (no router, e.g. AppTest)."""
    from streamlit.errors import StreamlitAPIException

    try:
        st.page_link(path, label=label, icon=icon)
    except StreamlitAPIException:
        st.caption(label)

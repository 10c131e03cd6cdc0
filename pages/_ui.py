"""Small UI helpers shared by the pages: headers, empty states, error display and literal text.

Pages call into ``aigc_core`` through :func:`guard` so that an engine error is shown as a
clear message (with its hint) instead of a traceback.

Streamlit renders Markdown in st.markdown, st.write, st.caption, the alerts, st.toast, st.table cells, progress
texts and every widget, expander, tab and popover label: links, images (loaded by the reader's browser), emoji and
``:material/…:`` shortcodes and ``:color[…]`` directives. Text a user, a file or a model wrote goes into those
only through :func:`literal` (or :func:`code_span`), so it is shown exactly as written.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from aigc_core.errors import AigcError
from aigc_core.runtime import set_ui_run_probe

T = TypeVar("T")
log = logging.getLogger("aigc_studio.ui")
_MD_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character
_CODE_SPAN = re.compile(r"`[^`\n]+`")
_ZWSP = "\u200b"
_WWW = re.compile(r"(www)(?=\\\.)", re.IGNORECASE)


def _in_script_run() -> bool:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    return get_script_run_ctx(suppress_warning=True) is not None


set_ui_run_probe(_in_script_run)  # every page imports this module: the engine then leaves webhooks to the worker


def _escape(text: str) -> str:
    out = _MD_SPECIAL.sub(r"\\\1", re.sub(r"\s+", " ", text))
    # An escaped colon is still a colon to the emoji and material-icon shortcodes, which read the parsed text:
    # a zero-width space after one that a word follows keeps ":smile:" and ":material/home:" as typed.
    # GFM turns www.x.y and a@b.c into links even with their punctuation escaped: a zero-width space stops it.
    out = re.sub(r"\\@(?=\S)", "\\@" + _ZWSP, _WWW.sub(lambda m: m.group(1) + _ZWSP, out))
    return re.sub(r"\\:(?=\S)", "\\:" + _ZWSP, out)


def literal(text: Any, *, lines: bool = False, code: bool = False) -> str:
    """``text`` for anything Streamlit renders as Markdown, shown exactly as written: no links, images, HTML,
    headings, lists, tables, emphasis, math, emoji or icon shortcodes, or colour directives.

    One line (whitespace collapsed) unless ``lines``; with ``code``, `inline code` spans of engine messages
    stay code (their content is literal anyway)."""
    raw = "" if text is None else str(text)
    if lines:
        return "  \n".join(literal(line, code=code) for line in raw.strip().splitlines())
    if not code:
        return _escape(raw).strip()
    out, end = [], 0
    for m in _CODE_SPAN.finditer(raw):
        out += [_escape(raw[end : m.start()]), m.group(0)]
        end = m.end()
    out.append(_escape(raw[end:]))
    return "".join(out).strip()


def code_span(text: Any) -> str:
    """``text`` as inline code for Markdown (shown literally, in a monospace font), whatever backticks it holds."""
    raw = " ".join(str("" if text is None else text).split())
    if not raw:
        return ""
    fence = "`" * (max((len(run) for run in re.findall(r"`+", raw)), default=0) + 1)
    pad = " " if raw.startswith("`") or raw.endswith("`") else ""
    raw = raw.replace(":material/", ":" + _ZWSP + "material/")  # Streamlit rewrites this before parsing
    return f"{fence}{pad}{raw}{pad}{fence}"


def page_header(title: str, subtitle: str) -> None:
    """The page's title and a one-line description of what it is for; stops a page that runs without a
    signed-in user (e.g. a deep link served without app.py's router)."""
    from aigc_core.errors import NotSignedInError
    from aigc_core.users.roles import current

    try:
        current()
    except NotSignedInError:
        st.warning("Sign in first: open the studio's home page.")
        st.stop()
    st.title(title)
    st.caption(subtitle)


def empty_state(message: str, *, hint: str | None = None) -> None:
    """An honest empty state: what the page shows once there is something, and how to get there."""
    st.info(message + (f"\n\n{hint}" if hint else ""), icon=":material/info:")


def show_error(exc: BaseException) -> None:
    """Show an engine error as a message; unexpected errors get a short text, never a traceback."""
    if isinstance(exc, AigcError):  # messages quote what the user typed or uploaded: shown literally
        hint = f"\n\n**What to do:** {literal(exc.hint, code=True)}" if exc.hint else ""
        st.error(literal(exc.message, code=True) + hint, icon=":material/error:")
    else:
        log.exception("unexpected error in page", exc_info=exc)
        st.error(
            f"Something went wrong: {literal(f'{type(exc).__name__}: {exc}')}. The details are in the app's log.",
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

"""What kind of run the engine is serving, told by the UI layer (the engine never imports Streamlit)."""

from __future__ import annotations

from collections.abc import Callable

_ui_run_probe: Callable[[], bool] | None = None


def set_ui_run_probe(fn: Callable[[], bool] | None) -> None:
    """Register how to tell that the current thread serves a page run (the app does it on start)."""
    global _ui_run_probe
    _ui_run_probe = fn


def in_ui_run() -> bool:
    """True inside a page run: slow or network work (webhooks) must go to the worker instead."""
    return bool(_ui_run_probe and _ui_run_probe())

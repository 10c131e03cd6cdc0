"""Shared fixtures: offline hub, an isolated data dir and store per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Exact expected numbers are float32 ones; the bf16 CPU default is tested on its own (tests/core/test_devices.py).
os.environ["AIGC_CPU_BF16_INFERENCE"] = "false"
# Pages run as the one-person "local" admin unless a test signs in (tests/users turn sign-in on).
os.environ["AIGC_AUTH"] = "off"

import pytest

from aigc_core.settings import Settings, get_settings, reset_settings

pytest_plugins = ["tests.fixtures.tiny_models"]

# Engine calls in tests act as the system admin unless a test passes (or acts as) another user; job processes
# started by a test's worker act as their job's owner, as in production.
from aigc_core.users.roles import SYSTEM, set_process_actor  # noqa: E402

set_process_actor(SYSTEM)

# As scripts/serve.py does for the real server: app.py's st.navigation router runs every request, so no page
# script runs on its own without the router's sign-in (Streamlit would otherwise treat pages/ as a legacy app).
# AppTest resets the flag on every run, so it is set again after each PagesManager is made.
from streamlit.runtime.pages_manager import PagesManager  # noqa: E402

_pages_manager_init = PagesManager.__init__


def _router_only_init(self, *args, **kwargs) -> None:
    _pages_manager_init(self, *args, **kwargs)
    PagesManager.uses_pages_directory = False


PagesManager.__init__ = _router_only_init  # type: ignore[method-assign]


@pytest.fixture()
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh data dir (and so a fresh SQLite store) for one test."""
    from aigc_core.store.db import dispose_engines

    d = tmp_path / "data"
    monkeypatch.setenv("AIGC_DATA_DIR", str(d))
    monkeypatch.delenv("AIGC_DATABASE_URL", raising=False)
    reset_settings()
    yield d
    dispose_engines()
    reset_settings()


@pytest.fixture()
def settings(data_dir: Path) -> Settings:
    """Settings bound to the test's data dir."""
    return get_settings()


@pytest.fixture(autouse=True)
def _fresh_model_manager() -> Iterator[None]:
    """Each test starts with no model loaded in the process-wide manager (no state leaks between tests)."""
    yield
    import sys

    if "aigc_core.models.manager" in sys.modules:
        sys.modules["aigc_core.models.manager"].reset_manager()

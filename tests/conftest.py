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

import pytest

from aigc_core.settings import Settings, get_settings, reset_settings

pytest_plugins = ["tests.fixtures.tiny_models"]


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

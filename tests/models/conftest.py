"""Model-layer fixtures: a fresh manager per test and an empty (fake) hub cache."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from aigc_core.models import manager as manager_mod
from aigc_core.models import task_table
from aigc_core.settings import Settings, reset_settings


@pytest.fixture(autouse=True)
def fresh_manager(settings: Settings) -> Iterator[None]:
    """Every test starts with an empty process-wide manager bound to its own data dir."""
    manager_mod.reset_manager()
    yield
    manager_mod.reset_manager()


@pytest.fixture()
def hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty hub cache folder used by huggingface_hub for this test."""
    import huggingface_hub.constants as hc

    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(cache))
    return cache


@pytest.fixture()
def cache_hub_model(hub_cache: Path) -> Callable[[str, Path | None], Path]:
    """Put a model folder into the fake hub cache as ``hub_id`` at its pinned revision; returns the snapshot."""

    def put(hub_id: str, source: Path | None = None) -> Path:
        repo = hub_cache / ("models--" + hub_id.replace("/", "--"))
        # The snapshot sits at the commit the catalog pins (refs/main points there too).
        pinned = [spec.revision for spec in task_table.specs() if spec.hub_id == hub_id]
        sha = pinned[0] if pinned and len(pinned[0]) == 40 else "0" * 40
        snap = repo / "snapshots" / sha
        snap.mkdir(parents=True)
        (repo / "refs").mkdir()
        (repo / "refs" / "main").write_text(sha)
        if source is None:
            (snap / "config.json").write_text(json.dumps({"model_type": "llama"}))
        else:
            for f in source.iterdir():
                (snap / f.name).write_bytes(f.read_bytes())
        return snap

    return put


@pytest.fixture()
def online(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings that allow hub downloads (nothing is downloaded by the tests that use this)."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("AIGC_OFFLINE", "false")
    reset_settings()

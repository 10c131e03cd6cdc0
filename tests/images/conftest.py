"""Fixtures of the Images tests: the tiny random SD pipeline (shared fixture when present), loaded once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """The tiny pipeline runs ~10x faster on one thread when the test machine is busy (no thread contention)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_sd_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder of the tiny SD pipeline: the suite's shared fixture when registered, else built here."""
    try:
        return Path(request.getfixturevalue("tiny_sd_pipeline_dir"))
    except pytest.FixtureLookupError:
        from aigc_core.images.tiny import save_tiny_pipeline

        return save_tiny_pipeline(tmp_path_factory.mktemp("images_tiny_sd"))


@pytest.fixture()
def tiny_model(tiny_sd_dir: Path, settings, monkeypatch: pytest.MonkeyPatch) -> str:
    """The tiny pipeline set as AIGC_TEXT_TO_IMAGE_MODEL (fresh data dir and store)."""
    from aigc_core.settings import reset_settings
    from aigc_core.store import init_store

    monkeypatch.setenv("AIGC_TEXT_TO_IMAGE_MODEL", str(tiny_sd_dir))
    reset_settings()
    init_store()
    return str(tiny_sd_dir)


@pytest.fixture()
def loaded(tiny_model: str):
    """The tiny pipeline loaded (cached for the whole process by the loader)."""
    from aigc_core.images.loader import load_pipeline

    return load_pipeline(tiny_model)


class FakeJobContext:
    """Stand-in for the job runner's JobContext."""

    def __init__(self, stop_after_reports: int | None = None) -> None:
        self.reports: list[tuple[float, str]] = []
        self.lines: list[str] = []
        self.stop_after_reports = stop_after_reports
        self.work_dir = Path(".")

    def report(self, progress: float, message: str = "") -> None:
        self.reports.append((progress, message))

    def log(self, line: str) -> None:
        self.lines.append(line)

    def should_stop(self) -> bool:
        return self.stop_after_reports is not None and len(self.reports) >= self.stop_after_reports


@pytest.fixture()
def fake_ctx() -> type[FakeJobContext]:
    return FakeJobContext

"""Fixtures for the job runner: short grace periods and a real worker supervisor process on the test's data dir."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from aigc_core.settings import reset_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def jobs_env(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data dir with a migrated store and short grace periods."""
    monkeypatch.setenv("AIGC_JOB_CANCEL_GRACE_S", "1")
    monkeypatch.setenv("AIGC_JOB_WORKERS", "3")
    monkeypatch.setenv("AIGC_GPU_JOBS_PER_DEVICE", "1")
    monkeypatch.setenv("AIGC_DEVICE", "cpu")
    reset_settings()
    from aigc_core.store import init_store

    init_store()
    return data_dir


@pytest.fixture()
def start_worker(jobs_env: Path) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """Start ``python -m aigc_core.jobs.worker`` against the test's data dir (stopped at the end)."""
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        cmd = [sys.executable, "-m", "aigc_core.jobs.worker", "--poll", "0.1", "--kill-after", "1"]
        cmd += ["--recover-every", "1"]
        log = open(jobs_env / "worker.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(cmd, cwd=ROOT, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT)
        log.close()
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture()
def worker(start_worker: Callable[[], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    """A running worker supervisor."""
    return start_worker()


def wait_for(job_id: str, check: Callable[..., bool], timeout: float = 20.0, what: str = "condition"):
    """Poll ``get(job_id)`` until ``check(info)`` holds; the info."""
    from aigc_core import jobs

    deadline = time.monotonic() + timeout
    info = jobs.get(job_id)
    while time.monotonic() < deadline:
        info = jobs.get(job_id)
        if check(info):
            return info
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}: {info.status} {info.message!r} {info.error!r}")

"""PostgreSQL-only fixtures: the session's schema as the store, and worker supervisors standing in for hosts."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from aigc_core.settings import reset_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def pg_store(data_dir: Path, pg_database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test's store is the session's PostgreSQL schema (emptied, migrated); the data dir is the test's own."""
    from aigc_core.store import init_store
    from tests.fixtures import postgres

    monkeypatch.setenv("AIGC_DATABASE_URL", pg_database_url)
    monkeypatch.setenv("AIGC_JOB_CANCEL_GRACE_S", "1")
    monkeypatch.setenv("AIGC_DEVICE", "cpu")
    reset_settings()
    postgres.empty_tables(pg_database_url)
    init_store()
    return pg_database_url


@pytest.fixture()
def start_supervisor(pg_store: str, tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start ``python -m aigc_core.jobs.worker`` as a stand-in for a host: its own working directory and
    ``AIGC_WORKER_NAME``, the shared store and data dir. Everything it started is ended after the test."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(name: str, **env: str) -> subprocess.Popen[bytes]:
        home = tmp_path / "hosts" / name
        home.mkdir(parents=True, exist_ok=True)
        full = dict(os.environ, AIGC_WORKER_NAME=name, PYTHONPATH=str(ROOT), **env)
        cmd = [sys.executable, "-m", "aigc_core.jobs.worker", "--poll", "0.05", "--kill-after", "1"]
        cmd += ["--recover-every", "1"]
        with open(home / "worker.log", "ab") as log:
            proc = subprocess.Popen(cmd, cwd=home, env=full, stdout=log, stderr=subprocess.STDOUT)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        kill_tree(proc.pid, graceful=True)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            kill_tree(proc.pid)
            proc.wait(timeout=5)


def kill_tree(pid: int, *, graceful: bool = False) -> list[psutil.Process]:
    """SIGKILL a supervisor and every process below it (its forkserver and job processes), as when its host
    dies; ``graceful`` sends the supervisor a SIGTERM instead and leaves its children to it."""
    try:
        root = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return []
    if graceful:
        root.terminate()
        return [root]
    family = [root, *root.children(recursive=True)]
    for proc in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(family, timeout=10)  # reaps the supervisor too (its Popen then reads exit code 0)
    return family


def worker_log(tmp_path: Path, name: str) -> str:
    """What the supervisor ``name`` wrote."""
    path = tmp_path / "hosts" / name / "worker.log"
    return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""

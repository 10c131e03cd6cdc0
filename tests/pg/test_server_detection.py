"""Finding the PostgreSQL server of the tests: no server is reported with how to enable the tests, never hidden."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from tests.fixtures import postgres

ROOT = Path(__file__).resolve().parents[2]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_server_that_does_not_answer_is_reported() -> None:
    why = postgres.unreachable_reason(f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/test")
    assert why is not None and "OperationalError" in why
    assert postgres.ENV in postgres.HOW_TO_ENABLE and postgres.DEFAULT_URL in postgres.HOW_TO_ENABLE


def test_schema_url_binds_every_connection_to_the_schema() -> None:
    url = postgres.schema_url("postgresql+psycopg://postgres@127.0.0.1:5432/test", "aigc_test_1")
    assert url.endswith("?application_name=aigc_test_1&options=-csearch_path%3Daigc_test_1")


def test_an_explicit_server_that_does_not_answer_fails_and_off_skips(tmp_path: Path) -> None:
    """Named on purpose (as ``.ci/run`` does) but down: the PostgreSQL tests fail; ``off``: they skip."""
    test = "tests/core/test_store.py::test_json_columns_round_trip"
    down = f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/test"
    outcomes = {}
    for value in (down, "off"):
        env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", postgres.ENV: value, "HOME": str(tmp_path)}
        cmd = [sys.executable, "-m", "pytest", test, "-q", "-p", "no:cacheprovider", "-rsE", "--no-header"]
        run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
        outcomes[value] = run.stdout
    assert "1 passed, 1 error" in outcomes[down] and "does not answer" in outcomes[down]
    assert "1 passed, 1 skipped" in outcomes["off"] and "turned off" in outcomes["off"]

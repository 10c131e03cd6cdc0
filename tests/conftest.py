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

pytest_plugins = ["tests.fixtures.tiny_models", "tests.fixtures.browser"]

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


# PostgreSQL ---------------------------------------------------------------------------------------------------
# The store-layer tests below (and any test marked ``both_stores``) run twice: on the test's own SQLite store and
# on a real PostgreSQL server (tests/fixtures/postgres.py: AIGC_TEST_DATABASE_URL, one schema per test session,
# emptied before each test and dropped at the end). Without a server the PostgreSQL runs skip, saying how to
# enable them.
BOTH_STORES = (
    "tests/core/test_store.py::test_migrations_create_every_table",
    "tests/core/test_store.py::test_migrations_match_the_models",
    "tests/core/test_store.py::test_session_commits_and_rolls_back",
    "tests/core/test_store.py::test_foreign_keys_are_enforced",
    "tests/core/test_store.py::test_json_columns_round_trip",
    "tests/jobs/test_api.py::test_submit_stores_validated_params_with_defaults",
    "tests/jobs/test_api.py::test_cancel_queued_then_cancel_again_is_refused",
    "tests/jobs/test_api.py::test_resume_refusals_change_nothing",
    "tests/jobs/test_api.py::test_resume_links_new_job",
    "tests/jobs/test_api.py::test_recover_stale_leaves_live_jobs_alone",
    "tests/users/test_accounts.py::test_lock_out_after_repeated_failures",
    "tests/users/test_accounts.py::test_first_admin_needs_the_one_time_token_and_claims_earlier_work",
    "tests/users/test_accounts.py::test_cli_adds_lists_and_audits",
    "tests/users/test_ownership.py::test_jobs_are_private_to_their_owner",
    "tests/users/test_ownership.py::test_copy_history_is_private_until_shared",
    "tests/users/test_ownership.py::test_gallery_is_private_and_delete_is_all_or_nothing",
    "tests/users/test_ownership.py::test_saving_work_records_the_acting_user_as_owner",
    "tests/users/test_dataset_ownership.py::",
    "tests/data/test_versions.py::test_round_trip",
    "tests/data/test_versions.py::test_delete_refused_when_in_use",
    "tests/data/test_versions.py::test_failed_write_leaves_nothing",
)


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``both_stores`` marker."""
    config.addinivalue_line("markers", "both_stores: run the test on SQLite and on PostgreSQL (store_backend)")
    config.addinivalue_line("markers", "postgres: needs a PostgreSQL server (AIGC_TEST_DATABASE_URL)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise the store tests over both backends."""
    if "store_backend" not in metafunc.fixturenames or "data_dir" not in metafunc.fixturenames:
        return
    nodeid = metafunc.definition.nodeid
    if metafunc.definition.get_closest_marker("both_stores") or nodeid.startswith(BOTH_STORES):
        metafunc.parametrize("store_backend", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """The PostgreSQL server of the tests (skips, or fails when one was asked for, without one)."""
    from tests.fixtures import postgres

    url, explicit = postgres.requested_url()
    if url is None:
        pytest.skip(f"PostgreSQL tests turned off ({postgres.ENV}=off)")
    why = postgres.unreachable_reason(url)
    if why is not None:
        shown = url.split("@")[-1]
        if explicit:
            pytest.fail(f"{postgres.ENV} names a PostgreSQL server at {shown} that does not answer: {why}")
        pytest.skip(f"no PostgreSQL server at {shown} ({why}): {postgres.HOW_TO_ENABLE}")
    return url


@pytest.fixture(scope="session")
def pg_database_url(pg_server_url: str) -> Iterator[str]:
    """A URL bound to this test session's own PostgreSQL schema (dropped at the end)."""
    from tests.fixtures import postgres

    with postgres.temporary_schema(pg_server_url) as url:
        yield url


@pytest.fixture()
def pg_empty_url(pg_server_url: str) -> Iterator[str]:
    """A URL bound to a new, empty PostgreSQL schema for one test (dropped after it)."""
    from tests.fixtures import postgres

    with postgres.temporary_schema(pg_server_url, prefix="aigc_empty") as url:
        yield url


@pytest.fixture(autouse=True)
def store_backend(request: pytest.FixtureRequest) -> str:
    """``sqlite`` (each test's own file) or ``postgresql`` (the session's schema, emptied) for the test's store."""
    backend = getattr(request, "param", "sqlite")
    if backend == "postgresql":
        from tests.fixtures import postgres

        url = request.getfixturevalue("pg_database_url")
        request.getfixturevalue("data_dir")
        monkeypatch = request.getfixturevalue("monkeypatch")
        monkeypatch.setenv("AIGC_DATABASE_URL", url)
        reset_settings()
        postgres.empty_tables(url)
    return backend

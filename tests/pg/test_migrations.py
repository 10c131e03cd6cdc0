"""Migrations on PostgreSQL: an empty database, several processes at once, an upgrade of a store holding data."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.pool import NullPool

from aigc_core.settings import Settings
from aigc_core.store import Base, init_store
from aigc_core.store.db import alembic_config, dispose_engines

ROOT = Path(__file__).resolve().parents[2]


def _heads(url: str) -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(url)).get_heads())


def _current(url: str) -> set[str]:
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    engine.dispose()
    return current


def test_migrations_apply_on_an_empty_postgresql_database(pg_empty_url: str, tmp_path: Path) -> None:
    engine = init_store(Settings(data_dir=tmp_path, database_url=pg_empty_url))
    assert engine.dialect.name == "postgresql"
    assert set(inspect(engine).get_table_names()) >= set(Base.metadata.tables) | {"alembic_version"}
    assert _current(pg_empty_url) == _heads(pg_empty_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models and migrations differ on PostgreSQL; add a migration: {diff}"


def test_an_empty_postgresql_database_initialised_by_many_processes_at_once(pg_empty_url: str, tmp_path) -> None:
    code = "from aigc_core.store import init_store; init_store(); print('ok')"
    procs = []
    for i in range(4):  # separate data dirs, as on separate hosts: only the database serialises them
        env = {"AIGC_DATA_DIR": str(tmp_path / f"host{i}"), "AIGC_DATABASE_URL": pg_empty_url}
        env |= {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
        pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
        procs.append(subprocess.Popen([sys.executable, "-c", code], env=env, **pipes))
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [e.decode()[-800:] for _, e in outs]
    assert _current(pg_empty_url) == _heads(pg_empty_url)


SEED_0001 = [
    "INSERT INTO datasets (id, name, description, created_at, meta) VALUES ('d1', 'reviews', 'old', :at, '{}')",
    "INSERT INTO dataset_versions (id, dataset_id, version, kind, path, schema, roles, row_counts, recipe, source, "
    "created_at, meta) VALUES ('v1', 'd1', 1, 'raw', 'datasets/d1/v1.parquet', '{}', '{}', '{\"all\": 3}', '[]', "
    "'{}', :at, '{}')",
    "INSERT INTO jobs (id, kind, params, owner, status, resource, progress, message, created_at, worker_host, "
    "cancel_requested, result, error, log_path, meta) VALUES ('j1', 'demo.count', '{\"steps\": 2}', 'alice', "
    "'succeeded', 'cpu', 1.0, 'Done', :at, 'old-host', false, '{\"counted\": 2}', '', '', '{}')",
    "INSERT INTO brand_kits (id, name, voice, banned, required, competitors, updated_at, meta) "
    "VALUES ('b1', 'acme', 'friendly', '[\"cheap\"]', '[]', '[]', :at, '{}')",
]


@pytest.mark.both_stores
def test_upgrade_from_0001_keeps_the_data(settings, store_backend: str) -> None:
    """A store created by the first release, holding rows, upgrades to the newest schema with nothing lost."""
    url = settings.resolved_database_url
    engine = create_engine(url, poolclass=NullPool)
    if store_backend == "postgresql":  # the session's schema is at head already: start this one from scratch
        with engine.begin() as conn:
            names = inspect(conn).get_table_names()
            conn.execute(text("DROP TABLE IF EXISTS " + ", ".join(f'"{n}"' for n in names) + " CASCADE"))
    cfg = alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    with engine.begin() as conn:
        for sql in SEED_0001:
            conn.execute(text(sql), {"at": at})
    engine.dispose()
    dispose_engines()

    init_store()  # what the app does on start-up

    assert _current(url) == _heads(url)
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name, owner, shared FROM datasets")).all() == [("reviews", "", False)]
        assert conn.execute(text("SELECT version, path FROM dataset_versions")).all() == [(1, "datasets/d1/v1.parquet")]
        job = conn.execute(text("SELECT owner, status, shared, worker_host FROM jobs WHERE id = 'j1'")).one()
        assert tuple(job) == ("alice", "succeeded", False, "old-host")
        assert conn.execute(text("SELECT name, owner, shared FROM brand_kits")).all() == [("acme", "", False)]
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == [], f"the upgraded store differs from the models: {diff}"

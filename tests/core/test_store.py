"""Store: migrations create the schema the ORM expects; sessions commit or roll back."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select

from aigc_core.errors import AigcError
from aigc_core.settings import Settings
from aigc_core.store import Base, Dataset, DatasetVersion, Job, get_engine, init_store, session_scope

TABLES = {
    "datasets",
    "dataset_versions",
    "jobs",
    "model_versions",
    "generations",
    "brand_kits",
    "monitors",
    "sentiment_scores",
    "alert_rules",
    "alerts",
}


def test_migrations_create_every_table(settings) -> None:
    engine = init_store()
    names = set(inspect(engine).get_table_names())
    assert names >= TABLES
    assert "alembic_version" in names


def test_migrations_match_the_models(settings) -> None:
    engine = init_store()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models and migrations differ; add a migration: {diff}"


def test_sqlite_runs_in_wal_mode(settings) -> None:
    with get_engine().connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_session_commits_and_rolls_back(settings) -> None:
    with session_scope() as s:
        s.add(Dataset(name="reviews"))
    with pytest.raises(RuntimeError), session_scope() as s:
        s.add(Dataset(name="lost"))
        s.flush()
        raise RuntimeError("fail")
    with session_scope() as s:
        assert [d.name for d in s.scalars(select(Dataset))] == ["reviews"]


def test_foreign_keys_are_enforced(settings) -> None:
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), session_scope() as s:
        s.add(DatasetVersion(dataset_id="missing", version=1, path="x"))


def test_json_columns_round_trip(settings) -> None:
    with session_scope() as s:
        job = Job(kind="demo.count", params={"steps": 3, "names": ["a", "ü"]})
        s.add(job)
    with session_scope() as s:
        assert s.get(Job, job.id).params == {"steps": 3, "names": ["a", "ü"]}


def test_unreachable_database_is_a_clear_error(tmp_path) -> None:
    bad = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/no/such/dir/x.db")
    with pytest.raises(AigcError) as err:
        init_store(bad)
    assert "AIGC_DATABASE_URL" in str(err.value)


def test_fresh_store_initialised_by_many_processes_at_once(tmp_path) -> None:
    import subprocess
    import sys

    code = "from aigc_core.store import init_store; init_store(); print('ok')"
    env = {"AIGC_DATA_DIR": str(tmp_path / "shared"), "PATH": "/usr/bin:/bin"}
    procs = [
        subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [e.decode()[-500:] for _, e in outs]

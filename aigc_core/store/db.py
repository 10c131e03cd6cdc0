"""Engine, sessions and schema migrations of the store."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from aigc_core.errors import AigcError
from aigc_core.settings import Settings, get_settings

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

# pg_advisory_xact_lock key that serialises schema upgrades between hosts sharing one PostgreSQL store.
PG_MIGRATION_LOCK_KEY = 0x41494743  # "AIGC"

_lock = threading.Lock()
_engines: dict[str, Engine] = {}
_migrated: set[str] = set()


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001 - DB-API connection
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    return engine


def is_postgresql(engine: Engine) -> bool:
    """True when ``engine`` talks to PostgreSQL (row locks with SKIP LOCKED, advisory locks)."""
    return engine.dialect.name == "postgresql"


def alembic_config(url: str):  # noqa: ANN201 - alembic.config.Config
    """An Alembic config pointing at the packaged migrations and ``url``."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


@contextlib.contextmanager
def _migration_lock(settings: Settings, url: str) -> Iterator[None]:
    """Serialise SQLite schema upgrades between processes sharing the data dir (app, worker, job processes).

    A server database is locked inside the migration's own transaction instead (see :func:`init_store`), which
    also holds between hosts, where a lock file on a shared filesystem may not.
    """
    if not url.startswith("sqlite"):
        yield
        return
    lock_path = settings.resolved_data_dir / ".store-migrate.lock"
    with open(lock_path, "a+b") as fh:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no cross-process lock, upgrades rarely race there
            yield
            return
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def _sqlite_foreign_keys_off(conn: Connection) -> Iterator[None]:
    """SQLite: no foreign key actions while migrating. Alembic's batch mode rebuilds a table by copying it and
    dropping the old one, and with foreign keys on that DROP would delete the rows of every table referencing it
    with ON DELETE CASCADE (an upgrade from 0001 lost all dataset versions that way)."""
    if conn.dialect.name != "sqlite":
        yield
        return
    conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # no effect inside a transaction: before it begins
    conn.commit()
    try:
        yield
    finally:
        conn.rollback()
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        conn.commit()


def _check_foreign_keys(conn: Connection) -> None:
    """SQLite: fail the upgrade (rolled back) if it left rows pointing at nothing."""
    if conn.dialect.name == "sqlite":
        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
        if broken:
            raise RuntimeError(f"the upgrade would leave rows with broken references: {broken[:5]}")


def _at_head(engine: Engine, cfg) -> bool:  # noqa: ANN001 - alembic.config.Config
    """True when the database already carries every head revision of the packaged migrations."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    try:
        heads = set(ScriptDirectory.from_config(cfg).get_heads())
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except Exception:  # unreachable, or no schema yet: the upgrade path reports or creates it
        return False
    return bool(heads) and current == heads


def init_store(settings: Settings | None = None) -> Engine:
    """Create (or upgrade) the schema to the newest migration and return the engine."""
    settings = settings or get_settings()
    url = settings.resolved_database_url
    engine = get_engine(settings, migrate=False)
    with _lock:
        if url in _migrated:
            return engine
        from alembic import command

        cfg = alembic_config(url)
        if _at_head(engine, cfg):  # the common case (every job process checks): no lock, no transaction
            _migrated.add(url)
            return engine
        try:
            with (
                _migration_lock(settings, url),
                engine.connect() as conn,
                _sqlite_foreign_keys_off(conn),
                conn.begin(),
            ):
                if is_postgresql(engine):  # one host upgrades, the others wait and then find the schema current
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK_KEY})
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
                _check_foreign_keys(conn)
        except Exception as exc:  # surface as a user-facing error
            raise AigcError(
                f"Could not open or upgrade the store at {engine.url.render_as_string(hide_password=True)}: {exc}",
                hint="Check AIGC_DATABASE_URL (or AIGC_DATA_DIR) and that the database is reachable and writable.",
            ) from exc
        _migrated.add(url)
    return engine


def get_engine(settings: Settings | None = None, *, migrate: bool = True) -> Engine:
    """The process-wide engine for the configured URL (migrated on first use)."""
    settings = settings or get_settings()
    url = settings.resolved_database_url
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = _make_engine(url)
    if migrate and url not in _migrated:
        init_store(settings)
    return engine


def dispose_engines() -> None:
    """Close every pooled connection (after fork, in tests)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _migrated.clear()


@contextlib.contextmanager
def session_scope(settings: Settings | None = None) -> Iterator[Session]:
    """A transaction: committed on success, rolled back on error."""
    factory = sessionmaker(bind=get_engine(settings), expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()

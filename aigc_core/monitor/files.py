"""A monitor's files under ``<data_dir>/monitors/<id>/``: the scored rows, the pending batches and the locks.

``rows.parquet`` holds the scored rows the dashboard queries (written atomically); ``pending/*.parquet`` the
validated batches waiting to be scored; ``.files.lock`` and ``.scoring.lock`` serialise writers across threads
and processes (the app and the worker's job processes).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from aigc_core.settings import get_settings
from aigc_core.storage import atomic_path


def monitor_dir(monitor_id: str) -> Path:
    """``<data_dir>/monitors/<id>/`` (created)."""
    path = get_settings().resolved_data_dir / "monitors" / monitor_id
    path.mkdir(parents=True, exist_ok=True)
    return path


def rows_path(monitor_id: str) -> Path:
    """The Parquet file of the monitor's scored rows (may not exist yet)."""
    return monitor_dir(monitor_id) / "rows.parquet"


def pending_dir(monitor_id: str) -> Path:
    """The folder of the batches waiting to be scored (created)."""
    path = monitor_dir(monitor_id) / "pending"
    path.mkdir(parents=True, exist_ok=True)
    return path


def pending_files(monitor_id: str) -> list[Path]:
    """The pending batch files, oldest batch first."""
    return sorted(pending_dir(monitor_id).glob("*.parquet"))


def parquet_rows(path: Path) -> int:
    """Rows in a Parquet file (0 when it does not exist), from its metadata."""
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows) if path.exists() else 0


def parquet_ids(path: Path) -> set[str]:
    """The ``row_id`` values of a Parquet file (empty when it does not exist)."""
    import pyarrow.parquet as pq

    if not path.exists():
        return set()
    return {str(x) for x in pq.read_table(path, columns=["row_id"]).column("row_id").to_pylist()}


def pending_count(monitor_id: str) -> int:
    """Rows waiting to be scored (no access check: callers check the monitor first)."""
    return sum(parquet_rows(p) for p in pending_files(monitor_id))


def write_pending(monitor_id: str, rows: pd.DataFrame, batch: int, suffix: str = "") -> Path:
    """Queue prepared rows for scoring as ``pending/<batch><suffix>.parquet`` (atomically)."""
    target = pending_dir(monitor_id) / f"{batch:06d}{suffix}.parquet"
    with atomic_path(target) as tmp:
        rows.to_parquet(tmp, index=False)
    return target


_locks: dict[tuple[str, str], threading.Lock] = {}
_locks_guard = threading.Lock()


@contextlib.contextmanager
def monitor_lock(monitor_id: str, name: str = "files") -> Iterator[None]:
    """A per-monitor lock across threads and processes (workers): ``files`` guards the rows and pending
    files for short moments; ``scoring`` lets one scoring run at a time (batches can be added meanwhile)."""
    with _locks_guard:
        lock = _locks.setdefault((monitor_id, name), threading.Lock())
    with lock, open(monitor_dir(monitor_id) / f".{name}.lock", "a+b") as fh:
        try:
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - Windows: the thread lock only
            pass
        yield

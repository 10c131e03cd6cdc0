"""Monitor records: create, read, share, change the model, append batches, delete; with the owner checks.

A monitor belongs to the user who created it and is private to them until shared with the team
(:func:`set_monitor_shared`); admins see and change every monitor. Reading needs the read right on the monitor,
adding batches, changing the model and deleting need the change right (its owner or an admin).
The ``monitors`` table holds the record; its rows live in files (:mod:`aigc_core.monitor.files`).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import select

from aigc_core.errors import ConflictError, NotFoundError, UserInputError
from aigc_core.monitor.files import (
    monitor_dir,
    monitor_lock,
    parquet_ids,
    parquet_rows,
    pending_count,
    pending_files,
    rows_path,
    write_pending,
)
from aigc_core.monitor.ingest import SCORE_COLUMNS, ColumnMapping, IngestReport, empty_rows, prepare_batch
from aigc_core.monitor.sources import check_dataset_version, load_dataset_version
from aigc_core.store import Monitor, session_scope
from aigc_core.store.lookup import get_by_id_or_name
from aigc_core.store.models import as_utc
from aigc_core.users.audit import record
from aigc_core.users.roles import Action, Actor, check_item, current, require, visible_filter

if TYPE_CHECKING:  # pragma: no cover
    from aigc_core.monitor.aggregate import MonitorData


@dataclass
class MonitorInfo:
    """A monitor as plain data, with its row counts."""

    id: str
    name: str
    dataset_version_id: str | None
    mapping: dict[str, str | None]
    model: str
    label_map: dict[str, str] | None
    created_at: datetime
    n_rows: int
    n_pending: int
    meta: dict[str, Any]
    owner: str = ""
    shared: bool = False

    @property
    def is_demo(self) -> bool:
        """True for the demo stream (timestamps assigned for the demo)."""
        return bool(self.meta.get("demo"))

    @property
    def model_version(self) -> str:
        """Model version of the last scoring run ('' before the first)."""
        return str(self.meta.get("model_version", ""))

    @property
    def demo_note(self) -> str:
        """What the demo stream says about its assigned timestamps ('' for other monitors)."""
        return str(self.meta.get("demo_note", "")) if self.is_demo else ""

    @property
    def watch_folder(self) -> str:
        """The watched folder ('' when none)."""
        return str(self.meta.get("watch_folder") or "")

    @property
    def last_batch(self) -> IngestReport | None:
        """The report of the last batch appended (None before the first)."""
        batches = self.meta.get("batches") or []
        return IngestReport.from_dict(batches[-1]) if batches else None


def _info(row: Monitor) -> MonitorInfo:
    created = as_utc(row.created_at)
    meta = dict(row.meta or {})
    return MonitorInfo(
        id=row.id,
        name=row.name,
        dataset_version_id=row.dataset_version_id,
        mapping=dict(row.mapping or {}),
        model=row.model,
        label_map=meta.get("label_map"),
        created_at=created,
        n_rows=parquet_rows(rows_path(row.id)),
        n_pending=pending_count(row.id),
        meta=meta,
        owner=row.owner or "",
        shared=bool(row.shared),
    )


def _missing(monitor_id: str) -> NotFoundError:
    return NotFoundError(f"There is no monitor {monitor_id!r}.", hint="Pick one from the list or create one.")


def _monitor_row(s: Any, monitor_id: str, action: Action, actor: Actor | None) -> Monitor:
    """The monitor row (by id or name) when the acting user may ``action`` it; another's private monitor reads as
    missing."""
    row = get_by_id_or_name(s, Monitor, monitor_id)
    if row is None:
        raise _missing(monitor_id)
    check_item(
        actor,
        action,
        owner=row.owner or "",
        shared=bool(row.shared),
        kind="monitor",
        item_id=row.id,
        not_found=_missing(monitor_id),
    )
    return row


def check_monitor(monitor_id: str, action: Action = "read", *, actor: Actor | None = None) -> str:
    """The monitor's id when the acting user may ``action`` it; NotFoundError for another's private monitor,
    PermissionDeniedError for a visible one they may not change."""
    with session_scope() as s:
        return _monitor_row(s, monitor_id, action, actor).id


def list_monitors(*, actor: Actor | None = None) -> list[MonitorInfo]:
    """The acting user's monitors and shared ones (admins: all), newest first."""
    who = current(actor)
    with session_scope() as s:
        q = select(Monitor).where(visible_filter(who, Monitor.owner, Monitor.shared))
        rows = list(s.scalars(q.order_by(Monitor.created_at.desc())))
    return [_info(r) for r in rows]


def get_monitor(monitor_id: str, *, action: Action = "read", actor: Actor | None = None) -> MonitorInfo:
    """A monitor by id or name that the acting user may see (or ``action``); NotFoundError when there is none."""
    with session_scope() as s:
        row = _monitor_row(s, monitor_id, action, actor)
    return _info(row)


def set_monitor_shared(monitor_id: str, shared: bool = True, *, actor: Actor | None = None) -> MonitorInfo:
    """Share a monitor (its rows, rules and alerts) with the team, or make it private again (owner or admin)."""
    with session_scope() as s:
        row = _monitor_row(s, monitor_id, "share", actor)
        row.shared = bool(shared)
        mid = row.id
    record(current(actor), "monitor.share" if shared else "monitor.unshare", "monitor", mid)
    return get_monitor(mid, actor=actor)


def update_meta(monitor_id: str, **values: Any) -> None:
    """Merge ``values`` into the monitor's ``meta`` (no access check: callers check the monitor first)."""
    with session_scope() as s:
        row = s.get(Monitor, monitor_id)
        if row is None:
            raise NotFoundError(f"There is no monitor {monitor_id!r}.", hint="Pick one from the list.")
        meta = dict(row.meta or {})
        meta.update(values)
        row.meta = meta


def create_monitor(
    name: str,
    *,
    mapping: ColumnMapping | Mapping[str, Any],
    frame: pd.DataFrame | None = None,
    dataset_version_id: str | None = None,
    model: str = "embedded",
    label_map: Mapping[str, str] | str | None = None,
    meta: Mapping[str, Any] | None = None,
    actor: Actor | None = None,
) -> tuple[MonitorInfo, IngestReport]:
    """Create a monitor owned by the acting user (private until shared) from a dataset version (or a frame) and
    queue its rows for scoring."""
    from aigc_core.sentiment import parse_label_map

    who = require(actor, "create", what="monitors")
    name = (name or "").strip()
    if not name:
        raise UserInputError("The monitor has no name.", hint="Give it a short name, e.g. 'Airline tweets'.")
    if len(name) > 200:
        raise UserInputError("The monitor name is too long.", hint="Use at most 200 characters.")
    cm = mapping if isinstance(mapping, ColumnMapping) else ColumnMapping.from_dict(mapping)
    if frame is None:
        if not dataset_version_id:
            raise UserInputError("No data was given for the monitor.", hint="Pick a dataset version.")
        frame = load_dataset_version(dataset_version_id, actor=who)
    elif dataset_version_id:
        check_dataset_version(dataset_version_id, actor=who)
    cm.check([str(c) for c in frame.columns])
    prepared, report = prepare_batch(frame, cm, batch=0)
    model = (model or "embedded").strip()
    lm = parse_label_map(label_map)
    with session_scope() as s:
        if s.scalars(select(Monitor).where(Monitor.name == name)).first() is not None:
            raise ConflictError(f"A monitor named {name!r} already exists.", hint="Pick another name or open it.")
        row = Monitor(
            name=name,
            dataset_version_id=dataset_version_id,
            mapping=cm.to_dict(),
            model=model,
            meta={**dict(meta or {}), "label_map": lm, "batches": [report.to_dict()], "next_batch": 1},
            owner=who.name,
        )
        s.add(row)
        s.flush()
        monitor_id = row.id
    if len(prepared):
        write_pending(monitor_id, prepared, 0)
    return get_monitor(monitor_id, actor=who), report


def append_batch(monitor_id: str, frame: pd.DataFrame, *, actor: Actor | None = None) -> IngestReport:
    """Validate a new batch with the monitor's mapping and queue its new rows for scoring (owner or admin)."""
    info = get_monitor(monitor_id, action="change", actor=actor)
    cm = ColumnMapping.from_dict(info.mapping)
    with monitor_lock(info.id):
        existing = parquet_ids(rows_path(info.id))
        for p in pending_files(info.id):
            existing |= parquet_ids(p)
        batch = int(info.meta.get("next_batch", 1))
        prepared, report = prepare_batch(frame, cm, existing_ids=existing, batch=batch)
        if len(prepared):
            write_pending(info.id, prepared, batch)
        batches = [*list(info.meta.get("batches", [])), report.to_dict()][-50:]
        update_meta(info.id, next_batch=batch + 1, batches=batches)
    return report


def update_model(
    monitor_id: str, model: str, label_map: Mapping[str, str] | str | None = None, *, actor: Actor | None = None
) -> MonitorInfo:
    """Change the model (or its label mapping; owner or admin); every row is queued to be scored again."""
    from aigc_core.sentiment import parse_label_map

    info = get_monitor(monitor_id, action="change", actor=actor)
    lm = parse_label_map(label_map)
    with monitor_lock(info.id, "scoring"), monitor_lock(info.id):
        with session_scope() as s:
            row = s.get(Monitor, info.id)
            assert row is not None
            row.model = (model or "embedded").strip()
            meta = dict(row.meta or {})
            meta["label_map"] = lm
            row.meta = meta
        path = rows_path(info.id)
        if path.exists():
            old = pd.read_parquet(path)
            old = old.drop(columns=[c for c in SCORE_COLUMNS if c in old.columns])
            write_pending(info.id, old, 0, "-rescore")
            path.unlink()
    return get_monitor(info.id, actor=actor)


def delete_monitor(monitor_id: str, *, actor: Actor | None = None) -> None:
    """Delete a monitor, its rules, alerts and files (owner or admin; audited)."""
    info = get_monitor(monitor_id, action="change", actor=actor)
    with session_scope() as s:
        row = s.get(Monitor, info.id)
        if row is not None:
            s.delete(row)
    shutil.rmtree(monitor_dir(info.id), ignore_errors=True)
    record(current(actor), "monitor.delete", "monitor", info.id, detail={"name": info.name, "owner": info.owner})


def load_rows(monitor_id: str, columns: list[str] | None = None, *, actor: Actor | None = None) -> pd.DataFrame:
    """The scored rows of a monitor the acting user may see (empty frame before the first scoring run)."""
    path = rows_path(check_monitor(monitor_id, actor=actor))
    if not path.exists():
        return empty_rows()
    return pd.read_parquet(path, columns=columns)


def monitor_data(monitor_id: str, *, actor: Actor | None = None) -> MonitorData:
    """The dashboard engine over the rows of a monitor the acting user may see (cached until the rows change)."""
    from aigc_core.monitor.aggregate import load_data

    return load_data(rows_path(check_monitor(monitor_id, actor=actor)))

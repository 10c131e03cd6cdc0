"""Monitors: a stream of texts (a dataset version plus appended batches) with a column mapping and a model.

Batches are validated (timestamps parsed to UTC, empty texts and duplicate ids dropped and reported)
and queued as pending Parquet files under ``<data_dir>/monitors/<id>/pending/``. Scoring goes through
the store's score cache (each text is scored once per model version) and merges the pending rows into
``<data_dir>/monitors/<id>/rows.parquet`` (written atomically), which the dashboard queries. Alerts are
evaluated after every scoring run.

A monitor belongs to the user who created it and is private to them until shared with the team
(:func:`set_monitor_shared`); admins see and change every monitor. Reading needs the read right on the monitor,
adding batches, scoring, changing the model and deleting need the change right (its owner or an admin), and
watched folders are set by admins only.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import random
import re
import shutil
import stat
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from aigc_core.errors import ConflictError, NotFoundError, UserInputError
from aigc_core.settings import get_settings
from aigc_core.storage import atomic_path
from aigc_core.store import Monitor, session_scope
from aigc_core.users.audit import record
from aigc_core.users.roles import Action, Actor, acting_as, check_item, current, require, visible_filter

ROLES: tuple[str, ...] = ("text", "timestamp", "topic", "source", "author", "id")
REQUIRED_ROLES: tuple[str, ...] = ("text", "timestamp")
INLINE_MAX_ROWS = 2_000  # larger scoring runs go through the job runner when it is installed
SCORE_CHUNK = 2_000  # texts scored (and cached) per step: progress, cancellation and resume points
SCORE_JOB_KIND = "monitor.score"
CANONICAL = ("row_id", "ts", "text", "topic", "source", "author", "batch", "ingested_at")
SCORE_COLUMNS = ("text_hash", "label", "score", "prob_negative", "prob_neutral", "prob_positive")
REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_TWEETS = REPO_ROOT / "assets" / "samples" / "tweets_sample.csv"
_SHARED_TWEETS = REPO_ROOT.parent / "shared" / "data" / "tweets_sentiment.csv"

_TZ_RE = re.compile(r"(?:Z|[+-]\d{2}(?::?\d{2})?|\b(?:UTC|GMT))\s*$", re.IGNORECASE)
_OFFSET_RE = re.compile(r"(Z|[+-]\d{2}(?::?\d{2})?|UTC|GMT)\s*$", re.IGNORECASE)


# --------------------------------------------------------------------------------------------
# Column mapping and batch validation
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ColumnMapping:
    """Which input column plays which role; text and timestamp are required."""

    text: str
    timestamp: str
    topic: str | None = None
    source: str | None = None
    author: str | None = None
    id: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnMapping:
        """From ``{role: column}``; empty values mean the role is not mapped."""
        unknown = sorted(set(data) - set(ROLES))
        if unknown:
            raise UserInputError(f"Unknown column roles: {', '.join(unknown)}.", hint=f"Use {', '.join(ROLES)}.")
        clean = {k: (str(v).strip() if v is not None and str(v).strip() else None) for k, v in data.items()}
        missing = [r for r in REQUIRED_ROLES if not clean.get(r)]
        if missing:
            raise UserInputError(
                f"The column mapping has no {' and no '.join(missing)} column.",
                hint="Pick the column holding the texts and the one holding their timestamps.",
            )
        return cls(**clean)  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, str | None]:
        """``{role: column or None}``."""
        return asdict(self)

    def check(self, columns: list[str]) -> None:
        """Raise a UserInputError when a mapped column is not in ``columns``."""
        missing = [f"{role} → {col!r}" for role, col in self.to_dict().items() if col and col not in columns]
        if missing:
            raise UserInputError(
                f"The batch lacks mapped columns: {', '.join(missing)}.",
                hint=f"Its columns are: {', '.join(map(str, columns))}. Upload a file with the same columns "
                "as the monitor's mapping.",
            )


@dataclass
class IngestReport:
    """What happened to the rows of one batch."""

    n_input: int = 0
    n_kept: int = 0
    n_bad_timestamps: int = 0
    bad_timestamp_examples: list[dict[str, Any]] = field(default_factory=list)
    n_empty_texts: int = 0
    n_duplicate_ids: int = 0
    duplicate_id_examples: list[str] = field(default_factory=list)
    n_naive_timestamps: int = 0
    offsets: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    batch: int = 0
    skipped: bool = False  # a watched file that was not read (the notes say why)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        return asdict(self)

    def summary(self) -> str:
        """One paragraph for the UI (only the notes for a skipped file)."""
        if self.skipped:
            return " ".join(self.notes)
        parts = [f"{self.n_kept:,} of {self.n_input:,} rows kept."]
        if self.n_bad_timestamps:
            parts.append(f"{self.n_bad_timestamps:,} rows with a timestamp that does not parse were excluded.")
        if self.n_empty_texts:
            parts.append(f"{self.n_empty_texts:,} rows with an empty text were excluded.")
        if self.n_duplicate_ids:
            parts.append(f"{self.n_duplicate_ids:,} rows with a duplicate id were dropped (the first was kept).")
        parts.extend(self.notes)
        return " ".join(parts)


def parse_timestamps(values: pd.Series) -> tuple[pd.Series, dict[str, Any]]:
    """Parse timestamps to naive UTC; returns the parsed series (NaT where unparseable) and what was found.

    Aware values are converted to UTC; values without a time zone are taken as UTC. Numbers are read
    as Unix epoch seconds (or milliseconds when larger than 1e11).
    """
    info: dict[str, Any] = {"naive": 0, "offsets": []}
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        parsed = values.dt.tz_convert("UTC").dt.tz_localize(None)
        info["offsets"] = [str(values.dt.tz)]
        return parsed.astype("datetime64[us]"), info
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        info["naive"] = int(values.notna().sum())
        return values.astype("datetime64[us]"), info
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        num = pd.to_numeric(values, errors="coerce").astype("float64")
        unit_ms = num.abs() > 1e11
        parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us]")
        with np.errstate(all="ignore"):
            secs = pd.to_datetime(num.where(~unit_ms), unit="s", errors="coerce")
            msecs = pd.to_datetime(num.where(unit_ms), unit="ms", errors="coerce")
        parsed = secs.where(secs.notna(), msecs).astype("datetime64[us]")
        info["offsets"] = ["epoch"]
        return parsed, info
    text = values.astype("string").str.strip()
    text = text.where(text != "", pd.NA)
    offsets = text.str.extract(_OFFSET_RE, expand=False)
    has_tz = offsets.notna()
    with contextlib.suppress(Exception), _quiet_warnings():
        parsed = pd.to_datetime(text, utc=True, errors="coerce", format="mixed")
        out = parsed.dt.tz_localize(None).astype("datetime64[us]")
        info["naive"] = int((out.notna() & ~has_tz).sum())
        info["offsets"] = sorted({_norm_offset(o) for o in offsets[out.notna() & has_tz].dropna().unique().tolist()})
        return out, info
    # Fallback: one value at a time (a value that breaks the vectorised parser).
    out_list = []
    for v in text.tolist():
        try:
            t = pd.Timestamp(v) if v is not pd.NA and v is not None else pd.NaT
            if t is not pd.NaT and t.tzinfo is not None:
                t = t.tz_convert("UTC").tz_localize(None)
        except (ValueError, TypeError, OverflowError):
            t = pd.NaT
        out_list.append(t)
    out = pd.Series(out_list, index=values.index, dtype="datetime64[us]")
    info["naive"] = int((out.notna() & ~has_tz).sum())
    info["offsets"] = sorted({_norm_offset(o) for o in offsets[out.notna() & has_tz].dropna().unique().tolist()})
    return out, info


def _norm_offset(o: str) -> str:
    o = o.strip().upper()
    if o in {"Z", "UTC", "GMT", "+00:00", "+0000", "+00", "-00:00"}:
        return "UTC"
    if len(o) == 5 and ":" not in o:
        o = o[:3] + ":" + o[3:]
    if len(o) == 3:
        o += ":00"
    return o


@contextlib.contextmanager
def _quiet_warnings() -> Iterator[None]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def prepare_batch(
    frame: pd.DataFrame,
    mapping: ColumnMapping,
    *,
    existing_ids: set[str] | None = None,
    batch: int = 0,
) -> tuple[pd.DataFrame, IngestReport]:
    """Validate a batch and bring it to the monitor's row layout (canonical columns + the other input columns)."""
    if frame is None or len(frame.columns) == 0:
        raise UserInputError("The batch has no columns.", hint="Upload a table with a header row.")
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    mapping.check(list(frame.columns))
    report = IngestReport(n_input=len(frame), batch=batch)
    if len(frame) == 0:
        report.notes.append("The batch is empty.")
        return _empty_rows(), report
    ts, info = parse_timestamps(frame[mapping.timestamp])
    bad = ts.isna()
    report.n_bad_timestamps = int(bad.sum())
    if report.n_bad_timestamps:
        idx = np.flatnonzero(bad.to_numpy())[:10]
        report.bad_timestamp_examples = [
            {"row": int(i) + 1, "value": _show(frame[mapping.timestamp].iloc[i])} for i in idx
        ]
    report.n_naive_timestamps = int(info.get("naive", 0))
    report.offsets = list(info.get("offsets", []))
    real_offsets = [o for o in report.offsets if o not in {"UTC", "epoch"}]
    if len(report.offsets) > 1 or (real_offsets and report.n_naive_timestamps):
        report.notes.append(
            "Timestamps came with mixed time zones ("
            + ", ".join(report.offsets or ["none"])
            + ")"
            + (f" and {report.n_naive_timestamps:,} without one, taken as UTC" if report.n_naive_timestamps else "")
            + "; all were converted to UTC."
        )
    elif real_offsets:
        report.notes.append(f"Timestamps at {real_offsets[0]} were converted to UTC.")
    raw_text = frame[mapping.text]
    text = raw_text.astype("string").fillna("")
    empty = text.str.strip() == ""
    report.n_empty_texts = int((empty & ~bad).sum())
    keep = ~bad & ~empty
    if mapping.id:
        ids = frame[mapping.id].astype("string").fillna("").str.strip()
        missing_id = ids == ""
        ids = ids.where(~missing_id, pd.Series([f"b{batch}:{i}" for i in range(len(frame))], dtype="string"))
    else:
        ids = pd.Series([f"b{batch}:{i}" for i in range(len(frame))], dtype="string")
    dup = ids.duplicated(keep="first") & keep
    if existing_ids:
        dup = dup | (ids.isin(list(existing_ids)) & keep)
    report.n_duplicate_ids = int(dup.sum())
    if report.n_duplicate_ids:
        report.duplicate_id_examples = ids[dup].head(10).tolist()
    keep &= ~dup
    out = pd.DataFrame(
        {
            "row_id": ids,
            "ts": ts,
            "text": text,
            "topic": _role_column(frame, mapping.topic),
            "source": _role_column(frame, mapping.source),
            "author": _role_column(frame, mapping.author),
            "batch": np.full(len(frame), batch, dtype="int64"),
            "ingested_at": pd.Timestamp(datetime.now(UTC).replace(tzinfo=None)),
        }
    )
    mapped = {c for c in mapping.to_dict().values() if c}
    reserved = set(CANONICAL) | set(SCORE_COLUMNS)
    for col in frame.columns:
        if col in mapped:
            continue
        name = f"orig_{col}" if col in reserved else col
        out[name] = frame[col]
    out = out[keep.to_numpy()].reset_index(drop=True)
    report.n_kept = len(out)
    return out, report


def _role_column(frame: pd.DataFrame, col: str | None) -> pd.Series:
    if not col:
        return pd.Series([None] * len(frame), dtype="string")
    s = frame[col].astype("string").str.strip()
    return s.where(s != "", pd.NA)


def _show(value: Any) -> str:
    text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
    return text[:60] if text else "(empty)"


def _empty_rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row_id": pd.Series([], dtype="string"),
            "ts": pd.Series([], dtype="datetime64[us]"),
            "text": pd.Series([], dtype="string"),
            "topic": pd.Series([], dtype="string"),
            "source": pd.Series([], dtype="string"),
            "author": pd.Series([], dtype="string"),
            "batch": pd.Series([], dtype="int64"),
            "ingested_at": pd.Series([], dtype="datetime64[us]"),
        }
    )


# --------------------------------------------------------------------------------------------
# Monitor records and files
# --------------------------------------------------------------------------------------------
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


def monitor_dir(monitor_id: str) -> Path:
    """``<data_dir>/monitors/<id>/`` (created)."""
    path = get_settings().resolved_data_dir / "monitors" / monitor_id
    path.mkdir(parents=True, exist_ok=True)
    return path


def rows_path(monitor_id: str) -> Path:
    """The Parquet file of the monitor's scored rows (may not exist yet)."""
    return monitor_dir(monitor_id) / "rows.parquet"


def _pending_dir(monitor_id: str) -> Path:
    path = monitor_dir(monitor_id) / "pending"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _pending_files(monitor_id: str) -> list[Path]:
    return sorted(_pending_dir(monitor_id).glob("*.parquet"))


def _parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows) if path.exists() else 0


def _parquet_ids(path: Path) -> set[str]:
    import pyarrow.parquet as pq

    if not path.exists():
        return set()
    return {str(x) for x in pq.read_table(path, columns=["row_id"]).column("row_id").to_pylist()}


_locks: dict[tuple[str, str], threading.Lock] = {}
_locks_guard = threading.Lock()


@contextlib.contextmanager
def _monitor_lock(monitor_id: str, name: str = "files") -> Iterator[None]:
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


def _info(row: Monitor) -> MonitorInfo:
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    meta = dict(row.meta or {})
    return MonitorInfo(
        id=row.id,
        name=row.name,
        dataset_version_id=row.dataset_version_id,
        mapping=dict(row.mapping or {}),
        model=row.model,
        label_map=meta.get("label_map"),
        created_at=created,
        n_rows=_parquet_rows(rows_path(row.id)),
        n_pending=sum(_parquet_rows(p) for p in _pending_files(row.id)),
        meta=meta,
        owner=row.owner or "",
        shared=bool(row.shared),
    )


def _missing(monitor_id: str) -> NotFoundError:
    return NotFoundError(f"There is no monitor {monitor_id!r}.", hint="Pick one from the list or create one.")


def _monitor_row(s: Any, monitor_id: str, action: Action, actor: Actor | None) -> Monitor:
    """The monitor row (by id or name) when the acting user may ``action`` it; another's private monitor reads as
    missing."""
    row = s.get(Monitor, monitor_id) or s.scalars(select(Monitor).where(Monitor.name == monitor_id)).first()
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


def _update_meta(monitor_id: str, **values: Any) -> None:
    with session_scope() as s:
        row = s.get(Monitor, monitor_id)
        if row is None:
            raise NotFoundError(f"There is no monitor {monitor_id!r}.", hint="Pick one from the list.")
        meta = dict(row.meta or {})
        meta.update(values)
        row.meta = meta


def _dataset_version_path(version_id: str, actor: Actor | None) -> Path:
    """The files of a dataset version the acting user may read (its dataset is theirs or shared)."""
    from aigc_core.store import Dataset, DatasetVersion

    missing = NotFoundError(f"Dataset version {version_id!r} does not exist.", hint="Pick one on the Data page.")
    with session_scope() as s:
        row = s.get(DatasetVersion, version_id)
        if row is None:
            raise missing
        ds = s.get(Dataset, row.dataset_id)
        check_item(
            actor,
            "read",
            owner=(ds.owner or "") if ds is not None else "",
            shared=bool(ds.shared) if ds is not None else False,
            kind="dataset_version",
            item_id=version_id,
            not_found=missing,
        )
        return Path(row.path)


def load_dataset_version(version_id: str, *, actor: Actor | None = None) -> pd.DataFrame:
    """All rows of a dataset version the acting user may read (through ``aigc_core.data`` when installed, else its
    Parquet path)."""
    path = _dataset_version_path(version_id, actor)
    if importlib.util.find_spec("aigc_core.data") is not None:
        from aigc_core import data as data_api

        loader = getattr(data_api, "load_version", None)
        if loader is not None:
            with acting_as(current(actor)):  # the data layer checks the same user again
                return loader(version_id)
    if path.is_dir():
        files = sorted(path.rglob("*.parquet"))
        if not files:
            raise NotFoundError(f"Dataset version {version_id!r} has no data files.", hint="Re-import the dataset.")
        return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    return pd.read_parquet(path)


def dataset_roles(version_id: str, *, actor: Actor | None = None) -> dict[str, str]:
    """The column roles stored on a dataset version the acting user may read, as a monitor mapping."""
    from aigc_core.store import DatasetVersion

    _dataset_version_path(version_id, actor)
    with session_scope() as s:
        row = s.get(DatasetVersion, version_id)
        roles = dict(row.roles or {}) if row is not None else {}
    out: dict[str, str] = {}
    for role, col in roles.items():
        key = "id" if role in {"id", "id_column"} else role.removesuffix("_column")
        if key in ROLES and isinstance(col, str) and col:
            out[key] = col
    return out


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
        _dataset_version_path(dataset_version_id, who)
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
        _write_pending(monitor_id, prepared, 0)
    return get_monitor(monitor_id, actor=who), report


def _write_pending(monitor_id: str, rows: pd.DataFrame, batch: int, suffix: str = "") -> Path:
    target = _pending_dir(monitor_id) / f"{batch:06d}{suffix}.parquet"
    with atomic_path(target) as tmp:
        rows.to_parquet(tmp, index=False)
    return target


def append_batch(monitor_id: str, frame: pd.DataFrame, *, actor: Actor | None = None) -> IngestReport:
    """Validate a new batch with the monitor's mapping and queue its new rows for scoring (owner or admin)."""
    info = get_monitor(monitor_id, action="change", actor=actor)
    cm = ColumnMapping.from_dict(info.mapping)
    with _monitor_lock(info.id):
        existing = _parquet_ids(rows_path(info.id))
        for p in _pending_files(info.id):
            existing |= _parquet_ids(p)
        batch = int(info.meta.get("next_batch", 1))
        prepared, report = prepare_batch(frame, cm, existing_ids=existing, batch=batch)
        if len(prepared):
            _write_pending(info.id, prepared, batch)
        batches = [*list(info.meta.get("batches", [])), report.to_dict()][-50:]
        _update_meta(info.id, next_batch=batch + 1, batches=batches)
    return report


def update_model(
    monitor_id: str, model: str, label_map: Mapping[str, str] | str | None = None, *, actor: Actor | None = None
) -> MonitorInfo:
    """Change the model (or its label mapping; owner or admin); every row is queued to be scored again."""
    from aigc_core.sentiment import parse_label_map

    info = get_monitor(monitor_id, action="change", actor=actor)
    lm = parse_label_map(label_map)
    with _monitor_lock(info.id, "scoring"), _monitor_lock(info.id):
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
            _write_pending(info.id, old, 0, "-rescore")
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


WATCH_SUFFIXES = (".csv", ".tsv", ".xlsx", ".json", ".jsonl", ".parquet")


def watch_roots() -> list[Path]:
    """The folders monitors may watch (``AIGC_WATCH_ROOTS``), resolved; the default inbox is created."""
    settings = get_settings()
    roots = settings.watch_root_paths
    if not settings.watch_roots.strip():
        for root in roots:
            root.mkdir(parents=True, exist_ok=True)
    return [r.resolve() for r in roots]


def _under_roots(path: Path, roots: list[Path]) -> bool:
    return any(path.is_relative_to(r) for r in roots)


def _outside_roots_error(folder: str | Path, roots: list[Path]) -> UserInputError:
    shown = ", ".join(str(r) for r in roots)
    return UserInputError(
        f"The folder {str(folder)!r} is outside the folders monitors may watch ({shown}).",
        hint="Use a folder under one of them; an admin can change them with the setting AIGC_WATCH_ROOTS.",
    )


def _allowed_folder(folder: str | Path) -> Path:
    """The resolved folder (symlinks followed; a relative path is taken under the first root) when it lies
    under a watch root; UserInputError otherwise."""
    roots = watch_roots()
    path = Path(folder).expanduser()
    if not path.is_absolute():
        path = roots[0] / path
    resolved = path.resolve()
    if not _under_roots(resolved, roots):
        raise _outside_roots_error(folder, roots)
    return resolved


def set_watch_folder(monitor_id: str, folder: str | Path | None, *, actor: Actor | None = None) -> MonitorInfo:
    """Set (or clear, with None/'') the folder whose new files are appended as batches by :func:`poll_folder`
    (admins only; audited).

    Only folders under the admin's watch roots (:func:`watch_roots`) are accepted.
    """
    mid = check_monitor(monitor_id, "read", actor=actor)
    who = require(actor, "admin", what="watched folders", kind="monitor", item_id=mid)
    if folder and str(folder).strip():
        path = _allowed_folder(str(folder).strip() if isinstance(folder, str) else folder)
        if not path.is_dir():
            raise UserInputError(f"The folder {str(folder)!r} does not exist.", hint="Give an existing folder path.")
        _update_meta(mid, watch_folder=str(path))
    else:
        _update_meta(mid, watch_folder="")
    record(who, "monitor.watch_folder", "monitor", mid, detail={"folder": str(folder or "")})
    return get_monitor(mid, actor=who)


def _skipped(name: str, reason: str) -> tuple[str, IngestReport]:
    return name, IngestReport(notes=[f"{name} was skipped: {reason}"], skipped=True)


def _read_capped(real: Path, limit: int) -> tuple[bytes | None, str]:
    """(content, '') of a checked regular file, or (None, reason) when it changed or grew over ``limit``."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(real, flags)
    except OSError:
        return None, "it cannot be read (it changed while being checked, or no permission)."
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None, "it changed while being checked."
        data = fh.read(limit + 1)
    if len(data) > limit:
        return None, f"it grew over the upload limit of {_mb(limit)} (AIGC_MAX_UPLOAD_MB)."
    return data, ""


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:,.1f} MB"


def poll_folder(monitor_id: str, *, actor: Actor | None = None) -> list[tuple[str, IngestReport]]:
    """Append every file of the watched folder not seen before (by name, size and modification time; owner or
    admin).

    The folder is checked against the watch roots again; links leading outside them and files over the upload
    limit are skipped (reported, not read, tried again on the next poll).
    """
    info = get_monitor(monitor_id, action="change", actor=actor)
    folder = info.meta.get("watch_folder") or ""
    if not folder:
        raise UserInputError("This monitor watches no folder.", hint="Set a folder to watch first.")
    roots = watch_roots()
    path = Path(folder).resolve()
    if not _under_roots(path, roots):
        raise _outside_roots_error(folder, roots)
    if not path.is_dir():
        raise UserInputError(f"The watched folder {folder!r} is gone.", hint="Set another folder.")
    limit = get_settings().max_upload_bytes
    seen = set(info.meta.get("watch_seen", []))
    out: list[tuple[str, IngestReport]] = []
    for entry in sorted(p for p in path.iterdir() if p.suffix.lower() in WATCH_SUFFIXES):
        real = entry.resolve()
        if not _under_roots(real, roots):
            out.append(_skipped(entry.name, "it is a link to a file outside the watched folders."))
            continue
        try:
            st = os.stat(real)
        except OSError:
            out.append(_skipped(entry.name, "it cannot be read (a broken link or no permission)."))
            continue
        if not stat.S_ISREG(st.st_mode):
            continue  # folders, pipes, devices
        stamp = f"{entry.name}|{st.st_size}|{st.st_mtime_ns}"
        if stamp in seen:
            continue
        if st.st_size > limit:
            reason = f"it is {_mb(st.st_size)}, over the upload limit of {_mb(limit)} (AIGC_MAX_UPLOAD_MB)."
            out.append(_skipped(entry.name, reason))
            continue
        data, reason = _read_capped(real, limit)
        if data is None:
            out.append(_skipped(entry.name, reason))
            continue
        report = append_batch(info.id, read_table(data, entry.name), actor=actor)
        report.notes.append(f"From {entry.name}.")
        seen.add(stamp)
        _update_meta(info.id, watch_seen=sorted(seen)[-5000:])
        out.append((entry.name, report))
    return out


# --------------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------------
@dataclass
class ScoreRun:
    """Result of one scoring run of a monitor."""

    monitor_id: str
    n_rows: int = 0
    n_new_scores: int = 0
    n_cached: int = 0
    n_unscorable: int = 0
    model_version: str = ""
    n_alerts: int = 0
    alert_error: str = ""
    cancelled: bool = False
    undelivered: list[str] = field(default_factory=list)  # alerts whose webhooks wait for the worker
    webhook_job_id: str = ""  # the delivery job queued for them

    @property
    def webhooks_queued(self) -> bool:
        """True when webhooks of this run are left to the worker's delivery job."""
        return bool(self.webhook_job_id)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (job result)."""
        return asdict(self)


def _pending_count(monitor_id: str) -> int:
    return sum(_parquet_rows(p) for p in _pending_files(monitor_id))


def pending_rows(monitor_id: str, *, actor: Actor | None = None) -> int:
    """Rows of a monitor the acting user may see that wait to be scored."""
    return _pending_count(check_monitor(monitor_id, actor=actor))


def score_pending(
    monitor_id: str,
    *,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    evaluate_alerts: bool = True,
    deliver_webhooks: bool = True,
    actor: Actor | None = None,
) -> ScoreRun:
    """Score the pending rows (cached scores reused; owner or admin), merge them into the rows file, then evaluate
    alerts, posting their webhooks unless ``deliver_webhooks`` is False (then ``undelivered`` lists them).

    Scores are cached chunk by chunk, so a cancelled run resumes where it stopped.
    """
    from aigc_core.sentiment import scoring

    info = get_monitor(monitor_id, action="change", actor=actor)
    run = ScoreRun(monitor_id=info.id)
    with _monitor_lock(info.id, "scoring"):
        with _monitor_lock(info.id):
            files = _pending_files(info.id)
            if not files:
                return run
            pending = pd.concat([pd.read_parquet(p) for p in files], ignore_index=True)
        texts = pending["text"].astype("string").fillna("").tolist()
        total = len(texts)
        labels: list[Any] = []
        scores: list[np.ndarray] = []
        probs: list[np.ndarray] = []
        label_order: tuple[str, ...] = ()
        for start in range(0, total, SCORE_CHUNK):
            if should_stop is not None and should_stop():
                run.cancelled = True
                return run
            chunk = texts[start : start + SCORE_CHUNK]
            sub = None if progress is None else _offset(progress, start, total)
            result, n_new = scoring.score_with_cache(chunk, info.model, label_map=info.label_map, progress=sub)
            run.n_new_scores += n_new
            run.model_version = result.model_version
            label_order = tuple(result.label_order)
            labels.extend(result.labels)
            scores.append(np.asarray(result.scores, dtype="float32"))
            probs.append(np.asarray(result.probs, dtype="float32"))
            if progress is not None:
                progress(min(start + SCORE_CHUNK, total), total)
        score_arr = np.concatenate(scores) if scores else np.zeros(0, dtype="float32")
        prob_arr = np.concatenate(probs) if probs else np.zeros((0, len(label_order)), dtype="float32")
        scored = pending.copy()
        scored["text_hash"] = [scoring.text_hash(t) for t in texts]
        scored["label"] = pd.array(labels, dtype="string")
        scored["score"] = score_arr
        for lab in ("negative", "neutral", "positive"):
            scored[f"prob_{lab}"] = prob_arr[:, label_order.index(lab)] if lab in label_order else np.nan
        ok = scored["label"].notna()
        run.n_unscorable = int((~ok).sum())
        scored = scored[ok.to_numpy()]
        run.n_cached = len(scored) - min(run.n_new_scores, len(scored))
        with _monitor_lock(info.id):  # batches appended meanwhile stay pending for the next run
            path = rows_path(info.id)
            merged = pd.concat([pd.read_parquet(path), scored], ignore_index=True) if path.exists() else scored
            merged = merged.sort_values("ts", kind="stable").reset_index(drop=True)
            with atomic_path(path) as tmp:
                merged.to_parquet(tmp, index=False)
            for p in files:
                p.unlink(missing_ok=True)
            run.n_rows = len(merged)
            _update_meta(info.id, model_version=run.model_version, scored_at=datetime.now(UTC).isoformat())
    if evaluate_alerts:
        try:
            from aigc_core.monitor import alerts

            ev = alerts.evaluate(info.id, deliver=deliver_webhooks, actor=actor)
            run.n_alerts = len(ev.fired)
            run.undelivered = list(ev.undelivered)
        except Exception as exc:  # scores are saved; the alert failure is reported, not raised
            run.alert_error = f"{type(exc).__name__}: {exc}"
    return run


def _offset(progress: Callable[[int, int], None], offset: int, total: int) -> Callable[[int, int], None]:
    def report(done: int, _n: int) -> None:
        progress(offset + done, total)

    return report


@dataclass
class ScoringStart:
    """How scoring was started: a job id (background) or the finished inline run."""

    job_id: str | None = None
    run: ScoreRun | None = None


def start_scoring(
    monitor_id: str,
    *,
    inline_max_rows: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    actor: Actor | None = None,
) -> ScoringStart:
    """Score pending rows (owner or admin): inline for small batches, as a ``monitor.score`` job for large ones.

    An inline run stores its alerts but never posts webhooks (it may run inside a page): a delivery job is queued
    for them. ``inline_max_rows`` defaults to :data:`INLINE_MAX_ROWS`.
    """
    mid = check_monitor(monitor_id, "change", actor=actor)
    n = _pending_count(mid)
    limit = INLINE_MAX_ROWS if inline_max_rows is None else inline_max_rows
    if n > limit:
        import aigc_core.monitor.jobs  # noqa: F401 - registers the job kind in this process
        from aigc_core import jobs

        return ScoringStart(job_id=jobs.submit(SCORE_JOB_KIND, {"monitor_id": mid}, actor=actor))
    run = score_pending(mid, progress=progress, deliver_webhooks=False, actor=actor)
    if run.undelivered:
        from aigc_core.monitor import alerts

        try:
            run.webhook_job_id = alerts.queue_delivery(mid, run.undelivered, actor=actor)
        except Exception as exc:  # the alerts are stored; a later delivery pass sends their webhooks
            run.alert_error = f"the webhooks could not be queued for the worker: {exc}"
    return ScoringStart(run=run)


def load_rows(monitor_id: str, columns: list[str] | None = None, *, actor: Actor | None = None) -> pd.DataFrame:
    """The scored rows of a monitor the acting user may see (empty frame before the first scoring run)."""
    path = rows_path(check_monitor(monitor_id, actor=actor))
    if not path.exists():
        return _empty_rows()
    return pd.read_parquet(path, columns=columns)


def monitor_data(monitor_id: str, *, actor: Actor | None = None):  # noqa: ANN201 - aggregate.MonitorData
    """The dashboard engine over the rows of a monitor the acting user may see (cached until the rows change)."""
    from aigc_core.monitor.aggregate import load_data

    return load_data(rows_path(check_monitor(monitor_id, actor=actor)))


# --------------------------------------------------------------------------------------------
# Demo stream: the sample tweets replayed with assigned timestamps
# --------------------------------------------------------------------------------------------
DEMO_NOTE = (
    "Demo stream: the sample tweets have no real timestamps. Replay timestamps were assigned for this demo "
    "(with a planted complaint spike about airlines); the sentiment scores are real. Press 'Next demo batch' "
    "to stream in the next part of the replay."
)
_TOPIC_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "airline",
        ("@united", "@southwestair", "@jetblue", "@americanair", "@usairways", "@virginamerica", "@delta", "flight"),
    ),
    ("apple", ("apple", "iphone", "ipad", "ios", "@apple", "itunes", "mac")),
    ("google", ("google", "android", "gmail", "youtube")),
    ("self-driving cars", ("self-driving", "driverless", "self driving", "autonomous")),
    ("deflategate", ("deflategate", "brady", "patriots", "goodell", "nfl")),
)


def sample_tweets_path() -> Path:
    """The shipped sample tweets (``assets/samples/tweets_sample.csv``), or the project's shared copy."""
    for path in (SAMPLE_TWEETS, _SHARED_TWEETS):
        if path.exists():
            return path
    raise NotFoundError(
        "The sample tweets are not installed.",
        hint=f"Expected {SAMPLE_TWEETS.relative_to(REPO_ROOT)}; create a monitor from your own dataset instead.",
    )


def guess_topic(text: str) -> str:
    """A topic for a sample tweet from keyword rules (airlines, apple, google, ...), else 'other'."""
    low = str(text).lower()
    for topic, words in _TOPIC_RULES:
        if any(w in low for w in words):
            return topic
    return "other"


def demo_frame(n_rows: int = 1200, *, days: int = 14, seed: int = 0, now: datetime | None = None) -> pd.DataFrame:
    """Sample tweets with topics and replay timestamps (assigned when the sample has none), oldest first."""
    path = sample_tweets_path()
    df = pd.read_csv(path)
    if "text" not in df.columns:
        raise UserInputError("The sample tweets have no 'text' column.", hint=f"Check {path}.")
    rng = random.Random(seed)
    df = df.sample(n=min(n_rows, len(df)), random_state=seed).reset_index(drop=True)
    if "topic" not in df.columns:
        df["topic"] = [guess_topic(t) for t in df["text"]]
    if "id" not in df.columns:
        df.insert(0, "id", [f"tw{i:06d}" for i in range(len(df))])
    if "replay_time" not in df.columns:
        end = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0, tzinfo=None)
        start = end - timedelta(days=days)
        span = (end - start).total_seconds()
        times = [start + timedelta(seconds=rng.random() * span) for _ in range(len(df))]
        # Planted spike: negative airline complaints gathered into 8 hours two days before the end.
        label_col = "sentiment" if "sentiment" in df.columns else None
        if label_col is not None:
            spike_idx = [
                i for i in range(len(df)) if df.at[i, label_col] == "negative" and df.at[i, "topic"] == "airline"
            ]
            rng.shuffle(spike_idx)
            spike_start = end - timedelta(days=2)
            for i in spike_idx[: max(10, len(spike_idx) // 3)]:
                times[i] = spike_start + timedelta(seconds=rng.random() * 8 * 3600)
        df["replay_time"] = pd.Series(times).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    df = df.assign(_t=pd.to_datetime(df["replay_time"], utc=True, errors="coerce")).sort_values("_t")
    return df.drop(columns=["_t"]).reset_index(drop=True)


DEMO_NAME = "Demo: sample tweets"


def start_demo_stream(
    *,
    name: str = DEMO_NAME,
    n_rows: int = 2000,
    days: int = 14,
    batches: int = 4,
    model: str = "embedded",
    seed: int = 0,
    with_rules: bool = True,
    actor: Actor | None = None,
) -> tuple[MonitorInfo, IngestReport]:
    """Create the acting user's demo monitor: the first 60% of the replay is queued now, the rest comes as demo
    batches. When another user's monitor has the name, the user's name is added to it.

    ``with_rules`` adds two daily alert rules (share negative above 55%, negative volume z-score above 3).
    """
    who = require(actor, "create", what="monitors")
    if batches < 1:
        raise UserInputError("The demo needs at least one batch.", hint="Use 1 or more.")
    name = _demo_name(name, who)
    df = demo_frame(n_rows, days=days, seed=seed)
    first = max(1, int(len(df) * 0.6))
    mapping = {"text": "text", "timestamp": "replay_time", "topic": "topic", "id": "id"}
    info, report = create_monitor(
        name,
        mapping=mapping,
        frame=df.iloc[:first],
        model=model,
        meta={"demo": True, "demo_note": DEMO_NOTE},
        actor=who,
    )
    rest = df.iloc[first:]
    chunks = [c for c in np.array_split(np.arange(len(rest)), max(1, batches - 1)) if len(c)]
    queue = monitor_dir(info.id) / "demo_queue"
    queue.mkdir(exist_ok=True)
    for i, idx in enumerate(chunks):
        with atomic_path(queue / f"{i:04d}.parquet") as tmp:
            rest.iloc[idx].to_parquet(tmp, index=False)
    if with_rules:
        from aigc_core.monitor import alerts

        rule = {"window": "1D", "min_volume": 30, "cooldown_s": 86400, "actor": who}
        alerts.create_rule(info.id, "share_negative", 0.55, **rule)
        alerts.create_rule(info.id, "zscore", 3.0, **rule)
    return get_monitor(info.id, actor=who), report


def _demo_name(name: str, who: Actor) -> str:
    """``name``, or ``name (user)`` when another user's monitor has it; ConflictError when the user's own has."""
    candidates = [name, f"{name} ({who.name})"]
    with session_scope() as s:
        for cand in candidates:
            row = s.scalars(select(Monitor).where(Monitor.name == cand)).first()
            if row is None:
                return cand
            if row.owner == who.name:
                break
    raise ConflictError(f"The monitor {cand!r} already exists.", hint="Open it, or delete it to restart the demo.")


def demo_batches_left(monitor_id: str, *, actor: Actor | None = None) -> int:
    """Demo batches of a monitor the acting user may see, not yet appended."""
    queue = monitor_dir(check_monitor(monitor_id, actor=actor)) / "demo_queue"
    return len(list(queue.glob("*.parquet"))) if queue.exists() else 0


def demo_next_batch(monitor_id: str, *, actor: Actor | None = None) -> IngestReport:
    """Append the next demo batch (queued for scoring; owner or admin)."""
    mid = check_monitor(monitor_id, "change", actor=actor)
    queue = monitor_dir(mid) / "demo_queue"
    files = sorted(queue.glob("*.parquet")) if queue.exists() else []
    if not files:
        raise UserInputError("The demo stream has no batches left.", hint="Delete the demo monitor to start again.")
    report = append_batch(mid, pd.read_parquet(files[0]), actor=actor)
    files[0].unlink()
    return report


# --------------------------------------------------------------------------------------------
# Helpers for the page: inputs, choices, label mapping
# --------------------------------------------------------------------------------------------
def read_table(data: bytes, filename: str) -> pd.DataFrame:
    """An uploaded batch as a frame (any format the Data page reads)."""
    if importlib.util.find_spec("aigc_core.data.readers") is not None:
        from aigc_core.data.readers import read_file

        return read_file(data, filename).df
    import io

    name = filename.lower()
    buf = io.BytesIO(data)
    try:
        if name.endswith(".parquet"):
            return pd.read_parquet(buf)
        if name.endswith(".xlsx"):
            return pd.read_excel(buf)
        if name.endswith((".jsonl", ".ndjson")):
            return pd.read_json(buf, lines=True)
        if name.endswith(".json"):
            return pd.read_json(buf)
        return pd.read_csv(buf, sep=None, engine="python")
    except Exception as exc:
        raise UserInputError(f"Could not read {filename}: {exc}", hint="Upload CSV, XLSX, JSON(L) or Parquet.") from exc


def dataset_versions(*, actor: Actor | None = None) -> list[tuple[str, str]]:
    """(version id, label) of the dataset versions the acting user may read, newest first."""
    from aigc_core.store import Dataset, DatasetVersion

    who = current(actor)
    with session_scope() as s:
        rows = s.execute(
            select(DatasetVersion.id, Dataset.name, DatasetVersion.version, DatasetVersion.kind)
            .join(Dataset, Dataset.id == DatasetVersion.dataset_id)
            .where(visible_filter(who, Dataset.owner, Dataset.shared))
            .order_by(DatasetVersion.created_at.desc())
        ).all()
    return [(vid, f"{name} · v{ver} ({kind})") for vid, name, ver, kind in rows]


def default_model() -> str:
    """The model a new monitor starts with: the promoted classifier when there is one, else the embedded model."""
    from aigc_core.finetune.registry import promoted

    return "registry:promoted" if promoted("text-classification") is not None else "embedded"


def registry_classifiers(*, actor: Actor | None = None) -> list[tuple[str, str]]:
    """(``registry:<id>``, label) of the fine-tuned text classifiers the acting user may see, promoted first."""
    from aigc_core.finetune.registry import list_versions

    with acting_as(current(actor)):  # the registry shows each user theirs, shared and promoted versions
        versions = list_versions("text-classification")
    rows = [(v.id, v.name, v.promoted) for v in sorted(versions, key=lambda v: not v.promoted)]
    out = [(f"registry:{vid}", f"{name}{' (promoted)' if promoted else ''}") for vid, name, promoted in rows]
    if any(promoted for _, _, promoted in rows):  # follows whichever version is promoted when scoring
        out.insert(0, ("registry:promoted", "The promoted classifier (whichever is promoted)"))
    return out


def guess_mapping(columns: list[str]) -> dict[str, str]:
    """A first guess of the column roles from common column names."""
    names = {c.lower(): c for c in map(str, columns)}
    hints = {
        "text": ("text", "content", "body", "message", "review", "tweet", "comment"),
        "timestamp": ("timestamp", "replay_time", "created_at", "time", "date", "datetime", "posted_at"),
        "topic": ("topic", "category", "subject", "product"),
        "source": ("source", "channel", "platform"),
        "author": ("author", "user", "username", "handle"),
        "id": ("id", "tweet_id", "message_id", "review_id"),
    }
    out: dict[str, str] = {}
    for role, options in hints.items():
        for o in options:
            if o in names and names[o] not in out.values():
                out[role] = names[o]
                break
    return out


def model_raw_labels(model: str) -> list[str]:
    """The labels a classifier folder or hub model defines (for the label-mapping editor)."""
    import json

    spec = (model or "").strip()
    if spec.startswith("registry:"):  # the catalog's lookup: "promoted" now, owner checks, the version's task
        from aigc_core.models.catalog import TEXT_CLASSIFICATION, resolve

        spec = str(resolve(TEXT_CLASSIFICATION, spec).local_path)  # NotFoundError for another's private version
    cfg_path = Path(spec).expanduser() / "config.json"
    if cfg_path.is_file():
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    else:
        try:
            from huggingface_hub import hf_hub_download

            ref, _, rev = spec.partition("@")
            cfg = json.loads(
                Path(
                    hf_hub_download(
                        ref, "config.json", revision=rev or None, local_files_only=get_settings().is_offline
                    )
                ).read_text(encoding="utf-8")
            )
        except Exception as exc:
            raise UserInputError(
                f"Could not read the labels of {model!r}.", hint="Type the mapping as LABEL_0=negative,..."
            ) from exc
    id2label = cfg.get("id2label") or {}
    n = int(cfg.get("num_labels", len(id2label) or 0))
    return [str(id2label.get(str(i), id2label.get(i, f"LABEL_{i}"))) for i in range(n)]


def job_status(job_id: str, *, actor: Actor | None = None) -> dict[str, Any]:
    """status / progress (0..1) / message / error / result of a scoring job the acting user may see."""
    from aigc_core import jobs

    job = jobs.get(job_id, actor=actor)

    def pick(name: str, default: Any = None) -> Any:
        return job.get(name, default) if isinstance(job, dict) else getattr(job, name, default)

    return {
        "status": str(pick("status", "unknown")),
        "progress": float(pick("progress", 0.0) or 0.0),
        "message": str(pick("message", "") or ""),
        "error": str(pick("error", "") or ""),
        "result": pick("result", {}) or {},
    }

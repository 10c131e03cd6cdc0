"""Analysts' label corrections of a monitor's texts: stored per monitor, shown on the dashboard and exported as a
dataset version (retraining the monitor's classifier on them is :mod:`aigc_core.monitor.retrain`).

Who may correct: anyone who may read the monitor and start work (editors and admins; viewers only look); another
user's private monitor reads as missing. A correction replaces the earlier one of the same row; a row set back to
the model's label loses its correction. A correction may be removed by its author, the monitor's owner or an admin.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy import select

from aigc_core.errors import NotFoundError, PermissionDeniedError, UserInputError
from aigc_core.monitor.files import rows_path
from aigc_core.monitor.store import check_monitor, get_monitor
from aigc_core.store import session_scope
from aigc_core.store.models import LabelCorrection, as_utc
from aigc_core.users.audit import record
from aigc_core.users.roles import Actor, acting_as, allowed, current, require

if TYPE_CHECKING:  # pragma: no cover
    from aigc_core.data import VersionInfo
    from aigc_core.monitor.aggregate import MonitorData

LABELS: tuple[str, ...] = ("negative", "neutral", "positive")


@dataclass
class CorrectionInfo:
    """One corrected label: the row, its text, the model's label and the analyst's, who and when."""

    id: str
    monitor_id: str
    row_id: str
    text: str
    model_label: str
    label: str
    model_version: str
    owner: str
    created_at: datetime


def _info(row: LabelCorrection) -> CorrectionInfo:
    return CorrectionInfo(
        id=row.id,
        monitor_id=row.monitor_id,
        row_id=row.row_id,
        text=row.text,
        model_label=row.model_label,
        label=row.label,
        model_version=row.model_version,
        owner=row.owner,
        created_at=as_utc(row.created_at) or row.created_at,
    )


def _check_label(label: str) -> str:
    value = (label or "").strip().lower()
    if value not in LABELS:
        raise UserInputError(f"Unknown label {label!r}.", hint=f"Use one of {', '.join(LABELS)}.")
    return value


def _scored_rows(monitor_id: str, row_ids: list[str]) -> pd.DataFrame:
    """The scored rows ``row_ids`` (row_id, text, label) of a monitor (no access check)."""
    import pyarrow.parquet as pq

    path = rows_path(monitor_id)
    if not path.exists() or not row_ids:
        return pd.DataFrame(columns=["row_id", "text", "label"])
    table = pq.read_table(path, columns=["row_id", "text", "label"], filters=[("row_id", "in", list(row_ids))])
    return table.to_pandas()


def correct_labels(monitor_id: str, labels: Mapping[str, str], *, actor: Actor | None = None) -> list[CorrectionInfo]:
    """Store the analyst's labels of scored rows (``{row_id: label}``) for a monitor the acting user may read;
    viewers may not correct. A label equal to the model's removes the row's correction. Returns the stored ones."""
    who = current(actor)
    mid = check_monitor(monitor_id, "read", actor=who)
    require(who, "create", what="label corrections", kind="monitor", item_id=mid)
    wanted = {str(k): _check_label(v) for k, v in labels.items()}
    if not wanted:
        return []
    rows = _scored_rows(mid, list(wanted))
    missing = sorted(set(wanted) - set(rows["row_id"].astype(str)))
    if missing:
        raise NotFoundError(
            f"{len(missing)} row(s) are not scored rows of this monitor ({', '.join(missing[:3])}).",
            hint="Correct rows shown in the drill-down; pending rows are corrected once scored.",
        )
    info = get_monitor(mid, actor=who)
    stored: list[CorrectionInfo] = []
    with session_scope() as s:
        existing = {
            r.row_id: r
            for r in s.scalars(
                select(LabelCorrection).where(
                    LabelCorrection.monitor_id == mid, LabelCorrection.row_id.in_(list(wanted))
                )
            )
        }
        for rec in rows.itertuples(index=False):
            rid, model_label = str(rec.row_id), str(rec.label or "")
            label = wanted[rid]
            old = existing.get(rid)
            if label == model_label:
                if old is not None:
                    s.delete(old)
                continue
            if old is None:
                old = LabelCorrection(monitor_id=mid, row_id=rid)
                s.add(old)
            old.text, old.model_label, old.label = str(rec.text or ""), model_label, label
            old.model_version, old.owner = info.model_version, who.name
            old.created_at = datetime.now().astimezone()
            s.flush()
            stored.append(_info(old))
    record(who, "monitor.correct_labels", "monitor", mid, detail={"rows": len(wanted), "stored": len(stored)})
    return stored


def correct_label(monitor_id: str, row_id: str, label: str, *, actor: Actor | None = None) -> CorrectionInfo | None:
    """Correct one row's label (None when it equals the model's label, which removes the correction)."""
    out = correct_labels(monitor_id, {row_id: label}, actor=actor)
    return out[0] if out else None


def remove_correction(monitor_id: str, row_id: str, *, actor: Actor | None = None) -> None:
    """Remove a row's correction (its author, the monitor's owner or an admin)."""
    who = current(actor)
    info = get_monitor(monitor_id, actor=who)
    with session_scope() as s:
        row = s.scalars(
            select(LabelCorrection).where(LabelCorrection.monitor_id == info.id, LabelCorrection.row_id == row_id)
        ).first()
        if row is None:
            raise NotFoundError(f"Row {row_id!r} has no correction.", hint="Pick a corrected row.")
        if not (row.owner == who.name and who.can_create) and not allowed(who, "change", owner=info.owner):
            raise PermissionDeniedError(
                f"This correction was made by {row.owner}; only they, the monitor's owner or an admin may remove it.",
                hint="Correct the label again instead, or ask them.",
            )
        s.delete(row)
    record(who, "monitor.remove_correction", "monitor", info.id, detail={"row_id": row_id})


def list_corrections(monitor_id: str, *, actor: Actor | None = None) -> list[CorrectionInfo]:
    """The corrections of a monitor the acting user may read, newest first."""
    mid = check_monitor(monitor_id, actor=actor)
    with session_scope() as s:
        rows = list(
            s.scalars(
                select(LabelCorrection)
                .where(LabelCorrection.monitor_id == mid)
                .order_by(LabelCorrection.created_at.desc(), LabelCorrection.row_id)
            )
        )
        return [_info(r) for r in rows]


def corrections_frame(monitor_id: str, *, actor: Actor | None = None) -> pd.DataFrame:
    """The corrections as a frame: row_id, text, label, model_label, corrected_by, corrected_at."""
    items = list_corrections(monitor_id, actor=actor)
    return pd.DataFrame(
        {
            "row_id": [c.row_id for c in items],
            "text": [c.text for c in items],
            "label": [c.label for c in items],
            "model_label": [c.model_label for c in items],
            "corrected_by": [c.owner for c in items],
            "corrected_at": pd.to_datetime([c.created_at for c in items], utc=True),
        }
    )


def with_corrections(monitor_id: str, rows: pd.DataFrame, *, actor: Actor | None = None) -> pd.DataFrame:
    """Drill-down rows with ``model_label`` (what the model said), ``label`` (corrected where an analyst
    corrected it) and ``corrected_by`` ('' when uncorrected)."""
    out = rows.copy()
    corr = {c.row_id: c for c in list_corrections(monitor_id, actor=actor)}
    ids = out["row_id"].astype(str)
    # rows read from corrected_data() already carry the corrected label: the model's comes from the correction
    out["model_label"] = [corr[r].model_label if r in corr else lab for r, lab in zip(ids, out["label"], strict=True)]
    out["label"] = [corr[r].label if r in corr else lab for r, lab in zip(ids, out["label"], strict=True)]
    out["corrected_by"] = [corr[r].owner if r in corr else "" for r in ids]
    return out


def edited_labels(shown: pd.DataFrame, edited: pd.DataFrame) -> dict[str, str]:
    """``{row_id: label}`` of the rows whose ``label`` differs between the table shown and the one edited."""
    if shown.empty or edited.empty:
        return {}
    before = dict(zip(shown["row_id"].astype(str), shown["label"].astype(str), strict=True))
    after = dict(zip(edited["row_id"].astype(str), edited["label"].astype(str), strict=True))
    return {rid: lab for rid, lab in after.items() if rid in before and lab != before[rid] and lab in LABELS}


# --------------------------------------------------------------------------------------------
# The dashboard over corrected labels
# --------------------------------------------------------------------------------------------
_cache: dict[str, tuple[str, MonitorData]] = {}
_cache_lock = threading.Lock()


def corrected_data(monitor_id: str, *, actor: Actor | None = None) -> MonitorData:
    """The dashboard engine over the monitor's rows with analysts' labels in place of the model's (aggregates,
    alerts preview and drill-down then count the corrected label); cached until rows or corrections change."""
    from aigc_core.monitor.aggregate import CORE_COLUMNS, MonitorData, load_data

    mid = check_monitor(monitor_id, actor=actor)
    path = rows_path(mid)
    corr = {c.row_id: c.label for c in list_corrections(mid, actor=actor)}
    if not corr or not path.exists():
        return load_data(path)
    digest = hashlib.sha256(repr(sorted(corr.items())).encode("utf-8")).hexdigest()
    stamp = f"{path.stat().st_mtime_ns}:{digest}"
    with _cache_lock:
        hit = _cache.get(mid)
        if hit is not None and hit[0] == stamp:
            return hit[1]
    import pyarrow.parquet as pq

    present = set(pq.ParquetFile(path).schema_arrow.names)
    frame = pd.read_parquet(path, columns=[c for c in CORE_COLUMNS if c in present])
    ids = frame["row_id"].astype(str)
    frame["label"] = ids.map(corr).fillna(frame["label"])
    data = MonitorData(frame)
    with _cache_lock:
        _cache[mid] = (stamp, data)
    return data


# --------------------------------------------------------------------------------------------
# Export as a dataset version
# --------------------------------------------------------------------------------------------
def export_corrections(monitor_id: str, name: str = "", *, actor: Actor | None = None) -> VersionInfo:
    """A new dataset (owned by the acting user) whose original version holds the monitor's corrections:
    ``text`` and ``label`` (roles set), plus model_label, row_id, corrected_by and corrected_at."""
    from aigc_core.data import import_dataframe
    from aigc_core.data.versions import unique_name

    who = require(actor, "create", what="datasets")
    info = get_monitor(monitor_id, actor=who)
    frame = corrections_frame(info.id, actor=who)
    if frame.empty:
        raise UserInputError("This monitor has no corrections yet.", hint="Correct labels in the drill-down first.")
    frame["corrected_at"] = frame["corrected_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    frame = frame[["text", "label", "model_label", "row_id", "corrected_by", "corrected_at"]]
    with acting_as(who):
        return import_dataframe(
            (name or "").strip() or unique_name(f"{info.name} corrections"),
            frame,
            filename="corrections.csv",
            roles={"text": "text", "label": "label", "id": "row_id"},
            description=f"Label corrections of the sentiment monitor {info.name!r}.",
            source={"kind": "monitor_corrections", "monitor_id": info.id, "rows": len(frame)},
        )

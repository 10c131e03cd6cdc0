"""Exports: the scored rows behind the current filters (CSV or Parquet) and the aggregated series (CSV)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd

from aigc_core.errors import UserInputError
from aigc_core.monitor.aggregate import Filters, MonitorData

FORMATS = ("csv", "parquet")


def filtered_rows(data: MonitorData, rows_file: Path | str, filters: Filters) -> pd.DataFrame:
    """Every column of the scored rows (original input columns included) that match the filters, oldest first."""
    ids = data.rows(filters, columns=("row_id",))["row_id"]
    path = Path(rows_file)
    if not path.exists() or ids.empty:
        return data.rows(filters).iloc[0:0]
    full = pd.read_parquet(path)
    out = full[full["row_id"].astype("string").isin(set(ids.tolist()))]
    return out.sort_values("ts", kind="stable").reset_index(drop=True)


def to_bytes(frame: pd.DataFrame, fmt: str) -> bytes:
    """A frame as CSV (UTF-8, ISO timestamps in UTC) or Parquet bytes."""
    fmt = fmt.strip().lower()
    if fmt not in FORMATS:
        raise UserInputError(f"Unknown export format {fmt!r}.", hint="Use csv or parquet.")
    if fmt == "parquet":
        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        return buf.getvalue()
    return frame.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%SZ").encode("utf-8")


def export_rows(data: MonitorData, rows_file: Path | str, filters: Filters, fmt: str = "csv") -> bytes:
    """The filtered scored rows as CSV or Parquet."""
    return to_bytes(filtered_rows(data, rows_file, filters), fmt)


def export_series(data: MonitorData, filters: Filters, freq: str = "day", *, by_topic: bool = False) -> bytes:
    """The aggregated series (counts per label, volume, share negative, net) as CSV."""
    series = data.series(filters, freq, by_topic=by_topic)
    return to_bytes(series, "csv")


def export_name(monitor_name: str, what: str, fmt: str) -> str:
    """A safe download file name, e.g. ``airline-tweets_rows.csv``."""
    slug = re.sub(r"[^a-z0-9]+", "-", monitor_name.lower()).strip("-") or "monitor"
    return f"{slug}_{what}.{fmt}"

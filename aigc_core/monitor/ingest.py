"""Batch checks: a column mapping, timestamps parsed to UTC, empty texts and duplicate ids dropped and reported.

Pure functions over frames (no store, no files): :func:`prepare_batch` brings an input table to a monitor's row
layout (the canonical columns plus the other input columns) and says in an :class:`IngestReport` what it dropped
and why. :func:`read_table` reads an uploaded file and :func:`guess_mapping` proposes the column roles.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from aigc_core.errors import UserInputError

ROLES: tuple[str, ...] = ("text", "timestamp", "topic", "source", "author", "id")
REQUIRED_ROLES: tuple[str, ...] = ("text", "timestamp")
CANONICAL = ("row_id", "ts", "text", "topic", "source", "author", "batch", "ingested_at")
SCORE_COLUMNS = ("text_hash", "label", "score", "prob_negative", "prob_neutral", "prob_positive")

_OFFSET_RE = re.compile(r"(Z|[+-]\d{2}(?::?\d{2})?|UTC|GMT)\s*$", re.IGNORECASE)


# Column mapping and batch validation
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

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IngestReport:
        """From :meth:`to_dict` (as stored in a monitor's ``meta``); unknown keys are ignored."""
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

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
        return empty_rows(), report
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


def empty_rows() -> pd.DataFrame:
    """A frame with the canonical row columns and no rows."""
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


def read_table(data: bytes, filename: str) -> pd.DataFrame:
    """An uploaded batch as a frame (any format the Data page reads)."""
    from aigc_core.data.readers import read_file

    return read_file(data, filename).df


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

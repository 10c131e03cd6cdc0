"""Profile a DataFrame: shape, types, missing values, duplicates, text lengths, labels, timestamps, roles."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from aigc_core.data.textops import duplicated, lengths, normalise_for_dedup, parse_iso_timestamps

ROLE_NAMES = ("text", "label", "timestamp", "topic", "source", "id")
_NAME_HINTS: dict[str, tuple[str, ...]] = {
    "text": ("text", "content", "body", "review", "tweet", "message", "comment", "copy", "sentence", "document"),
    "label": ("label", "sentiment", "class", "target", "category", "polarity", "rating"),
    "timestamp": ("time", "date", "timestamp", "created", "posted", "datetime"),
    "topic": ("topic", "brand", "product", "subject", "theme"),
    "source": ("source", "channel", "platform", "origin", "site"),
    "id": ("id", "uuid", "key"),
}


@dataclass
class Roles:
    """Which column plays which role (None when no column does)."""

    text: str | None = None
    label: str | None = None
    timestamp: str | None = None
    topic: str | None = None
    source: str | None = None
    id: str | None = None

    def to_dict(self) -> dict[str, str]:
        """Only the roles that are set: ``{"text": "tweet", "label": "sentiment", ...}``."""
        return {k: v for k, v in asdict(self).items() if v}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Roles:
        """Roles from a stored dict (``text`` or ``text_column`` keys)."""
        data = data or {}
        out: dict[str, str | None] = {}
        for name in ROLE_NAMES:
            value = data.get(name, data.get(f"{name}_column"))
            if isinstance(value, list):
                value = value[0] if value else None
            out[name] = str(value) if value else None
        return cls(**out)

    def check(self, df: pd.DataFrame) -> None:
        """Raise if a role names a column the frame does not have."""
        from aigc_core.errors import UserInputError

        for role, col in self.to_dict().items():
            if col not in df.columns:
                raise UserInputError(
                    f"The {role} column {col!r} is not in the data.",
                    hint=f"Pick one of: {', '.join(map(str, df.columns))}.",
                )


def _name_score(col: str, role: str) -> int:
    name = col.lower()
    tokens = set(re.split(r"[^a-z0-9]+", name))
    score = 0
    for i, hint in enumerate(_NAME_HINTS[role]):
        if name == hint:
            score = max(score, 100 - i)
        elif hint in tokens:
            score = max(score, 60 - i)
        elif role != "id" and hint in name:
            score = max(score, 30 - i)
    return score


def infer_roles(df: pd.DataFrame, sample: int = 2000) -> Roles:
    """Guess the column roles from names and content (the caller may edit them)."""
    head = df.head(sample)
    stats: dict[str, dict[str, float]] = {}
    for col in df.columns:
        s = head[col]
        nonnull = s.dropna()
        is_str = pd.api.types.is_string_dtype(s) or s.dtype == object
        mean_len = float(nonnull.astype(str).str.len().mean()) if len(nonnull) else 0.0
        uniq = nonnull.nunique()
        stats[str(col)] = {
            "is_str": float(is_str),
            "mean_len": mean_len,
            "unique_ratio": uniq / max(len(nonnull), 1),
            "n_unique": float(uniq),
            "is_time": float(pd.api.types.is_datetime64_any_dtype(s)),
        }
    roles = Roles()
    used: set[str] = set()

    def pick(role: str, ok: Any, key: Any) -> None:
        cands = [c for c in stats if c not in used and ok(c, stats[c])]
        if cands:
            best = max(cands, key=key)
            setattr(roles, role, best)
            used.add(best)

    pick(
        "text",
        lambda c, st: st["is_str"] and (st["mean_len"] >= 15 or _name_score(c, "text") > 0),
        lambda c: (_name_score(c, "text") > 0, stats[c]["mean_len"]),
    )
    pick(
        "timestamp",
        lambda c, st: st["is_time"] or (_name_score(c, "timestamp") > 0 and _parses_as_time(head[c])),
        lambda c: _name_score(c, "timestamp"),
    )
    pick(
        "label",
        lambda c, st: (
            2 <= st["n_unique"] <= 50 and (st["unique_ratio"] <= 0.5 or len(head) < 50) and _name_score(c, "label") > 0
        ),
        lambda c: _name_score(c, "label"),
    )
    for role in ("topic", "source"):
        pick(
            role,
            lambda c, st, r=role: st["n_unique"] <= 500 and _name_score(c, r) > 0,
            lambda c, r=role: _name_score(c, r),
        )
    pick(
        "id",
        lambda c, st: st["unique_ratio"] == 1.0 and _name_score(c, "id") > 0,
        lambda c: _name_score(c, "id"),
    )
    return roles


def _parses_as_time(s: pd.Series) -> bool:
    nonnull = s.dropna().head(200)
    if nonnull.empty:
        return False
    if pd.api.types.is_numeric_dtype(nonnull):
        return False
    parsed = pd.to_datetime(nonnull.astype(str), errors="coerce", utc=True, format="mixed")
    return bool(parsed.notna().mean() >= 0.8)


@dataclass
class Profile:
    """What the Profile step shows."""

    rows: int
    columns: int
    dtypes: dict[str, str]
    missing: dict[str, int]
    exact_duplicates: int
    near_duplicates: int
    roles: Roles
    text_length: dict[str, float] = field(default_factory=dict)
    length_hist: dict[str, list[float]] = field(default_factory=dict)  # {"edges": [...], "counts": [...]}
    labels: dict[str, int] = field(default_factory=dict)
    timestamps: dict[str, Any] = field(default_factory=dict)
    sample: pd.DataFrame | None = None
    memory_mb: float = 0.0


def profile(df: pd.DataFrame, roles: Roles | None = None, *, sample_rows: int = 10, bins: int = 30) -> Profile:
    """Profile ``df``; roles are inferred when not given."""
    roles = roles or infer_roles(df)
    roles.check(df)
    text_col = roles.text
    if text_col:
        text = df[text_col]
        exact = int(duplicated(text).sum())
        near = int(duplicated(normalise_for_dedup(text)).sum())
    else:
        exact = int(df.duplicated().sum())
        near = exact
    out = Profile(
        rows=len(df),
        columns=df.shape[1],
        dtypes={str(c): str(t) for c, t in df.dtypes.items()},
        missing={str(c): int(v) for c, v in df.isna().sum().items()},
        exact_duplicates=exact,
        near_duplicates=near,
        roles=roles,
        sample=df.sample(min(sample_rows, len(df)), random_state=0) if len(df) else df.head(0),
        memory_mb=float(df.memory_usage(deep=True).sum()) / 1e6,
    )
    if text_col:
        lens = lengths(df[text_col]).to_numpy()
        if len(lens):
            out.text_length = {
                "min": float(lens.min()),
                "mean": float(lens.mean()),
                "median": float(np.median(lens)),
                "p95": float(np.percentile(lens, 95)),
                "max": float(lens.max()),
                "empty": int((lens == 0).sum()),
            }
            counts, edges = np.histogram(lens, bins=bins)
            out.length_hist = {"edges": edges.tolist(), "counts": counts.astype(float).tolist()}
    if roles.label:
        vc = df[roles.label].astype("str").where(df[roles.label].notna(), "(missing)").value_counts()
        out.labels = {str(k): int(v) for k, v in vc.items()}
    if roles.timestamp:
        out.timestamps = timestamp_summary(df[roles.timestamp])
    return out


def timestamp_summary(s: pd.Series) -> dict[str, Any]:
    """Range, unparseable count and the largest gaps of a timestamp column."""
    parsed = s if pd.api.types.is_datetime64_any_dtype(s) else None
    if parsed is None and pd.api.types.is_string_dtype(s):
        parsed = parse_iso_timestamps(s)
    if parsed is None:
        parsed = pd.to_datetime(s, errors="coerce", utc=True, format="mixed")
    bad = int((parsed.isna() & s.notna()).sum())
    valid = parsed.dropna().sort_values().reset_index(drop=True)
    if valid.empty:
        return {"min": None, "max": None, "unparseable": bad, "largest_gaps": []}
    gaps = valid.diff().dropna()
    largest = [{"after": str(valid[i - 1]), "gap": str(g)} for i, g in gaps.nlargest(3).items()]
    return {
        "min": str(valid.iloc[0]),
        "max": str(valid.iloc[-1]),
        "unparseable": bad,
        "median_gap": str(gaps.median()) if len(gaps) else None,
        "largest_gaps": largest,
    }

"""Cleaning steps for a text dataset; each is optional and reports what it changed or dropped.

Everything runs column-wise through pyarrow compute (RE2 regexes, NFKC); Python runs per row only
on the few rows a cheap prefilter flags (mojibake for ftfy, card-like numbers for the Luhn check).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, Field, field_validator

from aigc_core.data.profile import Roles, infer_roles
from aigc_core.data.textops import (
    HTML_ENTITY_RE,
    HTML_TAG_RE,
    MENTION_RE,
    RT_RE,
    URL_RE,
    duplicated,
    in_chunks,
    normalise_for_dedup,
    parse_iso_timestamps,
    replace,
    squeeze_spaces,
    to_arrow,
    to_series,
)
from aigc_core.errors import UserInputError

# Characters that appear when UTF-8 was decoded as latin-1/cp1252 (C1 controls, Ã©, â€™, ðŸ…) or U+FFFD.
MOJIBAKE_RE = (
    r"[\x{80}-\x{9f}\x{fffd}]|[\x{c2}-\x{f0}][\x{80}-\x{bf}\x{152}\x{153}\x{160}\x{161}\x{178}\x{17d}"
    r"\x{17e}\x{192}\x{2c6}\x{2dc}\x{2013}\x{2014}\x{2018}-\x{201e}\x{2020}-\x{2022}\x{2026}\x{2030}"
    r"\x{2039}\x{203a}\x{20ac}\x{2122}]"
)
EMAIL_RE = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
CARD_CANDIDATE_RE = r"\b(?:\d[ -]?){12,18}\d\b"
PHONE_RE = (
    r"(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?|\b\d{2,4}[ .-])\d{3,4}[ .-]?\d{3,4}\b"
    r"|\b1[3-9]\d{9}\b"
)
_CARD_PY = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")

DEFAULT_LABEL_MAPPING: dict[str, str] = {
    "positive": "positive",
    "pos": "positive",
    "1": "positive",
    "1.0": "positive",
    "+1": "positive",
    "正面": "positive",
    "积极": "positive",
    "negative": "negative",
    "neg": "negative",
    "-1": "negative",
    "-1.0": "negative",
    "负面": "negative",
    "消极": "negative",
    "neutral": "neutral",
    "neu": "neutral",
    "0": "neutral",
    "0.0": "neutral",
    "中性": "neutral",
}


class Recipe(BaseModel):
    """Which cleaning steps run, with their options; stored with the dataset version."""

    text_column: str | None = Field(None, description="Column to clean; the inferred text column when empty.")
    label_column: str | None = Field(None, description="Label column for label normalisation.")
    timestamp_column: str | None = Field(None, description="Timestamp column to parse.")
    unicode: bool = Field(True, description="NFKC normalisation and mojibake repair (ftfy).")
    remove_rt: bool = Field(False, description="Remove leading 'RT @user:' retweet prefixes.")
    remove_html: bool = Field(False, description="Remove HTML tags and entities.")
    remove_urls: bool = Field(False, description="Remove URLs.")
    remove_mentions: bool = Field(False, description="Remove @mentions.")
    mask_pii: bool = Field(False, description="Mask e-mails, phone numbers and card numbers.")
    trim: bool = Field(True, description="Collapse whitespace and trim the ends.")
    drop_empty: bool = Field(True, description="Drop rows whose text is empty.")
    min_length: int | None = Field(None, ge=0, description="Drop texts shorter than this many characters.")
    max_length: int | None = Field(None, ge=1, description="Drop texts longer than this many characters.")
    dedup: Literal["none", "exact", "normalised"] = Field("exact", description="Duplicate removal.")
    normalise_labels: bool = Field(False, description="Map label spellings to canonical labels.")
    label_mapping: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_LABEL_MAPPING))
    drop_unmapped_labels: bool = Field(False, description="Drop rows whose label has no mapping.")
    parse_timestamps: bool = Field(False, description="Parse the timestamp column into UTC datetimes.")
    timezone: str = Field("UTC", description="Time zone of timestamps written without an offset.")
    drop_unparseable_timestamps: bool = Field(False, description="Drop rows whose timestamp does not parse.")

    @field_validator("timezone")
    @classmethod
    def _check_tz(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use e.g. UTC, Europe/Berlin, Asia/Shanghai)") from exc
        return value

    def to_json(self) -> str:
        """The recipe as JSON."""
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str) -> Recipe:
        """A recipe from JSON."""
        return cls.model_validate_json(text)


@dataclass
class StepReport:
    """What one cleaning step did."""

    step: str
    rows_in: int
    rows_out: int
    changed: int = 0
    examples: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def dropped(self) -> int:
        """Rows removed by this step."""
        return self.rows_in - self.rows_out


@dataclass
class CleanResult:
    """The cleaned frame, one report per step that ran, and the recipe used."""

    df: pd.DataFrame
    reports: list[StepReport]
    recipe: Recipe
    rows_in: int = 0


def _s(v: Any) -> str:
    return "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)


def _examples(before: pa.ChunkedArray, after: pa.ChunkedArray, n: int = 3) -> tuple[int, list[tuple[str, str]]]:
    diff = pc.fill_null(pc.not_equal(before, after), True)
    both_null = pc.and_(pc.is_null(before), pc.is_null(after))
    diff = pc.and_(diff, pc.invert(both_null))
    changed = int(pc.sum(diff).as_py() or 0)
    idx: list[int] = np.flatnonzero(diff.to_numpy(zero_copy_only=False))[:n].tolist() if changed else []
    return changed, [(_s(before[int(i)].as_py()), _s(after[int(i)].as_py())) for i in idx]


def _transform(df: pd.DataFrame, col: str, name: str, fn: Any) -> StepReport:
    before = to_arrow(df[col])
    after = in_chunks(before, fn)  # slice by slice: only one slice's temporaries alive at a time
    changed, ex = _examples(before, after)
    df[col] = to_series(after, df.index, col)
    return StepReport(name, len(df), len(df), changed=changed, examples=ex)


def _drop(df: pd.DataFrame, keep: np.ndarray, col: str, name: str) -> tuple[pd.DataFrame, StepReport]:
    dropped_idx = np.flatnonzero(~keep)[:3]
    ex = [(_s(df[col].iloc[int(i)]), "(dropped)") for i in dropped_idx]
    out = df[keep] if not keep.all() else df
    return out, StepReport(name, len(df), len(out), changed=0, examples=ex)


# the same prefilter for Python's re (\x{hhh} -> \uhhhh)
_MOJIBAKE_PY = re.compile(re.sub(r"\\x\{([0-9a-f]+)\}", lambda m: "\\u" + m.group(1).zfill(4), MOJIBAKE_RE))


def _fix_tokens(values: list[str], cache: dict[str, str]) -> list[str]:
    """ftfy on the space-separated tokens that look broken, each distinct token fixed once (``cache``).

    Mojibake sequences sit inside tokens, so this matches whole-text ftfy on them while the cost
    grows with the number of distinct broken tokens rather than with the number of rows. Linear in
    the text length: a regex like ``[^ ]*(?:mojibake)[^ ]*`` backtracks quadratically on long runs
    without spaces (hours on a 1 MB cell), so tokens come from ``str.split`` instead.
    """
    import ftfy

    search = _MOJIBAKE_PY.search

    def fix(tok: str) -> str:
        if not search(tok):
            return tok
        fixed = cache.get(tok)
        if fixed is None:
            fixed = cache[tok] = ftfy.fix_text(tok, normalization="NFKC", unescape_html=False)
        return fixed

    return [" ".join(map(fix, text.split(" "))) for text in values]


def _fix_unicode(arr: pa.Array | pa.ChunkedArray, cache: dict[str, str] | None = None) -> pa.Array:
    arr = pc.utf8_normalize(arr, form="NFKC")
    suspect = pc.fill_null(pc.match_substring_regex(arr, MOJIBAKE_RE), False).to_numpy(zero_copy_only=False)
    idx = np.flatnonzero(suspect)
    if len(idx) == 0:
        return arr
    whole = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr  # a no-op on a slice
    fixed = _fix_tokens(whole.take(pa.array(idx)).to_pylist(), {} if cache is None else cache)
    mask = np.zeros(len(whole), dtype=bool)
    mask[idx] = True
    repl = pa.array(fixed, type=whole.type)
    return pc.replace_with_mask(whole, pa.array(mask), repl)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _mask_card(text: str) -> str:
    def sub(m: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", m.group(0))
        return "[CARD]" if 13 <= len(digits) <= 19 and _luhn_ok(digits) else m.group(0)

    return _CARD_PY.sub(sub, text)


def _mask_pii(arr: pa.ChunkedArray) -> pa.ChunkedArray:
    arr = replace(arr, EMAIL_RE, "[EMAIL]")
    cand = pc.fill_null(pc.match_substring_regex(arr, CARD_CANDIDATE_RE), False).to_numpy(zero_copy_only=False)
    idx = np.flatnonzero(cand)
    if len(idx):
        whole = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
        fixed = [_mask_card(v) for v in whole.take(pa.array(idx)).to_pylist()]
        mask = np.zeros(len(whole), dtype=bool)
        mask[idx] = True
        arr = pa.chunked_array([pc.replace_with_mask(whole, pa.array(mask), pa.array(fixed, type=whole.type))])
    return replace(arr, PHONE_RE, "[PHONE]")


def normalise_labels(s: pd.Series, mapping: dict[str, str]) -> tuple[pd.Series, dict[str, int]]:
    """Map label spellings (case- and space-insensitive) to canonical labels; returns unmapped value counts."""
    norm = {str(k).strip().casefold(): v for k, v in mapping.items()}
    keys = s.astype("str").str.strip().str.casefold()
    mapped = keys.map(norm)
    unmapped_mask = mapped.isna() & s.notna()
    unmapped = s[unmapped_mask].astype("str").value_counts()
    out = mapped.where(~unmapped_mask, s.astype("str"))
    return out.astype("str"), {str(k): int(v) for k, v in unmapped.items()}


def parse_timestamps(s: pd.Series, timezone: str = "UTC") -> tuple[pd.Series, pd.Series]:
    """Parse to UTC datetimes (naive values read in ``timezone``); returns (parsed, unparseable mask)."""
    if pd.api.types.is_datetime64_any_dtype(s):
        parsed = s
    elif pd.api.types.is_numeric_dtype(s):
        unit = "ms" if s.dropna().abs().median() > 1e11 else "s"
        parsed = pd.to_datetime(s, errors="coerce", unit=unit, utc=True)
    else:
        text = s.astype("str")
        fast = parse_iso_timestamps(s) if pd.api.types.is_string_dtype(s) else None
        try:
            parsed = fast if fast is not None else pd.to_datetime(text, errors="coerce")
        except (ValueError, TypeError):
            parsed = pd.to_datetime(text, errors="coerce", utc=True)
        retry = parsed.isna() & s.notna()
        if retry.any():
            again = pd.to_datetime(text[retry], errors="coerce", format="mixed", utc=True)
            if parsed.dt.tz is None:
                parsed = parsed.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="shift_forward")
            parsed = parsed.dt.tz_convert("UTC")
            parsed[retry] = again
    if getattr(parsed.dt, "tz", None) is None:
        parsed = parsed.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="shift_forward")
    parsed = parsed.dt.tz_convert("UTC")
    bad = parsed.isna() & s.notna()
    return parsed, bad


def clean(df: pd.DataFrame, recipe: Recipe | None = None, roles: Roles | None = None) -> CleanResult:
    """Run the recipe's steps in order; the input frame is not modified."""
    recipe = recipe or Recipe()
    roles = roles or infer_roles(df)
    col = recipe.text_column or roles.text
    if not col:
        raise UserInputError(
            "No text column was found to clean.", hint="Pick the text column in the Profile step (role 'text')."
        )
    if col not in df.columns:
        raise UserInputError(f"There is no column {col!r}.", hint=f"Pick one of: {', '.join(map(str, df.columns))}.")
    recipe = recipe.model_copy(
        update={
            "text_column": col,
            "label_column": recipe.label_column or roles.label,
            "timestamp_column": recipe.timestamp_column or roles.timestamp,
        }
    )
    rows_in = len(df)
    df = df.copy(deep=False)
    df[col] = to_series(to_arrow(df[col]), df.index, col)
    reports: list[StepReport] = []
    if recipe.unicode:
        cache: dict[str, str] = {}  # fixed broken tokens, shared by all slices
        reports.append(_transform(df, col, "unicode", lambda a: _fix_unicode(a, cache)))
    if recipe.mask_pii:
        reports.append(_transform(df, col, "mask_pii", _mask_pii))
    if recipe.remove_rt:
        reports.append(_transform(df, col, "remove_rt", lambda a: replace(a, RT_RE)))
    if recipe.remove_html:
        reports.append(
            _transform(df, col, "remove_html", lambda a: replace(replace(a, HTML_TAG_RE, " "), HTML_ENTITY_RE, " "))
        )
    if recipe.remove_urls:
        reports.append(_transform(df, col, "remove_urls", lambda a: replace(a, URL_RE)))
    if recipe.remove_mentions:
        reports.append(_transform(df, col, "remove_mentions", lambda a: replace(a, MENTION_RE, " ")))
    if recipe.trim:
        reports.append(_transform(df, col, "trim", squeeze_spaces))
    lens: np.ndarray | None = None
    if recipe.drop_empty:
        arr = to_arrow(df[col])
        lens = pc.fill_null(pc.utf8_length(pc.utf8_trim_whitespace(arr)), 0).to_numpy(zero_copy_only=False)
        df, rep = _drop(df, lens > 0, col, "drop_empty")
        reports.append(rep)
    if recipe.min_length is not None or recipe.max_length is not None:
        lens = pc.fill_null(pc.utf8_length(to_arrow(df[col])), 0).to_numpy(zero_copy_only=False)
        keep = np.ones(len(df), dtype=bool)
        if recipe.min_length is not None:
            keep &= lens >= recipe.min_length
        if recipe.max_length is not None:
            keep &= lens <= recipe.max_length
        df, rep = _drop(df, keep, col, "length_bounds")
        rep.notes.append(f"Kept texts of {recipe.min_length or 0}–{recipe.max_length or '∞'} characters.")
        reports.append(rep)
    if recipe.dedup != "none":
        key = df[col] if recipe.dedup == "exact" else normalise_for_dedup(df[col])
        keep = ~duplicated(key)
        df, rep = _drop(df, keep, col, f"dedup_{recipe.dedup}")
        reports.append(rep)
    if recipe.normalise_labels:
        lc = recipe.label_column
        if not lc or lc not in df.columns:
            raise UserInputError("Label normalisation needs a label column.", hint="Set the 'label' role first.")
        before = to_arrow(df[lc].astype("str"))
        mapped, unmapped = normalise_labels(df[lc], recipe.label_mapping)
        changed, ex = _examples(before, to_arrow(mapped))
        df = df.copy(deep=False)
        df[lc] = mapped
        rep = StepReport("normalise_labels", len(df), len(df), changed=changed, examples=ex)
        rep.details["unmapped"] = unmapped
        if unmapped:
            rep.notes.append(
                f"{sum(unmapped.values())} label(s) had no mapping: "
                + ", ".join(f"{k!r} ×{v}" for k, v in list(unmapped.items())[:8])
            )
            if recipe.drop_unmapped_labels:
                keep = ~df[lc].isin(list(unmapped)).to_numpy()
                df, drop_rep = _drop(df, keep, lc, "normalise_labels")
                rep.rows_out = drop_rep.rows_out
        reports.append(rep)
    if recipe.parse_timestamps:
        tc = recipe.timestamp_column
        if not tc or tc not in df.columns:
            raise UserInputError("Timestamp parsing needs a timestamp column.", hint="Set the 'timestamp' role.")
        parsed, bad = parse_timestamps(df[tc], recipe.timezone)
        n_bad = int(bad.sum())
        rep = StepReport("parse_timestamps", len(df), len(df), changed=int(parsed.notna().sum()))
        rep.details["unparseable"] = n_bad
        rep.details["unparseable_examples"] = df.loc[bad, tc].astype("str").head(5).tolist()
        df = df.copy(deep=False)
        df[tc] = parsed
        if n_bad:
            rep.notes.append(
                f"{n_bad} timestamp(s) did not parse, e.g. "
                + ", ".join(repr(v) for v in rep.details["unparseable_examples"])
            )
            if recipe.drop_unparseable_timestamps:
                df = df[~bad.to_numpy()]
                rep.rows_out = len(df)
        reports.append(rep)
    return CleanResult(df=df.reset_index(drop=True), reports=reports, recipe=recipe, rows_in=rows_in)

"""Vectorised string operations on pandas Series through pyarrow compute (no per-row Python)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# RE2 syntax (pyarrow): \p{..} classes are Unicode-aware, unlike \w which is ASCII-only there.
# RE2 matches in linear time (no backtracking), so \S+ runs are safe on huge cells here; the same
# patterns in Python's re (a backtracking engine) would not be.
# full URLs, and URLs cut off by a retweet ("http…", "http:äó_", the mojibake of "…")
URL_RE = r"(?i)\b(?:https?://|www\.)\S+|\bhttps?:?/{0,2}(?:…|äó\S*)"
MENTION_RE = r"(?:^|\s)@\w+"
HTML_TAG_RE = r"<[^>\n]{1,200}>"
HTML_ENTITY_RE = r"&(?:amp|lt|gt|quot|apos|nbsp|#\d{1,6});"
RT_RE = r"^\s*RT\s+(?:@\w+\s*:?\s*)?"
PUNCT_RE = r"[\p{P}\p{S}]+"
SPACE_RE = r"\s+"
CHUNK_ROWS = 65_536  # rows per slice for multi-step chains (bounds the temporaries)


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def to_arrow(s: pd.Series) -> pa.ChunkedArray:
    """The Series as a pyarrow string array (zero-copy when already pyarrow-backed)."""
    arr = s.array
    pa_arr = getattr(arr, "_pa_array", None)
    if isinstance(pa_arr, pa.ChunkedArray) and _is_text(pa_arr.type):
        return pa_arr
    values = s.astype(object).where(s.notna(), None)
    values = values.map(lambda v: v if v is None or isinstance(v, str) else str(v))
    return pa.chunked_array([pa.array(values.to_numpy(), type=pa.string(), from_pandas=True)])


def to_series(arr: pa.ChunkedArray | pa.Array, index: pd.Index, name: object = None) -> pd.Series:
    """A pandas ``str`` Series from a pyarrow string array."""
    if isinstance(arr, pa.Array):
        arr = pa.chunked_array([arr])
    if pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.string())
    return pd.Series(pd.arrays.ArrowStringArray(arr), index=index, name=name).astype("str")


def as_text(s: pd.Series) -> pd.Series:
    """The Series as pyarrow-backed strings (missing stays missing)."""
    return to_series(to_arrow(s), s.index, s.name)


def replace(arr: pa.ChunkedArray, pattern: str, repl: str = "") -> pa.ChunkedArray:
    """Regex replace (RE2) over a whole column."""
    return pc.replace_substring_regex(arr, pattern=pattern, replacement=repl)


def squeeze_spaces(arr: pa.ChunkedArray) -> pa.ChunkedArray:
    """Collapse runs of whitespace to one space and trim the ends."""
    return pc.utf8_trim_whitespace(replace(arr, SPACE_RE, " "))


def in_chunks(arr: pa.ChunkedArray, fn: Callable[[pa.Array], pa.Array], rows: int = CHUNK_ROWS) -> pa.ChunkedArray:
    """Apply a chain of column operations slice by slice, so only one slice's temporaries are alive."""
    parts = [fn(arr.slice(off, rows)) for off in range(0, len(arr), rows)]
    parts = [p for part in parts for p in (part.chunks if isinstance(part, pa.ChunkedArray) else [part])]
    return pa.chunked_array(parts, type=arr.type) if parts else arr


# one pass for all the noise the dedup key ignores, one for punctuation/symbols/whitespace runs
# (the RT prefix leaves its trailing space, so a mention right after it still matches, as when run in sequence)
_DEDUP_NOISE_RE = "|".join(f"(?:{p})" for p in (r"^\s*RT\b(?:\s+@\w+:?)?", URL_RE, MENTION_RE, HTML_ENTITY_RE))
_PUNCT_SPACE_RE = r"[\p{P}\p{S}\s]+"


def _dedup_key(arr: pa.Array) -> pa.Array:
    arr = replace(arr, _DEDUP_NOISE_RE, " ")
    arr = pc.utf8_lower(pc.utf8_normalize(arr, form="NFKC"))
    return pc.utf8_trim_whitespace(replace(arr, _PUNCT_SPACE_RE, " "))


def normalise_for_dedup(s: pd.Series) -> pd.Series:
    """Key for near-duplicate detection: casefold, no URLs/mentions/RT/punctuation, single spaces."""
    return to_series(in_chunks(to_arrow(s), _dedup_key), s.index, s.name)


def lengths(s: pd.Series) -> pd.Series:
    """Character length of every text (missing -> 0)."""
    out = pc.utf8_length(to_arrow(s)).fill_null(0)
    return pd.Series(out.to_numpy(), index=s.index)


def duplicated(s: pd.Series) -> np.ndarray:
    """Boolean mask of rows whose value appeared earlier (missing values count as equal), like
    ``Series.duplicated`` but without materialising Python strings."""
    enc = to_arrow(s).dictionary_encode(null_encoding="encode")  # one dictionary shared by all chunks
    chunks = [c.indices.to_numpy(zero_copy_only=False) for c in enc.chunks]
    codes = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int32)
    first = np.zeros(len(codes), dtype=bool)
    _, idx = np.unique(codes, return_index=True)
    first[idx] = True
    return ~first


def parse_iso_timestamps(s: pd.Series) -> pd.Series | None:
    """ISO-8601 strings parsed by Arrow (naive, or UTC when they carry offsets); None if any value is not ISO."""
    arr = to_arrow(s)
    for typ in (pa.timestamp("us"), pa.timestamp("us", tz="UTC")):
        try:
            out = pc.cast(arr, typ)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        return pd.Series(out.to_pandas(), index=s.index, name=s.name)
    return None

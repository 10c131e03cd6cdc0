"""What people complain about: terms and phrases distinctive of negative texts in a window vs a baseline.

Weighted log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi & Quinn 2008) over
unigrams and bigrams (stopwords removed, bigrams never span a stopword). The prior is the term
frequencies of both corpora together, so rare terms are shrunk towards zero rather than ranked first.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from aigc_core.monitor.aggregate import Filters, MonitorData

_TOKEN_RE = re.compile(r"[#]?[a-z0-9][a-z0-9'’_-]*[a-z0-9]|[a-z]")
EXTRA_STOPWORDS = frozenset(
    {
        "http", "https", "www", "com", "user", "rt", "amp", "via", "im", "i'm", "it's", "don't", "dont", "just",
        "get", "got", "can't", "cant", "u", "ur", "s", "t", "will", "one", "still", "would", "also", "like", "now",
    }
)  # fmt: skip
MAX_TEXTS = 50_000  # per corpus, a random sample beyond that
MIN_COUNT = 3


def stopwords() -> frozenset[str]:
    """English stopwords (scikit-learn's list) plus tweet noise (http, @user, rt, amp …)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS) | EXTRA_STOPWORDS


def tokens(text: str, stop: frozenset[str]) -> list[str]:
    """Unigrams and bigrams of a text: lower-cased words, @mentions and URLs dropped, no stopwords."""
    low = re.sub(r"https?://\S+|www\.\S+|@\w+", " ", str(text).lower())
    words = _TOKEN_RE.findall(low)
    out: list[str] = []
    prev: str | None = None
    for w in words:
        w = w.replace("’", "'")
        if w in stop or w.isdigit() or len(w) < 2:
            prev = None
            continue
        out.append(w)
        if prev is not None:
            out.append(f"{prev} {w}")
        prev = w
    return out


def _doc_counts(texts: Iterable[str], stop: frozenset[str]) -> Counter[str]:
    """How many texts contain each term (document frequency: one spammy text cannot dominate)."""
    c: Counter[str] = Counter()
    for t in texts:
        c.update(set(tokens(t, stop)))
    return c


@dataclass
class Term:
    """A distinctive term: its z-score, counts in both corpora and example texts."""

    term: str
    z: float
    count: int
    baseline_count: int
    share: float
    baseline_share: float
    examples: list[str] = field(default_factory=list)


def log_odds(target: Counter[str], baseline: Counter[str], *, prior_scale: float = 1.0) -> dict[str, float]:
    """z-scores of the weighted log-odds ratio (target vs baseline) with an informative Dirichlet prior."""
    prior = target + baseline
    a0 = sum(prior.values()) or 1
    n1 = sum(target.values()) or 1
    n2 = sum(baseline.values()) or 1
    scale = prior_scale * 1000.0 / a0  # prior as 1000 pseudo-counts spread by frequency
    out: dict[str, float] = {}
    for w, pc in prior.items():
        a = pc * scale
        a_sum = a0 * scale
        y1, y2 = target.get(w, 0), baseline.get(w, 0)
        l1 = math.log((y1 + a) / (n1 + a_sum - y1 - a))
        l2 = math.log((y2 + a) / (n2 + a_sum - y2 - a))
        var = 1.0 / (y1 + a) + 1.0 / (y2 + a)
        out[w] = (l1 - l2) / math.sqrt(var)
    return out


def distinctive_terms(
    target_texts: Sequence[str],
    baseline_texts: Sequence[str],
    *,
    top: int = 15,
    min_count: int = MIN_COUNT,
    n_examples: int = 3,
    seed: int = 0,
) -> list[Term]:
    """Terms over-represented in ``target_texts`` vs ``baseline_texts``, strongest first, with examples."""
    target = _sample(list(target_texts), seed)
    base = _sample(list(baseline_texts), seed + 1)
    if not target:
        return []
    stop = stopwords()
    target_tokens = [set(tokens(t, stop)) for t in target]
    tc: Counter[str] = Counter()
    for toks in target_tokens:
        tc.update(toks)
    bc = _doc_counts(base, stop)
    z = log_odds(tc, bc)
    ranked = sorted(  # ties: phrases before words, then alphabetical (stable output)
        (w for w in tc if tc[w] >= min_count and z[w] > 0), key=lambda w: (-round(z[w], 9), -w.count(" "), w)
    )
    # Keep a bigram or its words, not both, when the bigram explains the unigram.
    chosen: list[str] = []
    for w in ranked:
        parts = w.split(" ")
        if len(parts) == 1 and any(w in c.split(" ") and tc[c] >= 0.8 * tc[w] for c in chosen if " " in c):
            continue
        chosen.append(w)
        if len(chosen) >= top:
            break
    out = []
    for w in chosen:
        examples = [t for t, toks in zip(target, target_tokens, strict=True) if w in toks]
        out.append(
            Term(
                term=w,
                z=round(z[w], 3),
                count=tc[w],
                baseline_count=bc.get(w, 0),
                share=tc[w] / len(target),
                baseline_share=bc.get(w, 0) / len(base) if base else 0.0,
                examples=examples[:n_examples],
            )
        )
    return out


def _sample(texts: list[str], seed: int) -> list[str]:
    texts = [str(t) for t in texts if isinstance(t, str) and t.strip()]
    if len(texts) <= MAX_TEXTS:
        return texts
    import random

    return random.Random(seed).sample(texts, MAX_TEXTS)


@dataclass(frozen=True)
class CorpusSizes:
    """How many texts the terms were found in and compared with."""

    negative_in_window: int
    baseline: int
    baseline_outside: bool  # True: the baseline is every text outside the window; False: the window's other labels


def _sampled(sql: str) -> str:
    """At most MAX_TEXTS rows of a query, a reproducible random sample beyond that."""
    return f"SELECT text FROM ({sql}) USING SAMPLE {MAX_TEXTS} ROWS (reservoir, 42)"


def complaint_terms(
    data: MonitorData,
    filters: Filters,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    *,
    top: int = 15,
) -> tuple[list[Term], CorpusSizes]:
    """Distinctive terms of the negative texts in a window (default: the filter's range) vs the rest of the data.

    The baseline is every text matching the other filters outside the window (all labels), so terms that
    are merely common in the stream (brand names) do not rank; when nothing lies outside the window, the
    non-negative texts of the window are the baseline. Returns the terms and the corpus sizes.
    """
    ws = window_start or filters.start
    we = window_end or filters.end
    g = Filters(topics=filters.topics, sources=filters.sources, search=filters.search)
    where, params = data._where(g)
    range_sql, range_params = [], []
    if ws is not None:
        range_sql.append("ts >= ?")
        range_params.append(pd.Timestamp(ws).tz_localize(None) if pd.Timestamp(ws).tzinfo else ws)
    if we is not None:
        range_sql.append("ts < ?")
        range_params.append(pd.Timestamp(we).tz_localize(None) if pd.Timestamp(we).tzinfo else we)
    inside = " AND ".join(range_sql) or "TRUE"
    target = data._df(
        _sampled(f"SELECT text FROM r WHERE {where} AND {inside} AND label = 'negative'"),
        [*params, *range_params],
    )["text"].tolist()
    base = data._df(
        _sampled(f"SELECT text FROM r WHERE {where} AND NOT ({inside})"),
        [*params, *range_params],
    )["text"].tolist()
    outside = True
    if not range_sql or not base:  # the window is the whole stream: compare negatives with the other labels
        sql = _sampled(f"SELECT text FROM r WHERE {where} AND {inside} AND label <> 'negative'")
        base = data._df(sql, [*params, *range_params])["text"].tolist()
        outside = False
    sizes = CorpusSizes(negative_in_window=len(target), baseline=len(base), baseline_outside=outside)
    return distinctive_terms(target, base, top=top), sizes

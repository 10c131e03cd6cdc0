"""Per-variant scores (limits, guardrails, sentiment, readability, uniqueness) and a weighted combined score."""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Callable, Sequence
from difflib import SequenceMatcher

from aigc_core.cjk import is_cjk
from aigc_core.copy.limits import split_sentences

log = logging.getLogger(__name__)
SCORES = ("limits", "guardrails", "sentiment", "readability", "uniqueness")
DEFAULT_WEIGHTS: dict[str, float] = {
    "limits": 1.0,
    "guardrails": 2.0,
    "sentiment": 0.5,
    "readability": 0.5,
    "uniqueness": 0.5,
}
SentimentScorer = Callable[[list[str]], list[float | None]]
_WORD = re.compile(r"[A-Za-z0-9']+")


# Similarity ------------------------------------------------------------------------------------
def normalize(text: str) -> str:
    """Lower case, punctuation and spaces removed (CJK kept)."""
    return "".join(c for c in text.lower() if c.isalnum() or is_cjk(c))


def _tokens(text: str) -> set[str]:
    low = text.lower()
    words = set(_WORD.findall(low))
    cjk = [c for c in low if is_cjk(c)]
    words.update(a + b for a, b in itertools.pairwise(cjk))  # CJK bigrams
    words.update(cjk if len(cjk) < 2 else [])
    return words


def similarity(a: str, b: str) -> float:
    """Max of the normalised edit similarity and the token (CJK bigram) Jaccard, in [0, 1]."""
    na, nb = normalize(a), normalize(b)
    if not na or not nb:
        return 1.0 if na == nb else 0.0
    edit = SequenceMatcher(None, na, nb, autojunk=False).ratio()
    ta, tb = _tokens(a), _tokens(b)
    jac = len(ta & tb) / len(ta | tb) if ta and tb else 0.0
    return max(edit, jac)


def is_near_duplicate(a: str, b: str, threshold: float = 0.85) -> bool:
    """True when two variants say nearly the same thing."""
    return similarity(a, b) >= threshold


# Readability -----------------------------------------------------------------------------------
def flesch_reading_ease(text: str) -> float:
    """Flesch reading ease of English text (higher = easier; 60-80 is plain English), from ``textstat``."""
    import textstat

    if not _WORD.findall(text):
        return 0.0
    return float(textstat.flesch_reading_ease(text))


def readability(text: str, language: str) -> float:
    """Readability in [0, 1]: Flesch for English; for Chinese (no maintained metric exists for it in textstat),
    short sentences (<= 20 characters) score best."""
    if language == "zh":
        sentences = split_sentences(text) or [text]
        avg = sum(len(s) for s in sentences) / len(sentences)
        return float(max(0.0, min(1.0, 1.0 - (avg - 20) / 40))) if avg > 20 else 1.0
    return float(max(0.0, min(1.0, flesch_reading_ease(text) / 80.0)))


# Sentiment -------------------------------------------------------------------------------------
def default_sentiment(texts: list[str]) -> list[float | None]:
    """Positivity in [0, 1] (P(positive) + P(neutral)/2) from ``aigc_core.sentiment``; raises when unavailable."""
    from aigc_core.sentiment import score_texts

    res = score_texts(texts)
    pos = res.prob("positive") if "positive" in res.label_order else None
    neu = res.prob("neutral") if "neutral" in res.label_order else None
    out: list[float | None] = []
    for i in range(len(texts)):
        if pos is None or res.labels[i] is None:
            out.append(None)
        else:
            out.append(float(pos[i] + (0.5 * neu[i] if neu is not None else 0.0)))
    return out


def score_sentiment(texts: list[str], scorer: SentimentScorer | bool | None) -> tuple[list[float | None], str]:
    """Scores and a note; the badge is skipped (None) with a note when the model is off or unavailable."""
    if scorer is False or not texts:
        return [None] * len(texts), "Sentiment scoring is off."
    fn = default_sentiment if scorer is None or scorer is True else scorer
    try:
        return list(fn(texts)), ""
    except Exception as exc:
        log.warning("sentiment scoring skipped: %s", exc)
        return [None] * len(texts), f"Sentiment badge skipped: {exc}"


# Combined ----------------------------------------------------------------------------------------
def uniqueness(texts: Sequence[str]) -> list[float]:
    """1 - the highest similarity to any other variant."""
    out = []
    for i, t in enumerate(texts):
        others = [similarity(t, o) for j, o in enumerate(texts) if j != i]
        out.append(1.0 - max(others) if others else 1.0)
    return out


def combined(scores: dict[str, float | None], weights: dict[str, float] | None = None) -> float:
    """Weighted mean of the available scores (missing ones are left out, not counted as 0)."""
    weights = weights or DEFAULT_WEIGHTS
    num = den = 0.0
    for name, value in scores.items():
        w = float(weights.get(name, 0.0))
        if value is None or w <= 0:
            continue
        num += w * float(value)
        den += w
    return round(num / den, 4) if den else 0.0

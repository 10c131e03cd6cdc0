"""Sentiment scoring: the embedded offline model, batched scoring with a store cache, and a CLI."""

from aigc_core.sentiment.head import EmbeddedSentimentModel, load_embedded
from aigc_core.sentiment.scoring import (
    CANONICAL_LABELS,
    ScoreResult,
    load_model,
    normalize_text,
    parse_label_map,
    score_texts,
    score_with_cache,
    text_hash,
)

__all__ = [
    "CANONICAL_LABELS",
    "EmbeddedSentimentModel",
    "ScoreResult",
    "load_embedded",
    "load_model",
    "normalize_text",
    "parse_label_map",
    "score_texts",
    "score_with_cache",
    "text_hash",
]

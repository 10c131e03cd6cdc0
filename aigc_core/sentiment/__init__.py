"""Sentiment scoring: the embedded offline model, batched scoring with a store cache, and a CLI."""

from typing import Any

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


def __getattr__(name: str) -> Any:
    # Lazy, so that `python -m aigc_core.sentiment.head_build` does not import the head modules twice.
    if name in {"EmbeddedSentimentModel", "load_embedded"}:
        from aigc_core.sentiment import head

        return getattr(head, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

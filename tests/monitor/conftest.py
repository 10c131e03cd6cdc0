"""Monitor fixtures: a fast keyword scorer standing in for the sentiment model, and scored-row frames."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pytest

NEG_WORDS = ("bad", "terrible", "delayed", "lost", "worst", "hate", "refund")
POS_WORDS = ("great", "love", "thanks", "awesome", "best")


def keyword_label(text: str) -> str:
    low = str(text).lower()
    if any(w in low for w in NEG_WORDS):
        return "negative"
    if any(w in low for w in POS_WORDS):
        return "positive"
    return "neutral"


@dataclass
class FakeModel:
    """Stands in for a loaded sentiment model (labels, version); scoring is patched to keywords."""

    labels: tuple[str, ...] = ("negative", "neutral", "positive")
    version: str = "fake-keywords-v1"
    calls: list[list[str]] = field(default_factory=list)


@pytest.fixture()
def fake_scorer(monkeypatch: pytest.MonkeyPatch) -> FakeModel:
    """Patch the sentiment engine's model loading and forward pass; the real score cache stays in place."""
    from aigc_core.sentiment import scoring

    model = FakeModel()

    def load_model(spec: Any = "embedded", **_: Any) -> FakeModel:
        return model

    def score_texts(texts: Any, *, model: Any = None, progress: Any = None, **_: Any) -> Any:
        texts = [scoring.normalize_text(t) for t in texts]
        model_obj = model if isinstance(model, FakeModel) else load_model()
        model_obj.calls.append(list(texts))
        res = scoring._empty_result(len(texts), model_obj.labels, model_obj.version)
        res.n_empty = 0
        res.empty_indices = []
        for i, t in enumerate(texts):
            if not t:
                res.empty_indices.append(i)
                res.n_empty += 1
                continue
            lab = keyword_label(t)
            p = np.full(3, 0.1, dtype=np.float32)
            p[model_obj.labels.index(lab)] = 0.8
            if lab == "negative" and "terrible" in t.lower():
                p = np.array([0.95, 0.03, 0.02], dtype=np.float32)
            res.probs[i] = p
            res.scores[i] = p.max()
            res.labels[i] = lab
        if progress is not None:
            progress(len(texts), len(texts))
        return res

    monkeypatch.setattr(scoring, "load_model", load_model)
    monkeypatch.setattr(scoring, "score_texts", score_texts)
    return model


def scored_frame(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    """Scored rows from (iso timestamp, topic, label, text) tuples; prob_negative 0.9 for negatives else 0.1."""
    data = []
    for i, (ts, topic, label, text) in enumerate(rows):
        pn = 0.9 if label == "negative" else 0.1
        data.append(
            {
                "row_id": f"r{i}",
                "ts": pd.Timestamp(ts),
                "text": text,
                "topic": topic,
                "source": "web" if i % 2 else "app",
                "author": "",
                "label": label,
                "score": 0.9,
                "prob_negative": pn,
                "prob_neutral": 0.05,
                "prob_positive": 1 - pn - 0.05,
            }
        )
    return pd.DataFrame(data)

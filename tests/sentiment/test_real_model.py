"""The shipped head on the real MiniLM encoder (slow: loads the 90 MB encoder)."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_shipped_model_gets_obvious_sentences_right():
    from aigc_core.sentiment.head import load_embedded
    from aigc_core.sentiment.scoring import score_texts

    model = load_embedded(device="cpu")
    assert model.labels == ("negative", "neutral", "positive")
    texts = ["I love this, great service!", "Worst airline ever, lost my bag", "", "The meeting is at 3pm on Tuesday."]
    res = score_texts(texts, model=model)
    assert res.labels[0] == "positive" and res.labels[1] == "negative"
    assert res.labels[2] is None and res.n_empty == 1
    assert res.scores[0] > 0.6 and res.scores[1] > 0.6
    probs = model.predict_proba(texts[:2])
    assert probs.shape == (2, 3) and abs(probs.sum() - 2.0) < 1e-4

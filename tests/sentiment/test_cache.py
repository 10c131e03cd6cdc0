"""Score cache in the store: only texts not cached for the model version are scored."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import func, select

from aigc_core.sentiment import scoring
from aigc_core.sentiment.scoring import score_texts, score_with_cache, text_hash
from aigc_core.store import SentimentScore, session_scope


class CountingModel:
    """Wraps a scoring model and counts the texts run through it."""

    def __init__(self, inner):
        self.inner = inner
        self.labels = inner.labels
        self.version = inner.version
        self.tokenizer = inner.tokenizer
        self.max_length = inner.max_length
        self.device = inner.device
        self.pad_token_id = inner.pad_token_id
        self.rows = 0

    def logits(self, input_ids, attention_mask):
        self.rows += int(input_ids.shape[0])
        return self.inner.logits(input_ids, attention_mask)


@pytest.fixture()
def counting(tiny_model):
    scoring.clear_model_cache()
    return CountingModel(tiny_model)


def _cached_rows(version: str) -> int:
    with session_scope() as s:
        return s.scalar(select(func.count()).select_from(SentimentScore).where(SentimentScore.model_version == version))


def test_second_call_scores_only_new_rows(settings, counting):
    first = ["i love this", "worst airline ever", "meeting tomorrow", "i love this", ""]
    res1, new1 = score_with_cache(first, counting, "tiny@1")
    assert new1 == 3 and counting.rows == 3  # duplicate and empty text not scored
    assert _cached_rows("tiny@1") == 3
    assert res1.n_empty == 1 and res1.labels[4] is None
    np.testing.assert_allclose(res1.probs[0], res1.probs[3])

    second = ["meeting tomorrow", "lost my bag", "i   love this  ", "great service thanks", "@someone lost my bag"]
    res2, new2 = score_with_cache(second, counting, "tiny@1")
    # new: "lost my bag", "great service thanks", "@user lost my bag" ("i   love this  " normalises to a cached text)
    assert new2 == 3 and counting.rows == 6
    assert _cached_rows("tiny@1") == 6
    direct = score_texts(second, model=counting.inner)
    np.testing.assert_allclose(res2.probs, direct.probs, atol=1e-5)
    assert res2.labels == direct.labels
    np.testing.assert_allclose(res2.scores, direct.scores, atol=1e-5)

    _, new3 = score_with_cache(second, counting, "tiny@1")
    assert new3 == 0 and counting.rows == 6


def test_other_model_version_is_scored_again(settings, counting):
    score_with_cache(["i love this", "bad"], counting, "tiny@1")
    _, n = score_with_cache(["i love this", "bad"], counting, "tiny@2")
    assert n == 2 and _cached_rows("tiny@2") == 2


def test_cache_rows_hold_label_score_and_probs(settings, counting):
    res, _ = score_with_cache(["great service thanks"], counting)
    with session_scope() as s:
        row = s.get(SentimentScore, (text_hash("great service thanks"), counting.version))
        assert row is not None
        assert row.label == res.labels[0]
        assert row.score == pytest.approx(float(res.scores[0]), abs=1e-6)
        assert set(row.probs) == {"negative", "neutral", "positive"}
        assert sum(row.probs.values()) == pytest.approx(1.0, abs=1e-5)


def test_many_texts_chunked(settings, counting):
    texts = [f"flight {i} was delayed" for i in range(1200)]
    res, n = score_with_cache(texts, counting, "tiny@big", batch_size=256)
    assert n == 1200 and _cached_rows("tiny@big") == 1200
    res2, n2 = score_with_cache(texts[::-1], counting, "tiny@big")
    assert n2 == 0
    np.testing.assert_allclose(res2.probs[::-1], res.probs, atol=1e-6)

"""score_texts: order after length sorting, empty texts, truncation, label maps, model resolution."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aigc_core.errors import ModelUnavailableError, UserInputError
from aigc_core.sentiment import scoring
from aigc_core.sentiment.scoring import parse_label_map, resolve_label_mapping, score_texts

TEXTS = [
    "worst airline ever lost my bag and the flight was delayed and cancelled today",
    "i love this",
    "meeting tomorrow",
    "great service thanks @bob http://t.co/x",
    "bad",
    "the new phone update is okay and the weather today is nice for a flight",
    "hate",
]


@pytest.fixture(autouse=True)
def _fresh_model_cache():
    scoring.clear_model_cache()
    yield
    scoring.clear_model_cache()


def test_order_is_restored_after_length_sorting(tiny_model):
    batched = score_texts(TEXTS, model=tiny_model, batch_size=3)
    one_by_one = np.vstack([score_texts([t], model=tiny_model, batch_size=1).probs for t in TEXTS])
    np.testing.assert_allclose(batched.probs, one_by_one, atol=1e-5)
    assert batched.labels == [tiny_model.labels[i] for i in one_by_one.argmax(1)]
    np.testing.assert_allclose(batched.scores, one_by_one.max(1), atol=1e-5)
    assert batched.label_order == ("negative", "neutral", "positive")
    assert batched.n_empty == 0 and batched.n_scored == len(TEXTS)


def test_empty_texts_are_skipped_and_reported(tiny_model):
    texts = ["", None, "   ", "i love this", float("nan"), "@user"]
    res = score_texts(texts, model=tiny_model)
    assert res.n_empty == 4 and res.empty_indices == [0, 1, 2, 4]
    assert res.labels[3] is not None and res.labels[5] is not None
    assert all(res.labels[i] is None for i in (0, 1, 2, 4))
    assert np.isnan(res.probs[[0, 1, 2, 4]]).all() and np.isnan(res.scores[0])
    assert not np.isnan(res.probs[3]).any()
    frame = res.to_frame()
    assert list(frame.columns) == ["label", "score", "prob_negative", "prob_neutral", "prob_positive"]
    assert frame["label"].isna().sum() == 4
    none = score_texts(["", None], model=tiny_model)
    assert none.n_empty == 2 and none.probs.shape == (2, 3)
    assert score_texts([], model=tiny_model).probs.shape == (0, 3)


def test_truncation_is_counted(tiny_model):
    long = " ".join(["great"] * 100)
    res = score_texts([long, "bad"], model=tiny_model)
    assert res.n_truncated == 1 and res.labels[0] is not None


def test_bad_batch_size(tiny_model):
    with pytest.raises(UserInputError):
        score_texts(["x"], model=tiny_model, batch_size=0)


def test_generic_labels_ask_for_a_mapping(tiny_classifier_generic_dir: Path):
    with pytest.raises(UserInputError) as err:
        score_texts(["i love this"], model=str(tiny_classifier_generic_dir))
    assert "LABEL_0" in err.value.message and "mapping" in (err.value.hint or "")


def test_label_map_three_classes(tiny_classifier_generic_dir: Path):
    res = score_texts(
        TEXTS,
        model=str(tiny_classifier_generic_dir),
        label_map="LABEL_0=negative,LABEL_1=neutral,LABEL_2=positive",
        batch_size=2,
    )
    assert res.label_order == ("negative", "neutral", "positive")
    np.testing.assert_allclose(res.probs.sum(1), 1.0, atol=1e-5)
    # order restored: same as scoring each text alone
    alone = np.vstack(
        [
            score_texts(
                [t],
                model=str(tiny_classifier_generic_dir),
                label_map={"LABEL_0": "neg", "LABEL_1": "neu", "LABEL_2": "pos"},
            ).probs
            for t in TEXTS
        ]
    )
    np.testing.assert_allclose(res.probs, alone, atol=1e-5)


def test_label_map_collapses_classes(tiny_classifier_generic_dir: Path):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    res = score_texts(
        ["i love this", "bad"],
        model=str(tiny_classifier_generic_dir),
        label_map='{"LABEL_0": "negative", "LABEL_1": "negative", "LABEL_2": "positive"}',
    )
    assert res.label_order == ("negative", "positive")
    tok = AutoTokenizer.from_pretrained(str(tiny_classifier_generic_dir))
    model = AutoModelForSequenceClassification.from_pretrained(str(tiny_classifier_generic_dir)).eval()
    with torch.inference_mode():
        raw = torch.softmax(model(**tok(["i love this"], return_tensors="pt")).logits, -1)[0].numpy()
    np.testing.assert_allclose(res.probs[0], [raw[0] + raw[1], raw[2]], atol=1e-5)


def test_sentiment_named_labels_need_no_map(tiny_classifier_sentiment_dir: Path):
    res = score_texts(["i love this"], model=str(tiny_classifier_sentiment_dir))
    assert res.label_order == ("negative", "neutral", "positive")
    assert res.labels[0] in res.label_order


@pytest.mark.parametrize(
    ("mapping", "match"),
    [
        ({"LABEL_0": "negative", "LABEL_1": "neutral"}, "does not say"),
        ({"LABEL_0": "negative", "LABEL_1": "neutral", "LABEL_2": "happy"}, "not sentiment labels"),
        ({"LABEL_0": "negative", "LABEL_1": "neutral", "LABEL_2": "positive", "LABEL_9": "positive"}, "does not have"),
        ({"LABEL_0": "negative", "LABEL_1": "negative", "LABEL_2": "negative"}, "fewer than two"),
    ],
)
def test_bad_label_maps(mapping, match):
    with pytest.raises(UserInputError, match=match):
        resolve_label_mapping(["LABEL_0", "LABEL_1", "LABEL_2"], mapping)


def test_parse_label_map_formats():
    assert parse_label_map("a=negative, b=positive") == {"a": "negative", "b": "positive"}
    assert parse_label_map('{"1 star": "negative"}') == {"1 star": "negative"}
    assert parse_label_map(None) is None and parse_label_map("  ") is None
    with pytest.raises(UserInputError):
        parse_label_map("LABEL_0:negative")
    with pytest.raises(UserInputError):
        parse_label_map("{broken")


def test_unknown_models(tmp_path: Path):
    with pytest.raises(ModelUnavailableError):
        score_texts(["x"], model=str(tmp_path / "missing-folder"))
    with pytest.raises(ModelUnavailableError):
        score_texts(["x"], model="some-org/not-cached-model")  # HF_HUB_OFFLINE=1 in tests
    with pytest.raises(UserInputError):
        score_texts(["x"], model="  ")


def test_registry_version_not_found(settings):
    from aigc_core.errors import NotFoundError

    with pytest.raises(NotFoundError):
        score_texts(["x"], model="registry:nope")


def test_head_folder_is_recognised(tiny_head_dir: Path, tiny_encoder_dir: Path, monkeypatch: pytest.MonkeyPatch):
    from aigc_core.sentiment import head as head_mod

    monkeypatch.setattr(head_mod, "encoder_dir", lambda: tiny_encoder_dir)
    res = score_texts(["love great thanks happy"], model=str(tiny_head_dir))
    assert res.model_version.startswith("embedded:") and res.labels[0] == "positive"


def test_bfloat16_precision_is_close_and_versioned(tiny_head_dir: Path, tiny_encoder_dir: Path, monkeypatch):
    from aigc_core.sentiment import head as head_mod

    monkeypatch.setattr(head_mod, "encoder_dir", lambda: tiny_encoder_dir)
    fp32 = score_texts(TEXTS, model=str(tiny_head_dir), dtype="float32")
    bf16 = score_texts(TEXTS, model=str(tiny_head_dir), dtype="bfloat16")
    assert bf16.model_version == fp32.model_version + "+bfloat16"
    np.testing.assert_allclose(bf16.probs, fp32.probs, atol=0.05)
    with pytest.raises(UserInputError):
        score_texts(["x"], model=str(tiny_head_dir), dtype="int3")


def test_registry_versions(settings, tiny_classifier_sentiment_dir: Path):
    from aigc_core.store import ModelVersion, session_scope

    with pytest.raises(ModelUnavailableError, match="promoted"):  # resolved by the model catalog
        score_texts(["x"], model="registry:promoted")
    with session_scope() as s:
        s.add(ModelVersion(id="cls1", task="text-classification", name="c", path=str(tiny_classifier_sentiment_dir)))
        s.add(ModelVersion(id="lm1", task="text-generation", name="g", path=str(tiny_classifier_sentiment_dir)))
    res = score_texts(["i love this"], model="registry:cls1")
    assert res.model_version == "registry:cls1" and res.labels[0] in res.label_order
    with pytest.raises(UserInputError, match="is a text-generation model"):
        score_texts(["x"], model="registry:lm1")
    with session_scope() as s:
        s.get(ModelVersion, "cls1").promoted = True
    assert score_texts(["i love this"], model="registry:promoted").model_version == "registry:cls1"


def test_chunks_and_progress(tiny_model, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(scoring, "SORT_CHUNK", 3)
    seen: list[tuple[int, int]] = []
    texts = [*TEXTS, "", "good"]
    chunked = score_texts(texts, model=tiny_model, batch_size=2, progress=lambda d, n: seen.append((d, n)))
    monkeypatch.setattr(scoring, "SORT_CHUNK", 8192)
    whole = score_texts(texts, model=tiny_model, batch_size=64)
    np.testing.assert_allclose(chunked.probs, whole.probs, atol=1e-5)
    assert chunked.labels == whole.labels
    assert seen[-1] == (8, 8) and [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_batches_respect_rows_and_token_budget():
    lengths = np.array([3, 10, 2, 50, 7, 7, 1])
    order = np.argsort(lengths, kind="stable")
    batches = list(scoring._batches(lengths[order], order, 3, 20))
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(lengths)))  # every row exactly once
    for idx in batches:
        assert len(idx) <= 3
        assert len(idx) == 1 or len(idx) * lengths[idx].max() <= 20  # a text longer than the budget goes alone
    assert [lengths[b].tolist() for b in batches] == [[1, 2, 3], [7, 7], [10], [50]]
    unlimited = list(scoring._batches(lengths[order], order, 3, None))
    assert [len(b) for b in unlimited] == [3, 3, 1]


def test_token_budget_gives_the_same_scores(tiny_model, monkeypatch: pytest.MonkeyPatch):
    whole = score_texts(TEXTS, model=tiny_model, batch_size=64)
    monkeypatch.setattr(scoring, "MAX_BATCH_TOKENS", 12)  # about one text per batch
    seen: list[tuple[int, int]] = []
    small = score_texts(TEXTS, model=tiny_model, batch_size=64, progress=lambda d, n: seen.append((d, n)))
    np.testing.assert_allclose(small.probs, whole.probs, atol=1e-5)
    assert small.labels == whole.labels
    assert len(seen) >= 3 and seen[-1] == (len(TEXTS), len(TEXTS))  # batch 64 alone would be one batch

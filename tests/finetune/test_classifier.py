"""Classifier training: data checks and a few real steps on a tiny random BERT."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aigc_core.errors import UserInputError
from aigc_core.finetune.classifier import (
    class_weight_vector,
    load_classifier,
    prepare_classification,
    save_classifier,
    train_classifier,
)
from aigc_core.finetune.params import ClassifierJobParams, TrainParams
from aigc_core.finetune.training import LocalContext, last_checkpoint, read_metrics


def _params(**train) -> ClassifierJobParams:
    base = {"epochs": 2, "batch_size": 8, "learning_rate": 5e-3, "max_length": 32, "eval_steps": 4}
    base.update(train)
    return ClassifierJobParams(train=TrainParams(**base))


def test_train_save_and_reload(ft_bert_dir, sentiment_frames, tmp_path) -> None:
    train, val, test = sentiment_frames
    data = prepare_classification(train, val, test, "text", "label", min_examples_per_class=5)
    ctx = LocalContext(tmp_path / "job")
    out = train_classifier(ft_bert_dir, data, _params(), ctx)
    assert out.global_step == 16 and not out.stopped
    metrics = read_metrics(ctx.work_dir)
    assert any("eval_macro_f1" in m for m in metrics) and any("loss" in m for m in metrics)
    assert last_checkpoint(out.checkpoint_dir) is not None
    save_classifier(out, tmp_path / "model")
    model, _tok = load_classifier(tmp_path / "model")
    assert model.config.id2label == {0: "negative", 1: "positive"}
    assert ctx.progress > 0.5


def test_lora_classifier_keeps_adapter_separately(ft_bert_dir, sentiment_frames, tmp_path) -> None:
    train, val, _test = sentiment_frames
    data = prepare_classification(train, val, None, "text", "label", min_examples_per_class=5)
    params = _params(max_steps=3)
    params.lora.enabled = True
    out = train_classifier(ft_bert_dir, data, params, LocalContext(tmp_path / "job"))
    files = save_classifier(out, tmp_path / "model")
    assert files["adapter"] and (tmp_path / "model" / "adapter" / "adapter_config.json").is_file()
    model, _ = load_classifier(tmp_path / "model")  # merged weights load without peft
    assert type(model).__name__ == "BertForSequenceClassification"


def test_class_weights_are_balanced() -> None:
    w = class_weight_vector([0, 0, 0, 1], 2)
    assert w[1] / w[0] == pytest.approx(3.0)
    assert w.mean() == pytest.approx(1.0)


def test_cancel_keeps_a_checkpoint_and_resume_finishes(ft_bert_dir, sentiment_frames, tmp_path) -> None:
    train, val, _ = sentiment_frames
    data = prepare_classification(train, val, None, "text", "label", min_examples_per_class=5)

    class StopAfter(LocalContext):
        def should_stop(self) -> bool:
            return self.progress > 0.2

    ctx = StopAfter(tmp_path / "job")
    out = train_classifier(ft_bert_dir, data, _params(), ctx)
    assert out.stopped and out.global_step < 16
    ckpt = last_checkpoint(out.checkpoint_dir)
    assert ckpt is not None and ckpt.name == f"checkpoint-{out.global_step}"
    again = train_classifier(ft_bert_dir, data, _params(), LocalContext(tmp_path / "job2"), resume_from=ckpt)
    assert again.global_step == 16 and not again.stopped


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"txt": ["a"] * 20, "label": ["x"] * 20}), "no column 'text'"),
        (pd.DataFrame({"text": ["a"] * 20, "label": ["x"] * 20}), "single class"),
        (pd.DataFrame({"text": ["a"] * 22, "label": ["x"] * 20 + ["y"] * 2}), "fewer than 10"),
        (pd.DataFrame({"text": ["a"] * 22, "label": ["x"] * 11 + ["y"] * 10 + [None]}), "have no label"),
    ],
)
def test_bad_data_is_refused(frame, message) -> None:
    with pytest.raises(UserInputError, match=message) as err:
        prepare_classification(frame, None, None, "text", "label")
    assert err.value.hint


def test_unknown_label_in_test_split_is_refused() -> None:
    train = pd.DataFrame({"text": ["a"] * 20, "label": ["x"] * 10 + ["y"] * 10})
    test = pd.DataFrame({"text": ["a"], "label": ["z"]})
    with pytest.raises(UserInputError, match="never occur"):
        prepare_classification(train, None, test, "text", "label")


def test_long_texts_are_counted_as_truncated(ft_bert_dir) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(ft_bert_dir))
    train = pd.DataFrame({"text": ["good"] * 10 + [" ".join(["bad"] * 50)] * 10, "label": ["p"] * 10 + ["n"] * 10})
    data = prepare_classification(train, None, None, "text", "label", tokenizer=tok, max_length=16)
    assert data.truncated == 10
    assert any("10 of 20 text(s) are longer than 16 tokens" in n for n in data.notes)
    assert np.bincount(data.train_y).tolist() == [10, 10]


@pytest.mark.slow
def test_torch_compile_trains_and_saves_plain_weights(ft_bert_dir, sentiment_frames, tmp_path) -> None:
    """The GPU speed option on the CPU: compiled training runs, and the saved model has no compile-wrapper keys."""
    train, val, _test = sentiment_frames
    data = prepare_classification(train, val, None, "text", "label", min_examples_per_class=5)
    params = _params(max_steps=3, torch_compile=True)
    out = train_classifier(ft_bert_dir, data, params, LocalContext(tmp_path / "job"))
    assert out.global_step == 3
    save_classifier(out, tmp_path / "model")
    from safetensors import safe_open

    with safe_open(str(tmp_path / "model" / "model.safetensors"), "pt") as f:
        keys = list(f.keys())
    assert keys and not any("_orig_mod" in k for k in keys)
    model, _tok = load_classifier(tmp_path / "model")
    assert type(model).__name__ == "BertForSequenceClassification"

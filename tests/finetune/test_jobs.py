"""The job functions end to end with a fake job context: classifier and LoRA LM runs, evaluation against the base,
registration, cancel + resume, continue for more epochs, bad inputs before training."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from aigc_core.errors import UserInputError
from aigc_core.finetune import jobs, registry
from aigc_core.finetune.params import CausalLMJobParams, ClassifierJobParams, LoraParams, TrainParams
from aigc_core.finetune.training import LocalContext, last_checkpoint, read_metrics


@pytest.fixture()
def splits(monkeypatch, sentiment_frames, brand_frames):
    """Dataset versions served from memory instead of aigc_core.data."""
    train, val, test = sentiment_frames
    btrain, bval, btest = brand_frames
    store = {
        "sent": jobs.DatasetSplits(train, val, test, {"text": "text", "label": "label"}),
        "brand": jobs.DatasetSplits(btrain, bval, btest, {"text": "copy"}),
    }
    monkeypatch.setattr(jobs, "load_dataset_splits", lambda vid: store[vid])
    return store


def _clf(base, **kw) -> ClassifierJobParams:
    train = {"epochs": 2, "batch_size": 8, "learning_rate": 5e-3, "max_length": 32, "eval_steps": 4}
    train.update(kw.pop("train", {}))
    return ClassifierJobParams(
        dataset_version_id="sent", base_model=str(base), min_examples_per_class=5, train=TrainParams(**train), **kw
    )


def test_classifier_job_registers_a_version_with_base_comparison(settings, splits, ft_bert_dir) -> None:
    ctx = LocalContext(settings.resolved_data_dir / "jobs" / "j1")
    result = jobs.run_classifier_job(ctx, _clf(ft_bert_dir, name="tiny sentiment"))
    info = registry.get_version(result["model_version_id"])
    assert info.task == "text-classification" and info.name == "tiny sentiment"
    test = info.metrics["test"]
    assert 0.0 <= test["macro_f1"] <= 1.0 and sum(map(sum, test["confusion"])) == 16
    assert set(test["per_class"]) == {"negative", "positive"}
    assert "macro_f1" in info.metrics["base"]
    assert info.metrics["history"] and info.meta["labels"] == ["negative", "positive"]
    card = (registry.Path(info.path) / "README.md").read_text()
    assert "tiny sentiment" in card and "macro_f1" in card
    assert json.loads((registry.Path(info.path) / "config.json").read_text())["id2label"] == {
        "0": "negative",
        "1": "positive",
    }
    assert ctx.progress == 1.0


def test_classifier_job_with_synthetic_rows_marks_them(settings, splits, ft_bert_dir) -> None:
    rows = [{"text": "great great love", "label": "positive"}] * 3
    params = _clf(ft_bert_dir, synthetic_examples=rows, evaluate_base=False, train={"max_steps": 2})
    result = jobs.run_classifier_job(LocalContext(settings.resolved_data_dir / "jobs" / "j"), params)
    info = registry.get_version(result["model_version_id"])
    assert info.meta["n_synthetic"] == 3 and info.meta["n_train"] == 67


def test_cancel_then_resume_in_a_new_job(settings, splits, ft_bert_dir, monkeypatch) -> None:
    monkeypatch.setattr(jobs, "job_work_dir", lambda job_id: settings.resolved_data_dir / "jobs" / job_id)

    class CancelEarly(LocalContext):
        def should_stop(self) -> bool:
            return self.progress > 0.2

    old = CancelEarly(settings.resolved_data_dir / "jobs" / "old")
    stopped = jobs.run_classifier_job(old, _clf(ft_bert_dir, evaluate_base=False))
    assert stopped["cancelled"] and stopped["checkpoint"]
    assert registry.list_versions() == []
    new = LocalContext(settings.resolved_data_dir / "jobs" / "new")
    done = jobs.run_classifier_job(new, _clf(ft_bert_dir, evaluate_base=False, resume_from_job="old"))
    assert registry.get_version(done["model_version_id"]).meta["global_step"] == 16
    assert any(f"resuming from {stopped['checkpoint']}" in line for line in new.lines)
    steps = [m["step"] for m in read_metrics(new.work_dir)]
    assert min(steps) < stopped["global_step"] < max(steps)  # the old curve was carried over


def test_continue_for_more_epochs_makes_a_child_version(settings, splits, ft_bert_dir, monkeypatch) -> None:
    first = jobs.run_classifier_job(LocalContext(settings.resolved_data_dir / "jobs" / "a"), _clf(ft_bert_dir))
    submitted = {}

    class FakeJobs:
        @staticmethod
        def submit(kind, params, actor=None):
            submitted.update(kind=kind, params=params)
            return "job-2"

    monkeypatch.setattr(jobs, "jobs_api", lambda: FakeJobs)
    assert jobs.continue_version(first["model_version_id"], 1) == "job-2"
    params = ClassifierJobParams.model_validate(submitted["params"])
    assert submitted["kind"] == "finetune.classifier" and params.parent_id == first["model_version_id"]
    child = jobs.run_classifier_job(LocalContext(settings.resolved_data_dir / "jobs" / "b"), params)
    info = registry.get_version(child["model_version_id"])
    assert info.parent_id == first["model_version_id"] and info.params["train"]["epochs"] == 1
    assert any("continued from" in u for u in registry.usages(first["model_version_id"]))


def test_lora_lm_job_end_to_end(settings, splits, ft_llama_dir) -> None:
    params = CausalLMJobParams(
        dataset_version_id="brand",
        base_model=str(ft_llama_dir),
        prompt_column="brief",
        text_column="copy",
        train=TrainParams(max_steps=4, batch_size=4, learning_rate=1e-2, max_length=48, eval_steps=2),
        lora=LoraParams(enabled=True, r=4, alpha=8),
        sample_briefs=2,
    )
    ctx = LocalContext(settings.resolved_data_dir / "jobs" / "lm")
    result = jobs.run_causal_lm_job(ctx, params)
    info = registry.get_version(result["model_version_id"])
    assert info.has_adapter and not (registry.Path(info.path) / "model.safetensors").exists()
    assert result["perplexity"] > 1 and result["base_perplexity"] > 1
    assert result["perplexity"] < result["base_perplexity"]  # 4 steps at lr 1e-2 learn the fixed copy pattern
    assert len(info.metrics["samples"]) == 2 and {"brief", "base", "tuned"} <= set(info.metrics["samples"][0])
    assert last_checkpoint(ctx.work_dir / "checkpoints") is not None


def test_lm_loss_covers_only_the_answer(ft_llama_dir) -> None:
    from aigc_core.finetune.causal_lm import load_tokenizer, render_prompt, tokenize_pairs

    tok = load_tokenizer(ft_llama_dir)
    feats, truncated = tokenize_pairs(tok, [("write ad for shop", "buy now")], max_length=64)
    prompt_len = len(tok(render_prompt(tok, "write ad for shop"), add_special_tokens=False)["input_ids"])
    labels = feats[0]["labels"]
    assert labels[:prompt_len] == [-100] * prompt_len and -100 not in labels[prompt_len:]
    assert tok.decode(feats[0]["input_ids"][prompt_len:]).split() == ["buy", "now", "<|im_end|>"]
    assert truncated == 0
    _, truncated = tokenize_pairs(tok, [("write ad for shop", "buy now")], max_length=prompt_len + 1)
    assert truncated == 1


def test_incompatible_base_models_are_refused(settings, splits, ft_bert_dir, ft_llama_dir) -> None:
    with pytest.raises(UserInputError, match="text generator"):
        jobs.preflight_classifier(_clf(ft_llama_dir))
    with pytest.raises(UserInputError, match="cannot generate text"):
        jobs.preflight_causal_lm(CausalLMJobParams(dataset_version_id="brand", base_model=str(ft_bert_dir)))


def test_preflight_reports_columns_counts_truncation_and_estimate(settings, splits, ft_bert_dir) -> None:
    pre, _ = jobs.preflight_classifier(_clf(ft_bert_dir, train={"max_length": 8}))
    assert (pre.text_column, pre.label_column) == ("text", "label")
    assert pre.class_counts == {"negative": 32, "positive": 32}
    assert any("truncated" in n for n in pre.notes)
    assert pre.estimate is not None and pre.estimate.steps == 16 and pre.estimate.memory_bytes > 0


def test_lm_preflight_refuses_tiny_or_columnless_data(settings, splits, ft_llama_dir, monkeypatch) -> None:
    few = jobs.DatasetSplits(pd.DataFrame({"copy": ["buy now"] * 3}), None, None, {"text": "copy"})
    monkeypatch.setattr(jobs, "load_dataset_splits", lambda vid: few)
    with pytest.raises(UserInputError, match="at least 10"):
        jobs.preflight_causal_lm(CausalLMJobParams(dataset_version_id="x", base_model=str(ft_llama_dir)))
    with pytest.raises(UserInputError, match="no column 'brief'"):
        jobs.preflight_causal_lm(
            CausalLMJobParams(dataset_version_id="x", base_model=str(ft_llama_dir), prompt_column="brief")
        )

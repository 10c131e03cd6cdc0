"""Out-of-memory advice, step planning, base-model checks, LoRA targets and the estimate."""

from __future__ import annotations

import pytest

from aigc_core.errors import AigcError, ModelUnavailableError, UserInputError
from aigc_core.finetune.estimate import count_parameters, estimate_run
from aigc_core.finetune.params import LoraParams, TrainParams
from aigc_core.finetune.training import (
    OOM_HINT,
    check_base_compatible,
    lora_targets,
    oom_guard,
    plan_run,
    resolve_base,
)


def test_out_of_memory_becomes_advice() -> None:
    with pytest.raises(AigcError, match="ran out of memory") as err, oom_guard("cpu"):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
    assert err.value.hint == OOM_HINT and "LoRA" in OOM_HINT and "checkpoint" in OOM_HINT
    with pytest.raises(ValueError), oom_guard("cpu"):
        raise ValueError("something else")


def test_plan_run_steps_and_evaluation_interval() -> None:
    plan = plan_run(TrainParams(epochs=2, batch_size=10, grad_accum=2), 1000, "cpu")
    assert plan.total_steps == 100 and plan.eval_steps == 50 and plan.precision == "fp32"
    big = plan_run(TrainParams(epochs=10, batch_size=10), 10_000, "cpu")
    assert big.eval_steps == 1000  # about ten evaluations
    assert plan_run(TrainParams(max_steps=7, eval_steps=3), 10, "cpu").total_steps == 7


def test_lora_targets_per_architecture() -> None:
    assert lora_targets("llama", None) == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert lora_targets("bert", None) == ["query", "key", "value"]
    assert lora_targets("distilbert", None) == ["q_lin", "k_lin", "v_lin"]
    assert lora_targets("llama", ["q_proj"]) == ["q_proj"]


def test_base_model_checks(tmp_path, ft_bert_dir) -> None:
    with pytest.raises(UserInputError, match=r"no config\.json"):
        check_base_compatible("text-classification", tmp_path)
    assert check_base_compatible("text-classification", ft_bert_dir)["model_type"] == "bert"
    with pytest.raises(ModelUnavailableError):
        resolve_base("text-classification", "registry-typo/not-a-folder/x")
    assert resolve_base("text-classification", str(ft_bert_dir)) == ft_bert_dir


def test_estimate_counts_weights_and_scales_with_lora(ft_bert_dir) -> None:
    total, emb = count_parameters(ft_bert_dir)
    assert total > emb > 0
    full = estimate_run(ft_bert_dir, 1000, TrainParams(), LoraParams())
    lora = estimate_run(ft_bert_dir, 1000, TrainParams(), LoraParams(enabled=True, r=4))
    assert full.trainable_params == total and lora.trainable_params < total
    assert lora.memory_bytes < full.memory_bytes and lora.seconds < full.seconds
    measured = estimate_run(ft_bert_dir, 1000, TrainParams(epochs=1), LoraParams(), measured_samples_per_s=100.0)
    assert measured.seconds == pytest.approx(1024 / 100.0) and "measured" in measured.summary()


def test_frozen_embeddings_are_not_counted_as_trained_and_never_exceed_the_total(ft_bert_dir) -> None:
    from aigc_core.finetune.estimate import input_embedding_params

    total, _ = count_parameters(ft_bert_dir)
    frozen = estimate_run(ft_bert_dir, 1000, TrainParams(), LoraParams(), freeze_embeddings=True)
    assert frozen.trainable_params == total - input_embedding_params(ft_bert_dir) < total
    # both at the same precision, so "22.71 M of 22.7 M" can no longer be printed
    assert f"of {total / 1e6:.2f} M weights trained" in frozen.summary()


def test_training_progress_says_the_time_left_once() -> None:
    import inspect

    from aigc_core.finetune import training

    assert "s left" not in inspect.getsource(training)  # the page adds the job's own estimate, once

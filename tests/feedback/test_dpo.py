"""DPO with TRL on the tiny language model: log-probability scoring, the data checks inside the job, and a run
that registers a LoRA version with held-out preference accuracy for base and tuned."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from aigc_core import data as data_api
from aigc_core.errors import UserInputError
from aigc_core.feedback import PreferenceDataError
from aigc_core.feedback.dataset import brief_key
from aigc_core.finetune import registry
from aigc_core.finetune.dpo import PreferenceJobParams, preflight_preferences, response_logps, run_preference_job
from aigc_core.finetune.params import LoraParams, TrainParams
from aigc_core.finetune.training import LocalContext

from .conftest import BAD, GOOD, PRODUCTS


def preference_frames(n_train_briefs: int = 8, n_test_briefs: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pairs where the chosen copy is always a GOOD sentence and the rejected one a BAD sentence."""

    def rows(briefs: list[str]) -> pd.DataFrame:
        out = []
        for b in briefs:
            prompt = f"Product: {b}\nChannel: Social post"
            for i in range(3):
                out.append(
                    {"prompt": prompt, "chosen": GOOD[i], "rejected": BAD[i % 2], "brief_key": brief_key(prompt)}
                )
        return pd.DataFrame(out)

    names = [f"{p} {n}" for n in range(3) for p in PRODUCTS]
    return rows(names[:n_train_briefs]), rows(names[n_train_briefs : n_train_briefs + n_test_briefs])


def save_preferences(train: pd.DataFrame, test: pd.DataFrame) -> str:
    ds = data_api.create_dataset("prefs")
    return data_api.save_version(
        ds.id, kind="split", splits={"train": train, "test": test}, roles={"text": "chosen"}
    ).id


def tiny_params(version_id: str, base: Path, max_length: int = 64, **kw) -> PreferenceJobParams:
    return PreferenceJobParams(
        dataset_version_id=version_id, base_model=str(base), name="prefs voice", beta=0.5,
        train=TrainParams(max_steps=12, batch_size=4, learning_rate=5e-3, max_length=max_length, warmup_ratio=0.0),
        lora=LoraParams(enabled=True, r=4, alpha=8), sample_briefs=1, **kw,
    )  # fmt: skip


def test_response_logps_match_a_manual_sum(tiny_causal_lm_dir: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_causal_lm_dir))
    model = AutoModelForCausalLM.from_pretrained(str(tiny_causal_lm_dir)).eval()
    prompts, responses = ["the quick brown fox", "hello world"], ["jumps over", "this is a tiny model for tests"]
    sums, counts = response_logps(model, tok, prompts, responses, max_length=64, batch_size=2)
    for p, r, got, n in zip(prompts, responses, sums, counts, strict=True):
        p_ids = tok(p, add_special_tokens=False)["input_ids"]
        r_ids = tok(r + tok.eos_token, add_special_tokens=False)["input_ids"]
        ids = torch.tensor([p_ids + r_ids])
        with torch.inference_mode():
            logp = torch.log_softmax(model(input_ids=ids).logits[0, :-1], -1)
        want = sum(float(logp[len(p_ids) - 1 + j, t]) for j, t in enumerate(r_ids))
        assert n == len(r_ids) and got == pytest.approx(want, abs=1e-4)


def test_the_job_refuses_too_little_data(store, tiny_causal_lm_dir: Path, tmp_path: Path) -> None:
    train, test = preference_frames(2, 1)
    version_id = save_preferences(train, test)
    with pytest.raises(PreferenceDataError, match="at least 20"):
        run_preference_job(LocalContext(tmp_path / "job"), tiny_params(version_id, tiny_causal_lm_dir))


def test_briefs_longer_than_max_length_are_refused_with_advice(store, tiny_causal_lm_dir: Path) -> None:
    train, test = preference_frames()
    version_id = save_preferences(train, test)
    with pytest.raises(UserInputError, match="Raise the max length"):
        preflight_preferences(tiny_params(version_id, tiny_causal_lm_dir, max_length=12))


def test_dpo_run_registers_a_version_with_preference_accuracy(store, tiny_causal_lm_dir: Path, tmp_path: Path) -> None:
    train, test = preference_frames()
    version_id = save_preferences(train, test)
    ctx = LocalContext(tmp_path / "job")
    result = run_preference_job(ctx, tiny_params(version_id, tiny_causal_lm_dir))
    info = registry.get_version(result["model_version_id"])
    assert info.task == "text-generation" and info.has_adapter and info.meta["method"] == "dpo"
    test_m, base_m = info.metrics["test"], info.metrics["base"]
    assert info.metrics["n_test_pairs"] == 9 and base_m["reward_accuracy"] == 0.5
    assert 0.0 <= base_m["logp_accuracy"] <= 1.0
    # the planted preference (GOOD over BAD sentences) is learned on briefs never seen in training
    assert test_m["reward_accuracy"] > 0.5 and test_m["reward_margin"] > 0
    assert test_m["logp_accuracy"] >= base_m["logp_accuracy"]
    assert info.metrics["samples"] and set(info.metrics["samples"][0]) == {"brief", "base", "tuned"}
    assert any("loss" in h for h in info.metrics["dpo_history"])

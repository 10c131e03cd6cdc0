"""Brand voice from preferences: DPO (TRL's ``DPOTrainer``, no hand-written loss) on (brief, chosen, rejected)
pairs built from ad copy feedback, training a LoRA on the language model as a background job (``finetune.dpo``).

Held-out preference accuracy, measured on the test split (briefs never seen in training):

- ``reward_accuracy``: the tuned model's implicit DPO reward, beta * (log pi(y|x) - log pi_base(y|x)), is higher for
  the chosen copy than for the rejected one (ties count half). For the base model the reward is 0 for every copy,
  so its reward accuracy is 0.5 by construction.
- ``logp_accuracy``: the model gives the chosen copy a higher mean per-token log-probability than the rejected one
  (ties count half) — the like-for-like number for base and tuned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from pydantic import Field

from aigc_core.errors import UserInputError
from aigc_core.feedback.checks import MIN_TEST_PAIRS, MIN_TRAIN_PAIRS, PreferenceCheck, check_preferences
from aigc_core.feedback.dataset import PreferencePair, brief_key
from aigc_core.finetune.jobs import (
    _device_for,
    _save_version,
    _stopped_result,
    find_resume_checkpoint,
    jobs_api,
    load_dataset_splits,
)
from aigc_core.finetune.params import CAUSAL_LM_TASK, LoraParams, TrainParams, _JobBase
from aigc_core.finetune.training import (
    check_base_compatible,
    lora_targets,
    make_progress_callback,
    plan_run,
    read_config,
    resolve_base,
    run_trainer,
    set_seed,
)
from aigc_core.jobs import job_kind
from aigc_core.jobs.context import JobContext
from aigc_core.users.roles import Actor

PREFERENCE_KIND = "finetune.dpo"
PAIR_COLUMNS = ("prompt", "chosen", "rejected")


class PreferenceJobParams(_JobBase):
    """A DPO run on a preference dataset version (columns prompt, chosen, rejected; split by brief)."""

    train: TrainParams = Field(
        default_factory=lambda: TrainParams(learning_rate=5e-5, batch_size=4, max_length=256, epochs=3)
    )
    lora: LoraParams = Field(default_factory=lambda: LoraParams(enabled=True, r=8, alpha=16))
    beta: float = Field(0.1, gt=0, le=10, description="DPO beta: how far the tuned model may move from the base.")
    system_prompt: str = Field("", max_length=2000, description="Optional system message in the chat template.")
    sample_briefs: int = Field(3, ge=0, le=20, description="Held-out briefs shown base vs tuned after training.")
    min_train_pairs: int = Field(MIN_TRAIN_PAIRS, ge=1, description="Refuse to train with fewer training pairs.")
    min_test_pairs: int = Field(MIN_TEST_PAIRS, ge=1, description="Refuse to train with fewer held-out pairs.")
    min_briefs: int = Field(5, ge=1, description="Refuse to train on pairs from fewer distinct briefs.")


@dataclass
class PreferenceData:
    """Checked pairs per split."""

    train: list[PreferencePair]
    validation: list[PreferencePair]
    test: list[PreferencePair]
    check: PreferenceCheck
    notes: list[str] = field(default_factory=list)


@dataclass
class PreferencePreflight:
    """What the form shows before Train (the fields ``_save_version`` reads included)."""

    base_dir: Path
    n_train: int
    n_validation: int
    n_test: int
    check: PreferenceCheck
    notes: list[str]


def _pairs(df: Any, split: str) -> list[PreferencePair]:
    if df is None:
        return []
    missing = [c for c in PAIR_COLUMNS if c not in df.columns]
    if missing:
        raise UserInputError(
            f"The {split} split has no column {', '.join(map(repr, missing))} "
            f"(columns: {', '.join(map(str, df.columns))}).",
            hint="Build the preference data from ad copy feedback (Feedback page), then pick that version.",
        )
    out = []
    for row in df.fillna("").astype(str).to_dict("records"):
        prompt, chosen, rejected = row["prompt"].strip(), row["chosen"].strip(), row["rejected"].strip()
        if prompt and chosen and rejected:
            key = row.get("brief_key") or brief_key(prompt)
            out.append(
                PreferencePair(prompt, chosen, rejected, key, row.get("source", ""), row.get("generation_id", ""))
            )
    return out


def load_preferences(version_id: str, params: PreferenceJobParams) -> PreferenceData:
    """The pairs of a preference dataset version, checked (PreferenceDataError says what is missing)."""
    splits = load_dataset_splits(version_id)
    train, val, test = (_pairs(splits.train, "train"), _pairs(splits.validation, "validation"),
                        _pairs(splits.test, "test"))  # fmt: skip
    notes = []
    if not test and val:
        test, val = val, []
        notes.append("No test split: the validation split is the held-out set.")
    check = check_preferences(
        train, test, min_train_pairs=params.min_train_pairs, min_test_pairs=params.min_test_pairs,
        min_briefs=params.min_briefs, raise_on_problems=True,
    )  # fmt: skip
    return PreferenceData(train, val, test, check, notes + check.notes)


def preflight_preferences(
    params: PreferenceJobParams, *, actor: Actor | None = None
) -> tuple[PreferencePreflight, PreferenceData]:
    """Check the preference data and the base model (one the acting user may pick)."""
    if params.parent_id:
        raise UserInputError(
            "Continuing a version with preference training is not supported.",
            hint="Train from a base model or a registry version as the base.",
        )
    data = load_preferences(params.dataset_version_id, params)
    base_dir = resolve_base(CAUSAL_LM_TASK, params.base_model, actor=actor)
    check_base_compatible(CAUSAL_LM_TASK, base_dir)
    if (Path(base_dir) / "adapter" / "adapter_config.json").is_file():
        raise UserInputError(
            "The base is a LoRA version; preference training needs full weights.",
            hint="Pick the base model, or export the version merged and register that folder.",
        )
    data = drop_long_prompts(base_dir, data, params)
    pre = PreferencePreflight(base_dir, len(data.train), len(data.validation), len(data.test), data.check, data.notes)
    return pre, data


def drop_long_prompts(base_dir: Path, data: PreferenceData, params: PreferenceJobParams) -> PreferenceData:
    """Drop the pairs whose brief alone fills max_length (TRL would drop them silently); refuse when too few
    remain."""
    from aigc_core.finetune.causal_lm import load_tokenizer, render_prompt

    tok = load_tokenizer(base_dir)
    limit = params.train.max_length
    lengths: dict[str, int] = {}

    def fits(p: PreferencePair) -> bool:
        if p.prompt not in lengths:
            text = render_prompt(tok, p.prompt, params.system_prompt)
            lengths[p.prompt] = len(tok(text, add_special_tokens=False)["input_ids"])
        return lengths[p.prompt] < limit - 1

    kept = {name: [p for p in pairs if fits(p)] for name, pairs in
            (("train", data.train), ("validation", data.validation), ("test", data.test))}  # fmt: skip
    dropped = len(data.train) + len(data.validation) + len(data.test) - sum(map(len, kept.values()))
    if not dropped:
        return data
    longest = max(lengths.values())
    if len(kept["train"]) < params.min_train_pairs or len(kept["test"]) < params.min_test_pairs:
        raise UserInputError(
            f"{dropped} pair(s) have a brief of {limit} tokens or more (the longest: {longest}), leaving "
            f"{len(kept['train'])} training and {len(kept['test'])} held-out pair(s).",
            hint=f"Raise the max length above {longest + 32} tokens.",
        )
    note = f"{dropped} pair(s) with a brief longer than the max length ({limit} tokens) were left out."
    return PreferenceData(kept["train"], kept["validation"], kept["test"], data.check, [*data.notes, note])


# --------------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------------
def response_logps(
    model: Any, tokenizer: Any, prompts: list[str], responses: list[str], *, max_length: int, batch_size: int = 8
) -> tuple[list[float], list[int]]:
    """Sum of the response tokens' log-probabilities given the rendered prompt (response + end-of-turn token), and
    how many tokens were scored; prompts are kept whole and the response cut at ``max_length``."""
    import torch

    eos = tokenizer.eos_token or ""
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    device = next(model.parameters()).device
    feats = []
    for p, r in zip(prompts, responses, strict=True):
        p_ids = tokenizer(p, add_special_tokens=False)["input_ids"]
        r_ids = tokenizer(r + eos, add_special_tokens=False)["input_ids"]
        ids = (p_ids + r_ids)[:max_length]
        feats.append((ids, min(len(p_ids), len(ids))))
    sums: list[float] = []
    counts: list[int] = []
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(feats), batch_size):
            chunk = feats[start : start + batch_size]
            width = max(len(ids) for ids, _ in chunk)
            input_ids = torch.tensor([ids + [pad] * (width - len(ids)) for ids, _ in chunk], device=device)
            mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids, _ in chunk], device=device)
            logits = model(input_ids=input_ids, attention_mask=mask).logits.float()
            logp = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, input_ids[:, 1:, None]).squeeze(-1)
            for row, (ids, n_prompt) in enumerate(chunk):
                lo, hi = max(n_prompt - 1, 0), len(ids) - 1  # positions predicting the response tokens
                sums.append(float(logp[row, lo:hi].sum()))
                counts.append(max(hi - lo, 0))
    return sums, counts


@dataclass
class PairScores:
    """Log-probabilities of the chosen and rejected copy of each pair under one model."""

    chosen: list[float]
    rejected: list[float]
    n_chosen: list[int]
    n_rejected: list[int]


def score_pairs(
    model: Any, tokenizer: Any, pairs: list[PreferencePair], *, max_length: int, system_prompt: str = ""
) -> PairScores:
    """Scores of every pair's chosen and rejected copy given the brief in the model's chat template."""
    from aigc_core.finetune.causal_lm import render_prompt

    prompts = [render_prompt(tokenizer, p.prompt, system_prompt) for p in pairs]
    c, nc = response_logps(model, tokenizer, prompts, [p.chosen for p in pairs], max_length=max_length)
    r, nr = response_logps(model, tokenizer, prompts, [p.rejected for p in pairs], max_length=max_length)
    return PairScores(c, r, nc, nr)


def _share_above(diffs: list[float]) -> float | None:
    if not diffs:
        return None
    return sum(1.0 if d > 1e-9 else (0.5 if abs(d) <= 1e-9 else 0.0) for d in diffs) / len(diffs)


def logp_accuracy(s: PairScores) -> float | None:
    """Share of pairs whose chosen copy has the higher mean per-token log-probability (ties half)."""
    diffs = [
        c / max(nc, 1) - r / max(nr, 1)
        for c, r, nc, nr in zip(s.chosen, s.rejected, s.n_chosen, s.n_rejected, strict=True)
    ]
    return _share_above(diffs)


def reward_accuracy(tuned: PairScores, ref: PairScores, beta: float) -> tuple[float | None, float | None]:
    """(share of pairs the implicit DPO reward ranks chosen above rejected, mean reward margin)."""
    margins = [
        beta * ((tc - rc) - (tr - rr))
        for tc, tr, rc, rr in zip(tuned.chosen, tuned.rejected, ref.chosen, ref.rejected, strict=True)
    ]
    return _share_above(margins), (sum(margins) / len(margins) if margins else None)


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------
def _dataset(tokenizer: Any, pairs: list[PreferencePair], system_prompt: str) -> Any:
    from datasets import Dataset

    from aigc_core.finetune.causal_lm import render_prompt

    return Dataset.from_list(
        [{"prompt": render_prompt(tokenizer, p.prompt, system_prompt), "chosen": p.chosen, "rejected": p.rejected}
         for p in pairs]
    )  # fmt: skip


def dpo_config(params: PreferenceJobParams, n_train: int, device: str, out_dir: Path, has_eval: bool) -> Any:
    """TRL's DPOConfig (a TrainingArguments) from the job's parameters."""
    from trl import DPOConfig

    tp = params.train
    plan = plan_run(tp, n_train, device)
    return DPOConfig(
        output_dir=str(out_dir),
        per_device_train_batch_size=tp.batch_size,
        per_device_eval_batch_size=tp.batch_size,
        gradient_accumulation_steps=tp.grad_accum,
        learning_rate=tp.learning_rate,
        weight_decay=tp.weight_decay,
        warmup_steps=tp.warmup_ratio if tp.warmup_ratio < 1 else int(tp.warmup_ratio),
        num_train_epochs=tp.epochs,
        max_steps=tp.max_steps,
        seed=tp.seed,
        bf16=plan.precision == "bf16",
        fp16=plan.precision == "fp16",
        logging_strategy="steps",
        logging_steps=plan.logging_steps,
        save_strategy="steps",
        save_steps=plan.eval_steps,
        save_total_limit=tp.save_total_limit,
        eval_strategy="steps" if has_eval else "no",
        eval_steps=plan.eval_steps,
        report_to="none",
        disable_tqdm=True,
        use_cpu=device == "cpu",
        dataloader_pin_memory=device.startswith("cuda"),
        activation_checkpointing=False,
        beta=params.beta,
        max_length=tp.max_length,
        loss_type=["sigmoid"],
    )


@dataclass
class PreferenceRun:
    """The outcome of :func:`train_preferences` (the model in memory, metrics and the trainer's outcome)."""

    outcome: Any
    metrics: dict[str, Any]


def train_preferences(
    base_dir: Path,
    data: PreferenceData,
    params: PreferenceJobParams,
    ctx: JobContext,
    *,
    device: str = "cpu",
    resume_from: Path | None = None,
) -> PreferenceRun:
    """Score the base, train a LoRA with DPO (TRL), score the tuned model and generate base vs tuned samples."""
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM
    from trl import DPOTrainer

    from aigc_core.finetune.causal_lm import load_tokenizer
    from aigc_core.finetune.evaluate import generate_samples

    tp = params.train
    set_seed(tp.seed)
    tokenizer = load_tokenizer(base_dir)
    model = cast(Any, AutoModelForCausalLM.from_pretrained(str(base_dir))).to(device)  # transformers mistypes .to()
    ctx.report(0.03, "scoring the base model on the held-out pairs")
    base_scores = score_pairs(model, tokenizer, data.test, max_length=tp.max_length, system_prompt=params.system_prompt)
    briefs = list(dict.fromkeys(p.prompt for p in data.test))[: params.sample_briefs]
    base_samples = generate_samples(model, tokenizer, briefs, system_prompt=params.system_prompt) if briefs else []
    lora = params.lora
    peft_config = LoraConfig(
        task_type="CAUSAL_LM", r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
        target_modules=lora_targets(str(read_config(base_dir).get("model_type", "")), lora.target_modules),
    )  # fmt: skip
    out_dir = Path(ctx.work_dir) / "checkpoints"
    has_eval = bool(data.validation)
    progress = make_progress_callback(ctx)
    model.train()
    trainer = DPOTrainer(
        model=model,
        args=dpo_config(params, len(data.train), device, out_dir, has_eval),
        train_dataset=_dataset(tokenizer, data.train, params.system_prompt),
        eval_dataset=_dataset(tokenizer, data.validation, params.system_prompt) if has_eval else None,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[progress],
    )
    ctx.log(f"DPO on {len(data.train)} pairs (beta {params.beta}), device {device}, LoRA r={lora.r}")
    outcome = run_trainer(
        trainer, tokenizer=tokenizer, device=device, progress=progress, out_dir=out_dir,
        resume_from=resume_from, extra={},
    )  # fmt: skip
    if outcome.stopped:
        return PreferenceRun(outcome, {})
    ctx.report(0.9, "scoring the tuned model on the held-out pairs")
    tuned = outcome.model
    tuned_scores = score_pairs(
        tuned, tokenizer, data.test, max_length=tp.max_length, system_prompt=params.system_prompt
    )
    r_acc, margin = reward_accuracy(tuned_scores, base_scores, params.beta)
    tuned_samples = generate_samples(tuned, tokenizer, briefs, system_prompt=params.system_prompt) if briefs else []
    metrics: dict[str, Any] = {
        "base": {"reward_accuracy": 0.5, "logp_accuracy": logp_accuracy(base_scores)},
        "test": {"reward_accuracy": r_acc, "reward_margin": margin, "logp_accuracy": logp_accuracy(tuned_scores)},
        "n_test_pairs": len(data.test),
        "samples": [
            {"brief": b, "base": bs, "tuned": ts} for b, bs, ts in zip(briefs, base_samples, tuned_samples, strict=True)
        ],
        "train_samples_per_s": outcome.samples_per_s,
        "train_runtime_s": outcome.train_runtime_s,
        "check": data.check.to_dict(),
        "dpo_history": [
            {k: v for k, v in h.items() if k in ("step", "loss", "rewards/accuracies", "rewards/margins")}
            for h in outcome.history
        ],
    }
    return PreferenceRun(outcome, metrics)


def _save_adapter(outcome: Any, target: Path) -> dict[str, Any]:
    from aigc_core.finetune.causal_lm import save_causal_lm

    return save_causal_lm(outcome, target)


@job_kind(PREFERENCE_KIND, params=PreferenceJobParams, resource="gpu", resumable=True)
def run_preference_job(ctx: JobContext, params: PreferenceJobParams) -> dict[str, Any]:
    """Check the pairs, train the brand-voice LoRA with DPO, compare held-out preference accuracy with the base
    and register the model version (task text-generation, so Ad copy can use it)."""
    if isinstance(params, dict):
        params = PreferenceJobParams.model_validate(params)
    ctx.report(0.01, "checking the preference data")
    device = _device_for(ctx)
    pre, data = preflight_preferences(params)
    for note in pre.notes:
        ctx.log(note)
    resume = find_resume_checkpoint(ctx, params.resume_from_job)
    run = train_preferences(pre.base_dir, data, params, ctx, device=device, resume_from=resume)
    if run.outcome.stopped:
        return _stopped_result(ctx, run.outcome)
    meta = {
        "method": "dpo",
        "beta": params.beta,
        "n_train": len(data.train),
        "n_validation": len(data.validation),
        "n_test": len(data.test),
        "system_prompt": params.system_prompt,
        "paired": True,
    }
    info = _save_version(ctx, params, run.outcome, run.metrics, pre, device, CAUSAL_LM_TASK,
                         "brand voice (preferences)", _save_adapter, meta)  # fmt: skip
    test, base = run.metrics["test"], run.metrics["base"]
    ctx.report(
        1.0,
        f"done: held-out preference accuracy {test['logp_accuracy'] or 0:.2f} (base {base['logp_accuracy'] or 0:.2f}), "
        f"reward accuracy {test['reward_accuracy'] or 0:.2f}",
    )
    return {
        "model_version_id": info.id,
        "task": CAUSAL_LM_TASK,
        "reward_accuracy": test["reward_accuracy"],
        "logp_accuracy": test["logp_accuracy"],
        "base_logp_accuracy": base["logp_accuracy"],
        "work_dir": str(ctx.work_dir),
    }


def submit_preferences(params: PreferenceJobParams, *, actor: Actor | None = None) -> str:
    """Check the run and queue it as a background job; returns the job id."""
    preflight_preferences(params, actor=actor)
    return str(jobs_api().submit(PREFERENCE_KIND, params.stored(), actor=actor))

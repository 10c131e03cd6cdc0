"""The fine-tuning job kinds (``finetune.classifier``, ``finetune.causal_lm``): validate, train with live metrics,
evaluate against the base model, register the model version. Resumable from the last checkpoint."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aigc_core.errors import NotFoundError, UserInputError
from aigc_core.finetune import multiprocess, registry
from aigc_core.finetune.estimate import Estimate, estimate_run
from aigc_core.finetune.params import CAUSAL_LM_TASK, CLASSIFIER_TASK, CausalLMJobParams, ClassifierJobParams
from aigc_core.finetune.training import (
    METRICS_FILE,
    check_base_compatible,
    last_checkpoint,
    resolve_base,
)
from aigc_core.jobs import job_kind
from aigc_core.jobs.context import JobContext
from aigc_core.storage import atomic_dir
from aigc_core.users.roles import Actor

CLASSIFIER_KIND = "finetune.classifier"
CAUSAL_LM_KIND = "finetune.causal_lm"


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------
@dataclass
class DatasetSplits:
    """The three splits of a dataset version and its column roles."""

    train: Any
    validation: Any
    test: Any
    roles: dict[str, Any] = field(default_factory=dict)


def load_dataset_splits(version_id: str) -> DatasetSplits:
    """Train/validation/test frames and roles of a dataset version (from ``aigc_core.data``)."""
    if not version_id:
        raise UserInputError("No dataset version was chosen.", hint="Pick a dataset version in the form.")
    from aigc_core import data as data_api
    from aigc_core.store import models as m
    from aigc_core.store.db import session_scope

    with session_scope() as s:
        row = s.get(m.DatasetVersion, version_id)
        if row is None:
            raise NotFoundError(f"Dataset version {version_id!r} does not exist.", hint="Pick one from the list.")
        roles = dict(row.roles or {})
    frames: dict[str, Any] = {}
    for split in ("train", "validation", "test"):
        try:
            df = data_api.load_version(version_id, split=split)
        except Exception:  # a missing split is allowed; the checks below say what that means
            df = None
        frames[split] = df if df is not None and len(df) else None
    if frames["train"] is None:
        whole = data_api.load_version(version_id)
        if whole is None or len(whole) == 0:
            raise UserInputError("The dataset version has no rows.", hint="Pick another version.")
        frames["train"] = whole
    return DatasetSplits(frames["train"], frames["validation"], frames["test"], roles)


def _role(roles: dict[str, Any], name: str) -> str:
    value = roles.get(name)
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value or "")


def _with_synthetic(train: Any, rows: list[dict[str, Any]]) -> Any:
    import pandas as pd

    if not rows:
        return train
    extra = pd.DataFrame(rows)
    extra["synthetic"] = True
    base = train.copy()
    if "synthetic" not in base.columns:
        base["synthetic"] = False
    return pd.concat([base, extra], ignore_index=True)


# --------------------------------------------------------------------------------------------
# Pre-flight (called by the page before a job is submitted, and again inside the job)
# --------------------------------------------------------------------------------------------
@dataclass
class Preflight:
    """What the form shows before Train: resolved columns, class counts, notes and the estimate."""

    base_dir: Path
    text_column: str
    label_column: str
    prompt_column: str
    n_train: int
    n_validation: int
    n_test: int
    class_counts: dict[str, int]
    notes: list[str]
    estimate: Estimate | None


def _device_for(ctx: JobContext | None) -> str:
    device = getattr(ctx, "device", None) if ctx is not None else None
    if device:
        return str(device)
    from aigc_core.devices import resolve_device

    return resolve_device()


def _measured_speed(base_model: str, device: str) -> float | None:
    speeds = [
        float(v.metrics.get("train_samples_per_s") or 0)
        for v in registry.list_versions()
        if v.base_model == base_model and v.meta.get("device") == device
    ]
    speeds = [s for s in speeds if s > 0]
    return speeds[0] if speeds else None


def _estimate(base_dir: Path, params: Any, n_train: int, device: str, mean_tokens: float | None) -> Estimate | None:
    try:
        import torch

        gpu = torch.cuda.get_device_name(0) if device.startswith("cuda") else ""
        return estimate_run(
            base_dir,
            n_train,
            params.train,
            params.lora,
            device=device,
            gpu_name=gpu,
            mean_tokens=mean_tokens,
            measured_samples_per_s=_measured_speed(params.base_model, device),
            freeze_embeddings=bool(getattr(params, "freeze_embeddings", False)),
        )
    except (OSError, ValueError):
        return None


def preflight_classifier(
    params: ClassifierJobParams,
    splits: DatasetSplits | None = None,
    *,
    device: str | None = None,
    actor: Actor | None = None,
) -> tuple[Preflight, Any]:
    """Check data and base model of a classifier run (a base the acting user may pick); UserInputError on
    anything that would fail."""
    from transformers import AutoTokenizer

    from aigc_core.finetune.classifier import prepare_classification

    splits = splits or load_dataset_splits(params.dataset_version_id)
    text_col = params.text_column or _role(splits.roles, "text")
    label_col = params.label_column or _role(splits.roles, "label")
    base_dir = resolve_base(CLASSIFIER_TASK, params.base_model, actor=actor)
    check_base_compatible(CLASSIFIER_TASK, base_dir)
    tokenizer = AutoTokenizer.from_pretrained(str(base_dir))
    train = _with_synthetic(splits.train, params.synthetic_examples)
    data = prepare_classification(
        train,
        splits.validation,
        splits.test,
        text_col,
        label_col,
        min_examples_per_class=params.min_examples_per_class,
        tokenizer=tokenizer,
        max_length=params.train.max_length,
    )
    lengths = [
        len(x)
        for x in tokenizer(data.train_texts[:2000], truncation=True, max_length=params.train.max_length)["input_ids"]
    ]
    mean_tokens = sum(lengths) / len(lengths) if lengths else None
    device = device or _device_for(None)
    pre = Preflight(
        base_dir=base_dir,
        text_column=text_col,
        label_column=label_col,
        prompt_column="",
        n_train=len(data.train_texts),
        n_validation=len(data.val_texts),
        n_test=len(data.test_texts),
        class_counts=data.class_counts,
        notes=list(data.notes),
        estimate=_estimate(base_dir, params, len(data.train_texts), device, mean_tokens),
    )
    return pre, data


def _lm_base(params: CausalLMJobParams, actor: Actor | None = None) -> tuple[Path, Path | None]:
    """(base model folder, adapter to continue from) — a LoRA parent continues its adapter on the same base."""
    if params.parent_id:
        parent = registry.get_version(params.parent_id, actor=actor)
        if parent.has_adapter:
            base = parent.meta.get("base_path")
            if not base or not Path(base).is_dir():
                raise UserInputError(
                    "The base model of the version to continue is no longer available.",
                    hint="Continue from a full (merged) version, or restore the base model.",
                )
            return Path(base), Path(parent.path) / "adapter"
        return Path(parent.path), None
    return resolve_base(CAUSAL_LM_TASK, params.base_model, actor=actor), None


def preflight_causal_lm(
    params: CausalLMJobParams,
    splits: DatasetSplits | None = None,
    *,
    device: str | None = None,
    actor: Actor | None = None,
) -> tuple[Preflight, Any]:
    """Check data and base model of a language-model run (a base or parent the acting user may pick)."""
    from aigc_core.finetune.causal_lm import load_tokenizer, prepare_lm_data, tokenize_pairs

    splits = splits or load_dataset_splits(params.dataset_version_id)
    text_col = params.text_column or _role(splits.roles, "text")
    base_dir, _adapter = _lm_base(params, actor)
    check_base_compatible(CAUSAL_LM_TASK, base_dir)
    train = _with_synthetic(splits.train, params.synthetic_examples)
    data = prepare_lm_data(train, splits.validation, splits.test, text_col, params.prompt_column)
    tokenizer = load_tokenizer(base_dir)
    feats, truncated = tokenize_pairs(
        tokenizer, data.train, max_length=params.train.max_length, system_prompt=params.system_prompt
    )
    notes = list(data.notes)
    if truncated:
        notes.append(
            f"{truncated} of {len(data.train)} training example(s) are longer than {params.train.max_length} tokens "
            "and were truncated."
        )
    mean_tokens = sum(len(f["input_ids"]) for f in feats) / max(len(feats), 1)
    device = device or _device_for(None)
    pre = Preflight(
        base_dir=base_dir,
        text_column=text_col,
        label_column="",
        prompt_column=params.prompt_column,
        n_train=len(data.train),
        n_validation=len(data.val),
        n_test=len(data.test),
        class_counts={},
        notes=notes,
        estimate=_estimate(base_dir, params, len(data.train), device, mean_tokens),
    )
    return pre, (data, tokenizer)


# --------------------------------------------------------------------------------------------
# Resume
# --------------------------------------------------------------------------------------------
def job_work_dir(job_id: str) -> Path:
    """The work folder of a job (``<data>/jobs/<id>``, owned by the job runner)."""
    from aigc_core import jobs

    return Path(jobs.work_dir(job_id))


def find_resume_checkpoint(ctx: JobContext, resume_from_job: str | None) -> Path | None:
    """The last checkpoint to resume from: this job's own folder, then the job it resumes (copying its curves)."""
    own = last_checkpoint(Path(ctx.work_dir) / "checkpoints")
    if own is not None:
        return own
    old_job = resume_from_job or getattr(ctx, "resumed_from", None)
    if not old_job:
        return None
    old_dir = job_work_dir(str(old_job))
    ckpt = last_checkpoint(old_dir / "checkpoints")
    if ckpt is None:
        ctx.log(f"job {old_job} left no checkpoint: starting from the beginning")
        return None
    old_metrics = old_dir / METRICS_FILE
    new_metrics = Path(ctx.work_dir) / METRICS_FILE
    if multiprocess.is_main() and old_metrics.is_file() and not new_metrics.exists():
        shutil.copy2(old_metrics, new_metrics)
    ctx.log(f"resuming from {ckpt}")
    return ckpt


def _stopped_result(ctx: JobContext, outcome: Any) -> dict[str, Any]:
    ckpt = last_checkpoint(outcome.checkpoint_dir)
    ctx.log(f"stopped at step {outcome.global_step}; checkpoint kept: {ckpt}")
    return {
        "cancelled": True,
        "global_step": outcome.global_step,
        "checkpoint": str(ckpt) if ckpt else None,
        "work_dir": str(ctx.work_dir),
    }


def _save_version(
    ctx: JobContext,
    params: Any,
    outcome: Any,
    metrics: dict[str, Any],
    pre: Any,
    device: str,
    task: str,
    default_name: str,
    save: Callable[[Any, Path], dict[str, Any]],
    meta: dict[str, Any],
) -> Any:
    """Write the trained model atomically into a new registry folder and register its version."""
    metrics["history"] = _history(outcome)
    ctx.report(0.97, "saving the model version")
    version_id, target = registry.new_version_dir()
    with atomic_dir(target) as tmp:
        files = save(outcome, tmp)
    return registry.register_version(
        version_id=version_id,
        path=target,
        task=task,
        name=params.name or f"{default_name} {version_id[:6]}",
        base_model=params.base_model,
        params=params.stored(),
        metrics=metrics,
        dataset_version_id=params.dataset_version_id or None,
        parent_id=params.parent_id,
        job_id=getattr(ctx, "job_id", None),
        meta={
            **meta,
            "device": device,
            "base_path": str(pre.base_dir),
            "adapter": files["adapter"],
            "global_step": outcome.global_step,
            "work_dir": str(ctx.work_dir),
            "notes": pre.notes,
        },
    )  # fmt: skip


def _history(outcome: Any) -> list[dict[str, Any]]:
    keep = ("step", "epoch", "loss", "eval_loss", "eval_macro_f1", "eval_accuracy", "learning_rate")
    return [{k: h[k] for k in keep if k in h} for h in outcome.history]


# --------------------------------------------------------------------------------------------
# Job kinds
# --------------------------------------------------------------------------------------------
@job_kind(CLASSIFIER_KIND, params=ClassifierJobParams, resource="gpu", resumable=True)
def run_classifier_job(ctx: JobContext, params: ClassifierJobParams) -> dict[str, Any]:
    """Train, evaluate (also the frozen-encoder baseline) and register a text classifier."""
    import numpy as np

    from aigc_core.finetune.classifier import save_classifier, train_classifier
    from aigc_core.finetune.evaluate import classification_report, frozen_encoder_baseline, predict_logits, softmax

    if isinstance(params, dict):
        params = ClassifierJobParams.model_validate(params)
    device = _device_for(ctx)
    if (n := multiprocess.requested_processes(params)) > 1 and not multiprocess.in_rank():
        return multiprocess.launch(ctx, CLASSIFIER_KIND, params, n, device=device)
    ctx.report(0.01, "checking the data")
    if params.parent_id:
        params = params.model_copy(update={"base_model": f"registry:{params.parent_id}"})
    pre, data = preflight_classifier(params, device=device)
    for note in pre.notes:
        ctx.log(note)
    resume = find_resume_checkpoint(ctx, params.resume_from_job)
    ctx.report(0.05, "training")
    outcome = train_classifier(pre.base_dir, data, params, ctx, device=device, resume_from=resume)
    if outcome.stopped:
        return _stopped_result(ctx, outcome)
    if not multiprocess.is_main():  # rank 0 evaluates and registers the version
        return {"rank": multiprocess.rank()}
    ctx.report(0.9, "evaluating on the test split")
    eval_texts, eval_y = (data.test_texts, data.test_y) if data.test_texts else (data.val_texts, data.val_y)
    metrics: dict[str, Any] = {"train_samples_per_s": outcome.samples_per_s, "train_runtime_s": outcome.train_runtime_s}
    if eval_texts:
        logits = predict_logits(outcome.model, outcome.tokenizer, eval_texts, max_length=params.train.max_length)
        probs = softmax(logits)
        metrics["test"] = classification_report(
            eval_y, probs.argmax(1), data.labels, probs=probs, texts=eval_texts
        ).to_dict()
        if params.evaluate_base:
            ctx.report(0.93, "evaluating the base model (frozen encoder + logistic regression)")
            base = frozen_encoder_baseline(
                pre.base_dir, data.train_texts, data.train_y, eval_texts, eval_y, data.labels,
                max_length=params.train.max_length, seed=params.train.seed,
            )  # fmt: skip
            metrics["base"] = base.to_dict()
            metrics["base"]["method"] = "frozen encoder + logistic regression on mean-pooled embeddings"
    info = _save_version(
        ctx, params, outcome, metrics, pre, device, CLASSIFIER_TASK, "classifier", save_classifier,
        {
            "labels": data.labels,
            "n_train": len(data.train_texts),
            "n_validation": len(data.val_texts),
            "n_test": len(data.test_texts),
            "n_synthetic": int(np.sum(data.synthetic_flags)) if data.synthetic_flags else 0,
        },
    )  # fmt: skip
    summary = {k: metrics.get(p, {}).get(k) for p in ("test",) for k in ("accuracy", "macro_f1")}
    base_f1 = metrics.get("base", {}).get("macro_f1")
    ctx.report(1.0, f"done: macro-F1 {summary.get('macro_f1') or 0:.3f} (base {base_f1 or 0:.3f})")
    return {
        "model_version_id": info.id,
        "task": CLASSIFIER_TASK,
        "test": summary,
        "base_macro_f1": base_f1,
        "work_dir": str(ctx.work_dir),
    }


@job_kind(CAUSAL_LM_KIND, params=CausalLMJobParams, resource="gpu", resumable=True)
def run_causal_lm_job(ctx: JobContext, params: CausalLMJobParams) -> dict[str, Any]:
    """Train a brand-voice LM (LoRA by default), compare perplexity and sample outputs with the base, register it."""
    from aigc_core.finetune.causal_lm import build_causal_lm, save_causal_lm, tokenize_pairs, train_causal_lm
    from aigc_core.finetune.evaluate import generate_samples, lm_perplexity

    if isinstance(params, dict):
        params = CausalLMJobParams.model_validate(params)
    device = _device_for(ctx)
    if (n := multiprocess.requested_processes(params)) > 1 and not multiprocess.in_rank():
        return multiprocess.launch(ctx, CAUSAL_LM_KIND, params, n, device=device)
    ctx.report(0.01, "checking the data")
    pre, (data, tokenizer) = preflight_causal_lm(params, device=device)
    for note in pre.notes:
        ctx.log(note)
    _base, adapter = _lm_base(params)
    tl = params.train.max_length
    train_feats, _ = tokenize_pairs(tokenizer, data.train, max_length=tl, system_prompt=params.system_prompt)
    val_feats, _ = tokenize_pairs(tokenizer, data.val, max_length=tl, system_prompt=params.system_prompt)
    held_out = data.test or data.val
    test_feats, _ = tokenize_pairs(tokenizer, held_out, max_length=tl, system_prompt=params.system_prompt)
    metrics: dict[str, Any] = {}
    briefs = [p for p, _ in held_out if p][: params.sample_briefs]
    if params.evaluate_base and test_feats and multiprocess.is_main():
        ctx.report(0.03, "measuring the base model's perplexity")
        base_model = build_causal_lm(pre.base_dir, params.model_copy(update={"lora": params.lora.model_copy(
            update={"enabled": False})}), "fp32", adapter).to(device)  # fmt: skip
        metrics["base"] = {"perplexity": lm_perplexity(base_model, test_feats)}
        base_samples = generate_samples(base_model, tokenizer, briefs, system_prompt=params.system_prompt)
        del base_model
    else:
        base_samples = []
    resume = find_resume_checkpoint(ctx, params.resume_from_job)
    ctx.report(0.05, "training")
    outcome = train_causal_lm(
        pre.base_dir, train_feats, val_feats, params, ctx, tokenizer=tokenizer, device=device,
        resume_from=resume, adapter_dir=adapter,
    )  # fmt: skip
    if outcome.stopped:
        return _stopped_result(ctx, outcome)
    if not multiprocess.is_main():  # rank 0 evaluates and registers the version
        return {"rank": multiprocess.rank()}
    ctx.report(0.9, "evaluating")
    if test_feats:
        metrics["test"] = {"perplexity": lm_perplexity(outcome.model, test_feats)}
    tuned_samples = generate_samples(outcome.model, tokenizer, briefs, system_prompt=params.system_prompt)
    metrics["samples"] = [
        {"brief": b, "reference": ref, "base": bs, "tuned": ts}
        for b, ref, bs, ts in zip(
            briefs, [a for p, a in held_out if p], base_samples or [""] * len(briefs), tuned_samples, strict=False
        )
    ]
    metrics["train_samples_per_s"] = outcome.samples_per_s
    metrics["train_runtime_s"] = outcome.train_runtime_s
    info = _save_version(
        ctx, params, outcome, metrics, pre, device, CAUSAL_LM_TASK, "brand voice", save_causal_lm,
        {
            "n_train": len(data.train),
            "n_validation": len(data.val),
            "n_test": len(data.test),
            "n_synthetic": len(params.synthetic_examples),
            "paired": data.paired,
            "system_prompt": params.system_prompt,
        },
    )  # fmt: skip
    ppl = metrics.get("test", {}).get("perplexity")
    ctx.report(1.0, f"done: perplexity {ppl or 0:.2f} (base {metrics.get('base', {}).get('perplexity') or 0:.2f})")
    return {
        "model_version_id": info.id,
        "task": CAUSAL_LM_TASK,
        "perplexity": ppl,
        "base_perplexity": metrics.get("base", {}).get("perplexity"),
        "work_dir": str(ctx.work_dir),
    }


# --------------------------------------------------------------------------------------------
# Submitting (the page calls these)
# --------------------------------------------------------------------------------------------
def submit_finetune(params: ClassifierJobParams | CausalLMJobParams, *, actor: Actor | None = None) -> str:
    """Check the run and queue it as a background job; returns the job id."""
    if isinstance(params, ClassifierJobParams):
        preflight_classifier(params, actor=actor)
        kind = CLASSIFIER_KIND
    else:
        preflight_causal_lm(params, actor=actor)
        kind = CAUSAL_LM_KIND
    return str(jobs_api().submit(kind, params.stored(), actor=actor))


def jobs_api() -> Any:
    """The job runner's API (``aigc_core.jobs``)."""
    from aigc_core import jobs

    return jobs


def continue_version(version_id: str, epochs: float, *, actor: Actor | None = None) -> str:
    """Queue a run that trains an existing version (one the acting user may see) for more epochs on the same
    data (a new child version)."""
    info = registry.get_version(version_id, actor=actor)
    cls = ClassifierJobParams if info.task == CLASSIFIER_TASK else CausalLMJobParams
    params = cls.model_validate(info.params)
    params = params.model_copy(
        update={
            "parent_id": info.id,
            "name": f"{info.name} +{epochs:g} epochs",
            "train": params.train.model_copy(update={"epochs": epochs}),
            "resume_from_job": None,
        }
    )
    return submit_finetune(params, actor=actor)

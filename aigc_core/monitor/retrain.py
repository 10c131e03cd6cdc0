"""Retraining a monitor's classifier on its analysts' corrections (the ``monitor.retrain`` job).

Retraining continues the monitor's classifier (a ``registry:<id>`` text-classification version fine-tuned on a
dataset version) on its corrections plus a stratified sample of the original training split, with the trainer of
:mod:`aigc_core.finetune.classifier`; the old and the new model are both evaluated on a held-out slice of the
corrections and on the original test split, and the new model is registered as a child version. The monitor keeps
its model until the user switches it (:func:`use_retrained`). Minimum data checks come first
(:func:`check_retrain_data`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from aigc_core.errors import UserInputError
from aigc_core.jobs import job_kind
from aigc_core.jobs.context import JobContext
from aigc_core.models.catalog import REGISTRY_PREFIX
from aigc_core.monitor.corrections import LABELS, corrections_frame
from aigc_core.monitor.store import MonitorInfo, get_monitor, update_model
from aigc_core.users.roles import Actor, acting_as, current, require

RETRAIN_KIND = "monitor.retrain"


def normalize(text: Any) -> str:
    """The form two texts are compared in for duplicates and leakage (case, spacing)."""
    return " ".join(str(text or "").lower().split())


@dataclass
class RetrainData:
    """The checked data of a retraining run."""

    train: pd.DataFrame  # text, label: corrections (repeated) + the original sample
    holdout: pd.DataFrame  # text, label: held-out corrections
    original_test: pd.DataFrame  # text, label
    n_corrections: int
    n_train_corrections: int
    n_original: int
    notes: list[str] = field(default_factory=list)


def check_retrain_data(
    corrections: pd.DataFrame,
    original_train: pd.DataFrame,
    original_test: pd.DataFrame | None,
    *,
    min_corrections: int = 20,
    min_per_class: int = 3,
    holdout_fraction: float = 0.3,
    original_rows: int = 2000,
    repeat: int = 3,
    seed: int = 0,
) -> RetrainData:
    """Check and assemble the data (frames with ``text`` and ``label``): enough corrections, each class present,
    no conflicting duplicates, no text shared between what is trained on and what is tested on. UserInputError
    saying what is missing otherwise."""
    from sklearn.model_selection import train_test_split

    notes: list[str] = []
    corr = corrections[["text", "label"]].copy()
    corr["key"] = corr["text"].map(normalize)
    corr = corr[corr["key"] != ""]
    conflicts = corr.groupby("key")["label"].nunique()
    conflicts = conflicts[conflicts > 1]
    if len(conflicts):
        examples = "; ".join(repr(k[:60]) for k in conflicts.index[:3])
        raise UserInputError(
            f"{len(conflicts)} text(s) were corrected to different labels ({examples}).",
            hint="Give each of these texts one label in the drill-down, then retrain.",
        )
    n_before = len(corr)
    corr = corr.drop_duplicates("key")
    if len(corr) < n_before:
        notes.append(f"{n_before - len(corr)} duplicate correction(s) of the same text counted once.")
    if len(corr) < min_corrections:
        raise UserInputError(
            f"There are {len(corr)} distinct corrected texts; retraining needs at least {min_corrections}.",
            hint=f"Correct {min_corrections - len(corr)} more text(s) in the drill-down.",
        )
    # A domain shift rarely touches every class: a class with few corrections is trained on but not held out
    # (the original data still covers it); the held-out slice tests the classes with enough of them.
    counts = corr["label"].value_counts()
    few = corr["label"].map(counts) < min_per_class
    if few.all():
        raise UserInputError(
            f"No class has {min_per_class} corrected texts, so none can be held out to test the retrained model "
            f"({', '.join(f'{k}: {v}' for k, v in counts.items())}).",
            hint=f"Correct at least {min_per_class} texts of one class in the drill-down.",
        )
    if few.any():
        shown = ", ".join(f"{k} ({int(counts[k])})" for k in sorted(set(corr.loc[few, "label"])))
        notes.append(f"Too few corrections of {shown} to hold some out: trained on, not in the held-out test.")
    c_train, c_hold = train_test_split(
        corr[~few], test_size=holdout_fraction, stratify=corr.loc[~few, "label"], random_state=seed
    )
    c_train = pd.concat([c_train, corr[few]])
    test = (original_test if original_test is not None else pd.DataFrame(columns=["text", "label"]))[
        ["text", "label"]
    ].copy()
    test_keys = set(test["text"].map(normalize)) | set(c_hold["key"])
    leaked = c_train["key"].isin(test_keys)
    if leaked.any():
        notes.append(f"{int(leaked.sum())} corrected text(s) also in the original test split: not trained on.")
        c_train = c_train[~leaked]
    orig = original_train[["text", "label"]].copy()
    orig = orig[orig["label"].astype(str).isin(LABELS)]
    okeys = orig["text"].map(normalize)
    drop = okeys.isin(test_keys) | okeys.isin(set(c_train["key"]))
    if drop.any():
        notes.append(f"{int(drop.sum())} original training text(s) equal a corrected or test text: left out.")
        orig = orig[~drop]
    if len(orig) > original_rows:
        orig, _ = train_test_split(orig, train_size=original_rows, stratify=orig["label"], random_state=seed)
        notes.append(f"A stratified sample of {original_rows:,} original training rows is trained on with them.")
    train = pd.concat([*([c_train[["text", "label"]]] * max(1, repeat)), orig], ignore_index=True).sample(
        frac=1.0, random_state=seed
    )
    return RetrainData(
        train=train.reset_index(drop=True),
        holdout=c_hold[["text", "label"]].reset_index(drop=True),
        original_test=test.reset_index(drop=True),
        n_corrections=len(corr),
        n_train_corrections=len(c_train),
        n_original=len(orig),
        notes=notes,
    )


# --------------------------------------------------------------------------------------------
# Retraining
# --------------------------------------------------------------------------------------------
class RetrainParams(BaseModel):
    """A retraining run of a monitor's classifier on its corrections."""

    model_config = ConfigDict(extra="forbid")

    monitor_id: str = Field(description="The monitor whose corrections are trained on.")
    name: str = Field("", max_length=200, description="Name of the new model version.")
    min_corrections: int = Field(20, ge=2, description="Refuse to train with fewer distinct corrected texts.")
    min_per_class: int = Field(
        3, ge=2, description="Corrected texts a class needs for some to be held out (fewer: trained on only)."
    )
    holdout_fraction: float = Field(0.3, gt=0, lt=1, description="Share of the corrections held out to test.")
    original_rows: int = Field(2000, ge=0, description="Original training rows trained on alongside (a sample).")
    repeat: int = Field(3, ge=1, le=20, description="Times each corrected text is repeated in the training set.")
    epochs: float = Field(3.0, gt=0, le=50, description="Passes over the training set.")
    learning_rate: float = Field(5e-5, gt=0, le=1.0, description="Peak learning rate.")
    batch_size: int = Field(16, ge=1, le=512, description="Examples per step.")
    max_length: int = Field(64, ge=8, le=512, description="Longest text in tokens.")
    seed: int = Field(0, ge=0, description="Random seed (split, sample, training).")


@dataclass
class RetrainSource:
    """The monitor's classifier and its original data."""

    monitor: MonitorInfo
    version: Any  # ModelVersionInfo
    train: pd.DataFrame
    test: pd.DataFrame | None


def retrain_source(monitor_id: str, *, actor: Actor | None = None) -> RetrainSource:
    """The monitor's classifier (a fine-tuned registry version) and its original train/test data, text + label;
    UserInputError saying why when the monitor's model cannot be retrained here."""
    from aigc_core.finetune import registry
    from aigc_core.finetune.jobs import load_dataset_splits

    who = current(actor)
    info = get_monitor(monitor_id, actor=who)
    if not info.model.startswith(REGISTRY_PREFIX):
        raise UserInputError(
            f"The monitor's model ({info.model}) is not a fine-tuned classifier of this studio, so there is no "
            "original training data to retrain it with.",
            hint="Fine-tune a classifier on the Fine-tune page, score this monitor with it (registry:<id>), "
            "then retrain; or export the corrections as a dataset and fine-tune on it.",
        )
    version = registry.resolve_ref(info.model, "text-classification", actor=who)
    labels = list(version.meta.get("labels") or [])
    if sorted(labels) != sorted(LABELS):
        raise UserInputError(
            f"The monitor's classifier has the labels {labels}; retraining from corrections needs "
            "negative, neutral and positive.",
            hint="Fine-tune a classifier with those three labels and score the monitor with it.",
        )
    if not version.dataset_version_id:
        raise UserInputError(
            "The monitor's classifier has no recorded training data.",
            hint="Retrain needs a classifier fine-tuned here on a dataset version.",
        )
    from aigc_core.data import get_version as get_dataset_version

    get_dataset_version(version.dataset_version_id, actor=who)  # the acting user may read the data
    with acting_as(who):
        splits = load_dataset_splits(version.dataset_version_id)
    roles = dict(splits.roles or {})
    text_col = str(version.params.get("text_column") or roles.get("text") or "text")
    label_col = str(version.params.get("label_column") or roles.get("label") or "label")

    def pick(df: pd.DataFrame | None) -> pd.DataFrame | None:
        if df is None:
            return None
        if text_col not in df.columns or label_col not in df.columns:
            raise UserInputError(
                f"The classifier's training data has no {text_col!r}/{label_col!r} columns.",
                hint="Pick a classifier whose dataset version still has its text and label columns.",
            )
        out = df[[text_col, label_col]].rename(columns={text_col: "text", label_col: "label"})
        return out.assign(text=out["text"].fillna("").astype(str), label=out["label"].astype(str))

    train = pick(splits.train)
    assert train is not None
    return RetrainSource(monitor=info, version=version, train=train, test=pick(splits.test))


def prepare_retrain(params: RetrainParams, *, actor: Actor | None = None) -> tuple[RetrainSource, RetrainData]:
    """The source and the checked data of a run (the page calls it before submitting, the job again)."""
    who = current(actor)
    source = retrain_source(params.monitor_id, actor=who)
    data = check_retrain_data(
        corrections_frame(source.monitor.id, actor=who),
        source.train,
        source.test,
        min_corrections=params.min_corrections,
        min_per_class=params.min_per_class,
        holdout_fraction=params.holdout_fraction,
        original_rows=params.original_rows,
        repeat=params.repeat,
        seed=params.seed,
    )
    if source.test is None or source.test.empty:
        data.notes.append("The classifier's dataset has no test split: only the held-out corrections are tested.")
    return source, data


def _evaluate(model: Any, tokenizer: Any, frame: pd.DataFrame, labels: list[str], max_length: int) -> dict | None:
    from aigc_core.finetune.evaluate import classification_report, predict_logits, softmax

    if frame.empty:
        return None
    index = {name: i for i, name in enumerate(labels)}
    texts = frame["text"].tolist()
    probs = softmax(predict_logits(model, tokenizer, texts, max_length=max_length))
    y = [index[v] for v in frame["label"]]
    return classification_report(y, probs.argmax(1), labels, probs=probs, texts=texts).to_dict()


def retrain(
    params: RetrainParams, ctx: JobContext, *, device: str = "cpu", actor: Actor | None = None
) -> dict[str, Any]:
    """Check, train, evaluate before/after and register the retrained classifier; returns the job's result."""
    from aigc_core.finetune import registry
    from aigc_core.finetune.classifier import (
        load_classifier,
        prepare_classification,
        save_classifier,
        train_classifier,
    )
    from aigc_core.finetune.params import CLASSIFIER_TASK, ClassifierJobParams, TrainParams
    from aigc_core.storage import atomic_dir

    who = current(actor)
    ctx.report(0.01, "checking the corrections")
    source, data = prepare_retrain(params, actor=who)
    for note in data.notes:
        ctx.log(note)
    base_dir = Path(source.version.path)
    labels = sorted(LABELS)
    cdata = prepare_classification(data.train, None, data.original_test, "text", "label", min_examples_per_class=1)
    if cdata.labels != labels:
        raise UserInputError(
            "The training set lacks a class after the checks.", hint="Correct texts of every class and retrain."
        )
    ctx.report(0.05, "evaluating the current model")
    old_model, old_tok = load_classifier(base_dir, device)
    before = {
        "corrections": _evaluate(old_model, old_tok, data.holdout, labels, params.max_length),
        "original_test": _evaluate(old_model, old_tok, data.original_test, labels, params.max_length),
    }
    del old_model
    tp = TrainParams(
        epochs=params.epochs, learning_rate=params.learning_rate, batch_size=params.batch_size,
        max_length=params.max_length, seed=params.seed, early_stopping_patience=0, eval_steps=0,
        warmup_ratio=0.0, group_by_length=False,
    )  # fmt: skip
    cparams = ClassifierJobParams(
        name=params.name, base_model=f"{REGISTRY_PREFIX}{source.version.id}", train=tp, text_column="text",
        label_column="label", parent_id=source.version.id, evaluate_base=False, min_examples_per_class=1,
        freeze_embeddings=bool(source.version.params.get("freeze_embeddings", True)),
    )  # fmt: skip
    ctx.report(0.1, "training on the corrections and the original data")
    outcome = train_classifier(base_dir, cdata, cparams, ctx, device=device)
    if outcome.stopped:
        return {"cancelled": True, "global_step": outcome.global_step}
    ctx.report(0.9, "evaluating the retrained model")
    after = {
        "corrections": _evaluate(outcome.model, outcome.tokenizer, data.holdout, labels, params.max_length),
        "original_test": _evaluate(outcome.model, outcome.tokenizer, data.original_test, labels, params.max_length),
    }
    summary = summarize(before, after)
    ctx.report(0.97, "saving the model version")
    version_id, target = registry.new_version_dir()
    with atomic_dir(target) as tmp:
        files = save_classifier(outcome, tmp)
    info = registry.register_version(
        version_id=version_id, path=target, task=CLASSIFIER_TASK,
        name=params.name or f"{source.version.name} + {source.monitor.name} corrections",
        base_model=f"{REGISTRY_PREFIX}{source.version.id}", params={**cparams.stored(), "retrain": params.model_dump()},
        metrics={"test": after["original_test"] or {}, "corrections": after["corrections"] or {}, "before": before},
        dataset_version_id=source.version.dataset_version_id, parent_id=source.version.id,
        job_id=getattr(ctx, "job_id", None), actor=who,
        meta={
            "labels": labels, "monitor_id": source.monitor.id, "from_corrections": True, "device": device,
            "adapter": files["adapter"], "n_corrections": data.n_corrections,
            "n_train_corrections": data.n_train_corrections, "n_holdout": len(data.holdout),
            "n_original": data.n_original, "notes": data.notes,
        },
    )  # fmt: skip
    ctx.report(1.0, "done: " + summary["message"])
    return {
        "model_version_id": info.id,
        "monitor_id": source.monitor.id,
        "before": before,
        "after": after,
        "summary": summary,
        "notes": data.notes,
        "n_corrections": data.n_corrections,
        "n_holdout": len(data.holdout),
    }


def summarize(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Macro-F1 before/after on the held-out corrections and the original test split, and a one-line message."""

    def f1(d: dict[str, Any] | None) -> float | None:
        return None if not d else float(d.get("macro_f1") or 0.0)

    out: dict[str, Any] = {}
    parts = []
    for key, label in (("corrections", "held-out corrections"), ("original_test", "original test split")):
        b, a = f1(before.get(key)), f1(after.get(key))
        out[key] = {"before": b, "after": a, "change": None if a is None or b is None else a - b}
        if a is not None and b is not None:
            parts.append(f"{label} macro-F1 {b:.3f} → {a:.3f}")
    out["message"] = "; ".join(parts) or "nothing to evaluate on"
    return out


@job_kind(RETRAIN_KIND, params=RetrainParams, resource="gpu")
def run_retrain_job(ctx: JobContext, params: RetrainParams) -> dict[str, Any]:
    """Retrain a monitor's classifier on its corrections (the job acts as its owner)."""
    from aigc_core.devices import resolve_device

    if isinstance(params, dict):
        params = RetrainParams.model_validate(params)
    device = str(getattr(ctx, "device", None) or resolve_device())
    return retrain(params, ctx, device=device)


def submit_retrain(params: RetrainParams, *, actor: Actor | None = None) -> str:
    """Check the corrections and queue the retraining job (editors and admins); returns the job id."""
    from aigc_core import jobs

    who = require(actor, "create", what="retraining")
    prepare_retrain(params, actor=who)
    return str(jobs.submit(RETRAIN_KIND, params.model_dump(), actor=who))


def retrain_result(job_id: str, *, actor: Actor | None = None) -> Any:
    """The retraining job (status, progress, result) as the acting user may see it."""
    from aigc_core import jobs

    return jobs.get(job_id, actor=actor)


def use_retrained(monitor_id: str, version_id: str, *, actor: Actor | None = None) -> MonitorInfo:
    """Score the monitor with a retrained version from now on (owner or admin; every row is queued again)."""
    from aigc_core.finetune import registry

    info = get_monitor(monitor_id, action="change", actor=actor)
    registry.get_version(version_id, actor=actor)
    return update_model(info.id, f"{REGISTRY_PREFIX}{version_id}", info.label_map, actor=actor)

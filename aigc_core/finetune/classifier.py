"""Sequence-classification fine-tuning (full or LoRA) with validation of the data before anything starts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from aigc_core.errors import UserInputError
from aigc_core.finetune.params import ClassifierJobParams
from aigc_core.finetune.training import (
    TrainOutcome,
    apply_lora,
    make_progress_callback,
    plan_run,
    run_trainer,
    set_seed,
    training_arguments,
)
from aigc_core.jobs.context import JobContext

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


@dataclass
class ClassificationData:
    """Texts and integer labels of the three splits, the label names and notes for the user."""

    labels: list[str]
    train_texts: list[str]
    train_y: list[int]
    val_texts: list[str]
    val_y: list[int]
    test_texts: list[str]
    test_y: list[int]
    notes: list[str] = field(default_factory=list)
    truncated: int = 0
    class_counts: dict[str, int] = field(default_factory=dict)
    synthetic_flags: list[bool] = field(default_factory=list)


def _check_columns(df: pd.DataFrame, split: str, columns: list[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise UserInputError(
            f"The {split} split has no column {', '.join(repr(c) for c in missing)} "
            f"(columns: {', '.join(map(str, df.columns)) or 'none'}).",
            hint="Pick the text and label columns, or set the text/label roles of the version on the Data page.",
        )


def prepare_classification(
    train: pd.DataFrame,
    val: pd.DataFrame | None,
    test: pd.DataFrame | None,
    text_column: str,
    label_column: str,
    *,
    min_examples_per_class: int = 10,
    tokenizer: Any = None,
    max_length: int = 128,
) -> ClassificationData:
    """Check the splits (columns, missing labels, classes, sizes) and turn them into texts and label ids."""
    if not text_column or not label_column:
        raise UserInputError(
            "A classifier needs a text column and a label column.",
            hint="Choose them in the form or set the text and label roles of the dataset version on the Data page.",
        )
    splits = {"train": train, "validation": val, "test": test}
    for name, df in splits.items():
        if df is not None:
            _check_columns(df, name, [text_column, label_column])
    notes: list[str] = []
    for name, df in splits.items():
        if df is None:
            continue
        missing = int(df[label_column].isna().sum() + (df[label_column].astype(str).str.strip() == "").sum())
        if missing:
            raise UserInputError(
                f"{missing} row(s) of the {name} split have no label in column {label_column!r}.",
                hint="Drop or fill the unlabelled rows on the Data page (cleaning: drop rows with a missing label).",
            )
    if len(train) == 0:
        raise UserInputError("The training split is empty.", hint="Pick a dataset version with a train split.")
    counts = train[label_column].astype(str).value_counts()
    if len(counts) < 2:
        raise UserInputError(
            f"The training split has a single class ({counts.index[0]!r}); a classifier needs at least two.",
            hint="Add examples of the other classes, or pick the right label column.",
        )
    small = counts[counts < min_examples_per_class]
    if len(small):
        shown = ", ".join(f"{k!r}: {v}" for k, v in small.items())
        raise UserInputError(
            f"Some classes have fewer than {min_examples_per_class} training examples ({shown}).",
            hint="Add examples, merge rare classes, or turn on synthetic examples for under-represented classes.",
        )
    labels = sorted(counts.index.tolist())
    index = {name: i for i, name in enumerate(labels)}

    def convert(df: pd.DataFrame | None, name: str) -> tuple[list[str], list[int]]:
        if df is None or len(df) == 0:
            return [], []
        y_str = df[label_column].astype(str)
        unknown = sorted(set(y_str) - set(index))
        if unknown:
            raise UserInputError(
                f"The {name} split has labels that never occur in the training split: {', '.join(unknown[:5])}.",
                hint="Re-split the dataset so every class is in the training split (stratified split, Data page).",
            )
        texts = df[text_column].fillna("").astype(str).tolist()
        return texts, [index[v] for v in y_str]

    train_texts, train_y = convert(train, "train")
    val_texts, val_y = convert(val, "validation")
    test_texts, test_y = convert(test, "test")
    empty = sum(1 for t in train_texts if not t.strip())
    if empty:
        notes.append(f"{empty} training text(s) are empty.")
    truncated = 0
    if tokenizer is not None:
        all_texts = train_texts + val_texts + test_texts
        lengths = [len(ids) for ids in tokenizer(all_texts, truncation=False)["input_ids"]]
        truncated = sum(1 for n in lengths if n > max_length)
        if truncated:
            notes.append(
                f"{truncated} of {len(all_texts)} text(s) are longer than {max_length} tokens and were truncated."
            )
    if not val_texts:
        notes.append("No validation split: no evaluations during training and no early stopping.")
    if not test_texts:
        notes.append("No test split: evaluation uses the validation split.")
    synthetic = [False] * len(train_texts)
    if "synthetic" in train.columns:
        synthetic = train["synthetic"].fillna(False).astype(bool).tolist()
    return ClassificationData(
        labels=labels,
        train_texts=train_texts,
        train_y=train_y,
        val_texts=val_texts,
        val_y=val_y,
        test_texts=test_texts,
        test_y=test_y,
        notes=notes,
        truncated=truncated,
        class_counts={str(k): int(v) for k, v in counts.items()},
        synthetic_flags=synthetic,
    )


class _Encoded:
    """A map-style dataset of tokenized examples (lists of ids; padding happens per batch)."""

    def __init__(self, enc: dict[str, list[list[int]]], labels: list[int]) -> None:
        self.input_ids = enc["input_ids"]
        self.attention_mask = enc["attention_mask"]
        self.labels = labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {"input_ids": self.input_ids[i], "attention_mask": self.attention_mask[i], "labels": self.labels[i]}


def class_weight_vector(y: list[int], n_classes: int) -> np.ndarray:
    """Inverse-frequency weights, normalised to mean 1 (balanced)."""
    counts = np.bincount(np.asarray(y, dtype=int), minlength=n_classes).astype(float)
    weights = len(y) / (n_classes * np.maximum(counts, 1.0))
    return weights / weights.mean()


def _macro_f1_metrics(eval_pred: Any) -> dict[str, float]:
    from aigc_core.finetune.evaluate import classification_report

    logits, labels = eval_pred.predictions, eval_pred.label_ids
    if isinstance(logits, tuple):
        logits = logits[0]
    preds = np.asarray(logits).argmax(-1)
    k = int(max(np.asarray(logits).shape[-1], 1))
    report = classification_report(labels, preds, [str(i) for i in range(k)])
    return {"accuracy": report.accuracy, "macro_f1": report.macro_f1}


def build_classifier(base_dir: Path, labels: list[str], params: ClassifierJobParams, precision: str) -> Any:
    """The model to train: the base encoder with a fresh head (or LoRA adapters on it)."""
    from transformers import AutoModelForSequenceClassification

    id2label = dict(enumerate(labels))
    label2id = {v: k for k, v in id2label.items()}
    model = AutoModelForSequenceClassification.from_pretrained(
        str(base_dir),
        num_labels=len(labels),
        id2label=id2label,
        label2id=label2id,
        ignore_mismatched_sizes=True,
    )
    if params.lora.enabled:
        model = apply_lora(model, base_dir, params.lora, "SEQ_CLS")
    elif params.freeze_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    return model


def train_classifier(
    base_dir: Path,
    data: ClassificationData,
    params: ClassifierJobParams,
    ctx: JobContext,
    *,
    device: str = "cpu",
    resume_from: Path | None = None,
) -> TrainOutcome:
    """Fine-tune ``base_dir`` on ``data``; checkpoints go to ``ctx.work_dir/checkpoints``."""

    import torch
    from transformers import AutoTokenizer, DataCollatorWithPadding, EarlyStoppingCallback, Trainer

    tp = params.train
    set_seed(tp.seed)
    tokenizer = AutoTokenizer.from_pretrained(str(base_dir))
    plan = plan_run(tp, len(data.train_texts), device)
    model = build_classifier(base_dir, data.labels, params, plan.precision)
    enc = tokenizer(data.train_texts, truncation=True, max_length=tp.max_length)
    train_ds = _Encoded(enc, data.train_y)
    val_ds = None
    if data.val_texts:
        val_ds = _Encoded(tokenizer(data.val_texts, truncation=True, max_length=tp.max_length), data.val_y)
    out_dir = Path(ctx.work_dir) / "checkpoints"
    args = training_arguments(tp, plan, out_dir, metric="macro_f1", greater_is_better=True, has_eval=val_ds is not None)
    weights = (
        torch.tensor(class_weight_vector(data.train_y, len(data.labels)), dtype=torch.float32)
        if params.class_weights
        else None
    )

    class WeightedTrainer(Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):  # noqa: ANN001, ANN202
            if weights is None:
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            labels = inputs.pop("labels")
            outputs = model(**inputs)
            loss = torch.nn.functional.cross_entropy(
                outputs.logits.float(), labels, weight=weights.to(outputs.logits.device)
            )
            return (loss, outputs) if return_outputs else loss

    progress = make_progress_callback(ctx)
    callbacks: list[Any] = [progress]
    if val_ds is not None and tp.early_stopping_patience > 0:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=tp.early_stopping_patience))
    trainer = WeightedTrainer(
        model=model,
        args=args,
        train_dataset=train_ds,
        eval_dataset=val_ds,
        data_collator=DataCollatorWithPadding(tokenizer, pad_to_multiple_of=8 if device.startswith("cuda") else None),
        processing_class=tokenizer,
        compute_metrics=_macro_f1_metrics,
        callbacks=callbacks,
    )
    ctx.log(
        f"training {len(train_ds)} examples, {len(data.labels)} classes, {plan.total_steps} steps, "
        f"device {device}, precision {plan.precision}, LoRA {'on' if params.lora.enabled else 'off'}"
    )
    return run_trainer(
        trainer,
        tokenizer=tokenizer,
        device=device,
        progress=progress,
        out_dir=out_dir,
        resume_from=resume_from,
        extra={"plan": plan.__dict__, "n_train": len(train_ds)},
    )


def save_classifier(outcome: TrainOutcome, target: Path) -> dict[str, Any]:
    """Write a plain ``from_pretrained`` folder (merged weights) and, for LoRA, the adapter in ``adapter/``."""
    model = outcome.model
    files: dict[str, Any] = {"adapter": False}
    if hasattr(model, "merge_and_unload"):
        model.save_pretrained(str(target / "adapter"))
        files["adapter"] = True
        model = model.merge_and_unload()
    model.save_pretrained(str(target), safe_serialization=True)
    outcome.tokenizer.save_pretrained(str(target))
    return files


def load_classifier(path: Path | str, device: str = "cpu") -> tuple[Any, Any]:
    """A saved classifier and its tokenizer."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(str(path)).to(device).eval()
    return model, AutoTokenizer.from_pretrained(str(path))

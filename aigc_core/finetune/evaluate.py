"""Evaluation: classification metrics with the worst mistakes, the frozen-encoder baseline, and LM perplexity."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch


@dataclass
class ClassificationReport:
    """Accuracy, macro-F1, per-class precision/recall/F1, confusion matrix and the worst mistakes."""

    labels: list[str]
    accuracy: float
    macro_f1: float
    per_class: dict[str, dict[str, float]]
    confusion: list[list[int]]  # rows: true label, columns: predicted label
    worst: list[dict[str, Any]] = field(default_factory=list)
    n: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def classification_report(
    y_true: Sequence[int],
    y_pred: Sequence[int],
    labels: Sequence[str],
    *,
    probs: np.ndarray | None = None,
    texts: Sequence[str] | None = None,
    n_worst: int = 10,
) -> ClassificationReport:
    """Metrics of predictions against the truth; ``worst`` lists confident mistakes (highest wrong probability)."""
    yt = np.asarray(y_true, dtype=int)
    yp = np.asarray(y_pred, dtype=int)
    k = len(labels)
    cm = np.zeros((k, k), dtype=int)
    np.add.at(cm, (yt, yp), 1)
    per_class: dict[str, dict[str, float]] = {}
    f1s = []
    for i, name in enumerate(labels):
        tp = cm[i, i]
        pred_i = cm[:, i].sum()
        true_i = cm[i, :].sum()
        p = tp / pred_i if pred_i else 0.0
        r = tp / true_i if true_i else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        per_class[name] = {"precision": float(p), "recall": float(r), "f1": float(f1), "support": int(true_i)}
        f1s.append(f1)
    worst: list[dict[str, Any]] = []
    wrong = np.flatnonzero(yt != yp)
    if len(wrong):
        conf = probs[wrong, yp[wrong]] if probs is not None else np.ones(len(wrong))
        for j in wrong[np.argsort(-conf, kind="stable")][:n_worst]:
            item: dict[str, Any] = {"index": int(j), "true": labels[yt[j]], "predicted": labels[yp[j]]}
            if probs is not None:
                item["confidence"] = float(probs[j, yp[j]])
            if texts is not None:
                item["text"] = str(texts[j])
            worst.append(item)
    return ClassificationReport(
        labels=list(labels),
        accuracy=float((yt == yp).mean()) if len(yt) else 0.0,
        macro_f1=float(np.mean(f1s)) if f1s else 0.0,
        per_class=per_class,
        confusion=cm.tolist(),
        worst=worst,
        n=len(yt),
    )


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


# --------------------------------------------------------------------------------------------
# Encoders: batched forward, mean pooling, the frozen-encoder baseline
# --------------------------------------------------------------------------------------------
def _batches_by_length(texts: Sequence[str], batch_size: int) -> list[list[int]]:
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def predict_logits(
    model: Any, tokenizer: Any, texts: Sequence[str], *, max_length: int, batch_size: int = 64
) -> np.ndarray:
    """Logits of a sequence classifier for ``texts`` (length-sorted batches, no gradients)."""
    import torch

    model.eval()
    device = next(model.parameters()).device
    out: list[np.ndarray | None] = [None] * len(texts)
    with torch.inference_mode():
        for idx in _batches_by_length(texts, batch_size):
            enc = tokenizer(
                [texts[i] for i in idx], truncation=True, max_length=max_length, padding=True, return_tensors="pt"
            ).to(device)
            logits = model(**enc).logits.float().cpu().numpy()
            for row, i in enumerate(idx):
                out[i] = logits[row]
    return np.stack(out) if out else np.zeros((0, 0))  # type: ignore[arg-type]


def mean_pooled_embeddings(
    encoder_dir: Path | str, texts: Sequence[str], *, max_length: int = 128, batch_size: int = 64
) -> np.ndarray:
    """Mean-pooled last hidden states of a frozen encoder (the sentence-transformers recipe)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(encoder_dir))
    model = AutoModel.from_pretrained(str(encoder_dir)).eval()
    out: list[np.ndarray | None] = [None] * len(texts)
    with torch.inference_mode():
        for idx in _batches_by_length(texts, batch_size):
            enc = tok(
                [texts[i] for i in idx], truncation=True, max_length=max_length, padding=True, return_tensors="pt"
            )
            hidden = model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = ((hidden * mask).sum(1) / mask.sum(1).clamp(min=1)).numpy()
            for row, i in enumerate(idx):
                out[i] = pooled[row]
    return np.stack(out)  # type: ignore[arg-type]


def frozen_encoder_baseline(
    encoder_dir: Path | str,
    train_texts: Sequence[str],
    train_y: Sequence[int],
    test_texts: Sequence[str],
    test_y: Sequence[int],
    labels: Sequence[str],
    *,
    max_length: int = 128,
    max_train: int = 5000,
    seed: int = 0,
) -> ClassificationReport:
    """The base model's score: logistic regression on mean-pooled embeddings of the frozen encoder."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    idx = np.arange(len(train_texts))
    if len(idx) > max_train:
        idx = rng.choice(idx, size=max_train, replace=False)
    x_train = mean_pooled_embeddings(encoder_dir, [train_texts[int(i)] for i in idx], max_length=max_length)
    y_train = np.asarray(train_y)[idx]
    clf = LogisticRegression(max_iter=2000, C=1.0)
    clf.fit(x_train, y_train)
    x_test = mean_pooled_embeddings(encoder_dir, list(test_texts), max_length=max_length)
    probs_known = clf.predict_proba(x_test)
    probs = np.zeros((len(test_texts), len(labels)))
    probs[:, clf.classes_] = probs_known
    return classification_report(test_y, probs.argmax(1), labels, probs=probs, texts=list(test_texts))


# --------------------------------------------------------------------------------------------
# Language models
# --------------------------------------------------------------------------------------------
def perplexity_from_losses(token_losses_sum: float, n_tokens: int) -> float:
    """exp(mean token loss); inf when there are no tokens."""
    if n_tokens <= 0:
        return math.inf
    return float(math.exp(min(token_losses_sum / n_tokens, 700.0)))


def lm_perplexity(model: Any, features: Sequence[dict[str, list[int]]], *, batch_size: int = 8) -> float:
    """Perplexity over the answer tokens (labels != -100) of tokenized examples."""
    import torch

    from aigc_core.finetune.causal_lm import pad_batch

    model.eval()
    device = next(model.parameters()).device
    total, count = 0.0, 0
    with torch.inference_mode():
        for i in range(0, len(features), batch_size):
            batch = pad_batch(list(features[i : i + batch_size]), pad_id=0)
            batch = {k: v.to(device) for k, v in batch.items()}
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
            shift_logits = logits[:, :-1].reshape(-1, logits.size(-1))
            shift_labels = batch["labels"][:, 1:].reshape(-1)
            loss = torch.nn.functional.cross_entropy(shift_logits, shift_labels, ignore_index=-100, reduction="sum")
            total += float(loss)
            count += int((shift_labels != -100).sum())
    return perplexity_from_losses(total, count)


def generate_samples(
    model: Any, tokenizer: Any, prompts: Sequence[str], *, max_new_tokens: int = 60, system_prompt: str = ""
) -> list[str]:
    """Greedy answers of a chat model to a few briefs (for base vs tuned side by side)."""
    import torch

    from aigc_core.finetune.causal_lm import render_prompt

    model.eval()
    device = next(model.parameters()).device
    outputs = []
    with torch.inference_mode():
        for prompt in prompts:
            text = render_prompt(tokenizer, prompt, system_prompt)
            enc = tokenizer(text, return_tensors="pt", add_special_tokens=False).to(device)
            gen = model.generate(
                **enc,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
            )
            outputs.append(tokenizer.decode(gen[0, enc["input_ids"].shape[1] :], skip_special_tokens=True).strip())
    return outputs


def model_device(model: torch.nn.Module) -> str:
    """The device the model's first parameter lives on."""
    return str(next(model.parameters()).device)

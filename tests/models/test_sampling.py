"""The fused top-k/top-p warper keeps the same tokens as transformers' own warpers and samples the same text."""

from __future__ import annotations

from pathlib import Path

import pytest

from aigc_core.tasks.sampling import sampling_kwargs, top_k_top_p_warper


@pytest.mark.parametrize(("top_k", "top_p"), [(50, 0.9), (5, 1.0), (200, 0.5), (3, 0.999)])
def test_warper_keeps_the_same_tokens_as_transformers(top_k: int, top_p: float) -> None:
    import torch
    from transformers import TopKLogitsWarper, TopPLogitsWarper

    torch.manual_seed(0)
    scores = torch.randn(6, 1000) * 3
    ids = torch.zeros(6, 1, dtype=torch.long)
    want = TopPLogitsWarper(top_p)(ids, TopKLogitsWarper(top_k)(ids, scores.clone()))
    got = top_k_top_p_warper(top_k, top_p)(ids, scores.clone())
    assert torch.equal(torch.isinf(got), torch.isinf(want))
    kept = ~torch.isinf(want)
    assert torch.equal(got[kept], want[kept])
    assert int(kept.sum(-1).min()) >= 1


def test_sampling_kwargs_moves_only_top_k_sampling() -> None:
    base = {"do_sample": True, "top_k": 50, "top_p": 0.9, "temperature": 0.8, "max_new_tokens": 5}
    out = sampling_kwargs(base)
    assert base["top_k"] == 50 and "logits_processor" not in base  # the input is not modified
    assert out["top_k"] == 0 and out["top_p"] == 1.0 and out["temperature"] == 0.8
    assert type(out["logits_processor"][-1]).__name__ == "TopKTopPWarper"
    assert "logits_processor" not in sampling_kwargs({**base, "do_sample": False})
    assert "logits_processor" not in sampling_kwargs({**base, "top_k": 0})


def test_generate_samples_the_same_text_as_transformers_warpers(tiny_causal_lm_dir: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_causal_lm_dir))
    model = AutoModelForCausalLM.from_pretrained(str(tiny_causal_lm_dir)).eval()
    ids = tok("fresh coffee every morning", return_tensors="pt").input_ids.expand(4, -1)
    kw = {"do_sample": True, "top_k": 20, "top_p": 0.8, "temperature": 0.9, "repetition_penalty": 1.1,
          "max_new_tokens": 12, "min_new_tokens": 12, "pad_token_id": tok.pad_token_id}  # fmt: skip
    outs = []
    for k in (kw, sampling_kwargs(kw)):
        torch.manual_seed(7)
        with torch.inference_mode():
            outs.append(model.generate(ids, **k))
    assert torch.equal(outs[0], outs[1])

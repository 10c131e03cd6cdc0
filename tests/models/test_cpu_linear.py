"""oneDNN-packed linear layers for CPU inference: same numbers as nn.Linear, tied weights kept, opt-out setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from aigc_core.models import cpu_linear
from aigc_core.models.manager import get_manager
from aigc_core.settings import reset_settings

pytestmark = pytest.mark.skipif(not cpu_linear.packing_available(), reason="this PyTorch build has no oneDNN")


def _packed_names(model: object) -> list[str]:
    return [n for n, m in model.named_modules() if type(m).__name__ == "PackedLinear"]  # type: ignore[attr-defined]


def test_packed_layers_match_linear_for_single_rows_and_batches() -> None:
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 96), torch.nn.ReLU(), torch.nn.Linear(96, 64, bias=False)).eval()
    x1, x4, x3d = torch.randn(1, 64), torch.randn(4, 64), torch.randn(2, 5, 64)
    with torch.inference_mode():
        want = [model(x) for x in (x1, x4, x3d)]
    assert cpu_linear.pack_linear_layers(model, min_features=32) == 2
    assert _packed_names(model) == ["0", "2"]
    with torch.inference_mode():
        got = [model(x) for x in (x1, x4, x3d)]
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape
        torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-4)


def test_small_layers_and_training_keep_the_default_kernel() -> None:
    import torch

    model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.Linear(300, 300))
    assert cpu_linear.pack_linear_layers(model) == 1  # only the layer >= MIN_FEATURES
    x = torch.randn(4, 300, requires_grad=True)
    model[1](x).sum().backward()  # grad enabled: the dense weight is used, gradients flow
    assert model[1].weight.grad is not None and x.grad is not None


def test_disagreeing_kernel_leaves_the_model_untouched(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    def wrong(x: torch.Tensor, *args: object) -> torch.Tensor:
        return torch.zeros(*x.shape[:-1], 300)

    monkeypatch.setattr(torch.ops.mkldnn, "_linear_pointwise", wrong)
    model = torch.nn.Sequential(torch.nn.Linear(300, 300))
    assert cpu_linear.pack_linear_layers(model) == 0
    assert type(model[0]) is torch.nn.Linear


def test_manager_packs_the_language_model_and_generation_is_unchanged(
    tiny_causal_lm_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    monkeypatch.setattr(cpu_linear, "MIN_FEATURES", 32)
    monkeypatch.setenv("AIGC_CPU_PACKED_LINEAR", "false")
    reset_settings()
    plain = get_manager().load("text-generation", str(tiny_causal_lm_dir))
    assert _packed_names(plain.model) == []
    monkeypatch.setenv("AIGC_CPU_PACKED_LINEAR", "true")
    reset_settings()
    get_manager().unload_all()
    packed = get_manager().load("text-generation", str(tiny_causal_lm_dir))
    names = _packed_names(packed.model)
    assert "lm_head" in names and any(n.endswith("mlp.up_proj") for n in names)
    # The tied output layer still shares the embedding's weight.
    assert packed.model.lm_head.weight is packed.model.get_input_embeddings().weight
    ids = packed.tokenizer("fresh coffee every morning", return_tensors="pt").input_ids
    with torch.inference_mode():
        outs = [
            m.generate(ids.expand(3, -1), max_new_tokens=8, do_sample=False, pad_token_id=packed.tokenizer.pad_token_id)
            for m in (plain.model, packed.model)
        ]
    assert torch.equal(outs[0], outs[1])

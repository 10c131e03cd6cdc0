"""Inference on x86 CPUs: linear layers through oneDNN with weights packed once, at load time.

PyTorch's default CPU matmul (MKL) is fast for one row at a time but slow for the few-row products of batched
decoding and encoder batches, on AMD CPUs especially (about 3x slower than oneDNN for a 4-row LM head). Packing a
layer's weight into oneDNN's blocked layout once and calling oneDNN's linear kernel is what ``torch.compile``'s
CPU "freezing" does, without the compile time. Results match ``F.linear`` to float rounding (checked per model).

Only models loaded for inference get this: packed layers cannot be trained and stay on the CPU.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

# Smaller layers gain nothing: oneDNN's per-call overhead outweighs the faster kernel.
MIN_FEATURES = 256


def packing_available() -> bool:
    """True when this PyTorch build has oneDNN's packed linear ops (x86 CPU builds)."""
    import torch

    ops = getattr(torch.ops, "mkldnn", None)
    return bool(
        torch.backends.mkldnn.is_available()
        and ops is not None
        and hasattr(ops, "_reorder_linear_weight")
        and hasattr(ops, "_linear_pointwise")
    )


def _packed_linear_class() -> type:
    import torch

    class PackedLinear(torch.nn.Module):
        """A frozen ``nn.Linear`` whose weight lives in oneDNN's packed layout (CPU inference only).

        Single rows (batch-1 decoding) keep PyTorch's default kernel, which is faster there, so the dense
        weight is kept as well; the packed copy serves every call with two rows or more."""

        def __init__(self, linear: torch.nn.Linear) -> None:
            super().__init__()
            self.in_features = linear.in_features
            self.out_features = linear.out_features
            self.weight = linear.weight  # shared, not copied (tied embeddings stay tied)
            self.bias = linear.bias
            with torch.no_grad():
                self._packed = torch.ops.mkldnn._reorder_linear_weight(linear.weight.detach(), None)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.numel() == x.shape[-1] or x.dtype != self.weight.dtype or torch.is_grad_enabled():
                return torch.nn.functional.linear(x, self.weight, self.bias)
            bias = self.bias.detach() if self.bias is not None else None
            return torch.ops.mkldnn._linear_pointwise(x.contiguous(), self._packed, bias, "none", [], "")

        def extra_repr(self) -> str:
            return f"in_features={self.in_features}, out_features={self.out_features}, packed=oneDNN"

    return PackedLinear


def pack_linear_layers(model: Any, *, min_features: int | None = None) -> int:
    """Replace the model's large ``nn.Linear`` layers by oneDNN-packed ones, in place; the number replaced.

    A no-op (0) off the CPU, for dtypes other than float32/bfloat16, on builds without oneDNN, or when the
    packed kernel does not reproduce ``F.linear`` on a probe input (then nothing is replaced)."""
    import torch

    if not packing_available():
        return 0
    min_features = MIN_FEATURES if min_features is None else min_features
    targets = [
        (name, mod)
        for name, mod in model.named_modules()
        if type(mod) is torch.nn.Linear
        and mod.weight.device.type == "cpu"
        and mod.weight.dtype in (torch.float32, torch.bfloat16)
        and min(mod.in_features, mod.out_features) >= min_features
    ]
    if not targets:
        return 0
    cls = _packed_linear_class()
    try:
        probe_layer = cls(targets[0][1])
        x = torch.randn(3, targets[0][1].in_features, dtype=targets[0][1].weight.dtype)
        with torch.inference_mode():
            want = torch.nn.functional.linear(x, probe_layer.weight, probe_layer.bias)
            got = probe_layer(x)
        tol = 1e-3 if x.dtype == torch.float32 else 5e-2
        if not torch.allclose(got.float(), want.float(), rtol=tol, atol=tol):
            log.warning("oneDNN packed linear disagrees with F.linear; keeping the default kernels")
            return 0
    except Exception as exc:  # an op missing or refusing this CPU: the default kernels still work
        log.warning("oneDNN packed linear unavailable (%r); keeping the default kernels", exc)
        return 0
    for name, mod in targets:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, cls(mod))
    return len(targets)


def pack_for_cpu_inference(model: Any, device: str) -> int:
    """Pack ``model`` for oneDNN when it runs on the CPU and AIGC_CPU_PACKED_LINEAR is on; layers packed."""
    from aigc_core.settings import get_settings

    if str(device) != "cpu" or not get_settings().cpu_packed_linear:
        return 0
    count = pack_linear_layers(model)
    if count:
        log.info("packed %d linear layers of %s for oneDNN", count, type(model).__name__)
    return count

"""Rough time and memory estimate of a run before it starts (from the weights' headers, no model load)."""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass, field
from pathlib import Path

from aigc_core.finetune.params import LoraParams, TrainParams
from aigc_core.finetune.training import plan_run, read_config

# Effective training FLOP/s assumed when no earlier run on the same base model and device was measured.
CPU_FLOPS_PER_CORE = 2.0e10
GPU_FLOPS = {"h100": 2.5e14, "h200": 2.5e14, "a100": 1.2e14, "l4": 4.0e13, "default": 5.0e13}
ACTIVATION_BYTES_PER_TOKEN_LAYER_HIDDEN = 34  # per token, per layer, per hidden unit (mixed precision)


@dataclass
class Estimate:
    """Parameters, memory and time a run is expected to need."""

    total_params: int
    trainable_params: int
    memory_bytes: int
    seconds: float
    steps: int
    basis: str
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the form."""
        gib = self.memory_bytes / 1024**3
        mins = self.seconds / 60
        t = f"{self.seconds:.0f} s" if self.seconds < 120 else f"{mins:.0f} min"
        return (
            f"≈ {t} for {self.steps} steps, ≈ {gib:.1f} GiB memory; "
            f"{self.trainable_params / 1e6:.2f} M of {self.total_params / 1e6:.2f} M weights trained ({self.basis})."
        )


def count_parameters(model_dir: Path) -> tuple[int, int]:
    """(all parameters, embedding parameters) read from the safetensors headers."""
    total = emb = 0
    for f in sorted(Path(model_dir).glob("*.safetensors")):
        with open(f, "rb") as fh:
            (n,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(n))
        for name, meta in header.items():
            if name == "__metadata__":
                continue
            size = math.prod(meta.get("shape", [])) if meta.get("shape") else 1
            total += size
            if "embed" in name or "wte" in name or "wpe" in name:
                emb += size
    return total, emb


def input_embedding_params(model_dir: Path) -> int:
    """Weights of the token embedding matrix (what "freeze embeddings" freezes), from the safetensors headers."""
    n = 0
    for f in sorted(Path(model_dir).glob("*.safetensors")):
        with open(f, "rb") as fh:
            (size,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(size))
        for name, meta in header.items():
            if name != "__metadata__" and any(k in name for k in ("word_embeddings", "embed_tokens", "wte.")):
                n += math.prod(meta.get("shape", [])) if meta.get("shape") else 1
    return n


def lora_trainable(config: dict, lora: LoraParams, n_targets: int) -> int:
    """Adapter weights: two rank-r matrices per adapted projection and layer."""
    hidden = int(config.get("hidden_size") or config.get("n_embd") or config.get("dim") or 768)
    layers = int(config.get("num_hidden_layers") or config.get("n_layer") or config.get("n_layers") or 12)
    return 2 * lora.r * hidden * n_targets * layers


def estimate_run(
    base_dir: Path,
    n_train: int,
    train: TrainParams,
    lora: LoraParams,
    *,
    device: str = "cpu",
    cpu_cores: int | None = None,
    gpu_name: str = "",
    mean_tokens: float | None = None,
    measured_samples_per_s: float | None = None,
    freeze_embeddings: bool = False,
) -> Estimate:
    """Time and peak memory of a run; uses a measured speed of an earlier run when given. ``freeze_embeddings``:
    the token embeddings are not trained (full fine-tuning only)."""
    import psutil

    from aigc_core.finetune.training import lora_targets

    config = read_config(base_dir)
    total, emb = count_parameters(base_dir)
    if total == 0:  # no safetensors header: guess from the config
        hidden = int(config.get("hidden_size", 768))
        total = 12 * hidden * hidden * int(config.get("num_hidden_layers", 12))
    n_targets = len(lora_targets(str(config.get("model_type", "")), lora.target_modules))
    if lora.enabled:
        trainable = lora_trainable(config, lora, n_targets)
    else:
        trainable = total - (input_embedding_params(base_dir) if freeze_embeddings else 0)
    trainable = min(trainable, total)  # never "more of fewer"
    plan = plan_run(train, max(1, n_train), device)
    samples = plan.total_steps * train.batch_size * train.grad_accum
    tokens_per_sample = mean_tokens or train.max_length / 2
    notes: list[str] = []
    if measured_samples_per_s:
        seconds = samples / measured_samples_per_s
        basis = "measured on an earlier run"
    else:
        compute_params = max(total - emb, 1)
        flop_factor = 6 if not lora.enabled else 4  # LoRA skips the weight gradients of the frozen layers
        flops = flop_factor * compute_params * samples * tokens_per_sample
        if device.startswith("cuda"):
            key = next((k for k in GPU_FLOPS if k in gpu_name.lower()), "default")
            rate = GPU_FLOPS[key]
        else:
            rate = CPU_FLOPS_PER_CORE * (cpu_cores or psutil.cpu_count(logical=False) or 1)
        seconds = flops / rate + 2.0 * math.ceil(plan.total_steps / max(plan.eval_steps, 1))
        basis = "rough, from model size"
    on_gpu = device.startswith("cuda")
    weight_bytes = total * (2 if on_gpu else 4)
    optimiser_bytes = trainable * (4 + 4 + 4)  # fp32 grads + two Adam moments
    hidden = int(config.get("hidden_size") or config.get("n_embd") or 768)
    layers = int(config.get("num_hidden_layers") or config.get("n_layer") or 12)
    act = ACTIVATION_BYTES_PER_TOKEN_LAYER_HIDDEN * train.batch_size * train.max_length * hidden * layers
    act = act if on_gpu else act * 2
    memory = int((weight_bytes + optimiser_bytes + act) * 1.2)
    if memory > psutil.virtual_memory().available and not on_gpu:
        notes.append("The estimate exceeds the free memory: lower the batch size or max length, or use LoRA.")
    return Estimate(total, trainable, memory, seconds, plan.total_steps, basis, notes)

"""Compute device and precision choice, and memory reporting."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

from aigc_core.errors import UserInputError
from aigc_core.settings import Settings, get_settings

if TYPE_CHECKING:  # pragma: no cover
    import torch


@dataclass(frozen=True)
class DeviceInfo:
    """What the app computes on, as shown in the sidebar."""

    device: str
    dtype: str
    name: str
    total_memory_bytes: int
    free_memory_bytes: int
    classifier_dtype: str | None = None  # when sentiment scoring runs in another precision (bf16 CPUs)

    @property
    def is_gpu(self) -> bool:
        """True for cuda and mps devices."""
        return self.device.startswith(("cuda", "mps"))

    def summary(self) -> str:
        """One line for the sidebar."""
        gib = 1024**3
        precision = self.dtype
        if self.classifier_dtype and self.classifier_dtype != self.dtype:
            precision += f" (scoring {self.classifier_dtype})"
        return (
            f"{self.name} · {precision} · {self.free_memory_bytes / gib:.1f} of "
            f"{self.total_memory_bytes / gib:.1f} GiB free"
        )


def _torch():  # noqa: ANN202 - torch module, imported lazily
    import torch

    return torch


def resolve_device(requested: str | None = None, settings: Settings | None = None) -> str:
    """The device to use: the setting, or cuda > mps > cpu when ``auto``."""
    torch = _torch()
    want = (requested or (settings or get_settings()).device).lower()
    if want == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if want.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UserInputError(
                f"AIGC_DEVICE={want} but no CUDA GPU is visible to PyTorch.",
                hint="Set AIGC_DEVICE=auto or cpu, or install a CUDA build of torch.",
            )
        index = int(want.split(":", 1)[1]) if ":" in want else 0
        if index >= torch.cuda.device_count():
            raise UserInputError(
                f"AIGC_DEVICE={want} but only {torch.cuda.device_count()} GPU(s) exist.",
                hint="Pick an index below the GPU count.",
            )
        return want
    if want == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise UserInputError("AIGC_DEVICE=mps but Apple MPS is not available.", hint="Set AIGC_DEVICE=auto or cpu.")
    return want


def resolve_dtype(device: str, requested: str | None = None, settings: Settings | None = None) -> torch.dtype:
    """The precision to use: the setting, or bf16/fp16 on a GPU and fp32 on the CPU when ``auto``."""
    torch = _torch()
    want = requested or (settings or get_settings()).dtype
    if want == "auto":
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        if device == "mps":
            return torch.float16
        return torch.float32
    return {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[want]


def memory_info(device: str) -> tuple[int, int]:
    """(free, total) bytes on the device; system RAM for the CPU."""
    torch = _torch()
    if device.startswith("cuda"):
        free, total = torch.cuda.mem_get_info(torch.device(device))
        return int(free), int(total)
    vm = psutil.virtual_memory()
    return int(vm.available), int(vm.total)


def device_info(settings: Settings | None = None) -> DeviceInfo:
    """Device, precision, name and memory, resolved from the settings."""
    torch = _torch()
    settings = settings or get_settings()
    device = resolve_device(settings=settings)
    dtype = resolve_dtype(device, settings=settings)
    if device.startswith("cuda"):
        name = torch.cuda.get_device_name(torch.device(device))
    elif device == "mps":
        name = "Apple MPS"
    else:
        name = f"CPU ({psutil.cpu_count(logical=True)} threads)"
    free, total = memory_info(device)
    return DeviceInfo(
        device=device,
        dtype=str(dtype).removeprefix("torch."),
        name=name,
        total_memory_bytes=total,
        free_memory_bytes=free,
        classifier_dtype=classifier_inference_dtype(device, settings),
    )


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """True when the CPU has bfloat16 instructions (AVX512-BF16 or AMX), where bf16 inference is fast."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:  # not Linux: be conservative
        return False
    return any(flag in flags for flag in ("avx512_bf16", "amx_bf16"))


def classifier_inference_dtype(device: str | None = None, settings: Settings | None = None) -> str:
    """Precision for classifier inference (sentiment scoring): the AIGC_DTYPE setting, except that ``auto`` on
    a CPU with native bf16 gives bfloat16 when AIGC_CPU_BF16_INFERENCE is on (same macro-F1, about 2x faster;
    see bench/sentiment.py)."""
    settings = settings or get_settings()
    if settings.dtype != "auto":
        return settings.dtype
    dev = resolve_device(device, settings=settings)
    if dev == "cpu" and settings.cpu_bf16_inference and cpu_has_native_bf16():
        return "bfloat16"
    return str(resolve_dtype(dev, settings=settings)).removeprefix("torch.")

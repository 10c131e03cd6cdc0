"""Device and precision choice."""

from __future__ import annotations

import pytest
import torch

from aigc_core import devices
from aigc_core.errors import UserInputError
from aigc_core.settings import Settings


def test_auto_picks_cpu_without_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert devices.resolve_device(settings=Settings(device="auto")) == "cpu"
    assert devices.resolve_dtype("cpu", settings=Settings(dtype="auto")) == torch.float32


def test_auto_prefers_cuda_then_bf16(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert devices.resolve_device(settings=Settings(device="auto")) == "cuda"
    assert devices.resolve_dtype("cuda", settings=Settings()) == torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert devices.resolve_dtype("cuda", settings=Settings()) == torch.float16


def test_dtype_override_wins() -> None:
    assert devices.resolve_dtype("cpu", settings=Settings(dtype="bfloat16")) == torch.bfloat16


def test_cuda_requested_without_gpu_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(UserInputError) as err:
        devices.resolve_device(settings=Settings(device="cuda:1"))
    assert "AIGC_DEVICE" in str(err.value)


def test_device_info_reports_memory_on_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    info = devices.device_info(Settings())
    assert info.device == "cpu" and info.dtype == "float32" and not info.is_gpu
    assert 0 < info.free_memory_bytes <= info.total_memory_bytes
    assert "GiB free" in info.summary()


def test_free_gpu_memory_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (3 * 2**30, 8 * 2**30))
    assert devices.memory_info("cuda:0") == (3 * 2**30, 8 * 2**30)


def test_classifier_dtype_uses_bf16_only_on_cpus_that_have_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda: True)
    assert devices.classifier_inference_dtype(settings=Settings(cpu_bf16_inference=True)) == "bfloat16"
    assert devices.classifier_inference_dtype(settings=Settings(cpu_bf16_inference=False)) == "float32"
    assert devices.classifier_inference_dtype(settings=Settings(dtype="float32", cpu_bf16_inference=True)) == "float32"
    monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda: False)
    assert devices.classifier_inference_dtype(settings=Settings(cpu_bf16_inference=True)) == "float32"


@pytest.mark.parametrize("native", [True, False])
def test_sidebar_says_when_scoring_runs_in_bf16(monkeypatch: pytest.MonkeyPatch, native: bool) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda: native)
    info = devices.device_info(Settings(cpu_bf16_inference=True))
    assert info.dtype == "float32"
    assert ("float32 (scoring bfloat16)" in info.summary()) is native
    assert "(scoring" not in devices.device_info(Settings(cpu_bf16_inference=False)).summary()

"""Model manager: loading through every task, caching, LRU eviction, unloading and thread safety."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from aigc_core.errors import ModelUnavailableError
from aigc_core.models import manager as manager_mod
from aigc_core.models.manager import get_manager
from aigc_core.settings import reset_settings


def test_load_lm_from_folder_and_cache_hit(tiny_causal_lm_dir: Path) -> None:
    mgr = get_manager()
    first = mgr.load("text-generation", str(tiny_causal_lm_dir))
    second = mgr.load("lm", str(tiny_causal_lm_dir))
    assert first is second and mgr.load_count == 1
    assert type(first.model).__name__ == "LlamaForCausalLM"
    assert first.tokenizer.padding_side == "left" and first.tokenizer.pad_token is not None
    assert first.device == "cpu" and first.dtype == "float32" and first.bytes > 0
    rows = mgr.loaded()
    assert [r.key for r in rows] == [first.key] and rows[0].size_gb == pytest.approx(first.bytes / 1024**3)
    other_dtype = mgr.load("text-generation", str(tiny_causal_lm_dir), dtype="bfloat16")
    assert other_dtype is not first and next(other_dtype.model.parameters()).dtype.is_floating_point
    assert mgr.load_count == 2


def test_classifier_encoder_and_pipeline(
    tiny_bert_classifier_dir: Path, tiny_bert_encoder_dir: Path, tiny_sd_pipeline_dir: Path
) -> None:
    import torch

    mgr = get_manager()
    clf = mgr.load("sentiment", str(tiny_bert_classifier_dir))
    assert clf.model.config.id2label[2] == "positive"
    enc = mgr.load("sentence-embeddings", str(tiny_bert_encoder_dir))
    batch = enc.tokenizer(["great product", "好 的 产品"], padding=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = enc.model(**batch).last_hidden_state
    assert hidden.shape[0] == 2 and hidden.shape[-1] == 32
    pipe = mgr.load("text-to-image", str(tiny_sd_pipeline_dir)).pipeline
    started = time.perf_counter()
    image = pipe("a red chair", num_inference_steps=2, height=64, width=64,
                 generator=torch.Generator().manual_seed(0)).images[0]  # fmt: skip
    # ~1.5 s on an idle 2-core CPU; the bound is loose because CI machines are shared
    assert image.size == (64, 64) and time.perf_counter() - started < 60


def test_lru_eviction_under_small_budget(
    tiny_causal_lm_dir: Path, tiny_bert_classifier_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mgr = get_manager()
    lm = mgr.load("text-generation", str(tiny_causal_lm_dir))
    monkeypatch.setenv("AIGC_MODEL_MEMORY_BUDGET_GB", str(1.5 * lm.bytes / 1024**3))  # room for one tiny model
    reset_settings()
    clf = mgr.load("sentiment", str(tiny_bert_classifier_dir))
    assert not mgr.is_loaded(lm.id) and mgr.is_loaded(clf.id)
    assert [r.id for r in mgr.loaded()] == [clf.id]


def test_lru_keeps_recently_used(
    tiny_causal_lm_dir: Path, tiny_bert_classifier_dir: Path, tiny_bert_encoder_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    mgr = get_manager()
    lm = mgr.load("text-generation", str(tiny_causal_lm_dir))
    clf = mgr.load("sentiment", str(tiny_bert_classifier_dir))
    mgr.load("text-generation", str(tiny_causal_lm_dir))  # lm is now the most recently used
    monkeypatch.setenv("AIGC_MODEL_MEMORY_BUDGET_GB", str(2.5 * lm.bytes / 1024**3))  # room for two
    reset_settings()
    enc = mgr.load("sentence-embeddings", str(tiny_bert_encoder_dir))
    assert mgr.is_loaded(lm.id) and mgr.is_loaded(enc.id) and not mgr.is_loaded(clf.id)


def test_unload_and_unload_all(tiny_causal_lm_dir: Path, tiny_bert_encoder_dir: Path) -> None:
    mgr = get_manager()
    lm = mgr.load("text-generation", str(tiny_causal_lm_dir))
    mgr.load("sentence-embeddings", str(tiny_bert_encoder_dir))
    assert mgr.unload(lm.key) == 1
    assert not mgr.is_loaded(lm.key) and len(mgr.loaded()) == 1
    assert mgr.load("text-generation", str(tiny_causal_lm_dir)) is not lm  # loaded afresh
    assert mgr.unload_all() == 2 and mgr.loaded() == []
    assert mgr.unload("nothing") == 0


def test_two_threads_load_once(tiny_causal_lm_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = manager_mod.LOADERS["text-generation"]
    calls: list[int] = []

    def slow_loader(*args: Any) -> dict[str, Any]:
        calls.append(1)
        time.sleep(0.3)
        return real(*args)

    monkeypatch.setitem(manager_mod.LOADERS, "text-generation", slow_loader)
    mgr = get_manager()
    results: list[Any] = []
    threads = [
        threading.Thread(target=lambda: results.append(mgr.load("text-generation", str(tiny_causal_lm_dir))))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(results) == 3
    assert results[0] is results[1] is results[2]


def test_corrupt_weights_become_model_unavailable(tiny_causal_lm_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(tiny_causal_lm_dir, broken)
    (broken / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{bad json")
    with pytest.raises(ModelUnavailableError) as err:
        get_manager().load("text-generation", str(broken))
    assert "could not be loaded" in err.value.message
    assert "AIGC_TEXT_GENERATION_MODEL" in err.value.hint
    assert get_manager().loaded() == []


def test_wrong_kind_of_model_for_task(tiny_bert_encoder_dir: Path) -> None:
    with pytest.raises(ModelUnavailableError) as err:
        get_manager().load("text-generation", str(tiny_bert_encoder_dir))
    assert "AIGC_TEXT_GENERATION_MODEL" in err.value.hint


def test_estimate_accounts_for_dtype(tiny_causal_lm_dir: Path) -> None:
    from aigc_core.models.catalog import resolve

    resolved = resolve("text-generation", str(tiny_causal_lm_dir))
    fp32 = manager_mod.estimate_bytes(resolved, "float32")
    assert fp32 == (tiny_causal_lm_dir / "model.safetensors").stat().st_size
    assert manager_mod.estimate_bytes(resolved, "bfloat16") == fp32 // 2


def test_importing_models_is_cheap() -> None:
    import subprocess
    import sys

    code = "import sys, aigc_core.models, aigc_core.models.manager, aigc_core.tasks.text_generation; " \
           "print(any(m in sys.modules for m in ('torch', 'transformers', 'diffusers')))"  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_lora_adapter_version_loads_merged(tiny_causal_lm_dir: Path, tmp_path: Path) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    version = tmp_path / "version"
    base = AutoModelForCausalLM.from_pretrained(str(tiny_causal_lm_dir))
    peft_model = get_peft_model(base, LoraConfig(r=2, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    peft_model.save_pretrained(str(version / "adapter"))
    AutoTokenizer.from_pretrained(str(tiny_causal_lm_dir)).save_pretrained(str(version))
    loaded = get_manager().load("text-generation", str(version))
    assert type(loaded.model).__name__ == "LlamaForCausalLM"  # merged, no PEFT wrapper
    assert loaded.tokenizer.chat_template


@pytest.mark.parametrize(
    ("key", "expected"), [("conditioner.embedders.0.w", "sdxl"), ("model.diffusion_model.w", "sd")]
)
def test_single_file_checkpoint_loads_with_its_architecture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str, expected: str
) -> None:
    import diffusers
    import torch
    from safetensors.torch import save_file

    from aigc_core.models.manager import get_manager

    ckpt = tmp_path / "model.safetensors"
    save_file({key: torch.zeros(2)}, str(ckpt))
    used = []

    class FakePipe:
        def to(self, device):
            return self

        def set_progress_bar_config(self, **kw):
            pass

    for name, family in (("StableDiffusionXLPipeline", "sdxl"), ("StableDiffusionPipeline", "sd")):
        monkeypatch.setattr(
            getattr(diffusers, name),
            "from_single_file",
            classmethod(lambda cls, *a, f=family, **k: used.append(f) or FakePipe()),
        )
    loaded = get_manager().load("text-to-image", str(ckpt))
    assert used == [expected] and isinstance(loaded.pipeline, FakePipe)

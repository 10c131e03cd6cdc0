"""Upscaling 2× and 4×: with a diffusion upscaler when one is configured (``AIGC_UPSCALE_MODEL``, a
``StableDiffusionUpscalePipeline`` such as stabilityai/stable-diffusion-x4-upscaler, loaded through the model
manager), else Lanczos resampling plus an unsharp mask, run tile by tile so memory stays bounded by the tile size
(each tile reads its filter's support from the whole source, so tiled and whole-image results agree).

The diffusion upscaler is a 4× model: 2× runs it and resizes its output to 2× with Lanczos (recorded as
``resize``). Its sources are at most :data:`MAX_DIFFUSION_SIDE` pixels a side (larger ones would need tiling)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from aigc_core.errors import ModelUnavailableError, UserInputError
from aigc_core.images.inpaint import EditResult, _finish
from aigc_core.images.metadata import sha256_bytes
from aigc_core.models.task_table import IMAGE_UPSCALING, setting_env

FACTORS = (2, 4)
MAX_OUTPUT_SIDE = 8192
TILE = 512  # output tile side in pixels
SHARPEN: dict[str, Any] = {"radius": 1.2, "percent": 60, "threshold": 2}
HALO = 8  # extra output pixels around a tile for the unsharp mask's support

TASK = IMAGE_UPSCALING
SETTING_ENV = setting_env(IMAGE_UPSCALING)  # AIGC_UPSCALE_MODEL
METHODS = ("auto", "lanczos", "diffusion")
DIFFUSION_FACTOR = 4  # the x4 upscaler's native factor
MAX_DIFFUSION_SIDE = 512  # largest source side the diffusion upscaler takes (its output: 2048 px)
DEFAULT_STEPS = 20
MAX_STEPS = 150
DEFAULT_NOISE_LEVEL = 20
DEFAULT_GUIDANCE = 9.0  # the pipeline's own default
NO_MODEL_HINT = (
    f"Set {SETTING_ENV} to sd-x4-upscaler (stabilityai/stable-diffusion-x4-upscaler, about 3.5 GB, needs internet "
    "once), a local folder with a StableDiffusionUpscalePipeline, or 'auto', and restart the app; or upscale with "
    "Lanczos + sharpen."
)


def diffusion_configured() -> bool:
    """True when a diffusion upscaler is configured (``AIGC_UPSCALE_MODEL`` is neither empty nor ``off``)."""
    from aigc_core.models.catalog import model_configured

    return model_configured(TASK)


def upscale_image(image: Any, factor: int, *, tile: int = TILE, sharpen: bool = True) -> Any:
    """``image`` ``factor`` times larger (Lanczos, then unsharp mask), computed in ``tile``-pixel output tiles."""
    from PIL import Image, ImageFilter

    if factor not in FACTORS:
        raise UserInputError(f"Upscaling is by 2 or 4, not {factor}.", hint="Pick 2× or 4×.")
    w, h = image.size
    ow, oh = w * factor, h * factor
    if max(ow, oh) > MAX_OUTPUT_SIDE:
        raise UserInputError(
            f"{w}×{h} at {factor}× would be {ow}×{oh}, over {MAX_OUTPUT_SIDE} px.", hint="Use 2× or a smaller image."
        )
    src = image.convert("RGB")
    out = Image.new("RGB", (ow, oh))
    unsharp = ImageFilter.UnsharpMask(**SHARPEN)
    for top in range(0, oh, tile):
        for left in range(0, ow, tile):
            right, bottom = min(ow, left + tile), min(oh, top + tile)
            # the tile plus a halo, so the unsharp mask sees the neighbouring pixels too
            hl, ht = max(0, left - HALO), max(0, top - HALO)
            hr, hb = min(ow, right + HALO), min(oh, bottom + HALO)
            box = (hl / factor, ht / factor, hr / factor, hb / factor)
            piece = src.resize((hr - hl, hb - ht), Image.Resampling.LANCZOS, box=box)
            if sharpen:
                piece = piece.filter(unsharp)
            out.paste(piece.crop((left - hl, top - ht, right - hl, bottom - ht)), (left, top))
    return out


def _check_factor(factor: int) -> int:
    if factor not in FACTORS:
        raise UserInputError(f"Upscaling is by 2 or 4, not {factor}.", hint="Pick 2× or 4×.")
    return factor


def upscale(
    source: bytes,
    factor: int = 2,
    *,
    sharpen: bool = True,
    save: bool = True,
    method: str = "auto",
    prompt: str = "",
    negative_prompt: str = "",
    steps: int | None = None,
    noise_level: int | None = None,
    guidance: float | None = None,
    seed: int | None = None,
    model: str | None = None,
) -> EditResult:
    """Upscale an uploaded or gallery image 2× or 4× and save it to the gallery (mode ``upscale``).

    ``method``: ``auto`` uses the diffusion upscaler when one is configured (or ``model`` is given), else Lanczos;
    ``lanczos`` (``sharpen`` adds the unsharp mask) or ``diffusion`` force one. The diffusion path takes a text
    ``prompt`` (empty: the source image's own prompt, when it has one), ``steps``, ``noise_level`` (noise added to
    the source first: higher invents more detail), ``guidance`` and ``seed`` (None: a random one, recorded)."""
    from aigc_core.images.img2img import read_source_image
    from aigc_core.images.metadata import read_png_settings

    t0 = time.perf_counter()
    chosen = (method or "auto").strip().lower()
    if chosen not in METHODS:
        raise UserInputError(f"Unknown upscaling method {method!r}.", hint="Use auto, lanczos or diffusion.")
    factor = _check_factor(int(factor))
    if chosen == "auto":
        chosen = "diffusion" if (model or diffusion_configured()) else "lanczos"
    image = read_source_image(source)
    try:
        parent = read_png_settings(source)
    except UserInputError:
        parent = {}
    if chosen == "diffusion":
        return _upscale_diffusion(
            source,
            image,
            parent,
            factor,
            prompt=prompt,
            negative_prompt=negative_prompt,
            steps=steps,
            noise_level=noise_level,
            guidance=guidance,
            seed=seed,
            model=model,
            save=save,
            t0=t0,
        )
    final = upscale_image(image, int(factor), sharpen=sharpen)
    settings: dict[str, Any] = {
        **{k: parent[k] for k in ("prompt", "model", "model_revision", "seed") if k in parent},
        "prompt": str(parent.get("prompt") or "upscaled image"),
        "mode": "upscale",
        "method": "lanczos",
        "upscaler": "lanczos + unsharp mask" if sharpen else "lanczos",
        "factor": int(factor),
        "sharpen": SHARPEN if sharpen else None,
        "tile": TILE,
        "width": final.width,
        "height": final.height,
        "source_hash": sha256_bytes(source),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return _finish(final, settings, save=save, keep=[source], t0=t0)


def _upscale_diffusion(
    source: bytes,
    image: Any,
    parent: dict[str, Any],
    factor: int,
    *,
    prompt: str,
    negative_prompt: str,
    steps: int | None,
    noise_level: int | None,
    guidance: float | None,
    seed: int | None,
    model: str | None,
    save: bool,
    t0: float,
) -> EditResult:
    """The diffusion path of :func:`upscale`: the x4 pipeline, then Lanczos down to 2× when 2× was asked."""
    from PIL import Image

    from aigc_core.images.generate import SEED_MAX, random_seed
    from aigc_core.models.catalog import configured_value
    from aigc_core.models.task_table import OFF

    value = (model or configured_value(TASK)).strip()
    if not value or value.lower() == OFF:
        raise ModelUnavailableError(
            f"No diffusion upscaler is configured ({SETTING_ENV} is empty or off).", hint=NO_MODEL_HINT
        )
    w, h = image.size
    if max(w, h) > MAX_DIFFUSION_SIDE:
        raise UserInputError(
            f"{w}×{h} is too large for the diffusion upscaler (at most {MAX_DIFFUSION_SIDE} px a side).",
            hint=f"Use Lanczos + sharpen, or a smaller image (resize or crop it to {MAX_DIFFUSION_SIDE} px or less).",
        )
    steps = DEFAULT_STEPS if steps is None else int(steps)
    if not 1 <= steps <= MAX_STEPS:
        raise UserInputError(f"Steps must be 1 to {MAX_STEPS}, not {steps}.", hint=f"The default is {DEFAULT_STEPS}.")
    noise = DEFAULT_NOISE_LEVEL if noise_level is None else int(noise_level)
    guidance = DEFAULT_GUIDANCE if guidance is None else float(guidance)
    seed = random_seed() if seed is None else int(seed)
    if not 0 <= seed <= SEED_MAX:
        raise UserInputError(f"The seed must be 0 to {SEED_MAX}, not {seed}.", hint="Pick another seed.")
    used_prompt = (prompt or "").strip() or str(parent.get("prompt") or "")

    import torch

    from aigc_core.images.memory import pipeline_lock
    from aigc_core.images.text2img import generators
    from aigc_core.models.manager import get_manager

    entry = get_manager().load(TASK, value)
    pipe = entry.pipeline
    max_noise = int(getattr(pipe.config, "max_noise_level", 350))
    if not 0 <= noise <= max_noise:
        raise UserInputError(
            f"The noise level must be 0 to {max_noise}, not {noise}.", hint=f"The default is {DEFAULT_NOISE_LEVEL}."
        )
    with pipeline_lock(pipe), torch.inference_mode():
        out = pipe(
            prompt=used_prompt,
            image=image.convert("RGB"),
            num_inference_steps=steps,
            guidance_scale=guidance,
            noise_level=noise,
            negative_prompt=negative_prompt or None,
            generator=generators([seed], entry.device)[0],
            output_type="pil",
        ).images[0]
    four = (w * DIFFUSION_FACTOR, h * DIFFUSION_FACTOR)
    if out.size != four:  # a model of another factor: bring it to exactly 4× first
        out = out.resize(four, Image.Resampling.LANCZOS)
    final = out if factor == DIFFUSION_FACTOR else out.resize((w * factor, h * factor), Image.Resampling.LANCZOS)
    resolved = entry.resolved
    settings: dict[str, Any] = {
        **{f"source_{k}": parent[k] for k in ("model", "model_revision", "seed") if k in parent},
        "prompt": str(parent.get("prompt") or used_prompt or "upscaled image"),
        "mode": "upscale",
        "method": "diffusion",
        "upscaler": "diffusion x4" + ("" if factor == DIFFUSION_FACTOR else ", then lanczos to 2x"),
        "factor": factor,
        "resize": None if factor == DIFFUSION_FACTOR else f"lanczos {four[0]}×{four[1]} → {final.width}×{final.height}",
        "pipeline": type(pipe).__name__,
        "model": resolved.hub_id or entry.key,
        "model_key": entry.key,
        "model_value": value,
        "model_revision": _revision(resolved),
        "user_prompt": used_prompt,
        "negative_prompt": negative_prompt or "",
        "steps": steps,
        "noise_level": noise,
        "guidance": guidance,
        "seed": seed,
        "device": entry.device,
        "dtype": entry.dtype,
        "width": final.width,
        "height": final.height,
        "source_hash": sha256_bytes(source),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return _finish(final, settings, save=save, keep=[source], t0=t0)


def _revision(resolved: Any) -> str:
    """The hub revision, or a fingerprint of a local folder."""
    if resolved.revision:
        return str(resolved.revision)
    local = resolved.local_path
    if local is not None and local.is_dir():
        from aigc_core.images.loader import _folder_revision

        return _folder_revision(local)
    return ""

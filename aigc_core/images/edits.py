"""Reproduce or vary a gallery image made on the Edit tab (inpaint, outpaint, upscale) from its stored settings,
source and mask."""

from __future__ import annotations

from typing import Any

from aigc_core.errors import UserInputError
from aigc_core.images.request import ImageResult

EDIT_MODES = ("inpaint", "outpaint", "upscale")


def rerun(settings: dict[str, Any], *, seed: int | None = None, save: bool = True) -> ImageResult:
    """The edit again with the same source, mask, model, LoRAs and settings; ``seed`` None keeps the image's."""
    from aigc_core.images import lora
    from aigc_core.images.gallery import load_source
    from aigc_core.images.inpaint import inpaint
    from aigc_core.images.outpaint import outpaint
    from aigc_core.images.upscale import upscale

    mode = settings.get("mode")
    if mode not in EDIT_MODES:
        raise UserInputError(f"{mode!r} is not an edit.", hint="Use Reproduce for generated images.")
    source = load_source(str(settings.get("source_hash") or ""))
    model = str(settings.get("model_value") or "") or None
    use_seed = int(settings.get("seed") or 0) if seed is None else int(seed)
    if mode == "upscale" and settings.get("method") == "diffusion":
        r = upscale(
            source,
            int(settings.get("factor") or 4),
            method="diffusion",
            prompt=str(settings.get("user_prompt") or ""),
            negative_prompt=str(settings.get("negative_prompt") or ""),
            steps=int(settings["steps"]) if settings.get("steps") else None,
            noise_level=int(settings["noise_level"]) if settings.get("noise_level") is not None else None,
            guidance=float(settings["guidance"]) if settings.get("guidance") is not None else None,
            seed=use_seed,
            model=model,
            save=save,
        )
    elif mode == "upscale":  # Lanczos (also every upscale recorded before the diffusion upscaler existed)
        if seed is not None:
            raise UserInputError("Upscaling has no seed to vary.", hint="Use Reproduce, or upscale another image.")
        r = upscale(
            source, int(settings.get("factor") or 2), sharpen=bool(settings.get("sharpen")), save=save, method="lanczos"
        )
    elif mode == "inpaint":
        r = inpaint(
            source,
            str(settings.get("user_prompt") or settings.get("prompt") or ""),
            mask=load_source(str(settings.get("mask_hash") or "")),
            model=model,
            seed=use_seed,
            steps=int(settings["steps"]) if settings.get("steps") else None,
            strength=float(settings.get("strength") or 0.85),
            guidance=float(settings["guidance"]) if settings.get("guidance") is not None else None,
            negative_prompt=str(settings.get("negative_prompt") or ""),
            loras=lora.require_files(settings),
            save=save,
        )
    else:
        w, h = (int(v) for v in settings.get("target_aspect") or (1, 1))
        r = outpaint(
            source,
            w,
            h,
            str(settings.get("user_prompt") or ""),
            anchor=str(settings.get("anchor") or "center"),
            model=model,
            seed=use_seed,
            steps=int(settings["steps"]) if settings.get("steps") else None,
            loras=lora.require_files(settings),
            save=save,
        )
    return ImageResult(images=[r.image], settings=dict(r.image.settings), notes=r.notes, elapsed_s=r.elapsed_s)

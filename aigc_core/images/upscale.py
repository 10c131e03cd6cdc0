"""Upscaling 2× and 4× without a diffusion model: Lanczos resampling plus an unsharp mask, run tile by tile so
memory stays bounded by the tile size (each tile reads its filter's support from the whole source, so tiled and
whole-image results agree)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from aigc_core.errors import UserInputError
from aigc_core.images.inpaint import EditResult, _finish
from aigc_core.images.metadata import sha256_bytes

FACTORS = (2, 4)
MAX_OUTPUT_SIDE = 8192
TILE = 512  # output tile side in pixels
SHARPEN: dict[str, Any] = {"radius": 1.2, "percent": 60, "threshold": 2}
HALO = 8  # extra output pixels around a tile for the unsharp mask's support


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


def upscale(source: bytes, factor: int = 2, *, sharpen: bool = True, save: bool = True) -> EditResult:
    """Upscale an uploaded or gallery image 2× or 4× and save it to the gallery (mode ``upscale``)."""
    from aigc_core.images.img2img import read_source_image
    from aigc_core.images.metadata import read_png_settings

    t0 = time.perf_counter()
    image = read_source_image(source)
    try:
        parent = read_png_settings(source)
    except UserInputError:
        parent = {}
    final = upscale_image(image, int(factor), sharpen=sharpen)
    settings: dict[str, Any] = {
        **{k: parent[k] for k in ("prompt", "model", "model_revision", "seed") if k in parent},
        "prompt": str(parent.get("prompt") or "upscaled image"),
        "mode": "upscale",
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

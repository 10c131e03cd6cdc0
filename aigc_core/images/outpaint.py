"""Outpainting: extend an image to a new aspect ratio (pad, mask the new area, inpaint it), the basis of
"every ad size". Without a diffusion model the new area is filled from the image's blurred edges instead."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from aigc_core.errors import ModelUnavailableError, UserInputError
from aigc_core.images.inpaint import EditResult, _finish, png_of, run_masked
from aigc_core.images.loader import LoadedPipeline, load_pipeline
from aigc_core.images.metadata import sha256_bytes

ASPECT_TOLERANCE = 0.03  # closer than this to the target aspect: nothing to extend
OVERLAP = 8  # pixels of the source inside the mask, so the seam is regenerated too
MAX_CANVAS_SIDE = 4096


def pad_to_aspect(image: Any, width: int, height: int, *, anchor: str = "center") -> tuple[Any, Any, tuple[int, int]]:
    """(canvas, mask, offset): ``image`` placed on the smallest canvas of aspect ``width:height`` that holds it;
    the mask is white over the new area (and ``OVERLAP`` px into the source)."""
    from PIL import Image, ImageDraw, ImageFilter

    if width <= 0 or height <= 0:
        raise UserInputError("The target size must be positive.", hint="E.g. 1080×1920.")
    iw, ih = image.size
    target = width / height
    if iw / ih < target:
        cw, ch = round(ih * target), ih
    else:
        cw, ch = iw, round(iw / target)
    if max(cw, ch) > MAX_CANVAS_SIDE:
        raise UserInputError(
            f"Extending {iw}×{ih} to {width}:{height} needs a {cw}×{ch} canvas, over {MAX_CANVAS_SIDE} px.",
            hint="Use a smaller image or a closer aspect ratio.",
        )
    if anchor not in ("center", "start", "end"):
        raise UserInputError(f"Unknown anchor {anchor!r}.", hint="Use center, start or end.")
    ox = {"center": (cw - iw) // 2, "start": 0, "end": cw - iw}[anchor]
    oy = {"center": (ch - ih) // 2, "start": 0, "end": ch - ih}[anchor]
    fill = image.convert("RGB").resize((cw, ch)).filter(ImageFilter.GaussianBlur(max(cw, ch) / 20))
    canvas = fill.copy()
    canvas.paste(image.convert("RGB"), (ox, oy))
    mask = Image.new("L", (cw, ch), 255)
    keep = (ox + OVERLAP if ox else 0, oy + OVERLAP if oy else 0)
    keep_end = (ox + iw - (OVERLAP if ox + iw < cw else 0), oy + ih - (OVERLAP if oy + ih < ch else 0))
    ImageDraw.Draw(mask).rectangle((keep[0], keep[1], keep_end[0] - 1, keep_end[1] - 1), fill=0)
    return canvas, mask, (ox, oy)


def extend_to_aspect(
    image: Any,
    width: int,
    height: int,
    *,
    prompt: str = "",
    seed: int = 0,
    loaded: LoadedPipeline | None = None,
    steps: int | None = None,
) -> tuple[Any, dict[str, Any]]:
    """``image`` extended to the aspect ``width:height`` (then cropped by the layout); (image, what was done).
    Uses the configured diffusion model; without one, the blurred-edge fill (recorded as such)."""
    iw, ih = image.size
    if abs((iw / ih) / (width / height) - 1) <= ASPECT_TOLERANCE:
        return image, {"method": "none (aspect already matches)"}
    canvas, mask, offset = pad_to_aspect(image, width, height)
    if loaded is None:
        try:
            loaded = load_pipeline()
        except ModelUnavailableError as exc:
            return canvas, {"method": "blurred edge fill (no diffusion model)", "why": exc.message, "offset": offset}
    out, settings = run_masked(
        canvas,
        mask,
        prompt or "background, seamless continuation",
        loaded=loaded,
        seed=seed,
        steps=steps,
        strength=1.0,
        feather=OVERLAP,
    )
    return out, {"method": "outpaint", "offset": list(offset), **settings}


def outpaint(
    source: bytes,
    width: int,
    height: int,
    prompt: str = "",
    *,
    anchor: str = "center",
    model: str | None = None,
    loaded: LoadedPipeline | None = None,
    seed: int = 0,
    steps: int | None = None,
    loras: list[tuple[str, float]] | None = None,
    save: bool = True,
) -> EditResult:
    """Extend ``source`` to the aspect ``width:height`` with the diffusion model and save it to the gallery."""
    from aigc_core.images.img2img import read_source_image

    t0 = time.perf_counter()
    image = read_source_image(source)
    iw, ih = image.size
    if abs((iw / ih) / (width / height) - 1) <= ASPECT_TOLERANCE:
        raise UserInputError(
            f"The image is already {iw}×{ih}, the aspect of {width}×{height}.", hint="Pick another aspect ratio."
        )
    canvas, mask, offset = pad_to_aspect(image, width, height, anchor=anchor)
    loaded = loaded or load_pipeline(model)
    final, settings = run_masked(
        canvas,
        mask,
        prompt or "background, seamless continuation",
        loaded=loaded,
        seed=seed,
        steps=steps,
        strength=1.0,
        feather=OVERLAP,
        loras=loras,
    )
    mask_png = png_of(mask)
    settings.update(
        mode="outpaint",
        model_value=model or "",
        user_prompt=prompt,
        target_aspect=[width, height],
        anchor=anchor,
        offset=list(offset),
        source_hash=sha256_bytes(source),
        mask_hash=sha256_bytes(mask_png),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    return _finish(final, settings, save=save, keep=[source], t0=t0)

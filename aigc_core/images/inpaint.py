"""Inpainting: regenerate the masked region of an image. An inpainting checkpoint (9-channel UNet) is used as
such; a standard checkpoint runs the same pipeline as masked image-to-image (latents outside the mask are kept).
Pixels outside the mask are copied back from the source, so only the painted region changes."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aigc_core.errors import UserInputError
from aigc_core.images.loader import LoadedPipeline, load_pipeline
from aigc_core.images.metadata import open_image, png_bytes, sha256_bytes
from aigc_core.images.presets import SIZE_MULTIPLE
from aigc_core.images.request import GeneratedImage
from aigc_core.images.schedulers import DEFAULT, make_scheduler
from aigc_core.images.text2img import generators

MAX_SIDE = 2048


@dataclass
class EditResult:
    """The edited image and its settings (saved to the gallery when asked)."""

    image: GeneratedImage
    notes: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0


def png_of(image: Any) -> bytes:
    """Plain PNG bytes of a PIL image (sources and masks are stored by hash)."""
    import io

    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def read_mask(data: bytes, size: tuple[int, int]) -> Any:
    """An uploaded mask as a binary 'L' image (white = repaint); UserInputError when it is unreadable, of another
    size than the image, or empty."""
    from PIL import Image, UnidentifiedImageError

    try:
        with open_image(data) as img:
            img.load()
            if img.mode in ("RGBA", "LA") and img.getchannel("A").getextrema()[0] < 255:
                mask = img.getchannel("A")  # a painted overlay: its opaque strokes are the mask
            else:
                mask = img.convert("L")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise UserInputError(
            "The mask is not a readable image.", hint="Upload a black-and-white PNG (white = regenerate)."
        ) from exc
    return check_mask(mask, size)


def check_mask(mask: Any, size: tuple[int, int]) -> Any:
    """``mask`` binarised; UserInputError when its size differs from ``size`` or nothing is masked."""
    if mask.size != tuple(size):
        raise UserInputError(
            f"The mask is {mask.width}×{mask.height} pixels but the image is {size[0]}×{size[1]}.",
            hint="Make the mask from the same image (same width and height), or draw a rectangle instead.",
        )
    mask = mask.convert("L").point(lambda v: 255 if v >= 128 else 0)
    if mask.getbbox() is None:
        raise UserInputError("The mask is empty: nothing would change.", hint="Paint (white) the area to regenerate.")
    return mask


def rectangle_mask(size: tuple[int, int], box: tuple[float, float, float, float]) -> Any:
    """A mask with one white rectangle; ``box`` is (left, top, right, bottom) as fractions of the image (0-1)."""
    from PIL import Image, ImageDraw

    w, h = size
    l, t, r, b = (float(v) for v in box)  # noqa: E741
    if not (0 <= l < r <= 1 and 0 <= t < b <= 1):
        raise UserInputError(
            "The rectangle must lie inside the image with left < right and top < bottom.",
            hint="Use fractions from 0 to 1, e.g. left 0.25, top 0.25, right 0.75, bottom 0.75.",
        )
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).rectangle((round(l * w), round(t * h), round(r * w) - 1, round(b * h) - 1), fill=255)
    return mask


def mask_preview(source: bytes, box: tuple[float, float, float, float]) -> bytes:
    """PNG of ``source`` with the rectangle ``box`` (fractions) shaded pink: what inpainting regenerates."""
    from PIL import Image

    from aigc_core.images.img2img import read_source_image

    img = read_source_image(source)
    img.thumbnail((512, 512))
    mask = rectangle_mask(img.size, box).point(lambda v: v // 2)
    return png_of(Image.composite(Image.new("RGB", img.size, (255, 0, 128)), img, mask))


def working_size(width: int, height: int, native: int) -> tuple[int, int]:
    """A size the model runs well at: the source's aspect near the model's native pixel area, multiples of 8."""
    scale = math.sqrt(native * native / (width * height))
    scale = min(scale, MAX_SIDE / max(width, height))
    w = max(SIZE_MULTIPLE, round(width * scale / SIZE_MULTIPLE) * SIZE_MULTIPLE)
    h = max(SIZE_MULTIPLE, round(height * scale / SIZE_MULTIPLE) * SIZE_MULTIPLE)
    return w, h


def pipeline_for(loaded: LoadedPipeline, scheduler: str = DEFAULT) -> Any:
    """An inpainting pipeline sharing ``loaded``'s weights (``from_pipe``), with its own scheduler."""
    from diffusers import AutoPipelineForInpainting

    base = loaded.pipe
    pipe = AutoPipelineForInpainting.from_pipe(base, scheduler=make_scheduler(scheduler, base.scheduler))
    pipe.set_progress_bar_config(disable=True)
    return pipe


def kind_of(loaded: LoadedPipeline) -> str:
    """'inpainting checkpoint' for a 9-channel UNet, else 'masked image-to-image'."""
    return "inpainting checkpoint" if int(loaded.pipe.unet.config.in_channels) == 9 else "masked image-to-image"


def run_masked(
    image: Any,
    mask: Any,
    prompt: str,
    *,
    loaded: LoadedPipeline,
    seed: int = 0,
    steps: int | None = None,
    strength: float = 0.85,
    guidance: float | None = None,
    negative_prompt: str = "",
    feather: int = 4,
    loras: list[tuple[str, float]] | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Inpaint ``image`` (RGB) where ``mask`` is white; the result has the source's size and keeps every pixel
    outside the (feathered) mask. Returns (image, settings)."""
    from PIL import Image, ImageFilter

    if not 0.0 < strength <= 1.0:
        raise UserInputError(f"Strength must be above 0 and at most 1, not {strength}.", hint="0.85 works well.")
    mask = check_mask(mask, image.size)
    default_steps = 4 if loaded.is_turbo else 25
    steps = int(steps or default_steps)
    if int(steps * strength) < 1:
        raise UserInputError(
            f"{steps} step(s) at strength {strength} leaves no denoising step to run.",
            hint=f"Use at least {math.ceil(1 / strength)} steps.",
        )
    guidance = float(loaded.default_guidance if guidance is None else guidance)
    w, h = working_size(image.width, image.height, loaded.native)
    src = image.convert("RGB").resize((w, h), Image.Resampling.LANCZOS)
    small_mask = mask.resize((w, h), Image.Resampling.NEAREST)
    from aigc_core.images import lora

    with loaded.lock:
        lora_state = lora.apply(loaded, loras)
        pipe = pipeline_for(loaded)
        out = pipe(
            prompt=prompt,
            negative_prompt=negative_prompt or None,
            image=src,
            mask_image=small_mask,
            height=h,
            width=w,
            strength=strength,
            num_inference_steps=steps,
            guidance_scale=guidance,
            generator=generators([seed], loaded.device),
            output_type="pil",
        ).images[0]
    result = out.resize(image.size, Image.Resampling.LANCZOS)
    soft = mask.filter(ImageFilter.GaussianBlur(feather)) if feather > 0 else mask
    soft = Image.composite(mask, soft, mask)  # fully regenerated inside, blended only across the edge outside
    final = Image.composite(result, image.convert("RGB"), soft)
    settings = {
        "prompt": prompt,
        "user_prompt": prompt,
        "negative_prompt": negative_prompt,
        "model": loaded.name,
        "model_revision": loaded.revision,
        "inpaint_kind": kind_of(loaded),
        "steps": steps,
        "strength": strength,
        "guidance": guidance,
        "seed": int(seed),
        "width": image.width,
        "height": image.height,
        "working_size": [w, h],
        "feather": feather,
        "device": loaded.device,
        "dtype": loaded.dtype,
        "loras": lora_state,
    }
    return final, settings


def inpaint(
    source: bytes,
    prompt: str,
    *,
    mask: bytes | None = None,
    rectangle: tuple[float, float, float, float] | None = None,
    model: str | None = None,
    loaded: LoadedPipeline | None = None,
    seed: int = 0,
    steps: int | None = None,
    strength: float = 0.85,
    guidance: float | None = None,
    negative_prompt: str = "",
    loras: list[tuple[str, float]] | None = None,
    save: bool = True,
) -> EditResult:
    """Regenerate the masked region of ``source`` (PNG/JPEG/WebP bytes); the mask is uploaded (same size as the
    image) or a rectangle. Saved to the gallery (mode ``inpaint``) with the source and mask kept by hash."""
    from aigc_core.images.img2img import read_source_image

    t0 = time.perf_counter()
    prompt = (prompt or "").strip()
    if not prompt:
        raise UserInputError("The prompt is empty.", hint="Describe what should appear in the masked area.")
    image = read_source_image(source)
    if mask is not None:
        mask_img = read_mask(mask, image.size)
    elif rectangle is not None:
        mask_img = check_mask(rectangle_mask(image.size, rectangle), image.size)
    else:
        raise UserInputError("No mask is given.", hint="Upload a mask or set a rectangle.")
    loaded = loaded or load_pipeline(model)
    final, settings = run_masked(
        image,
        mask_img,
        prompt,
        loaded=loaded,
        seed=seed,
        steps=steps,
        strength=strength,
        guidance=guidance,
        negative_prompt=negative_prompt,
        loras=loras,
    )
    mask_png = png_of(mask_img)
    settings.update(
        mode="inpaint",
        model_value=model or "",
        source_hash=sha256_bytes(source),
        mask_hash=sha256_bytes(mask_png),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    return _finish(final, settings, save=save, keep=[source, mask_png], t0=t0)


def _finish(final: Any, settings: dict[str, Any], *, save: bool, keep: list[bytes], t0: float) -> EditResult:
    """PNG with settings, optionally saved to the gallery with its inputs kept by hash."""
    from aigc_core.images import gallery

    png = png_bytes(final, settings)
    item = GeneratedImage(image=final, seed=int(settings.get("seed") or 0), settings=settings, png=png)
    if save:
        for data in keep:
            gallery.save_source(data)
        item.generation_id, item.path = gallery.save_png(png, settings)
    return EditResult(item, elapsed_s=round(time.perf_counter() - t0, 2))

"""Image-to-image: reading the uploaded source safely, and the forward pass from the same weights."""

from __future__ import annotations

from typing import Any

from aigc_core.errors import UserInputError
from aigc_core.images.loader import LoadedPipeline
from aigc_core.images.metadata import open_image, unreadable_image_message
from aigc_core.images.request import Plan
from aigc_core.images.schedulers import make_scheduler
from aigc_core.images.text2img import StepCallback, generators
from aigc_core.settings import get_settings

MAX_SOURCE_PIXELS = 4096 * 4096


def read_source_image(data: bytes) -> Any:
    """The upload as an RGB PIL image; UserInputError when it is empty, too big, unreadable or not PNG/JPEG/WebP."""
    from PIL import Image, UnidentifiedImageError

    limit = get_settings().max_upload_bytes
    if not data:
        raise UserInputError("The uploaded image is empty.", hint="Upload a PNG, JPEG or WebP sketch or photo.")
    if len(data) > limit:
        raise UserInputError(
            f"The uploaded image is {len(data) / 2**20:.1f} MB; the limit is {limit / 2**20:.0f} MB.",
            hint="Upload a smaller file (the image is resized to the output size anyway), or raise AIGC_MAX_UPLOAD_MB.",
        )
    try:
        with open_image(data) as img:
            w, h = img.size
            if w * h > MAX_SOURCE_PIXELS:
                raise UserInputError(
                    f"The uploaded image is {w}×{h} pixels; the limit is {MAX_SOURCE_PIXELS // 10**6} megapixels.",
                    hint="Downscale it first (4096×4096 at most).",
                )
            img.load()
            return img.convert("RGB")
    except UserInputError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise UserInputError(
            unreadable_image_message(data), hint="Upload a PNG, JPEG or WebP file (convert other formats first)."
        ) from exc


def pipeline_for(loaded: LoadedPipeline, scheduler: str) -> Any:
    """An image-to-image pipeline sharing ``loaded``'s weights (``from_pipe``), with its own scheduler."""
    from diffusers import AutoPipelineForImage2Image

    base = loaded.pipe
    pipe = AutoPipelineForImage2Image.from_pipe(base, scheduler=make_scheduler(scheduler, base.scheduler))
    pipe.set_progress_bar_config(disable=True)
    return pipe


def forward(pipe: Any, plan: Plan, seeds: list[int], device: str, callback: StepCallback) -> list[Any]:
    """Run image-to-image for ``seeds`` (one image each) from ``plan.init_image``; PIL images."""
    out = pipe(
        prompt=plan.prompt,
        negative_prompt=plan.negative_prompt or None,
        image=plan.init_image,
        strength=plan.strength,
        num_inference_steps=plan.steps,
        guidance_scale=plan.guidance,
        num_images_per_prompt=len(seeds),
        generator=generators(seeds, device),
        callback_on_step_end=callback,
        output_type="pil",
    )
    return list(out.images)

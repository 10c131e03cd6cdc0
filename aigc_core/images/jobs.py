"""The ``images.batch`` job kind: large batches run in the background worker (resource ``gpu``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from aigc_core.errors import UserInputError
from aigc_core.images.request import MAX_IMAGES, ImageRequest
from aigc_core.jobs import job_kind
from aigc_core.jobs.context import JobContext
from aigc_core.users.roles import Actor

BATCH_KIND = "images.batch"


class ImageBatchParams(BaseModel):
    """Parameters of an ``images.batch`` job (an ImageRequest; the source image travels as a stored file)."""

    prompt: str
    negative_prompt: str = ""
    model: str | None = None
    style: str | None = None
    style_prompt: str | None = None
    style_negative: str | None = None
    aspect: str | None = None
    width: int | None = None
    height: int | None = None
    steps: int | None = None
    guidance: float | None = None
    scheduler: str = "Model default"
    seed: int | None = None
    num_images: int = Field(default=8, ge=1, le=MAX_IMAGES)
    init_image_path: str | None = None
    strength: float = 0.5
    brand_kit: str | None = None
    loras: list[tuple[str, float]] = Field(default_factory=list)

    def to_request(self) -> ImageRequest:
        """The ImageRequest these parameters describe (reads the source image file)."""
        data = self.model_dump()
        path = data.pop("init_image_path")
        init = None
        if path:
            from aigc_core.storage import folder, inside

            p = inside(folder("uploads"), path)  # only a source stored by submit_batch, never any server file
            if not p.is_file():
                raise UserInputError("The job's source image file is gone.", hint="Start the batch again.")
            init = p.read_bytes()
        data["loras"] = [(str(n), float(w)) for n, w in data.get("loras") or []]
        return ImageRequest(**data, init_image=init, save=True)


@job_kind(BATCH_KIND, params=ImageBatchParams, resource="gpu", resumable=False)
def run_batch(ctx: JobContext, params: ImageBatchParams) -> dict[str, Any]:
    """Generate the batch, saving each image to the gallery; progress per denoising step, cancel between steps."""
    from aigc_core.images.generate import generate_images

    if isinstance(params, dict):
        params = ImageBatchParams(**params)
    request = params.to_request()
    ctx.log(f"{request.num_images} image(s): {request.prompt[:80]!r}")

    def on_step(done: int, total: int) -> None:
        ctx.report(done / max(total, 1), f"step {done} of {total}")

    result = generate_images(request, on_step=on_step, should_stop=ctx.should_stop, job_id=getattr(ctx, "job_id", None))
    for note in result.notes + result.memory_actions:
        ctx.log(note)
    ctx.report(1.0, f"{len(result.images)} image(s) saved" + (" (cancelled)" if result.cancelled else ""))
    return {
        "generation_ids": [g.generation_id for g in result.images],
        "seeds": result.seeds,
        "cancelled": result.cancelled,
        "notes": result.notes,
        "elapsed_s": result.elapsed_s,
    }


def submit_batch(request: ImageRequest, *, actor: Actor | None = None) -> str:
    """Queue ``request`` as an ``images.batch`` job (the source image is stored first); the job id."""
    from aigc_core import jobs
    from aigc_core.images.metadata import sha256_bytes
    from aigc_core.storage import atomic_write_bytes, folder

    path = None
    if request.init_image is not None:
        path = folder("uploads") / f"img2img_{sha256_bytes(request.init_image)[:16]}.bin"
        if not path.exists():
            atomic_write_bytes(path, request.init_image)
    fields = {k: getattr(request, k) for k in ImageBatchParams.model_fields if hasattr(request, k)}
    params = ImageBatchParams(**fields, init_image_path=str(path) if path else None)
    return jobs.submit(BATCH_KIND, params.model_dump(), actor=actor)

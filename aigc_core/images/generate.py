"""``generate_images``: preprocess (validate, presets, sizes, seeds) -> forward (per-step progress, cancel,
out-of-memory retry with smaller batches) -> postprocess (PNG with settings, gallery rows)."""

from __future__ import annotations

import logging
import math
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aigc_core.errors import AigcError, UserInputError
from aigc_core.images import img2img, lora, text2img
from aigc_core.images.brand import check_prompt
from aigc_core.images.loader import LoadedPipeline, load_pipeline
from aigc_core.images.memory import prepare_memory
from aigc_core.images.metadata import png_bytes, sha256_bytes
from aigc_core.images.presets import aspect_size, expand_style, join_prompt, snap_size
from aigc_core.images.request import MAX_IMAGES, GeneratedImage, ImageRequest, ImageResult, Plan
from aigc_core.images.schedulers import DEFAULT, SCHEDULERS
from aigc_core.storage import file_sha256

log = logging.getLogger(__name__)
MAX_PROMPT_CHARS = 2000
MAX_STEPS = 150
SEED_MAX = 2**32 - 1

OnStep = Callable[[int, int], None]
ShouldStop = Callable[[], bool]


def random_seed() -> int:
    """A fresh seed (recorded with the image, so a random image can still be reproduced)."""
    return secrets.randbelow(2**31)


def _default_steps(loaded: LoadedPipeline, mode: str, strength: float) -> int:
    if loaded.is_turbo:
        if mode == "image-to-image":  # run at least one denoising step after strength
            return min(4, max(2, math.ceil(1 / max(strength, 0.01))))
        return 1
    return 25


def preprocess(request: ImageRequest, loaded: LoadedPipeline) -> Plan:
    """Validate ``request`` against ``loaded`` and resolve every default; UserInputError on bad values."""
    prompt = (request.prompt or "").strip()
    if not prompt:
        raise UserInputError("The prompt is empty.", hint="Describe the image, e.g. “a glass water bottle on moss”.")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise UserInputError(
            f"The prompt is {len(prompt)} characters; the limit is {MAX_PROMPT_CHARS}.",
            hint="Shorten it: the text encoder only reads about 75 words anyway.",
        )
    preset_prompt, preset_negative = expand_style(request.style)
    style_prompt = preset_prompt if request.style_prompt is None else request.style_prompt
    style_negative = preset_negative if request.style_negative is None else request.style_negative
    full_prompt = join_prompt(prompt, style_prompt)
    check_prompt(full_prompt, request.brand_kit)
    negative = join_prompt(request.negative_prompt or "", style_negative)

    n = int(request.num_images)
    if not 1 <= n <= MAX_IMAGES:
        raise UserInputError(f"Images per prompt must be 1 to {MAX_IMAGES}, not {n}.", hint="Lower the count.")
    mode = "image-to-image" if request.init_image is not None else "text-to-image"
    strength: float | None = None
    init = None
    source_hash = ""
    notes: list[str] = []
    if mode == "image-to-image":
        strength = float(request.strength)
        if not 0.0 < strength <= 1.0:
            raise UserInputError(
                f"Strength must be above 0 and at most 1, not {strength}.",
                hint="0.3 keeps the source close, 0.8 changes it a lot.",
            )
        init = img2img.read_source_image(request.init_image)  # type: ignore[arg-type]
        source_hash = sha256_bytes(request.init_image)  # type: ignore[arg-type]

    if request.width is not None and request.height is not None:
        w, h = request.width, request.height
    elif request.aspect:
        w, h = aspect_size(request.aspect, loaded.native)
    elif init is not None:  # keep the source's aspect ratio at the model's native pixel area
        r = init.width / init.height
        w, h = round(loaded.native * math.sqrt(r)), round(loaded.native / math.sqrt(r))
    else:
        w = h = loaded.native
    width, height, size_notes = snap_size(w, h, native=loaded.native)
    notes += size_notes
    if init is not None and init.size != (width, height):
        from PIL import Image

        notes.append(f"The source image ({init.width}×{init.height}) was resized to {width}×{height}.")
        init = init.resize((width, height), Image.Resampling.LANCZOS)

    steps = request.steps if request.steps is not None else _default_steps(loaded, mode, strength or 1.0)
    if not 1 <= int(steps) <= MAX_STEPS:
        raise UserInputError(f"Steps must be 1 to {MAX_STEPS}, not {steps}.", hint="Turbo: 1–4; others: 20–40.")
    steps = int(steps)
    guidance = float(request.guidance if request.guidance is not None else loaded.default_guidance)
    if not 0.0 <= guidance <= 30.0:
        raise UserInputError(f"Guidance must be 0 to 30, not {guidance}.", hint="Turbo: 0; others: 5–9.")
    if mode == "image-to-image" and int(steps * (strength or 0)) < 1:
        raise UserInputError(
            f"{steps} step(s) at strength {strength} leaves no denoising step to run (steps × strength < 1).",
            hint=f"Use at least {math.ceil(1 / strength)} steps, or a higher strength.",  # type: ignore[operator]
        )
    scheduler = request.scheduler or DEFAULT
    if scheduler != DEFAULT and scheduler not in SCHEDULERS:
        raise UserInputError(f"Unknown scheduler {scheduler!r}.", hint=f"Pick one of {', '.join(SCHEDULERS)}.")
    if request.seed is None:
        seed = random_seed()
    else:
        try:
            seed = int(request.seed)
        except (TypeError, ValueError):
            raise UserInputError(f"The seed must be a whole number, not {request.seed!r}.", hint="E.g. 42.") from None
        if not 0 <= seed <= SEED_MAX - MAX_IMAGES:
            raise UserInputError(f"The seed must be 0 to {SEED_MAX - MAX_IMAGES}.", hint="E.g. 42.")
    seeds = [seed + i for i in range(n)]

    settings = {
        "mode": mode,
        "prompt": full_prompt,
        "user_prompt": prompt,
        "negative_prompt": negative,
        "user_negative_prompt": (request.negative_prompt or "").strip(),
        "style": request.style or "",
        "style_prompt": style_prompt or "",
        "style_negative": style_negative or "",
        "aspect": request.aspect or "",
        "model": loaded.name,
        "model_value": request.model or "",
        "model_revision": loaded.revision,
        "scheduler": scheduler,
        "steps": steps,
        "guidance": guidance,
        "width": width,
        "height": height,
        "strength": strength,
        "source_hash": source_hash,
        "num_images": n,
        "device": loaded.device,
        "dtype": loaded.dtype,
        "loras": [{"name": n, "strength": s, "sha256": file_sha256(p)} for n, s, p in lora.validate(request.loras)],
    }
    return Plan(
        mode=mode,
        prompt=full_prompt,
        negative_prompt=negative,
        width=width,
        height=height,
        steps=steps,
        guidance=guidance,
        scheduler=scheduler,
        seeds=seeds,
        strength=strength,
        init_image=init,
        source_hash=source_hash,
        notes=notes,
        settings=settings,
    )


def _is_oom(exc: BaseException) -> bool:
    import torch

    return isinstance(exc, torch.OutOfMemoryError)


def _empty_cache() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def forward(
    plan: Plan,
    loaded: LoadedPipeline,
    *,
    on_step: OnStep | None = None,
    should_stop: ShouldStop | None = None,
    notes: list[str] | None = None,
) -> tuple[list[tuple[int, Any, list[int]]], list[int], bool]:
    """Run the pipeline over ``plan.seeds`` in batches, halving the batch on out-of-memory, holding the pipeline's
    lock throughout (every batch runs with the same memory options).

    Returns ((seed, image, seeds of its batch) triples, batch sizes run, cancelled).
    """
    with loaded.lock:
        return _forward(plan, loaded, on_step=on_step, should_stop=should_stop, notes=notes)


def _forward(
    plan: Plan,
    loaded: LoadedPipeline,
    *,
    on_step: OnStep | None,
    should_stop: ShouldStop | None,
    notes: list[str] | None,
) -> tuple[list[tuple[int, Any, list[int]]], list[int], bool]:
    module = img2img if plan.mode == "image-to-image" else text2img
    pipe = module.pipeline_for(loaded, plan.scheduler)
    per_image = max(1, plan.effective_steps)
    total = per_image * len(plan.seeds)
    done_images = 0
    batch = len(plan.seeds)
    state = {"stopped": False}
    results: list[tuple[int, Any, list[int]]] = []
    batches: list[int] = []
    notes = notes if notes is not None else []

    def make_callback(n_in_batch: int) -> text2img.StepCallback:
        def callback(p: Any, step: int, _t: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
            if on_step is not None:
                on_step(min(total, done_images * per_image + (step + 1) * n_in_batch), total)
            if should_stop is not None and should_stop():
                state["stopped"] = True
                p._interrupt = True
            return kwargs

        return callback

    i = 0
    while i < len(plan.seeds):
        if should_stop is not None and should_stop():
            state["stopped"] = True
            break
        chunk = plan.seeds[i : i + batch]
        try:
            images = module.forward(pipe, plan, chunk, loaded.device, make_callback(len(chunk)))
        except Exception as exc:
            if not _is_oom(exc):
                raise
            _empty_cache()
            if batch == 1:
                raise AigcError(
                    f"Out of GPU memory even for one {plan.width}×{plan.height} image.",
                    hint="Use a smaller size, close other GPU programs (or unload models on the Models & jobs "
                    "page), or set AIGC_DEVICE=cpu.",
                ) from exc
            new = max(1, batch // 2)
            notes.append(f"Ran out of GPU memory with {batch} images at once; retried {new} at a time.")
            log.warning("OOM at batch %d, retrying with %d", batch, new)
            batch = new
            continue
        if state["stopped"]:  # the interrupted batch decoded half-denoised latents: drop it
            break
        results += [(seed, image, list(chunk)) for seed, image in zip(chunk, images, strict=True)]
        batches.append(len(chunk))
        done_images += len(chunk)
        i += len(chunk)
    return results, batches, state["stopped"]


def postprocess(
    plan: Plan,
    loaded: LoadedPipeline,
    pairs: list[tuple[int, Any, list[int]]],
    *,
    save: bool,
    source_bytes: bytes | None = None,
    job_id: str | None = None,
) -> list[GeneratedImage]:
    """PNG bytes with settings for each image; saved to the gallery when ``save``."""
    from aigc_core.images import gallery

    created = datetime.now(UTC).isoformat(timespec="seconds")
    if save and source_bytes is not None:
        gallery.save_source(source_bytes)
    out: list[GeneratedImage] = []
    for seed, image, batch_seeds in pairs:
        # Batched kernels differ from single ones in the last float bits: reproduce reruns the same batch.
        settings = {**plan.settings, "seed": int(seed), "batch_seeds": batch_seeds, "created_at": created}
        png = png_bytes(image, settings)
        item = GeneratedImage(image=image, seed=int(seed), settings=settings, png=png)
        if save:
            item.generation_id, item.path = gallery.save_png(png, settings, job_id=job_id)
        out.append(item)
    return out


def generate_images(
    request: ImageRequest,
    *,
    on_step: OnStep | None = None,
    should_stop: ShouldStop | None = None,
    loaded: LoadedPipeline | None = None,
    job_id: str | None = None,
) -> ImageResult:
    """Text-to-image (or image-to-image when ``request.init_image`` is set) with per-step progress and cancel."""
    t0 = time.perf_counter()
    loaded = loaded or load_pipeline(request.model)
    plan = preprocess(request, loaded)
    n = len(plan.seeds)
    notes = list(plan.notes)
    with loaded.lock:  # the memory options and LoRAs this request needs stay set until its last batch has run
        lora.apply(loaded, request.loras)
        memory = prepare_memory(loaded, plan.width, plan.height, n, plan.guidance)
        pairs, batches, cancelled = forward(plan, loaded, on_step=on_step, should_stop=should_stop, notes=notes)
    if cancelled:
        notes.append(f"Cancelled: {len(pairs)} of {n} image(s) finished and were kept.")
    images = postprocess(plan, loaded, pairs, save=request.save, source_bytes=request.init_image, job_id=job_id)
    return ImageResult(
        images=images,
        settings={**plan.settings, "seed": plan.seeds[0]},
        notes=notes,
        memory_actions=memory,
        batches=batches,
        cancelled=cancelled,
        elapsed_s=round(time.perf_counter() - t0, 2),
    )

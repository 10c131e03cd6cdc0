"""Text-to-image forward pass: a per-request pipeline view (own scheduler and interrupt flag, shared weights)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aigc_core.images.loader import LoadedPipeline
from aigc_core.images.request import Plan
from aigc_core.images.schedulers import make_scheduler

StepCallback = Callable[[Any, int, Any, dict[str, Any]], dict[str, Any]]


def pipeline_for(loaded: LoadedPipeline, scheduler: str) -> Any:
    """A text-to-image pipeline sharing ``loaded``'s weights, with its own scheduler instance."""
    from diffusers import AutoPipelineForText2Image

    base = loaded.pipe
    pipe = AutoPipelineForText2Image.from_pipe(base, scheduler=make_scheduler(scheduler, base.scheduler))
    pipe.set_progress_bar_config(disable=True)
    return pipe


def generators(seeds: list[int], device: str) -> list[Any]:
    """One seeded ``torch.Generator`` per image, so image i reproduces alone with its own seed."""
    import torch

    gen_device = "cuda" if device.startswith("cuda") else "cpu"
    return [torch.Generator(device=gen_device).manual_seed(int(s)) for s in seeds]


def forward(pipe: Any, plan: Plan, seeds: list[int], device: str, callback: StepCallback) -> list[Any]:
    """Run the pipeline for ``seeds`` (one image each); PIL images."""
    out = pipe(
        prompt=plan.prompt,
        negative_prompt=plan.negative_prompt or None,
        height=plan.height,
        width=plan.width,
        num_inference_steps=plan.steps,
        guidance_scale=plan.guidance,
        num_images_per_prompt=len(seeds),
        generator=generators(seeds, device),
        callback_on_step_end=callback,
        output_type="pil",
    )
    return list(out.images)

"""Scheduler choice by friendly name, built from the model's own scheduler config (``from_config``)."""

from __future__ import annotations

from typing import Any

from aigc_core.errors import UserInputError

DEFAULT = "Model default"
SCHEDULERS: dict[str, tuple[str, dict[str, Any]]] = {
    "Euler": ("EulerDiscreteScheduler", {}),
    "Euler a": ("EulerAncestralDiscreteScheduler", {}),
    "DPM++ 2M": ("DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver++", "solver_order": 2}),
    "DDIM": ("DDIMScheduler", {}),
    "LCM": ("LCMScheduler", {}),
}


def scheduler_names(*, lcm_suitable: bool) -> list[str]:
    """Names offered for a model; LCM only for latent-consistency (or turbo) models it suits."""
    return [DEFAULT, *(n for n in SCHEDULERS if n != "LCM" or lcm_suitable)]


def make_scheduler(name: str, base: Any) -> Any:
    """A scheduler ``name`` built from the config of ``base`` (the pipeline's current scheduler)."""
    if not name or name == DEFAULT:
        return base
    if name not in SCHEDULERS:
        raise UserInputError(f"Unknown scheduler {name!r}.", hint=f"Pick one of {', '.join([DEFAULT, *SCHEDULERS])}.")
    import diffusers

    cls_name, extra = SCHEDULERS[name]
    return getattr(diffusers, cls_name).from_config(base.config, **extra)

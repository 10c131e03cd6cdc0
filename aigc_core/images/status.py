"""What the Images page shows about the model: loaded, or why not and how to point at one."""

from __future__ import annotations

from dataclasses import dataclass

from aigc_core.errors import ModelUnavailableError
from aigc_core.images.loader import LoadedPipeline, load_pipeline, model_value
from aigc_core.images.schedulers import scheduler_names


@dataclass
class ModelStatus:
    """The page's model line: the loaded pipeline, or the reason there is none."""

    value: str
    loaded: LoadedPipeline | None = None
    reason: str = ""
    hint: str = ""

    @property
    def available(self) -> bool:
        """True when images can be generated."""
        return self.loaded is not None

    @property
    def schedulers(self) -> list[str]:
        """Schedulers offered for this model."""
        lcm = bool(self.loaded and self.loaded.is_lcm)
        return scheduler_names(lcm_suitable=lcm)

    def line(self) -> str:
        """One line for the page."""
        if self.loaded is None:
            return f"No image model available ({self.value})."
        opt = self.loaded.optimize or {}
        extra = ""
        if opt.get("applied"):
            extra = " · speed-ups: " + ", ".join(opt["applied"])
            if opt.get("compile_s"):
                extra += f" (compiled in {opt['compile_s']:.0f} s at load)"
        return self.loaded.describe() + extra


def model_status(value: str | None = None) -> ModelStatus:
    """Load (once per process) the configured model; a ModelStatus with the reason when it is unavailable."""
    v = model_value(value)
    try:
        return ModelStatus(v, loaded=load_pipeline(v))
    except ModelUnavailableError as exc:
        return ModelStatus(v, reason=exc.message, hint=exc.hint or "")

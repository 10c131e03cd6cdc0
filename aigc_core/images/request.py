"""What a user asks for (ImageRequest), what comes back (ImageResult), and the validated plan in between."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_IMAGES = 16  # per request
BATCH_JOB_THRESHOLD = 4  # more images than this go through the job runner (images.batch)


@dataclass
class ImageRequest:
    """One generation request. ``None`` fields take the model's defaults (size, steps, guidance)."""

    prompt: str
    negative_prompt: str = ""
    model: str | None = None  # model value (catalog key, hub id, folder, checkpoint); None = the setting
    style: str | None = None  # style preset name (a label; its fragments are below)
    style_prompt: str | None = None  # fragment appended to the prompt; None = the preset's own text
    style_negative: str | None = None  # fragment appended to the negative prompt; None = the preset's own text
    aspect: str | None = None  # aspect preset name; used when width/height are None
    width: int | None = None
    height: int | None = None
    steps: int | None = None
    guidance: float | None = None
    scheduler: str = "Model default"
    seed: int | None = None  # None = random (the seed used is always recorded)
    num_images: int = 1
    init_image: bytes | None = None  # image-to-image source (uploaded file bytes)
    strength: float = 0.5
    brand_kit: str | None = None  # kit whose banned words apply; None = every kit's
    save: bool = True  # write PNGs and gallery rows
    loras: list[tuple[str, float]] = field(default_factory=list)  # LoRA styles: (file name, strength)


@dataclass
class Plan:
    """A validated request: every value the pipeline gets, and notes on what was changed."""

    mode: str  # text-to-image | image-to-image
    prompt: str
    negative_prompt: str
    width: int
    height: int
    steps: int
    guidance: float
    scheduler: str
    seeds: list[int]
    strength: float | None
    init_image: Any = None  # PIL image resized to (width, height)
    source_hash: str = ""
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)  # common settings of every image

    @property
    def effective_steps(self) -> int:
        """Denoising steps actually run per image (image-to-image runs ``steps × strength``)."""
        if self.mode == "image-to-image" and self.strength is not None:
            return min(int(self.steps * self.strength), self.steps)
        return self.steps


@dataclass
class GeneratedImage:
    """One output image with its own seed, settings and where it was saved."""

    image: Any  # PIL.Image.Image
    seed: int
    settings: dict[str, Any]
    png: bytes = b""
    path: str | None = None
    generation_id: str | None = None


@dataclass
class ImageResult:
    """Images of one request, the settings they share, and what happened on the way."""

    images: list[GeneratedImage]
    settings: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    memory_actions: list[str] = field(default_factory=list)
    batches: list[int] = field(default_factory=list)
    cancelled: bool = False
    elapsed_s: float = 0.0

    @property
    def seeds(self) -> list[int]:
        """Seed of each image (image i of a request with seed s uses s + i)."""
        return [g.seed for g in self.images]

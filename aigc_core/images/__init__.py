"""Images: text-to-image and image-to-image with presets, seeds, a gallery that keeps every setting."""

from aigc_core.images.generate import generate_images, random_seed
from aigc_core.images.loader import LoadedPipeline, load_pipeline, unload_pipelines
from aigc_core.images.memory import optimize_pipeline
from aigc_core.images.request import BATCH_JOB_THRESHOLD, GeneratedImage, ImageRequest, ImageResult

__all__ = [
    "BATCH_JOB_THRESHOLD",
    "GeneratedImage",
    "ImageRequest",
    "ImageResult",
    "LoadedPipeline",
    "generate_images",
    "load_pipeline",
    "optimize_pipeline",
    "random_seed",
    "unload_pipelines",
]

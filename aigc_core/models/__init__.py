"""The model layer: task table (the tasks and the models known for each), catalog (how a setting resolves),
manager (loads and caches them), GGUF conversion cache. Importing this package is cheap: torch, transformers
and diffusers load lazily."""

from aigc_core.models.catalog import ResolvedModel, catalog_rows, resolve
from aigc_core.models.task_table import TASKS, ModelSpec, normalize_task, specs

__all__ = ["TASKS", "ModelSpec", "ResolvedModel", "catalog_rows", "normalize_task", "resolve", "specs"]

"""The model layer: catalog (what models exist and how a setting resolves), manager (loads and caches them),
GGUF conversion cache. Importing this package is cheap: torch/transformers/diffusers load lazily."""

from aigc_core.models.catalog import TASKS, ModelSpec, ResolvedModel, catalog_rows, normalize_task, resolve, specs

__all__ = ["TASKS", "ModelSpec", "ResolvedModel", "catalog_rows", "normalize_task", "resolve", "specs"]

"""Job kinds: a decorator registers a function as a named kind with its params model and resource class.

Kinds live in feature modules. The runner imports every module in :data:`KIND_MODULES` the first time a kind
is looked up (in the app and in each job process), so a feature registers a kind by decorating its function
with :func:`job_kind` and appending its module to ``KIND_MODULES``.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from aigc_core.errors import UserInputError

log = logging.getLogger(__name__)

Resource = Literal["cpu", "gpu"]

# Modules that register job kinds when imported. Features append theirs here.
KIND_MODULES: list[str] = [
    "aigc_core.jobs.demo",
    "aigc_core.finetune.jobs",
    "aigc_core.finetune.dpo",
    "aigc_core.finetune.gguf_export",
    "aigc_core.images.jobs",
    "aigc_core.images.creatives_batch",
    "aigc_core.monitor.jobs",
    "aigc_core.monitor.retrain",
    "aigc_core.copy.batch",
    "aigc_core.support.jobs",
]


@dataclass(frozen=True)
class JobKind:
    """A registered kind of job."""

    name: str
    fn: Callable[..., dict[str, Any]]
    params: type[BaseModel] | None
    resource: Resource
    resumable: bool
    description: str


_kinds: dict[str, JobKind] = {}
_import_errors: dict[str, str] = {}
_loaded = False
_lock = threading.RLock()


def job_kind(
    name: str,
    *,
    params: type[BaseModel] | None = None,
    resource: Resource = "cpu",
    resumable: bool = False,
) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
    """Register ``fn(ctx, params) -> dict`` as the job kind ``name`` (returns ``fn`` unchanged)."""
    if resource not in ("cpu", "gpu"):
        raise ValueError(f"resource must be 'cpu' or 'gpu', not {resource!r}")

    def decorate(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        doc = (fn.__doc__ or "").strip().splitlines()
        kind = JobKind(name, fn, params, resource, resumable, doc[0] if doc else "")
        with _lock:
            old = _kinds.get(name)
            if old is not None and (old.fn.__module__, old.fn.__qualname__) != (fn.__module__, fn.__qualname__):
                where = f"{old.fn.__module__}.{old.fn.__qualname__}"
                raise ValueError(f"job kind {name!r} is already registered by {where}")
            _kinds[name] = kind
        return fn

    return decorate


def load_kind_modules() -> dict[str, str]:
    """Import every module of :data:`KIND_MODULES` once; returns the modules that failed with their error."""
    global _loaded
    with _lock:
        if _loaded:
            return dict(_import_errors)
        for module in list(KIND_MODULES):
            try:
                importlib.import_module(module)
            except Exception as exc:  # one broken feature must not hide the others' kinds
                _import_errors[module] = f"{type(exc).__name__}: {exc}"
                log.warning("job kinds of %s are unavailable: %s", module, exc)
        _loaded = True
        return dict(_import_errors)


def kinds() -> dict[str, JobKind]:
    """Every registered kind by name (after importing the kind modules)."""
    load_kind_modules()
    with _lock:
        return dict(_kinds)


def get_kind(name: str) -> JobKind:
    """The kind called ``name``; a UserInputError naming the known kinds otherwise."""
    with _lock:
        kind = _kinds.get(name)  # already imported (e.g. the job process imported the kind's own module)
    if kind is not None:
        return kind
    known = kinds()
    kind = known.get(name)
    if kind is None:
        raise UserInputError(
            f"Unknown job kind {name!r}.",
            hint=f"Use one of: {', '.join(sorted(known)) or '(none registered)'}.",
        )
    return kind

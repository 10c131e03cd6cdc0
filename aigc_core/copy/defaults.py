"""Which embedded language model writes copy in each language when the model setting is ``auto`` and the hub
default is not on this machine. Chosen from ``bench/copy_quality.py`` (share of briefs whose top variant passes
every check, per language, both embedded models on the same briefs)."""

from __future__ import annotations

from aigc_core.settings import get_settings

EMBEDDED_BY_LANGUAGE: dict[str, str] = {
    "en": "smollm2-135m-instruct",
    "zh": "gemma3-270m",
}


def default_model_for(language: str) -> str:
    """The model value for a brief in ``language`` when the brief names no model: the setting when it is not
    ``auto``; with ``auto`` the hub default when it is available, else the language's embedded model."""
    value = (get_settings().text_generation_model or "auto").strip()
    if value != "auto":
        return value
    from aigc_core.models.catalog import TEXT_GENERATION, resolve

    try:
        resolved = resolve(TEXT_GENERATION, "auto")
    except Exception:  # nothing resolves: let the loader raise its message for the embedded model
        return EMBEDDED_BY_LANGUAGE.get(language, EMBEDDED_BY_LANGUAGE["en"])
    if not resolved.spec.embedded:
        return "auto"
    return EMBEDDED_BY_LANGUAGE.get(language, EMBEDDED_BY_LANGUAGE["en"])

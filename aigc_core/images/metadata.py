"""Settings embedded in PNG text chunks: write them with the image, read them back to restore or reproduce."""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

from aigc_core.errors import UserInputError

SETTINGS_KEY = "aigc-settings"  # full settings as JSON
# Human-readable copies (shown by image viewers); the JSON is the source of truth.
READABLE_KEYS = (
    "prompt",
    "negative_prompt",
    "model",
    "model_revision",
    "scheduler",
    "steps",
    "guidance",
    "seed",
    "width",
    "height",
    "strength",
    "source_hash",
    "style",
    "aspect",
)


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of some bytes (source image hash)."""
    return hashlib.sha256(data).hexdigest()


def png_bytes(image: Any, settings: dict[str, Any]) -> bytes:
    """The image encoded as PNG with ``settings`` in its text chunks."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text(SETTINGS_KEY, json.dumps(settings, ensure_ascii=False, sort_keys=True))
    for key in READABLE_KEYS:
        value = settings.get(key)
        if value is not None and value != "":
            info.add_itxt(key, str(value))
    info.add_text("Software", "AIGC Studio")
    buf = io.BytesIO()
    image.save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def read_png_settings(data: bytes) -> dict[str, Any]:
    """The settings stored in a PNG made by the studio; UserInputError when it has none or is not a PNG."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = img.format
            text = dict(getattr(img, "text", {}) or {})
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise UserInputError(
            "That file is not a readable image.", hint="Upload a PNG downloaded from this studio's gallery."
        ) from exc
    if fmt != "PNG":
        raise UserInputError(
            f"That is a {fmt} image; settings are only kept in PNG files made here.",
            hint="Upload the PNG downloaded from the gallery (other formats and re-saved copies lose the settings).",
        )
    raw = text.get(SETTINGS_KEY)
    if not raw:
        raise UserInputError(
            "This PNG carries no AIGC Studio settings.",
            hint="Only PNGs generated here (and not re-saved by another app) can restore their settings.",
        )
    try:
        settings = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UserInputError("The settings in this PNG are damaged.", hint="Use the original downloaded file.") from exc
    if not isinstance(settings, dict) or "prompt" not in settings:
        raise UserInputError("The settings in this PNG are incomplete.", hint="Use the original downloaded file.")
    return settings

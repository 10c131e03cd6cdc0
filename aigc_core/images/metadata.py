"""Settings embedded in PNG text chunks: write them with the image, read them back to restore or reproduce."""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

from aigc_core.errors import UserInputError

IMAGE_FORMATS = ("PNG", "JPEG", "WEBP")  # the only PIL decoders user-supplied bytes may reach
MAX_PIXELS = 4096 * 4096  # largest image (width × height) decoded from an upload
_OTHER_FORMATS = {
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
    b"BM": "BMP",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
    b"\x00\x00\x01\x00": "ICO",
    b"8BPS": "PSD",
}
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


def open_image(data: bytes) -> Any:
    """A lazily decoded PIL image of ``data``, opened only if it is PNG, JPEG or WebP."""
    from PIL import Image

    return Image.open(io.BytesIO(data), formats=IMAGE_FORMATS)


def unreadable_image_message(data: bytes) -> str:
    """Why bytes PIL refused to open are not accepted, naming a recognisable but refused format."""
    kind = next((k for magic, k in _OTHER_FORMATS.items() if data.startswith(magic)), None)
    if kind is not None:
        return f"{kind} images are not accepted; only PNG, JPEG and WebP are."
    return "The uploaded file is not a readable image (PNG, JPEG or WebP)."


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

    hint = "Upload a PNG downloaded from this studio's gallery."
    try:
        with open_image(data) as img:
            fmt = img.format
            w, h = img.size
            if w * h > MAX_PIXELS:  # reading PNG text decodes the pixels too
                raise UserInputError(f"That image is {w}×{h} pixels, larger than any made here.", hint=hint)
            text = dict(getattr(img, "text", {}) or {})
    except UserInputError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise UserInputError(unreadable_image_message(data), hint=hint) from exc
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

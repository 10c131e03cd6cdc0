"""Colours of a creative: parsing brand colours, WCAG 2 relative luminance and contrast, and the worst contrast
of text over the pixels behind it."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from aigc_core.errors import UserInputError

MIN_CONTRAST = 4.5  # WCAG 2 AA for normal text


def parse_colour(value: str) -> tuple[int, int, int]:
    """'#RRGGBB' or '#RGB' as an RGB tuple; UserInputError otherwise."""
    v = str(value or "").strip().lstrip("#")
    if len(v) == 3:
        v = "".join(c * 2 for c in v)
    if not re.fullmatch(r"[0-9a-fA-F]{6}", v):
        raise UserInputError(f"{value!r} is not a colour.", hint="Use a hex colour such as #1A73E8.")
    return int(v[0:2], 16), int(v[2:4], 16), int(v[4:6], 16)


def hex_colour(rgb: tuple[int, int, int]) -> str:
    """An RGB tuple as '#rrggbb'."""
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG relative luminance of an sRGB colour (0 black … 1 white)."""
    lin = []
    for c in rgb:
        s = c / 255.0
        lin.append(s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4)
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast_ratio(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """WCAG contrast ratio of two colours (1 … 21)."""
    la, lb = luminance(a), luminance(b)
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)


@lru_cache(maxsize=1)
def _srgb_to_linear() -> Any:
    import numpy as np

    c = np.arange(256) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def luminance_map(image: Any) -> Any:
    """Per-pixel WCAG relative luminance of an RGB PIL image (numpy float array)."""
    import numpy as np

    lin = _srgb_to_linear()[np.asarray(image.convert("RGB"))]
    return lin @ np.array([0.2126, 0.7152, 0.0722])


def worst_contrast(text_rgb: tuple[int, int, int], background: Any) -> float:
    """Contrast of ``text_rgb`` against the background region (a PIL image, or its luminance map), taken at the
    2nd percentile of the per-pixel ratios: text passes only if (almost) every pixel behind it contrasts enough."""
    import numpy as np

    lum = (background if isinstance(background, np.ndarray) else luminance_map(background)).ravel()
    lt = luminance(text_rgb)
    ratios = (np.maximum(lum, lt) + 0.05) / (np.minimum(lum, lt) + 0.05)
    return float(np.percentile(ratios, 2))

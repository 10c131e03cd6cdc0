"""Style presets (prompt fragments the user sees and edits), aspect-ratio presets per channel, size snapping."""

from __future__ import annotations

import math
from dataclasses import dataclass

from aigc_core.errors import UserInputError

SIZE_MULTIPLE = 8  # the VAE halves the size three times: width and height must be multiples of 8
MIN_SIDE = 64
MAX_SIDE = 2048


@dataclass(frozen=True)
class StylePreset:
    """A named look: text added after the prompt and to the negative prompt."""

    name: str
    prompt: str
    negative: str


STYLE_PRESETS: dict[str, StylePreset] = {
    p.name: p
    for p in [
        StylePreset("None", "", ""),
        StylePreset(
            "Product photo",
            "professional product photography, studio lighting, soft shadows, clean white background, sharp focus, "
            "high detail",
            "blurry, low quality, cluttered background, watermark, text, deformed",
        ),
        StylePreset(
            "Flat illustration",
            "flat vector illustration, bold simple shapes, limited colour palette, clean lines, minimal",
            "photo, photorealistic, 3d render, gradient noise, blurry, text, watermark",
        ),
        StylePreset(
            "Line sketch",
            "pencil line sketch, black ink on white paper, hand-drawn, clean outlines, concept sketch",
            "colour, photo, shading noise, blurry, watermark",
        ),
        StylePreset(
            "Isometric 3D",
            "isometric 3d render, soft pastel colours, clay material, studio lighting, centred, tiny diorama",
            "photo, flat, blurry, distorted perspective, text, watermark",
        ),
        StylePreset(
            "Packaging mock-up",
            "packaging mock-up, product box on a table, realistic materials, soft daylight, commercial photo, "
            "brand-ready label area",
            "blurry, warped label, low quality, watermark, cluttered",
        ),
        StylePreset(
            "Poster",
            "bold advertising poster, striking composition, vivid colours, dramatic lighting, space for a headline",
            "blurry, low contrast, cluttered, watermark, small text",
        ),
        StylePreset(
            "Lifestyle photo",
            "lifestyle photography, natural light, people using the product, candid, warm tones, "
            "shallow depth of field",
            "blurry, deformed hands, low quality, watermark, text",
        ),
    ]
}


@dataclass(frozen=True)
class AspectPreset:
    """A channel's aspect ratio (width:height)."""

    name: str
    ratio_w: int
    ratio_h: int
    channels: str


ASPECT_PRESETS: dict[str, AspectPreset] = {
    p.name: p
    for p in [
        AspectPreset("1:1", 1, 1, "Instagram feed, marketplace listings"),
        AspectPreset("4:5", 4, 5, "Instagram / Facebook portrait feed"),
        AspectPreset("16:9", 16, 9, "YouTube, website hero, presentations"),
        AspectPreset("9:16", 9, 16, "Stories, Reels, TikTok"),
        AspectPreset("Banner 3:1", 3, 1, "Web and email banners"),
    ]
}


def expand_style(preset: str | None) -> tuple[str, str]:
    """(prompt fragment, negative fragment) of a style preset; empty for None/unknown-as-None."""
    if not preset or preset == "None":
        return "", ""
    if preset not in STYLE_PRESETS:
        raise UserInputError(f"Unknown style preset {preset!r}.", hint=f"Pick one of {', '.join(STYLE_PRESETS)}.")
    p = STYLE_PRESETS[preset]
    return p.prompt, p.negative


def join_prompt(prompt: str, fragment: str) -> str:
    """The prompt with a preset fragment appended (comma separated, no doubled fragment)."""
    prompt, fragment = (prompt or "").strip(), (fragment or "").strip()
    if not fragment or fragment in prompt:
        return prompt
    return f"{prompt}, {fragment}" if prompt else fragment


def aspect_size(preset: str, native: int) -> tuple[int, int]:
    """(width, height) of an aspect preset for a model whose native square side is ``native`` (same pixel area).

    Sides are rounded to multiples of 64 for 512+ models (the sizes SD/SDXL were trained on), else of 8.
    """
    if preset not in ASPECT_PRESETS:
        raise UserInputError(f"Unknown aspect preset {preset!r}.", hint=f"Pick one of {', '.join(ASPECT_PRESETS)}.")
    p = ASPECT_PRESETS[preset]
    r = p.ratio_w / p.ratio_h
    step = 64 if native >= 512 else SIZE_MULTIPLE
    w = max(step, round(native * math.sqrt(r) / step) * step)
    h = max(step, round(native / math.sqrt(r) / step) * step)
    return int(w), int(h)


def family_base(family: str) -> int:
    """Native resolution of a model family: SD 1.5/2.1-base/turbo 512, SDXL 1024."""
    return 1024 if family.startswith("sdxl") else 512


def snap_size(width: int, height: int, *, native: int | None = None) -> tuple[int, int, list[str]]:
    """Sizes the model can do (multiples of 8 within [64, 2048]; tiny test models go down to half their
    native side) and a note for each change made."""
    notes: list[str] = []
    lo = min(MIN_SIDE, max(SIZE_MULTIPLE, native // 2)) if native else MIN_SIDE
    out = []
    for label, value in (("Width", width), ("Height", height)):
        try:
            v = int(value)
        except (TypeError, ValueError):
            msg = f"{label} must be a whole number of pixels, not {value!r}."
            raise UserInputError(msg, hint="E.g. 512.") from None
        snapped = min(MAX_SIDE, max(lo, math.floor(v / SIZE_MULTIPLE + 0.5) * SIZE_MULTIPLE))
        if snapped != v:
            why = (
                f"the model works in multiples of {SIZE_MULTIPLE}"
                if lo <= v <= MAX_SIDE
                else f"sizes must be between {lo} and {MAX_SIDE}"
            )
            notes.append(f"{label} {v} px was changed to {snapped} px ({why}).")
        out.append(snapped)
    w, h = out
    if native and w * h > 2.5 * native * native:
        notes.append(
            f"{w}×{h} is well above this model's native {native}×{native}: it is slower and may repeat the subject."
        )
    return w, h, notes

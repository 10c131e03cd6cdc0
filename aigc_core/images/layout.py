"""Ad-creative layout in pure Pillow: the placements, and rendering a creative from a picture, a headline, a CTA and
a logo, using saliency-aware cropping (:mod:`crop`), fonts with a CJK fallback (:mod:`fonts`), text that fits its
box (:mod:`textfit`) and a WCAG contrast check with a scrim when the image needs one (:mod:`colour`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from aigc_core.errors import UserInputError
from aigc_core.images.colour import (
    MIN_CONTRAST,
    contrast_ratio,
    hex_colour,
    luminance_map,
    parse_colour,
    worst_contrast,
)
from aigc_core.images.crop import smart_crop_box
from aigc_core.images.fonts import FontSource, choose_font
from aigc_core.images.textfit import FittedText, fit_text, ink_width

LAYOUT_VERSION = 1  # bump when the geometry changes (recorded in every manifest)


@dataclass(frozen=True)
class Placement:
    """One ad placement: a name, its pixel size and where it runs."""

    key: str
    width: int
    height: int
    label: str

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return self.width, self.height


PLACEMENTS: dict[str, Placement] = {
    p.key: p
    for p in (
        Placement("feed", 1080, 1080, "Feed 1080×1080 (Instagram, Facebook, LinkedIn)"),
        Placement("story", 1080, 1920, "Story / Reels 1080×1920"),
        Placement("link", 1200, 628, "Link ad 1200×628 (Facebook, LinkedIn, X)"),
        Placement("mrec", 300, 250, "Display 300×250 (medium rectangle)"),
        Placement("leaderboard", 728, 90, "Display 728×90 (leaderboard)"),
    )
}


# Rendering ----------------------------------------------------------------------------------------------
Box = tuple[int, int, int, int]  # left, top, right, bottom


@dataclass
class Visual:
    """The brand kit's visual rules as the layout uses them."""

    primary: str = "#1a73e8"  # CTA button
    text: str = "#ffffff"  # preferred headline colour (changed when it fails the contrast check)
    accent: str = "#000000"  # scrim colour for light text
    margin: float = 0.05  # safe margin, share of the short side
    logo: bytes | None = None
    font: bytes | None = None
    font_name: str = ""


@dataclass
class TextReport:
    """How one text element was laid out and whether it passes the contrast check."""

    role: str  # headline | cta
    text: str
    box: Box
    ink: Box | None  # bounding box of the drawn pixels
    font: str
    size: int
    lines: list[str]
    colour: str
    contrast: float
    passes: bool
    scrim: float = 0.0  # opacity of the scrim behind the text (0: none)
    truncated: bool = False


@dataclass
class Layout:
    """A rendered creative: the image and what went into it."""

    image: Any
    placement: str
    size: tuple[int, int]
    crop: Box
    safe: Box
    texts: list[TextReport] = field(default_factory=list)
    logo: Box | None = None
    notes: list[str] = field(default_factory=list)
    masks: dict[str, Any] = field(default_factory=dict)  # role → 'L' image of the text's drawn pixels (checks)

    def report(self) -> dict[str, Any]:
        """JSON-friendly description (the manifest's entry)."""
        return {
            "placement": self.placement,
            "width": self.size[0],
            "height": self.size[1],
            "crop": list(self.crop),
            "safe_area": list(self.safe),
            "logo_box": list(self.logo) if self.logo else None,
            "texts": [asdict(t) for t in self.texts],
            "notes": list(self.notes),
            "layout_version": LAYOUT_VERSION,
        }


def open_logo(data: bytes) -> Any:
    """The logo as an RGBA image; UserInputError when it is not a PNG/WebP/JPEG image (SVG: convert it first)."""
    from PIL import Image, UnidentifiedImageError

    from aigc_core.images.metadata import open_image

    if not data:
        raise UserInputError("The logo file is empty.", hint="Upload the logo as a PNG with transparency.")
    head = data[:512].lstrip().lower()
    if head.startswith(b"<?xml") or head.startswith(b"<svg") or b"<svg" in head:
        raise UserInputError(
            "SVG logos cannot be drawn here (no SVG renderer is installed).",
            hint="Export the logo as a PNG with a transparent background and upload that.",
        )
    try:
        with open_image(data) as img:
            if img.width * img.height > 4096 * 4096:
                raise UserInputError("The logo is larger than 4096×4096 pixels.", hint="Upload a smaller PNG.")
            img.load()
            return img.convert("RGBA")
    except UserInputError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise UserInputError(
            "The logo is not a readable image.", hint="Upload the logo as a PNG (with transparency), WebP or JPEG."
        ) from exc


def _boxes(w: int, h: int, m: int) -> dict[str, Box]:
    """Logo, headline and CTA boxes inside the safe area, by the placement's shape."""
    sl, st, sr, sb = m, m, w - m, h - m
    sw, sh = sr - sl, sb - st
    ratio = w / h
    if ratio >= 4:  # leaderboard: logo | headline | CTA in one row
        logo_w = min(sh * 2, sw // 6)
        cta_w = sw // 5
        gap = max(4, sh // 6)
        return {
            "logo": (sl, st, sl + logo_w, sb),
            "headline": (sl + logo_w + gap, st, sr - cta_w - gap, sb),
            "cta": (sr - cta_w, st + sh // 6, sr, sb - sh // 6),
        }
    if ratio >= 1.4:  # link ad: text column on the left
        col = int(sw * 0.55)
        logo_h = max(12, sh // 8)
        cta_h = max(14, sh // 8)
        return {
            "logo": (sl, st, sl + col // 2, st + logo_h),
            "headline": (sl, st + int(sh * 0.30), sl + col, st + int(sh * 0.72)),
            "cta": (sl, sb - cta_h, sl + min(col, int(sw * 0.3)), sb),
        }
    logo_h = max(12, int(min(sw, sh) * 0.10))
    cta_h = max(14, int(min(sw, sh) * 0.11))
    head_h = int(sh * (0.22 if ratio < 0.8 else 0.28))
    cta_top = sb - cta_h
    return {
        "logo": (sl, st, sl + sw // 3, st + logo_h),
        "headline": (sl, cta_top - head_h - max(4, cta_h // 3), sr, cta_top - max(4, cta_h // 3)),
        "cta": (sl, cta_top, sl + int(sw * 0.5), sb),
    }


def _draw_lines(layer: Any, fitted: FittedText, font: Any, box: Box, align: str) -> None:
    """Draw the lines into the 'L' ``layer`` (255 = ink), vertically centred in ``box`` (layer coordinates)."""
    from PIL import ImageDraw

    draw = ImageDraw.Draw(layer)
    bl, bt, br, bb = box
    top, bottom = fitted.extent(font)
    y = bt + (bb - bt - (bottom - top)) // 2 - top
    for line in fitted.lines:
        left = font.getbbox(line)[0]
        ink_w = ink_width(font, line)
        x = bl + (br - bl - ink_w) / 2 if align == "center" else bl
        draw.text((x - min(0, left), y), line, font=font, fill=255)
        y += fitted.line_height


def _text_colour(
    preferred: tuple[int, int, int], background: Any
) -> tuple[tuple[int, int, int], float, tuple[int, int, int] | None]:
    """(text colour, contrast, scrim colour or None): the preferred colour if it passes, else white or black,
    whichever contrasts more; a scrim is needed when even that fails."""
    candidates = [preferred, (255, 255, 255), (0, 0, 0)]
    lum = luminance_map(background)
    scored = [(worst_contrast(c, lum), c) for c in candidates]
    for ratio, c in scored:
        if ratio >= MIN_CONTRAST:
            return c, ratio, None
    ratio, c = max(scored[1:])
    scrim = (0, 0, 0) if c == (255, 255, 255) else (255, 255, 255)
    return c, ratio, scrim


def _place_text(
    canvas: Any,
    role: str,
    text: str,
    box: Box,
    source: FontSource,
    preferred: tuple[int, int, int],
    *,
    max_size: int,
    max_lines: int,
    align: str,
    notes: list[str],
    masks: dict[str, Any] | None = None,
) -> TextReport:
    """Fit ``text`` into ``box`` on ``canvas`` (changed in place) with a colour or scrim that passes 4.5:1."""
    from PIL import Image

    bl, bt, br, bb = box
    fitted = fit_text(text, source, br - bl, bb - bt, max_size=max_size, max_lines=max_lines)
    if fitted.truncated:
        notes.append(f"The {role} was too long for the {br - bl}×{bb - bt} box and was shortened.")
    font = source.at(fitted.size)
    # the glyphs are drawn once, as a mask, on a frame around the box that is wide enough to show any overflow
    margin = max(16, fitted.size)
    frame = (max(0, bl - margin), max(0, bt - margin), min(canvas.width, br + margin), min(canvas.height, bb + margin))
    ox, oy = frame[0], frame[1]
    layer = Image.new("L", (frame[2] - ox, frame[3] - oy), 0)
    ink = None
    colour, ratio, scrim_rgb, alpha = preferred, 21.0, None, 0.0
    if fitted.lines:
        _draw_lines(layer, fitted, font, (bl - ox, bt - oy, br - ox, bb - oy), align)
        local = layer.getbbox()
        ink = (local[0] + ox, local[1] + oy, local[2] + ox, local[3] + oy) if local else None
    if ink is not None:
        pad = max(2, fitted.size // 4)
        behind = (max(0, ink[0] - 1), max(0, ink[1] - 1), min(canvas.width, ink[2] + 1), min(canvas.height, ink[3] + 1))
        colour, ratio, scrim_rgb = _text_colour(preferred, canvas.crop(behind))
        if scrim_rgb is not None:
            sbox = (max(bl, ink[0] - pad), max(bt, ink[1] - pad), min(br, ink[2] + pad), min(bb, ink[3] + pad))
            region = canvas.crop(sbox)
            inner = (ink[0] - sbox[0], ink[1] - sbox[1], ink[2] - sbox[0], ink[3] - sbox[1])
            for alpha in (0.25, 0.4, 0.55, 0.7, 0.85, 1.0):
                overlay = Image.blend(region, Image.new("RGB", region.size, scrim_rgb), alpha)
                ratio = worst_contrast(colour, overlay.crop(inner))
                if ratio >= MIN_CONTRAST:
                    break
            canvas.paste(overlay, sbox[:2])
        canvas.paste(colour, frame, layer)
    if masks is not None:
        full = Image.new("L", canvas.size, 0)
        full.paste(layer, (ox, oy))
        masks[role] = full
    return TextReport(
        role=role,
        text=text,
        box=box,
        ink=ink,
        font=source.name,
        size=fitted.size,
        lines=fitted.lines,
        colour=hex_colour(colour),
        contrast=round(ratio, 2),
        passes=ratio >= MIN_CONTRAST,
        scrim=alpha if scrim_rgb is not None else 0.0,
        truncated=fitted.truncated,
    )


def _button(canvas: Any, box: Box, fill: tuple[int, int, int]) -> None:
    from PIL import ImageDraw

    radius = max(2, (box[3] - box[1]) // 4)
    ImageDraw.Draw(canvas).rounded_rectangle(box, radius=radius, fill=fill)


def render(
    image: Any,
    placement: Placement,
    headline: str,
    cta: str = "",
    visual: Visual | None = None,
    *,
    crop: Box | None = None,
) -> Layout:
    """One finished creative for ``placement``: the image smart-cropped (or cropped to ``crop``), the logo,
    the headline and the CTA button laid out in the safe area, every text passing the contrast check."""
    from PIL import Image

    visual = visual or Visual()
    notes: list[str] = []
    w, h = placement.size
    if not (headline or "").strip():
        raise UserInputError("The headline is empty.", hint="Type a headline or pick a copy variant.")
    src = image.convert("RGB")
    crop = crop or smart_crop_box(src, w, h)
    canvas = src.resize((w, h), Image.Resampling.LANCZOS, box=crop)
    m = max(2, round(min(w, h) * max(0.0, min(0.2, visual.margin))))
    safe = (m, m, w - m, h - m)
    boxes = _boxes(w, h, m)
    brand_font = (
        FontSource(data=visual.font, name=visual.font_name or "brand font") if visual.font is not None else None
    )
    logo_box = None
    if visual.logo is not None:
        logo = open_logo(visual.logo)
        bl, bt, br, bb = boxes["logo"]
        logo.thumbnail((br - bl, bb - bt), Image.Resampling.LANCZOS)
        canvas.paste(logo, (bl, bt), logo)
        logo_box = (bl, bt, bl + logo.width, bt + logo.height)
    short = min(w, h)
    wide = w / h >= 4
    masks: dict[str, Any] = {}
    head_font = choose_font(headline, brand_font, notes)
    texts = [
        _place_text(
            canvas,
            "headline",
            headline,
            boxes["headline"],
            head_font,
            parse_colour(visual.text),
            max_size=max(10, int(short * (0.5 if wide else 0.12))),
            max_lines=2 if wide else 4,
            align="left",
            notes=notes,
            masks=masks,
        )
    ]
    if (cta or "").strip():
        bl, bt, br, bb = boxes["cta"]
        primary = parse_colour(visual.primary)
        _button(canvas, boxes["cta"], primary)
        pad = max(2, (bb - bt) // 5)
        inner = (bl + pad * 2, bt + pad, br - pad * 2, bb - pad)
        cta_colour = max([(255, 255, 255), (0, 0, 0)], key=lambda c: contrast_ratio(c, primary))
        texts.append(
            _place_text(
                canvas,
                "cta",
                cta,
                inner,
                choose_font(cta, brand_font, notes),
                cta_colour,
                max_size=max(8, bb - bt - 2 * pad),
                max_lines=1,
                align="center",
                notes=notes,
                masks=masks,
            )
        )
    return Layout(canvas, placement.key, (w, h), crop, safe, texts, logo_box, list(dict.fromkeys(notes)), masks)

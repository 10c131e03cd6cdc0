"""Ad-creative layout in pure Pillow: saliency-aware cropping, fonts (CJK fallback), text that fits its box
(shrink-to-fit, wrapping, CJK line breaking) and a WCAG contrast check with a scrim when the image needs one."""

from __future__ import annotations

import io
import math
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from aigc_core.cjk import has_cjk
from aigc_core.errors import UserInputError

LAYOUT_VERSION = 1  # bump when the geometry changes (recorded in every manifest)
MIN_CONTRAST = 4.5  # WCAG 2 AA for normal text
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", str(Path.home() / ".fonts"))
CJK_FONT_PATTERNS = ("notosanscjk", "notoserifcjk", "sourcehansans", "wqy", "droidsansfallback", "cjk")
LATIN_FONT_NAMES = ("DejaVuSans-Bold.ttf", "NotoSans-Bold.ttf", "LiberationSans-Bold.ttf", "DejaVuSans.ttf")


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


# Colour and contrast --------------------------------------------------------------------------------
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


# Saliency and cropping ---------------------------------------------------------------------------------
def saliency_map(image: Any, side: int = 64) -> Any:
    """Spectral-residual saliency (Hou & Zhang, 2007) plus edge density, at ``side`` pixels on the long edge;
    a numpy array in [0, 1] of the image's aspect."""
    import numpy as np
    from PIL import ImageFilter

    w, h = image.size
    scale = side / max(w, h)
    sw, sh = max(8, round(w * scale)), max(8, round(h * scale))
    gray = image.convert("L").resize((sw, sh))
    a = np.asarray(gray, dtype=np.float64) / 255.0
    f = np.fft.fft2(a)
    log_amp = np.log(np.abs(f) + 1e-9)
    phase = np.angle(f)
    pad = np.pad(log_amp, 1, mode="wrap")
    avg = sum(pad[i : i + sh, j : j + sw] for i in range(3) for j in range(3)) / 9.0
    sal = np.abs(np.fft.ifft2(np.exp(log_amp - avg + 1j * phase))) ** 2
    edges = np.asarray(gray.filter(ImageFilter.FIND_EDGES), dtype=np.float64)
    edges[0, :] = edges[-1, :] = edges[:, 0] = edges[:, -1] = 0  # FIND_EDGES marks the frame
    from PIL import Image

    def norm(x: Any) -> Any:
        x = x - x.min()
        return x / x.max() if x.max() > 0 else x

    combined = norm(sal) * 0.6 + norm(edges) * 0.4
    blurred = Image.fromarray((norm(combined) * 255).astype("uint8")).filter(ImageFilter.GaussianBlur(side / 32))
    return np.asarray(blurred, dtype=np.float64) / 255.0


def smart_crop_box(image: Any, width: int, height: int) -> tuple[int, int, int, int]:
    """The largest crop of ``image`` with the aspect ``width:height`` that holds the most saliency (the subject,
    not the centre); (left, top, right, bottom) in image pixels."""
    import numpy as np

    iw, ih = image.size
    target = width / height
    if iw / ih > target:
        cw, ch = round(ih * target), ih
    else:
        cw, ch = iw, round(iw / target)
    cw, ch = max(1, min(cw, iw)), max(1, min(ch, ih))
    sal = saliency_map(image)
    sh, sw = sal.shape
    fx, fy = sw / iw, sh / ih
    if cw < iw:  # slide horizontally
        prof = sal.sum(axis=0)
        win = max(1, round(cw * fx))
        sums = np.convolve(prof, np.ones(win), mode="valid")
        best = int(np.argmax(sums))
        left = min(iw - cw, max(0, round(best / fx)))
        return left, 0, left + cw, ch
    prof = sal.sum(axis=1)
    win = max(1, round(ch * fy))
    sums = np.convolve(prof, np.ones(win), mode="valid")
    best = int(np.argmax(sums))
    top = min(ih - ch, max(0, round(best / fy)))
    return 0, top, cw, top + ch


def crop_to(image: Any, width: int, height: int, box: tuple[int, int, int, int] | None = None) -> Any:
    """``image`` cropped to ``box`` (default: the smart crop) and resized to ``width``×``height``."""
    from PIL import Image

    box = box or smart_crop_box(image, width, height)
    return image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS, box=box)


# Fonts --------------------------------------------------------------------------------------------------
def load_font_bytes(data: bytes, size: int = 20, *, what: str = "The font file") -> Any:
    """A FreeType font from TTF/OTF/TTC bytes; UserInputError when they are not a font."""
    from PIL import ImageFont

    if not data:
        raise UserInputError(f"{what} is empty.", hint="Upload a .ttf or .otf font file.")
    try:
        return ImageFont.truetype(io.BytesIO(data), size)
    except (OSError, ValueError) as exc:
        raise UserInputError(
            f"{what} is not a font Pillow can read.", hint="Upload a TrueType (.ttf) or OpenType (.otf) font file."
        ) from exc


def _font_files() -> list[Path]:
    out: list[Path] = []
    for d in FONT_DIRS:
        p = Path(d)
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.suffix.lower() in {".ttf", ".otf", ".ttc"})
    return out


def covers(font: Any, text: str) -> bool:
    """True when ``font`` has a glyph for every non-space character of ``text`` (not the 'missing' box)."""
    missing = _glyph(font, "\U0010fffd")
    return all(ch.isspace() or _glyph(font, ch) != missing for ch in dict.fromkeys(text))


def _glyph(font: Any, ch: str) -> bytes:
    """The pixels of one character drawn alone (equal for two characters both missing from the font)."""
    from PIL import Image, ImageDraw

    size = int(getattr(font, "size", 24)) * 2
    img = Image.new("L", (size, size), 0)
    ImageDraw.Draw(img).text((size // 4, size // 4), ch, font=font, fill=255)
    return img.tobytes()


@lru_cache(maxsize=8)
def cjk_font_path() -> str | None:
    """An installed font file with Chinese glyphs (Noto CJK, Source Han, WenQuanYi …), bold first; None if none."""
    from PIL import ImageFont

    files = [f for f in _font_files() if any(p in f.name.lower().replace("-", "") for p in CJK_FONT_PATTERNS)]
    files.sort(key=lambda f: (0 if "bold" in f.name.lower() else 1, "serif" in f.name.lower(), f.name))
    for f in files:
        try:
            if covers(ImageFont.truetype(str(f), 24), "中文广告"):
                return str(f)
        except OSError:
            continue
    return None


@lru_cache(maxsize=8)
def latin_font_path() -> str | None:
    """An installed bold sans-serif font (DejaVu, Noto, Liberation); None means Pillow's built-in font."""
    by_name = {f.name: f for f in _font_files()}
    for name in LATIN_FONT_NAMES:
        if name in by_name:
            return str(by_name[name])
    return None


@dataclass
class FontSource:
    """Where a text block's font comes from: a file path, bytes of a brand font, or Pillow's built-in font."""

    path: str | None = None
    data: bytes | None = None
    name: str = ""

    def at(self, size: int) -> Any:
        """The font at ``size`` pixels."""
        from PIL import ImageFont

        if self.data is not None:
            return ImageFont.truetype(io.BytesIO(self.data), size)
        if self.path is not None:
            return ImageFont.truetype(self.path, size)
        return ImageFont.load_default(size)


def choose_font(text: str, brand: FontSource | None, notes: list[str]) -> FontSource:
    """The brand font when it covers ``text``, else an installed font that does (CJK or Latin); a note says why."""
    if brand is not None and covers(brand.at(24), text):
        return brand
    if has_cjk(text):
        path = cjk_font_path()
        if path is not None:
            if brand is not None:
                notes.append(f"The brand font {brand.name} has no Chinese glyphs; used {Path(path).name}.")
            return FontSource(path=path, name=Path(path).name)
        notes.append(
            "No font with Chinese/Japanese/Korean glyphs is installed, so CJK characters may show as boxes: "
            "install fonts-noto-cjk (apt-get install fonts-noto-cjk) or upload a CJK font to the brand kit."
        )
    if brand is not None:
        return brand
    path = latin_font_path()
    if path is not None:
        return FontSource(path=path, name=Path(path).name)
    return FontSource(name="Pillow built-in")


# Line breaking and fitting ------------------------------------------------------------------------------
NO_LINE_START = set("，。、！？；：）」』】》〉”’,.!?;:)]}…%·ー〜")
NO_LINE_END = set("（「『【《〈“‘([{")


def tokens(text: str) -> list[str]:
    """Break opportunities: Latin words (with their trailing space), single CJK characters with closing
    punctuation kept on them and opening punctuation kept with what follows (kinsoku)."""
    raw = re.findall(r"[^\s\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]+\s*|\S\s*|\s+", text)
    out: list[str] = []
    for t in raw:
        closing = bool(t.strip()) and t.strip()[0] in NO_LINE_START
        after_opening = bool(out) and bool(out[-1].strip()) and out[-1].rstrip()[-1] in NO_LINE_END
        if out and (closing or after_opening):
            out[-1] += t
        else:
            out.append(t)
    return [t for t in out if t.strip()] or []


def _width(font: Any, text: str) -> float:
    return float(font.getlength(text))


def wrap(text: str, font: Any, max_width: float) -> list[str] | None:
    """Lines of ``text`` no wider than ``max_width``, or None when one token alone is too wide."""
    lines: list[str] = []
    line = ""
    for tok in tokens(text):
        candidate = line + tok
        if _width(font, candidate.rstrip()) <= max_width:
            line = candidate
            continue
        if line:
            lines.append(line.rstrip())
        if _width(font, tok.rstrip()) > max_width:
            return None
        line = tok
    if line.strip():
        lines.append(line.rstrip())
    return lines


@dataclass
class FittedText:
    """Text fitted into a box: its lines, font size and line height, and whether it had to be shortened."""

    lines: list[str]
    size: int
    line_height: int
    truncated: bool = False

    def extent(self, font: Any) -> tuple[int, int]:
        """(top, bottom) of the drawn pixels relative to the first line's origin."""
        return _extent(self.lines, font, self.line_height)


LINE_SPACING = 1.2


def _extent(lines: list[str], font: Any, lh: int) -> tuple[int, int]:
    """(top, bottom) of the ink of ``lines`` drawn ``lh`` apart, from the font's real glyph boxes."""
    if not lines:
        return 0, 0
    boxes = [font.getbbox(ln) for ln in lines]
    return min(i * lh + b[1] for i, b in enumerate(boxes)), max(i * lh + b[3] for i, b in enumerate(boxes))


def _block_fits(lines: list[str], font: Any, size: int, box_w: float, box_h: float) -> bool:
    if not lines:
        return True
    lh = math.ceil(size * LINE_SPACING)
    widest = max(_ink_width(font, ln) for ln in lines)
    top, bottom = _extent(lines, font, lh)
    return widest <= box_w and bottom - top <= box_h


def _ink_width(font: Any, line: str) -> float:
    left, _, right, _ = font.getbbox(line)
    return max(float(right), _width(font, line)) - min(0.0, float(left))


def fit_text(
    text: str, source: FontSource, box_w: int, box_h: int, *, max_size: int, min_size: int = 8, max_lines: int = 4
) -> FittedText:
    """The largest font size (≤ ``max_size``) at which ``text`` wraps into the box in at most ``max_lines`` lines;
    at ``min_size`` the text is shortened with an ellipsis so it never overflows."""
    text = " ".join(text.split())
    max_size = max(min_size, max_size)
    lo, hi, best = min_size, max_size, None
    while lo <= hi:  # binary search: the fit is monotone in the size
        mid = (lo + hi) // 2
        font = source.at(mid)
        lines = wrap(text, font, box_w)
        if lines is not None and len(lines) <= max_lines and _block_fits(lines, font, mid, box_w, box_h):
            best = FittedText(lines, mid, math.ceil(mid * LINE_SPACING))
            lo = mid + 1
        else:
            hi = mid - 1
    if best is not None:
        return best
    return _truncate(text, source, box_w, box_h, min_size, max_lines)


def _truncate(text: str, source: FontSource, box_w: int, box_h: int, size: int, max_lines: int) -> FittedText:
    """``text`` cut (with '…') to what fits at ``size``; as a last resort fewer lines or nothing."""
    font = source.at(size)
    lh = math.ceil(size * LINE_SPACING)
    n_lines = max(0, min(max_lines, int(box_h // lh)))
    chars = list(text)
    lo, hi, best_lines = 0, len(chars), []
    while lo <= hi:
        mid = (lo + hi) // 2
        candidate = "".join(chars[:mid]).rstrip() + "…"
        lines = _hard_wrap(candidate, font, box_w)
        if lines is not None and len(lines) <= n_lines and _block_fits(lines, font, size, box_w, box_h):
            best_lines = lines
            lo = mid + 1
        else:
            hi = mid - 1
    return FittedText(best_lines, size, lh, truncated=True)


def _hard_wrap(text: str, font: Any, max_width: float) -> list[str] | None:
    """Wrap at tokens, breaking a too-wide token between characters."""
    lines = wrap(text, font, max_width)
    if lines is not None:
        return lines
    out: list[str] = []
    line = ""
    for ch in text:
        if _ink_width(font, (line + ch).strip()) <= max_width:
            line += ch
        else:
            if not line.strip():
                return None
            out.append(line.strip())
            line = ch
    if line.strip():
        out.append(line.strip())
    return out


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
        ink_w = _ink_width(font, line)
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

"""Fonts of a creative: the brand kit's font or the system's, with a CJK fallback when the text needs glyphs the
chosen font does not have."""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from aigc_core.cjk import has_cjk
from aigc_core.errors import UserInputError

FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", str(Path.home() / ".fonts"))
CJK_FONT_PATTERNS = ("notosanscjk", "notoserifcjk", "sourcehansans", "wqy", "droidsansfallback", "cjk")
LATIN_FONT_NAMES = ("DejaVuSans-Bold.ttf", "NotoSans-Bold.ttf", "LiberationSans-Bold.ttf", "DejaVuSans.ttf")


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

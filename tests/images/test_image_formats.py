"""Image uploads reach only the PNG, JPEG and WebP decoders, and PIL's decompression-bomb guard stays on."""

from __future__ import annotations

import io

import pytest
from PIL import Image, UnidentifiedImageError

from aigc_core.errors import UserInputError
from aigc_core.images.img2img import read_source_image
from aigc_core.images.metadata import open_image, read_png_settings


def _encoded(fmt: str, size: tuple[int, int] = (24, 16)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 40, 90)).save(buf, format=fmt)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_png_jpeg_webp_sources_are_read(settings, fmt: str) -> None:
    img = read_source_image(_encoded(fmt))
    assert img.mode == "RGB" and img.size == (24, 16)


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_other_formats_are_refused_by_name(settings, fmt: str) -> None:
    data = _encoded(fmt)
    with pytest.raises(UserInputError, match=rf"{fmt} images are not accepted; only PNG, JPEG and WebP") as info:
        read_source_image(data)
    assert "PNG, JPEG or WebP" in (info.value.hint or "")
    with pytest.raises(UnidentifiedImageError):
        open_image(data)  # the gallery's thumbnailer opens through the same gate
    with pytest.raises(UserInputError, match=rf"{fmt} images are not accepted"):
        read_png_settings(data)


def test_unknown_format_is_not_a_readable_image(settings) -> None:
    ico = io.BytesIO()
    Image.new("RGB", (16, 16)).save(ico, format="ICO")
    with pytest.raises(UserInputError, match="ICO images are not accepted"):
        read_source_image(ico.getvalue())
    with pytest.raises(UserInputError, match=r"not a readable image \(PNG, JPEG or WebP\)"):
        read_source_image(b"\x00\x01 not an image")


def test_png_settings_reader_refuses_huge_images() -> None:
    with pytest.raises(UserInputError, match="larger than any made here"):
        read_png_settings(_encoded("PNG", (5000, 4000)))


def test_decompression_bomb_guard_is_on() -> None:
    # importing the image modules must not disable it
    import aigc_core.images.gallery
    import aigc_core.images.generate  # noqa: F401

    assert Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS <= 89_478_485 * 2
    w = h = 14_000  # 196 Mpx, over twice the limit: refused from the header, nothing decoded
    png = _png_header_only(w, h)
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(png))
    with pytest.raises(UserInputError, match="not a readable image"):
        read_png_settings(png)


def _png_header_only(w: int, h: int) -> bytes:
    """A PNG that declares ``w``×``h`` pixels but carries almost no pixel data."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")

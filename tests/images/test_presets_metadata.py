"""Style/aspect presets, size snapping, PNG settings round trip and its bad inputs."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from aigc_core.errors import UserInputError
from aigc_core.images.metadata import png_bytes, read_png_settings
from aigc_core.images.presets import (
    ASPECT_PRESETS,
    STYLE_PRESETS,
    aspect_size,
    expand_style,
    family_base,
    join_prompt,
    snap_size,
)


def test_style_presets_expand_into_editable_fragments() -> None:
    assert {"Product photo", "Flat illustration", "Line sketch", "Isometric 3D", "Packaging mock-up", "Poster"} <= set(
        STYLE_PRESETS
    )
    pos, neg = expand_style("Product photo")
    assert "studio lighting" in pos and "blurry" in neg
    assert expand_style(None) == ("", "") and expand_style("None") == ("", "")
    assert join_prompt("a bottle", pos).startswith("a bottle, professional product photography")
    assert join_prompt("a bottle", "") == "a bottle"
    assert join_prompt("a bottle, x", "x") == "a bottle, x"  # no doubled fragment
    with pytest.raises(UserInputError, match="Unknown style preset"):
        expand_style("Oil painting")


@pytest.mark.parametrize(
    ("preset", "native", "size"),
    [
        ("1:1", 512, (512, 512)),
        ("16:9", 512, (704, 384)),
        ("9:16", 512, (384, 704)),
        ("4:5", 512, (448, 576)),
        ("16:9", 1024, (1344, 768)),
        ("1:1", 1024, (1024, 1024)),
        ("Banner 3:1", 512, (896, 320)),
        ("1:1", 64, (64, 64)),
    ],
)
def test_aspect_presets_map_to_model_sizes(preset: str, native: int, size: tuple[int, int]) -> None:
    w, h = aspect_size(preset, native)
    assert (w, h) == size
    assert w % 8 == 0 and h % 8 == 0


def test_every_aspect_preset_is_a_multiple_of_64_on_real_models() -> None:
    for name in ASPECT_PRESETS:
        for family in ("sd", "sdxl"):
            w, h = aspect_size(name, family_base(family))
            assert w % 64 == 0 and h % 64 == 0
    with pytest.raises(UserInputError):
        aspect_size("2:1", 512)


def test_snap_size_says_what_changed() -> None:
    assert snap_size(512, 512) == (512, 512, [])
    w, h, notes = snap_size(500, 515)
    assert (w, h) == (504, 512)
    assert len(notes) == 2 and "500 px was changed to 504 px" in notes[0] and "multiples of 8" in notes[0]
    w, h, notes = snap_size(10, 9000)
    assert (w, h) == (64, 2048) and all("between 64 and 2048" in n for n in notes)
    _, _, notes = snap_size(2048, 2048, native=512)
    assert any("native 512×512" in n for n in notes)
    with pytest.raises(UserInputError, match="whole number"):
        snap_size("wide", 512)  # type: ignore[arg-type]


def test_png_settings_round_trip() -> None:
    img = Image.new("RGB", (16, 8), (10, 200, 30))
    settings = {"prompt": "a bottle, 瓶子", "seed": 7, "steps": 2, "strength": None, "width": 16}
    data = png_bytes(img, settings)
    assert read_png_settings(data) == settings
    with Image.open(io.BytesIO(data)) as back:
        assert back.text["prompt"] == "a bottle, 瓶子" and back.text["seed"] == "7"
        assert back.size == (16, 8)


def test_png_without_settings_jpeg_and_garbage_are_refused() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, format="PNG")
    with pytest.raises(UserInputError, match="no AIGC Studio settings") as e:
        read_png_settings(buf.getvalue())
    assert e.value.hint
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, format="JPEG")
    with pytest.raises(UserInputError, match="JPEG"):
        read_png_settings(buf.getvalue())
    with pytest.raises(UserInputError, match="not a readable image"):
        read_png_settings(b"not an image at all")

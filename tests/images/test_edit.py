"""Inpainting, outpainting and upscaling: the tiny Stable Diffusion for the diffusion paths (2 steps), fixed
images for the non-diffusion upscaler; a mask of the wrong size is a clear error."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from aigc_core.errors import UserInputError
from aigc_core.images import gallery
from aigc_core.images.inpaint import inpaint, read_mask, rectangle_mask
from aigc_core.images.metadata import read_png_settings
from aigc_core.images.outpaint import extend_to_aspect, outpaint, pad_to_aspect
from aigc_core.images.upscale import upscale, upscale_image


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _scene(size: tuple[int, int] = (96, 64)) -> Image.Image:
    img = Image.new("RGB", size, (40, 120, 200))
    ImageDraw.Draw(img).rectangle((10, 10, 40, 40), fill=(250, 220, 30))
    return img


def test_inpaint_changes_only_the_masked_region(loaded) -> None:
    src = _scene()
    mask = Image.new("L", src.size, 0)
    ImageDraw.Draw(mask).rectangle((50, 16, 90, 56), fill=255)
    r = inpaint(_png(src), "a red ball", mask=_png(mask), loaded=loaded, seed=3, steps=2, strength=1.0)
    out = np.asarray(r.image.image).astype(int)
    before = np.asarray(src).astype(int)
    assert r.image.image.size == src.size
    far = np.ones(src.size[::-1], bool)
    far[:, 36:] = False  # beyond the mask's feathered edge (3 × 4 px blur): the source pixels, exactly
    assert np.array_equal(out[far], before[far])
    assert np.abs(out[20:52, 54:86] - before[20:52, 54:86]).mean() > 5  # inside: regenerated
    s = read_png_settings(r.image.png)
    assert s["mode"] == "inpaint" and s["inpaint_kind"] == "masked image-to-image" and s["seed"] == 3
    assert s["mask_hash"] and s["source_hash"] and s["steps"] == 2
    saved = gallery.get_image(r.image.generation_id)
    assert saved.settings["mode"] == "inpaint"
    assert gallery.load_source(s["mask_hash"])  # the mask is kept, so the edit can be repeated


def test_inpaint_same_seed_same_pixels_and_rectangle_mask(loaded) -> None:
    src = _png(_scene())
    a = inpaint(src, "moss", rectangle=(0.5, 0.2, 0.9, 0.8), loaded=loaded, seed=5, steps=2, save=False)
    b = inpaint(src, "moss", rectangle=(0.5, 0.2, 0.9, 0.8), loaded=loaded, seed=5, steps=2, save=False)
    assert np.array_equal(np.asarray(a.image.image), np.asarray(b.image.image))
    assert a.image.generation_id is None


def test_mask_of_the_wrong_size_is_a_clear_error(loaded) -> None:
    with pytest.raises(UserInputError, match=r"mask is 32×32 pixels but the image is 96×64"):
        inpaint(_png(_scene()), "x", mask=_png(Image.new("L", (32, 32), 255)), loaded=loaded, steps=2)
    with pytest.raises(UserInputError, match="mask is empty"):
        read_mask(_png(Image.new("L", (96, 64), 0)), (96, 64))
    with pytest.raises(UserInputError, match="not a readable image"):
        read_mask(b"nope", (96, 64))
    with pytest.raises(UserInputError, match="rectangle"):
        rectangle_mask((96, 64), (0.8, 0.1, 0.2, 0.5))


def test_pad_to_aspect_masks_only_the_new_area() -> None:
    canvas, mask, (ox, oy) = pad_to_aspect(_scene((100, 100)), 1920, 1080)
    assert canvas.size == (178, 100) and (ox, oy) == (39, 0)
    m = np.asarray(mask)
    assert m[:, :ox].min() == 255 and m[:, ox + 100 :].min() == 255  # the new strips are masked
    assert m[:, ox + 8 : ox + 92].max() == 0  # the source (less the seam overlap) is kept
    assert np.array_equal(np.asarray(canvas)[:, ox : ox + 100], np.asarray(_scene((100, 100))))


def test_outpaint_to_a_wider_aspect(loaded) -> None:
    r = outpaint(_png(_scene((64, 64))), 16, 9, "sky", loaded=loaded, seed=1, steps=2)
    img = r.image.image
    assert abs(img.width / img.height - 16 / 9) < 0.02 and img.height == 64
    s = read_png_settings(r.image.png)
    assert s["mode"] == "outpaint" and s["target_aspect"] == [16, 9]
    with pytest.raises(UserInputError, match="already"):
        outpaint(_png(_scene((64, 64))), 1, 1, loaded=loaded)


def test_extend_without_a_model_falls_back_to_an_edge_fill(settings) -> None:
    # offline with no model configured: the creative builder still gets an image of the right aspect
    out, info = extend_to_aspect(_scene((80, 80)), 1080, 1920)
    assert abs(out.width / out.height - 1080 / 1920) < 0.02
    assert info["method"].startswith("blurred edge fill")


def test_upscale_tiled_equals_whole_and_sizes() -> None:
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 255, (70, 90, 3), dtype=np.uint8))
    whole = upscale_image(img, 2, tile=10_000)
    tiled = upscale_image(img, 2, tile=48)
    assert whole.size == (180, 140)
    assert np.abs(np.asarray(whole).astype(int) - np.asarray(tiled).astype(int)).max() <= 1  # no seams
    assert upscale_image(img, 4).size == (360, 280)
    plain = upscale_image(img, 2, sharpen=False)
    assert np.asarray(whole).std() > np.asarray(plain).std()  # the unsharp mask adds local contrast


def test_upscale_saves_with_its_settings_and_rejects_bad_factors(settings) -> None:
    r = upscale(_png(_scene((40, 30))), 4)
    s = read_png_settings(r.image.png)
    assert r.image.image.size == (160, 120) and s["mode"] == "upscale" and s["factor"] == 4
    assert gallery.get_image(r.image.generation_id).size == (160, 120)
    with pytest.raises(UserInputError, match="2 or 4"):
        upscale_image(_scene(), 3)
    with pytest.raises(UserInputError, match="over 8192"):
        upscale_image(Image.new("RGB", (3000, 10)), 4)


def test_gallery_reproduces_and_varies_edits(loaded) -> None:
    src = _png(_scene())
    first = inpaint(src, "moss", rectangle=(0.5, 0.2, 0.9, 0.8), loaded=loaded, seed=8, steps=2)
    again = gallery.reproduce(first.image.generation_id, save=False)
    assert np.array_equal(np.asarray(again.images[0].image), np.asarray(first.image.image))
    varied = gallery.vary(first.image.generation_id, save=False)
    assert varied.images[0].seed != 8 and varied.images[0].settings["mode"] == "inpaint"
    out = outpaint(src, 1, 1, "sky", loaded=loaded, seed=2, steps=2)
    same = gallery.reproduce(out.image.generation_id, save=False)
    assert np.array_equal(np.asarray(same.images[0].image), np.asarray(out.image.image))
    up = upscale(src, 2)
    assert gallery.reproduce(up.image.generation_id, save=False).images[0].image.size == (192, 128)
    with pytest.raises(UserInputError, match="no seed"):
        gallery.vary(up.image.generation_id)

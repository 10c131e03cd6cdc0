"""The diffusion upscaler: a tiny random StableDiffusionUpscalePipeline (2 steps, 16×16 → 64×64) through the model
manager; sizes for 2× and 4×, recorded settings, seeds, the gallery's reproduce and vary, and clear errors."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aigc_core.errors import ModelUnavailableError, UserInputError
from aigc_core.images import gallery
from aigc_core.images.metadata import read_png_settings
from aigc_core.images.upscale import diffusion_configured, upscale, upscale_image


def _png(size: tuple[int, int] = (16, 16), prompt: str | None = None) -> bytes:
    rng = np.random.default_rng(1)
    img = Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
    buf = io.BytesIO()
    if prompt is None:
        img.save(buf, format="PNG")
        return buf.getvalue()
    from aigc_core.images.metadata import png_bytes

    return png_bytes(img, {"prompt": prompt, "seed": 5, "model": "tiny-sd"})


@pytest.fixture()
def upscaler(tiny_upscale_pipeline_dir: Path, settings, monkeypatch: pytest.MonkeyPatch) -> str:
    """The tiny upscaler set as AIGC_UPSCALE_MODEL (fresh data dir and store)."""
    from aigc_core.settings import reset_settings
    from aigc_core.store import init_store

    monkeypatch.setenv("AIGC_UPSCALE_MODEL", str(tiny_upscale_pipeline_dir))
    reset_settings()
    init_store()
    return str(tiny_upscale_pipeline_dir)


def test_4x_and_2x_record_every_setting(upscaler: str) -> None:
    assert diffusion_configured()
    four = upscale(_png(prompt="a red bicycle"), 4, steps=2, noise_level=30, seed=7)  # auto: the diffusion path
    s = read_png_settings(four.image.png)
    assert four.image.image.size == (64, 64) and (s["width"], s["height"]) == (64, 64)
    assert s["mode"] == "upscale" and s["method"] == "diffusion" and s["factor"] == 4 and s["resize"] is None
    assert s["pipeline"] == "StableDiffusionUpscalePipeline" and s["model_value"] == upscaler
    assert s["model_revision"].startswith("local-") and s["model_key"]
    assert (s["steps"], s["noise_level"], s["seed"], s["guidance"]) == (2, 30, 7, 9.0)
    assert s["user_prompt"] == "a red bicycle" and s["prompt"] == "a red bicycle"  # empty prompt: the source's
    assert s["source_seed"] == 5 and s["source_model"] == "tiny-sd"
    assert gallery.get_image(four.image.generation_id).size == (64, 64)

    two = upscale(_png((20, 12)), 2, method="diffusion", prompt="bricks", steps=2, seed=7, save=False)
    s2 = two.image.settings
    assert two.image.image.size == (40, 24) and s2["factor"] == 2
    assert "then lanczos to 2x" in s2["upscaler"] and s2["resize"] == "lanczos 80×48 → 40×24"
    assert s2["user_prompt"] == "bricks"


def test_same_seed_same_image_and_the_gallery_reproduces_it(upscaler: str) -> None:
    src = _png()
    a = upscale(src, 4, steps=2, seed=11)
    b = upscale(src, 4, steps=2, seed=11, save=False)
    assert np.array_equal(np.asarray(a.image.image), np.asarray(b.image.image))
    again = gallery.reproduce(a.image.generation_id, save=False)
    assert np.array_equal(np.asarray(again.images[0].image), np.asarray(a.image.image))
    varied = gallery.vary(a.image.generation_id, save=False)
    assert varied.images[0].seed != 11 and varied.images[0].settings["method"] == "diffusion"


def test_lanczos_is_unchanged_when_an_upscaler_is_configured(upscaler: str) -> None:
    src = _png((24, 16))
    r = upscale(src, 2, method="lanczos", save=False)
    assert r.image.settings["method"] == "lanczos" and r.image.settings["upscaler"] == "lanczos + unsharp mask"
    expected = upscale_image(Image.open(io.BytesIO(src)), 2)
    assert np.array_equal(np.asarray(r.image.image), np.asarray(expected))


def test_errors_no_model_too_large_bad_factor(settings, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not diffusion_configured()
    assert upscale(_png(), 2, save=False).image.settings["method"] == "lanczos"  # auto without a model
    with pytest.raises(ModelUnavailableError) as err:
        upscale(_png(), 4, method="diffusion", save=False)
    assert "AIGC_UPSCALE_MODEL" in err.value.message and "AIGC_UPSCALE_MODEL" in (err.value.hint or "")
    monkeypatch.setenv("AIGC_UPSCALE_MODEL", "off")
    from aigc_core.settings import reset_settings

    reset_settings()
    assert not diffusion_configured()
    monkeypatch.setenv("AIGC_UPSCALE_MODEL", "/does/not/matter")  # the size is checked before any load
    reset_settings()
    with pytest.raises(UserInputError, match="too large for the diffusion upscaler") as big:
        upscale(_png((600, 20)), 2, method="diffusion", save=False)
    assert "Lanczos" in (big.value.hint or "")
    with pytest.raises(UserInputError, match="2 or 4"):
        upscale(_png(), 3, method="diffusion", save=False)
    with pytest.raises(UserInputError, match="Unknown upscaling method"):
        upscale(_png(), 2, method="bicubic", save=False)


def test_bad_steps_noise_and_a_text_to_image_folder(upscaler: str, tiny_sd_dir: Path) -> None:
    with pytest.raises(UserInputError, match="Steps"):
        upscale(_png(), 4, steps=0, save=False)
    with pytest.raises(UserInputError, match="noise level must be 0 to 350"):
        upscale(_png(), 4, steps=2, noise_level=351, save=False)
    from aigc_core.users.roles import SYSTEM, acting_as

    # a folder is an admin's pick
    with acting_as(SYSTEM), pytest.raises(ModelUnavailableError, match="not a StableDiffusionUpscalePipeline"):
        upscale(_png(), 4, steps=2, model=str(tiny_sd_dir), save=False)

"""generate_images on the tiny pipeline: sizes, seeds, progress, cancel, schedulers, OOM retry, bad input."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from aigc_core.errors import AigcError, UserInputError
from aigc_core.images import ImageRequest, generate_images
from aigc_core.images import text2img as t2i_module
from aigc_core.images.metadata import read_png_settings


def _px(result, i: int = 0) -> np.ndarray:
    return np.asarray(result.images[i].image)


def _png(size: tuple[int, int] = (64, 64), color: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def test_text_to_image_requested_size_seed_and_progress(loaded) -> None:
    steps: list[tuple[int, int]] = []
    r = generate_images(
        ImageRequest(prompt="a red cube", width=72, height=48, steps=2, seed=11, num_images=2, save=False),
        loaded=loaded,
        on_step=lambda d, t: steps.append((d, t)),
    )
    assert [g.image.size for g in r.images] == [(72, 48), (72, 48)]
    assert r.seeds == [11, 12] and r.settings["seed"] == 11
    assert steps == [(2, 4), (4, 4)]
    assert r.images[0].settings["mode"] == "text-to-image" and not r.cancelled


def test_same_seed_same_pixels_other_seed_differs(loaded) -> None:
    req = {"prompt": "a blue bottle", "steps": 2, "save": False}
    a = generate_images(ImageRequest(**req, seed=3), loaded=loaded)
    b = generate_images(ImageRequest(**req, seed=3), loaded=loaded)
    c = generate_images(ImageRequest(**req, seed=4), loaded=loaded)
    assert np.array_equal(_px(a), _px(b))
    assert not np.array_equal(_px(a), _px(c))


def test_random_seed_is_recorded_and_reproduces(loaded) -> None:
    a = generate_images(ImageRequest(prompt="a lamp", steps=1, save=False), loaded=loaded)
    seed = a.images[0].seed
    assert isinstance(seed, int) and read_png_settings(a.images[0].png)["seed"] == seed
    b = generate_images(ImageRequest(prompt="a lamp", steps=1, seed=seed, save=False), loaded=loaded)
    assert np.array_equal(_px(a), _px(b))


def test_metadata_round_trip_png_to_settings_to_same_image(tiny_model, loaded) -> None:
    from aigc_core.images.gallery import request_from_settings

    a = generate_images(
        ImageRequest(prompt="a shoe", style="Poster", aspect="16:9", steps=2, seed=9, scheduler="Euler a"),
        loaded=loaded,
    )
    settings = read_png_settings(a.images[0].png)
    assert settings["style"] == "Poster" and settings["scheduler"] == "Euler a" and settings["aspect"] == "16:9"
    assert settings["model_revision"].startswith("local-")
    b = generate_images(request_from_settings(settings, save=False), loaded=loaded)
    assert b.images[0].image.size == a.images[0].image.size == (88, 48)
    assert np.array_equal(_px(a), _px(b))


def test_image_to_image_size_strength_and_reproducible(loaded) -> None:
    src = _png((100, 60))
    r = generate_images(
        ImageRequest(prompt="a sketch of a mug", init_image=src, strength=0.5, steps=4, seed=1, save=False),
        loaded=loaded,
    )
    img = r.images[0]
    assert r.settings["mode"] == "image-to-image" and r.settings["strength"] == 0.5
    assert img.image.size[0] % 8 == 0 and img.image.size[0] > img.image.size[1]  # keeps the landscape source
    assert len(r.settings["source_hash"]) == 64
    assert any("resized" in n for n in r.notes)
    r2 = generate_images(
        ImageRequest(prompt="a sketch of a mug", init_image=src, strength=0.5, steps=4, seed=1, width=64, height=64),
        loaded=loaded,
    )
    assert r2.images[0].image.size == (64, 64)


@pytest.mark.parametrize("scheduler", ["Euler", "DPM++ 2M", "DDIM"])
def test_schedulers_run(loaded, scheduler: str) -> None:
    r = generate_images(ImageRequest(prompt="a cup", steps=2, seed=0, scheduler=scheduler, save=False), loaded=loaded)
    assert r.images[0].image.size == (64, 64) and r.settings["scheduler"] == scheduler
    assert loaded.pipe.scheduler.__class__.__name__ == "EulerDiscreteScheduler"  # shared pipeline untouched


def test_turbo_defaults_and_size_snapping(loaded) -> None:
    assert loaded.is_turbo and loaded.default_steps == 1 and loaded.default_guidance == 0.0  # trailing spacing
    r = generate_images(ImageRequest(prompt="a cup", width=70, height=61, seed=0, save=False), loaded=loaded)
    assert r.settings["steps"] == 1 and r.settings["guidance"] == 0.0
    assert r.images[0].image.size == (72, 64)
    assert any("70 px was changed to 72 px" in n for n in r.notes)


def test_cancel_stops_and_drops_the_half_denoised_batch(loaded) -> None:
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 2  # first batch call + its one step pass, then stop

    r = generate_images(
        ImageRequest(prompt="a cup", steps=3, seed=0, num_images=1, save=False), loaded=loaded, should_stop=stop
    )
    assert r.cancelled and r.images == [] and any("Cancelled: 0 of 1" in n for n in r.notes)
    assert calls["n"] == 3  # stopped inside the step callback, not after the whole run


def test_cancel_between_batches_keeps_finished_images(loaded, monkeypatch) -> None:
    fake = _OomPipe()
    monkeypatch.setattr(t2i_module, "forward", fake)
    r = generate_images(
        ImageRequest(prompt="a cup", seed=5, num_images=3, save=False),
        loaded=loaded,
        should_stop=lambda: len(fake.batches) >= 3,  # 3 at once fails, then 1 ok, then stop during the next
    )
    assert r.cancelled and r.seeds == [5] and fake.batches == [3, 1, 1]


class _OomPipe:
    """Stand-in forward: out of memory above one image at once."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    def __call__(self, pipe, plan, seeds, device, callback):
        import torch

        self.batches.append(len(seeds))
        if len(seeds) > 1:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        callback(pipe, 0, 1, {})
        return [Image.new("RGB", (plan.width, plan.height), (seeds[0] % 255, 0, 0))]


def test_out_of_memory_retries_with_smaller_batches(loaded, monkeypatch) -> None:
    fake = _OomPipe()
    monkeypatch.setattr(t2i_module, "forward", fake)
    r = generate_images(ImageRequest(prompt="a cup", steps=1, seed=5, num_images=4, save=False), loaded=loaded)
    assert fake.batches == [4, 2, 1, 1, 1, 1]
    assert r.seeds == [5, 6, 7, 8] and r.batches == [1, 1, 1, 1]
    assert any("Ran out of GPU memory with 4 images" in n for n in r.notes)
    assert [g.image.getpixel((0, 0))[0] for g in r.images] == [5, 6, 7, 8]


def test_out_of_memory_for_one_image_is_a_clear_error(loaded, monkeypatch) -> None:
    import torch

    def always_oom(*_a, **_k):
        raise torch.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(t2i_module, "forward", always_oom)
    with pytest.raises(AigcError, match="Out of GPU memory even for one") as e:
        generate_images(ImageRequest(prompt="a cup", seed=1, save=False), loaded=loaded)
    assert "smaller size" in e.value.hint


def test_other_errors_are_not_retried(loaded, monkeypatch) -> None:
    def broken(*_a, **_k):
        raise ValueError("boom")

    monkeypatch.setattr(t2i_module, "forward", broken)
    with pytest.raises(ValueError, match="boom"):
        generate_images(ImageRequest(prompt="a cup", num_images=2, save=False), loaded=loaded)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"prompt": "   "}, "prompt is empty"),
        ({"prompt": "x" * 2001}, "limit is 2000"),
        ({"prompt": "a cup", "num_images": 0}, "Images per prompt"),
        ({"prompt": "a cup", "num_images": 17}, "Images per prompt"),
        ({"prompt": "a cup", "steps": 0}, "Steps must be"),
        ({"prompt": "a cup", "guidance": -1}, "Guidance must be"),
        ({"prompt": "a cup", "scheduler": "Heun"}, "Unknown scheduler"),
        ({"prompt": "a cup", "seed": "abc"}, "whole number"),
        ({"prompt": "a cup", "seed": -5}, "seed must be"),
        ({"prompt": "a cup", "aspect": "2:1"}, "Unknown aspect"),
        ({"prompt": "a cup", "init_image": b"", "strength": 0.5}, "empty"),
        ({"prompt": "a cup", "init_image": b"\x89PNG garbage", "strength": 0.5}, "not a readable image"),
        ({"prompt": "a cup", "init_image": b"x", "strength": 0.0}, "Strength must be"),
        ({"prompt": "a cup", "init_image": b"x", "strength": 1.5}, "Strength must be"),
    ],
)
def test_bad_inputs_are_clear_errors(loaded, kwargs, match: str) -> None:
    with pytest.raises(UserInputError, match=match) as e:
        generate_images(ImageRequest(**kwargs, save=False), loaded=loaded)
    assert e.value.hint


def test_too_few_steps_for_strength(loaded) -> None:
    with pytest.raises(UserInputError, match="steps × strength") as e:
        generate_images(
            ImageRequest(prompt="a cup", init_image=_png(), strength=0.3, steps=2, save=False), loaded=loaded
        )
    assert "at least 4 steps" in e.value.hint


def test_huge_uploads_are_refused_with_the_limit(loaded, monkeypatch) -> None:
    from aigc_core.settings import reset_settings

    monkeypatch.setenv("AIGC_MAX_UPLOAD_MB", "1")
    reset_settings()
    with pytest.raises(UserInputError, match="limit is 1 MB"):
        generate_images(ImageRequest(prompt="a cup", init_image=b"\0" * (2 * 2**20), save=False), loaded=loaded)
    big = io.BytesIO()
    Image.new("L", (4200, 4100)).save(big, format="PNG")  # compresses to a few KB, but 17 megapixels
    with pytest.raises(UserInputError, match="4200×4100 pixels"):
        generate_images(ImageRequest(prompt="a cup", init_image=big.getvalue(), save=False), loaded=loaded)


def test_brand_kit_banned_words_apply_to_prompts(loaded) -> None:
    from aigc_core.images.brand import check_prompt
    from aigc_core.store import BrandKit, session_scope

    with session_scope() as s:
        s.add(BrandKit(name="Acme", banned=["guaranteed", "无风险"]))
        s.add(BrandKit(name="Other", banned=["cheap"]))
    with pytest.raises(UserInputError, match="guaranteed"):
        generate_images(ImageRequest(prompt="a Guaranteed fresh bottle", save=False), loaded=loaded)
    with pytest.raises(UserInputError, match="无风险"):
        check_prompt("一个无风险的瓶子", "Acme")
    check_prompt("a cheap bottle", "Acme")  # only that kit's words
    check_prompt("guaranteedly fine", None)  # whole words only
    # the negative prompt may name banned words
    r = generate_images(
        ImageRequest(prompt="a bottle", negative_prompt="guaranteed", steps=1, save=False), loaded=loaded
    )
    assert r.images

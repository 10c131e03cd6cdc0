"""LoRA styles on the tiny pipeline: a tiny LoRA made here with PEFT, loaded with a strength, several at once,
recorded in the image's settings and reproduced; bad files are clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aigc_core.errors import NotFoundError, UserInputError
from aigc_core.images import ImageRequest, gallery, generate_images, lora
from aigc_core.images.inpaint import inpaint


def make_tiny_lora(folder: Path, name: str, seed: int) -> Path:
    """A random (non-zero) LoRA for the tiny UNet's attention layers, saved as diffusers safetensors."""
    import torch
    from diffusers import StableDiffusionPipeline
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    from aigc_core.images.tiny import build_tiny_pipeline

    unet = build_tiny_pipeline().unet
    torch.manual_seed(seed)
    unet.add_adapter(
        LoraConfig(r=2, lora_alpha=2, init_lora_weights=False, target_modules=["to_q", "to_k", "to_v", "to_out.0"])
    )
    with torch.no_grad():
        for n, p in unet.named_parameters():
            if "lora_B" in n:
                p.mul_(50.0)  # strong enough to change a 2-step 64×64 image visibly
    state = convert_state_dict_to_diffusers(get_peft_model_state_dict(unet))
    StableDiffusionPipeline.save_lora_weights(folder, unet_lora_layers=state, weight_name=f"{name}.safetensors")
    return folder / f"{name}.safetensors"


@pytest.fixture()
def loras(loaded) -> list[str]:
    make_tiny_lora(lora.lora_dir(), "ink", 1)
    make_tiny_lora(lora.lora_dir(), "neon", 2)
    return lora.list_loras()


def _run(loaded, loras=None, seed: int = 9):
    req = ImageRequest(prompt="a cube", steps=2, seed=seed, loras=loras or [], save=True)
    return generate_images(req, loaded=loaded)


def _px(result) -> np.ndarray:
    return np.asarray(result.images[0].image).astype(int)


def test_lora_changes_the_image_with_its_strength_and_is_recorded(loaded, loras: list[str]) -> None:
    assert loras == ["ink", "neon"]
    base = _run(loaded)
    styled = _run(loaded, [("ink", 1.0)])
    zero = _run(loaded, [("ink", 0.0)])
    after = _run(loaded)
    assert np.abs(_px(styled) - _px(base)).mean() > 1
    assert np.array_equal(_px(zero), _px(base))  # strength 0: the base model
    assert np.array_equal(_px(after), _px(base))  # the next request without LoRA is not styled
    recorded = styled.images[0].settings["loras"]
    assert [(d["name"], d["strength"]) for d in recorded] == [("ink", 1.0)] and len(recorded[0]["sha256"]) == 64
    assert base.images[0].settings["loras"] == []


def test_two_loras_at_once_and_reproduce(loaded, loras: list[str]) -> None:
    one = _run(loaded, [("ink", 0.8)])
    both = _run(loaded, [("ink", 0.8), ("neon", 0.6)])
    assert np.abs(_px(both) - _px(one)).mean() > 0.5
    item = gallery.get_image(both.images[0].generation_id)
    assert [d["name"] for d in item.settings["loras"]] == ["ink", "neon"]
    _run(loaded)  # another request in between resets the adapters
    again = gallery.reproduce(item.id, save=False)
    assert np.array_equal(_px(again), _px(both))


def test_lora_applies_to_inpainting_too(loaded, loras: list[str]) -> None:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (90, 90, 90)).save(buf, format="PNG")
    r = inpaint(buf.getvalue(), "x", rectangle=(0, 0, 1, 1), loaded=loaded, steps=2, loras=[("neon", 1.0)])
    assert r.image.settings["loras"][0]["name"] == "neon"


def test_bad_loras_are_clear_errors(loaded, loras: list[str]) -> None:
    with pytest.raises(NotFoundError, match="no LoRA 'missing'"):
        _run(loaded, [("missing", 1.0)])
    with pytest.raises(UserInputError, match="-2 to 2"):
        _run(loaded, [("ink", 5.0)])
    (lora.lora_dir() / "junk.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(UserInputError, match="could not be loaded as a LoRA"):
        _run(loaded, [("junk", 1.0)])
    assert np.array_equal(_px(_run(loaded)), _px(_run(loaded)))  # the pipeline still works afterwards

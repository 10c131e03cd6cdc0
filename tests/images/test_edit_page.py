"""AppTest of the Images page's Edit tab (upscale without a model and with the tiny diffusion upscaler; inpaint
with the tiny pipeline; a mask of the wrong size) and of the LoRA styles in the Generate form."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from streamlit.testing.v1 import AppTest

from tests.images.test_lora import make_tiny_lora

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "images.py")


def _png(size: tuple[int, int] = (48, 32), colour: tuple[int, int, int] = (20, 140, 90)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="PNG")
    return buf.getvalue()


def _ok(at: AppTest) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def test_upscale_works_without_a_diffusion_model(settings) -> None:
    from aigc_core.images import gallery

    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    at.radio(key="edit_source").set_value("Upload").run()
    at.file_uploader(key="edit_upload").set_value(("small.png", _png(), "image/png"))
    at.radio(key="edit_op").set_value("Upscale").run()
    assert "edit_up_method" not in [r.key for r in at.radio]  # no diffusion upscaler configured: Lanczos only
    assert any("AIGC_UPSCALE_MODEL" in c.value for c in at.caption)
    at.radio(key="edit_factor").set_value(4)
    at.button(key="edit_run").click().run()
    _ok(at)
    (item,) = gallery.list_images()
    assert item.settings["mode"] == "upscale" and item.size == (192, 128)
    assert item.settings["method"] == "lanczos"
    assert at.get("download_button")


def test_upscale_with_the_diffusion_upscaler(settings, tiny_upscale_pipeline_dir: Path, monkeypatch) -> None:
    from aigc_core.images import gallery
    from aigc_core.settings import reset_settings

    monkeypatch.setenv("AIGC_UPSCALE_MODEL", str(tiny_upscale_pipeline_dir))
    reset_settings()
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    at.radio(key="edit_source").set_value("Upload").run()
    at.file_uploader(key="edit_upload").set_value(("small.png", _png((16, 12)), "image/png"))
    at.radio(key="edit_op").set_value("Upscale").run()
    assert at.radio(key="edit_up_method").value == "diffusion"  # the configured upscaler is the default
    at.text_input(key="edit_up_prompt").input("green grass")
    at.number_input(key="edit_up_steps").set_value(2)
    at.number_input(key="edit_up_noise").set_value(40)
    at.number_input(key="edit_up_seed").set_value(3)
    at.radio(key="edit_factor").set_value(2)
    at.button(key="edit_run").click().run()
    _ok(at)
    (item,) = gallery.list_images()
    s = item.settings
    assert item.size == (32, 24) and s["method"] == "diffusion" and s["factor"] == 2
    assert (s["steps"], s["noise_level"], s["seed"], s["user_prompt"]) == (2, 40, 3, "green grass")
    at.radio(key="edit_up_method").set_value("lanczos").run()
    assert at.checkbox(key="edit_sharpen").value is True


def test_inpaint_a_gallery_image_with_a_rectangle(tiny_model) -> None:
    from aigc_core.images import gallery

    gid, _ = gallery.save_png(_png((64, 64)), {"prompt": "green square", "seed": 1, "width": 64, "height": 64})
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    _ok(at)
    assert at.selectbox(key="edit_gallery").value == gid
    at.text_input(key="edit_prompt").input("a red dot")
    at.number_input(key="edit_steps").set_value(2)
    at.button(key="edit_run").click().run()
    _ok(at)
    modes = sorted(i.settings.get("mode", "") for i in gallery.list_images())
    assert "inpaint" in modes


def test_mask_of_the_wrong_size_is_a_message(tiny_model) -> None:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    at.radio(key="edit_source").set_value("Upload").run()
    at.file_uploader(key="edit_upload").set_value(("img.png", _png((64, 64)), "image/png"))
    at.text_input(key="edit_prompt").input("x")
    at.radio(key="edit_mask_mode").set_value("Upload a mask").run()
    at.file_uploader(key="edit_mask").set_value(("mask.png", _png((32, 32), (255, 255, 255)), "image/png"))
    at.button(key="edit_run").click().run()
    assert not at.exception
    assert any("mask is 32×32 pixels but the image is 64×64" in e.value for e in at.error)


def test_lora_styles_in_the_generate_form(tiny_model) -> None:
    from aigc_core.images import gallery, lora

    make_tiny_lora(lora.lora_dir(), "ink", 1)
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    _ok(at)
    at.text_area(key="img_prompt").input("a cube")
    at.multiselect(key="img_loras").set_value(["ink"]).run()
    at.slider(key="img_lora_w_ink").set_value(0.5)
    at.button(key="img_generate").click().run()
    _ok(at)
    (item,) = gallery.list_images()
    assert [(d["name"], d["strength"]) for d in item.settings["loras"]] == [("ink", 0.5)]

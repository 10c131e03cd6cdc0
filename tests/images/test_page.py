"""AppTest of pages/images.py: explanation without a model; generate, gallery and restore with the tiny pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "images.py")


def _all_text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [i.value for i in at.info] + [c.value for c in at.caption]
    parts += [s.value for s in at.success] + [w.value for w in at.warning]
    return "\n".join(str(p) for p in parts)


def test_no_model_shows_the_explanation_not_an_error(settings) -> None:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    text = _all_text(at)
    assert "AIGC_TEXT_TO_IMAGE_MODEL" in text and "stabilityai/sd-turbo" in text and "model_index.json" in text
    assert "Why:" in text  # the reason the default model is unavailable (offline)
    assert at.title[0].value == "Images"
    # the empty gallery says how to get a model, not "Generate some on the Generate tab" (there is none)
    gallery_note = " ".join(i.value for i in at.info)
    assert (
        "Generate tab" not in gallery_note
        and "AIGC_TEXT_TO_IMAGE_MODEL=/models/sd-turbo scripts/run-app" in gallery_note
    )


def test_bad_model_folder_is_explained(settings, tmp_path, monkeypatch) -> None:
    from aigc_core.settings import reset_settings

    monkeypatch.setenv("AIGC_TEXT_TO_IMAGE_MODEL", str(tmp_path))
    reset_settings()
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception and not at.error
    assert "not a diffusers model folder" in _all_text(at)


@pytest.fixture()
def page(tiny_model) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def test_generate_with_the_tiny_pipeline(page: AppTest) -> None:
    from aigc_core.images import gallery

    assert "native 64×64" in _all_text(page)
    assert page.number_input(key="img_steps").value == 1  # turbo-like default
    page.text_area(key="img_prompt").input("a red cube")
    page.selectbox(key="img_style").select("Product photo").run()
    assert "studio lighting" in page.text_area(key="img_style_prompt").value  # fragments shown, editable
    page.text_area(key="img_style_prompt").input("studio lighting")
    page.radio(key="img_seed_mode").set_value("Fixed").run()
    page.number_input(key="img_seed").set_value(7)
    page.number_input(key="img_n").set_value(2)
    page.button(key="img_generate").click().run()
    assert not page.exception, page.exception
    assert not page.error, [e.value for e in page.error]
    assert len(page.get("image")) >= 1 and page.get("download_button")
    assert "Seeds 7–8" in _all_text(page)
    items = gallery.list_images()
    assert sorted(i.seed for i in items) == [7, 8]
    assert all(i.settings["style_prompt"] == "studio lighting" and i.style == "Product photo" for i in items)


def test_empty_prompt_is_a_message(page: AppTest) -> None:
    page.button(key="img_generate").click().run()
    assert not page.exception
    assert any("prompt is empty" in e.value for e in page.error)


def test_custom_size_is_snapped_and_said(page: AppTest) -> None:
    page.text_area(key="img_prompt").input("a lamp")
    page.selectbox(key="img_aspect").select("Custom size").run()
    page.number_input(key="img_width").set_value(70)
    page.number_input(key="img_height").set_value(64)
    page.button(key="img_generate").click().run()
    assert not page.exception and not page.error
    assert "70 px was changed to 72 px" in _all_text(page)


def test_gallery_detail_favourite_restore(page: AppTest, loaded) -> None:
    from aigc_core.images import ImageRequest, gallery, generate_images

    r = generate_images(ImageRequest(prompt="a blue sofa", style="Poster", seed=99, steps=1), loaded=loaded)
    gid = r.images[0].generation_id
    page.run()
    page.checkbox(key=f"gal_sel_{gid}").check().run()
    assert page.get("download_button")  # zip of the selection (and nothing failed building it)
    page.button(key=f"gal_open_{gid}").click().run()
    assert not page.exception and not page.error
    page.button(key="gal_fav_toggle").click().run()
    assert gallery.get_image(gid).favourite
    page.button(key="gal_use").click().run()
    assert not page.exception, page.exception
    assert page.text_area(key="img_prompt").value == "a blue sofa"
    assert page.number_input(key="img_seed").value == 99 and page.radio(key="img_seed_mode").value == "Fixed"
    assert page.selectbox(key="img_style").value == "Poster"
    page.checkbox(key="gal_del_confirm").check().run()
    page.button(key="gal_delete").click().run()
    assert not page.exception
    assert gallery.list_images() == []


def test_large_batch_goes_to_the_job_runner(page: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("aigc_core.jobs")
    from aigc_core import jobs

    page.text_area(key="img_prompt").input("a tent")
    page.number_input(key="img_n").set_value(6).run()
    assert "in the background" in page.button(key="img_generate").label
    page.button(key="img_generate").click().run()
    assert not page.exception and not page.error
    queued = jobs.list_jobs(kind="images.batch")
    assert len(queued) == 1 and queued[0].params["num_images"] == 6
    assert page.session_state["img_job"] == queued[0].id
    assert any("queued" in str(p.proto) for p in page.get("progress"))
    # the worker finishes it: the panel (a self-refreshing fragment) says where the images went
    import dataclasses

    done = dataclasses.replace(queued[0], status="succeeded", progress=1.0, result={"generation_ids": ["a", "b"]})
    monkeypatch.setattr(jobs, "get", lambda job_id: done)
    page.run()
    assert not page.exception
    assert any("2 image(s) saved" in s.value for s in page.success)
    assert page.session_state["img_job_seen_done"] == done.id


def _png_bytes(size=(80, 64)) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(buf, format="PNG")
    return buf.getvalue()


def test_image_to_image_from_an_upload(page: AppTest) -> None:
    from aigc_core.images import gallery

    page.text_area(key="img_prompt").input("a sketch of a mug")
    page.file_uploader(key="img_init").set_value(("sketch.png", _png_bytes(), "image/png"))
    page.selectbox(key="img_aspect").select("Like the source image")
    page.button(key="img_generate").click().run()
    assert not page.exception, page.exception
    assert not page.error, [e.value for e in page.error]
    assert page.get("image")
    (item,) = gallery.list_images()
    assert item.settings["mode"] == "image-to-image" and item.settings["steps"] == 2  # turbo: steps × 0.5 ≥ 1
    assert item.size[0] > item.size[1]  # keeps the landscape source


def test_restore_settings_from_an_uploaded_png(page: AppTest, loaded) -> None:
    from aigc_core.images import ImageRequest, generate_images

    r = generate_images(ImageRequest(prompt="a tent at dusk", seed=1234, steps=1, save=False), loaded=loaded)
    page.file_uploader(key="gal_restore").set_value(("made_here.png", r.images[0].png, "image/png")).run()
    page.button(key="gal_restore_go").click().run()
    assert not page.exception, page.exception
    assert page.text_area(key="img_prompt").value == "a tent at dusk"
    assert page.number_input(key="img_seed").value == 1234
    assert any("Settings restored" in s.value for s in page.success)


def test_restore_from_a_png_without_settings_is_a_clear_message(page: AppTest) -> None:
    page.file_uploader(key="gal_restore").set_value(("other.png", _png_bytes(), "image/png")).run()
    page.button(key="gal_restore_go").click().run()
    assert not page.exception
    assert any("carries no AIGC Studio settings" in e.value for e in page.error)


def test_cancel_click_reports_the_cancel(page: AppTest) -> None:
    page.session_state["img_cancelled"] = True  # what the Cancel button's on_click sets before its rerun
    page.run()
    assert not page.exception
    assert any("Generation cancelled" in w.value for w in page.warning)
    page.run()
    assert not any("Generation cancelled" in w.value for w in page.warning)

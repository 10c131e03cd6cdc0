"""AppTest of pages/creatives.py: pick a gallery image and a copy variant, build every size, download the ZIP."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from aigc_core.images.metadata import png_bytes

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "creatives.py")


@pytest.fixture()
def gallery_image(settings) -> str:
    from aigc_core.images import gallery

    img = Image.new("RGB", (512, 512), (230, 230, 220))
    ImageDraw.Draw(img).ellipse((300, 100, 460, 260), fill=(20, 80, 160))
    gid, _ = gallery.save_png(png_bytes(img, {"prompt": "a blue ball", "seed": 77}), {"prompt": "a blue ball",
                                                                                    "seed": 77, "width": 512,
                                                                                    "height": 512})  # fmt: skip
    return gid


def _copy_history() -> None:
    from aigc_core.store import Generation, session_scope

    with session_scope() as s:
        s.add(
            Generation(
                kind="copy",
                owner="system",
                model="m",
                model_revision="r",
                prompt="brief",
                params={},
                outputs=[{"text": "Bounce into summer.", "passes": True}],
                meta={"brief": {"product": "Ball", "channel": "instagram"}},
            )
        )


def test_build_from_gallery_and_history_then_download_zip(gallery_image: str) -> None:
    _copy_history()
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.selectbox(key="cr_image").value == gallery_image
    assert at.text_area(key="cr_headline").value == "Bounce into summer."  # the history variant, editable
    at.multiselect(key="cr_placements").set_value(["feed", "leaderboard", "mrec"])
    at.button(key="cr_build").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert len(at.get("image")) >= 1 + 3  # the picked thumbnail and one preview per size
    dl = at.get("download_button")
    assert dl, "no ZIP download"
    data = at.session_state["cr_result"]["zip"]
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
    assert names == {"feed_1080x1080.png", "leaderboard_728x90.png", "mrec_300x250.png", "manifest.json"}
    assert manifest["image"]["generation_id"] == gallery_image and manifest["image"]["seed"] == 77
    assert manifest["copy"]["headline"] == "Bounce into summer." and manifest["copy"]["variant"] == 0
    assert manifest["copy"]["cta"] == "Shop now"


def test_typed_copy_with_a_kit_and_a_bad_logo(gallery_image: str) -> None:
    from aigc_core.copy.guardrails import save_kit

    save_kit("Acme")
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    at.radio(key="cr_copy_mode").set_value("Type it").run()
    at.text_area(key="cr_headline").input("夏日清凉，一瓶就够。")
    at.text_input(key="cr_cta").input("立即购买")
    at.selectbox(key="cr_kit").select("Acme").run()
    assert not at.exception and not at.error
    at.button(key="cr_build").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(at.session_state["cr_result"]["zip"])).read("manifest.json"))
    assert manifest["copy"]["headline"] == "夏日清凉，一瓶就够。" and manifest["brand_kit"]["name"] == "Acme"
    assert len(manifest["creatives"]) == 5


def test_empty_headline_is_a_message_not_a_crash(gallery_image: str) -> None:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    at.radio(key="cr_copy_mode").set_value("Type it").run()
    at.button(key="cr_build").click().run()
    assert not at.exception
    assert any("headline is empty" in e.value for e in at.error)


def test_batch_tab_queues_a_job_and_offers_its_zip(gallery_image: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from aigc_core import jobs
    from aigc_core.storage import atomic_write_bytes, folder

    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    csv = "product,text,prompt\nBall,Bounce into summer.,a blue ball\n"
    at.file_uploader(key="cr_batch_csv").set_value(("copy.csv", csv.encode(), "text/csv")).run()
    at.text_input(key="cr_batch_prompt").input("prompt")
    at.multiselect(key="cr_batch_sizes").set_value(["mrec"])
    at.button(key="cr_batch_go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    (queued,) = jobs.list_jobs(kind="images.creatives")
    assert queued.params["prompt_column"] == "prompt" and queued.params["placements"] == ["mrec"]
    assert at.session_state["cr_batch_job"] == queued.id
    out = atomic_write_bytes(folder("exports") / "creatives_batch.zip", b"PK\x05\x06" + b"\x00" * 18)
    done = dataclasses.replace(queued, status="succeeded", progress=1.0, result={"output": str(out)})
    monkeypatch.setattr(jobs, "get", lambda job_id: done)
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any(b.label == "Download the batch ZIP" for b in at.get("download_button"))


def test_batch_with_a_missing_column_is_a_message(gallery_image: str) -> None:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    at.file_uploader(key="cr_batch_csv").set_value(("copy.csv", b"product,slogan\nBall,Hi\n", "text/csv")).run()
    at.selectbox(key="cr_batch_image").set_value(gallery_image)
    at.button(key="cr_batch_go").click().run()
    assert not at.exception
    assert any("no column" in e.value and "text" in e.value for e in at.error), [e.value for e in at.error]

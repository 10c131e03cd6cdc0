"""The Images page shows prompts and the settings of uploaded PNGs only escaped: a Markdown image or link in a
prompt never renders in the gallery, the detail view or the restore note."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.fixtures.markdown import assert_only_escaped

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "images.py")
PAYLOAD = "![x](http://127.0.0.1:9/x.png)"


def test_prompts_and_restored_settings_render_escaped(tiny_model, loaded) -> None:
    from aigc_core.images import ImageRequest, generate_images
    from aigc_core.images.metadata import png_bytes

    request = ImageRequest(prompt=f"a cup {PAYLOAD}", negative_prompt=PAYLOAD, seed=5, steps=1)
    r = generate_images(request, loaded=loaded)
    gid = r.images[0].generation_id
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    at.button(key=f"gal_open_{gid}").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    kinds = {kind for kind, _ in assert_only_escaped(at, PAYLOAD, at_least=3)}
    assert {"caption", "markdown"} <= kinds, kinds  # the gallery tile and the detail's prompt lines
    assert not at.get("table")  # the settings are a dataframe: plain text
    # a PNG made elsewhere can carry any settings: its model name is said in the restore note
    forged = png_bytes(r.images[0].image, {**r.images[0].settings, "model": PAYLOAD})
    at.file_uploader(key="gal_restore").set_value(("forged.png", forged, "image/png")).run()
    at.button(key="gal_restore_go").click().run()
    assert not at.exception, at.exception
    assert any("Settings restored" in s.value for s in at.success)
    assert_only_escaped(at, PAYLOAD, at_least=1)

"""Creatives from a gallery image, copy and a brand kit: one PNG per placement, a ZIP with a manifest that
rebuilds the same pixels; the kit's visual rules are validated before anything is stored."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image, ImageDraw

from aigc_core.errors import PermissionDeniedError, UserInputError
from aigc_core.images import brand, creatives, fonts, gallery, layout
from aigc_core.images.creatives import CreativeRequest, build_creatives
from aigc_core.images.metadata import png_bytes
from aigc_core.users.roles import Actor


def _photo() -> bytes:
    img = Image.new("RGB", (640, 480), (30, 90, 60))
    ImageDraw.Draw(img).ellipse((400, 120, 560, 300), fill=(240, 240, 240))
    return png_bytes(img, {"prompt": "a bottle on moss", "seed": 1234, "width": 640, "height": 480})


def _logo() -> bytes:
    img = Image.new("RGBA", (120, 60), (0, 0, 0, 0))
    ImageDraw.Draw(img).rectangle((5, 5, 115, 55), fill=(250, 200, 0, 255))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture()
def image_id(settings) -> str:
    gid, _ = gallery.save_png(_photo(), {"prompt": "a bottle on moss", "seed": 1234, "width": 640, "height": 480})
    return gid


@pytest.fixture()
def kit(settings) -> str:
    from aigc_core.copy.guardrails import save_kit

    save_kit("Acme", voice="Warm")
    font = fonts.latin_font_path()
    brand.save_visual(
        "Acme",
        primary="#0a7d32",
        text="#ffffff",
        margin=0.06,
        logo=_logo(),
        font=open(font, "rb").read() if font else None,  # noqa: SIM115
        font_name="AcmeSans.ttf",
    )
    return "Acme"


def test_every_placement_zip_and_manifest(image_id: str, kit: str) -> None:
    result = build_creatives(
        CreativeRequest(
            headline="Cold water for 24 hours",
            cta="Shop now",
            image_id=image_id,
            brand_kit=kit,
            copy_ref={"copy_generation_id": "abc", "variant": 1},
        )
    )
    assert [c.placement for c in result.creatives] == list(layout.PLACEMENTS)
    with zipfile.ZipFile(io.BytesIO(result.zip_bytes())) as zf:
        names = zf.namelist()
        manifest = json.loads(zf.read("manifest.json"))
        sizes = {n: Image.open(io.BytesIO(zf.read(n))).size for n in names if n.endswith(".png")}
    assert sizes == {
        "feed_1080x1080.png": (1080, 1080),
        "story_1080x1920.png": (1080, 1920),
        "link_1200x628.png": (1200, 628),
        "mrec_300x250.png": (300, 250),
        "leaderboard_728x90.png": (728, 90),
    }
    assert manifest["image"]["generation_id"] == image_id and manifest["image"]["seed"] == 1234
    assert manifest["image"]["settings"]["prompt"] == "a bottle on moss"
    assert manifest["copy"] == {"headline": "Cold water for 24 hours", "cta": "Shop now", "copy_generation_id": "abc",
                                "variant": 1}  # fmt: skip
    kit_info = manifest["brand_kit"]
    assert kit_info["name"] == "Acme" and kit_info["primary"] == "#0a7d32" and kit_info["version"]
    assert kit_info["logo_sha256"] and kit_info["margin"] == 0.06
    for entry in manifest["creatives"]:
        assert entry["file"] in sizes and entry["layout_version"] == layout.LAYOUT_VERSION
        assert all(t["passes"] for t in entry["texts"]) and entry["logo_box"]
        assert len(entry["crop"]) == 4
    if fonts.latin_font_path():
        assert manifest["creatives"][0]["texts"][0]["font"] == "AcmeSans.ttf"


def test_manifest_rebuilds_the_same_pixels(image_id: str, kit: str) -> None:
    first = build_creatives(CreativeRequest(headline="Hello", cta="Go", image_id=image_id, brand_kit=kit,
                                            placements=["mrec", "leaderboard"]))  # fmt: skip
    again = creatives.rebuild(first.manifest)
    for a, b in zip(first.creatives, again.creatives, strict=True):
        assert np.array_equal(np.asarray(a.layout.image), np.asarray(b.layout.image))
    assert again.manifest["brand_kit"]["version"] == first.manifest["brand_kit"]["version"]


def test_kit_version_changes_with_its_visual_rules(kit: str) -> None:
    before = brand.get_visual(kit).version
    brand.save_visual(kit, primary="#112233")
    assert brand.get_visual(kit).version != before


def test_bad_logo_and_bad_font_are_clear_errors_and_change_nothing(kit: str) -> None:
    before = brand.get_visual(kit)
    with pytest.raises(UserInputError, match="logo is not a readable image"):
        brand.save_visual(kit, logo=b"not an image", primary="#000000")
    with pytest.raises(UserInputError, match="not a font"):
        brand.save_visual(kit, font=b"\x00\x01\x00\x00 but not really a font", font_name="Fake.ttf")
    with pytest.raises(UserInputError, match="not a colour"):
        brand.save_visual(kit, primary="green-ish")
    after = brand.get_visual(kit)
    assert after.version == before.version and after.logo == before.logo and after.primary == before.primary


def test_only_the_kit_owner_or_an_admin_changes_its_visuals(kit: str) -> None:
    with pytest.raises(PermissionDeniedError):
        brand.save_visual(kit, primary="#000000", actor=Actor("vera", "viewer"))
    with pytest.raises(PermissionDeniedError):
        brand.save_visual(kit, primary="#000000", actor=Actor("bob", "editor"))  # not bob's kit


def test_bad_requests_are_clear_errors(image_id: str) -> None:
    with pytest.raises(UserInputError, match="headline is empty"):
        build_creatives(CreativeRequest(headline=" ", image_id=image_id))
    with pytest.raises(UserInputError, match="Unknown placement"):
        build_creatives(CreativeRequest(headline="Hi", image_id=image_id, placements=["billboard"]))
    with pytest.raises(UserInputError, match="No image"):
        build_creatives(CreativeRequest(headline="Hi"))
    with pytest.raises(UserInputError, match="not a readable image"):
        build_creatives(CreativeRequest(headline="Hi", image=b"plain text"))


def test_uploaded_image_and_chinese_copy(settings) -> None:
    result = build_creatives(CreativeRequest(headline="夏日清凉，一瓶就够。", cta="立即购买", image=_photo(),
                                             placements=["feed"]))  # fmt: skip
    assert result.manifest["image"]["generation_id"] is None and result.manifest["brand_kit"]["version"] == "default"
    texts = result.creatives[0].layout.texts
    assert "".join(texts[0].lines) == "夏日清凉，一瓶就够。" and all(t.passes for t in texts)


def test_copy_options_come_from_the_ad_copy_history(settings) -> None:
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
                outputs=[{"text": "Stay cold all day.", "passes": True}, {"text": "Cures thirst!", "passes": False}],
                meta={"brief": {"product": "Bottle", "channel": "instagram"}},
            )
        )
    options = creatives.copy_options()
    assert [o.text for o in options] == ["Stay cold all day."]  # held-back variants are not offered
    assert options[0].ref["variant"] == 0 and "Bottle" in options[0].label

"""The ad-creative layout engine on fixed images and strings: text stays in its box, contrast passes, the crop
keeps the subject, CJK breaks lines correctly, bad fonts and logos are clear errors."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from aigc_core.errors import UserInputError
from aigc_core.images import colour, crop, fonts, layout, textfit
from aigc_core.images.colour import contrast_ratio, worst_contrast
from aigc_core.images.fonts import FontSource
from aigc_core.images.layout import PLACEMENTS, Visual, render
from aigc_core.images.textfit import fit_text

EN = "Fresh water wherever you go"
ZH = "全新智能水杯，随时提醒你喝水，让健康成为习惯。"
LONG_EN = (
    "The most incredibly long headline anyone has ever written for a reusable water bottle, going on and on "
    "about insulation, leak-proof lids, recycled steel and twenty-four hours of cold water"
)
LONG_ZH = "这是一个非常非常长的广告标题，" * 12
UNBREAKABLE = "Supercalifragilisticexpialidociousnessandmore" * 3


def _light() -> Image.Image:
    img = Image.new("RGB", (900, 700), (246, 244, 238))
    ImageDraw.Draw(img).ellipse((620, 80, 820, 280), fill=(230, 200, 60))  # a pale subject top right
    return img


def _dark() -> Image.Image:
    img = Image.new("RGB", (800, 800), (18, 20, 30))
    ImageDraw.Draw(img).rectangle((80, 500, 300, 760), fill=(40, 60, 90))
    return img


def _busy() -> Image.Image:
    """Half white, half black stripes: no single text colour passes without a scrim."""
    rng = np.random.default_rng(0)
    arr = np.where(rng.random((600, 600, 1)) > 0.5, 255, 0).repeat(3, axis=2).astype("uint8")
    return Image.fromarray(arr)


def _inside(inner, outer) -> bool:
    return inner[0] >= outer[0] and inner[1] >= outer[1] and inner[2] <= outer[2] and inner[3] <= outer[3]


def test_wcag_contrast_ratio_reference_values() -> None:
    assert contrast_ratio((255, 255, 255), (0, 0, 0)) == pytest.approx(21.0)
    assert contrast_ratio((255, 255, 255), (255, 255, 255)) == pytest.approx(1.0)
    assert contrast_ratio((118, 118, 118), (255, 255, 255)) == pytest.approx(4.54, abs=0.01)  # #767676 on white


@pytest.mark.parametrize("make", [_light, _dark, _busy], ids=["light", "dark", "busy"])
@pytest.mark.parametrize("headline", [EN, ZH, LONG_EN, LONG_ZH], ids=["en", "zh", "long-en", "long-zh"])
@pytest.mark.parametrize("key", list(PLACEMENTS))
def test_text_stays_in_its_box_and_passes_contrast(make, headline: str, key: str) -> None:
    p = PLACEMENTS[key]
    out = render(make(), p, headline, "立即购买" if headline in (ZH, LONG_ZH) else "Shop now", Visual())
    assert out.image.size == p.size and out.image.mode == "RGB"
    assert {t.role for t in out.texts} == {"headline", "cta"}
    for t in out.texts:
        assert t.ink is not None, f"{t.role} drew nothing"
        assert _inside(t.ink, t.box), (t.role, t.ink, t.box)  # the drawn pixels, not an estimate
        assert _inside(t.box, out.safe)
        assert t.passes and t.contrast >= 4.5, (t.role, t.contrast)
        # measured again on the finished image: the text colour against the pixels just around its glyphs
        mask = np.asarray(out.masks[t.role].filter(ImageFilter.MaxFilter(5)))
        x0, y0, x1, y1 = t.ink
        around = np.asarray(out.image)[y0:y1, x0:x1][mask[y0:y1, x0:x1] == 0]
        colour = tuple(int(t.colour[i : i + 2], 16) for i in (1, 3, 5))
        if len(around):
            assert worst_contrast(colour, Image.fromarray(around.reshape(1, -1, 3))) >= 4.5


def test_a_busy_image_gets_a_scrim_and_a_flat_one_does_not() -> None:
    busy = render(_busy(), PLACEMENTS["feed"], EN, "Go", Visual())
    assert busy.texts[0].scrim > 0 and busy.texts[0].passes
    flat = render(_dark(), PLACEMENTS["feed"], EN, "Go", Visual(text="#ffffff"))
    head = flat.texts[0]
    assert head.scrim == 0 and head.colour == "#ffffff"  # the kit's colour already passes on a dark image


def test_kit_text_colour_that_fails_is_replaced() -> None:
    out = render(_light(), PLACEMENTS["feed"], EN, "", Visual(text="#ffffff"))
    assert out.texts[0].colour == "#000000" and out.texts[0].passes  # white on near-white fails; black passes
    assert [t.role for t in out.texts] == ["headline"]  # no CTA asked, none drawn


def test_long_headline_shrinks_before_it_is_cut() -> None:
    short = render(_light(), PLACEMENTS["feed"], EN, "Shop", Visual())
    long = render(_light(), PLACEMENTS["feed"], LONG_EN, "Shop", Visual())
    assert long.texts[0].size < short.texts[0].size
    assert not long.texts[0].truncated and " ".join(long.texts[0].lines) == LONG_EN  # shrink + wrap, no loss
    tiny = render(_light(), PLACEMENTS["leaderboard"], LONG_EN * 3, "Shop", Visual())
    assert tiny.texts[0].truncated and tiny.texts[0].lines[-1].endswith("…")
    assert any("shortened" in n for n in tiny.notes)


def test_unbreakable_word_is_broken_rather_than_overflowing() -> None:
    out = render(_light(), PLACEMENTS["mrec"], UNBREAKABLE, "Go", Visual())
    t = out.texts[0]
    assert _inside(t.ink, t.box)


def test_cjk_line_breaking_keeps_punctuation_off_line_starts() -> None:
    font = FontSource(path=fonts.cjk_font_path()) if fonts.cjk_font_path() else FontSource()
    fitted = fit_text(LONG_ZH, font, 300, 400, max_size=40, max_lines=12)
    assert len(fitted.lines) > 1
    assert "".join(fitted.lines) == LONG_ZH.replace(" ", "")  # CJK lines break between characters, no spaces
    for line in fitted.lines[1:]:
        assert line[0] not in textfit.NO_LINE_START, fitted.lines
    assert textfit.tokens("你好，世界")[:2] == ["你", "好，"]  # the comma stays with the character before it
    assert textfit.tokens("「你好」")[0] == "「你"  # an opening bracket stays with what follows


def test_chinese_text_uses_a_font_with_chinese_glyphs_or_says_why() -> None:
    out = render(_light(), PLACEMENTS["feed"], ZH, "立即购买", Visual())
    path = fonts.cjk_font_path()
    if path is None:
        assert any("fonts-noto-cjk" in n for n in out.notes)
    else:
        assert fonts.covers(FontSource(path=path).at(24), ZH)
        assert out.texts[0].font == FontSource(path=path, name=path.rsplit("/", 1)[-1]).name
        assert not any("fonts-noto-cjk" in n for n in out.notes)


def test_smart_crop_keeps_the_subject_not_the_centre() -> None:
    img = Image.new("RGB", (1200, 400), (235, 235, 235))
    ImageDraw.Draw(img).rectangle((950, 120, 1100, 300), fill=(20, 20, 160))  # subject at the far right
    left, top, right, bottom = crop.smart_crop_box(img, 1080, 1080)
    assert (right - left, bottom - top) == (400, 400)
    assert left <= 950 and right >= 1100  # the subject is inside the square crop
    tall = Image.new("RGB", (400, 1200), (235, 235, 235))
    ImageDraw.Draw(tall).ellipse((150, 60, 300, 210), fill=(160, 20, 20))  # subject at the top
    _, t, _, b = crop.smart_crop_box(tall, 1200, 628)
    assert t <= 60 and b >= 210


def test_brand_font_and_logo_are_used(tmp_path) -> None:
    font_path = fonts.latin_font_path()
    if font_path is None:
        pytest.skip("no TTF font installed to play the brand font")
    logo = Image.new("RGBA", (200, 80), (0, 0, 0, 0))
    ImageDraw.Draw(logo).rectangle((10, 10, 190, 70), fill=(200, 0, 0, 255))
    buf = io.BytesIO()
    logo.save(buf, format="PNG")
    with open(font_path, "rb") as f:
        visual = Visual(logo=buf.getvalue(), font=f.read(), font_name="Brand.ttf")
    out = render(_dark(), PLACEMENTS["link"], EN, "Shop now", visual)
    assert out.texts[0].font == "Brand.ttf"
    assert out.logo is not None and _inside(out.logo, out.safe)
    assert np.asarray(out.image.crop(out.logo))[..., 0].max() >= 190  # the red logo is on the image


def test_not_a_font_is_a_clear_error() -> None:
    with pytest.raises(UserInputError, match="not a font"):
        fonts.load_font_bytes(b"this is not a font file at all")


def test_not_an_image_logo_is_a_clear_error() -> None:
    with pytest.raises(UserInputError, match="not a readable image"):
        layout.open_logo(b"GIF? no: plain text")
    with pytest.raises(UserInputError, match="SVG"):
        layout.open_logo(b'<svg xmlns="http://www.w3.org/2000/svg"></svg>')
    with pytest.raises(UserInputError, match="not a readable image"):
        render(_dark(), PLACEMENTS["feed"], EN, "Go", Visual(logo=b"\x89PNG broken"))


def test_bad_colour_and_empty_headline_are_clear_errors() -> None:
    with pytest.raises(UserInputError, match="not a colour"):
        colour.parse_colour("blue-ish")
    with pytest.raises(UserInputError, match="headline is empty"):
        render(_dark(), PLACEMENTS["feed"], "  ", "Go", Visual())

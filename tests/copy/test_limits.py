"""Channel limits: CJK-aware counting, trimming to whole sentences, impossible limits."""

from __future__ import annotations

import pytest

from aigc_core.copy.limits import (
    CHANNEL_LIMITS,
    check_feasible,
    count_chars,
    count_words,
    display_width,
    enforce,
    split_sentences,
)
from aigc_core.errors import UserInputError


def test_counting_cjk() -> None:
    assert count_chars("新品上市") == 4
    assert display_width("新品上市") == 8
    assert display_width("New 新品!") == 9
    assert count_words("Buy the new 新品 today") == 6  # 4 Latin words + 2 CJK characters
    assert count_words("全新保温杯，冷饮24小时") == 10  # 9 CJK characters + "24"
    assert display_width("ＡＢ") == 4  # full-width Latin counts double


def test_split_sentences_en_and_zh() -> None:
    assert split_sentences("Cold all day. Light to carry! Buy now") == ["Cold all day.", "Light to carry!", "Buy now"]
    assert split_sentences("冷饮一整天。轻巧便携！现在购买") == ["冷饮一整天。", "轻巧便携！", "现在购买"]


def test_enforce_trims_to_whole_sentences() -> None:
    text = "Cold for 24 hours. Light enough for any trail. Built from recycled steel that lasts for years."
    out, check = enforce(text, "search_description", "en")
    assert out == "Cold for 24 hours. Light enough for any trail."
    assert check.ok and check.trimmed and not check.cut_mid_sentence
    assert check.original_length == len(text) and check.length == len(out)


def test_enforce_cjk_width_limit() -> None:
    text = "这款保温杯让你的饮品冷藏整整二十四小时不变温"  # 22 CJK characters = 44 columns
    out, check = enforce(text, "search_headline", "zh")
    assert display_width(out) <= 30 and len(out) == 15
    assert check.cut_mid_sentence and check.ok
    out2, check2 = enforce("冷饮一整天。轻巧便携，随时出发！", "search_headline", "zh")
    assert out2 == "冷饮一整天。" and check2.trimmed and not check2.cut_mid_sentence


def test_sms_limit_depends_on_language() -> None:
    assert CHANNEL_LIMITS["sms_push"].max_for("en") == 160
    assert CHANNEL_LIMITS["sms_push"].max_for("zh") == 70
    out, check = enforce("好" * 100, "sms_push", "zh")
    assert count_chars(out) == 70 and check.unit == "chars"


def test_word_limit_counts_cjk_as_words() -> None:
    out, check = enforce("Pure taste, pure life, every single day for you and me", "slogan", "en")
    assert count_words(out) <= 10 and check.cut_mid_sentence
    assert enforce("一杯好水，一生好习惯", "slogan", "zh")[1].trimmed is False


def test_user_limit_and_impossible_limits() -> None:
    out, check = enforce("Fresh coffee at your door.", "social_post", "en", override=12)
    assert display_width(out) <= 12 and check.max == 12
    with pytest.raises(UserInputError, match="too short"):
        check_feasible("search_headline", "zh", override=5)
    with pytest.raises(UserInputError, match="required phrases"):
        check_feasible("search_headline", "en", required=["Terms and conditions apply to all offers"])
    check_feasible("search_headline", "zh", override=8)  # four Chinese characters still fit

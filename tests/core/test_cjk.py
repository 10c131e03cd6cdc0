"""One definition of CJK text (aigc_core/cjk.py), used alike by Ad copy, Images and Support replies."""

from __future__ import annotations

import re

import pytest

from aigc_core import cjk


@pytest.mark.parametrize(
    ("ch", "is_cjk", "is_han"),
    [("水", True, True), ("𠀋", True, True), ("の", True, False), ("カ", True, False), ("한", True, False),
     ("a", False, False), ("é", False, False), ("。", False, False), ("1", False, False)],
)  # fmt: skip
def test_functions_and_regex_classes_agree(ch: str, is_cjk: bool, is_han: bool) -> None:
    assert cjk.is_cjk(ch) is is_cjk and cjk.is_han(ch) is is_han
    assert bool(re.fullmatch(cjk.CJK_CLASS, ch)) is is_cjk
    assert bool(re.fullmatch(cjk.HAN_CLASS, ch)) is is_han


def test_every_feature_asks_the_same_definition() -> None:
    from aigc_core.copy import checks, guardrails, limits, ranking
    from aigc_core.images import fonts
    from aigc_core.support import index, reply

    for module in (checks, guardrails, limits, fonts):
        assert module.has_cjk is cjk.has_cjk, module.__name__
    for module in (checks, ranking, limits):
        assert module.is_cjk is cjk.is_cjk, module.__name__
    for module in (index, reply):
        assert module.has_han is cjk.has_han, module.__name__
    # A kana brand name is CJK for a brand-kit term on Ad copy and for the font of a creative alike.
    assert guardrails.has_cjk("ソラ") and fonts.has_cjk("ソラ")

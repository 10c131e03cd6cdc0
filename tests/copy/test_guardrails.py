"""Brand kits: CRUD in the store and the checks (banned words, competitors, required phrases)."""

from __future__ import annotations

import pytest

from aigc_core.copy.guardrails import Kit, check, delete_kit, find_term, get_kit, highlight, list_kits, save_kit
from aigc_core.errors import NotFoundError, UserInputError


def test_kit_crud(settings) -> None:
    kit = save_kit(
        "Acme",
        voice="Warm, plain",
        banned="guaranteed, risk-free\ncure",
        competitors=["HydroMax"],
        required={"sms_push": "Reply STOP to opt out", "*": ["Acme"]},
    )
    assert kit.banned == ["guaranteed", "risk-free", "cure"]
    assert kit.required_for("sms_push") == ["Acme", "Reply STOP to opt out"] and kit.required_for("slogan") == ["Acme"]
    same = save_kit("Acme", voice="Bold", banned=["cure"], kit_id=kit.id)
    assert same.id == kit.id and get_kit("Acme").voice == "Bold" and get_kit(kit.id).banned == ["cure"]
    save_kit("Other")
    assert [k.name for k in list_kits()] == ["Acme", "Other"]
    with pytest.raises(UserInputError, match="already named"):
        save_kit("Other", kit_id=kit.id)
    with pytest.raises(UserInputError, match="Unknown channel"):
        save_kit("Bad", required={"fax": ["x"]})
    with pytest.raises(UserInputError, match="needs a name"):
        save_kit("  ")
    delete_kit("Other")
    with pytest.raises(NotFoundError):
        get_kit("Other")


def test_word_boundaries_and_case() -> None:
    assert find_term("Totally RISK-FREE trial", "risk-free") is not None
    assert find_term("A secure, curated pick", "cure") is None  # not inside other words
    assert find_term("We cure boredom.", "cure") == (3, 7)
    assert find_term("Money back guaranteed!", "Guaranteed") is not None
    assert find_term("Money back guaranteed!", "money  back") is not None


def test_cjk_substring_match() -> None:
    assert find_term("本产品保证有效，无风险试用", "无风险") is not None
    assert find_term("本产品效果显著", "保证") is None


def test_planted_violations_are_flagged_with_reasons() -> None:
    kit = Kit(
        name="k",
        banned=["guaranteed", "cure", "根治"],
        competitors=["HydroMax"],
        required={"sms_push": ["Reply STOP to opt out"]},
    )
    text = "Guaranteed to cure thirst, unlike HydroMax."
    v = check(text, kit, "sms_push")
    kinds = sorted((x.kind, x.term) for x in v)
    assert kinds == [
        ("banned", "cure"),
        ("banned", "guaranteed"),
        ("competitor", "HydroMax"),
        ("missing_required", "Reply STOP to opt out"),
    ]
    assert all(x.reason for x in v)
    assert text[v[0].start : v[0].end].lower() == v[0].term.lower()
    assert check("Cold water, all day. Reply STOP to opt out", kit, "sms_push") == []
    assert [x.term for x in check("三天根治口渴", kit, "slogan")] == ["根治"]
    assert check("anything", None, "slogan") == []
    md = highlight(text, v)
    assert ":red-background[Guaranteed]" in md and ":red-background[HydroMax]" in md


@pytest.mark.parametrize(
    ("text", "term", "found"),
    [
        ("买ACME无忧套餐", "Acme无忧", True),  # CJK + Latin: a substring, case-insensitive
        ("Acme 无忧", "Acme无忧", False),
        ("Try SuperPro𠮷 today", "Pro𠮷", True),  # U+20BB7 (CJK extension B): CJK on both paths
        ("Try SuperPro𠮷 today", "Pro", False),  # a Latin term stays whole-word
        ("The Pro range", "Pro", True),
    ],
)
def test_ad_copy_and_image_prompts_match_kit_terms_the_same_way(settings, text: str, term: str, found: bool) -> None:
    from aigc_core.images.brand import check_prompt

    kit = save_kit("Parity", banned=[term])
    on_copy = any(v.kind == "banned" for v in check(text, kit, "slogan"))
    try:
        check_prompt(text, "Parity")
        on_image = False
    except UserInputError:
        on_image = True
    assert on_copy is on_image is found

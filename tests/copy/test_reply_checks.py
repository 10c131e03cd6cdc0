"""Checks of customer-service replies on fixed strings: placeholders, promotions, promises, off the complaint."""

from __future__ import annotations

import pytest

from aigc_core.copy.brief import Brief
from aigc_core.copy.reply_checks import addresses_topic, check_reply, check_reply_for, topic_terms_of

TERMS = ["late", "delivery"]
GOOD = (
    "We're sorry about the late deliveries this week. Please send us a direct message with your order number so "
    "we can help right away."
)
# What the small model wrote from the old ad brief (issue "Copy a marketer can use", "Replies are replies").
PLACEHOLDER_REPLY = (
    "Hello [Customers]! We hear you. My name is [Your Name] and I'm a fantastic [Company Name] team member."
)
CAMPAIGN_REPLY = "We're excited to announce our new digital campaign!"


def _check(text: str, terms: list[str] = TERMS, brand: str = "Acme", language: str = "en") -> list[str]:
    return check_reply(text, topic_terms=terms, brand=brand, language=language)


def test_a_good_reply_passes() -> None:
    assert _check(GOOD) == []
    assert _check("Sorry for the trouble with your order. Please DM us so we can look into it.", []) == []
    zh = "我们对配送延迟深表歉意。请私信我们您的订单号，我们会尽快为您处理。"
    assert _check(zh, ["配送", "延迟"], "Acme", "zh") == []


def test_placeholders_fail() -> None:
    problems = _check(PLACEHOLDER_REPLY)
    assert any("placeholders" in p and "[Your Name]" in p and "[Company Name]" in p for p in problems)
    assert any("made-up person" in p for p in problems)
    for text in (
        "Sorry about the delay, {name}. DM us.",
        "Sorry about the delay. Call us at XXX.",
        "Sorry, [insert link] for help.",
        "抱歉给您带来不便，【公司名称】客服会联系您。",
        "抱歉，某某客服会跟进。",
    ):
        assert any("placeholders" in p for p in _check(text)), text


def test_announcements_and_promotions_fail() -> None:
    problems = _check(CAMPAIGN_REPLY)
    assert any("announces" in p for p in problems)
    assert any("does not address the complaint" in p for p in problems)  # no topic term, no apology
    for text in (
        "Sorry about the late delivery! Use code SORRY for 20% off your next order.",
        "We apologise for the delay. Don't miss our summer sale!",
        "Sorry for the late delivery. We just launched express shipping.",
        "Sorry for the wait. Get a discount on your next order.",
        "Sorry about the delay #AcmeCares",
        "抱歉配送延迟，新品已经上架，欢迎选购。",
        "非常抱歉，限时优惠活动上线，欢迎参与。",
    ):
        assert any("announces" in p for p in _check(text)), text


def test_promises_of_refunds_and_timelines_fail() -> None:
    for text in (
        "Sorry about the late delivery. We will refund your order.",
        "Sorry about the delay, it will be fixed within 24 hours.",
        "Sorry! We guarantee it arrives by tomorrow.",
        "Sorry for the late delivery, you'll get it in 2 days.",
        "抱歉配送延迟，我们会为您全额退款。",
        "抱歉，我们将在24小时内解决。",
        "抱歉，三个工作日内送达。",
    ):
        assert any("promises" in p for p in _check(text)), text


def test_a_reply_must_address_the_complaint() -> None:
    off = "Thanks for being a loyal customer. Have a great day."
    assert any("does not address the complaint (late, delivery)" in p for p in _check(off))
    assert _check("Your delivery is on its way; DM us the order number for details.") == []  # names the topic
    assert _check("We understand how frustrating this is. Please DM us.", ["baggage fee"]) == []  # acknowledges
    assert addresses_topic("Late deliveries again", ["delivery"]) and addresses_topic("the fees", ["fee"])
    assert addresses_topic("we charged the baggage fees twice", ["baggage fee", "charge"])
    assert not addresses_topic("great crew", ["baggage fee"])
    assert addresses_topic("关于配送延迟", ["配送"], "zh")


def test_brand_and_topic_terms_are_not_flagged() -> None:
    assert _check("Sorry about the trouble. Please DM the Flash Sale Co team.", brand="Flash Sale Co") == []
    # a complaint about a sale or a refund may be named, promising one may not
    assert _check("Sorry the sale page crashed. Please DM us so we can help.", ["sale page"]) == []
    assert _check("Sorry your refund is delayed. Please DM us so we can look into it.", ["refund"]) == []
    assert any("promises" in p for p in _check("Sorry, refund within 3 days.", ["refund"]))


@pytest.mark.parametrize("language", ["en", "zh"])
def test_topic_terms_from_a_support_reply_brief(language: str) -> None:
    ack = "Acknowledge: late, delivery" if language == "en" else "回应：配送、延迟"
    brief = Brief(
        product="Acme",
        key_points=f"{ack}\nApologise for the trouble\nNext step: send us a direct message so we can help",
        channel="support_reply",
        language=language,
    )
    terms = topic_terms_of(brief)
    assert terms == (["late", "delivery"] if language == "en" else ["配送", "延迟"])
    if language == "en":
        assert check_reply_for(GOOD, brief) == []
        assert check_reply_for(PLACEHOLDER_REPLY, brief)
        assert check_reply_for(CAMPAIGN_REPLY, brief)
    assert topic_terms_of(Brief(product="Acme", key_points="Say sorry", channel="support_reply")) == []

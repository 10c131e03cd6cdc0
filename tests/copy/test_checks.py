"""The copy checks on fixed strings: product named, key points stated, nothing invented (contact details,
placeholders, Markdown: rejected; prices, percentages, dates, numbers, names: to review), language, relevance,
fluency, the per-channel needs; and that ranking never puts copy stating no key point above copy stating some."""

from __future__ import annotations

import random

import pytest

from aigc_core.copy import checks
from aigc_core.copy import generate as gen
from aigc_core.copy.brief import Brief, validate_brief
from aigc_core.copy.checks import CheckReport
from aigc_core.copy.limits import enforce
from tests.copy.conftest import FakeEmbedder, fake_embed

EN = validate_brief(
    {
        "product": "AquaPure insulated bottle",
        "key_points": "Keeps drinks cold for 24 hours\nBPA-free steel\nLifetime warranty",
        "audience": "hikers",
        "channel": "social_post",
        "language": "en",
    }
)
ZH = validate_brief(
    {
        "product": "AquaPure 保温杯",
        "key_points": "24小时保冷\n不含BPA的不锈钢\n终身保修",
        "channel": "social_post",
        "language": "zh",
    }
)
KESTREL = validate_brief(
    {"product": "Kestrel binoculars", "key_points": "10x zoom\nFogproof lenses", "channel": "search_headline"}
)
GOOD_EN = (
    "AquaPure insulated bottle keeps drinks cold for 24 hours. BPA-free steel and a lifetime warranty for every hike."
)
GOOD_ZH = "AquaPure保温杯采用24小时保冷技术，不含BPA的不锈钢，终身保修。"
CAPTAIN = "Hello there! I'm Captain Aquaman on the go… We just wrapped up a new year's special…"
SPAM_ZH = "这就免费抬财了吧！[AuxBak.com](https://www.maxabackpackaging.co.cn) 欢迎来电 28507391164"
PLACEHOLDERS = "Hello [Customers]! Welcome to our store. My name is [Your Name] and I'm a fantastic [Company Name]"
BASE = "AquaPure insulated bottle keeps drinks cold for 24 hours, BPA-free steel"  # passes: 2 of 3 points


def check(text: str, brief: Brief = EN, *, channel: str | None = None, **kw) -> CheckReport:
    """One text's report against ``brief`` (the fake embedder unless ``embedder=`` is given)."""
    kw.setdefault("embedder", fake_embed)
    (rep,) = checks.evaluate(
        [text],
        product=brief.product,
        points=brief.points(),
        brief_text=brief.as_text(),
        language=brief.language,
        channel=channel or brief.channel,
        **kw,
    )
    return rep


def kinds(rep: CheckReport) -> dict[str, str]:
    """Finding kind -> severity."""
    return {f.kind: f.severity for f in rep.findings}


# Copy that must never be shown -------------------------------------------------------------------------
@pytest.mark.parametrize("embedder", [fake_embed, False], ids=["fake-embedder", "no-embedder"])
def test_captain_aquaman_is_off_brief(embedder) -> None:
    rep = check(CAPTAIN, embedder=embedder)
    assert not rep.passes and not rep.on_brief and rep.covered == [] and not rep.product_named
    assert rep.findings == []  # nothing invented, it just says nothing about the brief
    assert "does not name the product" in rep.failures()
    assert "states 0 of the 2 key points it needs" in rep.failures()
    if embedder is False:  # lexical checks only: no relevance, so not a hard reject, but still not passing
        assert rep.relevance is None and not rep.rejected
    else:
        assert rep.relevance < checks.MIN_RELEVANCE["en"] and "off topic: says nothing about the brief" in rep.reasons


def test_chinese_spam_with_invented_web_address_and_phone_is_rejected() -> None:
    rep = check(SPAM_ZH, ZH)
    assert rep.rejected and not rep.passes and rep.covered == [] and not rep.product_named
    assert kinds(rep)["url"] == "reject" and kinds(rep)["phone"] == "reject"
    assert "invented contact details: web address “https://www.maxabackpackaging.co.cn”" in rep.reasons
    assert "invented contact details: phone number “28507391164”" in rep.reasons
    assert "template placeholder “[AuxBak.com]”" in rep.reasons  # the Markdown link's text in brackets


def test_placeholders_are_rejected() -> None:
    rep = check(PLACEHOLDERS)
    assert rep.rejected and not rep.passes
    assert [f.text for f in rep.findings if f.kind == "placeholder"] == ["[Customers]", "[Your Name]", "[Company Name]"]
    assert all(f.severity == "reject" for f in rep.findings)


@pytest.mark.parametrize(
    ("tail", "found"),
    [
        ("Contact your name today.", "your name"),
        ("Made by XXX.", "XXX"),
        ("Buy {product} now.", "{product}"),
        ("Lorem ipsum dolor sit amet.", "Lorem ipsum"),
    ],
)
def test_other_placeholders_are_rejected(tail: str, found: str) -> None:
    rep = check(f"{BASE}. {tail}")
    assert rep.covered == [0, 1] and rep.product_named  # on brief otherwise
    assert rep.rejected and f"template placeholder “{found}”" in rep.reasons


@pytest.mark.parametrize(
    "text",
    [
        f"## AquaPure insulated bottle\n{BASE}.",
        f"{BASE}, **the best** on every trail.",
        "AquaPure insulated bottle\n- keeps drinks cold for 24 hours\n- BPA-free steel",
    ],
    ids=["heading", "bold", "bullets"],
)
def test_markdown_is_rejected(text: str) -> None:
    rep = check(text)
    assert rep.product_named and rep.covered == [0, 1]
    assert (
        rep.rejected and rep.reasons == ["Markdown formatting, not plain copy"] and kinds(rep) == {"markdown": "reject"}
    )


@pytest.mark.parametrize(
    ("tail", "kind", "reason"),
    [
        ("Mail hello@aquapure.com today.", "email", "invented contact details: e-mail “hello@aquapure.com”"),
        (
            "Order at www.aquapure-deals.com today.",
            "url",
            "invented contact details: web address “www.aquapure-deals.com”",
        ),
        ("Order at aquapure.com today.", "url", "invented contact details: web address “aquapure.com”"),
        ("Call 0800 123 4567 now", "phone", "invented contact details: phone number “0800 123 4567”"),
    ],
)
def test_invented_contact_details_are_rejected(tail: str, kind: str, reason: str) -> None:
    rep = check(f"{BASE}. {tail}")
    assert rep.rejected and reason in rep.reasons and kinds(rep)[kind] == "reject"


def test_contact_details_from_the_brand_kit_are_fine() -> None:
    rep = check(f"{BASE}. Order at aquapure.com today.", allowed="Required: Order at aquapure.com")
    assert rep.passes and rep.findings == []


# Copy that passes -----------------------------------------------------------------------------------------
def test_good_english_copy_passes() -> None:
    rep = check(GOOD_EN)
    assert rep.passes and rep.on_brief and not rep.rejected and rep.failures() == []
    assert rep.product_named and rep.covered == [0, 1, 2] and rep.covered_points == EN.points()
    assert rep.findings == [] and rep.language_ok and rep.language == "en" and rep.relevance > 0.5
    d = rep.to_dict()
    assert d["passes"] is True and d["rejected"] is False and d["covered_points"] == EN.points()


def test_good_chinese_copy_passes() -> None:
    rep = check(GOOD_ZH, ZH)
    assert rep.passes and rep.failures() == []
    assert rep.product_named and rep.covered == [0, 1, 2] and rep.language_ok and rep.language == "zh"


def test_real_minilm_relevance_separates_on_topic_from_off_topic(settings) -> None:
    good, captain = checks.evaluate(
        [GOOD_EN, CAPTAIN],
        product=EN.product,
        points=EN.points(),
        brief_text=EN.as_text(),
        language="en",
        channel="social_post",
    )  # embedder=None: all-MiniLM-L6-v2 through the model manager
    assert good.passes and good.relevance > 0.6
    assert (
        captain.relevance < checks.MIN_RELEVANCE["en"] and "off topic: says nothing about the brief" in captain.reasons
    )


# Claims to review ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "kind", "reason"),
    [
        (f"{BASE}, now only $19.99!", "price", "a price the brief does not give: “$19.99”"),
        (f"{BASE}, 50% off!", "percent", "a percentage the brief does not give: “50%”"),
        (f"{BASE}, sale ends March 3rd.", "date", "a date the brief does not give: “March 3rd”"),
        (f"{BASE}, ships 2025.", "date", "a date the brief does not give: “2025”"),
        (f"{BASE}, 36 colours.", "number", "a number the brief does not give: “36”"),
        (f"{BASE}, loved by HydroFlask fans.", "name", "a name the brief does not give: “HydroFlask”"),
        (f"{GOOD_ZH[:-1]}，仅售99元！", "price", "a price the brief does not give: “99元”"),
        (f"{GOOD_ZH[:-1]}，全场8折！", "percent", "a percentage the brief does not give: “8折”"),
        (f"{GOOD_ZH[:-1]}，3月15日开售。", "date", "a date the brief does not give: “3月15日”"),
    ],
    ids=["price", "percent", "date", "year", "number", "name", "zh-price", "zh-discount", "zh-date"],
)
def test_claims_not_in_the_brief_are_flagged_for_review(text: str, kind: str, reason: str) -> None:
    rep = check(text, ZH if "保温杯" in text else EN)
    assert kinds(rep) == {kind: "review"} and reason in rep.failures()
    assert not rep.rejected and rep.on_brief and not rep.passes  # on brief, but a person has to confirm it


def test_a_number_in_the_brief_is_fine_and_a_changed_one_breaks_the_point() -> None:
    rep = check(BASE)
    assert rep.passes and rep.findings == [] and 0 in rep.covered  # "24 hours" is the brief's own
    priced = validate_brief({"product": "AquaPure bottle", "key_points": "Now $19.99\nBPA-free steel"})
    rep = check("AquaPure bottle in BPA-free steel, now $19.99.", priced)
    assert rep.passes and rep.findings == [] and rep.covered == [0, 1]
    rep = check("AquaPure insulated bottle keeps drinks cold for 36 hours, BPA-free steel")
    assert 0 not in rep.covered and rep.covered == [1]  # 36 hours is not the brief's 24 hours
    assert "a number the brief does not give: “36”" in rep.failures()


# Language ---------------------------------------------------------------------------------------------------
def test_english_copy_for_a_chinese_brief_fails_language() -> None:
    rep = check(GOOD_EN, ZH)
    assert rep.rejected and not rep.language_ok and "not in Chinese" in rep.reasons


def test_chinese_or_german_copy_for_an_english_brief_fails_language() -> None:
    rep = check(GOOD_ZH, EN)
    assert not rep.language_ok and "not in English" in rep.reasons
    rep = check("AquaPure insulated bottle: diese Flasche hält Getränke den ganzen Tag kalt und ist sehr leicht.")
    assert not rep.language_ok and rep.language == "de" and "not in English" in rep.reasons


def test_short_english_headline_is_not_rejected_for_language() -> None:
    rep = check("Kestrel: 10x & Fogproof", KESTREL)
    assert rep.language_ok and "not in English" not in rep.reasons and not rep.rejected
    assert rep.product_named and rep.needs_points == 1


# Per-channel needs ------------------------------------------------------------------------------------------
def test_slogans_need_no_product_name() -> None:
    slogan = "Cold for 24 hours, every trail."
    rep = check(slogan, channel="slogan")
    assert rep.passes and not rep.product_named and not rep.needs_product
    rep = check(slogan, channel="social_post")
    assert not rep.passes and "does not name the product" in rep.failures()


@pytest.mark.parametrize("channel", ["search_headline", "email_subject", "slogan"])
def test_short_channels_need_one_key_point(channel: str) -> None:
    rep = check("AquaPure: Cold for 24 Hours", channel=channel)
    assert rep.needs_points == 1 and rep.covered == [0] and rep.passes


def test_longer_channels_need_two_key_points_or_all_there_are() -> None:
    rep = check("AquaPure: Cold for 24 Hours", channel="social_post")
    assert rep.needs_points == 2 and not rep.passes
    assert rep.failures() == ["states 1 of the 2 key points it needs"]
    one = validate_brief({"product": "AquaPure bottle", "key_points": "Keeps drinks cold for 24 hours"})
    rep = check("AquaPure bottle keeps drinks cold for 24 hours.", one, channel="product_description")
    assert rep.needs_points == 1 and rep.passes


# Fluency and the embedder --------------------------------------------------------------------------------------
def test_fluency_below_the_threshold_is_gibberish() -> None:
    low, ok, unmeasured = checks.evaluate(
        [GOOD_EN, GOOD_EN, GOOD_EN],
        product=EN.product,
        points=EN.points(),
        brief_text=EN.as_text(),
        language="en",
        channel="social_post",
        fluency=[checks.MIN_FLUENCY - 1.0, checks.MIN_FLUENCY + 1.0, None],
        embedder=fake_embed,
    )
    assert low.rejected and low.reasons == ["reads as gibberish (the model itself found it unlikely)"]
    assert ok.passes and ok.fluency == checks.MIN_FLUENCY + 1.0
    assert unmeasured.passes and unmeasured.fluency is None


def test_all_texts_are_embedded_in_one_call_and_false_skips_it() -> None:
    emb = FakeEmbedder()
    reps = checks.evaluate(
        [GOOD_EN, CAPTAIN, PLACEHOLDERS],
        product=EN.product,
        points=EN.points(),
        brief_text=EN.as_text(),
        language="en",
        channel="social_post",
        embedder=emb,
    )
    assert emb.calls == 1 and all(r.relevance is not None for r in reps)
    assert [r.passes for r in reps] == [True, False, False]
    lexical = checks.evaluate(
        [GOOD_EN],
        product=EN.product,
        points=EN.points(),
        brief_text=EN.as_text(),
        language="en",
        channel="social_post",
        embedder=False,
    )
    assert lexical[0].relevance is None and lexical[0].covered == [0, 1, 2] and lexical[0].passes


def test_summarise_counts_failures_by_kind() -> None:
    reps = [check(CAPTAIN), check(PLACEHOLDERS), check(GOOD_EN)]
    counts = checks.summarise(reps)
    assert counts["does not name the product"] == 2 and counts["template placeholder"] == 3
    assert counts["off topic"] == 2


# Ranking ------------------------------------------------------------------------------------------------
def _variant(text: str, rep: CheckReport) -> gen.Variant:
    body, limit = enforce(text, "social_post", "en")
    v = gen.Variant(body, text, limit)
    v.checks = rep
    return v


def test_rank_puts_copy_stating_key_points_above_copy_stating_none() -> None:
    texts = [
        CAPTAIN,
        "Hi. Go. Now. Yes.",
        PLACEHOLDERS,
        GOOD_EN,
        BASE + ", now only $19.99!",
        "AquaPure: Cold for 24 Hours",
    ]
    reps = [check(t) for t in texts]
    variants = [_variant(t, r) for t, r in zip(texts, reps, strict=True)]
    # weights that favour the short, easy nonsense: the checks still decide the order first
    ranked, _ = gen.rank(
        variants,
        "en",
        weights={"limits": 0, "guardrails": 0, "sentiment": 0, "readability": 1, "uniqueness": 0},
        sentiment=False,
    )
    covered = [len(v.checks.covered) for v in ranked]
    assert ranked[0].text == GOOD_EN and ranked[0].passes
    assert covered[1:] == sorted(covered[1:], reverse=True) == [2, 1, 0, 0, 0]
    assert {v.text for v in ranked[-3:]} == {CAPTAIN, "Hi. Go. Now. Yes.", PLACEHOLDERS}
    assert max(v.score for v in ranked[-3:]) > ranked[0].score  # they scored higher, yet rank last


def test_tiering_never_ranks_no_key_point_above_some_on_random_input() -> None:
    rng = random.Random(1234)
    words = ["cold", "trail", "steel", "bottle", "summit", "water", "light", "hike", "fresh", "bright"]
    for _ in range(40):
        variants = []
        for i in range(8):
            text = " ".join(rng.choice(words) for _ in range(rng.randint(2, 12))) + f" {i}."
            rep = CheckReport(
                product_named=rng.random() < 0.5,
                points=["a", "b", "c"],
                covered=sorted(rng.sample(range(3), rng.randint(0, 3))),
                needs_points=1,
            )
            variants.append(_variant(text, rep))
        weights = {k: rng.random() for k in ("limits", "guardrails", "sentiment", "readability", "uniqueness")}
        ranked, _ = gen.rank(variants, "en", weights=weights, sentiment=lambda t: [rng.random() for _ in t])
        tiers = [gen.tier(v) for v in ranked]
        assert tiers == sorted(tiers, reverse=True)
        first_none = next((i for i, v in enumerate(ranked) if not v.checks.covered), len(ranked))
        assert all(not v.checks.covered for v in ranked[first_none:])
        reranked = gen.rerank(ranked, {k: rng.random() for k in weights})
        assert [gen.tier(v) for v in reranked] == sorted(tiers, reverse=True)


# Regressions: a Latin brand glued to Chinese text, a phone number before a full stop ------------------------
def test_latin_brand_next_to_chinese_characters_names_the_product() -> None:
    rep = check("AquaPure让饮品24小时保冷，不含BPA的不锈钢，终身保修。", ZH)
    assert rep.product_named


def test_phone_number_at_the_end_of_a_sentence_is_reported_whole() -> None:
    rep = check(f"{BASE}. Call +1 415 555 0199.")
    assert "invented contact details: phone number “+1 415 555 0199”" in rep.reasons

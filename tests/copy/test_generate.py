"""Generation: best of N (oversampled candidates in one batched generate call per round), cleaning, the copy
checks deciding what is shown and what is held back (and why), ranking, the second round, streaming, bad inputs.

The tiny random model writes gibberish, so its tests check the mechanics (calls, rows, seeds, caching, streaming)
and that nothing is shown; the quality tests script ``_forward`` with real-looking copy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aigc_core.copy import generate as gen
from aigc_core.copy.brief import Brief, validate_brief
from aigc_core.copy.guardrails import save_kit
from aigc_core.copy.lm import BANNED_CHARS, clear_cache, load_language_model
from aigc_core.errors import ModelUnavailableError, UserInputError
from tests.copy.conftest import ScriptedForward

BRIEF = {
    "product": "AquaPure bottle",
    "key_points": "cold 24h\nBPA free",
    "audience": "hikers",
    "channel": "product_description",
    "n_variants": 4,
    "seed": 7,
    "max_new_tokens": 16,
}
SCORE_KEYS = {"limits", "guardrails", "sentiment", "readability", "uniqueness"}

# A brief and scripted candidates for the quality tests ------------------------------------------------
QUALITY = {
    "product": "AquaPure bottle",
    "key_points": "Keeps drinks cold for 24 hours\nBPA-free steel",
    "audience": "hikers",
    "channel": "social_post",
    "n_variants": 2,
    "seed": 7,
}
GOOD_1 = "AquaPure bottle keeps drinks cold for 24 hours, and its BPA-free steel is safe on every trail."
GOOD_2 = "Meet the AquaPure bottle: BPA-free steel that keeps drinks cold for 24 hours on long hikes."
GOOD_3 = "Hikers love the AquaPure bottle. It keeps drinks cold for 24 hours and is made of BPA-free steel."
PARTIAL = "AquaPure bottle keeps drinks cold for 24 hours."  # one of the two key points
UNNAMED = "Keeps drinks cold for 24 hours, with BPA-free steel."  # both points, no product
CAPTAIN = "Hello there! I'm Captain Aquaman on the go. We just wrapped up a new year's special."
PLACEHOLDER = "Hello [Customers]! My name is [Your Name] and I'm a fantastic [Company Name]."
PRICE = "AquaPure bottle keeps drinks cold for 24 hours in BPA-free steel, now only $19.99!"
SALAD = "Cold cold bottle bottle trail the the of AquaPure steel 24 hours BPA-free drinks keeps."


class Spy:
    """Wraps ``model.generate`` and records every call's batch arguments."""

    def __init__(self, model: Any) -> None:
        self.model, self.inner, self.calls, self.kwargs = model, model.generate, [], []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append(
            {
                "rows": kwargs["input_ids"].shape[0] * (kwargs.get("num_return_sequences") or 1),
                "streamer": kwargs.get("streamer") is not None,
            }
        )
        self.kwargs.append(kwargs)
        return self.inner(*args, **kwargs)


@pytest.fixture()
def spy(tiny_lm, monkeypatch) -> Spy:
    s = Spy(tiny_lm.model)
    monkeypatch.setattr(tiny_lm.model, "generate", s)
    return s


def _nothing_shown(res: gen.CopyResult) -> None:
    """The tiny random model's result: candidates written and checked, none shown, the hint given."""
    assert not res.usable and res.variants == []
    assert res.held_back and all(v.failures() for v in res.held_back)
    assert len(res.variants) + len(res.held_back) <= res.candidates
    assert any(n.startswith("No candidate passed every check") and gen.NOTHING_USABLE_HINT in n for n in res.notes)


# Mechanics on the tiny random model --------------------------------------------------------------------
def test_one_batched_generate_call_per_round_with_oversampled_rows(tiny_lm, spy, fake_embedder) -> None:
    res = gen.generate_copy(BRIEF, lm=tiny_lm, sentiment=False, embedder=fake_embedder)
    # round 1: 3 x 4 candidates in ONE generate call; nothing passed, so round 2 asks 3 x 4 + 4 more
    assert spy.calls == [{"rows": 12, "streamer": False}, {"rows": 16, "streamer": False}]
    assert res.attempts == gen.MAX_ATTEMPTS == 2 and res.candidates == 28
    assert res.new_tokens > 0 and res.seed == 7 and res.backend == "transformers"
    assert res.template == "product_description@v1" and res.params["max_new_tokens"] == 16
    _nothing_shown(res)
    assert fake_embedder.calls == 2  # the checks ran once per round, on the injected embedder
    assert res.notes[0].startswith("Wrote 28 candidates in 2 round(s); 0 passed every check")
    assert "Sentiment scoring is off." in res.notes
    tiers = [(gen.tier(v), v.score) for v in res.held_back]
    assert tiers == sorted(tiers, reverse=True)  # held back best first too
    for v in res.held_back:
        assert set(v.scores) == SCORE_KEYS and v.scores["sentiment"] is None and v.text == v.text.strip()
        assert v.checks is not None and v.logprob is not None and v.logprob < 0 and v.checks.fluency == v.logprob
        # plain_text: the newline and the placeholder/Markdown characters are banned while decoding
        assert "\n" not in v.raw and not set(BANNED_CHARS) & set(v.raw)
    assert spy.kwargs[0]["bad_words_ids"]


def test_static_cache_pads_prompts_to_buckets(tiny_lm, spy, fake_embedder) -> None:
    res = gen.generate_copy(BRIEF, lm=tiny_lm, sentiment=False, static_cache=True, embedder=fake_embedder)
    kw = spy.kwargs[0]
    assert kw["cache_implementation"] == "static" and kw["input_ids"].shape[1] % 64 == 0
    assert [c["rows"] for c in spy.calls] == [12, 16] and res.candidates == 28
    _nothing_shown(res)
    default = gen.generation_kwargs(validate_brief(BRIEF), tiny_lm)
    assert "cache_implementation" not in default  # CPU default: dynamic cache (static only on CUDA)


def test_same_seed_same_candidates(tiny_lm, fake_embedder) -> None:
    brief = {**BRIEF, "n_variants": 1, "max_new_tokens": 10}

    def run(seed: int) -> list[tuple[str, float | None]]:
        res = gen.generate_copy({**brief, "seed": seed}, lm=tiny_lm, sentiment=False, embedder=fake_embedder)
        assert res.candidates == 3 + 4
        return [(v.text, v.logprob) for v in [*res.variants, *res.held_back]]

    a, b = run(7), run(7)
    assert a and a == b
    assert run(8) != a


def test_oversample_and_the_candidate_cap(tiny_lm, monkeypatch, fake_embedder) -> None:
    fwd = ScriptedForward()  # the model writes nothing at all
    monkeypatch.setattr(gen, "_forward", fwd)
    res = gen.generate_copy({**BRIEF, "n_variants": 4}, lm=tiny_lm, sentiment=False, oversample=1)
    assert fwd.asked == [4, 8] and [s for _, s in fwd.calls] == [7, 1007]  # round 2: its own seed
    assert res.candidates == 12 and res.attempts == 2 and not res.usable
    fwd.calls.clear()
    res = gen.generate_copy({**BRIEF, "n_variants": 12}, lm=tiny_lm, sentiment=False, embedder=fake_embedder)
    assert fwd.asked == [gen.MAX_CANDIDATES, gen.MAX_CANDIDATES] and res.candidates == 2 * gen.MAX_CANDIDATES


def test_nothing_usable_is_a_result_not_a_crash(tiny_lm, monkeypatch, fake_embedder) -> None:
    monkeypatch.setattr(gen, "_forward", lambda prep, lm, n, *, seed, streamer=None: ([("", True)] * n, n))
    res = gen.generate_copy(BRIEF, lm=tiny_lm, sentiment=False, embedder=fake_embedder)
    assert not res.usable and res.variants == [] and res.held_back == [] and res.attempts == gen.MAX_ATTEMPTS
    assert res.candidates == 28 and fake_embedder.calls == 0  # nothing left to check
    assert res.notes[0] == (
        "Wrote 28 candidates in 2 round(s); 0 passed every check, 0 near-duplicates and 28 empty ones dropped."
    )
    assert res.notes[1] == (
        f"No candidate passed every check. Most common problems: none recorded. {gen.NOTHING_USABLE_HINT}"
    )


def test_clean_text_strips_markup_echo_labels_quotes() -> None:
    brief = Brief(product="AquaPure", channel="search_headline")
    prompt = gen.FittedPrompt("", [{"role": "user", "content": "Write a search ad headline for AquaPure."}], 0, 0, "")
    raw = "<|im_start|>assistant\nWrite a search ad headline for AquaPure.\nHeadline 1: “Ice-Cold All Day.”\nmore"
    assert gen.clean_text(raw, brief, prompt, hit_limit=False) == "Ice-Cold All Day"
    long = Brief(product="AquaPure", channel="social_post")
    assert gen.clean_text("Stay cold. Hike far. And then the", long, prompt, hit_limit=True) == "Stay cold. Hike far."


def test_streaming_first_variant(tiny_lm, spy, fake_embedder) -> None:
    run = gen.start_copy(BRIEF, lm=tiny_lm, sentiment=False, embedder=fake_embedder)
    chunks = list(run.stream())
    res = run.result(timeout=60)
    text = "".join(chunks)
    assert chunks and text.strip() and "\n" not in text
    assert spy.calls[0] == {"rows": 12, "streamer": True}
    assert spy.calls[1] == {"rows": 16, "streamer": False}  # only the first round streams
    assert res.first_token_s is not None and res.first_token_s >= 0 and res.candidates == 28
    _nothing_shown(res)


def test_streaming_hands_back_errors(tiny_lm, monkeypatch) -> None:
    def boom(*a: Any, **k: Any) -> Any:
        raise UserInputError("bad", hint="fix")

    monkeypatch.setattr(gen, "preprocess", boom)
    run = gen.start_copy(BRIEF, lm=tiny_lm, sentiment=False)
    assert list(run.stream()) == []
    with pytest.raises(UserInputError):
        run.result(timeout=30)


def test_bad_inputs(tiny_lm) -> None:
    with pytest.raises(UserInputError, match="empty"):
        validate_brief({"product": " ", "key_points": "\n - \n"})
    with pytest.raises(UserInputError, match="n_variants"):
        validate_brief({"product": "x", "n_variants": 0})
    with pytest.raises(UserInputError, match="channel"):
        validate_brief({"product": "x", "channel": "billboard"})
    with pytest.raises(UserInputError, match="too short"):
        gen.generate_copy({**BRIEF, "channel": "search_headline", "language": "zh", "max_length": 4}, lm=tiny_lm)
    with pytest.raises(UserInputError, match="max new tokens"):
        gen.generate_copy({**BRIEF, "max_new_tokens": 1000}, lm=tiny_lm)


def test_long_brief_reports_the_cut(tiny_lm_short_dir: Path, settings, fake_embedder) -> None:
    clear_cache()
    lm = load_language_model(str(tiny_lm_short_dir))
    points = "\n".join(f"Feature {i}: keeps drinks cold on long hikes" for i in range(50))
    res = gen.generate_copy(
        {**BRIEF, "key_points": points, "n_variants": 2}, lm=lm, sentiment=False, embedder=fake_embedder
    )
    assert res.cut_tokens > 0 and res.prompt_tokens + 16 <= 256
    assert res.n_examples == 0  # the examples went before any key point was cut
    assert any(f"last {res.cut_tokens} tokens" in n for n in res.notes)
    assert res.candidates == 6 + 8 and any(n.startswith("Wrote 14 candidates") for n in res.notes)
    _nothing_shown(res)


def test_model_not_available_offline_names_the_setting(settings, monkeypatch, tmp_path) -> None:
    clear_cache()
    with pytest.raises(ModelUnavailableError) as err:
        load_language_model("nobody/no-such-model-xyz")
    assert "AIGC_TEXT_GENERATION_MODEL" in str(err.value.hint)
    with pytest.raises(ModelUnavailableError, match=r"config\.json"):
        load_language_model(str(tmp_path))
    monkeypatch.setenv("AIGC_TEXT_GENERATION_MODEL", str(tmp_path / "missing" / "folder"))
    from aigc_core.settings import reset_settings

    reset_settings()
    with pytest.raises(ModelUnavailableError, match="does not exist"):
        gen.generate_copy(BRIEF)


# Quality: scripted candidates ------------------------------------------------------------------------
def test_only_passing_copy_is_shown_and_the_rest_is_held_back_with_reasons(tiny_lm, monkeypatch, fake_embedder) -> None:
    fwd = ScriptedForward([CAPTAIN, GOOD_1, PLACEHOLDER, PARTIAL, UNNAMED, GOOD_2])
    monkeypatch.setattr(gen, "_forward", fwd)
    res = gen.generate_copy(QUALITY, lm=tiny_lm, sentiment=False, embedder=fake_embedder)
    assert fwd.asked == [6] and res.attempts == 1 and res.candidates == 6  # 2 passed: no second round
    assert res.usable and sorted(v.text for v in res.variants) == sorted([GOOD_1, GOOD_2])
    for v in res.variants:
        assert v.passes and v.failures() == [] and v.checks.covered == [0, 1] and v.checks.product_named
    held = {v.text: v.failures() for v in res.held_back}
    assert set(held) == {CAPTAIN, PLACEHOLDER, PARTIAL, UNNAMED}
    assert held[PARTIAL] == ["states 1 of the 2 key points it needs"]
    assert held[UNNAMED] == ["does not name the product"]
    assert held[PLACEHOLDER][:3] == [
        "template placeholder “[Customers]”",
        "template placeholder “[Your Name]”",
        "template placeholder “[Company Name]”",
    ]
    assert "off topic: says nothing about the brief" in held[CAPTAIN]
    assert "does not name the product" in held[CAPTAIN] and "states 0 of the 2 key points it needs" in held[CAPTAIN]
    # held back best first: more key points stated, then the product named, then the ones stating none
    assert [v.text for v in res.held_back[:2]] == [UNNAMED, PARTIAL]
    assert {v.text for v in res.held_back[2:]} == {CAPTAIN, PLACEHOLDER}
    assert [v.score for v in res.variants] == sorted((v.score for v in res.variants), reverse=True)
    assert res.notes[0] == "Wrote 6 candidates in 1 round(s); 2 passed every check."
    assert not any(gen.NOTHING_USABLE_HINT in n for n in res.notes)
    d = json.loads(json.dumps(res.variants[0].to_dict(), default=str))
    assert (
        d["passes"] is True
        and d["failures"] == []
        and d["checks"]["covered_points"] == QUALITY["key_points"].split("\n")
    )
    h = res.held_back[0].to_dict()
    assert h["passes"] is False and h["failures"] == ["does not name the product"]


def test_more_passing_than_asked_keeps_the_best_n(tiny_lm, monkeypatch, fake_embedder) -> None:
    fwd = ScriptedForward([GOOD_1, GOOD_2, GOOD_3, PARTIAL, CAPTAIN, PRICE])
    monkeypatch.setattr(gen, "_forward", fwd)
    res = gen.generate_copy(QUALITY, lm=tiny_lm, sentiment=False, embedder=fake_embedder)
    assert len(res.variants) == 2 and all(v.passes for v in res.variants) and res.attempts == 1
    spare = res.spares
    assert len(spare) == 1 and spare[0].passes and not any(v.passes for v in res.held_back)
    assert min(v.score for v in res.variants) >= spare[0].score
    assert {v.text for v in [*res.variants, *spare]} == {GOOD_1, GOOD_2, GOOD_3}
    price = next(v for v in res.held_back if v.text == PRICE)
    assert price.failures() == ["a price the brief does not give: “$19.99”"] and not price.checks.rejected
    assert res.notes[0] == "Wrote 6 candidates in 1 round(s); 3 passed every check."


def test_second_round_when_too_few_pass(tiny_lm, monkeypatch, fake_embedder) -> None:
    fwd = ScriptedForward(
        [GOOD_1, CAPTAIN, PARTIAL],  # + 3 empty samples: only one passes
        [GOOD_1.replace(".", "!"), GOOD_2],  # a near-duplicate of round 1, one new good one, 3 empty
    )
    monkeypatch.setattr(gen, "_forward", fwd)
    res = gen.generate_copy(QUALITY, lm=tiny_lm, sentiment=False, embedder=fake_embedder)
    assert fwd.calls == [(6, 7), (3 * 1 + 2, 1007)] and res.attempts == 2 and res.candidates == 11
    assert {v.text: v.attempt for v in res.variants} == {GOOD_1: 0, GOOD_2: 1}
    assert {v.text for v in res.held_back} == {CAPTAIN, PARTIAL}
    assert res.notes[0] == (
        "Wrote 11 candidates in 2 round(s); 2 passed every check, 1 near-duplicates and 6 empty ones dropped."
    )
    assert len(res.notes) == 2 and res.notes[1] == "Sentiment scoring is off."


def test_too_few_pass_after_both_rounds_says_why(tiny_lm, monkeypatch, fake_embedder) -> None:
    fwd = ScriptedForward(
        [GOOD_1, UNNAMED, PRICE, "Keeps drinks cold for 24 hours in BPA-free steel on any trail."],
        ["Cold drinks for 24 hours and BPA-free steel, all day long.", PARTIAL],
    )
    monkeypatch.setattr(gen, "_forward", fwd)
    res = gen.generate_copy(QUALITY, lm=tiny_lm, sentiment=False, embedder=fake_embedder)
    assert res.attempts == 2 and [v.text for v in res.variants] == [GOOD_1] and res.usable
    note = next(n for n in res.notes if n.startswith("Only 1 of 2 variants passed every check."))
    assert "Most common problems: does not name the product (3)" in note
    assert "a price the brief does not give (1)" in note or "states 1 of the 2 key points it needs (1)" in note
    assert note.endswith(gen.NOTHING_USABLE_HINT)


def test_gibberish_by_the_models_own_logprob_is_held_back(tiny_lm, monkeypatch, fake_embedder) -> None:
    fwd = ScriptedForward([(GOOD_1, False, -1.1), (SALAD, False, -7.5), (GOOD_2, False, -2.0)])
    monkeypatch.setattr(gen, "_forward", fwd)
    res = gen.generate_copy(QUALITY, lm=tiny_lm, sentiment=False, embedder=fake_embedder)
    assert sorted(v.text for v in res.variants) == sorted([GOOD_1, GOOD_2])
    (salad,) = res.held_back
    assert salad.text == SALAD and salad.logprob == salad.checks.fluency == -7.5
    assert salad.checks.covered == [0, 1] and salad.checks.product_named  # only fluency catches it
    assert salad.failures() == ["reads as gibberish (the model itself found it unlikely)"]


def test_brand_kit_holds_back_banned_words_and_competitors(tiny_lm, monkeypatch, fake_embedder) -> None:
    save_kit("Acme", banned=["icy"], competitors=["HydroMax"])
    banned = "AquaPure bottle: icy cold drinks for 24 hours, BPA-free steel."
    rival = "AquaPure bottle beats HydroMax: drinks cold for 24 hours, BPA-free steel."
    fwd = ScriptedForward([banned, rival, GOOD_1, GOOD_2])
    monkeypatch.setattr(gen, "_forward", fwd)
    res = gen.generate_copy(
        {**QUALITY, "brand_kit": "Acme"}, lm=tiny_lm, sentiment=lambda texts: [0.9] * len(texts), embedder=fake_embedder
    )
    assert sorted(v.text for v in res.variants) == sorted([GOOD_1, GOOD_2])
    held = {v.text: v for v in res.held_back}
    assert set(held) == {banned, rival}
    b, r = held[banned], held[rival]
    assert b.checks.passes and b.flagged and not b.passes  # the copy checks pass: the kit holds it back
    assert b.failures() == ["Uses the banned word or claim “icy”."] and b.scores["guardrails"] == 0.0
    assert {x.kind for x in r.violations} == {"competitor"} and "Names the competitor “HydroMax”." in r.failures()
    assert all(v.scores["sentiment"] == 0.9 for v in [*res.variants, *res.held_back])
    everything = [*res.held_back, *res.variants]
    reranked = gen.rerank(everything, {"limits": 0, "guardrails": 0, "sentiment": 0, "readability": 0, "uniqueness": 1})
    assert [v.passes for v in reranked] == [True, True, False, False]  # any weighting: passing copy first
    for group in (reranked[:2], reranked[2:]):
        assert [v.score for v in group] == sorted((v.score for v in group), reverse=True)


def test_checks_with_the_real_minilm_embedder(tiny_lm, monkeypatch) -> None:
    coffee = "Fresh coffee delivered to your door every morning."
    monkeypatch.setattr(gen, "_forward", ScriptedForward([coffee, GOOD_1, GOOD_2]))
    res = gen.generate_copy(QUALITY, lm=tiny_lm, sentiment=False)  # embedder=None: MiniLM via the model manager
    assert sorted(v.text for v in res.variants) == sorted([GOOD_1, GOOD_2])
    (off,) = res.held_back
    assert off.text == coffee and "off topic: says nothing about the brief" in off.failures()
    assert all(v.checks.relevance > 0.5 for v in res.variants) and off.checks.relevance < 0.25

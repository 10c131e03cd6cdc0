"""Generation: one batched generate call per brief, cleaning, dedup + regeneration, streaming, bad inputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aigc_core.copy import generate as gen
from aigc_core.copy.brief import Brief, validate_brief
from aigc_core.copy.guardrails import save_kit
from aigc_core.copy.lm import clear_cache, load_language_model
from aigc_core.errors import ModelUnavailableError, UserInputError

BRIEF = {
    "product": "AquaPure bottle",
    "key_points": "cold 24h\nBPA free",
    "audience": "hikers",
    "channel": "product_description",
    "n_variants": 4,
    "seed": 7,
    "max_new_tokens": 16,
}


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


def test_one_batched_generate_call_returns_the_requested_count(tiny_lm, spy) -> None:
    res = gen.generate_copy(BRIEF, lm=tiny_lm, sentiment=False)
    assert len(res.variants) == 4 and res.usable
    assert spy.calls == [{"rows": 4, "streamer": False}]  # one generate call for all 4 variants
    assert res.attempts == 1 and res.new_tokens > 0 and res.seed == 7
    assert res.template == "product_description@v1" and res.params["max_new_tokens"] == 16
    scores = [v.score for v in res.variants]
    assert scores == sorted(scores, reverse=True)
    for v in res.variants:
        assert set(v.scores) == {"limits", "guardrails", "sentiment", "readability", "uniqueness"}
        assert v.scores["sentiment"] is None and v.limit.ok and v.text == v.text.strip()
    assert any("Sentiment" in n for n in res.notes)


def test_static_cache_pads_prompts_to_buckets(tiny_lm, spy) -> None:
    res = gen.generate_copy(BRIEF, lm=tiny_lm, sentiment=False, static_cache=True)
    kw = spy.kwargs[0]
    assert kw["cache_implementation"] == "static" and kw["input_ids"].shape[1] % 64 == 0
    assert len(res.variants) == 4 and spy.calls[0]["rows"] == 4
    default = gen.generation_kwargs(validate_brief(BRIEF), tiny_lm)
    assert "cache_implementation" not in default  # CPU default: dynamic cache (static only on CUDA)


def test_same_seed_same_variants(tiny_lm) -> None:
    a = gen.generate_copy(BRIEF, lm=tiny_lm, sentiment=False)
    b = gen.generate_copy(BRIEF, lm=tiny_lm, sentiment=False)
    assert [v.text for v in a.variants] == [v.text for v in b.variants]


def test_dedup_and_regenerate_keep_the_count(tiny_lm, monkeypatch) -> None:
    script = [
        [
            ("Cold for a full day. Light to carry.", False),
            ("Cold for a full day! Light to carry!", False),
            ("", False),
            ('<|im_start|>assistant\n1. "Stays cold on every trail."', False),
        ],
        [
            ("Cold for a full day, light to carry.", False),
            ("Built for long, hot hikes.", False),
            ("Sure! Here is your copy:\nYour water, ice cold at the summit.", False),
        ],
    ]
    calls: list[int] = []

    def fake_forward(prep, lm, n, *, seed, streamer=None):
        calls.append(n)
        return script[len(calls) - 1], 10 * n

    monkeypatch.setattr(gen, "_forward", fake_forward)
    res = gen.generate_copy({**BRIEF, "n_variants": 4}, lm=tiny_lm, sentiment=False)
    texts = sorted(v.text for v in res.variants)
    assert texts == sorted(
        [
            "Cold for a full day. Light to carry.",
            "Stays cold on every trail.",
            "Built for long, hot hikes.",
            "Your water, ice cold at the summit.",
        ]
    )
    assert calls == [4, 3] and res.attempts == 2  # 2 dropped -> asked for 2 + 1 spare
    assert any("near-duplicate" in n for n in res.notes)


def test_nothing_usable_is_a_result_not_a_crash(tiny_lm, monkeypatch) -> None:
    monkeypatch.setattr(gen, "_forward", lambda prep, lm, n, *, seed, streamer=None: ([("", True)] * n, n))
    res = gen.generate_copy(BRIEF, lm=tiny_lm, sentiment=False)
    assert not res.usable and res.variants == [] and res.attempts == gen.MAX_ATTEMPTS
    assert "creativity" in gen.NOTHING_USABLE_HINT


def test_clean_text_strips_markup_echo_labels_quotes() -> None:
    brief = Brief(product="AquaPure", channel="search_headline")
    prompt = gen.FittedPrompt("", [{"role": "user", "content": "Write a search ad headline for AquaPure."}], 0, 0, "")
    raw = "<|im_start|>assistant\nWrite a search ad headline for AquaPure.\nHeadline 1: “Ice-Cold All Day.”\nmore"
    assert gen.clean_text(raw, brief, prompt, hit_limit=False) == "Ice-Cold All Day"
    long = Brief(product="AquaPure", channel="social_post")
    assert gen.clean_text("Stay cold. Hike far. And then the", long, prompt, hit_limit=True) == "Stay cold. Hike far."


def test_limits_and_guardrails_applied(tiny_lm, monkeypatch) -> None:
    save_kit("Acme", banned=["guaranteed"], competitors=["HydroMax"])
    rows = [
        ("Guaranteed cold drinks for every hiker on every single trail you will ever walk.", False),
        ("Better than HydroMax.", False),
        ("Fresh water, happy trails.", False),
    ]
    monkeypatch.setattr(gen, "_forward", lambda prep, lm, n, *, seed, streamer=None: (rows[:n], 30))
    res = gen.generate_copy(
        {**BRIEF, "channel": "search_headline", "n_variants": 3, "brand_kit": "Acme"},
        lm=tiny_lm,
        sentiment=lambda texts: [0.9] * len(texts),
    )
    by_text = {v.text: v for v in res.variants}
    assert res.variants[0].text == "Fresh water, happy trails"  # clean and within limits ranks first
    flagged = [v for v in res.variants if v.flagged]
    assert {x.kind for v in flagged for x in v.violations} == {"banned", "competitor"}
    assert all(v.limit.length <= 30 for v in by_text.values())
    assert all(v.scores["sentiment"] == 0.9 for v in res.variants)
    reranked = gen.rerank(
        res.variants, {"limits": 0, "guardrails": 0, "sentiment": 0, "readability": 0, "uniqueness": 1}
    )
    assert [v.score for v in reranked] == sorted((v.score for v in reranked), reverse=True)


def test_streaming_first_variant(tiny_lm, spy) -> None:
    run = gen.start_copy(BRIEF, lm=tiny_lm, sentiment=False)
    chunks = list(run.stream())
    res = run.result(timeout=60)
    assert chunks and "".join(chunks).strip()
    assert spy.calls[0]["streamer"] and spy.calls[0]["rows"] == 4
    assert res.first_token_s is not None and res.first_token_s >= 0 and len(res.variants) == 4


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


def test_long_brief_reports_the_cut(tiny_lm_short_dir: Path, settings) -> None:
    clear_cache()
    lm = load_language_model(str(tiny_lm_short_dir))
    points = "\n".join(f"Feature {i}: keeps drinks cold on long hikes" for i in range(50))
    res = gen.generate_copy({**BRIEF, "key_points": points, "n_variants": 2}, lm=lm, sentiment=False)
    assert res.cut_tokens > 0 and res.prompt_tokens + 16 <= 256
    assert any(f"last {res.cut_tokens} tokens" in n for n in res.notes)


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

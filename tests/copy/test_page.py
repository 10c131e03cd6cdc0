"""The Ad copy page headless (AppTest): open, prefill, generate, badges of the checks, held-back candidates,
brand kit, history, bad input.

The tiny random LM runs the real engine end to end (its gibberish fails the checks: the "nothing passed" path).
Copy that passes the checks needs a real model, so those tests patch ``start_copy`` with a run whose result is
built from the engine's own dataclasses (Variant, CopyResult, CheckReport, LimitCheck)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "ad_copy.py")
PRODUCT = "AquaPure bottle"
POINTS = ["Keeps drinks cold for 24 hours", "BPA-free steel"]
STREAMED = ["## Heading\n", "**x** stays ", "cold [link](http://a.b) :red[no]"]


@pytest.fixture()
def page_env(tiny_lm_dir: Path, settings, monkeypatch) -> None:
    from aigc_core.copy import lm, ranking
    from aigc_core.settings import reset_settings

    monkeypatch.setenv("AIGC_TEXT_GENERATION_MODEL", str(tiny_lm_dir))
    reset_settings()
    lm.clear_cache()
    monkeypatch.setattr(ranking, "default_sentiment", lambda texts: [0.8] * len(texts))
    yield
    lm.clear_cache()


def _app() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def _plain(markdown: str) -> str:
    """What a reader sees of the page's escaped Markdown (backslash escapes and zero-width spaces removed)."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u200b", "")


def _badges(at: Any) -> list[str]:
    """The badge lines of the variant cards under `at` (app, tab or expander), as the reader sees them."""
    return [_plain(m.value) for m in at.markdown if "-badge[" in m.value]


# A fake engine run built from the real dataclasses --------------------------------------------------
def _variant(text: str, covered: list[int], *, named: bool = True, findings: list[Any] = (), **kw: Any) -> Any:
    from aigc_core.copy.checks import CheckReport
    from aigc_core.copy.generate import Variant
    from aigc_core.copy.limits import LimitCheck

    checks = CheckReport(
        product_named=named,
        points=list(POINTS),
        covered=covered,
        findings=list(findings),
        relevance=0.6,
        fluency=-2.0,
        language="en",
        needs_points=2,
        reasons=[f.reason for f in findings if f.severity == "reject"],
    )
    n = len(text.split())
    scores = {"limits": 1.0, "guardrails": 1.0, "sentiment": 0.8, "readability": 0.7, "uniqueness": 0.9}
    return Variant(text, text, LimitCheck("words", n, 120, n), scores=scores, score=0.9, checks=checks, **kw)


def _fake_result(brief: Any, *, passing: int) -> Any:
    """``passing`` variants that pass every check and two held back (one to review, one rejected)."""
    from aigc_core.copy.checks import Finding
    from aigc_core.copy.generate import CopyResult, too_few_note

    good = [
        _variant("AquaPure keeps drinks *cold* for 24 hours in BPA-free steel :sunglasses: [trail]", [0, 1]),
        _variant("AquaPure: BPA-free steel that keeps drinks cold for 24 hours on every trail.", [0, 1]),
        _variant("Cold for 24 hours, BPA-free steel: AquaPure goes where you go.", [0, 1]),
    ][:passing]
    review = Finding("number", "50", "review", "a number the brief does not give: “50”")
    placeholder = Finding("placeholder", "[Your Name]", "reject", "template placeholder “[Your Name]”")
    markdown = Finding("markdown", "## ", "reject", "Markdown formatting, not plain copy")
    held = [
        _variant("Save 50 on a bottle that keeps drinks cold for 24 hours.", [0], named=False, findings=[review]),
        _variant("## Heading\nHi [Your Name], **buy** AquaPure now!", [], findings=[placeholder, markdown]),
    ]
    assert all(v.passes for v in good) and not any(v.passes for v in held)
    n = brief.n_variants
    notes = [f"Wrote {len(good) + len(held)} candidates in 1 round(s); {len(good)} passed every check."]
    shortfall = too_few_note(len(good), n, held, None) if len(good) < n else ""
    if shortfall:
        notes.append(shortfall)
    return CopyResult(
        brief=brief,
        variants=good,
        model="fake/SmolLM2-135M",
        model_revision="r1",
        template="chatml",
        prompt="…",
        params={},
        seed=brief.seed or 7,
        attempts=1,
        new_tokens=120,
        seconds=2.0,
        notes=notes,
        held_back=held,
        shortfall=shortfall,
        candidates=len(good) + len(held),
        backend="llama.cpp",
        n_examples=2,
    )


@pytest.fixture()
def fake_engine(page_env, monkeypatch) -> dict[str, Any]:
    """``start_copy`` replaced by a run that streams Markdown-looking chunks and returns a fake result (saved
    to the real history); ``state['passing']`` sets how many variants pass."""
    import aigc_core.copy as copy_api
    from aigc_core.copy.history import save_result

    state: dict[str, Any] = {"passing": 2, "calls": 0}

    class FakeRun:
        def __init__(self, brief: Any, **kwargs: Any) -> None:
            self.result_ = _fake_result(brief, passing=state["passing"])
            if kwargs.get("save"):
                self.result_.generation_id = save_result(self.result_)

        def wait_turn(self, on_wait: Any, every_s: float = 0.5) -> None:
            for ahead in state.get("queue", []):  # other users' requests ahead of this one
                on_wait(ahead)

        def stream(self):
            yield from STREAMED

        def result(self, timeout: float | None = None) -> Any:
            return self.result_

    def fake_start(brief: Any, **kwargs: Any) -> FakeRun:
        state["calls"] += 1
        return FakeRun(brief, **kwargs)

    monkeypatch.setattr(copy_api, "start_copy", fake_start)
    return state


def _fill_brief(at: AppTest, n: int = 3) -> None:
    at.text_input(key="copy_product").input(PRODUCT)
    at.text_area(key="copy_points").input("\n".join(POINTS))
    at.number_input(key="copy_n").set_value(n)
    at.selectbox(key="copy_channel").set_value("product_description")


# Tests ----------------------------------------------------------------------------------------------
def test_opens_without_errors(page_env) -> None:
    at = _app()
    assert at.title[0].value == "Ad copy" and not at.error
    assert [t.label for t in at.tabs] == ["Generate", "Brand kit", "History", "Batch"]


def test_variants_show_what_their_checks_found(fake_engine) -> None:
    at = _app()
    _fill_brief(at, n=3)
    at.button(key="copy_generate").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    result = at.session_state["copy_result"]
    assert len(result.variants) == 2 and result.generation_id
    # one card per passing variant, each with the badges of its checks; no opaque score anywhere
    assert len([m for m in at.tabs[0].markdown if m.value.startswith("**#")]) == 2
    cards = _badges(at.tabs[0])  # the History tab shows them too
    assert len(cards) == 2
    for line in cards:
        assert "Covers 2/2: Keeps drinks cold for 24 hours, BPA-free steel" in line
        assert f"Names {PRODUCT} ✓" in line and "No invented details found ✓" in line and "English" in line
        assert "/120 words · fits" in line and "No brand kit" in line
        assert "Not stated" not in line
    assert not any(re.search(r"\bScore\b", m.value) for m in at.markdown)
    assert not any(re.search(r"Score \d", c.value) for c in at.caption)
    assert any(e.label.startswith("Tie-breakers: order among variants that pass the same checks") for e in at.expander)
    # the caption says what ran and how much was checked
    caption = next(_plain(c.value) for c in at.caption if "variants ·" in c.value)
    assert caption.startswith("2 variants · fake/SmolLM2-135M · llama.cpp · 4 candidates checked · template chatml")
    assert "seed " in caption and "tokens/s" in caption
    # only the passing variants can be selected, and they are plain text (never Markdown)
    assert sorted(c.key for c in at.checkbox if c.key.startswith("copy_v_sel_")) == ["copy_v_sel_0", "copy_v_sel_1"]
    codes = [c.value for c in at.code]
    assert result.variants[0].text in codes and "*cold*" in result.variants[0].text
    assert not any(t in m.value for m in at.markdown for t in ("*cold*", ":sunglasses:", "[trail]", "**x**"))


def test_too_few_passing_warns_and_holds_back_with_reasons(fake_engine) -> None:
    import aigc_core.copy as copy_api

    at = _app()
    _fill_brief(at, n=3)
    at.button(key="copy_generate").click().run()
    assert not at.exception, at.exception
    warnings = [_plain(w.value) for w in at.warning]
    assert len(warnings) == 1
    assert "Only 2 of 3 variants passed every check" in warnings[0]
    assert copy_api.NOTHING_USABLE_HINT in warnings[0]
    held = next(e for e in at.expander if e.label.startswith("Held back"))
    assert held.label == "Held back: 2 candidates that failed a check"
    assert held.proto.expanded is False
    texts = [t.value for t in held.text]
    assert any("Save 50 on a bottle" in t for t in texts)
    assert any("## Heading\nHi [Your Name], **buy** AquaPure now!" in t for t in texts)  # literally, no Markdown
    assert not any("## Heading" in m.value or "**buy**" in m.value for m in at.markdown)
    reasons = " ".join(_plain(m.value) for m in held.markdown)
    for failure in (
        "does not name the product",
        "states 1 of the 2 key points it needs",
        "a number the brief does not give: “50”",
        "template placeholder “[Your Name]”",
        "Markdown formatting, not plain copy",
    ):
        assert failure in reasons
    assert not held.checkbox and not held.button and not held.get("download_button")  # nothing to use them by


def test_streaming_preview_is_plain_text(fake_engine) -> None:
    at = _app()
    _fill_brief(at, n=2)
    at.button(key="copy_generate").click().run()
    assert not at.exception, at.exception
    streamed = "".join(STREAMED)
    assert streamed in [c.value for c in at.code]
    assert not any("## Heading" in m.value or "**x**" in m.value or ":red[no]" in m.value for m in at.markdown)
    assert not at.warning  # two asked, two passed


def test_real_checks_on_scripted_model_output(page_env, monkeypatch) -> None:
    """The real engine (cleaning, checks with the embedded sentence model, ranking, history) on scripted model
    output: only the model's sampling is replaced, since the tiny LM cannot write copy that passes."""
    from aigc_core.copy import generate
    from tests.copy.conftest import ScriptedForward

    forward = ScriptedForward(
        [
            "AquaPure bottle keeps drinks cold for 24 hours, and it is made of BPA-free steel.",
            "Call 555-123-4567 to order your bottle today!",
            "Hike longer with the AquaPure bottle: BPA-free steel that keeps drinks cold for 24 hours.",
            "AquaPure keeps drinks cold for 24 hours for only $19.99!",
        ]
    )
    monkeypatch.setattr(generate, "_forward", forward)
    at = _app()
    _fill_brief(at, n=2)
    at.button(key="copy_generate").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    result = at.session_state["copy_result"]
    assert forward.asked == [6] and len(result.variants) == 2 and not at.warning
    cards = _badges(at.tabs[0])
    assert len(cards) == 2
    assert all("Covers 2/2: Keeps drinks cold for 24 hours, BPA-free steel" in c for c in cards), cards
    assert all(f"Names {PRODUCT} ✓" in c and "No invented details found ✓" in c for c in cards)
    held = next(e for e in at.expander if e.label.startswith("Held back"))
    assert held.label == "Held back: 2 candidates that failed a check"
    reasons = " ".join(_plain(m.value) for m in held.markdown)
    assert "invented contact details: phone number “555-123-4567”" in reasons
    assert "a price the brief does not give: “$19.99”" in reasons


def test_tiny_model_nothing_passes_is_said_plainly(page_env) -> None:
    """The real engine on the tiny random LM: its gibberish fails the checks, and the page says so."""
    import aigc_core.copy as copy_api

    at = _app()
    _fill_brief(at, n=2)
    at.checkbox(key="copy_advanced").check()
    at.number_input(key="copy_max_new").set_value(16)
    at.text_input(key="copy_seed").input("11")
    at.button(key="copy_generate").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    result = at.session_state["copy_result"]
    assert result.seed == 11 and result.generation_id and result.backend == "transformers"
    assert not result.variants and result.held_back  # nothing passes: nothing is recommended
    warning = _plain(at.warning[0].value)
    assert "No candidate passed every check" in warning and copy_api.NOTHING_USABLE_HINT in warning
    assert not [c for c in at.checkbox if c.key.startswith("copy_v_sel_")]
    assert not _badges(at.tabs[0])
    caption = next(_plain(c.value) for c in at.caption if "variants ·" in c.value)
    assert caption.startswith("0 variants · ") and f"{result.candidates} candidates checked" in caption
    held = next(e for e in at.expander if e.label.startswith("Held back"))
    assert held.label == f"Held back: {len(result.held_back)} candidates that failed a check"
    assert len(held.text) == len(result.held_back)
    reasons = " ".join(_plain(m.value) for m in held.markdown)
    assert result.held_back[0].failures()[0] in reasons
    assert at.code  # the streamed preview, as plain text
    saved = next(e for e in at.tabs[2].expander if PRODUCT in e.label)  # History: the notes, no cards
    assert "0 variants" in saved.label and not saved.checkbox
    assert any("No candidate passed every check" in _plain(c.value) for c in saved.caption)
    # the retry says what it does: new candidates with a new random seed, nothing else changed
    retry = at.button(key="copy_retry")
    assert "new random seed" in retry.label and "looser" not in retry.label
    creativity = at.slider(key="copy_creativity").value
    retry.click().run()
    assert not at.exception, at.exception
    assert at.session_state["copy_result"].seed != 11 and at.text_input(key="copy_seed").value == ""
    assert at.slider(key="copy_creativity").value == creativity


def test_rate_favourite_and_history_show_the_checks(fake_engine) -> None:
    at = _app()
    _fill_brief(at, n=2)
    at.button(key="copy_generate").click().run()
    result = at.session_state["copy_result"]
    at.button(key="copy_v_fav_0").click().run()
    assert not at.exception, at.exception
    from aigc_core.copy import history

    assert history.get_entry(result.generation_id).variants[0]["favourite"] is True
    at.text_input(key="copy_hist_search").input("AquaPure").run()
    assert not at.exception
    entry = next(e for e in at.expander if PRODUCT in e.label)
    lines = [_plain(m.value) for m in entry.markdown if "-badge[" in m.value]
    assert len(lines) == 2 and all("Covers 2/2: Keeps drinks cold for 24 hours" in ln for ln in lines)


def test_history_rows_from_before_the_checks_still_show(page_env) -> None:
    """Old history rows have no 'checks': their cards say so instead of failing."""
    from aigc_core.store import Generation, session_scope

    old = {
        "text": "Old copy **kept** as written.",
        "raw": "Old copy",
        "limit": {"unit": "words", "length": 5, "max": 120, "original_length": 5, "ok": True, "label": "5/120 words"},
        "violations": [],
        "scores": {"limits": 1.0},
        "score": 0.9,
    }
    with session_scope() as s:
        s.add(Generation(kind="copy", model="m", model_revision="", prompt="Old brief", params={}, outputs=[old],
                         seed=1, meta={"brief": {"product": "Oldie", "channel": "social_post"}}))  # fmt: skip
    at = _app()
    assert not at.exception, at.exception
    entry = next(e for e in at.expander if "Oldie" in e.label)
    badge = next(_plain(m.value) for m in entry.markdown if "-badge[" in m.value)
    assert "Not checked (written before the copy checks)" in badge and "5/120 words" in badge
    assert "Score" not in badge
    assert old["text"] in [c.value for c in entry.code]


def test_prefill_from_another_page(page_env) -> None:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["ad_copy_prefill"] = {
        "product": "Acme support",
        "key_points": ["Apologise", "Help"],
        "channel": "social_post",
        "tone": "professional",
        "language": "en",
    }
    at.run()
    assert not at.exception
    assert at.text_input(key="copy_product").value == "Acme support"
    assert at.text_area(key="copy_points").value == "Apologise\nHelp"
    assert at.selectbox(key="copy_tone").value == "professional"


def test_empty_brief_shows_an_error(page_env) -> None:
    at = _app()
    at.button(key="copy_generate").click().run()
    assert not at.exception and at.error and "empty" in at.error[0].value


def test_brand_kit_editor_saves(page_env) -> None:
    at = _app()
    at.text_input(key="copy_kit_name_new").input("Acme")
    at.text_area(key="copy_kit_comp_new").input("HydroMax")
    at.text_area(key="copy_kit_req_sms_push_new").input("Reply STOP to opt out")
    at.button(key="copy_kit_save").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    from aigc_core.copy import get_kit

    kit = get_kit("Acme")
    assert kit.competitors == ["HydroMax"] and kit.required == {"sms_push": ["Reply STOP to opt out"]}
    assert "guaranteed" in kit.banned  # the default banned claims come pre-filled


def test_promoted_brand_voice_model_is_the_default_choice(page_env, tiny_lm_dir: Path) -> None:
    assert _app().radio(key="copy_model_choice").value == "default"
    from aigc_core.store import ModelVersion, session_scope

    with session_scope() as s:
        s.add(ModelVersion(task="text-generation", name="voice v1", path=str(tiny_lm_dir), promoted=True))
    at = _app()
    assert not at.error, [e.value for e in at.error]
    assert at.radio(key="copy_model_choice").value == "promoted"


def test_batch_job_progress_then_download(page_env, tmp_path: Path, monkeypatch) -> None:
    from types import SimpleNamespace

    import aigc_core.copy as copy_api

    out = tmp_path / "ad_copy_products.csv"
    out.write_text("product,variant\nAquaPure,Stay cold\n", encoding="utf-8")
    state = {"status": "running", "error": ""}

    def fake_job(job_id: str) -> SimpleNamespace:
        done = state["status"] in {"succeeded", "failed", "cancelled"}
        return SimpleNamespace(
            id=job_id, status=state["status"], progress=1.0 if done else 0.5, message="row 1 of 2",
            finished=done, result={"output": str(out)} if state["status"] == "succeeded" else {}, error=state["error"],
        )  # fmt: skip

    monkeypatch.setattr(copy_api, "batch_job", fake_job)
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["copy_batch_job"] = "job1"
    at.run()
    assert not at.exception, at.exception
    assert any("running: row 1 of 2" in _plain(p.proto.text) for p in at.get("progress"))
    assert not at.get("download_button")
    state["status"] = "succeeded"
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["copy_batch_output"] == str(out) and len(at.get("download_button")) == 1
    state.update(status="failed", error="Model unavailable")
    at.session_state["copy_batch_output"] = ""
    at.run()
    assert any("failed: Model unavailable" in _plain(e.value) for e in at.error)


def test_rating_buttons_use_material_icons_not_emoji(fake_engine) -> None:
    at = _app()
    _fill_brief(at, n=2)
    at.button(key="copy_generate").click().run()
    icons = {k: at.button(key=f"copy_v_{k}_0").proto.icon for k in ("up", "down", "fav")}
    assert icons == {"up": ":material/thumb_up:", "down": ":material/thumb_down:", "fav": ":material/star_border:"}
    assert not any(ch in at.button(key=f"copy_v_{k}_0").label for k in ("up", "down", "fav") for ch in "👍👎★☆")
    at.button(key="copy_v_fav_0").click().run()
    assert at.button(key="copy_v_fav_0").proto.icon == ":material/star:"


def test_an_empty_brief_looks_empty_and_the_example_fills_it(page_env) -> None:
    at = _app()
    hints = [at.text_input(key="copy_product").placeholder, at.text_input(key="copy_audience").placeholder]
    hints.append(at.text_area(key="copy_points").placeholder)
    assert all("AquaPure" not in h and "Hikers" not in h for h in hints)  # no sample brief in grey
    at.button(key="copy_example").click().run()
    assert not at.exception, at.exception
    assert at.text_input(key="copy_product").value == "AquaPure insulated bottle"
    assert at.text_area(key="copy_points").value.splitlines()[0] == "Keeps drinks cold for 24 hours"
    label = at.number_input(key="copy_max_length").label
    assert "characters" in label and "cols" not in label and "width" not in label


def test_a_queued_request_says_how_many_run_first(fake_engine) -> None:
    """#14: users waiting for the language model saw nothing until their turn."""
    fake_engine["queue"] = [2, 1]
    at = _app()
    _fill_brief(at, n=2)
    at.button(key="copy_generate").click().run()
    assert not at.exception, at.exception
    assert at.session_state["copy_result"].variants  # it ran once its turn came


def test_the_checks_caveat_states_the_held_out_precision() -> None:
    from aigc_core.copy.defaults import CHECKS_HELDOUT_USABLE, checks_caveat

    usable, passed = CHECKS_HELDOUT_USABLE
    assert 0 < usable <= passed and f"{usable} of {passed} variants that passed were usable" in checks_caveat()

"""The Ad copy page headless (AppTest): open, prefill, generate with the tiny LM, brand kit, history, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "ad_copy.py")


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


def test_opens_without_errors(page_env) -> None:
    at = _app()
    assert at.title[0].value == "Ad copy" and not at.error
    assert [t.label for t in at.tabs] == ["Generate", "Brand kit", "History", "Batch"]


def test_generate_streams_and_shows_ranked_cards(page_env) -> None:
    at = _app()
    at.text_input(key="copy_product").input("AquaPure bottle")
    at.text_area(key="copy_points").input("cold 24h\nBPA free")
    at.number_input(key="copy_n").set_value(3)
    at.selectbox(key="copy_channel").set_value("product_description")
    at.checkbox(key="copy_advanced").check()
    at.number_input(key="copy_max_new").set_value(16)
    at.text_input(key="copy_seed").input("11")
    at.button(key="copy_generate").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    result = at.session_state["copy_result"]
    assert len(result.variants) == 3 and result.seed == 11 and result.generation_id
    cards = [m.value for m in at.tabs[0].markdown if m.value.startswith("**#")]
    assert len(cards) == 3
    assert any("Tone: 0.80" in m.value for m in at.markdown)  # sentiment badge
    at.button(key="copy_v_fav_0").click().run()
    from aigc_core.copy import history

    assert history.get_entry(result.generation_id).variants[0]["favourite"] is True
    at.text_input(key="copy_hist_search").input("AquaPure").run()
    assert not at.exception and any("AquaPure bottle" in e.label for e in at.expander)


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
    assert any("running: row 1 of 2" in str(p.proto) for p in at.get("progress"))
    assert not at.get("download_button")
    state["status"] = "succeeded"
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["copy_batch_output"] == str(out) and len(at.get("download_button")) == 1
    state.update(status="failed", error="Model unavailable")
    at.session_state["copy_batch_output"] = ""
    at.run()
    assert any("failed: Model unavailable" in e.value for e in at.error)

"""The feedback UI headless (AppTest): marks and edits on the Ad copy page, the Feedback page's counts, preference
data and a blind comparison to the end, and the Fine-tune page's "Brand voice from preferences" form."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from aigc_core import feedback
from aigc_core.copy import history
from tests.copy.conftest import tiny_lm_dir  # noqa: F401 - fixture used by page_env
from tests.copy.test_page import _fill_brief, fake_engine, page_env  # noqa: F401 - fixtures

from .conftest import BAD, GOOD, PRODUCTS

ROOT = Path(__file__).resolve().parents[2]


def _app(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def test_ad_copy_marks_used_down_and_edit(fake_engine: dict[str, Any]) -> None:  # noqa: F811
    at = _app("ad_copy.py")
    _fill_brief(at, n=2)
    at.button(key="copy_generate").click().run()
    gid = at.session_state["copy_result"].generation_id
    at.button(key="copy_v_used_0").click().run()
    assert at.button(key="copy_v_used_0").label == "Used"
    at.button(key="copy_v_down_1").click().run()
    at.toggle(key="copy_v_editing_0").set_value(True).run()
    at.text_area(key="copy_v_edit_text_0").input("AquaPure: cold for 24 hours, BPA-free steel.").run()
    at.button(key="copy_v_edit_save_0").click().run()
    assert not at.exception and not _errors(at), _errors(at)
    v0, v1 = history.get_entry(gid).variants[:2]
    assert v0["used"] is True and v1["rating"] == -1
    assert history.latest_text(v0) == "AquaPure: cold for 24 hours, BPA-free steel." and v0["text"] != v0["versions"][0]
    assert {e.action for e in feedback.list_feedback(gid)} == {"used", "down", "edit"}
    assert any("Edited (version 2)" in c.value for c in at.caption)


def _marked_generations(add_generation) -> None:
    for n, product in enumerate([f"{p} {k}" for k in range(2) for p in PRODUCTS]):
        gid = add_generation(product, [GOOD[n % 3], BAD[n % 2], GOOD[(n + 1) % 3]], kit="Acme")
        feedback.give_feedback(gid, 0, "used")
        feedback.give_feedback(gid, 1, "down")
        feedback.give_feedback(gid, 2, "up")


def test_feedback_page_counts_and_builds_preference_data(add_generation) -> None:
    gid = add_generation("coffee", ["a", "b"], kit="Acme")
    feedback.give_feedback(gid, 0, "used")
    at = _app("feedback.py")
    assert at.dataframe[0].value["used"].tolist() == [1]
    at.button(key="fb_build").click().run()
    assert any("not ready for training" in e for e in _errors(at))  # one brief: the checks say what is missing
    _marked_generations(add_generation)
    at.button(key="fb_build").click().run()
    assert not _errors(at), _errors(at)
    assert at.success and "training pairs" in at.success[0].value


def test_blind_comparison_to_the_end(store, monkeypatch: pytest.MonkeyPatch, add_generation) -> None:
    from aigc_core.feedback import compare

    add_generation("coffee", ["a"])
    add_generation("shoes", ["b"])
    monkeypatch.setattr(feedback, "comparison_choices", lambda: {"registry:a1": "tuned", "base:a1": "base"})
    monkeypatch.setattr(compare, "model_answers", lambda value, briefs, **kw: [f"{value}: {b[:12]}" for b in briefs])
    at = _app("feedback.py")
    at.number_input(key="fb_cmp_n").set_value(2)
    at.button(key="fb_cmp_start").click().run()
    cmp_id = at.session_state["fb_cmp_id"]
    texts = " ".join(c.value for c in at.code)
    assert "registry:a1" in texts and "tuned" not in " ".join(c.value for c in at.caption)
    for n in range(2):
        item = feedback.get_comparison(cmp_id).items[n]
        side = "left" if item.left.startswith("registry:a1") else "right"
        at.button(key=f"fb_pick_{cmp_id}_{n}_{side}").click().run()
    assert not _errors(at), _errors(at)
    assert at.success and "A wins 2, B wins 0" in at.success[0].value.replace("\\", "")
    stored = feedback.get_comparison(cmp_id)
    assert stored.win_rate_a == 1.0 and stored.ci_low == pytest.approx(feedback.wilson_interval(2, 2)[0])
    assert len(at.dataframe[-1].value) == 1  # the finished comparisons


def test_finetune_page_checks_a_preference_run(add_generation, tiny_causal_lm_dir: Path) -> None:
    _marked_generations(add_generation)
    feedback.build_preference_dataset(test_share=0.25)
    at = _app("finetune.py")
    at.selectbox(key="ft_pref_base").set_value("custom…").run()  # a folder base: the local admin's choice
    at.text_input(key="ft_pref_base_custom").input(str(tiny_causal_lm_dir)).run()
    at.number_input(key="ft_pref_maxlen").set_value(256).run()
    at.button(key="ft_pref_check").click().run()
    assert not at.exception and not _errors(at), _errors(at)
    assert any("training pairs" in s.value and "held-out pairs" in s.value for s in at.success)
    at.number_input(key="ft_pref_maxlen").set_value(32).run()
    at.button(key="ft_pref_check").click().run()
    assert any("Raise the max length" in e for e in _errors(at))

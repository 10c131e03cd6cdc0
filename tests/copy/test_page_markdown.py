"""The Ad copy page shows brand-kit names and terms, briefs, model names, engine notes and variants only as
plain or escaped text: a Markdown image or link in them never renders for another user."""

from __future__ import annotations

from typing import Any

import pytest

from tests.copy import test_page as page_tests
from tests.copy.test_page import _app, fake_engine, page_env  # noqa: F401 - fixtures
from tests.fixtures.markdown import assert_only_escaped

PAYLOAD = "![x](http://127.0.0.1:9/x.png)"
POINTS = page_tests.POINTS


@pytest.fixture()
def hostile_result(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake engine's result with the payload in its model name, a note, a variant and a held-back reason."""
    from aigc_core.copy.checks import Finding

    orig = page_tests._fake_result

    def fake(brief: Any, *, passing: int) -> Any:
        result = orig(brief, passing=passing)
        result.model = f"org/{PAYLOAD}"
        result.notes.append(f"Note about {PAYLOAD}")
        result.variants[0].text = f"{brief.product} keeps drinks cold for 24 hours in BPA-free steel {PAYLOAD}"
        held = result.held_back[0].checks
        held.findings = [Finding("number", PAYLOAD, "reject", f"a claim the brief does not give: “{PAYLOAD}”")]
        held.reasons = [f.reason for f in held.findings]
        return result

    monkeypatch.setattr(page_tests, "_fake_result", fake)


def test_kit_brief_model_and_variants_render_escaped(fake_engine, hostile_result) -> None:  # noqa: F811
    import aigc_core.copy as copy_api

    copy_api.save_kit(PAYLOAD, voice=f"Warm {PAYLOAD}", banned=[PAYLOAD, "cheap"], competitors=[PAYLOAD])
    at = _app()
    at.text_input(key="copy_product").input(PAYLOAD)
    at.text_area(key="copy_points").input("\n".join(POINTS))
    at.selectbox(key="copy_kit").set_value(PAYLOAD)
    at.button(key="copy_generate").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    hits = assert_only_escaped(at, PAYLOAD, at_least=6)
    kinds = {kind for kind, _ in hits}
    assert {"markdown", "caption", "expander"} <= kinds, kinds  # badges and reasons, model and note, history title
    badges = " ".join(s for kind, s in hits if "-badge[" in s)
    assert "Names" in badges and "Brand kit" in badges  # the product and the kit's name, in the badges
    assert any(PAYLOAD in c.value for c in at.code)  # the variant itself: a plain-text block
    # the kit editor: saving the kit says its name
    at.selectbox(key="copy_kit_edit").set_value(PAYLOAD).run()
    at.button(key="copy_kit_save").click().run()
    assert not at.exception, at.exception
    assert any("Saved" in s.value for s in at.success)
    assert_only_escaped(at, PAYLOAD, at_least=7)

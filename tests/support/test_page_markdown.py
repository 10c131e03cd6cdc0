"""The Support replies page shows file names, FAQ text, passages, tickets and engine messages only as escaped
text: a Markdown image or link in an uploaded FAQ never renders for the agent."""

from __future__ import annotations

from tests.fixtures.markdown import assert_only_escaped
from tests.support.test_page import _app, page_env  # noqa: F401 - fixtures

PAYLOAD = "![x](http://127.0.0.1:9/x.png)"


def test_hostile_faq_renders_escaped(page_env) -> None:  # noqa: F811
    at = _app()
    at.text_input(key="support_new_name").input(f"KB {PAYLOAD}")
    at.button(key="support_create").click().run()
    faq = f'question,answer\n"What does shipping cost {PAYLOAD}?","Shipping is $4.95 {PAYLOAD}."\n'.encode()
    at.file_uploader(key="support_files").set_value(("faq.csv", faq, "text/csv"))
    at.radio(key="support_where").set_value("here, now (small files)").run()
    at.button(key="support_build").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    at.text_input(key="support_test_q").input("What does shipping cost?")
    at.button(key="support_test_go").click().run()
    at.text_area(key="support_ticket").input(f"What does shipping cost? {PAYLOAD}")
    at.slider(key="support_min_sim").set_value(0.0)
    at.button(key="support_draft").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert_only_escaped(at, PAYLOAD, at_least=2)

"""The Support replies page headless (AppTest): create a knowledge base, upload an FAQ, index it here, test the
retrieval (scores of each retriever), draft a reply (tiny LM) with its passages beside it, and bad uploads.

The real engine runs end to end: a tiny random BERT as the embedding model (through the model manager), the tiny
random LM (its text fails the checks, so the reply is the passage's answer) and a tiny sentiment classifier."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.support.conftest import FAQ_CSV, make_scanned_pdf

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "support.py")


@pytest.fixture()
def page_env(settings, monkeypatch, tmp_path_factory, tiny_bert_encoder_dir, tiny_bert_classifier_dir) -> None:
    from aigc_core.copy import lm
    from aigc_core.settings import reset_settings
    from aigc_core.store import init_store
    from tests.copy.conftest import make_tiny_lm

    folder = make_tiny_lm(tmp_path_factory.mktemp("support_page_lm"), context=1024)
    monkeypatch.setenv("AIGC_TEXT_GENERATION_MODEL", str(folder))
    monkeypatch.setenv("AIGC_EMBEDDING_MODEL", str(tiny_bert_encoder_dir))
    monkeypatch.setenv("AIGC_SENTIMENT_MODEL", str(tiny_bert_classifier_dir))
    reset_settings()
    init_store()
    lm.clear_cache()
    yield
    lm.clear_cache()


def _app() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    return at


def _kb_with_faq(at: AppTest) -> AppTest:
    at.text_input(key="support_new_name").input("Help centre")
    at.button(key="support_create").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    at.file_uploader(key="support_files").set_value(("faq.csv", FAQ_CSV.encode(), "text/csv"))
    at.radio(key="support_where").set_value("here, now (small files)").run()
    at.button(key="support_build").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    return at


def test_empty_page_invites_to_create(page_env) -> None:
    at = _app()
    assert at.title[0].value == "Support replies"
    assert any("No knowledge base yet" in i.value for i in at.info)


def test_build_search_and_draft(page_env) -> None:
    at = _kb_with_faq(_app())
    assert any("4 passages (ready)" in s.value for s in at.success)
    assert any(c.value.startswith("Indexed with") for c in at.caption)  # the version's encoder
    at.text_input(key="support_test_q").input("What does shipping cost?")
    at.button(key="support_test_go").click().run()
    assert not at.exception and not at.error
    table = next(d.value for d in at.dataframe if "fused" in d.value.columns)
    assert {"BM25", "dense", "fused", "why"} <= set(table.columns) and len(table) == 4
    assert table["where"].iloc[0] == "What does shipping cost?"
    at.text_area(key="support_ticket").input("What does shipping cost?")
    at.slider(key="support_min_sim").set_value(0.0)
    at.button(key="support_draft").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    page = " ".join(m.value for m in at.markdown)
    # the tiny random LM's text fails the checks: the reply is the passage's answer, and the page says so
    assert "**[1]**" in page and "ready to send" in page and "answer taken from [1]" in page
    assert at.text_area(key="support_edit").value.endswith("[1].")
    assert any(i.value.startswith("Answer taken from") for i in at.info)
    at.multiselect(key="support_pick").set_value([2])
    at.number_input(key="support_seed").set_value(5)
    at.button(key="support_draft").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    d = at.session_state["support_last"]
    assert d.settings["passage_numbers"] == [2] and d.settings["seed"] == 5, d.settings
    assert [p.rank for p in d.passages] == [2]
    at.text_area(key="support_edit").input("Standard delivery is $4.95 [1].")
    at.button(key="support_save").click().run()
    assert not at.exception and not at.error


def test_unrelated_ticket_is_handed_to_a_person(page_env) -> None:
    at = _kb_with_faq(_app())
    at.text_area(key="support_ticket").input("Do you sell garden furniture?")
    at.slider(key="support_min_sim").set_value(1.0)
    at.button(key="support_draft").click().run()
    assert not at.exception and not at.error
    assert "needs a person" in " ".join(m.value for m in at.markdown)
    assert "follow up" in at.text_area(key="support_edit").value


def test_scanned_pdf_and_faq_without_answers_show_clear_errors(page_env) -> None:
    at = _app()
    at.text_input(key="support_new_name").input("Docs")
    at.button(key="support_create").click().run()
    at.file_uploader(key="support_files").set_value(("scan.pdf", make_scanned_pdf(), "application/pdf")).run()
    at.button(key="support_build").click().run()
    assert not at.exception
    assert any("no text layer" in e.value for e in at.error)
    at.file_uploader(key="support_files").set_value(("faq.csv", b"question,notes\nHow?,x\n", "text/csv")).run()
    at.button(key="support_build").click().run()
    assert any("no answer column" in e.value for e in at.error)


def test_batch_tab_submits_a_job(page_env) -> None:
    at = _kb_with_faq(_app())
    at.file_uploader(key="support_batch_file").set_value(("t.csv", b"text\nWhere is my parcel?\n", "text/csv")).run()
    at.button(key="support_batch_go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    from aigc_core import jobs

    job = jobs.get(at.session_state["support_batch_job"])
    assert job.kind == "support.batch" and job.status == "queued"

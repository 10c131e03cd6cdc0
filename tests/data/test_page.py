"""The Data page headless: load a sample, clean, split & save, upload errors, delete with confirmation."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from aigc_core import data as D

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "data.py")


@pytest.fixture()
def at(store: Path) -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=60)
    app.run()
    assert not app.exception, app.exception
    return app


def test_load_sample_clean_split(at: AppTest) -> None:
    at.button(key="data_load_sample_tweets").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    ds = D.list_datasets()
    assert [d.name for d in ds] == ["Sample: tweets with sentiment"]
    assert any("Created Sample" in s.value for s in at.success)
    assert at.selectbox(key="data_work_version").value == ds[0].latest_version_id
    at.checkbox(key="data_clean_urls").check().run()
    at.button(key="data_clean_run").click().run()
    assert not at.exception, at.exception
    assert any(e.label.startswith("remove_urls:") for e in at.expander)
    at.button(key="data_clean_save").click().run()
    at.button(key="data_split_run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    kinds = [v.kind for v in D.list_versions(ds[0].id)]
    assert kinds == ["split", "clean", "original"]
    split = D.list_versions(ds[0].id)[0]
    assert split.row_counts["train"] > split.row_counts["test"] > 0
    assert D.load_version(split.id, split="train")["text"].str.contains("http").sum() == 0


def test_engine_error_is_shown_not_raised(at: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    from aigc_core.errors import NotFoundError

    def boom(key: str) -> None:
        raise NotFoundError("The sample file is missing.", hint="Reinstall.")

    monkeypatch.setattr(D, "load_sample", boom)
    at.button(key="data_load_sample_brand_copy").click().run()
    assert not at.exception
    assert any("sample file is missing" in e.value for e in at.error)
    assert D.list_datasets() == []


def test_delete_needs_confirmation(at: AppTest) -> None:
    v = D.load_sample("brand_copy")
    at.run()
    assert at.button(key=f"data_list_delete_ds_{v.dataset_id}").disabled
    at.checkbox(key=f"data_list_confirm_{v.dataset_id}").check().run()
    at.button(key=f"data_list_delete_ds_{v.dataset_id}").click().run()
    assert not at.exception, at.exception
    assert D.list_datasets() == []


def test_each_step_keeps_its_result_on_screen_and_opens_the_next_step(at: AppTest) -> None:
    """#14: after "Run cleaning" and "Save cleaned version" the page jumped back to "1 · Upload"."""
    at.button(key="data_load_sample_tweets").click().run()
    assert at.session_state["data_tab"] == "2 · Profile"  # the next step
    at.session_state["data_tab"] = "3 · Clean"  # the user opens Clean
    at.run()
    at.button(key="data_clean_run").click().run()
    assert not at.exception, at.exception
    assert at.session_state["data_tab"] == "3 · Clean"  # the cleaning result stays in view
    assert any("rows**" in m.value for m in at.markdown)
    at.button(key="data_clean_save").click().run()
    assert at.session_state["data_tab"] == "4 · Split & save"  # one click from the next step: it is open
    assert any("Continue with Split" in s.value for s in at.success)

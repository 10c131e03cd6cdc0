"""The Data page shows dataset names, descriptions, column names and the data's texts only escaped: a Markdown
image or link one user put into them never renders for another."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from aigc_core import data as D
from tests.fixtures.markdown import assert_only_escaped

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "data.py")
PAYLOAD = "![x](http://127.0.0.1:9/x.png)"


def test_dataset_names_columns_and_texts_render_escaped(store: Path) -> None:
    df = pd.DataFrame(
        {
            PAYLOAD: [f"<b>{PAYLOAD}</b> http://t.co/a", f"{PAYLOAD}   spaced", "plain text", "plain text"],
            "label": ["positive", "negative", "positive", "negative"],
        }
    )
    v = D.import_dataframe(PAYLOAD, df, roles={"text": PAYLOAD, "label": "label"}, description=f"About {PAYLOAD}")
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["data_flash"] = f"Saved {v.label}. Continue with Profile."  # as after an upload
    at.run()
    assert not at.exception, at.exception
    kinds = {kind for kind, _ in assert_only_escaped(at, PAYLOAD, at_least=4)}
    assert {"success", "expander", "caption"} <= kinds, kinds  # the flash, the Datasets list, roles, description
    at.checkbox(key="data_clean_html").check()
    at.checkbox(key="data_clean_urls").check()
    at.button(key="data_clean_run").click().run()  # the cleaning report shows before/after texts
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert_only_escaped(at, PAYLOAD, at_least=3)
    assert not at.get("table")  # before/after examples are a dataframe (plain text), not a Markdown table
    assert at.dataframe

"""AppTest of corrections on the Sentiment page: the drill-down's editable label column, the toggle that counts
corrected labels in the KPIs, the Corrections tab's export and retrain messages, and a viewer's read-only view."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from aigc_core.monitor import corrections, scoring, store
from tests.fixtures.markdown import shown
from tests.users.conftest import team  # noqa: F401 - the fixture: alice (admin), bob (editor), vera (viewer)

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "sentiment.py")
MAPPING = {"text": "text", "timestamp": "t", "topic": "topic", "id": "id"}


def _monitor() -> store.MonitorInfo:
    words = {0: "bad", 1: "product", 2: "great"}
    frame = pd.DataFrame(
        [{"id": f"r{i}", "t": f"2026-01-01T{i % 24:02d}:00:00Z", "text": f"shop {words[i % 3]} {i}", "topic": "shop"}
         for i in range(30)]
    )  # fmt: skip
    info, _ = store.create_monitor("shop", mapping=MAPPING, frame=frame)
    scoring.score_pending(info.id)
    return info


def _page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def test_toggle_counts_corrected_labels_and_tab_exports(settings, fake_scorer) -> None:
    info = _monitor()
    at = _page()
    (editor,) = [d for d in at.dataframe if (d.key or "").startswith(f"sent_drill_edit_{info.id}_")]
    assert {"label", "model_label", "corrected_by", "text", "row_id"} <= set(editor.value.columns)
    tab = next(t for t in at.tabs if t.label == "Corrections")
    assert "No corrected labels yet" in " ".join(m.value for m in tab.info)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Share negative"] == "33.3%"
    corrections.correct_labels(info.id, {"r0": "positive", "r3": "positive", "r6": "neutral"})
    at.run()
    assert {m.label: m.value for m in at.metric}["Share negative"] == "33.3%"  # the model's labels by default
    (editor,) = [d for d in at.dataframe if (d.key or "").startswith(f"sent_drill_edit_{info.id}_")]
    r0 = editor.value.set_index("row_id").loc["r0"]
    assert (r0["label"], r0["model_label"], r0["corrected_by"]) == ("positive", "negative", "system")
    at.toggle(key=f"sent_corrected_{info.id}").set_value(True).run()
    assert not at.exception, at.exception
    assert {m.label: m.value for m in at.metric}["Share negative"] == "23.3%"  # 7 of 30
    tab = next(t for t in at.tabs if t.label == "Corrections")
    assert "3 corrected text(s): 0 negative, 1 neutral, 2 positive" in " ".join(c.value for c in tab.caption)
    at.button(key=f"sent_corr_export_{info.id}").click().run()
    assert any("shop corrections" in s.value for s in at.success), [s.value for s in at.success]
    at.button(key=f"sent_retrain_go_{info.id}").click().run()
    errors = " ".join(shown(e.value) for e in at.error)
    assert "is not a fine-tuned classifier of this studio" in errors, errors


def test_viewer_sees_labels_but_no_editor(fake_scorer, team) -> None:  # noqa: F811
    from aigc_core.users.roles import SYSTEM, set_process_actor

    info = _monitor()
    store.set_monitor_shared(info.id, True)
    corrections.correct_labels(info.id, {"r0": "positive"}, actor=team["bob"])
    set_process_actor(team["vera"])  # page runs act as the viewer (as the router's sign-in makes them)
    try:
        at = _page()
    finally:
        set_process_actor(SYSTEM)
    assert not [d for d in at.dataframe if (d.key or "").startswith("sent_drill_edit_")]
    (table,) = [d for d in at.dataframe if "corrected_by" in d.value.columns and "prob_negative" in d.value.columns]
    row = table.value.set_index("row_id").loc["r0"]
    assert (row["label"], row["corrected_by"]) == ("positive", "bob")
    assert not [b for b in at.button if b.key == f"sent_corr_export_{info.id}"]

"""The Sentiment monitor page shows what one user uploaded (texts, column names, topics, monitor names) to the
others only escaped: a Markdown image or link in a tweet never becomes one in a caption, a banner or a label."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from aigc_core.monitor import alerts as al
from aigc_core.monitor import evaluation, scoring, store
from tests.fixtures.markdown import assert_only_escaped

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "sentiment.py")
PAYLOAD = "![x](http://127.0.0.1:9/x.png)"


def _seed() -> store.MonitorInfo:
    """A monitor whose text column, topic and texts carry the payload, scored, with an alert that fired."""
    n = 60
    when = pd.date_range("2026-03-01", periods=n, freq="2h").astype(str)
    texts = [f"terrible delayed flight {PAYLOAD} {i}" if i >= n - 20 else f"great crew thanks {i}" for i in range(n)]
    frame = pd.DataFrame({"when": when, PAYLOAD: texts, "topic": [PAYLOAD] * n})
    info, _ = store.create_monitor(
        PAYLOAD, mapping={"text": PAYLOAD, "timestamp": "when", "topic": "topic"}, frame=frame
    )
    scoring.start_scoring(info.id)
    al.create_rule(info.id, "share_negative", 0.3, window="1D", min_volume=1, topic=PAYLOAD)
    assert evaluation.evaluate(info.id).fired, "the seeded rule did not fire"
    return store.get_monitor(info.id)


def test_uploaded_texts_topics_and_columns_render_escaped(settings, fake_scorer) -> None:
    info = _seed()
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    hits = assert_only_escaped(at, PAYLOAD, at_least=4)
    kinds = {kind for kind, _ in hits}
    assert "warning" in kinds  # the alert banner names the topic
    assert "caption" in kinds  # the example texts of the terms and of the alert, the column mapping
    assert any(PAYLOAD in t for t in store.load_rows(info.id)["text"])  # the data itself is kept as uploaded

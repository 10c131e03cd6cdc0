"""Sentiment monitor: score streams of text, watch trends by topic and source, drill into spikes, alert."""

from __future__ import annotations

import streamlit as st

from pages._ui import empty_state, page_header

page_header(
    "Sentiment monitor",
    "Know early when sentiment turns, see why, and act — over reviews, tweets and support tickets.",
)
empty_state(
    "The dashboard is not available yet. It will score a dataset with text and timestamp columns (only new rows are "
    "scored when a batch is added), show KPI tiles, trends by topic and source, a drill-down to the texts behind a "
    "spike, the terms people complain about, and alerts sent to a webhook.",
    hint="Meanwhile, load the sample tweets on the **Data** page.",
)
st.page_link("pages/data.py", label="Go to Data", icon=":material/table:")

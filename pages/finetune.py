"""Fine-tune: train sentiment/topic classifiers and a brand-voice language model without code."""

from __future__ import annotations

import streamlit as st

from pages._ui import empty_state, page_header

page_header(
    "Fine-tune",
    "Pick a dataset version, a task and a base model, press Train, watch it learn, and promote the result.",
)
empty_state(
    "Training from this page is not available yet. It will train text classifiers (sentiment, topic, intent) on the "
    "offline MiniLM encoder or a hub model, and a brand-voice language model with LoRA on SmolLM2 or a hub model — "
    "as background jobs with live loss curves, evaluation against the base model and a model registry whose "
    "promoted versions appear on the Ad copy and Sentiment pages.",
    hint="Meanwhile, prepare a labelled dataset on the **Data** page; it will be listed here.",
)
st.page_link("pages/data.py", label="Go to Data", icon=":material/table:")

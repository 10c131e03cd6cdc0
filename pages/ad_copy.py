"""Ad copy: a brief in, ranked on-brand variants out."""

from __future__ import annotations

import streamlit as st

from pages._ui import empty_state, page_header

page_header(
    "Ad copy",
    "Write a brief (product, audience, channel, tone, language) and get ranked variants that respect channel "
    "limits and your brand's rules.",
)
empty_state(
    "The brief form is not available yet. It will stream the first variant as it is written, generate all variants "
    "in one batched call, check each against the channel's limits and your brand kit (banned words, required "
    "disclaimers, competitors), rank them, and keep a searchable history with favourites and export.",
    hint="You can already check that the language model works from the **Home** page.",
)
st.page_link("pages/home.py", label="Try the language model", icon=":material/home:")

"""Home: what the studio does, where to start, and a quick check that the language model works."""

from __future__ import annotations

import streamlit as st

from pages._ui import code_span, guard, literal, page_header

page_header(
    "AIGC Studio",
    "Generative AI for marketing, analytics and design teams — running on your own hardware.",
)

ROLES = [
    (
        "pages/ad_copy.py",
        "Ad copy",
        ":material/campaign:",
        "Marketers",
        "A brief in, ranked on-brand variants out, checked against channel limits and your brand kit.",
    ),
    (
        "pages/sentiment.py",
        "Sentiment monitor",
        ":material/monitoring:",
        "Analysts",
        "Trends by topic and source over reviews, tweets and tickets, drill-down to the texts behind a spike, alerts.",
    ),
    (
        "pages/images.py",
        "Images",
        ":material/image:",
        "Designers",
        "Text-to-image and image-to-image drafts with presets, seeds and a gallery that keeps every setting.",
    ),
    (
        "pages/data.py",
        "Data",
        ":material/table:",
        "Everyone",
        "Upload, clean and split data — or load a sample in one click — into versioned datasets.",
    ),
    (
        "pages/finetune.py",
        "Fine-tune",
        ":material/model_training:",
        "Everyone",
        "Train a sentiment/topic classifier or a brand-voice model; tuned models appear on the other pages.",
    ),
    (
        "pages/models_jobs.py",
        "Models & jobs",
        ":material/memory:",
        "Everyone",
        "The model catalog, loaded models, and long work running in the background.",
    ),
]
for row_start in (0, 3):
    cols = st.columns(3)
    for col, (target, label, icon, who, what) in zip(cols, ROLES[row_start : row_start + 3], strict=True):
        with col.container(border=True):
            st.page_link(target, label=label, icon=icon)
            st.caption(f"**{who}** · {what}")

st.subheader("Try the language model")
st.caption(
    "A quick check that text generation works on this machine. Offline, this uses the embedded SmolLM2-135M-Instruct "
    "(small and fast, modest quality); set `AIGC_TEXT_GENERATION_MODEL` to a larger model for production copy."
)
prompt = st.text_input(
    "Prompt", value="Write a one-line slogan for a neighbourhood coffee shop.", key="home_smoke_prompt", max_chars=500
)
if st.button("Generate", key="home_smoke_generate", icon=":material/play_arrow:"):
    from aigc_core.tasks.text_generation import generate

    with st.spinner("Loading the model (the first time takes a few seconds) and generating…"):
        result = guard(generate, prompt, max_new_tokens=48, temperature=0.7, seed=0)
    if result is not None:
        st.session_state["home_smoke_result"] = result
        st.rerun()  # so the sidebar, drawn before this, lists the model that was just loaded
result = st.session_state.get("home_smoke_result")
if result is not None:
    st.success(literal(result.texts[0], lines=True) or "(the model returned nothing — try another prompt)")
    st.caption(
        f"Model {code_span(result.model)} · {result.new_tokens} tokens in {result.seconds:.1f} s · seed {result.seed}"
    )

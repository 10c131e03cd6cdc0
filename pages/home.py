"""Home: what the studio does, where to start, and a quick check that the language model works."""

from __future__ import annotations

import streamlit as st

from pages._ui import guard, page_header

page_header(
    "AIGC Studio",
    "Generative AI for marketing, analytics and design teams — running on your own hardware.",
)

cols = st.columns(3)
cols[0].markdown(
    "**Marketers** · [Ad copy](/ad-copy)\n\nA brief in, ranked on-brand variants out, checked against channel "
    "limits and your brand kit."
)
cols[1].markdown(
    "**Analysts** · [Sentiment monitor](/sentiment)\n\nTrends by topic and source over reviews, tweets and tickets, "
    "drill-down to the texts behind a spike, alerts."
)
cols[2].markdown(
    "**Designers** · [Images](/images)\n\nText-to-image and image-to-image drafts with presets, seeds and a gallery "
    "that keeps every setting."
)
st.markdown(
    "**Everyone** · start on the [Data](/data) page (upload, clean, split — or load a sample in one click), "
    "then [Fine-tune](/fine-tune) a classifier or a brand-voice model; tuned models appear on the other pages. "
    "Long work runs in the background: see [Models & jobs](/models-jobs)."
)

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
        st.success(result.texts[0] or "(the model returned nothing — try another prompt)")
        st.caption(
            f"Model `{result.model}` · {result.new_tokens} tokens in {result.seconds:.1f} s · seed {result.seed}"
        )

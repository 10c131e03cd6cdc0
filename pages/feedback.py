"""Feedback: what marketers did with ad copy (counts per brand kit and model), the preference data built from it,
and blind comparisons of two language models on the same briefs.

Model output and user text are plain text: shown with st.code / st.text, or escaped (literal) in Markdown."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from aigc_core import feedback as feedback_api
from aigc_core.feedback.compare import MAX_BRIEFS
from aigc_core.finetune import registry
from aigc_core.users.roles import current
from pages._ui import empty_state, guard, literal, page_header

CMP_KEY = "fb_cmp_id"

page_header(
    "Feedback",
    "See which variants your team used, liked, disliked or edited; turn those choices into preference data for "
    "the brand voice; compare two models blind.",
)
tab_counts, tab_data, tab_compare = st.tabs(["Counts", "Preference data", "Blind comparison"])


def render_counts() -> None:
    """Feedback counts per brand kit and model version."""
    rows = guard(feedback_api.feedback_counts) or []
    if not rows:
        empty_state(
            "No ad copy generations yet.",
            hint="Generate copy on the **Ad copy** page and mark variants used, 👍, 👎 or edit them.",
        )
        return
    df = pd.DataFrame([r.to_dict() for r in rows]).rename(
        columns={
            "brand_kit": "brand kit", "model_revision": "revision", "judged_generations": "judged generations",
            "thumbs_up": "👍", "thumbs_down": "👎",
        }
    )  # fmt: skip
    st.dataframe(df, hide_index=True, key="fb_counts")
    st.caption("Current marks on the variants; events counts every click, including ones later undone.")


def render_data() -> None:
    """Build a preference dataset version from the feedback, with its checks."""
    st.write(
        "Pairs for the same brief: a variant marked used or 👍 beats a 👎 one and, once something was used, the "
        "ones left unused; an edit beats the text it was edited from. Briefs are split into train and test as a "
        "whole, so the held-out accuracy is measured on briefs the model never saw."
    )
    c1, c2 = st.columns(2)
    test_share = c1.slider("Held-out share of briefs", 0.1, 0.5, 0.2, 0.05, key="fb_test_share")
    name = c2.text_input("Dataset name (empty: brand-voice preferences)", key="fb_ds_name")
    if st.button("Build preference data", key="fb_build", type="primary"):
        built = guard(feedback_api.build_preference_dataset, name=name, test_share=test_share)
        if built is not None:
            version_id, check = built
            st.success(
                f"Saved dataset version {version_id}: {check.n_train} training pairs from {check.briefs_train} "
                f"briefs, {check.n_test} held-out pairs from {check.briefs_test} briefs. Train on it on the "
                "**Fine-tune** page (Brand voice from preferences)."
            )
            for note in check.notes:
                st.caption(f"ℹ️ {literal(note)}")


def _render_item(cmp: feedback_api.ComparisonInfo, n: int) -> None:
    item = cmp.items[n]
    with st.container(border=True):
        st.caption(f"Brief {n + 1} of {len(cmp.items)}")
        st.text(item.brief)
        left, right = st.columns(2)
        left.code(item.left or "(empty answer)", language=None, wrap_lines=True)
        right.code(item.right or "(empty answer)", language=None, wrap_lines=True)
        if item.pick:
            st.caption(f"Your pick: {item.pick}" + (f" · A was on the {item.a_side}" if item.a_side else ""))
            return
        b1, b2, b3 = st.columns(3)
        for col, choice, label in (
            (b1, "left", "Left is better"),
            (b2, "tie", "Same"),
            (b3, "right", "Right is better"),
        ):
            picked = col.button(label, key=f"fb_pick_{cmp.id}_{n}_{choice}")
            if picked and guard(feedback_api.pick, cmp.id, n, choice) is not None:
                st.rerun()


def render_compare() -> None:
    """Start a blind comparison, pick, and see the stored win rate."""
    choices = guard(feedback_api.comparison_choices) or {}
    if len(choices) < 2:
        empty_state(
            "A comparison needs two language models: a fine-tuned brand-voice version and its base, or two versions.",
            hint="Train one on the **Fine-tune** page (Brand voice from preferences).",
        )
    else:
        keys = list(choices)
        c1, c2, c3 = st.columns([2, 2, 1])
        model_a = c1.selectbox("Model A", keys, format_func=choices.get, key="fb_cmp_a")
        model_b = c2.selectbox("Model B", keys, index=1, format_func=choices.get, key="fb_cmp_b")
        n = c3.number_input("Briefs", 1, MAX_BRIEFS, 5, key="fb_cmp_n")
        st.caption("The briefs are your newest ad copy briefs; the answers are shown in random order, unlabelled.")
        if st.button("Start blind comparison", key="fb_cmp_start", type="primary"):
            briefs = guard(feedback_api.recent_briefs, int(n)) or []
            with st.spinner("Both models are answering the briefs…"):
                info = guard(feedback_api.start_comparison, model_a, model_b, briefs, name=f"{model_a} vs {model_b}")
            if info is not None:
                st.session_state[CMP_KEY] = info.id
    cmp_id = st.session_state.get(CMP_KEY)
    cmp = guard(feedback_api.get_comparison, cmp_id) if cmp_id else None
    if cmp is not None:
        st.subheader("Pick the better answer")
        if cmp.complete:
            st.success(
                f"{literal(cmp.summary())}. A = {literal(choices.get(cmp.model_a, cmp.model_a))}, "
                f"B = {literal(choices.get(cmp.model_b, cmp.model_b))}."
            )
            _promote_winner(cmp)
        else:
            st.caption(f"{cmp.remaining} left; the models are revealed once every brief has a pick.")
        for i in range(len(cmp.items)):
            _render_item(cmp, i)
    done = [c for c in (guard(feedback_api.list_comparisons) or []) if c.complete]
    if done:
        st.subheader("Finished comparisons")
        rows = [
            {"when": c.created_at, "A": c.model_a, "B": c.model_b, "A wins": c.wins_a, "B wins": c.wins_b,
             "ties": c.ties, "win rate A": c.win_rate_a, "95% low": c.ci_low, "95% high": c.ci_high}
            for c in done
        ]  # fmt: skip
        st.dataframe(pd.DataFrame(rows), hide_index=True, key="fb_cmp_done")


def _promote_winner(cmp: feedback_api.ComparisonInfo) -> None:
    """Admins promote the winning version when its interval is above one half."""
    winner = cmp.model_a if (cmp.ci_low or 0) > 0.5 else (cmp.model_b if (cmp.ci_high or 1) < 0.5 else "")
    if not winner.startswith("registry:") or not current().is_admin:
        return
    if st.button("Promote the winner", key=f"fb_promote_{cmp.id}"):
        info = guard(registry.promote, winner.removeprefix("registry:"))
        if info is not None:
            st.success(f"Promoted {literal(info.name)}; roll back on the Fine-tune page.")


with tab_counts:
    render_counts()
with tab_data:
    render_data()
with tab_compare:
    render_compare()

"""Analysts' label corrections on the Sentiment page: the editable label column of the drill-down, the toggle that
counts corrected labels, and the Corrections tab (list, export as a dataset version, retrain the classifier)."""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from aigc_core.monitor import corrections, retrain
from aigc_core.monitor.aggregate import MonitorData
from aigc_core.monitor.store import MonitorInfo
from pages._jobs_widgets import progress_bar
from pages._sentiment_common import FLASH, LABELS, can_change, me
from pages._ui import empty_state, guard, literal

RETRAIN_JOB_KEY = "sent_retrain_job"  # {monitor_id: job_id} of the retraining job being watched


def use_corrected(info: MonitorInfo, data: MonitorData) -> MonitorData:
    """The toggle 'Count corrected labels'; returns the data the dashboard then aggregates."""
    on = st.toggle(
        "Count analysts' corrected labels",
        key=f"sent_corrected_{info.id}",
        help="KPIs, charts, terms and the drill-down use the corrected label where an analyst corrected one.",
    )
    if not on:
        return data
    corrected = guard(corrections.corrected_data, info.id)
    return corrected if corrected is not None else data


def _rev_key(info: MonitorInfo) -> str:
    return f"sent_corr_rev_{info.id}"


def drill_table(info: MonitorInfo, rows: pd.DataFrame, columns: list[str], column_config: dict) -> None:
    """The drill-down rows; the label column is a select for those who may correct (one click per text)."""
    shown = guard(corrections.with_corrections, info.id, rows)
    if shown is None:
        return
    cols = [c for c in columns if c != "label"]
    cols = [*cols[: cols.index("text") if "text" in cols else len(cols)], "label", "model_label", "corrected_by",
            *cols[cols.index("text") if "text" in cols else len(cols):]]  # fmt: skip
    config = {
        **column_config,
        "label": st.column_config.SelectboxColumn(
            "label (click to correct)", options=list(LABELS), required=True,
            help="Pick the right label; it is stored for this monitor with your name.",
        ),
        "model_label": st.column_config.TextColumn("model said"),
        "corrected_by": st.column_config.TextColumn("corrected by"),
    }  # fmt: skip
    if not me().can_create:
        st.dataframe(shown[cols], hide_index=True, key=f"sent_drill_{info.id}", column_config=config)
        return
    digest = hashlib.sha256("\x00".join(shown["row_id"].astype(str)).encode()).hexdigest()[:10]
    rev = int(st.session_state.get(_rev_key(info), 0))
    edited = st.data_editor(
        shown[cols], hide_index=True, key=f"sent_drill_edit_{info.id}_{rev}_{digest}", column_config=config,
        disabled=[c for c in cols if c != "label"], num_rows="fixed",
    )  # fmt: skip
    changes = corrections.edited_labels(shown, edited)
    if changes:
        saved = guard(corrections.correct_labels, info.id, changes)
        if saved is not None:
            st.session_state[_rev_key(info)] = rev + 1  # a fresh editor over the stored labels
            st.session_state[FLASH] = f"Saved {len(changes)} label correction(s)."
            st.rerun()


def _retrain_form(info: MonitorInfo) -> None:
    with st.form(f"sent_retrain_form_{info.id}", border=False):
        c1, c2, c3 = st.columns(3)
        epochs = c1.number_input("Epochs", 0.5, 50.0, 3.0, 0.5, key=f"sent_retrain_epochs_{info.id}")
        holdout = c2.slider("Held out to test", 0.1, 0.5, 0.3, 0.05, key=f"sent_retrain_holdout_{info.id}")
        name = c3.text_input("New version name", "", key=f"sent_retrain_name_{info.id}")
        go = st.form_submit_button("Retrain the classifier", key=f"sent_retrain_go_{info.id}", type="primary")
    if go:
        params = retrain.RetrainParams(
            monitor_id=info.id, epochs=float(epochs), holdout_fraction=float(holdout), name=name.strip()
        )
        job_id = guard(retrain.submit_retrain, params)
        if job_id:
            st.session_state.setdefault(RETRAIN_JOB_KEY, {})[info.id] = job_id
            st.toast("Retraining runs in the background.", icon=":material/hourglass_top:")


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _result(info: MonitorInfo, job_id: str) -> None:
    job = guard(retrain.retrain_result, job_id)
    if job is None:
        return
    if not job.finished:
        progress_bar(job.progress, f"Retraining ({job.status}): {literal(job.message or 'waiting for a worker…')}")
        return
    if job.status != "succeeded":
        st.error(f"Retraining {job.status}: {job.error or job.message}")
        return
    result = job.result or {}
    summary = result.get("summary") or {}
    table = pd.DataFrame(
        [
            {"evaluated on": f"held-out corrections ({result.get('n_holdout', 0)} texts)",
             "macro-F1 before": _fmt(summary.get("corrections", {}).get("before")),
             "macro-F1 after": _fmt(summary.get("corrections", {}).get("after"))},
            {"evaluated on": "original test split",
             "macro-F1 before": _fmt(summary.get("original_test", {}).get("before")),
             "macro-F1 after": _fmt(summary.get("original_test", {}).get("after"))},
        ]
    )  # fmt: skip
    st.success("Retrained: a new model version was registered.")
    st.dataframe(table, hide_index=True, key=f"sent_retrain_table_{info.id}")
    for note in result.get("notes") or []:
        st.caption(literal(note))
    vid = result.get("model_version_id")
    if not vid or not can_change(info) or info.model == f"registry:{vid}":
        return
    if st.button("Score this monitor with the new version", key=f"sent_retrain_use_{info.id}") and (
        guard(retrain.use_retrained, info.id, vid) is not None
    ):
        st.session_state[FLASH] = "The monitor now uses the retrained classifier; its rows are queued."
        st.rerun()


@st.fragment(run_every=3)
def _watch(info: MonitorInfo) -> None:
    job_id = (st.session_state.get(RETRAIN_JOB_KEY) or {}).get(info.id)
    if job_id:
        _result(info, job_id)


def corrections_tab(info: MonitorInfo) -> None:
    """The monitor's corrections, their export as a dataset version and retraining from them."""
    frame = guard(corrections.corrections_frame, info.id)
    if frame is None:
        return
    if frame.empty:
        empty_state(
            "No corrected labels yet.",
            hint="Pick the right label in the drill-down's label column; corrections are kept for this monitor.",
        )
        return
    counts = frame["label"].value_counts()
    st.caption(
        f"{len(frame):,} corrected text(s): "
        + ", ".join(f"{int(counts.get(lab, 0))} {lab}" for lab in LABELS)
        + ". The toggle above the charts counts them in every aggregate."
    )
    st.dataframe(
        frame, hide_index=True, key=f"sent_corrections_{info.id}",
        column_config={"corrected_at": st.column_config.DatetimeColumn("corrected at (UTC)")},
    )  # fmt: skip
    if not me().can_create:
        return
    c1, c2 = st.columns([3, 1])
    ds_name = c1.text_input("Dataset name", f"{info.name} corrections", key=f"sent_corr_ds_{info.id}")
    if c2.button("Export as dataset version", key=f"sent_corr_export_{info.id}"):
        version = guard(corrections.export_corrections, info.id, ds_name)
        if version is not None:
            st.success(f"Saved {literal(version.label)} ({len(frame):,} rows, text + label) on the Data page.")
    st.markdown("**Retrain the classifier from the corrections**")
    st.caption(
        "Continues the monitor's fine-tuned classifier on the corrections plus a sample of its original training "
        "data; part of the corrections is held out, and both models are tested on it and on the original test split."
    )
    _retrain_form(info)
    _watch(info)

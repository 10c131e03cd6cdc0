"""Scoring from the Sentiment page: inline with a progress bar, or a background job polled by a fragment."""

from __future__ import annotations

import streamlit as st

from aigc_core.errors import LabelMappingError
from aigc_core.monitor import scoring
from pages._jobs_widgets import progress_bar
from pages._sentiment_common import FLASH, FLASH_ERROR, FLASH_WARN, JOB_KEY, MAPPING_ERROR_KEY
from pages._ui import guard, literal


def score(monitor_id: str) -> None:
    """Score the monitor's pending rows; what happened is flashed after the rerun (errors included)."""
    bar = st.progress(0.0, text="Scoring…")

    def progress(done: int, total: int) -> None:
        bar.progress(min(done / max(total, 1), 1.0), text=f"Scored {done:,} of {total:,} texts")

    try:
        started = scoring.start_scoring(monitor_id, progress=progress)
    except Exception as exc:  # shown after the rerun; the rows stay queued
        bar.empty()
        if isinstance(exc, LabelMappingError):  # the model's labels are not negative/neutral/positive
            st.session_state[MAPPING_ERROR_KEY] = monitor_id
        st.session_state[FLASH_ERROR] = exc
        return
    bar.empty()
    if started.job_id:
        st.session_state[JOB_KEY] = {"monitor_id": monitor_id, "job_id": started.job_id}
        st.toast("Scoring runs in the background; progress is shown below.", icon=":material/hourglass_top:")
    elif started.run is not None:
        run = started.run
        msg = f"Scored {run.n_rows:,} rows: {run.n_new_scores:,} new scores, {run.n_cached:,} from the cache."
        if run.n_alerts:
            msg += f" {run.n_alerts} new alert(s)."
        if run.webhooks_queued:
            msg += " Their webhooks are sent by the worker."
        st.session_state[FLASH] = msg
        if run.alert_error:
            st.session_state[FLASH_WARN] = f"Scores were saved, but the alerts ran into a problem: {run.alert_error}"
        st.session_state.pop(MAPPING_ERROR_KEY, None)


@st.fragment(run_every=2)
def job_progress() -> None:
    """The progress of the background scoring job; reruns the page once it has finished."""
    watched = st.session_state.get(JOB_KEY)
    if not watched:
        return
    job = guard(scoring.job_status, watched["job_id"])
    if job is None:
        st.session_state.pop(JOB_KEY, None)
        return
    if not job.finished:
        label = job.message or ("Waiting for a worker…" if job.status == "queued" else "Scoring…")
        progress_bar(job.progress, f"Background scoring ({job.status}): {literal(label)}")
        if job.status == "queued":
            st.caption("Jobs run in the worker process (`python -m aigc_core.launcher` starts app and worker).")
        return
    st.session_state.pop(JOB_KEY, None)
    if job.status == "succeeded":
        st.session_state[FLASH] = "Background scoring finished."
    else:
        st.session_state[FLASH_WARN] = f"Background scoring {job.status}: {job.error or job.message}"
    st.rerun()

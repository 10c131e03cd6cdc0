"""Job widgets shared by the pages: progress bars, the rerun when a watched job ends, and the compact
running-jobs block of the sidebar."""

from __future__ import annotations

from typing import Any

import streamlit as st

from aigc_core import jobs
from pages._ui import literal

LIVE_EVERY = "5s"


def progress_bar(progress: float | None, text: str, target: Any = st) -> None:
    """A progress bar for a job's progress (clamped to 0..1)."""
    target.progress(min(max(float(progress or 0.0), 0.0), 1.0), text=text)


def rerun_page_when_done(job: Any, seen_key: str) -> None:
    """Rerun the whole page once after ``job`` has finished, so what lives outside a polling fragment shows it."""
    if job.finished and st.session_state.get(seen_key) != job.id:
        st.session_state[seen_key] = job.id
        st.rerun()


def _block(target: Any) -> None:
    n_running, n_queued, running = jobs.active_summary()
    if n_running + n_queued == 0:
        target.markdown("**Jobs:** none running")
        return
    target.markdown(f"**Jobs:** {n_running} running, {n_queued} queued")
    for job in running[:5]:
        text = f"{job.kind} · {job.message[:70]}" if job.message else job.kind
        progress_bar(job.progress, literal(text), target)
    if n_running > 5:
        target.caption(f"… and {n_running - 5} more on Models & jobs")


def render_running_jobs(container: Any = None) -> None:
    """Running/queued counts and a progress bar per running job.

    In the current container (the sidebar) it refreshes itself every few seconds, so a job submitted by the page
    shows up without a click; drawn into a given ``container`` it is static.
    """
    if container is not None:  # a fragment cannot draw into a container created outside it
        _block(container)
        return

    @st.fragment(run_every=LIVE_EVERY)
    def _live() -> None:
        _block(st)

    _live()

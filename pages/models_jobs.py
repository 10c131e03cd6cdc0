"""Models & jobs: background jobs (progress, logs, cancel, resume) and the model catalog."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from aigc_core import jobs
from pages._jobs_widgets import progress_bar
from pages._ui import empty_state, guard, literal, page_header, show_error

STATUS_ICON = {"queued": "🕓", "running": "▶️", "succeeded": "✅", "failed": "❌", "cancelled": "⏹️"}
RESULT_PAGES = {
    "finetune": ("pages/finetune.py", "Open Fine-tune"),
    "images": ("pages/images.py", "Open Images"),
    "copy": ("pages/ad_copy.py", "Open Ad copy"),
    "monitor": ("pages/sentiment.py", "Open Sentiment monitor"),
}
LIVE_EVERY = "2s"
DEMO_PARAMS = {"steps": 20, "seconds_per_step": 0.5}

page_header(
    "Models & jobs",
    "Background work (training, batch scoring, batch generation) with live progress, logs, cancel and resume; "
    "and the models this studio can use.",
)


# ------------------------------------------------------------------------------------------------
# Jobs
# ------------------------------------------------------------------------------------------------
def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = int(seconds)
    return f"{s // 3600}h {s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m {s % 60:02d}s"


def _result_text(job: jobs.JobInfo) -> str:
    r = job.result
    for key in ("model_version_id", "output", "generation_ids", "monitor_id"):
        if r.get(key):
            value = r[key]
            return f"{key}: {len(value)} item(s)" if isinstance(value, list) else f"{key}: {value}"
    return ", ".join(f"{k}: {v}" for k, v in list(r.items())[:3])[:120]


def _table(rows: list[jobs.JobInfo]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "Job": j.id,
                "Kind": j.kind,
                "Status": f"{STATUS_ICON.get(j.status, '')} {j.status}",
                "Progress": j.progress,
                "Message": j.message,
                "ETA": _duration(j.eta_s) if j.status == "running" else "",
                "Owner": j.owner,
                "Created": j.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
                "Duration": _duration(j.duration_s),
                "Result": _result_text(j),
            }
            for j in rows
        ]
    )


def _filters() -> tuple[list[str], str]:
    c1, c2, c3 = st.columns([3, 2, 2])
    statuses = c1.multiselect("Status", list(jobs.STATUSES), key="mj_filter_status", placeholder="All statuses")
    kinds = guard(jobs.kind_names) or []
    kind = c2.selectbox("Kind", ["All kinds", *kinds], key="mj_filter_kind")
    with c3:
        st.write("")
        if st.button("Run a demo job", key="mj_demo", icon=":material/play_arrow:", help="Counts to 20 in 10 s"):
            job_id = guard(jobs.submit, "demo.count", DEMO_PARAMS)
            if job_id:
                st.session_state["mj_pick_next"] = job_id
                st.toast(f"Demo job {job_id} queued", icon=":material/schedule:")
    return statuses, kind


def _result_link(job: jobs.JobInfo) -> None:
    target = RESULT_PAGES.get(job.kind.split(".", 1)[0])
    if target is None or job.status != "succeeded":
        return
    try:
        st.page_link(target[0], label=target[1], icon=":material/open_in_new:")
    except Exception:  # the page is not in the navigation (e.g. opened on its own)
        st.caption(f"Results: {target[1].removeprefix('Open ')} page")


def _detail(job: jobs.JobInfo) -> None:
    st.markdown(f"**{job.kind}** · `{job.id}` · {STATUS_ICON.get(job.status, '')} {job.status}")
    if job.status in ("running", "queued"):
        progress_bar(job.progress, literal(job.message or job.status))
    cols = st.columns(4)
    cols[0].caption(f"Owner: {literal(job.owner) or '—'}")
    cols[1].caption(f"Duration: {_duration(job.duration_s) or '—'}")
    cols[2].caption(f"Resource: {job.resource}")
    cols[3].caption(f"Resumed from: {literal(job.resumed_from)}" if job.resumed_from else "")
    b1, b2, _ = st.columns([1, 1, 4])
    cancel = not job.finished and b1.button(
        "Cancel", key=f"mj_cancel_{job.id}", icon=":material/stop_circle:", disabled=job.cancel_requested
    )
    if cancel and guard(jobs.cancel, job.id) is not None:
        # a rerun, so the table and the job picker above show the new state too, not only these details
        st.session_state["mj_flash"] = "Cancel requested: the job stops at its next check"
        st.rerun()
    resume = job.status in ("failed", "cancelled") and _resumable(job.kind)
    if resume and b2.button("Resume", key=f"mj_resume_{job.id}", icon=":material/replay:"):
        new_id = guard(jobs.resume, job.id)
        if new_id:
            st.session_state["mj_pick_next"] = new_id
            st.toast(f"Resumed as job {new_id}", icon=":material/replay:")
            st.rerun()
    if job.cancel_requested and not job.finished:
        st.caption("Cancel requested: waiting for the job to stop.")
    if job.error:
        st.error(literal(job.error.split("\n\nLast log lines:")[0], lines=True, code=True), icon=":material/error:")
    if job.result:
        _result_link(job)
        with st.expander("Result", expanded=False):
            st.code(json.dumps(job.result, indent=2, default=str), language="json")
    with st.expander("Parameters", expanded=False):
        st.code(json.dumps(job.params, indent=2, default=str), language="json")
    lines = guard(jobs.log_tail, job.id, 40) or []
    st.caption("Log (last 40 lines)")
    st.code("\n".join(lines) or "(no log lines yet)", language="text")


def _resumable(kind: str) -> bool:
    try:
        return jobs.get_kind(kind).resumable
    except Exception:
        return False


def _jobs_view(statuses: list[str], kind: str) -> bool:
    """The table and the picked job's details; True while any listed job is queued or running."""
    if flash := st.session_state.pop("mj_flash", None):
        st.toast(flash, icon=":material/stop_circle:")
    rows = guard(jobs.list_jobs, status=statuses or None, kind=None if kind == "All kinds" else kind, limit=200)
    if rows is None:
        return False
    active = any(j.status in ("running", "queued") for j in rows)
    if not rows:
        empty_state(
            "No jobs yet. Training, batch scoring and batch generation run here in the background.",
            hint="Press **Run a demo job** to check that the worker is running.",
        )
        return False
    st.dataframe(
        _table(rows),
        key="mj_jobs_table",
        hide_index=True,
        width="stretch",
        column_config={
            "Progress": st.column_config.ProgressColumn("Progress", min_value=0.0, max_value=1.0, format="percent"),
        },
    )
    ids = [j.id for j in rows]
    by_id = {j.id: j for j in rows}
    wanted = st.session_state.pop("mj_pick_next", None)
    if wanted in ids:
        st.session_state["mj_pick"] = wanted
    if st.session_state.get("mj_pick") not in ids:  # default: the first running job, else the newest
        st.session_state["mj_pick"] = next((j.id for j in rows if j.status == "running"), ids[0])
    pick = st.selectbox(
        "Job details",
        ids,
        key="mj_pick",
        # no status in the label: a keyed select box keeps its option labels across reruns, so a status there
        # went stale after a cancel (the table above and the details below show it)
        format_func=lambda i: f"{by_id[i].kind} · {i}",
    )
    st.divider()
    _detail(by_id[pick])
    stamp = datetime.now(UTC).strftime("%H:%M:%S")
    st.caption(f"Updated {stamp} UTC" + (" · refreshing every 2 s while jobs run" if active else ""))
    return active


def _jobs_section() -> None:
    st.subheader("Jobs")
    statuses, kind = _filters()
    counts = guard(jobs.count_by_status) or {}
    live = counts.get("running", 0) + counts.get("queued", 0) > 0

    @st.fragment(run_every=LIVE_EVERY if live else None)
    def _live() -> None:
        still_active = _jobs_view(statuses, kind)
        if live and not still_active and sum(jobs.active_summary()[:2]) == 0:
            st.rerun()  # everything finished: one full rerun turns the auto-refresh off

    _live()


# ------------------------------------------------------------------------------------------------
# Models
# ------------------------------------------------------------------------------------------------
def _render_backends() -> None:
    """Which backend serves each task (in the app, or an OpenAI-compatible inference server) and its health."""
    from aigc_core.models.manager import task_backends

    fresh = st.button("Check again", key="mj_backends_refresh", icon=":material/refresh:", help="Probe the server now")
    rows = guard(task_backends, fresh=fresh)
    if not rows:
        return
    st.caption("Where each task runs")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Task": r.task,
                    "Backend": r.backend,
                    "Where": r.where,
                    "Model": r.model,
                    "OK": r.healthy,
                    "Health": r.health,
                }
                for r in rows
            ]
        ),
        key="mj_backends_table",
        hide_index=True,
        width="stretch",
        column_config={"OK": st.column_config.CheckboxColumn("OK")},
    )
    down = [r for r in rows if r.backend.startswith("OpenAI-compatible") and not r.healthy]
    for r in down:
        st.warning(literal(f"Text generation cannot run: {r.health}"), icon=":material/cloud_off:")


def _render_models_section() -> None:
    """The model catalog and the models loaded in this app process."""
    st.subheader("Models")
    _render_backends()
    from aigc_core.models.catalog import catalog_rows

    rows = guard(catalog_rows)
    if rows:
        st.dataframe(
            pd.DataFrame(rows),
            key="mj_catalog_table",
            hide_index=True,
            width="stretch",
            column_config={
                "available_offline": st.column_config.CheckboxColumn("Offline"),
                "embedded": st.column_config.CheckboxColumn("Embedded"),
            },
        )
    elif rows is not None:
        empty_state("The catalog is empty.")
    from aigc_core.models.manager import get_manager

    loaded = guard(lambda: get_manager().loaded()) or []
    st.caption(f"Loaded in this app process: {len(loaded)}")
    if loaded:
        st.dataframe(
            pd.DataFrame([{"task": m.task, "key": m.key, "size (GB)": round(m.size_gb, 2)} for m in loaded]),
            key="mj_loaded_table",
            hide_index=True,
        )


try:
    _jobs_section()
except Exception as exc:  # one section failing must not hide the other
    show_error(exc)
st.divider()
_render_models_section()

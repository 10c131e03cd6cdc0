"""The top of a monitor on the Sentiment page: what it is, flashed messages, scoring and batches, the watched
folder, the label-mapping editor and the monitor's settings (share, model, delete)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from aigc_core.monitor import choices, demo, ingest, store, watch
from aigc_core.monitor.store import MonitorInfo
from aigc_core.users import roles
from pages._sentiment_common import (
    FLASH,
    FLASH_ERROR,
    FLASH_REPORT,
    FLASH_WARN,
    JOB_KEY,
    LABELS,
    MAPPING_ERROR_KEY,
    MONITOR_KEY,
    can_change,
    me,
)
from pages._sentiment_create import model_picker
from pages._sentiment_scoring import job_progress, score
from pages._ui import code_span, guard, literal, show_error


def label_mapping_editor(info: MonitorInfo) -> None:
    """Shown after scoring failed on the model's labels: map each onto negative/neutral/positive, then score."""
    err = st.session_state.get(MAPPING_ERROR_KEY)
    if err != info.id or not can_change(info):
        return
    with st.container(border=True):
        st.markdown("**This model's labels need a mapping** onto negative / neutral / positive.")
        raw = guard(choices.model_raw_labels, info.model) or []
        if not raw:
            return
        mapping = {}
        cols = st.columns(min(len(raw), 5))
        defaults = ["negative", "neutral", "positive"] if len(raw) == 3 else ["negative"] * len(raw)
        for i, label in enumerate(raw):
            with cols[i % len(cols)]:
                mapping[label] = st.selectbox(
                    f"{code_span(label)} means", LABELS, index=LABELS.index(defaults[i]), key=f"sent_map_{info.id}_{i}"
                )
        saved = st.button("Save mapping and score", type="primary", key=f"sent_map_save_{info.id}")
        if saved and guard(store.update_model, info.id, info.model, mapping) is not None:
            st.session_state.pop(MAPPING_ERROR_KEY, None)
            score(info.id)
            st.rerun()


def monitor_header(info: MonitorInfo) -> None:
    """The monitor's model, counts, owner and flashed messages, then what the user may do to it."""
    who = me()
    if info.is_demo:
        st.info(literal(info.demo_note or demo.DEMO_NOTE), icon=":material/schedule:")
    owner = "you" if info.owner == who.name else literal(info.owner or "nobody (made before sign-in)")
    st.caption(
        f"Model {code_span(info.model)}{' with label mapping' if info.label_map else ''} · {info.n_rows:,} scored rows"
        + (f" · {info.n_pending:,} waiting to be scored" if info.n_pending else "")
        + f" · owner {owner}{', shared with the team' if info.shared else ', private'}"
        + " · times in UTC"
    )
    for key, fn in ((FLASH_REPORT, st.info), (FLASH, st.success), (FLASH_WARN, st.warning)):
        msg = st.session_state.pop(key, None)
        if msg:  # reports and errors quote file names, column names and texts
            fn(literal(msg))
    err = st.session_state.pop(FLASH_ERROR, None)
    if err is not None:
        show_error(err)
    job_progress()
    if can_change(info):
        batch_controls(info)
        watch_folder(info)
    else:
        st.caption("You can look at this monitor; its owner or an admin adds batches, rules and acknowledges alerts.")
    label_mapping_editor(info)
    last = info.last_batch
    if last is not None and last.bad_timestamp_examples:
        with st.expander(f"{last.n_bad_timestamps:,} rows of the last batch had timestamps that do not parse"):
            st.dataframe(pd.DataFrame(last.bad_timestamp_examples), hide_index=True, key=f"sent_badts_{info.id}")


def batch_controls(info: MonitorInfo) -> None:
    """Score the pending rows, stream the next demo batch, upload a batch."""
    running = bool(st.session_state.get(JOB_KEY))
    cols = st.columns([1, 1, 2])
    if info.n_pending and not running:
        with cols[0]:
            if st.button(f"Score {info.n_pending:,} pending rows", type="primary", key=f"sent_score_{info.id}"):
                score(info.id)
                st.rerun()
    left = (guard(demo.demo_batches_left, info.id) or 0) if info.is_demo else 0
    if left and not running:
        with cols[1]:
            if st.button(
                f"Next demo batch ({left} left)", key=f"sent_demo_next_{info.id}", icon=":material/skip_next:"
            ):
                report = guard(demo.demo_next_batch, info.id)
                if report is not None:
                    st.session_state[FLASH_REPORT] = report.summary()
                    score(info.id)
                    st.rerun()
    with cols[2], st.popover("Add a batch", icon=":material/upload_file:"):
        st.caption("A file with the same columns as the monitor's mapping: " + ", ".join(
            f"{r} → {code_span(c)}" for r, c in info.mapping.items() if c
        ))  # fmt: skip
        up = st.file_uploader(
            "Batch file", type=["csv", "tsv", "xlsx", "json", "jsonl", "parquet"], key=f"sent_batch_{info.id}"
        )
        if up is not None and st.button("Append and score new rows", key=f"sent_batch_go_{info.id}"):
            frame = guard(ingest.read_table, up.getvalue(), up.name)
            report = guard(store.append_batch, info.id, frame) if frame is not None else None
            if report is not None:
                st.session_state[FLASH_REPORT] = report.summary()
                score(info.id)
                st.rerun()


def watch_folder(info: MonitorInfo) -> None:
    """The watched folder: the roots, the folder (set by admins), a poll for new files now."""
    is_admin = me().is_admin
    with st.expander("Watch a folder", icon=":material/folder_open:"):
        st.caption("New files dropped into this folder (same columns as the mapping) are appended as batches.")
        watch_roots = guard(watch.watch_roots) or []
        st.caption(
            "Folders monitors may watch (an admin sets them with `AIGC_WATCH_ROOTS`): "
            + (", ".join(code_span(r) for r in watch_roots) or "none")
        )
        watched = info.watch_folder
        if is_admin:
            folder = st.text_input("Folder on the server", value=watched, key=f"sent_watch_{info.id}")
        else:
            st.caption(
                (f"Watched folder: {code_span(watched)}. " if watched else "No folder is watched. ")
                + "Only an admin sets the watched folder."
            )
        c1, c2 = st.columns(2)
        saved = is_admin and c1.button("Save folder", key=f"sent_watch_save_{info.id}")
        if saved and guard(watch.set_watch_folder, info.id, folder):
            st.rerun()
        if watched and c2.button("Check for new files now", key=f"sent_watch_poll_{info.id}"):
            found = guard(watch.poll_folder, info.id)
            if found is not None:
                st.session_state[FLASH_REPORT] = (
                    " ".join(rep.summary() if rep.skipped else f"{name}: {rep.summary()}" for name, rep in found)
                    or "No new files in the folder."
                )
                if any(not rep.skipped for _, rep in found):
                    score(info.id)
                st.rerun()


def monitor_settings(chosen: MonitorInfo) -> None:
    """Share with the team, change the model (and rescore), delete: for the owner or an admin."""
    if not roles.allowed(me(), "share", owner=chosen.owner, shared=chosen.shared):
        return
    with st.expander("Monitor settings"):
        share = st.toggle(
            "Share with team",
            value=chosen.shared,
            help="Everyone signed in can see a shared monitor, its dashboard and alerts; only you (and admins) change "
            "it.",
            key=f"sent_share_{chosen.id}",
        )
        if share != chosen.shared and guard(store.set_monitor_shared, chosen.id, share) is not None:
            st.rerun()
        model = model_picker(f"sent_edit_{chosen.id}", chosen.model)
        c1, c2 = st.columns(2)
        if (
            c1.button(
                "Change model and rescore",
                key=f"sent_edit_save_{chosen.id}",
                disabled=not model or model == chosen.model,
            )
            and guard(store.update_model, chosen.id, model) is not None
        ):
            score(chosen.id)
            st.rerun()
        if c2.button("Delete monitor", key=f"sent_delete_{chosen.id}", icon=":material/delete:"):
            guard(store.delete_monitor, chosen.id)
            st.session_state.pop(MONITOR_KEY, None)
            st.rerun()

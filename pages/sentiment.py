"""Sentiment monitor: score streams of text, watch trends by topic and source, drill into spikes, alert, answer."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from aigc_core.errors import UserInputError
from aigc_core.monitor import alerts as al
from aigc_core.monitor import export as ex
from aigc_core.monitor import monitors as mon
from aigc_core.monitor import reply as rp
from aigc_core.monitor.aggregate import Filters, bucket_bounds
from aigc_core.monitor.terms import complaint_terms
from aigc_core.users import roles
from pages._jobs_widgets import progress_bar
from pages._ui import code_span, empty_state, guard, literal, page_header, show_error

LABEL_COLORS = {"negative": "#d62728", "neutral": "#9e9e9e", "positive": "#2ca02c"}
LABELS = ("negative", "neutral", "positive")
JOB_KEY = "sent_job"
MAPPING_ERROR_KEY = "sent_mapping_error"
ROLE_HELP = {
    "text": "The text to score (required).",
    "timestamp": "When it was posted (required). Mixed time zones are converted to UTC.",
    "topic": "Optional: a topic/category column for per-topic charts and rules.",
    "source": "Optional: where it came from (channel, platform).",
    "author": "Optional: who wrote it.",
    "id": "Optional: a unique id; duplicates are dropped (the first is kept).",
}
NONE = "(none)"

page_header(
    "Sentiment monitor",
    "Know early when sentiment turns, see why, and act — over reviews, tweets and support tickets.",
)
ME = roles.current()  # the signed-in user: buttons they may not use are not shown (the engine checks anyway)


def _can_change(info: mon.MonitorInfo) -> bool:
    """True when the signed-in user may add batches, score, edit rules and acknowledge alerts of this monitor."""
    return roles.allowed(ME, "change", owner=info.owner, shared=info.shared)


# ------------------------------------------------------------------------------------------------
# Scoring (inline with a progress bar, or a background job polled by a fragment)
# ------------------------------------------------------------------------------------------------
def _score(monitor_id: str) -> None:
    bar = st.progress(0.0, text="Scoring…")

    def progress(done: int, total: int) -> None:
        bar.progress(min(done / max(total, 1), 1.0), text=f"Scored {done:,} of {total:,} texts")

    try:
        started = mon.start_scoring(monitor_id, progress=progress)
    except UserInputError as exc:
        bar.empty()
        if "label" in exc.message.lower():  # a model whose labels are not negative/neutral/positive
            st.session_state[MAPPING_ERROR_KEY] = {"monitor_id": monitor_id, "message": str(exc)}
        st.session_state["sent_flash_error"] = exc
        return
    except Exception as exc:  # shown after the rerun; the rows stay queued
        bar.empty()
        st.session_state["sent_flash_error"] = exc
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
        st.session_state["sent_flash"] = msg
        if run.alert_error:
            st.session_state["sent_flash_warn"] = (
                f"Scores were saved, but the alerts ran into a problem: {run.alert_error}"
            )
        st.session_state.pop(MAPPING_ERROR_KEY, None)


@st.fragment(run_every=2)
def _job_progress() -> None:
    job = st.session_state.get(JOB_KEY)
    if not job:
        return
    status = guard(mon.job_status, job["job_id"])
    if status is None:
        st.session_state.pop(JOB_KEY, None)
        return
    state = status["status"]
    if state in {"queued", "running", "pending", "cancelling"}:
        label = status["message"] or ("Waiting for a worker…" if state == "queued" else "Scoring…")
        progress_bar(status["progress"], f"Background scoring ({state}): {literal(label)}")
        if state == "queued":
            st.caption("Jobs run in the worker process (`python -m aigc_core.launcher` starts app and worker).")
        return
    st.session_state.pop(JOB_KEY, None)
    if state in {"succeeded", "done", "completed", "finished"}:
        st.session_state["sent_flash"] = "Background scoring finished."
    else:
        st.session_state["sent_flash_warn"] = f"Background scoring {state}: {status['error'] or status['message']}"
    st.rerun()


# ------------------------------------------------------------------------------------------------
# Creating monitors
# ------------------------------------------------------------------------------------------------
def _model_picker(prefix: str, current: str = "embedded") -> str:
    choices = {"embedded": "Embedded (offline MiniLM, 3 classes)", "hub": "Hub id or folder", "registry": "Registry"}
    start = "registry" if current.startswith("registry:") else "embedded" if current == "embedded" else "hub"
    if not ME.is_admin:  # only admins load a folder or hub id; others keep one an admin picked, or leave it
        if start == "hub":
            choices = {"hub": f"Keep {current}", **{k: v for k, v in choices.items() if k != "hub"}}
        else:
            choices.pop("hub")
    kind = st.radio(
        "Model",
        list(choices),
        format_func=choices.get,
        index=list(choices).index(start),
        horizontal=True,
        key=f"{prefix}_model_kind",
    )
    if kind == "embedded":
        return "embedded"
    if kind == "hub" and not ME.is_admin:
        return current
    if kind == "hub":
        return st.text_input(
            "Hub id or folder",
            value="" if start != "hub" else current,
            placeholder="e.g. cardiffnlp/twitter-xlm-roberta-base-sentiment",
            key=f"{prefix}_model_hub",
        ).strip()
    options = guard(mon.registry_classifiers) or []
    if not options:
        st.caption("No fine-tuned text classifier in the registry yet (train one on the Fine-tune page).")
        return ""
    labels = dict(options)
    return st.selectbox("Classifier", list(labels), format_func=labels.get, key=f"{prefix}_model_reg") or ""


def _mapping_widgets(prefix: str, columns: list[str], preset: dict[str, str]) -> dict[str, str | None]:
    cols = st.columns(3)
    out: dict[str, str | None] = {}
    for i, role in enumerate(mon.ROLES):
        options = [NONE, *columns]
        guess = preset.get(role)
        index = options.index(guess) if guess in options else 0
        with cols[i % 3]:
            value = st.selectbox(
                f"{role.capitalize()} column" + (" *" if role in mon.REQUIRED_ROLES else ""),
                options,
                index=index,
                help=ROLE_HELP[role],
                key=f"{prefix}_role_{role}",
            )
        out[role] = None if value == NONE else value
    return out


def _creator() -> None:
    source = st.radio(
        "Data", ["upload", "dataset"], format_func={"upload": "Upload a file", "dataset": "Dataset version"}.get,
        horizontal=True, key="sent_new_source",
    )  # fmt: skip
    frame: pd.DataFrame | None = None
    version_id: str | None = None
    preset: dict[str, str] = {}
    if source == "dataset":
        versions = guard(mon.dataset_versions) or []
        if not versions:
            st.caption("No dataset yet: import one on the Data page, or upload a file here.")
            return
        labels = dict(versions)
        version_id = st.selectbox("Dataset version", list(labels), format_func=labels.get, key="sent_new_version")
        if version_id:
            frame = guard(mon.load_dataset_version, version_id)
            preset = guard(mon.dataset_roles, version_id) or {}
    else:
        up = st.file_uploader(
            "Texts with timestamps (CSV, TSV, XLSX, JSON, JSONL, Parquet)",
            type=["csv", "tsv", "xlsx", "json", "jsonl", "parquet", "txt"],
            key="sent_new_upload",
        )
        if up is not None:
            frame = guard(mon.read_table, up.getvalue(), up.name)
    if frame is None:
        return
    st.caption(f"{len(frame):,} rows · columns: {literal(', '.join(map(str, frame.columns)))}")
    columns = [str(c) for c in frame.columns]
    preset = {**mon.guess_mapping(columns), **preset}
    mapping = _mapping_widgets("sent_new", columns, preset)
    name = st.text_input("Monitor name", placeholder="e.g. Airline tweets", key="sent_new_name")
    model = _model_picker("sent_new", guard(mon.default_model) or "embedded")
    label_map = st.text_input(
        "Label mapping (only for models whose labels are not negative/neutral/positive)",
        placeholder="LABEL_0=negative,LABEL_1=neutral,LABEL_2=positive",
        key="sent_new_label_map",
    )
    if st.button("Create monitor and score", type="primary", key="sent_new_create", icon=":material/add_chart:"):
        result = guard(
            mon.create_monitor,
            name,
            mapping=mapping,
            frame=frame,
            dataset_version_id=version_id,
            model=model,
            label_map=label_map or None,
        )
        if result is not None:
            info, report = result
            st.session_state["sent_monitor"] = info.id
            st.session_state["sent_flash_report"] = report.summary()
            _score(info.id)
            st.rerun()


def _demo_button() -> None:
    st.caption(
        "**Demo stream:** replays the sample tweets. They have no real timestamps, so **replay timestamps are "
        "assigned for the demo** (with a planted complaint spike); the scores are real. Two daily alert rules are "
        "added; stream the rest of the replay with 'Next demo batch'."
    )
    if st.button("Start demo stream", key="sent_demo_start", icon=":material/play_circle:"):
        result = guard(mon.start_demo_stream)
        if result is not None:
            info, report = result
            st.session_state["sent_monitor"] = info.id
            st.session_state["sent_flash_report"] = report.summary()
            _score(info.id)
            st.rerun()


# ------------------------------------------------------------------------------------------------
# Monitor header: batches, scoring, label mapping
# ------------------------------------------------------------------------------------------------
def _label_mapping_editor(info: mon.MonitorInfo) -> None:
    err = st.session_state.get(MAPPING_ERROR_KEY)
    if not err or err.get("monitor_id") != info.id or not _can_change(info):
        return
    with st.container(border=True):
        st.markdown("**This model's labels need a mapping** onto negative / neutral / positive.")
        raw = guard(mon.model_raw_labels, info.model) or []
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
        if saved and guard(mon.update_model, info.id, info.model, mapping) is not None:
            st.session_state.pop(MAPPING_ERROR_KEY, None)
            _score(info.id)
            st.rerun()


def _monitor_header(info: mon.MonitorInfo) -> None:
    if info.is_demo:
        st.info(literal(info.meta.get("demo_note", mon.DEMO_NOTE)), icon=":material/schedule:")
    owner = "you" if info.owner == ME.name else literal(info.owner or "nobody (made before sign-in)")
    st.caption(
        f"Model {code_span(info.model)}{' with label mapping' if info.label_map else ''} · {info.n_rows:,} scored rows"
        + (f" · {info.n_pending:,} waiting to be scored" if info.n_pending else "")
        + f" · owner {owner}{', shared with the team' if info.shared else ', private'}"
        + " · times in UTC"
    )
    for key, fn in (("sent_flash_report", st.info), ("sent_flash", st.success), ("sent_flash_warn", st.warning)):
        msg = st.session_state.pop(key, None)
        if msg:  # reports and errors quote file names, column names and texts
            fn(literal(msg))
    err = st.session_state.pop("sent_flash_error", None)
    if err is not None:
        show_error(err)
    _job_progress()
    if _can_change(info):
        _batch_controls(info)
        _watch_folder(info)
    else:
        st.caption("You can look at this monitor; its owner or an admin adds batches, rules and acknowledges alerts.")
    _label_mapping_editor(info)
    batches = info.meta.get("batches") or []
    last = batches[-1] if batches else None
    if last and last.get("bad_timestamp_examples"):
        with st.expander(f"{last['n_bad_timestamps']:,} rows of the last batch had timestamps that do not parse"):
            st.dataframe(pd.DataFrame(last["bad_timestamp_examples"]), hide_index=True, key=f"sent_badts_{info.id}")


def _batch_controls(info: mon.MonitorInfo) -> None:
    running = bool(st.session_state.get(JOB_KEY))
    cols = st.columns([1, 1, 2])
    if info.n_pending and not running:
        with cols[0]:
            if st.button(f"Score {info.n_pending:,} pending rows", type="primary", key=f"sent_score_{info.id}"):
                _score(info.id)
                st.rerun()
    left = (guard(mon.demo_batches_left, info.id) or 0) if info.is_demo else 0
    if left and not running:
        with cols[1]:
            if st.button(
                f"Next demo batch ({left} left)", key=f"sent_demo_next_{info.id}", icon=":material/skip_next:"
            ):
                report = guard(mon.demo_next_batch, info.id)
                if report is not None:
                    st.session_state["sent_flash_report"] = report.summary()
                    _score(info.id)
                    st.rerun()
    with cols[2], st.popover("Add a batch", icon=":material/upload_file:"):
        st.caption("A file with the same columns as the monitor's mapping: " + ", ".join(
            f"{r} → {code_span(c)}" for r, c in info.mapping.items() if c
        ))  # fmt: skip
        up = st.file_uploader(
            "Batch file", type=["csv", "tsv", "xlsx", "json", "jsonl", "parquet"], key=f"sent_batch_{info.id}"
        )
        if up is not None and st.button("Append and score new rows", key=f"sent_batch_go_{info.id}"):
            frame = guard(mon.read_table, up.getvalue(), up.name)
            report = guard(mon.append_batch, info.id, frame) if frame is not None else None
            if report is not None:
                st.session_state["sent_flash_report"] = report.summary()
                _score(info.id)
                st.rerun()


def _watch_folder(info: mon.MonitorInfo) -> None:
    with st.expander("Watch a folder", icon=":material/folder_open:"):
        st.caption("New files dropped into this folder (same columns as the mapping) are appended as batches.")
        watch_roots = guard(mon.watch_roots) or []
        st.caption(
            "Folders monitors may watch (an admin sets them with `AIGC_WATCH_ROOTS`): "
            + (", ".join(code_span(r) for r in watch_roots) or "none")
        )
        watched = info.meta.get("watch_folder", "")
        if ME.is_admin:
            folder = st.text_input("Folder on the server", value=watched, key=f"sent_watch_{info.id}")
        else:
            st.caption(
                (f"Watched folder: {code_span(watched)}. " if watched else "No folder is watched. ")
                + "Only an admin sets the watched folder."
            )
        c1, c2 = st.columns(2)
        saved = ME.is_admin and c1.button("Save folder", key=f"sent_watch_save_{info.id}")
        if saved and guard(mon.set_watch_folder, info.id, folder):
            st.rerun()
        if watched and c2.button("Check for new files now", key=f"sent_watch_poll_{info.id}"):
            found = guard(mon.poll_folder, info.id)
            if found is not None:
                st.session_state["sent_flash_report"] = (
                    " ".join(rep.summary() if rep.skipped else f"{name}: {rep.summary()}" for name, rep in found)
                    or "No new files in the folder."
                )
                if any(not rep.skipped for _, rep in found):
                    _score(info.id)
                st.rerun()


# ------------------------------------------------------------------------------------------------
# Dashboard
# ------------------------------------------------------------------------------------------------
def _filters(info: mon.MonitorInfo, data: Any) -> tuple[Filters, str]:
    lo: date = data.min_ts.date()
    hi: date = data.max_ts.date()
    c1, c2, c3 = st.columns([2, 2, 1.4])
    with c1:
        picked = st.date_input(
            "Dates (UTC)", value=(lo, hi), min_value=lo - timedelta(days=365), max_value=hi + timedelta(days=365),
            key=f"sent_dates_{info.id}_{lo}_{hi}",  # new days of data reset the range
        )  # fmt: skip
    with c2:
        search = st.text_input("Text contains", placeholder="e.g. refund", key=f"sent_search_{info.id}")
    with c3:
        freq = (
            st.segmented_control("Resolution", ["hour", "day", "week"], default="day", key=f"sent_freq_{info.id}")
            or "day"
        )
    c4, c5, c6 = st.columns(3)
    with c4:
        topics = st.multiselect("Topics", data.values("topic"), key=f"sent_topics_{info.id}")
    with c5:
        source_values = data.values("source")
        sources = st.multiselect(
            "Sources", source_values, key=f"sent_sources_{info.id}", disabled=source_values in ([], ["(none)"]),
            help=None if source_values not in ([], ["(none)"]) else "This monitor has no source column.",
        )  # fmt: skip
    with c6:
        labels = st.multiselect("Labels", list(LABELS), key=f"sent_labels_{info.id}")
    d0, d1 = (picked[0], picked[-1]) if isinstance(picked, tuple | list) and picked else (lo, hi)
    start = datetime.combine(d0, time())
    end = datetime.combine(d1, time()) + timedelta(days=1)
    return Filters(start, end, tuple(topics), tuple(sources), tuple(labels), search.strip()), freq


def _fmt_pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.1%}"


def _kpis(k: Any) -> None:
    c1, c2, c3 = st.columns(3)
    days = (k.end - k.start).total_seconds() / 86400
    help_prev = f"Change vs the previous {days:g} days ({k.prev_start:%Y-%m-%d} – {k.start:%Y-%m-%d})."
    c1.metric(
        "Volume", f"{k.volume:,}", None if k.volume_change is None else f"{k.volume_change:+.0%}",
        help=help_prev, delta_color="off",
    )  # fmt: skip
    c2.metric(
        "Share negative", _fmt_pct(k.share_negative),
        None if k.share_negative_change is None else f"{k.share_negative_change:+.1f} pts",
        delta_color="inverse", help=help_prev,
    )  # fmt: skip
    c3.metric(
        "Net sentiment", "–" if k.net is None else f"{k.net:+.1f}",
        None if k.net_change is None else f"{k.net_change:+.1f} pts",
        help="Positive minus negative, in points of the volume (-100 to +100). " + help_prev,
    )  # fmt: skip


def _series_chart(series: pd.DataFrame, key: str) -> Any:
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    for lab in LABELS:
        fig.add_trace(
            go.Bar(x=series["bucket"], y=series[lab], name=lab, marker_color=LABEL_COLORS[lab]), secondary_y=False
        )
    fig.add_trace(
        go.Scatter(x=series["bucket"], y=series["net"], name="net sentiment", mode="lines+markers",
                   line={"color": "#1f77b4", "width": 2}),
        secondary_y=True,
    )  # fmt: skip
    # the legend sits above the plot: below it, it covered the year under the first date ("2(")
    fig.update_layout(
        barmode="stack",
        height=380,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0},
    )
    fig.update_yaxes(title_text="texts", secondary_y=False)
    fig.update_yaxes(
        title_text="net (pts)", range=[-105, 105], tickvals=[-100, -50, 0, 50, 100], showgrid=False, secondary_y=True
    )
    return st.plotly_chart(fig, key=key, on_select="rerun", selection_mode="points")


def _selected_bucket(event: Any) -> pd.Timestamp | None:
    try:
        points = event.selection.points  # type: ignore[union-attr]
    except AttributeError:
        points = (event or {}).get("selection", {}).get("points", []) if isinstance(event, dict) else []
    for p in points or []:
        x = p.get("x") if isinstance(p, dict) else None
        if x is not None:
            try:
                return pd.Timestamp(x)
            except (ValueError, TypeError):
                continue
    return None


def _small_multiples(topic_series: pd.DataFrame) -> None:
    if topic_series.empty:
        return
    top = topic_series.groupby("topic")["volume"].sum().sort_values(ascending=False).index[:9].tolist()
    long = topic_series[topic_series["topic"].isin(top)].melt(
        id_vars=["bucket", "topic"], value_vars=list(LABELS), var_name="label", value_name="texts"
    )
    fig = px.bar(
        long, x="bucket", y="texts", color="label", facet_col="topic", facet_col_wrap=3,
        category_orders={"topic": top, "label": list(LABELS)}, color_discrete_map=LABEL_COLORS,
    )  # fmt: skip
    fig.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))
    fig.update_yaxes(matches=None, showticklabels=True)
    fig.update_layout(height=220 * ((len(top) + 2) // 3), margin={"l": 10, "r": 10, "t": 30, "b": 10}, showlegend=False)
    st.plotly_chart(fig, key="sent_multiples")


def _heatmap(heat: pd.DataFrame) -> None:
    if heat.empty:
        return
    fig = px.imshow(
        heat.astype(float) * 100, aspect="auto", color_continuous_scale="Reds", labels={"color": "% negative"},
        x=[pd.Timestamp(c) for c in heat.columns], y=list(heat.index),
    )  # fmt: skip
    fig.update_layout(height=80 + 32 * len(heat), margin={"l": 10, "r": 10, "t": 10, "b": 10})
    st.plotly_chart(fig, key="sent_heatmap")


def _drill(
    info: mon.MonitorInfo, data: Any, f: Filters, series: pd.DataFrame, freq: str, picked: Any
) -> tuple[datetime, datetime] | None:
    nonempty = series[series["volume"] > 0]
    if nonempty.empty:
        return None
    buckets = [pd.Timestamp(b) for b in nonempty["bucket"]][::-1]
    fmt = "%Y-%m-%d %H:00" if freq == "hour" else "%Y-%m-%d"
    options = ["all"] + [b.strftime(fmt) for b in buckets]
    key = f"sent_period_{info.id}"
    if picked is not None:
        label = picked.strftime(fmt)
        if label in options and st.session_state.get(f"{key}_from_chart") != label:
            st.session_state[key] = label
            st.session_state[f"{key}_from_chart"] = label
    choice = st.selectbox(
        "Period (or click a bar in the chart)", options,
        format_func=lambda o: "the whole date range" if o == "all" else o, key=key,
    )  # fmt: skip
    if choice == "all" or choice is None:
        ws, we = data.resolve_range(f)
    else:
        ws, we = bucket_bounds(pd.Timestamp(choice), freq)
    rows = data.drill_down(f, ws, we, limit=200)
    st.caption(
        f"{data.count(f.with_range(ws, we)):,} texts from {ws:%Y-%m-%d %H:%M} to {we:%Y-%m-%d %H:%M} UTC, "
        "most negative first (up to 200)."
    )
    if rows.empty:
        empty_state("No texts in this period with the current filters.")
        return ws, we
    st.dataframe(
        rows[[c for c in ("ts", "topic", "source", "label", "prob_negative", "prob_positive", "text", "row_id")
              if c not in {"topic", "source"} or rows[c].ne("(none)").any()]],
        hide_index=True, key=f"sent_drill_{info.id}",
        column_config={
            "ts": st.column_config.DatetimeColumn("time (UTC)", format="YYYY-MM-DD HH:mm"),
            "prob_negative": st.column_config.ProgressColumn(
                "P(negative)", min_value=0.0, max_value=1.0, format="%.2f"
            ),
            "prob_positive": st.column_config.NumberColumn("P(positive)", format="%.2f"),
            "text": st.column_config.TextColumn("text", width="large"),
        },
    )  # fmt: skip
    return ws, we


def _terms(info: mon.MonitorInfo, data: Any, f: Filters, window: tuple[datetime, datetime] | None) -> None:
    if window is None:
        return
    result = guard(complaint_terms, data, f, window[0], window[1], top=15)
    if result is None:
        return
    terms, sizes = result
    st.caption(
        f"Terms and phrases distinctive of the {sizes['negative_in_window']:,} negative texts in the period vs "
        + (
            f"{sizes['baseline']:,} texts outside it"
            if sizes.get("baseline_outside", 1)
            else f"the {sizes['baseline']:,} neutral and positive texts of the period"
        )
        + " (log-odds with an informative prior; z > 2 is notable). Pick a period in the Drill-down tab."
    )
    if not terms:
        empty_state("Not enough negative texts in this period to find distinctive terms.")
        return
    table = pd.DataFrame(
        [{"term": t.term, "z": t.z, "in period": t.count, "in baseline": t.baseline_count,
          "example": t.examples[0] if t.examples else ""} for t in terms]
    )  # fmt: skip
    st.dataframe(table, hide_index=True, key=f"sent_terms_{info.id}")
    with st.expander("More examples per term"):
        for t in terms[:8]:
            st.markdown(f"**{literal(t.term)}** (z = {t.z:.1f})")
            for e in t.examples:
                st.caption(f"“{literal(e[:300])}”")


# ------------------------------------------------------------------------------------------------
# Alerts: banner, rules editor, log, "draft a reply"
# ------------------------------------------------------------------------------------------------
AD_COPY_PREFILL_KEY = "ad_copy_prefill"  # read (and popped) by the Ad copy page: a dict of Brief fields


def reply_prefill(draft: rp.ReplyDraft) -> dict[str, Any]:
    """The Ad copy page's prefill for a drafted reply: the reply's Brief as a dict of Brief fields."""
    return draft.brief.model_dump()


def _draft_reply(alert_id: str, kind: str, kit: str | None) -> None:
    draft = guard(rp.build_reply_brief, alert_id, kind=kind, brand_kit=kit)
    if draft is None:
        return
    st.session_state[AD_COPY_PREFILL_KEY] = reply_prefill(draft)
    st.switch_page("pages/ad_copy.py")


def _reply_controls(alert: al.AlertInfo, where: str) -> None:
    kits = guard(rp.brand_kit_names) or []
    c1, c2, c3 = st.columns([2, 2, 1])
    kind = c1.selectbox(
        "Reply", list(rp.REPLY_KINDS), format_func=rp.REPLY_KINDS.get, key=f"sent_reply_kind_{where}_{alert.id}",
        label_visibility="collapsed",
    )  # fmt: skip
    kit = c2.selectbox(
        "Brand kit", ["(no brand kit)", *kits], key=f"sent_reply_kit_{where}_{alert.id}", label_visibility="collapsed"
    )
    if c3.button("Draft a reply", key=f"sent_reply_{where}_{alert.id}", icon=":material/edit_note:"):
        _draft_reply(alert.id, kind, None if kit == "(no brand kit)" else kit)


def _banner(info: mon.MonitorInfo) -> None:
    open_alerts = guard(al.list_alerts, info.id, unacknowledged=True, limit=50) or []
    if not open_alerts:
        return
    newest = open_alerts[0]
    more = len(open_alerts) - 1
    with st.container(border=True):
        st.warning(
            f"**Alert:** {literal(newest.headline())}"
            + (f"  \nAnd {more} more open alert(s): see the Alerts tab." if more else ""),
            icon=":material/notifications_active:",
        )
        if ME.can_create:
            _reply_controls(newest, "banner")
        if not _can_change(info):
            return
        c1, c2 = st.columns(2)
        if c1.button("Acknowledge", key=f"sent_ack_{newest.id}", icon=":material/done:"):
            guard(al.acknowledge, newest.id)
            st.rerun()
        if more and c2.button(f"Acknowledge all {len(open_alerts)}", key=f"sent_ack_all_{info.id}"):
            for a in open_alerts:
                guard(al.acknowledge, a.id)
            st.rerun()


def _rules_editor(info: mon.MonitorInfo, topics: list[str]) -> None:
    rules = guard(al.list_rules, info.id) or []
    if not rules:
        st.caption("No rules yet. Rules are evaluated after every scoring run.")
    for r in rules:
        c1, c2, c3 = st.columns([6, 1, 1])
        c1.markdown(
            f"{'🟢' if r.enabled else '⚪'} {literal(r.describe())}"
            + (f" · webhook {code_span(r.webhook_url_masked)}" if r.webhook_url else "")
        )
        if not _can_change(info):
            continue
        if c2.button("Pause" if r.enabled else "Enable", key=f"sent_rule_toggle_{r.id}"):
            guard(al.update_rule, r.id, enabled=not r.enabled)
            st.rerun()
        if c3.button("Delete", key=f"sent_rule_del_{r.id}"):
            guard(al.delete_rule, r.id)
            st.rerun()
    if not _can_change(info):
        return
    with st.form(f"sent_rule_form_{info.id}", clear_on_submit=False, border=True):
        st.markdown("**New rule**")
        c1, c2, c3 = st.columns(3)
        kind = c1.selectbox("Kind", list(al.KINDS), format_func=al.KINDS.get, key=f"sent_rule_kind_{info.id}")
        threshold = c2.number_input(
            "Threshold", value=0.5, min_value=0.0, step=0.05,
            help="Share negative: a fraction (0.5 = 50%). z-score: k (e.g. 3). Net drop: points (e.g. 20).",
            key=f"sent_rule_threshold_{info.id}",
        )  # fmt: skip
        window = c3.selectbox("Window", ["1h", "6h", "1D", "1W"], index=2, key=f"sent_rule_window_{info.id}")
        c4, c5, c6 = st.columns(3)
        topic = c4.selectbox("Topic", ["(all topics)", *topics], key=f"sent_rule_topic_{info.id}")
        min_volume = c5.number_input("Minimum volume", value=20, min_value=1, step=5, key=f"sent_rule_minvol_{info.id}")
        cooldown = c6.number_input(
            "Cooldown (minutes)", value=60, min_value=0, step=30, key=f"sent_rule_cool_{info.id}"
        )
        webhook = st.text_input(
            "Webhook URL (optional)", placeholder="https://hooks.example.com/…", key=f"sent_rule_hook_{info.id}"
        )
        if st.form_submit_button("Add rule and evaluate", key=f"sent_rule_add_{info.id}"):
            rule = guard(
                al.create_rule, info.id, kind, float(threshold), window=window, min_volume=int(min_volume),
                cooldown_s=int(cooldown) * 60, topic=None if topic == "(all topics)" else topic, webhook_url=webhook,
            )  # fmt: skip
            if rule is not None:
                ev = guard(al.evaluate, info.id, deliver=False)  # webhooks are posted by the worker, not here
                if ev is not None:
                    msg = f"Rule added; {len(ev.fired)} alert(s) fired on the current data."
                    if ev.needs_delivery and guard(al.queue_delivery, info.id, ev.undelivered):
                        msg += " Their webhooks are sent by the worker."
                    st.session_state["sent_flash"] = msg
                st.rerun()


def _alert_log(info: mon.MonitorInfo) -> None:
    alerts = guard(al.list_alerts, info.id, limit=100) or []
    if not alerts:
        empty_state(
            "No alerts yet.", hint="Add a rule above; alerts fire after scoring runs when a rule's condition holds."
        )
        return
    log = pd.DataFrame(
        [{"window (UTC)": f"{a.window_start:%Y-%m-%d %H:%M}" if a.window_start else "", "what": a.headline(),
          "webhook": a.webhook_status + (f" ({a.webhook_attempts}×: {a.webhook_error})" if a.webhook_error else ""),
          "seen": a.acknowledged} for a in alerts]
    )  # fmt: skip
    st.dataframe(log, hide_index=True, key=f"sent_alert_log_{info.id}")
    labels = {a.id: f"{a.window_start:%Y-%m-%d %H:%M} · {a.kind}" if a.window_start else a.id for a in alerts}
    chosen = st.selectbox("Alert", list(labels), format_func=labels.get, key=f"sent_alert_pick_{info.id}")
    alert = next((a for a in alerts if a.id == chosen), None)
    if alert is None:
        return
    examples = alert.evidence.get("examples") or []
    for e in examples[:3]:
        st.caption(f"“{literal(e.get('text', '')[:300])}” (P(negative) {e.get('prob_negative', 0):.2f})")
    if ME.can_create:
        _reply_controls(alert, "log")
    if (
        alert.webhook_status == "failed"
        and _can_change(info)
        and st.button("Retry webhook now", key=f"sent_retry_{alert.id}")
        and guard(al.queue_delivery, info.id, retry=[alert.id])
    ):
        st.session_state["sent_flash"] = "The worker sends the webhook again; the log shows how it went."
        st.rerun()


def _exports(info: mon.MonitorInfo, data: Any, f: Filters, freq: str) -> None:
    c1, c2, c3, c4 = st.columns(4)
    path = mon.rows_path(info.id)
    c1.download_button(
        "Rows (CSV)", lambda: ex.export_rows(data, path, f, "csv"), file_name=ex.export_name(info.name, "rows", "csv"),
        mime="text/csv", key=f"sent_dl_rows_csv_{info.id}", on_click="ignore",
    )  # fmt: skip
    c2.download_button(
        "Rows (Parquet)", lambda: ex.export_rows(data, path, f, "parquet"),
        file_name=ex.export_name(info.name, "rows", "parquet"), mime="application/octet-stream",
        key=f"sent_dl_rows_pq_{info.id}", on_click="ignore",
    )  # fmt: skip
    c3.download_button(
        f"Series by {freq} (CSV)", lambda: ex.export_series(data, f, freq),
        file_name=ex.export_name(info.name, f"series_{freq}", "csv"), mime="text/csv",
        key=f"sent_dl_series_{info.id}", on_click="ignore",
    )  # fmt: skip
    c4.download_button(
        "Series per topic (CSV)", lambda: ex.export_series(data, f, freq, by_topic=True),
        file_name=ex.export_name(info.name, f"topics_{freq}", "csv"), mime="text/csv",
        key=f"sent_dl_topics_{info.id}", on_click="ignore",
    )  # fmt: skip


def _dashboard(info: mon.MonitorInfo) -> None:
    data = guard(mon.monitor_data, info.id)
    if data is None:
        return
    if data.n_rows == 0:
        empty_state(
            "No scored rows yet.",
            hint="Score the pending rows above (or add a batch); the dashboard appears once texts are scored.",
        )
        return
    _banner(info)
    f, freq = _filters(info, data)
    overview = guard(data.overview, f, freq)
    if overview is None:
        return
    _kpis(overview.kpis)
    if overview.kpis.volume == 0:
        empty_state("No texts match these filters in this date range.", hint="Widen the dates or clear a filter.")
    st.subheader("Sentiment over time")
    event = _series_chart(overview.series, key=f"sent_chart_{info.id}")
    picked = _selected_bucket(event)
    tabs = st.tabs(["Drill-down", "What people complain about", "By topic", "Alerts", "Export"])
    with tabs[0]:
        window = _drill(info, data, f, overview.series, freq, picked)
    with tabs[1]:
        _terms(info, data, f, window)
    with tabs[2]:
        if overview.topic_series.empty or overview.kpis.volume == 0:
            empty_state("No topics in this range.")
        else:
            _small_multiples(overview.topic_series)
            st.markdown("**Share negative, topic × time**")
            _heatmap(overview.heatmap)
    with tabs[3]:
        st.markdown("**Rules**")
        _rules_editor(info, data.values("topic"))
        st.markdown("**Alert log**")
        _alert_log(info)
    with tabs[4]:
        st.caption("Exports follow the current filters.")
        _exports(info, data, f, freq)


# ------------------------------------------------------------------------------------------------
# Page
# ------------------------------------------------------------------------------------------------
monitors = guard(mon.list_monitors)
if monitors is None:
    st.stop()
if not monitors:
    empty_state(
        "No monitor yet. A monitor scores a stream of texts with timestamps (only new rows are scored when a batch "
        "is added) and shows KPIs, trends by topic and source, the texts behind a spike, what people complain "
        "about, and alerts sent to a webhook.",
        hint="Start the demo stream, or create a monitor from a file or a dataset version."
        if ME.can_create
        else "Monitors others share with the team show up here; ask an editor to share one.",
    )
    if ME.can_create:
        _demo_button()
        with st.expander("New monitor", expanded=True, icon=":material/add:"):
            _creator()
    st.stop()

names = {m.id: m.name + (f" ({m.n_pending:,} pending)" if m.n_pending else "") for m in monitors}
if st.session_state.get("sent_monitor") not in names:
    st.session_state["sent_monitor"] = monitors[0].id
c_sel, c_new = st.columns([3, 2])
with c_sel:
    monitor_id = st.selectbox("Monitor", list(names), format_func=names.get, key="sent_monitor")
if ME.can_create:
    with c_new, st.expander("New monitor / demo", icon=":material/add:"):
        if not any(m.is_demo and m.owner == ME.name for m in monitors):
            _demo_button()
        _creator()
chosen = next(m for m in monitors if m.id == monitor_id)
if roles.allowed(ME, "share", owner=chosen.owner, shared=chosen.shared):
    with st.expander("Monitor settings"):
        share = st.toggle(
            "Share with team",
            value=chosen.shared,
            help="Everyone signed in can see a shared monitor, its dashboard and alerts; only you (and admins) change "
            "it.",
            key=f"sent_share_{chosen.id}",
        )
        if share != chosen.shared and guard(mon.set_monitor_shared, chosen.id, share) is not None:
            st.rerun()
        model = _model_picker(f"sent_edit_{chosen.id}", chosen.model)
        c1, c2 = st.columns(2)
        if (
            c1.button(
                "Change model and rescore",
                key=f"sent_edit_save_{chosen.id}",
                disabled=not model or model == chosen.model,
            )
            and guard(mon.update_model, chosen.id, model) is not None
        ):
            _score(chosen.id)
            st.rerun()
        if c2.button("Delete monitor", key=f"sent_delete_{chosen.id}", icon=":material/delete:"):
            guard(mon.delete_monitor, chosen.id)
            st.session_state.pop("sent_monitor", None)
            st.rerun()
_monitor_header(chosen)
_dashboard(chosen)

"""A monitor's dashboard on the Sentiment page: KPIs and trend, then tabs for the drill-down, what people complain
about, topics, alerts and exports."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from aigc_core.monitor import export as ex
from aigc_core.monitor import files, store
from aigc_core.monitor.aggregate import Filters, MonitorData, bucket_bounds
from aigc_core.monitor.store import MonitorInfo
from aigc_core.monitor.terms import complaint_terms
from pages._sentiment_alerts import alert_log, banner, rules_editor
from pages._sentiment_charts import filters, heatmap, kpis, selected_bucket, series_chart, small_multiples
from pages._sentiment_corrections import corrections_tab, drill_table, use_corrected
from pages._ui import empty_state, guard, literal


def _drill(
    info: MonitorInfo, data: MonitorData, f: Filters, series: pd.DataFrame, freq: str, picked: pd.Timestamp | None
) -> tuple[datetime, datetime] | None:
    """The texts of one period (or the whole range), most negative first; returns the period."""
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
    drill_table(
        info, rows,
        [c for c in ("ts", "topic", "source", "label", "prob_negative", "prob_positive", "text", "row_id")
         if c not in {"topic", "source"} or rows[c].ne("(none)").any()],
        {
            "ts": st.column_config.DatetimeColumn("time (UTC)", format="YYYY-MM-DD HH:mm"),
            "prob_negative": st.column_config.ProgressColumn(
                "P(negative)", min_value=0.0, max_value=1.0, format="%.2f"
            ),
            "prob_positive": st.column_config.NumberColumn("P(positive)", format="%.2f"),
            "text": st.column_config.TextColumn("text", width="large"),
        },
    )  # fmt: skip
    return ws, we


def _terms(info: MonitorInfo, data: MonitorData, f: Filters, window: tuple[datetime, datetime] | None) -> None:
    """Terms distinctive of the period's negative texts, with examples."""
    if window is None:
        return
    result = guard(complaint_terms, data, f, window[0], window[1], top=15)
    if result is None:
        return
    terms, sizes = result
    st.caption(
        f"Terms and phrases distinctive of the {sizes.negative_in_window:,} negative texts in the period vs "
        + (
            f"{sizes.baseline:,} texts outside it"
            if sizes.baseline_outside
            else f"the {sizes.baseline:,} neutral and positive texts of the period"
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


def _exports(info: MonitorInfo, data: MonitorData, f: Filters, freq: str) -> None:
    """Downloads of the filtered rows and series."""
    c1, c2, c3, c4 = st.columns(4)
    path = files.rows_path(info.id)
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


def dashboard(info: MonitorInfo) -> None:
    """The dashboard of a monitor, or an empty state before its first scored rows."""
    data = guard(store.monitor_data, info.id)
    if data is None:
        return
    if data.n_rows == 0:
        empty_state(
            "No scored rows yet.",
            hint="Score the pending rows above (or add a batch); the dashboard appears once texts are scored.",
        )
        return
    banner(info)
    data = use_corrected(info, data)
    f, freq = filters(info, data)
    overview = guard(data.overview, f, freq)
    if overview is None:
        return
    kpis(overview.kpis)
    if overview.kpis.volume == 0:
        empty_state("No texts match these filters in this date range.", hint="Widen the dates or clear a filter.")
    st.subheader("Sentiment over time")
    event = series_chart(overview.series, key=f"sent_chart_{info.id}")
    picked = selected_bucket(event)
    tabs = st.tabs(["Drill-down", "What people complain about", "By topic", "Alerts", "Export", "Corrections"])
    with tabs[0]:
        window = _drill(info, data, f, overview.series, freq, picked)
    with tabs[1]:
        _terms(info, data, f, window)
    with tabs[2]:
        if overview.topic_series.empty or overview.kpis.volume == 0:
            empty_state("No topics in this range.")
        else:
            small_multiples(overview.topic_series)
            st.markdown("**Share negative, topic × time**")
            heatmap(overview.heatmap)
    with tabs[3]:
        st.markdown("**Rules**")
        rules_editor(info, data.values("topic"))
        st.markdown("**Alert log**")
        alert_log(info)
    with tabs[4]:
        st.caption("Exports follow the current filters.")
        _exports(info, data, f, freq)
    with tabs[5]:
        corrections_tab(info)

"""The Sentiment dashboard's filters, KPIs and charts (plotly): the trend, small multiples per topic, the heatmap."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from aigc_core.monitor.aggregate import Filters, Kpis, MonitorData
from aigc_core.monitor.store import MonitorInfo
from pages._sentiment_common import LABEL_COLORS, LABELS


def filters(info: MonitorInfo, data: MonitorData) -> tuple[Filters, str]:
    """The filter widgets (dates, text, resolution, topics, sources, labels) as Filters and a resolution."""
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


def kpis(k: Kpis) -> None:
    """Volume, share negative and net sentiment, with the change vs the previous period."""
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


def series_chart(series: pd.DataFrame, key: str) -> Any:
    """The stacked labels per bucket with the net sentiment line; returns the chart's selection event."""
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


def selected_bucket(event: Any) -> pd.Timestamp | None:
    """The bucket of the first point clicked in the trend chart, if any."""
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


def small_multiples(topic_series: pd.DataFrame) -> None:
    """One small bar chart per topic (the nine biggest)."""
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


def heatmap(heat: pd.DataFrame) -> None:
    """Share negative, topic x time."""
    if heat.empty:
        return
    fig = px.imshow(
        heat.astype(float) * 100, aspect="auto", color_continuous_scale="Reds", labels={"color": "% negative"},
        x=[pd.Timestamp(c) for c in heat.columns], y=list(heat.index),
    )  # fmt: skip
    fig.update_layout(height=80 + 32 * len(heat), margin={"l": 10, "r": 10, "t": 10, "b": 10})
    st.plotly_chart(fig, key="sent_heatmap")

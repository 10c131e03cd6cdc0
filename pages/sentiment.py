"""Sentiment monitor: score streams of text, watch trends by topic and source, drill into spikes, alert, answer.

The page picks a monitor; its parts are components: ``_sentiment_create`` (new monitor, demo stream),
``_sentiment_header`` (batches, scoring, watched folder, label mapping, settings), ``_sentiment_dashboard``
(KPIs, charts, drill-down, terms, exports; charts in ``_sentiment_charts``) and ``_sentiment_alerts``.
"""

from __future__ import annotations

import streamlit as st

from aigc_core.monitor import store
from pages._sentiment_common import MONITOR_KEY, me
from pages._sentiment_create import creator, demo_button
from pages._sentiment_dashboard import dashboard
from pages._sentiment_header import monitor_header, monitor_settings
from pages._ui import empty_state, guard, page_header

page_header(
    "Sentiment monitor",
    "Know early when sentiment turns, see why, and act — over reviews, tweets and support tickets.",
)
ME = me()  # the signed-in user: buttons they may not use are not shown (the engine checks anyway)

monitors = guard(store.list_monitors)
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
        demo_button()
        with st.expander("New monitor", expanded=True, icon=":material/add:"):
            creator()
    st.stop()

names = {m.id: m.name + (f" ({m.n_pending:,} pending)" if m.n_pending else "") for m in monitors}
if st.session_state.get(MONITOR_KEY) not in names:
    st.session_state[MONITOR_KEY] = monitors[0].id
c_sel, c_new = st.columns([3, 2])
with c_sel:
    monitor_id = st.selectbox("Monitor", list(names), format_func=names.get, key=MONITOR_KEY)
if ME.can_create:
    with c_new, st.expander("New monitor / demo", icon=":material/add:"):
        if not any(m.is_demo and m.owner == ME.name for m in monitors):
            demo_button()
        creator()
chosen = next(m for m in monitors if m.id == monitor_id)
monitor_settings(chosen)
monitor_header(chosen)
dashboard(chosen)

"""Alerts on the Sentiment page: the banner, the rules editor, the alert log and 'Draft a reply', which opens the
Ad copy page with the reply's brief, or the Support replies page with the alert's texts as tickets."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pandas as pd
import streamlit as st

from aigc_core.copy.brief import Brief
from aigc_core.copy.guardrails import kit_names
from aigc_core.monitor import alerts as al
from aigc_core.monitor import evaluation, webhooks
from aigc_core.monitor import reply as rp
from aigc_core.monitor.store import MonitorInfo
from pages._sentiment_common import FLASH, can_change, me
from pages._ui import code_span, empty_state, guard, literal

AD_COPY_PREFILL_KEY = "ad_copy_prefill"  # read (and popped) by the Ad copy page: a dict of Brief fields


def ad_copy_prefill(brief: Brief) -> dict[str, Any]:
    """The Ad copy page's prefill for a brief: a dict of Brief fields."""
    return brief.model_dump()


def open_in_ad_copy(brief: Brief) -> None:
    """Switch to the Ad copy page with its brief widgets filled from ``brief``."""
    st.session_state[AD_COPY_PREFILL_KEY] = ad_copy_prefill(brief)
    st.switch_page("pages/ad_copy.py")


def open_in_support(alert_id: str) -> None:
    """Switch to the Support replies page with the alert's texts as tickets to draft grounded replies to."""
    from aigc_core.support import reply as support_reply

    tickets = guard(support_reply.alert_tickets, alert_id)
    if tickets:
        st.session_state[support_reply.SUPPORT_PREFILL_KEY] = [asdict(t) for t in tickets]
        st.switch_page("pages/support.py")


def _draft_reply(alert_id: str, kind: str, kit: str | None) -> None:
    draft = guard(rp.build_reply_brief, alert_id, kind=kind, brand_kit=kit)
    if draft is not None:
        open_in_ad_copy(draft.brief)


def reply_controls(alert: al.AlertInfo, where: str) -> None:
    """Reply kind, brand kit and 'Draft a reply' for one alert."""
    kits = guard(kit_names) or []
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
    if c3.button(
        "Draft ticket replies", key=f"sent_ticket_replies_{where}_{alert.id}", icon=":material/support_agent:",
        help="Open Support replies with the alert's texts as tickets, answered from a knowledge base.",
    ):  # fmt: skip
        open_in_support(alert.id)


def banner(info: MonitorInfo) -> None:
    """The newest open alert (and how many more), with reply and acknowledge buttons."""
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
        if me().can_create:
            reply_controls(newest, "banner")
        if not can_change(info):
            return
        c1, c2 = st.columns(2)
        if c1.button("Acknowledge", key=f"sent_ack_{newest.id}", icon=":material/done:"):
            guard(al.acknowledge, newest.id)
            st.rerun()
        if more and c2.button(f"Acknowledge all {len(open_alerts)}", key=f"sent_ack_all_{info.id}"):
            for a in open_alerts:
                guard(al.acknowledge, a.id)
            st.rerun()


def rules_editor(info: MonitorInfo, topics: list[str]) -> None:
    """The monitor's rules (pause, delete) and the form for a new one, evaluated at once."""
    may_change = can_change(info)
    rules = guard(al.list_rules, info.id) or []
    if not rules:
        st.caption("No rules yet. Rules are evaluated after every scoring run.")
    for r in rules:
        c1, c2, c3 = st.columns([6, 1, 1])
        c1.markdown(
            f"{'🟢' if r.enabled else '⚪'} {literal(r.describe())}"
            + (f" · webhook {code_span(r.webhook_url_masked)}" if r.webhook_url else "")
        )
        if not may_change:
            continue
        if c2.button("Pause" if r.enabled else "Enable", key=f"sent_rule_toggle_{r.id}"):
            guard(al.update_rule, r.id, enabled=not r.enabled)
            st.rerun()
        if c3.button("Delete", key=f"sent_rule_del_{r.id}"):
            guard(al.delete_rule, r.id)
            st.rerun()
    if not may_change:
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
                ev = guard(evaluation.evaluate, info.id, deliver=False)  # webhooks are posted by the worker, not here
                if ev is not None:
                    msg = f"Rule added; {len(ev.fired)} alert(s) fired on the current data."
                    if ev.needs_delivery and guard(webhooks.queue_delivery, info.id, ev.undelivered):
                        msg += " Their webhooks are sent by the worker."
                    st.session_state[FLASH] = msg
                st.rerun()


def alert_log(info: MonitorInfo) -> None:
    """Every alert of the monitor; the picked one's examples, reply controls and a webhook retry."""
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
    for e in alert.examples[:3]:
        st.caption(f"“{literal(e.text[:300])}” (P(negative) {e.prob_negative:.2f})")
    if me().can_create:
        reply_controls(alert, "log")
    if (
        alert.webhook_status == "failed"
        and can_change(info)
        and st.button("Retry webhook now", key=f"sent_retry_{alert.id}")
        and guard(webhooks.queue_delivery, info.id, retry=[alert.id])
    ):
        st.session_state[FLASH] = "The worker sends the webhook again; the log shows how it went."
        st.rerun()

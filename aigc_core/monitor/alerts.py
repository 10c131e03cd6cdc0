"""Alert rules per monitor (optionally per topic) and the alerts they fired.

Rule kinds (each with a minimum volume and a cooldown):

- ``share_negative``: share of negative texts in a window above ``threshold`` (a fraction, 0.4 = 40%).
- ``zscore``: negative volume of a window ``threshold`` (k) standard deviations above the previous
  ``baseline_windows`` windows (standard deviation floored at the Poisson value sqrt(mean), at least 1).
- ``net_drop``: net sentiment of a window ``threshold`` points (or more) below the previous windows' net.

Rules are evaluated after every scoring run (:mod:`aigc_core.monitor.evaluation`); an alert's webhook is posted
by the worker (:mod:`aigc_core.monitor.webhooks`). URLs are shown masked (:func:`mask_url`).

Rules and alerts belong to their monitor: reading them needs the read right on the monitor, creating, changing
or deleting rules, acknowledging alerts, evaluating and delivering need the change right (its owner or an admin).
A rule records the user who created it as its ``owner``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import select

from aigc_core import netguard
from aigc_core.errors import NotFoundError, UserInputError
from aigc_core.netguard import mask_url
from aigc_core.store import Alert, AlertRule, Monitor, session_scope
from aigc_core.store.models import as_utc
from aigc_core.users.audit import record
from aigc_core.users.roles import Action, Actor, check_item, current, require

KINDS: dict[str, str] = {
    "share_negative": "Share negative above a threshold",
    "zscore": "Negative volume z-score above k",
    "net_drop": "Net sentiment drops by x points",
}
DEFAULT_BASELINE_WINDOWS = 7
MIN_BASELINE_WINDOWS = 3


def _naive(ts: datetime | pd.Timestamp) -> datetime:
    t = pd.Timestamp(ts)
    if t.tzinfo is not None:
        t = t.tz_convert("UTC").tz_localize(None)
    return t.to_pydatetime()


def parse_window(window: str) -> timedelta:
    """A window length from ``30min``, ``1h``, ``6h``, ``1D``, ``1W`` …; at least 1 minute, at most 90 days."""
    text = (window or "").strip()
    try:
        delta = pd.Timedelta(text)
    except (ValueError, TypeError) as exc:
        raise UserInputError(f"The window {window!r} is not a duration.", hint="Use e.g. 1h, 6h, 1D or 1W.") from exc
    if delta < pd.Timedelta(minutes=1) or delta > pd.Timedelta(days=90):
        raise UserInputError(f"The window {window!r} is out of range.", hint="Use between 1min and 90D.")
    return delta.to_pytimedelta()


# --------------------------------------------------------------------------------------------
# Access: rules and alerts follow their monitor's owner and sharing
# --------------------------------------------------------------------------------------------
def _no_monitor(monitor_id: str) -> NotFoundError:
    return NotFoundError(f"There is no monitor {monitor_id!r}.", hint="Pick one from the list.")


def _no_rule(rule_id: str) -> NotFoundError:
    return NotFoundError(f"There is no alert rule {rule_id!r}.", hint="Reload the page.")


def _no_alert(alert_id: str) -> NotFoundError:
    return NotFoundError(f"There is no alert {alert_id!r}.", hint="Reload the page.")


def _check_on_monitor(
    s: Any, monitor_id: str, action: Action, actor: Actor | None, *, kind: str, item_id: str, missing: Exception
) -> Actor:
    """The acting user, when they may ``action`` an item of this monitor (another's private one reads as missing)."""
    mon = s.get(Monitor, monitor_id)
    if mon is None:
        raise missing
    return check_item(
        actor, action, owner=mon.owner or "", shared=bool(mon.shared), kind=kind, item_id=item_id, not_found=missing
    )


def _monitor_access(monitor_id: str, action: Action, actor: Actor | None) -> tuple[str, Actor]:
    """(monitor id, acting user) when the user may ``action`` the monitor (looked up by id or name)."""
    from aigc_core.monitor.store import check_monitor

    return check_monitor(monitor_id, action, actor=actor), current(actor)


def _rule_row(s: Any, rule_id: str, action: Action, actor: Actor | None) -> AlertRule:
    row = s.get(AlertRule, rule_id)
    if row is None:
        raise _no_rule(rule_id)
    _check_on_monitor(s, row.monitor_id, action, actor, kind="alert_rule", item_id=rule_id, missing=_no_rule(rule_id))
    return row


def _alert_row(s: Any, alert_id: str, action: Action, actor: Actor | None) -> Alert:
    row = s.get(Alert, alert_id)
    if row is None:
        raise _no_alert(alert_id)
    _check_on_monitor(s, row.monitor_id, action, actor, kind="alert", item_id=alert_id, missing=_no_alert(alert_id))
    return row


# --------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------
@dataclass
class RuleInfo:
    """An alert rule as plain data."""

    id: str
    monitor_id: str
    kind: str
    threshold: float
    window: str
    min_volume: int
    cooldown_s: int
    topic: str | None = None
    webhook_url: str = field(default="", repr=False)
    enabled: bool = True
    baseline_windows: int = DEFAULT_BASELINE_WINDOWS
    meta: dict[str, Any] = field(default_factory=dict)
    owner: str = ""

    def describe(self) -> str:
        """One line for the UI."""
        where = f" (topic {self.topic})" if self.topic else ""
        if self.kind == "share_negative":
            what = f"share negative > {self.threshold:.0%}"
        elif self.kind == "zscore":
            what = f"negative volume z-score > {self.threshold:g}"
        else:
            what = f"net sentiment drops by ≥ {self.threshold:g} points"
        return f"{what} per {self.window}{where}, min volume {self.min_volume}, cooldown {self.cooldown_s // 60} min"

    @property
    def webhook_url_masked(self) -> str:
        """The webhook URL with its secrets hidden, for display and logs."""
        return mask_url(self.webhook_url)


def _rule_info(row: AlertRule) -> RuleInfo:
    meta = dict(row.meta or {})
    return RuleInfo(
        id=row.id,
        monitor_id=row.monitor_id,
        kind=row.kind,
        threshold=float(row.threshold),
        window=row.window,
        min_volume=int(row.min_volume),
        cooldown_s=int(row.cooldown_s),
        topic=row.topic,
        webhook_url=row.webhook_url or "",
        enabled=bool(row.enabled),
        baseline_windows=int(meta.get("baseline_windows", DEFAULT_BASELINE_WINDOWS)),
        meta=meta,
        owner=row.owner or "",
    )


def _validate(
    kind: str, threshold: float, window: str, min_volume: int, cooldown_s: int, webhook_url: str, baseline: int
) -> None:
    if kind not in KINDS:
        raise UserInputError(f"Unknown alert kind {kind!r}.", hint=f"Use one of {', '.join(KINDS)}.")
    if not isinstance(threshold, int | float) or math.isnan(float(threshold)):
        raise UserInputError("The threshold is not a number.", hint="Give a number.")
    if kind == "share_negative" and not 0.0 < threshold < 1.0:
        raise UserInputError(
            f"A share threshold must be between 0 and 1, not {threshold}.", hint="e.g. 0.4 for 40% negative."
        )
    if kind in {"zscore", "net_drop"} and threshold <= 0:
        raise UserInputError("The threshold must be above 0.", hint="e.g. k = 3, or a drop of 15 points.")
    if kind == "net_drop" and threshold > 200:
        raise UserInputError("Net sentiment moves within 200 points.", hint="Use a drop below 200.")
    parse_window(window)
    if min_volume < 1:
        raise UserInputError("The minimum volume must be at least 1.", hint="e.g. 20 texts per window.")
    if cooldown_s < 0:
        raise UserInputError("The cooldown cannot be negative.", hint="Use 0 for none.")
    if not MIN_BASELINE_WINDOWS <= baseline <= 500:
        raise UserInputError(
            f"The baseline must cover {MIN_BASELINE_WINDOWS} to 500 windows.", hint="e.g. 7 windows before."
        )
    if webhook_url:
        netguard.validate_webhook_url(webhook_url)


def create_rule(
    monitor_id: str,
    kind: str,
    threshold: float,
    *,
    window: str = "1D",
    min_volume: int = 20,
    cooldown_s: int = 3600,
    topic: str | None = None,
    webhook_url: str = "",
    enabled: bool = True,
    baseline_windows: int = DEFAULT_BASELINE_WINDOWS,
    actor: Actor | None = None,
) -> RuleInfo:
    """Add a rule (validated, owned by the acting user) to a monitor its owner or an admin may change."""
    monitor_id, _ = _monitor_access(monitor_id, "change", actor)
    who = require(actor, "create", what="alert rules")
    webhook_url = (webhook_url or "").strip()
    topic = (topic or "").strip() or None
    _validate(kind, float(threshold), window, int(min_volume), int(cooldown_s), webhook_url, int(baseline_windows))
    with session_scope() as s:
        if s.get(Monitor, monitor_id) is None:
            raise _no_monitor(monitor_id)
        row = AlertRule(
            monitor_id=monitor_id,
            owner=who.name,
            kind=kind,
            threshold=float(threshold),
            window=window.strip(),
            min_volume=int(min_volume),
            cooldown_s=int(cooldown_s),
            topic=topic,
            webhook_url=webhook_url,
            enabled=enabled,
            meta={"baseline_windows": int(baseline_windows)},
        )
        s.add(row)
        s.flush()
        return _rule_info(row)


def update_rule(rule_id: str, *, actor: Actor | None = None, **changes: Any) -> RuleInfo:
    """Change fields of a rule (same validation as :func:`create_rule`; the monitor's owner or an admin); the
    evaluation restarts."""
    allowed = {"kind", "threshold", "window", "min_volume", "cooldown_s", "topic", "webhook_url", "enabled"}
    bad = sorted(set(changes) - allowed - {"baseline_windows"})
    if bad:
        raise UserInputError(f"Unknown rule fields: {', '.join(bad)}.", hint=f"Use {', '.join(sorted(allowed))}.")
    with session_scope() as s:
        row = _rule_row(s, rule_id, "change", actor)
        before = _rule_info(row)
        merged = {
            "kind": before.kind,
            "threshold": before.threshold,
            "window": before.window,
            "min_volume": before.min_volume,
            "cooldown_s": before.cooldown_s,
            "webhook_url": before.webhook_url,
            "baseline_windows": before.baseline_windows,
            **changes,
        }
        merged["webhook_url"] = (merged["webhook_url"] or "").strip()
        _validate(
            merged["kind"],
            float(merged["threshold"]),
            merged["window"],
            int(merged["min_volume"]),
            int(merged["cooldown_s"]),
            merged["webhook_url"] if "webhook_url" in changes else "",  # a stored one is checked when sent
            int(merged["baseline_windows"]),
        )
        for key in allowed & set(changes):
            value = changes[key]
            if key == "topic":
                value = (value or "").strip() or None
            setattr(row, key, value)
        row.webhook_url = merged["webhook_url"]
        meta = dict(row.meta or {})
        meta["baseline_windows"] = int(merged["baseline_windows"])
        meta.pop("evaluated_from", None)
        row.meta = meta
        s.flush()
        return _rule_info(row)


def delete_rule(rule_id: str, *, actor: Actor | None = None) -> None:
    """Delete a rule and its alerts (the monitor's owner or an admin; audited)."""
    with session_scope() as s:
        row = _rule_row(s, rule_id, "change", actor)
        detail = {"monitor_id": row.monitor_id, "kind": row.kind, "owner": row.owner or ""}
        s.delete(row)
    record(current(actor), "alert_rule.delete", "alert_rule", rule_id, detail=detail)


def _rules(monitor_id: str) -> list[RuleInfo]:
    with session_scope() as s:
        rows = s.scalars(select(AlertRule).where(AlertRule.monitor_id == monitor_id).order_by(AlertRule.created_at))
        return [_rule_info(r) for r in rows]


def list_rules(monitor_id: str, *, actor: Actor | None = None) -> list[RuleInfo]:
    """The rules of a monitor the acting user may see, oldest first."""
    return _rules(_monitor_access(monitor_id, "read", actor)[0])


# --------------------------------------------------------------------------------------------
# Alerts
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AlertExample:
    """One negative text behind an alert (kept in its evidence)."""

    id: str
    text: str
    prob_negative: float


@dataclass
class AlertInfo:
    """A fired alert as plain data."""

    id: str
    rule_id: str
    monitor_id: str
    fired_at: datetime
    window_start: datetime | None
    window_end: datetime | None
    value: float
    evidence: dict[str, Any]
    webhook_status: str
    webhook_error: str
    webhook_attempts: int
    acknowledged: bool
    meta: dict[str, Any] = field(repr=False)

    @property
    def webhook_url_masked(self) -> str:
        """The URL this alert is posted to, secrets hidden ('' when none)."""
        return mask_url(str(self.meta.get("webhook_url", "")))

    @property
    def next_retry_at(self) -> datetime | None:
        """When a failed webhook is tried again (None: not scheduled)."""
        due = self.meta.get("next_retry_at")
        return as_utc(datetime.fromisoformat(due)) if due else None

    @property
    def examples(self) -> list[AlertExample]:
        """The most negative texts of the alert's window (from its evidence)."""
        raw = self.evidence.get("examples") or []
        return [
            AlertExample(str(e.get("id", "")), str(e.get("text", "")), float(e.get("prob_negative") or 0.0))
            for e in raw
            if isinstance(e, dict)
        ]

    @property
    def kind(self) -> str:
        """The rule kind that fired."""
        return str(self.evidence.get("kind", ""))

    @property
    def topic(self) -> str | None:
        """The rule's topic, if any."""
        return self.evidence.get("topic")

    def headline(self) -> str:
        """One line for the banner and the log."""
        ev = self.evidence
        topic = f" · {ev['topic']}" if ev.get("topic") else ""
        window = f"{_fmt(self.window_start)} – {_fmt(self.window_end)}"
        if self.kind == "share_negative":
            what = f"{ev.get('share_negative', 0):.0%} negative (threshold {ev.get('threshold', 0):.0%})"
        elif self.kind == "zscore":
            what = f"{ev.get('negative', 0)} negative texts, z = {self.value:.1f} (k = {ev.get('threshold')})"
        else:
            what = f"net sentiment {ev.get('net', 0):+.0f} vs {ev.get('baseline_net', 0):+.0f} before"
        return f"{what}{topic} · {window} UTC · {ev.get('volume', 0)} texts"


def _fmt(ts: datetime | None) -> str:
    return "" if ts is None else ts.strftime("%Y-%m-%d %H:%M")


def _alert_info(row: Alert) -> AlertInfo:
    return AlertInfo(
        id=row.id,
        rule_id=row.rule_id,
        monitor_id=row.monitor_id,
        fired_at=as_utc(row.fired_at) or datetime.now(UTC),
        window_start=as_utc(row.window_start),
        window_end=as_utc(row.window_end),
        value=float(row.value),
        evidence=dict(row.evidence or {}),
        webhook_status=row.webhook_status,
        webhook_error=row.webhook_error or "",
        webhook_attempts=int(row.webhook_attempts or 0),
        acknowledged=bool(row.acknowledged),
        meta=dict(row.meta or {}),
    )


def list_alerts(
    monitor_id: str, *, unacknowledged: bool = False, limit: int = 200, actor: Actor | None = None
) -> list[AlertInfo]:
    """The alerts of a monitor the acting user may see, newest window first."""
    monitor_id, _ = _monitor_access(monitor_id, "read", actor)
    with session_scope() as s:
        q = select(Alert).where(Alert.monitor_id == monitor_id)
        if unacknowledged:
            q = q.where(Alert.acknowledged.is_(False))
        q = q.order_by(Alert.window_start.desc(), Alert.fired_at.desc()).limit(limit)
        return [_alert_info(r) for r in s.scalars(q)]


def _get_alert(alert_id: str) -> AlertInfo:
    with session_scope() as s:
        row = s.get(Alert, alert_id)
        if row is None:
            raise _no_alert(alert_id)
        return _alert_info(row)


def get_alert(alert_id: str, *, actor: Actor | None = None) -> AlertInfo:
    """An alert of a monitor the acting user may see."""
    with session_scope() as s:
        return _alert_info(_alert_row(s, alert_id, "read", actor))


def acknowledge(alert_id: str, value: bool = True, *, actor: Actor | None = None) -> None:
    """Mark an alert as seen (it leaves the banner, stays in the log; the monitor's owner or an admin)."""
    with session_scope() as s:
        _alert_row(s, alert_id, "change", actor).acknowledged = value

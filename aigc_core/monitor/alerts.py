"""Alert rules per monitor (optionally per topic), evaluated after every scoring run, with webhook delivery.

Rule kinds (each with a minimum volume and a cooldown):

- ``share_negative``: share of negative texts in a window above ``threshold`` (a fraction, 0.4 = 40%).
- ``zscore``: negative volume of a window ``threshold`` (k) standard deviations above the previous
  ``baseline_windows`` windows (standard deviation floored at the Poisson value sqrt(mean), at least 1).
- ``net_drop``: net sentiment of a window ``threshold`` points (or more) below the previous windows' net.

Windows are fixed buckets of the rule's ``window`` length (``1h``, ``6h``, ``1D``, ``1W``) on the data's
time axis (UTC). Every window not yet evaluated is checked in order, so a batch covering several days is
evaluated window by window; the newest window is evaluated again when more rows arrive. The cooldown is
measured on the same axis: a rule does not fire for a window starting less than ``cooldown_s`` after the
end of its previous alert's window.

Alerts are stored with their window and evidence; a webhook (HTTP POST, JSON body) failing is recorded on
the alert (status, error, attempts) and retried with exponential backoff on the next evaluations (or
:func:`deliver_due`), up to :data:`MAX_WEBHOOK_ATTEMPTS` attempts. At most :data:`MAX_WEBHOOKS_PER_RULE`
webhooks per rule are posted per evaluation; older alerts beyond that are recorded as not sent. Webhooks go
through :mod:`aigc_core.netguard` (public addresses only, no redirects, generic errors); URLs are shown
masked (:func:`mask_url`).

Webhooks are posted by the worker, never inside a page run: a page evaluates with ``deliver=False`` and queues
the ``monitor.deliver_webhooks`` job (:func:`queue_delivery`) for the alerts it stored; a post attempted inside a
Streamlit script run is refused and left for that job.

Rules and alerts belong to their monitor: reading them needs the read right on the monitor, creating, changing
or deleting rules, acknowledging alerts, evaluating and delivering need the change right (its owner or an admin).
A rule records the user who created it as its ``owner``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import select

from aigc_core import netguard
from aigc_core.errors import NotFoundError, UserInputError
from aigc_core.netguard import WebhookError, mask_url
from aigc_core.store import Alert, AlertRule, Monitor, session_scope
from aigc_core.users.audit import record
from aigc_core.users.roles import Action, Actor, check_item, current, require

KINDS: dict[str, str] = {
    "share_negative": "Share negative above a threshold",
    "zscore": "Negative volume z-score above k",
    "net_drop": "Net sentiment drops by x points",
}
DEFAULT_BASELINE_WINDOWS = 7
MIN_BASELINE_WINDOWS = 3
MAX_WEBHOOK_ATTEMPTS = 6
MAX_WEBHOOKS_PER_RULE = 5  # webhooks posted per rule per evaluation (new alerts and retries together)
RETRY_BASE_S = 30.0
WEBHOOK_TIMEOUT_S = 5.0
EXAMPLES_IN_EVIDENCE = 5
PENDING_GRACE_S = 300.0  # a 'pending' webhook older than this was interrupted: the next pass sends it
SEND_FAILED = "the webhook could not be sent"
DELIVER_JOB_KIND = "monitor.deliver_webhooks"

log = logging.getLogger(__name__)


def _aware(ts: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes: treat them as UTC."""
    if ts is None:
        return None
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


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
    from aigc_core.monitor.monitors import check_monitor

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
        return _aware(datetime.fromisoformat(due)) if due else None

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
        fired_at=_aware(row.fired_at) or datetime.now(UTC),
        window_start=_aware(row.window_start),
        window_end=_aware(row.window_end),
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


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------
@dataclass
class Evaluation:
    """Outcome of one evaluation: alerts fired, webhooks retried, windows checked."""

    fired: list[AlertInfo] = field(default_factory=list)
    retried: list[AlertInfo] = field(default_factory=list)
    windows_checked: int = 0
    suppressed_cooldown: int = 0
    below_min_volume: int = 0
    undelivered: list[str] = field(default_factory=list)  # ids of alerts whose webhooks wait for the worker

    @property
    def needs_delivery(self) -> bool:
        """True when webhooks were left for the worker's delivery job (``deliver=False``)."""
        return bool(self.undelivered)


def window_counts(data: Any, rule: RuleInfo) -> pd.DataFrame:
    """Counts per label in fixed windows of the rule's length (topic filter applied), oldest first."""
    width = parse_window(rule.window)
    secs = max(int(width.total_seconds()), 1)
    where = "topic = ?" if rule.topic else "TRUE"
    params: list[Any] = [rule.topic] if rule.topic else []
    sql = f"""SELECT time_bucket(INTERVAL '{secs} seconds', ts, TIMESTAMP '1970-01-01') AS window_start,
        count(*) FILTER (WHERE label = 'negative') AS negative,
        count(*) FILTER (WHERE label = 'neutral') AS neutral,
        count(*) FILTER (WHERE label = 'positive') AS positive
        FROM r WHERE {where} GROUP BY 1 ORDER BY 1"""
    df = data._df(sql, params)
    if df.empty:
        return df
    ws = pd.to_datetime(df["window_start"])
    full = pd.date_range(ws.min(), ws.max(), freq=pd.Timedelta(seconds=secs))
    df = df.assign(window_start=ws).set_index("window_start").reindex(full, fill_value=0)
    df = df.rename_axis("window_start").reset_index()
    df["volume"] = df["negative"] + df["neutral"] + df["positive"]
    return df


def _check(rule: RuleInfo, counts: pd.DataFrame, i: int) -> tuple[bool, float, dict[str, Any]] | None:
    """(fires, value, evidence) for window ``i``; None when the window cannot be judged (volume, baseline)."""
    row = counts.iloc[i]
    vol, neg, pos = int(row["volume"]), int(row["negative"]), int(row["positive"])
    evidence: dict[str, Any] = {
        "kind": rule.kind,
        "threshold": rule.threshold,
        "topic": rule.topic,
        "window": rule.window,
        "volume": vol,
        "negative": neg,
        "positive": pos,
        "share_negative": neg / vol if vol else None,
        "net": (pos - neg) / vol * 100.0 if vol else None,
        "min_volume": rule.min_volume,
    }
    if vol < rule.min_volume:
        return None
    if rule.kind == "share_negative":
        share = neg / vol
        return share > rule.threshold, share, evidence
    base = counts.iloc[max(0, i - rule.baseline_windows) : i]
    if len(base) < MIN_BASELINE_WINDOWS:
        return None
    if rule.kind == "zscore":
        mean = float(base["negative"].mean())
        std = float(base["negative"].std(ddof=1)) if len(base) > 1 else 0.0
        floor = max(math.sqrt(max(mean, 0.0)), 1.0)
        sd = max(std, floor)
        z = (neg - mean) / sd
        evidence.update(baseline_mean=mean, baseline_std=std, std_used=sd, baseline_windows=len(base), z=z)
        return z > rule.threshold, z, evidence
    bvol = int(base["volume"].sum())
    if bvol < rule.min_volume:
        return None
    bnet = (int(base["positive"].sum()) - int(base["negative"].sum())) / bvol * 100.0
    net = (pos - neg) / vol * 100.0
    drop = bnet - net
    evidence.update(baseline_net=bnet, baseline_volume=bvol, baseline_windows=len(base), drop=drop)
    return drop >= rule.threshold, drop, evidence


def _examples(data: Any, rule: RuleInfo, start: datetime, end: datetime) -> list[dict[str, Any]]:
    from aigc_core.monitor.aggregate import Filters

    f = Filters(start=start, end=end, topics=(rule.topic,) if rule.topic else ())
    rows = data.drill_down(f, limit=EXAMPLES_IN_EVIDENCE)
    out = []
    for r in rows.itertuples(index=False):
        if r.label != "negative":
            continue
        out.append({"id": str(r.row_id), "text": str(r.text)[:500], "prob_negative": round(float(r.prob_negative), 4)})
    return out


def evaluate(
    monitor_id: str,
    *,
    now: datetime | None = None,
    data: Any = None,
    deliver: bool = True,
    actor: Actor | None = None,
) -> Evaluation:
    """Evaluate every enabled rule of a monitor (owner or admin) on its scored rows and store new alerts; send and
    retry webhooks when ``deliver`` (the worker), else list them in ``undelivered`` for :func:`queue_delivery`.

    Inside a page run webhooks are never sent, whatever ``deliver`` says.
    """
    from aigc_core.monitor.monitors import get_monitor, monitor_data

    info = get_monitor(monitor_id, action="change", actor=actor)
    now = now or datetime.now(UTC)
    data = data if data is not None else monitor_data(info.id, actor=actor)
    if deliver and _in_page_run():
        log.warning("evaluate(deliver=True) inside a page run: webhooks of %s are left to the worker", info.id)
        deliver = False
    result = Evaluation()
    for rule in _rules(info.id):
        if not rule.enabled or data.n_rows == 0:
            continue
        counts = window_counts(data, rule)
        if counts.empty:
            continue
        width = parse_window(rule.window)
        evaluated_from = rule.meta.get("evaluated_from")
        existing = {(_naive(a.window_start) if a.window_start else None) for a in _rule_alerts(rule.id)}
        last_end = _last_alert_end(rule.id)
        for i in range(len(counts)):
            ws = counts.iloc[i]["window_start"].to_pydatetime()
            if evaluated_from and ws < datetime.fromisoformat(evaluated_from):
                continue
            result.windows_checked += 1
            if ws in existing:
                continue
            judged = _check(rule, counts, i)
            if judged is None:
                result.below_min_volume += 1
                continue
            fires, value, evidence = judged
            if not fires:
                continue
            if last_end is not None and (ws - last_end).total_seconds() < rule.cooldown_s:
                result.suppressed_cooldown += 1
                continue
            we = ws + width
            evidence["examples"] = _examples(data, rule, ws, we)
            evidence["monitor"] = info.name
            alert = _store_alert(rule, info.id, ws, we, value, evidence, now)
            existing.add(ws)
            last_end = we
            result.fired.append(alert)
        # The newest window may still grow: evaluate it again next time.
        newest = counts.iloc[-1]["window_start"].to_pydatetime()
        _set_rule_meta(rule.id, evaluated_from=newest.isoformat())
    # Webhooks: new alerts first (newest windows), then failed ones whose backoff has passed.
    if deliver:
        result.retried = _deliver_pass(info.id, now, result.fired)
    else:
        fresh = [a.id for a in result.fired if a.webhook_status == "pending"]
        due = [a.id for a in _due_retries(info.id, _aware(now) or datetime.now(UTC)) if a.id not in fresh]
        result.undelivered = fresh + due
    result.fired = [_get_alert(a.id) for a in result.fired]
    return result


def _rule_alerts(rule_id: str) -> list[AlertInfo]:
    with session_scope() as s:
        return [_alert_info(r) for r in s.scalars(select(Alert).where(Alert.rule_id == rule_id))]


def _last_alert_end(rule_id: str) -> datetime | None:
    ends = [_naive(a.window_end) for a in _rule_alerts(rule_id) if a.window_end is not None]
    return max(ends) if ends else None


def _set_rule_meta(rule_id: str, **values: Any) -> None:
    with session_scope() as s:
        row = s.get(AlertRule, rule_id)
        if row is not None:
            meta = dict(row.meta or {})
            meta.update(values)
            row.meta = meta


def _store_alert(
    rule: RuleInfo, monitor_id: str, ws: datetime, we: datetime, value: float, evidence: dict[str, Any], now: datetime
) -> AlertInfo:
    with session_scope() as s:
        row = Alert(
            rule_id=rule.id,
            monitor_id=monitor_id,
            fired_at=now,
            window_start=ws.replace(tzinfo=UTC),
            window_end=we.replace(tzinfo=UTC),
            value=float(value),
            evidence=_json_safe(evidence),
            webhook_status="pending" if rule.webhook_url else "none",
            meta={"webhook_url": rule.webhook_url} if rule.webhook_url else {},
        )
        s.add(row)
        s.flush()
        return _alert_info(row)


def _json_safe(value: Any) -> Any:
    """JSON-storable copy: NaN/inf become None, numpy scalars and dates become plain values."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


# --------------------------------------------------------------------------------------------
# Webhooks
# --------------------------------------------------------------------------------------------
def webhook_payload(alert: AlertInfo, rule: RuleInfo | None = None) -> dict[str, Any]:
    """The JSON body POSTed to the webhook (``text`` makes it readable in Slack/Teams-style hooks)."""
    ev = alert.evidence
    return {
        "type": "aigc_studio.sentiment_alert",
        "alert_id": alert.id,
        "monitor_id": alert.monitor_id,
        "monitor": ev.get("monitor", ""),
        "rule_id": alert.rule_id,
        "kind": alert.kind,
        "topic": alert.topic,
        "value": alert.value,
        "threshold": ev.get("threshold"),
        "window_start": alert.window_start.isoformat() if alert.window_start else None,
        "window_end": alert.window_end.isoformat() if alert.window_end else None,
        "fired_at": alert.fired_at.isoformat(),
        "evidence": ev,
        "text": f"Sentiment alert on {ev.get('monitor', alert.monitor_id)}: {alert.headline()}",
    }


def post_json(url: str, body: dict[str, Any], *, timeout: float = WEBHOOK_TIMEOUT_S) -> int:
    """POST ``body`` as JSON to a public address (see :mod:`aigc_core.netguard`); the 2xx status, else WebhookError."""
    return netguard.post_json(url, body, timeout=timeout)


def _deliver_pass(monitor_id: str, now: datetime, fresh: list[AlertInfo]) -> list[AlertInfo]:
    """Post the webhooks of new alerts, then retries that are due, at most MAX_WEBHOOKS_PER_RULE per rule.

    New alerts beyond the cap are recorded as not sent (oldest windows first); retries beyond it wait for the
    next pass. Returns the retried alerts.
    """
    now = _aware(now) or datetime.now(UTC)
    posted: dict[str, int] = {}
    by_rule: dict[str, list[AlertInfo]] = {}
    for a in fresh:
        if a.webhook_status == "pending":
            by_rule.setdefault(a.rule_id, []).append(a)
    for rule_id, group in by_rule.items():
        newest_first = sorted(group, key=lambda a: a.window_start or a.fired_at, reverse=True)
        for k, a in enumerate(newest_first):
            if k < MAX_WEBHOOKS_PER_RULE:
                _deliver_stored(a.id, now)
                posted[rule_id] = posted.get(rule_id, 0) + 1
            else:
                _mark_not_sent(
                    a.id,
                    f"not sent: more than {MAX_WEBHOOKS_PER_RULE} alerts of this rule fired at once "
                    "(only the newest were posted)",
                )
    fresh_ids = {a.id for a in fresh}
    retried: list[AlertInfo] = []
    for a in _due_retries(monitor_id, now):
        if a.id in fresh_ids or posted.get(a.rule_id, 0) >= MAX_WEBHOOKS_PER_RULE:
            continue
        _deliver_stored(a.id, now)
        posted[a.rule_id] = posted.get(a.rule_id, 0) + 1
        retried.append(_get_alert(a.id))
    return retried


def deliver_due(
    monitor_id: str,
    *,
    now: datetime | None = None,
    alert_ids: list[str] | tuple[str, ...] = (),
    actor: Actor | None = None,
) -> list[AlertInfo]:
    """A delivery pass without evaluating (the worker's ``monitor.deliver_webhooks`` job; owner or admin): post the
    webhooks of the new alerts ``alert_ids`` still pending, then retry failed ones whose backoff has passed.

    Returns the retried alerts.
    """
    monitor_id, _ = _monitor_access(monitor_id, "change", actor)
    fresh = []
    for alert_id in dict.fromkeys(alert_ids):
        with session_scope() as s:
            row = s.get(Alert, alert_id)
            if row is not None and row.monitor_id == monitor_id:
                fresh.append(_alert_info(row))
    return _deliver_pass(monitor_id, now or datetime.now(UTC), fresh)


def queue_delivery(
    monitor_id: str,
    alert_ids: list[str] | tuple[str, ...] = (),
    *,
    retry: list[str] | tuple[str, ...] = (),
    actor: Actor | None = None,
) -> str:
    """Queue the ``monitor.deliver_webhooks`` job that posts these new alerts' webhooks (and sends ``retry`` again
    now) in the worker; returns the job's id. Pages call this instead of posting."""
    monitor_id, who = _monitor_access(monitor_id, "change", actor)
    with session_scope() as s:
        for alert_id in retry:
            if _alert_row(s, alert_id, "change", who).monitor_id != monitor_id:
                raise _no_alert(alert_id)
    import aigc_core.monitor.jobs  # noqa: F401 - registers the job kind in this process
    from aigc_core import jobs

    params = {"monitor_id": monitor_id, "alert_ids": list(alert_ids), "retry_ids": list(retry)}
    return jobs.submit(DELIVER_JOB_KIND, params, actor=who)


def _in_page_run() -> bool:
    """True inside a page run (told by the UI layer), where webhooks are never posted."""
    from aigc_core.runtime import in_ui_run

    return in_ui_run()


def _mark_not_sent(alert_id: str, reason: str) -> None:
    with session_scope() as s:
        row = s.get(Alert, alert_id)
        if row is not None:
            row.webhook_status = "skipped"
            row.webhook_error = reason
            meta = dict(row.meta or {})
            meta.pop("next_retry_at", None)
            row.meta = meta


def _deliver_stored(alert_id: str, now: datetime) -> None:
    """Post one alert's webhook and record the outcome; never raises for a delivery failure. Inside a page run
    nothing is posted (the alert is left for the worker's delivery job)."""
    alert = _get_alert(alert_id)
    url = str(alert.meta.get("webhook_url", ""))
    if not url:
        return
    if _in_page_run():
        log.error("refused to post the webhook of alert %s inside a page run; queue_delivery() sends it", alert_id)
        return
    error = ""
    try:
        post_json(url, webhook_payload(alert))
    except WebhookError as exc:  # a message written to be shown
        error = str(exc)
    except Exception as exc:  # anything else: a generic message, the details only in the log
        log.warning("webhook %s of alert %s failed: %s", mask_url(url), alert_id, type(exc).__name__, exc_info=True)
        error = SEND_FAILED
    with session_scope() as s:
        row = s.get(Alert, alert_id)
        if row is None:
            return
        row.webhook_attempts = int(row.webhook_attempts or 0) + 1
        meta = dict(row.meta or {})
        if error:
            row.webhook_status = "failed"
            if row.webhook_attempts >= MAX_WEBHOOK_ATTEMPTS:
                meta.pop("next_retry_at", None)
                error += f" (gave up after {row.webhook_attempts} attempts)"
            else:
                delay = RETRY_BASE_S * 2 ** (row.webhook_attempts - 1)
                meta["next_retry_at"] = (now + timedelta(seconds=delay)).isoformat()
            row.webhook_error = error[:1000]
            log.info("webhook %s of alert %s: %s", mask_url(url), alert_id, error)
        else:
            row.webhook_status = "sent"
            row.webhook_error = ""
            meta.pop("next_retry_at", None)
            meta["sent_at"] = now.isoformat()
        row.meta = meta


def _due_retries(monitor_id: str, now: datetime) -> list[AlertInfo]:
    """Failed webhooks whose backoff has passed, and interrupted pending ones, below the attempt limit."""
    with session_scope() as s:
        rows = s.scalars(
            select(Alert).where(
                Alert.monitor_id == monitor_id,
                Alert.webhook_status.in_(("failed", "pending")),
                Alert.webhook_attempts < MAX_WEBHOOK_ATTEMPTS,
            )
        )
        out = []
        for r in rows:
            info = _alert_info(r)
            if info.webhook_status == "pending":
                if (now - info.fired_at).total_seconds() >= PENDING_GRACE_S:
                    out.append(info)
                continue
            due = info.next_retry_at
            if due is None or due <= now:
                out.append(info)
        return sorted(out, key=lambda a: a.window_start or a.fired_at, reverse=True)


def retry_webhook(alert_id: str, *, now: datetime | None = None, actor: Actor | None = None) -> AlertInfo:
    """Send an alert's webhook again now (the monitor's owner or an admin; the delivery job runs it for the page's
    retry button, see :func:`queue_delivery`)."""
    with session_scope() as s:
        _alert_row(s, alert_id, "change", actor)
    _deliver_stored(alert_id, now or datetime.now(UTC))
    return _get_alert(alert_id)

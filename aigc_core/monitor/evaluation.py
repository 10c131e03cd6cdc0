"""Evaluating a monitor's alert rules on its scored rows, after every scoring run; new alerts are stored.

Windows are fixed buckets of the rule's ``window`` length (``1h``, ``6h``, ``1D``, ``1W``) on the data's
time axis (UTC). Every window not yet evaluated is checked in order, so a batch covering several days is
evaluated window by window; the newest window is evaluated again when more rows arrive. The cooldown is
measured on the same axis: a rule does not fire for a window starting less than ``cooldown_s`` after the
end of its previous alert's window. Webhooks of new alerts are posted (by the worker) or listed for
:func:`aigc_core.monitor.webhooks.queue_delivery`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import select

from aigc_core.monitor.alerts import (
    MIN_BASELINE_WINDOWS,
    AlertInfo,
    RuleInfo,
    _alert_info,
    _get_alert,
    _naive,
    _rules,
    parse_window,
)
from aigc_core.monitor.webhooks import _deliver_pass, _due_retries, _in_page_run
from aigc_core.store import Alert, AlertRule, session_scope
from aigc_core.store.models import as_utc
from aigc_core.users.roles import Actor

EXAMPLES_IN_EVIDENCE = 5

log = logging.getLogger(__name__)


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
    retry webhooks when ``deliver`` (the worker), else list them in ``undelivered`` for ``webhooks.queue_delivery``.

    Inside a page run webhooks are never sent, whatever ``deliver`` says.
    """
    from aigc_core.monitor.store import get_monitor, monitor_data

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
        due = [a.id for a in _due_retries(info.id, as_utc(now) or datetime.now(UTC)) if a.id not in fresh]
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

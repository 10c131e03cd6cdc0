"""Monitor job kinds: ``monitor.score`` scores a monitor's pending rows in the background, then evaluates alerts;
``monitor.deliver_webhooks`` posts alert webhooks from the worker (pages never post them)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from aigc_core.jobs import job_kind
from aigc_core.jobs.context import JobContext, StoreJobContext
from aigc_core.monitor import alerts, webhooks
from aigc_core.monitor.scoring import SCORE_JOB_KIND, score_pending


class MonitorScoreParams(BaseModel):
    """Parameters of a ``monitor.score`` job."""

    monitor_id: str = Field(..., min_length=1, description="The monitor whose pending rows are scored.")


@job_kind(SCORE_JOB_KIND, params=MonitorScoreParams, resource="gpu", resumable=True)
def run_monitor_score(ctx: JobContext, params: MonitorScoreParams) -> dict[str, Any]:
    """Score pending rows chunk by chunk (cached, so a resumed job skips what is done) and evaluate alerts."""

    def progress(done: int, total: int) -> None:
        ctx.report(done / max(total, 1), f"Scored {done:,} of {total:,} texts")

    if isinstance(params, dict):
        params = MonitorScoreParams(**params)
    run = score_pending(params.monitor_id, progress=progress, should_stop=ctx.should_stop)
    ctx.log(
        f"monitor {run.monitor_id}: {run.n_new_scores} new scores, {run.n_cached} cached, "
        f"{run.n_rows} rows, {run.n_alerts} alerts"
    )
    return run.to_dict()


class DeliverWebhooksParams(BaseModel):
    """Parameters of a ``monitor.deliver_webhooks`` job."""

    monitor_id: str = Field(..., min_length=1, description="The monitor whose alert webhooks are posted.")
    alert_ids: list[str] = Field(default_factory=list, description="New alerts whose webhooks are posted first.")
    retry_ids: list[str] = Field(default_factory=list, description="Alerts whose webhooks are sent again now.")


# Typed with the worker's context, not the JobContext protocol: it forces progress writes (report(force=True)).
@job_kind(webhooks.DELIVER_JOB_KIND, params=DeliverWebhooksParams, resource="cpu")
def run_deliver_webhooks(ctx: StoreJobContext, params: DeliverWebhooksParams) -> dict[str, Any]:
    """Post alert webhooks: the given new alerts, the retries asked for, then failed ones whose backoff passed."""
    if isinstance(params, dict):
        params = DeliverWebhooksParams(**params)
    ctx.report(0.0, "Posting alert webhooks", force=True)
    touched: dict[str, alerts.AlertInfo] = {}
    for alert_id in dict.fromkeys(params.retry_ids):
        if alerts.get_alert(alert_id).monitor_id == params.monitor_id:  # only this monitor's alerts
            touched[alert_id] = webhooks.retry_webhook(alert_id)
    retried = webhooks.deliver_due(params.monitor_id, alert_ids=params.alert_ids)
    for alert_id in params.alert_ids:
        try:
            touched[alert_id] = alerts.get_alert(alert_id)
        except Exception:  # deleted meanwhile (its rule or monitor went)
            continue
    touched.update({a.id: a for a in retried})
    counts: dict[str, int] = {}
    for a in touched.values():
        counts[a.webhook_status] = counts.get(a.webhook_status, 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing to send"
    ctx.log(f"monitor {params.monitor_id}: webhooks {summary}")
    ctx.report(1.0, f"Webhooks: {summary}", force=True)
    return {"monitor_id": params.monitor_id, "webhooks": counts, "alert_ids": sorted(touched)}

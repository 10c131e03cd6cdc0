"""Alert webhooks: posted by the worker (the ``monitor.deliver_webhooks`` job), never inside a page run.

A page evaluates with ``deliver=False`` and queues the delivery job (:func:`queue_delivery`) for the alerts it
stored; a post attempted inside a Streamlit script run is refused and left for that job. A webhook (HTTP POST,
JSON body) failing is recorded on the alert (status, error, attempts) and retried with exponential backoff on the
next evaluations (or :func:`deliver_due`), up to :data:`MAX_WEBHOOK_ATTEMPTS` attempts. At most
:data:`MAX_WEBHOOKS_PER_RULE` webhooks per rule are posted per pass; older alerts beyond that are recorded as not
sent. Webhooks go through :mod:`aigc_core.netguard` (public addresses only, no redirects, generic errors).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from aigc_core import netguard
from aigc_core.monitor.alerts import (
    AlertInfo,
    RuleInfo,
    _alert_info,
    _alert_row,
    _get_alert,
    _monitor_access,
    _no_alert,
)
from aigc_core.netguard import WebhookError, mask_url
from aigc_core.store import Alert, session_scope
from aigc_core.store.models import as_utc
from aigc_core.users.roles import Actor

MAX_WEBHOOK_ATTEMPTS = 6
MAX_WEBHOOKS_PER_RULE = 5  # webhooks posted per rule per pass (new alerts and retries together)
RETRY_BASE_S = 30.0
WEBHOOK_TIMEOUT_S = 5.0
PENDING_GRACE_S = 300.0  # a 'pending' webhook older than this was interrupted: the next pass sends it
SEND_FAILED = "the webhook could not be sent"
DELIVER_JOB_KIND = "monitor.deliver_webhooks"

log = logging.getLogger(__name__)


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
    now = as_utc(now) or datetime.now(UTC)
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

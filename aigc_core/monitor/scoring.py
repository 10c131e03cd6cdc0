"""Scoring a monitor: its pending rows through the sentiment score cache, merged into the rows file, then alerts.

Small runs score inline (a page shows a progress bar); larger ones go to the ``monitor.score`` job
(:mod:`aigc_core.monitor.jobs`), scored chunk by chunk so a cancelled job resumes where it stopped.
Inline runs store their alerts but never post webhooks: a delivery job is queued for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from aigc_core.monitor.files import monitor_lock, pending_count, pending_files, rows_path
from aigc_core.monitor.store import check_monitor, get_monitor, update_meta
from aigc_core.storage import atomic_path
from aigc_core.users.roles import Actor

if TYPE_CHECKING:  # pragma: no cover
    from aigc_core.jobs import JobInfo

INLINE_MAX_ROWS = 2_000  # larger scoring runs go through the job runner
SCORE_CHUNK = 2_000  # texts scored (and cached) per step: progress, cancellation and resume points
SCORE_JOB_KIND = "monitor.score"


@dataclass
class ScoreRun:
    """Result of one scoring run of a monitor."""

    monitor_id: str
    n_rows: int = 0
    n_new_scores: int = 0
    n_cached: int = 0
    n_unscorable: int = 0
    model_version: str = ""
    n_alerts: int = 0
    alert_error: str = ""
    cancelled: bool = False
    undelivered: list[str] = field(default_factory=list)  # alerts whose webhooks wait for the worker
    webhook_job_id: str = ""  # the delivery job queued for them

    @property
    def webhooks_queued(self) -> bool:
        """True when webhooks of this run are left to the worker's delivery job."""
        return bool(self.webhook_job_id)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (job result)."""
        return asdict(self)


def pending_rows(monitor_id: str, *, actor: Actor | None = None) -> int:
    """Rows of a monitor the acting user may see that wait to be scored."""
    return pending_count(check_monitor(monitor_id, actor=actor))


def score_pending(
    monitor_id: str,
    *,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    evaluate_alerts: bool = True,
    deliver_webhooks: bool = True,
    actor: Actor | None = None,
) -> ScoreRun:
    """Score the pending rows (cached scores reused; owner or admin), merge them into the rows file, then evaluate
    alerts, posting their webhooks unless ``deliver_webhooks`` is False (then ``undelivered`` lists them).

    Scores are cached chunk by chunk, so a cancelled run resumes where it stopped.
    """
    from aigc_core.sentiment import scoring as sentiment

    info = get_monitor(monitor_id, action="change", actor=actor)
    run = ScoreRun(monitor_id=info.id)
    with monitor_lock(info.id, "scoring"):
        with monitor_lock(info.id):
            files = pending_files(info.id)
            if not files:
                return run
            pending = pd.concat([pd.read_parquet(p) for p in files], ignore_index=True)
        texts = pending["text"].astype("string").fillna("").tolist()
        total = len(texts)
        labels: list[Any] = []
        scores: list[np.ndarray] = []
        probs: list[np.ndarray] = []
        label_order: tuple[str, ...] = ()
        for start in range(0, total, SCORE_CHUNK):
            if should_stop is not None and should_stop():
                run.cancelled = True
                return run
            chunk = texts[start : start + SCORE_CHUNK]
            sub = None if progress is None else _offset(progress, start, total)
            result, n_new = sentiment.score_with_cache(chunk, info.model, label_map=info.label_map, progress=sub)
            run.n_new_scores += n_new
            run.model_version = result.model_version
            label_order = tuple(result.label_order)
            labels.extend(result.labels)
            scores.append(np.asarray(result.scores, dtype="float32"))
            probs.append(np.asarray(result.probs, dtype="float32"))
            if progress is not None:
                progress(min(start + SCORE_CHUNK, total), total)
        score_arr = np.concatenate(scores) if scores else np.zeros(0, dtype="float32")
        prob_arr = np.concatenate(probs) if probs else np.zeros((0, len(label_order)), dtype="float32")
        scored = pending.copy()
        scored["text_hash"] = [sentiment.text_hash(t) for t in texts]
        scored["label"] = pd.array(labels, dtype="string")
        scored["score"] = score_arr
        for lab in ("negative", "neutral", "positive"):
            scored[f"prob_{lab}"] = prob_arr[:, label_order.index(lab)] if lab in label_order else np.nan
        ok = scored["label"].notna()
        run.n_unscorable = int((~ok).sum())
        scored = scored[ok.to_numpy()]
        run.n_cached = len(scored) - min(run.n_new_scores, len(scored))
        with monitor_lock(info.id):  # batches appended meanwhile stay pending for the next run
            path = rows_path(info.id)
            merged = pd.concat([pd.read_parquet(path), scored], ignore_index=True) if path.exists() else scored
            merged = merged.sort_values("ts", kind="stable").reset_index(drop=True)
            with atomic_path(path) as tmp:
                merged.to_parquet(tmp, index=False)
            for p in files:
                p.unlink(missing_ok=True)
            run.n_rows = len(merged)
            update_meta(info.id, model_version=run.model_version, scored_at=datetime.now(UTC).isoformat())
    if evaluate_alerts:
        try:
            from aigc_core.monitor.evaluation import evaluate

            ev = evaluate(info.id, deliver=deliver_webhooks, actor=actor)
            run.n_alerts = len(ev.fired)
            run.undelivered = list(ev.undelivered)
        except Exception as exc:  # scores are saved; the alert failure is reported, not raised
            run.alert_error = f"{type(exc).__name__}: {exc}"
    return run


def _offset(progress: Callable[[int, int], None], offset: int, total: int) -> Callable[[int, int], None]:
    def report(done: int, _n: int) -> None:
        progress(offset + done, total)

    return report


@dataclass
class ScoringStart:
    """How scoring was started: a job id (background) or the finished inline run."""

    job_id: str | None = None
    run: ScoreRun | None = None


def start_scoring(
    monitor_id: str,
    *,
    inline_max_rows: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    actor: Actor | None = None,
) -> ScoringStart:
    """Score pending rows (owner or admin): inline for small batches, as a ``monitor.score`` job for large ones.

    An inline run stores its alerts but never posts webhooks (it may run inside a page): a delivery job is queued
    for them. ``inline_max_rows`` defaults to :data:`INLINE_MAX_ROWS`.
    """
    mid = check_monitor(monitor_id, "change", actor=actor)
    n = pending_count(mid)
    limit = INLINE_MAX_ROWS if inline_max_rows is None else inline_max_rows
    if n > limit:
        import aigc_core.monitor.jobs  # noqa: F401 - registers the job kind in this process
        from aigc_core import jobs

        return ScoringStart(job_id=jobs.submit(SCORE_JOB_KIND, {"monitor_id": mid}, actor=actor))
    run = score_pending(mid, progress=progress, deliver_webhooks=False, actor=actor)
    if run.undelivered:
        from aigc_core.monitor import webhooks

        try:
            run.webhook_job_id = webhooks.queue_delivery(mid, run.undelivered, actor=actor)
        except Exception as exc:  # the alerts are stored; a later delivery pass sends their webhooks
            run.alert_error = f"the webhooks could not be queued for the worker: {exc}"
    return ScoringStart(run=run)


def job_status(job_id: str, *, actor: Actor | None = None) -> JobInfo:
    """The job (status, progress, message, error, result) of a scoring run the acting user may see."""
    from aigc_core import jobs

    return jobs.get(job_id, actor=actor)

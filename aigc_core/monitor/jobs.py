"""The ``monitor.score`` job kind: score a monitor's pending rows in the background, then evaluate alerts."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from aigc_core.jobs import job_kind
from aigc_core.monitor.monitors import SCORE_JOB_KIND, score_pending


class MonitorScoreParams(BaseModel):
    """Parameters of a ``monitor.score`` job."""

    monitor_id: str = Field(..., min_length=1, description="The monitor whose pending rows are scored.")


@job_kind(SCORE_JOB_KIND, params=MonitorScoreParams, resource="gpu", resumable=True)
def run_monitor_score(ctx: Any, params: MonitorScoreParams) -> dict[str, Any]:
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

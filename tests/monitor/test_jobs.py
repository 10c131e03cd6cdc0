"""The ``monitor.score`` job kind: registered with the runner, submitted for large batches, runs with progress."""

from __future__ import annotations

import pandas as pd
import pytest

from aigc_core.monitor import scoring, store

jobs = pytest.importorskip("aigc_core.jobs")


def _frame(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "t": pd.date_range("2026-01-01", periods=n, freq="min").astype(str),
            "text": [("flight delayed " if i % 2 else "great crew ") + str(i) for i in range(n)],
        }
    )


def test_large_batches_go_through_the_job_runner(settings, fake_scorer, monkeypatch) -> None:
    from aigc_core.jobs.context import StoreJobContext

    monkeypatch.setattr(scoring, "SCORE_CHUNK", 50)
    info, _ = store.create_monitor("big", mapping={"text": "text", "timestamp": "t"}, frame=_frame(120))
    started = scoring.start_scoring(info.id, inline_max_rows=100)
    assert started.run is None and started.job_id
    job = jobs.get(started.job_id)
    assert job.kind == scoring.SCORE_JOB_KIND and job.status == "queued" and job.resource == "gpu"
    assert scoring.job_status(started.job_id).status == "queued"
    # Run the registered kind in this process (the worker does the same in its child process).
    spec = jobs.get_kind(scoring.SCORE_JOB_KIND)
    ctx = StoreJobContext(started.job_id, jobs.work_dir(started.job_id), jobs.log_path(started.job_id))
    reports: list[tuple[float, str]] = []
    monkeypatch.setattr(ctx, "report", lambda p, m="", **_: reports.append((p, m)))
    result = spec.fn(ctx, spec.params.model_validate(job.params))
    assert result["n_rows"] == 120 and result["n_new_scores"] == 120
    assert reports[-1][0] == pytest.approx(1.0) and "120" in reports[-1][1]
    assert len({round(p, 2) for p, _ in reports}) >= 3  # progress moved chunk by chunk
    assert store.get_monitor(info.id).n_rows == 120 and scoring.pending_rows(info.id) == 0


def test_cancelled_run_resumes_from_the_cache(settings, fake_scorer, monkeypatch) -> None:
    monkeypatch.setattr(scoring, "SCORE_CHUNK", 40)
    info, _ = store.create_monitor("stop", mapping={"text": "text", "timestamp": "t"}, frame=_frame(100))
    calls = {"n": 0}

    def stop_after_first_chunk() -> bool:
        calls["n"] += 1
        return calls["n"] > 1

    run = scoring.score_pending(info.id, should_stop=stop_after_first_chunk)
    assert run.cancelled and run.n_new_scores == 40 and scoring.pending_rows(info.id) == 100
    fake_scorer.calls.clear()
    run2 = scoring.score_pending(info.id)
    assert run2.n_rows == 100 and run2.n_new_scores == 60  # the first chunk came from the cache
    assert sum(len(c) for c in fake_scorer.calls) == 60

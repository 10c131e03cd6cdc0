"""The whole life cycle against a real worker supervisor process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from aigc_core import jobs
from aigc_core.store.db import session_scope
from aigc_core.store.models import Job
from aigc_core.users.roles import Actor
from tests.jobs.conftest import wait_for


def test_submit_progress_success(worker) -> None:
    job_id = jobs.submit("demo.count", {"steps": 6, "seconds_per_step": 0.3}, actor=Actor("alice", "editor"))
    assert jobs.get(job_id).status in ("queued", "running")
    mid = wait_for(job_id, lambda j: j.status == "running" and 0 < j.progress < 1, what="progress")
    assert mid.message.startswith("step ") and mid.worker_pid and mid.worker_pid != os.getpid()
    done = wait_for(job_id, lambda j: j.finished, what="finish")
    assert done.status == "succeeded", done.error
    assert done.result == {"counted": 6, "steps": 6, "stopped": False}
    assert done.progress == 1.0 and done.eta_s is None and done.owner == "alice"
    assert done.started_at and done.finished_at and done.finished_at >= done.started_at
    assert done.duration_s is not None and done.duration_s >= 1.5
    tail = jobs.log_tail(job_id, 3)
    assert tail[-1].endswith("finished") and any("step 6" in line for line in tail)
    assert (jobs.work_dir(job_id) / "count.json").is_file()


def test_exception_in_job_fails_with_reason_and_log(worker) -> None:
    job_id = jobs.submit("demo.count", {"steps": 5, "seconds_per_step": 0.05, "fail_at": 3})
    info = wait_for(job_id, lambda j: j.finished)
    assert info.status == "failed"
    assert "RuntimeError: demo failure at step 3" in info.error
    assert "Last log lines" in info.error and "step 2" in info.error
    assert any("Traceback" in line for line in jobs.log_tail(job_id, 30))


def test_cancel_running_job_stops_cleanly(worker) -> None:
    job_id = jobs.submit("demo.count", {"steps": 200, "seconds_per_step": 0.05})
    wait_for(job_id, lambda j: j.progress > 0, what="progress")
    jobs.cancel(job_id)
    assert jobs.get(job_id).cancel_requested
    info = wait_for(job_id, lambda j: j.finished)
    assert info.status == "cancelled"
    assert info.result["stopped"] is True and 0 < info.result["counted"] < 200
    assert "stopped cleanly" in info.message


def test_job_ignoring_cancel_is_terminated_after_grace(worker) -> None:
    job_id = jobs.submit("demo.count", {"steps": 500, "seconds_per_step": 0.05, "ignore_cancel": True})
    running = wait_for(job_id, lambda j: j.progress > 0, what="progress")
    jobs.cancel(job_id)
    t0 = datetime.now(UTC)
    info = wait_for(job_id, lambda j: j.finished, timeout=15)
    assert info.status == "cancelled" and "terminated" in info.message
    assert info.finished_at - t0 >= timedelta(seconds=0.9)  # the 1 s grace period was granted first
    assert any("did not stop within 1s" in line for line in jobs.log_tail(job_id, 500))
    assert not _alive(running.worker_pid)


def test_sigkilled_job_process_is_failed_with_reason(worker) -> None:
    job_id = jobs.submit("demo.count", {"steps": 500, "seconds_per_step": 0.05})
    info = wait_for(job_id, lambda j: j.progress > 0 and j.worker_pid, what="progress")
    os.kill(info.worker_pid, signal.SIGKILL)
    failed = wait_for(job_id, lambda j: j.finished)
    assert failed.status == "failed"
    assert "killed by SIGKILL" in failed.error and "Last log lines" in failed.error
    # The supervisor survived and still runs jobs.
    assert worker.poll() is None
    again = jobs.submit("demo.count", {"steps": 1, "seconds_per_step": 0})
    assert wait_for(again, lambda j: j.finished).status == "succeeded"


def _alive(pid: int | None) -> bool:
    return jobs.api.pid_alive(pid)


def test_stale_running_jobs_are_recovered_on_startup(jobs_env, start_worker) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    old = datetime.now(UTC) - timedelta(minutes=10)
    with session_scope() as s:
        local = Job(kind="demo.count", status="running", worker_host=jobs.api.hostname(), worker_pid=dead.pid)
        local.started_at = local.heartbeat_at = datetime.now(UTC)
        remote = Job(kind="demo.count", status="running", worker_host="elsewhere", worker_pid=1, heartbeat_at=old)
        s.add_all([local, remote])
        s.flush()
        ids = (local.id, remote.id)
    queued = jobs.submit("demo.count", {"steps": 1, "seconds_per_step": 0})
    start_worker()
    for job_id in ids:
        info = wait_for(job_id, lambda j: j.finished)
        assert info.status == "failed" and info.message == "Worker lost"
    assert "is gone" in jobs.get(ids[0]).error
    assert "heartbeats" in jobs.get(ids[1]).error
    assert wait_for(queued, lambda j: j.finished).status == "succeeded"


def test_gpu_jobs_run_one_after_the_other_cpu_beside(worker) -> None:
    params = {"steps": 4, "seconds_per_step": 0.25}
    a = jobs.submit("demo.count_gpu", params)
    b = jobs.submit("demo.count_gpu", params)
    c = jobs.submit("demo.count", params)
    ia, ib, ic = (wait_for(j, lambda x: x.finished, timeout=30) for j in (a, b, c))
    assert {ia.status, ib.status, ic.status} == {"succeeded"}
    assert ia.resource == ib.resource == "gpu:cpu" and ic.resource == "cpu"
    assert ia.started_at < ib.started_at  # queued order
    assert ib.started_at >= ia.finished_at  # no overlap on the GPU slot
    assert ic.started_at < ia.finished_at  # the CPU job ran beside the first GPU job


def test_resume_continues_from_the_old_work_dir(worker) -> None:
    old = jobs.submit("demo.count", {"steps": 40, "seconds_per_step": 0.05})
    wait_for(old, lambda j: j.progress >= 0.1, what="progress")
    jobs.cancel(old)
    stopped = wait_for(old, lambda j: j.finished)
    assert stopped.status == "cancelled"
    new = jobs.resume(old)
    info = wait_for(new, lambda j: j.finished)
    assert info.status == "succeeded" and info.resumed_from == old and info.result["counted"] == 40
    assert any(f"resuming from step {stopped.result['counted']}" in line for line in jobs.log_tail(new, 100))


def test_worker_shutdown_marks_running_job_failed(worker) -> None:
    job_id = jobs.submit("demo.count", {"steps": 500, "seconds_per_step": 0.05, "ignore_cancel": True})
    wait_for(job_id, lambda j: j.progress > 0, what="progress")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=15) == 0
    info = jobs.get(job_id)
    assert info.status == "failed" and "shut down" in info.error


def test_killed_supervisor_takes_its_jobs_down_as_failed(worker) -> None:
    job_id = jobs.submit("demo.count", {"steps": 500, "seconds_per_step": 0.05})
    info = wait_for(job_id, lambda j: j.progress > 0 and j.worker_pid, what="progress")
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    failed = wait_for(job_id, lambda j: j.finished, timeout=15)
    assert failed.status == "failed" and "supervisor stopped unexpectedly" in failed.error
    deadline = datetime.now(UTC) + timedelta(seconds=10)
    while _alive(info.worker_pid) and datetime.now(UTC) < deadline:
        time.sleep(0.1)
    assert not _alive(info.worker_pid)  # no orphan keeps running

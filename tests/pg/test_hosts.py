"""Two hosts share the PostgreSQL store and the data folder: one dies mid-job, the other notices and carries on."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aigc_core import jobs
from tests.jobs.conftest import wait_for
from tests.pg.conftest import kill_tree, worker_log

TIMEOUT_S = 5  # AIGC_JOB_HEARTBEAT_TIMEOUT_S of both hosts in this test


def test_killed_host_job_is_failed_by_the_survivor_and_nothing_else_is_lost(start_supervisor, tmp_path) -> None:
    env = {"AIGC_JOB_WORKERS": "1", "AIGC_JOB_HEARTBEAT_TIMEOUT_S": str(TIMEOUT_S)}
    hosts = {name: start_supervisor(name, **env) for name in ("host-a", "host-b")}
    before = jobs.submit("demo.count", {"steps": 1, "seconds_per_step": 0})
    assert wait_for(before, lambda j: j.finished, timeout=60).status == "succeeded"

    long = jobs.submit("demo.count", {"steps": 2000, "seconds_per_step": 0.05})
    running = wait_for(long, lambda j: j.status == "running" and j.progress > 0, timeout=60, what="the long job")
    victim = running.worker_host
    (survivor,) = set(hosts) - {victim}
    # The victim's only slot is busy, so these wait for (and are run by) the survivor.
    queued = [jobs.submit("demo.count", {"steps": 2, "seconds_per_step": 0.05}) for _ in range(3)]

    killed = kill_tree(hosts[victim].pid)  # the host dies: supervisor, forkserver and job process, all SIGKILL
    assert len(killed) >= 3 and running.worker_pid in {p.pid for p in killed}
    assert not any(p.is_running() for p in killed)

    failed = wait_for(long, lambda j: j.finished, timeout=TIMEOUT_S + 60, what="the survivor to fail the job")
    assert failed.status == "failed" and failed.message == "Worker lost"
    assert "stopped sending heartbeats" in failed.error and f"It ran on worker {victim}" in failed.error
    assert "Last log lines" in failed.error  # the shared data folder: the survivor read the victim's job log
    assert f"job {long} marked failed" in worker_log(tmp_path, survivor)
    assert failed.finished_at - failed.heartbeat_at >= timedelta(seconds=TIMEOUT_S)  # not before the timeout

    for job_id in queued:
        done = wait_for(job_id, lambda j: j.finished, timeout=60)
        assert (done.status, done.worker_host) == ("succeeded", survivor), done.error
    after = jobs.submit("demo.count", {"steps": 1, "seconds_per_step": 0})
    assert wait_for(after, lambda j: j.finished, timeout=60).worker_host == survivor
    assert jobs.get(before).status == "succeeded"  # earlier work is untouched
    assert hosts[survivor].poll() is None
    # The resumable job continues from the victim's last checkpoint on the survivor.
    resumed = jobs.resume(long)
    info = wait_for(resumed, lambda j: j.status == "running" and j.progress > 0, timeout=60, what="the resumed job")
    assert info.worker_host == survivor
    assert any("resuming from step" in line for line in jobs.log_tail(resumed, 50))
    jobs.cancel(resumed)
    assert wait_for(resumed, lambda j: j.finished, timeout=60).status == "cancelled"


@pytest.mark.both_stores
def test_gpu_slots_are_per_worker_host_and_device(settings, store_backend: str, monkeypatch) -> None:
    """Two GPUs run two GPU jobs at once on their host, also across two supervisors sharing its name; a host
    without a GPU (and GPU jobs on the CPU turned off) takes CPU jobs only; another GPU host takes the rest."""
    from aigc_core.jobs.worker import Supervisor
    from aigc_core.settings import Settings

    ids = [jobs.submit("demo.count_gpu", {"steps": 1}) for _ in range(3)]
    cpu_job = jobs.submit("demo.count", {"steps": 1})

    def supervisor(name: str, devices: list[str] | None, **extra) -> tuple[Supervisor, list[tuple[str, str]]]:
        sup = Supervisor(Settings(worker_name=name, job_workers=4, device="cpu", **extra), fork=False)
        sup.skip_locked = store_backend == "postgresql"
        if devices is not None:
            sup.devices = devices
        started: list[tuple[str, str]] = []
        monkeypatch.setattr(sup, "start", lambda job_id, slot: started.append((job_id, slot)))
        return sup, started

    cpu_only, cpu_started = supervisor("cpu-host", None, worker_gpu_jobs_on_cpu=False)
    assert cpu_only.devices == []
    cpu_only.claim()
    assert cpu_started == [(cpu_job, "cpu")]

    big_1, big_1_started = supervisor("gpu-host", ["cuda:0", "cuda:1"])
    big_1.claim()
    assert big_1_started == [(ids[0], "gpu:cuda:0"), (ids[1], "gpu:cuda:1")]
    big_2, big_2_started = supervisor("gpu-host", ["cuda:0", "cuda:1"])  # a second supervisor on that host
    big_2.claim()
    assert big_2_started == []  # both of the host's GPUs are busy, whoever started their jobs

    small, small_started = supervisor("small-gpu-host", ["cuda:0"])
    small.claim()
    assert small_started == [(ids[2], "gpu:cuda:0")]
    by_host = {j.id: (j.worker_host, j.resource) for j in jobs.list_jobs(status="running")}
    assert by_host == {
        cpu_job: ("cpu-host", "cpu"),
        ids[0]: ("gpu-host", "gpu:cuda:0"),
        ids[1]: ("gpu-host", "gpu:cuda:1"),
        ids[2]: ("small-gpu-host", "gpu:cuda:0"),
    }

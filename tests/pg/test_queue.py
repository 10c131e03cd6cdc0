"""Several supervisors share one PostgreSQL queue: SKIP LOCKED claims, every job runs exactly once."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.pool import NullPool

from aigc_core import jobs
from aigc_core.jobs.worker import Supervisor
from aigc_core.settings import get_settings
from aigc_core.store.db import session_scope
from aigc_core.store.models import Job
from tests.pg.conftest import worker_log

N_JOBS = 200
STARTED = re.compile(r"started job (\w+) in process")


def _wait_all_finished(ids: list[str], timeout: float) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        with session_scope() as s:
            status = dict(s.execute(select(Job.id, Job.status).where(Job.id.in_(ids))).all())
        if all(v in jobs.api.FINISHED for v in status.values()) or time.monotonic() > deadline:
            return status
        time.sleep(0.25)


def test_three_supervisors_run_each_of_200_jobs_exactly_once(start_supervisor, tmp_path: Path) -> None:
    names = ["host-a", "host-b", "host-c"]
    procs = [start_supervisor(name, AIGC_JOB_WORKERS="3") for name in names]
    ids = [jobs.submit("demo.count", {"steps": 1, "seconds_per_step": 0}) for _ in range(N_JOBS)]

    status = _wait_all_finished(ids, timeout=240)
    assert all(p.poll() is None for p in procs), "a supervisor died"
    assert Counter(status.values()) == {"succeeded": N_JOBS}, Counter(status.values())

    # Every claim is logged by the supervisor that won it: each job was claimed once, by one supervisor.
    claims = Counter(job_id for name in names for job_id in STARTED.findall(worker_log(tmp_path, name)))
    assert set(claims) == set(ids)
    assert max(claims.values()) == 1, [j for j, n in claims.items() if n > 1]
    # ... and ran once: one start line in each job's own log, one recorded worker.
    for job_id in ids:
        started = [line for line in jobs.log_tail(job_id, 200) if f"job {job_id} (demo.count) started" in line]
        assert len(started) == 1, (job_id, started)
    with session_scope() as s:
        hosts = Counter(s.scalars(select(Job.worker_host).where(Job.id.in_(ids))))
    assert set(hosts) <= set(names) and sum(hosts.values()) == N_JOBS
    for name in names:
        assert "claims FOR UPDATE SKIP LOCKED" in worker_log(tmp_path, name)


def test_a_locked_job_is_skipped_not_waited_for(pg_store: str, monkeypatch) -> None:
    """A job row another supervisor holds locked is skipped: the claim takes the next one at once."""
    first = jobs.submit("demo.count", {"steps": 1, "seconds_per_step": 0})
    second = jobs.submit("demo.count", {"steps": 1, "seconds_per_step": 0})
    sup = Supervisor(get_settings(), fork=False)
    sup.skip_locked = True
    started: list[tuple[str, str]] = []
    monkeypatch.setattr(sup, "start", lambda job_id, slot: started.append((job_id, slot)))
    other = create_engine(pg_store, poolclass=NullPool)
    with other.connect() as conn, conn.begin():
        conn.execute(text("SELECT id FROM jobs WHERE id = :id FOR UPDATE"), {"id": first})
        claimer = threading.Thread(target=sup.claim, daemon=True)
        claimer.start()
        claimer.join(timeout=30)
        assert not claimer.is_alive(), "the claim waited for the locked row"
    other.dispose()
    assert started == [(second, "cpu")]
    assert jobs.get(first).status == "queued" and jobs.get(second).status == "running"

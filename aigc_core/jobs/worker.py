"""The worker supervisor: ``python -m aigc_core.jobs.worker``.

It claims queued jobs from the store in order (on PostgreSQL ``SELECT … FOR UPDATE SKIP LOCKED``, so supervisors
on several hosts never claim one job twice nor wait for each other; on SQLite an atomic
``UPDATE … WHERE status='queued'``), runs each in its own process (``python -m aigc_core.jobs.child``), keeps
their heartbeats fresh, enforces cancel grace periods (SIGTERM, then SIGKILL) and records how a job process ended
when it could not (killed, out of memory).
A crash of one job never takes the supervisor down. Jobs left running by a dead worker are failed on start-up
and every ``recover_every_s`` seconds; jobs of a worker on another host whose heartbeats stopped (the host died)
are failed by any live worker after ``AIGC_JOB_HEARTBEAT_TIMEOUT_S``. GPU slots are counted per worker name
(``AIGC_WORKER_NAME``, default the host name) and device, from the store.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import multiprocessing.process
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import CursorResult, select, text, update

from aigc_core.jobs import api
from aigc_core.settings import Settings, get_settings
from aigc_core.store.db import dispose_engines, get_engine, init_store, is_postgresql, session_scope
from aigc_core.store.models import Job

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

log = logging.getLogger("aigc_core.jobs.worker")

# Imported once by the forkserver, so each job process starts with them (no connections are opened).
PRELOAD = ["aigc_core.jobs.child", "aigc_core.jobs.demo", "alembic.command", "alembic.config", "alembic.script"]


class ForkedProcess:
    """A forkserver ``multiprocessing.Process`` with the ``subprocess.Popen`` methods the supervisor uses."""

    def __init__(self, process: multiprocessing.process.BaseProcess) -> None:
        self.process = process
        self.pid = process.pid

    def poll(self) -> int | None:
        """The exit code (negative: killed by that signal), or None while running."""
        return None if self.process.is_alive() else self.process.exitcode

    def terminate(self) -> None:
        """SIGTERM."""
        self.process.terminate()

    def kill(self) -> None:
        """SIGKILL."""
        self.process.kill()

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait for the end; the exit code."""
        self.process.join(timeout)
        return self.process.exitcode


@dataclass
class Running:
    """A job process this supervisor started."""

    job_id: str
    proc: subprocess.Popen[bytes] | ForkedProcess
    slot: str  # "cpu" or "gpu:<device>"
    log_path: Path
    cancel_seen: float | None = None
    term_sent: float | None = None
    kill_sent: bool = False


def gpu_devices(settings: Settings) -> list[str]:
    """Device slots for GPU-class jobs on this host: one per CUDA device; without one a single CPU slot, or none
    when ``AIGC_WORKER_GPU_JOBS_ON_CPU`` is off (the host then takes CPU jobs only)."""
    devices = _gpu_devices(settings)
    if not settings.worker_gpu_jobs_on_cpu:
        devices = [d for d in devices if d != "cpu"]
    return devices


def _gpu_devices(settings: Settings) -> list[str]:
    dev = settings.device
    if dev.startswith("cuda:"):
        return [dev]
    if dev in ("cpu", "mps"):
        return [dev]
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        ids = [v for v in visible.split(",") if v.strip() and v.strip() != "-1"]
        return [f"cuda:{i}" for i in range(len(ids))] or ["cpu"]
    proc_gpus = Path("/proc/driver/nvidia/gpus")
    n = len(list(proc_gpus.iterdir())) if proc_gpus.is_dir() else 0
    return [f"cuda:{i}" for i in range(n)] or ["cpu"]


def open_store(settings: Settings, attempts: int = 6) -> None:
    """Migrate/open the store, retrying while another process (the app) creates the schema at the same time."""
    for attempt in range(attempts):
        try:
            init_store(settings)
            return
        except Exception:
            if attempt == attempts - 1:
                raise
            dispose_engines()
            time.sleep(0.5 * (attempt + 1))


class Supervisor:
    """Runs queued jobs in child processes within the configured capacity."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        poll_s: float = 0.5,
        kill_after_s: float = 5.0,
        recover_every_s: float = 30.0,
        fork: bool = True,
    ) -> None:
        self.settings = settings or get_settings()
        self.slots = self.settings.job_workers
        self.gpu_per_device = self.settings.gpu_jobs_per_device
        self.grace_s = self.settings.job_cancel_grace_s
        self.devices = gpu_devices(self.settings)
        self.poll_s = poll_s
        self.kill_after_s = kill_after_s
        self.heartbeat_timeout_s = self.settings.job_heartbeat_timeout_s
        self.heartbeat_s = min(api.HEARTBEAT_S, self.heartbeat_timeout_s / 4)
        self.recover_every_s = min(recover_every_s, self.heartbeat_timeout_s / 2)
        self.running: dict[str, Running] = {}
        self.stopping = False
        self._last_beat = 0.0
        self._last_recover = 0.0
        self.host = self.settings.worker_name.strip()[:200] or api.hostname()
        self.skip_locked = False  # PostgreSQL: claim with SELECT … FOR UPDATE SKIP LOCKED (set in run)
        self.mp = None
        if fork and "forkserver" in multiprocessing.get_all_start_methods():
            # A clean, single-threaded process with the job runner pre-imported forks each job: fast start,
            # no inherited connections or CUDA state. Otherwise each job is a fresh interpreter.
            self.mp = multiprocessing.get_context("forkserver")
            self.mp.set_forkserver_preload(PRELOAD)

    # Loop ------------------------------------------------------------------------------
    def run(self) -> int:
        """Serve until SIGTERM/SIGINT; then stop the running jobs and return 0."""
        open_store(self.settings)
        self.skip_locked = is_postgresql(get_engine(self.settings))
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        if self.mp is not None:
            from multiprocessing import forkserver

            forkserver.ensure_running()  # pay the forkserver's start-up now, not on the first job
        recovered = api.recover_stale(stale_after_s=self.heartbeat_timeout_s)
        self._last_recover = time.monotonic()
        log.info(
            "worker %s (%s) ready: %d slot(s), GPU slots %s x%d, grace %.1fs, heartbeat timeout %.1fs, claims %s%s",
            os.getpid(),
            self.host,
            self.slots,
            ",".join(self.devices) or "none",
            self.gpu_per_device,
            self.grace_s,
            self.heartbeat_timeout_s,
            "FOR UPDATE SKIP LOCKED" if self.skip_locked else "UPDATE WHERE queued",
            f"; marked {len(recovered)} orphaned job(s) failed" if recovered else "",
        )
        while not self.stopping:
            try:
                self.tick()
            except Exception:  # a store hiccup must not end the supervisor
                log.exception("worker tick failed")
            time.sleep(self.poll_s)
        self.shutdown()
        return 0

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info("worker got %s: shutting down", signal.Signals(signum).name)
        self.stopping = True

    def tick(self) -> None:
        """One round: reap finished processes, enforce cancels, heartbeat, recover orphans, start jobs."""
        self.reap()
        self.enforce_cancels()
        now = time.monotonic()
        if now - self._last_beat >= self.heartbeat_s:
            self.heartbeat()
            self._last_beat = now
        if now - self._last_recover >= self.recover_every_s:
            api.recover_stale(stale_after_s=self.heartbeat_timeout_s)
            self._last_recover = now
        if not self.stopping:
            self.claim()

    # Starting --------------------------------------------------------------------------
    def _free_slot(self, resource: str, gpu_use: Counter[str] | None = None) -> str | None:
        """The slot a job of ``resource`` would take now, or None; ``gpu_use`` counts busy GPU slots on this host."""
        if len(self.running) >= self.slots:
            return None
        if resource != "gpu":
            return "cpu"
        if gpu_use is None:
            gpu_use = Counter(r.slot for r in self.running.values())
        for dev in self.devices:
            if gpu_use[f"gpu:{dev}"] < self.gpu_per_device:
                return f"gpu:{dev}"
        return None

    def _host_gpu_use(self, s: Session) -> Counter[str]:
        """Busy GPU slots of this worker host: its running jobs in the store (other supervisors under the same
        name included) and the processes this supervisor started."""
        rows = s.execute(
            select(Job.id, Job.resource).where(
                Job.status == "running", Job.worker_host == self.host, Job.resource.like("gpu:%")
            )
        )
        use = {job_id: str(resource) for job_id, resource in rows}
        use.update({job_id: r.slot for job_id, r in self.running.items() if r.slot.startswith("gpu:")})
        return Counter(use.values())

    def _claimed_values(self, slot: str, meta: dict | None) -> dict:
        return {
            "status": "running",
            "started_at": api.now(),
            "heartbeat_at": api.now(),
            "worker_host": self.host,
            "resource": slot,
            "message": "Starting",
            "meta": {**(meta or {}), "supervisor_pid": os.getpid(), "slot": slot},
        }

    def claim(self) -> None:
        """Start queued jobs in submission order while there is capacity."""
        if len(self.running) >= self.slots:
            return
        if self.skip_locked:
            self._claim_skip_locked()
        else:
            self._claim_update()

    def _claim_skip_locked(self) -> None:
        """PostgreSQL: lock the oldest queued job that fits a free slot, skipping rows other supervisors hold."""
        while not self.stopping and len(self.running) < self.slots:
            with session_scope() as s:
                # Supervisors under one worker name share its GPU slots: they count and claim one at a time.
                s.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"aigc.claim:{self.host}"})
                gpu_slot = self._free_slot("gpu", self._host_gpu_use(s))
                q = select(Job.id, Job.resource, Job.meta).where(Job.status == "queued")
                if gpu_slot is None:
                    q = q.where(Job.resource.not_like("gpu%"))
                q = q.order_by(Job.created_at, Job.id).limit(1).with_for_update(skip_locked=True)
                row = s.execute(q).first()
                if row is None:
                    return
                job_id, resource, meta = row
                slot = gpu_slot if str(resource).startswith("gpu") and gpu_slot else "cpu"
                s.execute(update(Job).where(Job.id == job_id).values(**self._claimed_values(slot, meta)))
            self.start(job_id, slot)

    def _claim_update(self) -> None:
        """SQLite (one machine): try the oldest queued jobs with an UPDATE that only one supervisor can win."""
        with session_scope() as s:
            gpu_use = self._host_gpu_use(s)
            queued = list(
                s.execute(
                    select(Job.id, Job.resource, Job.meta)
                    .where(Job.status == "queued")
                    .order_by(Job.created_at, Job.id)
                    .limit(100)
                )
            )
        for job_id, resource, meta in queued:
            if self.stopping or len(self.running) >= self.slots:
                return
            slot = self._free_slot("gpu" if str(resource).startswith("gpu") else "cpu", gpu_use)
            if slot is None:
                continue  # this resource is busy; a later job of another resource may start
            with session_scope() as s:
                won = cast(  # an UPDATE returns a CursorResult (Session.execute is typed as Result)
                    "CursorResult[Any]",
                    s.execute(
                        update(Job)
                        .where(Job.id == job_id, Job.status == "queued")
                        .values(**self._claimed_values(slot, meta))
                    ),
                ).rowcount
            if won:
                gpu_use[slot] += 1 if slot.startswith("gpu:") else 0
                self.start(job_id, slot)

    def start(self, job_id: str, slot: str) -> None:
        """Start the process of a claimed job."""
        path = api.log_path(job_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env["AIGC_DATA_DIR"] = str(self.settings.resolved_data_dir)
        env["AIGC_JOBS_SUPERVISOR_PID"] = str(os.getpid())
        if self.settings.database_url:
            env["AIGC_DATABASE_URL"] = self.settings.database_url
        dev = slot.removeprefix("gpu:")
        if slot.startswith("gpu:cuda:") and len(self.devices) > 1 and self.settings.device in ("auto", "cuda"):
            env["CUDA_VISIBLE_DEVICES"] = self._visible_id(dev)
        try:
            proc = self._spawn(job_id, path, env)
        except OSError as exc:
            api.finish(job_id, "failed", error=f"Could not start the job process: {exc}")
            return
        self.running[job_id] = Running(job_id, proc, slot, path)
        with session_scope() as s:
            s.execute(update(Job).where(Job.id == job_id).values(worker_pid=proc.pid))
        log.info("started job %s in process %d (%s)", job_id, proc.pid, slot)

    def _spawn(self, job_id: str, path: Path, env: dict[str, str]) -> subprocess.Popen[bytes] | ForkedProcess:
        if self.mp is not None:
            from aigc_core.jobs import child

            extra = {k: v for k, v in env.items() if os.environ.get(k) != v}
            process = self.mp.Process(target=child.forked_main, args=(job_id, str(path), extra), name=f"job-{job_id}")
            process.start()
            return ForkedProcess(process)
        with open(path, "ab") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "aigc_core.jobs.child", job_id],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,  # Ctrl-C in the terminal reaches the supervisor only
            )

    @staticmethod
    def _visible_id(dev: str) -> str:
        index = int(dev.removeprefix("cuda:"))
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        if visible:
            ids = [v.strip() for v in visible.split(",") if v.strip()]
            return ids[index]
        return str(index)

    # Watching --------------------------------------------------------------------------
    def heartbeat(self) -> None:
        """Refresh heartbeat_at of the jobs this supervisor runs."""
        if not self.running:
            return
        with session_scope() as s:
            s.execute(
                update(Job)
                .where(Job.id.in_(list(self.running)), Job.status == "running")
                .values(heartbeat_at=api.now())
            )

    def enforce_cancels(self) -> None:
        """Terminate jobs that did not stop within the grace period after a cancel."""
        if not self.running:
            return
        with session_scope() as s:
            wanted = set(
                s.scalars(select(Job.id).where(Job.id.in_(list(self.running)), Job.cancel_requested.is_(True)))
            )
        now = time.monotonic()
        for job_id in wanted:
            r = self.running[job_id]
            if r.cancel_seen is None:
                r.cancel_seen = now
            elif r.term_sent is None and now - r.cancel_seen >= self.grace_s:
                self._note(r, f"did not stop within {self.grace_s:g}s of the cancel: terminating")
                r.proc.terminate()
                r.term_sent = now
            elif r.term_sent is not None and not r.kill_sent and now - r.term_sent >= self.kill_after_s:
                self._note(r, "still running after SIGTERM: killing")
                r.proc.kill()
                r.kill_sent = True

    @staticmethod
    def _note(r: Running, line: str) -> None:
        try:
            with open(r.log_path, "a", encoding="utf-8") as fh:
                fh.write(f"{time.strftime('%H:%M:%S', time.gmtime())} [worker] {line}\n")
        except OSError:
            pass

    def reap(self) -> None:
        """Record how finished processes ended when they could not say so themselves."""
        for job_id, r in list(self.running.items()):
            code = r.proc.poll()
            if code is None:
                continue
            del self.running[job_id]
            job = api.get_unchecked(job_id)
            if job.status != "running":
                log.info("job %s ended: %s", job_id, job.status)
                continue
            if job.cancel_requested:
                how = "terminated after the grace period" if r.term_sent else "stopped"
                api.finish(job_id, "cancelled", message=f"Cancelled ({how})", error="")
                log.info("job %s cancelled (%s)", job_id, how)
                continue
            if code < 0:
                name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
                reason = f"The job's process was killed by {name}"
                if -code == signal.SIGKILL:
                    reason += " (often: out of memory, or killed by hand)"
            else:
                reason = f"The job's process exited unexpectedly with code {code}"
            reason += ". Resume it or submit it again."
            api.finish(job_id, "failed", error=api.failure_text(job_id, reason, r.log_path), message="Crashed")
            log.warning("job %s failed: %s", job_id, reason)

    def shutdown(self) -> None:
        """Ask running jobs to stop, wait up to the grace period, kill the rest and record them."""
        for r in self.running.values():
            self._note(r, "worker shutting down: asking the job to stop")
            if r.proc.poll() is None:
                r.proc.terminate()
        deadline = time.monotonic() + max(self.grace_s, 1.0)
        while self.running and time.monotonic() < deadline:
            self.reap()
            time.sleep(0.1)
        for r in self.running.values():
            if r.proc.poll() is None:
                r.proc.kill()
            r.proc.wait()
        for job_id in list(self.running):
            api.finish(
                job_id,
                "failed",
                error="The worker was shut down while the job was running. Resume it or submit it again.",
                message="Interrupted",
            )
        self.running.clear()
        log.info("worker %s stopped", os.getpid())


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description="Run AIGC Studio background jobs.")
    parser.add_argument("--poll", type=float, default=0.5, help="Seconds between queue checks.")
    parser.add_argument("--kill-after", type=float, default=5.0, help="Seconds between SIGTERM and SIGKILL.")
    parser.add_argument("--recover-every", type=float, default=30.0, help="Seconds between orphaned-job checks.")
    parser.add_argument(
        "--no-fork", action="store_true", help="Start each job as a fresh interpreter instead of a forkserver child."
    )
    args = parser.parse_args(argv)
    settings = get_settings()
    from aigc_core.users.roles import SYSTEM, set_process_actor

    set_process_actor(SYSTEM)  # the supervisor's own housekeeping; each job's process acts as its owner
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sup = Supervisor(
        settings,
        poll_s=args.poll,
        kill_after_s=args.kill_after,
        recover_every_s=args.recover_every,
        fork=not args.no_fork,
    )
    return sup.run()


if __name__ == "__main__":
    sys.exit(main())

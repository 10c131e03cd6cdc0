"""The job runner's public API: submit, look up, list, cancel and resume jobs; read their logs.

The ``jobs`` table of the store is the source of truth (and the queue): a job is a row that moves
queued -> running -> succeeded | failed | cancelled. The worker supervisor (``python -m aigc_core.jobs.worker``)
claims queued rows and runs each job in its own process.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel, ValidationError
from sqlalchemy import CursorResult, func, select, update

from aigc_core.errors import NotFoundError, UserInputError
from aigc_core.jobs.registry import get_kind
from aigc_core.storage import folder
from aigc_core.store.db import session_scope
from aigc_core.store.models import Job, as_utc
from aigc_core.users.audit import record
from aigc_core.users.roles import Actor, allowed, current, require, visible_filter

log = logging.getLogger(__name__)

STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
FINISHED = ("succeeded", "failed", "cancelled")
LOG_FILE = "log.txt"
HEARTBEAT_S = 2.0  # the supervisor refreshes heartbeat_at of its running jobs this often (at most)
STALE_AFTER_S = 60.0  # default of AIGC_JOB_HEARTBEAT_TIMEOUT_S: no heartbeat for this long means orphaned
ERROR_LOG_LINES = 20  # log lines appended to the error text of a crashed job


def now() -> datetime:
    """Timezone-aware now in UTC."""
    return datetime.now(UTC)


def hostname() -> str:
    """This worker's name, as stored in ``worker_host``: ``AIGC_WORKER_NAME``, else the machine's host name."""
    from aigc_core.settings import get_settings

    return get_settings().worker_name.strip()[:200] or socket.gethostname()


def heartbeat_timeout_s() -> float:
    """Seconds without a heartbeat after which a running job counts as abandoned (``AIGC_JOB_HEARTBEAT_TIMEOUT_S``)."""
    from aigc_core.settings import get_settings

    return float(get_settings().job_heartbeat_timeout_s)


@dataclass(frozen=True)
class JobInfo:
    """A snapshot of one job row."""

    id: str
    kind: str
    params: dict[str, Any]
    owner: str
    status: str
    resource: str
    progress: float
    message: str
    eta_s: float | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    worker_pid: int | None
    worker_host: str
    cancel_requested: bool
    result: dict[str, Any]
    error: str
    log_path: str
    resumed_from: str | None
    meta: dict[str, Any] = field(default_factory=dict)
    shared: bool = False

    @property
    def finished(self) -> bool:
        """True once the job succeeded, failed or was cancelled."""
        return self.status in FINISHED

    @property
    def duration_s(self) -> float | None:
        """Run time so far (or in total once finished); None before it starts."""
        if self.started_at is None:
            return None
        end = self.finished_at or now()
        return max((end - self.started_at).total_seconds(), 0.0)

    @classmethod
    def from_row(cls, row: Job) -> JobInfo:
        """Copy an ORM row into a detached snapshot."""
        return cls(
            id=row.id,
            kind=row.kind,
            params=dict(row.params or {}),
            owner=row.owner or "",
            status=row.status,
            resource=row.resource or "cpu",
            progress=float(row.progress or 0.0),
            message=row.message or "",
            eta_s=row.eta_s,
            created_at=as_utc(row.created_at) or now(),
            started_at=as_utc(row.started_at),
            finished_at=as_utc(row.finished_at),
            heartbeat_at=as_utc(row.heartbeat_at),
            worker_pid=row.worker_pid,
            worker_host=row.worker_host or "",
            cancel_requested=bool(row.cancel_requested),
            result=dict(row.result or {}),
            error=row.error or "",
            log_path=row.log_path or "",
            resumed_from=row.resumed_from,
            meta=dict(row.meta or {}),
            shared=bool(row.shared),
        )


# Paths ------------------------------------------------------------------------------------
def work_dir(job_id: str) -> Path:
    """The job's own folder (checkpoints, outputs, log): ``<data_dir>/jobs/<id>``."""
    return folder("jobs") / job_id


def log_path(job_id: str) -> Path:
    """The job's log file."""
    return work_dir(job_id) / LOG_FILE


def _tail_lines(path: Path, n: int) -> list[str]:
    if n <= 0 or not path.is_file():
        return []
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        block, data = 8192, b""
        while size > 0 and data.count(b"\n") <= n:
            step = min(block, size)
            size -= step
            fh.seek(size)
            data = fh.read(step) + data
            block *= 2
    return data.decode("utf-8", errors="replace").splitlines()[-n:]


def log_tail(job_id: str, n: int = 50, *, actor: Actor | None = None) -> list[str]:
    """The last ``n`` lines of a job's log the acting user may see (empty when it has not written any)."""
    info = get(job_id, actor=actor)
    return _tail_lines(Path(info.log_path) if info.log_path else log_path(job_id), n)


# Submit -----------------------------------------------------------------------------------
def _json_params(params: Any) -> dict[str, Any]:
    if isinstance(params, BaseModel):
        params = params.model_dump(mode="json")
    if not isinstance(params, Mapping):
        raise UserInputError(
            f"Job parameters must be a mapping of names to values, not {type(params).__name__}.",
            hint="Pass a dict such as {'steps': 10}.",
        )
    try:
        return json.loads(json.dumps(dict(params), allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise UserInputError(
            f"Job parameters must be plain JSON values (text, numbers, lists, dicts): {exc}.",
            hint="Store files under the data dir and pass their paths instead of objects.",
        ) from exc


def _validation_text(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ())) or "params"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


def validate_params(kind: str, params: Any) -> dict[str, Any]:
    """The params of a job of ``kind`` as stored (JSON, defaults filled in); UserInputError when invalid."""
    spec = get_kind(kind)
    data = _json_params(params)
    if spec.params is None:
        return data
    try:
        model = spec.params.model_validate(data)
    except ValidationError as exc:
        raise UserInputError(
            f"Invalid parameters for a {kind} job: {_validation_text(exc)}.",
            hint="Correct the values named above and submit again.",
        ) from exc
    return model.model_dump(mode="json")


def submit(kind: str, params: Any, *, actor: Actor | None = None, resumed_from: str | None = None) -> str:
    """Queue a job owned by the acting user and return its id at once; nothing is written when the kind or
    params are invalid or the user may not start work."""
    who = require(actor, "create", what=f"a {kind} job")
    if resumed_from is not None:
        get(resumed_from, actor=who)  # NotFoundError for an unknown or invisible id
    return _submit(kind, params, owner=who.name, resumed_from=resumed_from)


def _submit(kind: str, params: Any, *, owner: str, resumed_from: str | None = None) -> str:
    spec = get_kind(kind)
    stored = validate_params(kind, params)
    with session_scope() as s:
        row = Job(kind=kind, params=stored, owner=str(owner)[:200], status="queued", resource=spec.resource)
        row.meta = {"module": spec.fn.__module__}
        row.resumed_from = resumed_from
        s.add(row)
        s.flush()
        row.log_path = str(log_path(row.id))
        job_id = row.id
    log.info("queued job %s (%s) for %s", job_id, kind, owner)
    return job_id


# Read -------------------------------------------------------------------------------------
def _not_found(job_id: str) -> NotFoundError:
    return NotFoundError(f"Job {job_id!r} does not exist.", hint="Pick a job from the list on Models & jobs.")


def get_unchecked(job_id: str) -> JobInfo:
    """One job, for the worker and the job's own process (no user involved); NotFoundError when unknown."""
    with session_scope() as s:
        row = s.get(Job, job_id)
        if row is None:
            raise _not_found(job_id)
        return JobInfo.from_row(row)


def get(job_id: str, *, actor: Actor | None = None) -> JobInfo:
    """One job the acting user may see; another's private job reads as unknown (its existence is not told)."""
    who = current(actor)
    info = get_unchecked(job_id)
    if not allowed(who, "read", owner=info.owner, shared=info.shared):
        record(who, "denied:read", "job", job_id, detail={"owner": info.owner}, allowed=False)
        raise _not_found(job_id)
    return info


def _visible(q: Any, who: Actor) -> Any:
    return q.where(visible_filter(who, Job.owner, Job.shared))


def list_jobs(
    status: str | Sequence[str] | None = None,
    kind: str | Sequence[str] | None = None,
    owner: str | None = None,
    limit: int = 200,
    *,
    actor: Actor | None = None,
) -> list[JobInfo]:
    """The acting user's jobs and shared ones (admins: all), newest first, filtered by status, kind and owner."""
    who = current(actor)
    q = _visible(select(Job).order_by(Job.created_at.desc(), Job.id.desc()).limit(max(int(limit), 1)), who)
    if status:
        q = q.where(Job.status.in_([status] if isinstance(status, str) else list(status)))
    if kind:
        q = q.where(Job.kind.in_([kind] if isinstance(kind, str) else list(kind)))
    if owner:
        q = q.where(Job.owner == owner)
    with session_scope() as s:
        return [JobInfo.from_row(r) for r in s.scalars(q)]


def active_summary(*, actor: Actor | None = None) -> tuple[int, int, list[JobInfo]]:
    """(running count, queued count, running jobs) of what the acting user may see, for the sidebar."""
    who = current(actor)
    q = _visible(select(Job).where(Job.status.in_(("running", "queued"))).order_by(Job.created_at), who)
    with session_scope() as s:
        infos = [JobInfo.from_row(r) for r in s.scalars(q)]
    running = [j for j in infos if j.status == "running"]
    return len(running), len(infos) - len(running), running


def kind_names(*, actor: Actor | None = None) -> list[str]:
    """Kinds of the jobs the acting user may see (for filters), sorted."""
    who = current(actor)
    with session_scope() as s:
        return sorted(s.scalars(_visible(select(Job.kind), who).group_by(Job.kind)))


def count_by_status(*, actor: Actor | None = None) -> dict[str, int]:
    """How many of the jobs the acting user may see are in each status."""
    who = current(actor)
    q = _visible(select(Job.status, func.count()), who).group_by(Job.status)
    with session_scope() as s:
        return {k: int(v) for k, v in s.execute(q)}


def set_shared(job_id: str, shared: bool = True, *, actor: Actor | None = None) -> JobInfo:
    """Share a job (its status, log and result) with the team, or make it private again (owner or admin)."""
    info = get(job_id, actor=actor)
    who = require(actor, "share", owner=info.owner, what=f"job {job_id}", kind="job", item_id=job_id)
    with session_scope() as s:
        s.execute(update(Job).where(Job.id == job_id).values(shared=shared))
    record(who, "job.share" if shared else "job.unshare", "job", job_id)
    return get(job_id, actor=who)


# Cancel / resume --------------------------------------------------------------------------
def cancel(job_id: str, *, actor: Actor | None = None) -> JobInfo:
    """Cancel a queued job at once, or ask a running one to stop (terminated after the grace period); only its
    owner or an admin may."""
    info = get(job_id, actor=actor)
    who = require(actor, "change", owner=info.owner, what=f"job {job_id}", kind="job", item_id=job_id)
    if info.finished:
        raise UserInputError(
            f"Job {job_id} has already finished ({info.status}); there is nothing to cancel.",
            hint="Only queued or running jobs can be cancelled.",
        )
    with session_scope() as s:
        done = cast(  # an UPDATE returns a CursorResult (Session.execute is typed as Result)
            "CursorResult[Any]",
            s.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == "queued")
                .values(
                    status="cancelled", cancel_requested=True, finished_at=now(), message="Cancelled before it started"
                )
            ),
        ).rowcount
        if not done:
            s.execute(update(Job).where(Job.id == job_id, Job.status == "running").values(cancel_requested=True))
    log.info("cancel requested for job %s by %s", job_id, who.name)
    record(who, "job.cancel", "job", job_id, detail={"owner": info.owner, "kind": info.kind})
    return get(job_id, actor=who)


def resume(job_id: str, *, actor: Actor | None = None) -> str:
    """Start a new job that continues a failed or cancelled resumable one (owner or admin); the new job keeps
    the owner. Returns the new job's id."""
    info = get(job_id, actor=actor)
    who = require(actor, "change", owner=info.owner, what=f"job {job_id}", kind="job", item_id=job_id)
    spec = get_kind(info.kind)
    if not spec.resumable:
        raise UserInputError(
            f"Jobs of kind {info.kind} cannot be resumed.", hint="Submit a new job with the same settings instead."
        )
    if info.status not in ("failed", "cancelled"):
        raise UserInputError(
            f"Job {job_id} is {info.status}; only failed or cancelled jobs can be resumed.",
            hint="Wait for it to finish, or cancel it first.",
        )
    new_id = _submit(info.kind, info.params, owner=info.owner, resumed_from=job_id)
    record(who, "job.resume", "job", job_id, detail={"new_job": new_id})
    return new_id


# Finishing and recovery (used by the worker) ----------------------------------------------
def failure_text(job_id: str, reason: str, path: Path | str | None = None) -> str:
    """``reason`` followed by the last lines of the job's log."""
    tail = _tail_lines(Path(path) if path else log_path(job_id), ERROR_LOG_LINES)
    return reason + ("\n\nLast log lines:\n" + "\n".join(tail) if tail else "")


def finish(
    job_id: str,
    status: str,
    *,
    result: dict[str, Any] | None = None,
    error: str = "",
    message: str | None = None,
    only_from: Sequence[str] = ("running",),
) -> bool:
    """Move a job to a final status (only from ``only_from``); False when it already left those statuses."""
    if status not in FINISHED:
        raise ValueError(f"not a final status: {status}")
    values: dict[str, Any] = {"status": status, "finished_at": now(), "eta_s": None, "error": error}
    if result is not None:
        values["result"] = result
    if message is not None:
        values["message"] = message[:2000]
    if status == "succeeded":
        values["progress"] = 1.0
    return _finish_where(job_id, values, Job.status.in_(list(only_from)))


def _finish_where(job_id: str, values: dict[str, Any], *conditions: Any) -> bool:
    with session_scope() as s:
        changed = cast(
            "CursorResult[Any]", s.execute(update(Job).where(Job.id == job_id, *conditions).values(**values))
        )
        return bool(changed.rowcount)


def pid_alive(pid: int | None) -> bool:
    """True when a process with this id exists on this machine and is not a zombie."""
    if not pid:
        return False
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:  # exists, owned by someone else
        return True


def recover_stale(*, stale_after_s: float | None = None) -> list[str]:
    """Mark ``running`` jobs whose worker is gone as failed (with the log tail); returns their ids.

    A job is orphaned when its heartbeat is older than ``stale_after_s`` (default: the heartbeat timeout
    setting; this is how a worker on one host notices that another host died), or when it ran under this
    worker's name and neither its job process nor its supervisor process is alive.
    """
    if stale_after_s is None:
        stale_after_s = heartbeat_timeout_s()
    host = hostname()
    limit = now() - timedelta(seconds=stale_after_s)
    recovered: list[str] = []
    with session_scope() as s:
        rows = [JobInfo.from_row(r) for r in s.scalars(select(Job).where(Job.status == "running"))]
    for job in rows:
        beat = job.heartbeat_at or job.started_at or job.created_at
        supervisor = job.meta.get("supervisor_pid")
        local_dead = job.worker_host == host and not pid_alive(job.worker_pid) and not pid_alive(supervisor)
        if beat < limit:
            reason = f"The worker stopped sending heartbeats at {beat:%Y-%m-%d %H:%M:%S} UTC; the job was abandoned."
        elif local_dead:
            reason = "The worker running this job is gone (it was stopped or crashed)."
        else:
            continue
        reason += f" It ran on worker {job.worker_host or '?'}. Resume it or submit it again."
        values = {
            "status": "failed",
            "finished_at": now(),
            "eta_s": None,
            "error": failure_text(job.id, reason, job.log_path),
            "message": "Worker lost",
        }
        # Only while it is still running and (when judged by its heartbeat) no heartbeat came in meanwhile:
        # another worker may recover the same job at the same moment, or its host may have come back.
        still = [Job.status == "running"]
        if beat < limit and job.heartbeat_at is not None:
            still.append(Job.heartbeat_at < limit)
        if _finish_where(job.id, values, *still):
            recovered.append(job.id)
            log.warning("job %s marked failed: %s", job.id, reason)
    return recovered

"""What the Fine-tune page reads and does about runs: dataset versions to pick, fine-tuning jobs with their live
curves and logs, cancel and resume. Reads the store directly; actions go through ``aigc_core.jobs``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from aigc_core.errors import NotFoundError
from aigc_core.finetune.dpo import PREFERENCE_KIND
from aigc_core.finetune.jobs import CAUSAL_LM_KIND, CLASSIFIER_KIND, job_work_dir
from aigc_core.finetune.training import read_metrics
from aigc_core.store import models as m
from aigc_core.store.db import session_scope
from aigc_core.store.models import as_utc
from aigc_core.users.roles import Actor, current, visible_filter

KINDS = (CLASSIFIER_KIND, CAUSAL_LM_KIND, PREFERENCE_KIND)  # DPO runs too: the page sends people to Runs for them
ACTIVE = {"queued", "running", "cancelling"}


@dataclass
class DatasetVersionOption:
    """A dataset version as offered in the form."""

    id: str
    label: str
    columns: list[str]
    roles: dict[str, Any]
    row_counts: dict[str, Any]
    kind: str


def dataset_version_options(*, actor: Actor | None = None) -> list[DatasetVersionOption]:
    """The versions of the datasets the acting user may see (theirs and shared ones; admins: all), newest first,
    labelled "name · vN (kind, rows)"."""
    who = current(actor)
    with session_scope() as s:
        rows = s.execute(
            select(m.DatasetVersion, m.Dataset.name)
            .join(m.Dataset, m.Dataset.id == m.DatasetVersion.dataset_id)
            .where(visible_filter(who, m.Dataset.owner, m.Dataset.shared))
            .order_by(m.DatasetVersion.created_at.desc())
        ).all()
        out = []
        for v, name in rows:
            schema = v.schema or {}
            cols = schema.get("columns") if isinstance(schema, dict) else None
            if isinstance(cols, dict):
                cols = list(cols)
            elif isinstance(cols, list):
                cols = [c["name"] if isinstance(c, dict) else str(c) for c in cols]
            else:
                cols = [k for k in schema if k != "columns"] if isinstance(schema, dict) else []
            counts = v.row_counts or {}
            total = counts.get("total") or sum(int(x) for x in counts.values() if isinstance(x, int | float))
            out.append(
                DatasetVersionOption(
                    id=v.id,
                    label=f"{name} · v{v.version} ({v.kind}, {total} rows)",
                    columns=[str(c) for c in cols],
                    roles=dict(v.roles or {}),
                    row_counts=dict(counts),
                    kind=v.kind,
                )
            )
        return out


@dataclass
class RunInfo:
    """A fine-tuning job as the page shows it."""

    id: str
    kind: str
    status: str
    progress: float
    message: str
    eta_s: float | None
    created_at: datetime
    finished_at: datetime | None
    params: dict[str, Any]
    result: dict[str, Any]
    error: str
    resumed_from: str | None
    log_path: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The run's display name."""
        task = "classifier" if self.kind == CLASSIFIER_KIND else "brand voice"
        return f"{self.params.get('name') or task} · {self.id[:6]}"

    @property
    def active(self) -> bool:
        """Still queued or running."""
        return self.status in ACTIVE


def _run(j: m.Job) -> RunInfo:
    return RunInfo(
        id=j.id,
        kind=j.kind,
        status=j.status,
        progress=float(j.progress or 0.0),
        message=j.message or "",
        eta_s=j.eta_s,
        created_at=as_utc(j.created_at) or datetime.now(UTC),
        finished_at=as_utc(j.finished_at),
        params=dict(j.params or {}),
        result=dict(j.result or {}),
        error=j.error or "",
        resumed_from=j.resumed_from,
        log_path=j.log_path or "",
        meta=dict(j.meta or {}),
    )


def list_runs(limit: int = 100, *, actor: Actor | None = None) -> list[RunInfo]:
    """The acting user's fine-tuning jobs and shared ones (admins: all), newest first."""
    who = current(actor)
    with session_scope() as s:
        q = select(m.Job).where(m.Job.kind.in_(KINDS), visible_filter(who, m.Job.owner, m.Job.shared))
        return [_run(j) for j in s.scalars(q.order_by(m.Job.created_at.desc()).limit(limit))]


def get_run(job_id: str, *, actor: Actor | None = None) -> RunInfo:
    """One fine-tuning job the acting user may see (another's private one reads as unknown)."""
    from aigc_core import jobs

    jobs.get(job_id, actor=actor)  # raises NotFoundError for a job the acting user may not see
    with session_scope() as s:
        j = s.get(m.Job, job_id)
        if j is None:
            raise NotFoundError(f"Job {job_id!r} does not exist.", hint="Pick a run from the list.")
        return _run(j)


def run_curves(job_id: str, *, actor: Actor | None = None) -> list[dict[str, Any]]:
    """The live metrics of a run the acting user may see (train loss, validation loss and metrics per step)."""
    from aigc_core import jobs

    jobs.get(job_id, actor=actor)
    return read_metrics(job_work_dir(job_id))


def run_log_tail(job_id: str, n: int = 40) -> list[str]:
    """The last lines of a run's log."""
    from aigc_core import jobs

    return list(jobs.log_tail(job_id, n))


def cancel_run(job_id: str) -> None:
    """Ask a run to stop; it saves a checkpoint first."""
    from aigc_core import jobs

    jobs.cancel(job_id)


def resume_run(job_id: str) -> str:
    """A new job that resumes a cancelled or failed run from its last checkpoint; returns its id."""
    from aigc_core import jobs

    return str(jobs.resume(job_id))

"""Background jobs: long work (training, batch scoring, batch generation) outside the Streamlit process.

A page calls :func:`submit` and gets an id at once; the worker supervisor (``python -m aigc_core.jobs.worker``,
started by ``python -m aigc_core.launcher``) runs the job in its own process. Feature modules register kinds
with :func:`job_kind` and list their module in ``aigc_core.jobs.registry.KIND_MODULES``.
"""

from aigc_core.jobs.api import (
    FINISHED,
    STATUSES,
    JobInfo,
    active_summary,
    cancel,
    count_by_status,
    get,
    kind_names,
    list_jobs,
    log_path,
    log_tail,
    recover_stale,
    resume,
    set_shared,
    submit,
    validate_params,
    work_dir,
)
from aigc_core.jobs.context import JobContext, LocalContext, StoreJobContext
from aigc_core.jobs.registry import KIND_MODULES, JobKind, get_kind, job_kind, kinds

__all__ = [
    "FINISHED",
    "KIND_MODULES",
    "STATUSES",
    "JobContext",
    "JobInfo",
    "JobKind",
    "LocalContext",
    "StoreJobContext",
    "active_summary",
    "cancel",
    "count_by_status",
    "get",
    "get_kind",
    "job_kind",
    "kind_names",
    "kinds",
    "list_jobs",
    "log_path",
    "log_tail",
    "recover_stale",
    "resume",
    "set_shared",
    "submit",
    "validate_params",
    "work_dir",
]

# The demo kinds are light and always available (the worker check on Models & jobs uses them).
import aigc_core.jobs.demo  # noqa: F401

"""One job in its own process: ``python -m aigc_core.jobs.child <job id>`` (started by the supervisor).

Its stdout and stderr go to the job's log file. It loads the kind, validates the stored params, runs the
function with a :class:`StoreJobContext` and writes the final status. SIGTERM asks the job to stop (a second one
ends the process); if the supervisor dies, the job is marked failed and the process exits.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from types import FrameType
from typing import Any

from aigc_core.errors import AigcError
from aigc_core.jobs import api
from aigc_core.jobs.context import StoreJobContext
from aigc_core.jobs.registry import get_kind
from aigc_core.store.db import dispose_engines
from aigc_core.store.models import Job

log = logging.getLogger("aigc_core.jobs.child")


def _json_safe(result: Any) -> dict[str, Any]:
    if not isinstance(result, dict):
        result = {"value": result}
    return json.loads(json.dumps(result, default=str))


SUPERVISOR_ENV = "AIGC_JOBS_SUPERVISOR_PID"


def _watch_supervisor(job_id: str, ctx: StoreJobContext) -> None:
    """End the job when the supervisor that started it is gone (no orphan keeps a GPU busy)."""
    import psutil

    pid = int(os.environ.get(SUPERVISOR_ENV) or os.getppid())
    try:
        born = psutil.Process(pid).create_time()
    except psutil.NoSuchProcess:
        born = None
    while True:
        try:
            proc = psutil.Process(pid)
            alive = born is not None and proc.create_time() == born and proc.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            alive = False
        if not alive:
            ctx.log("the worker supervisor is gone: stopping this job")
            api.finish(job_id, "failed", error=api.failure_text(job_id, "The worker supervisor stopped unexpectedly."))
            os._exit(70)
        time.sleep(1.0)


def _act_as_owner(owner: str) -> None:
    """The job's process acts as the user who submitted it (their role now; editor if they are gone)."""
    from aigc_core.users.accounts import session_user
    from aigc_core.users.roles import LOCAL, SYSTEM, Actor, set_process_actor

    if not owner or owner == SYSTEM.name:
        set_process_actor(SYSTEM)
        return
    if owner == LOCAL.name:  # submitted with sign-in off: the one-person machine's admin
        set_process_actor(LOCAL)
        return
    set_process_actor(session_user(owner) or Actor(owner, "editor"))


def run(job_id: str) -> int:
    """Run job ``job_id`` (already claimed as running); the process exit code."""
    dispose_engines()  # never share pooled connections with a parent
    job = api.get_unchecked(job_id)
    _act_as_owner(job.owner)
    module = job.meta.get("module")
    if module:
        with contextlib.suppress(Exception):  # else the full module list is tried; its error shows up there
            importlib.import_module(module)
    work = api.work_dir(job_id)
    ctx = StoreJobContext(
        job_id,
        work,
        Path(job.log_path or api.log_path(job_id)),
        resumed_from=job.resumed_from,
        resume_from=api.work_dir(job.resumed_from) if job.resumed_from else None,
    )
    signals = {"term": 0}

    def on_term(_sig: int, _frame: FrameType | None) -> None:
        signals["term"] += 1
        if signals["term"] > 1:
            os._exit(143)
        ctx.request_stop()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the supervisor, which decides
    threading.Thread(target=_watch_supervisor, args=(job_id, ctx), daemon=True).start()

    ctx.log(f"job {job_id} ({job.kind}) started in process {os.getpid()}")
    try:
        spec = get_kind(job.kind)
        params = spec.params.model_validate(job.params) if spec.params is not None else dict(job.params)
        result = _json_safe(spec.fn(ctx, params))
    except BaseException as exc:  # the job's own failure: record it with the traceback in the log
        for line in traceback.format_exc().rstrip().splitlines():
            ctx.log(line)
        reason = str(exc) if isinstance(exc, AigcError) else f"{type(exc).__name__}: {exc}"
        stopped = signals["term"] > 0 or ctx.should_stop()
        status = "cancelled" if stopped and _cancel_requested(job_id) else "failed"
        api.finish(job_id, status, error=api.failure_text(job_id, f"The job failed: {reason}"), message="Failed")
        return 1
    with contextlib.suppress(Exception):  # progress is cosmetic at this point
        ctx.flush()
    if _cancel_requested(job_id):
        ctx.log("stopped on request; what was saved is kept")
        api.finish(job_id, "cancelled", result=result, message="Cancelled: stopped cleanly")
    elif signals["term"]:
        ctx.log("stopped because the worker was shut down")
        api.finish(
            job_id,
            "failed",
            result=result,
            error="The worker was shut down while the job was running. Resume it or submit it again.",
            message="Interrupted",
        )
    else:
        ctx.log("finished")
        api.finish(job_id, "succeeded", result=result, message=_done_message(job_id))
    return 0


def _cancel_requested(job_id: str) -> bool:
    from aigc_core.store.db import session_scope

    with session_scope() as s:
        row = s.get(Job, job_id)
        return bool(row and row.cancel_requested)


def _done_message(job_id: str) -> str:
    msg = api.get_unchecked(job_id).message
    return msg or "Done"


def forked_main(job_id: str, log_file: str, env: dict[str, str]) -> None:
    """Entry point in a forkserver child: own session, output to the job log, then :func:`run`."""
    os.setsid()  # a Ctrl-C in the terminal reaches the supervisor only
    os.environ.update(env)
    fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = open(1, "w", buffering=1, encoding="utf-8", closefd=False)  # noqa: SIM115 - process-wide
    sys.stderr = open(2, "w", buffering=1, encoding="utf-8", closefd=False)  # noqa: SIM115 - process-wide
    from aigc_core.settings import reset_settings

    reset_settings()
    code = main([job_id])
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(code)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m aigc_core.jobs.child <job id>", file=sys.stderr)
        return 2
    from aigc_core.settings import get_settings

    logging.basicConfig(level=get_settings().log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # the schema check is not the job's business
    return run(args[0])


if __name__ == "__main__":
    sys.exit(main())

"""The job API without a worker: bad inputs change nothing; queued cancel; registry; HF callback; launcher."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from pydantic import BaseModel

from aigc_core import jobs
from aigc_core.errors import NotFoundError, UserInputError
from aigc_core.jobs import api
from aigc_core.jobs.registry import job_kind
from aigc_core.users.roles import Actor

ROOT = Path(__file__).resolve().parents[2]


class _NoParams(BaseModel):
    n: int = 1


@job_kind("test.not_resumable", params=_NoParams, resource="cpu", resumable=False)
def _not_resumable(ctx, params) -> dict:
    """A kind that cannot be resumed."""
    return {"n": params.n}


def _snapshot() -> list[jobs.JobInfo]:
    return jobs.list_jobs(limit=1000)


@pytest.mark.parametrize(
    ("kind", "params", "fragment"),
    [
        ("nope.kind", {}, "Unknown job kind"),
        ("demo.count", {"steps": object()}, "plain JSON values"),
        ("demo.count", {"steps": math.nan}, "plain JSON values"),
        ("demo.count", ["steps", 3], "must be a mapping"),
        ("demo.count", {"steps": 0}, "steps"),
        ("demo.count", {"steps": "many"}, "steps"),
        ("demo.count", {"seconds_per_step": -1}, "seconds_per_step"),
    ],
)
def test_bad_submit_raises_and_writes_nothing(jobs_env, kind, params, fragment) -> None:
    before = _snapshot()
    with pytest.raises(UserInputError) as err:
        jobs.submit(kind, params)
    assert fragment in str(err.value) and err.value.hint
    assert _snapshot() == before == []
    assert not any((jobs_env / "jobs").iterdir()) if (jobs_env / "jobs").exists() else True


def test_unknown_kind_lists_known_ones(jobs_env) -> None:
    with pytest.raises(UserInputError) as err:
        jobs.submit("demo.cnt", {})
    assert "demo.count" in err.value.hint


def test_submit_stores_validated_params_with_defaults(jobs_env) -> None:
    job_id = jobs.submit("demo.count", {"steps": 3}, actor=Actor("bob", "editor"))
    info = jobs.get(job_id)
    assert info.status == "queued" and info.owner == "bob" and info.resource == "cpu"
    assert info.params == {"steps": 3, "seconds_per_step": 0.5, "fail_at": None, "ignore_cancel": False}
    assert info.log_path.endswith(f"{job_id}/log.txt") and info.meta["module"] == "aigc_core.jobs.demo"
    assert jobs.get_kind("demo.count_gpu").resource == "gpu"
    assert jobs.list_jobs(status="queued", kind="demo.count", owner="bob")[0].id == job_id
    assert jobs.list_jobs(status=["running"]) == []


def test_cancel_queued_then_cancel_again_is_refused(jobs_env) -> None:
    job_id = jobs.submit("demo.count", {"steps": 3})
    info = jobs.cancel(job_id)
    assert info.status == "cancelled" and info.finished_at is not None
    before = _snapshot()
    with pytest.raises(UserInputError, match="already finished"):
        jobs.cancel(job_id)
    assert _snapshot() == before


def test_resume_refusals_change_nothing(jobs_env) -> None:
    plain = jobs.submit("test.not_resumable", {"n": 2})
    api.finish(plain, "failed", error="x", only_from=("queued",))
    queued = jobs.submit("demo.count", {"steps": 3})
    done = jobs.submit("demo.count", {"steps": 3})
    api.finish(done, "succeeded", result={"counted": 3}, only_from=("queued",))
    before = _snapshot()
    with pytest.raises(UserInputError, match="cannot be resumed"):
        jobs.resume(plain)
    with pytest.raises(UserInputError, match="only failed or cancelled"):
        jobs.resume(queued)
    with pytest.raises(UserInputError, match="only failed or cancelled"):
        jobs.resume(done)
    with pytest.raises(NotFoundError):
        jobs.resume("missing")
    assert _snapshot() == before


def test_resume_links_new_job(jobs_env) -> None:
    old = jobs.submit("demo.count", {"steps": 3}, actor=Actor("carol", "editor"))
    jobs.cancel(old)
    new = jobs.resume(old)
    info = jobs.get(new)
    assert info.resumed_from == old and info.owner == "carol" and info.params == jobs.get(old).params


def test_log_tail_reads_the_end(jobs_env) -> None:
    job_id = jobs.submit("demo.count", {"steps": 3})
    path = jobs.log_path(job_id)
    path.parent.mkdir(parents=True)
    path.write_text("".join(f"line {i}\n" for i in range(20000)))
    assert jobs.log_tail(job_id, 3) == ["line 19997", "line 19998", "line 19999"]
    assert jobs.log_tail(jobs.submit("demo.count", {}), 5) == []


def test_duplicate_kind_name_is_refused() -> None:
    with pytest.raises(ValueError, match="already registered"):
        job_kind("demo.count")(lambda ctx, p: {})


def test_recover_stale_leaves_live_jobs_alone(jobs_env) -> None:
    job_id = jobs.submit("demo.count", {"steps": 3})
    from aigc_core.store.db import session_scope
    from aigc_core.store.models import Job

    with session_scope() as s:
        row = s.get(Job, job_id)
        row.status, row.worker_host, row.worker_pid = "running", api.hostname(), os.getpid()
        row.heartbeat_at = api.now()
    assert jobs.recover_stale() == []
    assert jobs.get(job_id).status == "running"


# HF TrainerCallback adapter --------------------------------------------------------------------
class _Ctx:
    def __init__(self) -> None:
        self.reports: list[tuple[float, str]] = []
        self.lines: list[str] = []
        self.stop = False

    def report(self, progress: float, message: str = "") -> None:
        self.reports.append((progress, message))

    def log(self, line: str) -> None:
        self.lines.append(line)

    def should_stop(self) -> bool:
        return self.stop


def test_hf_callback_progress_logs_and_stop() -> None:
    from transformers import TrainerCallback, TrainerControl

    from aigc_core.jobs.hf_callback import job_callback

    ctx = _Ctx()
    cb = job_callback(ctx, progress_start=0.1, progress_end=0.9)
    assert isinstance(cb, TrainerCallback)
    state = SimpleNamespace(global_step=0, max_steps=10)
    control = TrainerControl()
    cb.on_train_begin(None, state, control)
    state.global_step = 5
    cb.on_log(None, state, control, logs={"loss": 0.5, "learning_rate": 1e-4})
    cb.on_step_end(None, state, control)
    assert ctx.reports[-1] == (pytest.approx(0.5), "step 5 of 10, loss 0.5")
    assert any("loss=0.5" in line for line in ctx.lines)
    assert not control.should_training_stop
    ctx.stop = True
    state.global_step = 6
    cb.on_step_end(None, state, control)
    assert control.should_training_stop and control.should_save
    cb.on_train_end(None, state, control)
    assert ctx.reports[-1][1] == "training stopped"
    cb.on_evaluate(None, state, control, metrics={"eval_loss": 0.4})
    assert json.loads(ctx.lines[-1].removeprefix("eval "))["eval_loss"] == 0.4


# Launcher ----------------------------------------------------------------------------------------
def _launcher(tmp_path: Path, worker: str, app: str) -> subprocess.Popen[bytes]:
    code = (
        "import sys, aigc_core.launcher as L\n"
        f"L.commands = lambda args: {{'worker': [sys.executable, '-c', {worker!r}], "
        f"'app': [sys.executable, '-c', {app!r}]}}\n"
        "sys.exit(L.main([]))\n"
    )
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=dict(os.environ))


def test_launcher_stops_the_other_when_one_dies(jobs_env, tmp_path) -> None:
    marker = tmp_path / "app.pid"
    app = f"import os, time; open({str(marker)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    proc = _launcher(tmp_path, "import time; time.sleep(1.5); raise SystemExit(3)", app)
    assert proc.wait(timeout=30) == 3
    assert not api.pid_alive(int(marker.read_text()))


def test_launcher_forwards_sigterm(jobs_env, tmp_path) -> None:
    marker, started = tmp_path / "stopped", tmp_path / "started"
    app = (
        "import signal, sys, time\n"
        f"open({str(started)!r}, 'w').close()\n"
        f"signal.signal(signal.SIGTERM, lambda *a: (open({str(marker)!r}, 'w').write('ok'), sys.exit(0)))\n"
        "time.sleep(60)"
    )
    proc = _launcher(tmp_path, "import time; time.sleep(60)", app)
    deadline = time.monotonic() + 20
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert marker.read_text() == "ok"

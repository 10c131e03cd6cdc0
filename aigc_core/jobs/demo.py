"""The ``demo.count`` job kinds: count in steps, to check the worker is alive and to drive the tests."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from aigc_core.jobs.context import JobContext
from aigc_core.jobs.registry import job_kind
from aigc_core.storage import atomic_write_text

DEMO_KIND = "demo.count"
DEMO_GPU_KIND = "demo.count_gpu"
STATE_FILE = "count.json"


class DemoParams(BaseModel):
    """Parameters of a demo count job."""

    steps: int = Field(default=10, ge=1, le=100_000, description="How many steps to count.")
    seconds_per_step: float = Field(default=0.5, ge=0.0, le=60.0, description="Sleep per step.")
    fail_at: int | None = Field(default=None, ge=1, description="Raise an error at this step (tests).")
    ignore_cancel: bool = Field(default=False, description="Keep counting after a cancel (tests the grace period).")


def _count(ctx: JobContext, params: DemoParams) -> dict[str, Any]:
    start = 0
    resume_from = getattr(ctx, "resume_from", None)  # the worker's context has it
    if resume_from is not None:
        saved = Path(resume_from) / STATE_FILE
        if saved.is_file():
            start = int(json.loads(saved.read_text())["done"])
            ctx.log(f"resuming from step {start}")
    state = ctx.work_dir / STATE_FILE
    done = start
    ctx.report(done / params.steps, f"step {done} of {params.steps}")
    for step in range(start + 1, params.steps + 1):
        if ctx.should_stop() and not params.ignore_cancel:
            ctx.log(f"stopping at step {done} on request")
            return {"counted": done, "steps": params.steps, "stopped": True}
        time.sleep(params.seconds_per_step)
        if params.fail_at is not None and step == params.fail_at:
            raise RuntimeError(f"demo failure at step {step}")
        done = step
        atomic_write_text(state, json.dumps({"done": done}))  # a kill mid-write must not leave half a file
        ctx.log(f"step {done}")
        ctx.report(done / params.steps, f"step {done} of {params.steps}")
    return {"counted": done, "steps": params.steps, "stopped": False}


@job_kind(DEMO_KIND, params=DemoParams, resource="cpu", resumable=True)
def demo_count(ctx: JobContext, params: DemoParams) -> dict[str, Any]:
    """Count to ``steps``, sleeping between steps (CPU slot)."""
    return _count(ctx, params)


@job_kind(DEMO_GPU_KIND, params=DemoParams, resource="gpu", resumable=True)
def demo_count_gpu(ctx: JobContext, params: DemoParams) -> dict[str, Any]:
    """Count like ``demo.count`` but in a GPU slot (one at a time per device)."""
    return _count(ctx, params)

"""A Transformers ``TrainerCallback`` that reports a Trainer's progress to a job and stops it on cancel.

``transformers`` is imported only when :func:`job_callback` is called.
"""

from __future__ import annotations

import json
from typing import Any

from aigc_core.jobs.context import JobContext


def _fmt(logs: dict[str, Any]) -> str:
    parts = []
    for k, v in logs.items():
        parts.append(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}")
    return " ".join(parts)


def job_callback(
    ctx: JobContext, *, progress_start: float = 0.0, progress_end: float = 1.0, save_on_stop: bool = True
) -> Any:
    """A ``transformers.TrainerCallback`` mapping ``global_step / max_steps`` onto [progress_start, progress_end].

    Logs from ``on_log`` go to the job log (as JSON-ish ``key=value`` lines). When the job is asked to stop,
    the Trainer saves a checkpoint (``save_on_stop``) and ends training cleanly.
    """
    from transformers import TrainerCallback

    span = max(progress_end - progress_start, 0.0)

    class JobProgressCallback(TrainerCallback):
        """Reports progress, forwards logs and stops training on cancel."""

        def __init__(self) -> None:
            self.stopped = False
            self.last_logs: dict[str, Any] = {}

        def _progress(self, state: Any) -> float:
            max_steps = int(getattr(state, "max_steps", 0) or 0)
            step = int(getattr(state, "global_step", 0) or 0)
            return progress_start + span * (min(step / max_steps, 1.0) if max_steps > 0 else 0.0)

        def _check_stop(self, state: Any, control: Any) -> Any:
            if not self.stopped and ctx.should_stop():
                self.stopped = True
                ctx.log(f"stop requested: ending training at step {getattr(state, 'global_step', 0)}")
                if save_on_stop:
                    control.should_save = True
                control.should_training_stop = True
            return control

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
            ctx.log(f"training for {getattr(state, 'max_steps', 0)} steps")
            ctx.report(self._progress(state), "training started")
            return self._check_stop(state, control)

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
            step, total = getattr(state, "global_step", 0), getattr(state, "max_steps", 0)
            loss = self.last_logs.get("loss")
            tail = f", loss {loss:.4g}" if isinstance(loss, float) else ""
            ctx.report(self._progress(state), f"step {step} of {total}{tail}")
            return self._check_stop(state, control)

        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> Any:
            if logs:
                self.last_logs = dict(logs)
                ctx.log(f"step {getattr(state, 'global_step', 0)}: {_fmt(logs)}")
            return control

        def on_evaluate(
            self, args: Any, state: Any, control: Any, metrics: dict[str, Any] | None = None, **kwargs: Any
        ) -> Any:
            if metrics:
                ctx.log("eval " + json.dumps({k: v for k, v in metrics.items()}, default=str))
            return control

        def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
            ctx.report(self._progress(state), "training stopped" if self.stopped else "training finished")
            return control

    return JobProgressCallback()

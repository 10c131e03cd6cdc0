"""What a running job sees: progress reporting, its log, cancel requests and its work folder.

:class:`JobContext` is the one protocol every job function is typed with; :class:`StoreJobContext` is what the
worker hands a job (progress and cancel live in the store), :class:`LocalContext` runs a job function inline
(bench, tests, CLI).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

from sqlalchemy import select, update

from aigc_core.store.db import session_scope
from aigc_core.store.models import Job

REPORT_INTERVAL_S = 0.5  # at most two progress writes a second
STOP_CHECK_INTERVAL_S = 0.5


@runtime_checkable
class JobContext(Protocol):
    """What a job function may use: ``report``, ``log``, ``should_stop`` and its ``work_dir``.

    Some runners add more, which jobs read with ``getattr(ctx, name, None)``: ``job_id``, ``resumed_from`` (the
    old job's id), ``resume_from`` (its work folder), ``checkpoint_dir`` and ``device`` (a training rank's)."""

    work_dir: Path

    def report(self, progress: float, message: str = "") -> None:
        """Progress in [0, 1] and a short status line."""

    def log(self, line: str) -> None:
        """One line for the job's log."""

    def should_stop(self) -> bool:
        """True once the user asked to cancel."""


class StoreJobContext:
    """Handed to a job function by the worker: ``report``, ``log``, ``should_stop`` and the job's folders."""

    def __init__(
        self,
        job_id: str,
        work_dir: Path,
        log_path: Path,
        *,
        resumed_from: str | None = None,
        resume_from: Path | None = None,
    ) -> None:
        self.job_id = job_id
        self.work_dir = Path(work_dir)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.checkpoint_dir = self.work_dir / "checkpoints"
        self.log_path = Path(log_path)
        self.resumed_from = resumed_from  # the old job's id when this job resumes one
        self.resume_from = resume_from  # the old job's work folder (its checkpoints) when resuming
        self._t0 = time.monotonic()
        self._p0: float | None = None
        self._last_report = 0.0
        self._pending: tuple[float, str] | None = None
        self._stop = False
        self._last_stop_check = 0.0

    # Progress ----------------------------------------------------------------------------
    def report(self, progress: float, message: str = "", *, force: bool = False) -> None:
        """Progress in [0, 1] and a short status line; written to the store at most every half second."""
        p = min(max(float(progress), 0.0), 1.0)
        now = time.monotonic()
        if self._p0 is None:
            self._p0, self._t0 = p, now
        self._pending = (p, str(message))
        if force or p >= 1.0 or now - self._last_report >= REPORT_INTERVAL_S:
            self.flush()

    def eta_s(self, progress: float) -> float | None:
        """Seconds left, extrapolated from the progress made since the first report."""
        done = progress - (self._p0 or 0.0)
        elapsed = time.monotonic() - self._t0
        if done <= 0 or elapsed <= 0:
            return None
        return max(elapsed * (1.0 - progress) / done, 0.0)

    def flush(self) -> None:
        """Write the last reported progress now."""
        if self._pending is None:
            return
        p, message = self._pending
        self._pending = None
        self._last_report = time.monotonic()
        with session_scope() as s:
            s.execute(
                update(Job)
                .where(Job.id == self.job_id, Job.status == "running")
                .values(progress=p, message=message[:2000], eta_s=self.eta_s(p), heartbeat_at=datetime.now(UTC))
            )

    # Log ---------------------------------------------------------------------------------
    def log(self, line: str) -> None:
        """Append one line (time-stamped) to the job's log file."""
        stamp = datetime.now(UTC).strftime("%H:%M:%S")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "a", encoding="utf-8") as fh:
            for part in str(line).splitlines() or [""]:
                fh.write(f"{stamp} {part}\n")

    # Cancel ------------------------------------------------------------------------------
    def request_stop(self) -> None:
        """Make :meth:`should_stop` true (the job process calls it on SIGTERM)."""
        self._stop = True

    def should_stop(self) -> bool:
        """True once a cancel was requested (checked in the store at most every half second)."""
        if self._stop:
            return True
        now = time.monotonic()
        if now - self._last_stop_check >= STOP_CHECK_INTERVAL_S:
            self._last_stop_check = now
            with session_scope() as s:
                self._stop = bool(s.scalar(select(Job.cancel_requested).where(Job.id == self.job_id)))
        return self._stop


class LocalContext:
    """A job context for direct calls (bench, tests, CLI): writes into ``work_dir``, never stops by itself."""

    def __init__(self, work_dir: Path | str, *, verbose: bool = False) -> None:
        self.work_dir = Path(work_dir)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.verbose = verbose
        self.progress = 0.0
        self.messages: list[str] = []
        self.lines: list[str] = []
        self.stop_requested = False

    def report(self, progress: float, message: str = "") -> None:
        """Remember the progress."""
        self.progress = progress
        if message:
            self.messages.append(message)

    def log(self, line: str) -> None:
        """Remember (and optionally print) the line."""
        self.lines.append(line)
        if self.verbose:
            print(line, flush=True)

    def should_stop(self) -> bool:
        """True after :meth:`stop`."""
        return self.stop_requested

    def stop(self) -> None:
        """Ask the run to stop at the next step."""
        self.stop_requested = True

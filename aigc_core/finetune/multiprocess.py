"""Fine-tuning on several processes: the job's process starts ``python -m torch.distributed.run`` with N ranks
(one per GPU, or gloo on the CPU) that each run the same job function, and relays rank 0's progress and log.

Only rank 0 reports progress, writes metrics and checkpoints (the Trainer saves on the main process only), evaluates
and registers the model version; it hands its result back in ``result.json``. A cancel of the job writes a stop
file that every rank reads at each step (the decision is all-reduced, so all ranks stop at the same step and save
one checkpoint); ranks that do not stop in time are terminated, and ranks end by themselves when the job's process
is gone. A rank that fails writes its error to ``rank<N>.error.json``: the first one fails the job with that
rank's message, and its traceback is in the job log (lines marked ``[rank N]``).

``python -m aigc_core.finetune.multiprocess <spec.json>`` is the rank entry point (started by the launcher).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aigc_core.errors import AigcError, UserInputError
from aigc_core.finetune.training import last_checkpoint
from aigc_core.jobs.context import JobContext
from aigc_core.storage import atomic_write_text

DIST_DIR = "dist"  # under the job's work folder
SPEC_FILE = "spec.json"
EVENTS_FILE = "events.jsonl"  # rank 0's report/log calls, relayed by the job's process
RESULT_FILE = "result.json"
STOP_FILE = "STOP"
LAUNCHER_LOG = "launcher.log"
POLL_S = 0.2
KILL_AFTER_S = 5.0


class RankFailedError(AigcError):
    """A training process (rank) failed; the job fails with its message."""


@dataclass
class RankInfo:
    """This process's place in a multi-process run (set by :func:`rank_main`)."""

    rank: int
    world_size: int
    local_rank: int
    dist_dir: Path


_RANK: RankInfo | None = None


# --------------------------------------------------------------------------------------------
# What the job functions and trainers ask
# --------------------------------------------------------------------------------------------
def in_rank() -> bool:
    """True inside a rank of a multi-process run."""
    return _RANK is not None


def rank() -> int:
    """This process's rank (0 outside a multi-process run)."""
    return _RANK.rank if _RANK is not None else 0


def world_size() -> int:
    """How many processes train together (1 outside a multi-process run)."""
    return _RANK.world_size if _RANK is not None else 1


def is_main() -> bool:
    """True on rank 0 and in a single-process run: the process that reports, evaluates and saves."""
    return rank() == 0


def any_rank(flag: bool, device: Any = "cpu") -> bool:
    """``flag`` OR-ed over every rank (a collective: every rank must call it at the same point)."""
    if world_size() <= 1:
        return flag
    import torch
    import torch.distributed as dist

    if not dist.is_available() or not dist.is_initialized():
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def requested_processes(params: Any) -> int:
    """The processes a run asks for: its ``processes`` field, else the ``AIGC_TRAIN_PROCESSES`` setting."""
    n = int(getattr(params, "processes", 0) or 0)
    if n <= 0:
        from aigc_core.settings import get_settings

        n = int(get_settings().train_processes)
    return max(1, n)


def check_processes(n: int, device: str) -> None:
    """Raise a UserInputError when ``n`` processes cannot train on ``device`` here."""
    if n <= 1:
        return
    if device.startswith("mps"):
        raise UserInputError(
            f"Training on {n} processes is not supported on Apple's MPS device.",
            hint="Set Processes to 1 (or AIGC_TRAIN_PROCESSES=1), or train on the CPU (AIGC_DEVICE=cpu).",
        )
    if device.startswith("cuda"):
        import torch

        have = torch.cuda.device_count()
        if have < n:  # rank r trains on the r-th visible GPU
            raise UserInputError(
                f"Training on {n} processes needs {n} GPUs; this job sees {have}.",
                hint="Lower Processes to the number of GPUs the job's worker gives it (README: Running for a team, "
                "training on several GPUs).",
            )


# --------------------------------------------------------------------------------------------
# The job's process: start the launcher, relay, stop, collect
# --------------------------------------------------------------------------------------------
def _actor_dict() -> dict[str, str]:
    from aigc_core.users.roles import current

    who = current()
    return {"name": who.name, "role": who.role}


@dataclass
class _Tail:
    """New complete lines of a growing file."""

    path: Path
    offset: int = 0
    buf: bytes = b""

    def lines(self) -> list[str]:
        if not self.path.is_file():
            return []
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            data = fh.read()
        self.offset += len(data)
        self.buf += data
        *done, self.buf = self.buf.split(b"\n")
        return [d.decode("utf-8", "replace").rstrip("\r") for d in done]

    def rest(self) -> list[str]:
        out = self.lines()
        if self.buf:
            out.append(self.buf.decode("utf-8", "replace"))
            self.buf = b""
        return out


@dataclass
class _Relay:
    """Copies rank 0's events into the job context and every rank's output into the job log."""

    ctx: JobContext
    dist_dir: Path
    n: int
    events: _Tail = field(init=False)
    tails: dict[str, _Tail] = field(init=False)

    def __post_init__(self) -> None:
        self.events = _Tail(self.dist_dir / EVENTS_FILE)
        self.tails = {f"rank {r}": _Tail(self.dist_dir / f"rank{r}.log") for r in range(self.n)}
        self.tails["launcher"] = _Tail(self.dist_dir / LAUNCHER_LOG)

    def pump(self, final: bool = False) -> None:
        for line in self.events.rest() if final else self.events.lines():
            with contextlib.suppress(json.JSONDecodeError):
                event = json.loads(line)
                if event.get("t") == "report":
                    self.ctx.report(float(event["p"]), str(event.get("m", "")))
                elif event.get("t") == "log":
                    self.ctx.log(str(event.get("line", "")))
        for name, tail in self.tails.items():
            for line in tail.rest() if final else tail.lines():
                shown = [part for part in line.split("\r") if part.strip()]  # a progress bar: its last state
                if shown:
                    self.ctx.log(f"[{name}] {shown[-1]}")


def _rank_pids(dist_dir: Path) -> list[int]:
    pids = []
    for p in dist_dir.glob("rank*.pid"):
        with contextlib.suppress(ValueError, OSError):
            pids.append(int(p.read_text().strip()))
    return pids


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _terminate(proc: subprocess.Popen[bytes], dist_dir: Path, ctx: JobContext) -> None:
    """SIGTERM the launcher (it stops its ranks), then SIGKILL it and any rank still alive."""
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        proc.wait(timeout=KILL_AFTER_S)
    except subprocess.TimeoutExpired:
        ctx.log("the launcher did not stop after SIGTERM: killing it")
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait()
    deadline = time.monotonic() + KILL_AFTER_S
    while time.monotonic() < deadline and any(_alive(p) for p in _rank_pids(dist_dir)):
        time.sleep(0.1)
    for pid in _rank_pids(dist_dir):
        if _alive(pid):
            ctx.log(f"training process {pid} still running: killing it")
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def _rank_error(dist_dir: Path, n: int, code: int) -> AigcError:
    """The error of the rank that failed first (its own error class when it was a user-facing one)."""
    from aigc_core import errors

    found = []
    for r in range(n):
        path = dist_dir / f"rank{r}.error.json"
        with contextlib.suppress(OSError, json.JSONDecodeError):
            found.append(json.loads(path.read_text(encoding="utf-8")))
    if not found:
        return RankFailedError(
            f"The training processes ended with exit code {code} without reporting an error "
            "(a process was killed: often out of memory).",
            hint="The lines marked [launcher] in the log say which rank ended how. Resume the run from its last "
            "checkpoint, with a smaller batch size if memory ran out.",
        )
    first = min(found, key=lambda e: float(e.get("time", 0.0)))
    cls = getattr(errors, str(first.get("type", "")), None)
    if isinstance(cls, type) and issubclass(cls, AigcError) and first.get("aigc"):
        return cls(str(first.get("message", "")), hint=first.get("hint"))
    return RankFailedError(
        f"Training process {first.get('rank')} of {n} failed: {first.get('type')}: {first.get('message')}",
        hint=f"Its traceback is in the log (lines marked [rank {first.get('rank')}]).",
    )


def _stop_grace_s() -> float:
    from aigc_core.settings import get_settings

    return max(2.0, float(get_settings().job_cancel_grace_s) * 0.75)


def launch(ctx: JobContext, kind: str, params: Any, n: int, *, device: str) -> dict[str, Any]:
    """Run job kind ``kind`` with ``params`` on ``n`` processes under ``torch.distributed.run``; rank 0's result."""
    from aigc_core.jobs.registry import get_kind

    check_processes(n, device)
    spec_kind = get_kind(kind)
    dist_dir = Path(ctx.work_dir) / DIST_DIR
    shutil.rmtree(dist_dir, ignore_errors=True)
    dist_dir.mkdir(parents=True)
    spec = {
        "kind": kind,
        "module": spec_kind.fn.__module__,
        "params": params.stored() if hasattr(params, "stored") else dict(params),
        "work_dir": str(ctx.work_dir),
        "job_id": getattr(ctx, "job_id", None),
        "resumed_from": getattr(ctx, "resumed_from", None),
        "device": device,
        "actor": _actor_dict(),
        "parent_pid": os.getpid(),
    }
    spec_path = atomic_write_text(dist_dir / SPEC_FILE, json.dumps(spec))
    env = dict(os.environ)
    if device == "cpu" and "OMP_NUM_THREADS" not in env:
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // n))
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes", "1", "--nproc-per-node", str(n),
        "--max-restarts", "0", "-m", "aigc_core.finetune.multiprocess", str(spec_path),
    ]  # fmt: skip
    backend = "nccl" if device.startswith("cuda") else "gloo"
    ctx.log(f"training on {n} processes ({device}, {backend}) with torch.distributed.run")
    relay = _Relay(ctx, dist_dir, n)
    with open(dist_dir / LAUNCHER_LOG, "ab") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=os.getcwd(),
            start_new_session=True,  # the ranks end by themselves when this process is gone (_watch_parents)
        )  # fmt: skip
    (dist_dir / "launcher.pid").write_text(str(proc.pid), encoding="utf-8")
    stop_at: float | None = None
    try:
        while proc.poll() is None:
            relay.pump()
            if stop_at is None and ctx.should_stop():
                stop_at = time.monotonic()
                (dist_dir / STOP_FILE).write_text("stop\n", encoding="utf-8")
                ctx.log(f"cancel requested: asking the {n} training processes to save and stop")
            elif stop_at is not None and time.monotonic() - stop_at > _stop_grace_s():
                ctx.log("the training processes did not stop in time: terminating them")
                _terminate(proc, dist_dir, ctx)
                break
            time.sleep(POLL_S)
    except BaseException:
        _terminate(proc, dist_dir, ctx)
        relay.pump(final=True)
        raise
    code = proc.wait()
    relay.pump(final=True)
    result_path = dist_dir / RESULT_FILE
    if code == 0 and result_path.is_file():
        return dict(json.loads(result_path.read_text(encoding="utf-8")))
    if stop_at is not None:  # stopped on request, if not cleanly: keep what was saved
        ckpt = last_checkpoint(Path(ctx.work_dir) / "checkpoints")
        ctx.log(f"stopped; checkpoint kept: {ckpt}")
        return {"cancelled": True, "checkpoint": str(ckpt) if ckpt else None, "work_dir": str(ctx.work_dir)}
    if code == 0:
        raise RankFailedError("Rank 0 finished without a result.", hint="See the lines marked [rank 0] in the log.")
    raise _rank_error(dist_dir, n, code)


# --------------------------------------------------------------------------------------------
# A rank
# --------------------------------------------------------------------------------------------
class RankContext:
    """The job context inside a rank: rank 0 sends report/log to the job's process; a stop file stops every rank."""

    def __init__(self, spec: dict[str, Any], info: RankInfo) -> None:
        self.work_dir = Path(spec["work_dir"])
        self.job_id = spec.get("job_id")
        self.resumed_from = spec.get("resumed_from")
        device = str(spec["device"])
        # rank 0 evaluates and records the run's device as given; the others train on their own GPU
        self.device = f"cuda:{info.local_rank}" if device.startswith("cuda") and info.rank else device
        self.checkpoint_dir = self.work_dir / "checkpoints"
        self.info = info
        self._events = info.dist_dir / EVENTS_FILE
        self._stop_file = info.dist_dir / STOP_FILE

    def _send(self, event: dict[str, Any]) -> None:
        if self.info.rank != 0:
            return
        with open(self._events, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(event) + "\n")

    def report(self, progress: float, message: str = "") -> None:
        """Rank 0's progress, shown by the job."""
        self._send({"t": "report", "p": float(progress), "m": str(message)})

    def log(self, line: str) -> None:
        """Rank 0's log lines go to the job log; the other ranks keep quiet."""
        self._send({"t": "log", "line": str(line)})

    def should_stop(self) -> bool:
        """True once the job's process asked the ranks to stop."""
        return self._stop_file.exists()


def _started(pid: int) -> float | None:
    """When process ``pid`` started (None when it is gone or a zombie): the start time in clock ticks from
    /proc (stable, unlike a wall-clock creation time derived from the boot time), else psutil's."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return None if fields[0] in ("Z", "X") else float(fields[19])
    except FileNotFoundError:
        return None
    except (OSError, IndexError, ValueError):
        pass
    import psutil

    try:
        proc = psutil.Process(pid)
        return None if proc.status() == psutil.STATUS_ZOMBIE else round(proc.create_time())
    except psutil.NoSuchProcess:
        return None


def _watch_parents(parent_pid: int) -> None:
    """End this rank when the job's process or the launcher is gone (no orphan keeps a device busy)."""
    launcher = os.getppid()
    born = _started(parent_pid)
    while born is not None and _started(parent_pid) == born and os.getppid() == launcher:
        time.sleep(1.0)
    print(f"the job's process {parent_pid} or the launcher is gone: this rank stops", file=sys.stderr, flush=True)
    os._exit(70)


def _write_error(info: RankInfo, exc: BaseException) -> None:
    record = {
        "rank": info.rank,
        "time": time.time(),
        "type": type(exc).__name__,
        "aigc": isinstance(exc, AigcError),
        "message": exc.message if isinstance(exc, AigcError) else str(exc),
        "hint": exc.hint if isinstance(exc, AigcError) else None,
    }
    with contextlib.suppress(OSError):
        atomic_write_text(info.dist_dir / f"rank{info.rank}.error.json", json.dumps(record))


def rank_main(spec_path: Path) -> int:
    """Run one rank of the job described by ``spec_path``; the exit code."""
    global _RANK
    import importlib

    dist_dir = spec_path.parent
    info = RankInfo(
        rank=int(os.environ.get("RANK", "0")),
        world_size=int(os.environ.get("WORLD_SIZE", "1")),
        local_rank=int(os.environ.get("LOCAL_RANK", "0")),
        dist_dir=dist_dir,
    )
    fd = os.open(dist_dir / f"rank{info.rank}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = open(1, "w", buffering=1, encoding="utf-8", closefd=False)  # noqa: SIM115 - process-wide
    sys.stderr = open(2, "w", buffering=1, encoding="utf-8", closefd=False)  # noqa: SIM115 - process-wide
    (dist_dir / f"rank{info.rank}.pid").write_text(str(os.getpid()), encoding="utf-8")
    _RANK = info
    try:
        spec = json.loads(spec_path.read_text(encoding="utf-8"))
        threading.Thread(target=_watch_parents, args=(int(spec["parent_pid"]),), daemon=True).start()
        from aigc_core.jobs.registry import get_kind
        from aigc_core.users.roles import Actor, set_process_actor

        set_process_actor(Actor(spec["actor"]["name"], spec["actor"]["role"]))
        if str(spec["device"]).startswith("cuda"):
            import torch

            torch.cuda.set_device(info.local_rank)
        importlib.import_module(spec["module"])
        kind = get_kind(spec["kind"])
        params = kind.params.model_validate(spec["params"]) if kind.params is not None else dict(spec["params"])
        result = kind.fn(RankContext(spec, info), params)
        if info.rank == 0:
            atomic_write_text(dist_dir / RESULT_FILE, json.dumps(result, default=str))
    except BaseException as exc:
        _write_error(info, exc)
        traceback.print_exc()
        sys.stderr.flush()
        return 1
    sys.stdout.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of a rank (``python -m aigc_core.finetune.multiprocess <spec.json>``)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m aigc_core.finetune.multiprocess <spec.json>", file=sys.stderr)
        return 2
    return rank_main(Path(args[0]))


if __name__ == "__main__":
    # Run the imported module's main, so the job functions see the rank set in ``aigc_core.finetune.multiprocess``
    # (not in ``__main__``).
    from aigc_core.finetune import multiprocess as _module

    sys.exit(_module.main())

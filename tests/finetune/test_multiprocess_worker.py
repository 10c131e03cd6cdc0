"""2-process fine-tuning through the real job runner (worker supervisor, job process, ``torch.distributed.run``,
gloo on the CPU): the job succeeds and registers one version, a failing rank fails the job with that rank's error
in the job's row and log, and a cancel stops the job and every rank."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import psutil
import pytest

from aigc_core.finetune import jobs as ft_jobs
from aigc_core.finetune import multiprocess, registry
from aigc_core.finetune.params import ClassifierJobParams, TrainParams
from tests.fixtures.worker import running_worker

ROOT = Path(__file__).resolve().parents[2]
FAIL_NAME = "fail on rank 1"

# Loaded by every Python process of the worker (PYTHONPATH): in rank 1 of a run named FAIL_NAME, training raises.
HOOK = """
import os
import sys

if os.environ.get("RANK") == "1":
    sys.path.insert(0, ROOT)
    import json

    import aigc_core.finetune.training as training

    _real = training.run_trainer

    def run_trainer(*args, **kwargs):
        from aigc_core.finetune import multiprocess

        spec = json.loads((multiprocess._RANK.dist_dir / "spec.json").read_text())
        if spec["params"]["name"] == FAIL_NAME:
            raise ValueError("boom on rank 1")
        return _real(*args, **kwargs)

    training.run_trainer = run_trainer
"""


@pytest.fixture()
def worker(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    hook = tmp_path / "hook"
    hook.mkdir()
    code = textwrap.dedent(HOOK).replace("ROOT", repr(str(ROOT))).replace("FAIL_NAME", repr(FAIL_NAME))
    (hook / "sitecustomize.py").write_text(code)
    monkeypatch.setenv("PYTHONPATH", str(hook))
    monkeypatch.setenv("AIGC_DEVICE", "cpu")
    monkeypatch.setenv("AIGC_JOB_CANCEL_GRACE_S", "20")
    with running_worker(data_dir) as proc:
        yield proc


def _version(sentiment_frames) -> str:
    from aigc_core import data

    ds = data.create_dataset("tweets 2 ranks")
    train, val, test = sentiment_frames
    splits = {"train": train, "validation": val, "test": test}
    return data.save_version(ds.id, kind="split", splits=splits, roles={"text": "text", "label": "label"}).id


def _params(version_id: str, base: Path, name: str, **train) -> ClassifierJobParams:
    tp = {"max_steps": 4, "batch_size": 8, "learning_rate": 5e-3, "max_length": 32, "eval_steps": 4}
    tp.update(train)
    return ClassifierJobParams(
        dataset_version_id=version_id, base_model=str(base), min_examples_per_class=5, evaluate_base=False,
        processes=2, name=name, train=TrainParams(**tp),
    )  # fmt: skip


def _wait(job_id: str, timeout: float = 300.0, *, until=lambda info: info.finished):
    from aigc_core import jobs

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = jobs.get(job_id)
        if until(info):
            return info
        time.sleep(0.2)
    raise AssertionError(f"job {job_id}: {jobs.get(job_id).status} {jobs.log_tail(job_id, 30)}")


def _ranks_gone(job_id: str) -> bool:
    from aigc_core import jobs

    pids = [int(p.read_text()) for p in (jobs.work_dir(job_id) / multiprocess.DIST_DIR).glob("rank*.pid")]
    assert len(pids) == 2
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in pids):
            return True
        time.sleep(0.2)
    return False


def test_two_process_jobs_succeed_and_fail_through_the_worker(worker, sentiment_frames, ft_bert_dir) -> None:
    from aigc_core import jobs

    version_id = _version(sentiment_frames)
    ok = ft_jobs.submit_finetune(_params(version_id, ft_bert_dir, "two ranks ok"))
    bad = ft_jobs.submit_finetune(_params(version_id, ft_bert_dir, FAIL_NAME))

    info = _wait(ok)
    log = jobs.log_tail(ok, 400)
    assert info.status == "succeeded", log
    assert any("training on 2 processes (cpu, gloo)" in line for line in log)
    version = registry.get_version(info.result["model_version_id"])
    assert version.job_id == ok and version.meta["global_step"] == 4
    assert [v.id for v in registry.list_versions()] == [version.id]  # registered once, by rank 0
    assert info.progress == 1.0

    info = _wait(bad)
    log = jobs.log_tail(bad, 400)
    assert info.status == "failed"
    assert "Training process 1 of 2 failed: ValueError: boom on rank 1" in info.error
    assert any("[rank 1]" in line and "ValueError: boom on rank 1" in line for line in log), log
    assert len(registry.list_versions()) == 1
    assert _ranks_gone(bad)


def test_cancel_stops_a_two_process_job_and_its_ranks(worker, sentiment_frames, ft_bert_dir) -> None:
    from aigc_core import jobs

    version_id = _version(sentiment_frames)
    job_id = ft_jobs.submit_finetune(
        _params(version_id, ft_bert_dir, "long", max_steps=20000, eval_steps=10000, logging_steps=1)
    )
    _wait(job_id, until=lambda i: i.status == "running" and i.message.startswith("step "))
    jobs.cancel(job_id)
    info = _wait(job_id)
    log = jobs.log_tail(job_id, 400)
    assert info.status == "cancelled", log
    assert info.result.get("cancelled") and info.result.get("checkpoint"), log
    assert 0 < info.result["global_step"] < 20000
    assert any("asking the 2 training processes to save and stop" in line for line in log)
    assert registry.list_versions() == []
    assert _ranks_gone(job_id)

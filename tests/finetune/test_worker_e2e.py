"""End to end through the real job runner: a dataset version from aigc_core.data, a classifier run and a LoRA LM
run executed by a worker supervisor process, each registering a model version with live curves on disk."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from aigc_core.finetune import jobs as ft_jobs
from aigc_core.finetune import registry
from aigc_core.finetune.params import CausalLMJobParams, ClassifierJobParams, LoraParams, TrainParams
from aigc_core.finetune.training import read_metrics
from tests.fixtures.worker import running_worker


@pytest.fixture()
def worker(data_dir: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AIGC_DEVICE", "cpu")
    monkeypatch.setenv("AIGC_JOB_WORKERS", "2")
    monkeypatch.setenv("AIGC_JOB_CANCEL_GRACE_S", "2")
    with running_worker(data_dir) as proc:
        yield proc


def _wait(job_id: str, timeout: float = 600.0):
    from aigc_core import jobs

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = jobs.get(job_id)
        if info.finished:
            return info
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish: {jobs.get(job_id).status} {jobs.log_tail(job_id, 20)}")


def test_classifier_and_lora_lm_runs_through_the_worker(
    worker, sentiment_frames, brand_frames, ft_bert_dir, ft_llama_dir
) -> None:
    from aigc_core import data, jobs

    ds = data.create_dataset("tweets e2e")
    train, val, test = sentiment_frames
    sv = data.save_version(ds.id, kind="split", splits={"train": train, "validation": val, "test": test},
                           roles={"text": "text", "label": "label"})  # fmt: skip
    bds = data.create_dataset("brand e2e")
    btrain, bval, btest = brand_frames
    bv = data.save_version(bds.id, kind="split", splits={"train": btrain, "validation": bval, "test": btest},
                           roles={"text": "copy"})  # fmt: skip

    clf = ClassifierJobParams(
        dataset_version_id=sv.id, base_model=str(ft_bert_dir), min_examples_per_class=5, name="e2e classifier",
        train=TrainParams(max_steps=4, batch_size=16, learning_rate=5e-3, max_length=32, eval_steps=2),
    )  # fmt: skip
    lm = CausalLMJobParams(
        dataset_version_id=bv.id, base_model=str(ft_llama_dir), prompt_column="brief", name="e2e voice",
        train=TrainParams(max_steps=3, batch_size=8, learning_rate=1e-2, max_length=48, eval_steps=2),
        lora=LoraParams(enabled=True, r=4, alpha=8), sample_briefs=1,
    )  # fmt: skip
    clf_job = ft_jobs.submit_finetune(clf)
    lm_job = ft_jobs.submit_finetune(lm)
    for job_id, task in ((clf_job, "text-classification"), (lm_job, "text-generation")):
        info = _wait(job_id)
        assert info.status == "succeeded", jobs.log_tail(job_id, 40)
        version = registry.get_version(info.result["model_version_id"])
        assert version.task == task and version.job_id == job_id and version.dataset_version_id
        assert read_metrics(jobs.work_dir(job_id)), "no live metrics were written"
    assert registry.get_version(jobs.get(lm_job).result["model_version_id"]).has_adapter

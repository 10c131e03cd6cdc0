"""End to end through the real job runner: feedback on stored generations → preference dataset → DPO job run by a
worker supervisor process → registry version → blind comparison of the tuned version against its base."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from aigc_core import feedback
from aigc_core.finetune import registry
from aigc_core.finetune.dpo import submit_preferences
from aigc_core.finetune.training import read_metrics
from tests.fixtures.worker import running_worker

from .conftest import BAD, GOOD, PRODUCTS
from .test_dpo import tiny_params


@pytest.fixture()
def worker(data_dir: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AIGC_DEVICE", "cpu")
    monkeypatch.setenv("AIGC_JOB_WORKERS", "1")
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


def test_feedback_to_dpo_version_to_blind_comparison(worker, add_generation, tiny_causal_lm_dir: Path) -> None:
    from aigc_core import jobs

    names = [f"{p} {n}" for n in range(2) for p in PRODUCTS]  # 16 briefs
    for n, product in enumerate(names):
        gid = add_generation(product, [GOOD[n % 3], BAD[n % 2], GOOD[(n + 1) % 3]])
        feedback.give_feedback(gid, 0, "used")
        feedback.give_feedback(gid, 1, "down")
        feedback.give_feedback(gid, 2, "up")
    version_id, check = feedback.build_preference_dataset(test_share=0.25, seed=0)
    assert check.ok and check.n_train >= 20 and check.n_test >= 4
    job_id = submit_preferences(tiny_params(version_id, tiny_causal_lm_dir, max_length=256))
    info = _wait(job_id)
    assert info.status == "succeeded", jobs.log_tail(job_id, 40)
    version = registry.get_version(info.result["model_version_id"])
    assert version.job_id == job_id and version.dataset_version_id == version_id and version.has_adapter
    assert version.metrics["test"]["reward_accuracy"] is not None
    assert read_metrics(jobs.work_dir(job_id)), "no live metrics were written"

    briefs = sorted({p for p in (e.prompt for e in _held_out(version_id))})[:2]
    cmp = feedback.start_comparison(version.ref, f"base:{version.id}", briefs, seed=1)
    assert len(cmp.items) == 2 and all(i.left.strip() or i.right.strip() for i in cmp.items)
    for n in range(len(cmp.items)):
        cmp = feedback.pick(cmp.id, n, "left")
    assert cmp.complete and cmp.wins_a + cmp.wins_b == 2 and cmp.ci_low is not None


def _held_out(version_id: str):
    from aigc_core import data as data_api

    return data_api.load_version(version_id, "test").itertuples()

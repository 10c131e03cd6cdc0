"""End to end through the real job runner: a knowledge-base version indexed by the ``support.index`` job in a
worker process (embeddings from a tiny random BERT through the model manager), then searched here."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from aigc_core.support import kb
from tests.fixtures.worker import running_worker
from tests.support.conftest import FAQ_CSV


@pytest.fixture()
def worker(data_dir: Path, monkeypatch: pytest.MonkeyPatch, tiny_bert_encoder_dir: Path):
    monkeypatch.setenv("AIGC_DEVICE", "cpu")
    monkeypatch.setenv("AIGC_JOB_WORKERS", "1")
    monkeypatch.setenv("AIGC_EMBEDDING_MODEL", str(tiny_bert_encoder_dir))
    with running_worker(data_dir) as proc:
        yield proc


def test_index_job_runs_in_the_worker(worker, data_dir: Path) -> None:
    from aigc_core import jobs

    info = kb.create_kb("Worker KB")
    v = kb.add_version(info.id, [kb.SourceFile("faq.csv", FAQ_CSV.encode())], build="job")
    assert v.status == "indexing" and v.job_id
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        job = jobs.get(v.job_id)
        if job.finished:
            break
        time.sleep(0.5)
    log = (data_dir / "worker.log").read_text(errors="replace")[-2000:]
    assert job.status == "succeeded", (job.status, job.error, log)
    assert job.result["n_chunks"] == 4 and job.progress == 1.0
    ready = kb.get_version(v.id)
    assert ready.status == "ready" and ready.embedding_model.endswith(Path(os.environ["AIGC_EMBEDDING_MODEL"]).name)
    res = kb.search(v.id, "What does shipping cost?", 2)
    assert res.passages[0].chunk.title == "What does shipping cost?"

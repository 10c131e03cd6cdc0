"""The copy.batch job end to end through the real job runner (worker supervisor in its own process)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from aigc_core import jobs
from aigc_core.copy import batch
from tests.jobs.conftest import jobs_env, start_worker, wait_for, worker  # noqa: F401 - fixtures

CSV = b"name,features\nAquaPure,cold 24h; BPA free\nBrewBox,fresh coffee daily\n"


@pytest.mark.slow  # a worker process importing torch per job: ~40-90 s on 2 busy cores; run with -m slow
def test_copy_batch_through_the_runner(worker, tiny_lm_dir: Path) -> None:  # noqa: F811 - fixture
    assert jobs.get_kind("copy.batch").resource == "gpu"
    path = batch.save_upload(CSV, "products.csv")
    params = {
        "input_path": str(path),
        "mapping": {"product": "name", "key_points": "features"},
        "defaults": {"channel": "search_headline", "max_new_tokens": 8},
        "n_variants": 2,
        "model": str(tiny_lm_dir),
    }
    job_id = batch.submit_batch(params)
    info = jobs.get(job_id)
    assert info.kind == "copy.batch" and info.resource.startswith(("gpu", "cpu"))
    done = wait_for(job_id, lambda j: j.finished, timeout=120, what="the batch job to finish")
    assert done.status == "succeeded", done.error
    # the tiny random model writes gibberish: every candidate is checked (real MiniLM in the worker) and held
    # back, so each row is an error row rather than copy that nobody could use
    assert done.result["rows"] == 2 and done.result["done"] == 2 and done.progress == 1.0
    assert done.result["ok"] == 0 and done.result["failed"] == 2 and done.result["variants"] == 0
    out = Path(done.result["output"])
    assert out.is_file() and out.parent == jobs.work_dir(job_id)
    df = pd.read_csv(out, encoding="utf-8-sig")
    assert list(df.columns) == list(batch.OUTPUT_COLUMNS)
    assert sorted(df["product"]) == ["AquaPure", "BrewBox"] and df["text"].isna().all()
    assert df["error"].tolist() == ["nothing usable came back"] * 2

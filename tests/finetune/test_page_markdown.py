"""The Fine-tune page shows run messages, run errors and class labels of the data only escaped."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from aigc_core.store import models as m
from aigc_core.store.db import session_scope
from tests.fixtures.markdown import assert_only_escaped

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "finetune.py")
PAYLOAD = "![x](http://127.0.0.1:9/x.png)"


def test_run_message_and_error_render_escaped(settings, monkeypatch) -> None:
    from aigc_core.finetune import runs

    with session_scope() as s:
        s.add(m.Job(id="run1", kind="finetune.classifier", status="failed", progress=0.4, message=f"step {PAYLOAD}",
                    error=f"label {PAYLOAD} is unknown", params={"name": "tweets"}))  # fmt: skip
    monkeypatch.setattr(runs, "job_work_dir", lambda job_id: settings.resolved_data_dir / "jobs" / job_id)
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    kinds = {kind for kind, _ in assert_only_escaped(at, PAYLOAD, at_least=2)}
    assert {"progress", "error"} <= kinds, kinds

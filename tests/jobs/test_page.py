"""AppTests for the Models & jobs page and the sidebar's running-jobs block."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from aigc_core import jobs
from aigc_core.store.db import session_scope
from aigc_core.store.models import Job
from tests.fixtures.markdown import shown

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "models_jobs.py")


def _row(**kw) -> str:
    with session_scope() as s:
        job = Job(kind="demo.count", params={"steps": 10, "seconds_per_step": 0.5}, owner="alice", **kw)
        s.add(job)
        s.flush()
        job.log_path = str(jobs.log_path(job.id))
        return job.id


@pytest.fixture()
def rows(jobs_env):
    now = datetime.now(UTC)
    running = _row(status="running", progress=0.4, message="step 4 of 10", started_at=now - timedelta(seconds=5))
    failed = _row(
        status="failed",
        error="The job failed: RuntimeError: boom\n\nLast log lines:\nstep 3",
        started_at=now - timedelta(minutes=2),
        finished_at=now - timedelta(minutes=1),
    )
    jobs.log_path(running).parent.mkdir(parents=True)
    jobs.log_path(running).write_text("12:00:00 step 3\n12:00:01 step 4\n")
    return running, failed


def _page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    return at


def test_empty_page_says_how_to_start(jobs_env) -> None:
    at = _page()
    assert at.title[0].value == "Models & jobs"
    assert any("No jobs yet" in i.value for i in at.info)
    assert not at.error


def test_table_detail_and_cancel(rows) -> None:
    running, failed = rows
    at = _page()
    table = at.dataframe[0].value
    assert set(table["Job"]) == {running, failed}
    assert table.loc[table["Job"] == running, "Progress"].item() == pytest.approx(0.4)
    assert at.selectbox(key="mj_pick").value == running  # a running job is picked first
    assert any("step 4" in c.value for c in at.code)  # log tail
    at.button(key=f"mj_cancel_{running}").click().run()
    assert not at.exception, at.exception
    assert jobs.get(running).cancel_requested and jobs.get(running).status == "running"
    assert any("waiting for the job to stop" in c.value for c in at.caption)


def test_failed_job_shows_error_and_resumes(rows, monkeypatch) -> None:
    _, failed = rows
    calls: list[str] = []
    monkeypatch.setattr(jobs, "resume", lambda job_id: calls.append(job_id) or "newjob")
    at = _page()
    at.selectbox(key="mj_pick").set_value(failed).run()
    assert any("RuntimeError: boom" in shown(e.value) for e in at.error)  # shown literally, never as Markdown
    assert not any("Last log lines" in e.value for e in at.error)  # the tail is shown in the log box instead
    at.button(key=f"mj_resume_{failed}").click().run()
    assert not at.exception, at.exception
    assert calls == [failed]


def test_filters_and_demo_button(rows, monkeypatch) -> None:
    _, failed = rows
    at = _page()
    at.multiselect(key="mj_filter_status").set_value(["failed"]).run()
    assert list(at.dataframe[0].value["Job"]) == [failed]
    submitted: list[tuple] = []
    monkeypatch.setattr(jobs, "submit", lambda kind, params, actor=None: submitted.append((kind, actor)) or failed)
    at.button(key="mj_demo").click().run()
    assert not at.exception, at.exception
    assert submitted == [("demo.count", None)]  # the page's signed-in user acts (no owner string)


def test_engine_error_is_shown_not_raised(jobs_env, monkeypatch) -> None:
    from aigc_core.errors import AigcError

    def broken(**_kw):
        raise AigcError("The store is unreachable.", hint="Check AIGC_DATABASE_URL.")

    monkeypatch.setattr(jobs, "list_jobs", broken)
    at = _page()
    assert any("unreachable" in e.value for e in at.error)


def _sidebar_script() -> None:
    from pages._jobs_widgets import render_running_jobs

    render_running_jobs()


def test_sidebar_block_counts_and_progress(rows) -> None:
    _row(status="queued")
    at = AppTest.from_function(_sidebar_script, default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    assert any("1 running, 1 queued" in m.value for m in at.markdown)
    bars = at.get("progress")
    assert len(bars) == 1 and "step 4 of 10" in bars[0].proto.text


def test_sidebar_block_idle(jobs_env) -> None:
    at = AppTest.from_function(_sidebar_script, default_timeout=30)
    at.run()
    assert any("none running" in m.value for m in at.markdown)


def test_cancelling_a_queued_job_updates_the_table_and_the_picker(jobs_env) -> None:
    """The browser test saw the picker still say "running" after a cancel: the page reruns after it."""
    queued = jobs.submit("demo.count", {"steps": 3})
    at = _page()
    at.button(key=f"mj_cancel_{queued}").click().run()
    assert not at.exception, at.exception
    assert jobs.get(queued).status == "cancelled"
    assert at.dataframe[0].value.loc[0, "Status"].endswith("cancelled")
    # the picker's label carries no status (a real browser kept a keyed select box's old labels after a cancel)
    assert at.selectbox(key="mj_pick").format_func(queued) == f"demo.count · {queued}"
    assert any("cancelled" in m.value for m in at.markdown) or any("cancelled" in c.value for c in at.caption)

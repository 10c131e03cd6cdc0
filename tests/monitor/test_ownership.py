"""Monitors, their rows, rules and alerts belong to their owner: private until shared, changed by the owner or an
admin, listed only where visible; webhooks are posted by the worker's delivery job, never inside a page run."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from aigc_core import jobs, netguard
from aigc_core.errors import NotFoundError, PermissionDeniedError, UserInputError
from aigc_core.jobs import api
from aigc_core.jobs.context import StoreJobContext
from aigc_core.monitor import alerts, demo, evaluation, reply, scoring, store, watch, webhooks
from aigc_core.settings import reset_settings
from aigc_core.users.audit import list_events
from aigc_core.users.roles import SYSTEM, Actor, set_process_actor
from tests.users.conftest import team  # noqa: F401 - the fixture: alice (admin), bob (editor), vera (viewer)

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "sentiment.py")
MAPPING = {"text": "text", "timestamp": "t", "topic": "topic", "id": "id"}


def _frame(days: int = 10, spike_day: int = 8, start_day: int = 1, prefix: str = "r") -> pd.DataFrame:
    """20 texts a day (4 negative), 16 of 20 negative on ``spike_day``."""
    rows = []
    for d in range(days):
        for i in range(20):
            neg = i < (16 if d == spike_day else 4)
            rows.append(
                {
                    "id": f"{prefix}{d}-{i}",
                    "t": f"2026-01-{start_day + d:02d}T{i:02d}:00:00Z",
                    "text": f"flight delayed, bag lost {d}-{i}" if neg else f"great crew, thanks {d}-{i}",
                    "topic": "airline",
                }
            )
    return pd.DataFrame(rows)


class Seeded:
    """A scored monitor with one rule and one alert, made by ``owner``."""

    def __init__(self, owner: Actor, name: str, *, shared: bool = False, webhook_url: str = "") -> None:
        self.owner = owner
        self.info, _ = store.create_monitor(name, mapping=MAPPING, frame=_frame(), actor=owner)
        self.id = self.info.id
        self.rule = alerts.create_rule(
            self.id,
            "share_negative",
            0.5,
            window="1D",
            min_volume=10,
            cooldown_s=0,
            webhook_url=webhook_url,
            actor=owner,
        )
        run = scoring.score_pending(self.id, actor=owner)
        assert run.n_alerts == 1
        self.alert = alerts.list_alerts(self.id, actor=owner)[0]
        if shared:
            self.info = store.set_monitor_shared(self.id, True, actor=owner)


@pytest.fixture()
def alices(team, fake_scorer) -> Seeded:  # noqa: F811 - the imported fixture
    return Seeded(team["alice"], "alice private")


# Every owner-checked call on a monitor, its rows, rules and alerts: (name, reads only, call).
CALLS: list[tuple[str, bool, Callable[[Seeded, Actor], Any]]] = [
    ("get_monitor", True, lambda m, a: store.get_monitor(m.id, actor=a)),
    ("get_monitor by name", True, lambda m, a: store.get_monitor(m.info.name, actor=a)),
    ("check_monitor", True, lambda m, a: store.check_monitor(m.id, actor=a)),
    ("pending_rows", True, lambda m, a: scoring.pending_rows(m.id, actor=a)),
    ("load_rows", True, lambda m, a: store.load_rows(m.id, actor=a)),
    ("monitor_data", True, lambda m, a: store.monitor_data(m.id, actor=a)),
    ("demo_batches_left", True, lambda m, a: demo.demo_batches_left(m.id, actor=a)),
    ("list_rules", True, lambda m, a: alerts.list_rules(m.id, actor=a)),
    ("list_alerts", True, lambda m, a: alerts.list_alerts(m.id, actor=a)),
    ("get_alert", True, lambda m, a: alerts.get_alert(m.alert.id, actor=a)),
    ("build_reply_brief", True, lambda m, a: reply.build_reply_brief(m.alert.id, actor=a)),
    ("append_batch", False, lambda m, a: store.append_batch(m.id, _frame(2, prefix="x"), actor=a)),
    ("update_model", False, lambda m, a: store.update_model(m.id, "embedded", actor=a)),
    ("set_monitor_shared", False, lambda m, a: store.set_monitor_shared(m.id, True, actor=a)),
    ("set_watch_folder", False, lambda m, a: watch.set_watch_folder(m.id, None, actor=a)),
    ("poll_folder", False, lambda m, a: watch.poll_folder(m.id, actor=a)),
    ("score_pending", False, lambda m, a: scoring.score_pending(m.id, actor=a)),
    ("start_scoring", False, lambda m, a: scoring.start_scoring(m.id, actor=a)),
    ("demo_next_batch", False, lambda m, a: demo.demo_next_batch(m.id, actor=a)),
    ("delete_monitor", False, lambda m, a: store.delete_monitor(m.id, actor=a)),
    ("create_rule", False, lambda m, a: alerts.create_rule(m.id, "zscore", 3.0, actor=a)),
    ("update_rule", False, lambda m, a: alerts.update_rule(m.rule.id, threshold=0.6, actor=a)),
    ("delete_rule", False, lambda m, a: alerts.delete_rule(m.rule.id, actor=a)),
    ("acknowledge", False, lambda m, a: alerts.acknowledge(m.alert.id, actor=a)),
    ("evaluate", False, lambda m, a: evaluation.evaluate(m.id, deliver=False, actor=a)),
    ("deliver_due", False, lambda m, a: webhooks.deliver_due(m.id, actor=a)),
    ("retry_webhook", False, lambda m, a: webhooks.retry_webhook(m.alert.id, actor=a)),
    ("queue_delivery", False, lambda m, a: webhooks.queue_delivery(m.id, retry=[m.alert.id], actor=a)),
]
IDS = [c[0] for c in CALLS]


@pytest.mark.parametrize(("name", "reads", "call"), CALLS, ids=IDS)
def test_another_users_private_monitor_reads_as_missing(team, alices: Seeded, name, reads, call) -> None:  # noqa: F811
    with pytest.raises(NotFoundError):
        call(alices, team["bob"])
    with pytest.raises(NotFoundError):
        call(alices, team["vera"])
    denied = list_events(actor=SYSTEM, who="bob", action="denied:")
    assert denied and all(e.allowed is False for e in denied)
    assert alerts.get_alert(alices.alert.id, actor=team["alice"]).id == alices.alert.id  # nothing changed


@pytest.mark.parametrize(("name", "reads", "call"), CALLS, ids=IDS)
def test_a_shared_monitor_is_read_by_all_and_changed_by_its_owner(team, alices: Seeded, name, reads, call) -> None:  # noqa: F811
    store.set_monitor_shared(alices.id, True, actor=team["alice"])
    for who in (team["bob"], team["vera"]):
        if reads:
            call(alices, who)
        else:
            with pytest.raises(PermissionDeniedError):
                call(alices, who)
    assert store.get_monitor(alices.id, actor=team["bob"]).n_rows == 200


def test_viewers_cannot_create_monitors_or_rules(team, alices: Seeded) -> None:  # noqa: F811
    vera = team["vera"]
    with pytest.raises(PermissionDeniedError):
        store.create_monitor("vera's", mapping=MAPPING, frame=_frame(2), actor=vera)
    with pytest.raises(PermissionDeniedError):
        demo.start_demo_stream(actor=vera)
    store.set_monitor_shared(alices.id, True, actor=team["alice"])
    with pytest.raises(PermissionDeniedError):
        alerts.create_rule(alices.id, "zscore", 3.0, actor=vera)
    assert [m.name for m in store.list_monitors(actor=vera)] == ["alice private"]


def test_owner_and_rule_owner_are_recorded(team, alices: Seeded) -> None:  # noqa: F811
    assert alices.info.owner == "alice" and alices.info.shared is False
    assert alices.rule.owner == "alice"
    bob = team["bob"]
    mine, _ = store.create_monitor("bob's", mapping=MAPPING, frame=_frame(3), actor=bob)
    assert mine.owner == "bob"
    assert alerts.create_rule(mine.id, "zscore", 3.0, actor=bob).owner == "bob"
    shared = store.set_monitor_shared(mine.id, True, actor=bob)
    assert shared.shared is True and store.set_monitor_shared(mine.id, False, actor=bob).shared is False


def test_lists_show_only_visible_monitors(team, fake_scorer) -> None:  # noqa: F811
    alice, bob, vera = team["alice"], team["bob"], team["vera"]
    store.create_monitor("alice private", mapping=MAPPING, frame=_frame(2), actor=alice)
    shared, _ = store.create_monitor("alice shared", mapping=MAPPING, frame=_frame(2), actor=alice)
    store.set_monitor_shared(shared.id, True, actor=alice)
    store.create_monitor("bob private", mapping=MAPPING, frame=_frame(2), actor=bob)

    def names(who: Actor) -> set[str]:
        return {m.name for m in store.list_monitors(actor=who)}

    assert names(alice) == {"alice private", "alice shared", "bob private"}
    assert names(bob) == {"alice shared", "bob private"}
    assert names(vera) == {"alice shared"}
    assert names(SYSTEM) == names(alice)


def test_the_admin_can_do_everything_on_anothers_monitor(team, fake_scorer, settings) -> None:  # noqa: F811
    alice, bob = team["alice"], team["bob"]
    bobs = Seeded(bob, "bob private")
    assert store.get_monitor(bobs.id, actor=alice).owner == "bob"
    for name, _, call in CALLS:
        if name in {"poll_folder", "demo_next_batch"}:  # allowed; this monitor watches no folder and is no demo
            with pytest.raises(UserInputError):
                call(bobs, alice)
        elif name not in {"delete_monitor", "delete_rule"}:
            call(bobs, alice)
    inbox = watch.watch_roots()[0]
    assert watch.set_watch_folder(bobs.id, inbox, actor=alice).meta["watch_folder"] == str(inbox)
    assert watch.poll_folder(bobs.id, actor=bob) == []  # the owner checks the folder the admin set
    alerts.delete_rule(bobs.rule.id, actor=alice)
    store.delete_monitor(bobs.id, actor=alice)
    assert store.list_monitors(actor=bob) == []


def test_only_admins_set_watched_folders(team, fake_scorer) -> None:  # noqa: F811
    bob = team["bob"]
    mine, _ = store.create_monitor("bob's", mapping=MAPPING, frame=_frame(2), actor=bob)
    with pytest.raises(PermissionDeniedError, match="Only an admin"):
        watch.set_watch_folder(mine.id, watch.watch_roots()[0], actor=bob)
    assert store.get_monitor(mine.id, actor=bob).meta.get("watch_folder", "") == ""
    assert any(e.action == "denied:admin" for e in list_events(actor=SYSTEM, who="bob"))


def test_deletes_and_shares_are_audited(team, alices: Seeded) -> None:  # noqa: F811
    alice = team["alice"]
    store.set_monitor_shared(alices.id, True, actor=alice)
    store.set_monitor_shared(alices.id, False, actor=alice)
    alerts.delete_rule(alices.rule.id, actor=alice)
    store.delete_monitor(alices.id, actor=alice)
    events = {(e.actor, e.action, e.object_kind, e.object_id) for e in list_events(actor=SYSTEM)}
    assert ("alice", "monitor.share", "monitor", alices.id) in events
    assert ("alice", "monitor.unshare", "monitor", alices.id) in events
    assert ("alice", "alert_rule.delete", "alert_rule", alices.rule.id) in events
    assert ("alice", "monitor.delete", "monitor", alices.id) in events
    with pytest.raises(NotFoundError):
        store.get_monitor(alices.id, actor=alice)


def test_the_demo_of_each_user_gets_its_own_name(team, fake_scorer, monkeypatch, tmp_path) -> None:  # noqa: F811
    path = tmp_path / "tweets.csv"
    pd.DataFrame({"text": [f"flight delayed {i}" for i in range(60)], "sentiment": ["negative"] * 60}).to_csv(
        path, index=False
    )
    monkeypatch.setattr(demo, "SAMPLE_TWEETS", path)
    first, _ = demo.start_demo_stream(n_rows=60, batches=2, with_rules=False, actor=team["alice"])
    second, _ = demo.start_demo_stream(n_rows=60, batches=2, with_rules=False, actor=team["bob"])
    assert (first.name, second.name) == (demo.DEMO_NAME, f"{demo.DEMO_NAME} (bob)")
    assert second.owner == "bob"


def test_skipped_watched_file_reports_only_its_note(settings, fake_scorer, monkeypatch) -> None:
    monkeypatch.setenv("AIGC_MAX_UPLOAD_MB", "1")
    reset_settings()
    info, _ = store.create_monitor("watched", mapping=MAPPING, frame=_frame(1))
    inbox = watch.watch_roots()[0]
    with open(inbox / "big.csv", "wb") as fh:
        fh.truncate(2 * 1024 * 1024)
    watch.set_watch_folder(info.id, inbox)
    (name, report), *_ = watch.poll_folder(info.id)
    assert name == "big.csv" and report.skipped
    assert report.summary().startswith("big.csv was skipped: ") and "rows kept" not in report.summary()


# ------------------------------------------------------------------------------------------------
# Webhooks: the worker posts them, a page run never does
# ------------------------------------------------------------------------------------------------
class _Hook:
    """A local webhook receiver on 127.0.0.1 answering ``status``."""

    def __init__(self) -> None:
        self.status = 200
        self.bodies: list[dict] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                hook.bodies.append(json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0)))))
                self.send_response(hook.status)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def hook(settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[_Hook]:
    monkeypatch.setenv("AIGC_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")
    reset_settings()
    h = _Hook()
    yield h
    h.close()


@pytest.fixture()
def page_posts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The network send raises inside a Streamlit script run (and records the URL); elsewhere it posts."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    real = netguard.post_json
    calls: list[str] = []

    def send(url: str, body: dict, **kw: Any) -> int:
        if get_script_run_ctx(suppress_warning=True) is not None:
            calls.append(url)
            raise AssertionError("a webhook was posted inside a page run")
        return real(url, body, **kw)

    monkeypatch.setattr(netguard, "post_json", send)
    return calls


def _delivery_jobs() -> list[api.JobInfo]:
    return [j for j in jobs.list_jobs(kind=webhooks.DELIVER_JOB_KIND, actor=SYSTEM) if j.status == "queued"]


def _run_job(job: api.JobInfo) -> dict[str, Any]:
    """Run a queued job's function here, as the worker's child process would."""
    from aigc_core.store import Job, session_scope

    with session_scope() as s:
        s.get(Job, job.id).status = "running"
    spec = jobs.get_kind(job.kind)
    ctx = StoreJobContext(job.id, jobs.work_dir(job.id), jobs.log_path(job.id))
    result = spec.fn(ctx, spec.params.model_validate(job.params))
    api.finish(job.id, "succeeded", result=result)
    return result


def test_delivery_job_posts_the_new_alerts_webhooks(hook: _Hook, fake_scorer) -> None:
    info, _ = store.create_monitor("hooked", mapping=MAPPING, frame=_frame())
    alerts.create_rule(info.id, "share_negative", 0.5, window="1D", min_volume=10, cooldown_s=0, webhook_url=hook.url)
    run = scoring.score_pending(info.id, deliver_webhooks=False)
    assert run.n_alerts == 1 and len(run.undelivered) == 1 and hook.bodies == []
    assert alerts.get_alert(run.undelivered[0]).webhook_status == "pending"
    job_id = webhooks.queue_delivery(info.id, run.undelivered)
    job = jobs.get(job_id)
    assert job.kind == "monitor.deliver_webhooks" and job.resource == "cpu" and job.owner == "system"
    result = _run_job(job)
    assert result["webhooks"] == {"sent": 1} and len(hook.bodies) == 1
    assert hook.bodies[0]["alert_id"] == run.undelivered[0]
    assert alerts.get_alert(run.undelivered[0]).webhook_status == "sent"


def test_inline_scoring_queues_the_delivery_instead_of_posting(hook: _Hook, fake_scorer) -> None:
    info, _ = store.create_monitor("inline", mapping=MAPPING, frame=_frame())
    alerts.create_rule(info.id, "share_negative", 0.5, window="1D", min_volume=10, cooldown_s=0, webhook_url=hook.url)
    started = scoring.start_scoring(info.id)
    assert started.run is not None and started.run.webhooks_queued and hook.bodies == []
    (job,) = _delivery_jobs()
    assert job.id == started.run.webhook_job_id
    _run_job(job)
    assert len(hook.bodies) == 1


def test_a_page_run_never_posts_even_when_asked(hook: _Hook, fake_scorer, page_posts: list[str]) -> None:
    info, _ = store.create_monitor("asked", mapping=MAPPING, frame=_frame())
    alerts.create_rule(info.id, "share_negative", 0.5, window="1D", min_volume=10, cooldown_s=0, webhook_url=hook.url)
    scoring.score_pending(info.id, evaluate_alerts=False)

    def script(monitor_id: str) -> None:
        import streamlit as st

        import pages._ui  # noqa: F401 - what every page imports: it tells the engine it serves a page run
        from aigc_core.monitor import evaluation

        ev = evaluation.evaluate(monitor_id)  # deliver=True: refused inside a page run
        st.write(f"undelivered {len(ev.undelivered)}")

    at = AppTest.from_function(script, args=(info.id,), default_timeout=60).run()
    assert not at.exception, at.exception
    assert page_posts == [] and hook.bodies == []
    assert at.markdown[0].value == "undelivered 1"
    assert [a.webhook_status for a in alerts.list_alerts(info.id)] == ["pending"]


def test_the_sentiment_page_leaves_webhooks_to_the_worker(hook: _Hook, fake_scorer, page_posts: list[str]) -> None:
    info, _ = store.create_monitor("page hooks", mapping=MAPPING, frame=_frame())
    scoring.score_pending(info.id)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception, at.exception
    # 1. A rule with a webhook added on the page fires on the current data: stored, queued, not posted.
    at.text_input(key=f"sent_rule_hook_{info.id}").input(hook.url)
    at.number_input(key=f"sent_rule_minvol_{info.id}").set_value(10)
    at.button(key=f"sent_rule_add_{info.id}").click().run()
    assert not at.exception, at.exception
    assert page_posts == [] and hook.bodies == []
    assert any("sent by the worker" in s.value for s in at.success)
    (first,) = alerts.list_alerts(info.id)
    assert first.webhook_status == "pending"
    (job,) = _delivery_jobs()
    assert job.params["alert_ids"] == [first.id]
    hook.status = 500  # the receiver is down when the worker posts
    _run_job(job)
    assert len(hook.bodies) == 1 and alerts.get_alert(first.id).webhook_status == "failed"
    # 2. "Retry webhook now" queues the job again; the worker posts.
    at.run()
    at.button(key=f"sent_retry_{first.id}").click().run()
    assert not at.exception, at.exception
    assert page_posts == [] and len(hook.bodies) == 1
    (job,) = _delivery_jobs()
    assert job.params["retry_ids"] == [first.id]
    hook.status = 200
    _run_job(job)
    done = alerts.get_alert(first.id)
    assert done.webhook_status == "sent" and done.webhook_attempts == 2 and len(hook.bodies) == 2
    # 3. A small batch scored inline on the page: its new alert is queued for the worker too.
    store.append_batch(info.id, _frame(10, spike_day=9, start_day=11, prefix="b"))
    at.run()
    at.button(key=f"sent_score_{info.id}").click().run()
    assert not at.exception, at.exception
    assert page_posts == [] and len(hook.bodies) == 2
    (job,) = _delivery_jobs()
    _run_job(job)
    newest = alerts.list_alerts(info.id)[0]
    assert newest.id != first.id and newest.webhook_status == "sent" and len(hook.bodies) == 3
    assert page_posts == []


# ------------------------------------------------------------------------------------------------
# The page as each role
# ------------------------------------------------------------------------------------------------
@contextmanager
def _acting(actor: Actor) -> Iterator[None]:
    """Page runs act as ``actor`` (as the router's sign-in makes them)."""
    set_process_actor(actor)
    try:
        yield
    finally:
        set_process_actor(SYSTEM)


def _keys(at: AppTest) -> set[str]:
    kinds = ("button", "toggle", "radio", "selectbox", "text_input", "number_input", "file_uploader")
    out: set[str] = set()
    for kind in kinds:
        try:
            out |= {str(w.key) for w in at.get(kind) if getattr(w, "key", None)}
        except Exception:  # an element kind AppTest does not list
            continue
    return out


def _open(at: AppTest, actor: Actor, monitor_id: str | None = None) -> set[str]:
    with _acting(actor):
        at.run()  # the list of monitors this user sees
        if monitor_id is not None:
            at.selectbox(key="sent_monitor").set_value(monitor_id).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return _keys(at)


def test_the_page_shows_each_role_what_it_may_do(team, fake_scorer) -> None:  # noqa: F811
    alice, bob, vera = team["alice"], team["bob"], team["vera"]
    private = Seeded(alice, "alice private")
    shared = Seeded(alice, "alice shared", shared=True)
    bobs, _ = store.create_monitor("bob private", mapping=MAPPING, frame=_frame(2), actor=bob)
    scoring.score_pending(bobs.id, actor=bob)
    at = AppTest.from_file(PAGE, default_timeout=60)
    # bob (editor): his own and the shared monitor, never alice's private one
    keys = _open(at, bob)
    assert set(at.selectbox(key="sent_monitor").options) == {"alice shared", "bob private"}
    assert private.id not in str([s.options for s in at.selectbox])
    keys = _open(at, bob, shared.id)
    assert "sent_new_source" in keys  # he may create monitors
    assert f"sent_reply_banner_{shared.alert.id}" in keys  # and draft replies
    for key in (f"sent_ack_{shared.alert.id}", f"sent_rule_add_{shared.id}", f"sent_rule_del_{shared.rule.id}",
                f"sent_delete_{shared.id}", f"sent_share_{shared.id}", f"sent_watch_save_{shared.id}"):  # fmt: skip
        assert key not in keys, key
    assert any("its owner or an admin" in c.value for c in at.caption)
    keys = _open(at, bob, bobs.id)
    assert f"sent_share_{bobs.id}" in keys and f"sent_delete_{bobs.id}" in keys
    assert f"sent_watch_{bobs.id}" not in keys  # watched folders: admins only
    assert any("Only an admin sets the watched folder" in c.value for c in at.caption)
    assert any(str(watch.watch_roots()[0]) in c.value for c in at.caption)  # the allowed roots are shown
    with _acting(bob):
        at.toggle(key=f"sent_share_{bobs.id}").set_value(True).run()
    assert not at.exception, at.exception
    assert store.get_monitor(bobs.id, actor=bob).shared is True
    # vera (viewer): only shared monitors, nothing to create or change
    keys = _open(at, vera)
    assert set(at.selectbox(key="sent_monitor").options) == {"alice shared", "bob private"}
    keys = _open(at, vera, shared.id)
    assert not {k for k in keys if k.startswith(("sent_new_", "sent_demo_", "sent_reply_", "sent_ack_", "sent_rule_"))}
    assert f"sent_share_{shared.id}" not in keys and f"sent_score_{shared.id}" not in keys
    assert any("Alert:" in w.value for w in at.warning)  # she still sees the alert
    # alice (admin): everything, the watched folder too
    keys = _open(at, alice, private.id)
    assert {f"sent_watch_{private.id}", f"sent_share_{private.id}", f"sent_rule_add_{private.id}"} <= keys


def test_a_viewer_with_nothing_shared_sees_an_empty_page(team) -> None:  # noqa: F811
    store.create_monitor("alice private", mapping=MAPPING, frame=_frame(2), actor=team["alice"])
    at = AppTest.from_file(PAGE, default_timeout=60)
    keys = _open(at, team["vera"])
    assert any("No monitor yet" in i.value and "ask an editor" in i.value for i in at.info)
    assert "sent_demo_start" not in keys and "sent_new_source" not in keys
    assert "alice private" not in str([m.value for m in at.markdown])

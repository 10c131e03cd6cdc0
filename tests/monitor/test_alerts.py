"""Alert rules on planted spikes and calm series; cooldown, minimum volume; webhook delivery and retries."""

from __future__ import annotations

import json
import socket
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from aigc_core.errors import UserInputError
from aigc_core.monitor import alerts, evaluation
from aigc_core.monitor.aggregate import MonitorData
from aigc_core.settings import reset_settings
from aigc_core.store import Monitor, session_scope
from tests.monitor.conftest import scored_frame

NOW = datetime(2026, 2, 1, tzinfo=UTC)


def _day(day: int, neg: int, neu: int, pos: int, topic: str = "air") -> list[tuple[str, str, str, str]]:
    base = datetime(2026, 1, 1) + timedelta(days=day)
    labels = ["negative"] * neg + ["neutral"] * neu + ["positive"] * pos
    rows = []
    for i, lab in enumerate(labels):
        ts = (base + timedelta(minutes=10 * i)).isoformat()
        text = f"lost luggage again {i}" if lab == "negative" else f"ordinary text {i}"
        rows.append((ts, topic, lab, text))
    return rows


def _series(spike_days: dict[int, tuple[int, int, int]], days: int = 12) -> MonitorData:
    rows = []
    for d in range(days):
        rows += _day(d, *spike_days.get(d, (4, 8, 8)))
    return MonitorData(scored_frame(rows))


@pytest.fixture()
def monitor_id(settings) -> str:
    with session_scope() as s:
        m = Monitor(name="alerts-test", mapping={"text": "text", "timestamp": "ts"}, model="fake")
        s.add(m)
        s.flush()
        return m.id


SPIKE = {10: (14, 2, 4)}


@pytest.mark.parametrize(
    ("kind", "threshold", "value"),
    [("share_negative", 0.5, 0.7), ("zscore", 3.0, 5.0), ("net_drop", 30.0, 70.0)],
)
def test_planted_spike_fires_each_kind(monitor_id: str, kind: str, threshold: float, value: float) -> None:
    alerts.create_rule(monitor_id, kind, threshold, window="1D", min_volume=10, cooldown_s=0)
    ev = evaluation.evaluate(monitor_id, data=_series(SPIKE), now=NOW)
    assert len(ev.fired) == 1
    a = ev.fired[0]
    assert a.window_start == datetime(2026, 1, 11, tzinfo=UTC) and a.window_end == datetime(2026, 1, 12, tzinfo=UTC)
    assert a.value == pytest.approx(value)
    assert a.evidence["volume"] == 20 and a.evidence["negative"] == 14
    assert a.evidence["examples"] and "lost luggage" in a.evidence["examples"][0]["text"]
    assert a.webhook_status == "none"
    # Evaluating again (same data) does not fire the same window twice.
    assert evaluation.evaluate(monitor_id, data=_series(SPIKE), now=NOW).fired == []
    assert len(alerts.list_alerts(monitor_id)) == 1


@pytest.mark.parametrize(("kind", "threshold"), [("share_negative", 0.5), ("zscore", 3.0), ("net_drop", 30.0)])
def test_calm_series_does_not_fire(monitor_id: str, kind: str, threshold: float) -> None:
    alerts.create_rule(monitor_id, kind, threshold, window="1D", min_volume=10, cooldown_s=0)
    ev = evaluation.evaluate(monitor_id, data=_series({3: (5, 8, 7), 7: (3, 9, 8)}), now=NOW)
    assert ev.fired == [] and ev.windows_checked == 12


def test_cooldown_holds(monitor_id: str) -> None:
    two_spikes = {9: (14, 2, 4), 10: (15, 2, 3)}
    alerts.create_rule(monitor_id, "share_negative", 0.5, window="1D", min_volume=10, cooldown_s=2 * 86400)
    ev = evaluation.evaluate(monitor_id, data=_series(two_spikes), now=NOW)
    assert len(ev.fired) == 1 and ev.suppressed_cooldown == 1
    assert ev.fired[0].window_start == datetime(2026, 1, 10, tzinfo=UTC)
    other = alerts.create_rule(monitor_id, "share_negative", 0.5, window="1D", min_volume=10, cooldown_s=0)
    ev2 = evaluation.evaluate(monitor_id, data=_series(two_spikes), now=NOW)
    assert [a.rule_id for a in ev2.fired] == [other.id, other.id]


def test_min_volume_holds(monitor_id: str) -> None:
    alerts.create_rule(monitor_id, "share_negative", 0.5, window="1D", min_volume=25, cooldown_s=0)
    ev = evaluation.evaluate(monitor_id, data=_series(SPIKE), now=NOW)
    assert ev.fired == [] and ev.below_min_volume == 12


def test_topic_rule_only_sees_its_topic(monitor_id: str) -> None:
    rows = []
    for d in range(12):
        rows += _day(d, 4, 8, 8, topic="air") + _day(d, *((14, 2, 4) if d == 10 else (4, 8, 8)), topic="app")
    data = MonitorData(scored_frame(rows))
    alerts.create_rule(monitor_id, "share_negative", 0.5, window="1D", min_volume=10, topic="air", cooldown_s=0)
    assert evaluation.evaluate(monitor_id, data=data, now=NOW).fired == []
    alerts.create_rule(monitor_id, "share_negative", 0.5, window="1D", min_volume=10, topic="app", cooldown_s=0)
    fired = evaluation.evaluate(monitor_id, data=data, now=NOW).fired
    assert len(fired) == 1 and fired[0].topic == "app"


def test_rule_validation(monitor_id: str) -> None:
    with pytest.raises(UserInputError):
        alerts.create_rule(monitor_id, "share_negative", 40)  # a share, not a percentage
    with pytest.raises(UserInputError):
        alerts.create_rule(monitor_id, "zscore", 3, window="soon")
    with pytest.raises(UserInputError):
        alerts.create_rule(monitor_id, "zscore", 3, webhook_url="ftp://x")
    with pytest.raises(UserInputError):
        alerts.create_rule(monitor_id, "nope", 3)
    r = alerts.create_rule(monitor_id, "zscore", 3)
    assert alerts.update_rule(r.id, threshold=4, enabled=False).threshold == 4
    assert "z-score" in alerts.list_rules(monitor_id)[0].describe()


class _Hook:
    """A local webhook receiver on 127.0.0.1 that answers with ``status``."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.bodies: list[dict] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                hook.bodies.append(
                    {"json": json.loads(self.rfile.read(length)), "ctype": self.headers.get("Content-Type")}
                )
                self.send_response(hook.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def allow_loopback(settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Webhooks to 127.0.0.1 are internal: the local receivers below need the admin's allow-list."""
    monkeypatch.setenv("AIGC_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")
    reset_settings()


@pytest.fixture()
def hook(allow_loopback):
    h = _Hook()
    yield h
    h.close()


def test_webhook_receives_json(monitor_id: str, hook: _Hook) -> None:
    alerts.create_rule(monitor_id, "zscore", 3.0, window="1D", min_volume=10, webhook_url=hook.url)
    ev = evaluation.evaluate(monitor_id, data=_series(SPIKE), now=NOW)
    assert len(ev.fired) == 1 and ev.fired[0].webhook_status == "sent" and ev.fired[0].webhook_attempts == 1
    assert len(hook.bodies) == 1
    body = hook.bodies[0]["json"]
    assert hook.bodies[0]["ctype"] == "application/json"
    assert body["alert_id"] == ev.fired[0].id and body["kind"] == "zscore"
    assert body["window_start"].startswith("2026-01-11") and body["evidence"]["negative"] == 14
    assert "alerts-test" in body["text"]


def test_failing_webhook_is_recorded_and_retried(monitor_id: str, hook: _Hook) -> None:
    hook.status = 500
    alerts.create_rule(monitor_id, "share_negative", 0.5, window="1D", min_volume=10, webhook_url=hook.url)
    data = _series(SPIKE)
    ev = evaluation.evaluate(monitor_id, data=data, now=NOW)
    a = ev.fired[0]
    assert a.webhook_status == "failed" and "500" in a.webhook_error and a.webhook_attempts == 1
    assert alerts.list_alerts(monitor_id)[0].id == a.id  # the alert is kept
    # Within the backoff: no retry yet.
    assert evaluation.evaluate(monitor_id, data=data, now=NOW + timedelta(seconds=5)).retried == []
    hook.status = 200
    ev2 = evaluation.evaluate(monitor_id, data=data, now=NOW + timedelta(minutes=5))
    assert [r.id for r in ev2.retried] == [a.id] and ev2.fired == []
    done = alerts.get_alert(a.id)
    assert done.webhook_status == "sent" and done.webhook_attempts == 2 and done.webhook_error == ""
    assert len(hook.bodies) == 2


def test_closed_port_webhook(monitor_id: str, allow_loopback) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    alerts.create_rule(
        monitor_id, "share_negative", 0.5, window="1D", min_volume=10, webhook_url=f"http://127.0.0.1:{port}/x"
    )
    a = evaluation.evaluate(monitor_id, data=_series(SPIKE), now=NOW).fired[0]
    assert a.webhook_status == "failed" and a.webhook_error and a.webhook_attempts == 1
    again = evaluation.evaluate(monitor_id, data=_series(SPIKE), now=NOW + timedelta(hours=1)).retried
    assert again[0].webhook_attempts == 2 and again[0].webhook_status == "failed"
    alerts.acknowledge(a.id)
    assert alerts.list_alerts(monitor_id, unacknowledged=True) == []

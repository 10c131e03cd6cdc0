"""Alert webhooks cannot reach internal addresses, follow redirects or leak secrets; delivery is capped and retried."""

from __future__ import annotations

import json
import socket
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from aigc_core import netguard
from aigc_core.errors import UserInputError
from aigc_core.monitor import alerts, evaluation, webhooks
from aigc_core.monitor.aggregate import MonitorData
from aigc_core.netguard import BlockedAddressError, WebhookError, mask_url
from aigc_core.settings import reset_settings
from aigc_core.store import Monitor, session_scope
from tests.monitor.conftest import scored_frame

NOW = datetime(2026, 2, 1, tzinfo=UTC)

INTERNAL_URLS = [
    "http://127.0.0.1/hook",
    "http://127.0.0.1:6379/",
    "http://localhost.localdomain:80/",  # resolved below
    "http://10.0.0.5/hook",
    "http://192.168.1.1/hook",
    "http://172.16.3.4/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:169.254.169.254]/",
    "http://[fe80::1]/",
    "http://[fd00:ec2::254]/",
    "http://0.0.0.0/",
    "http://100.100.100.200/",  # Alibaba metadata (shared address space)
    "http://2130706433/",  # 127.0.0.1 as one number
    "http://127.1/",
    "http://0x7f.0.0.1/",
    "http://224.0.0.1/",
]
LITERAL_INTERNAL = [u for u in INTERNAL_URLS if "localhost" not in u]


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------
class _Server:
    """A local HTTP server on 127.0.0.1 recording every request; ``status`` and ``location`` set the answer."""

    def __init__(self, status: int = 200, location: str = "") -> None:
        self.status = status
        self.location = location
        self.requests: list[dict] = []
        srv = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length", 0) or 0)
                body = self.rfile.read(length) if length else b""
                srv.requests.append(
                    {"method": self.command, "path": self.path, "host": self.headers.get("Host"), "body": body}
                )
                status = 200 if self.path.startswith("/target") else srv.status
                self.send_response(status)
                if 300 <= status < 400 and srv.location:
                    self.send_header("Location", srv.location)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_POST = _answer
            do_GET = _answer

            def log_message(self, *args) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def server():
    s = _Server()
    yield s
    s.close()


@pytest.fixture()
def allow(settings, monkeypatch: pytest.MonkeyPatch):
    """Set AIGC_WEBHOOK_ALLOWED_HOSTS for the test."""

    def set_hosts(hosts: str) -> None:
        monkeypatch.setenv("AIGC_WEBHOOK_ALLOWED_HOSTS", hosts)
        reset_settings()

    return set_hosts


def _fake_dns(monkeypatch: pytest.MonkeyPatch, table: dict[str, list[str]]) -> list[str]:
    """Answer getaddrinfo from ``table`` (host -> addresses); returns the looked-up names in order."""
    real = socket.getaddrinfo
    calls: list[str] = []

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        calls.append(host)
        if host not in table:
            return real(host, port, family, type, proto, flags)
        out = []
        for ip in table[host]:
            if ":" in ip:
                out.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (ip, port, 0, 0)))
            else:
                out.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)))
        return out

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return calls


@pytest.fixture()
def no_connect(monkeypatch: pytest.MonkeyPatch) -> list:
    """Fail the test if a connection is attempted."""
    attempts: list = []

    def connect(addresses, timeout):
        attempts.append(addresses)
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(netguard, "_connect", connect)
    return attempts


@pytest.fixture()
def monitor_id(settings) -> str:
    with session_scope() as s:
        m = Monitor(name="hook-security", mapping={"text": "text", "timestamp": "ts"}, model="fake")
        s.add(m)
        s.flush()
        return m.id


def _day(day: int, neg: int, neu: int, pos: int) -> list[tuple[str, str, str, str]]:
    base = datetime(2026, 1, 1) + timedelta(days=day)
    labels = ["negative"] * neg + ["neutral"] * neu + ["positive"] * pos
    return [
        ((base + timedelta(minutes=10 * i)).isoformat(), "air", lab, f"{lab} text {i}") for i, lab in enumerate(labels)
    ]


def _series(spike_days: set[int], days: int = 12) -> MonitorData:
    rows = []
    for d in range(days):
        rows += _day(d, *((14, 2, 4) if d in spike_days else (4, 8, 8)))
    return MonitorData(scored_frame(rows))


# --------------------------------------------------------------------------------------------
# Addresses and validation
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "ip",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.10",
        "172.31.255.1",
        "169.254.169.254",
        "169.254.1.1",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.251",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::127.0.0.1",
        "fe80::1%eth0",
        "fc00::1",
        "fd00:ec2::254",
        "ff02::1",
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "not an ip",
    ],
)
def test_internal_addresses_are_recognised(ip: str) -> None:
    assert netguard.is_internal_address(ip)


@pytest.mark.parametrize("ip", ["8.8.8.8", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(ip: str) -> None:
    assert not netguard.is_internal_address(ip)


@pytest.mark.parametrize("url", LITERAL_INTERNAL)
def test_rule_with_internal_literal_webhook_is_refused(monitor_id: str, url: str) -> None:
    with pytest.raises(UserInputError, match="internal address"):
        alerts.create_rule(monitor_id, "zscore", 3, webhook_url=url)
    rule = alerts.create_rule(monitor_id, "zscore", 3)
    with pytest.raises(UserInputError, match="internal address"):
        alerts.update_rule(rule.id, webhook_url=url)


@pytest.mark.parametrize(
    "url", ["ftp://example.com/x", "file:///etc/passwd", "gopher://example.com:70/", "javascript:alert(1)", "http://"]
)
def test_rule_with_non_http_webhook_is_refused(monitor_id: str, url: str) -> None:
    with pytest.raises(UserInputError, match="http"):
        alerts.create_rule(monitor_id, "zscore", 3, webhook_url=url)


def test_rule_validation_accepts_public_names_and_allowed_literals(monitor_id: str, allow) -> None:
    assert alerts.create_rule(monitor_id, "zscore", 3, webhook_url="https://hooks.example.com/abc").webhook_url
    allow("127.0.0.1, [::1]")
    assert alerts.create_rule(monitor_id, "zscore", 3, webhook_url="http://127.0.0.1:9/x").webhook_url
    assert alerts.create_rule(monitor_id, "zscore", 3, webhook_url="http://[::1]:9/x").webhook_url


# --------------------------------------------------------------------------------------------
# Sending
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_send_to_internal_address_is_refused_without_connecting(
    settings, monkeypatch: pytest.MonkeyPatch, no_connect: list, url: str
) -> None:
    _fake_dns(monkeypatch, {"localhost.localdomain": ["127.0.0.1"]})
    with pytest.raises(BlockedAddressError) as info:
        netguard.post_json(url, {"x": 1})
    assert no_connect == []
    assert "AIGC_WEBHOOK_ALLOWED_HOSTS" in str(info.value)


@pytest.mark.parametrize(
    "answers",
    [["127.0.0.1"], ["10.0.0.7"], ["169.254.169.254"], ["::1"], ["::ffff:127.0.0.1"], ["93.184.216.34", "127.0.0.1"]],
)
def test_host_name_resolving_to_internal_address_is_refused(
    settings, monkeypatch: pytest.MonkeyPatch, no_connect: list, answers: list[str]
) -> None:
    _fake_dns(monkeypatch, {"hooks.evil.test": answers})
    with pytest.raises(BlockedAddressError):
        netguard.post_json("https://hooks.evil.test/x", {"x": 1})
    assert no_connect == []


def test_alert_to_name_resolving_to_loopback_is_not_sent(
    monitor_id: str, server: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The receiver really listens on 127.0.0.1: a name pointing there must not reach it."""
    _fake_dns(monkeypatch, {"hooks.evil.test": ["127.0.0.1"]})
    url = f"http://hooks.evil.test:{server.port}/hook"
    alerts.create_rule(monitor_id, "share_negative", 0.5, window="1D", min_volume=10, webhook_url=url)
    a = evaluation.evaluate(monitor_id, data=_series({10}), now=NOW).fired[0]
    assert server.requests == []
    assert a.webhook_status == "failed" and a.webhook_attempts == 1
    assert (
        "internal" in a.webhook_error and "127.0.0.1" not in a.webhook_error and str(server.port) not in a.webhook_error
    )


def test_stored_rule_with_internal_webhook_is_refused_at_send_time(monitor_id: str, server: _Server) -> None:
    """A rule saved before validation existed (or edited in the store) is still checked when it fires."""
    from aigc_core.store import AlertRule

    with session_scope() as s:
        s.add(
            AlertRule(
                monitor_id=monitor_id, kind="share_negative", threshold=0.5, window="1D", min_volume=10,
                cooldown_s=0, webhook_url=server.url, enabled=True, meta={},
            )
        )  # fmt: skip
    a = evaluation.evaluate(monitor_id, data=_series({10}), now=NOW).fired[0]
    assert server.requests == []
    assert a.webhook_status == "failed" and "internal" in a.webhook_error and a.webhook_attempts == 1
    # The rule can still be paused without fixing its webhook; changing the webhook is validated.
    assert alerts.update_rule(a.rule_id, enabled=False).enabled is False
    with pytest.raises(UserInputError, match="internal address"):
        alerts.update_rule(a.rule_id, webhook_url=server.url)


def test_allowed_host_is_reached_at_the_vetted_address(
    monitor_id: str, server: _Server, monkeypatch: pytest.MonkeyPatch, allow
) -> None:
    allow("Chat.Internal.Test")
    calls = _fake_dns(monkeypatch, {"chat.internal.test": ["127.0.0.1"]})
    url = f"http://chat.internal.test:{server.port}/hook?token=s3cr3t"
    alerts.create_rule(monitor_id, "share_negative", 0.5, window="1D", min_volume=10, webhook_url=url)
    a = evaluation.evaluate(monitor_id, data=_series({10}), now=NOW).fired[0]
    assert a.webhook_status == "sent" and a.webhook_attempts == 1 and a.webhook_error == ""
    assert len(server.requests) == 1
    req = server.requests[0]
    assert req["method"] == "POST" and req["path"] == "/hook?token=s3cr3t"
    assert req["host"] == f"chat.internal.test:{server.port}"
    assert json.loads(req["body"])["alert_id"] == a.id
    assert calls.count("chat.internal.test") == 1  # looked up once: the connection used the checked address


def test_connection_uses_the_checked_address_not_a_second_lookup(settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: the first answer is public, a second lookup would say 127.0.0.1; only the first is used."""
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])
    calls: list[str] = []

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        calls.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in next(answers)]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    connected: list = []

    def connect(addresses, timeout):
        connected.extend(sa for *_, sa in addresses)
        raise ConnectionRefusedError("refused")

    monkeypatch.setattr(netguard, "_connect", connect)
    with pytest.raises(WebhookError):
        netguard.post_json("https://rebind.test/hook", {"x": 1})
    assert calls == ["rebind.test"] and connected == [("93.184.216.34", 443)]


def _self_signed(tmp_path, name: str) -> tuple[str, str]:
    """A certificate for ``name`` and its key, as PEM files."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


def test_https_uses_the_host_name_for_sni_and_the_certificate(
    settings, tmp_path, monkeypatch: pytest.MonkeyPatch, allow
) -> None:
    import ssl

    cert, key = _self_signed(tmp_path, "tls.internal.test")
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    sni: list[str | None] = []
    server_ctx.sni_callback = lambda sock, name, ctx: sni.append(name)
    srv = _Server()
    srv.server.socket = server_ctx.wrap_socket(srv.server.socket, server_side=True)
    real_ctx = ssl.create_default_context
    monkeypatch.setattr(ssl, "create_default_context", lambda *a, **k: real_ctx(cafile=cert))
    _fake_dns(monkeypatch, {"tls.internal.test": ["127.0.0.1"], "other.internal.test": ["127.0.0.1"]})
    allow("tls.internal.test,other.internal.test")
    try:
        assert netguard.post_json(f"https://tls.internal.test:{srv.port}/hook", {"x": 1}) == 200
        assert sni == ["tls.internal.test"] and srv.requests[0]["host"] == f"tls.internal.test:{srv.port}"
        # Same address, another name: the certificate does not match it.
        with pytest.raises(WebhookError, match="could not reach"):
            netguard.post_json(f"https://other.internal.test:{srv.port}/hook", {"x": 1})
        assert len(srv.requests) == 1
    finally:
        srv.close()


def test_successful_post_to_allowed_loopback(settings, server: _Server, allow) -> None:
    allow("127.0.0.1")
    assert netguard.post_json(server.url, {"hello": "world"}) == 200
    assert json.loads(server.requests[0]["body"]) == {"hello": "world"}


def test_redirect_is_not_followed(monitor_id: str, server: _Server, allow) -> None:
    allow("127.0.0.1")
    server.status = 302
    server.location = f"http://127.0.0.1:{server.port}/target"
    alerts.create_rule(monitor_id, "share_negative", 0.5, window="1D", min_volume=10, webhook_url=server.url)
    a = evaluation.evaluate(monitor_id, data=_series({10}), now=NOW).fired[0]
    assert a.webhook_status == "failed" and a.webhook_attempts == 1
    assert a.webhook_error == "the webhook answered with a redirect; give its final address"
    assert [r["path"] for r in server.requests] == ["/hook"]  # the target was never requested


def test_connection_errors_are_generic(monitor_id: str, allow) -> None:
    """A closed port and an HTTP answer differ, but no socket error, address or port is shown."""
    allow("127.0.0.1")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    alerts.create_rule(
        monitor_id, "share_negative", 0.5, window="1D", min_volume=10, webhook_url=f"http://127.0.0.1:{port}/x"
    )
    a = evaluation.evaluate(monitor_id, data=_series({10}), now=NOW).fired[0]
    assert a.webhook_status == "failed"
    assert a.webhook_error.startswith("could not reach the webhook")
    assert str(port) not in a.webhook_error and "Errno" not in a.webhook_error and "refused" not in a.webhook_error


# --------------------------------------------------------------------------------------------
# Cap, failures, retries
# --------------------------------------------------------------------------------------------
def test_webhooks_per_rule_are_capped(monitor_id: str, server: _Server, allow) -> None:
    allow("127.0.0.1")
    spikes = {3, 4, 5, 6, 7, 8, 9, 10}
    rule = alerts.create_rule(
        monitor_id, "share_negative", 0.5, window="1D", min_volume=10, cooldown_s=0, webhook_url=server.url
    )
    ev = evaluation.evaluate(monitor_id, data=_series(spikes), now=NOW)
    assert len(ev.fired) == len(spikes) and all(a.rule_id == rule.id for a in ev.fired)
    assert len(server.requests) == webhooks.MAX_WEBHOOKS_PER_RULE
    sent = [a for a in ev.fired if a.webhook_status == "sent"]
    skipped = [a for a in ev.fired if a.webhook_status == "skipped"]
    assert len(sent) == webhooks.MAX_WEBHOOKS_PER_RULE and len(skipped) == len(spikes) - webhooks.MAX_WEBHOOKS_PER_RULE
    assert min(a.window_start for a in sent) > max(a.window_start for a in skipped)  # the newest were posted
    assert all("not sent" in a.webhook_error and a.webhook_attempts == 0 for a in skipped)
    # Skipped alerts are not retried later.
    assert evaluation.evaluate(monitor_id, data=_series(spikes), now=NOW + timedelta(days=1)).retried == []
    assert len(server.requests) == webhooks.MAX_WEBHOOKS_PER_RULE


def test_failing_send_is_caught_recorded_and_backed_off(monitor_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    posts: list[str] = []

    def boom(url, body, *, timeout=webhooks.WEBHOOK_TIMEOUT_S):
        posts.append(url)
        raise RuntimeError("redis at 10.1.2.3:6379 said NOAUTH")

    monkeypatch.setattr(webhooks, "post_json", boom)
    alerts.create_rule(
        monitor_id, "share_negative", 0.5, window="1D", min_volume=10, webhook_url="https://hooks.example.com/x"
    )
    data = _series({10})
    a = evaluation.evaluate(monitor_id, data=data, now=NOW).fired[0]
    assert a.webhook_status == "failed" and a.webhook_attempts == 1
    assert a.webhook_error == webhooks.SEND_FAILED and "10.1.2.3" not in a.webhook_error
    assert a.next_retry_at == NOW + timedelta(seconds=webhooks.RETRY_BASE_S)
    # Within the backoff: not retried.
    assert evaluation.evaluate(monitor_id, data=data, now=NOW + timedelta(seconds=10)).retried == []
    assert len(posts) == 1
    # Each retry doubles the wait, until MAX_WEBHOOK_ATTEMPTS.
    t = NOW
    for attempt in range(2, webhooks.MAX_WEBHOOK_ATTEMPTS + 1):
        due = alerts.get_alert(a.id).next_retry_at
        assert due == t + timedelta(seconds=webhooks.RETRY_BASE_S * 2 ** (attempt - 2))
        t = due
        retried = webhooks.deliver_due(monitor_id, now=t)
        assert [r.id for r in retried] == [a.id] and retried[0].webhook_attempts == attempt
    final = alerts.get_alert(a.id)
    assert final.webhook_status == "failed" and "gave up" in final.webhook_error and final.next_retry_at is None
    assert webhooks.deliver_due(monitor_id, now=t + timedelta(days=30)) == []
    assert len(posts) == webhooks.MAX_WEBHOOK_ATTEMPTS


def test_webhook_errors_from_netguard_are_shown_as_is(monitor_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(url, body, *, timeout=webhooks.WEBHOOK_TIMEOUT_S):
        raise WebhookError("the webhook answered HTTP 503")

    monkeypatch.setattr(webhooks, "post_json", refuse)
    alerts.create_rule(
        monitor_id, "share_negative", 0.5, window="1D", min_volume=10, webhook_url="https://hooks.example.com/x"
    )
    a = evaluation.evaluate(monitor_id, data=_series({10}), now=NOW).fired[0]
    assert a.webhook_error == "the webhook answered HTTP 503"


# --------------------------------------------------------------------------------------------
# Masking
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (
            "https://hooks.slack.com/services/T0001/B0002/XXXXXXXXXXXXXXXXXXXXXXXX",
            "https://hooks.slack.com/services/***/***/***",
        ),
        ("https://discord.com/api/webhooks/123456/abcDEF-token", "https://discord.com/api/webhooks/***/***"),
        (
            "https://acme.webhook.office.com/webhookb2/1234-abcd@tenant/IncomingWebhook/ffff/eeee",
            "https://acme.webhook.office.com/webhookb2/***/***/***/***",
        ),
        ("https://api.telegram.org/bot123:ABC/sendMessage", "https://api.telegram.org/***/***"),
        ("https://example.com/notify?token=s3cr3t&channel=ops", "https://example.com/notify?token=***&channel=***"),
        ("https://user:pa55@example.com:8443/hook", "https://***@example.com:8443/hook"),
        ("https://chat.example.com/hooks/k9x8c7v6b5n4m3", "https://chat.example.com/hooks/***"),
        ("https://example.com/a/4f9e8d7c6b5a4f3e2d1c0b9a/x", "https://example.com/a/***/x"),
        ("https://example.com/hook#frag", "https://example.com/hook#***"),
        ("https://example.com/plain/path", "https://example.com/plain/path"),
        ("", ""),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_rule_and_alert_info_expose_masked_urls(monitor_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webhooks, "post_json", lambda url, body, **_: 200)
    url = "https://hooks.slack.com/services/T0001/B0002/SECRETSECRETSECRET"
    rule = alerts.create_rule(monitor_id, "share_negative", 0.5, window="1D", min_volume=10, webhook_url=url)
    assert rule.webhook_url_masked == "https://hooks.slack.com/services/***/***/***"
    assert "SECRET" not in repr(rule)
    a = evaluation.evaluate(monitor_id, data=_series({10}), now=NOW).fired[0]
    assert a.webhook_status == "sent" and a.webhook_url_masked == rule.webhook_url_masked
    assert "SECRET" not in repr(a)


def test_refusal_messages_mask_the_url(monitor_id: str) -> None:
    with pytest.raises(UserInputError) as info:
        alerts.create_rule(monitor_id, "zscore", 3, webhook_url="http://10.0.0.1/hook?key=TOPSECRET")
    assert "TOPSECRET" not in str(info.value)
    with pytest.raises(UserInputError) as info:
        alerts.create_rule(monitor_id, "zscore", 3, webhook_url="ftp://u:TOPSECRET@example.com/")
    assert "TOPSECRET" not in str(info.value)

"""The OpenAI-compatible server backend without a model: a server that is down, slow, answers garbage or wants a
key gives a clear message with a hint; the per-process slot gate queues first come, first served; token counts
are estimated on the safe side and round-trip. The real llama.cpp server is in test_openai_backend_server.py."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from aigc_core.copy import openai_backend as ob
from aigc_core.settings import reset_settings

BRIEF = {"product": "AquaPure bottle", "key_points": "Keeps drinks cold", "channel": "slogan", "n_variants": 1}


def free_port() -> int:
    """A TCP port nothing listens on (bound once, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FakeServer:
    """A tiny HTTP server on loopback that answers like a broken (or fine) OpenAI-compatible server."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.auth: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _send(self, code: int, body: str, ctype: str = "application/json") -> None:
                data = body.encode()
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (the timeout test)
                    pass

            def do_GET(self) -> None:
                outer.auth.append(self.headers.get("Authorization", ""))
                if outer.mode == "html":
                    self._send(200, "<html><body>Welcome to nginx!</body></html>", "text/html")
                elif outer.mode == "auth" and self.headers.get("Authorization") != "Bearer s3cret":
                    self._send(401, json.dumps({"error": {"message": "invalid api key"}}))
                else:
                    self._send(200, json.dumps({"object": "list", "data": [{"id": "fake", "owned_by": "test"}]}))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                self.rfile.read(length)
                if outer.mode == "slow":
                    time.sleep(3)
                if outer.mode == "garbage":
                    self._send(200, json.dumps({"hello": "world"}))
                elif outer.mode == "error":
                    self._send(500, json.dumps({"error": {"message": "CUDA out of memory"}}))
                else:
                    msg = {"role": "assistant", "content": "Cold drinks, all day."}
                    choice = {"index": 0, "message": msg, "finish_reason": "stop"}
                    self._send(200, json.dumps({"id": "x", "object": "chat.completion", "choices": [choice]}))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def use_server(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Point the backend at a URL (call it with one); settings and the backend's caches are reset around it."""

    def point(url: str, **extra: str) -> None:
        monkeypatch.setenv("AIGC_TEXT_GENERATION_BACKEND", "server")
        monkeypatch.setenv("AIGC_TEXT_GENERATION_SERVER_URL", url)
        for k, v in extra.items():
            monkeypatch.setenv(f"AIGC_TEXT_GENERATION_SERVER_{k.upper()}", v)
        reset_settings()
        ob.clear()

    yield point
    ob.clear()


@pytest.fixture()
def fake_server() -> Iterator[Any]:
    servers: list[FakeServer] = []

    def start(mode: str) -> FakeServer:
        servers.append(FakeServer(mode))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def test_a_server_that_is_down_gives_a_clear_message(use_server: Any) -> None:
    from aigc_core.copy.generate import generate_copy, start_copy
    from aigc_core.copy.history import list_history
    from aigc_core.copy.lm import load_language_model

    port = free_port()
    use_server(f"http://127.0.0.1:{port}")
    with pytest.raises(ob.InferenceServerError) as info:
        load_language_model(None)
    assert f"127.0.0.1:{port}/v1 is not reachable" in info.value.message
    assert "AIGC_TEXT_GENERATION_SERVER_URL" in (info.value.hint or "")
    assert "llama_cpp.server" in (info.value.hint or "")
    with pytest.raises(ob.InferenceServerError):  # the page's path: nothing starts, nothing is saved
        start_copy(BRIEF, save=True)
    with pytest.raises(ob.InferenceServerError):
        generate_copy(BRIEF, save=True)
    assert list_history() == []
    h = ob.health(fresh=True)
    assert not h.ok and "not reachable" in h.message and h.models == []


def test_no_url_set_says_which_setting(use_server: Any) -> None:
    from aigc_core.copy.lm import load_language_model

    use_server("")
    with pytest.raises(ob.InferenceServerError) as info:
        load_language_model(None)
    assert "AIGC_TEXT_GENERATION_SERVER_URL" in (info.value.hint or "")


def test_a_web_page_instead_of_the_api_is_called_garbage(use_server: Any, fake_server: Any) -> None:
    from aigc_core.copy.lm import load_language_model

    srv = fake_server("html")
    use_server(srv.url)
    with pytest.raises(ob.InferenceServerError) as info:
        load_language_model(None)
    assert "not an OpenAI-compatible" in info.value.message
    assert "(…/v1)" in (info.value.hint or "")


def test_a_completion_without_choices_is_called_garbage(use_server: Any, fake_server: Any) -> None:
    from aigc_core.copy.generate import generate_copy

    srv = fake_server("garbage")
    use_server(srv.url)
    with pytest.raises(ob.InferenceServerError) as info:
        generate_copy(BRIEF, sentiment=False, use_history=False)
    assert "not an OpenAI-compatible completion" in info.value.message


def test_a_slow_server_times_out_with_the_setting_named(use_server: Any, fake_server: Any) -> None:
    from aigc_core.copy.lm import load_language_model

    srv = fake_server("slow")
    use_server(srv.url, timeout_s="0.5")
    lm = load_language_model(None)  # listing models is quick; the completion is not
    assert isinstance(lm, ob.ServerLM) and lm.name == "fake" and lm.backend == "server"
    with pytest.raises(ob.InferenceServerError) as info:
        lm.sample("<|user|>\nhi\n", 2, {"max_new_tokens": 8}, seed=1)
    assert "did not answer within 0.5 s" in info.value.message
    assert "AIGC_TEXT_GENERATION_SERVER_TIMEOUT_S" in (info.value.hint or "")


def test_a_server_error_is_shown_with_its_message(use_server: Any, fake_server: Any) -> None:
    from aigc_core.copy.lm import load_language_model

    srv = fake_server("error")
    use_server(srv.url)
    lm = load_language_model(None)
    with pytest.raises(ob.InferenceServerError) as info:
        lm.sample("hi", 1, {"max_new_tokens": 8}, seed=1)
    assert "error 500: CUDA out of memory" in info.value.message


def test_the_api_key_comes_from_a_secret_file(use_server: Any, fake_server: Any, tmp_path: Any) -> None:
    from aigc_core.copy.lm import load_language_model

    srv = fake_server("auth")
    use_server(srv.url)
    with pytest.raises(ob.InferenceServerError) as info:
        load_language_model(None)
    assert "refused the API key" in info.value.message and "API_KEY" in (info.value.hint or "")
    secret = tmp_path / "llm_key"
    secret.write_text("s3cret\n")
    use_server(srv.url, api_key_file=str(secret))
    lm = load_language_model(None)
    prompt = lm.tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], add_generation_prompt=True)
    rows, _ = lm.sample(prompt, 1, {"max_new_tokens": 8}, seed=1)
    assert rows[0].text == "Cold drinks, all day." and srv.auth[-1] == "Bearer s3cret"


def test_the_home_check_runs_on_the_server(use_server: Any, fake_server: Any) -> None:
    from aigc_core.tasks.text_generation import generate

    srv = fake_server("ok")
    use_server(srv.url)
    res = generate("Write a slogan.", max_new_tokens=16, seed=0)
    assert res.texts == ["Cold drinks, all day."] and res.model == "fake"


def test_slot_gate_admits_n_at_once_first_come_first_served() -> None:
    gate = ob.SlotGate(2)
    running, peak, order = [0], [0], []
    lock = threading.Lock()
    release = threading.Event()
    idents: dict[int, int] = {}

    def work(i: int) -> None:
        idents[i] = threading.get_ident()
        with gate:
            with lock:
                order.append(i)
                running[0] += 1
                peak[0] = max(peak[0], running[0])
            release.wait(5)
            with lock:
                running[0] -= 1

    threads = []
    for i in range(5):
        t = threading.Thread(target=work, args=(i,))
        t.start()
        threads.append(t)
        while i not in idents or not gate.holds_ticket(idents[i]):
            time.sleep(0.005)
    assert order == [0, 1] and gate.locked()
    assert [gate.ahead(idents[i]) for i in range(5)] == [0, 0, 2, 3, 4]
    release.set()
    for t in threads:
        t.join(5)
    assert peak[0] == 2 and sorted(order) == [0, 1, 2, 3, 4] and order[2:] == [2, 3, 4]
    assert not gate.locked() and gate.ahead(idents[4]) == 0


def test_estimated_tokens_round_trip_and_err_on_the_safe_side() -> None:
    tok = ob.ServerTokenizer(2048)
    text = "AquaPure keeps drinks cold for 24 hours! 保温杯，全天冰爽。"
    ids = tok(text)["input_ids"]
    assert tok.decode(ids) == text and tok.decode(ids[:3]) == "Aqua" + "Pure" + " "
    assert len(ids) >= len(text.split()) + 9  # at least a token per word and per CJK character
    msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "A slogan."}]
    prompt = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    assert tok.messages_for(prompt) == msgs and tok.messages_for("other") is None


def test_models_page_shows_the_backend_of_each_task_and_its_health(use_server: Any, fake_server: Any) -> None:
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    page = str(Path(__file__).resolve().parents[2] / "pages" / "models_jobs.py")
    srv = fake_server("ok")
    use_server(srv.url)
    at = AppTest.from_file(page, default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    table = next(d.value for d in at.dataframe if "Backend" in d.value.columns)
    row = table[table["Task"] == "text-generation"].iloc[0]
    assert row["Backend"] == "OpenAI-compatible server (test)" and row["Model"] == "fake" and bool(row["OK"])
    assert srv.url in row["Where"] and "serves fake" in row["Health"]
    assert set(table["Task"]) >= {"text-generation", "sentence-embeddings"}

    use_server(f"http://127.0.0.1:{free_port()}")  # the server goes down: the page says so
    at.button(key="mj_backends_refresh").click().run()
    assert not at.exception, at.exception
    assert any("Text generation cannot run" in w.value and "not reachable" in w.value for w in at.warning)

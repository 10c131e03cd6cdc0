"""Ad copy through a real OpenAI-compatible server: llama.cpp's server (``python -m llama_cpp.server``, from
llama-cpp-python's server extra) on 127.0.0.1 serving the embedded SmolLM2-135M-Instruct GGUF.

Skipped, with the reason, when llama_cpp cannot be imported (or crashes on this CPU), when the server extra's
packages are missing (requirements-dev.txt), or when the embedded GGUF is not installed. Short outputs only."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aigc_core.copy import generate as gen
from aigc_core.copy import openai_backend as ob
from aigc_core.settings import reset_settings
from tests.copy.test_llama_backend import _gguf, llama_problem
from tests.copy.test_openai_backend import free_port

SERVER_DEPS = ("fastapi", "uvicorn", "sse_starlette", "starlette_context", "pydantic_settings")
ALIAS = "smollm2-135m-instruct"
BRIEF = {
    "product": "AquaPure insulated bottle",
    "key_points": "Keeps drinks cold for 24 hours\nBPA-free steel",
    "audience": "hikers",
    "channel": "search_headline",
    "n_variants": 1,
    "seed": 3,
    "max_new_tokens": 16,
}


def server_problem() -> str | None:
    """Why the real server cannot run here (None: it can)."""
    problem = llama_problem()
    if problem:
        return problem
    missing = [m for m in SERVER_DEPS if importlib.util.find_spec(m) is None]
    if missing:
        return (
            f"llama.cpp's server needs {', '.join(missing)}: install requirements-dev.txt "
            "(pip install -r requirements-dev.txt)"
        )
    return None


def start_server(gguf: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """llama.cpp's server on 127.0.0.1:port with one thread (the command the README documents)."""
    cmd = ob.llama_cpp_server_command(gguf, port, alias=ALIAS, threads=1)
    return subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, env={**os.environ})


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 90.0) -> None:
    """Until ``GET /v1/models`` answers (fails the test with the server's log when it dies or never does)."""
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"llama.cpp's server exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"llama.cpp's server did not answer within {timeout_s:.0f} s:\n{log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    problem = server_problem()
    if problem:
        pytest.skip(problem)
    gguf = _gguf()
    assert gguf is not None
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    log = tmp_path_factory.mktemp("llama_server") / "server.log"
    proc = start_server(gguf, port, log)
    try:
        wait_ready(url, proc, log)
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("AIGC_TEXT_GENERATION_BACKEND", "server")
            mp.setenv("AIGC_TEXT_GENERATION_SERVER_URL", url)
            mp.setenv("AIGC_TEXT_GENERATION_SERVER_TIMEOUT_S", "120")
            reset_settings()
            ob.clear()
            yield {"url": url, "proc": proc, "port": port, "gguf": gguf, "log": log}
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        ob.clear()
        reset_settings()


@pytest.fixture()
def lm(server: dict[str, Any], settings: Any) -> Any:
    from aigc_core.copy.lm import load_language_model

    ob.clear()
    return load_language_model(None)


def test_the_server_is_found_and_healthy(server: dict[str, Any], lm: Any) -> None:
    assert isinstance(lm, ob.ServerLM) and lm.backend == "server" and lm.name == ALIAS
    assert lm.server_kind == "llama.cpp" and lm.chat and lm.device == "server"
    row = ob.describe(fresh=True)
    assert row["healthy"] and row["model"] == ALIAS and server["url"] in row["where"]
    from aigc_core.models.manager import task_backends

    tg = next(r for r in task_backends() if r.task == "text-generation")
    assert tg.backend.startswith("OpenAI-compatible server") and tg.healthy and tg.model == ALIAS


def test_n_samples_seeded_with_logprobs_plain_text(lm: Any) -> None:
    from aigc_core.copy.lm import BANNED_CHARS

    prompt = lm.tokenizer.apply_chat_template(
        [{"role": "user", "content": "Write a Markdown list with a # heading and a [link] about bottles."}],
        add_generation_prompt=True,
    )
    kwargs = {"max_new_tokens": 10, "temperature": 0.9, "top_p": 0.95, "top_k": 40, "repetition_penalty": 1.1}
    rows, new_tokens = lm.sample(prompt, 3, kwargs, seed=3, plain_text=True)
    assert len(rows) == 3 and 0 < new_tokens <= 3 * 11
    for s in rows:
        assert s.text.strip() and "\n" not in s.text and not set(BANNED_CHARS) & set(s.text), s.text
        assert isinstance(s.logprob, float) and s.logprob < 0
    again, _ = lm.sample(prompt, 3, kwargs, seed=3, plain_text=True)
    assert [s.text for s in again] == [s.text for s in rows]  # the server honours the seed
    other, _ = lm.sample(prompt, 3, kwargs, seed=40, plain_text=True)
    assert [s.text for s in other] != [s.text for s in rows]


def test_ad_copy_streams_checks_and_saves_through_the_server(
    server: dict[str, Any], lm: Any, fake_embedder: Any
) -> None:
    from aigc_core.copy.history import list_history

    run = gen.start_copy(BRIEF, save=True, sentiment=False, embedder=fake_embedder, use_history=False)
    assert run.lm is lm and run.queued_behind() == 0
    streamed = "".join(run.stream())
    res = run.result(timeout=180)
    assert streamed.strip() and res.backend == "server" and res.model == ALIAS
    assert res.candidates in (3, 3 + 4) and res.new_tokens > 0 and res.first_token_s is not None
    assert res.n_examples == gen.N_EXAMPLES and res.prompt_tokens > 0
    assert len(res.variants) <= 1 and all(v.passes for v in res.variants)
    for v in [*res.variants, *res.held_back]:
        assert v.checks is not None and v.logprob is not None and v.logprob < 0
    saved = list_history()
    assert [e.id for e in saved] == [res.generation_id]

    # the server goes away: a clear message, and what was saved is still there
    server["proc"].terminate()
    server["proc"].wait(10)
    with pytest.raises(ob.InferenceServerError) as info:
        gen.generate_copy(BRIEF, save=True, sentiment=False, embedder=fake_embedder, use_history=False)
    assert "is not reachable" in info.value.message and info.value.hint
    assert [e.id for e in list_history()] == [res.generation_id]

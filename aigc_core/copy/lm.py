"""The language model for ad copy, loaded through the model manager, behind one interface with two backends:

* ``transformers`` — any causal LM folder, hub id or registry version (fine-tuned brand voices included); the
  embedded GGUF is converted once to a safetensors folder for it. ``n`` variants come from one batched
  ``generate`` call that prefills the prompt once.
* ``llama.cpp`` — GGUF files run natively by ``llama-cpp-python`` (no conversion, loads in about a second, faster
  decoding on a CPU). The default for the embedded models when the package is installed
  (``AIGC_TEXT_GENERATION_BACKEND``). Variants are sampled one after another on a shared prompt cache.
* ``server`` — an OpenAI-compatible inference server (``copy/openai_backend.py``: vLLM, llama.cpp's server …);
  variants are parallel requests, and concurrent users share the server's slots instead of one lock.

Both report each sample's mean token log-probability under the model (the copy checks' fluency signal) and can
stream the first sample. A lock serialises generation on one model object."""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from aigc_core.errors import AigcError, ModelUnavailableError
from aigc_core.settings import get_settings

log = logging.getLogger(__name__)
TASK = "text-generation"
SETTING_HINT = (
    "Set AIGC_TEXT_GENERATION_MODEL to a model that is on this machine (a local folder, a downloaded hub id, "
    "or `auto` for the embedded model), or pick one in the brief's Model field."
)
# Characters a plain-text ad never needs and that small models use for placeholders, Markdown and links.
BANNED_CHARS = "[]{}<>#*@|\\`_~^"


class Sample(NamedTuple):
    """One sampled continuation."""

    text: str
    hit_limit: bool  # stopped by the token limit rather than by the model
    logprob: float | None = None  # mean log-probability per token under the model (None: not measured)


class Streamer:
    """Text chunks of the first sample into a queue (None ends it), and when its first token came."""

    def __init__(self) -> None:
        self.queue: queue.Queue[str | None] = queue.Queue()
        self.first_token_at: float | None = None
        self.done = False

    def send(self, text: str) -> None:
        """Queue a chunk of new text."""
        if self.first_token_at is None:
            self.first_token_at = time.perf_counter()
        if text and not self.done:
            self.queue.put(text)

    def end(self) -> None:
        """No more text."""
        if not self.done:
            self.done = True
            self.queue.put(None)


class FirstRowStreamer(Streamer):
    """A ``generate`` streamer that decodes row 0 of a batch incrementally (the transformers backend)."""

    def __init__(self, tokenizer: Any, eos_ids: set[int]) -> None:
        super().__init__()
        self.tokenizer = tokenizer
        self.eos_ids = eos_ids
        self.ids: list[int] = []
        self.sent = ""
        self.prompt_seen = False

    def put(self, value: Any) -> None:
        """Receive the prompt (skipped) or the next token of every row."""
        if not self.prompt_seen:
            self.prompt_seen = True
            return
        if self.done:
            return
        if self.first_token_at is None:
            self.first_token_at = time.perf_counter()
        token = int(value.reshape(-1)[0]) if value.dim() <= 1 else int(value[0, -1])
        if token in self.eos_ids:
            self.end()
            return
        self.ids.append(token)
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        if text.endswith("\ufffd"):  # an incomplete multi-byte character: wait for the next token
            return
        new = text[len(self.sent) :]
        if new:
            self.sent = text
            self.queue.put(new)


@dataclass
class LanguageModel:
    """A loaded causal LM: its tokenizer (or an adapter with the same calls), name, backend and a lock."""

    model: Any
    tokenizer: Any
    name: str
    revision: str = ""
    lock: TicketLock = field(default_factory=lambda: TicketLock(), repr=False)
    backend: str = "transformers"
    chat: bool = True  # instruction-tuned (chat prompts) or a base model (completion prompts with examples)
    languages: tuple[str, ...] = ()

    @property
    def device(self) -> Any:
        """The device the weights are on."""
        return next(self.model.parameters()).device

    @property
    def context(self) -> int:
        """Tokens the model can attend to (prompt + new tokens)."""
        cfg = getattr(self.model, "config", None)
        n = getattr(cfg, "max_position_embeddings", None) or 2048
        tok_max = getattr(self.tokenizer, "model_max_length", None)
        if isinstance(tok_max, int) and 0 < tok_max < 1_000_000:
            n = min(n, tok_max)
        return int(n)

    def make_streamer(self) -> Streamer:
        """A streamer for the first sample of :meth:`sample`."""
        eos = self.tokenizer.eos_token_id
        return FirstRowStreamer(self.tokenizer, {eos} if isinstance(eos, int) else set(eos or []))

    def sample(
        self,
        prompt: str,
        n: int,
        gen_kwargs: dict[str, Any],
        *,
        seed: int,
        streamer: Streamer | None = None,
        stop: tuple[str, ...] = (),
        plain_text: bool = False,
    ) -> tuple[list[Sample], int]:
        """``n`` continuations of ``prompt`` and the new tokens they took. ``plain_text`` keeps the output
        to one paragraph without the characters in BANNED_CHARS (constrained decoding).

        Calls from other sessions that wait for the model meanwhile are merged into one batched ``generate``
        (``AIGC_TEXT_GENERATION_BATCHING``): the first in the queue runs its request and every compatible
        waiting one together, the others then return their rows at once."""
        kwargs = dict(gen_kwargs)
        if plain_text:
            kwargs["bad_words_ids"] = banned_token_ids(self.tokenizer)
        req = _Request(prompt, n, kwargs, seed, streamer)
        req.stop = stop
        batching = get_settings().text_generation_batching
        pending = _pending(self.model)
        if batching:
            with _cache_lock:
                pending.append(req)
        try:
            with self.lock:
                if not req.done:
                    group = [req]
                    if batching:
                        with _cache_lock:
                            group += [r for r in pending if r is not req and not r.done and r.compatible(req)]
                    self._run(group)
        finally:
            if batching:
                with _cache_lock:
                    if req in pending:
                        pending.remove(req)
        if req.error is not None:
            raise req.error
        assert req.rows is not None
        return req.rows, req.new_tokens

    def _run(self, group: list[_Request]) -> None:
        """One ``generate`` for the requests of ``group`` (their rows side by side); fills each one's rows."""
        lock = self.lock
        first = group[0]
        idents = [r.thread for r in group[1:]]
        if idents and hasattr(lock, "mark_running"):
            lock.mark_running(idents)  # merged waiters are no longer "queued" for the page
        try:
            if len(group) == 1:
                # With a static cache (compiled decode step) every new shape recompiles: left-pad to buckets of 64.
                bucket = {"padding": True, "pad_to_multiple_of": 64} if "cache_implementation" in first.kwargs else {}
                enc = self.tokenizer(first.prompt, return_tensors="pt", add_special_tokens=False, **bucket)
                enc = {k: v.to(self.device) for k, v in enc.items()}
                out = sample_batch(self.model, enc, first.n, first.kwargs, seed=first.seed, streamer=first.streamer)
                self._rows(first, out, enc["input_ids"].shape[1], 0)
                return
            import torch

            enc = self.tokenizer([r.prompt for r in group], return_tensors="pt", add_special_tokens=False, padding=True)
            index = torch.tensor([i for i, r in enumerate(group) for _ in range(r.n)], device=self.device)
            enc = {k: v.to(self.device) for k, v in enc.items()}
            batch = {k: v[index] for k, v in enc.items()}
            kwargs = dict(first.kwargs, max_new_tokens=max(int(r.kwargs.get("max_new_tokens") or 0) for r in group))
            offsets, at = [], 0
            for r in group:
                offsets.append(at)
                at += r.n
            streamer = _RowsStreamer([(o, r.streamer) for o, r in zip(offsets, group, strict=True) if r.streamer])
            log.info("merged %d concurrent generation requests into one batch of %d rows", len(group), at)
            out = sample_merged(self.model, enc, index, kwargs, seed=first.seed, streamer=streamer)
            for o, r in zip(offsets, group, strict=True):
                self._rows(r, out, batch["input_ids"].shape[1], o)
        except BaseException as exc:
            for r in group:
                r.error = exc
            raise
        finally:
            for r in group:
                if r.streamer is not None and r is not first:
                    r.streamer.end()
                r.done = True

    def _rows(self, req: _Request, out: Any, start: int, offset: int) -> None:
        """Decode the ``req.n`` rows of ``out`` from ``offset`` (new tokens from ``start``, cut at its limit)."""
        seqs = out.sequences if hasattr(out, "sequences") else out
        logits = getattr(out, "logits", None)
        pad = self.tokenizer.pad_token_id
        eos = self.tokenizer.eos_token_id
        limit = int(req.kwargs.get("max_new_tokens") or 0) or None
        rows: list[Sample] = []
        new_tokens = 0
        for r, row in enumerate(seqs[offset : offset + req.n, start:].tolist(), start=offset):
            row = row[:limit] if limit else row
            ended = eos is not None and eos in row
            keep = row[: row.index(eos)] if ended else [t for t in row if t != pad]
            new_tokens += len(keep) + (1 if ended else 0)
            text = self.tokenizer.decode(keep, skip_special_tokens=True)
            for s in req.stop:
                if s in text:
                    text, ended = text[: text.index(s)], True
            lp = _mean_logprob(logits, r, keep) if logits is not None else None
            rows.append(Sample(text, not ended, lp))
        req.rows, req.new_tokens = rows, new_tokens


class _Request:
    """One :meth:`LanguageModel.sample` call waiting for (or merged into) a batched ``generate``."""

    def __init__(self, prompt: str, n: int, kwargs: dict[str, Any], seed: int, streamer: Any) -> None:
        self.prompt, self.n, self.kwargs, self.seed, self.streamer = prompt, n, kwargs, seed, streamer
        self.stop: tuple[str, ...] = ()
        self.thread = threading.get_ident()
        self.done = False
        self.rows: list[Sample] | None = None
        self.new_tokens = 0
        self.error: BaseException | None = None

    def compatible(self, other: _Request) -> bool:
        """Same sampling options (the token limit aside): rows of both can share one ``generate``."""
        a = {k: v for k, v in self.kwargs.items() if k != "max_new_tokens"}
        b = {k: v for k, v in other.kwargs.items() if k != "max_new_tokens"}
        return a == b and "cache_implementation" not in a


class _RowsStreamer:
    """A ``generate`` streamer that hands each merged request's first row to that request's streamer."""

    def __init__(self, targets: list[tuple[int, Any]]) -> None:
        self.targets = targets

    def put(self, value: Any) -> None:
        """The prompt (every row), then the next token of every row."""
        for offset, streamer in self.targets:
            streamer.put(value[offset : offset + 1])

    def end(self) -> None:
        """Generation finished."""
        for _, streamer in self.targets:
            streamer.end()


_pending_requests: dict[int, list[_Request]] = {}


def _pending(model: Any) -> list[_Request]:
    """The requests waiting for ``model`` (one list per model object, like its lock)."""
    with _cache_lock:
        return _pending_requests.setdefault(id(model), [])


def _mean_logprob(logits: Any, row: int, ids: list[int]) -> float | None:
    """Mean log-probability of ``ids`` under the per-step raw logits of one row."""
    if not ids:
        return None
    total = 0.0
    for step, tok in enumerate(ids[: len(logits)]):
        total += float(logits[step][row].float().log_softmax(-1)[tok])
    return total / min(len(ids), len(logits))


_banned_cache: dict[int, list[list[int]]] = {}


def banned_token_ids(tokenizer: Any) -> list[list[int]]:
    """Token ids whose text holds a banned character or a newline (for ``bad_words_ids``), once per tokenizer."""
    key = id(tokenizer)
    if key not in _banned_cache:
        specials = set(getattr(tokenizer, "all_special_ids", []) or [])
        out = []
        for tid in range(len(tokenizer)):
            if tid in specials:
                continue
            piece = tokenizer.decode([tid])
            if "\n" in piece or any(c in piece for c in BANNED_CHARS):
                out.append([tid])
        _banned_cache[key] = out
    return _banned_cache[key]


def sample_batch(
    model: Any, enc: dict[str, Any], n: int, gen_kwargs: dict[str, Any], *, seed: int, streamer: Any = None
) -> Any:
    """ONE ``generate`` call that samples ``n`` continuations of one encoded prompt, seeded by a per-call
    generator state; returns ``generate``'s output with the raw per-step logits.

    The prompt is encoded once (prefill at batch 1) and its KV cache repeated for the ``n`` rows, instead of
    ``num_return_sequences`` prefilling ``n`` copies of the same prompt. With a static cache (CUDA: ``generate``
    compiles its decoding step) the rows are expanded by ``generate`` itself."""
    import torch

    from aigc_core.tasks.sampling import sampling_kwargs

    gen_kwargs = sampling_kwargs(gen_kwargs)  # top-k + top-p over the k best tokens, not the whole vocabulary
    gen_kwargs.update(return_dict_in_generate=True, output_logits=True)
    ids = enc["input_ids"]
    mask = enc.get("attention_mask")
    if mask is None:
        mask = torch.ones_like(ids)
    # generate samples with torch's default generator: fork it so the seed stays local to this call.
    devices = [ids.device] if ids.device.type == "cuda" else []
    with torch.inference_mode(), torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        if n > 1 and ids.shape[0] == 1 and ids.shape[1] > 1 and "cache_implementation" not in gen_kwargs:
            prefix = model(input_ids=ids[:, :-1], attention_mask=mask[:, :-1], use_cache=True).past_key_values
            if hasattr(prefix, "batch_repeat_interleave"):
                prefix.batch_repeat_interleave(n)
                return model.generate(
                    input_ids=ids.expand(n, -1),
                    attention_mask=mask.expand(n, -1),
                    past_key_values=prefix,
                    streamer=streamer,
                    **gen_kwargs,
                )
        return model.generate(
            input_ids=ids, attention_mask=mask, num_return_sequences=n, streamer=streamer, **gen_kwargs
        )


def sample_merged(
    model: Any, enc: dict[str, Any], index: Any, gen_kwargs: dict[str, Any], *, seed: int, streamer: Any = None
) -> Any:
    """ONE ``generate`` over several encoded (left-padded) prompts, row ``j`` continuing prompt ``index[j]``:
    each prompt is prefilled once and its KV cache selected for its rows (as :func:`sample_batch` does for one
    prompt), then every row is sampled in the same decoding steps."""
    import torch

    from aigc_core.tasks.sampling import sampling_kwargs

    gen_kwargs = sampling_kwargs(gen_kwargs)
    gen_kwargs.update(return_dict_in_generate=True, output_logits=True)
    ids, mask = enc["input_ids"], enc["attention_mask"]
    devices = [ids.device] if ids.device.type == "cuda" else []
    with torch.inference_mode(), torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        if ids.shape[1] > 1:
            pos = (mask.long().cumsum(-1) - 1).clamp(min=0)
            prefix = model(
                input_ids=ids[:, :-1], attention_mask=mask[:, :-1], position_ids=pos[:, :-1], use_cache=True
            ).past_key_values
            if hasattr(prefix, "batch_select_indices"):
                prefix.batch_select_indices(index)
                return model.generate(
                    input_ids=ids[index],
                    attention_mask=mask[index],
                    past_key_values=prefix,
                    streamer=streamer,
                    **gen_kwargs,
                )
        return model.generate(input_ids=ids[index], attention_mask=mask[index], streamer=streamer, **gen_kwargs)


# llama.cpp ---------------------------------------------------------------------------------------------
class LlamaTokenizer:
    """The calls of a transformers tokenizer that the prompt code uses, over a ``llama_cpp.Llama``."""

    def __init__(self, llama: Any) -> None:
        self.llama = llama
        meta = getattr(llama, "metadata", {}) or {}
        self.chat_template = meta.get("tokenizer.chat_template") or None
        self.model_max_length = int(llama.n_ctx())
        eos = llama.token_eos()
        bos = llama.token_bos()
        self.eos_token_id = eos
        self.pad_token_id = eos
        self.eos_token = self._piece(eos)
        self.bos_token = self._piece(bos)

    def _piece(self, tid: int) -> str:
        try:
            return self.llama.detokenize([tid], special=True).decode("utf-8", "replace")
        except Exception:  # some vocabularies cannot render their control tokens
            return ""

    def __call__(self, text: str, add_special_tokens: bool = False, **_: Any) -> dict[str, list[int]]:
        return {"input_ids": self.llama.tokenize(text.encode("utf-8"), add_bos=add_special_tokens, special=True)}

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        """Text of token ids."""
        return self.llama.detokenize(list(ids), special=not skip_special_tokens).decode("utf-8", "replace")

    def apply_chat_template(self, messages: list[dict[str, str]], tokenize: bool = False, **kw: Any) -> str:
        """The model's own chat template (from the GGUF metadata), rendered in a sandbox."""
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)

        def raise_exception(message: str) -> None:
            raise ValueError(message)

        tpl = env.from_string(self.chat_template or "")
        return tpl.render(
            messages=messages,
            bos_token=self.bos_token,
            eos_token=self.eos_token,
            add_generation_prompt=kw.get("add_generation_prompt", True),
            raise_exception=raise_exception,
        )


def plain_text_grammar() -> str:
    """GBNF: one paragraph of plain text (no newline, none of BANNED_CHARS), optionally ended by a newline."""
    banned = "".join("\\" + c if c in "[]\\" else c for c in BANNED_CHARS)
    return f'root ::= [^\\n\\r{banned}]+ "\\n"?'


@dataclass
class LlamaCppLM(LanguageModel):
    """A GGUF model run by llama.cpp."""

    @property
    def device(self) -> Any:
        """llama.cpp runs on the CPU here (GPU offload is llama.cpp's own build option)."""
        return "cpu"

    @property
    def context(self) -> int:
        """The context the model was opened with."""
        return int(self.model.n_ctx())

    def make_streamer(self) -> Streamer:
        """A plain streamer: :meth:`sample` sends it the first sample's text."""
        return Streamer()

    def sample(
        self,
        prompt: str,
        n: int,
        gen_kwargs: dict[str, Any],
        *,
        seed: int,
        streamer: Streamer | None = None,
        stop: tuple[str, ...] = (),
        plain_text: bool = False,
    ) -> tuple[list[Sample], int]:
        """``n`` completions, one after another; the prompt's KV cache is reused between them."""
        import numpy as np

        params: dict[str, Any] = {
            "max_tokens": int(gen_kwargs.get("max_new_tokens") or 64),
            "temperature": float(gen_kwargs.get("temperature", 0.8)),
            "top_p": float(gen_kwargs.get("top_p", 0.95)),
            "top_k": int(gen_kwargs.get("top_k", 40) or 0),
            "repeat_penalty": float(gen_kwargs.get("repetition_penalty", 1.1)),
            "stop": list(stop) or None,
        }
        if gen_kwargs.get("min_new_tokens"):  # benches: every sample runs to max_tokens (no end of text)
            params["logit_bias"] = {int(self.model.token_eos()): -1e9}
        grammar = _grammar() if plain_text else None
        rows: list[Sample] = []
        new_tokens = 0
        with self.lock:
            for i in range(n):
                logps: list[float] = []
                last: list[Any] = [None]

                def record(input_ids: Any, scores: Any, logps: list[float] = logps, last: list[Any] = last) -> Any:
                    # the token chosen after the previous call is now the last input id
                    if last[0] is not None:
                        logps.append(float(last[0][int(input_ids[-1])]))
                    s = scores.astype(np.float64)
                    m = s.max()
                    last[0] = s - m - math.log(float(np.exp(s - m).sum()))
                    return scores

                stream = streamer if (i == 0 and streamer is not None) else None
                out = self.model.create_completion(
                    prompt,
                    seed=seed + i,
                    stream=stream is not None,
                    grammar=grammar,
                    logits_processor=[record],
                    **params,
                )
                if stream is not None:
                    parts, finish = [], None
                    for chunk in out:
                        choice = chunk["choices"][0]
                        parts.append(choice["text"])
                        stream.send(choice["text"])
                        finish = choice.get("finish_reason") or finish
                    stream.end()
                    text, tokens = "".join(parts), len(logps) + 1
                else:
                    choice = out["choices"][0]
                    text, finish = choice["text"], choice.get("finish_reason")
                    tokens = int(out.get("usage", {}).get("completion_tokens", len(logps) + 1))
                new_tokens += tokens
                if plain_text:  # the grammar ends a paragraph with one newline
                    text = text.rstrip("\n")
                rows.append(Sample(text, finish == "length", (sum(logps) / len(logps)) if logps else None))
        return rows, new_tokens


_grammar_obj: Any = None


def _grammar() -> Any:
    global _grammar_obj
    if _grammar_obj is None:
        from llama_cpp import LlamaGrammar

        _grammar_obj = LlamaGrammar.from_string(plain_text_grammar(), verbose=False)
    return _grammar_obj


# Loading ---------------------------------------------------------------------------------------------
_cache_lock = threading.Lock()


def clear_cache() -> None:
    """Unload the language models this process loaded (tests; the model manager owns the cache)."""
    from aigc_core.models.manager import reset_manager

    reset_manager()


def _prepare_tokenizer(tok: Any) -> Any:
    if getattr(tok, "pad_token", None) is None and getattr(tok, "eos_token", None) is not None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"
    return tok


class TicketLock:
    """A first-come, first-served lock that can tell a waiting thread how many requests are ahead of it
    (``threading.Lock`` neither queues fairly nor says who waits)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._next = 0  # the ticket the next arrival takes
        self._serving = 0  # the ticket that holds the lock now (or may take it)
        self._tickets: dict[int, int] = {}  # thread id -> its ticket, while it waits or holds the lock
        self._merged: set[int] = set()  # waiting threads whose request runs now, merged into another's batch

    def __enter__(self) -> TicketLock:
        me = threading.get_ident()
        with self._cond:
            ticket = self._next
            self._next += 1
            self._tickets[me] = ticket
            while self._serving != ticket:
                self._cond.wait()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self._tickets.pop(threading.get_ident(), None)
            self._merged.discard(threading.get_ident())
            self._serving += 1
            self._cond.notify_all()

    def ahead(self, thread_id: int | None) -> int:
        """How many requests run or wait before ``thread_id``'s (0: it runs now, or it is not queued)."""
        with self._cond:
            ticket = self._tickets.get(thread_id) if thread_id is not None else None
            if ticket is None or thread_id in self._merged:
                return 0
            return max(0, ticket - self._serving)

    def mark_running(self, thread_ids: list[int]) -> None:
        """These waiting threads' requests run now, in the holder's merged batch (until they leave the queue)."""
        with self._cond:
            self._merged.update(thread_ids)

    def holds_ticket(self, thread_id: int | None) -> bool:
        """True while ``thread_id`` waits for or holds the lock."""
        with self._cond:
            return thread_id in self._tickets

    def locked(self) -> bool:
        """True while a request holds the lock."""
        with self._cond:
            return self._next != self._serving


_model_locks: dict[int, TicketLock] = {}


def _model_lock(model: Any) -> TicketLock:
    """One generation lock per model object (the manager may hand out the same model many times)."""
    with _cache_lock:
        return _model_locks.setdefault(id(model), TicketLock())


def load_language_model(value: str | None = None, *, backend: str | None = None) -> LanguageModel:
    """The LM for ``value`` (empty: the AIGC_TEXT_GENERATION_MODEL setting), from the model manager's cache,
    on ``backend`` (None: the AIGC_TEXT_GENERATION_BACKEND setting; ``auto`` runs GGUF files on llama.cpp
    when it is installed).

    With the ``server`` backend the model is served by an OpenAI-compatible inference server
    (``copy/openai_backend.py``) and nothing is loaded here.

    Raises ModelUnavailableError (naming the setting) when it cannot be loaded offline."""
    from aigc_core.copy.openai_backend import load_server_model, server_enabled
    from aigc_core.models.manager import get_manager

    value = (value or get_settings().text_generation_model or "auto").strip()
    if server_enabled(backend):
        return load_server_model(value)
    try:
        loaded = get_manager().load(TASK, value, backend=backend)
    except AigcError as exc:
        raise ModelUnavailableError(exc.message, hint=exc.hint or SETTING_HINT) from exc
    except Exception as exc:  # a load failure the model layer did not map: still a message, not a traceback
        raise ModelUnavailableError(
            f"The language model {value!r} could not be loaded: {exc}", hint=SETTING_HINT
        ) from exc
    resolved = loaded.resolved
    name = str(resolved.hub_id or loaded.key or value)
    spec = resolved.spec
    common: dict[str, Any] = {
        "name": name,
        "revision": str(loaded.revision or ""),
        "chat": bool(getattr(spec, "chat", True)),
        "languages": tuple(getattr(spec, "languages", ()) or ()),
    }
    if "llama" in loaded.objects:
        llama = loaded.objects["llama"]
        return LlamaCppLM(llama, loaded.objects["tokenizer"], backend="llama.cpp", lock=_model_lock(llama), **common)
    return LanguageModel(loaded.model, _prepare_tokenizer(loaded.tokenizer), lock=_model_lock(loaded.model), **common)

"""Text generation through an OpenAI-compatible inference server (vLLM, llama.cpp's server, TGI, Ollama …).

The app then holds no weights: it renders the prompt, sends requests with the ``openai`` client and reads back
text, streamed chunks and (where the server gives them) token log-probabilities. Set
``AIGC_TEXT_GENERATION_BACKEND=server`` and ``AIGC_TEXT_GENERATION_SERVER_URL`` (see the README).

* ``n`` candidates are ``n`` requests sent at once (each with its own seed ``seed + i``), so the server's parallel
  slots or continuous batching serve them together; the first one streams.
* Concurrent users of one app process share :class:`SlotGate`: up to ``AIGC_TEXT_GENERATION_SERVER_PARALLEL``
  generations run at once, later ones wait first come, first served and know their place in the queue.
* Prompt fitting needs token counts the server does not give in a standard way: :class:`ServerTokenizer`
  estimates them on the safe side (about one token per short word piece, per punctuation mark and per CJK
  character), and chat messages are sent as messages, so the server applies the model's own chat template.
* A server that is down, slow or answers something that is not an OpenAI-compatible completion raises
  :class:`InferenceServerError` with a hint; nothing is saved before generation succeeds.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aigc_core.copy.lm import BANNED_CHARS, LanguageModel, Sample, Streamer, plain_text_grammar
from aigc_core.errors import ModelUnavailableError
from aigc_core.settings import Settings, get_settings

log = logging.getLogger(__name__)
BACKEND = "server"
LLAMA_CPP_OWNERS = {"me", "llamacpp", "llama.cpp"}  # llama-cpp-python's server, llama.cpp's llama-server
START_HINT = (
    "Start the server (e.g. `python -m llama_cpp.server --model <file.gguf> --port 8080 --interrupt_requests False`, "
    "or `vllm serve <model>`), check AIGC_TEXT_GENERATION_SERVER_URL, or set AIGC_TEXT_GENERATION_BACKEND=auto to "
    "run the model inside the app."
)


class InferenceServerError(ModelUnavailableError):
    """The inference server could not be used: down, too slow, refused the request or answered garbage."""


# Settings --------------------------------------------------------------------------------------------
def server_enabled(backend: str | None = None, settings: Settings | None = None) -> bool:
    """True when text generation goes to the inference server (``backend`` or the setting is ``server``)."""
    s = settings or get_settings()
    return (backend or s.text_generation_backend or "auto").strip().lower() == BACKEND


def base_url(settings: Settings | None = None) -> str:
    """The server's OpenAI API root (``…/v1``), from AIGC_TEXT_GENERATION_SERVER_URL."""
    s = settings or get_settings()
    url = (s.text_generation_server_url or "").strip().rstrip("/")
    if not url:
        raise InferenceServerError(
            "AIGC_TEXT_GENERATION_BACKEND is `server`, but no server URL is set.",
            hint="Set AIGC_TEXT_GENERATION_SERVER_URL to the server's OpenAI API root, e.g. http://127.0.0.1:8080/v1.",
        )
    if not re.match(r"^https?://", url):
        raise InferenceServerError(
            f"The inference server URL {url!r} is not an http(s) URL.",
            hint="Set AIGC_TEXT_GENERATION_SERVER_URL to e.g. http://127.0.0.1:8080/v1.",
        )
    return url if re.search(r"/v\d+$", url) else f"{url}/v1"


def api_key(settings: Settings | None = None) -> str:
    """The API key: AIGC_TEXT_GENERATION_SERVER_API_KEY, else the file named by …_API_KEY_FILE (a mounted secret),
    else a placeholder (local servers need none, the client needs a value)."""
    s = settings or get_settings()
    key = s.text_generation_server_api_key.get_secret_value().strip()
    if not key and s.text_generation_server_api_key_file:
        path = Path(s.text_generation_server_api_key_file).expanduser()
        try:
            key = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise InferenceServerError(
                f"The API key file {str(path)!r} cannot be read ({exc.strerror or exc}).",
                hint="Fix AIGC_TEXT_GENERATION_SERVER_API_KEY_FILE or mount the secret there.",
            ) from exc
    return key or "none"


def display_url(settings: Settings | None = None) -> str:
    """The base URL with any secret in it hidden (for pages and logs)."""
    from aigc_core.netguard import mask_url

    try:
        return mask_url(base_url(settings))
    except InferenceServerError:
        return "(not set)"


_clients: dict[tuple[str, str, float], Any] = {}
_clients_lock = threading.Lock()


def client(settings: Settings | None = None) -> Any:
    """One ``openai.OpenAI`` client per (URL, key, timeout), shared by the process (it pools connections)."""
    from openai import OpenAI

    s = settings or get_settings()
    key = (base_url(s), api_key(s), float(s.text_generation_server_timeout_s))
    with _clients_lock:
        if key not in _clients:
            _clients[key] = OpenAI(base_url=key[0], api_key=key[1], timeout=key[2], max_retries=0)
        return _clients[key]


# Errors ----------------------------------------------------------------------------------------------
def _server_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        msg = err.get("message") if isinstance(err, dict) else err
        if msg:
            return str(msg)[:300]
    return str(getattr(exc, "message", "") or exc)[:300]


def map_error(exc: BaseException, *, model: str = "", settings: Settings | None = None) -> InferenceServerError:
    """A clear message and hint for a failed request (``openai`` exceptions and malformed answers)."""
    import openai

    s = settings or get_settings()
    where = display_url(s)
    if isinstance(exc, InferenceServerError):
        return exc
    if isinstance(exc, openai.APITimeoutError):
        return InferenceServerError(
            f"The inference server at {where} did not answer within {s.text_generation_server_timeout_s:g} s.",
            hint="It may be overloaded or still loading the model: try again, give it more slots or a GPU, or raise "
            "AIGC_TEXT_GENERATION_SERVER_TIMEOUT_S.",
        )
    if isinstance(exc, openai.APIConnectionError):
        return InferenceServerError(f"The inference server at {where} is not reachable.", hint=START_HINT)
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return InferenceServerError(
            f"The inference server at {where} refused the API key ({_server_message(exc)}).",
            hint="Set AIGC_TEXT_GENERATION_SERVER_API_KEY (or …_API_KEY_FILE) to a key the server accepts.",
        )
    if isinstance(exc, openai.NotFoundError):
        return InferenceServerError(
            f"The inference server at {where} does not serve {model or 'this model'} ({_server_message(exc)}).",
            hint="Set AIGC_TEXT_GENERATION_SERVER_MODEL to a model the server lists (Models & jobs page), or check "
            "that the URL ends with the API root (…/v1).",
        )
    if isinstance(exc, openai.RateLimitError):
        return InferenceServerError(
            f"The inference server at {where} is rate-limiting requests ({_server_message(exc)}).",
            hint="Try again in a moment, or lower AIGC_TEXT_GENERATION_SERVER_PARALLEL.",
        )
    if isinstance(exc, openai.APIStatusError):
        text = _server_message(exc)
        if exc.status_code in (400, 422) and re.search(r"context|too long|maximum|exceed", text, re.I):
            return InferenceServerError(
                f"The prompt and new tokens do not fit the served model's context ({text}).",
                hint="Lower 'max new tokens', shorten the brief, or set AIGC_TEXT_GENERATION_SERVER_CONTEXT to the "
                "server's context length.",
            )
        return InferenceServerError(
            f"The inference server at {where} answered with an error {exc.status_code}: {text}",
            hint="Check the server's log; the request may use an option this server does not support.",
        )
    if isinstance(exc, openai.APIResponseValidationError | ValueError | KeyError | TypeError | AttributeError):
        return InferenceServerError(
            f"The inference server at {where} answered something that is not an OpenAI-compatible completion "
            f"({type(exc).__name__}: {str(exc)[:200]}).",
            hint="Check that AIGC_TEXT_GENERATION_SERVER_URL points at an OpenAI-compatible API (…/v1) and not at "
            "another web service.",
        )
    return InferenceServerError(
        f"The request to the inference server at {where} failed ({type(exc).__name__}: {str(exc)[:200]}).",
        hint=START_HINT,
    )


# Health ----------------------------------------------------------------------------------------------
@dataclass
class ServerHealth:
    """What a probe of the server found: reachable, the models it serves, how long it took."""

    url: str
    ok: bool
    models: list[str] = field(default_factory=list)
    owner: str = ""  # the first model's ``owned_by`` (llama.cpp, vLLM … tell themselves apart by it)
    latency_ms: float = 0.0
    message: str = ""
    hint: str = ""
    checked_at: float = 0.0

    @property
    def kind(self) -> str:
        """The server software as far as it says (``llama.cpp``, ``vllm`` or its ``owned_by``)."""
        if self.owner in LLAMA_CPP_OWNERS:
            return "llama.cpp"
        return self.owner or "unknown"


_health: dict[str, ServerHealth] = {}
_health_lock = threading.Lock()
HEALTH_TTL_S = 10.0


def health(*, fresh: bool = False, settings: Settings | None = None) -> ServerHealth:
    """Probe ``GET /models`` (cached for HEALTH_TTL_S unless ``fresh``); never raises."""
    s = settings or get_settings()
    url = display_url(s)
    with _health_lock:
        cached = _health.get(url)
    if cached is not None and not fresh and time.time() - cached.checked_at < HEALTH_TTL_S:
        return cached
    t0 = time.perf_counter()
    try:
        data = list(client(s).models.list().data or [])
        models = [str(m.id) for m in data]
        if not models:
            raise ValueError("the server lists no models")
        result = ServerHealth(url, True, models, str(getattr(data[0], "owned_by", "") or ""))
    except Exception as exc:
        err = map_error(exc, settings=s)
        result = ServerHealth(url, False, message=err.message, hint=err.hint or "")
    result.latency_ms = round((time.perf_counter() - t0) * 1000, 1)
    result.checked_at = time.time()
    with _health_lock:
        _health[url] = result
    return result


def served_model(value: str | None, settings: Settings | None = None) -> tuple[str, ServerHealth]:
    """The model name to send for a model ``value`` and the server's health (raises when it is down).

    ``auto``, empty and catalog keys mean AIGC_TEXT_GENERATION_SERVER_MODEL, else the first model the server
    lists; anything else (e.g. a hub id that vLLM serves under that name) is sent as it is."""
    from aigc_core.models.task_table import TEXT_GENERATION, get_spec

    s = settings or get_settings()
    h = health(settings=s)
    if not h.ok:
        h = health(fresh=True, settings=s)  # a server that just came up
    if not h.ok:
        raise InferenceServerError(h.message, hint=h.hint)
    v = (value or "").strip()
    if not v or v == "auto" or get_spec(v, TEXT_GENERATION) is not None:
        v = (s.text_generation_server_model or "").strip() or h.models[0]
    return v, h


# Tokens ----------------------------------------------------------------------------------------------
_PIECE = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]|[A-Za-z]{1,4}|\d{1,3}|\s+|[^\sA-Za-z\d]")


class ServerTokenizer:
    """The tokenizer calls the prompt code makes, for a model behind a server: token counts are estimated on
    the safe side (word pieces of at most 4 letters, 3 digits, each mark and CJK character count one), and
    chat messages rendered with :meth:`apply_chat_template` are remembered so :meth:`messages_for` can send them
    to the server as messages (the server applies the model's own template)."""

    chat_template = "server"  # truthy: the prompt code renders chat messages through apply_chat_template
    eos_token_id = None
    pad_token_id = None
    eos_token = ""
    bos_token = ""

    def __init__(self, context: int) -> None:
        self.model_max_length = int(context)
        self._ids: dict[str, int] = {}
        self._pieces: list[str] = []
        self._lock = threading.Lock()
        self._rendered: OrderedDict[str, list[dict[str, str]]] = OrderedDict()

    def _id(self, piece: str) -> int:
        tid = self._ids.get(piece)
        if tid is None:
            tid = self._ids[piece] = len(self._pieces)
            self._pieces.append(piece)
        return tid

    def __call__(self, text: str, add_special_tokens: bool = False, **_: Any) -> dict[str, list[int]]:
        with self._lock:
            return {"input_ids": [self._id(p) for p in _PIECE.findall(text)]}

    def __len__(self) -> int:
        return len(self._pieces)

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        """The text of estimated token ids (exact: the pieces are the text)."""
        with self._lock:
            return "".join(self._pieces[i] for i in ids if 0 <= i < len(self._pieces))

    def apply_chat_template(self, messages: list[dict[str, str]], tokenize: bool = False, **_: Any) -> str:
        """A transcript of the messages (for counting and display), remembered for :meth:`messages_for`."""
        text = "".join(f"<|{m['role']}|>\n{m['content']}\n" for m in messages) + "<|assistant|>\n"
        with self._lock:
            self._rendered[text] = [dict(m) for m in messages]
            self._rendered.move_to_end(text)
            while len(self._rendered) > 256:
                self._rendered.popitem(last=False)
        return text

    def messages_for(self, prompt: str) -> list[dict[str, str]] | None:
        """The chat messages a prompt was rendered from (None: a plain completion prompt)."""
        with self._lock:
            return self._rendered.get(prompt)


# Concurrency -----------------------------------------------------------------------------------------
class SlotGate:
    """Up to ``slots`` holders at once, the others wait first come, first served; like ``TicketLock`` it tells
    a waiting thread how many requests run or wait before it (what the Ad copy page shows)."""

    def __init__(self, slots: int) -> None:
        self.slots = max(1, int(slots))
        self._cond = threading.Condition()
        self._next = 0  # the ticket the next arrival takes
        self._admitted = 0  # tickets below this one have entered
        self._running: set[int] = set()
        self._tickets: dict[int, int] = {}  # thread id -> ticket, while it waits or holds a slot

    def __enter__(self) -> SlotGate:
        me = threading.get_ident()
        with self._cond:
            ticket = self._next
            self._next += 1
            self._tickets[me] = ticket
            while not (ticket == self._admitted and len(self._running) < self.slots):
                self._cond.wait()
            self._admitted += 1
            self._running.add(ticket)
            self._cond.notify_all()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            ticket = self._tickets.pop(threading.get_ident(), None)
            self._running.discard(ticket if ticket is not None else -1)
            self._cond.notify_all()

    def ahead(self, thread_id: int | None) -> int:
        """Requests that run or wait before ``thread_id``'s while it waits (0: it runs now, or is not queued)."""
        with self._cond:
            ticket = self._tickets.get(thread_id) if thread_id is not None else None
            if ticket is None or ticket in self._running:
                return 0
            return len(self._running) + (ticket - self._admitted)

    def holds_ticket(self, thread_id: int | None) -> bool:
        """True while ``thread_id`` waits for or holds a slot."""
        with self._cond:
            return thread_id in self._tickets

    def locked(self) -> bool:
        """True while every slot is taken."""
        with self._cond:
            return len(self._running) >= self.slots


# The language model ----------------------------------------------------------------------------------
def _mean_logprob(logprobs: Any) -> float | None:
    """Mean token log-probability of a choice's ``logprobs`` (chat: ``content[].logprob``; completions:
    ``token_logprobs``); None when the server gave none."""
    if logprobs is None:
        return None
    content = getattr(logprobs, "content", None)
    values: list[float] = []
    if content:
        values = [float(t.logprob) for t in content if getattr(t, "logprob", None) is not None]
    else:
        raw = getattr(logprobs, "token_logprobs", None) or []
        values = [float(v) for v in raw if v is not None]
    values = [v for v in values if v > -1e9]
    return sum(values) / len(values) if values else None


def _token_logprobs(logprobs: Any) -> list[float]:
    if logprobs is None:
        return []
    content = getattr(logprobs, "content", None)
    if content:
        return [float(t.logprob) for t in content if getattr(t, "logprob", None) is not None]
    return [float(v) for v in (getattr(logprobs, "token_logprobs", None) or []) if v is not None]


@dataclass
class ServerLM(LanguageModel):
    """A model served by an OpenAI-compatible server; ``model`` is the ``openai`` client, ``name`` the model
    name sent with each request."""

    server_kind: str = ""
    context_tokens: int = 2048
    parallel: int = 4
    chat_endpoint: bool = True

    @property
    def device(self) -> Any:
        """The weights live in the server."""
        return "server"

    @property
    def context(self) -> int:
        """The served model's context, from AIGC_TEXT_GENERATION_SERVER_CONTEXT."""
        return int(self.context_tokens)

    def make_streamer(self) -> Streamer:
        """A plain streamer: the first request streams its text into it."""
        return Streamer()

    def _params(self, gen_kwargs: dict[str, Any], stop: tuple[str, ...], plain_text: bool) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self.name,
            "max_tokens": int(gen_kwargs.get("max_new_tokens") or 64),
            "temperature": float(gen_kwargs.get("temperature", 0.8)),
            "top_p": float(gen_kwargs.get("top_p", 0.95)),
        }
        if stop:
            params["stop"] = list(stop)
        extra: dict[str, Any] = {}
        top_k = int(gen_kwargs.get("top_k", 0) or 0)
        rep = float(gen_kwargs.get("repetition_penalty", 1.0) or 1.0)
        if self.server_kind == "llama.cpp":  # its own sampling options and a grammar for plain text
            extra.update({"top_k": top_k, "repeat_penalty": rep})
            if plain_text:
                extra["grammar"] = plain_text_grammar()
        elif self.server_kind == "vllm":
            extra.update({"top_k": top_k or -1, "repetition_penalty": rep})
            if gen_kwargs.get("min_new_tokens"):
                extra.update({"min_tokens": int(gen_kwargs["min_new_tokens"]), "ignore_eos": True})
        if extra:
            params["extra_body"] = extra
        return params

    def _one(
        self, prompt: str, params: dict[str, Any], seed: int, stream: Streamer | None
    ) -> tuple[str, str | None, float | None, int]:
        """One request: text, finish reason, mean log-probability, completion tokens."""
        messages = self.tokenizer.messages_for(prompt) if self.chat_endpoint else None
        api = self.model.chat.completions if messages is not None else self.model.completions
        req = dict(params, seed=seed)
        if messages is not None:
            req.update(messages=messages, logprobs=True, top_logprobs=1)
        else:
            req.update(prompt=prompt, logprobs=1)
        if stream is None:
            out = api.create(**req)
            choice = out.choices[0]
            text = choice.message.content if messages is not None else choice.text
            if not isinstance(text, str):
                raise ValueError("the answer has no text")
            usage = getattr(out, "usage", None)
            tokens = int(getattr(usage, "completion_tokens", 0) or 0) or max(1, len(_token_logprobs(choice.logprobs)))
            return text, choice.finish_reason, _mean_logprob(choice.logprobs), tokens
        parts: list[str] = []
        lps: list[float] = []
        finish: str | None = None
        chunks = 0
        for chunk in api.create(**req, stream=True):
            if not getattr(chunk, "choices", None):
                continue
            choice = chunk.choices[0]
            piece = (choice.delta.content if messages is not None else choice.text) or ""
            if piece:
                parts.append(piece)
                stream.send(piece)
            chunks += 1
            lps.extend(_token_logprobs(getattr(choice, "logprobs", None)))
            finish = choice.finish_reason or finish
        if not chunks:
            raise ValueError("the stream ended without a completion")
        lps = [v for v in lps if v > -1e9]
        return "".join(parts), finish, (sum(lps) / len(lps)) if lps else None, max(1, len(lps) or chunks)

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
        """``n`` completions as ``n`` requests sent at once (seeds ``seed + i``); the first one streams."""
        params = self._params(gen_kwargs, stop, plain_text)
        rows: list[Sample] = []
        new_tokens = 0
        with self.lock:  # a slot of this process's share of the server (see SlotGate)
            try:
                with ThreadPoolExecutor(max_workers=max(1, min(n, self.parallel)), thread_name_prefix="aigc-llm") as ex:
                    futures = [
                        ex.submit(self._one, prompt, params, seed + i, streamer if i == 0 else None) for i in range(n)
                    ]
                    results = [f.result() for f in futures]
            except Exception as exc:
                raise map_error(exc, model=self.name) from exc
            finally:
                if streamer is not None:
                    streamer.end()
        for text, finish, lp, tokens in results:
            if plain_text:
                text = _plain(text)
            new_tokens += tokens
            rows.append(Sample(text, finish == "length", lp))
        return rows, new_tokens


def _plain(text: str) -> str:
    """One paragraph without BANNED_CHARS (what the llama.cpp grammar enforces; other servers are not
    constrained, so the output is cut to its first non-empty paragraph here)."""
    for para in re.split(r"\n\s*\n|\n", text.strip()):
        para = "".join(c for c in para if c not in BANNED_CHARS).strip()
        if para:
            return para
    return ""


_models: dict[tuple[str, str], ServerLM] = {}
_models_lock = threading.Lock()


def load_server_model(value: str | None = None, *, settings: Settings | None = None) -> ServerLM:
    """The server-backed LM for a model ``value`` (see :func:`served_model`); raises InferenceServerError when
    the server is not usable. One object (and one :class:`SlotGate`) per URL and model name in the process."""
    s = settings or get_settings()
    name, h = served_model(value, s)
    key = (display_url(s), name)
    with _models_lock:
        lm = _models.get(key)
        if lm is None:
            ctx = int(s.text_generation_server_context)
            lm = ServerLM(
                client(s),
                ServerTokenizer(ctx),
                name=name,
                revision="",
                lock=SlotGate(s.text_generation_server_parallel),  # type: ignore[arg-type]
                backend=BACKEND,
                chat=s.text_generation_server_prompt == "chat",
                languages=(),
                server_kind=h.kind,
                context_tokens=ctx,
                parallel=int(s.text_generation_server_parallel),
                chat_endpoint=s.text_generation_server_prompt == "chat",
            )
            _models[key] = lm
        return lm


def clear() -> None:
    """Forget clients, health probes and models (tests, a settings change)."""
    with _models_lock:
        _models.clear()
    with _health_lock:
        _health.clear()
    with _clients_lock:
        _clients.clear()


# The generic text-generation task (the Home page's check) --------------------------------------------
def complete(
    prompt: str | list[dict[str, str]],
    *,
    max_new_tokens: int,
    temperature: float,
    top_p: float,
    seed: int,
    n: int = 1,
) -> tuple[list[str], str, int, int]:
    """``n`` texts for a prompt or chat from the server: texts, model name, prompt tokens, new tokens."""
    lm = load_server_model(None)
    messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)
    params = {"model": lm.name, "max_tokens": max_new_tokens, "temperature": temperature, "top_p": top_p}

    def one(i: int) -> tuple[str, int, int]:
        out = lm.model.chat.completions.create(messages=messages, seed=seed + i, **params)
        text = out.choices[0].message.content
        if not isinstance(text, str):
            raise ValueError("the answer has no text")
        usage = getattr(out, "usage", None)
        return text, int(getattr(usage, "prompt_tokens", 0) or 0), int(getattr(usage, "completion_tokens", 0) or 0)

    with lm.lock:
        try:
            with ThreadPoolExecutor(max_workers=max(1, min(n, lm.parallel))) as ex:
                outs = list(ex.map(one, range(n)))
        except Exception as exc:
            raise map_error(exc, model=lm.name) from exc
    return [o[0].strip() for o in outs], lm.name, max(o[1] for o in outs), sum(o[2] for o in outs)


def describe(settings: Settings | None = None, *, fresh: bool = False) -> dict[str, Any]:
    """A row for the Models & jobs page: where text generation goes and whether the server answers."""
    s = settings or get_settings()
    h = health(fresh=fresh, settings=s)
    model = (s.text_generation_server_model or "").strip() or (h.models[0] if h.models else "")
    status = f"ok · {h.latency_ms:.0f} ms · serves {', '.join(h.models[:3])}" if h.ok else f"down: {h.message} {h.hint}"
    return {
        "backend": f"OpenAI-compatible server ({h.kind})" if h.ok else "OpenAI-compatible server",
        "where": h.url,
        "model": model,
        "healthy": h.ok,
        "health": status,
        "parallel": int(s.text_generation_server_parallel),
    }


def llama_cpp_server_command(gguf: str | Path, port: int, *, alias: str = "", threads: int = 1) -> list[str]:
    """The command that serves a GGUF file with llama-cpp-python's OpenAI-compatible server on 127.0.0.1
    (its ``server`` extra: fastapi, uvicorn, sse-starlette, starlette-context). ``--interrupt_requests False``:
    by default that server cuts a streaming answer short when another request arrives, which concurrent users
    would see as truncated copy."""
    import sys

    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--n_ctx", "2048", "--n_threads", str(threads), "--n_threads_batch", str(threads)]
    cmd += ["--interrupt_requests", "False"]
    return cmd + (["--model_alias", alias] if alias else [])

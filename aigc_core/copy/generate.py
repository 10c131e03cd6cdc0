"""The ad copy task: brief -> prompt (preprocess) -> one batched ``generate`` (_forward) -> cleaned, checked,
ranked variants (postprocess), with regeneration to keep the requested count and a streamed first variant."""

from __future__ import annotations

import math
import queue
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from aigc_core.copy import guardrails, ranking
from aigc_core.copy.brief import Brief, validate_brief
from aigc_core.copy.guardrails import Kit, Violation
from aigc_core.copy.limits import CHANNEL_LIMITS, LimitCheck, check_feasible, enforce, split_sentences
from aigc_core.copy.lm import LanguageModel, load_language_model
from aigc_core.copy.prompts import FittedPrompt, fit_prompt
from aigc_core.errors import UserInputError

MAX_ATTEMPTS = 3
SHORT_CHANNELS = {"search_headline", "email_subject", "slogan"}  # one line only


@dataclass
class Variant:
    """One cleaned variant with its checks and scores."""

    text: str
    raw: str
    limit: LimitCheck
    violations: list[Violation] = field(default_factory=list)
    scores: dict[str, float | None] = field(default_factory=dict)
    score: float = 0.0
    attempt: int = 0
    rating: int = 0
    favourite: bool = False

    @property
    def flagged(self) -> bool:
        """True when the brand kit flags it."""
        return bool(self.violations)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (history, export, batch CSV)."""
        d = asdict(self)
        d["limit"] = {**asdict(self.limit), "ok": self.limit.ok, "label": self.limit.label()}
        d["flagged"] = self.flagged
        return d


@dataclass
class CopyResult:
    """Variants of one brief (best first) and how they were made."""

    brief: Brief
    variants: list[Variant]
    model: str
    model_revision: str
    template: str
    prompt: str
    params: dict[str, Any]
    seed: int
    attempts: int
    prompt_tokens: int = 0
    cut_tokens: int = 0
    new_tokens: int = 0
    seconds: float = 0.0
    first_token_s: float | None = None
    notes: list[str] = field(default_factory=list)
    generation_id: str | None = None

    @property
    def usable(self) -> bool:
        """False when nothing usable came back (the page then suggests other settings)."""
        return bool(self.variants)

    @property
    def tokens_per_s(self) -> float:
        """New tokens per second over all generate calls."""
        return self.new_tokens / self.seconds if self.seconds > 0 else 0.0


# Defaults -------------------------------------------------------------------------------------------
def default_max_new_tokens(channel: str, language: str) -> int:
    """New tokens that comfortably hold the channel's limit (CJK needs about two tokens per character)."""
    spec = CHANNEL_LIMITS[channel]
    m = spec.max_for(language)
    if language == "zh":
        chars = m // 2 if spec.unit == "width" else m
        n = chars * 2 + 8
    else:
        n = m // 3 + 12 if spec.unit in ("width", "chars") else int(m * 1.6) + 12
    return int(max(16, min(256, n)))


def generation_kwargs(brief: Brief, lm: LanguageModel, *, static_cache: bool | None = None) -> dict[str, Any]:
    """``generate`` keyword arguments of the brief; on CUDA a static KV cache (compiled decode step) by default."""
    s = brief.sampling()
    kwargs: dict[str, Any] = {
        "do_sample": True,
        "temperature": s["temperature"],
        "top_p": s["top_p"],
        "top_k": s["top_k"],
        "repetition_penalty": s["repetition_penalty"],
        "max_new_tokens": s["max_new_tokens"] or default_max_new_tokens(brief.channel, brief.language),
        "pad_token_id": lm.tokenizer.pad_token_id,
    }
    eos = lm.tokenizer.eos_token_id
    if eos is not None:
        kwargs["eos_token_id"] = eos
    kwargs.update(fast_decoding_kwargs(lm.device, static_cache))
    return kwargs


def fast_decoding_kwargs(device: Any, static_cache: bool | None = None) -> dict[str, Any]:
    """Decoding options for speed: on CUDA a static KV cache, with which ``generate`` compiles its decode step
    (CUDA graphs); off on the CPU, where compiling costs more than it saves for short copy."""
    use = static_cache if static_cache is not None else str(device).startswith("cuda")
    return {"cache_implementation": "static"} if use else {}


# Streaming ----------------------------------------------------------------------------------------
class FirstRowStreamer:
    """A ``generate`` streamer that decodes row 0 of a batch incrementally into a queue (None ends it)."""

    def __init__(self, tokenizer: Any, eos_ids: set[int]) -> None:
        self.tokenizer = tokenizer
        self.eos_ids = eos_ids
        self.queue: queue.Queue[str | None] = queue.Queue()
        self.ids: list[int] = []
        self.sent = ""
        self.prompt_seen = False
        self.done = False
        self.first_token_at: float | None = None

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
            self._finish()
            return
        self.ids.append(token)
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        if text.endswith("\ufffd"):  # an incomplete multi-byte character: wait for the next token
            return
        new = text[len(self.sent) :]
        if new:
            self.sent = text
            self.queue.put(new)

    def _finish(self) -> None:
        if not self.done:
            self.done = True
            self.queue.put(None)

    def end(self) -> None:
        """Called by ``generate`` when all rows are done."""
        self._finish()


# Preprocess / forward / postprocess --------------------------------------------------------------
@dataclass
class Prepared:
    """Everything _forward needs: the fitted prompt, generation arguments and the checks' inputs."""

    brief: Brief
    kit: Kit | None
    prompt: FittedPrompt
    gen_kwargs: dict[str, Any]
    seed: int


def preprocess(
    brief: Brief | dict[str, Any], lm: LanguageModel, kit: Kit | None = None, *, static_cache: bool | None = None
) -> Prepared:
    """Validate the brief, check the limit is feasible, pick a seed and render a prompt that fits the context."""
    brief = validate_brief(brief)
    check_feasible(brief.channel, brief.language, brief.max_length, kit.required_for(brief.channel) if kit else None)
    kwargs = generation_kwargs(brief, lm, static_cache=static_cache)
    if kwargs["max_new_tokens"] >= lm.context - 16:
        raise UserInputError(
            f"max new tokens ({kwargs['max_new_tokens']}) leaves no room for the brief in the model's context "
            f"of {lm.context} tokens.",
            hint=f"Use at most {max(8, lm.context // 2)} new tokens.",
        )
    fitted = fit_prompt(brief, lm.tokenizer, kit, lm.context, kwargs["max_new_tokens"])
    seed = brief.seed if brief.seed is not None else random.SystemRandom().randrange(2**31 - 1)
    return Prepared(brief, kit, fitted, kwargs, seed)


def sample_batch(
    model: Any, enc: dict[str, Any], n: int, gen_kwargs: dict[str, Any], *, seed: int, streamer: Any = None
) -> Any:
    """ONE ``generate`` call that samples ``n`` continuations of one encoded prompt (seeded).

    The prompt is encoded once (prefill at batch 1) and its KV cache repeated for the ``n`` rows, instead of
    ``num_return_sequences`` prefilling ``n`` copies of the same prompt. With a static cache (``gen_kwargs`` from
    :func:`generation_kwargs` on CUDA: ``generate`` compiles its decoding step) the rows are expanded by
    ``generate`` itself."""
    import torch

    from aigc_core.tasks.sampling import sampling_kwargs

    gen_kwargs = sampling_kwargs(gen_kwargs)  # top-k + top-p over the k best tokens, not the whole vocabulary
    ids = enc["input_ids"]
    mask = enc.get("attention_mask")
    if mask is None:
        mask = torch.ones_like(ids)
    with torch.inference_mode():
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


def _forward(
    prep: Prepared, lm: LanguageModel, n: int, *, seed: int, streamer: Any = None
) -> tuple[list[tuple[str, bool]], int]:
    """ONE batched ``generate`` call returning ``n`` samples: (text, hit the token limit) each, and new tokens."""
    # With a static cache (compiled decode step) every new shape recompiles: left-pad prompts to buckets of 64.
    bucket = {"padding": True, "pad_to_multiple_of": 64} if "cache_implementation" in prep.gen_kwargs else {}
    enc = lm.tokenizer(prep.prompt.text, return_tensors="pt", add_special_tokens=False, **bucket)
    enc = {k: v.to(lm.device) for k, v in enc.items()}
    with lm.lock:
        out = sample_batch(lm.model, enc, n, prep.gen_kwargs, seed=seed, streamer=streamer)
    start = enc["input_ids"].shape[1]
    pad = lm.tokenizer.pad_token_id
    eos = lm.tokenizer.eos_token_id
    rows: list[tuple[str, bool]] = []
    new_tokens = 0
    for row in out[:, start:].tolist():
        ended = eos is not None and eos in row
        keep = row[: row.index(eos)] if ended else [t for t in row if t != pad]
        new_tokens += len(keep) + (1 if ended else 0)
        rows.append((lm.tokenizer.decode(keep, skip_special_tokens=True), not ended))
    return rows, new_tokens


_MARKUP = re.compile(r"<\|[^|>]{1,40}\|>|</?s>|\[/?INST\]|<</?SYS>>", re.I)
_ROLE_LINE = re.compile(r"^\s*(assistant|user|system)\s*:?\s*$", re.I | re.M)
_LABEL = re.compile(
    r"^\s*(?:(?:search\s+)?(?:ad\s+)?(?:headline|description|subject(?: line)?|slogan|tagline|copy|post|sms|"
    r"push(?: notification)?|product description|variant|option|title)\s*\d*\s*[:：-]"
    r"|(?:标题|口号|文案|描述|主题|短信)\s*[:：])\s*",
    re.I,
)
_NUMBERING = re.compile(r"^\s*(?:\d{1,2}\s*[.)、:]|[-*•·#]+|\(\d{1,2}\))\s*")
_PREFACE = re.compile(
    r"^\s*(?:sure|certainly|here(?:'s| is| are)|okay|ok)\b[^\n]*[:：!]\s*$|^\s*好的[^\n]*[:：。]\s*$", re.I
)
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f\ufffd\u200b]")
_QUOTES = "\"'“”‘’「」『』《》`"
_TERMINAL = tuple(".!?。！？…")


def clean_text(raw: str, brief: Brief, prompt: FittedPrompt, *, hit_limit: bool) -> str:
    """Strip chat markup, prompt echoes, prefaces, labels, numbering and quotes; keep whole sentences."""
    text = _ROLE_LINE.sub("", _CONTROL.sub("", _MARKUP.sub("", raw).replace("\r", "")))
    prompt_lines = {
        ln.strip().lower() for m in prompt.messages for ln in m["content"].splitlines() if len(ln.strip()) > 6
    }
    lines = []
    for line in text.split("\n"):
        s = line.strip()
        if not s or s.lower() in prompt_lines or _PREFACE.match(s):
            continue
        s = _LABEL.sub("", _NUMBERING.sub("", s)).strip().strip(_QUOTES).strip()
        if s:
            lines.append(s)
    if not lines:
        return ""
    if brief.channel in SHORT_CHANNELS:
        lines = lines[:1]
    joiner = "" if brief.language == "zh" else " "
    text = re.sub(r"\s+", " ", joiner.join(lines)).strip().strip(_QUOTES).strip()
    if hit_limit and not text.endswith(_TERMINAL):  # the model was cut off: drop the unfinished sentence
        sentences = split_sentences(text)
        if len(sentences) > 1:
            text = joiner.join(sentences[:-1]).strip()
    if brief.channel in ("search_headline", "slogan", "email_subject"):
        text = text.rstrip("。.")
    return text


def _language_ok(text: str, language: str) -> bool:
    """Chinese copy must hold CJK characters; English copy must be mostly Latin letters."""
    from aigc_core.copy.limits import has_cjk

    if language == "zh":
        return has_cjk(text)
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(c.isascii() for c in letters) / len(letters) >= 0.8


def postprocess(
    rows: list[tuple[str, bool]], prep: Prepared, kept: list[Variant], *, attempt: int = 0
) -> tuple[list[Variant], dict[str, int]]:
    """Clean, enforce limits, check the brand kit and drop empties/near-duplicates (also of ``kept``)."""
    brief = prep.brief
    out: list[Variant] = []
    dropped = {"empty": 0, "language": 0, "duplicate": 0}
    for raw, hit_limit in rows:
        text = clean_text(raw, brief, prep.prompt, hit_limit=hit_limit)
        text, limit = enforce(text, brief.channel, brief.language, brief.max_length) if text else (text, None)
        if not text or limit is None or len(text) < 2:
            dropped["empty"] += 1
            continue
        if not _language_ok(text, brief.language):
            dropped["language"] += 1
            continue
        if any(ranking.is_near_duplicate(text, v.text) for v in [*kept, *out]):
            dropped["duplicate"] += 1
            continue
        out.append(Variant(text, raw, limit, guardrails.check(text, prep.kit, brief.channel), attempt=attempt))
    return out, dropped


def rank(
    variants: list[Variant],
    language: str,
    *,
    weights: dict[str, float] | None = None,
    sentiment: ranking.SentimentScorer | bool | None = None,
) -> tuple[list[Variant], str]:
    """Score every variant, sort best first; returns the note of a skipped sentiment badge (or "")."""
    texts = [v.text for v in variants]
    senti, note = ranking.score_sentiment(texts, sentiment)
    uniq = ranking.uniqueness(texts)
    for v, s, u in zip(variants, senti, uniq, strict=True):
        v.scores = {
            "limits": v.limit.score,
            "guardrails": 0.0 if v.violations else 1.0,
            "sentiment": s,
            "readability": round(ranking.readability(v.text, language), 4),
            "uniqueness": round(u, 4),
        }
        v.score = ranking.combined(v.scores, weights)
    variants.sort(key=lambda v: v.score, reverse=True)
    return variants, note


def rerank(variants: list[Variant], weights: dict[str, float]) -> list[Variant]:
    """Re-sort by a new weighting of the existing scores (no model call)."""
    for v in variants:
        v.score = ranking.combined(v.scores, weights)
    return sorted(variants, key=lambda v: v.score, reverse=True)


def run_generation(
    brief: Brief | dict[str, Any],
    *,
    lm: LanguageModel | None = None,
    kit: Kit | None = None,
    streamer_factory: Callable[[LanguageModel], Any] | None = None,
    weights: dict[str, float] | None = None,
    sentiment: ranking.SentimentScorer | bool | None = None,
    static_cache: bool | None = None,
    save: bool = False,
) -> CopyResult:
    """Generate, clean, check and rank N variants; regenerate (bounded) for dropped ones."""
    brief = validate_brief(brief)
    if kit is None and brief.brand_kit:
        kit = guardrails.get_kit(brief.brand_kit)
    lm = lm or load_language_model(brief.model or None)
    prep = preprocess(brief, lm, kit, static_cache=static_cache)
    n = brief.n_variants
    kept: list[Variant] = []
    notes: list[str] = []
    dropped_total = {"empty": 0, "language": 0, "duplicate": 0}
    new_tokens, seconds, first_token_s, attempts = 0, 0.0, None, 0
    for attempt in range(MAX_ATTEMPTS):
        need = n - len(kept)
        if need <= 0:
            break
        attempts += 1
        ask = need if attempt == 0 else min(n * 2, need + math.ceil(need / 2))
        streamer = streamer_factory(lm) if (streamer_factory and attempt == 0) else None
        t0 = time.perf_counter()
        rows, ntok = _forward(prep, lm, ask, seed=prep.seed + attempt, streamer=streamer)
        seconds += time.perf_counter() - t0
        if streamer is not None and getattr(streamer, "first_token_at", None):
            first_token_s = streamer.first_token_at - t0
        new_tokens += ntok
        fresh, dropped = postprocess(rows, prep, kept, attempt=attempt)
        for k, v in dropped.items():
            dropped_total[k] += v
        kept.extend(fresh[:need])
    if prep.prompt.cut_tokens:
        notes.append(
            f"The brief was too long for the model's context: the last {prep.prompt.cut_tokens} tokens of "
            "the key points were cut."
        )
    if dropped_total["duplicate"] or dropped_total["empty"] or dropped_total["language"]:
        notes.append(
            f"Dropped {dropped_total['duplicate']} near-duplicate, {dropped_total['empty']} empty and "
            f"{dropped_total['language']} wrong-language outputs; {attempts} generate call(s)."
        )
    if kept and len(kept) < n:
        notes.append(f"Only {len(kept)} of {n} variants were usable after {attempts} attempts.")
    variants, note = rank(kept, brief.language, weights=weights, sentiment=sentiment) if kept else ([], "")
    if note:
        notes.append(note)
    result = CopyResult(
        brief=brief,
        variants=variants,
        model=lm.name,
        model_revision=lm.revision,
        template=prep.prompt.template,
        prompt=prep.prompt.text,
        params={k: v for k, v in prep.gen_kwargs.items() if k not in ("pad_token_id", "eos_token_id")},
        seed=prep.seed,
        attempts=attempts,
        prompt_tokens=prep.prompt.n_tokens,
        cut_tokens=prep.prompt.cut_tokens,
        new_tokens=new_tokens,
        seconds=seconds,
        first_token_s=first_token_s,
        notes=notes,
    )
    if save:
        from aigc_core.copy.history import save_result

        result.generation_id = save_result(result)
    return result


NOTHING_USABLE_HINT = (
    "Try again with more creativity, more max new tokens, fewer variants or a looser length limit — "
    "or pick another model."
)


def generate_copy(brief: Brief | dict[str, Any], **kwargs: Any) -> CopyResult:
    """Generate ranked variants of a brief (no streaming); ``result.usable`` is False when nothing came back."""
    return run_generation(brief, **kwargs)


class CopyRun:
    """A generation running in a thread: :meth:`stream` yields the first variant as it is written, then
    :meth:`result` returns the ranked variants (or raises the engine's error)."""

    def __init__(self, brief: Brief | dict[str, Any], **kwargs: Any) -> None:
        self.brief = validate_brief(brief)
        self.lm: LanguageModel = kwargs.pop("lm", None) or load_language_model(self.brief.model or None)
        self._streamer: FirstRowStreamer | None = None
        self._result: CopyResult | None = None
        self._error: BaseException | None = None
        eos = self.lm.tokenizer.eos_token_id
        self._eos = {eos} if isinstance(eos, int) else set(eos or [])

        def factory(lm: LanguageModel) -> FirstRowStreamer:
            self._streamer = FirstRowStreamer(lm.tokenizer, self._eos)
            self._ready.put(self._streamer)
            return self._streamer

        self._ready: queue.Queue[FirstRowStreamer | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, args=(factory, kwargs), daemon=True)
        self._thread.start()

    def _run(self, factory: Callable[[LanguageModel], FirstRowStreamer], kwargs: dict[str, Any]) -> None:
        try:
            self._result = run_generation(self.brief, lm=self.lm, streamer_factory=factory, **kwargs)
        except BaseException as exc:
            self._error = exc
        finally:
            self._ready.put(None)
            if self._streamer is not None:
                self._streamer.end()

    def stream(self) -> Iterator[str]:
        """Text chunks of the first sample as the model writes it (raw: before cleaning)."""
        streamer = self._ready.get()
        if streamer is None:
            return
        while True:
            chunk = streamer.queue.get()
            if chunk is None:
                return
            yield chunk

    def result(self, timeout: float | None = None) -> CopyResult:
        """The ranked result once generation is done; re-raises its error."""
        self._thread.join(timeout)
        if self._error is not None:
            raise self._error
        if self._result is None:
            raise TimeoutError("generation is still running")
        return self._result


def start_copy(brief: Brief | dict[str, Any], **kwargs: Any) -> CopyRun:
    """Start generating in the background; stream the first variant with ``run.stream()``."""
    return CopyRun(brief, **kwargs)

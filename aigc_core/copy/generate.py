"""The ad copy task: brief -> prompt (preprocess) -> one batched ``generate`` (_forward) -> cleaned, checked,
ranked variants (postprocess), with regeneration to keep the requested count and a streamed first variant."""

from __future__ import annotations

import queue
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from aigc_core.copy import checks, guardrails, ranking
from aigc_core.copy.brief import Brief, validate_brief
from aigc_core.copy.checks import CheckReport
from aigc_core.copy.defaults import default_model_for
from aigc_core.copy.examples import select as select_examples
from aigc_core.copy.guardrails import Kit, Violation
from aigc_core.copy.limits import CHANNEL_LIMITS, LimitCheck, check_feasible, enforce, split_sentences
from aigc_core.copy.lm import (  # noqa: F401 - FirstRowStreamer and sample_batch are re-exported for the bench
    FirstRowStreamer,
    LanguageModel,
    Sample,
    Streamer,
    load_language_model,
    sample_batch,
)
from aigc_core.copy.prompts import FittedPrompt, fit_prompt
from aigc_core.errors import UserInputError
from aigc_core.users.roles import Actor, acting_as, require

MAX_ATTEMPTS = 2
OVERSAMPLE = 3  # candidates written per variant asked for: the checks then pick the usable ones
MAX_CANDIDATES = 36
N_EXAMPLES = 2  # few-shot examples in the prompt
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
    logprob: float | None = None
    checks: CheckReport | None = None

    @property
    def flagged(self) -> bool:
        """True when the brand kit flags it."""
        return bool(self.violations)

    @property
    def passes(self) -> bool:
        """Usable as written: every copy check passes and the brand kit has nothing against it."""
        return self.checks is not None and self.checks.passes and not self.violations and self.limit.ok

    def failures(self) -> list[str]:
        """Why it was held back (empty when it passes)."""
        out = self.checks.failures() if self.checks is not None else ["not checked"]
        out.extend(v.reason for v in self.violations)
        if not self.limit.ok:
            out.append("too long for the channel")
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (history, export, batch CSV)."""
        d = asdict(self)
        d["limit"] = {**asdict(self.limit), "ok": self.limit.ok, "label": self.limit.label()}
        d["flagged"] = self.flagged
        d["checks"] = self.checks.to_dict() if self.checks is not None else None
        d["passes"] = self.passes
        d["failures"] = self.failures()
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
    held_back: list[Variant] = field(default_factory=list)  # candidates that failed a check, best first
    spares: list[Variant] = field(default_factory=list)  # passing candidates beyond the count asked for
    shortfall: str = ""  # why fewer variants than asked passed, and what to try (empty when enough passed)
    candidates: int = 0
    backend: str = ""
    n_examples: int = 0

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


# Preprocess / forward / postprocess --------------------------------------------------------------
@dataclass
class Prepared:
    """Everything _forward needs: the fitted prompt, generation arguments and the checks' inputs."""

    brief: Brief
    kit: Kit | None
    prompt: FittedPrompt
    gen_kwargs: dict[str, Any]
    seed: int
    examples: list[str] = field(default_factory=list)  # the few-shot examples' texts in the prompt


def preprocess(
    brief: Brief | dict[str, Any],
    lm: LanguageModel,
    kit: Kit | None = None,
    *,
    static_cache: bool | None = None,
    use_history: bool = True,
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
    shots = select_examples(brief, N_EXAMPLES, kit=kit, use_history=use_history)
    fitted = fit_prompt(brief, lm.tokenizer, kit, lm.context, kwargs["max_new_tokens"], examples=shots, chat=lm.chat)
    seed = brief.seed if brief.seed is not None else random.SystemRandom().randrange(2**31 - 1)
    used = shots[: fitted.n_examples]
    return Prepared(brief, kit, fitted, kwargs, seed, [f"{e.product}\n{e.copy}" for e in used])


def _forward(prep: Prepared, lm: LanguageModel, n: int, *, seed: int, streamer: Any = None) -> tuple[list[Sample], int]:
    """``n`` samples from the model's backend (one batched ``generate`` on transformers): text, hit the token
    limit, mean token log-probability each; and the new tokens they took."""
    return lm.sample(
        prep.prompt.text, n, prep.gen_kwargs, seed=seed, streamer=streamer, stop=prep.prompt.stop, plain_text=True
    )


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


def postprocess(
    rows: list[Sample] | list[tuple[str, bool]], prep: Prepared, kept: list[Variant], *, attempt: int = 0
) -> tuple[list[Variant], dict[str, int]]:
    """Clean, enforce limits, check the brand kit and drop empties/near-duplicates (also of ``kept``)."""
    brief = prep.brief
    out: list[Variant] = []
    dropped = {"empty": 0, "duplicate": 0}
    for row in rows:
        raw, hit_limit = row[0], row[1]
        logprob = row[2] if len(row) > 2 else None
        text = clean_text(raw, brief, prep.prompt, hit_limit=hit_limit)
        text, limit = enforce(text, brief.channel, brief.language, brief.max_length) if text else (text, None)
        if not text or limit is None or len(text) < 2:
            dropped["empty"] += 1
            continue
        if any(ranking.is_near_duplicate(text, v.text) for v in [*kept, *out]):
            dropped["duplicate"] += 1
            continue
        violations = guardrails.check(text, prep.kit, brief.channel)
        out.append(Variant(text, raw, limit, violations, attempt=attempt, logprob=logprob))
    return out, dropped


def check_variants(variants: list[Variant], prep: Prepared, *, embedder: Any = None) -> None:
    """Run the copy checks (coverage, nothing invented, language, relevance, fluency) on each variant."""
    if not variants:
        return
    brief, kit = prep.brief, prep.kit
    allowed = "\n".join(
        [*(kit.required_for(brief.channel) if kit else []), kit.name if kit else "", kit.voice if kit else ""]
    )
    reports = checks.evaluate(
        [v.text for v in variants],
        product=brief.product,
        points=brief.points(),
        brief_text=brief.as_text(),
        language=brief.language,
        channel=brief.channel,
        allowed=allowed,
        fluency=[v.logprob for v in variants],
        embedder=embedder,
        examples=prep.examples,
    )
    for v, rep in zip(variants, reports, strict=True):
        v.checks = rep
    if brief.channel == "support_reply":  # a reply has checks of its own: no promotions, promises or made-up names
        from aigc_core.copy import reply_checks

        for v in variants:
            assert v.checks is not None
            v.checks.reasons.extend(reply_checks.check_reply_for(v.text, brief))


def tier(v: Variant) -> tuple[int, int, int]:
    """Rank order before any weighting: passes every check, key points stated, names the product."""
    rep = v.checks
    if rep is None:
        return (0, 0, 0)
    return (int(v.passes), len(rep.covered), int(rep.product_named))


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
    variants.sort(key=lambda v: (tier(v), v.score), reverse=True)
    return variants, note


def rerank(variants: list[Variant], weights: dict[str, float]) -> list[Variant]:
    """Re-sort by a new weighting of the existing scores (no model call); the checks still rank first."""
    for v in variants:
        v.score = ranking.combined(v.scores, weights)
    return sorted(variants, key=lambda v: (tier(v), v.score), reverse=True)


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
    embedder: Any = None,
    oversample: int = OVERSAMPLE,
    use_history: bool = True,
) -> CopyResult:
    """Best of N: write ``oversample`` candidates per variant asked for, clean and check them, show the ones
    that pass every check (best first) and hold back the rest with their reasons; one more round when too few
    pass. ``embedder`` replaces the embedding model of the checks (tests, benches)."""
    brief = validate_brief(brief)
    if kit is None and brief.brand_kit:
        kit = guardrails.get_kit(brief.brand_kit)
    lm = lm or load_language_model(brief.model or default_model_for(brief.language))
    prep = preprocess(brief, lm, kit, static_cache=static_cache, use_history=use_history)
    n = brief.n_variants
    kept: list[Variant] = []
    notes: list[str] = []
    dropped_total = {"empty": 0, "duplicate": 0}
    new_tokens, seconds, first_token_s, attempts, candidates = 0, 0.0, None, 0, 0
    for attempt in range(MAX_ATTEMPTS):
        n_passing = sum(v.passes for v in kept)
        if n_passing >= n:
            break
        attempts += 1
        ask = min(MAX_CANDIDATES, max(1, oversample) * (n - n_passing) + (0 if attempt == 0 else n))
        streamer = streamer_factory(lm) if (streamer_factory and attempt == 0) else None
        t0 = time.perf_counter()
        rows, ntok = _forward(prep, lm, ask, seed=prep.seed + 1000 * attempt, streamer=streamer)
        seconds += time.perf_counter() - t0
        if streamer is not None and getattr(streamer, "first_token_at", None):
            first_token_s = streamer.first_token_at - t0
        new_tokens += ntok
        candidates += len(rows)
        fresh, dropped = postprocess(rows, prep, kept, attempt=attempt)
        for k, v in dropped.items():
            dropped_total[k] += v
        check_variants(fresh, prep, embedder=embedder)
        kept.extend(fresh)
    if prep.prompt.cut_tokens:
        notes.append(
            f"The brief was too long for the model's context: the last {prep.prompt.cut_tokens} tokens of "
            "the key points were cut."
        )
    ranked, note = rank(kept, brief.language, weights=weights, sentiment=sentiment) if kept else ([], "")
    passing = [v for v in ranked if v.passes]
    shown, spares = passing[:n], passing[n:]
    held = [v for v in ranked if not v.passes]
    notes.append(
        f"Wrote {candidates} candidates in {attempts} round(s); {sum(v.passes for v in kept)} passed every check"
        + (
            f", {dropped_total['duplicate']} near-duplicates and {dropped_total['empty']} empty ones dropped"
            if any(dropped_total.values())
            else ""
        )
        + "."
    )
    shortfall = too_few_note(len(shown), n, held, lm) if len(shown) < n else ""
    if shortfall:
        notes.append(shortfall)
    if note:
        notes.append(note)
    result = CopyResult(
        brief=brief,
        variants=shown,
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
        held_back=held,
        spares=spares,
        shortfall=shortfall,
        candidates=candidates,
        backend=lm.backend,
        n_examples=prep.prompt.n_examples,
    )
    if save:
        from aigc_core.copy.history import save_result

        result.generation_id = save_result(result)
    return result


def too_few_note(shown: int, n: int, held: list[Variant], lm: LanguageModel) -> str:
    """Why fewer variants than asked passed: the most common failures, and what to try."""
    counts: dict[str, int] = {}
    for v in held:
        for reason in v.failures():
            key = reason.split("“")[0].split(":")[0].strip()
            counts[key] = counts.get(key, 0) + 1
    top = ", ".join(f"{k} ({c})" for k, c in sorted(counts.items(), key=lambda kv: -kv[1])[:3])
    head = f"Only {shown} of {n} variants passed every check" if shown else "No candidate passed every check"
    return f"{head}. Most common problems: {top or 'none recorded'}. {NOTHING_USABLE_HINT}"


NOTHING_USABLE_HINT = (
    "The model could not state the brief's key points without inventing details: try the hub model "
    "(AIGC_OFFLINE=false), a brand-voice fine-tune, fewer or shorter key points, or a looser length limit."
)


def generate_copy(brief: Brief | dict[str, Any], **kwargs: Any) -> CopyResult:
    """Generate ranked variants of a brief (no streaming); ``result.usable`` is False when none passed."""
    return run_generation(brief, **kwargs)


class CopyRun:
    """A generation running in a thread: :meth:`stream` yields the first variant as it is written, then
    :meth:`result` returns the ranked variants (or raises the engine's error)."""

    def __init__(self, brief: Brief | dict[str, Any], *, actor: Actor | None = None, **kwargs: Any) -> None:
        # who asks, checked before any work (a viewer may not generate); the run thread then acts as them
        self.actor = require(actor, "create", what="ad copy")
        self.brief = validate_brief(brief)
        self.lm: LanguageModel = kwargs.pop("lm", None) or load_language_model(
            self.brief.model or default_model_for(self.brief.language)
        )
        self._streamer: Streamer | None = None
        self._result: CopyResult | None = None
        self._error: BaseException | None = None

        def factory(lm: LanguageModel) -> Streamer:
            self._streamer = lm.make_streamer()
            self._ready.put(self._streamer)
            return self._streamer

        self._ready: queue.Queue[Streamer | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, args=(factory, kwargs), daemon=True)
        self._thread.start()

    def _run(self, factory: Callable[[LanguageModel], Streamer], kwargs: dict[str, Any]) -> None:
        try:
            with acting_as(self.actor):  # a new thread has no acting user of its own (history, save)
                self._result = run_generation(self.brief, lm=self.lm, streamer_factory=factory, **kwargs)
        except BaseException as exc:
            self._error = exc
        finally:
            self._ready.put(None)
            if self._streamer is not None:
                self._streamer.end()

    def queued_behind(self) -> int:
        """How many other requests use the language model before this one (0: this one is running)."""
        return self.lm.lock.ahead(self._thread.ident) if self._thread.is_alive() else 0

    def wait_turn(self, on_wait: Callable[[int], None], every_s: float = 0.5, settle_s: float = 2.0) -> None:
        """Call ``on_wait(requests ahead)`` every ``every_s`` while other users' requests hold the model; returns
        once this request runs (it first gives the run thread up to ``settle_s`` to reach the model's queue)."""
        lock, ident = self.lm.lock, self._thread.ident
        deadline = time.monotonic() + settle_s
        while self._thread.is_alive() and not lock.holds_ticket(ident) and time.monotonic() < deadline:
            time.sleep(0.02)
        while self._thread.is_alive() and (ahead := lock.ahead(ident)) > 0:
            on_wait(ahead)
            time.sleep(every_s)

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

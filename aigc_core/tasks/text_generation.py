"""Text generation with a causal language model: preprocess -> _forward -> postprocess.

Sampling uses a per-request ``torch.Generator`` (never the global RNG), so two sessions generating at the same
time do not disturb each other's seeds and a seed always gives the same text for the same model.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aigc_core.errors import UserInputError
from aigc_core.models.task_table import TEXT_GENERATION

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from aigc_core.models.manager import LoadedModel

MAX_NEW_TOKENS = 2048
MAX_RETURN_SEQUENCES = 16
Message = dict[str, str]
PromptLike = str | Sequence[Message]
_MARKUP = re.compile(r"<\|[^|<>]{1,40}\|>|</?s>|\[/?INST\]")


@dataclass
class GenerationParams:
    """Validated sampling parameters."""

    max_new_tokens: int = 64
    temperature: float = 0.7
    top_p: float = 0.9
    top_k: int = 50
    repetition_penalty: float = 1.1
    seed: int = 0
    num_return_sequences: int = 1


@dataclass
class GenerationResult:
    """Generated texts and what produced them."""

    texts: list[str]
    model: str
    seed: int
    prompt_tokens: int
    new_tokens: int
    seconds: float
    revision: str = ""

    @property
    def text(self) -> str:
        """The first text."""
        return self.texts[0] if self.texts else ""


@dataclass
class Prepared:
    """Model inputs built by :func:`preprocess`."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    prompt_tokens: int


def validate_params(
    *,
    max_new_tokens: int,
    temperature: float,
    top_p: float,
    top_k: int,
    repetition_penalty: float,
    seed: int | None,
    num_return_sequences: int,
) -> GenerationParams:
    """Check the sampling parameters; raises UserInputError with a hint on a bad value."""
    if not isinstance(max_new_tokens, int) or not 0 < max_new_tokens <= MAX_NEW_TOKENS:
        raise UserInputError(
            f"max_new_tokens must be between 1 and {MAX_NEW_TOKENS}, not {max_new_tokens!r}.",
            hint="Ask for fewer tokens (a slogan needs ~20, a paragraph ~150).",
        )
    if temperature is None or temperature < 0 or temperature > 5:
        raise UserInputError(
            f"temperature must be between 0 and 5, not {temperature!r}.",
            hint="Use 0 for deterministic output, ~0.7 for varied copy.",
        )
    if top_p is None or not 0 < top_p <= 1:
        raise UserInputError(f"top_p must be in (0, 1], not {top_p!r}.", hint="Use 0.9 unless you know better.")
    if not isinstance(top_k, int) or top_k < 0:
        raise UserInputError(f"top_k must be 0 (off) or a positive integer, not {top_k!r}.", hint="Use 50.")
    if repetition_penalty is None or not 0 < repetition_penalty <= 10:
        raise UserInputError(f"repetition_penalty must be in (0, 10], not {repetition_penalty!r}.", hint="Use 1.0-1.3.")
    if not isinstance(num_return_sequences, int) or not 0 < num_return_sequences <= MAX_RETURN_SEQUENCES:
        raise UserInputError(
            f"num_return_sequences must be between 1 and {MAX_RETURN_SEQUENCES}, not {num_return_sequences!r}.",
            hint="Ask for fewer variants per request.",
        )
    if seed is not None and (not isinstance(seed, int) or seed < 0 or seed >= 2**63):
        raise UserInputError(f"seed must be a non-negative integer, not {seed!r}.", hint="Leave it empty for random.")
    used_seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
    return GenerationParams(
        max_new_tokens, float(temperature), float(top_p), top_k, float(repetition_penalty), used_seed,
        num_return_sequences,
    )  # fmt: skip


def _as_messages(prompt: PromptLike) -> list[Message] | str:
    if isinstance(prompt, str):
        if not prompt.strip():
            raise UserInputError("The prompt is empty.", hint="Type what the model should write.")
        return prompt
    messages = list(prompt)
    if not messages:
        raise UserInputError("The conversation is empty.", hint="Give at least one message.")
    for m in messages:
        if not isinstance(m, dict) or "role" not in m or "content" not in m:
            raise UserInputError(
                "Each message must be a dict with 'role' and 'content'.",
                hint='E.g. [{"role": "user", "content": "Write a slogan"}].',
            )
    if not any(str(m["content"]).strip() for m in messages):
        raise UserInputError("The conversation has no text.", hint="Type what the model should write.")
    return messages


def render_prompt(tokenizer: Any, prompt: PromptLike) -> str:
    """The prompt as text: the tokenizer's chat template when it has one, else plain text."""
    item = _as_messages(prompt)
    messages = [{"role": "user", "content": item}] if isinstance(item, str) else item
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    if isinstance(item, str):
        return item
    return "\n".join(f"{m['role']}: {m['content']}" for m in messages) + "\nassistant:"


def preprocess(tokenizer: Any, prompts: Sequence[PromptLike], *, max_new_tokens: int, device: str) -> Prepared:
    """Render and tokenize the prompts (left padding), leaving room for ``max_new_tokens``."""
    texts = [render_prompt(tokenizer, p) for p in prompts]
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token
    has_template = bool(getattr(tokenizer, "chat_template", None))
    limit = getattr(tokenizer, "model_max_length", None)
    kw: dict[str, Any] = {}
    if isinstance(limit, int) and 0 < limit < 1_000_000:
        if limit <= max_new_tokens:
            raise UserInputError(
                f"max_new_tokens ({max_new_tokens}) does not fit the model's context of {limit} tokens.",
                hint=f"Ask for fewer than {limit} new tokens.",
            )
        kw = {"truncation": True, "max_length": limit - max_new_tokens}
    enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=not has_template, **kw)
    prompt_tokens = int(enc["attention_mask"].sum().item())
    return Prepared(enc["input_ids"].to(device), enc["attention_mask"].to(device), prompt_tokens)


def _seeded_sampler(params: GenerationParams, device: str) -> Any:
    """A logits processor that samples with its own generator and forces the choice (greedy picks it)."""
    import torch
    from transformers import LogitsProcessor

    generator = torch.Generator(device="cpu").manual_seed(params.seed)

    class SeededSampler(LogitsProcessor):
        def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
            logits = scores.float() / params.temperature
            if params.top_k > 0:
                k = min(params.top_k, logits.shape[-1])
                kth = torch.topk(logits, k, dim=-1).values[..., -1, None]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            if params.top_p < 1.0:
                sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
                cum = sorted_logits.softmax(-1).cumsum(-1)
                drop = cum - sorted_logits.softmax(-1) > params.top_p  # keep the token that crosses top_p
                logits = logits.masked_fill(drop.scatter(-1, order, drop), float("-inf"))
            probs = logits.softmax(-1).cpu()
            chosen = torch.multinomial(probs, 1, generator=generator).to(scores.device)
            forced = torch.full_like(scores, float("-inf"))
            return forced.scatter(-1, chosen, 0.0)

    return SeededSampler()


def _generate_kwargs(loaded: LoadedModel, prepared: Prepared, params: GenerationParams) -> dict[str, Any]:
    from transformers import LogitsProcessorList

    tok = loaded.tokenizer
    n = params.num_return_sequences
    kw: dict[str, Any] = {
        "input_ids": prepared.input_ids.repeat_interleave(n, dim=0),
        "attention_mask": prepared.attention_mask.repeat_interleave(n, dim=0),
        "max_new_tokens": params.max_new_tokens,
        "do_sample": False,  # sampling (when temperature > 0) happens in the seeded processor
        "repetition_penalty": params.repetition_penalty,
        "pad_token_id": tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id,
        "num_beams": 1,
        "temperature": None,
        "top_p": None,
        "top_k": None,
    }
    if tok.eos_token_id is not None:
        kw["eos_token_id"] = tok.eos_token_id
    if params.temperature > 0:
        kw["logits_processor"] = LogitsProcessorList([_seeded_sampler(params, loaded.device)])
    return kw


def _forward(loaded: LoadedModel, prepared: Prepared, params: GenerationParams) -> torch.Tensor:
    """Run ``model.generate``; returns only the new token ids (one row per returned sequence)."""
    import torch

    with torch.inference_mode():
        out = loaded.model.generate(**_generate_kwargs(loaded, prepared, params))
    return out[:, prepared.input_ids.shape[1] :]


def clean_text(text: str) -> str:
    """Strip chat markup and surrounding whitespace."""
    return _MARKUP.sub("", text).strip()


def postprocess(tokenizer: Any, new_ids: torch.Tensor) -> tuple[list[str], int]:
    """Decode the new tokens (special tokens and chat markup removed); also the count of real new tokens."""
    pad = tokenizer.pad_token_id
    count = int((new_ids != pad).sum().item()) if pad is not None else int(new_ids.numel())
    texts = [clean_text(t) for t in tokenizer.batch_decode(new_ids, skip_special_tokens=True)]
    return texts, count


def _load(model: str | None) -> LoadedModel:
    """The transformers model (this task drives ``generate`` itself; the copy engine uses llama.cpp for GGUF)."""
    from aigc_core.models.manager import get_manager

    return get_manager().load(TEXT_GENERATION, model, backend="transformers")


def generate(
    messages_or_prompt: PromptLike,
    *,
    model: str | None = None,
    max_new_tokens: int = 64,
    temperature: float = 0.7,
    top_p: float = 0.9,
    top_k: int = 50,
    repetition_penalty: float = 1.1,
    seed: int | None = None,
    num_return_sequences: int = 1,
) -> GenerationResult:
    """Generate ``num_return_sequences`` texts for a prompt or a chat (list of role/content messages)."""
    params = validate_params(
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_p=top_p,
        top_k=top_k,
        repetition_penalty=repetition_penalty,
        seed=seed,
        num_return_sequences=num_return_sequences,
    )
    _as_messages(messages_or_prompt)  # validate before loading a model
    from aigc_core.copy.openai_backend import server_enabled

    if model is None and server_enabled():  # AIGC_TEXT_GENERATION_BACKEND=server: the inference server writes it
        return _generate_on_server(messages_or_prompt, params)
    loaded = _load(model)
    started = time.perf_counter()
    prepared = preprocess(loaded.tokenizer, [messages_or_prompt], max_new_tokens=params.max_new_tokens,
                          device=loaded.device)  # fmt: skip
    new_ids = _forward(loaded, prepared, params)
    texts, count = postprocess(loaded.tokenizer, new_ids)
    return GenerationResult(
        texts=texts,
        model=loaded.key,
        seed=params.seed,
        prompt_tokens=prepared.prompt_tokens,
        new_tokens=count,
        seconds=time.perf_counter() - started,
        revision=loaded.revision,
    )


def _generate_on_server(messages_or_prompt: PromptLike, params: GenerationParams) -> GenerationResult:
    """:func:`generate` on the OpenAI-compatible inference server (``copy/openai_backend.py``)."""
    from aigc_core.copy.openai_backend import complete

    started = time.perf_counter()
    prompt = messages_or_prompt if isinstance(messages_or_prompt, str) else list(messages_or_prompt)
    texts, name, prompt_tokens, new_tokens = complete(
        prompt,
        max_new_tokens=params.max_new_tokens,
        temperature=params.temperature,
        top_p=params.top_p,
        seed=params.seed,
        n=params.num_return_sequences,
    )
    return GenerationResult(
        texts=[clean_text(t) for t in texts],
        model=name,
        seed=params.seed,
        prompt_tokens=prompt_tokens,
        new_tokens=new_tokens,
        seconds=time.perf_counter() - started,
    )


def stream(
    messages_or_prompt: PromptLike,
    *,
    model: str | None = None,
    max_new_tokens: int = 64,
    temperature: float = 0.7,
    top_p: float = 0.9,
    top_k: int = 50,
    repetition_penalty: float = 1.1,
    seed: int | None = None,
    timeout_s: float = 300.0,
) -> Iterator[str]:
    """Yield text pieces as they are generated (one sequence; generation runs in a thread)."""
    from transformers import TextIteratorStreamer

    params = validate_params(
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_p=top_p,
        top_k=top_k,
        repetition_penalty=repetition_penalty,
        seed=seed,
        num_return_sequences=1,
    )
    _as_messages(messages_or_prompt)
    loaded = _load(model)
    prepared = preprocess(loaded.tokenizer, [messages_or_prompt], max_new_tokens=params.max_new_tokens,
                          device=loaded.device)  # fmt: skip
    streamer = TextIteratorStreamer(loaded.tokenizer, skip_prompt=True, timeout=timeout_s, skip_special_tokens=True)
    kwargs = _generate_kwargs(loaded, prepared, params)
    errors: list[BaseException] = []

    def run() -> None:
        import torch

        try:
            with torch.inference_mode():
                loaded.model.generate(**kwargs, streamer=streamer)
        except BaseException as exc:
            errors.append(exc)
            streamer.end()

    thread = threading.Thread(target=run, name="aigc-generate-stream", daemon=True)
    thread.start()
    try:
        for piece in streamer:
            piece = _MARKUP.sub("", piece)
            if piece:
                yield piece
    finally:
        thread.join(timeout=timeout_s)
    if errors:
        raise errors[0]

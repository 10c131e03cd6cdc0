"""Fixtures of the ad copy tests: a tiny random Llama with a byte-level BPE tokenizer (ChatML template),
loaded through the copy engine's loader, a deterministic fake sentence embedder, a scripted ``_forward`` and a
fake job context."""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.fixtures.tiny_models import tiny_llama_config

CORPUS = [
    "Buy our new bottle now and save big today.",
    "The best water bottle for hikers keeps drinks cold all day.",
    "Fresh coffee delivered to your door every morning.",
    "Light, strong and made to last: shop the new range.",
    "Sign up today and get free shipping on your first order.",
    "Great sound, long battery, simple design for everyone.",
    "Write a social post for the product. Key points: cold drinks. Audience: runners. Tone: friendly.",
    "You are an expert advertising copywriter. Reply with the copy only.",
]
CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def make_tiny_lm(folder: Path, *, context: int = 512) -> Path:
    """Save a tiny random LlamaForCausalLM and its tokenizer into ``folder``."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(CORPUS * 20, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        model_max_length=context,
    )
    fast.chat_template = CHATML
    fast.save_pretrained(str(folder))
    torch.manual_seed(0)
    cfg = tiny_llama_config(fast, num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=context)
    model = LlamaForCausalLM(cfg)
    with torch.no_grad():  # make EOS rare so outputs are not empty
        model.lm_head.weight[fast.eos_token_id].mul_(0.0)
    model.save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="session")
def tiny_lm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random causal LM folder (context 512)."""
    return make_tiny_lm(tmp_path_factory.mktemp("copy_tiny_lm"))


@pytest.fixture(scope="session")
def tiny_lm_short_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same tiny LM with a 256-token context (long-brief tests)."""
    return make_tiny_lm(tmp_path_factory.mktemp("copy_tiny_lm_short"), context=256)


@pytest.fixture()
def tiny_lm(tiny_lm_dir: Path, settings: Any) -> Any:
    """The tiny LM loaded by the copy engine (fresh engine cache per test)."""
    from aigc_core.copy.lm import clear_cache, load_language_model

    clear_cache()
    lm = load_language_model(str(tiny_lm_dir))
    yield lm
    clear_cache()


class FakeContext:
    """A job context recording progress and logs."""

    def __init__(self, work_dir: Path, stop_after: int | None = None) -> None:
        self.work_dir = work_dir
        self.progress: list[tuple[float, str]] = []
        self.lines: list[str] = []
        self.stop_after = stop_after

    def report(self, progress: float, message: str = "") -> None:
        self.progress.append((progress, message))

    def log(self, line: str) -> None:
        self.lines.append(line)

    def should_stop(self) -> bool:
        return self.stop_after is not None and len(self.progress) > self.stop_after


@pytest.fixture()
def fake_ctx(tmp_path: Path) -> FakeContext:
    """A fake job context with its own work dir."""
    d = tmp_path / "job"
    d.mkdir()
    return FakeContext(d)


# Fake embedder ---------------------------------------------------------------------------------------
EMBED_DIM = 512
_EMBED_STOP = frozenset(
    {"a", "an", "the", "and", "or", "of", "for", "to", "in", "on", "at", "by", "with", "from", "your", "you", "our"}
    | {"we", "is", "are", "be", "it", "its", "this", "that"}
)


def _embed_tokens(text: str) -> list[str]:
    """Lower-cased words (stop words dropped) and single CJK characters."""
    low = text.lower()
    words = [w for w in re.findall(r"[a-z0-9]+", low) if w not in _EMBED_STOP]
    return words + re.findall(r"[\u3400-\u9fff]", low)


def fake_embed(texts: Sequence[str]) -> np.ndarray:
    """A deterministic bag-of-words embedder: every token hashed (CRC32) into one of EMBED_DIM buckets, rows
    L2-normalised; a text without tokens gets a fixed unit vector. Same interface as the checks' embedder."""
    out = np.zeros((len(texts), EMBED_DIM), dtype=np.float32)
    for i, text in enumerate(texts):
        for tok in _embed_tokens(text):
            out[i, zlib.crc32(tok.encode("utf-8")) % EMBED_DIM] += 1.0
        norm = float(np.linalg.norm(out[i]))
        if norm == 0.0:
            out[i, 0] = 1.0
        else:
            out[i] /= norm
    return out


class FakeEmbedder:
    """:func:`fake_embed` that counts how many texts it embedded (to prove the engine used it)."""

    def __init__(self) -> None:
        self.calls = 0
        self.texts = 0

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.texts += len(texts)
        return fake_embed(texts)


@pytest.fixture()
def fake_embedder() -> FakeEmbedder:
    """A fresh counting fake embedder (pass it as ``embedder=``)."""
    return FakeEmbedder()


# Scripted _forward --------------------------------------------------------------------------------------
class ScriptedForward:
    """A fake ``generate._forward``: round ``i`` returns the rows of ``rounds[i]`` (a str is a fluent sample that
    ended on its own; a tuple is ``Sample(text, hit_limit, logprob)``), cut or padded with empty samples to the
    ``n`` asked for; records every call's ``n`` and ``seed``."""

    def __init__(self, *rounds: Sequence[Any], logprob: float = -1.2) -> None:
        self.rounds = [list(r) for r in rounds]
        self.logprob = logprob
        self.calls: list[tuple[int, int]] = []

    def __call__(self, prep: Any, lm: Any, n: int, *, seed: int, streamer: Any = None) -> tuple[list[Any], int]:
        from aigc_core.copy.lm import Sample

        i = len(self.calls)
        self.calls.append((n, seed))
        script = self.rounds[i] if i < len(self.rounds) else []
        rows = [Sample(r, False, self.logprob) if isinstance(r, str) else Sample(*r) for r in script][:n]
        rows += [Sample("", False, None)] * (n - len(rows))
        return rows, 12 * n

    @property
    def asked(self) -> list[int]:
        """The ``n`` of every call."""
        return [n for n, _ in self.calls]

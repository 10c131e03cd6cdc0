"""Fixtures of the ad copy tests: a tiny random Llama with a byte-level BPE tokenizer (ChatML template),
loaded through the copy engine's loader, and a fake job context."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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

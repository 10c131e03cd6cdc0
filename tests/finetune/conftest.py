"""Fixtures of the fine-tuning tests: tiny random BERT/Llama models with a trained word-level tokenizer,
small labelled frames, and a fake job context."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pandas as pd
import pytest

WORDS_POS = ["great", "love", "happy", "excellent", "good", "nice", "fantastic", "wonderful"]
WORDS_NEG = ["bad", "hate", "awful", "terrible", "poor", "sad", "horrible", "worst"]
WORDS_NEU = ["the", "a", "is", "was", "it", "this", "product", "service", "today", "shop"]


def _make_tokenizer(folder: Path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab_words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]
    vocab_words += sorted(
        set(
            WORDS_POS
            + WORDS_NEG
            + WORDS_NEU
            + ["user", "assistant", "system", "brief", "copy", "write", "ad", "for", "buy", "now", "our", "new"]
        )
    )
    vocab = {w: i for i, w in enumerate(vocab_words)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        model_max_length=512,
    )
    fast.save_pretrained(str(folder))


@pytest.fixture(scope="session")
def ft_bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random BERT encoder (no head) with a word-level tokenizer."""
    import torch
    from transformers import BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny_bert")
    _make_tokenizer(folder)
    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=48,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(cfg).save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="session")
def ft_llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama causal LM with a word-level tokenizer and a ChatML template."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    folder = tmp_path_factory.mktemp("tiny_llama")
    _make_tokenizer(folder)
    tok = AutoTokenizer.from_pretrained(str(folder))
    tok.bos_token, tok.eos_token = "<s>", "<|im_end|>"
    tok.chat_template = (
        "{% for m in messages %}<|im_start|> {{ m['role'] }} {{ m['content'] }} <|im_end|> {% endfor %}"
        "{% if add_generation_prompt %}<|im_start|> assistant {% endif %}"
    )
    tok.save_pretrained(str(folder))
    # plain (no [CLS]/[SEP]) post-processing for the LM
    tj = json.loads((folder / "tokenizer.json").read_text())
    tj["post_processor"] = None
    (folder / "tokenizer.json").write_text(json.dumps(tj))
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=48,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=256,
        pad_token_id=0,
        bos_token_id=4,
        eos_token_id=7,
    )
    LlamaForCausalLM(cfg).save_pretrained(str(folder))
    return folder


def _sentence(rng: random.Random, words: list[str]) -> str:
    return (
        " ".join(rng.choice(WORDS_NEU) for _ in range(rng.randint(1, 6)))
        + " "
        + " ".join(rng.choice(words) for _ in range(rng.randint(1, 3)))
    )


@pytest.fixture()
def sentiment_frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """train/validation/test frames with columns text and label (positive/negative), easy to learn."""
    rng = random.Random(0)

    def frame(n: int) -> pd.DataFrame:
        rows = []
        for i in range(n):
            lab = "positive" if i % 2 == 0 else "negative"
            rows.append({"text": _sentence(rng, WORDS_POS if lab == "positive" else WORDS_NEG), "label": lab})
        return pd.DataFrame(rows)

    return frame(64), frame(16), frame(16)


@pytest.fixture()
def brand_frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """brief -> copy pairs."""
    rng = random.Random(1)

    def frame(n: int) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {"brief": f"write ad for {rng.choice(WORDS_NEU)}", "copy": f"buy our new {rng.choice(WORDS_POS)} now"}
                for _ in range(n)
            ]
        )

    return frame(24), frame(8), frame(8)

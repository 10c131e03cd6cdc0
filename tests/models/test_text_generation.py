"""Text generation on a tiny random Llama: seeds, counts, chat templates, streaming and bad values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aigc_core.errors import UserInputError
from aigc_core.tasks import text_generation as tg


def test_seed_is_deterministic_and_per_request(tiny_causal_lm_dir: Path) -> None:
    import torch

    model = str(tiny_causal_lm_dir)
    torch.manual_seed(123)
    a = tg.generate("a slogan for coffee", model=model, max_new_tokens=12, seed=7, num_return_sequences=2)
    torch.manual_seed(999)  # the global RNG does not matter
    b = tg.generate("a slogan for coffee", model=model, max_new_tokens=12, seed=7, num_return_sequences=2)
    c = tg.generate("a slogan for coffee", model=model, max_new_tokens=12, seed=8, num_return_sequences=2)
    assert a.texts == b.texts and a.seed == 7
    assert a.texts != c.texts
    assert a.texts[0] != a.texts[1]  # the two sequences are sampled independently


def test_greedy_and_counts(tiny_causal_lm_dir: Path) -> None:
    model = str(tiny_causal_lm_dir)
    a = tg.generate("hello 你好", model=model, max_new_tokens=6, temperature=0, seed=1, num_return_sequences=3)
    b = tg.generate("hello 你好", model=model, max_new_tokens=6, temperature=0, seed=2)
    assert len(a.texts) == 3 and a.texts[0] == a.texts[1] == a.texts[2] == b.texts[0]
    assert 0 < a.new_tokens <= 18 and a.prompt_tokens > 0 and a.seconds > 0
    assert a.model == tiny_causal_lm_dir.name
    assert all(t == t.strip() and "<|im_start|>" not in t for t in a.texts)


def test_random_seed_is_reported(tiny_causal_lm_dir: Path) -> None:
    r = tg.generate("hi", model=str(tiny_causal_lm_dir), max_new_tokens=4)
    again = tg.generate("hi", model=str(tiny_causal_lm_dir), max_new_tokens=4, seed=r.seed)
    assert r.texts == again.texts


def test_chat_template_and_plain_prompt(tiny_causal_lm_dir: Path, tiny_gpt2_dir: Path) -> None:
    from transformers import AutoTokenizer

    chat_tok = AutoTokenizer.from_pretrained(str(tiny_causal_lm_dir))
    rendered = tg.render_prompt(
        chat_tok, [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
    )
    assert rendered.startswith("<|im_start|>system\nbe brief") and rendered.endswith("<|im_start|>assistant\n")
    plain_tok = AutoTokenizer.from_pretrained(str(tiny_gpt2_dir))
    assert tg.render_prompt(plain_tok, "hello there") == "hello there"
    result = tg.generate([{"role": "user", "content": "hello"}], model=str(tiny_gpt2_dir), max_new_tokens=5, seed=0)
    assert len(result.texts) == 1


def test_batch_preprocess_left_pads(tiny_causal_lm_dir: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_causal_lm_dir))
    prepared = tg.preprocess(tok, ["hi", "a much longer prompt about coffee and cake"], max_new_tokens=8, device="cpu")
    assert prepared.attention_mask[0, 0] == 0 and prepared.attention_mask[0, -1] == 1
    assert prepared.input_ids.shape[0] == 2


def test_stream_yields_the_same_text(tiny_causal_lm_dir: Path) -> None:
    kw: dict[str, Any] = {"model": str(tiny_causal_lm_dir), "max_new_tokens": 10, "seed": 3}
    pieces = list(tg.stream("write a slogan", **kw))
    assert len(pieces) >= 2 and all(isinstance(p, str) and p for p in pieces)
    assert tg.clean_text("".join(pieces)) == tg.generate("write a slogan", **kw).text


@pytest.mark.parametrize(
    ("prompt", "kwargs", "fragment"),
    [
        ("", {}, "prompt is empty"),
        ("   ", {}, "prompt is empty"),
        ([], {}, "conversation is empty"),
        ([{"content": "x"}], {}, "'role' and 'content'"),
        ("hi", {"max_new_tokens": 0}, "max_new_tokens"),
        ("hi", {"max_new_tokens": 2049}, "max_new_tokens"),
        ("hi", {"temperature": -0.1}, "temperature"),
        ("hi", {"top_p": 0}, "top_p"),
        ("hi", {"top_p": 1.5}, "top_p"),
        ("hi", {"top_k": -1}, "top_k"),
        ("hi", {"repetition_penalty": 0}, "repetition_penalty"),
        ("hi", {"num_return_sequences": 0}, "num_return_sequences"),
        ("hi", {"seed": -1}, "seed"),
    ],
)
def test_bad_values(prompt: Any, kwargs: dict[str, Any], fragment: str, tiny_causal_lm_dir: Path) -> None:
    with pytest.raises(UserInputError, match=fragment) as err:
        tg.generate(prompt, model=str(tiny_causal_lm_dir), **kwargs)
    assert err.value.hint
    if "num_return_sequences" in kwargs:
        return  # stream always returns one sequence
    with pytest.raises(UserInputError):
        list(tg.stream(prompt, model=str(tiny_causal_lm_dir), **kwargs))


def test_context_too_small(tiny_causal_lm_dir: Path) -> None:
    with pytest.raises(UserInputError, match="does not fit"):
        tg.generate("hi", model=str(tiny_causal_lm_dir), max_new_tokens=300)  # tokenizer limit is 256

"""Tiny BERT encoder / classifiers and a tiny trained head, built once per session (no real model)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.fixtures.tiny_models import tiny_bert_config

_WORDS_TEXT = (
    "i love this great service good happy thanks awesome best nice worst airline ever lost my bag bad "
    "hate terrible delayed flight cancelled okay the a is was it to and for on with http @user today "
    "phone new update meeting tomorrow weather"
)
WORDS = _WORDS_TEXT.split()


def _tokenizer(folder: Path):
    from transformers import BertTokenizer

    vocab = [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        *WORDS,
        "@",
        ".",
        ",",
        "!",
        "?",
        *"abcdefghijklmnopqrstuvwxyz",
    ]
    folder.mkdir(parents=True, exist_ok=True)
    ids = {word: i for i, word in enumerate(dict.fromkeys(vocab))}
    tok = BertTokenizer(vocab=ids, do_lower_case=True, model_max_length=32)
    tok.save_pretrained(str(folder))
    return tok


def _bert_config(tok, **extra):
    """1 layer, 64 wide, 32 positions: the tiny encoder the sentiment head is trained on."""
    return tiny_bert_config(
        len(tok.get_vocab()),
        hidden_size=64,
        num_hidden_layers=1,
        intermediate_size=128,
        max_position_embeddings=32,
        **extra,
    )


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1-layer, 64-dim BertModel folder with a fast tokenizer (max length 32)."""
    import torch
    from transformers import BertModel

    folder = tmp_path_factory.mktemp("tiny_encoder")
    tok = _tokenizer(folder)
    torch.manual_seed(0)
    BertModel(_bert_config(tok)).save_pretrained(str(folder))
    return folder


def _classifier(folder: Path, id2label: dict[int, str]) -> Path:
    import torch
    from transformers import BertForSequenceClassification

    tok = _tokenizer(folder)
    torch.manual_seed(0)
    cfg = _bert_config(tok, num_labels=len(id2label), id2label=id2label, label2id={v: k for k, v in id2label.items()})
    BertForSequenceClassification(cfg).eval().save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="session")
def tiny_classifier_generic_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny 3-class classifier with labels LABEL_0..LABEL_2 (needs a label map)."""
    return _classifier(tmp_path_factory.mktemp("tiny_cls_generic"), {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"})


@pytest.fixture(scope="session")
def tiny_classifier_sentiment_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny 3-class classifier whose labels are already Negative/Neutral/Positive."""
    return _classifier(tmp_path_factory.mktemp("tiny_cls_sent"), {0: "Negative", 1: "Neutral", 2: "Positive"})


@pytest.fixture(scope="session")
def tiny_tweets_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """150 labelled tweets: 3-5 words drawn from each class's own words (distinct after normalisation)."""
    import pandas as pd

    rng = random.Random(0)
    vocab = {
        "positive": ["love", "great", "thanks", "awesome", "best", "nice", "happy", "good"],
        "negative": ["worst", "lost", "bag", "hate", "terrible", "delayed", "cancelled", "bad"],
        "neutral": ["meeting", "tomorrow", "weather", "phone", "new", "update", "today", "okay"],
    }
    rows, seen = [], set()
    for label, words in vocab.items():
        while sum(r["sentiment"] == label for r in rows) < 50:
            text = " ".join(rng.sample(words, rng.randint(3, 5)))
            if text not in seen:
                seen.add(text)
                rows.append({"text": f"@user{len(rows)} {text}", "sentiment": label, "confidence": 1.0})
    path = tmp_path_factory.mktemp("tiny_data") / "tweets.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def tiny_head_dir(tmp_path_factory: pytest.TempPathFactory, tiny_encoder_dir: Path, tiny_tweets_csv: Path) -> Path:
    """A head trained by the real build() on the tiny encoder and tiny tweets."""
    from aigc_core.sentiment.head_build import build

    out = tmp_path_factory.mktemp("tiny_head") / "head"
    build(tiny_tweets_csv, out, encoder=tiny_encoder_dir, seed=0)
    return out


@pytest.fixture()
def tiny_model(tiny_head_dir: Path, tiny_encoder_dir: Path):
    """The tiny embedded model (head + tiny encoder) on the CPU."""
    from aigc_core.sentiment.head import load_embedded

    return load_embedded(tiny_head_dir, encoder=tiny_encoder_dir, device="cpu")

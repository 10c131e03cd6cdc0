"""Which sentence encoder a knowledge-base version is indexed with (``AIGC_SUPPORT_EMBEDDING_MODEL``): ``auto`` falls
back to the embedded all-MiniLM offline and records it, E5 encoders get their "query: " / "passage: " prefixes, and a
version is searched with the encoder it was indexed with even after the setting changes."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from aigc_core.support import kb
from aigc_core.tasks import embeddings
from tests.support.conftest import FAQ_CSV


@pytest.fixture()
def tiny_e5_dir(tiny_bert_encoder_dir: Path, tmp_path: Path) -> Path:
    """The tiny random BERT encoder under an E5-like folder name."""
    return Path(shutil.copytree(tiny_bert_encoder_dir, tmp_path / "tiny-e5"))


@pytest.fixture()
def embed_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The arguments of every ``embed`` call (the real one still runs)."""
    calls: list[dict[str, Any]] = []
    real = embeddings.embed

    def spy(texts: Any, **kw: Any) -> np.ndarray:
        calls.append({"texts": list(texts), **kw})
        return real(texts, **kw)

    monkeypatch.setattr(embeddings, "embed", spy)
    return calls


@pytest.fixture()
def seen_texts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every text the tokenizer is given (after prefixes)."""
    seen: list[str] = []
    real = embeddings.preprocess

    def spy(tokenizer: Any, texts: Any, max_length: int = embeddings.MAX_LENGTH) -> dict[str, Any]:
        seen.extend(texts)
        return real(tokenizer, texts, max_length)

    monkeypatch.setattr(embeddings, "preprocess", spy)
    return seen


def _setting(monkeypatch: pytest.MonkeyPatch, name: str, value: str | None) -> None:
    from aigc_core.settings import reset_settings

    if value is None:
        monkeypatch.delenv(name, raising=False)
    else:
        monkeypatch.setenv(name, value)
    reset_settings()


def _faq_kb(name: str = "Help centre") -> kb.KbInfo:
    from aigc_core.store import init_store

    init_store()
    info = kb.create_kb(name)
    kb.add_version(info.id, [kb.SourceFile("faq.csv", FAQ_CSV.encode())], build="inline")
    return info


def test_auto_indexes_with_the_embedded_minilm_the_gate_was_tuned_on(
    settings: Any, monkeypatch: pytest.MonkeyPatch, embed_calls: list[dict[str, Any]]
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _setting(monkeypatch, "AIGC_EMBEDDING_MODEL", None)
    _setting(monkeypatch, "AIGC_SUPPORT_EMBEDDING_MODEL", None)
    v = kb.ready_version(_faq_kb().id)
    assert v.embedding_model == "all-minilm-l6-v2" and "encoder_wanted" not in v.meta
    note = kb.encoder_note(v)
    assert "all-MiniLM-L6-v2 (embedded)" in note and "AIGC_SUPPORT_EMBEDDING_MODEL=multilingual-e5-small" in note
    assert {c["model"] for c in embed_calls} == {"all-minilm-l6-v2"}
    assert {c["role"] for c in embed_calls} == {"passage"}
    embed_calls.clear()
    res = kb.search(v.id, "How long until my refund arrives?", k=2)
    assert [c["role"] for c in embed_calls] == ["query"] and embed_calls[0]["model"] == "all-minilm-l6-v2"
    assert res.passages[0].chunk.title == "How long do refunds take?" and res.passages[0].dense_rank == 1


def test_e5_encoders_get_query_and_passage_prefixes(
    settings: Any, tiny_e5_dir: Path, tiny_bert_encoder_dir: Path, seen_texts: list[str]
) -> None:
    text = "How long do refunds take?"
    plain = embeddings.embed([text], model=str(tiny_e5_dir))
    query = embeddings.embed([text], model=str(tiny_e5_dir), role="query")
    passage = embeddings.embed([text], model=str(tiny_e5_dir), role="passage")
    assert seen_texts == [text, "query: " + text, "passage: " + text]
    assert not np.allclose(plain, query) and not np.allclose(query, passage)
    seen_texts.clear()
    other = tiny_bert_encoder_dir  # the same weights under a name that is not an E5 one: no prefixes
    np.testing.assert_allclose(
        embeddings.embed([text], model=str(other), role="query"), embeddings.embed([text], model=str(other))
    )
    assert seen_texts == [text, text]


def test_prefixes_come_from_the_catalog_or_an_e5_name() -> None:
    from aigc_core.models.task_table import get_spec

    def loaded(key: str, hub_id: str = "", folder: str | None = None) -> Any:
        spec = get_spec(key) or SimpleNamespace(key=key, text_prefixes=None)
        return SimpleNamespace(spec=spec, resolved=SimpleNamespace(hub_id=hub_id, local_path=folder and Path(folder)))

    e5 = ("query: ", "passage: ")
    assert embeddings.text_prefixes(loaded("multilingual-e5-small")) == e5
    assert embeddings.text_prefixes(loaded("intfloat/e5-base-v2", "intfloat/e5-base-v2")) == e5
    assert embeddings.text_prefixes(loaded("registry:abc", folder="/models/my_e5_finetune")) == e5
    assert embeddings.text_prefixes(loaded("all-minilm-l6-v2")) is None
    assert embeddings.text_prefixes(loaded("bge5-large", "org/bge5-large")) is None


def test_a_version_is_searched_with_its_own_encoder_after_the_setting_changes(
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    tiny_e5_dir: Path,
    tiny_bert_encoder_dir: Path,
    embed_calls: list[dict[str, Any]],
) -> None:
    from aigc_core.store import init_store
    from aigc_core.users.roles import Actor, acting_as

    init_store()
    _setting(monkeypatch, "AIGC_SUPPORT_EMBEDDING_MODEL", str(tiny_e5_dir))
    editor = Actor("alice", "editor")  # not an admin: the operator's folder setting is still theirs to use
    with acting_as(editor):
        info = kb.create_kb("Help centre", actor=editor)
        v1 = kb.add_version(info.id, [kb.SourceFile("faq.csv", FAQ_CSV.encode())], build="inline", actor=editor)
        assert v1.embedding_model == str(tiny_e5_dir) and "encoder_wanted" not in v1.meta
        assert kb.encoder_note(v1) == f"Indexed with {tiny_e5_dir}."
        _setting(monkeypatch, "AIGC_SUPPORT_EMBEDDING_MODEL", str(tiny_bert_encoder_dir))
        embed_calls.clear()
        kb.search(v1.id, "refund", actor=editor)
        assert [(c["model"], c["role"]) for c in embed_calls] == [(str(tiny_e5_dir), "query")]
        v2 = kb.add_version(info.id, [], build="inline", actor=editor)
        assert v2.embedding_model == str(tiny_bert_encoder_dir)
        embed_calls.clear()
        kb.search(v1.id, "refund", actor=editor)
        kb.search(v2.id, "refund", actor=editor)
        assert [c["model"] for c in embed_calls] == [str(tiny_e5_dir), str(tiny_bert_encoder_dir)]


def test_an_explicit_setting_that_cannot_load_is_an_error_not_a_fallback(
    settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from aigc_core.errors import ModelUnavailableError

    _setting(monkeypatch, "AIGC_SUPPORT_EMBEDDING_MODEL", str(tmp_path / "missing-model"))
    from aigc_core.store import init_store

    init_store()
    info = kb.create_kb("Help centre")
    with pytest.raises(ModelUnavailableError, match="does not exist"):
        kb.add_version(info.id, [kb.SourceFile("faq.csv", FAQ_CSV.encode())], build="inline")
    assert kb.list_versions(info.id) == []

"""The hybrid index: BM25 (jieba for Chinese), dense vectors in FAISS, reciprocal-rank fusion, save and load."""

from __future__ import annotations

import numpy as np
import pytest

from aigc_core.errors import UserInputError
from aigc_core.support.chunking import Chunk
from aigc_core.support.index import RRF_K, WEIGHTS, HybridIndex
from aigc_core.support.textproc import stem, tokenize
from tests.support.conftest import fake_embed


def _chunks(texts: list[str]) -> list[Chunk]:
    return [Chunk(t, "s.md", "document", "T", "", i, None, t) for i, t in enumerate(texts)]


TEXTS = [
    "Refunds are paid within 14 days to the original card.",
    "Shipping costs $4.99 and is free over $50.",
    "自收货之日起30天内可以无理由退货。",
    "Our shop opens at nine in the morning.",
]


def test_tokenize_english_and_chinese() -> None:
    assert tokenize("The refunds were shipped!") == ["refund", "ship"]
    assert stem("deliveries") == "delivery" and stem("address") == "address"
    zh = tokenize("我想申请退货，多久能到账？")
    assert "退货" in zh and "申请" in zh and "我" not in zh and "，" not in zh


def test_hybrid_search_fuses_both_rankings() -> None:
    idx = HybridIndex.build(_chunks(TEXTS), embedder=fake_embed, embedding_model="fake")
    q = "how many days until refunds are paid"
    res = idx.search(q, k=3, embedder=fake_embed)
    top = res.passages[0]
    assert top.index == 0 and top.rank == 1
    assert top.bm25_rank == 1 and top.dense_rank == 1
    assert top.fused == pytest.approx(sum(idx.weights(q)) / (RRF_K + 1))
    assert idx.weights(q) == WEIGHTS["latin"] and idx.weights("退款") == WEIGHTS["cjk"]
    assert "refund" in top.matched and 0 < top.coverage <= 1 and top.dense > 0.3 and "BM25 #1" in top.why
    assert [p.rank for p in res.passages] == list(range(1, len(res.passages) + 1))


def test_chinese_query_found_by_bm25() -> None:
    idx = HybridIndex.build(_chunks(TEXTS), embedder=fake_embed, embedding_model="fake")
    res = idx.search("退货要在多少天内申请？", k=2, mode="bm25")
    assert res.passages[0].index == 2 and res.passages[0].dense_rank is None and "退货" in res.passages[0].matched


def test_modes_and_bad_queries() -> None:
    idx = HybridIndex.build(_chunks(TEXTS), embedder=fake_embed, embedding_model="fake")
    dense = idx.search("shop opening time morning", k=2, mode="dense", embedder=fake_embed)
    assert dense.passages[0].index == 3 and dense.passages[0].bm25_rank is None
    assert idx.search("zzzz qqqq", k=2, mode="bm25").passages == []
    with pytest.raises(UserInputError, match="empty"):
        idx.search("  ", embedder=fake_embed)
    with pytest.raises(UserInputError, match="mode"):
        idx.search("x", mode="magic", embedder=fake_embed)  # type: ignore[arg-type]
    with pytest.raises(UserInputError, match="dimensions"):
        idx.search("x", query_vector=np.ones(3, np.float32))


def test_save_and_load_round_trip(tmp_path) -> None:
    idx = HybridIndex.build(_chunks(TEXTS), embedder=fake_embed, embedding_model="fake")
    idx.save(tmp_path / "ix")
    assert (tmp_path / "ix" / "vectors.faiss").exists() and (tmp_path / "ix" / "bm25").is_dir()
    again = HybridIndex.load(tmp_path / "ix")
    assert len(again) == 4 and again.embedding_model == "fake" and again.dim == 256
    a = idx.search("free shipping over fifty", k=2, embedder=fake_embed)
    b = again.search("free shipping over fifty", k=2, embedder=fake_embed)
    assert [p.index for p in a.passages] == [p.index for p in b.passages]
    assert a.passages[0].fused == pytest.approx(b.passages[0].fused)


def test_build_reports_progress_and_can_stop() -> None:
    seen: list[float] = []
    HybridIndex.build(_chunks(TEXTS * 5), embedder=fake_embed, progress=lambda p, m: seen.append(p), batch_size=4)
    assert seen == sorted(seen) and seen[-1] > 0.9
    with pytest.raises(InterruptedError):
        HybridIndex.build(_chunks(TEXTS), embedder=fake_embed, should_stop=lambda: True)
    with pytest.raises(UserInputError, match="nothing to index"):
        HybridIndex.build([], embedder=fake_embed)

"""The hybrid index of one knowledge-base version, kept in a folder under the data dir:

- ``chunks.jsonl``: the passages;
- ``bm25/``: a ``bm25s`` sparse BM25 index over :func:`textproc.tokenize` tokens (Chinese through jieba);
- ``vectors.faiss``: a FAISS inner-product index of the unit-length passage embeddings (cosine similarity);
- ``index.json``: the embedding model, dimension, document frequencies (for the "why" of a hit) and counts.

:meth:`HybridIndex.search` asks both retrievers for their top candidates and fuses the two rankings by reciprocal
rank (``1 / (RRF_K + rank)`` summed); every passage keeps its score and rank from each retriever."""

from __future__ import annotations

import json
import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from aigc_core.cjk import has_han
from aigc_core.errors import UserInputError
from aigc_core.support.chunking import Chunk
from aigc_core.support.textproc import tokenize

RRF_K = 5  # the constant of reciprocal-rank fusion (60 in Cormack et al. 2009)
# Weights of each retriever's reciprocal ranks. RRF_K and WEIGHTS are chosen by ``bench/support.py --tune`` on the
# tuning part of its evaluation set only (the bench reports on the held-out part; ties go to the most fusion). On
# English paraphrases the dense encoder is far stronger, so BM25 only adds what it alone finds (names, codes, rare
# words); on Chinese the embedded all-MiniLM is weak (an English model) and BM25 over jieba tokens matters as much.
WEIGHTS = {"latin": (0.1, 1.0), "cjk": (1.0, 1.0)}  # (bm25, dense)
MULTILINGUAL_HINTS = ("multilingual", "bge-m3", "e5", "labse", "paraphrase-xlm")
KB_ENCODER = "multilingual-e5-small"  # the multilingual encoder to name in ``support_embedding_model``
CANDIDATES = 50  # passages asked of each retriever before fusion
EXACT_MAX = 20_000  # up to this many passages the vector search is exact (a flat index)
NPROBE = 24  # inverted lists scanned per query above EXACT_MAX
FORMAT_VERSION = 1
Mode = Literal["hybrid", "bm25", "dense"]
MODES: tuple[str, ...] = ("hybrid", "bm25", "dense")
Embedder = Callable[[Sequence[str]], np.ndarray]
Progress = Callable[[float, str], None]
log = logging.getLogger(__name__)


def model_embedder(
    model: str | None = None, *, role: Literal["query", "passage"] | None = None, trusted: bool = False
) -> Embedder:
    """Embeddings from the sentence-embedding model of the model manager (``model``: the setting when None);
    ``role`` adds the encoder's query or passage prefix (E5), ``trusted`` as for :func:`embed`."""

    def _embed(texts: Sequence[str]) -> np.ndarray:
        from aigc_core.tasks.embeddings import embed

        return embed(list(texts), model=model, role=role, trusted=trusted)

    return _embed


def embedding_model_name(model: str | None = None) -> str:
    """A value that loads the same sentence-embedding model again (``auto`` pinned to the catalog key it chose;
    a folder or hub id kept as given); loading it also checks it is available now."""
    from aigc_core.models.manager import get_manager
    from aigc_core.models.task_table import SENTENCE_EMBEDDINGS
    from aigc_core.settings import get_settings

    value = (model or get_settings().embedding_model or "auto").strip()
    loaded = get_manager().load(SENTENCE_EMBEDDINGS, value)
    return str(loaded.key) if value == "auto" else value


def kb_encoder(model: str | None = None) -> str:
    """The encoder to index a new knowledge-base version with. A given ``model`` is the caller's choice (checked
    like any model value; ``auto`` there is the ``embedding_model`` setting's). Else the operator's
    ``support_embedding_model`` setting: ``auto`` is the ``embedding_model`` setting (the embedded all-MiniLM
    offline), the encoder the relevance gate (``support_min_similarity``) was tuned on; :data:`KB_ENCODER`
    (multilingual) or any other is used when named, and must load."""
    from aigc_core.models.catalog import resolve
    from aigc_core.models.manager import get_manager
    from aigc_core.models.task_table import SENTENCE_EMBEDDINGS
    from aigc_core.settings import get_settings

    if model:
        return embedding_model_name(model)
    value = (get_settings().support_embedding_model or "auto").strip()
    if value.lower() == "auto":
        # Not multilingual-e5 by default: its cosines run far higher than MiniLM's even for unrelated texts, so the
        # gate's threshold (set on MiniLM in bench/support.py) would let nearly every ticket through. Re-tune it
        # with `bench/support.py --tune` on that encoder before choosing it.
        return embedding_model_name(None)
    get_manager().load_resolved(resolve(SENTENCE_EMBEDDINGS, value, trusted=True))
    return value


@dataclass
class Passage:
    """A retrieved passage with its scores from each retriever and the fused score."""

    chunk: Chunk
    index: int  # position of the chunk in the index
    rank: int  # 1-based rank in the list returned (its citation number)
    fused: float
    bm25: float | None = None
    bm25_rank: int | None = None
    dense: float | None = None
    dense_rank: int | None = None
    matched: list[str] = field(default_factory=list)  # query tokens found in the passage
    coverage: float = 0.0  # idf-weighted share of the query's tokens found in the passage

    @property
    def why(self) -> str:
        """One line on why the passage was found."""
        parts = []
        if self.bm25_rank is not None:
            words = ", ".join(self.matched[:8]) or "-"
            parts.append(f"BM25 #{self.bm25_rank} ({self.bm25:.2f}; shared words: {words})")
        if self.dense_rank is not None:
            parts.append(f"dense #{self.dense_rank} (cosine {self.dense:.2f})")
        return "; ".join(parts) or "no retriever ranked it"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (stored with each reply)."""
        return {
            "n": self.rank,
            "index": self.index,
            "chunk": self.chunk.to_dict(),
            "fused": self.fused,
            "bm25": self.bm25,
            "bm25_rank": self.bm25_rank,
            "dense": self.dense,
            "dense_rank": self.dense_rank,
            "matched": self.matched,
            "coverage": self.coverage,
        }


@dataclass
class SearchResult:
    """The passages found for one query, best first, and how long it took."""

    query: str
    mode: str
    passages: list[Passage]
    seconds: float
    dense_trusted: bool = True  # False: a Chinese query and an English-only encoder (its cosines mean little)

    @property
    def top_dense(self) -> float:
        """Cosine similarity of the best dense match among the passages (0 when none)."""
        return max((p.dense or 0.0 for p in self.passages), default=0.0)

    @property
    def top_coverage(self) -> float:
        """The best idf-weighted word coverage among the passages (0 when none)."""
        return max((p.coverage for p in self.passages), default=0.0)


def _vector_index(vectors: np.ndarray) -> Any:
    """Exact inner-product search up to EXACT_MAX vectors; above, an inverted-file index (IVF, sqrt(n) lists,
    NPROBE of them scanned per query), so a query reads a few percent of the vectors."""
    import faiss

    n, dim = vectors.shape
    index: faiss.Index
    if n <= EXACT_MAX:
        index = faiss.IndexFlatIP(dim)
    else:
        nlist = int(math.sqrt(n))
        ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        sample = vectors[np.random.default_rng(0).choice(n, size=min(n, 40 * nlist), replace=False)]
        ivf.train(sample)
        ivf.nprobe = NPROBE
        index = ivf
    index.add(vectors)
    return index


def _empty_tokens(tokens: list[str]) -> list[str]:
    return tokens or ["\u2205"]  # bm25s needs at least one token per document


class HybridIndex:
    """BM25 and dense vectors over the same passages."""

    def __init__(
        self,
        chunks: list[Chunk],
        bm25: Any,
        vectors: Any,
        *,
        embedding_model: str,
        df: dict[str, int],
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.chunks = chunks
        self.bm25 = bm25
        self.vectors = vectors
        self.embedding_model = embedding_model
        self.df = df
        self.meta = dict(meta or {})

    def __len__(self) -> int:
        return len(self.chunks)

    @property
    def dim(self) -> int:
        """Dimension of the vectors."""
        return int(self.vectors.d)

    # Building ---------------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        chunks: list[Chunk],
        *,
        embedder: Embedder | None = None,
        embedding_model: str = "",
        vectors: np.ndarray | None = None,
        tokens: list[list[str]] | None = None,
        progress: Progress | None = None,
        batch_size: int = 128,
        should_stop: Callable[[], bool] | None = None,
    ) -> HybridIndex:
        """Tokenise and embed ``chunks`` (or take precomputed ``tokens`` / unit-length ``vectors``)."""
        import bm25s
        import faiss

        if not chunks:
            raise UserInputError("There is nothing to index.", hint="Add at least one FAQ entry or document.")
        report = progress or (lambda _p, _m: None)
        if tokens is None:
            tokens = [tokenize(c.text) for c in chunks]
        report(0.05, f"tokenised {len(chunks):,} passages")
        df: Counter[str] = Counter()
        for toks in tokens:
            df.update(set(toks))
        bm25 = bm25s.BM25()
        bm25.index([_empty_tokens(t) for t in tokens], show_progress=False)
        report(0.1, "BM25 index built")
        if vectors is None:
            if embedder is None:
                raise ValueError("build needs an embedder or precomputed vectors")
            rows = []
            for start in range(0, len(chunks), batch_size):
                if should_stop is not None and should_stop():
                    raise InterruptedError("index build cancelled")
                rows.append(np.asarray(embedder([c.text for c in chunks[start : start + batch_size]]), np.float32))
                done = min(start + batch_size, len(chunks))
                report(0.1 + 0.85 * done / len(chunks), f"embedded {done:,} of {len(chunks):,} passages")
            vectors = np.concatenate(rows, axis=0)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape[0] != len(chunks):
            raise ValueError(f"{vectors.shape[0]} vectors for {len(chunks)} chunks")
        faiss.normalize_L2(vectors)
        index = _vector_index(vectors)
        report(0.98, "vector index built")
        meta = {"n_chunks": len(chunks), "n_docs": len(chunks), "format": FORMAT_VERSION}
        return cls(chunks, bm25, index, embedding_model=embedding_model, df=dict(df), meta=meta)

    # Files ------------------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        """Write the index into ``folder`` (use :func:`aigc_core.storage.atomic_dir` around it)."""
        import faiss

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "chunks.jsonl", "w", encoding="utf-8") as fh:
            for c in self.chunks:
                fh.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")
        self.bm25.save(str(folder / "bm25"), show_progress=False)
        faiss.write_index(self.vectors, str(folder / "vectors.faiss"))
        info = {**self.meta, "embedding_model": self.embedding_model, "dim": self.dim, "df": self.df}
        (folder / "index.json").write_text(json.dumps(info, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> HybridIndex:
        """The index saved in ``folder``."""
        import bm25s
        import faiss

        folder = Path(folder)
        info = json.loads((folder / "index.json").read_text(encoding="utf-8"))
        with open(folder / "chunks.jsonl", encoding="utf-8") as fh:
            chunks = [Chunk.from_dict(json.loads(line)) for line in fh if line.strip()]
        bm25 = bm25s.BM25.load(str(folder / "bm25"), show_progress=False)
        vectors = faiss.read_index(str(folder / "vectors.faiss"))
        df = info.pop("df", {})
        model = info.pop("embedding_model", "")
        return cls(chunks, bm25, vectors, embedding_model=model, df=df, meta=info)

    # Search -----------------------------------------------------------------------------------
    def _idf(self, token: str) -> float:
        n = len(self.chunks)
        return math.log(1 + (n - self.df.get(token, 0) + 0.5) / (self.df.get(token, 0) + 0.5))

    def bm25_search(self, tokens: list[str], k: int) -> list[tuple[int, float]]:
        """Top ``k`` (chunk index, BM25 score) for query tokens; tokens the corpus lacks are ignored."""
        known = [t for t in dict.fromkeys(tokens) if t in self.bm25.vocab_dict]
        if not known:
            return []
        k = min(k, len(self.chunks))
        docs, scores = self.bm25.retrieve([known], k=k, show_progress=False, n_threads=1)
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]

    def dense_search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Top ``k`` (chunk index, cosine) for a unit-length query vector."""
        q = np.ascontiguousarray(np.asarray(vector, np.float32).reshape(1, -1))
        if q.shape[1] != self.dim:
            raise UserInputError(
                f"The query embedding has {q.shape[1]} dimensions but the index has {self.dim}.",
                hint=f"Search with the model the index was built with ({self.embedding_model}), or re-index.",
            )
        import faiss

        if hasattr(self.vectors, "nprobe"):
            self.vectors.nprobe = NPROBE
        faiss.omp_set_num_threads(1)  # one query: threads only contend (the app serves several sessions)
        scores, ids = self.vectors.search(q, min(k, len(self.chunks)))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def coverage(self, query_tokens: list[str], chunk: Chunk) -> tuple[list[str], float]:
        """The query tokens found in ``chunk`` and their idf-weighted share of the query."""
        uniq = list(dict.fromkeys(query_tokens))
        if not uniq:
            return [], 0.0
        have = set(tokenize(chunk.text))
        matched = [t for t in uniq if t in have]
        total = sum(self._idf(t) for t in uniq)
        return matched, (sum(self._idf(t) for t in matched) / total if total else 0.0)

    def dense_covers(self, query: str) -> bool:
        """Whether the encoder was trained on the query's language: Latin script always, Chinese only with a
        multilingual encoder."""
        return not has_han(query) or any(h in self.embedding_model.lower() for h in MULTILINGUAL_HINTS)

    def weights(self, query: str) -> tuple[float, float]:
        """(BM25, dense) weights of the fusion for ``query``: by its script, unless the encoder is multilingual."""
        if has_han(query):
            return (1.0, 1.0) if self.dense_covers(query) else WEIGHTS["cjk"]
        return WEIGHTS["latin"]

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        mode: Mode = "hybrid",
        embedder: Embedder | None = None,
        query_vector: np.ndarray | None = None,
        candidates: int = CANDIDATES,
        weights: tuple[float, float] | None = None,
        rrf_k: int | None = None,
    ) -> SearchResult:
        """The top ``k`` passages for ``query`` by ``mode`` (hybrid: weighted reciprocal-rank fusion of both;
        ``weights`` (BM25, dense) overrides :meth:`weights`, ``rrf_k`` the constant RRF_K)."""
        if mode not in MODES:
            raise UserInputError(f"Unknown retrieval mode {mode!r}.", hint=f"Use one of {', '.join(MODES)}.")
        query = (query or "").strip()
        if not query:
            raise UserInputError("The question is empty.", hint="Type the customer's question.")
        if not 1 <= k <= 100:
            raise UserInputError(f"k must be between 1 and 100, not {k}.", hint="Use 5.")
        t0 = time.perf_counter()
        tokens = tokenize(query)
        cand = max(candidates, k)
        lexical = self.bm25_search(tokens, cand) if mode in ("hybrid", "bm25") else []
        dense: list[tuple[int, float]] = []
        if mode in ("hybrid", "dense"):
            if query_vector is None:
                if embedder is None:
                    raise ValueError("dense search needs an embedder or a query vector")
                query_vector = np.asarray(embedder([query]), np.float32)[0]
            dense = self.dense_search(query_vector, cand)
        fused: dict[int, float] = {}
        b_rank = {i: (r, s) for r, (i, s) in enumerate(lexical, start=1)}
        d_rank = {i: (r, s) for r, (i, s) in enumerate(dense, start=1)}
        w_bm25, w_dense = weights if weights is not None else self.weights(query)
        const = RRF_K if rrf_k is None else rrf_k
        for i, (r, _) in b_rank.items():
            fused[i] = fused.get(i, 0.0) + w_bm25 / (const + r)
        for i, (r, _) in d_rank.items():
            fused[i] = fused.get(i, 0.0) + w_dense / (const + r)
        order = sorted(fused, key=lambda i: (-fused[i], b_rank.get(i, (10**9,))[0], d_rank.get(i, (10**9,))[0]))
        passages = []
        for rank, i in enumerate(order[:k], start=1):
            chunk = self.chunks[i]
            matched, cov = self.coverage(tokens, chunk)
            p = Passage(chunk, i, rank, fused[i], matched=matched, coverage=cov)
            if i in b_rank:
                p.bm25_rank, p.bm25 = b_rank[i]
            if i in d_rank:
                p.dense_rank, p.dense = d_rank[i]
            elif mode == "hybrid" and query_vector is not None and not hasattr(self.vectors, "nprobe"):
                # its cosine, though it was not a dense candidate (flat indexes keep the vectors in order)
                p.dense = float(np.dot(self.vectors.reconstruct(i), np.asarray(query_vector, np.float32)))
            passages.append(p)
        return SearchResult(query, mode, passages, time.perf_counter() - t0, self.dense_covers(query))
